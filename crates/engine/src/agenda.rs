//! The future-event list: a binary min-heap ordered by (time, insertion seq), so events at the
//! same millisecond run in the order they were scheduled and every run is reproducible.
//! It owns ordering only; what an entry means is `world::Action`'s business.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::ids::Millis;

#[derive(Clone, Debug)]
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
    next_seq: u64,
}

impl<A> Default for Agenda<A> {
    fn default() -> Self {
        Agenda {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<A> Agenda<A> {
    pub fn push(&mut self, t: Millis, action: A) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { t, seq, action });
    }

    pub fn peek_time(&self) -> Option<Millis> {
        self.heap.peek().map(|e| e.t)
    }

    pub fn pop(&mut self) -> Option<(Millis, A)> {
        self.heap.pop().map(|e| (e.t, e.action))
    }

    pub fn len(&self) -> u64 {
        self.heap.len() as u64
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
}
