//! Step back and seek: checkpoints plus deterministic replay give the same state as stepping
//! forward, and interactive injections survive seeks (an injection in the past forks the run).

mod common;

use common::*;
use switchboard_engine::broker::{Millis, QueueId};
use switchboard_engine::*;

fn busy_world() -> WorldSpec {
    let times: Vec<u64> = (0..400).map(|i| i * 25).collect();
    let mut spec = world(vec![
        producer(
            "shop",
            topic_target(0),
            &times,
            body("o{n}"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer(
            "a",
            ConsumerSpec {
                batch_size: 4,
                ..consumer_spec(0)
            },
        ),
        consumer(
            "b",
            ConsumerSpec {
                batch_size: 2,
                work: Latency::Uniform {
                    min_ms: 5,
                    max_ms: 80,
                },
                ..consumer_spec(1)
            },
        ),
        consumer(
            "c",
            ConsumerSpec {
                batch_size: 1,
                fail: switchboard_engine::broker::Chance(200_000),
                ..consumer_spec(2)
            },
        ),
    ]);
    spec.queues = vec![queue("qa", 2), queue("qb", 2), queue("qc", 2)];
    spec.topics.push(topic("orders", &[0, 1, 2]));
    spec.links
        .push(messaging_link(2, Node::Queue(QueueId(1)), 7));
    spec.limits.until = Millis::from_secs(20);
    spec
}

/// A digest of what the UI and the summary can see: the metrics JSON and the time.
fn digest(sim: &Sim) -> String {
    format!(
        "{}|{}|{}",
        sim.now().0,
        serde_json::to_string(&sim.metrics()).unwrap(),
        sim.transits().len()
    )
}

#[test]
fn seek_lands_on_the_same_state_as_stepping() {
    let spec = busy_world();
    let mut full = Sim::new(&spec).unwrap();
    full.run_until(spec.limits.until, 50_000);
    let total = full.event_count();
    assert!(
        total > 3 * switchboard_engine::sim::CHECKPOINT_EVERY,
        "need several checkpoints, got {total} events"
    );
    for n in [0, 1, 777, 1024, 1025, total / 2, total - 1, total] {
        let mut stepped = Sim::new(&spec).unwrap();
        for _ in 0..n {
            stepped.step();
        }
        full.seek(n);
        assert_eq!(full.event_count(), n);
        assert_eq!(full.trace_hash(), stepped.trace_hash(), "trace at {n}");
        // Inside a multi-event action both sit at the same action boundary.
        assert_eq!(digest(&full), digest(&stepped), "state at {n}");
    }
}

#[test]
fn step_back_then_forward_replays_the_same_events() {
    let spec = busy_world();
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(Millis(3_000), 5_000);
    let before: Vec<Event> = sim.events().to_vec();
    let hash = sim.trace_hash();
    for _ in 0..300 {
        sim.step_back();
    }
    assert_eq!(sim.event_count(), before.len() as u64 - 300);
    for _ in 0..300 {
        sim.step();
    }
    assert_eq!(sim.events().to_vec(), before);
    assert_eq!(sim.trace_hash(), hash);
}

#[test]
fn injection_survives_seek() {
    let spec = busy_world();
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(Millis(2_000), 100_000);
    sim.inject(FaultAction::Crash {
        service: ServiceId(1),
    })
    .unwrap();
    let at = sim.event_count();
    sim.run_until(Millis(6_000), 100_000);
    let end = sim.event_count();
    let hash = sim.trace_hash();
    sim.seek(at / 2);
    assert_ne!(
        sim.service_status(ServiceId(1)),
        ServiceStatus::Crashed,
        "before the injection"
    );
    sim.seek(end);
    assert_eq!(
        sim.trace_hash(),
        hash,
        "replay re-applies the injection at the same event"
    );
    assert_eq!(sim.service_status(ServiceId(1)), ServiceStatus::Crashed);
}

#[test]
fn injection_in_the_past_forks_the_run() {
    let spec = busy_world();
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(Millis(8_000), 100_000);
    let old_end = sim.event_count();
    sim.seek(old_end / 3);
    sim.inject(FaultAction::SkipDeletes {
        service: ServiceId(3),
        on: true,
    })
    .unwrap();
    assert_eq!(sim.event_count(), sim.events().len() as u64);
    let fork_point = sim.event_count();
    assert!(matches!(
        sim.events().last().unwrap().kind,
        EventKind::Fault { injected: true, .. }
    ));
    sim.run_until(Millis(8_000), 100_000);
    let forked: Vec<EventKind> = sim
        .events()
        .from(fork_point as usize)
        .map(|e| e.kind)
        .collect();
    assert!(forked.iter().any(|k| matches!(
        k,
        EventKind::WorkFinished {
            outcome: WorkOutcome::DeleteSkipped,
            ..
        }
    )));
}

/// A backlog that grows to thousands of stored messages: a big world, so a forward run
/// checkpoints sparsely (one event of spacing per 25 bytes of world).
fn growing_backlog() -> WorldSpec {
    let times: Vec<u64> = (0..3_000).collect();
    let mut spec = world(vec![producer(
        "shop",
        Target::Queue(QueueId(0)),
        &times,
        body("o{n}"),
        1_000,
        RetryPolicy::default(),
    )]);
    spec.queues = vec![queue("backlog", 30)];
    spec.limits.until = Millis::from_secs(10);
    spec
}

#[test]
fn a_seek_fills_in_checkpoints_so_stepping_back_from_there_stays_short_and_exact() {
    let spec = growing_backlog();
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(spec.limits.until, 100_000);
    let total = sim.event_count();
    let (sparse, _) = sim.checkpoint_stats();
    let target = total * 2 / 3;
    sim.seek(target);
    let (dense, _) = sim.checkpoint_stats();
    assert!(
        dense > sparse,
        "a seek to {target} of {total} left checkpoints behind ({sparse} -> {dense})"
    );
    for _ in 0..50 {
        sim.step_back();
    }
    let mut stepped = Sim::new(&spec).unwrap().without_checkpoints();
    stepped.run_until(spec.limits.until, target - 50);
    assert_eq!(sim.event_count(), target - 50);
    assert_eq!(sim.trace_hash(), stepped.trace_hash());
    assert_eq!(digest(&sim), digest(&stepped));
    // And forward again to the end: the same run.
    sim.run_until(spec.limits.until, 100_000);
    assert_eq!(sim.event_count(), total);
}
