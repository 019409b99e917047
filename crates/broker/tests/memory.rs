//! Memory per stored / in-flight message, excluding payload bytes, measured with a counting
//! allocator (not a timing test). Run with `--nocapture` to see the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

use switchboard_broker::*;

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const N: u64 = 20_000;

fn live() -> i64 {
    LIVE_BYTES.load(Ordering::SeqCst)
}

/// Heap bytes of one payload as the test sends it: the `Arc<Payload>` block plus a 1-byte body.
fn payload_bytes() -> i64 {
    (2 * std::mem::size_of::<usize>() + std::mem::size_of::<Payload>() + 1) as i64
}

/// (bytes per stored message, bytes per in-flight message), payload excluded.
fn measure(cfg: QueueConfig, group_of: impl Fn(u64) -> Option<String>) -> (i64, i64) {
    let mut broker = Broker::new();
    let mut rng = Rng::new(1);
    let q = broker.create_queue(cfg).unwrap();
    let mut out = Vec::new();
    // Intern the group names first so the figures are per message, not per group.
    let fifo = broker.queue_config(q).unwrap().is_fifo();
    let before = live();
    for i in 0..N {
        let mut req = SendRequest::new("x");
        if let Some(g) = group_of(i) {
            req = req.group(g);
        }
        if fifo {
            req = req.dedup(format!("{i}"));
        }
        broker
            .send_message(Millis(0), q, req, &mut rng, &mut out)
            .unwrap();
        out.clear();
    }
    out.shrink_to_fit();
    let stored = (live() - before) / N as i64 - payload_bytes();
    let before_receive = live();
    let mut n_in_flight = 0;
    loop {
        let got = broker
            .receive_message(Millis(0), q, ReceiveRequest::max(10), &mut rng, &mut out)
            .unwrap()
            .into_messages();
        out.clear();
        if got.is_empty() {
            break;
        }
        n_in_flight += got.len() as i64;
    }
    out.shrink_to_fit();
    let in_flight = stored + (live() - before_receive) / n_in_flight.max(1);
    (stored, in_flight)
}

#[test]
fn memory_per_message_excluding_payload() {
    let (std_stored, std_in_flight) = measure(QueueConfig::new("standard"), |_| None);
    // 16 groups: only the heads can be in flight, so the FIFO figure is for stored messages and
    // includes the message's 5-minute deduplication entry.
    let (fifo_stored, _) = measure(QueueConfig::new("f.fifo"), |i| Some(format!("g{}", i % 16)));
    println!(
        "data per in-flight message (record 64 + order entry 12 + timer 12 [+ FIFO lane 4]): {} B",
        Broker::bytes_per_message()
    );
    println!("standard queue, {N} messages: {std_stored} B per stored message, {std_in_flight} B per in-flight message");
    println!("FIFO queue, {N} messages in 16 groups: {fifo_stored} B per stored message incl. its dedup entry");
    // Issue 5's target is <= 96 B per in-flight message; measured 90 B (record 64, order and
    // timer entries 12 each, plus growth slack of at most a quarter). Before the compact
    // indexes: 137 B standard, 240 B FIFO. Bounds with a little room so a regression (say, a
    // doubling vector or a 16-byte entry coming back) fails here.
    assert!(
        std_in_flight <= 96,
        "standard: {std_in_flight} B per in-flight message"
    );
    assert!(
        std_stored <= 96,
        "standard: {std_stored} B per stored message"
    );
    // Measured 160 B: the same plus a 4-byte lane slot and ~75 B of deduplication memory.
    assert!(
        fifo_stored <= 176,
        "FIFO: {fifo_stored} B per stored message"
    );
}
