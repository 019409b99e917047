//! The event log: every event of a run, packed as one small record per event in a byte arena
//! and unpacked on demand. A run's log is the largest thing the engine keeps (one record per
//! event, millions per minute of a busy world), and writing 96-byte `Event`s to fresh memory cost
//! about half of a run's time; packed, a record takes ~12–25 bytes plus a 4-byte offset.
//!
//! Record: `t` (ms), a tag byte, then the variant's fields (numbers below 0xF0 in one byte, larger
//! ones as a length byte and little-endian bytes; strings as length and UTF-8 bytes). Rare variants with rich payloads (faults, scripted calls,
//! endpoint deliveries...) are kept whole in a side table and the record holds their index.
//! Unpacking gives back an equal `Event`, except that long-poll messages come back without
//! their payload (`Sim` drops payloads before logging: they are not part of the trace).

use std::sync::Arc;

use crate::broker::{
    BrokerEvent, DeleteNoop, ErrorCode, MessageId, MessageMeta, Millis, Payload, PollId, PublishId,
    QueueId, ReceiptHandle, ReceivedMessage, SubscriptionId, TopicId,
};
use crate::event::{Event, EventKind, Failure, LossCause, WorkOutcome};
use crate::ids::{LinkId, ServiceId};
use crate::spec::Node;

/// `kind` as the log gives it back: long-poll messages without their payloads.
#[cfg(debug_assertions)]
pub(crate) fn without_payloads(mut kind: EventKind, empty: &Arc<Payload>) -> EventKind {
    if let EventKind::Broker {
        event: BrokerEvent::PollCompleted { messages, .. },
    } = &mut kind
    {
        for m in messages.iter_mut() {
            m.payload = empty.clone();
        }
    }
    kind
}

/// Events per block of offsets: offsets are u32 within a block, so a log may exceed 4 GiB.
const BLOCK: usize = 1 << 16;
/// The tag of a record whose event lives in the side table.
const SIDE: u8 = 0xff;

#[derive(Clone, Debug)]
pub(crate) struct Log {
    bytes: Vec<u8>,
    /// Start of each record, relative to its block's base.
    starts: Vec<u32>,
    /// Byte offset where each block of `BLOCK` records starts.
    bases: Vec<u64>,
    /// Events kept whole, with the index of the event that holds each.
    side: Vec<(u64, EventKind)>,
    /// The empty payload unpacked messages get.
    empty: Arc<Payload>,
    scratch: Box<[u8; MAX_RECORD]>,
}

impl Default for Log {
    fn default() -> Log {
        Log {
            bytes: Vec::new(),
            starts: Vec::new(),
            bases: Vec::new(),
            side: Vec::new(),
            empty: Arc::default(),
            scratch: Box::new([0; MAX_RECORD]),
        }
    }
}

impl Log {
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Bytes held (arena, offsets, side table entries), for benchmarks.
    pub fn approx_bytes(&self) -> u64 {
        (self.bytes.capacity() + self.starts.capacity() * 4 + self.bases.capacity() * 8) as u64
            + (self.side.capacity() * std::mem::size_of::<(u64, EventKind)>()) as u64
    }

    /// Appends `kind` (packed; a rare rich variant is cloned into the side table).
    pub fn push(&mut self, t: Millis, kind: &EventKind) {
        #[cfg(debug_assertions)]
        let expected = without_payloads(kind.clone(), &self.empty);
        let i = self.starts.len();
        if i % BLOCK == 0 {
            self.bases.push(self.bytes.len() as u64);
        }
        let base = self.bases[i / BLOCK];
        self.starts.push((self.bytes.len() as u64 - base) as u32);
        let mut w = Writer {
            buf: &mut self.scratch,
            n: 0,
        };
        w.u64(t.0);
        let record_start = w.n;
        if !pack(kind, &mut w) || w.n > MAX_RECORD {
            w.n = record_start;
            w.byte(SIDE);
            w.u64(self.side.len() as u64);
            self.side.push((i as u64, kind.clone()));
        }
        let n = w.n;
        self.bytes.extend_from_slice(&self.scratch[..n]);
        // Debug builds (every test run) check that each record unpacks to the event it packed.
        #[cfg(debug_assertions)]
        {
            let back = self.get(i).expect("just pushed");
            assert_eq!(
                (back.t, back.kind),
                (t, expected),
                "log record {i} round trip"
            );
        }
    }

    /// Keep the first `n` events.
    pub fn truncate(&mut self, n: usize) {
        if n >= self.len() {
            return;
        }
        let end = self.offset(n);
        self.bytes.truncate(end);
        self.starts.truncate(n);
        self.bases.truncate(n.div_ceil(BLOCK));
        let keep = self.side.partition_point(|(owner, _)| *owner < n as u64);
        self.side.truncate(keep);
    }

    fn offset(&self, i: usize) -> usize {
        (self.bases[i / BLOCK] + self.starts[i] as u64) as usize
    }

    pub fn t(&self, i: usize) -> Option<Millis> {
        if i >= self.len() {
            return None;
        }
        let mut r = self.reader(i);
        Some(Millis(r.u64()))
    }

    pub fn get(&self, i: usize) -> Option<Event> {
        if i >= self.len() {
            return None;
        }
        let mut r = self.reader(i);
        let t = Millis(r.u64());
        let kind = if r.bytes[r.at] == SIDE {
            r.at += 1;
            self.side[r.u64() as usize].1.clone()
        } else {
            unpack(&mut r)
        };
        Some(Event {
            seq: i as u64,
            t,
            kind,
        })
    }

    fn reader(&self, i: usize) -> Reader<'_> {
        Reader {
            bytes: &self.bytes,
            at: self.offset(i),
            empty: &self.empty,
        }
    }

    /// The payload unpacked long-poll messages carry.
    #[cfg(debug_assertions)]
    pub fn empty_payload(&self) -> &Arc<Payload> {
        &self.empty
    }
}

/// The events of a run up to the current position, unpacked on demand (`Sim::events`).
#[derive(Clone, Copy)]
pub struct Events<'a> {
    pub(crate) log: &'a Log,
    pub(crate) len: usize,
}

impl<'a> Events<'a> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<Event> {
        if i < self.len {
            self.log.get(i)
        } else {
            None
        }
    }

    pub fn last(&self) -> Option<Event> {
        self.len.checked_sub(1).and_then(|i| self.log.get(i))
    }

    /// All events, in order.
    pub fn iter(&self) -> EventsIter<'a> {
        self.from(0)
    }

    /// The events from index `start` on.
    pub fn from(&self, start: usize) -> EventsIter<'a> {
        EventsIter {
            log: self.log,
            next: start.min(self.len),
            end: self.len,
        }
    }

    pub fn to_vec(&self) -> Vec<Event> {
        self.iter().collect()
    }
}

impl<'a> IntoIterator for Events<'a> {
    type Item = Event;
    type IntoIter = EventsIter<'a>;
    fn into_iter(self) -> EventsIter<'a> {
        self.iter()
    }
}

pub struct EventsIter<'a> {
    log: &'a Log,
    next: usize,
    end: usize,
}

impl Iterator for EventsIter<'_> {
    type Item = Event;
    fn next(&mut self) -> Option<Event> {
        if self.next >= self.end {
            return None;
        }
        self.next += 1;
        self.log.get(self.next - 1)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
    fn nth(&mut self, n: usize) -> Option<Event> {
        self.next = self.next.saturating_add(n).min(self.end);
        self.next()
    }
}

impl DoubleEndedIterator for EventsIter<'_> {
    fn next_back(&mut self) -> Option<Event> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        self.log.get(self.end)
    }
}

impl ExactSizeIterator for EventsIter<'_> {}

/// Largest record kept in the arena; a longer one (a long poll returning many messages with
/// long group ids) goes to the side table.
const MAX_RECORD: usize = 512;

/// Packs one record into a fixed buffer (no capacity check per byte), copied to the arena once.
struct Writer<'a> {
    buf: &'a mut [u8; MAX_RECORD],
    /// Bytes written; past `MAX_RECORD` means the record does not fit.
    n: usize,
}

impl Writer<'_> {
    #[inline(always)]
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.n) {
            *slot = b;
        }
        self.n += 1;
    }

    /// A number: below 0xF0 one byte; otherwise a byte `0xF0 + len` and `len` little-endian
    /// bytes (no loop, one unaligned store).
    #[inline(always)]
    fn u64(&mut self, v: u64) {
        let n = self.n;
        if n + 9 > MAX_RECORD {
            self.n = MAX_RECORD + 1;
            return;
        }
        if v < 0xF0 {
            self.buf[n] = v as u8;
            self.n = n + 1;
        } else {
            let len = 8 - (v.leading_zeros() / 8) as usize;
            self.buf[n] = 0xF0 + len as u8;
            self.buf[n + 1..n + 9].copy_from_slice(&v.to_le_bytes());
            self.n = n + 1 + len;
        }
    }

    /// Strings (group and deduplication ids, a few bytes each) are written out: cheaper than
    /// looking them up in a table on every event.
    #[inline]
    fn string(&mut self, s: &str) {
        self.u64(s.len() as u64);
        match self.buf.get_mut(self.n..self.n + s.len()) {
            Some(dst) => dst.copy_from_slice(s.as_bytes()),
            None => self.n = MAX_RECORD,
        }
        self.n += s.len();
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    empty: &'a Arc<Payload>,
}

impl Reader<'_> {
    fn u64(&mut self) -> u64 {
        let b = self.bytes[self.at];
        self.at += 1;
        if b < 0xF0 {
            return b as u64;
        }
        let len = (b - 0xF0) as usize;
        let v = match self.bytes.get(self.at..self.at + 8) {
            // One unaligned load, masked to `len` bytes.
            Some(word) => {
                let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                word & (u64::MAX >> (64 - 8 * len as u32))
            }
            None => {
                let mut le = [0u8; 8];
                le[..len].copy_from_slice(&self.bytes[self.at..self.at + len]);
                u64::from_le_bytes(le)
            }
        };
        self.at += len;
        v
    }

    fn byte(&mut self) -> u8 {
        self.at += 1;
        self.bytes[self.at - 1]
    }
}

/// A field type that packs into a record.
trait Field: Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader) -> Self;
}

macro_rules! int_field {
    ($($ty:ty),*) => {$(
        impl Field for $ty {
            #[inline]
            fn put(&self, w: &mut Writer) {
                w.u64(*self as u64);
            }
            fn get(r: &mut Reader) -> Self {
                r.u64() as $ty
            }
        }
    )*};
}
int_field!(u32, u64);

macro_rules! id_field {
    ($($ty:ident($inner:ty)),*) => {$(
        impl Field for $ty {
            #[inline]
            fn put(&self, w: &mut Writer) {
                w.u64(self.0 as u64);
            }
            fn get(r: &mut Reader) -> Self {
                $ty(r.u64() as $inner)
            }
        }
    )*};
}
id_field!(
    Millis(u64),
    QueueId(u32),
    TopicId(u32),
    SubscriptionId(u32),
    MessageId(u64),
    PollId(u64),
    PublishId(u64),
    ServiceId(u32),
    LinkId(u32)
);

impl Field for bool {
    #[inline]
    fn put(&self, w: &mut Writer) {
        w.byte(*self as u8);
    }
    fn get(r: &mut Reader) -> Self {
        r.byte() != 0
    }
}

impl Field for Arc<str> {
    #[inline]
    fn put(&self, w: &mut Writer) {
        w.string(self);
    }
    fn get(r: &mut Reader) -> Self {
        let n = r.u64() as usize;
        let text = std::str::from_utf8(&r.bytes[r.at..r.at + n]).unwrap_or_default();
        r.at += n;
        Arc::from(text)
    }
}

impl<T: Field> Field for Option<T> {
    #[inline]
    fn put(&self, w: &mut Writer) {
        match self {
            None => w.byte(0),
            Some(v) => {
                w.byte(1);
                v.put(w);
            }
        }
    }
    fn get(r: &mut Reader) -> Self {
        match r.byte() {
            0 => None,
            _ => Some(T::get(r)),
        }
    }
}

impl<T: Field> Field for Vec<T> {
    #[inline]
    fn put(&self, w: &mut Writer) {
        w.u64(self.len() as u64);
        for v in self {
            v.put(w);
        }
    }
    fn get(r: &mut Reader) -> Self {
        let n = r.u64() as usize;
        (0..n).map(|_| T::get(r)).collect()
    }
}

impl Field for MessageMeta {
    #[inline]
    fn put(&self, w: &mut Writer) {
        w.u64(self.origin);
        self.created_at.put(w);
    }
    fn get(r: &mut Reader) -> Self {
        MessageMeta {
            origin: r.u64(),
            created_at: Field::get(r),
        }
    }
}

impl Field for ReceiptHandle {
    #[inline]
    fn put(&self, w: &mut Writer) {
        self.queue.put(w);
        self.message.put(w);
        self.receive.put(w);
    }
    fn get(r: &mut Reader) -> Self {
        // The slot hint is not logged (not part of the handle): none after unpacking.
        ReceiptHandle::new(Field::get(r), Field::get(r), Field::get(r))
    }
}

impl Field for ReceivedMessage {
    #[inline]
    fn put(&self, w: &mut Writer) {
        self.message.put(w);
        self.receipt.put(w);
        self.meta.put(w);
        self.group.put(w);
        self.receive_count.put(w);
        self.sent_at.put(w);
    }
    fn get(r: &mut Reader) -> Self {
        ReceivedMessage {
            message: Field::get(r),
            receipt: Field::get(r),
            payload: r.empty.clone(),
            meta: Field::get(r),
            group: Field::get(r),
            receive_count: Field::get(r),
            sent_at: Field::get(r),
        }
    }
}

const ERROR_CODES: [ErrorCode; 15] = [
    ErrorCode::InvalidParameterValue,
    ErrorCode::MissingParameter,
    ErrorCode::ReceiptHandleIsInvalid,
    ErrorCode::MessageNotInflight,
    ErrorCode::QueueDoesNotExist,
    ErrorCode::QueueNameExists,
    ErrorCode::PurgeQueueInProgress,
    ErrorCode::TooManyEntriesInBatchRequest,
    ErrorCode::EmptyBatchRequest,
    ErrorCode::BatchEntryIdsNotDistinct,
    ErrorCode::InvalidBatchEntryId,
    ErrorCode::BatchRequestTooLong,
    ErrorCode::OverLimit,
    ErrorCode::InvalidParameter,
    ErrorCode::NotFound,
];

impl Field for ErrorCode {
    #[inline]
    fn put(&self, w: &mut Writer) {
        let ix = ERROR_CODES.iter().position(|c| c == self).unwrap_or(0);
        w.byte(ix as u8);
    }
    fn get(r: &mut Reader) -> Self {
        ERROR_CODES[r.byte() as usize]
    }
}

impl Field for DeleteNoop {
    #[inline]
    fn put(&self, _: &mut Writer) {
        match self {
            DeleteNoop::AlreadyGone => {}
        }
    }
    fn get(_: &mut Reader) -> Self {
        DeleteNoop::AlreadyGone
    }
}

impl Field for Failure {
    #[inline]
    fn put(&self, w: &mut Writer) {
        match self {
            Failure::Timeout => w.byte(0),
            Failure::Refused => w.byte(1),
            Failure::Busy => w.byte(2),
            Failure::Error => w.byte(3),
            Failure::Api(code) => {
                w.byte(4);
                code.put(w);
            }
        }
    }
    fn get(r: &mut Reader) -> Self {
        match r.byte() {
            0 => Failure::Timeout,
            1 => Failure::Refused,
            2 => Failure::Busy,
            3 => Failure::Error,
            _ => Failure::Api(Field::get(r)),
        }
    }
}

impl Field for LossCause {
    #[inline]
    fn put(&self, w: &mut Writer) {
        w.byte(match self {
            LossCause::Partition => 0,
            LossCause::Loss => 1,
            LossCause::Fault => 2,
            LossCause::ResponseLost => 3,
        });
    }
    fn get(r: &mut Reader) -> Self {
        match r.byte() {
            0 => LossCause::Partition,
            1 => LossCause::Loss,
            2 => LossCause::Fault,
            _ => LossCause::ResponseLost,
        }
    }
}

impl Field for WorkOutcome {
    #[inline]
    fn put(&self, w: &mut Writer) {
        match self {
            WorkOutcome::Deleted => w.byte(0),
            WorkOutcome::DeleteFailed { code } => {
                w.byte(1);
                code.put(w);
            }
            WorkOutcome::Failed => w.byte(2),
            WorkOutcome::DeleteSkipped => w.byte(3),
            WorkOutcome::CrashedBeforeDelete => w.byte(4),
        }
    }
    fn get(r: &mut Reader) -> Self {
        match r.byte() {
            0 => WorkOutcome::Deleted,
            1 => WorkOutcome::DeleteFailed {
                code: Field::get(r),
            },
            2 => WorkOutcome::Failed,
            3 => WorkOutcome::DeleteSkipped,
            _ => WorkOutcome::CrashedBeforeDelete,
        }
    }
}

impl Field for Node {
    #[inline]
    fn put(&self, w: &mut Writer) {
        let (tag, id) = match self {
            Node::Service(s) => (0, s.0),
            Node::Queue(q) => (1, q.0),
            Node::Topic(t) => (2, t.0),
        };
        w.byte(tag);
        w.u64(id as u64);
    }
    fn get(r: &mut Reader) -> Self {
        let tag = r.byte();
        let id = r.u64() as u32;
        match tag {
            0 => Node::Service(ServiceId(id)),
            1 => Node::Queue(QueueId(id)),
            _ => Node::Topic(TopicId(id)),
        }
    }
}

/// `pack`/`unpack` arms for the variants kept in the arena; any other variant goes whole to the
/// side table. Tags 0..=127 are broker events, 128.. engine events.
macro_rules! codec {
    (
        broker { $($btag:literal $bvar:ident { $($bf:ident),* $(,)? }),* $(,)? }
        engine { $($etag:literal $evar:ident { $($ef:ident),* $(,)? }),* $(,)? }
    ) => {
        fn pack(kind: &EventKind, w: &mut Writer) -> bool {
            match kind {
                EventKind::Broker { event } => match event {
                    $(BrokerEvent::$bvar { $($bf),* } => {
                        w.byte($btag);
                        $($bf.put(w);)*
                    })*
                    #[allow(unreachable_patterns)]
                    _ => return false,
                },
                $(EventKind::$evar { $($ef),* } => {
                    w.byte($etag);
                    $($ef.put(w);)*
                })*
                #[allow(unreachable_patterns)]
                _ => return false,
            }
            true
        }

        fn unpack(r: &mut Reader) -> EventKind {
            match r.byte() {
                $($btag => EventKind::Broker {
                    event: BrokerEvent::$bvar { $($bf: Field::get(r)),* },
                },)*
                $($etag => EventKind::$evar { $($ef: Field::get(r)),* },)*
                tag => unreachable!("log record with unknown tag {tag}"),
            }
        }
    };
}

codec! {
    broker {
        0 Accepted { queue, message, group, dedup_id, visible_at, from_topic, meta },
        1 Deduplicated { queue, original, group, dedup_id, window_ends, from_topic },
        2 Received { queue, message, group, receive_count, visible_again_at, poll, meta },
        3 Held { queue, group, message, blocked_by },
        4 PollWaiting { queue, poll, until },
        5 PollCompleted { queue, poll, messages },
        6 PollCancelled { queue, poll },
        7 VisibilityExpired { queue, message, group, receive_count },
        8 VisibilityChanged { queue, message, visible_at },
        9 DelayEnded { queue, message, group },
        10 Deleted { queue, message, group },
        11 DeleteIgnored { queue, message, reason },
        12 DuplicateInjected { queue, message, copy },
        13 Reordered { queue, message, skipped },
        14 FilteredOut { topic, subscription, publish },
        15 MatchedNone { topic, publish },
        16 DeliveredToQueue { topic, subscription, publish, queue, message, raw },
        17 Published { topic, publish, group, n_subscriptions, meta },
    }
    engine {
        128 RpcRequest { caller, callee, link, call, attempt, arrive_at },
        129 RpcAccepted { server, call, queued },
        130 RpcRejected { server, call, failure },
        131 Replied { server, call, origin, failure },
        132 RpcCompleted { caller, callee, call, failure },
        133 RpcTimedOut { caller, callee, call },
        134 LateResponse { caller, call },
        135 Lost { link, from, to, call, cause, response },
        136 SendStarted { service, target, link, call, attempt, arrive_at },
        137 Sent { service, target, origin, n, attempt, message },
        138 SendFailed { service, target, origin, attempt, failure, retry_at },
        139 ChainSent { service, target, origin, message, failure },
        140 PollEmpty { service, queue, retry_at },
        141 PollWaiting { service, queue, wait_ms },
        142 BatchArrived { service, queue, n },
        143 DeliveredToCrashed { service, n },
        144 WorkStarted { service, queue, message, origin, group, receive_count, until },
        145 Handled { service, message, origin, latency_ms, duplicate, order_violation },
        146 WorkFinished { service, queue, message, origin, outcome },
        147 DuplicateSkipped { service, queue, message, origin },
        148 VisibilityExtended { service, queue, message, until, error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(i: u64, group: &str) -> ReceivedMessage {
        ReceivedMessage {
            message: MessageId(i),
            receipt: ReceiptHandle::new(QueueId(1), MessageId(i), 2),
            payload: Arc::default(),
            meta: MessageMeta {
                origin: i * 1_000_003,
                created_at: Millis(u64::MAX - i),
            },
            group: Some(Arc::from(group)),
            receive_count: 2,
            sent_at: Millis(i),
        }
    }

    fn poll(n: u64, group: &str) -> EventKind {
        EventKind::Broker {
            event: BrokerEvent::PollCompleted {
                queue: QueueId(1),
                poll: PollId(n),
                messages: (0..n).map(|i| received(i, group)).collect(),
            },
        }
    }

    #[test]
    fn records_round_trip_and_oversized_ones_go_to_the_side_table() {
        let mut log = Log::default();
        let small = poll(1, "g1");
        let huge = poll(10, &"x".repeat(128));
        let rare = EventKind::Crashed {
            service: ServiceId(3),
            lost_jobs: 2,
        };
        log.push(Millis(5), &small);
        log.push(Millis(0x00FF_FFFF_FFFF), &huge);
        log.push(Millis(7), &rare);
        assert_eq!(
            log.side.len(),
            2,
            "the 10-message poll and the rare variant"
        );
        assert_eq!(log.get(0).unwrap().kind, small);
        assert_eq!(log.get(1).unwrap().kind, huge);
        assert_eq!(log.get(1).unwrap().t, Millis(0x00FF_FFFF_FFFF));
        assert_eq!(log.get(2).unwrap().kind, rare);
        assert_eq!(log.t(2), Some(Millis(7)));
        assert!(log.get(3).is_none());
    }

    #[test]
    fn truncate_forgets_records_and_their_side_entries() {
        let mut log = Log::default();
        for i in 0..10u64 {
            let kind = if i % 3 == 0 {
                poll(10, &"y".repeat(100))
            } else {
                poll(1, "g")
            };
            log.push(Millis(i), &kind);
        }
        log.truncate(4);
        assert_eq!(log.len(), 4);
        assert_eq!(log.side.len(), 2, "events 0 and 3 were whole");
        log.push(Millis(99), &poll(2, "z"));
        assert_eq!(log.get(4).unwrap().t, Millis(99));
        assert_eq!(log.get(4).unwrap().kind, poll(2, "z"));
        assert_eq!(log.get(3).unwrap().kind, poll(10, &"y".repeat(100)));
    }
}
