//! Virtual time: integer milliseconds since the scenario started. Never read from a wall clock.

use serde::{Deserialize, Serialize};

/// A point on the virtual clock, in milliseconds since the start of the run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl Millis {
    pub const ZERO: Millis = Millis(0);

    pub const fn from_secs(secs: u64) -> Millis {
        Millis(secs * 1_000)
    }

    pub const fn from_mins(mins: u64) -> Millis {
        Millis(mins * 60_000)
    }

    /// `self + duration`, saturating instead of overflowing (hostile scenarios use huge numbers).
    pub const fn plus(self, duration_ms: u64) -> Millis {
        Millis(self.0.saturating_add(duration_ms))
    }

    /// Milliseconds from `earlier` to `self`, or 0 if `earlier` is later.
    pub const fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::fmt::Display for Millis {
    /// `1500` prints as `1.500s`; used in explanations so learners read seconds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_seconds_with_millis() {
        assert_eq!(Millis(1500).to_string(), "1.500s");
        assert_eq!(Millis(7).to_string(), "0.007s");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Millis(u64::MAX).plus(5), Millis(u64::MAX));
        assert_eq!(Millis(3).since(Millis(10)), 0);
    }
}
