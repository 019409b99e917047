//! Property tests over random workloads and random fault schedules, driven by the project's
//! own seeded `Rng`. Every failure names the seed that reproduces it (`seed=N`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use switchboard_engine::broker::{BrokerEvent, Chance, Millis, QueueId, RedrivePolicy, Rng};
use switchboard_engine::*;

const SEEDS: u64 = 24;

/// A random world: producers into a topic (fanning out to 1-3 queues, one of them FIFO with
/// several groups) and straight into queues, consumers with random failure behaviour, random
/// links, and a random schedule of faults and their undos.
fn random_world(seed: u64) -> WorldSpec {
    let mut rng = Rng::new(seed);
    // q0 = a standard dead-letter queue (created first: a redrive target must exist),
    // q1 = the FIFO queue, q2.. = standard queues.
    let n_queues = 2 + rng.below(3) as u32;
    let dlq = QueueId(0);
    let fifo = QueueId(1);
    let mut queues = vec![queue("dlq", 30)];
    for q in 1..n_queues {
        let name = if q == 1 {
            "q1.fifo".to_string()
        } else {
            format!("q{q}")
        };
        let mut config = queue(&name, 1 + rng.below(4) as u32);
        if q > 1 && rng.chance(Chance(300_000)) {
            config.duplicate_chance = Chance(100_000);
        }
        if q > 1 && rng.chance(Chance(500_000)) {
            config.redrive = Some(RedrivePolicy {
                dead_letter: dlq,
                max_receive_count: 1 + rng.below(3) as u32,
            });
        }
        queues.push(config);
    }
    let fifo_topic = n_queues == 2 || rng.chance(Chance(300_000));
    let mut services = Vec::new();
    let count = 20 + rng.below(60);
    let per_second = 5 + rng.below(40) as u32;
    services.push(ServiceSpec {
        name: "to-topic".into(),
        behaviour: Behaviour::Producer(ProducerSpec {
            schedule: Schedule::Rate {
                per_second,
                start: Millis(0),
                count,
            },
            template: MessageTemplate {
                body: "m{n}".into(),
                attributes: vec![("kind".into(), "k{n}".into())],
                group_id: fifo_topic.then(|| "topic-group".into()),
                dedup_id: fifo_topic.then(|| "t{n}".into()),
            },
            target: topic_target(0),
            retry: RetryPolicy {
                max_attempts: 3,
                backoff_ms: 50,
            },
            timeout_ms: 300,
        }),
    });
    for k in 0..(1 + rng.below(4)) {
        services.push(ServiceSpec {
            name: format!("fifo-{k}"),
            behaviour: Behaviour::Producer(ProducerSpec {
                schedule: Schedule::Rate {
                    per_second: 2 + rng.below(20) as u32,
                    start: Millis(rng.below(1_000)),
                    count: 5 + rng.below(30),
                },
                template: MessageTemplate {
                    body: "f{n}".into(),
                    attributes: vec![],
                    group_id: Some(format!("g{k}")),
                    dedup_id: Some(format!("f{k}-{{n}}")),
                },
                target: Target::Queue(fifo),
                retry: RetryPolicy {
                    max_attempts: 2,
                    backoff_ms: 100,
                },
                timeout_ms: 300,
            }),
        });
    }
    for q in 0..n_queues {
        for c in 0..(1 + rng.below(2)) {
            let mut spec = consumer_spec(q);
            spec.batch_size = 1 + rng.below(10) as u32;
            spec.wait_ms = rng.below(3) * 1_000;
            spec.work = Latency::Uniform {
                min_ms: 1,
                max_ms: 1 + rng.below(400),
            };
            spec.fail = Chance(rng.below(200_000) as u32);
            spec.pause = Chance(rng.below(100_000) as u32);
            spec.pause_ms = rng.below(5_000);
            spec.crash = Chance(rng.below(20_000) as u32);
            spec.idempotent = rng.chance(Chance(500_000));
            if rng.chance(Chance(300_000)) {
                spec.heartbeat = Some(Heartbeat {
                    every_ms: 500,
                    extend_to_ms: 2_000,
                });
            }
            services.push(consumer(&format!("c{q}-{c}"), spec));
        }
    }
    let n_services = services.len() as u32;
    let mut spec = world(services);
    spec.seed = seed;
    spec.queues = queues;
    // Either a FIFO topic feeding the FIFO queue, or a standard topic fanning out to the
    // standard queues (a standard topic cannot feed a FIFO queue).
    if fifo_topic {
        let mut t = topic("orders.fifo", &[1]);
        t.config.name = "orders.fifo".into();
        spec.topics.push(t);
    } else {
        let subscribed: Vec<u32> = (2..n_queues).collect();
        spec.topics.push(topic("orders", &subscribed));
    }
    for s in 0..n_services {
        if rng.chance(Chance(400_000)) {
            let q = match &spec.services[s as usize].behaviour {
                Behaviour::Consumer(c) => c.queue,
                _ => continue,
            };
            spec.links.push(LinkSpec {
                latency_ms_min: 1,
                latency_ms_max: 1 + rng.below(50),
                ..messaging_link(s, Node::Queue(q), 0)
            });
        }
    }
    spec.links.push(LinkSpec {
        latency_ms_min: 1,
        latency_ms_max: 20,
        ..messaging_link(0, Node::Topic(switchboard_engine::broker::TopicId(0)), 0)
    });
    let n_links = spec.links.len() as u32;
    for _ in 0..rng.below(8) {
        let at = rng.below(15_000);
        let s = ServiceId(2 + rng.below((n_services - 2) as u64) as u32);
        let l = LinkId(rng.below(n_links as u64) as u32);
        let (fault_on, fault_off) = match rng.below(7) {
            5 => (
                FaultAction::Pause {
                    service: s,
                    for_ms: rng.below(3_000),
                },
                FaultAction::Slow {
                    service: s,
                    factor_pct: 100,
                },
            ),
            6 => (
                FaultAction::LoseResponses {
                    link: l,
                    chance: Chance(500_000),
                },
                FaultAction::Restore { link: l },
            ),
            0 => (
                FaultAction::Crash { service: s },
                FaultAction::Restart { service: s },
            ),
            1 => (
                FaultAction::SkipDeletes {
                    service: s,
                    on: true,
                },
                FaultAction::SkipDeletes {
                    service: s,
                    on: false,
                },
            ),
            2 => (
                FaultAction::Slow {
                    service: s,
                    factor_pct: 500,
                },
                FaultAction::Slow {
                    service: s,
                    factor_pct: 100,
                },
            ),
            3 => (
                FaultAction::Partition { link: l },
                FaultAction::Heal { link: l },
            ),
            _ => (
                FaultAction::Degrade {
                    link: l,
                    drop: Chance(300_000),
                    delay_ms: 100,
                },
                FaultAction::Restore { link: l },
            ),
        };
        spec.faults.push(fault(at, fault_on));
        spec.faults.push(fault(at + rng.below(5_000), fault_off));
    }
    spec.limits = Limits {
        until: Millis::from_secs(30),
        max_events: 40_000,
    };
    spec
}

fn for_each_seed(property: impl Fn(u64, &WorldSpec)) {
    for seed in 0..SEEDS {
        let spec = random_world(seed);
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| property(seed, &spec)));
        if let Err(e) = result {
            eprintln!("property failed: seed={seed}");
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn broker_never_hands_out_a_fifo_group_out_of_order() {
    let checked = std::sync::atomic::AtomicU64::new(0);
    for_each_seed(|seed, spec| {
        let mut sim = Sim::new(spec).unwrap_or_else(|e| panic!("seed={seed}: {e}"));
        sim.run_until(spec.limits.until, spec.limits.max_events);
        // Per (queue, group): messages accepted and not yet gone. A receive of m is in order
        // when every older outstanding message of its group was handed out in the same receive.
        let mut outstanding: BTreeMap<(QueueId, String), BTreeSet<u64>> = BTreeMap::new();
        let mut batch: BTreeSet<(QueueId, u64)> = BTreeSet::new();
        let mut last_t = Millis(u64::MAX);
        for e in sim.events() {
            let EventKind::Broker { event } = &e.kind else {
                batch.clear();
                continue;
            };
            if !matches!(event, BrokerEvent::Received { .. }) || e.t != last_t {
                batch.clear();
            }
            last_t = e.t;
            match event {
                BrokerEvent::Accepted {
                    queue,
                    message,
                    group: Some(g),
                    ..
                } => {
                    outstanding
                        .entry((*queue, g.to_string()))
                        .or_default()
                        .insert(message.0);
                }
                BrokerEvent::Deleted {
                    queue,
                    message,
                    group: Some(g),
                }
                | BrokerEvent::DeadLettered {
                    queue,
                    message,
                    group: Some(g),
                    ..
                }
                | BrokerEvent::Expired {
                    queue,
                    message,
                    group: Some(g),
                    ..
                } => {
                    if let Some(set) = outstanding.get_mut(&(*queue, g.to_string())) {
                        set.remove(&message.0);
                    }
                }
                BrokerEvent::Purged { queue, .. } => outstanding.retain(|k, _| k.0 != *queue),
                BrokerEvent::Received {
                    queue,
                    message,
                    group: Some(g),
                    ..
                } => {
                    if let Some(set) = outstanding.get(&(*queue, g.to_string())) {
                        for older in set.range(..message.0) {
                            assert!(
                                batch.contains(&(*queue, *older)),
                                "seed={seed}: event {} handed out m{} of group {g} while older m{older} was outstanding",
                                e.seq,
                                message.0
                            );
                        }
                    }
                    checked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    batch.insert((*queue, message.0));
                }
                _ => {}
            }
        }
    });
    let checked = checked.into_inner();
    assert!(
        checked > 1_000,
        "the workloads should receive many FIFO messages, got {checked}"
    );
}

#[test]
fn conservation_and_invariants_hold_after_every_event() {
    for_each_seed(|seed, spec| {
        let mut sim = Sim::new(spec).unwrap();
        let n_queues = spec.queues.len() as u32;
        while sim.step().is_some() {
            if let Err(why) = sim.world().check_invariants() {
                panic!("seed={seed}: after event {}: {why}", sim.event_count());
            }
            for q in 0..n_queues {
                let m = sim.world().queue_metrics(QueueId(q));
                if let Err(why) = m.check_conservation() {
                    panic!(
                        "seed={seed}: after event {} queue {q}: {why}",
                        sim.event_count()
                    );
                }
                // The brief's form: sent = deduplicated + deleted + dead-lettered + expired + queued + in flight
                // (plus purged, minus records that arrived from elsewhere).
                assert_eq!(
                    m.sent + m.dead_letter_arrivals + m.duplicates_injected,
                    m.deduplicated
                        + m.deleted
                        + m.dead_lettered
                        + m.expired
                        + m.purged
                        + m.visible
                        + m.delayed
                        + m.in_flight,
                    "seed={seed}: after event {} queue {q}",
                    sim.event_count()
                );
            }
        }
    });
}

#[test]
fn seek_n_equals_n_steps_from_the_start() {
    for_each_seed(|seed, spec| {
        let mut full = Sim::new(spec).unwrap();
        full.run_until(spec.limits.until, spec.limits.max_events);
        let total = full.event_count();
        let mut rng = Rng::new(seed ^ 0x5eed);
        for _ in 0..3 {
            let n = rng.below(total + 1);
            full.seek(n);
            let mut stepped = Sim::new(spec).unwrap();
            for _ in 0..n {
                stepped.step();
            }
            assert_eq!(
                full.trace_hash(),
                stepped.trace_hash(),
                "seed={seed}: trace differs at n={n}"
            );
            assert_eq!(
                serde_json::to_string(&full.metrics()).unwrap(),
                serde_json::to_string(&stepped.metrics()).unwrap(),
                "seed={seed}: world differs at n={n}"
            );
            assert_eq!(
                full.transits(),
                stepped.transits(),
                "seed={seed}: transits differ at n={n}"
            );
        }
    });
}

#[test]
fn same_seed_same_trace() {
    for_each_seed(|seed, spec| {
        let mut a = Sim::new(spec).unwrap();
        a.run_until(spec.limits.until, spec.limits.max_events);
        let mut b = Sim::new(spec).unwrap();
        b.run_until(spec.limits.until, spec.limits.max_events);
        assert!(
            a.event_count() > 50,
            "seed={seed}: the workload should do something"
        );
        assert_eq!(a.trace_hash(), b.trace_hash(), "seed={seed}");
    });
}

#[test]
fn interactive_injections_survive_random_seeks() {
    for_each_seed(|seed, spec| {
        let mut rng = Rng::new(seed ^ 0x1a1a);
        let n_services = spec.services.len() as u64;
        // The same plays and injections twice: once wandering back and forth with seeks in
        // between, once straight. Seeks must change nothing.
        let mut plan: Vec<(Millis, FaultAction)> = Vec::new();
        let mut t = 0;
        for _ in 0..3 {
            t += 1 + rng.below(3_000);
            plan.push((
                Millis(t),
                FaultAction::Crash {
                    service: ServiceId(rng.below(n_services) as u32),
                },
            ));
        }
        let mut wandering = Sim::new(spec).unwrap();
        let mut straight = Sim::new(spec).unwrap();
        for (t, action) in &plan {
            wandering.run_until(*t, u64::MAX);
            straight.run_until(*t, u64::MAX);
            wandering.inject(action.clone()).unwrap();
            straight.inject(action.clone()).unwrap();
            let here = wandering.event_count();
            wandering.seek(rng.below(here + 1));
            wandering.seek(rng.below(here + 1));
            wandering.seek(here);
        }
        wandering.run_until(spec.limits.until, spec.limits.max_events);
        straight.run_until(spec.limits.until, spec.limits.max_events);
        let end = straight.event_count();
        assert_eq!(wandering.event_count(), end, "seed={seed}");
        assert_eq!(wandering.trace_hash(), straight.trace_hash(), "seed={seed}");
        for _ in 0..3 {
            let n = rng.below(end + 1);
            wandering.seek(n);
            let mut fresh = Sim::new(spec).unwrap();
            for (t, action) in &plan {
                fresh.run_until(*t, u64::MAX);
                fresh.inject(action.clone()).unwrap();
            }
            fresh.seek(n);
            assert_eq!(
                wandering.trace_hash(),
                fresh.trace_hash(),
                "seed={seed} n={n}"
            );
            assert_eq!(
                serde_json::to_string(&wandering.metrics()).unwrap(),
                serde_json::to_string(&fresh.metrics()).unwrap(),
                "seed={seed} n={n}"
            );
        }
    });
}

#[test]
fn playing_to_a_time_equals_seeking_to_its_event_count() {
    for_each_seed(|seed, spec| {
        let mut rng = Rng::new(seed ^ 0x77);
        let mut full = Sim::new(spec).unwrap();
        full.run_until(spec.limits.until, spec.limits.max_events);
        for _ in 0..3 {
            let t = Millis(rng.below(spec.limits.until.0));
            let mut played = Sim::new(spec).unwrap();
            played.run_until(t, u64::MAX);
            full.seek(played.event_count());
            assert_eq!(played.trace_hash(), full.trace_hash(), "seed={seed} t={t}");
            assert_eq!(
                serde_json::to_string(&played.metrics()).unwrap(),
                serde_json::to_string(&full.metrics()).unwrap(),
                "seed={seed} t={t}"
            );
        }
    });
}

#[test]
fn corrupted_worlds_are_refused_with_a_message_never_a_panic() {
    for_each_seed(|seed, spec| {
        let mut rng = Rng::new(seed ^ 0xbad);
        for case in 0..8 {
            let mut bad = spec.clone();
            let what = match case {
                0 => {
                    bad.services.push(consumer("ghost", consumer_spec(999)));
                    "consumer of an unknown queue"
                }
                1 => {
                    bad.links.push(LinkSpec {
                        latency_ms_min: 5,
                        latency_ms_max: 1,
                        ..rpc_link(0, 1, 0)
                    });
                    "latency min > max"
                }
                2 => {
                    bad.links.push(rpc_link(0, 999, 1));
                    "link to an unknown service"
                }
                3 => {
                    bad.faults.push(fault(
                        rng.below(1_000),
                        FaultAction::Crash {
                            service: ServiceId(999),
                        },
                    ));
                    "fault on an unknown service"
                }
                4 => {
                    bad.services.push(server("lonely", 1, vec![call(0, 100)]));
                    "chain call without an rpc link"
                }
                5 => {
                    bad.services.push(consumer(
                        "greedy",
                        ConsumerSpec {
                            batch_size: 11,
                            ..consumer_spec(0)
                        },
                    ));
                    "batch size above 10"
                }
                6 => {
                    bad.topics[0].subscriptions.push(
                        switchboard_engine::broker::SubscriptionConfig::endpoint(999),
                    );
                    "endpoint that is not a service"
                }
                _ => {
                    bad.faults.push(FaultSpec {
                        at: Trigger::AfterEvent {
                            kind: EventMatch::Handled {
                                service: ServiceId(0),
                            },
                            nth: 0,
                        },
                        action: FaultAction::Heal { link: LinkId(0) },
                    });
                    "trigger on the 0th event"
                }
            };
            match Sim::new(&bad) {
                Err(e) => assert!(!e.message.is_empty(), "seed={seed}: {what}"),
                Ok(_) => panic!("seed={seed}: {what} was accepted"),
            }
        }
        let mut sim = Sim::new(spec).unwrap();
        assert!(
            sim.inject(FaultAction::Partition { link: LinkId(999) })
                .is_err(),
            "seed={seed}"
        );
        assert!(
            sim.inject(FaultAction::Slow {
                service: ServiceId(0),
                factor_pct: 0
            })
            .is_err(),
            "seed={seed}"
        );
    });
}
