//! Queue, topic and subscription configuration (the CreateQueue / CreateTopic / Subscribe
//! attributes), their defaults and their allowed ranges. Validation lives here, in one place.

use serde::Serialize;

use crate::error::{ApiError, ErrorCode};
use crate::ids::QueueId;
use crate::rng::Chance;

/// Limits of SQS quoted from
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html>
/// and <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>.
pub mod limits {
    /// VisibilityTimeout: 0 s to 12 hours.
    pub const MAX_VISIBILITY_TIMEOUT_S: u32 = 43_200;
    /// DelaySeconds: 0 s to 15 minutes.
    pub const MAX_DELAY_S: u32 = 900;
    /// MessageRetentionPeriod: 60 s to 14 days.
    pub const MIN_RETENTION_S: u32 = 60;
    pub const MAX_RETENTION_S: u32 = 1_209_600;
    /// ReceiveMessageWaitTimeSeconds / WaitTimeSeconds: 0 to 20 s.
    pub const MAX_WAIT_S: u32 = 20;
    /// MaximumMessageSize: 1 KiB to 256 KiB (the classic limit this playground teaches).
    pub const MIN_MESSAGE_BYTES: u32 = 1_024;
    pub const MAX_MESSAGE_BYTES: u32 = 262_144;
    /// MaxNumberOfMessages per receive, entries per batch.
    pub const MAX_BATCH: u32 = 10;
    /// maxReceiveCount of a redrive policy: 1 to 1000.
    pub const MAX_RECEIVE_COUNT: u32 = 1_000;
    /// Message attributes per message.
    pub const MAX_ATTRIBUTES: u32 = 10;
    /// FIFO deduplication interval: 5 minutes.
    pub const DEDUP_WINDOW_MS: u64 = 300_000;
    /// ReceiveRequestAttemptId is honoured for 5 minutes.
    pub const RECEIVE_ATTEMPT_WINDOW_MS: u64 = 300_000;
    /// MessageGroupId / MessageDeduplicationId / ReceiveRequestAttemptId: up to 128 characters.
    pub const MAX_ID_CHARS: u32 = 128;
    /// Queue names: 1 to 80 characters (including `.fifo`).
    pub const MAX_QUEUE_NAME_CHARS: u32 = 80;
    /// SNS topic names: 1 to 256 characters.
    pub const MAX_TOPIC_NAME_CHARS: u32 = 256;
    /// In-flight messages per queue (standard: ReceiveMessage fails with OverLimit; FIFO: no
    /// error, nothing more is returned).
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-fifo.html>
    pub const MAX_IN_FLIGHT: u64 = 120_000;
    /// Message attribute names: up to 256 characters.
    pub const MAX_ATTRIBUTE_NAME_CHARS: u32 = 256;
    /// Playground limit: distinct message group ids in one broker.
    pub const MAX_GROUPS: u32 = 1_000_000;
    /// Playground limit: remembered ReceiveRequestAttemptIds per queue.
    pub const MAX_ATTEMPTS: u32 = 10_000;
    /// Playground limit (not an AWS one): messages stored in one queue at once.
    pub const MAX_QUEUE_DEPTH: u64 = 1_000_000;
    /// Playground limit: queues, topics and subscriptions in one broker.
    pub const MAX_QUEUES: u32 = 10_000;
    pub const MAX_TOPICS: u32 = 10_000;
    pub const MAX_SUBSCRIPTIONS: u32 = 100_000;
    /// Playground limit: long polls waiting on one queue.
    pub const MAX_POLLS_PER_QUEUE: u32 = 10_000;
}

/// FIFO DeduplicationScope.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html>
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum DedupScope {
    /// One deduplication id space for the whole queue (the default).
    #[default]
    Queue,
    /// Each message group has its own deduplication id space.
    MessageGroup,
}

/// FIFO FifoThroughputLimit: whether the FIFO throughput quota applies to the whole queue or
/// to each message group (high-throughput mode). The playground models no throughput quotas, so
/// this only takes part in validation: `PerMessageGroupId` is allowed only together with
/// `DeduplicationScope = MessageGroup`, and only on FIFO queues.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html>
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum FifoThroughputLimit {
    /// The quota applies to the whole queue (the default).
    #[default]
    PerQueue,
    /// The quota applies to each message group.
    PerMessageGroupId,
}

/// RedrivePolicy: after `max_receive_count` receives, the next receive moves the message to
/// `dead_letter` instead of handing it out.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html>
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RedrivePolicy {
    pub dead_letter: QueueId,
    pub max_receive_count: u32,
}

/// CreateQueue attributes. A name ending in `.fifo` makes a FIFO queue (as in SQS, where
/// FifoQueue=true requires the suffix). Times are in seconds, as in the SQS API.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueConfig {
    pub name: String,
    /// VisibilityTimeout, default 30 s.
    pub visibility_timeout_s: u32,
    /// DelaySeconds, default 0.
    pub delay_s: u32,
    /// MessageRetentionPeriod, default 4 days.
    pub retention_s: u32,
    /// ReceiveMessageWaitTimeSeconds: the wait used when a receive does not say, default 0.
    pub receive_wait_s: u32,
    /// MaximumMessageSize, default 256 KiB.
    pub max_message_bytes: u32,
    pub redrive: Option<RedrivePolicy>,
    /// FIFO only: ContentBasedDeduplication.
    pub content_based_dedup: bool,
    /// FIFO only: DeduplicationScope.
    pub dedup_scope: DedupScope,
    /// FIFO only: FifoThroughputLimit (validated, not otherwise modelled).
    pub fifo_throughput_limit: FifoThroughputLimit,
    /// Standard only: chance that a receive leaves a copy behind that is delivered again later
    /// (at-least-once delivery). Default 0 so lessons switch it on explicitly.
    pub duplicate_chance: Chance,
    /// Standard only: chance that a receive takes the second-oldest visible message before the
    /// oldest (best-effort ordering). Default 0.
    pub reorder_chance: Chance,
}

impl QueueConfig {
    /// A queue with the SQS defaults; FIFO when `name` ends in `.fifo`.
    pub fn new(name: impl Into<String>) -> QueueConfig {
        QueueConfig {
            name: name.into(),
            visibility_timeout_s: 30,
            delay_s: 0,
            retention_s: 345_600,
            receive_wait_s: 0,
            max_message_bytes: limits::MAX_MESSAGE_BYTES,
            redrive: None,
            content_based_dedup: false,
            dedup_scope: DedupScope::Queue,
            fifo_throughput_limit: FifoThroughputLimit::PerQueue,
            duplicate_chance: Chance::NEVER,
            reorder_chance: Chance::NEVER,
        }
    }

    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }

    /// Range checks of every attribute (the redrive target is checked by the broker, which
    /// knows the other queues).
    pub fn validate(&self) -> Result<(), ApiError> {
        validate_name(&self.name, limits::MAX_QUEUE_NAME_CHARS, "queue")?;
        check_range(
            "VisibilityTimeout",
            self.visibility_timeout_s,
            0,
            limits::MAX_VISIBILITY_TIMEOUT_S,
        )?;
        check_range("DelaySeconds", self.delay_s, 0, limits::MAX_DELAY_S)?;
        check_range(
            "MessageRetentionPeriod",
            self.retention_s,
            limits::MIN_RETENTION_S,
            limits::MAX_RETENTION_S,
        )?;
        check_range(
            "ReceiveMessageWaitTimeSeconds",
            self.receive_wait_s,
            0,
            limits::MAX_WAIT_S,
        )?;
        check_range(
            "MaximumMessageSize",
            self.max_message_bytes,
            limits::MIN_MESSAGE_BYTES,
            limits::MAX_MESSAGE_BYTES,
        )?;
        if let Some(redrive) = &self.redrive {
            check_range(
                "maxReceiveCount",
                redrive.max_receive_count,
                1,
                limits::MAX_RECEIVE_COUNT,
            )?;
        }
        if !self.is_fifo()
            && (self.content_based_dedup
                || self.dedup_scope != DedupScope::Queue
                || self.fifo_throughput_limit != FifoThroughputLimit::PerQueue)
        {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!("queue {}: ContentBasedDeduplication, DeduplicationScope and FifoThroughputLimit are only valid for FIFO queues", self.name),
            ));
        }
        // SetQueueAttributes: "The perMessageGroupId value is allowed only when the value for
        // DeduplicationScope is messageGroup."
        if self.fifo_throughput_limit == FifoThroughputLimit::PerMessageGroupId
            && self.dedup_scope != DedupScope::MessageGroup
        {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!("queue {}: FifoThroughputLimit perMessageGroupId is allowed only when DeduplicationScope is messageGroup", self.name),
            ));
        }
        Ok(())
    }
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig::new("")
    }
}

/// CreateTopic attributes. A name ending in `.fifo` makes a FIFO topic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TopicConfig {
    pub name: String,
    /// FIFO topics only: ContentBasedDeduplication.
    pub content_based_dedup: bool,
}

impl TopicConfig {
    pub fn new(name: impl Into<String>) -> TopicConfig {
        TopicConfig {
            name: name.into(),
            content_based_dedup: false,
        }
    }

    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }

    pub fn validate(&self) -> Result<(), ApiError> {
        validate_name(&self.name, limits::MAX_TOPIC_NAME_CHARS, "topic")
            .map_err(|e| ApiError::new(ErrorCode::InvalidParameter, e.message))?;
        if self.content_based_dedup && !self.is_fifo() {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "topic {}: ContentBasedDeduplication is only valid for FIFO topics",
                    self.name
                ),
            ));
        }
        Ok(())
    }
}

/// Where a subscription delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SubscriptionTarget {
    /// An SQS queue of this broker.
    Queue(QueueId),
    /// An engine service (HTTP-like endpoint); the broker asks the engine to deliver.
    Endpoint(u32),
}

/// FilterPolicyScope.
/// <https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html>
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum FilterPolicyScope {
    #[default]
    MessageAttributes,
    MessageBody,
}

/// Subscribe attributes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubscriptionConfig {
    pub target: SubscriptionTarget,
    /// RawMessageDelivery: deliver the body as published instead of the JSON envelope.
    pub raw_message_delivery: bool,
    /// FilterPolicy as JSON text (validated by `Broker::subscribe`).
    pub filter_policy: Option<String>,
    pub filter_policy_scope: FilterPolicyScope,
    /// Endpoint targets only: retries after a failed delivery (SNS HTTP/S default policy: 3).
    pub endpoint_retries: u32,
    /// Endpoint targets only: delay before each retry (SNS HTTP/S default: 20 s, linear).
    pub endpoint_retry_delay_s: u32,
}

impl SubscriptionConfig {
    pub fn new(target: SubscriptionTarget) -> SubscriptionConfig {
        SubscriptionConfig {
            target,
            raw_message_delivery: false,
            filter_policy: None,
            filter_policy_scope: FilterPolicyScope::MessageAttributes,
            endpoint_retries: 3,
            endpoint_retry_delay_s: 20,
        }
    }

    pub fn queue(queue: QueueId) -> SubscriptionConfig {
        SubscriptionConfig::new(SubscriptionTarget::Queue(queue))
    }

    pub fn endpoint(endpoint: u32) -> SubscriptionConfig {
        SubscriptionConfig::new(SubscriptionTarget::Endpoint(endpoint))
    }

    pub fn raw(mut self) -> SubscriptionConfig {
        self.raw_message_delivery = true;
        self
    }

    pub fn with_filter(
        mut self,
        policy: impl Into<String>,
        scope: FilterPolicyScope,
    ) -> SubscriptionConfig {
        self.filter_policy = Some(policy.into());
        self.filter_policy_scope = scope;
        self
    }
}

/// Playground limit: retries of one endpoint delivery.
pub const MAX_ENDPOINT_RETRIES: u32 = 100;
/// Playground limit: delay between endpoint retries, 1 hour.
pub const MAX_ENDPOINT_RETRY_DELAY_S: u32 = 3_600;

fn check_range(what: &str, value: u32, low: u32, high: u32) -> Result<(), ApiError> {
    if value < low || value > high {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!("{what} must be between {low} and {high}, got {value}"),
        ));
    }
    Ok(())
}

/// SQS queue names: alphanumerics, hyphens and underscores (plus the `.fifo` suffix).
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html>
fn validate_name(name: &str, max_chars: u32, what: &str) -> Result<(), ApiError> {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    let n_chars = name.chars().count() as u64;
    if stem.is_empty() || n_chars > max_chars as u64 {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!("{what} name {name:?} must have 1 to {max_chars} characters"),
        ));
    }
    if let Some(bad) = stem
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!(
                "{what} name {name:?} may only use letters, digits, '-' and '_' (found {bad:?})"
            ),
        ));
    }
    Ok(())
}

/// Checks a MessageGroupId / MessageDeduplicationId / ReceiveRequestAttemptId: 1 to 128
/// characters from a-z, A-Z, 0-9 and punctuation `!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~`.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>
pub(crate) fn validate_token(what: &str, value: &str) -> Result<(), ApiError> {
    // Hot path (every FIFO send): printable ASCII only, so bytes are characters.
    if !value.is_empty()
        && value.len() <= limits::MAX_ID_CHARS as usize
        && value.bytes().all(|b| b.is_ascii_graphic())
    {
        return Ok(());
    }
    let n_chars = value.chars().count() as u64;
    if n_chars == 0 || n_chars > limits::MAX_ID_CHARS as u64 {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!("{what} must have 1 to {} characters", limits::MAX_ID_CHARS),
        ));
    }
    if let Some(bad) = value.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!(
                "{what} {value:?} may only use letters, digits and punctuation (found {bad:?})"
            ),
        ));
    }
    Ok(())
}
