//! The future-event list: a min-heap ordered by (time, insertion seq), so events at the same
//! millisecond run in the order they were scheduled and every run is reproducible.
//! It owns ordering only; what an entry means is `world::Action`'s business.
//!
//! A 4-ary heap over a plain `Vec` of small `Copy` entries: half the depth of a binary heap,
//! the four children of a node share a cache line or two, and moving an entry is a plain copy
//! (a hole moves down or up; the moved entry is written once at the end). Keys are unique, so
//! the pop order is the same whatever the heap's shape.
//!
//! Actions scheduled for the time of the last pop (a poll right after a batch, a broker
//! wake-up now) skip the heap: they queue in a FIFO lane. Every lane entry has the same time
//! and a larger seq than the one before, so the lane is sorted, and a pop takes the smaller
//! of the lane's front and the heap's top: the order is exactly (time, seq).

use crate::ids::Millis;

#[derive(Clone, Copy, Debug)]
struct Entry<A> {
    t: Millis,
    seq: u64,
    action: A,
}

impl<A> Entry<A> {
    /// (t, seq) as one number: comparing it is one wide comparison.
    #[inline]
    fn key(&self) -> u128 {
        ((self.t.0 as u128) << 64) | self.seq as u128
    }
}

/// Children per node.
const ARITY: usize = 4;

/// Min-heap on (time, seq). `seq` is a global insertion counter: a total order with no ties.
#[derive(Clone, Debug)]
pub struct Agenda<A> {
    heap: Vec<Entry<A>>,
    /// Entries all at one time, in seq order (see the module comment); the live ones are
    /// `lane[lane_head..]` (the Vec is cleared whenever it runs empty).
    lane: Vec<Entry<A>>,
    lane_head: usize,
    /// Time of the last pop: pushes at this time go to the lane.
    last_t: Millis,
    next_seq: u64,
}

impl<A> Default for Agenda<A> {
    fn default() -> Self {
        Agenda {
            heap: Vec::new(),
            lane: Vec::new(),
            lane_head: 0,
            last_t: Millis(u64::MAX),
            next_seq: 0,
        }
    }
}

impl<A: Copy> Agenda<A> {
    pub fn push(&mut self, t: Millis, action: A) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry { t, seq, action };
        if t == self.last_t && self.lane.last().is_none_or(|e| e.t == t) {
            self.lane.push(entry);
            return;
        }
        let key = entry.key();
        let mut i = self.heap.len();
        self.heap.push(entry);
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent].key() <= key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = entry;
    }

    pub fn peek_time(&self) -> Option<Millis> {
        match (self.lane.get(self.lane_head), self.heap.first()) {
            (Some(l), Some(h)) => Some(l.t.min(h.t)),
            (Some(l), None) => Some(l.t),
            (None, h) => h.map(|e| e.t),
        }
    }

    pub fn pop(&mut self) -> Option<(Millis, A)> {
        let from_lane = match (self.lane.get(self.lane_head), self.heap.first()) {
            (Some(l), Some(h)) => l.key() < h.key(),
            (Some(_), None) => true,
            (None, _) => false,
        };
        let (t, action) = if from_lane {
            let e = self.lane[self.lane_head];
            self.lane_head += 1;
            if self.lane_head == self.lane.len() {
                self.lane.clear();
                self.lane_head = 0;
            }
            (e.t, e.action)
        } else {
            self.pop_heap()?
        };
        self.last_t = t;
        Some((t, action))
    }

    fn pop_heap(&mut self) -> Option<(Millis, A)> {
        let last = self.heap.pop()?;
        let Some(&top) = self.heap.first() else {
            return Some((last.t, last.action));
        };
        // Sift `last` down from the root: the hole moves to the smallest child while that
        // child is smaller than `last`.
        let key = last.key();
        let n = self.heap.len();
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut best = first;
            let mut best_key = self.heap[first].key();
            for c in first + 1..end {
                let k = self.heap[c].key();
                if k < best_key {
                    best = c;
                    best_key = k;
                }
            }
            if best_key >= key {
                break;
            }
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = last;
        Some((top.t, top.action))
    }

    pub fn len(&self) -> u64 {
        (self.heap.len() + self.lane.len() - self.lane_head) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_break_in_insertion_order() {
        let mut agenda = Agenda::default();
        agenda.push(Millis(5), 'b');
        agenda.push(Millis(1), 'a');
        agenda.push(Millis(5), 'c');
        agenda.push(Millis(5), 'd');
        let order: Vec<char> = std::iter::from_fn(|| agenda.pop().map(|(_, a)| a)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
    }

    /// Pops come out sorted by (time, insertion order) under any mix of pushes and pops, as a
    /// sorted reference list says.
    #[test]
    fn pops_follow_time_then_insertion_order() {
        let mut rng = crate::broker::Rng::new(5);
        let mut agenda = Agenda::default();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut seq = 0;
        let mut last = 0;
        for _ in 0..20_000 {
            if rng.below(3) < 2 {
                // Often exactly the time of the last pop (the lane), else later (the heap).
                let t = match rng.below(3) {
                    0 => last,
                    _ => rng.below(50) + reference.first().map_or(last, |r| r.0),
                };
                agenda.push(Millis(t), seq);
                reference.push((t, seq));
                reference.sort();
                seq += 1;
            } else {
                let expected = (!reference.is_empty()).then(|| reference.remove(0));
                let popped = agenda.pop().map(|(t, s)| (t.0, s));
                assert_eq!(popped, expected);
                last = popped.map_or(last, |p| p.0);
            }
            assert_eq!(
                agenda.peek_time().map(|t| t.0),
                reference.first().map(|r| r.0)
            );
        }
    }
}
