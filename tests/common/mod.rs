//! Shared by the native determinism test and the browser test: run a scenario text to its end
//! and hash its trace, and read the pinned hashes both must reproduce.

use switchboard::engine::Sim;

/// Scenarios whose trace hash is pinned in `tests/trace-hashes.txt` (file stem, text).
/// Chosen to cover RPC chains, FIFO groups, topics with filters, scripted SQS calls and faults.
pub const PINNED: &[(&str, &str)] = &[
    (
        "welcome",
        include_str!("../../static/scenarios/welcome.yaml"),
    ),
    (
        "s05-christmas-tree",
        include_str!("../../static/scenarios/s05-christmas-tree.yaml"),
    ),
    (
        "s09-music-store",
        include_str!("../../static/scenarios/s09-music-store.yaml"),
    ),
    (
        "s11-pubsub-over-sqs",
        include_str!("../../static/scenarios/s11-pubsub-over-sqs.yaml"),
    ),
    (
        "s16-dedup-window",
        include_str!("../../static/scenarios/s16-dedup-window.yaml"),
    ),
    (
        "s19-receive-attempt-id",
        include_str!("../../static/scenarios/s19-receive-attempt-id.yaml"),
    ),
    (
        "s20-fifo-head-of-line",
        include_str!("../../static/scenarios/s20-fifo-head-of-line.yaml"),
    ),
    (
        "s21-visibility-timeout",
        include_str!("../../static/scenarios/s21-visibility-timeout.yaml"),
    ),
];

pub const PINNED_FILE: &str = include_str!("../trace-hashes.txt");

/// Loads, builds and runs `text` to its own limits; returns (events, trace hash).
pub fn run_to_end(text: &str) -> (u64, u64) {
    let scenario = switchboard::scenario::load(text).expect("preset loads");
    let spec = scenario.to_spec().expect("preset builds");
    let mut sim = Sim::new(&spec).expect("world builds");
    sim.run_until(spec.limits.until, spec.limits.max_events);
    (sim.event_count(), sim.trace_hash())
}

/// `name -> (events, hash)` from the pinned file (`name events 0xHASH` per line).
pub fn pinned(name: &str) -> Option<(u64, u64)> {
    PINNED_FILE.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        if parts.next()? != name {
            return None;
        }
        let events = parts.next()?.parse().ok()?;
        let hash = u64::from_str_radix(parts.next()?.trim_start_matches("0x"), 16).ok()?;
        Some((events, hash))
    })
}
