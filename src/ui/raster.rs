//! The dot layer's software rasteriser: anti-aliased dot and mark sprites computed once from
//! distances, stamped into one RGBA pixel buffer per frame, which JS puts on the canvas in one
//! call. Headless Chromium without a GPU rasterises thousands of canvas arcs slowly (p95 well
//! over a frame at 3,000 dots); stamping precomputed pixels in wasm costs about a microsecond per
//! dot and one `putImageData`. Pure: no web types here.

/// One precomputed shape: the pixels it covers, relative to the dot's centre pixel, as
/// little-endian RGBA words (canvas `ImageData` byte order, not premultiplied).
#[derive(Clone, Debug, Default)]
pub struct Sprite {
    pub pixels: Vec<(i16, i16, u32)>,
    /// Largest |dx| or |dy| of any pixel.
    pub reach: i32,
    /// Per pixel: its offset in the buffer from the centre (dy * width + dx), for `width`.
    offsets: Vec<i32>,
    width: u32,
}

impl Sprite {
    fn index_for(&mut self, width: u32) {
        if self.width != width || self.offsets.len() != self.pixels.len() {
            self.width = width;
            self.offsets = self
                .pixels
                .iter()
                .map(|&(dx, dy, _)| dy as i32 * width as i32 + dx as i32)
                .collect();
        }
    }
}

/// Which shapes a dot can carry (index into `Raster::marks`).
pub const MARK_DUPLICATE: usize = 0;
pub const MARK_REDELIVERY: usize = 1;
pub const MARK_SELECTED: usize = 2;

/// `#rrggbb` -> (r, g, b); anything else is a neutral grey (colours are our own constants).
pub fn parse_hex(c: &str) -> (u8, u8, u8) {
    let h = c.trim_start_matches('#');
    let byte = |i: usize| {
        h.get(i..i + 2)
            .and_then(|s| u8::from_str_radix(s, 16).ok())
            .unwrap_or(128)
    };
    (byte(0), byte(2), byte(4))
}

fn word(r: f32, g: f32, b: f32, a: f32) -> u32 {
    let q = |v: f32| (v.clamp(0.0, 255.0) + 0.5) as u32;
    q(r) | (q(g) << 8) | (q(b) << 16) | (q(a * 255.0) << 24)
}

/// Builds a sprite from a coverage function of the pixel centre's offset (in device pixels)
/// from the dot centre, returning (alpha 0..=1, r, g, b).
fn sprite(reach: f32, f: impl Fn(f32, f32) -> (f32, f32, f32, f32)) -> Sprite {
    let n = reach.ceil() as i32 + 1;
    let mut pixels = Vec::new();
    for dy in -n..=n {
        for dx in -n..=n {
            // The dot's centre sits at the centre of pixel (0, 0).
            let (a, r, g, b) = f(dx as f32, dy as f32);
            if a > 0.004 {
                pixels.push((dx as i16, dy as i16, word(r, g, b, a)));
            }
        }
    }
    Sprite {
        pixels,
        reach: n,
        offsets: Vec::new(),
        width: 0,
    }
}

/// A filled disc of radius `r` with a white rim `rim` wide (device pixels), anti-aliased.
pub fn disc(colour: (u8, u8, u8), r: f32, rim: f32) -> Sprite {
    let (cr, cg, cb) = (colour.0 as f32, colour.1 as f32, colour.2 as f32);
    let (outer, inner) = (r + rim / 2.0, r - rim / 2.0);
    sprite(outer + 1.0, |x, y| {
        let d = (x * x + y * y).sqrt();
        let a = (outer + 0.5 - d).clamp(0.0, 1.0);
        let fill = (inner + 0.5 - d).clamp(0.0, 1.0);
        let mix = |c: f32| c * fill + 255.0 * (1.0 - fill);
        (a, mix(cr), mix(cg), mix(cb))
    })
}

/// A ring (or, with `square`, a square frame) of radius `r` and line width `w`, anti-aliased.
pub fn outline(colour: (u8, u8, u8), r: f32, w: f32, square: bool) -> Sprite {
    let c = (colour.0 as f32, colour.1 as f32, colour.2 as f32);
    sprite(r + w, |x, y| {
        let d = if square {
            x.abs().max(y.abs())
        } else {
            (x * x + y * y).sqrt()
        };
        let a = (w / 2.0 + 0.5 - (d - r).abs()).clamp(0.0, 1.0);
        (a, c.0, c.1, c.2)
    })
}

/// A `width` x `height` RGBA buffer plus the sprites to stamp into it.
#[derive(Default)]
pub struct Raster {
    pub width: u32,
    pub height: u32,
    /// RGBA words (little-endian, so their bytes are what `ImageData` holds), row-major.
    pub pixels: Vec<u32>,
    /// One disc per palette colour.
    pub discs: Vec<Sprite>,
    /// Duplicate ring, redelivery square, selection halo.
    pub marks: Vec<Sprite>,
    /// (radius, scale) the sprites were built for.
    key: (u32, u32),
    /// Rows touched since the last clear (first, last+1), so a sparse frame clears little.
    dirty: (u32, u32),
}

impl Raster {
    /// Resizes the buffer (clearing it) and rebuilds the sprites when the dot radius (CSS px)
    /// or the device pixel ratio changed.
    pub fn prepare(&mut self, width: u32, height: u32, radius: f32, scale: f32, palette: &[&str]) {
        // Bounded: a canvas larger than 8k x 8k is not drawn (a broken layout, not a real screen).
        let (width, height) = (width.min(8192), height.min(8192));
        if width != self.width || height != self.height {
            self.width = width;
            self.height = height;
            self.pixels.clear();
            self.pixels.resize(width as usize * height as usize, 0);
            self.dirty = (0, 0);
        } else {
            self.clear();
        }
        let key = ((radius * 100.0) as u32, (scale * 100.0) as u32);
        if key != self.key || self.discs.len() != palette.len() {
            self.key = key;
            let (r, s) = (radius * scale, scale);
            self.discs = palette
                .iter()
                .map(|c| disc(parse_hex(c), r, 1.2 * s))
                .collect();
            self.marks = vec![
                outline((0x11, 0x18, 0x27), r + 3.5 * s, 2.0 * s, false),
                outline((0xb9, 0x1c, 0x1c), r + 3.5 * s, 2.0 * s, true),
                outline((0x11, 0x18, 0x27), r + 7.0 * s, 3.0 * s, false),
            ];
        }
        for sp in self.discs.iter_mut().chain(self.marks.iter_mut()) {
            sp.index_for(width);
        }
    }

    fn clear(&mut self) {
        let (a, b) = self.dirty;
        if b > a {
            let w = self.width as usize;
            self.pixels[a as usize * w..b as usize * w].fill(0);
        }
        self.dirty = (0, 0);
    }

    /// The rows drawn since the last `prepare` (first, last + 1): what must reach the canvas.
    pub fn dirty_rows(&self) -> (u32, u32) {
        self.dirty
    }

    /// Stamps `sprite` centred on device pixel (`cx`, `cy`), blending source-over. The sprite
    /// must have been indexed for this width (`prepare` does it for the raster's own sprites).
    pub fn stamp(&mut self, sprite: &Sprite, cx: i32, cy: i32) {
        let (w, h) = (self.width as i32, self.height as i32);
        let r = sprite.reach;
        if cx + r < 0 || cy + r < 0 || cx - r >= w || cy - r >= h {
            return;
        }
        let put = |px: &mut u32, src: u32| {
            let dst = *px;
            *px = if dst == 0 || src >> 24 == 255 {
                src
            } else {
                blend(src, dst)
            };
        };
        if cx - r >= 0 && cy - r >= 0 && cx + r < w && cy + r < h && sprite.width == self.width {
            // Wholly inside: no per-pixel clipping (the common case, and the hot loop).
            let base = (cy * w + cx) as usize;
            for (&off, p) in sprite.offsets.iter().zip(&sprite.pixels) {
                if let Some(px) = self.pixels.get_mut(base.wrapping_add_signed(off as isize)) {
                    put(px, p.2);
                }
            }
        } else {
            for &(dx, dy, src) in &sprite.pixels {
                let (x, y) = (cx + dx as i32, cy + dy as i32);
                if x < 0 || y < 0 || x >= w || y >= h {
                    continue;
                }
                put(&mut self.pixels[(y * w + x) as usize], src);
            }
        }
        let top = (cy - r).clamp(0, h) as u32;
        let bottom = (cy + r + 1).clamp(0, h) as u32;
        self.dirty = if self.dirty.1 > self.dirty.0 {
            (self.dirty.0.min(top), self.dirty.1.max(bottom))
        } else {
            (top, bottom)
        };
    }

    /// The rows `first..last` as RGBA words, for `ImageData` (JS views them as bytes).
    pub fn rows(&self, first: u32, last: u32) -> &[u32] {
        let w = self.width as usize;
        &self.pixels[first as usize * w..last as usize * w]
    }
}

/// Source-over of two non-premultiplied RGBA words.
pub fn blend(src: u32, dst: u32) -> u32 {
    let sa = (src >> 24) as f32 / 255.0;
    let da = (dst >> 24) as f32 / 255.0;
    let oa = sa + da * (1.0 - sa);
    if oa <= 0.0 {
        return 0;
    }
    let ch = |shift: u32| {
        let s = ((src >> shift) & 255) as f32;
        let d = ((dst >> shift) & 255) as f32;
        (s * sa + d * da * (1.0 - sa)) / oa
    };
    word(ch(0), ch(8), ch(16), oa)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(r: &Raster, x: u32, y: u32) -> u32 {
        r.pixels[(y * r.width + x) as usize]
    }

    #[test]
    fn a_disc_is_opaque_colour_inside_white_at_the_rim_and_clear_outside() {
        let s = disc((0, 0x72, 0xb2), 5.0, 1.2);
        let px = |x: i16, y: i16| s.pixels.iter().find(|p| p.0 == x && p.1 == y).map(|p| p.2);
        assert_eq!(px(0, 0), Some(word(0.0, 114.0, 178.0, 1.0)));
        let rim = px(5, 0).expect("the rim is drawn");
        assert!((rim & 255) > 200, "the rim is white-ish: {rim:08x}");
        assert_eq!(px(7, 0), None, "nothing beyond the rim");
    }

    #[test]
    fn stamping_clips_at_the_edges_and_tracks_dirty_rows() {
        let mut r = Raster::default();
        r.prepare(40, 30, 5.0, 1.0, &["#ff0000"]);
        let d = r.discs[0].clone();
        r.stamp(&d, 0, 0);
        r.stamp(&d, 39, 29);
        r.stamp(&d, -100, -100);
        assert_eq!(at(&r, 0, 0) >> 24, 255);
        assert_eq!(at(&r, 39, 29) & 255, 255);
        assert_eq!(at(&r, 20, 15), 0);
        assert_eq!(r.dirty_rows(), (0, 30));
        r.prepare(40, 30, 5.0, 1.0, &["#ff0000"]);
        assert!(
            r.pixels.iter().all(|&p| p == 0),
            "prepare clears what was drawn"
        );
        assert_eq!(r.dirty_rows(), (0, 0));
        r.stamp(&d, 20, 15);
        let (a, b) = r.dirty_rows();
        assert!(a <= 9 && b >= 22 && a > 0 && b < 30, "({a}, {b})");
    }

    #[test]
    fn blending_over_an_opaque_pixel_keeps_it_opaque_and_mixes_colour() {
        let red = word(255.0, 0.0, 0.0, 1.0);
        let half_blue = word(0.0, 0.0, 255.0, 0.5);
        let out = blend(half_blue, red);
        assert_eq!(out >> 24, 255);
        assert!((out & 255).abs_diff(127) <= 1 && ((out >> 16) & 255).abs_diff(128) <= 1);
    }

    #[test]
    fn hex_colours_parse_and_junk_is_grey() {
        assert_eq!(parse_hex("#0072B2"), (0, 0x72, 0xb2));
        assert_eq!(parse_hex("nope"), (128, 128, 128));
    }
}
