//! More behaviours through the `Sim` facade: event-triggered faults, SNS endpoint deliveries,
//! consumer handler chains, error rates, schedules, views and transits for the UI, and the
//! determinism guard (a pinned trace hash).

mod common;

use common::*;
use switchboard_engine::broker::{
    BrokerEvent, Chance, Millis, QueueId, SubscriptionConfig, TopicConfig,
};
use switchboard_engine::*;

#[test]
fn fault_after_the_nth_receive_crashes_the_consumer_then() {
    let times: Vec<u64> = (0..10).map(|i| i * 10).collect();
    let mut spec = world(vec![
        producer(
            "p",
            Target::Queue(QueueId(0)),
            &times,
            body("j{n}"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("w", consumer_spec(0)),
    ]);
    spec.queues.push(queue("jobs", 30));
    spec.faults.push(FaultSpec {
        at: Trigger::AfterEvent {
            kind: EventMatch::Received {
                service: ServiceId(1),
            },
            nth: 3,
        },
        action: FaultAction::Crash {
            service: ServiceId(1),
        },
    });
    let sim = run(&spec);
    let w = service(&sim, "w");
    assert_eq!(
        (w.received, w.handled),
        (3, 2),
        "crashed right after receiving the third message"
    );
    assert_eq!(w.state, ServiceStatus::Crashed);
    let fault = of_kind(&sim, "fault");
    assert_eq!(fault.len(), 1);
}

#[test]
fn topic_delivers_to_service_endpoints_and_retries_a_crashed_one() {
    let mut spec = world(vec![
        producer(
            "shop",
            topic_target(0),
            &[0, 100],
            body("order {n}"),
            1_000,
            RetryPolicy::default(),
        ),
        server("email", 10, vec![]),
        server("audit", 10, vec![]),
    ]);
    let mut sub_email = SubscriptionConfig::endpoint(1);
    sub_email.endpoint_retry_delay_s = 1;
    let mut sub_audit = SubscriptionConfig::endpoint(2);
    sub_audit.endpoint_retry_delay_s = 1;
    spec.topics.push(TopicSpec {
        config: TopicConfig::new("orders"),
        subscriptions: vec![sub_email, sub_audit],
    });
    spec.faults = vec![
        fault(
            50,
            FaultAction::Crash {
                service: ServiceId(2),
            },
        ),
        fault(
            1_500,
            FaultAction::Restart {
                service: ServiceId(2),
            },
        ),
    ];
    let sim = run(&spec);
    assert_eq!(service(&sim, "email").handled, 2);
    assert_eq!(
        service(&sim, "audit").handled,
        2,
        "the failed delivery is retried after the restart"
    );
    let failed = of_kind(&sim, "endpoint_handled")
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::EndpointHandled { ok: false, .. }))
        .count();
    assert_eq!(failed, 2, "both publishes find audit down at first");
    assert!(sim.events().iter().any(|e| matches!(
        &e.kind,
        EventKind::Broker {
            event: BrokerEvent::EndpointRetryScheduled { .. }
        }
    )));
}

#[test]
fn consumer_chain_failure_leaves_the_message_for_redelivery() {
    let mut worker = consumer_spec(0);
    worker.chain = vec![call(2, 500)];
    let mut spec = world(vec![
        producer(
            "p",
            Target::Queue(QueueId(0)),
            &[0],
            body("bill"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("worker", worker),
        server("billing", 10, vec![]),
    ]);
    spec.queues.push(queue("jobs", 2));
    spec.links.push(rpc_link(1, 2, 5));
    spec.faults = vec![
        fault(
            0,
            FaultAction::Crash {
                service: ServiceId(2),
            },
        ),
        fault(
            1_000,
            FaultAction::Restart {
                service: ServiceId(2),
            },
        ),
    ];
    let sim = run(&spec);
    let outcomes: Vec<WorkOutcome> = sim
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::WorkFinished { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![WorkOutcome::Failed, WorkOutcome::Deleted],
        "first try fails (billing down), the redelivery succeeds"
    );
    let worker = service(&sim, "worker");
    assert_eq!(
        (worker.rpc_errors, worker.rpc_ok, worker.handled),
        (1, 1, 1)
    );
}

#[test]
fn server_error_rate_fails_about_that_share_of_calls() {
    let mut api = server("api", 1, vec![]);
    if let Behaviour::RpcServer(s) = &mut api.behaviour {
        s.error_rate = Chance(250_000);
    }
    let times: Vec<u64> = (0..400).map(|i| i * 10).collect();
    let mut spec = world(vec![caller("client", 1, &times, 1_000), api]);
    spec.links.push(rpc_link(0, 1, 1));
    let sim = run(&spec);
    let client = service(&sim, "client");
    assert_eq!(client.rpc_ok + client.rpc_errors, 400);
    assert!(
        (60..140).contains(&client.rpc_errors),
        "about 25% of 400, got {}",
        client.rpc_errors
    );
}

#[test]
fn rate_schedule_spaces_messages_evenly() {
    let mut spec = world(vec![ServiceSpec {
        name: "p".into(),
        behaviour: Behaviour::Producer(ProducerSpec {
            schedule: Schedule::Rate {
                per_second: 4,
                start: Millis(1_000),
                count: 6,
            },
            template: body("x{n}"),
            target: Target::Queue(QueueId(0)),
            retry: RetryPolicy::default(),
            timeout_ms: 100,
        }),
    }]);
    spec.queues.push(queue("q", 30));
    let sim = run(&spec);
    let times: Vec<u64> = of_kind(&sim, "sent").iter().map(|e| e.t.0).collect();
    assert_eq!(times, vec![1_000, 1_250, 1_500, 1_750, 2_000, 2_250]);
}

#[test]
fn world_view_shows_a_blocked_fifo_lane() {
    let template = MessageTemplate {
        body: "m{n}".into(),
        group_id: Some("g1".into()),
        dedup_id: Some("d{n}".into()),
        ..Default::default()
    };
    let mut slow = consumer_spec(0);
    slow.work = Latency::Fixed { ms: 10_000 };
    let mut spec = world(vec![
        producer(
            "p",
            Target::Queue(QueueId(0)),
            &[0, 1, 2],
            template,
            1_000,
            RetryPolicy::default(),
        ),
        consumer("c", slow),
    ]);
    spec.queues.push(queue("orders.fifo", 30));
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(Millis(100), 1_000);
    let view = sim.world().queue_view(QueueId(0)).unwrap();
    assert_eq!(view.groups.len(), 1);
    assert_eq!(view.groups[0].messages.len(), 3);
    assert_eq!(
        view.groups[0].blocked_by,
        Some(view.groups[0].messages[0].message)
    );
    assert_eq!(sim.service_status(ServiceId(1)), ServiceStatus::Working);
}

#[test]
fn transits_show_a_message_on_its_way() {
    let mut spec = world(vec![producer(
        "p",
        Target::Queue(QueueId(0)),
        &[0],
        body("x"),
        1_000,
        RetryPolicy::default(),
    )]);
    spec.queues.push(queue("q", 30));
    spec.links
        .push(messaging_link(0, Node::Queue(QueueId(0)), 40));
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(Millis(10), 100);
    let transits = sim.transits();
    assert_eq!(transits.len(), 1);
    assert_eq!(
        (transits[0].from, transits[0].to),
        (Node::Service(ServiceId(0)), Node::Queue(QueueId(0)))
    );
    assert_eq!(
        (transits[0].depart, transits[0].arrive),
        (Millis(0), Millis(40))
    );
    sim.run_until(Millis(45), 100);
    let back = sim.transits();
    assert_eq!(back.len(), 1, "the response travels back");
    assert_eq!(back[0].to, Node::Service(ServiceId(0)));
    sim.run_until(Millis(100), 100);
    assert!(sim.transits().is_empty());
}

#[test]
fn every_event_explains_itself_with_names() {
    let mut spec = world(vec![
        caller("client", 1, &[0], 100),
        server("api", 500, vec![]),
    ]);
    spec.links.push(rpc_link(0, 1, 10));
    let sim = run(&spec);
    for e in sim.events() {
        let why = sim.explain(&e);
        assert!(why.ends_with('.'), "{why}");
        assert!(why.contains("client") || why.contains("api"), "{why}");
    }
}

/// The determinism guard: this hash must be the same on every platform and every run. It
/// changes only when the trace format, an explanation or a semantic rule changes (then update
/// it deliberately, and check the native/wasm comparison again).
#[test]
fn trace_hash_is_pinned_for_a_reference_world() {
    let mut spec = world(vec![
        producer(
            "shop",
            topic_target(0),
            &[0, 30, 60],
            body("order {n}"),
            1_000,
            RetryPolicy {
                max_attempts: 2,
                backoff_ms: 100,
            },
        ),
        consumer(
            "billing",
            ConsumerSpec {
                work: Latency::Uniform {
                    min_ms: 5,
                    max_ms: 50,
                },
                ..consumer_spec(0)
            },
        ),
        consumer(
            "shipping",
            ConsumerSpec {
                work: Latency::Skewed {
                    min_ms: 5,
                    max_ms: 500,
                },
                ..consumer_spec(1)
            },
        ),
    ]);
    spec.queues = vec![queue("billing-q", 1), queue("shipping-q", 1)];
    spec.topics.push(topic("orders", &[0, 1]));
    spec.links.push(LinkSpec {
        latency_ms_min: 1,
        latency_ms_max: 30,
        ..messaging_link(0, Node::Topic(switchboard_engine::broker::TopicId(0)), 0)
    });
    spec.limits.until = Millis::from_secs(3);
    let sim = run(&spec);
    let again = run(&spec);
    assert_eq!(sim.trace_hash(), again.trace_hash());
    assert_eq!(
        sim.trace_hash(),
        PINNED,
        "trace:\n{}",
        sim.trace_lines().collect::<Vec<_>>().join("\n")
    );
}

const PINNED: u64 = 17295375135160127201;

#[test]
fn paused_server_answers_only_after_the_pause() {
    let mut spec = world(vec![
        caller("client", 1, &[100], 5_000),
        server("api", 10, vec![]),
    ]);
    spec.links.push(rpc_link(0, 1, 10));
    spec.faults.push(fault(
        0,
        FaultAction::Pause {
            service: ServiceId(1),
            for_ms: 1_000,
        },
    ));
    let sim = run(&spec);
    let completed = of_kind(&sim, "rpc_completed");
    assert_eq!(completed.len(), 1);
    assert_eq!(
        completed[0].t,
        Millis(1_020),
        "the request waits for the pause to end, then 10 ms work and 10 ms back"
    );
}

#[test]
fn lost_acknowledgements_make_the_producer_resend_and_the_fifo_queue_deduplicate() {
    let template = MessageTemplate {
        body: "pay {n}".into(),
        group_id: Some("acct".into()),
        dedup_id: Some("pay-{n}".into()),
        ..Default::default()
    };
    let mut spec = world(vec![producer(
        "app",
        Target::Queue(QueueId(0)),
        &[0],
        template,
        200,
        RetryPolicy {
            max_attempts: 2,
            backoff_ms: 10,
        },
    )]);
    spec.queues.push(queue("payments.fifo", 30));
    spec.links
        .push(messaging_link(0, Node::Queue(QueueId(0)), 5));
    spec.faults.push(fault(
        0,
        FaultAction::LoseResponses {
            link: LinkId(0),
            chance: Chance::ALWAYS,
        },
    ));
    let sim = run(&spec);
    let q = &sim.metrics().queues["payments.fifo"];
    assert_eq!(
        (
            q.counters.sent,
            q.counters.accepted,
            q.counters.deduplicated
        ),
        (2, 1, 1)
    );
    assert_eq!(
        of_kind(&sim, "send_failed").len(),
        2,
        "the producer never hears back"
    );
    assert_eq!(sim.metrics().links["app->payments.fifo"].lost, 2);
}

#[test]
fn run_until_never_reveals_an_event_after_its_time() {
    // The producer's timeout (a silent action once the send succeeded) sits between events.
    let mut spec = world(vec![producer(
        "p",
        Target::Queue(QueueId(0)),
        &[0, 5_000],
        body("x"),
        1_000,
        RetryPolicy::default(),
    )]);
    spec.queues.push(queue("q", 30));
    spec.links
        .push(messaging_link(0, Node::Queue(QueueId(0)), 10));
    let mut sim = Sim::new(&spec).unwrap();
    for t in [0, 15, 999, 1_000, 1_001, 4_000, 5_005] {
        sim.run_until(Millis(t), u64::MAX);
        assert!(
            sim.events().iter().all(|e| e.t <= Millis(t)),
            "an event after {t}"
        );
    }
    assert_eq!(of_kind(&sim, "sent").len(), 1);
}

#[test]
fn transits_flag_at_least_once_copies_and_redeliveries() {
    let mut spec = world(vec![
        producer(
            "p",
            Target::Queue(QueueId(0)),
            &[0],
            body("x"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("c", consumer_spec(0)),
    ]);
    let mut q = queue("q", 1);
    q.duplicate_chance = Chance::ALWAYS;
    spec.queues.push(q);
    spec.links
        .push(messaging_link(1, Node::Queue(QueueId(0)), 20));
    spec.limits.until = Millis::from_secs(5);
    let mut sim = Sim::new(&spec).unwrap();
    let mut seen_duplicate = None;
    while sim.step().is_some() {
        if let Some(t) = sim.transits().into_iter().find(|t| t.duplicate) {
            seen_duplicate = t.message;
            break;
        }
    }
    let copy = seen_duplicate.expect("a stray copy travels to the consumer");
    let injected = sim.events().iter().any(|e| matches!(&e.kind, EventKind::Broker { event: BrokerEvent::DuplicateInjected { copy: c, .. } } if *c == copy));
    assert!(
        injected,
        "the flagged message is a copy the queue left behind"
    );
}
