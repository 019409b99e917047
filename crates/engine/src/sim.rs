//! `Sim`: the facade the scenario crate, CLI and UI use: step, run, seek and step back, views,
//! metrics, interactive fault injection, transits and the trace hash.
//!
//! Time travel = checkpoints + deterministic replay. A forward run clones the whole `World`
//! every `max(CHECKPOINT_EVERY, bytes / BYTES_PER_EVENT_OF_SPACING)` events (at the first action
//! boundary after it); `seek(n)` restores the last checkpoint at or before `n`, replays forward,
//! and leaves checkpoints every `CHECKPOINT_EVERY` events in the `DENSE_BEHIND` events before `n`,
//! so stepping back from where the user is replays at most ~1k events. Why: measured with the
//! benchmark workload (crates/engine/benches/engine.rs), a clone costs about a nanosecond per byte
//! plus the page faults of the fresh memory, so dense forward checkpoints (every 1024 events)
//! cost ~20% of a long run, while sparse ones (one event per 25 bytes) cost a few percent and
//! seeks stay well inside the 2 ms budget (replaying ~10k events takes ~1 ms).
//! Checkpoint memory is bounded by `MAX_CHECKPOINTS` and by `CHECKPOINT_BUDGET_BYTES` of
//! estimated world size: beyond either, every second old checkpoint is dropped (old history
//! thins out; seeks there replay longer but stay exact). The CLI runs `without_checkpoints`.
//!
//! An action may produce several events. The world advances one action at a time; `step`
//! reveals the produced events one by one, so the world view during a multi-event action shows
//! the state after the whole action.
//!
//! Interactive injections are recorded with the event index at which they were applied; a
//! replay applies them at the same index, so they survive seek. Injecting while in the past
//! truncates the future first (a fork).

use crate::broker::{BrokerEvent, Millis};
use crate::event::{fnv1a, Event, EventKind, FNV_OFFSET};
use crate::ids::{LinkId, ServiceId};
use crate::log::{Events, Log};
use crate::metrics::{summarize, Metrics};
use crate::spec::{FaultAction, WorldSpec};
use crate::statics::Names;
use crate::world::{BuildError, Link, ServiceStatus, Transit, World};

pub const CHECKPOINT_EVERY: u64 = 1024;
pub const MAX_CHECKPOINTS: usize = 2048;
/// A seek leaves checkpoints every `CHECKPOINT_EVERY` events in this many events before its
/// target (see `Sim::seek`).
pub const DENSE_BEHIND: u64 = 8 * CHECKPOINT_EVERY;
/// Adaptive spacing: at least one event between checkpoints per this many bytes of world.
pub const BYTES_PER_EVENT_OF_SPACING: u64 = 25;
/// Estimated bytes all checkpoints may hold together (see `World::approx_bytes`).
pub const CHECKPOINT_BUDGET_BYTES: u64 = 64 << 20;

/// Why `run_until` stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum RunStop {
    /// The next action is later than the requested time.
    ReachedTime,
    /// The requested number of events was produced.
    EventBudget,
    /// The world's own limits (`until`, `max_events`) were reached.
    WorldLimit,
    /// Nothing left to do.
    Idle,
}

/// A link's state for the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Ok,
    Partitioned,
    /// A drop or delay fault is on.
    Lossy,
}

pub(crate) fn link_state(link: &Link) -> LinkState {
    if link.partitioned {
        LinkState::Partitioned
    } else if link.drop.0 > 0 || link.delay_ms > 0 {
        LinkState::Lossy
    } else {
        LinkState::Ok
    }
}

#[derive(Clone, Debug)]
struct Injection {
    at_event: u64,
    /// How many actions the world had run when it was applied: the run may have passed silent
    /// actions (stale timers) after the last event, and a replay must pass exactly those first.
    at_action: u64,
    action: FaultAction,
}

pub struct Sim {
    world: World,
    /// Every event known: produced so far, plus the recorded future after a seek backwards.
    log: Log,
    /// Events the world has produced (its state is after these).
    produced: u64,
    /// Events revealed to the caller (`event_count()`); `cursor <= produced`.
    cursor: u64,
    checkpoints: Vec<(u64, World)>,
    /// Event count at which the next checkpoint is due.
    next_checkpoint: u64,
    /// `World::approx_bytes` of each checkpoint, for the memory budget.
    checkpoint_bytes: Vec<u64>,
    injections: Vec<Injection>,
    max_events: u64,
    /// False for a headless run that never seeks (`without_checkpoints`).
    checkpointing: bool,
    /// `produced` before the last action ran (the previous action boundary).
    action_start: u64,
}

impl Sim {
    pub fn new(spec: &WorldSpec) -> Result<Sim, BuildError> {
        let world = World::build(spec)?;
        Ok(Sim {
            checkpoints: vec![(0, world.clone())],
            checkpoint_bytes: vec![world.approx_bytes()],
            next_checkpoint: CHECKPOINT_EVERY,
            world,
            log: Log::default(),
            produced: 0,
            cursor: 0,
            injections: Vec::new(),
            max_events: spec.limits.max_events,
            checkpointing: true,
            action_start: 0,
        })
    }

    /// For a run that never looks back (the CLI's `run`, a batch check): take no checkpoints
    /// beyond the start. Seeking still works, replaying from the start.
    pub fn without_checkpoints(mut self) -> Sim {
        self.checkpointing = false;
        self
    }

    /// Run the next unit (an injection due at this index, or the next agenda action) and
    /// record its events. Returns false when nothing can run.
    fn advance_world(&mut self) -> bool {
        self.advance_world_until(Millis(u64::MAX))
    }

    /// As `advance_world`, but after an action that produced nothing, do not start one later
    /// than `limit` (so `run_until` never runs past its time through silent actions).
    fn advance_world_until(&mut self, limit: Millis) -> bool {
        loop {
            if self.produced >= self.max_events {
                return false;
            }
            let injection = self
                .injections
                .iter()
                .find(|i| i.at_event == self.produced)
                .map(|i| (i.at_action, i.action.clone()));
            if let Some((at_action, action)) = injection {
                if self.world.actions_run < at_action {
                    // Replaying the silent actions the original run passed before injecting.
                    self.world.advance();
                    debug_assert!(
                        self.world.out.is_empty(),
                        "the actions a run passed before an injection were silent"
                    );
                    continue;
                }
                self.world.apply_fault(&action, true);
            } else if !self.world.advance() {
                return false;
            }
            if self.world.out.is_empty() {
                if self.world.next_time().is_none_or(|t| t > limit) && !self.injection_due() {
                    return false;
                }
                continue;
            }
            self.action_start = self.produced;
            self.record();
            self.maybe_checkpoint();
            return true;
        }
    }

    /// Move the world's fresh events into the log (or, while replaying a known future, drop
    /// them: the log already has them).
    fn record(&mut self) {
        let t = self.world.now;
        let world = &mut self.world;
        // Packed by reference, then dropped in place (no move out of the buffer per event); a
        // long poll's batch goes back to its queue for reuse once its record is packed.
        for kind in world.out.iter_mut() {
            let seq = self.produced;
            if (seq as usize) < self.log.len() {
                #[cfg(debug_assertions)]
                {
                    let logged = self.log.get(seq as usize).map(|e| e.kind);
                    let kind = crate::log::without_payloads(kind.clone(), self.log.empty_payload());
                    debug_assert!(logged == Some(kind), "replay diverged at event {seq}");
                }
            } else {
                self.log.push(t, kind);
            }
            if let EventKind::Broker {
                event:
                    BrokerEvent::PollCompleted {
                        queue, messages, ..
                    },
            } = kind
            {
                crate::bridge::recycle_batch(&mut world.broker, *queue, std::mem::take(messages));
            }
            self.produced += 1;
        }
        world.out.clear();
    }

    fn maybe_checkpoint(&mut self) {
        if self.produced < self.next_checkpoint || !self.checkpointing {
            return;
        }
        let bytes = self.world.approx_bytes();
        // Adaptive spacing: one event of spacing per 25 bytes of world keeps cloning (and the
        // fresh memory each clone touches) to a few percent of a run; seeks fill in checkpoints
        // where they land (see `seek`), so stepping back stays short.
        self.next_checkpoint =
            self.produced + CHECKPOINT_EVERY.max(bytes / BYTES_PER_EVENT_OF_SPACING);
        self.checkpoints.push((self.produced, self.world.clone()));
        self.checkpoint_bytes.push(bytes);
        self.thin_checkpoints();
    }

    /// Over budget: thin out old checkpoints (keep the first, then every second one), so
    /// recent history stays dense and seeks far back replay longer but stay exact.
    fn thin_checkpoints(&mut self) {
        while self.checkpoints.len() > 2
            && (self.checkpoints.len() > MAX_CHECKPOINTS
                || self.checkpoint_bytes.iter().sum::<u64>() > CHECKPOINT_BUDGET_BYTES)
        {
            let keep = |i: usize, len: usize| i == 0 || i + 1 == len || i % 2 == 0;
            let len = self.checkpoints.len();
            let mut i = 0;
            self.checkpoints.retain(|_| {
                i += 1;
                keep(i - 1, len)
            });
            let mut j = 0;
            self.checkpoint_bytes.retain(|_| {
                j += 1;
                keep(j - 1, len)
            });
        }
    }

    /// Reveal the next event, running the world when needed. None when the run is over.
    pub fn step(&mut self) -> Option<Event> {
        if self.cursor >= self.produced && !self.advance_world() {
            return None;
        }
        self.cursor += 1;
        self.log.get(self.cursor as usize - 1)
    }

    /// Step until the next event would be later than `t`, or `max_events` more were revealed,
    /// or the world's limits are reached. Always stops.
    pub fn run_until(&mut self, t: Millis, max_events: u64) -> RunStop {
        let mut n = 0;
        loop {
            // Reveal what is already produced (the rest of an action, or a recorded future).
            while self.cursor < self.produced {
                if n >= max_events {
                    return RunStop::EventBudget;
                }
                // The last action's events all happened now; older ones are read from the log.
                let at = if self.cursor >= self.action_start {
                    self.world.now
                } else {
                    self.log.t(self.cursor as usize).unwrap_or(Millis::ZERO)
                };
                if at > t {
                    return RunStop::ReachedTime;
                }
                self.cursor += 1;
                n += 1;
            }
            if n >= max_events {
                return RunStop::EventBudget;
            }
            match self.world.next_time() {
                None => return RunStop::Idle,
                Some(next) if next > t && !self.injection_due() => return RunStop::ReachedTime,
                Some(_) => {}
            }
            if !self.advance_world_until(t) {
                return match self.world.next_time() {
                    None => RunStop::Idle,
                    Some(next) if next > t && self.produced < self.max_events => {
                        RunStop::ReachedTime
                    }
                    Some(_) => RunStop::WorldLimit,
                };
            }
        }
    }

    fn injection_due(&self) -> bool {
        self.injections.iter().any(|i| i.at_event == self.produced)
    }

    /// The state after the first `n` events (clamped to what the run can produce).
    /// The world is only ever at an action boundary; if `n` falls inside the last action,
    /// only the cursor moves.
    pub fn seek(&mut self, n: u64) {
        let inside_last_action = n == self.produced || (self.action_start < n && n < self.produced);
        if !inside_last_action {
            let ix = self
                .checkpoints
                .partition_point(|c| c.0 <= n)
                .saturating_sub(1);
            let checkpoint = self.checkpoints[ix].0;
            if n < self.produced || checkpoint > self.produced {
                self.world = self.checkpoints[ix].1.clone();
                self.produced = checkpoint;
                self.action_start = checkpoint;
            }
            // A forward run checkpoints sparsely (a world of B bytes every B/25 events); a
            // seek fills in the stretch just before its target, so stepping back from there
            // replays at most `CHECKPOINT_EVERY` events.
            let dense_from = n.saturating_sub(DENSE_BEHIND);
            let (mut last, mut at) = (checkpoint, ix + 1);
            while self.produced < n && self.advance_world() {
                if self.produced < n
                    && self.produced >= dense_from
                    && self.produced - last >= CHECKPOINT_EVERY
                    && self.checkpointing
                {
                    self.checkpoints
                        .insert(at, (self.produced, self.world.clone()));
                    self.checkpoint_bytes.insert(at, self.world.approx_bytes());
                    last = self.produced;
                    at += 1;
                }
            }
            if at > ix + 1 {
                self.thin_checkpoints();
            }
        }
        self.cursor = n.min(self.produced);
    }

    /// One event back.
    pub fn step_back(&mut self) {
        if self.cursor > 0 {
            self.seek(self.cursor - 1);
        }
    }

    pub fn now(&self) -> Millis {
        match self.cursor {
            0 => Millis::ZERO,
            c => self.log.t(c as usize - 1).unwrap_or(Millis::ZERO),
        }
    }

    pub fn event_count(&self) -> u64 {
        self.cursor
    }

    /// The events up to the current position.
    pub fn events(&self) -> Events<'_> {
        Events {
            log: &self.log,
            len: self.cursor as usize,
        }
    }

    pub fn explain(&self, event: &Event) -> String {
        event.kind.explain(&self.world.statics.names)
    }

    pub fn names(&self) -> &Names {
        &self.world.statics.names
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn metrics(&self) -> Metrics {
        summarize(&self.world, self.cursor, self.now())
    }

    /// Apply a fault now. If the position is in the past, the recorded future is dropped first
    /// (a fork); the injection is remembered and re-applied by later replays. The world moves
    /// only at action boundaries, so if the position is inside a multi-event action the rest
    /// of that action is kept and the injection lands right after it.
    pub fn inject(&mut self, action: FaultAction) -> Result<(), BuildError> {
        let n_services = self.world.services.len() as u64;
        let n_links = self.world.links.len() as u64;
        crate::statics::check_fault(&action, n_services, n_links)
            .map_err(crate::world::build_error)?;
        // Forget the future: the world is at `produced` (>= cursor); settle at that boundary.
        self.log.truncate(self.produced as usize);
        let at = self.produced;
        self.injections.retain(|i| i.at_event < at);
        let keep = self.checkpoints.partition_point(|c| c.0 <= at);
        self.checkpoints.truncate(keep);
        self.checkpoint_bytes.truncate(keep);
        self.next_checkpoint = self.checkpoints.last().map_or(0, |c| c.0) + CHECKPOINT_EVERY;
        let at_action = self.world.actions_run;
        self.injections.push(Injection {
            at_action,
            at_event: at,
            action,
        });
        self.advance_world();
        self.cursor = self.produced;
        Ok(())
    }

    /// Bytes the event log holds (packed records, offsets, side table), for benchmarks.
    pub fn log_bytes(&self) -> u64 {
        self.log.approx_bytes()
    }

    /// (number of checkpoints, their estimated total bytes), for benchmarks and the UI.
    pub fn checkpoint_stats(&self) -> (u64, u64) {
        (
            self.checkpoints.len() as u64,
            self.checkpoint_bytes.iter().sum(),
        )
    }

    /// The estimated size of the current world in bytes (what one checkpoint costs).
    pub fn world_bytes_estimate(&self) -> u64 {
        self.world.approx_bytes()
    }

    /// A queue's counters, cheap enough for every animation frame.
    pub fn queue_counts(&self, queue: crate::broker::QueueId) -> crate::broker::QueueMetrics {
        self.world.queue_metrics(queue)
    }

    /// FIFO lanes of a queue: (group, waiting, in flight, blocked head), cheap per frame.
    pub fn queue_groups(&self, queue: crate::broker::QueueId) -> Vec<crate::broker::GroupSummary> {
        self.world.queue_groups(queue)
    }

    /// Messages and calls travelling right now, for animation.
    pub fn transits(&self) -> Vec<Transit> {
        self.world.transits()
    }

    /// FNV-1a 64 over the trace JSON lines (each followed by `\n`) of the events so far.
    pub fn trace_hash(&self) -> u64 {
        let names = &self.world.statics.names;
        self.events().iter().fold(FNV_OFFSET, |h, e| {
            fnv1a(fnv1a(h, e.to_json_line(names).as_bytes()), b"\n")
        })
    }

    /// The trace as JSON lines, one per event so far.
    pub fn trace_lines(&self) -> impl Iterator<Item = String> + '_ {
        let names = &self.world.statics.names;
        self.events().iter().map(move |e| e.to_json_line(names))
    }

    pub fn service_status(&self, service: ServiceId) -> ServiceStatus {
        self.world.service_status(service)
    }

    /// A link's state (an unknown id reads as ok: views never panic).
    pub fn link_state(&self, link: LinkId) -> LinkState {
        self.world
            .links
            .get(link.0 as usize)
            .map_or(LinkState::Ok, link_state)
    }
}
