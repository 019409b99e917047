//! `Event` and `EventKind`: every state change of a world, one closed enum with named fields
//! (wrapping the broker's own `BrokerEvent`), its one-sentence `explain()`, and its trace JSON.
//! Ids stay ids in the event (no String per event on the hot path); names are resolved when an
//! event is explained or serialized.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use crate::broker::{BrokerEvent, ErrorCode, MessageId, Millis, QueueId, SubscriptionId, TopicId};
use crate::ids::{LinkId, ServiceId};
use crate::spec::{FaultAction, Node};
use crate::statics::Names;

/// One state change: the unit of the timeline, the trace and the animation.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// 0-based position in the run.
    pub seq: u64,
    pub t: Millis,
    pub kind: EventKind,
}

/// Why a call, send or handler failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Failure {
    /// No answer before the caller's timeout.
    Timeout,
    /// The target service is crashed: the call is refused at once.
    Refused,
    /// The server's concurrency limit and wait queue were full.
    Busy,
    /// The server (or a step of its chain) answered with an error.
    Error,
    /// The broker refused the request with this SQS/SNS error code.
    Api(ErrorCode),
}

/// Why something crossing a link was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum LossCause {
    Partition,
    /// The link's own loss rate.
    Loss,
    /// A drop fault on the link.
    Fault,
    /// A lose-responses fault on the link: the request did its work, only the answer is lost.
    ResponseLost,
}

/// How a consumer finished with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WorkOutcome {
    Deleted,
    DeleteFailed {
        code: ErrorCode,
    },
    /// Processing failed: no delete, so the message returns after its visibility timeout.
    Failed,
    /// The skip-delete fault is on: the message returns after its visibility timeout.
    DeleteSkipped,
    /// The consumer crashed between the work and the delete.
    CrashedBeforeDelete,
}

/// A scripted client's API call, its parameters and its result or error, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientCallRecord {
    pub service: ServiceId,
    /// The SQS/SNS action name (`SendMessage`, `ReceiveMessage`, ...).
    pub call: &'static str,
    pub queue: Option<QueueId>,
    pub topic: Option<TopicId>,
    /// The request parameters as the API names them.
    pub params: Value,
    /// The response (messages with ids, bodies, receive counts, receipt handles), on success.
    pub result: Option<Value>,
    /// The SQS/SNS error code and message, on failure.
    pub error: Option<(ErrorCode, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A broker state change (queues, topics, subscriptions).
    Broker {
        event: BrokerEvent,
    },
    RpcRequest {
        caller: ServiceId,
        callee: ServiceId,
        link: Option<LinkId>,
        call: u64,
        attempt: u32,
        arrive_at: Millis,
    },
    RpcAccepted {
        server: ServiceId,
        call: u64,
        queued: bool,
    },
    RpcRejected {
        server: ServiceId,
        call: u64,
        failure: Failure,
    },
    /// A server finished a job and answers (the reply travels back over the link).
    Replied {
        server: ServiceId,
        call: Option<u64>,
        origin: u64,
        failure: Option<Failure>,
    },
    RpcCompleted {
        caller: ServiceId,
        callee: ServiceId,
        call: u64,
        failure: Option<Failure>,
    },
    RpcTimedOut {
        caller: ServiceId,
        callee: ServiceId,
        call: u64,
    },
    /// A response arrived after its caller gave up (or died).
    LateResponse {
        caller: ServiceId,
        call: u64,
    },
    /// A request or response was lost on its way.
    Lost {
        link: Option<LinkId>,
        from: Node,
        to: Node,
        call: u64,
        cause: LossCause,
        response: bool,
    },
    /// A producer's send or publish left over a messaging link (the broker acts on arrival).
    SendStarted {
        service: ServiceId,
        target: Node,
        link: Option<LinkId>,
        call: u64,
        attempt: u32,
        arrive_at: Millis,
    },
    /// A producer's message was accepted by its target.
    Sent {
        service: ServiceId,
        target: Node,
        origin: u64,
        n: u64,
        attempt: u32,
        message: Option<MessageId>,
    },
    SendFailed {
        service: ServiceId,
        target: Node,
        origin: u64,
        attempt: u32,
        failure: Failure,
        retry_at: Option<Millis>,
    },
    /// A handler chain step sent or published a message.
    ChainSent {
        service: ServiceId,
        target: Node,
        origin: u64,
        message: Option<MessageId>,
        failure: Option<Failure>,
    },
    PollEmpty {
        service: ServiceId,
        queue: QueueId,
        retry_at: Millis,
    },
    PollWaiting {
        service: ServiceId,
        queue: QueueId,
        wait_ms: u64,
    },
    BatchArrived {
        service: ServiceId,
        queue: QueueId,
        n: u32,
    },
    /// Received messages reached a consumer that had crashed meanwhile.
    DeliveredToCrashed {
        service: ServiceId,
        n: u32,
    },
    WorkStarted {
        service: ServiceId,
        queue: QueueId,
        message: MessageId,
        origin: u64,
        /// FIFO: the message group.
        group: Option<std::sync::Arc<str>>,
        receive_count: u32,
        until: Millis,
    },
    /// A message or call was handled (counted in the service's metrics).
    Handled {
        service: ServiceId,
        message: Option<MessageId>,
        origin: u64,
        latency_ms: u64,
        duplicate: bool,
        order_violation: bool,
    },
    WorkFinished {
        service: ServiceId,
        queue: QueueId,
        message: MessageId,
        origin: u64,
        outcome: WorkOutcome,
    },
    /// An idempotent consumer recognised an origin it already processed and only deleted it.
    DuplicateSkipped {
        service: ServiceId,
        queue: QueueId,
        message: MessageId,
        origin: u64,
    },
    VisibilityExtended {
        service: ServiceId,
        queue: QueueId,
        message: MessageId,
        until: Millis,
        error: Option<ErrorCode>,
    },
    /// A topic delivered to a service endpoint.
    EndpointHandled {
        service: ServiceId,
        topic: TopicId,
        subscription: SubscriptionId,
        ok: bool,
    },
    ClientCall {
        record: Box<ClientCallRecord>,
    },
    Fault {
        action: FaultAction,
        injected: bool,
    },
    Crashed {
        service: ServiceId,
        lost_jobs: u32,
    },
}

impl crate::broker::Names for Names {
    fn queue(&self, queue: QueueId) -> String {
        self.queue_name(queue).to_string()
    }
    fn topic(&self, topic: TopicId) -> String {
        self.topic_name(topic).to_string()
    }
    fn subscription(&self, subscription: SubscriptionId) -> String {
        self.subscriptions
            .get(subscription.0 as usize)
            .cloned()
            .unwrap_or_else(|| subscription.to_string())
    }
    fn endpoint(&self, endpoint: u32) -> String {
        self.service(ServiceId(endpoint)).to_string()
    }
}

fn failure_text(failure: Failure) -> String {
    match failure {
        Failure::Timeout => "no answer before the timeout".into(),
        Failure::Refused => "the service is down (crashed), so the call was refused".into(),
        Failure::Busy => "the server was at its concurrency limit".into(),
        Failure::Error => "the handler answered with an error".into(),
        Failure::Api(code) => format!("the API answered {code}"),
    }
}

fn cause_text(cause: LossCause) -> &'static str {
    match cause {
        LossCause::Partition => "the link is partitioned",
        LossCause::Loss => "the network lost it",
        LossCause::Fault => "a drop fault on the link",
        LossCause::ResponseLost => "a lose-responses fault on the link",
    }
}

/// A chance as a percentage in plain words ("25%", "0.5%"), from its integer parts per million.
fn percent(chance: crate::broker::Chance) -> String {
    let ppm = chance.0;
    let (whole, rest) = (ppm / 10_000, ppm % 10_000);
    if rest == 0 {
        return format!("{whole}%");
    }
    let mut decimals = format!("{rest:04}");
    while decimals.ends_with('0') {
        decimals.pop();
    }
    format!("{whole}.{decimals}%")
}

fn fault_text(action: &FaultAction, names: &Names) -> String {
    match action {
        FaultAction::Crash { service } => format!("{} crashes", names.service(*service)),
        FaultAction::Restart { service } => format!("{} restarts", names.service(*service)),
        FaultAction::Partition { link } => format!("link {} is partitioned", names.link(*link)),
        FaultAction::Heal { link } => format!("link {} heals", names.link(*link)),
        FaultAction::Slow {
            service,
            factor_pct,
        } => format!(
            "{} now works at {factor_pct}% of normal duration",
            names.service(*service)
        ),
        FaultAction::Degrade {
            link,
            drop,
            delay_ms,
        } => {
            if *delay_ms == 0 {
                format!("link {} now loses {} of the messages crossing it", names.link(*link), percent(*drop))
            } else {
                format!(
                    "link {} now loses {} of the messages crossing it and delays the rest by {}",
                    names.link(*link),
                    percent(*drop),
                    Millis(*delay_ms)
                )
            }
        }
        FaultAction::Restore { link } => format!("link {} is back to normal", names.link(*link)),
        FaultAction::LoseResponses { link, chance } => format!(
            "link {} now loses {} of the responses coming back: requests still arrive and do their work, but the caller may never hear so",
            names.link(*link),
            percent(*chance)
        ),
        FaultAction::Pause { service, for_ms } => {
            format!("{} pauses for {} (nothing it does progresses meanwhile)", names.service(*service), Millis(*for_ms))
        }
        FaultAction::SkipDeletes { service, on } => {
            if *on {
                format!(
                    "{} stops deleting the messages it handled",
                    names.service(*service)
                )
            } else {
                format!("{} deletes handled messages again", names.service(*service))
            }
        }
    }
}

impl EventKind {
    /// One plain sentence with names, e.g. "api called db (call #3); the request arrives at 0.120s".
    pub fn explain(&self, names: &Names) -> String {
        let s = |id: ServiceId| names.service(id);
        match self {
            EventKind::Broker { event } => event.explain(names),
            EventKind::RpcRequest { caller, callee, link: _, call, attempt, arrive_at } => {
                let retry = if *attempt > 1 { format!(" (attempt {attempt})") } else { String::new() };
                format!("{} calls {} (call #{call}){retry}; the request arrives at {arrive_at}; {} now waits.", s(*caller), s(*callee), s(*caller))
            }
            EventKind::RpcAccepted { server, call, queued } => {
                if *queued {
                    format!("{} is at its concurrency limit, so call #{call} waits in its queue.", s(*server))
                } else {
                    format!("{} starts working on call #{call}.", s(*server))
                }
            }
            EventKind::RpcRejected { server, call, failure } => format!("{} rejects call #{call}: {}.", s(*server), failure_text(*failure)),
            EventKind::Replied { server, call, origin, failure } => {
                let what = match call {
                    Some(c) => format!("call #{c}"),
                    None => format!("delivery of #{origin}"),
                };
                match failure {
                    None => format!("{} finished {what} and replies OK.", s(*server)),
                    Some(f) => format!("{} failed {what} and replies with an error: {}.", s(*server), failure_text(*f)),
                }
            }
            EventKind::RpcCompleted { caller, callee, call, failure } => match failure {
                None => format!("{} got the answer to call #{call} from {}; it is no longer blocked.", s(*caller), s(*callee)),
                Some(f) => format!("{}'s call #{call} to {} failed: {}; the failure goes up to whoever called {}.", s(*caller), s(*callee), failure_text(*f), s(*caller)),
            },
            EventKind::RpcTimedOut { caller, callee, call } => format!(
                "{} gave up on call #{call} to {}: no answer before the timeout (the request, the work or the reply may still be on its way).",
                s(*caller),
                s(*callee)
            ),
            EventKind::LateResponse { caller, call } => format!("The answer to call #{call} reached {} after it stopped waiting, so it is ignored.", s(*caller)),
            EventKind::Lost { link: _, from, to, call, cause, response } => {
                // `call == 0`: the answer to a consumer's receive (not a numbered call).
                let from_queue = matches!(from, Node::Queue(_)) && *call == 0;
                let (from, to) = (names.node(*from), names.node(*to));
                match (response, from_queue) {
                    (false, _) => format!("A request from {from} to {to} was lost ({}), so it never arrives; {from} will time out and may retry.", cause_text(*cause)),
                    // A receive's answer: the messages were handed out but never reached the consumer.
                    (true, true) => format!("The messages {to} received from {from} were lost on the way back ({}); {to} never sees them, so they stay in flight and reappear after the visibility timeout.", cause_text(*cause)),
                    (true, false) => format!("The request reached {from} and was acted on, but the response to {to} was lost on the way back ({}); {to} will time out and may retry, repeating a request that already succeeded.", cause_text(*cause)),
                }
            }
            EventKind::SendStarted { service, target, link: _, call: _, attempt, arrive_at } => {
                let retry = if *attempt > 1 { format!(" (attempt {attempt})") } else { String::new() };
                format!("{} sends a message to {}{retry}; it arrives at {arrive_at}.", s(*service), names.node(*target))
            }
            EventKind::Sent { service, target, origin, n, attempt, message } => {
                let id = message.map(|m| format!(" as {m}")).unwrap_or_default();
                let retry = if *attempt > 1 { format!(" on attempt {attempt} (same deduplication id)") } else { String::new() };
                match target {
                    Node::Service(_) => format!("{} got an OK answer from {} to request #{n} (origin {origin}){}.", s(*service), names.node(*target), if *attempt > 1 { format!(" on attempt {attempt}") } else { String::new() }),
                    _ => format!("{} sent message #{n} (origin {origin}) to {}{id}{retry}.", s(*service), names.node(*target)),
                }
            }
            EventKind::SendFailed { service, target, origin, attempt, failure, retry_at } => {
                let next = match retry_at {
                    Some(t) => format!("; it retries at {t} with the same message (and the same deduplication id, if it has one)"),
                    None => "; it gives up".into(),
                };
                let what = if matches!(target, Node::Service(_)) { "call" } else { "send" };
                format!("{}'s {what} (origin {origin}) to {} failed on attempt {attempt}: {}{next}.", s(*service), names.node(*target), failure_text(*failure))
            }
            EventKind::ChainSent { service, target, origin, message, failure } => match failure {
                None => {
                    let id = message.map(|m| format!(" as {m}")).unwrap_or_default();
                    format!("{} sent a message for origin {origin} to {}{id}.", s(*service), names.node(*target))
                }
                Some(f) => format!("{} could not send to {}: {}.", s(*service), names.node(*target), failure_text(*f)),
            },
            EventKind::PollEmpty { service, queue, retry_at } => format!(
                "{} found {} empty (short poll) and polls again at {retry_at}.",
                s(*service),
                names.queue_name(*queue)
            ),
            EventKind::PollWaiting { service, queue, wait_ms } => format!(
                "{} long-polls {} for up to {}.",
                s(*service),
                names.queue_name(*queue),
                Millis(*wait_ms)
            ),
            EventKind::BatchArrived { service, queue, n } => format!("{} received {n} message(s) from {}.", s(*service), names.queue_name(*queue)),
            EventKind::DeliveredToCrashed { service, n } => format!(
                "{n} received message(s) reached {} after it crashed; nobody deletes them, so they come back after the visibility timeout.",
                s(*service)
            ),
            EventKind::WorkStarted { service, queue, message, origin: _, group: _, receive_count, until } => {
                let again = if *receive_count > 1 { format!(" (receive #{receive_count}: a redelivery)") } else { String::new() };
                format!("{} works on {message} from {}{again} until {until}.", s(*service), names.queue_name(*queue))
            }
            EventKind::Handled { service, message, origin, latency_ms, duplicate, order_violation } => {
                let what = message.map(|m| m.to_string()).unwrap_or_else(|| format!("origin {origin}"));
                let mut text = format!("{} handled {what}, {} after it was created.", s(*service), Millis(*latency_ms));
                if *duplicate {
                    let _ = write!(text, " It had already handled origin {origin}: a duplicate effect.");
                }
                if *order_violation {
                    text.push_str(" A later message of the same group was handled before it: an order violation.");
                }
                text
            }
            EventKind::WorkFinished { service, queue, message, origin: _, outcome } => {
                let q = names.queue_name(*queue);
                match outcome {
                    WorkOutcome::Deleted => format!("{} deleted {message} from {q}.", s(*service)),
                    WorkOutcome::DeleteFailed { code } => format!("{}'s delete of {message} from {q} failed with {code}.", s(*service)),
                    WorkOutcome::Failed => format!("{} failed to process {message}; it does not delete it, so {q} redelivers it after the visibility timeout.", s(*service)),
                    WorkOutcome::DeleteSkipped => format!("{} handled {message} but skipped the delete, so {q} redelivers it after the visibility timeout.", s(*service)),
                    WorkOutcome::CrashedBeforeDelete => format!("{} crashed after handling {message} and before deleting it.", s(*service)),
                }
            }
            EventKind::DuplicateSkipped { service, queue, message, origin } => match names.shared_store(*service) {
                Some(store) => format!(
                    "{} finds origin {origin} already in the shared store {store} (a consumer using that store processed it), so it only deletes {message} from {} and does not process it again.",
                    s(*service),
                    names.queue_name(*queue)
                ),
                None => format!(
                    "{} already processed origin {origin}, so it only deletes {message} from {} (idempotent consumer).",
                    s(*service),
                    names.queue_name(*queue)
                ),
            },
            EventKind::VisibilityExtended { service, queue, message, until, error } => match error {
                None => format!("{} is still working and extends {message}'s visibility in {} to {until}.", s(*service), names.queue_name(*queue)),
                Some(code) => format!("{} tried to extend {message}'s visibility in {} but got {code}.", s(*service), names.queue_name(*queue)),
            },
            EventKind::EndpointHandled { service, topic, subscription: _, ok } => {
                if *ok {
                    format!("{} accepted a delivery from topic {}.", s(*service), names.topic_name(*topic))
                } else {
                    format!("{} could not accept a delivery from topic {} (it is down).", s(*service), names.topic_name(*topic))
                }
            }
            EventKind::ClientCall { record } => {
                let target = record.queue.map(|q| names.queue_name(q)).or(record.topic.map(|t| names.topic_name(t))).unwrap_or("?");
                match (&record.error, &record.result) {
                    (Some((code, message)), _) => format!("{} called {} on {target}: error {code} ({message}).", s(record.service), record.call),
                    (None, Some(result)) => format!("{} called {} on {target}: {}.", s(record.service), record.call, summarize(result)),
                    (None, None) => format!("{} called {} on {target}.", s(record.service), record.call),
                }
            }
            EventKind::Fault { action, injected } => {
                let how = if *injected { "Injected fault" } else { "Scheduled fault" };
                format!("{how}: {}.", fault_text(action, names))
            }
            EventKind::Crashed { service, lost_jobs } => format!(
                "{} is down: {lost_jobs} job(s) in progress are lost, and messages it received but did not delete will reappear after their visibility timeout.",
                s(*service)
            ),
        }
    }

    /// The message this event is about, if any (for the UI's message journey).
    pub fn message(&self) -> Option<MessageId> {
        match self {
            EventKind::Broker { event } => event.ids().message,
            EventKind::Sent { message, .. }
            | EventKind::ChainSent { message, .. }
            | EventKind::Handled { message, .. } => *message,
            EventKind::WorkStarted { message, .. }
            | EventKind::WorkFinished { message, .. }
            | EventKind::DuplicateSkipped { message, .. }
            | EventKind::VisibilityExtended { message, .. } => Some(*message),
            EventKind::RpcRequest { .. }
            | EventKind::RpcAccepted { .. }
            | EventKind::RpcRejected { .. }
            | EventKind::Replied { .. }
            | EventKind::RpcCompleted { .. }
            | EventKind::RpcTimedOut { .. }
            | EventKind::LateResponse { .. }
            | EventKind::Lost { .. }
            | EventKind::SendStarted { .. }
            | EventKind::SendFailed { .. }
            | EventKind::PollEmpty { .. }
            | EventKind::PollWaiting { .. }
            | EventKind::BatchArrived { .. }
            | EventKind::DeliveredToCrashed { .. }
            | EventKind::EndpointHandled { .. }
            | EventKind::ClientCall { .. }
            | EventKind::Fault { .. }
            | EventKind::Crashed { .. } => None,
        }
    }

    /// The origin (the engine's id of the message as first created, kept through copies,
    /// retries and redeliveries) this event is about, if known.
    pub fn origin(&self) -> Option<u64> {
        match self {
            EventKind::Broker { event } => match event {
                BrokerEvent::Accepted { meta, .. }
                | BrokerEvent::Received { meta, .. }
                | BrokerEvent::Published { meta, .. } => Some(meta.origin),
                BrokerEvent::EndpointDeliveryRequested { meta, .. } => Some(meta.origin),
                _ => None,
            },
            EventKind::Sent { origin, .. }
            | EventKind::SendFailed { origin, .. }
            | EventKind::ChainSent { origin, .. }
            | EventKind::Replied { origin, .. }
            | EventKind::WorkStarted { origin, .. }
            | EventKind::Handled { origin, .. }
            | EventKind::WorkFinished { origin, .. }
            | EventKind::DuplicateSkipped { origin, .. } => Some(*origin),
            _ => None,
        }
    }

    /// The kind name in the trace (`snake_case`; broker events keep their own variant name).
    pub fn kind_name(&self) -> &'static str {
        match self {
            EventKind::Broker { event } => event.kind(),
            EventKind::RpcRequest { .. } => "rpc_request",
            EventKind::RpcAccepted { .. } => "rpc_accepted",
            EventKind::RpcRejected { .. } => "rpc_rejected",
            EventKind::Replied { .. } => "replied",
            EventKind::RpcCompleted { .. } => "rpc_completed",
            EventKind::RpcTimedOut { .. } => "rpc_timed_out",
            EventKind::LateResponse { .. } => "late_response",
            EventKind::Lost { .. } => "lost",
            EventKind::SendStarted { .. } => "send_started",
            EventKind::Sent { .. } => "sent",
            EventKind::SendFailed { .. } => "send_failed",
            EventKind::ChainSent { .. } => "chain_sent",
            EventKind::PollEmpty { .. } => "poll_empty",
            EventKind::PollWaiting { .. } => "poll_waiting",
            EventKind::BatchArrived { .. } => "batch_arrived",
            EventKind::DeliveredToCrashed { .. } => "delivered_to_crashed",
            EventKind::WorkStarted { .. } => "work_started",
            EventKind::Handled { .. } => "handled",
            EventKind::WorkFinished { .. } => "work_finished",
            EventKind::DuplicateSkipped { .. } => "duplicate_skipped",
            EventKind::VisibilityExtended { .. } => "visibility_extended",
            EventKind::EndpointHandled { .. } => "endpoint_handled",
            EventKind::ClientCall { .. } => "client_call",
            EventKind::Fault { .. } => "fault",
            EventKind::Crashed { .. } => "crashed",
        }
    }

    /// The trace fields besides `seq`, `t_ms`, `kind` and `why`, ids as names.
    fn fields(&self, names: &Names, map: &mut Map<String, Value>) {
        let svc = |id: ServiceId| Value::from(names.service(id));
        let q = |id: QueueId| Value::from(names.queue_name(id));
        let node = |map: &mut Map<String, Value>, key: &str, n: Node| {
            let key = match n {
                Node::Service(_) if key == "target" => "target_service",
                Node::Queue(_) => "queue",
                Node::Topic(_) => "topic",
                Node::Service(_) => key,
            };
            map.insert(key.into(), Value::from(names.node(n)));
        };
        match self {
            EventKind::Broker { event } => {
                let ids = event.ids();
                if let Some(id) = ids.queue {
                    map.insert("queue".into(), q(id));
                }
                if let Some(id) = ids.topic {
                    map.insert("topic".into(), Value::from(names.topic_name(id)));
                }
                if let Some(id) = ids.subscription {
                    map.insert(
                        "subscription".into(),
                        Value::from(crate::broker::Names::subscription(names, id)),
                    );
                }
                if let Some(id) = ids.message {
                    map.insert("message".into(), Value::from(id.to_string()));
                }
                if let Some(g) = ids.group {
                    map.insert("group".into(), Value::from(&*g));
                }
            }
            EventKind::RpcRequest {
                caller,
                callee,
                link,
                call,
                attempt,
                arrive_at,
            } => {
                map.insert("service".into(), svc(*caller));
                map.insert("callee".into(), svc(*callee));
                if let Some(l) = link {
                    map.insert("link".into(), Value::from(names.link(*l)));
                }
                map.insert("call".into(), json!(call));
                map.insert("attempt".into(), json!(attempt));
                map.insert("arrive_t_ms".into(), json!(arrive_at.0));
            }
            EventKind::RpcAccepted {
                server,
                call,
                queued,
            } => {
                map.insert("service".into(), svc(*server));
                map.insert("call".into(), json!(call));
                map.insert("queued".into(), json!(queued));
            }
            EventKind::RpcRejected {
                server,
                call,
                failure,
            } => {
                map.insert("service".into(), svc(*server));
                map.insert("call".into(), json!(call));
                map.insert("failure".into(), json!(failure));
            }
            EventKind::Replied {
                server,
                call,
                origin,
                failure,
            } => {
                map.insert("service".into(), svc(*server));
                map.insert("call".into(), json!(call));
                map.insert("origin".into(), json!(origin));
                map.insert("failure".into(), json!(failure));
            }
            EventKind::RpcCompleted {
                caller,
                callee,
                call,
                failure,
            } => {
                map.insert("service".into(), svc(*caller));
                map.insert("callee".into(), svc(*callee));
                map.insert("call".into(), json!(call));
                map.insert("failure".into(), json!(failure));
            }
            EventKind::RpcTimedOut {
                caller,
                callee,
                call,
            } => {
                map.insert("service".into(), svc(*caller));
                map.insert("callee".into(), svc(*callee));
                map.insert("call".into(), json!(call));
            }
            EventKind::LateResponse { caller, call } => {
                map.insert("service".into(), svc(*caller));
                map.insert("call".into(), json!(call));
            }
            EventKind::Lost {
                link,
                from,
                to,
                call,
                cause,
                response,
            } => {
                if let Some(l) = link {
                    map.insert("link".into(), Value::from(names.link(*l)));
                }
                map.insert("from".into(), Value::from(names.node(*from)));
                map.insert("to".into(), Value::from(names.node(*to)));
                map.insert("call".into(), json!(call));
                map.insert("cause".into(), json!(cause));
                map.insert("response".into(), json!(response));
            }
            EventKind::SendStarted {
                service,
                target,
                link,
                call,
                attempt,
                arrive_at,
            } => {
                map.insert("service".into(), svc(*service));
                node(map, "target", *target);
                if let Some(l) = link {
                    map.insert("link".into(), Value::from(names.link(*l)));
                }
                map.insert("call".into(), json!(call));
                map.insert("attempt".into(), json!(attempt));
                map.insert("arrive_t_ms".into(), json!(arrive_at.0));
            }
            EventKind::Sent {
                service,
                target,
                origin,
                n,
                attempt,
                message,
            } => {
                map.insert("service".into(), svc(*service));
                node(map, "target", *target);
                map.insert("origin".into(), json!(origin));
                map.insert("n".into(), json!(n));
                map.insert("attempt".into(), json!(attempt));
                if let Some(m) = message {
                    map.insert("message".into(), Value::from(m.to_string()));
                }
            }
            EventKind::SendFailed {
                service,
                target,
                origin,
                attempt,
                failure,
                retry_at,
            } => {
                map.insert("service".into(), svc(*service));
                node(map, "target", *target);
                map.insert("origin".into(), json!(origin));
                map.insert("attempt".into(), json!(attempt));
                map.insert("failure".into(), json!(failure));
                map.insert("retry_t_ms".into(), json!(retry_at.map(|t| t.0)));
            }
            EventKind::ChainSent {
                service,
                target,
                origin,
                message,
                failure,
            } => {
                map.insert("service".into(), svc(*service));
                node(map, "target", *target);
                map.insert("origin".into(), json!(origin));
                if let Some(m) = message {
                    map.insert("message".into(), Value::from(m.to_string()));
                }
                map.insert("failure".into(), json!(failure));
            }
            EventKind::PollEmpty {
                service,
                queue,
                retry_at,
            } => {
                map.insert("service".into(), svc(*service));
                map.insert("queue".into(), q(*queue));
                map.insert("retry_t_ms".into(), json!(retry_at.0));
            }
            EventKind::PollWaiting {
                service,
                queue,
                wait_ms,
            } => {
                map.insert("service".into(), svc(*service));
                map.insert("queue".into(), q(*queue));
                map.insert("wait_ms".into(), json!(wait_ms));
            }
            EventKind::BatchArrived { service, queue, n } => {
                map.insert("service".into(), svc(*service));
                map.insert("queue".into(), q(*queue));
                map.insert("n".into(), json!(n));
            }
            EventKind::DeliveredToCrashed { service, n } => {
                map.insert("service".into(), svc(*service));
                map.insert("n".into(), json!(n));
            }
            EventKind::WorkStarted {
                service,
                queue,
                message,
                origin,
                group,
                receive_count,
                until,
            } => {
                map.insert("service".into(), svc(*service));
                map.insert("queue".into(), q(*queue));
                map.insert("message".into(), Value::from(message.to_string()));
                if let Some(g) = group {
                    map.insert("group".into(), Value::from(&**g));
                }
                map.insert("origin".into(), json!(origin));
                map.insert("receive_count".into(), json!(receive_count));
                map.insert("until_t_ms".into(), json!(until.0));
            }
            EventKind::Handled {
                service,
                message,
                origin,
                latency_ms,
                duplicate,
                order_violation,
            } => {
                map.insert("service".into(), svc(*service));
                if let Some(m) = message {
                    map.insert("message".into(), Value::from(m.to_string()));
                }
                map.insert("origin".into(), json!(origin));
                map.insert("latency_ms".into(), json!(latency_ms));
                map.insert("duplicate".into(), json!(duplicate));
                map.insert("order_violation".into(), json!(order_violation));
            }
            EventKind::WorkFinished {
                service,
                queue,
                message,
                origin,
                outcome,
            } => {
                map.insert("service".into(), svc(*service));
                map.insert("queue".into(), q(*queue));
                map.insert("message".into(), Value::from(message.to_string()));
                map.insert("origin".into(), json!(origin));
                map.insert("outcome".into(), json!(outcome));
            }
            EventKind::DuplicateSkipped {
                service,
                queue,
                message,
                origin,
            } => {
                map.insert("service".into(), svc(*service));
                map.insert("queue".into(), q(*queue));
                map.insert("message".into(), Value::from(message.to_string()));
                map.insert("origin".into(), json!(origin));
            }
            EventKind::VisibilityExtended {
                service,
                queue,
                message,
                until,
                error,
            } => {
                map.insert("service".into(), svc(*service));
                map.insert("queue".into(), q(*queue));
                map.insert("message".into(), Value::from(message.to_string()));
                map.insert("until_t_ms".into(), json!(until.0));
                map.insert("error".into(), json!(error));
            }
            EventKind::EndpointHandled {
                service,
                topic,
                subscription,
                ok,
            } => {
                map.insert("service".into(), svc(*service));
                map.insert("topic".into(), Value::from(names.topic_name(*topic)));
                map.insert(
                    "subscription".into(),
                    Value::from(crate::broker::Names::subscription(names, *subscription)),
                );
                map.insert("ok".into(), json!(ok));
            }
            EventKind::ClientCall { record } => {
                map.insert("service".into(), svc(record.service));
                if let Some(id) = record.queue {
                    map.insert("queue".into(), q(id));
                }
                if let Some(id) = record.topic {
                    map.insert("topic".into(), Value::from(names.topic_name(id)));
                }
                map.insert("call".into(), Value::from(record.call));
                map.insert("params".into(), record.params.clone());
                match &record.error {
                    Some((code, message)) => {
                        map.insert("error".into(), Value::from(code.as_str()));
                        map.insert("error_message".into(), Value::from(message.as_str()));
                    }
                    None => {
                        map.insert(
                            "result".into(),
                            record.result.clone().unwrap_or(Value::Null),
                        );
                    }
                }
            }
            EventKind::Fault { action, injected } => {
                match action {
                    FaultAction::Crash { service }
                    | FaultAction::Restart { service }
                    | FaultAction::Slow { service, .. }
                    | FaultAction::SkipDeletes { service, .. }
                    | FaultAction::Pause { service, .. } => {
                        map.insert("service".into(), svc(*service));
                    }
                    FaultAction::Partition { link }
                    | FaultAction::Heal { link }
                    | FaultAction::Degrade { link, .. }
                    | FaultAction::LoseResponses { link, .. }
                    | FaultAction::Restore { link } => {
                        map.insert("link".into(), Value::from(names.link(*link)));
                    }
                }
                map.insert("fault".into(), json!(action));
                map.insert("injected".into(), json!(injected));
            }
            EventKind::Crashed { service, lost_jobs } => {
                map.insert("service".into(), svc(*service));
                map.insert("lost_jobs".into(), json!(lost_jobs));
            }
        }
    }
}

fn summarize(result: &Value) -> String {
    if let Some(messages) = result.get("messages").and_then(|m| m.as_array()) {
        if messages.is_empty() {
            return "no messages".into();
        }
        let ids: Vec<String> = messages
            .iter()
            .filter_map(|m| {
                m.get("message_id")
                    .and_then(|v| v.as_str())
                    .map(String::from)
            })
            .collect();
        return format!("{} message(s): {}", messages.len(), ids.join(", "));
    }
    if let Some(id) = result.get("message_id").and_then(|v| v.as_str()) {
        return format!("accepted as {id}");
    }
    "OK".into()
}

impl Event {
    /// The trace JSON object: `seq`, `t_ms`, `kind`, the ids involved as names, and `why`.
    pub fn to_json(&self, names: &Names) -> Value {
        let mut map = Map::new();
        map.insert("seq".into(), json!(self.seq));
        map.insert("t_ms".into(), json!(self.t.0));
        map.insert("kind".into(), Value::from(self.kind.kind_name()));
        self.kind.fields(names, &mut map);
        map.insert("why".into(), Value::from(self.kind.explain(names)));
        Value::Object(map)
    }

    /// One trace line (JSON, no trailing newline).
    pub fn to_json_line(&self, names: &Names) -> String {
        self.to_json(names).to_string()
    }
}

/// FNV-1a 64 over bytes, continuing from `hash` (start with `FNV_OFFSET`).
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // From the FNV reference (http://www.isthe.com/chongo/tech/comp/fnv/): "" and "a".
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63dc4c8601ec8c);
    }
}
