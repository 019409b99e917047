//! The message-dot layer: one `<canvas>` over the topology SVG, drawn once per animation frame.
//! Rust computes every dot's position (`geometry::dot_buffer`), stamps precomputed anti-aliased
//! sprites into one pixel buffer (`raster`), and crosses into JS once to put the touched rows on
//! the canvas, so the per-frame cost does not grow with boundary calls or canvas path work.

use super::geometry::{FLAG_DUPLICATE, FLAG_REDELIVERY, FLAG_SELECTED, PALETTE};
use super::raster::{Raster, MARK_DUPLICATE, MARK_REDELIVERY, MARK_SELECTED};
use web_sys::wasm_bindgen;
use web_sys::wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function sb_put_dots(canvas, rows, w, h, y0, y1, p0, p1) {
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  if (p1 > p0) ctx.clearRect(0, p0, w, p1 - p0);
  if (y1 > y0 && w > 0) {
    const px = new Uint8ClampedArray(rows.buffer, rows.byteOffset, rows.length * 4);
    ctx.putImageData(new ImageData(px, w, y1 - y0), 0, y0);
  }
}
"#)]
extern "C" {
    /// Sizes the canvas to `w` x `h` device pixels, clears rows `p0..p1` (last frame's dots)
    /// and puts `rows` (RGBA words, rows `y0..y1`) on it.
    #[allow(clippy::too_many_arguments)]
    fn sb_put_dots(
        canvas: &web_sys::HtmlCanvasElement,
        rows: &[u32],
        w: u32,
        h: u32,
        y0: u32,
        y1: u32,
        p0: u32,
        p1: u32,
    );
}

/// The canvas's pixel buffer and what the last frame put on it.
#[derive(Default)]
pub struct DotLayer {
    raster: Raster,
    shown: (u32, u32),
}

impl DotLayer {
    /// Draws the dots in `buf` (4 floats each in CSS px, see `geometry::dot_buffer`) on a
    /// canvas of `css_w` x `css_h` CSS px at device pixel ratio `dpr`.
    pub fn draw(
        &mut self,
        canvas: &web_sys::HtmlCanvasElement,
        buf: &[f32],
        css_w: f32,
        css_h: f32,
        dpr: f32,
        big: bool,
    ) {
        let dpr = dpr.clamp(0.5, 4.0);
        let (w, h) = (
            (css_w * dpr).round().max(0.0) as u32,
            (css_h * dpr).round().max(0.0) as u32,
        );
        let r = self_radius(big);
        self.raster.prepare(w, h, r, dpr, &PALETTE);
        for dot in buf.chunks_exact(4) {
            let (cx, cy) = ((dot[0] * dpr).round() as i32, (dot[1] * dpr).round() as i32);
            let colour = (dot[2] as usize).min(self.raster.discs.len().saturating_sub(1));
            let flags = dot[3];
            // Split borrows: sprites are read while the pixel buffer is written.
            let raster = &mut self.raster;
            let disc = std::mem::take(&mut raster.discs[colour]);
            raster.stamp(&disc, cx, cy);
            raster.discs[colour] = disc;
            for (bit, mark) in [
                (FLAG_DUPLICATE, MARK_DUPLICATE),
                (FLAG_REDELIVERY, MARK_REDELIVERY),
                (FLAG_SELECTED, MARK_SELECTED),
            ] {
                if (flags as u32) & (bit as u32) != 0 {
                    let m = std::mem::take(&mut raster.marks[mark]);
                    raster.stamp(&m, cx, cy);
                    raster.marks[mark] = m;
                }
            }
        }
        let (y0, y1) = self.raster.dirty_rows();
        let (p0, p1) = self.shown;
        sb_put_dots(canvas, self.raster.rows(y0, y1), w, h, y0, y1, p0, p1);
        self.shown = (y0, y1);
    }
}

/// Dot radius in CSS px: bigger on narrow screens, where a finger and a projector need it.
fn self_radius(big: bool) -> f32 {
    if big {
        7.0
    } else {
        5.0
    }
}
