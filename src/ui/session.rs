//! The bridge between the UI and the engine crates: one loaded scenario, its running `Sim`, and
//! the view-models built from what they report. Editor actions produce a new scenario text
//! (through `Scenario` + `to_yaml`); faults go to `Sim::inject`. No simulation logic here.
//! Engine moves only mark the view-models dirty; `sync` rebuilds them (metrics, lanes, windowed
//! throughput, expectation verdicts, `after:` tour conditions) at panel-refresh rate.

use super::geometry::group_colour;
use super::topology::Selected;
use super::view::{
    EdgeKind, EdgeView, LaneView, LogEntryView, NodeKind, NodeView, QueueView, ServiceView,
    TopicView, TopologyView, Transit,
};
use crate::engine::spec::{FaultAction, Node};
use crate::engine::{EventKind, RunStop, ServiceId, Sim};
use crate::scenario::{self, Scenario};

/// Engine node <-> index in the topology's nodes, which hold the services, then the queues,
/// then the topics, each in id order (so no map is needed).
#[derive(Default)]
struct NodeIx {
    services: usize,
    queues: usize,
    topics: usize,
}

impl NodeIx {
    fn get(&self, n: &Node) -> Option<usize> {
        let (base, id, count) = match *n {
            Node::Service(id) => (0, id.0, self.services),
            Node::Queue(id) => (self.services, id.0, self.queues),
            Node::Topic(id) => (self.services + self.queues, id.0, self.topics),
        };
        ((id as usize) < count).then_some(base + id as usize)
    }

    fn node(&self, ix: usize) -> Option<Node> {
        let (s, q) = (self.services, self.services + self.queues);
        if ix < s {
            Some(Node::Service(ServiceId(ix as u32)))
        } else if ix < q {
            Some(Node::Queue(crate::broker::QueueId((ix - s) as u32)))
        } else if ix < q + self.topics {
            Some(Node::Topic(crate::broker::TopicId((ix - q) as u32)))
        } else {
            None
        }
    }
}

/// Portrait layout: rows (110 apart in the scenario layout) become columns this much further
/// apart, wider than the widest node; layers (220 apart) become rows this much closer.
const PORTRAIT_ROW_STRETCH: f32 = 1.7;
const PORTRAIT_LAYER_SQUEEZE: f32 = 0.75;

/// Most scenario events the UI lets a run produce (keeps memory bounded in a browser tab).
const UI_MAX_EVENTS: u64 = 400_000;

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum NewNode {
    Service,
    Queue,
    FifoQueue,
    Topic,
}

#[derive(Clone, PartialEq, Debug)]
pub enum Edit {
    Add {
        node: NewNode,
    },
    Move {
        name: String,
        x: i32,
        y: i32,
    },
    Connect {
        from: String,
        to: String,
        kind: EdgeKind,
    },
    Delete(Selected),
    Set {
        target: Selected,
        key: &'static str,
        value: String,
    },
}

#[derive(Clone, PartialEq, Debug)]
pub enum FaultCmd {
    Crash(String),
    Restart(String),
    SkipDeletes(String, bool),
    Cut(String),
    Heal(String),
}

pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub options: Option<Vec<String>>,
    pub boolean: bool,
    /// A multi-line text (JSON filter policies).
    pub multiline: bool,
    pub error: Option<String>,
    pub help: Option<&'static str>,
}

pub struct Inspectable {
    pub title: String,
    pub kind: &'static str,
    pub fields: Vec<Field>,
    pub faults: Vec<(&'static str, FaultCmd)>,
}

/// Throughput is measured over this much recent virtual time, not the whole run, so a burst or
/// a stall shows up at once instead of being averaged away.
pub const THROUGHPUT_WINDOW_MS: u64 = 10_000;

/// One service's end-to-end latency percentiles (ms), as the engine's metrics report them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyRow {
    pub service: String,
    pub handled: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
}

/// An expectation's state: `Pending` until the run has ended (a count that must reach 100 is
/// not a failure at event 3), then `Pass` or `Fail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pending,
    Pass,
    Fail,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsView {
    pub t_ms: u64,
    pub handled: u64,
    /// Messages handled per second over the last `window_ms` of virtual time.
    pub throughput_per_s: f64,
    /// The window the throughput was measured over (shorter than `THROUGHPUT_WINDOW_MS` early
    /// in a run, or after a jump).
    pub window_ms: u64,
    /// Per service that handled anything, in name order.
    pub latency: Vec<LatencyRow>,
    /// p95 of the slowest service (for the chart), None before anything was handled.
    pub p95: Option<u64>,
    pub depth: u64,
    pub in_flight: u64,
    pub duplicates: u64,
    pub order_violations: u64,
    pub dead_lettered: u64,
    pub rpc_errors: u64,
    pub rpc_timeouts: u64,
    pub connections: u64,
    /// (expectation text, verdict, why).
    pub expectations: Vec<(String, Verdict, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TourStep {
    pub title: String,
    pub text: String,
    pub at_ms: Option<u64>,
    /// A condition in the expect language: the step shows the first time it holds.
    pub after: Option<String>,
    pub pause: bool,
}

pub struct TourStop {
    pub index: usize,
    pub pause: bool,
}

pub struct Session {
    text: String,
    scenario: Scenario,
    sim: Sim,
    topo: TopologyView,
    /// Engine node -> index in `topo.nodes`.
    node_ix: NodeIx,
    tour: Vec<TourStep>,
    /// Index of the next tour step a playing run has not reached yet.
    tour_next: usize,
    horizon: u64,
    /// The run has nothing left to do at the current position (set by step/run, cleared by seek).
    finished: bool,
    metrics: crate::engine::Metrics,
    /// The engine moved since the view-models were last rebuilt (see `sync`).
    dirty: bool,
    metrics_view: MetricsView,
    /// (t_ms, handled) samples taken at each sync, for the windowed throughput. Bounded.
    handled_samples: Vec<(u64, u64)>,
    /// Skip-delete switches seen in the events before `skip_scanned` (an incremental scan).
    skipping: Vec<u32>,
    /// Fault sentences seen in the same scan (for the log's fault list).
    faults: Vec<String>,
    skip_scanned: usize,
    /// (message id, origin) of each event up to the position (u64::MAX for none), kept
    /// incrementally by `sync` so journeys need not unpack the whole log.
    ids: Vec<(u64, u64)>,
    /// An `after:` tour step whose condition held at the last sync.
    after_due: Option<usize>,
    /// Node positions as the scenario places them (the view may turn them, see `set_portrait`).
    base: Vec<(f32, f32)>,
    portrait: bool,
}

fn diag_text(d: &scenario::Diagnostic) -> String {
    let mut s = String::new();
    if d.line > 0 {
        s.push_str("line ");
        s.push_str(&d.line.to_string());
        s.push(':');
        s.push_str(&d.column.to_string());
        s.push_str(": ");
    }
    if !d.path.is_empty() {
        s.push_str(&d.path);
        s.push_str(": ");
    }
    s.push_str(&d.message);
    if let Some(h) = &d.hint {
        s.push_str(" (");
        s.push_str(h);
        s.push(')');
    }
    s
}

impl Session {
    /// Loads and validates `text`, builds the world, and starts at event 0.
    pub fn open(text: &str) -> Result<Session, Vec<String>> {
        let scenario =
            scenario::load(text).map_err(|ds| ds.iter().map(diag_text).collect::<Vec<_>>())?;
        Session::from_scenario(text.to_string(), scenario)
    }

    fn from_scenario(text: String, scenario: Scenario) -> Result<Session, Vec<String>> {
        let mut spec = scenario
            .to_spec()
            .map_err(|ds| ds.iter().map(diag_text).collect::<Vec<_>>())?;
        spec.limits.max_events = spec.limits.max_events.min(UI_MAX_EVENTS);
        let sim = Sim::new(&spec).map_err(|e| vec![e.message])?;
        let tour = scenario
            .steps
            .iter()
            .map(|s| TourStep {
                title: s.title.clone(),
                text: s.text.clone(),
                at_ms: s.at.map(|d| d.0),
                after: s.after.clone(),
                pause: s.pause,
            })
            .collect();
        let mut session = Session {
            text,
            scenario,
            sim,
            topo: TopologyView::default(),
            node_ix: NodeIx::default(),
            tour,
            tour_next: 0,
            horizon: 0,
            finished: false,
            metrics: sim_metrics_placeholder(),
            dirty: true,
            metrics_view: MetricsView::default(),
            handled_samples: Vec::new(),
            skipping: Vec::new(),
            faults: Vec::new(),
            skip_scanned: 0,
            ids: Vec::new(),
            after_due: None,
            base: Vec::new(),
            portrait: false,
        };
        session.build_static_topology(&spec);
        session.sync();
        Ok(session)
    }

    /// Rewrites the scenario's seed (a shared link pins the seed it was made with).
    pub fn with_seed(text: &str, seed: Option<u64>) -> String {
        match (seed, scenario::load(text)) {
            (Some(seed), Ok(mut s)) if s.seed != seed => {
                s.seed = seed;
                s.to_yaml()
            }
            _ => text.to_string(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn title(&self) -> &str {
        &self.scenario.title
    }

    pub fn seed(&self) -> u64 {
        self.scenario.seed
    }

    /// A file name for Export: the title in lower case, words joined by '-'.
    pub fn file_stem(&self) -> String {
        let mut out = String::new();
        for c in self.scenario.title.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
            if out.len() > 40 {
                break;
            }
        }
        let out = out.trim_end_matches('-').to_string();
        if out.is_empty() {
            "scenario".into()
        } else {
            out
        }
    }

    pub fn topology(&self) -> &TopologyView {
        &self.topo
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn has_link(&self, edge_key: &str) -> bool {
        self.topo
            .edges
            .iter()
            .any(|e| e.key == edge_key && e.link.is_some())
    }

    pub fn tour(&self) -> &[TourStep] {
        &self.tour
    }

    pub fn now_ms(&self) -> u64 {
        self.sim.now().0
    }

    pub fn event_count(&self) -> u64 {
        self.sim.event_count()
    }

    /// The furthest event this session has computed (the timeline's end).
    pub fn horizon(&self) -> u64 {
        self.horizon
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    pub fn step(&mut self) {
        self.finished = self.sim.step().is_none();
        self.dirty = true;
    }

    pub fn step_back(&mut self) {
        self.sim.step_back();
        self.rewind_scans();
        self.finished = false;
        self.dirty = true;
    }

    pub fn seek(&mut self, n: u64) {
        self.sim.seek(n);
        self.rewind_scans();
        self.finished = false;
        self.tour_next = self
            .tour
            .iter()
            .take_while(|s| s.at_ms.is_some_and(|t| t < self.now_ms()))
            .count();
        self.after_due = None;
        self.dirty = true;
    }

    /// Runs events up to virtual time `t_ms`, at most `budget` of them. True when `t_ms` was reached.
    pub fn run_until(&mut self, t_ms: u64, budget: u64) -> bool {
        let before = self.sim.event_count();
        let stop = self.sim.run_until(crate::broker::Millis(t_ms), budget);
        self.finished = matches!(stop, RunStop::Idle | RunStop::WorldLimit);
        if self.sim.event_count() != before {
            // The view-models are rebuilt at panel-refresh rate, not per frame (see `sync`).
            self.dirty = true;
        }
        stop != RunStop::EventBudget
    }

    /// The tour step a playing run has just reached at `t_ms`, if any.
    /// Timed steps are checked every frame (a comparison); `after:` steps use the verdict of the
    /// last `sync`, which evaluates the condition at panel-refresh rate, not per event.
    pub fn tour_stop(&mut self, t_ms: u64) -> Option<TourStop> {
        let step = self.tour.get(self.tour_next)?;
        let due = match step.at_ms {
            Some(at) => at <= t_ms,
            None => step.after.is_some() && self.after_due == Some(self.tour_next),
        };
        if !due {
            return None;
        }
        self.after_due = None;
        let stop = TourStop {
            index: self.tour_next,
            pause: step.pause,
        };
        self.tour_next += 1;
        Some(stop)
    }

    /// Moves the run to where tour step `i` is told: its time, or the start for untimed steps.
    pub fn goto_tour_step(&mut self, i: usize) {
        let Some(step) = self.tour.get(i) else { return };
        match step.at_ms {
            Some(at) if at >= self.now_ms() => {
                self.sim.run_until(crate::broker::Millis(at), UI_MAX_EVENTS);
            }
            Some(at) => {
                self.sim.seek(0);
                self.sim.run_until(crate::broker::Millis(at), UI_MAX_EVENTS);
            }
            None => {}
        }
        self.tour_next = i + 1;
        self.after_due = None;
        self.dirty = true;
    }

    fn build_static_topology(&mut self, spec: &crate::engine::spec::WorldSpec) {
        let placed = self.scenario.layout();
        let pos = |name: &str| {
            placed
                .iter()
                .find(|p| p.name == name)
                .map(|p| (p.x as f32, p.y as f32))
                .unwrap_or((0.0, 0.0))
        };
        let names = self.sim.names();
        let mut nodes = Vec::new();
        for (i, name) in names.services.iter().enumerate() {
            let role = self
                .scenario
                .services
                .iter()
                .find(|s| &s.name == name)
                .map(role_of)
                .unwrap_or("service");
            let (x, y) = pos(name);
            debug_assert_eq!(i, self.node_ix.services);
            self.node_ix.services += 1;
            nodes.push(NodeView {
                name: name.clone(),
                kind: NodeKind::Service(ServiceView {
                    role: role.into(),
                    ..Default::default()
                }),
                x,
                y,
            });
        }
        for (i, name) in names.queues.iter().enumerate() {
            let fifo = self
                .scenario
                .queues
                .iter()
                .find(|q| &q.name == name)
                .is_some_and(|q| q.is_fifo());
            let (x, y) = pos(name);
            debug_assert_eq!(i, self.node_ix.queues);
            self.node_ix.queues += 1;
            nodes.push(NodeView {
                name: name.clone(),
                kind: NodeKind::Queue(QueueView {
                    fifo,
                    ..Default::default()
                }),
                x,
                y,
            });
        }
        for (i, name) in names.topics.iter().enumerate() {
            let t = self.scenario.topics.iter().find(|t| &t.name == name);
            let (x, y) = pos(name);
            debug_assert_eq!(i, self.node_ix.topics);
            self.node_ix.topics += 1;
            nodes.push(NodeView {
                name: name.clone(),
                kind: NodeKind::Topic(TopicView {
                    fifo: t.is_some_and(|t| t.is_fifo()),
                    subscriptions: t.map(|t| t.subscriptions.len() as u32).unwrap_or(0),
                }),
                x,
                y,
            });
        }
        let kind_of = |n: &str| {
            nodes
                .iter()
                .find(|v: &&NodeView| v.name == n)
                .map(|v| match v.kind {
                    NodeKind::Service(_) => 0,
                    NodeKind::Queue(_) => 1,
                    NodeKind::Topic(_) => 2,
                })
        };
        let mut edges: Vec<EdgeView> = Vec::new();
        for (a, b) in self.scenario.flow_edges() {
            let kind = match (kind_of(&a), kind_of(&b)) {
                (Some(0), Some(0)) => EdgeKind::Rpc,
                (Some(0), Some(1)) => EdgeKind::Send,
                (Some(1), Some(0)) => EdgeKind::Consume,
                (Some(0), Some(2)) => EdgeKind::Publish,
                (Some(2), _) => EdgeKind::Subscribe,
                _ => continue,
            };
            let mut key = a.clone();
            key.push_str("->");
            key.push_str(&b);
            // One drawn edge per pair of nodes: a consumer's link and its queue->consumer flow are one.
            if edges
                .iter()
                .any(|e| e.key == key || (e.source == b && e.target == a))
            {
                continue;
            }
            edges.push(EdgeView {
                key,
                source: a,
                target: b,
                kind,
                cut: false,
                link: None,
            });
        }
        for (i, l) in spec.links.iter().enumerate() {
            let (a, b) = (
                names.node(l.source).to_string(),
                names.node(l.target).to_string(),
            );
            for e in edges
                .iter_mut()
                .filter(|e| (e.source == a && e.target == b) || (e.source == b && e.target == a))
            {
                e.link = Some(i as u32);
            }
        }
        self.base = nodes.iter().map(|n| (n.x, n.y)).collect();
        self.topo = TopologyView { nodes, edges };
        self.place_nodes();
    }

    /// Re-reads the engine's state into the view-models if the run moved since the last call.
    /// The app calls this only before Yew renders (at most a few times a second while playing),
    /// so per-frame cost stays independent of the metrics, lanes and expectations.
    pub fn sync(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        self.horizon = self.horizon.max(self.sim.event_count());
        self.metrics = self.sim.metrics();
        let names = self.sim.names();
        // Skip-delete switches are faults: scan only the events added since the last sync
        // (a jump back rescans from the start).
        let n = self.sim.events().len();
        if n < self.skip_scanned || self.skip_scanned == usize::MAX {
            self.skip_scanned = 0;
            self.skipping.clear();
            self.faults.clear();
        }
        self.ids.truncate(n);
        let start = self.skip_scanned.min(self.ids.len());
        for (i, e) in self
            .sim
            .events()
            .from(start)
            .enumerate()
            .map(|(k, e)| (start + k, e))
        {
            if i == self.ids.len() {
                let message = e.kind.message().map_or(u64::MAX, |m| m.0);
                self.ids
                    .push((message, e.kind.origin().unwrap_or(u64::MAX)));
            }
            if i < self.skip_scanned {
                continue;
            }
            if matches!(e.kind, EventKind::Fault { .. }) && self.faults.len() < 200 {
                let mut s = super::view::fmt_ms(e.t.0);
                s.push_str(": ");
                s.push_str(&self.sim.explain(&e));
                self.faults.push(s);
            }
            if let EventKind::Fault {
                action: FaultAction::SkipDeletes { service, on },
                ..
            } = &e.kind
            {
                self.skipping.retain(|s| *s != service.0);
                if *on {
                    self.skipping.push(service.0);
                }
            }
        }
        self.skip_scanned = n;
        let skipping = &self.skipping;
        let lanes: Vec<Vec<LaneView>> = self
            .topo
            .nodes
            .iter()
            .map(|n| self.lanes(&n.name))
            .collect();
        for (ix, lanes) in lanes.into_iter().enumerate() {
            let Some(node) = self.node_ix.node(ix) else {
                continue;
            };
            let node = &node;
            let view = &mut self.topo.nodes[ix];
            match (node, &mut view.kind) {
                (Node::Service(id), NodeKind::Service(s)) => {
                    let status = self.sim.service_status(*id);
                    s.crashed = matches!(status, crate::engine::ServiceStatus::Crashed);
                    s.waiting_on = match status {
                        crate::engine::ServiceStatus::BlockedOnRpc { target, .. } => {
                            Some(names.service(target).to_string())
                        }
                        _ => None,
                    };
                    s.skips_deletes = skipping.contains(&id.0);
                }
                (Node::Queue(_), NodeKind::Queue(q)) => {
                    if let Some(m) = self.metrics.queues.get(&view.name) {
                        let c = &m.counters;
                        q.visible = c.visible as u32;
                        q.in_flight = c.in_flight as u32;
                        q.delayed = c.delayed as u32;
                        q.dead_lettered = c.dead_lettered as u32;
                    }
                    q.lanes = lanes;
                }
                _ => {}
            }
        }
        for e in &mut self.topo.edges {
            e.cut = e.link.is_some_and(|l| {
                self.sim.link_state(crate::engine::LinkId(l))
                    == crate::engine::LinkState::Partitioned
            });
        }
        self.metrics_view = self.build_metrics_view();
    }

    /// Messages travelling now, as indices into the topology's nodes.
    pub fn transits(&self, out: &mut Vec<Transit>) {
        out.clear();
        for t in self.sim.world().transits() {
            let (Some(source), Some(target)) = (self.node_ix.get(&t.from), self.node_ix.get(&t.to))
            else {
                continue;
            };
            out.push(Transit {
                message: t
                    .message
                    .map(|m| m.0)
                    .unwrap_or(u64::MAX - t.call.unwrap_or(0)),
                source,
                target,
                depart_ms: t.depart.0,
                arrive_ms: t.arrive.0,
                colour: group_colour(t.group.as_deref()),
                duplicate: t.duplicate,
                redelivery: t.redelivery,
            });
        }
    }

    fn entry(&self, index: usize) -> Option<LogEntryView> {
        let ev = self.sim.events().get(index)?;
        Some(LogEntryView {
            index: index as u64,
            t_ms: ev.t.0,
            text: self.sim.explain(&ev),
            message: ev.kind.message().map(|m| m.0),
            fault: matches!(
                ev.kind,
                crate::engine::EventKind::Fault { .. } | crate::engine::EventKind::Crashed { .. }
            ),
        })
    }

    /// The newest `limit` events up to the current position, oldest first.
    pub fn log(&self, limit: usize) -> Vec<LogEntryView> {
        let n = (self.sim.event_count() as usize).min(self.sim.events().len());
        (n.saturating_sub(limit)..n)
            .filter_map(|i| self.entry(i))
            .collect()
    }

    /// Every event so far of the logical message `message` belongs to: its origin, so fan-out
    /// copies, duplicates and redeliveries of one send are one journey. Also returns the
    /// message ids of all those copies (sorted), so the canvas can highlight each of them.
    pub fn journey(&self, message: u64) -> (Vec<LogEntryView>, Vec<u64>) {
        // `journey_ids` marks a missing message or origin with this.
        const NONE: u64 = u64::MAX;
        let count = self.sim.event_count() as usize;
        let n = self.ids.len().min(count);
        // `sync` keeps the ids up to date; before it has run, unpack the missing tail here.
        let tail: Vec<(u64, u64)> = self.sim.events().from(n).map(|e| journey_ids(&e)).collect();
        let all;
        let ids = if tail.is_empty() {
            &self.ids[..n]
        } else {
            all = [&self.ids[..n], &tail[..]].concat();
            &all[..]
        };
        // Events that name a message but not its origin (Deleted, VisibilityExpired, ...) are
        // tied to it through the copies' ids, learned from events that carry both.
        let origin = ids
            .iter()
            .find(|&&(m, o)| m == message && o != NONE)
            .map(|&(_, o)| o);
        let mut copies: Vec<u64> = vec![message];
        if let Some(o) = origin {
            for &(m, eo) in ids {
                if eo == o && m != NONE {
                    if let Err(at) = copies.binary_search(&m) {
                        copies.insert(at, m);
                    }
                }
            }
        }
        let rows = ids
            .iter()
            .enumerate()
            .filter(|(_, &(m, o))| {
                (origin.is_some() && Some(o) == origin)
                    || (m != NONE && copies.binary_search(&m).is_ok())
            })
            .take(300)
            .filter_map(|(i, _)| self.entry(i))
            .collect();
        (rows, copies)
    }

    /// The scenario's scheduled faults and the ones injected from the UI, as sentences (as of
    /// the last `sync`; at most 200).
    pub fn fault_list(&self) -> &[String] {
        &self.faults
    }

    /// Jumping back invalidates the incremental scans (a fork may rewrite what follows).
    fn rewind_scans(&mut self) {
        if (self.sim.event_count() as usize) < self.skip_scanned {
            self.skip_scanned = usize::MAX;
        }
        self.ids.truncate(self.sim.event_count() as usize);
    }

    pub fn inject(&mut self, cmd: &FaultCmd) -> Result<(), String> {
        let service = |name: &str| -> Result<ServiceId, String> {
            self.sim
                .names()
                .services
                .iter()
                .position(|s| s == name)
                .map(|i| ServiceId(i as u32))
                .ok_or_else(|| "no such service".to_string())
        };
        let link = |key: &str| -> Result<crate::engine::LinkId, String> {
            self.topo
                .edges
                .iter()
                .find(|e| e.key == key)
                .and_then(|e| e.link)
                .map(crate::engine::LinkId)
                .ok_or_else(|| "this connection has no network link to cut".to_string())
        };
        let action = match cmd {
            FaultCmd::Crash(n) => FaultAction::Crash {
                service: service(n)?,
            },
            FaultCmd::Restart(n) => FaultAction::Restart {
                service: service(n)?,
            },
            FaultCmd::SkipDeletes(n, on) => FaultAction::SkipDeletes {
                service: service(n)?,
                on: *on,
            },
            FaultCmd::Cut(k) => FaultAction::Partition { link: link(k)? },
            FaultCmd::Heal(k) => FaultAction::Heal { link: link(k)? },
        };
        self.sim.inject(action).map_err(|e| e.message)?;
        // The injection forks the run at the current position; rescan from the start.
        self.skip_scanned = usize::MAX;
        self.horizon = self.sim.event_count();
        self.finished = false;
        self.dirty = true;
        Ok(())
    }

    /// The metrics panel's numbers as of the last `sync`.
    pub fn metrics(&self) -> &MetricsView {
        &self.metrics_view
    }

    fn build_metrics_view(&mut self) -> MetricsView {
        let t_ms = self.now_ms();
        let handled: u64 = self.metrics.services.values().map(|s| s.handled).sum();
        // Windowed throughput: keep samples back to the window's start (plus the one before it).
        if self.handled_samples.last().is_some_and(|&(t, _)| t > t_ms) {
            self.handled_samples.retain(|&(t, _)| t <= t_ms);
        }
        if self.handled_samples.is_empty() && t_ms > 0 {
            // A jump straight past the start: the run began at 0 with nothing handled.
            self.handled_samples.push((0, 0));
        }
        match self.handled_samples.last_mut() {
            Some(last) if last.0 == t_ms => last.1 = handled,
            _ => self.handled_samples.push((t_ms, handled)),
        }
        let from = t_ms.saturating_sub(THROUGHPUT_WINDOW_MS);
        while self.handled_samples.len() > 2 && self.handled_samples[1].0 <= from {
            self.handled_samples.remove(0);
        }
        if self.handled_samples.len() > 512 {
            self.handled_samples.drain(..256);
        }
        let (t0, h0) = self.handled_samples[0];
        let window_ms = t_ms - t0;
        let m = &self.metrics;
        let latency: Vec<LatencyRow> = m
            .services
            .iter()
            .filter(|(_, s)| s.handled > 0)
            .map(|(name, s)| LatencyRow {
                service: name.clone(),
                handled: s.handled,
                p50: s.latency_ms.p50,
                p95: s.latency_ms.p95,
                p99: s.latency_ms.p99,
            })
            .collect();
        // Expectations and `after:` tour steps read the typed metrics (the scenario crate's
        // expect language over `MetricSource`), named as in the summary JSON.
        let next_after = self
            .tour
            .get(self.tour_next)
            .filter(|s| s.at_ms.is_none())
            .and_then(|s| s.after.clone());
        if let Some(cond) = &next_after {
            if scenario::expect::evaluate(cond, m).pass {
                self.after_due = Some(self.tour_next);
            }
        }
        let finished = self.finished;
        let expectations = self
            .scenario
            .expect
            .iter()
            .map(|e| {
                let r = scenario::expect::evaluate(e, m);
                let verdict = match (finished, r.pass) {
                    (false, _) => Verdict::Pending,
                    (true, true) => Verdict::Pass,
                    (true, false) => Verdict::Fail,
                };
                (r.text, verdict, r.why)
            })
            .collect();
        MetricsView {
            t_ms,
            handled,
            throughput_per_s: if window_ms > 0 {
                (handled - h0.min(handled)) as f64 * 1000.0 / window_ms as f64
            } else {
                0.0
            },
            window_ms,
            p95: latency.iter().map(|l| l.p95).max(),
            latency,
            depth: m
                .queues
                .values()
                .map(|q| q.counters.visible + q.counters.delayed)
                .sum(),
            in_flight: m.queues.values().map(|q| q.counters.in_flight).sum(),
            duplicates: m.services.values().map(|s| s.handled_more_than_once).sum(),
            order_violations: m.services.values().map(|s| s.order_violations).sum(),
            dead_lettered: m.queues.values().map(|q| q.counters.dead_lettered).sum(),
            rpc_errors: m.services.values().map(|s| s.rpc_errors).sum(),
            rpc_timeouts: m.services.values().map(|s| s.rpc_timeouts).sum(),
            connections: m.connections,
            expectations,
        }
    }

    /// FIFO lanes of a queue, as the broker reports them: waiting count and the blocking head.
    fn lanes(&self, queue: &str) -> Vec<LaneView> {
        let Some(i) = self.sim.names().queues.iter().position(|q| q == queue) else {
            return Vec::new();
        };
        self.sim
            .queue_groups(crate::broker::QueueId(i as u32))
            .iter()
            .map(|g| LaneView {
                group: g.group.to_string(),
                waiting: g.waiting,
                blocked: g.blocked_by.is_some(),
                head: g.blocked_by.map(|m| {
                    let mut t = String::from("m");
                    t.push_str(&m.0.to_string());
                    t.push_str(" in flight: the group waits");
                    t
                }),
            })
            .collect()
    }

    /// Portrait phones get the layered layout turned a quarter: layers run top to bottom and
    /// rows left to right (stretched so side-by-side nodes do not overlap), so the system fits
    /// the screen's width at a readable size. The scenario's positions are unchanged.
    pub fn set_portrait(&mut self, on: bool) {
        if self.portrait != on {
            self.portrait = on;
            self.place_nodes();
        }
    }

    pub fn portrait(&self) -> bool {
        self.portrait
    }

    fn place_nodes(&mut self) {
        for (n, &(x, y)) in self.topo.nodes.iter_mut().zip(&self.base) {
            (n.x, n.y) = if self.portrait {
                (y * PORTRAIT_ROW_STRETCH, x * PORTRAIT_LAYER_SQUEEZE)
            } else {
                (x, y)
            };
        }
    }

    /// Scenario coordinates of a position on the (possibly turned) canvas.
    pub fn to_scenario_xy(&self, x: f32, y: f32) -> (i32, i32) {
        let (x, y) = if self.portrait {
            (y / PORTRAIT_LAYER_SQUEEZE, x / PORTRAIT_ROW_STRETCH)
        } else {
            (x, y)
        };
        (x.round() as i32, y.round() as i32)
    }

    /// Moves a node while dragging (view only; the edit is committed on release).
    pub fn preview_move(&mut self, name: &str, x: f32, y: f32) {
        if let Some(n) = self.topo.nodes.iter_mut().find(|n| n.name == name) {
            n.x = x;
            n.y = y;
        }
    }
}

fn role_of(s: &scenario::Service) -> &'static str {
    if s.producer.is_some() {
        "producer"
    } else if s.consumer.is_some() {
        "consumer"
    } else if s.rpc_server.is_some() {
        "rpc server"
    } else if s.client.is_some() {
        "scripted client"
    } else {
        "service"
    }
}

fn sim_metrics_placeholder() -> crate::engine::Metrics {
    crate::engine::Metrics {
        t_ms: 0,
        events: 0,
        queues: Default::default(),
        topics: Default::default(),
        services: Default::default(),
        links: Default::default(),
        connections: 0,
    }
}

/// (message id, origin) of an event, u64::MAX for none: what journeys follow.
fn journey_ids(e: &crate::engine::Event) -> (u64, u64) {
    (
        e.kind.message().map_or(u64::MAX, |m| m.0),
        e.kind.origin().unwrap_or(u64::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(stem: &str) -> Session {
        let path = format!(
            "{}/static/scenarios/{stem}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        Session::open(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn node_indices_map_both_ways() {
        let ix = NodeIx {
            services: 2,
            queues: 1,
            topics: 1,
        };
        for i in 0..4 {
            assert_eq!(ix.get(&ix.node(i).unwrap()), Some(i));
        }
        assert_eq!(ix.node(4), None);
        assert_eq!(ix.get(&Node::Queue(crate::broker::QueueId(1))), None);
    }

    #[test]
    fn a_journey_follows_the_origin_across_topic_copies() {
        let mut s = preset("s11-pubsub-over-sqs");
        s.run_until(3_000, 100_000);
        // "order 1 created" matches billing-q and email-q: find its copy on email-q.
        let email = s
            .sim
            .events()
            .iter()
            .find(|e| {
                e.kind.message().is_some() && s.sim.explain(e).contains("email-q") && {
                    e.kind.origin().is_some()
                }
            })
            .and_then(|e| e.kind.message())
            .expect("a copy reached email-q")
            .0;
        let (rows, copies) = s.journey(email);
        assert!(copies.len() >= 2, "copies {copies:?}");
        assert!(rows.iter().any(|r| r.text.contains("billing-q")));
        assert!(rows.iter().any(|r| r.text.contains("email-q")));
        // The other copy's journey is the same journey.
        let other = *copies.iter().find(|&&m| m != email).unwrap();
        assert_eq!(s.journey(other).1, copies);
    }

    #[test]
    fn expectations_are_pending_until_the_run_ends() {
        let mut s = preset("welcome");
        assert!(
            !s.scenario.expect.is_empty(),
            "the welcome preset has expectations"
        );
        for _ in 0..5 {
            s.step();
        }
        s.sync();
        assert!(s
            .metrics()
            .expectations
            .iter()
            .all(|e| e.1 == Verdict::Pending));
        while !s.finished() {
            s.run_until(u64::MAX / 2, 1_000_000);
        }
        s.sync();
        assert!(s
            .metrics()
            .expectations
            .iter()
            .all(|e| e.1 != Verdict::Pending));
    }

    #[test]
    fn throughput_is_measured_over_the_last_ten_seconds() {
        let mut s = preset("welcome");
        let mut handled_at = Vec::new();
        // The welcome run lasts 20 s.
        for sec in 1..=20u64 {
            s.run_until(sec * 1000, 1_000_000);
            s.sync();
            handled_at.push(s.metrics().handled);
        }
        let m = s.metrics();
        assert_eq!(m.window_ms, THROUGHPUT_WINDOW_MS);
        let recent = handled_at[19] - handled_at[9];
        assert!(
            (m.throughput_per_s - recent as f64 / 10.0).abs() < 1e-9,
            "{} vs {recent}/10 at {} ms; samples {:?}",
            m.throughput_per_s,
            m.t_ms,
            s.handled_samples
        );
        // Going back in time forgets the later samples.
        s.seek(0);
        s.sync();
        assert_eq!(s.metrics().throughput_per_s, 0.0);
    }

    #[test]
    fn an_after_step_shows_when_its_condition_first_holds() {
        let mut s = preset("s20-fifo-head-of-line");
        let after = s
            .tour
            .iter()
            .position(|t| t.after.is_some())
            .expect("S20 has an `after:` step");
        let mut stops = Vec::new();
        // What the app does: advance per frame, sync at panel-refresh rate, ask for tour stops.
        for t in (0..12_000u64).step_by(50) {
            s.run_until(t, 1_000_000);
            s.sync();
            while let Some(stop) = s.tour_stop(t) {
                stops.push((stop.index, t, s.metrics.services["worker-1"].received));
            }
        }
        let (_, at, received) = *stops
            .iter()
            .find(|x| x.0 == after)
            .expect("the after step showed");
        assert!(received >= 1, "worker-1 had received {received} at {at} ms");
        let order: Vec<usize> = stops.iter().map(|x| x.0).collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "steps in order: {order:?}"
        );
    }
}
