//! Identifiers, receipt handles and the message payload types shared by queues, topics and events.
//! Ids are `u32`/`u64` newtypes (never `usize`) so traces are the same on wasm32 and native.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::Millis;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty), $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id_type!(
    /// A queue; index into the broker's queue table, in creation order.
    QueueId(u32), "q");
id_type!(
    /// A topic; index into the broker's topic table, in creation order.
    TopicId(u32), "t");
id_type!(
    /// A subscription of a topic; index into the broker's subscription table.
    SubscriptionId(u32), "sub");
id_type!(
    /// One enqueued SQS message record. Unique in the whole broker and increasing with the time
    /// the record was created, so "smaller id" means "enqueued earlier". Displays as `m7`.
    MessageId(u64), "m");
id_type!(
    /// A long poll (ReceiveMessage with WaitTimeSeconds > 0) that is waiting for messages.
    PollId(u64), "poll");
id_type!(
    /// One SNS Publish (the SNS MessageId), shared by every copy the topic fans out.
    PublishId(u64), "n");
id_type!(
    /// One SNS delivery to an engine endpoint, kept until it succeeds or is abandoned.
    DeliveryId(u64), "d");

/// Identifies one receive of one message, like SQS's opaque ReceiptHandle string.
/// `receive` is the message's receive count at that receive, so a later receive of the same message
/// gets a different handle.
///
/// `slot_hint` is not part of the handle's identity: the queue's storage slot the message
/// occupied when it was received (`ReceiptHandle::NO_HINT` if unknown), so DeleteMessage and
/// ChangeMessageVisibility can skip the search by id. The queue checks that the slot still holds
/// this message before trusting it. Equality, ordering, hashing, `Debug` and serialization
/// ignore it, so a handle rebuilt without the hint (from the event log, or written by hand) is
/// the same handle.
#[derive(Clone, Copy, Serialize)]
pub struct ReceiptHandle {
    pub queue: QueueId,
    pub message: MessageId,
    pub receive: u32,
    #[serde(skip)]
    pub slot_hint: u32,
}

impl ReceiptHandle {
    /// `slot_hint` of a handle whose slot is unknown.
    pub const NO_HINT: u32 = u32::MAX;

    /// A handle without a slot hint.
    pub fn new(queue: QueueId, message: MessageId, receive: u32) -> ReceiptHandle {
        ReceiptHandle {
            queue,
            message,
            receive,
            slot_hint: ReceiptHandle::NO_HINT,
        }
    }

    /// The identity: everything but the hint.
    fn key(&self) -> (QueueId, MessageId, u32) {
        (self.queue, self.message, self.receive)
    }
}

impl PartialEq for ReceiptHandle {
    fn eq(&self, other: &ReceiptHandle) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ReceiptHandle {}

impl PartialOrd for ReceiptHandle {
    fn partial_cmp(&self, other: &ReceiptHandle) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ReceiptHandle {
    fn cmp(&self, other: &ReceiptHandle) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl std::hash::Hash for ReceiptHandle {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl fmt::Debug for ReceiptHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptHandle")
            .field("queue", &self.queue)
            .field("message", &self.message)
            .field("receive", &self.receive)
            .finish()
    }
}

impl fmt::Display for ReceiptHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rh-{}-{}-{}", self.queue.0, self.message.0, self.receive)
    }
}

/// Opaque data the sender attaches; preserved through duplicates, redeliveries, DLQ moves and
/// topic fan-out copies (the engine uses `origin` to count "handled more than once" and latency).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct MessageMeta {
    pub origin: u64,
    pub created_at: Millis,
}

/// The data type of a message attribute (SQS `String`/`Number`/`Binary`, SNS adds `String.Array`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AttributeType {
    String,
    Number,
    Binary,
    #[serde(rename = "String.Array")]
    StringArray,
}

impl AttributeType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "String",
            AttributeType::Number => "Number",
            AttributeType::Binary => "Binary",
            AttributeType::StringArray => "String.Array",
        }
    }
}

/// A message attribute value. Numbers and arrays are kept as the text the sender wrote
/// (SQS does the same; SNS parses them when a filter policy needs to).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AttributeValue {
    pub data_type: AttributeType,
    pub value: String,
}

impl AttributeValue {
    pub fn string(value: impl Into<String>) -> AttributeValue {
        AttributeValue {
            data_type: AttributeType::String,
            value: value.into(),
        }
    }
    pub fn number(value: impl Into<String>) -> AttributeValue {
        AttributeValue {
            data_type: AttributeType::Number,
            value: value.into(),
        }
    }
    /// `value` is a JSON array text such as `["a","b"]`.
    pub fn string_array(value: impl Into<String>) -> AttributeValue {
        AttributeValue {
            data_type: AttributeType::StringArray,
            value: value.into(),
        }
    }
}

/// Message attributes by name (ordered, so iteration and the SNS envelope are deterministic).
pub type MessageAttributes = BTreeMap<String, AttributeValue>;

/// Body plus attributes. Shared (`Arc`) between redeliveries, duplicates and fan-out copies so a
/// message record stays small; the bytes are counted once. The attributes are an `Arc` of their
/// own so a sender with constant attributes shares one map among all its messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Payload {
    pub body: String,
    pub attributes: Arc<MessageAttributes>,
}

/// The empty attribute map: one allocation shared by every message without attributes.
pub fn no_attributes() -> Arc<MessageAttributes> {
    static EMPTY: std::sync::OnceLock<Arc<MessageAttributes>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(Arc::default))
}

impl Default for Payload {
    fn default() -> Payload {
        Payload::new(String::new())
    }
}

impl Payload {
    pub fn new(body: impl Into<String>) -> Payload {
        Payload {
            body: body.into(),
            attributes: no_attributes(),
        }
    }

    /// Size as SQS counts it against the 256 KiB limit: body plus, per attribute, the name, the
    /// data type and the value.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>
    pub fn size_bytes(&self) -> u64 {
        self.body.len() as u64 + attributes_size(&self.attributes)
    }
}

/// Bytes the attributes count against the size limit: per attribute, name + data type + value.
pub fn attributes_size(attributes: &MessageAttributes) -> u64 {
    attributes
        .iter()
        .map(|(name, value)| {
            (name.len() + value.data_type.as_str().len() + value.value.len()) as u64
        })
        .sum()
}

/// A message as ReceiveMessage returns it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReceivedMessage {
    pub message: MessageId,
    pub receipt: ReceiptHandle,
    #[serde(skip)]
    pub payload: Arc<Payload>,
    pub meta: MessageMeta,
    /// FIFO only: the MessageGroupId.
    pub group: Option<Arc<str>>,
    /// ApproximateReceiveCount, including this receive (1 on the first receive).
    pub receive_count: u32,
    /// When this record was enqueued (SentTimestamp).
    pub sent_at: Millis,
}
