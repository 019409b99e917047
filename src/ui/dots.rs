//! The message-dot layer: one `<canvas>` over the topology SVG, drawn once per animation frame.
//! Rust computes every dot's position into one `Float32Array`-backed buffer and crosses into JS
//! once to draw it (one path per colour), so the per-frame cost does not grow with boundary calls.

use web_sys::wasm_bindgen;
use web_sys::wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
let palKey = '', pal = [];
export function sb_draw_dots(canvas, data, palette, big) {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const pw = Math.round(w * dpr), ph = Math.round(h * dpr);
  if (canvas.width !== pw || canvas.height !== ph) { canvas.width = pw; canvas.height = ph; }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (palKey !== palette) { palKey = palette; pal = palette.split(','); }
  const n = data.length >> 2, r = big ? 7 : 5, TAU = 6.283185307179586;
  for (let c = 0; c < pal.length; c++) {
    let any = false;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (data[i * 4 + 2] !== c) continue;
      const x = data[i * 4], y = data[i * 4 + 1];
      ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, TAU); any = true;
    }
    if (any) { ctx.fillStyle = pal[c]; ctx.fill(); ctx.lineWidth = 1.2; ctx.strokeStyle = '#ffffff'; ctx.stroke(); }
  }
  // Duplicates: a ring; redeliveries: a square frame; the selected message: a thick halo.
  const marks = [[1, '#111827', false], [2, '#b91c1c', true], [4, '#111827', false]];
  for (const [bit, colour, square] of marks) {
    let any = false;
    ctx.beginPath();
    const rr = bit === 4 ? r + 7 : r + 3.5;
    for (let i = 0; i < n; i++) {
      if (!(data[i * 4 + 3] & bit)) continue;
      const x = data[i * 4], y = data[i * 4 + 1];
      if (square) { ctx.rect(x - rr, y - rr, 2 * rr, 2 * rr); }
      else { ctx.moveTo(x + rr, y); ctx.arc(x, y, rr, 0, TAU); }
      any = true;
    }
    if (any) { ctx.lineWidth = bit === 4 ? 3 : 2; ctx.strokeStyle = colour; ctx.stroke(); }
  }
}
"#)]
extern "C" {
    /// Sizes the canvas to its CSS box × devicePixelRatio, clears it, and draws all dots.
    fn sb_draw_dots(canvas: &web_sys::HtmlCanvasElement, data: &[f32], palette: &str, big: bool);
}

/// `PALETTE` joined once: the JS side caches the split list by this string.
pub fn palette_csv() -> &'static str {
    "#0072B2,#E69F00,#009E73,#CC79A7,#56B4E9,#D55E00,#7a5c00,#3b4a5e"
}

/// Draws the dots in `buf` (4 floats each, see `geometry::dot_buffer`).
pub fn draw(canvas: &web_sys::HtmlCanvasElement, buf: &[f32], big: bool) {
    sb_draw_dots(canvas, buf, palette_csv(), big);
}

#[cfg(test)]
mod tests {
    #[test]
    fn palette_csv_matches_the_rust_palette() {
        assert_eq!(super::palette_csv(), crate::ui::geometry::PALETTE.join(","));
    }
}
