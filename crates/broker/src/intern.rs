//! String interning for message group ids: a message record stores a `u32`, events and views get
//! the shared `Arc<str>`. Indexes are handed out in first-seen order (deterministic); the lookup
//! is a flat open-addressing table over the names, never iterated.

use std::sync::Arc;

/// Group index meaning "no group" (standard queues).
pub(crate) const NO_GROUP: u32 = u32::MAX;

#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    names: Vec<Arc<str>>,
    /// Linear probing by `hash(name)`: index + 1 into `names`, 0 for an empty slot. A power of
    /// two long (or empty), at most half full.
    table: Vec<u32>,
}

/// A word-at-a-time hash of the bytes (group ids are short), finished with SplitMix64's mixer.
fn hash(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut h = 0x9e37_79b9_7f4a_7c15 ^ bytes.len() as u64;
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(0xff51_afd7_ed55_8ccd)
            .rotate_left(29);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl Interner {
    /// The index of `name`, adding it if new; `NO_GROUP` when the table is full.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        let h = hash(name);
        if !self.table.is_empty() {
            let mask = self.table.len() - 1;
            let mut i = h as usize & mask;
            loop {
                let v = self.table[i];
                if v == 0 {
                    break;
                }
                if &*self.names[(v - 1) as usize] == name {
                    return v - 1;
                }
                i = (i + 1) & mask;
            }
        }
        if self.names.len() as u64 >= crate::config::limits::MAX_GROUPS as u64 {
            return NO_GROUP;
        }
        let ix = self.names.len() as u32;
        self.names.push(Arc::from(name));
        if self.names.len() * 2 > self.table.len() {
            self.rebuild((self.table.len() * 2).max(16));
        } else {
            self.place(h, ix);
        }
        ix
    }

    fn place(&mut self, h: u64, ix: u32) {
        let mask = self.table.len() - 1;
        let mut i = h as usize & mask;
        while self.table[i] != 0 {
            i = (i + 1) & mask;
        }
        self.table[i] = ix + 1;
    }

    fn rebuild(&mut self, len: usize) {
        self.table = vec![0; len];
        for ix in 0..self.names.len() {
            let h = hash(&self.names[ix]);
            self.place(h, ix as u32);
        }
    }

    pub(crate) fn name(&self, ix: u32) -> Option<Arc<str>> {
        self.names.get(ix as usize).cloned()
    }

    pub(crate) fn len(&self) -> u32 {
        self.names.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_follow_first_sight_and_survive_growth() {
        let mut interner = Interner::default();
        for i in 0..5_000u32 {
            assert_eq!(interner.intern(&format!("g{i}")), i);
        }
        for i in (0..5_000u32).rev() {
            assert_eq!(interner.intern(&format!("g{i}")), i);
            assert_eq!(interner.name(i).as_deref(), Some(format!("g{i}").as_str()));
        }
        assert_eq!(interner.intern(""), 5_000);
        assert_eq!(interner.intern(""), 5_000);
        assert_eq!(interner.len(), 5_001);
    }
}
