//! Request and response types of the SQS/SNS actions (SendMessage, ReceiveMessage, Publish, ...).
//! Plain data with small builders so engine code reads like the AWS API.

use std::sync::Arc;

use serde::Serialize;

use crate::error::ErrorCode;
use crate::ids::{
    no_attributes, AttributeValue, MessageAttributes, MessageId, MessageMeta, PollId, PublishId,
    ReceiptHandle, ReceivedMessage,
};
use crate::time::Millis;

/// SendMessage parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendRequest {
    pub body: String,
    /// Shared: a sender with constant attributes passes the same map with every message.
    pub attributes: Arc<MessageAttributes>,
    /// DelaySeconds for this message (standard queues only; FIFO refuses it).
    pub delay_s: Option<u32>,
    /// MessageGroupId (FIFO: required). Shared: the broker keeps the sender's `Arc` (no copy).
    pub group_id: Option<Arc<str>>,
    /// MessageDeduplicationId (FIFO only).
    pub dedup_id: Option<Arc<str>>,
    pub meta: MessageMeta,
}

impl Default for SendRequest {
    fn default() -> SendRequest {
        SendRequest::new(String::new())
    }
}

impl SendRequest {
    pub fn new(body: impl Into<String>) -> SendRequest {
        SendRequest {
            body: body.into(),
            attributes: no_attributes(),
            delay_s: None,
            group_id: None,
            dedup_id: None,
            meta: MessageMeta::default(),
        }
    }
    pub fn group(mut self, group_id: impl Into<Arc<str>>) -> SendRequest {
        self.group_id = Some(group_id.into());
        self
    }
    pub fn dedup(mut self, dedup_id: impl Into<Arc<str>>) -> SendRequest {
        self.dedup_id = Some(dedup_id.into());
        self
    }
    pub fn delay(mut self, delay_s: u32) -> SendRequest {
        self.delay_s = Some(delay_s);
        self
    }
    pub fn attribute(mut self, name: impl Into<String>, value: AttributeValue) -> SendRequest {
        Arc::make_mut(&mut self.attributes).insert(name.into(), value);
        self
    }
    pub fn meta(mut self, meta: MessageMeta) -> SendRequest {
        self.meta = meta;
        self
    }
}

/// SendMessage result. A deduplicated FIFO send succeeds too and returns the original's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SendResponse {
    pub message: MessageId,
    pub deduplicated: bool,
}

/// One entry of SendMessageBatch; `id` is the caller's batch entry id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendBatchEntry {
    pub id: String,
    pub request: SendRequest,
}

/// One entry of DeleteMessageBatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteBatchEntry {
    pub id: String,
    pub receipt: ReceiptHandle,
}

/// A failed batch entry (BatchResultErrorEntry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchFailure {
    pub id: String,
    pub code: ErrorCode,
    pub message: String,
    pub sender_fault: bool,
}

/// Result of a batch action: the entries that worked and those that failed, each by entry id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchResponse<T> {
    pub successful: Vec<(String, T)>,
    pub failed: Vec<BatchFailure>,
}

/// ReceiveMessage parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiveRequest {
    /// MaxNumberOfMessages, 1 to 10 (default 1).
    pub max_messages: u32,
    /// WaitTimeSeconds, 0 to 20; `None` uses the queue's ReceiveMessageWaitTimeSeconds.
    pub wait_s: Option<u32>,
    /// VisibilityTimeout for the returned messages; `None` uses the queue's.
    pub visibility_timeout_s: Option<u32>,
    /// FIFO only: ReceiveRequestAttemptId.
    pub attempt_id: Option<String>,
}

impl Default for ReceiveRequest {
    fn default() -> ReceiveRequest {
        ReceiveRequest {
            max_messages: 1,
            wait_s: None,
            visibility_timeout_s: None,
            attempt_id: None,
        }
    }
}

impl ReceiveRequest {
    pub fn max(max_messages: u32) -> ReceiveRequest {
        ReceiveRequest {
            max_messages,
            ..ReceiveRequest::default()
        }
    }
    pub fn wait(mut self, wait_s: u32) -> ReceiveRequest {
        self.wait_s = Some(wait_s);
        self
    }
    pub fn visibility(mut self, timeout_s: u32) -> ReceiveRequest {
        self.visibility_timeout_s = Some(timeout_s);
        self
    }
    pub fn attempt(mut self, attempt_id: impl Into<String>) -> ReceiveRequest {
        self.attempt_id = Some(attempt_id.into());
        self
    }
}

/// ReceiveMessage result: messages now (possibly none), or a long poll that is waiting. A waiting
/// poll ends with `BrokerEvent::PollCompleted` from a later send/advance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ReceiveResponse {
    Messages(Vec<ReceivedMessage>),
    Waiting { poll: PollId, until: Millis },
}

impl ReceiveResponse {
    /// The messages returned now (empty while waiting).
    pub fn messages(&self) -> &[ReceivedMessage] {
        match self {
            ReceiveResponse::Messages(messages) => messages,
            ReceiveResponse::Waiting { .. } => &[],
        }
    }

    pub fn into_messages(self) -> Vec<ReceivedMessage> {
        match self {
            ReceiveResponse::Messages(messages) => messages,
            ReceiveResponse::Waiting { .. } => Vec::new(),
        }
    }
}

/// SNS Publish parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishRequest {
    pub body: String,
    /// Shared: a sender with constant attributes passes the same map with every message.
    pub attributes: Arc<MessageAttributes>,
    /// FIFO topics: MessageGroupId (required).
    pub group_id: Option<Arc<str>>,
    /// FIFO topics: MessageDeduplicationId.
    pub dedup_id: Option<Arc<str>>,
    pub meta: MessageMeta,
}

impl Default for PublishRequest {
    fn default() -> PublishRequest {
        PublishRequest::new(String::new())
    }
}

impl PublishRequest {
    pub fn new(body: impl Into<String>) -> PublishRequest {
        PublishRequest {
            body: body.into(),
            attributes: no_attributes(),
            group_id: None,
            dedup_id: None,
            meta: MessageMeta::default(),
        }
    }
    pub fn group(mut self, group_id: impl Into<Arc<str>>) -> PublishRequest {
        self.group_id = Some(group_id.into());
        self
    }
    pub fn dedup(mut self, dedup_id: impl Into<Arc<str>>) -> PublishRequest {
        self.dedup_id = Some(dedup_id.into());
        self
    }
    pub fn attribute(mut self, name: impl Into<String>, value: AttributeValue) -> PublishRequest {
        Arc::make_mut(&mut self.attributes).insert(name.into(), value);
        self
    }
    pub fn meta(mut self, meta: MessageMeta) -> PublishRequest {
        self.meta = meta;
        self
    }
}

/// Publish result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PublishResponse {
    pub publish: PublishId,
    pub deduplicated: bool,
}

/// Shared group-name handle used in events and views.
pub type GroupName = Arc<str>;
