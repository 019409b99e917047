//! The 5-minute deduplication memory of FIFO queues and FIFO topics: which deduplication ids
//! were accepted recently, the message (or publish) each one named, and when its window started.
//!
//! Compact on purpose (issue 5's memory budget): an id is remembered as a 128-bit hash of
//! (scope, id) instead of its text. The acceptances sit in a ring in time order (expired from
//! the front), and a flat open-addressing table (linear probing on the hash, never iterated, so
//! deterministic) maps a key to its latest acceptance by sequence number. About 45 bytes per
//! remembered id, against about 75 with an ordered map of keys and about 150 with the text as
//! `Arc<str>` keys (measured by `tests/memory.rs`); both parts are flat, so a checkpoint clone
//! is two copies of memory instead of a tree walk.
//!
//! Exactness: two different ids are confused only if their 128-bit hashes collide, a chance of
//! about n²/2^129 for n ids in one window (below 10^-26 for a million ids): the same kind of bet
//! SQS makes itself when it deduplicates content by its SHA-256.

use std::collections::VecDeque;

use crate::config::limits;
use crate::time::Millis;

/// The identity of a deduplication id within its scope.
pub(crate) type DedupKey = (u64, u64);

/// One accepted id, in acceptance order (32 bytes).
#[derive(Clone, Copy, Debug)]
struct Accepted {
    at: Millis,
    key: DedupKey,
    /// The original message or publish id.
    original: u64,
}

/// An empty table slot.
const EMPTY: u64 = 0;

#[derive(Clone, Debug, Default)]
pub(crate) struct DedupIndex {
    /// Acceptances in time order (times never decrease); `ring[i]` has sequence number
    /// `base + i`. An entry whose key was accepted again later is stale: the table names the
    /// newer one, and the old one is skipped when it reaches the front.
    ring: VecDeque<Accepted>,
    /// Sequence number of `ring[0]`.
    base: u64,
    /// Open addressing by `key.0`: sequence number + 1 of the key's latest acceptance, or
    /// `EMPTY`. A power of two long (or empty), at most half full.
    table: Vec<u64>,
    /// Occupied table slots (= distinct keys remembered).
    n_keys: usize,
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

    fn mask(&self) -> usize {
        self.table.len().wrapping_sub(1)
    }

    fn home(&self, key: DedupKey) -> usize {
        key.0 as usize & self.mask()
    }

    /// The acceptance a table slot names.
    fn accepted(&self, slot_value: u64) -> &Accepted {
        &self.ring[(slot_value - 1 - self.base) as usize]
    }

    /// The table slot holding `key`, if remembered.
    fn find_slot(&self, key: DedupKey) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = self.home(key);
        loop {
            let v = self.table[i];
            if v == EMPTY {
                return None;
            }
            if self.accepted(v).key == key {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Empties table slot `i`, shifting later entries of its probe run back (no tombstones).
    fn remove_slot(&mut self, mut i: usize) {
        let mask = self.mask();
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let v = self.table[j];
            if v == EMPTY {
                break;
            }
            let k = self.home(self.accepted(v).key);
            // Move the entry at j back to i unless its home lies cyclically in (i, j].
            let stays = if i <= j {
                i < k && k <= j
            } else {
                i < k || k <= j
            };
            if !stays {
                self.table[i] = v;
                i = j;
            }
        }
        self.table[i] = EMPTY;
        self.n_keys -= 1;
    }

    /// Puts `value` (naming an acceptance of `key`, which is not in the table) in an empty slot.
    fn place(&mut self, key: DedupKey, value: u64) {
        let mask = self.mask();
        let mut i = self.home(key);
        while self.table[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.table[i] = value;
        self.n_keys += 1;
    }

    /// Rebuilds the table with `len` slots (a power of two) from the ring: later acceptances
    /// of a key replace earlier ones, as `insert` does.
    fn rebuild(&mut self, len: usize) {
        self.table = vec![EMPTY; len];
        self.n_keys = 0;
        for i in 0..self.ring.len() {
            let key = self.ring[i].key;
            let value = self.base + i as u64 + 1;
            match self.find_slot(key) {
                Some(slot) => self.table[slot] = value,
                None => self.place(key, value),
            }
        }
    }

    /// Forgets ids whose window has passed (at or before `now`).
    pub(crate) fn prune(&mut self, now: Millis) {
        while let Some(&Accepted { at, key, .. }) = self.ring.front() {
            if at.plus(limits::DEDUP_WINDOW_MS) > now {
                break;
            }
            if let Some(slot) = self.find_slot(key) {
                if self.table[slot] == self.base + 1 {
                    self.remove_slot(slot);
                }
            }
            self.ring.pop_front();
            self.base += 1;
        }
        if self.ring.capacity() > 4 * self.ring.len() + 256 {
            self.ring.shrink_to(2 * self.ring.len() + 64);
        }
        if self.table.len() > 64 && self.n_keys * 8 < self.table.len() {
            self.rebuild((self.n_keys * 4).next_power_of_two().max(16));
        }
    }

    /// The original (message or publish id) and the end of its window, if `key` was accepted
    /// less than 5 minutes before `now`.
    pub(crate) fn find(&self, key: DedupKey, now: Millis) -> Option<(u64, Millis)> {
        let slot = self.find_slot(key)?;
        let a = self.accepted(self.table[slot]);
        let window_ends = a.at.plus(limits::DEDUP_WINDOW_MS);
        (now < window_ends).then_some((a.original, window_ends))
    }

    /// Starts the window of `key` at `at`, naming `original`.
    pub(crate) fn insert(&mut self, key: DedupKey, original: u64, at: Millis) {
        if self.ring.len() == self.ring.capacity() {
            // Grow by a quarter rather than double (see `store.rs`).
            let extra = (self.ring.len() / 4).max(16);
            self.ring.reserve_exact(extra);
        }
        let value = self.base + self.ring.len() as u64 + 1;
        self.ring.push_back(Accepted { at, key, original });
        if let Some(slot) = self.find_slot(key) {
            self.table[slot] = value;
            return;
        }
        if (self.n_keys + 1) * 2 > self.table.len() {
            // `rebuild` places the new acceptance too (it is in the ring already).
            self.rebuild((self.table.len() * 2).max(16));
        } else {
            self.place(key, value);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.n_keys
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

    #[test]
    fn table_agrees_with_a_model_through_growth_pruning_and_shrinking() {
        use std::collections::BTreeMap;
        let mut d = DedupIndex::default();
        let mut model: BTreeMap<DedupKey, (u64, Millis)> = BTreeMap::new();
        let mut x = 12345u64;
        for step in 0..60_000u64 {
            x = mix(x.wrapping_add(step));
            let now = Millis(step * 20);
            d.prune(now);
            // Few distinct ids, so many repeats, with and without a live window.
            let key = DedupIndex::key(0, &format!("{}", x % 20_000));
            let expected = model.get(&key).and_then(|&(o, at)| {
                let ends = at.plus(limits::DEDUP_WINDOW_MS);
                (now < ends).then_some((o, ends))
            });
            assert_eq!(d.find(key, now), expected, "step {step}");
            if expected.is_none() {
                d.insert(key, step, now);
                model.insert(key, (step, now));
            }
            if step % 1_000 == 0 {
                model.retain(|_, &mut (_, at)| at.plus(limits::DEDUP_WINDOW_MS) > now);
                assert_eq!(d.len(), model.len(), "step {step}");
            }
        }
        // Let everything expire: the table shrinks back.
        d.prune(Millis(10_000_000));
        assert_eq!(d.len(), 0);
        assert!(d.table.len() <= 64);
    }
}
