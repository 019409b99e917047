//! The topology as SVG: nodes (services, queues with FIFO lanes, topics) and edges (RPC vs
//! messaging). Pure rendering of a `TopologyView`; every interaction is a callback to the app.

use super::geometry::{anchor, half_size};
use super::view::{EdgeKind, EdgeView, NodeKind, NodeView, TopologyView};
use yew::prelude::*;

#[derive(Clone, PartialEq, Debug)]
pub enum Selected {
    None,
    Node(String),
    Edge(String),
}

pub struct TopologyProps<'a> {
    pub topo: &'a TopologyView,
    pub selected: &'a Selected,
    /// A connection being dragged: source node and the pointer position in model units.
    pub connecting: Option<(&'a str, (f32, f32))>,
    pub on_node_down: Callback<(String, PointerEvent)>,
    pub on_node_key: Callback<(String, KeyboardEvent)>,
    pub on_handle_down: Callback<(String, PointerEvent)>,
    pub on_edge: Callback<String>,
}

fn num(v: f32) -> String {
    // Whole numbers keep the SVG small and readable; positions need no sub-pixel precision.
    (v.round() as i32).to_string()
}

pub fn render(p: &TopologyProps<'_>) -> Html {
    let edges = p.topo.edges.iter().filter_map(|e| edge(p, e));
    let nodes = p.topo.nodes.iter().map(|n| node(p, n));
    let ghost = p.connecting.and_then(|(from, (x, y))| {
        let a = p.topo.node(from)?;
        Some(html! { <line class="edge ghost" x1={num(a.x)} y1={num(a.y)} x2={num(x)} y2={num(y)} /> })
    });
    html! {
        <>
            <defs>
                <marker id="arrow-rpc" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M0,0 L10,5 L0,10 z" class="arrow rpc" />
                </marker>
                <marker id="arrow-msg" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M0,1 L9,5 L0,9" class="arrow msg" />
                </marker>
            </defs>
            <g class="edges">{ for edges }</g>
            { for ghost }
            <g class="nodes">{ for nodes }</g>
        </>
    }
}

fn edge(p: &TopologyProps<'_>, e: &EdgeView) -> Option<Html> {
    let a = p.topo.node(&e.source)?;
    let b = p.topo.node(&e.target)?;
    // Consumers pull: draw the arrow from the queue to the consumer, the way messages travel.
    let (from, to) = if e.kind == EdgeKind::Consume {
        (b, a)
    } else {
        (a, b)
    };
    let (x1, y1) = anchor(from, to);
    let (x2, y2) = anchor(to, from);
    let selected = matches!(p.selected, Selected::Edge(k) if *k == e.key);
    let mut class = String::from(e.kind.class());
    if e.cut {
        class.push_str(" cut");
    }
    if selected {
        class.push_str(" selected");
    }
    let marker = if e.kind == EdgeKind::Rpc {
        "url(#arrow-rpc)"
    } else {
        "url(#arrow-msg)"
    };
    let key = e.key.clone();
    let onclick = p.on_edge.reform(move |_: MouseEvent| key.clone());
    let key2 = e.key.clone();
    let on_edge = p.on_edge.clone();
    let onkeydown = Callback::from(move |ev: KeyboardEvent| {
        if ev.key() == "Enter" || ev.key() == " " {
            ev.prevent_default();
            ev.stop_propagation();
            on_edge.emit(key2.clone());
        }
    });
    let mut label = String::from("Link ");
    label.push_str(&e.source);
    label.push_str(" to ");
    label.push_str(&e.target);
    label.push_str(", ");
    label.push_str(e.kind.label());
    if e.cut {
        label.push_str(", cut");
    }
    let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
    let cut_mark = e.cut.then(|| {
        html! { <g class="cut-mark" transform={format!("translate({},{})", num(mx), num(my))}>
            <circle r="11" /><path d="M-5,-5 L5,5 M5,-5 L-5,5" />
        </g> }
    });
    Some(html! {
        <g class={class} key={e.key.clone()} role="button" tabindex="0" aria-label={label} {onclick} {onkeydown}>
            <line class="hit" x1={num(x1)} y1={num(y1)} x2={num(x2)} y2={num(y2)} />
            <line class="stroke" x1={num(x1)} y1={num(y1)} x2={num(x2)} y2={num(y2)} marker-end={marker} />
            { for cut_mark }
        </g>
    })
}

fn node(p: &TopologyProps<'_>, n: &NodeView) -> Html {
    let (hw, hh) = half_size(&n.kind);
    let selected = matches!(p.selected, Selected::Node(k) if *k == n.name);
    let name = n.name.clone();
    let onpointerdown = p
        .on_node_down
        .reform(move |e: PointerEvent| (name.clone(), e));
    let name = n.name.clone();
    let onkeydown = p
        .on_node_key
        .reform(move |e: KeyboardEvent| (name.clone(), e));
    let name = n.name.clone();
    let on_handle = p.on_handle_down.reform(move |e: PointerEvent| {
        e.stop_propagation();
        (name.clone(), e)
    });
    let (body, class, label) = match &n.kind {
        NodeKind::Service(s) => {
            let mut class = String::from("node service");
            let mut label = String::from("Service ");
            label.push_str(&n.name);
            if s.crashed {
                class.push_str(" crashed");
                label.push_str(", crashed");
            }
            if s.waiting_on.is_some() {
                class.push_str(" waiting");
            }
            let status = if s.crashed {
                "✕ crashed".to_string()
            } else if let Some(w) = &s.waiting_on {
                let mut t = String::from("⏳ waits on ");
                t.push_str(w);
                label.push_str(", waiting on ");
                label.push_str(w);
                t
            } else if s.skips_deletes {
                label.push_str(", skipping deletes");
                "skips deletes".to_string()
            } else {
                s.role.clone()
            };
            let body = html! { <>
                <rect x={num(-hw)} y={num(-hh)} width={num(2.0 * hw)} height={num(2.0 * hh)} rx="12" />
                <text class="name" y="-3">{ n.name.clone() }</text>
                <text class="sub" y="15">{ status }</text>
            </> };
            (body, class, label)
        }
        NodeKind::Queue(q) => {
            let mut label = String::from(if q.fifo { "FIFO queue " } else { "Queue " });
            label.push_str(&n.name);
            label.push_str(", ");
            label.push_str(&q.visible.to_string());
            label.push_str(" waiting, ");
            label.push_str(&q.in_flight.to_string());
            label.push_str(" in flight, ");
            label.push_str(&q.dead_lettered.to_string());
            label.push_str(" dead-lettered");
            let counts = {
                let mut t = String::from("▤ ");
                t.push_str(&q.visible.to_string());
                t.push_str("  ✈ ");
                t.push_str(&q.in_flight.to_string());
                t.push_str("  ☠ ");
                t.push_str(&q.dead_lettered.to_string());
                t
            };
            let lanes = q.lanes.iter().take(6).enumerate().map(|(i, lane)| {
                let y = -hh + 44.0 + 9.0 * i as f32;
                let mut cls = String::from("lane");
                if lane.blocked {
                    cls.push_str(" blocked");
                }
                let cells = (0..lane.waiting.min(8)).map(|k| {
                    html! { <rect class="cell" x={num(-hw + 58.0 + 9.0 * k as f32)} y={num(y - 3.0)} width="7" height="7" /> }
                });
                let head = lane.blocked.then(|| html! {
                    <g class="head"><rect x={num(-hw + 46.0)} y={num(y - 4.0)} width="9" height="9" /><title>{ lane.head.clone().unwrap_or_default() }</title></g>
                });
                let mut txt = lane.group.clone();
                if txt.chars().count() > 6 {
                    txt = txt.chars().take(5).collect::<String>() + "…";
                }
                let more = (lane.waiting > 8).then(|| {
                    let mut m = String::from("+");
                    m.push_str(&(lane.waiting - 8).to_string());
                    html! { <text class="more" x={num(-hw + 132.0)} y={num(y + 3.0)}>{ m }</text> }
                });
                html! { <g class={cls}>
                    <text class="group" x={num(-hw + 6.0)} y={num(y + 3.0)}>{ txt }</text>
                    { for head } { for cells } { for more }
                </g> }
            });
            let hidden = (q.lanes.len() > 6).then(|| {
                let mut m = String::from("+");
                m.push_str(&(q.lanes.len() - 6).to_string());
                m.push_str(" groups");
                html! { <text class="more right" x={num(hw - 6.0)} y={num(hh - 4.0)}>{ m }</text> }
            });
            let body = html! { <>
                <rect x={num(-hw)} y={num(-hh)} width={num(2.0 * hw)} height={num(2.0 * hh)} rx="4" />
                <path class="slots" d={format!("M{},{} v{} M{},{} v{} M{},{} v{}", num(hw - 14.0), num(-hh), num(2.0*hh), num(hw - 26.0), num(-hh), num(2.0*hh), num(hw - 38.0), num(-hh), num(2.0*hh))} />
                <text class="name left" x={num(-hw + 8.0)} y={num(-hh + 16.0)}>{ n.name.clone() }</text>
                <text class="sub left" x={num(-hw + 8.0)} y={num(-hh + 32.0)}>{ counts }</text>
                { for lanes } { for hidden }
            </> };
            (
                body,
                String::from(if q.fifo {
                    "node queue fifo"
                } else {
                    "node queue"
                }),
                label,
            )
        }
        NodeKind::Topic(t) => {
            let mut label = String::from("Topic ");
            label.push_str(&n.name);
            let body = html! { <>
                <polygon points={format!("{},0 {},{} {},{} {},0 {},{} {},{}", num(-hw), num(-hw/2.0), num(-hh), num(hw/2.0), num(-hh), num(hw), num(hw/2.0), num(hh), num(-hw/2.0), num(hh))} />
                <text class="name" y="-2">{ n.name.clone() }</text>
                <text class="sub" y="15">{ if t.fifo { "FIFO topic" } else { "topic" } }</text>
            </> };
            (body, "node topic".to_string(), label)
        }
    };
    let class = if selected { class + " selected" } else { class };
    html! {
        <g class={class} key={n.name.clone()} transform={format!("translate({},{})", num(n.x), num(n.y))}
           role="button" tabindex="0" aria-label={label} aria-pressed={if selected { "true" } else { "false" }}
           {onpointerdown} {onkeydown}>
            { body }
            <circle class="handle" cx={num(hw)} cy="0" r="7" onpointerdown={on_handle}>
                <title>{ "Drag to another node to connect" }</title>
            </circle>
        </g>
    }
}
