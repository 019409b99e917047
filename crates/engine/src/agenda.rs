//! The future-event list: a min-heap ordered by (time, insertion seq), so events at the same
//! millisecond run in the order they were scheduled and every run is reproducible.
//! It owns ordering only; what an entry means is `world::Action`'s business.
//!
//! Actions scheduled for the time of the last pop (a poll right after a batch, a broker
//! wake-up now) skip the heap: they queue in a FIFO lane. Every lane entry has the same time
//! and a larger seq than the one before, so the lane is sorted, and a pop takes the smaller
//! of the lane's front and the heap's top: the order is exactly (time, seq).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::ids::Millis;

#[derive(Clone, Copy, Debug)]
struct Entry<A> {
    t: Millis,
    seq: u64,
    action: A,
}

impl<A> PartialEq for Entry<A> {
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.seq == other.seq
    }
}
impl<A> Eq for Entry<A> {}
impl<A> PartialOrd for Entry<A> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<A> Ord for Entry<A> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest (t, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.t, other.seq).cmp(&(self.t, self.seq))
    }
}

/// Min-heap on (time, seq). `seq` is a global insertion counter: a total order with no ties.
#[derive(Clone, Debug)]
pub struct Agenda<A> {
    heap: BinaryHeap<Entry<A>>,
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
            heap: BinaryHeap::new(),
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
        } else {
            self.heap.push(entry);
        }
    }

    pub fn peek_time(&self) -> Option<Millis> {
        match (self.lane.get(self.lane_head), self.heap.peek()) {
            (Some(l), Some(h)) => Some(l.t.min(h.t)),
            (Some(l), None) => Some(l.t),
            (None, h) => h.map(|e| e.t),
        }
    }

    pub fn pop(&mut self) -> Option<(Millis, A)> {
        let from_lane = match (self.lane.get(self.lane_head), self.heap.peek()) {
            (Some(l), Some(h)) => (l.t, l.seq) < (h.t, h.seq),
            (Some(_), None) => true,
            (None, _) => false,
        };
        let e = if from_lane {
            let e = self.lane[self.lane_head];
            self.lane_head += 1;
            if self.lane_head == self.lane.len() {
                self.lane.clear();
                self.lane_head = 0;
            }
            e
        } else {
            self.heap.pop()?
        };
        self.last_t = e.t;
        Some((e.t, e.action))
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
