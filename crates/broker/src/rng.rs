//! The one seeded random number generator: xoshiro256** seeded by SplitMix64.
//!
//! Written here rather than taken from a crate so that its output can never change under us and
//! is identical on native and wasm32: only `u64` arithmetic, no `usize`, no floats in decisions.
//! Probabilities are integer parts per million ([`Chance`]), never `f64`.

use serde::{Deserialize, Serialize};

/// A probability in parts per million (0 = never, 1_000_000 = always).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Chance(pub u32);

impl Chance {
    pub const NEVER: Chance = Chance(0);
    pub const ALWAYS: Chance = Chance(1_000_000);
    pub const PPM: u32 = 1_000_000;

    /// From parts per million, clamped to 1_000_000.
    pub const fn from_ppm(ppm: u32) -> Chance {
        Chance(if ppm > Self::PPM { Self::PPM } else { ppm })
    }
}

/// Deterministic PRNG (xoshiro256**). Clone it to checkpoint; `fork` to give a subsystem its own stream.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rng {
    state: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let state = [
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
        ];
        Rng { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..bound` (Lemire's multiply-shift with rejection, so no modulo bias).
    /// `bound == 0` returns 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        loop {
            let x = self.next_u64();
            let m = (x as u128) * (bound as u128);
            let low = m as u64;
            if low >= bound.wrapping_neg() % bound {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `low..=high` (returns `low` when `high <= low`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        let span = high - low;
        if span == u64::MAX {
            return self.next_u64();
        }
        low + self.below(span + 1)
    }

    /// True with probability `chance`. Draws nothing when the chance is 0 or 1, so switching a
    /// fault off does not shift every later random number.
    pub fn chance(&mut self, chance: Chance) -> bool {
        match chance.0 {
            0 => false,
            p if p >= Chance::PPM => true,
            p => self.below(Chance::PPM as u64) < p as u64,
        }
    }

    /// A child generator with its own stream, derived from this one (TigerBeetle's per-subsystem seeds).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_outputs_never_change() {
        // If this fails, every saved scenario link and trace hash changes: don't.
        let mut rng = Rng::new(42);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(got, PINNED_SEED_42);
    }

    const PINNED_SEED_42: [u64; 3] = [
        1546998764402558742,
        6990951692964543102,
        12544586762248559009,
    ];

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(7);
        let mut seen = [0u32; 6];
        for _ in 0..6_000 {
            let v = rng.below(6);
            assert!(v < 6);
            seen[v as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "uneven: {seen:?}");
    }

    #[test]
    fn chance_extremes_draw_nothing() {
        let mut a = Rng::new(1);
        let b = a.clone();
        assert!(!a.chance(Chance::NEVER));
        assert!(a.chance(Chance::ALWAYS));
        assert_eq!(a, b);
    }

    #[test]
    fn chance_half_is_about_half() {
        let mut rng = Rng::new(3);
        let hits = (0..10_000).filter(|_| rng.chance(Chance(500_000))).count();
        assert!((4_700..5_300).contains(&hits), "hits={hits}");
    }
}
