//! Where each service, queue and topic sits on the canvas when the file gives no `x`/`y`:
//! a layered left-to-right layout along the flow of work (producers and clients left, queues and
//! topics in the middle, consumers right). Deterministic, integer coordinates, no floats.

use crate::file::Scenario;
use serde::Serialize;

/// Horizontal distance between layers and vertical distance between nodes in a layer.
pub const LAYER_GAP: i32 = 220;
pub const ROW_GAP: i32 = 110;
pub const MARGIN: i32 = 80;

/// A node and its position (given in the file or computed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placed {
    pub name: String,
    /// "service", "queue" or "topic".
    pub kind: &'static str,
    pub x: i32,
    pub y: i32,
    /// True when the file gave both coordinates.
    pub pinned: bool,
}

impl Scenario {
    /// Every node with a position: services first, then queues, then topics (declaration order).
    pub fn layout(&self) -> Vec<Placed> {
        let mut nodes: Vec<(String, &'static str, Option<i32>, Option<i32>)> = Vec::new();
        nodes.extend(
            self.services
                .iter()
                .map(|s| (s.name.clone(), "service", s.x, s.y)),
        );
        nodes.extend(
            self.queues
                .iter()
                .map(|q| (q.name.clone(), "queue", q.x, q.y)),
        );
        nodes.extend(
            self.topics
                .iter()
                .map(|t| (t.name.clone(), "topic", t.x, t.y)),
        );
        let index = |name: &str| nodes.iter().position(|n| n.0 == name);
        let edges: Vec<(usize, usize)> = self
            .flow_edges()
            .iter()
            .filter_map(|(a, b)| Some((index(a)?, index(b)?)))
            .collect();

        // Longest path from the sources, relaxed at most `n` times so cycles (A calls B calls A) end.
        let n = nodes.len();
        let mut layer = vec![0i32; n];
        for _ in 0..n {
            let mut changed = false;
            for &(a, b) in &edges {
                if a != b && layer[b] < layer[a] + 1 && layer[a] + 1 < n as i32 {
                    layer[b] = layer[a] + 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut rows = vec![0i32; n + 1];
        nodes
            .into_iter()
            .enumerate()
            .map(|(i, (name, kind, x, y))| {
                let l = layer[i].max(0) as usize;
                let row = rows[l];
                rows[l] += 1;
                Placed {
                    name,
                    kind,
                    x: x.unwrap_or(MARGIN + l as i32 * LAYER_GAP),
                    y: y.unwrap_or(MARGIN + row * ROW_GAP),
                    pinned: x.is_some() && y.is_some(),
                }
            })
            .collect()
    }

    /// Directed "work flows from a to b" pairs, by name (used by the layout and the UI's arrows).
    pub fn flow_edges(&self) -> Vec<(String, String)> {
        let mut edges = self.service_talk();
        for q in &self.queues {
            if let Some(d) = &q.dead_letter {
                edges.push((q.name.clone(), d.queue.clone()));
            }
        }
        for t in &self.topics {
            for sub in &t.subscriptions {
                if let Some(target) = sub.queue.as_ref().or(sub.service.as_ref()) {
                    edges.push((t.name.clone(), target.clone()));
                }
            }
        }
        for l in &self.links {
            edges.push((l.from.clone(), l.to.clone()));
        }
        edges.sort();
        edges.dedup();
        edges
    }
}
