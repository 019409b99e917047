//! The scenario file's types, exactly as people write them (names, not ids; `30s`, not 30000).
//!
//! `Serialize` gives the canonical text (`Scenario::to_yaml`) and, with the `schema` feature, the
//! JSON Schema. Reading is done by `decode` (not serde) so that every problem is reported at once
//! with its line and column. Field lists used by `decode` live next to each type (`FIELDS`) and a
//! test checks them against the schema, so the two can't drift apart.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

#[cfg(feature = "schema")]
use schemars::JsonSchema;

/// The only format version so far. A file must say `version: 1`.
pub const VERSION: u32 = 1;

/// A whole scenario: the system, the workload, the faults, the story and the expected outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Scenario {
    /// Format version; always 1.
    pub version: u32,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Seed of the run's one random number generator (same seed, same run).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Virtual time the run lasts, e.g. `60s`.
    pub duration: Duration,
    /// Stop after this many events even if `duration` is not reached (a limit on everything).
    #[serde(
        default = "default_max_events",
        skip_serializing_if = "is_default_max_events"
    )]
    pub max_events: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<Queue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<Topic>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// The guided tour: what the learner reads, and when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Assertions the run must meet, e.g. `deduplicated(orders.fifo) == 1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<String>,
}

impl Scenario {
    pub const FIELDS: &'static [&'static str] = &[
        "version",
        "title",
        "description",
        "seed",
        "duration",
        "max_events",
        "services",
        "queues",
        "topics",
        "links",
        "faults",
        "steps",
        "expect",
    ];
    /// Keys that are part of the format's future and refused today with a clear message.
    pub const RESERVED: &'static [&'static str] = &["variants"];
}

pub fn default_seed() -> u64 {
    1
}
pub const DEFAULT_MAX_EVENTS: u64 = 200_000;
pub const MAX_MAX_EVENTS: u64 = 5_000_000;
pub fn default_max_events() -> u64 {
    DEFAULT_MAX_EVENTS
}
fn is_default_max_events(n: &u64) -> bool {
    *n == DEFAULT_MAX_EVENTS
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero_duration(d: &Duration) -> bool {
    d.0 == 0
}

/// A service: a name, exactly one behaviour, and an optional position on the canvas.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Service {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer: Option<Producer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<Consumer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc_server: Option<RpcServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<i32>,
}

impl Service {
    pub const FIELDS: &'static [&'static str] = &[
        "name",
        "producer",
        "consumer",
        "rpc_server",
        "client",
        "x",
        "y",
    ];
    pub const BEHAVIOURS: &'static [&'static str] =
        &["producer", "consumer", "rpc_server", "client"];
}

/// Sends messages (to a queue or topic) or makes calls (to a service) on a schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Producer {
    /// A queue or topic name (messaging) or a service name (an RPC call per tick).
    pub to: String,
    /// First send.
    #[serde(default, skip_serializing_if = "is_zero_duration")]
    pub start: Duration,
    /// Time between sends (with `count`, or until the run ends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<Duration>,
    /// How many to send in total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Explicit send times instead of `every`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at: Vec<Duration>,
    /// Body template; `{n}` is the 1-based message number, `{n%K}` cycles through 0..K.
    #[serde(default = "default_body")]
    pub body: String,
    /// FIFO message group id template (required when sending to a FIFO queue or topic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// FIFO deduplication id template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
    /// Message attributes (templates), e.g. `type: order.created`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Retry a failed send or call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
}

impl Producer {
    pub const FIELDS: &'static [&'static str] = &[
        "to",
        "start",
        "every",
        "count",
        "at",
        "body",
        "group",
        "dedup_id",
        "attributes",
        "retry",
    ];
}

pub fn default_body() -> String {
    "message {n}".to_string()
}

/// How a producer retries a failed send or call.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Retry {
    /// Attempts after the first (1–10).
    pub times: u32,
    /// Wait before the first retry; doubled before each further one.
    pub after: Duration,
}

impl Retry {
    pub const FIELDS: &'static [&'static str] = &["times", "after"];
}

/// Receives from a queue, works on each message, then deletes it (or not: `outcome`).
///
/// `Serialize` is written by hand (below) because `idempotent` is written as `true` or, with a
/// shared store, as `{store: name}`; the serde attributes here only describe the schema.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Consumer {
    pub queue: String,
    /// MaxNumberOfMessages per receive (1–10).
    #[cfg_attr(feature = "schema", serde(default = "one"))]
    pub batch: u32,
    /// Long-poll WaitTimeSeconds (0–20s).
    #[cfg_attr(feature = "schema", serde(default))]
    pub wait: Duration,
    /// Time to handle one message, e.g. `100ms` or `50ms..150ms`.
    #[cfg_attr(feature = "schema", serde(default = "default_work"))]
    pub work: Latency,
    /// What happens after the work.
    #[cfg_attr(feature = "schema", serde(default))]
    pub outcome: Outcome,
    /// Remember handled messages and skip repeats (an idempotency store): `true` for a store of
    /// its own, or `{store: orders-db}` to share one store with every consumer naming it (so a
    /// duplicate redelivered to another worker is skipped too).
    #[cfg_attr(feature = "schema", serde(default))]
    #[cfg_attr(feature = "schema", schemars(with = "IdempotentSchema"))]
    pub idempotent: bool,
    /// The shared store's name when `idempotent` is `{store: name}`; `None` = a private store.
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub idempotency_store: Option<String>,
    /// Extend the visibility timeout while working (ChangeMessageVisibility heartbeat).
    #[cfg_attr(feature = "schema", serde(default))]
    pub heartbeat: bool,
    /// Handler chain run for each message before the outcome.
    #[cfg_attr(feature = "schema", serde(default))]
    pub steps: Vec<Action>,
}

/// How `idempotent` may be written (schema only).
#[cfg(feature = "schema")]
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum IdempotentSchema {
    /// `true`: a private idempotency store; `false`: none.
    Flag(bool),
    Shared(SharedStore),
}

/// `{store: name}`: an idempotency store shared by every consumer naming it.
#[cfg(feature = "schema")]
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct SharedStore {
    /// The store's name (e.g. the database the consumers write to).
    store: String,
}

impl Serialize for Consumer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        #[derive(Serialize)]
        struct Store<'a> {
            store: &'a str,
        }
        let mut st = serializer.serialize_struct("Consumer", 8)?;
        st.serialize_field("queue", &self.queue)?;
        st.serialize_field("batch", &self.batch)?;
        if !is_zero_duration(&self.wait) {
            st.serialize_field("wait", &self.wait)?;
        }
        st.serialize_field("work", &self.work)?;
        if !self.outcome.is_delete() {
            st.serialize_field("outcome", &self.outcome)?;
        }
        match (&self.idempotency_store, self.idempotent) {
            (Some(store), true) => st.serialize_field("idempotent", &Store { store })?,
            (None, true) => st.serialize_field("idempotent", &true)?,
            _ => {}
        }
        if self.heartbeat {
            st.serialize_field("heartbeat", &true)?;
        }
        if !self.steps.is_empty() {
            st.serialize_field("steps", &self.steps)?;
        }
        st.end()
    }
}

impl Consumer {
    pub const FIELDS: &'static [&'static str] = &[
        "queue",
        "batch",
        "wait",
        "work",
        "outcome",
        "idempotent",
        "heartbeat",
        "steps",
    ];
    /// Fields of `idempotent: {store: name}`.
    pub const STORE_FIELDS: &'static [&'static str] = &["store"];
}

pub fn one() -> u32 {
    1
}
pub fn default_work() -> Latency {
    Latency {
        min_ms: 100,
        max_ms: 100,
    }
}

/// What a consumer does with a message after working on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// DeleteMessage: handled once.
    #[default]
    Delete,
    /// Forget to delete: the message comes back after the visibility timeout.
    SkipDelete,
    /// Handling fails (a poison message); no delete, so it is received again, then dead-lettered.
    Fail,
    /// The consumer crashes after the work, before the delete (the message comes back later).
    Crash,
}

impl Outcome {
    pub const NAMES: &'static [&'static str] = &["delete", "skip_delete", "fail", "crash"];
    fn is_delete(&self) -> bool {
        *self == Outcome::Delete
    }
}

/// Answers calls after `latency`; may run a handler chain first (calling others, sending messages).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct RpcServer {
    #[serde(default = "default_rpc_latency")]
    pub latency: Latency,
    /// Calls served at once; more are rejected (1–10000).
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// Chance that a call fails, e.g. `1%`.
    #[serde(default, skip_serializing_if = "Percent::is_zero")]
    pub error_rate: Percent,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Action>,
}

impl RpcServer {
    pub const FIELDS: &'static [&'static str] = &["latency", "concurrency", "error_rate", "steps"];
}

pub fn default_rpc_latency() -> Latency {
    Latency {
        min_ms: 50,
        max_ms: 50,
    }
}
pub fn default_concurrency() -> u32 {
    100
}

/// One step of a handler chain: exactly one of `call`, `send`, `publish`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Action {
    /// Call a service synchronously (waits for the reply; fails if the call fails).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// Send a message to a queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Publish a message to a topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<String>,
    /// Body template for `send`/`publish` (`{n}` = the service's message counter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl Action {
    pub const FIELDS: &'static [&'static str] = &[
        "call",
        "send",
        "publish",
        "body",
        "group",
        "dedup_id",
        "attributes",
    ];
    pub const KINDS: &'static [&'static str] = &["call", "send", "publish"];
}

/// A scripted client: explicit SQS/SNS API calls at given times (the "getting started" walk-through).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Client {
    pub calls: Vec<ClientCall>,
}

impl Client {
    pub const FIELDS: &'static [&'static str] = &["calls"];
}

/// One API call of a scripted client. Which fields apply depends on `action`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct ClientCall {
    pub at: Duration,
    pub action: ApiAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// receive_message: MaxNumberOfMessages (1–10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// receive_message: WaitTimeSeconds (0–20s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<Duration>,
    /// receive_message / change_message_visibility: VisibilityTimeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility_timeout: Option<Duration>,
    /// delete_message / change_message_visibility: which message of this client's last receive
    /// (1 = the first message it returned); its receipt handle is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<u32>,
    /// send_message: DelaySeconds (0–15m, whole seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// receive_message on a FIFO queue: ReceiveRequestAttemptId. A retry with the same id within
    /// 5 minutes returns the same messages and receipt handles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<String>,
    /// send_message_batch: the messages (1–10), each with `body`, `group`, `dedup_id`, `attributes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<BatchEntry>,
}

/// One message of a `send_message_batch` call.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct BatchEntry {
    #[serde(default = "default_body")]
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl BatchEntry {
    pub const FIELDS: &'static [&'static str] = &["body", "group", "dedup_id", "attributes"];
}

impl ClientCall {
    pub const FIELDS: &'static [&'static str] = &[
        "at",
        "action",
        "queue",
        "topic",
        "body",
        "group",
        "dedup_id",
        "attributes",
        "max",
        "wait",
        "visibility_timeout",
        "message",
        "delay",
        "attempt_id",
        "entries",
    ];
}

/// The SQS/SNS actions a scripted client can call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiAction {
    SendMessage,
    SendMessageBatch,
    ReceiveMessage,
    DeleteMessage,
    ChangeMessageVisibility,
    PurgeQueue,
    Publish,
}

impl ApiAction {
    pub const NAMES: &'static [&'static str] = &[
        "send_message",
        "send_message_batch",
        "receive_message",
        "delete_message",
        "change_message_visibility",
        "purge_queue",
        "publish",
    ];
    pub const ALL: [ApiAction; 7] = [
        ApiAction::SendMessage,
        ApiAction::SendMessageBatch,
        ApiAction::ReceiveMessage,
        ApiAction::DeleteMessage,
        ApiAction::ChangeMessageVisibility,
        ApiAction::PurgeQueue,
        ApiAction::Publish,
    ];
    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|a| *a == self).unwrap_or(0)]
    }
}

/// An SQS queue. FIFO when its name ends in `.fifo` (as SQS requires).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Queue {
    pub name: String,
    /// Optional, must agree with the `.fifo` suffix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fifo: Option<bool>,
    /// VisibilityTimeout (0–12h, default 30s).
    #[serde(default = "default_visibility")]
    pub visibility_timeout: Duration,
    /// DelaySeconds (0–15m).
    #[serde(default, skip_serializing_if = "is_zero_duration")]
    pub delay: Duration,
    /// MessageRetentionPeriod (60s–14d, default 4d).
    #[serde(
        default = "default_retention",
        skip_serializing_if = "is_default_retention"
    )]
    pub retention: Duration,
    /// MaximumMessageSize in bytes (1024–1048576).
    #[serde(
        default = "default_max_message_size",
        skip_serializing_if = "is_default_max_message_size"
    )]
    pub max_message_size: u32,
    /// ReceiveMessageWaitTimeSeconds (0–20s): default long-poll wait.
    #[serde(default, skip_serializing_if = "is_zero_duration")]
    pub receive_wait: Duration,
    /// FIFO only: dedup id = SHA-256 of the body when none is given.
    #[serde(default, skip_serializing_if = "is_false")]
    pub content_based_deduplication: bool,
    /// RedrivePolicy: where messages go after `max_receive_count` receives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<i32>,
}

impl Queue {
    pub const FIELDS: &'static [&'static str] = &[
        "name",
        "fifo",
        "visibility_timeout",
        "delay",
        "retention",
        "max_message_size",
        "receive_wait",
        "content_based_deduplication",
        "dead_letter",
        "x",
        "y",
    ];
    pub fn is_fifo(&self) -> bool {
        self.fifo.unwrap_or(self.name.ends_with(".fifo"))
    }
}

pub fn default_visibility() -> Duration {
    Duration(30_000)
}
pub fn default_retention() -> Duration {
    Duration(4 * 86_400_000)
}
fn is_default_retention(d: &Duration) -> bool {
    *d == default_retention()
}
pub fn default_max_message_size() -> u32 {
    262_144
}
fn is_default_max_message_size(n: &u32) -> bool {
    *n == default_max_message_size()
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct DeadLetter {
    pub queue: String,
    /// maxReceiveCount (1–1000).
    pub max_receive_count: u32,
}

impl DeadLetter {
    pub const FIELDS: &'static [&'static str] = &["queue", "max_receive_count"];
}

/// An SNS topic and its subscriptions. FIFO when its name ends in `.fifo`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Topic {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fifo: Option<bool>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub content_based_deduplication: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<Subscription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<i32>,
}

impl Topic {
    pub const FIELDS: &'static [&'static str] = &[
        "name",
        "fifo",
        "content_based_deduplication",
        "subscriptions",
        "x",
        "y",
    ];
    pub fn is_fifo(&self) -> bool {
        self.fifo.unwrap_or(self.name.ends_with(".fifo"))
    }
}

/// A topic subscription to a queue or directly to a service (an HTTP-style endpoint).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Subscription {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// SNS filter policy, e.g. `{type: [order.created]}` or `{type: [{prefix: "order."}]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<serde_json::Value>,
    /// FilterPolicyScope: what the filter looks at.
    #[serde(default, skip_serializing_if = "FilterScope::is_attributes")]
    pub filter_scope: FilterScope,
    /// RawMessageDelivery: deliver the body as published, without the SNS envelope.
    #[serde(default, skip_serializing_if = "is_false")]
    pub raw: bool,
}

impl Subscription {
    pub const FIELDS: &'static [&'static str] =
        &["queue", "service", "filter", "filter_scope", "raw"];
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FilterScope {
    #[default]
    MessageAttributes,
    MessageBody,
}

impl FilterScope {
    pub const NAMES: &'static [&'static str] = &["message_attributes", "message_body"];
    fn is_attributes(&self) -> bool {
        *self == FilterScope::MessageAttributes
    }
}

/// A network link between two nodes (services, queues, topics): latency and loss.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Link {
    pub from: String,
    pub to: String,
    /// Default: `rpc` between two services, `messaging` when one end is a queue or topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<LinkKind>,
    #[serde(default = "default_link_latency")]
    pub latency: Latency,
    /// Chance that a request is lost, e.g. `1%`.
    #[serde(default, skip_serializing_if = "Percent::is_zero")]
    pub loss: Percent,
    /// RPC only: the caller gives up after this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

impl Link {
    pub const FIELDS: &'static [&'static str] =
        &["from", "to", "kind", "latency", "loss", "timeout"];
}

pub fn default_link_latency() -> Latency {
    Latency {
        min_ms: 10,
        max_ms: 10,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Rpc,
    Messaging,
}

impl LinkKind {
    pub const NAMES: &'static [&'static str] = &["rpc", "messaging"];
}

/// A fault: when (`at` a time or `after` a condition first holds) and exactly one action.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Fault {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Duration>,
    /// A condition in the expect language, e.g. `received(orders) >= 1`: fires the first time it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Stop a service (in-flight work is lost; messages it received come back after their timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// Cut the link between two nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heal: Option<Vec<String>>,
    /// Make a service's work slower (`factor_pct`) or a link slower (`delay`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow: Option<Slow>,
    /// Lose a share of what crosses the link between two nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop: Option<Drop>,
    /// Undo `slow` (on a link) and `drop` on the link between two nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<Vec<String>>,
    /// A consumer stops (or, with `on: false`, resumes) deleting what it handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_delete: Option<SkipDelete>,
    /// Freeze a service for a while (a stop-the-world GC pause): its work, timers, heartbeats
    /// and arriving calls wait until it resumes; nothing is lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause: Option<Pause>,
    /// Lose responses on a link: the request did its work but the caller never hears back (the
    /// lost acknowledgement). Undone by `restore`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lose_responses: Option<LoseResponses>,
}

impl Fault {
    pub const FIELDS: &'static [&'static str] = &[
        "at",
        "after",
        "crash",
        "restart",
        "partition",
        "heal",
        "slow",
        "drop",
        "restore",
        "skip_delete",
        "pause",
        "lose_responses",
    ];
    pub const ACTIONS: &'static [&'static str] = &[
        "crash",
        "restart",
        "partition",
        "heal",
        "slow",
        "drop",
        "restore",
        "skip_delete",
        "pause",
        "lose_responses",
    ];
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Slow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Service work time in percent of normal (400 = four times slower; 100 = normal again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor_pct: Option<u32>,
    /// The two ends of a link, e.g. `[shipping, billing]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Vec<String>>,
    /// Extra latency on the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
}

impl Slow {
    pub const FIELDS: &'static [&'static str] = &["service", "factor_pct", "link", "delay"];
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Drop {
    /// The two ends of the link, e.g. `[shop, orders]`.
    pub link: Vec<String>,
    /// Share of crossings lost (default 100%).
    #[serde(default = "all", skip_serializing_if = "is_all")]
    pub loss: Percent,
    /// Extra latency for what still gets through (a degraded link: lossy and slow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
}

impl Drop {
    pub const FIELDS: &'static [&'static str] = &["link", "loss", "delay"];
}

/// A stop-the-world pause of one service (e.g. garbage collection).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Pause {
    pub service: String,
    /// How long it stays frozen, e.g. `40s` (1ms–1h).
    #[serde(rename = "for")]
    pub for_: Duration,
}

impl Pause {
    pub const FIELDS: &'static [&'static str] = &["service", "for"];
}

/// Responses lost on a link: the lost-acknowledgement case.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct LoseResponses {
    /// The two ends of the link, e.g. `[shop, orders.fifo]`.
    pub link: Vec<String>,
    /// Share of responses lost (default 100%).
    #[serde(default = "all", skip_serializing_if = "is_all")]
    pub chance: Percent,
}

impl LoseResponses {
    pub const FIELDS: &'static [&'static str] = &["link", "chance"];
}

pub fn all() -> Percent {
    Percent(1_000_000)
}
fn is_all(p: &Percent) -> bool {
    p.0 == 1_000_000
}
fn is_true(b: &bool) -> bool {
    *b
}
pub fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct SkipDelete {
    pub service: String,
    /// `false` turns deleting back on.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub on: bool,
}

impl SkipDelete {
    pub const FIELDS: &'static [&'static str] = &["service", "on"];
}

/// One page of the guided tour.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct Step {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Duration>,
    /// A condition in the expect language; the step shows the first time it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    pub title: String,
    pub text: String,
    /// Pause the playback when this step shows.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pause: bool,
}

impl Step {
    pub const FIELDS: &'static [&'static str] = &["at", "after", "title", "text", "pause"];
}

// ---------------------------------------------------------------------------------------------
// Scalars with units.

/// A duration in milliseconds, written `250ms`, `30s`, `5m`, `1h`, `4d` (`1.5s` is accepted too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub u64);

impl Duration {
    /// The shortest exact spelling: `90000` ms is `90s`, `120000` is `2m`.
    pub fn to_text(self) -> String {
        let ms = self.0;
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms != 0 && ms % size == 0 {
                return format!("{}{unit}", ms / size);
            }
        }
        format!("{ms}ms")
    }

    /// Parses `250ms`, `30s`, `1.5s`, `5m`, `1h`, `4d`. Integer arithmetic only; `None` on junk or overflow.
    pub fn parse(text: &str) -> Option<Duration> {
        let text = text.trim();
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, unit) = text.split_at(split);
        let scale: u64 = match unit.trim() {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        decimal_times(number, scale).map(Duration)
    }
}

/// `"1.25"` times 1000 = 1250, without floats; `None` if not exact in integers or on overflow.
pub fn decimal_times(number: &str, scale: u64) -> Option<u64> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(scale)?;
    let mut denominator = 1u64;
    for _ in 0..frac.len() {
        denominator *= 10;
    }
    if !frac.is_empty() {
        let numerator: u64 = frac.parse().ok()?;
        let scaled = numerator.checked_mul(scale)?;
        if scaled % denominator != 0 {
            return None;
        }
        value = value.checked_add(scaled / denominator)?;
    }
    Some(value)
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

/// A latency or work time: fixed (`10ms`) or uniform in a range (`5ms..20ms`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    pub min_ms: u64,
    pub max_ms: u64,
}

impl Latency {
    pub fn fixed(ms: u64) -> Latency {
        Latency {
            min_ms: ms,
            max_ms: ms,
        }
    }
    pub fn to_text(self) -> String {
        if self.min_ms == self.max_ms {
            Duration(self.min_ms).to_text()
        } else {
            format!(
                "{}..{}",
                Duration(self.min_ms).to_text(),
                Duration(self.max_ms).to_text()
            )
        }
    }
    pub fn parse(text: &str) -> Option<Latency> {
        match text.split_once("..") {
            None => Duration::parse(text).map(|d| Latency::fixed(d.0)),
            Some((a, b)) => Some(Latency {
                min_ms: Duration::parse(a)?.0,
                max_ms: Duration::parse(b)?.0,
            }),
        }
    }
}

impl Serialize for Latency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

/// A probability written as a percentage (`1%`, `0.5%`), kept in parts per million.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Percent(pub u32);

impl Percent {
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }
    pub fn to_text(self) -> String {
        let whole = self.0 / 10_000;
        let frac = self.0 % 10_000;
        if frac == 0 {
            format!("{whole}%")
        } else {
            let digits = format!("{frac:04}");
            format!("{whole}.{}%", digits.trim_end_matches('0'))
        }
    }
    pub fn parse(text: &str) -> Option<Percent> {
        let number = text.trim().strip_suffix('%')?.trim();
        let ppm = decimal_times(number, 10_000)?;
        (ppm <= 1_000_000).then_some(Percent(ppm as u32))
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

#[cfg(feature = "schema")]
mod schema_impls {
    use super::*;
    use schemars::{json_schema, Schema, SchemaGenerator};
    use std::borrow::Cow;

    impl JsonSchema for Duration {
        fn schema_name() -> Cow<'static, str> {
            "Duration".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|min|h|d)$",
                "description": "A duration: 250ms, 30s, 1.5s, 5m, 1h, 4d",
                "examples": ["250ms", "30s", "5m"]
            })
        }
    }

    impl JsonSchema for Latency {
        fn schema_name() -> Cow<'static, str> {
            "Latency".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|min|h|d)(\\.\\.[0-9]+(\\.[0-9]+)?(ms|s|m|min|h|d))?$",
                "description": "A fixed time (10ms) or a uniform range (5ms..20ms)",
                "examples": ["10ms", "50ms..150ms"]
            })
        }
    }

    impl JsonSchema for Percent {
        fn schema_name() -> Cow<'static, str> {
            "Percent".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "pattern": "^[0-9]+(\\.[0-9]{1,4})?%$",
                "description": "A probability as a percentage, 0% to 100%",
                "examples": ["0%", "1%", "0.5%"]
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_every_unit_and_print_shortest() {
        assert_eq!(Duration::parse("250ms"), Some(Duration(250)));
        assert_eq!(Duration::parse("1.5s"), Some(Duration(1500)));
        assert_eq!(Duration::parse("5m"), Some(Duration(300_000)));
        assert_eq!(Duration::parse("1h"), Some(Duration(3_600_000)));
        assert_eq!(Duration::parse("14d"), Some(Duration(14 * 86_400_000)));
        assert_eq!(Duration(90_000).to_text(), "90s");
        assert_eq!(Duration(120_000).to_text(), "2m");
        assert_eq!(Duration(0).to_text(), "0ms");
    }

    #[test]
    fn durations_refuse_junk_fractions_of_a_millisecond_and_overflow() {
        for bad in [
            "",
            "30",
            "s",
            "3x",
            "1.0005s",
            "-1s",
            "99999999999999999999d",
            "1..2s",
        ] {
            assert_eq!(Duration::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn latency_is_fixed_or_a_range() {
        assert_eq!(
            Latency::parse("5ms..20ms"),
            Some(Latency {
                min_ms: 5,
                max_ms: 20
            })
        );
        assert_eq!(
            Latency::parse("10ms").map(Latency::to_text),
            Some("10ms".to_string())
        );
    }

    #[test]
    fn percent_is_parts_per_million() {
        assert_eq!(Percent::parse("1%"), Some(Percent(10_000)));
        assert_eq!(Percent::parse("0.5%"), Some(Percent(5_000)));
        assert_eq!(Percent::parse("100%"), Some(Percent(1_000_000)));
        assert_eq!(Percent::parse("101%"), None);
        assert_eq!(Percent(5_000).to_text(), "0.5%");
        assert_eq!(Percent(10_000).to_text(), "1%");
    }
}
