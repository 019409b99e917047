//! Pure geometry for the topology: node sizes, edge endpoints, the SVG "meet" fit that the dot
//! canvas must match, and dot positions interpolated from transit times. No web types here.

use super::view::{NodeKind, NodeView, Transit};

/// Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), minus yellow,
/// which vanishes on the light canvas. Index `NO_GROUP` is the neutral colour for ungrouped messages.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7a5c00", "#3b4a5e",
];
pub const NO_GROUP: u8 = 7;

/// The palette index of a FIFO message group: a stable hash, so a group keeps its colour.
pub fn group_colour(group: Option<&str>) -> u8 {
    match group {
        None => NO_GROUP,
        Some(g) => {
            let mut h: u32 = 2_166_136_261;
            for b in g.bytes() {
                h = (h ^ b as u32).wrapping_mul(16_777_619);
            }
            (h % NO_GROUP as u32) as u8
        }
    }
}

/// Half width and half height of a node's shape, in topology units.
pub fn half_size(kind: &NodeKind) -> (f32, f32) {
    match kind {
        NodeKind::Service(_) => (64.0, 28.0),
        NodeKind::Queue(q) if q.fifo => (80.0, 24.0 + 9.0 * q.lanes.len().min(6) as f32),
        NodeKind::Queue(_) => (80.0, 30.0),
        NodeKind::Topic(_) => (48.0, 30.0),
    }
}

/// Where the segment from `a`'s centre towards `b`'s centre leaves `a`'s bounding box.
pub fn anchor(a: &NodeView, b: &NodeView) -> (f32, f32) {
    let (hw, hh) = half_size(&a.kind);
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    if dx == 0.0 && dy == 0.0 {
        return (a.x, a.y);
    }
    let tx = if dx != 0.0 { hw / dx.abs() } else { f32::MAX };
    let ty = if dy != 0.0 { hh / dy.abs() } else { f32::MAX };
    let t = tx.min(ty).min(1.0);
    (a.x + dx * t, a.y + dy * t)
}

/// The transform SVG applies for `preserveAspectRatio="xMidYMid meet"`: screen = (p - origin) * scale + offset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    pub scale: f32,
    pub ox: f32,
    pub oy: f32,
}

pub fn fit(view_box: (f32, f32, f32, f32), width: f32, height: f32) -> Fit {
    let (vx, vy, vw, vh) = view_box;
    let scale = (width / vw).min(height / vh);
    Fit {
        scale,
        ox: (width - vw * scale) / 2.0 - vx * scale,
        oy: (height - vh * scale) / 2.0 - vy * scale,
    }
}

impl Fit {
    pub fn to_screen(&self, x: f32, y: f32) -> (f32, f32) {
        (x * self.scale + self.ox, y * self.scale + self.oy)
    }

    pub fn to_model(&self, sx: f32, sy: f32) -> (f32, f32) {
        ((sx - self.ox) / self.scale, (sy - self.oy) / self.scale)
    }
}

/// Fraction of the way along its edge a transit is at playback time `t_ms` (clamped to 0..=1).
pub fn progress(depart_ms: u64, arrive_ms: u64, t_ms: f64) -> f32 {
    if arrive_ms <= depart_ms {
        return 1.0;
    }
    (((t_ms - depart_ms as f64) / (arrive_ms - depart_ms) as f64).clamp(0.0, 1.0)) as f32
}

/// Flags packed in the dot buffer.
pub const FLAG_DUPLICATE: f32 = 1.0;
pub const FLAG_REDELIVERY: f32 = 2.0;
pub const FLAG_SELECTED: f32 = 4.0;

/// Fills `out` with 4 floats per dot — screen x, screen y, palette index, flags — for every
/// transit, so the canvas is drawn with one call across the JS boundary. `selected` (sorted)
/// holds the message ids of the selected journey. Returns the dot count.
pub fn dot_buffer(
    nodes: &[NodeView],
    transits: &[Transit],
    t_ms: f64,
    fit: &Fit,
    selected: &[u64],
    out: &mut Vec<f32>,
) -> usize {
    out.clear();
    for tr in transits {
        let (Some(a), Some(b)) = (nodes.get(tr.source), nodes.get(tr.target)) else {
            continue;
        };
        let (x0, y0) = anchor(a, b);
        let (x1, y1) = anchor(b, a);
        let f = progress(tr.depart_ms, tr.arrive_ms, t_ms);
        let (sx, sy) = fit.to_screen(x0 + (x1 - x0) * f, y0 + (y1 - y0) * f);
        let mut flags = 0.0;
        if tr.duplicate {
            flags += FLAG_DUPLICATE;
        }
        if tr.redelivery {
            flags += FLAG_REDELIVERY;
        }
        if !selected.is_empty() && selected.binary_search(&tr.message).is_ok() {
            flags += FLAG_SELECTED;
        }
        out.extend_from_slice(&[sx, sy, tr.colour as f32, flags]);
    }
    out.len() / 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::view::ServiceView;

    fn svc(x: f32, y: f32) -> NodeView {
        NodeView {
            name: "s".into(),
            kind: NodeKind::Service(ServiceView::default()),
            x,
            y,
        }
    }

    #[test]
    fn progress_is_clamped_and_handles_zero_latency() {
        assert_eq!(progress(100, 200, 150.0), 0.5);
        assert_eq!(progress(100, 200, 50.0), 0.0);
        assert_eq!(progress(100, 200, 250.0), 1.0);
        assert_eq!(progress(100, 100, 100.0), 1.0);
    }

    #[test]
    fn fit_matches_svg_meet_and_inverts() {
        let f = fit((0.0, 0.0, 800.0, 400.0), 1600.0, 1000.0);
        assert_eq!(f.scale, 2.0);
        assert_eq!(f.to_screen(0.0, 0.0), (0.0, 100.0));
        assert_eq!(f.to_model(800.0, 500.0), (400.0, 200.0));
    }

    #[test]
    fn edges_start_on_the_box_border() {
        let (a, b) = (svc(0.0, 0.0), svc(300.0, 0.0));
        assert_eq!(anchor(&a, &b), (64.0, 0.0));
        assert_eq!(anchor(&b, &a), (236.0, 0.0));
    }

    #[test]
    fn dots_are_interpolated_between_anchors() {
        let nodes = [svc(0.0, 0.0), svc(328.0, 0.0)];
        let tr = Transit {
            message: 9,
            source: 0,
            target: 1,
            depart_ms: 0,
            arrive_ms: 100,
            colour: 2,
            duplicate: true,
            redelivery: false,
        };
        let mut buf = Vec::new();
        let n = dot_buffer(
            &nodes,
            &[tr],
            50.0,
            &fit((0.0, -100.0, 400.0, 200.0), 400.0, 200.0),
            &[3, 9],
            &mut buf,
        );
        assert_eq!(n, 1);
        assert_eq!(buf, vec![164.0, 100.0, 2.0, FLAG_DUPLICATE + FLAG_SELECTED]);
    }

    #[test]
    fn group_colours_are_stable_and_never_the_neutral_one() {
        assert_eq!(group_colour(Some("g1")), group_colour(Some("g1")));
        assert_ne!(group_colour(Some("g1")), NO_GROUP);
        assert_eq!(group_colour(None), NO_GROUP);
    }
}
