//! `BrokerEvent`: every state change of queues and topics, one closed enum with named fields, each
//! with a one-sentence explanation in plain words (names, not ids). The engine wraps these in its
//! own trace events.

use std::sync::Arc;

use serde::Serialize;

use crate::error::ErrorCode;
use crate::ids::{
    DeliveryId, MessageId, MessageMeta, Payload, PollId, PublishId, QueueId, ReceivedMessage,
    SubscriptionId, TopicId,
};
use crate::time::Millis;

/// Resolves ids to the names people gave them, for explanations.
pub trait Names {
    fn queue(&self, queue: QueueId) -> String;
    fn topic(&self, topic: TopicId) -> String;
    fn subscription(&self, subscription: SubscriptionId) -> String;
    /// An engine service that receives endpoint deliveries.
    fn endpoint(&self, endpoint: u32) -> String;
}

/// Why a delete did nothing although it succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DeleteNoop {
    /// The message is no longer in the queue (already deleted, expired, moved or purged).
    AlreadyGone,
}

/// One state change in the broker.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum BrokerEvent {
    /// A message record entered a queue by SendMessage or topic delivery.
    Accepted {
        queue: QueueId,
        message: MessageId,
        group: Option<Arc<str>>,
        dedup_id: Option<Arc<str>>,
        /// When it becomes receivable (later than now when delayed).
        visible_at: Millis,
        from_topic: Option<TopicId>,
        meta: MessageMeta,
    },
    /// A FIFO send was dropped: the same deduplication id was accepted less than 5 minutes ago.
    Deduplicated {
        queue: QueueId,
        original: MessageId,
        group: Option<Arc<str>>,
        dedup_id: Arc<str>,
        window_ends: Millis,
        from_topic: Option<TopicId>,
    },
    /// A receive handed the message out; it is in flight until `visible_again_at`.
    Received {
        queue: QueueId,
        message: MessageId,
        group: Option<Arc<str>>,
        receive_count: u32,
        visible_again_at: Millis,
        /// Set when a waiting long poll got it.
        poll: Option<PollId>,
        meta: MessageMeta,
    },
    /// A FIFO group could not give `message` because an earlier message of the group is in flight.
    Held {
        queue: QueueId,
        group: Arc<str>,
        message: MessageId,
        blocked_by: MessageId,
    },
    /// A receive found nothing and waits (long polling) until `until` at the latest.
    PollWaiting {
        queue: QueueId,
        poll: PollId,
        until: Millis,
    },
    /// A waiting long poll ended: with messages, or empty when its wait ran out.
    PollCompleted {
        queue: QueueId,
        poll: PollId,
        messages: Vec<ReceivedMessage>,
    },
    /// A long poll was withdrawn by its caller (e.g. the consumer crashed).
    PollCancelled {
        queue: QueueId,
        poll: PollId,
    },
    /// A FIFO receive retried with the same ReceiveRequestAttemptId got the same batch again.
    ReceiveRetried {
        queue: QueueId,
        n_messages: u32,
        visible_again_at: Millis,
    },
    /// The visibility timeout ran out before a delete: the message is visible again.
    VisibilityExpired {
        queue: QueueId,
        message: MessageId,
        group: Option<Arc<str>>,
        receive_count: u32,
    },
    /// ChangeMessageVisibility set a new end of the invisibility.
    VisibilityChanged {
        queue: QueueId,
        message: MessageId,
        visible_at: Millis,
    },
    /// A delayed message's delay ended.
    DelayEnded {
        queue: QueueId,
        message: MessageId,
        group: Option<Arc<str>>,
    },
    Deleted {
        queue: QueueId,
        message: MessageId,
        group: Option<Arc<str>>,
    },
    /// DeleteMessage succeeded but had nothing to delete.
    DeleteIgnored {
        queue: QueueId,
        message: MessageId,
        reason: DeleteNoop,
    },
    /// The message was received `receive_count` times (>= maxReceiveCount); the next receive moved
    /// it to the dead-letter queue as `new_message`.
    DeadLettered {
        queue: QueueId,
        dead_letter: QueueId,
        message: MessageId,
        new_message: MessageId,
        group: Option<Arc<str>>,
        receive_count: u32,
        max_receive_count: u32,
    },
    /// The retention period ran out; the message is gone.
    Expired {
        queue: QueueId,
        message: MessageId,
        group: Option<Arc<str>>,
        age_ms: u64,
    },
    Purged {
        queue: QueueId,
        n_messages: u64,
    },
    /// Standard queue, at-least-once: a receive left a copy behind that will be delivered again.
    DuplicateInjected {
        queue: QueueId,
        message: MessageId,
        copy: MessageId,
    },
    /// Standard queue, best-effort order: a receive took `message` before the older `skipped`.
    Reordered {
        queue: QueueId,
        message: MessageId,
        skipped: MessageId,
    },
    Published {
        topic: TopicId,
        publish: PublishId,
        group: Option<Arc<str>>,
        n_subscriptions: u32,
        meta: MessageMeta,
    },
    /// A FIFO topic dropped a publish with a deduplication id seen less than 5 minutes ago.
    PublishDeduplicated {
        topic: TopicId,
        original: PublishId,
        dedup_id: Arc<str>,
    },
    /// The subscription's filter policy did not match, so it gets no copy.
    FilteredOut {
        topic: TopicId,
        subscription: SubscriptionId,
        publish: PublishId,
    },
    /// No subscription got a copy of the publish (all filtered out, or none).
    MatchedNone {
        topic: TopicId,
        publish: PublishId,
    },
    /// The topic put a copy into a queue (`message` is the queue's record, or the original record
    /// when the FIFO queue deduplicated it).
    DeliveredToQueue {
        topic: TopicId,
        subscription: SubscriptionId,
        publish: PublishId,
        queue: QueueId,
        message: MessageId,
        raw: bool,
    },
    /// The queue refused the copy (e.g. too large once wrapped in the envelope).
    QueueDeliveryFailed {
        topic: TopicId,
        subscription: SubscriptionId,
        publish: PublishId,
        queue: QueueId,
        code: ErrorCode,
    },
    /// The engine should now deliver `payload` to the endpoint and report back.
    EndpointDeliveryRequested {
        topic: TopicId,
        subscription: SubscriptionId,
        publish: PublishId,
        endpoint: u32,
        delivery: DeliveryId,
        attempt: u32,
        #[serde(skip)]
        payload: Arc<Payload>,
        meta: MessageMeta,
        group: Option<Arc<str>>,
    },
    EndpointDelivered {
        topic: TopicId,
        subscription: SubscriptionId,
        delivery: DeliveryId,
        attempt: u32,
    },
    EndpointRetryScheduled {
        topic: TopicId,
        subscription: SubscriptionId,
        delivery: DeliveryId,
        next_attempt: u32,
        at: Millis,
    },
    EndpointDeliveryAbandoned {
        topic: TopicId,
        subscription: SubscriptionId,
        delivery: DeliveryId,
        attempts: u32,
    },
}

/// The ids an event involves, for trace JSON and indexing (the engine maps ids to names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EventIds {
    pub kind: &'static str,
    pub queue: Option<QueueId>,
    pub topic: Option<TopicId>,
    pub subscription: Option<SubscriptionId>,
    pub message: Option<MessageId>,
    pub group: Option<Arc<str>>,
}

fn group_text(group: &Option<Arc<str>>) -> String {
    match group {
        Some(g) => format!(" (group {g})"),
        None => String::new(),
    }
}

impl BrokerEvent {
    /// The variant name, as in the serialized `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            BrokerEvent::Accepted { .. } => "Accepted",
            BrokerEvent::Deduplicated { .. } => "Deduplicated",
            BrokerEvent::Received { .. } => "Received",
            BrokerEvent::Held { .. } => "Held",
            BrokerEvent::PollWaiting { .. } => "PollWaiting",
            BrokerEvent::PollCompleted { .. } => "PollCompleted",
            BrokerEvent::PollCancelled { .. } => "PollCancelled",
            BrokerEvent::ReceiveRetried { .. } => "ReceiveRetried",
            BrokerEvent::VisibilityExpired { .. } => "VisibilityExpired",
            BrokerEvent::VisibilityChanged { .. } => "VisibilityChanged",
            BrokerEvent::DelayEnded { .. } => "DelayEnded",
            BrokerEvent::Deleted { .. } => "Deleted",
            BrokerEvent::DeleteIgnored { .. } => "DeleteIgnored",
            BrokerEvent::DeadLettered { .. } => "DeadLettered",
            BrokerEvent::Expired { .. } => "Expired",
            BrokerEvent::Purged { .. } => "Purged",
            BrokerEvent::DuplicateInjected { .. } => "DuplicateInjected",
            BrokerEvent::Reordered { .. } => "Reordered",
            BrokerEvent::Published { .. } => "Published",
            BrokerEvent::PublishDeduplicated { .. } => "PublishDeduplicated",
            BrokerEvent::FilteredOut { .. } => "FilteredOut",
            BrokerEvent::MatchedNone { .. } => "MatchedNone",
            BrokerEvent::DeliveredToQueue { .. } => "DeliveredToQueue",
            BrokerEvent::QueueDeliveryFailed { .. } => "QueueDeliveryFailed",
            BrokerEvent::EndpointDeliveryRequested { .. } => "EndpointDeliveryRequested",
            BrokerEvent::EndpointDelivered { .. } => "EndpointDelivered",
            BrokerEvent::EndpointRetryScheduled { .. } => "EndpointRetryScheduled",
            BrokerEvent::EndpointDeliveryAbandoned { .. } => "EndpointDeliveryAbandoned",
        }
    }

    /// The main ids involved (the first message when there are several).
    pub fn ids(&self) -> EventIds {
        let mut ids = EventIds {
            kind: self.kind(),
            ..EventIds::default()
        };
        match self {
            BrokerEvent::Accepted {
                queue,
                message,
                group,
                ..
            }
            | BrokerEvent::Received {
                queue,
                message,
                group,
                ..
            }
            | BrokerEvent::VisibilityExpired {
                queue,
                message,
                group,
                ..
            }
            | BrokerEvent::DelayEnded {
                queue,
                message,
                group,
            }
            | BrokerEvent::Deleted {
                queue,
                message,
                group,
            }
            | BrokerEvent::DeadLettered {
                queue,
                message,
                group,
                ..
            }
            | BrokerEvent::Expired {
                queue,
                message,
                group,
                ..
            } => {
                ids.queue = Some(*queue);
                ids.message = Some(*message);
                ids.group = group.clone();
            }
            BrokerEvent::Deduplicated {
                queue,
                original,
                group,
                from_topic,
                ..
            } => {
                ids.queue = Some(*queue);
                ids.message = Some(*original);
                ids.group = group.clone();
                ids.topic = *from_topic;
            }
            BrokerEvent::Held {
                queue,
                group,
                message,
                ..
            } => {
                ids.queue = Some(*queue);
                ids.message = Some(*message);
                ids.group = Some(group.clone());
            }
            BrokerEvent::PollWaiting { queue, .. }
            | BrokerEvent::PollCancelled { queue, .. }
            | BrokerEvent::ReceiveRetried { queue, .. }
            | BrokerEvent::Purged { queue, .. } => ids.queue = Some(*queue),
            BrokerEvent::PollCompleted {
                queue, messages, ..
            } => {
                ids.queue = Some(*queue);
                if let Some(first) = messages.first() {
                    ids.message = Some(first.message);
                    ids.group = first.group.clone();
                }
            }
            BrokerEvent::VisibilityChanged { queue, message, .. }
            | BrokerEvent::DeleteIgnored { queue, message, .. }
            | BrokerEvent::DuplicateInjected { queue, message, .. }
            | BrokerEvent::Reordered { queue, message, .. } => {
                ids.queue = Some(*queue);
                ids.message = Some(*message);
            }
            BrokerEvent::Published { topic, group, .. } => {
                ids.topic = Some(*topic);
                ids.group = group.clone();
            }
            BrokerEvent::PublishDeduplicated { topic, .. }
            | BrokerEvent::MatchedNone { topic, .. } => ids.topic = Some(*topic),
            BrokerEvent::FilteredOut {
                topic,
                subscription,
                ..
            }
            | BrokerEvent::EndpointDelivered {
                topic,
                subscription,
                ..
            }
            | BrokerEvent::EndpointRetryScheduled {
                topic,
                subscription,
                ..
            }
            | BrokerEvent::EndpointDeliveryAbandoned {
                topic,
                subscription,
                ..
            } => {
                ids.topic = Some(*topic);
                ids.subscription = Some(*subscription);
            }
            BrokerEvent::DeliveredToQueue {
                topic,
                subscription,
                queue,
                message,
                ..
            } => {
                ids.topic = Some(*topic);
                ids.subscription = Some(*subscription);
                ids.queue = Some(*queue);
                ids.message = Some(*message);
            }
            BrokerEvent::QueueDeliveryFailed {
                topic,
                subscription,
                queue,
                ..
            } => {
                ids.topic = Some(*topic);
                ids.subscription = Some(*subscription);
                ids.queue = Some(*queue);
            }
            BrokerEvent::EndpointDeliveryRequested {
                topic,
                subscription,
                group,
                ..
            } => {
                ids.topic = Some(*topic);
                ids.subscription = Some(*subscription);
                ids.group = group.clone();
            }
        }
        ids
    }

    /// One plain sentence saying what happened and why, with names instead of ids.
    pub fn explain(&self, names: &dyn Names) -> String {
        match self {
            BrokerEvent::Accepted { queue, message, group, dedup_id, visible_at, from_topic, meta: _ } => {
                let source = match from_topic {
                    Some(t) => format!(" from topic {}", names.topic(*t)),
                    None => String::new(),
                };
                let dedup = match dedup_id {
                    Some(d) => format!(", deduplication id {d}"),
                    None => String::new(),
                };
                format!(
                    "{} accepted {message}{source}{}{dedup}; receivable from {visible_at}.",
                    names.queue(*queue),
                    group_text(group)
                )
            }
            BrokerEvent::Deduplicated { queue, original, group, dedup_id, window_ends, from_topic: _ } => format!(
                "{} dropped a send{}: deduplication id {dedup_id} was already accepted as {original}, and the 5-minute window lasts until {window_ends} even if {original} was deleted.",
                names.queue(*queue),
                group_text(group)
            ),
            BrokerEvent::Received { queue, message, group, receive_count, visible_again_at, poll, meta: _ } => {
                let how = if poll.is_some() { "a waiting long poll" } else { "a receive" };
                let again = if *receive_count > 1 { format!(" again (receive #{receive_count})") } else { String::new() };
                let order = if group.is_some() {
                    " Within its group this is send order; across groups it is one possible order."
                } else {
                    " Standard queues deliver in best-effort order."
                };
                format!(
                    "{} gave {message}{}{again} to {how}; it stays invisible until {visible_again_at} unless deleted.{order}",
                    names.queue(*queue),
                    group_text(group)
                )
            }
            BrokerEvent::Held { queue, group, message, blocked_by } => format!(
                "{} held {message}: group {group} still has {blocked_by} in flight.",
                names.queue(*queue)
            ),
            BrokerEvent::PollWaiting { queue, poll, until } => format!(
                "{} had nothing to give, so long poll {poll} waits until {until} for a message.",
                names.queue(*queue)
            ),
            BrokerEvent::PollCompleted { queue, poll, messages } => {
                if messages.is_empty() {
                    format!("{}: long poll {poll} waited its full time and returns empty.", names.queue(*queue))
                } else {
                    let list: Vec<String> = messages.iter().map(|m| m.message.to_string()).collect();
                    format!("{}: long poll {poll} returns {} as soon as it became available.", names.queue(*queue), list.join(", "))
                }
            }
            BrokerEvent::PollCancelled { queue, poll } => {
                format!("{}: long poll {poll} was withdrawn by its caller.", names.queue(*queue))
            }
            BrokerEvent::ReceiveRetried { queue, n_messages, visible_again_at } => format!(
                "{} returned the same {n_messages} message(s) and receipt handles again: the receive was retried with the same ReceiveRequestAttemptId and nothing changed; invisible until {visible_again_at}.",
                names.queue(*queue)
            ),
            BrokerEvent::VisibilityExpired { queue, message, group, receive_count } => format!(
                "{}: {message}{} was not deleted within its visibility timeout, so it is visible again after {receive_count} receive(s).",
                names.queue(*queue),
                group_text(group)
            ),
            BrokerEvent::VisibilityChanged { queue, message, visible_at } => format!(
                "{}: ChangeMessageVisibility makes {message} visible again at {visible_at}.",
                names.queue(*queue)
            ),
            BrokerEvent::DelayEnded { queue, message, group } => format!(
                "{}: the delay of {message}{} ended, so it can now be received.",
                names.queue(*queue),
                group_text(group)
            ),
            BrokerEvent::Deleted { queue, message, group } => format!(
                "{} deleted {message}{}: processing is done.",
                names.queue(*queue),
                group_text(group)
            ),
            BrokerEvent::DeleteIgnored { queue, message, reason } => match reason {
                DeleteNoop::AlreadyGone => format!(
                    "{}: the delete of {message} succeeded but did nothing, the message was already gone.",
                    names.queue(*queue)
                ),
            },
            BrokerEvent::DeadLettered { queue, dead_letter, message, new_message, group, receive_count, max_receive_count } => {
                let renamed = if new_message == message { String::new() } else { format!(" as {new_message}") };
                format!(
                    "{} moved {message}{} to dead-letter queue {}{renamed}: it was already received {receive_count} time(s) (maxReceiveCount {max_receive_count}), so this receive redrove it instead of handing it out.",
                    names.queue(*queue),
                    group_text(group),
                    names.queue(*dead_letter)
                )
            }
            BrokerEvent::Expired { queue, message, group, age_ms } => format!(
                "{}: {message}{} expired after {} in the queue (retention period reached).",
                names.queue(*queue),
                group_text(group),
                Millis(*age_ms)
            ),
            BrokerEvent::Purged { queue, n_messages } => {
                format!("{} was purged: {n_messages} message(s) deleted.", names.queue(*queue))
            }
            BrokerEvent::DuplicateInjected { queue, message, copy } => format!(
                "{} kept a stray copy of {message} as {copy}: standard queues deliver at least once, so it may be received again.",
                names.queue(*queue)
            ),
            BrokerEvent::Reordered { queue, message, skipped } => format!(
                "{} handed out {message} before the older {skipped}: standard queues only try to keep order.",
                names.queue(*queue)
            ),
            BrokerEvent::Published { topic, publish, group, n_subscriptions, meta: _ } => format!(
                "Topic {} received publish {publish}{} and fans it out to {n_subscriptions} subscription(s).",
                names.topic(*topic),
                group_text(group)
            ),
            BrokerEvent::PublishDeduplicated { topic, original, dedup_id } => format!(
                "Topic {} dropped a publish: deduplication id {dedup_id} was already published as {original} less than 5 minutes ago.",
                names.topic(*topic)
            ),
            BrokerEvent::FilteredOut { topic, subscription, publish } => format!(
                "Topic {}: subscription {} does not get {publish}, its filter policy does not match.",
                names.topic(*topic),
                names.subscription(*subscription)
            ),
            BrokerEvent::MatchedNone { topic, publish } => format!(
                "Topic {}: no subscription took {publish}, so it is delivered nowhere.",
                names.topic(*topic)
            ),
            BrokerEvent::DeliveredToQueue { topic, subscription: _, publish, queue, message, raw } => format!(
                "Topic {} delivered {publish} to {} as {message} ({}).",
                names.topic(*topic),
                names.queue(*queue),
                if *raw { "raw body" } else { "wrapped in the SNS JSON envelope" }
            ),
            BrokerEvent::QueueDeliveryFailed { topic, subscription: _, publish, queue, code } => format!(
                "Topic {} could not deliver {publish} to {}: the queue answered {code}.",
                names.topic(*topic),
                names.queue(*queue)
            ),
            BrokerEvent::EndpointDeliveryRequested { topic, subscription: _, publish, endpoint, delivery, attempt, .. } => format!(
                "Topic {} delivers {publish} to {} (delivery {delivery}, attempt {attempt}).",
                names.topic(*topic),
                names.endpoint(*endpoint)
            ),
            BrokerEvent::EndpointDelivered { topic, subscription, delivery, attempt } => format!(
                "Topic {}: {} accepted delivery {delivery} on attempt {attempt}.",
                names.topic(*topic),
                names.subscription(*subscription)
            ),
            BrokerEvent::EndpointRetryScheduled { topic, subscription, delivery, next_attempt, at } => format!(
                "Topic {}: delivery {delivery} to {} failed; the delivery policy retries (attempt {next_attempt}) at {at}.",
                names.topic(*topic),
                names.subscription(*subscription)
            ),
            BrokerEvent::EndpointDeliveryAbandoned { topic, subscription, delivery, attempts } => format!(
                "Topic {}: delivery {delivery} to {} failed {attempts} time(s) and the delivery policy gives up.",
                names.topic(*topic),
                names.subscription(*subscription)
            ),
        }
    }
}
