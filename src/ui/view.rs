//! View-models: small, comparable snapshots that components render. Filled from the engine and
//! the scenario by `bridge`; components never read the engine directly and never decide anything.

/// What a node on the topology is.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Service(ServiceView),
    Queue(QueueView),
    Topic(TopicView),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct ServiceView {
    /// "producer", "consumer", "rpc server", ... as the scenario says.
    pub role: String,
    pub crashed: bool,
    /// A caller blocked on an RPC: the callee's name.
    pub waiting_on: Option<String>,
    pub skips_deletes: bool,
    pub busy: u32,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct QueueView {
    pub fifo: bool,
    pub visible: u32,
    pub in_flight: u32,
    pub delayed: u32,
    /// Messages moved to this queue's dead-letter queue (or, for a DLQ, the messages it holds).
    pub dead_lettered: u32,
    /// FIFO only: one lane per message group, in group order.
    pub lanes: Vec<LaneView>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct LaneView {
    pub group: String,
    pub waiting: u32,
    /// The group's head is in flight, so the rest of the group is held.
    pub blocked: bool,
    /// Label of the in-flight head that blocks the group ("m5").
    pub head: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct TopicView {
    pub fifo: bool,
    pub subscriptions: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
    /// The scenario name: unique across services, queues and topics.
    pub name: String,
    pub kind: NodeKind,
    pub x: f32,
    pub y: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    Rpc,
    Send,
    Consume,
    Publish,
    Subscribe,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 5] = [
        EdgeKind::Rpc,
        EdgeKind::Send,
        EdgeKind::Consume,
        EdgeKind::Publish,
        EdgeKind::Subscribe,
    ];

    pub fn label(self) -> &'static str {
        match self {
            EdgeKind::Rpc => "RPC call",
            EdgeKind::Send => "send",
            EdgeKind::Consume => "consume",
            EdgeKind::Publish => "publish",
            EdgeKind::Subscribe => "subscribe",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            EdgeKind::Rpc => "edge rpc",
            EdgeKind::Send => "edge msg send",
            EdgeKind::Consume => "edge msg consume",
            EdgeKind::Publish => "edge msg publish",
            EdgeKind::Subscribe => "edge msg subscribe",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EdgeView {
    /// Stable key: "source->target".
    pub key: String,
    pub source: String,
    pub target: String,
    pub kind: EdgeKind,
    pub cut: bool,
    /// The engine link this edge stands for (cut/heal), if the scenario has one.
    pub link: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct TopologyView {
    pub nodes: Vec<NodeView>,
    pub edges: Vec<EdgeView>,
}

impl TopologyView {
    pub fn node(&self, name: &str) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The SVG viewBox that frames every node with a margin: (x, y, w, h).
    pub fn view_box(&self) -> (f32, f32, f32, f32) {
        if self.nodes.is_empty() {
            return (0.0, 0.0, 800.0, 450.0);
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for n in &self.nodes {
            let (hw, hh) = crate::ui::geometry::half_size(&n.kind);
            x0 = x0.min(n.x - hw);
            y0 = y0.min(n.y - hh);
            x1 = x1.max(n.x + hw);
            y1 = y1.max(n.y + hh);
        }
        let m = 40.0;
        let (w, h) = (
            (x1 - x0 + 2.0 * m).max(480.0),
            (y1 - y0 + 2.0 * m).max(270.0),
        );
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        // Whole units: the SVG attribute prints them without float formatting, and the dot
        // canvas fits the very same numbers.
        (
            (cx - w / 2.0).round(),
            (cy - h / 2.0).round(),
            w.round(),
            h.round(),
        )
    }
}

/// One message travelling along an edge, as the engine reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transit {
    pub message: u64,
    pub source: usize,
    pub target: usize,
    pub depart_ms: u64,
    pub arrive_ms: u64,
    /// Palette index (FIFO group), `NO_GROUP` when the message has none.
    pub colour: u8,
    pub duplicate: bool,
    pub redelivery: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogEntryView {
    /// Position in the trace: seeking to `index + 1` shows the state just after this event.
    pub index: u64,
    pub t_ms: u64,
    pub text: String,
    pub message: Option<u64>,
    pub fault: bool,
}

/// `12.345s` for a virtual time in ms (the engine's `Millis` display, without allocating twice).
pub fn fmt_ms(ms: u64) -> String {
    let mut s = (ms / 1000).to_string();
    s.push('.');
    let frac = ms % 1000;
    if frac < 100 {
        s.push('0');
    }
    if frac < 10 {
        s.push('0');
    }
    s.push_str(&frac.to_string());
    s.push('s');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_seconds_with_three_decimals() {
        assert_eq!(fmt_ms(0), "0.000s");
        assert_eq!(fmt_ms(1500), "1.500s");
        assert_eq!(fmt_ms(61_007), "61.007s");
    }
}
