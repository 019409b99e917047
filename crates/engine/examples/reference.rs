//! Profiling and guard harness for the benchmark's reference workload (the same world as
//! `benches/engine.rs`): `cargo run --profile bench -p switchboard-engine --example reference -- N [hash]`
//! runs N events with the event log on (for callgrind; `headless` takes no checkpoints, as the
//! CLI) and, with `hash`, prints the trace hash
//! so a speed change can be checked to leave the trace byte-identical.

use switchboard_engine::broker::QueueId;
use switchboard_engine::*;

#[path = "../benches/common/mod.rs"]
mod common;
use common::reference_world;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let spec = reference_world(600, 100_000_000);
    let mut sim = Sim::new(&spec).unwrap();
    if args.iter().any(|a| a == "headless") {
        sim = sim.without_checkpoints();
    }
    sim.run_until(spec.limits.until, n);
    println!("events {} t {:?}", sim.event_count(), sim.now());
    if args.iter().any(|a| a == "kinds") {
        let mut kinds = std::collections::BTreeMap::<String, u64>::new();
        for e in sim.events() {
            let name = match &e.kind {
                EventKind::Broker { event } => format!("Broker::{:?}", event),
                other => format!("{:?}", other),
            };
            let name: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == ':')
                .collect();
            *kinds.entry(name).or_default() += 1;
        }
        for (k, v) in kinds {
            println!("{v:>8} {k}");
        }
    }
    if args.iter().any(|a| a == "hash") {
        println!("trace hash {:016x}", sim.trace_hash());
        for (q, name) in [(0, "billing"), (1, "analytics"), (2, "shipping.fifo")] {
            println!("{name}: {:?}", sim.queue_counts(QueueId(q)));
        }
    }
    // Teardown (dropping the log and checkpoints) is not part of a run: keep it out of profiles.
    std::mem::forget(sim);
}
