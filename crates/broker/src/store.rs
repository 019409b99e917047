//! Dense storage for one queue's message records: a chunked slab of records, an id-ordered list
//! (lookup by id and the oldest record for retention), a min-heap of timers (delay and visibility
//! ends) and, for standard queues, a min-heap of visible ids. Heaps and the order list are cleaned
//! lazily (an entry is checked against its record when it surfaces) and compacted when stale
//! entries outnumber live ones, so memory stays proportional to the records actually stored.
//! Chosen over `BTreeMap`s because B-tree nodes filled by increasing keys are about half empty,
//! which doubled the bytes per in-flight message (measured by `tests/memory.rs`). Index entries
//! are 12 bytes (`Entry`), indexes grow by a quarter instead of doubling and give memory back
//! when mostly empty: 137 B per in-flight message became 90 B.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use crate::ids::{MessageId, MessageMeta, Payload};
use crate::time::Millis;

/// Where a message record is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum MessageState {
    /// Waiting for its DelaySeconds to pass.
    Delayed,
    /// Can be received.
    Visible,
    /// Received, not yet deleted, inside its visibility timeout.
    InFlight,
}

/// One stored message record (64 bytes): the payload is shared, the group id interned, and the
/// last receive time is an offset from the enqueue time (at most 14 days + 12 hours, < 2^32 ms).
#[derive(Clone, Debug)]
pub(crate) struct Msg {
    pub payload: Arc<Payload>,
    pub meta: MessageMeta,
    pub id: MessageId,
    /// When this record was enqueued; retention counts from here.
    pub sent_at: Millis,
    /// End of the delay (Delayed) or of the visibility timeout (InFlight).
    pub visible_at: Millis,
    received_offset_ms: u32,
    pub receive_count: u32,
    pub group: u32,
    pub state: MessageState,
}

impl Msg {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: MessageId,
        payload: Arc<Payload>,
        meta: MessageMeta,
        sent_at: Millis,
        visible_at: Millis,
        group: u32,
        state: MessageState,
    ) -> Msg {
        Msg {
            payload,
            meta,
            id,
            sent_at,
            visible_at,
            received_offset_ms: 0,
            receive_count: 0,
            group,
            state,
        }
    }

    /// Last receive (the enqueue time before the first receive).
    pub(crate) fn received_at(&self) -> Millis {
        self.sent_at.plus(self.received_offset_ms as u64)
    }

    pub(crate) fn set_received_at(&mut self, at: Millis) {
        self.received_offset_ms = u32::try_from(at.since(self.sent_at)).unwrap_or(u32::MAX);
    }
}

/// Slots live in chunks of 1024 records; the last chunk grows by a quarter at a time (at least
/// 16 records), so a queue costs little when small, a slot is found with a shift and a mask, and
/// growing never moves more than one chunk's records (or doubles them).
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

fn chunk_of(slot: u32) -> (usize, usize) {
    ((slot >> CHUNK_BITS) as usize, slot as usize & (CHUNK - 1))
}

/// See `Store::changes`.
const MAINTAIN_EVERY: u32 = 16;

/// A 12-byte index entry: a `u64` key (a message id or a time in ms) split in two `u32`s, so the
/// entry is 4-byte aligned (a `(u64, u32)` tuple pads to 16 bytes), plus the record's slot.
/// Ordered by key, then slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    hi: u32,
    lo: u32,
    slot: u32,
}

impl Entry {
    fn new(key: u64, slot: u32) -> Entry {
        Entry {
            hi: (key >> 32) as u32,
            lo: key as u32,
            slot,
        }
    }
    fn key(&self) -> u64 {
        ((self.hi as u64) << 32) | self.lo as u64
    }
    fn id(&self) -> MessageId {
        MessageId(self.key())
    }
}

/// Before a push into a full index, grow it by a quarter instead of letting it double: a
/// doubled vector is on average a third empty, which cost more than the entries themselves
/// (measured by `tests/memory.rs`). Still geometric, so pushes stay amortised O(1).
macro_rules! grow_gently {
    ($c:expr) => {
        if $c.len() == $c.capacity() {
            let extra = ($c.len() / 4).max(16);
            $c.reserve_exact(extra);
        }
    };
}

/// Gives memory back when an index holds less than a quarter of its capacity (a drained ready
/// heap, a queue that emptied), keeping room for twice what it holds so it does not thrash.
macro_rules! shrink_idle {
    ($c:expr) => {
        if $c.capacity() > 4 * $c.len() + 256 {
            $c.shrink_to(2 * $c.len() + 64);
        }
    };
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Store {
    chunks: Vec<Vec<Option<Msg>>>,
    free: Vec<u32>,
    n_slots: u32,
    live: u64,
    /// Every record by increasing id (plus stale entries of removed records).
    order: VecDeque<Entry>,
    /// Delayed and in-flight records by the time they turn visible (plus stale entries).
    timers: BinaryHeap<Reverse<Entry>>,
    /// Delayed + in-flight records (not heap entries).
    n_timed: u64,
    /// Standard queues: visible records by id (plus stale entries).
    ready: BinaryHeap<Reverse<Entry>>,
    /// Visible records (not heap entries; a record taken by `pop_ready` is briefly missing from the heap).
    n_ready: u64,
    use_ready: bool,
    /// Whether the first entry of `timers`, `ready` and `order` is known to be valid (or the
    /// index empty): set by `tidy`, cleared by the pops that can uncover a stale entry. Only a
    /// change to the record in a valid first entry's slot can make it stale, so `tidy` after a
    /// change to another slot skips the check.
    timers_clean: bool,
    ready_clean: bool,
    order_clean: bool,
    /// Changes since the last `maintain`: compaction and shrinking are checked every
    /// `MAINTAIN_EVERY` changes (their timing only moves memory, never an answer).
    changes: u32,
}

impl Store {
    pub(crate) fn new(use_ready: bool) -> Store {
        Store {
            use_ready,
            ..Store::default()
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.live
    }

    fn slot(&self, slot: u32) -> Option<&Msg> {
        let (k, i) = chunk_of(slot);
        self.chunks.get(k)?.get(i)?.as_ref()
    }

    fn slot_mut(&mut self, slot: u32) -> Option<&mut Option<Msg>> {
        let (k, i) = chunk_of(slot);
        self.chunks.get_mut(k)?.get_mut(i)
    }

    fn order_valid(&self, e: &Entry) -> bool {
        self.slot(e.slot).is_some_and(|m| m.id == e.id())
    }

    fn timer_valid(&self, at: Millis, slot: u32) -> bool {
        self.slot(slot)
            .is_some_and(|m| m.state != MessageState::Visible && m.visible_at == at)
    }

    fn ready_valid(&self, id: MessageId, slot: u32) -> bool {
        self.slot(slot)
            .is_some_and(|m| m.id == id && m.state == MessageState::Visible)
    }

    /// The slot holding record `id`, by search of the id-ordered list.
    pub(crate) fn slot_of(&self, id: MessageId) -> Option<u32> {
        let pos = self.order_position(id);
        let e = self.order.get(pos)?;
        (e.id() == id && self.order_valid(e)).then_some(e.slot)
    }

    /// `slot_of(id)`, trying `hint` first (a slot the record was seen in, e.g. a receipt
    /// handle's): a record stays in its slot until removed and ids are unique in a store, so a
    /// slot holding `id` is the answer; anything else falls back to the search.
    #[inline]
    pub(crate) fn slot_hinted(&self, id: MessageId, hint: u32) -> Option<u32> {
        if self.slot(hint).is_some_and(|m| m.id == id) {
            return Some(hint);
        }
        self.slot_of(id)
    }

    /// `order.partition_point(|e| e.id() < id)`, from a guess by interpolation (ids spread
    /// fairly evenly over the list) and a galloping search out of it: a few probes instead of
    /// log2(len) when the guess is close, never more than about twice as many when it is not.
    fn order_position(&self, id: MessageId) -> usize {
        let order = &self.order;
        let key = id.0;
        let (Some(first), Some(last)) = (order.front(), order.back()) else {
            return 0;
        };
        let (first, last) = (first.key(), last.key());
        if key <= first {
            return 0;
        }
        let n = order.len();
        if key > last {
            return n;
        }
        // Here first < key <= last: n >= 2, and the guess is at most n - 1.
        let Some(scaled) = (key - first).checked_mul(n as u64 - 1) else {
            return order.partition_point(|e| e.key() < key);
        };
        let guess = (scaled / (last - first)) as usize;
        // Keep order[lo] < key <= order[hi].
        let (mut lo, mut hi);
        let mut step = 1;
        if order[guess].key() < key {
            lo = guess;
            loop {
                let probe = lo + step;
                if probe >= n - 1 {
                    hi = n - 1;
                    break;
                }
                if order[probe].key() >= key {
                    hi = probe;
                    break;
                }
                lo = probe;
                step *= 2;
            }
        } else {
            hi = guess;
            loop {
                if hi <= step {
                    lo = 0;
                    break;
                }
                let probe = hi - step;
                if order[probe].key() < key {
                    lo = probe;
                    break;
                }
                hi = probe;
                step *= 2;
            }
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if order[mid].key() < key {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    pub(crate) fn get(&self, id: MessageId) -> Option<&Msg> {
        self.slot_of(id).and_then(|s| self.slot(s))
    }

    /// The record in `slot` (lanes keep slots).
    pub(crate) fn at_slot(&self, slot: u32) -> Option<&Msg> {
        self.slot(slot)
    }

    fn push_index(&mut self, slot: u32, id: MessageId, state: MessageState, visible_at: Millis) {
        match state {
            MessageState::Visible => {
                if self.use_ready {
                    grow_gently!(self.ready);
                    self.ready.push(Reverse(Entry::new(id.0, slot)));
                    self.n_ready += 1;
                }
            }
            MessageState::Delayed | MessageState::InFlight => {
                grow_gently!(self.timers);
                self.timers.push(Reverse(Entry::new(visible_at.0, slot)));
                self.n_timed += 1;
            }
        }
    }

    fn drop_index(&mut self, state: MessageState) {
        match state {
            MessageState::Visible => {
                if self.use_ready {
                    self.n_ready -= 1;
                }
            }
            MessageState::Delayed | MessageState::InFlight => self.n_timed -= 1,
        }
    }

    /// Stores a record; returns its slot. Ids are normally the largest so far (appended); a
    /// record moved from another queue may keep an older id and is placed in order.
    pub(crate) fn insert(&mut self, msg: Msg) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = self.n_slots;
                let (k, _) = chunk_of(slot);
                if k == self.chunks.len() {
                    self.chunks.push(Vec::new());
                }
                let chunk = &mut self.chunks[k];
                if chunk.len() == chunk.capacity() {
                    let extra = (chunk.len() / 4).max(16).min(CHUNK - chunk.len());
                    chunk.reserve_exact(extra);
                }
                chunk.push(None);
                self.n_slots += 1;
                slot
            }
        };
        let (id, state, visible_at) = (msg.id, msg.state, msg.visible_at);
        *self.slot_mut(slot).expect("slot allocated") = Some(msg);
        let entry = Entry::new(id.0, slot);
        grow_gently!(self.order);
        if self.order.back().is_none_or(|last| last.id() < id) {
            self.order.push_back(entry);
        } else {
            let pos = self.order.partition_point(|e| e.id() < id);
            self.order.insert(pos, entry);
        }
        self.push_index(slot, id, state, visible_at);
        self.live += 1;
        slot
    }

    /// Removes the record in `slot` (a slot from `slot_of` or a lane).
    pub(crate) fn remove_at(&mut self, slot: u32) -> Option<Msg> {
        let msg = self.slot_mut(slot)?.take()?;
        grow_gently!(self.free);
        self.free.push(slot);
        self.drop_index(msg.state);
        self.live -= 1;
        self.tidy(slot);
        Some(msg)
    }

    /// Moves the record in `slot` (a slot from `slot_of`, a lane or a heap) to `state` (until
    /// `visible_at` for Delayed/InFlight); returns its previous state.
    pub(crate) fn set_state_at(
        &mut self,
        slot: u32,
        state: MessageState,
        visible_at: Millis,
    ) -> Option<MessageState> {
        let m = self.slot_mut(slot)?.as_mut()?;
        let (id, old) = (m.id, m.state);
        m.state = state;
        m.visible_at = visible_at;
        self.drop_index(old);
        self.push_index(slot, id, state, visible_at);
        self.tidy(slot);
        Some(old)
    }

    /// The record in `slot`, to change fields that no index depends on (receive count, last
    /// receive time).
    pub(crate) fn at_slot_mut(&mut self, slot: u32) -> Option<&mut Msg> {
        self.slot_mut(slot).and_then(|m| m.as_mut())
    }

    /// Drops stale entries at the front of the heaps and the order list, and now and then
    /// compacts a structure whose stale entries outnumber its live ones. `changed`: the slot
    /// whose record just changed or went (the only way a known-valid first entry can turn stale).
    fn tidy(&mut self, changed: u32) {
        let dirty = |clean: bool, first: Option<u32>| !clean || first == Some(changed);
        if dirty(self.timers_clean, self.timers.peek().map(|r| r.0.slot)) {
            while let Some(&Reverse(e)) = self.timers.peek() {
                if self.timer_valid(Millis(e.key()), e.slot) {
                    break;
                }
                self.timers.pop();
            }
            self.timers_clean = true;
        }
        if dirty(self.ready_clean, self.ready.peek().map(|r| r.0.slot)) {
            while let Some(&Reverse(e)) = self.ready.peek() {
                if self.ready_valid(e.id(), e.slot) {
                    break;
                }
                self.ready.pop();
            }
            self.ready_clean = true;
        }
        if dirty(self.order_clean, self.order.front().map(|e| e.slot)) {
            while let Some(e) = self.order.front() {
                if self.order_valid(e) {
                    break;
                }
                self.order.pop_front();
            }
            self.order_clean = true;
        }
        self.changes += 1;
        if self.changes >= MAINTAIN_EVERY {
            self.changes = 0;
            self.maintain();
        }
    }

    /// Compacts an index whose stale entries outnumber its live ones, and gives memory back.
    #[inline(never)]
    fn maintain(&mut self) {
        if self.timers.len() as u64 > 2 * self.n_timed + 64 {
            let timers = std::mem::take(&mut self.timers);
            self.timers = timers
                .into_iter()
                .filter(|Reverse(e)| self.timer_valid(Millis(e.key()), e.slot))
                .collect();
            self.timers_clean = true;
        }
        if self.ready.len() as u64 > 2 * self.n_ready + 64 {
            let ready = std::mem::take(&mut self.ready);
            self.ready = ready
                .into_iter()
                .filter(|Reverse(e)| self.ready_valid(e.id(), e.slot))
                .collect();
            self.ready_clean = true;
        }
        if self.order.len() as u64 > 2 * self.live + 64 {
            let order = std::mem::take(&mut self.order);
            self.order = order.into_iter().filter(|e| self.order_valid(e)).collect();
            self.order_clean = true;
        }
        shrink_idle!(self.timers);
        shrink_idle!(self.ready);
        shrink_idle!(self.order);
        shrink_idle!(self.free);
    }

    /// The earliest delay or visibility end.
    pub(crate) fn next_timer(&self) -> Option<Millis> {
        self.timers.peek().map(|Reverse(e)| Millis(e.key()))
    }

    /// Takes the next record whose delay or visibility ends at or before `now` (id and slot).
    pub(crate) fn pop_due(&mut self, now: Millis) -> Option<(MessageId, u32)> {
        while let Some(&Reverse(e)) = self.timers.peek() {
            let (at, slot) = (Millis(e.key()), e.slot);
            if at > now {
                return None;
            }
            self.timers.pop();
            self.timers_clean = false;
            if let Some(m) = self.slot(slot).filter(|_| self.timer_valid(at, slot)) {
                return Some((m.id, slot));
            }
        }
        None
    }

    /// Standard queues: takes the oldest visible record's id and slot off the ready heap (the
    /// caller then receives it, dead-letters it, or `unpop`s it).
    pub(crate) fn pop_ready(&mut self) -> Option<(MessageId, u32)> {
        self.ready_clean = false;
        while let Some(Reverse(e)) = self.ready.pop() {
            if self.ready_valid(e.id(), e.slot) {
                return Some((e.id(), e.slot));
            }
        }
        None
    }

    /// Puts back a record taken by `pop_ready` that was not handed out.
    pub(crate) fn unpop(&mut self, (id, slot): (MessageId, u32)) {
        grow_gently!(self.ready);
        self.ready.push(Reverse(Entry::new(id.0, slot)));
    }

    /// Standard queues: is anything visible?
    pub(crate) fn has_ready(&self) -> bool {
        self.n_ready > 0
    }

    /// The oldest record (smallest id).
    #[inline]
    pub(crate) fn oldest(&self) -> Option<&Msg> {
        // `tidy` keeps the front valid after removals, so the scan is rarely needed.
        let front = self.order.front()?;
        match self.slot(front.slot) {
            Some(m) if m.id == front.id() => Some(m),
            _ => self.oldest_by_scan(),
        }
    }

    #[cold]
    fn oldest_by_scan(&self) -> Option<&Msg> {
        self.order
            .iter()
            .find(|e| self.order_valid(e))
            .and_then(|e| self.slot(e.slot))
    }

    /// Every record in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Msg> + '_ {
        self.order
            .iter()
            .filter(|e| self.order_valid(e))
            .filter_map(|e| self.slot(e.slot))
    }

    pub(crate) fn clear(&mut self) {
        *self = Store::new(self.use_ready);
    }

    /// Index consistency: every record once in the order list, in id order with non-decreasing
    /// enqueue times (retention relies on it), and an index entry for its state.
    pub(crate) fn check(&self) -> Result<(), String> {
        let stale_first = (self.timers_clean
            && self
                .timers
                .peek()
                .is_some_and(|Reverse(e)| !self.timer_valid(Millis(e.key()), e.slot)))
            || (self.ready_clean
                && self
                    .ready
                    .peek()
                    .is_some_and(|Reverse(e)| !self.ready_valid(e.id(), e.slot)))
            || (self.order_clean && self.order.front().is_some_and(|e| !self.order_valid(e)));
        if stale_first {
            return Err("an index marked clean starts with a stale entry".into());
        }
        let in_order: Vec<&Entry> = self.order.iter().filter(|e| self.order_valid(e)).collect();
        if in_order.len() as u64 != self.live {
            return Err(format!(
                "{} records but {} in the order list",
                self.live,
                in_order.len()
            ));
        }
        let mut previous: Option<&Msg> = None;
        for e in &in_order {
            let m = self.slot(e.slot).expect("valid entry");
            if let Some(p) = previous {
                if p.id >= m.id || p.sent_at > m.sent_at {
                    return Err(format!("order list out of order at {} / {}", p.id, m.id));
                }
            }
            previous = Some(m);
        }
        let timed = in_order
            .iter()
            .filter(|e| {
                self.slot(e.slot)
                    .is_some_and(|m| m.state != MessageState::Visible)
            })
            .count() as u64;
        if timed != self.n_timed {
            return Err(format!(
                "{timed} delayed/in-flight records but n_timed {}",
                self.n_timed
            ));
        }
        for e in &in_order {
            let m = self.slot(e.slot).expect("valid entry");
            let indexed = match m.state {
                MessageState::Visible => {
                    !self.use_ready
                        || self
                            .ready
                            .iter()
                            .any(|Reverse(r)| r.id() == m.id && r.slot == e.slot)
                }
                _ => self
                    .timers
                    .iter()
                    .any(|Reverse(t)| Millis(t.key()) == m.visible_at && t.slot == e.slot),
            };
            if !indexed {
                return Err(format!("{} ({:?}) has no index entry", m.id, m.state));
            }
        }
        Ok(())
    }

    /// Bookkeeping bytes per stored record (excluding payload): record slot, order entry, and a
    /// timer or ready entry.
    pub(crate) fn bytes_per_record() -> u64 {
        (std::mem::size_of::<Option<Msg>>()
            + std::mem::size_of::<Entry>()
            + std::mem::size_of::<Reverse<Entry>>()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_slots_without_gaps() {
        let mut store = Store::new(true);
        for n in 0..3_000u64 {
            let msg = Msg::new(
                MessageId(n + 1),
                Arc::new(Payload::default()),
                MessageMeta::default(),
                Millis(0),
                Millis(0),
                0,
                MessageState::Visible,
            );
            assert_eq!(store.insert(msg), n as u32);
        }
        for slot in 0..3_000u32 {
            assert_eq!(
                store.at_slot(slot).map(|m| m.id),
                Some(MessageId(slot as u64 + 1))
            );
        }
        assert!(store
            .chunks
            .iter()
            .rev()
            .skip(1)
            .all(|c| c.len() == CHUNK && c.capacity() == CHUNK));
        assert!(store.at_slot(3_000).is_none());
    }

    /// The interpolating search finds what a binary search finds, on uneven id spreads with
    /// stale entries left by removals.
    #[test]
    fn order_position_is_the_partition_point() {
        let mut store = Store::new(true);
        let mut rng = crate::rng::Rng::new(5);
        let mut id = 0u64;
        let mut slots = Vec::new();
        for round in 0..4_000u64 {
            id += 1 + rng.below(if round % 500 < 250 { 3 } else { 400 });
            let msg = Msg::new(
                MessageId(id),
                Arc::new(Payload::default()),
                MessageMeta::default(),
                Millis(0),
                Millis(0),
                0,
                MessageState::Visible,
            );
            slots.push((id, store.insert(msg)));
            if rng.below(3) == 0 && !slots.is_empty() {
                let (_, slot) = slots.swap_remove(rng.below(slots.len() as u64) as usize);
                store.remove_at(slot);
            }
            for probe in [
                0,
                1,
                id / 2,
                id.saturating_sub(rng.below(2_000)),
                id,
                id + 1,
            ] {
                let key = MessageId(probe);
                assert_eq!(
                    store.order_position(key),
                    store.order.partition_point(|e| e.id() < key),
                    "id {probe}"
                );
            }
        }
        for &(id, slot) in &slots {
            let id = MessageId(id);
            assert_eq!(store.slot_of(id), Some(slot));
            assert_eq!(store.slot_hinted(id, slot), Some(slot));
            assert_eq!(store.slot_hinted(id, u32::MAX), Some(slot));
            for &(_, other) in slots.iter().take(8) {
                assert_eq!(store.slot_hinted(id, other), Some(slot));
            }
        }
        // Removed records: no hint finds them.
        for (id, slot) in slots.drain(..8) {
            store.remove_at(slot);
            assert_eq!(store.slot_hinted(MessageId(id), slot), None);
        }
    }

    #[test]
    fn record_is_64_bytes() {
        assert_eq!(std::mem::size_of::<Option<Msg>>(), 64);
        assert_eq!(std::mem::size_of::<Entry>(), 12);
        assert_eq!(std::mem::size_of::<Reverse<Entry>>(), 12);
    }
}
