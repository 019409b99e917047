//! The 5-minute deduplication memory of FIFO queues and FIFO topics: which deduplication ids
//! were accepted recently, the message (or publish) each one named, and when its window started.
//!
//! Compact on purpose (issue 5's memory budget): an id is remembered as a 128-bit hash of
//! (scope, id) instead of its text, in an ordered map (deterministic, no `HashMap`) plus a ring
//! in acceptance order that expires entries from the front. About 70 bytes per remembered id,
//! against about 150 with the text as `Arc<str>` keys in a map and a second ring of `Arc`s
//! (measured by `tests/memory.rs`).
//!
//! Exactness: two different ids are confused only if their 128-bit hashes collide, a chance of
//! about n²/2^129 for n ids in one window (below 10^-26 for a million ids): the same kind of bet
//! SQS makes itself when it deduplicates content by its SHA-256.

use std::collections::{BTreeMap, VecDeque};

use crate::config::limits;
use crate::time::Millis;

/// The identity of a deduplication id within its scope.
pub(crate) type DedupKey = (u64, u64);

/// One accepted id, in acceptance order (24 bytes).
#[derive(Clone, Copy, Debug)]
struct Accepted {
    at: Millis,
    key: DedupKey,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct DedupIndex {
    /// Key → (original message or publish id, start of its window).
    map: BTreeMap<DedupKey, (u64, Millis)>,
    /// Acceptances in time order (times never decrease). An entry whose key was accepted again
    /// after its window ended is stale and skipped when it reaches the front.
    ring: VecDeque<Accepted>,
}

/// 64-bit finaliser of SplitMix64: every input bit affects every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl DedupIndex {
    /// The key of deduplication id `id` in scope `scope` (a message group under
    /// DeduplicationScope=messageGroup, otherwise one constant). Two independent 64-bit lanes
    /// over the bytes in 8-byte words; the length is mixed in so padding cannot collide.
    pub(crate) fn key(scope: u32, id: &str) -> DedupKey {
        let bytes = id.as_bytes();
        let mut a = mix(0x9e37_79b9_7f4a_7c15 ^ scope as u64);
        let mut b = mix(0xc2b2_ae3d_27d4_eb4f ^ ((scope as u64) << 32) ^ bytes.len() as u64);
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            a = mix(a ^ w).rotate_left(23);
            b = mix(b.wrapping_add(w).wrapping_mul(0xff51_afd7_ed55_8ccd)).rotate_left(41);
        }
        (mix(a ^ bytes.len() as u64), mix(b ^ 0x2545_f491_4f6c_dd1d))
    }

    /// Forgets ids whose window has passed (at or before `now`).
    pub(crate) fn prune(&mut self, now: Millis) {
        while let Some(&Accepted { at, key }) = self.ring.front() {
            if at.plus(limits::DEDUP_WINDOW_MS) > now {
                break;
            }
            self.ring.pop_front();
            if self.map.get(&key).is_some_and(|&(_, first)| first == at) {
                self.map.remove(&key);
            }
        }
        if self.ring.capacity() > 4 * self.ring.len() + 256 {
            self.ring.shrink_to(2 * self.ring.len() + 64);
        }
    }

    /// The original (message or publish id) and the end of its window, if `key` was accepted
    /// less than 5 minutes before `now`.
    pub(crate) fn find(&self, key: DedupKey, now: Millis) -> Option<(u64, Millis)> {
        let &(original, first) = self.map.get(&key)?;
        let window_ends = first.plus(limits::DEDUP_WINDOW_MS);
        (now < window_ends).then_some((original, window_ends))
    }

    /// Starts the window of `key` at `at`, naming `original`.
    pub(crate) fn insert(&mut self, key: DedupKey, original: u64, at: Millis) {
        self.map.insert(key, (original, at));
        if self.ring.len() == self.ring.capacity() {
            // Grow by a quarter rather than double (see `store.rs`).
            let extra = (self.ring.len() / 4).max(16);
            self.ring.reserve_exact(extra);
        }
        self.ring.push_back(Accepted { at, key });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_scope_length_and_content() {
        let k = DedupIndex::key;
        assert_ne!(k(1, "a"), k(2, "a"));
        assert_ne!(k(1, "a"), k(1, "a\0"));
        assert_ne!(k(1, ""), k(1, "\0"));
        assert_ne!(k(1, "12345678"), k(1, "12345679"));
        assert_eq!(k(7, "order-1"), k(7, "order-1"));
        // No collisions among many similar ids (a smoke test, not a proof).
        let mut keys: Vec<DedupKey> = (0..50_000).map(|i| k(0, &format!("{i}"))).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 50_000);
    }

    #[test]
    fn window_starts_at_first_acceptance_and_expires_after_five_minutes() {
        let mut d = DedupIndex::default();
        let key = DedupIndex::key(0, "x");
        d.insert(key, 7, Millis(1_000));
        assert_eq!(d.find(key, Millis(300_999)), Some((7, Millis(301_000))));
        assert_eq!(d.find(key, Millis(301_000)), None);
        d.prune(Millis(301_000));
        assert_eq!(d.len(), 0);
        // Accepted again later: the old ring entry must not remove the new window.
        d.insert(key, 9, Millis(400_000));
        d.prune(Millis(400_000));
        assert_eq!(d.find(key, Millis(400_001)), Some((9, Millis(700_000))));
    }
}
