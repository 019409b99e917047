//! `WorldSpec`: the resolved description of a world (ids not names, ms not strings) that the
//! scenario crate builds and `Sim::new` turns into a `World`. Pure data; no behaviour here.
//! Engine types never derive `Deserialize`: parsing is the scenario crate's job.

use crate::broker::{
    Chance, Millis, QueueConfig, QueueId, SubscriptionConfig, TopicConfig, TopicId,
};
use crate::ids::{LinkId, ServiceId};

/// Everything needed to build a world. Limits are explicit: every run stops.
#[derive(Clone, Debug)]
pub struct WorldSpec {
    pub seed: u64,
    /// Index in this Vec = `ServiceId`.
    pub services: Vec<ServiceSpec>,
    /// Index in this Vec = `QueueId` (queues are created in this order; a DLQ must come first).
    pub queues: Vec<QueueConfig>,
    /// Index in this Vec = `TopicId`.
    pub topics: Vec<TopicSpec>,
    /// Index in this Vec = `LinkId`.
    pub links: Vec<LinkSpec>,
    pub faults: Vec<FaultSpec>,
    pub limits: Limits,
}

/// Hard stops for a run (TigerBeetle: put a limit on everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// No event after this virtual time is executed.
    pub until: Millis,
    /// No more than this many events are produced.
    pub max_events: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            until: Millis::from_mins(10),
            max_events: 1_000_000,
        }
    }
}

/// A topic and its subscriptions, created in order (subscription ids follow this order).
#[derive(Clone, Debug)]
pub struct TopicSpec {
    pub config: TopicConfig,
    pub subscriptions: Vec<SubscriptionConfig>,
}

#[derive(Clone, Debug)]
pub struct ServiceSpec {
    pub name: String,
    pub behaviour: Behaviour,
}

/// What a service does. Every behaviour is written on top of the broker API.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Does nothing by itself (a box in a diagram, or a topic endpoint with no work).
    Idle,
    Producer(ProducerSpec),
    Consumer(ConsumerSpec),
    RpcServer(RpcServerSpec),
    ScriptedClient(ScriptSpec),
}

/// A node of the topology: what a link connects and what a transit travels between.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    Service(ServiceId),
    Queue(QueueId),
    Topic(TopicId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// Synchronous request/response between two services.
    Rpc,
    /// A service talking to a queue or topic (send, receive, delete travel over it).
    Messaging,
}

/// A link: messages crossing it take `latency_ms_min..=latency_ms_max` (uniform, drawn from the
/// world's Rng) and are lost with `loss`.
#[derive(Clone, Debug)]
pub struct LinkSpec {
    pub source: Node,
    pub target: Node,
    pub kind: LinkKind,
    pub latency_ms_min: u64,
    pub latency_ms_max: u64,
    pub loss: Chance,
}

/// A latency or work-time distribution in integer ms. No floats: `Skewed` uses a fixed table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    Fixed {
        ms: u64,
    },
    Uniform {
        min_ms: u64,
        max_ms: u64,
    },
    /// Mostly near `min_ms`, with a long tail up to `max_ms` (a fixed 16-step table, so the
    /// same draw gives the same value on every target).
    Skewed {
        min_ms: u64,
        max_ms: u64,
    },
}

/// Retry after failure: wait `backoff_ms`, doubled each further attempt, at most `max_attempts`
/// attempts in total (1 = no retry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 1,
            backoff_ms: 100,
        }
    }
}

/// A message template. `{n}` in any string is replaced by the producer's counter (1, 2, ...),
/// `{n%K}` by the counter modulo K (e.g. `g{n%16}` cycles through 16 FIFO groups), and
/// `{origin}` by the message's origin (unique per original message; a chain step forwarding a
/// message keeps it, so `{origin}` makes a stable dedup id across retries and consumers).
#[derive(Clone, Debug, Default)]
pub struct MessageTemplate {
    pub body: String,
    /// String attributes (name, value); SNS filter policies match on these.
    pub attributes: Vec<(String, String)>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// Where a producer or a chain step sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Queue(QueueId),
    Topic(TopicId),
    /// An RPC call to a service (needs an Rpc link).
    Service(ServiceId),
}

#[derive(Clone, Debug)]
pub enum Schedule {
    /// `per_second` messages each second, evenly spaced, from `start`, `count` in total.
    Rate {
        per_second: u32,
        start: Millis,
        count: u64,
    },
    /// `count` messages at once, at `at`.
    Burst { at: Millis, count: u32 },
    /// One message at each of these times.
    Times(Vec<Millis>),
}

#[derive(Clone, Debug)]
pub struct ProducerSpec {
    pub schedule: Schedule,
    pub template: MessageTemplate,
    pub target: Target,
    pub retry: RetryPolicy,
    /// How long the producer waits for the send's (or call's) response before retrying.
    pub timeout_ms: u64,
}

/// Keep a message invisible while working: every `every_ms` of work, extend visibility to `extend_to_ms` from now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub every_ms: u64,
    pub extend_to_ms: u64,
}

#[derive(Clone, Debug)]
pub struct ConsumerSpec {
    pub queue: QueueId,
    /// MaxNumberOfMessages, 1..=10.
    pub batch_size: u32,
    /// WaitTimeSeconds in ms (0 = short poll; at most 20 s). Rounded down to whole seconds.
    pub wait_ms: u64,
    /// Pause between an empty receive and the next poll.
    pub idle_backoff_ms: u64,
    pub work: Latency,
    /// Handling fails (no delete: the message comes back after the visibility timeout).
    pub fail: Chance,
    /// Handling stalls for `pause_ms` more (e.g. a GC pause past the visibility timeout).
    pub pause: Chance,
    pub pause_ms: u64,
    /// The consumer crashes after the work, before the delete.
    pub crash: Chance,
    /// Remember processed origins and skip (but delete) a message already handled.
    pub idempotent: bool,
    /// With `idempotent`: the name of a shared idempotency store (say the orders database).
    /// Consumers naming the same store see each other's processed origins, so a duplicate
    /// redelivered to a *different* worker is skipped too. `None` = a private store.
    pub idempotency_store: Option<String>,
    pub heartbeat: Option<Heartbeat>,
    /// After the work, run these steps before the delete; a failed step fails the message.
    pub chain: Vec<Step>,
}

/// What happens when an RPC arrives at a server whose concurrency slots are all busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    Reject,
    /// Wait in a queue of at most `max` calls; beyond that, reject.
    Queue {
        max: u32,
    },
}

#[derive(Clone, Debug)]
pub struct RpcServerSpec {
    pub latency: Latency,
    pub concurrency: u32,
    pub overflow: Overflow,
    pub error_rate: Chance,
    /// Run on every call (and on every topic delivery to this service as an endpoint).
    pub chain: Vec<Step>,
}

/// One step of a handler chain. Steps run in order; the reply to a call is sent after all
/// steps have finished, wherever `Reply` stands; a failed step fails the handler.
#[derive(Clone, Debug)]
pub enum Step {
    Call {
        service: ServiceId,
        timeout_ms: u64,
        retry: RetryPolicy,
    },
    Send {
        queue: QueueId,
        template: MessageTemplate,
    },
    Publish {
        topic: TopicId,
        template: MessageTemplate,
    },
    Reply,
}

#[derive(Clone, Debug, Default)]
pub struct ScriptSpec {
    pub calls: Vec<ScriptedCall>,
}

#[derive(Clone, Debug)]
pub struct ScriptedCall {
    pub at: Millis,
    pub call: ApiCall,
}

/// Which receipt handle a scripted call uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptRef {
    /// The receipt handle of the Nth (0-based) message returned by this client's last receive.
    NthOfLastReceive(u32),
    /// A literal handle (e.g. one of another queue, to show `ReceiptHandleIsInvalid`).
    Literal(crate::broker::ReceiptHandle),
}

/// One SQS/SNS API call made by a scripted client, with its parameters.
#[derive(Clone, Debug)]
pub enum ApiCall {
    SendMessage {
        queue: QueueId,
        message: MessageTemplate,
        delay_seconds: Option<u32>,
    },
    SendMessageBatch {
        queue: QueueId,
        entries: Vec<MessageTemplate>,
    },
    ReceiveMessage {
        queue: QueueId,
        max_number_of_messages: u32,
        wait_time_seconds: u32,
        visibility_timeout: Option<u32>,
        receive_request_attempt_id: Option<String>,
    },
    DeleteMessage {
        queue: QueueId,
        receipt: ReceiptRef,
    },
    ChangeMessageVisibility {
        queue: QueueId,
        receipt: ReceiptRef,
        visibility_timeout: u32,
    },
    PurgeQueue {
        queue: QueueId,
    },
    Publish {
        topic: TopicId,
        message: MessageTemplate,
    },
}

impl ApiCall {
    /// The SQS/SNS action name, as in the AWS API reference.
    pub fn action_name(&self) -> &'static str {
        match self {
            ApiCall::SendMessage { .. } => "SendMessage",
            ApiCall::SendMessageBatch { .. } => "SendMessageBatch",
            ApiCall::ReceiveMessage { .. } => "ReceiveMessage",
            ApiCall::DeleteMessage { .. } => "DeleteMessage",
            ApiCall::ChangeMessageVisibility { .. } => "ChangeMessageVisibility",
            ApiCall::PurgeQueue { .. } => "PurgeQueue",
            ApiCall::Publish { .. } => "Publish",
        }
    }
}

#[derive(Clone, Debug)]
pub struct FaultSpec {
    pub at: Trigger,
    pub action: FaultAction,
}

/// When a scheduled fault fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    At(Millis),
    /// Right after the `nth` (1-based) event matching `kind`.
    AfterEvent {
        kind: EventMatch,
        nth: u32,
    },
}

/// A class of events a trigger counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventMatch {
    /// A message handed to this consumer by a receive.
    Received { service: ServiceId },
    /// A message (or call) handled by this service.
    Handled { service: ServiceId },
    /// An RPC call issued by this service.
    RpcCall { service: ServiceId },
    /// A message sent by this producer and accepted.
    Sent { service: ServiceId },
    /// A message sent or published by a step of this service's handler chain. A fault on this
    /// trigger applies *at once*, before the chain's next step (e.g. a fan-out worker crashing
    /// after its first copy).
    ChainSent { service: ServiceId },
}

/// A fault, or its undo. Applied by schedule or interactively with `Sim::inject`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultAction {
    Crash {
        service: ServiceId,
    },
    Restart {
        service: ServiceId,
    },
    Partition {
        link: LinkId,
    },
    Heal {
        link: LinkId,
    },
    /// Multiply work time by `factor_pct` / 100 (100 = normal).
    Slow {
        service: ServiceId,
        factor_pct: u32,
    },
    /// Drop `drop` of the messages crossing the link, delay the others by `delay_ms` more.
    Degrade {
        link: LinkId,
        drop: Chance,
        delay_ms: u64,
    },
    Restore {
        link: LinkId,
    },
    /// Responses crossing the link are lost with this chance (the request did its work, the
    /// caller never hears: the lost-acknowledgement case). Undone by `Restore`.
    LoseResponses {
        link: LinkId,
        chance: Chance,
    },
    /// The service stops for `for_ms` (a GC pause): its work, timers and arriving requests
    /// wait until it resumes; nothing is lost.
    Pause {
        service: ServiceId,
        for_ms: u64,
    },
    /// A consumer stops (or resumes) deleting what it handled.
    SkipDeletes {
        service: ServiceId,
        on: bool,
    },
}
