//! `World`: every piece of mutable simulation state (services Vec-by-id, links, the broker, the
//! agenda, the one Rng, in-flight calls) and `advance`, which pops the earliest action, runs it
//! through `apply` (the single match over actions) and records what happened as `EventKind`s.
//! `World: Clone` is the checkpoint.
//!
//! Never does I/O or reads a clock; every random choice goes through `World::rng`.

use std::sync::Arc;

use crate::agenda::Agenda;
use crate::bridge::{self, Got};
use crate::broker::ReceiveResponse as Received;
use crate::broker::{
    Broker, BrokerEvent, Chance, DeliveryId, MessageId, Millis, PollId, QueueId, Rng,
    SubscriptionId, TopicId,
};
use crate::broker::{MessageMeta, ReceiptHandle};
use crate::event::{EventKind, Failure, LossCause, WorkOutcome};
use crate::ids::{LinkId, ServiceId};
use crate::metrics::{OriginSet, QueueSamples, ServiceMetrics};
use crate::spec::{
    Behaviour, EventMatch, FaultAction, Node, Overflow, Schedule, Step, Target, Trigger, WorldSpec,
};
use crate::statics::{Message, Statics};

/// What the agenda holds: the scheduled causes. Small and `Copy`, so the heap stays cheap.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Action {
    ProducerTick {
        service: ServiceId,
        k: u64,
    },
    /// Resend message `n`; its origin, creation time and attempt wait in `Service::retries`
    /// (kept out of the action so every agenda entry stays small).
    ProducerRetry {
        service: ServiceId,
        epoch: u32,
        n: u64,
    },
    /// A call's request reaches its target.
    Arrive {
        slot: u32,
        no: u64,
    },
    /// A call's response reaches the caller.
    Return {
        slot: u32,
        no: u64,
    },
    Timeout {
        slot: u32,
        no: u64,
    },
    WorkDone {
        service: ServiceId,
        epoch: u32,
        job: u64,
    },
    CallRetry {
        service: ServiceId,
        epoch: u32,
        job: u64,
    },
    Poll {
        service: ServiceId,
        epoch: u32,
    },
    /// Received messages reach a consumer (after the link latency).
    Deliver {
        service: ServiceId,
        epoch: u32,
        batch: u32,
    },
    Heartbeat {
        service: ServiceId,
        epoch: u32,
        job: u64,
    },
    Script {
        service: ServiceId,
        index: u32,
    },
    Broker,
    Fault {
        index: u32,
    },
}

/// The visible state of a service (for the UI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ServiceStatus {
    Idle,
    Working,
    BlockedOnRpc { since: Millis, target: ServiceId },
    Crashed,
}

#[derive(Clone, Debug)]
pub(crate) struct Service {
    pub crashed: bool,
    /// A paused service (GC pause) runs nothing before this time: its actions wait.
    pub paused_until: Millis,
    /// Bumped on every crash: actions of an earlier life are ignored.
    pub epoch: u32,
    pub slow_pct: u32,
    pub skip_deletes: bool,
    pub jobs: Vec<Job>,
    pub waiting: std::collections::VecDeque<Job>,
    pub producer_n: u64,
    /// Producer resends waiting for their backoff: message n -> (origin, created_at, attempt).
    pub retries: std::collections::BTreeMap<u64, (u64, Millis, u32)>,
    pub consumer: ConsumerState,
    pub client_last_receive: Vec<crate::broker::ReceiptHandle>,
    pub metrics: ServiceMetrics,
    /// Consumers: since when it has had a message in hand (working on one, or holding received
    /// ones), if it has now; `busy_ms` sums the finished busy spells.
    pub busy_since: Option<Millis>,
    pub busy_ms: u64,
    /// Since when it is crashed, if it is; `down_ms` sums the finished outages.
    pub down_since: Option<Millis>,
    pub down_ms: u64,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ConsumerState {
    pub polling: Option<PollId>,
    /// Received messages travelling to the consumer, each with its batch number (a batch's
    /// messages are contiguous, in receive order).
    pub batches: Vec<(u32, Held)>,
    pub next_batch: u32,
    pub pending: std::collections::VecDeque<Held>,
}

/// What a consumer keeps of a received message: everything but the payload (handlers never
/// read it), so holding one copies no body and touches no shared payload.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub message: MessageId,
    pub receipt: ReceiptHandle,
    pub meta: MessageMeta,
    pub group: Option<Arc<str>>,
    pub receive_count: u32,
}

impl Held {
    fn of(got: &Got) -> Held {
        Held {
            message: got.message,
            receipt: got.receipt,
            meta: got.meta,
            group: got.group.clone(),
            receive_count: got.receive_count,
        }
    }
}

/// A unit of work in a service: one call being served, or one message being handled.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub no: u64,
    pub origin: u64,
    pub created_at: Millis,
    /// The RPC call to answer when the job ends.
    pub reply_to: Option<(u32, u64)>,
    pub message: Option<Held>,
    pub step: u32,
    pub phase: JobPhase,
    pub attempt: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobPhase {
    Working,
    Calling { since: Millis, target: ServiceId },
    Backoff,
}

#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub partitioned: bool,
    pub drop: Chance,
    /// Only responses are dropped (the request did its work; the caller never hears).
    pub lose_responses: Chance,
    pub delay_ms: u64,
    pub carried: u64,
    pub lost: u64,
}

/// Why a service is calling out, and what to do with the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A producer's send/publish/call (retried by the producer).
    Produce { n: u64, attempt: u32 },
    /// A chain `Call` step of job `job`.
    Chain { job: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallPhase {
    Request,
    Serving,
    Response {
        ok: bool,
    },
    /// The server crashed while serving: no reply will ever come.
    Orphaned,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Call {
    pub no: u64,
    pub caller: ServiceId,
    pub epoch: u32,
    pub target: Node,
    pub link: Option<LinkId>,
    pub purpose: Purpose,
    pub origin: u64,
    pub created_at: Millis,
    pub depart: Millis,
    pub arrive: Millis,
    pub phase: CallPhase,
    pub message: Option<MessageId>,
    pub failure: Option<Failure>,
    pub waiting_caller: bool,
    /// An `Arrive` or `Return` for this call is on the agenda.
    pub pending: bool,
}

/// A transit that the UI animates: something travelling between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Transit {
    pub message: Option<MessageId>,
    pub call: Option<u64>,
    pub from: Node,
    pub to: Node,
    pub depart: Millis,
    pub arrive: Millis,
    pub group: Option<std::sync::Arc<str>>,
    pub duplicate: bool,
    pub redelivery: bool,
}

#[derive(Clone, Debug)]
pub struct World {
    pub(crate) now: Millis,
    pub(crate) statics: Arc<Statics>,
    pub(crate) services: Vec<Service>,
    pub(crate) links: Vec<Link>,
    pub(crate) broker: Broker,
    pub(crate) agenda: Agenda<Action>,
    pub(crate) rng: Rng,
    pub(crate) calls: Vec<Option<Call>>,
    pub(crate) free_calls: Vec<u32>,
    /// Received batches travelling to consumers: (departure, arrival, queue, consumer, batch
    /// number in that consumer's `ConsumerState::batches`).
    pub(crate) deliveries: Vec<(Millis, Millis, QueueId, ServiceId, u32)>,
    pub(crate) next_origin: u64,
    pub(crate) next_call: u64,
    pub(crate) next_job: u64,
    pub(crate) broker_wake: Option<Millis>,
    pub(crate) fault_counts: Vec<u32>,
    pub(crate) samples: QueueSamples,
    /// Idempotency stores (bitsets of processed origins), by index in `Names::stores`; consumers
    /// naming the same shared store use the same one.
    pub(crate) stores: Vec<OriginSet>,
    /// FIFO accepts with a dedup id in the last 5 minutes: the broker keeps one dedup entry
    /// for each, which dominates checkpoint size in busy FIFO worlds.
    pub(crate) dedup_window: WindowCounter,
    /// Actions popped from the agenda so far (positions injections exactly on replay).
    pub(crate) actions_run: u64,
    /// Stray at-least-once copies (queue, message) still stored.
    pub(crate) duplicate_copies: std::collections::BTreeSet<(QueueId, MessageId)>,
    pub(crate) out: Vec<EventKind>,
    pub(crate) broker_out: Vec<BrokerEvent>,
    broker_scratch: Vec<BrokerEvent>,
}

/// Why a world could not be built. Bad input never panics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    pub message: String,
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

pub(crate) fn build_error(message: impl Into<String>) -> BuildError {
    BuildError {
        message: message.into(),
    }
}

/// Draw a latency; `Skewed` uses a fixed table of 16 quantiles (per mille of the range), so
/// there is no float maths that could differ between wasm32 and native.
pub(crate) fn draw(rng: &mut Rng, latency: crate::spec::Latency) -> u64 {
    use crate::spec::Latency;
    const SKEW_PER_MILLE: [u64; 16] = [
        0, 10, 20, 35, 50, 70, 90, 115, 140, 175, 215, 270, 340, 450, 620, 1000,
    ];
    match latency {
        Latency::Fixed { ms } => ms,
        Latency::Uniform { min_ms, max_ms } => rng.between(min_ms, max_ms),
        Latency::Skewed { min_ms, max_ms } => {
            let span = max_ms.saturating_sub(min_ms);
            let i = rng.below(15) as usize;
            let low = span.saturating_mul(SKEW_PER_MILLE[i]) / 1000;
            let high = span.saturating_mul(SKEW_PER_MILLE[i + 1]) / 1000;
            min_ms + rng.between(low, high)
        }
    }
}

impl World {
    pub(crate) fn build(spec: &WorldSpec) -> Result<World, BuildError> {
        let statics = Arc::new(Statics::build(spec)?);
        let mut broker = Broker::default();
        bridge::create_all(&mut broker, spec)?;
        let services = spec
            .services
            .iter()
            .map(|_| Service {
                crashed: false,
                paused_until: Millis::ZERO,
                epoch: 0,
                slow_pct: 100,
                skip_deletes: false,
                jobs: Vec::new(),
                waiting: Default::default(),
                producer_n: 0,
                retries: Default::default(),
                consumer: ConsumerState::default(),
                client_last_receive: Vec::new(),
                metrics: ServiceMetrics::default(),
                busy_since: None,
                busy_ms: 0,
                down_since: None,
                down_ms: 0,
            })
            .collect();
        let links = spec
            .links
            .iter()
            .map(|_| Link {
                partitioned: false,
                lose_responses: Chance::NEVER,
                drop: Chance::NEVER,
                delay_ms: 0,
                carried: 0,
                lost: 0,
            })
            .collect();
        let mut world = World {
            now: Millis::ZERO,
            statics: statics.clone(),
            services,
            links,
            broker,
            agenda: Agenda::default(),
            rng: Rng::new(spec.seed),
            calls: Vec::new(),
            free_calls: Vec::new(),
            deliveries: Vec::new(),
            next_origin: 1,
            next_call: 1,
            next_job: 1,
            broker_wake: None,
            fault_counts: vec![0; spec.faults.len()],
            dedup_window: WindowCounter::default(),
            actions_run: 0,
            duplicate_copies: Default::default(),
            samples: QueueSamples::new(spec.queues.len() as u32, spec.limits.until),
            stores: vec![OriginSet::default(); statics.names.stores.len()],
            out: Vec::new(),
            broker_out: Vec::new(),
            broker_scratch: Vec::new(),
        };
        for (i, service) in spec.services.iter().enumerate() {
            let id = ServiceId(i as u32);
            match &service.behaviour {
                Behaviour::Producer(p) => {
                    if let Some(t) = schedule_time(&p.schedule, 0) {
                        world
                            .agenda
                            .push(t, Action::ProducerTick { service: id, k: 0 });
                    }
                }
                Behaviour::Consumer(_) => world.agenda.push(
                    Millis::ZERO,
                    Action::Poll {
                        service: id,
                        epoch: 0,
                    },
                ),
                Behaviour::ScriptedClient(s) => {
                    if let Some(first) = s.calls.first() {
                        world.agenda.push(
                            first.at,
                            Action::Script {
                                service: id,
                                index: 0,
                            },
                        );
                    }
                }
                Behaviour::Idle | Behaviour::RpcServer(_) => {}
            }
        }
        for (i, fault) in spec.faults.iter().enumerate() {
            if let Trigger::At(t) = fault.at {
                world.agenda.push(t, Action::Fault { index: i as u32 });
            }
        }
        Ok(world)
    }

    pub fn now(&self) -> Millis {
        self.now
    }

    /// Actions waiting on the agenda (timers, messages and calls in flight).
    pub fn pending_actions(&self) -> u64 {
        self.agenda.len()
    }

    /// The time of the next scheduled action, if any.
    pub(crate) fn next_time(&self) -> Option<Millis> {
        self.agenda.peek_time()
    }

    /// Pop and apply the earliest action; its events land in `self.out` (possibly none, for a
    /// stale action). Returns false when nothing is left to do before `until`.
    pub(crate) fn advance(&mut self) -> bool {
        let Some(t) = self.agenda.peek_time() else {
            return false;
        };
        if t > self.statics.limits.until {
            return false;
        }
        let (t, action) = self.agenda.pop().expect("peeked");
        self.actions_run += 1;
        debug_assert!(t >= self.now, "time never runs backwards");
        self.now = t;
        let service = self.action_service(&action);
        self.apply(action, service);
        if let Some(service) = service {
            self.note_busy(service);
        }
        self.after_action();
        true
    }

    /// Consumers: start or end a busy spell when having a message in hand changed. Every
    /// change to a consumer's jobs happens in an action of that consumer (or in `crash`,
    /// which notes it itself), so checking the action's service is enough.
    fn note_busy(&mut self, service: ServiceId) {
        if self.statics.consumer(service).is_none() {
            return;
        }
        let now = self.now;
        let s = &mut self.services[service.ix()];
        let busy = !s.crashed && (!s.jobs.is_empty() || !s.consumer.pending.is_empty());
        match (busy, s.busy_since) {
            (true, None) => s.busy_since = Some(now),
            (false, Some(since)) => {
                s.busy_ms += now.since(since);
                s.busy_since = None;
            }
            _ => {}
        }
    }

    /// (busy_ms, idle_ms) of a consumer at `now`: busy = a message in hand; idle = alive with
    /// nothing in hand (polling an empty queue, or waiting on a long poll). (0, 0) for other
    /// services.
    pub(crate) fn busy_idle_ms(&self, service: ServiceId, now: Millis) -> (u64, u64) {
        if self.statics.consumer(service).is_none() {
            return (0, 0);
        }
        let s = &self.services[service.ix()];
        let open = |since: Option<Millis>| since.map_or(0, |t| now.0.saturating_sub(t.0));
        let busy = s.busy_ms + open(s.busy_since);
        let down = s.down_ms + open(s.down_since);
        (busy, now.0.saturating_sub(busy + down))
    }

    /// The service an action runs in, if any (for pauses).
    fn action_service(&self, action: &Action) -> Option<ServiceId> {
        match *action {
            Action::ProducerTick { service, .. }
            | Action::ProducerRetry { service, .. }
            | Action::WorkDone { service, .. }
            | Action::CallRetry { service, .. }
            | Action::Poll { service, .. }
            | Action::Deliver { service, .. }
            | Action::Heartbeat { service, .. }
            | Action::Script { service, .. } => Some(service),
            Action::Arrive { slot, no } => match self.live_call(slot, no)?.target {
                Node::Service(server) => Some(server),
                _ => None,
            },
            Action::Return { slot, no } | Action::Timeout { slot, no } => {
                self.live_call(slot, no).map(|c| c.caller)
            }
            Action::Broker | Action::Fault { .. } => None,
        }
    }

    fn apply(&mut self, action: Action, service: Option<ServiceId>) {
        if let Some(service) = service {
            let until = self.services[service.ix()].paused_until;
            if until > self.now {
                // Paused (a GC pause): the work, timers and arrivals wait until it resumes.
                self.agenda.push(until, action);
                return;
            }
        }
        match action {
            Action::ProducerTick { service, k } => self.producer_tick(service, k),
            Action::ProducerRetry { service, epoch, n } => {
                let retry = self.services[service.ix()].retries.remove(&n);
                if let (true, Some((origin, created_at, attempt))) =
                    (self.alive(service, epoch), retry)
                {
                    self.produce(service, n, origin, created_at, attempt);
                }
            }
            Action::Arrive { slot, no } => self.arrive(slot, no),
            Action::Return { slot, no } => self.call_return(slot, no),
            Action::Timeout { slot, no } => self.call_timeout(slot, no),
            Action::WorkDone {
                service,
                epoch,
                job,
            } => {
                if self.alive(service, epoch) {
                    self.work_done(service, job);
                }
            }
            Action::CallRetry {
                service,
                epoch,
                job,
            } => {
                if self.alive(service, epoch) {
                    self.run_chain(service, job);
                }
            }
            Action::Poll { service, epoch } => {
                if self.alive(service, epoch) {
                    self.poll(service);
                }
            }
            Action::Deliver {
                service,
                epoch,
                batch,
            } => self.deliver(service, epoch, batch),
            Action::Heartbeat {
                service,
                epoch,
                job,
            } => {
                if self.alive(service, epoch) {
                    self.heartbeat(service, job);
                }
            }
            Action::Script { service, index } => self.script(service, index),
            Action::Broker => {
                self.broker_wake = None;
                let now = self.now;
                bridge::advance(&mut self.broker, now, &mut self.rng, &mut self.broker_out);
            }
            Action::Fault { index } => {
                let action = self.statics.faults[index as usize].action.clone();
                self.apply_fault(&action, false);
            }
        }
    }

    /// Drain broker events into the event list (handing completed polls and endpoint
    /// deliveries to services), reschedule the broker's next deadline, take samples.
    fn after_action(&mut self) {
        // Broker events move (no clone) into the event list. Handling one may call the broker
        // again (an endpoint answer); those follow after the current batch.
        let touched = !self.broker_out.is_empty();
        while !self.broker_out.is_empty() {
            let mut batch = std::mem::take(&mut self.broker_scratch);
            std::mem::swap(&mut batch, &mut self.broker_out);
            for event in batch.drain(..) {
                self.track_broker_event(&event);
                if matches!(
                    event,
                    BrokerEvent::PollCompleted { .. }
                        | BrokerEvent::EndpointDeliveryRequested { .. }
                ) {
                    self.on_broker_event(&event);
                }
                self.out.push(EventKind::Broker { event });
            }
            self.broker_scratch = batch;
        }
        // The broker's next deadline only moves when its state changed, and every state change
        // is an event; a stale wake-up (broker_wake cleared) also needs a new one.
        if touched || self.broker_wake.is_none() {
            if let Some(deadline) = bridge::next_deadline(&self.broker) {
                let deadline = deadline.max(self.now);
                if self.broker_wake.is_none_or(|w| deadline < w) {
                    self.broker_wake = Some(deadline);
                    self.agenda.push(deadline, Action::Broker);
                }
            }
        }
        // Sample only after actions that changed something, so the samples do not depend on
        // whether silent actions (stale timers) after the last event have run yet.
        if !self.out.is_empty() {
            self.samples.maybe_sample(self.now, &self.broker);
        }
        self.check_triggers();
    }

    /// Bookkeeping on every broker event (it adds no events): stray at-least-once copies while
    /// they exist, so transits can flag them, and the FIFO dedup window.
    fn track_broker_event(&mut self, event: &BrokerEvent) {
        match event {
            BrokerEvent::Accepted {
                dedup_id: Some(_), ..
            } => self.dedup_window.add(self.now),
            BrokerEvent::DuplicateInjected { queue, copy, .. } => {
                self.duplicate_copies.insert((*queue, *copy));
            }
            BrokerEvent::Deleted { queue, message, .. }
            | BrokerEvent::DeadLettered { queue, message, .. }
            | BrokerEvent::Expired { queue, message, .. }
                if !self.duplicate_copies.is_empty() =>
            {
                self.duplicate_copies.remove(&(*queue, *message));
            }
            BrokerEvent::Purged { queue, .. } => self.duplicate_copies.retain(|c| c.0 != *queue),
            _ => {}
        }
    }

    /// Hand a completed long poll to its consumer, an SNS delivery to its endpoint service.
    fn on_broker_event(&mut self, event: &BrokerEvent) {
        match event {
            BrokerEvent::PollCompleted {
                queue,
                poll,
                messages,
            } => {
                let consumer = (0..self.services.len())
                    .find(|&s| self.services[s].consumer.polling == Some(*poll));
                if let Some(s) = consumer {
                    let service = ServiceId(s as u32);
                    self.services[s].consumer.polling = None;
                    if self.statics.consumer(service).is_some() {
                        self.ship_batch(service, *queue, messages);
                    } else {
                        // A scripted client's long poll: its messages become "the last receive".
                        self.services[s].client_last_receive =
                            messages.iter().map(|m| m.receipt).collect();
                    }
                }
            }
            BrokerEvent::EndpointDeliveryRequested {
                topic,
                subscription,
                endpoint,
                delivery,
                meta,
                ..
            } => {
                self.endpoint(
                    ServiceId(*endpoint),
                    *topic,
                    *subscription,
                    *delivery,
                    meta.origin,
                    meta.created_at,
                );
            }
            _ => {}
        }
    }

    fn alive(&self, service: ServiceId, epoch: u32) -> bool {
        let s = &self.services[service.ix()];
        !s.crashed && s.epoch == epoch
    }

    fn epoch(&self, service: ServiceId) -> u32 {
        self.services[service.ix()].epoch
    }

    fn new_origin(&mut self) -> u64 {
        let origin = self.next_origin;
        self.next_origin += 1;
        origin
    }

    // ---- links and calls ------------------------------------------------------------------

    /// Time to cross a link, or `Err(cause)` if the crossing is lost.
    fn cross(&mut self, link: Option<LinkId>) -> Result<u64, LossCause> {
        let Some(link) = link else { return Ok(0) };
        let spec = &self.statics.links[link.ix()];
        let (min, max, loss) = (spec.latency_ms_min, spec.latency_ms_max, spec.loss);
        let state = &mut self.links[link.ix()];
        state.carried += 1;
        if state.partitioned {
            state.lost += 1;
            return Err(LossCause::Partition);
        }
        let (drop, delay) = (state.drop, state.delay_ms);
        if self.rng.chance(drop) {
            self.links[link.ix()].lost += 1;
            return Err(LossCause::Fault);
        }
        if self.rng.chance(loss) {
            self.links[link.ix()].lost += 1;
            return Err(LossCause::Loss);
        }
        Ok(self.rng.between(min, max) + delay)
    }

    fn alloc_call(&mut self, call: Call) -> u32 {
        if let Some(slot) = self.free_calls.pop() {
            self.calls[slot as usize] = Some(call);
            slot
        } else {
            self.calls.push(Some(call));
            (self.calls.len() - 1) as u32
        }
    }

    fn free_call(&mut self, slot: u32) {
        self.calls[slot as usize] = None;
        self.free_calls.push(slot);
    }

    fn live_call(&self, slot: u32, no: u64) -> Option<Call> {
        self.calls
            .get(slot as usize)
            .copied()
            .flatten()
            .filter(|c| c.no == no)
    }

    /// Send a request from `caller` to `target`; schedules arrival (unless lost) and the timeout.
    #[allow(clippy::too_many_arguments)]
    fn start_call(
        &mut self,
        caller: ServiceId,
        target: Node,
        purpose: Purpose,
        origin: u64,
        created_at: Millis,
        timeout_ms: u64,
        attempt: u32,
    ) {
        let link = self.statics.link_between(Node::Service(caller), target);
        let no = self.next_call;
        self.next_call += 1;
        let crossing = self.cross(link);
        let now = self.now;
        let arrive = now.plus(*crossing.as_ref().unwrap_or(&0));
        let call = Call {
            no,
            caller,
            epoch: self.epoch(caller),
            target,
            link,
            purpose,
            origin,
            created_at,
            depart: now,
            arrive,
            phase: CallPhase::Request,
            message: None,
            failure: None,
            waiting_caller: true,
            pending: crossing.is_ok(),
        };
        let slot = self.alloc_call(call);
        if let Node::Service(callee) = target {
            self.services[caller.ix()].metrics.rpc_calls += 1;
            self.out.push(EventKind::RpcRequest {
                caller,
                callee,
                link,
                call: no,
                attempt,
                arrive_at: arrive,
            });
        } else {
            self.out.push(EventKind::SendStarted {
                service: caller,
                target,
                link,
                call: no,
                attempt,
                arrive_at: arrive,
            });
        }
        match crossing {
            Ok(_) => self.agenda.push(arrive, Action::Arrive { slot, no }),
            Err(cause) => self.out.push(EventKind::Lost {
                link,
                from: Node::Service(caller),
                to: target,
                call: no,
                cause,
                response: false,
            }),
        }
        self.agenda
            .push(now.plus(timeout_ms), Action::Timeout { slot, no });
    }

    fn arrive(&mut self, slot: u32, no: u64) {
        let Some(call) = self.live_call(slot, no) else {
            return;
        };
        if let Some(c) = self.calls[slot as usize].as_mut() {
            c.pending = false;
        }
        match call.target {
            Node::Service(server) => self.rpc_arrive(slot, call, server),
            Node::Queue(_) | Node::Topic(_) => {
                let (n, origin) = match call.purpose {
                    Purpose::Produce { n, .. } => (n, call.origin),
                    Purpose::Chain { .. } => (0, call.origin),
                };
                let message = self
                    .statics
                    .producer_template(call.caller)
                    .map(|t| t.render(n, origin));
                let result = match message {
                    Some(message) => {
                        self.broker_send(call.target, message, origin, call.created_at)
                    }
                    None => Err(Failure::Error),
                };
                self.respond(slot, result);
            }
        }
    }

    /// Put a message on a queue or topic via the broker API.
    fn broker_send(
        &mut self,
        target: Node,
        message: Message,
        origin: u64,
        created_at: Millis,
    ) -> Result<Option<MessageId>, Failure> {
        let now = self.now;
        let result = match target {
            Node::Queue(queue) => bridge::send(
                &mut self.broker,
                now,
                &mut self.rng,
                &mut self.broker_out,
                queue,
                message,
                origin,
                created_at,
            )
            .map(Some),
            Node::Topic(topic) => bridge::publish(
                &mut self.broker,
                now,
                &mut self.rng,
                &mut self.broker_out,
                topic,
                message,
                origin,
                created_at,
            )
            .map(|_| None),
            Node::Service(_) => Ok(None),
        };
        result.map_err(Failure::Api)
    }

    /// Send the response of call `slot` back to its caller.
    fn respond(&mut self, slot: u32, result: Result<Option<MessageId>, Failure>) {
        let Some(mut call) = self.calls[slot as usize] else {
            return;
        };
        let mut crossing = self.cross(call.link);
        if let (Ok(_), Some(link)) = (&crossing, call.link) {
            let chance = self.links[link.ix()].lose_responses;
            if self.rng.chance(chance) {
                self.links[link.ix()].lost += 1;
                crossing = Err(LossCause::ResponseLost);
            }
        }
        call.phase = CallPhase::Response { ok: result.is_ok() };
        call.failure = result.err();
        call.message = result.ok().flatten();
        call.depart = self.now;
        match crossing {
            Ok(ms) => {
                call.arrive = self.now.plus(ms);
                call.pending = true;
                self.calls[slot as usize] = Some(call);
                self.agenda
                    .push(call.arrive, Action::Return { slot, no: call.no });
            }
            Err(cause) => {
                call.pending = false;
                self.calls[slot as usize] = Some(call);
                self.out.push(EventKind::Lost {
                    link: call.link,
                    from: call.target,
                    to: Node::Service(call.caller),
                    call: call.no,
                    cause,
                    response: true,
                });
                if !call.waiting_caller {
                    self.free_call(slot);
                }
            }
        }
    }

    fn call_return(&mut self, slot: u32, no: u64) {
        let Some(call) = self.live_call(slot, no) else {
            return;
        };
        let CallPhase::Response { ok } = call.phase else {
            return;
        };
        if let Some(c) = self.calls[slot as usize].as_mut() {
            c.pending = false;
        }
        if !call.waiting_caller || !self.alive(call.caller, call.epoch) {
            self.out.push(EventKind::LateResponse {
                caller: call.caller,
                call: no,
            });
            self.free_call(slot);
            return;
        }
        self.free_call(slot);
        let failure = if ok {
            None
        } else {
            Some(call.failure.unwrap_or(Failure::Error))
        };
        self.call_finished(call, failure);
    }

    fn call_timeout(&mut self, slot: u32, no: u64) {
        let Some(mut call) = self.live_call(slot, no) else {
            return;
        };
        if !call.waiting_caller {
            return;
        }
        call.waiting_caller = false;
        // Keep the slot while an arrival or return is scheduled or a live server holds the call:
        // that later action finds `waiting_caller == false` and reports a late response.
        if call.pending || call.phase == CallPhase::Serving {
            self.calls[slot as usize] = Some(call);
        } else {
            self.free_call(slot);
        }
        if !self.alive(call.caller, call.epoch) {
            return;
        }
        self.call_finished(call, Some(Failure::Timeout));
    }

    /// The caller learns the outcome of a call (ok, error, or timeout).
    fn call_finished(&mut self, call: Call, failure: Option<Failure>) {
        let caller = call.caller;
        if let Node::Service(callee) = call.target {
            let m = &mut self.services[caller.ix()].metrics;
            match failure {
                None => m.rpc_ok += 1,
                Some(Failure::Timeout) => m.rpc_timeouts += 1,
                Some(_) => m.rpc_errors += 1,
            }
            match failure {
                Some(Failure::Timeout) => self.out.push(EventKind::RpcTimedOut {
                    caller,
                    callee,
                    call: call.no,
                }),
                _ => self.out.push(EventKind::RpcCompleted {
                    caller,
                    callee,
                    call: call.no,
                    failure,
                }),
            }
        }
        match call.purpose {
            Purpose::Produce { n, attempt } => {
                self.produced_result(caller, call, n, attempt, failure)
            }
            Purpose::Chain { job } => self.chain_call_result(caller, job, failure),
        }
    }

    // ---- producers ------------------------------------------------------------------------

    fn producer_tick(&mut self, service: ServiceId, k: u64) {
        let Some(spec) = self.statics.producer(service) else {
            return;
        };
        if let Some(t) = schedule_time(&spec.schedule, k + 1) {
            self.agenda
                .push(t.max(self.now), Action::ProducerTick { service, k: k + 1 });
        }
        if self.services[service.ix()].crashed {
            return;
        }
        let s = &mut self.services[service.ix()];
        s.producer_n += 1;
        let n = s.producer_n;
        let origin = self.new_origin();
        let now = self.now;
        self.produce(service, n, origin, now, 1);
    }

    /// One attempt to send message `n` (same origin, same dedup id on every attempt).
    fn produce(
        &mut self,
        service: ServiceId,
        n: u64,
        origin: u64,
        created_at: Millis,
        attempt: u32,
    ) {
        let Some(spec) = self.statics.producer(service) else {
            return;
        };
        let target = match spec.target {
            Target::Queue(q) => Node::Queue(q),
            Target::Topic(t) => Node::Topic(t),
            Target::Service(s) => Node::Service(s),
        };
        let timeout_ms = spec.timeout_ms;
        let direct = matches!(target, Node::Queue(_) | Node::Topic(_))
            && self
                .statics
                .link_between(Node::Service(service), target)
                .is_none();
        if direct {
            // No link: the broker call happens now and answers at once.
            let message = match self.statics.producer_template(service) {
                Some(template) => template.render(n, origin),
                None => return,
            };
            let result = self.broker_send(target, message, origin, created_at);
            let failure = result.as_ref().err().copied();
            let call = Call {
                no: 0,
                caller: service,
                epoch: self.epoch(service),
                target,
                link: None,
                purpose: Purpose::Produce { n, attempt },
                origin,
                created_at,
                depart: self.now,
                arrive: self.now,
                phase: CallPhase::Response {
                    ok: failure.is_none(),
                },
                message: result.ok().flatten(),
                failure,
                waiting_caller: false,
                pending: false,
            };
            self.produced_result(service, call, n, attempt, failure);
        } else {
            self.start_call(
                service,
                target,
                Purpose::Produce { n, attempt },
                origin,
                created_at,
                timeout_ms,
                attempt,
            );
        }
    }

    fn produced_result(
        &mut self,
        service: ServiceId,
        call: Call,
        n: u64,
        attempt: u32,
        failure: Option<Failure>,
    ) {
        let Some(spec) = self.statics.producer(service) else {
            return;
        };
        let retry = spec.retry;
        match failure {
            None => {
                self.services[service.ix()].metrics.sent += 1;
                self.out.push(EventKind::Sent {
                    service,
                    target: call.target,
                    origin: call.origin,
                    n,
                    attempt,
                    message: call.message,
                });
            }
            Some(failure) => {
                let retryable = !matches!(failure, Failure::Api(_));
                let retry_at = (retryable && attempt < retry.max_attempts)
                    .then(|| self.now.plus(backoff(retry.backoff_ms, attempt)));
                self.out.push(EventKind::SendFailed {
                    service,
                    target: call.target,
                    origin: call.origin,
                    attempt,
                    failure,
                    retry_at,
                });
                if let Some(t) = retry_at {
                    let epoch = self.epoch(service);
                    self.services[service.ix()]
                        .retries
                        .insert(n, (call.origin, call.created_at, attempt + 1));
                    self.agenda
                        .push(t, Action::ProducerRetry { service, epoch, n });
                }
            }
        }
    }

    // ---- RPC servers and handler chains ---------------------------------------------------

    fn rpc_arrive(&mut self, slot: u32, call: Call, server: ServiceId) {
        // A crashed server (the host answers but the process is down) or a service that serves
        // no calls: the call fails fast.
        let crashed = self.services[server.ix()].crashed;
        let Some(spec) = self.statics.server(server).filter(|_| !crashed) else {
            self.out.push(EventKind::RpcRejected {
                server,
                call: call.no,
                failure: Failure::Refused,
            });
            self.respond(slot, Err(Failure::Refused));
            return;
        };
        let (concurrency, overflow) = (spec.concurrency.max(1), spec.overflow);
        if let Some(c) = self.calls[slot as usize].as_mut() {
            c.phase = CallPhase::Serving;
        }
        let job = Job {
            no: self.next_job,
            origin: call.origin,
            created_at: call.created_at,
            reply_to: Some((slot, call.no)),
            message: None,
            step: 0,
            phase: JobPhase::Working,
            attempt: 1,
        };
        self.next_job += 1;
        let s = &self.services[server.ix()];
        if (s.jobs.len() as u32) < concurrency {
            self.out.push(EventKind::RpcAccepted {
                server,
                call: call.no,
                queued: false,
            });
            self.start_job(server, job);
        } else {
            match overflow {
                Overflow::Queue { max } if (s.waiting.len() as u32) < max => {
                    self.out.push(EventKind::RpcAccepted {
                        server,
                        call: call.no,
                        queued: true,
                    });
                    self.services[server.ix()].waiting.push_back(job);
                }
                _ => {
                    self.out.push(EventKind::RpcRejected {
                        server,
                        call: call.no,
                        failure: Failure::Busy,
                    });
                    self.respond(slot, Err(Failure::Busy));
                }
            }
        }
    }

    fn work_time(&mut self, service: ServiceId, latency: crate::spec::Latency) -> u64 {
        let ms = draw(&mut self.rng, latency);
        ms.saturating_mul(self.services[service.ix()].slow_pct as u64) / 100
    }

    fn start_job(&mut self, service: ServiceId, job: Job) {
        let latency = match self.statics.server(service) {
            Some(spec) => spec.latency,
            None => crate::spec::Latency::Fixed { ms: 0 },
        };
        let ms = self.work_time(service, latency);
        let epoch = self.epoch(service);
        let no = job.no;
        self.services[service.ix()].jobs.push(job);
        self.agenda.push(
            self.now.plus(ms),
            Action::WorkDone {
                service,
                epoch,
                job: no,
            },
        );
    }

    fn job_index(&self, service: ServiceId, job: u64) -> Option<usize> {
        self.services[service.ix()]
            .jobs
            .iter()
            .position(|j| j.no == job)
    }

    fn work_done(&mut self, service: ServiceId, job: u64) {
        if self.statics.consumer(service).is_some() {
            self.consumer_work_done(service, job);
        } else {
            self.run_chain(service, job);
        }
    }

    /// Run the job's chain from its current step until it must wait (a call) or ends.
    fn run_chain(&mut self, service: ServiceId, job_no: u64) {
        /// What the job's current step asks for (copied out of the statics).
        enum Next {
            End,
            Call { callee: ServiceId, timeout_ms: u64 },
            Send(Node),
            Reply,
        }
        loop {
            let Some(ix) = self.job_index(service, job_no) else {
                return;
            };
            let job = &self.services[service.ix()].jobs[ix];
            let (step, origin, created_at, attempt) =
                (job.step, job.origin, job.created_at, job.attempt);
            let next = match self.statics.chain(service).get(step as usize) {
                None => Next::End,
                Some(Step::Call {
                    service: callee,
                    timeout_ms,
                    ..
                }) => Next::Call {
                    callee: *callee,
                    timeout_ms: *timeout_ms,
                },
                Some(Step::Send { queue, .. }) => Next::Send(Node::Queue(*queue)),
                Some(Step::Publish { topic, .. }) => Next::Send(Node::Topic(*topic)),
                Some(Step::Reply) => Next::Reply,
            };
            match next {
                Next::End => {
                    self.finish_job(service, job_no, None);
                    return;
                }
                Next::Call { callee, timeout_ms } => {
                    let since = self.now;
                    self.services[service.ix()].jobs[ix].phase = JobPhase::Calling {
                        since,
                        target: callee,
                    };
                    self.start_call(
                        service,
                        Node::Service(callee),
                        Purpose::Chain { job: job_no },
                        origin,
                        created_at,
                        timeout_ms,
                        attempt,
                    );
                    return;
                }
                Next::Send(target) => {
                    if !self.chain_send(service, job_no, ix, target, step) {
                        return;
                    }
                }
                Next::Reply => {
                    // Reply: deferred to the end of the chain.
                    self.services[service.ix()].jobs[ix].step += 1;
                }
            }
        }
    }

    /// A chain's send is a fresh message but keeps the job's origin for end-to-end latency.
    /// Returns false when the send failed (the job is finished with that failure).
    fn chain_send(
        &mut self,
        service: ServiceId,
        job_no: u64,
        ix: usize,
        target: Node,
        step: u32,
    ) -> bool {
        let job = &self.services[service.ix()].jobs[ix];
        let (origin, created_at) = (job.origin, job.created_at);
        let n = self.services[service.ix()].metrics.handled + 1;
        let message = match self.statics.step_template(service, step) {
            Some(template) => template.render(n, origin),
            None => Message::default(),
        };
        let result = self.broker_send(target, message, origin, created_at);
        let failure = result.as_ref().err().copied();
        self.out.push(EventKind::ChainSent {
            service,
            target,
            origin,
            message: result.ok().flatten(),
            failure,
        });
        if failure.is_some() {
            self.finish_job(service, job_no, failure);
            return false;
        }
        self.services[service.ix()].jobs[ix].step += 1;
        self.services[service.ix()].metrics.chain_sent += 1;
        // A fault triggered by this send applies now, before the next step: a fan-out worker
        // that crashes after its first copy never sends the second.
        self.fire_triggers_now(EventMatch::ChainSent { service });
        // The fault may have crashed this service (its jobs are gone) or paused it.
        let paused = self.services[service.ix()].paused_until > self.now;
        if self.job_index(service, job_no).is_none() {
            return false;
        }
        if paused {
            // Resume the chain when the pause ends (CallRetry runs the chain from its step).
            let epoch = self.epoch(service);
            self.agenda.push(
                self.now,
                Action::CallRetry {
                    service,
                    epoch,
                    job: job_no,
                },
            );
            return false;
        }
        true
    }

    fn chain_call_result(&mut self, service: ServiceId, job_no: u64, failure: Option<Failure>) {
        let Some(ix) = self.job_index(service, job_no) else {
            return;
        };
        let step = self.services[service.ix()].jobs[ix].step;
        let retry = match self.statics.chain(service).get(step as usize) {
            Some(Step::Call { retry, .. }) => *retry,
            _ => Default::default(),
        };
        let job = &mut self.services[service.ix()].jobs[ix];
        match failure {
            None => {
                job.step += 1;
                job.attempt = 1;
                job.phase = JobPhase::Working;
                self.run_chain(service, job_no);
            }
            Some(failure) => {
                if job.attempt < retry.max_attempts {
                    let wait = backoff(retry.backoff_ms, job.attempt);
                    job.attempt += 1;
                    job.phase = JobPhase::Backoff;
                    let epoch = self.epoch(service);
                    self.agenda.push(
                        self.now.plus(wait),
                        Action::CallRetry {
                            service,
                            epoch,
                            job: job_no,
                        },
                    );
                } else {
                    self.finish_job(service, job_no, Some(failure));
                }
            }
        }
    }

    /// A job's chain ended: reply (servers), delete or not (consumers), then take the next job.
    fn finish_job(&mut self, service: ServiceId, job_no: u64, failure: Option<Failure>) {
        let Some(ix) = self.job_index(service, job_no) else {
            return;
        };
        if self.statics.consumer(service).is_some() {
            self.consumer_finish(service, job_no, failure);
            return;
        }
        let job = self.services[service.ix()].jobs.remove(ix);
        let error_rate = self
            .statics
            .server(service)
            .map(|s| s.error_rate)
            .unwrap_or(Chance::NEVER);
        let failure = failure.or_else(|| self.rng.chance(error_rate).then_some(Failure::Error));
        if failure.is_none() {
            self.count_handled(service, job.origin, job.created_at, None);
        }
        self.out.push(EventKind::Replied {
            server: service,
            call: job.reply_to.map(|r| r.1),
            origin: job.origin,
            failure,
        });
        if let Some((slot, no)) = job.reply_to {
            if self.live_call(slot, no).is_some() {
                // Whatever went wrong inside (a timeout further down, a busy server), the
                // caller sees an error reply: that is how the failure travels up the chain.
                self.respond(slot, failure.map_or(Ok(None), |_| Err(Failure::Error)));
            }
        }
        if let Some(next) = self.services[service.ix()].waiting.pop_front() {
            self.start_job(service, next);
        }
    }

    fn count_handled(
        &mut self,
        service: ServiceId,
        origin: u64,
        created_at: Millis,
        group: Option<&Arc<str>>,
    ) -> (bool, bool) {
        let latency = self.now.since(created_at);
        self.services[service.ix()]
            .metrics
            .record(origin, latency, group)
    }

    /// An SNS delivery to a service endpoint: a live service accepts it (and a server runs its
    /// chain on it as a job); a crashed one fails it, so the broker retries per delivery policy.
    fn endpoint(
        &mut self,
        service: ServiceId,
        topic: TopicId,
        subscription: SubscriptionId,
        delivery: DeliveryId,
        origin: u64,
        created_at: Millis,
    ) {
        let ok = service.ix() < self.services.len() && !self.services[service.ix()].crashed;
        let now = self.now;
        bridge::endpoint_result(
            &mut self.broker,
            now,
            &mut self.rng,
            &mut self.broker_out,
            delivery,
            ok,
        );
        self.out.push(EventKind::EndpointHandled {
            service,
            topic,
            subscription,
            ok,
        });
        if !ok {
            return;
        }
        if self.statics.server(service).is_some() {
            let job = Job {
                no: self.next_job,
                origin,
                created_at,
                reply_to: None,
                message: None,
                step: 0,
                phase: JobPhase::Working,
                attempt: 1,
            };
            self.next_job += 1;
            self.start_job(service, job);
        } else {
            let (duplicate, _) = self.count_handled(service, origin, created_at, None);
            self.bump_trigger(EventMatch::Handled { service });
            self.out.push(EventKind::Handled {
                service,
                message: None,
                origin,
                latency_ms: now.since(created_at),
                duplicate,
                order_violation: false,
            });
        }
    }

    // ---- consumers ------------------------------------------------------------------------

    fn poll(&mut self, service: ServiceId) {
        let Some(spec) = self.statics.consumer(service) else {
            return;
        };
        let (queue, batch, wait_s) = (
            spec.queue,
            spec.batch_size.clamp(1, 10),
            (spec.wait_ms / 1000).min(20) as u32,
        );
        let idle = spec.idle_backoff_ms.max(1);
        let now = self.now;
        match bridge::receive(
            &mut self.broker,
            now,
            &mut self.rng,
            &mut self.broker_out,
            queue,
            batch,
            wait_s,
            None,
        ) {
            Ok(Received::Messages(got)) if !got.is_empty() => {
                self.ship_batch(service, queue, &got);
                bridge::recycle_batch(&mut self.broker, queue, got);
            }
            Ok(Received::Messages(_)) => {
                self.out.push(EventKind::PollEmpty {
                    service,
                    queue,
                    retry_at: now.plus(idle),
                });
                let epoch = self.epoch(service);
                self.agenda
                    .push(now.plus(idle), Action::Poll { service, epoch });
            }
            Ok(Received::Waiting { poll, .. }) => {
                self.services[service.ix()].consumer.polling = Some(poll);
                self.out.push(EventKind::PollWaiting {
                    service,
                    queue,
                    wait_ms: wait_s as u64 * 1000,
                });
            }
            Err(error) => {
                self.out.push(EventKind::PollEmpty {
                    service,
                    queue,
                    retry_at: now.plus(idle),
                });
                let _ = error;
                let epoch = self.epoch(service);
                self.agenda
                    .push(now.plus(idle), Action::Poll { service, epoch });
            }
        }
    }

    /// Received messages travel from the queue to the consumer over the link, if any.
    fn ship_batch(&mut self, service: ServiceId, queue: QueueId, got: &[Got]) {
        let epoch = self.epoch(service);
        if got.is_empty() {
            self.agenda.push(self.now, Action::Poll { service, epoch });
            return;
        }
        let link = self
            .statics
            .link_between(Node::Service(service), Node::Queue(queue));
        let delay = self.cross(link);
        let c = &mut self.services[service.ix()].consumer;
        let batch = c.next_batch;
        c.next_batch = c.next_batch.wrapping_add(1);
        match delay {
            Ok(ms) => {
                c.batches.extend(got.iter().map(|g| (batch, Held::of(g))));
                let arrive = self.now.plus(ms);
                self.deliveries
                    .push((self.now, arrive, queue, service, batch));
                self.agenda.push(
                    arrive,
                    Action::Deliver {
                        service,
                        epoch,
                        batch,
                    },
                );
            }
            Err(cause) => {
                // The response is lost: the messages stay in flight until their visibility ends.
                self.out.push(EventKind::Lost {
                    link,
                    from: Node::Queue(queue),
                    to: Node::Service(service),
                    call: 0,
                    cause,
                    response: true,
                });
                self.agenda.push(self.now, Action::Poll { service, epoch });
            }
        }
    }

    fn deliver(&mut self, service: ServiceId, epoch: u32, batch: u32) {
        self.deliveries
            .retain(|d| !(d.3 == service && d.4 == batch));
        let c = &mut self.services[service.ix()].consumer;
        let Some(start) = c.batches.iter().position(|b| b.0 == batch) else {
            return;
        };
        let end = start
            + c.batches[start..]
                .iter()
                .take_while(|b| b.0 == batch)
                .count();
        let n = (end - start) as u32;
        let queue = self.statics.consumer(service).map(|spec| spec.queue);
        let alive = self.alive(service, epoch);
        let c = &mut self.services[service.ix()].consumer;
        let Some(queue) = queue.filter(|_| alive) else {
            c.batches.drain(start..end);
            if !alive {
                // A crashed consumer never sees them: they reappear after the visibility timeout.
                self.out.push(EventKind::DeliveredToCrashed { service, n });
            }
            return;
        };
        for (_, held) in c.batches.drain(start..end) {
            c.pending.push_back(held);
        }
        self.out.push(EventKind::BatchArrived { service, queue, n });
        self.services[service.ix()].metrics.received += n as u64;
        if self.statics.has_event_triggers {
            for _ in 0..n {
                self.bump_trigger(EventMatch::Received { service });
            }
        }
        self.next_message(service);
    }

    /// Start work on the next received message, or poll again.
    fn next_message(&mut self, service: ServiceId) {
        let Some(spec) = self.statics.consumer(service) else {
            return;
        };
        let (queue, work, pause, pause_ms, heartbeat) = (
            spec.queue,
            spec.work,
            spec.pause,
            spec.pause_ms,
            spec.heartbeat,
        );
        loop {
            if !self.services[service.ix()].jobs.is_empty() {
                return;
            }
            let Some(got) = self.services[service.ix()].consumer.pending.pop_front() else {
                let epoch = self.epoch(service);
                self.agenda.push(self.now, Action::Poll { service, epoch });
                return;
            };
            let origin = got.meta.origin;
            if self.is_processed(service, origin) {
                self.out.push(EventKind::DuplicateSkipped {
                    service,
                    queue,
                    message: got.message,
                    origin,
                });
                self.delete(service, queue, &got);
                continue;
            }
            let mut ms = self.work_time(service, work);
            if self.rng.chance(pause) {
                ms = ms.saturating_add(pause_ms);
            }
            let no = self.next_job;
            self.next_job += 1;
            let epoch = self.epoch(service);
            let until = self.now.plus(ms);
            self.out.push(EventKind::WorkStarted {
                service,
                queue,
                message: got.message,
                origin,
                group: got.group.clone(),
                receive_count: got.receive_count,
                until,
            });
            if let Some(hb) = heartbeat {
                self.agenda.push(
                    self.now.plus(hb.every_ms.max(1)),
                    Action::Heartbeat {
                        service,
                        epoch,
                        job: no,
                    },
                );
            }
            self.agenda.push(
                until,
                Action::WorkDone {
                    service,
                    epoch,
                    job: no,
                },
            );
            self.services[service.ix()].jobs.push(Job {
                no,
                origin,
                created_at: got.meta.created_at,
                reply_to: None,
                message: Some(got),
                step: 0,
                phase: JobPhase::Working,
                attempt: 1,
            });
            return;
        }
    }

    fn heartbeat(&mut self, service: ServiceId, job: u64) {
        let Some(ix) = self.job_index(service, job) else {
            return;
        };
        let Some(spec) = self.statics.consumer(service) else {
            return;
        };
        let (Some(hb), queue) = (spec.heartbeat, spec.queue) else {
            return;
        };
        let Some((message, receipt)) = self.services[service.ix()].jobs[ix]
            .message
            .as_ref()
            .map(|got| (got.message, got.receipt))
        else {
            return;
        };
        let now = self.now;
        let seconds = hb.extend_to_ms.div_ceil(1000) as u32;
        let result = bridge::change_visibility(
            &mut self.broker,
            now,
            &mut self.rng,
            &mut self.broker_out,
            queue,
            &receipt,
            seconds,
        );
        self.out.push(EventKind::VisibilityExtended {
            service,
            queue,
            message,
            until: now.plus(seconds as u64 * 1000),
            error: result.err(),
        });
        let epoch = self.epoch(service);
        self.agenda.push(
            now.plus(hb.every_ms.max(1)),
            Action::Heartbeat {
                service,
                epoch,
                job,
            },
        );
    }

    fn consumer_work_done(&mut self, service: ServiceId, job: u64) {
        if self.statics.chain(service).is_empty() {
            self.consumer_finish(service, job, None);
        } else {
            self.run_chain(service, job);
        }
    }

    fn consumer_finish(&mut self, service: ServiceId, job_no: u64, failure: Option<Failure>) {
        let Some(ix) = self.job_index(service, job_no) else {
            return;
        };
        let Some(spec) = self.statics.consumer(service) else {
            return;
        };
        let (queue, fail, crash) = (spec.queue, spec.fail, spec.crash);
        let job = self.services[service.ix()].jobs.remove(ix);
        let Some(got) = job.message else { return };
        let failed = failure.is_some() || self.rng.chance(fail);
        if failed {
            self.out.push(EventKind::WorkFinished {
                service,
                queue,
                message: got.message,
                origin: got.meta.origin,
                outcome: WorkOutcome::Failed,
            });
        } else {
            let (duplicate, order_violation) = self.count_handled(
                service,
                got.meta.origin,
                got.meta.created_at,
                got.group.as_ref(),
            );
            self.bump_trigger(EventMatch::Handled { service });
            self.out.push(EventKind::Handled {
                service,
                message: Some(got.message),
                origin: got.meta.origin,
                latency_ms: self.now.since(got.meta.created_at),
                duplicate,
                order_violation,
            });
            self.mark_processed(service, got.meta.origin);
            if self.rng.chance(crash) {
                self.out.push(EventKind::WorkFinished {
                    service,
                    queue,
                    message: got.message,
                    origin: got.meta.origin,
                    outcome: WorkOutcome::CrashedBeforeDelete,
                });
                self.crash(service);
                return;
            }
            if self.services[service.ix()].skip_deletes {
                self.out.push(EventKind::WorkFinished {
                    service,
                    queue,
                    message: got.message,
                    origin: got.meta.origin,
                    outcome: WorkOutcome::DeleteSkipped,
                });
            } else {
                self.delete(service, queue, &got);
            }
        }
        self.next_message(service);
    }

    fn delete(&mut self, service: ServiceId, queue: QueueId, got: &Held) {
        let now = self.now;
        let result = bridge::delete(
            &mut self.broker,
            now,
            &mut self.rng,
            &mut self.broker_out,
            queue,
            &got.receipt,
        );
        let outcome = match result {
            Ok(()) => WorkOutcome::Deleted,
            Err(code) => WorkOutcome::DeleteFailed { code },
        };
        self.out.push(EventKind::WorkFinished {
            service,
            queue,
            message: got.message,
            origin: got.meta.origin,
            outcome,
        });
    }

    // ---- scripted clients -----------------------------------------------------------------

    fn script(&mut self, service: ServiceId, index: u32) {
        let statics = self.statics.clone();
        let Behaviour::ScriptedClient(script) = &statics.spec.services[service.ix()].behaviour
        else {
            return;
        };
        if let Some(next) = script.calls.get(index as usize + 1) {
            self.agenda.push(
                next.at.max(self.now),
                Action::Script {
                    service,
                    index: index + 1,
                },
            );
        }
        if self.services[service.ix()].crashed {
            return;
        }
        let Some(call) = script.calls.get(index as usize) else {
            return;
        };
        let now = self.now;
        let last = std::mem::take(&mut self.services[service.ix()].client_last_receive);
        let (record, receipts) = bridge::client_call(
            &mut self.broker,
            now,
            &mut self.rng,
            &mut self.broker_out,
            service,
            &call.call,
            &last,
            &mut self.next_origin,
        );
        let s = &mut self.services[service.ix()];
        s.client_last_receive = receipts.receipts.unwrap_or(last);
        if receipts.waiting.is_some() {
            // Its long poll completes later (PollCompleted); those receipts count as "last".
            s.consumer.polling = receipts.waiting;
        }
        self.out.push(EventKind::ClientCall {
            record: Box::new(record),
        });
    }

    // ---- faults ---------------------------------------------------------------------------

    pub(crate) fn apply_fault(&mut self, action: &FaultAction, injected: bool) {
        self.out.push(EventKind::Fault {
            action: action.clone(),
            injected,
        });
        match *action {
            FaultAction::Crash { service } => self.crash(service),
            FaultAction::Restart { service } => self.restart(service),
            FaultAction::Partition { link } => self.links[link.ix()].partitioned = true,
            FaultAction::Heal { link } => self.links[link.ix()].partitioned = false,
            FaultAction::Slow {
                service,
                factor_pct,
            } => self.services[service.ix()].slow_pct = factor_pct.max(1),
            FaultAction::Degrade {
                link,
                drop,
                delay_ms,
            } => {
                self.links[link.ix()].drop = drop;
                self.links[link.ix()].delay_ms = delay_ms;
            }
            FaultAction::Restore { link } => {
                self.links[link.ix()].drop = Chance::NEVER;
                self.links[link.ix()].delay_ms = 0;
                self.links[link.ix()].lose_responses = Chance::NEVER;
            }
            FaultAction::LoseResponses { link, chance } => {
                self.links[link.ix()].lose_responses = chance
            }
            FaultAction::Pause { service, for_ms } => {
                let s = &mut self.services[service.ix()];
                s.paused_until = s.paused_until.max(self.now.plus(for_ms));
            }
            FaultAction::SkipDeletes { service, on } => {
                self.services[service.ix()].skip_deletes = on
            }
        }
    }

    /// A crash loses everything in memory: jobs, waiting calls, received-but-unhandled
    /// messages (they are not deleted, so they reappear after the visibility timeout).
    fn crash(&mut self, service: ServiceId) {
        let s = &mut self.services[service.ix()];
        if s.crashed {
            return;
        }
        s.crashed = true;
        s.epoch += 1;
        if let Some(since) = s.busy_since.take() {
            s.busy_ms += self.now.since(since);
        }
        s.down_since = Some(self.now);
        let jobs = std::mem::take(&mut s.jobs);
        let waiting = std::mem::take(&mut s.waiting);
        s.consumer.pending.clear();
        s.consumer.batches.clear();
        let poll = s.consumer.polling.take();
        if let (Some(poll), Some(spec)) = (poll, self.statics.consumer(service)) {
            // Its connection is gone: the waiting long poll is withdrawn.
            let queue = spec.queue;
            bridge::cancel_poll(
                &mut self.broker,
                queue,
                poll,
                &mut self.rng,
                &mut self.broker_out,
            );
        }
        // Calls this service was serving never get a reply: their callers time out.
        for job in jobs.iter().chain(waiting.iter()) {
            if let Some((slot, no)) = job.reply_to {
                if self.live_call(slot, no).is_some() {
                    let waiting = self.calls[slot as usize].is_some_and(|c| c.waiting_caller);
                    if waiting {
                        if let Some(c) = self.calls[slot as usize].as_mut() {
                            c.phase = CallPhase::Orphaned;
                        }
                    } else {
                        self.free_call(slot);
                    }
                }
            }
        }
        self.out.push(EventKind::Crashed {
            service,
            lost_jobs: (jobs.len() + waiting.len()) as u32,
        });
    }

    fn restart(&mut self, service: ServiceId) {
        let s = &mut self.services[service.ix()];
        if !s.crashed {
            return;
        }
        s.crashed = false;
        if let Some(since) = s.down_since.take() {
            s.down_ms += self.now.since(since);
        }
        let epoch = s.epoch;
        if self.statics.consumer(service).is_some() {
            self.agenda.push(self.now, Action::Poll { service, epoch });
        }
    }

    /// Count `matched` and schedule every fault it triggers as the next action at this time.
    fn bump_trigger(&mut self, matched: EventMatch) {
        self.count_trigger(matched, |world, index, _| {
            world.agenda.push(world.now, Action::Fault { index })
        });
    }

    /// Count `matched` and apply every fault it triggers immediately (not as a later action),
    /// so the fault lands between two steps of the running handler.
    fn fire_triggers_now(&mut self, matched: EventMatch) {
        self.count_trigger(matched, |world, _, action| world.apply_fault(action, false));
    }

    /// The one counter behind `after:` triggers: counts `matched` against every fault waiting
    /// for it and calls `fire` for each fault whose count has just reached its `nth`.
    fn count_trigger(
        &mut self,
        matched: EventMatch,
        mut fire: impl FnMut(&mut World, u32, &FaultAction),
    ) {
        if !self.statics.has_event_triggers {
            return;
        }
        let statics = self.statics.clone();
        for (i, fault) in statics.faults.iter().enumerate() {
            if let Trigger::AfterEvent { kind, nth } = &fault.at {
                if *kind == matched {
                    self.fault_counts[i] += 1;
                    if self.fault_counts[i] == *nth {
                        fire(self, i as u32, &fault.action);
                    }
                }
            }
        }
    }

    fn check_triggers(&mut self) {
        if self.statics.has_event_triggers {
            let n = self.out.len();
            for i in 0..n {
                let matched = match &self.out[i] {
                    EventKind::RpcRequest { caller, .. } => {
                        Some(EventMatch::RpcCall { service: *caller })
                    }
                    EventKind::Sent { service, .. } => Some(EventMatch::Sent { service: *service }),
                    EventKind::Replied {
                        server,
                        failure: None,
                        ..
                    } => Some(EventMatch::Handled { service: *server }),
                    _ => None,
                };
                if let Some(m) = matched {
                    self.bump_trigger(m);
                }
            }
        }
    }

    // ---- views ----------------------------------------------------------------------------

    /// A service's visible state (an unknown id reads as idle: views never panic).
    pub fn service_status(&self, service: ServiceId) -> ServiceStatus {
        let Some(s) = self.services.get(service.ix()) else {
            return ServiceStatus::Idle;
        };
        if s.crashed {
            return ServiceStatus::Crashed;
        }
        for job in &s.jobs {
            if let JobPhase::Calling { since, target } = job.phase {
                return ServiceStatus::BlockedOnRpc { since, target };
            }
        }
        if s.jobs.is_empty() {
            ServiceStatus::Idle
        } else {
            ServiceStatus::Working
        }
    }

    pub fn transits(&self) -> Vec<Transit> {
        let mut out = Vec::new();
        for call in self.calls.iter().flatten() {
            if !call.pending {
                continue;
            }
            let (from, to) = match call.phase {
                CallPhase::Response { .. } => (call.target, Node::Service(call.caller)),
                _ => (Node::Service(call.caller), call.target),
            };
            out.push(Transit {
                message: call.message,
                call: Some(call.no),
                from,
                to,
                depart: call.depart,
                arrive: call.arrive,
                group: None,
                duplicate: false,
                redelivery: false,
            });
        }
        for &(depart, arrive, queue, service, batch) in &self.deliveries {
            let c = &self.services[service.ix()].consumer;
            {
                for (_, g) in c.batches.iter().filter(|b| b.0 == batch) {
                    out.push(Transit {
                        message: Some(g.message),
                        call: None,
                        from: Node::Queue(queue),
                        to: Node::Service(service),
                        depart,
                        arrive,
                        group: g.group.clone(),
                        duplicate: self.duplicate_copies.contains(&(queue, g.message)),
                        redelivery: g.receive_count > 1,
                    });
                }
            }
        }
        out
    }

    /// Engine and broker invariants (for tests; cheap but not free): the broker's conservation
    /// and index checks, free call slots are empty, servers within their concurrency, consumers
    /// working on at most one message, crashed services holding no work.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.broker.check_invariants()?;
        for &slot in &self.free_calls {
            if self.calls.get(slot as usize).is_none_or(|c| c.is_some()) {
                return Err(format!("free call slot {slot} is in use"));
            }
        }
        for (i, s) in self.services.iter().enumerate() {
            let name = &self.statics.names.services[i];
            if s.crashed
                && !(s.jobs.is_empty() && s.waiting.is_empty() && s.consumer.pending.is_empty())
            {
                return Err(format!("crashed service {name} still holds work"));
            }
            if let Some(server) = self.statics.server(ServiceId(i as u32)) {
                // Endpoint deliveries are not limited by the slots (SNS pushes them).
                let calls = s.jobs.iter().filter(|j| j.reply_to.is_some()).count() as u32;
                if calls > server.concurrency.max(1) {
                    return Err(format!(
                        "server {name} serves {calls} calls with {} slots",
                        server.concurrency
                    ));
                }
            }
            if self.statics.consumer(ServiceId(i as u32)).is_some() && s.jobs.len() > 1 {
                return Err(format!(
                    "consumer {name} works on {} messages at once",
                    s.jobs.len()
                ));
            }
        }
        Ok(())
    }

    /// Whether the skip-delete fault is on for this service.
    pub fn skip_deletes(&self, service: ServiceId) -> bool {
        self.services
            .get(service.ix())
            .is_some_and(|s| s.skip_deletes)
    }

    /// The time until which a service is paused (in the past when it is not).
    pub fn paused_until(&self, service: ServiceId) -> Millis {
        self.services
            .get(service.ix())
            .map_or(Millis::ZERO, |s| s.paused_until)
    }

    /// Cheap per-frame FIFO lane summary of a queue (group, waiting, in flight, blocked head).
    pub fn queue_groups(&self, queue: QueueId) -> Vec<crate::broker::GroupSummary> {
        self.broker.queue_groups(queue)
    }

    /// The broker's counters of one queue (zeros for an unknown id).
    pub fn queue_metrics(&self, queue: QueueId) -> crate::broker::QueueMetrics {
        if queue.0 < self.broker.n_queues() {
            self.broker.queue_metrics(queue)
        } else {
            Default::default()
        }
    }

    /// The broker's picture of a queue (FIFO group lanes with the blocked head), for the UI.
    pub fn queue_view(&self, queue: QueueId) -> Option<crate::broker::QueueView> {
        self.broker.queue_view(queue, self.now)
    }

    /// Names of services, queues, topics, links.
    pub fn names(&self) -> &crate::statics::Names {
        &self.statics.names
    }
}

/// Counts over a sliding 5-minute window in 10-second buckets (fixed size, cheap to clone).
#[derive(Clone, Debug, Default)]
pub(crate) struct WindowCounter {
    bucket_epoch: [u64; 31],
    counts: [u64; 31],
}

impl WindowCounter {
    const BUCKET_MS: u64 = 10_000;

    fn add(&mut self, now: Millis) {
        let epoch = now.0 / Self::BUCKET_MS;
        let i = (epoch % 31) as usize;
        if self.bucket_epoch[i] != epoch {
            self.bucket_epoch[i] = epoch;
            self.counts[i] = 0;
        }
        self.counts[i] += 1;
    }

    fn total(&self, now: Millis) -> u64 {
        let epoch = now.0 / Self::BUCKET_MS;
        (0..31)
            .filter(|&i| self.bucket_epoch[i] + 31 > epoch)
            .map(|i| self.counts[i])
            .sum()
    }
}

impl World {
    /// A rough size of this world in bytes (what one checkpoint costs), from counts the engine
    /// and the broker already keep: stored messages, dedup entries, calls, agenda, metrics.
    pub(crate) fn approx_bytes(&self) -> u64 {
        const PER_STORED_MESSAGE: u64 = 160; // record + indexes + B-tree slack + shared payload
        const PER_DEDUP_ENTRY: u64 = 96; // key (group, Arc<str>) + value + B-tree slack
        let stored: u64 = (0..self.broker.n_queues())
            .map(|q| {
                let m = self.broker.queue_metrics(QueueId(q));
                m.visible + m.in_flight + m.delayed
            })
            .sum();
        let services: u64 = self
            .services
            .iter()
            .map(|s| s.metrics.approx_bytes() + 256)
            .sum::<u64>()
            + self.stores.iter().map(OriginSet::approx_bytes).sum::<u64>();
        stored * PER_STORED_MESSAGE
            + self.dedup_window.total(self.now) * PER_DEDUP_ENTRY
            + self.calls.len() as u64 * std::mem::size_of::<Option<Call>>() as u64
            + self.agenda.len() * 48
            + services
            + 4_096
    }
}

impl World {
    /// Whether `service`'s idempotency store (private or shared) already has `origin`; false
    /// for a consumer that keeps no store.
    fn is_processed(&self, service: ServiceId, origin: u64) -> bool {
        let store = self.statics.store_of[service.ix()];
        self.stores
            .get(store as usize)
            .is_some_and(|s| s.contains(origin))
    }

    /// Record `origin` in `service`'s idempotency store, if it keeps one.
    fn mark_processed(&mut self, service: ServiceId, origin: u64) {
        let store = self.statics.store_of[service.ix()];
        if let Some(set) = self.stores.get_mut(store as usize) {
            set.insert(origin);
        }
    }
}

/// `base` doubled for each attempt already made, capped so it never overflows.
fn backoff(base: u64, attempt: u32) -> u64 {
    base.saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
}

/// The time of the k-th (0-based) message of a schedule, or None when the schedule is done.
pub(crate) fn schedule_time(schedule: &Schedule, k: u64) -> Option<Millis> {
    match schedule {
        Schedule::Rate {
            per_second,
            start,
            count,
        } => {
            if k >= *count || *per_second == 0 {
                return None;
            }
            Some(start.plus(k.saturating_mul(1000) / *per_second as u64))
        }
        Schedule::Burst { at, count } => (k < *count as u64).then_some(*at),
        Schedule::Times(times) => times.get(k as usize).copied(),
    }
}
