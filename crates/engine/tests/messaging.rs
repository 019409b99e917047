//! Messaging behaviours written on the broker API: producers with retries, consumers with
//! crashes, idempotency, heartbeats and skipped deletes, scripted clients, topic fan-out.

mod common;

use common::*;
use switchboard_engine::broker::{BrokerEvent, Chance, Millis, QueueId};
use switchboard_engine::*;

fn broker_events(sim: &Sim) -> Vec<BrokerEvent> {
    sim.events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Broker { event } => Some(event),
            _ => None,
        })
        .collect()
}

#[test]
fn producer_retry_keeps_dedup_id() {
    // The first send reaches orders.fifo, but its response is dropped on the way back; the
    // producer times out and retries with the same dedup id, which the queue deduplicates.
    let template = MessageTemplate {
        body: "order {n}".into(),
        group_id: Some("g1".into()),
        dedup_id: Some("order-{n}".into()),
        ..Default::default()
    };
    let mut spec = world(vec![producer(
        "shop",
        Target::Queue(QueueId(0)),
        &[0],
        template,
        500,
        RetryPolicy {
            max_attempts: 3,
            backoff_ms: 100,
        },
    )]);
    spec.queues.push(queue("orders.fifo", 30));
    spec.links
        .push(messaging_link(0, Node::Queue(QueueId(0)), 10));
    spec.faults = vec![
        fault(
            5,
            FaultAction::Degrade {
                link: LinkId(0),
                drop: Chance::ALWAYS,
                delay_ms: 0,
            },
        ),
        fault(20, FaultAction::Restore { link: LinkId(0) }),
    ];
    let sim = run(&spec);
    let events = broker_events(&sim);
    let accepted: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, BrokerEvent::Accepted { .. }))
        .collect();
    assert_eq!(accepted.len(), 1, "only one copy enters the queue");
    let dedup: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            BrokerEvent::Deduplicated { dedup_id, .. } => Some(dedup_id.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(dedup, vec!["order-1".to_string()]);
    let failed = of_kind(&sim, "send_failed");
    let sent = of_kind(&sim, "sent");
    assert_eq!((failed.len(), sent.len()), (1, 1));
    match (&failed[0].kind, &sent[0].kind) {
        (
            EventKind::SendFailed {
                origin: o1,
                failure: Failure::Timeout,
                ..
            },
            EventKind::Sent {
                origin: o2,
                attempt: 2,
                ..
            },
        ) => assert_eq!(o1, o2),
        other => panic!("unexpected {other:?}"),
    }
    let q = &sim.metrics().queues["orders.fifo"];
    assert_eq!(
        (
            q.counters.sent,
            q.counters.accepted,
            q.counters.deduplicated
        ),
        (2, 1, 1)
    );
}

#[test]
fn consumer_crash_redelivers_after_visibility_timeout() {
    let mut worker = consumer_spec(0);
    worker.work = Latency::Fixed { ms: 1_000 };
    let mut spec = world(vec![
        producer(
            "app",
            Target::Queue(QueueId(0)),
            &[0],
            body("job"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("worker", worker),
    ]);
    spec.queues.push(queue("jobs", 5));
    spec.faults = vec![
        fault(
            500,
            FaultAction::Crash {
                service: ServiceId(1),
            },
        ),
        fault(
            1_000,
            FaultAction::Restart {
                service: ServiceId(1),
            },
        ),
    ];
    let sim = run(&spec);
    let events = broker_events(&sim);
    let expired: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, BrokerEvent::VisibilityExpired { .. }))
        .collect();
    assert_eq!(expired.len(), 1, "the crashed worker never deleted it");
    let counts: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            BrokerEvent::Received { receive_count, .. } => Some(*receive_count),
            _ => None,
        })
        .collect();
    assert_eq!(counts, vec![1, 2]);
    let redelivered = of_kind(&sim, "work_started")
        .into_iter()
        .find(|e| {
            matches!(
                e.kind,
                EventKind::WorkStarted {
                    receive_count: 2,
                    ..
                }
            )
        })
        .unwrap();
    assert!(
        redelivered.t >= Millis(5_000),
        "not before the visibility timeout"
    );
    assert_eq!(service(&sim, "worker").handled, 1);
    let q = &sim.metrics().queues["jobs"];
    assert_eq!(
        (
            q.counters.deleted,
            q.counters.redelivered,
            q.counters.visible,
            q.counters.in_flight
        ),
        (1, 1, 0, 0)
    );
}

fn redelivering_world(idempotent: bool) -> WorldSpec {
    let mut worker = consumer_spec(0);
    worker.idempotent = idempotent;
    let mut spec = world(vec![
        producer(
            "app",
            Target::Queue(QueueId(0)),
            &[0, 10, 20, 30, 40],
            body("job {n}"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("worker", worker),
    ]);
    spec.queues.push(queue("jobs", 2));
    // Deletes are skipped for the first 700 ms, so the first messages come back.
    spec.faults = vec![
        fault(
            0,
            FaultAction::SkipDeletes {
                service: ServiceId(1),
                on: true,
            },
        ),
        fault(
            700,
            FaultAction::SkipDeletes {
                service: ServiceId(1),
                on: false,
            },
        ),
    ];
    spec
}

#[test]
fn idempotent_consumer_handles_each_origin_once() {
    let naive = run(&redelivering_world(false));
    let naive_worker = service(&naive, "worker");
    assert!(
        naive_worker.handled_more_than_once > 0,
        "the naive consumer repeats side effects"
    );
    let careful = run(&redelivering_world(true));
    let worker = service(&careful, "worker");
    assert_eq!((worker.handled, worker.handled_more_than_once), (5, 0));
    assert_eq!(
        of_kind(&careful, "duplicate_skipped").len() as u64,
        naive_worker.handled_more_than_once
    );
    assert_eq!(careful.metrics().queues["jobs"].counters.deleted, 5);
}

fn slow_worker_world(heartbeat: Option<Heartbeat>) -> WorldSpec {
    let mut worker = consumer_spec(0);
    worker.work = Latency::Fixed { ms: 5_000 };
    worker.heartbeat = heartbeat;
    let mut spec = world(vec![
        producer(
            "app",
            Target::Queue(QueueId(0)),
            &[0],
            body("job"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("worker", worker),
    ]);
    spec.queues.push(queue("jobs", 2));
    spec.limits.until = Millis::from_secs(20);
    spec
}

#[test]
fn visibility_heartbeat_prevents_redelivery() {
    let without = run(&slow_worker_world(None));
    assert!(
        broker_events(&without)
            .iter()
            .any(|e| matches!(e, BrokerEvent::VisibilityExpired { .. })),
        "control: 5 s of work outlives a 2 s timeout"
    );
    let with = run(&slow_worker_world(Some(Heartbeat {
        every_ms: 1_000,
        extend_to_ms: 2_000,
    })));
    let events = broker_events(&with);
    assert!(!events
        .iter()
        .any(|e| matches!(e, BrokerEvent::VisibilityExpired { .. })));
    assert!(of_kind(&with, "visibility_extended").len() >= 4);
    let q = &with.metrics().queues["jobs"];
    assert_eq!((q.counters.received, q.counters.deleted), (1, 1));
}

#[test]
fn skip_delete_fault_causes_redelivery() {
    let mut spec = world(vec![
        producer(
            "app",
            Target::Queue(QueueId(0)),
            &[0],
            body("job"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("worker", consumer_spec(0)),
    ]);
    spec.queues.push(queue("jobs", 3));
    spec.faults = vec![
        fault(
            0,
            FaultAction::SkipDeletes {
                service: ServiceId(1),
                on: true,
            },
        ),
        fault(
            1_000,
            FaultAction::SkipDeletes {
                service: ServiceId(1),
                on: false,
            },
        ),
    ];
    let sim = run(&spec);
    let skipped = of_kind(&sim, "work_finished")
        .into_iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::WorkFinished {
                    outcome: WorkOutcome::DeleteSkipped,
                    ..
                }
            )
        })
        .count();
    assert_eq!(skipped, 1);
    let q = &sim.metrics().queues["jobs"];
    assert_eq!(
        (
            q.counters.received,
            q.counters.redelivered,
            q.counters.deleted
        ),
        (2, 1, 1)
    );
    assert_eq!(service(&sim, "worker").handled_more_than_once, 1);
}

#[test]
fn scripted_client_records_calls_and_results() {
    let foreign = switchboard_engine::broker::ReceiptHandle::new(
        QueueId(1),
        switchboard_engine::broker::MessageId(999),
        1,
    );
    let script = ScriptSpec {
        calls: vec![
            ScriptedCall {
                at: Millis(0),
                call: ApiCall::SendMessage {
                    queue: QueueId(0),
                    message: body("hello"),
                    delay_seconds: None,
                },
            },
            ScriptedCall {
                at: Millis(10),
                call: ApiCall::ReceiveMessage {
                    queue: QueueId(0),
                    max_number_of_messages: 10,
                    wait_time_seconds: 0,
                    visibility_timeout: None,
                    receive_request_attempt_id: None,
                },
            },
            ScriptedCall {
                at: Millis(20),
                call: ApiCall::DeleteMessage {
                    queue: QueueId(0),
                    receipt: ReceiptRef::NthOfLastReceive(0),
                },
            },
            ScriptedCall {
                at: Millis(30),
                call: ApiCall::DeleteMessage {
                    queue: QueueId(0),
                    receipt: ReceiptRef::Literal(foreign),
                },
            },
        ],
    };
    let mut spec = world(vec![ServiceSpec {
        name: "me".into(),
        behaviour: Behaviour::ScriptedClient(script),
    }]);
    spec.queues = vec![queue("music", 30), queue("other", 30)];
    let sim = run(&spec);
    let lines: Vec<serde_json::Value> = sim
        .trace_lines()
        .map(|l| serde_json::from_str(&l).unwrap())
        .filter(|v: &serde_json::Value| v["kind"] == "client_call")
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["call"], "SendMessage");
    assert_eq!(lines[0]["params"]["MessageBody"], "hello");
    let sent_id = lines[0]["result"]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(lines[1]["call"], "ReceiveMessage");
    let got = &lines[1]["result"]["messages"][0];
    assert_eq!(
        (
            got["message_id"].as_str().unwrap(),
            got["body"].as_str().unwrap(),
            got["receive_count"].as_u64().unwrap()
        ),
        (sent_id.as_str(), "hello", 1)
    );
    assert_eq!(lines[2]["params"]["ReceiptHandle"], got["receipt_handle"]);
    assert!(lines[2].get("error").is_none(), "{}", lines[2]);
    assert_eq!(lines[3]["error"], "ReceiptHandleIsInvalid");
    assert_eq!(lines[3]["queue"], "music");
    assert_eq!(sim.metrics().queues["music"].counters.deleted, 1);
}

#[test]
fn topic_fanout_reaches_all_consumers() {
    let times: Vec<u64> = (0..10).map(|i| i * 100).collect();
    let mut spec = world(vec![
        producer(
            "shop",
            topic_target(0),
            &times,
            body("order {n}"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("billing", consumer_spec(0)),
        consumer("shipping", consumer_spec(1)),
        consumer("analytics", consumer_spec(2)),
    ]);
    spec.queues = vec![
        queue("billing-q", 30),
        queue("shipping-q", 30),
        queue("analytics-q", 30),
    ];
    spec.topics.push(topic("orders", &[0, 1, 2]));
    let sim = run(&spec);
    for name in ["billing", "shipping", "analytics"] {
        assert_eq!(service(&sim, name).handled, 10, "{name}");
    }
    let m = sim.metrics();
    assert_eq!(
        (m.topics["orders"].published, m.topics["orders"].delivered),
        (10, 30)
    );
}

#[test]
fn connection_count_mesh_is_n_squared_over_two() {
    let n = 6u32;
    let mut mesh = world(
        (0..n)
            .map(|i| server(&format!("s{i}"), 1, vec![]))
            .collect(),
    );
    for a in 0..n {
        for b in (a + 1)..n {
            mesh.links.push(rpc_link(a, b, 1));
        }
    }
    assert_eq!(
        Sim::new(&mesh).unwrap().metrics().connections,
        (n * (n - 1) / 2) as u64
    );
    let mut brokered = world(vec![producer(
        "p",
        Target::Queue(QueueId(0)),
        &[0],
        body("x"),
        1_000,
        RetryPolicy::default(),
    )]);
    brokered
        .services
        .extend((1..n).map(|i| consumer(&format!("c{i}"), consumer_spec(0))));
    brokered.queues.push(queue("q", 30));
    assert_eq!(Sim::new(&brokered).unwrap().metrics().connections, n as u64);
}

#[test]
fn fifo_consumers_never_see_a_group_out_of_order() {
    let template = MessageTemplate {
        body: "m {n}".into(),
        group_id: Some("g{n}".into()),
        dedup_id: Some("d{n}".into()),
        ..Default::default()
    };
    let mut grouped = template.clone();
    grouped.group_id = Some("shared".into());
    let times: Vec<u64> = (0..30).map(|i| i * 10).collect();
    let mut spec = world(vec![
        producer(
            "p",
            Target::Queue(QueueId(0)),
            &times,
            grouped,
            1_000,
            RetryPolicy::default(),
        ),
        consumer(
            "c1",
            ConsumerSpec {
                batch_size: 3,
                ..consumer_spec(0)
            },
        ),
        consumer(
            "c2",
            ConsumerSpec {
                batch_size: 3,
                ..consumer_spec(0)
            },
        ),
    ]);
    spec.queues.push(queue("orders.fifo", 30));
    let sim = run(&spec);
    let m = sim.metrics();
    assert_eq!(m.services["c1"].handled + m.services["c2"].handled, 30);
    assert_eq!(
        m.services["c1"].order_violations + m.services["c2"].order_violations,
        0
    );
}

#[test]
fn scripted_long_poll_returns_when_a_message_arrives_and_its_receipt_can_delete() {
    let receive = ApiCall::ReceiveMessage {
        queue: QueueId(0),
        max_number_of_messages: 1,
        wait_time_seconds: 5,
        visibility_timeout: None,
        receive_request_attempt_id: None,
    };
    let script = ScriptSpec {
        calls: vec![
            ScriptedCall {
                at: Millis(0),
                call: receive,
            },
            ScriptedCall {
                at: Millis(1_000),
                call: ApiCall::SendMessage {
                    queue: QueueId(0),
                    message: body("late"),
                    delay_seconds: None,
                },
            },
            ScriptedCall {
                at: Millis(2_000),
                call: ApiCall::DeleteMessage {
                    queue: QueueId(0),
                    receipt: ReceiptRef::NthOfLastReceive(0),
                },
            },
        ],
    };
    let mut spec = world(vec![ServiceSpec {
        name: "me".into(),
        behaviour: Behaviour::ScriptedClient(script),
    }]);
    spec.queues.push(queue("q", 30));
    let sim = run(&spec);
    let completed = sim.events().iter().find(|e| matches!(&e.kind, EventKind::Broker { event: BrokerEvent::PollCompleted { messages, .. } } if messages.len() == 1)).unwrap();
    assert_eq!(
        completed.t,
        Millis(1_000),
        "the waiting poll returns as soon as the message arrives"
    );
    let lines: Vec<serde_json::Value> = sim
        .trace_lines()
        .map(|l| serde_json::from_str(&l).unwrap())
        .filter(|v: &serde_json::Value| v["kind"] == "client_call")
        .collect();
    assert!(lines[0]["result"]["waiting"].is_string());
    assert!(lines[2].get("error").is_none(), "{}", lines[2]);
    assert_eq!(sim.metrics().queues["q"].counters.deleted, 1);
}

#[test]
fn pause_past_the_visibility_timeout_hands_the_message_to_another_consumer() {
    let mut stalls = consumer_spec(0);
    stalls.pause = Chance::ALWAYS;
    stalls.pause_ms = 5_000;
    let mut spec = world(vec![
        producer(
            "app",
            Target::Queue(QueueId(0)),
            &[0],
            body("job"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("slow", stalls),
        consumer(
            "other",
            ConsumerSpec {
                idle_backoff_ms: 500,
                ..consumer_spec(0)
            },
        ),
    ]);
    spec.queues.push(queue("jobs", 2));
    let sim = run(&spec);
    let m = sim.metrics();
    assert_eq!(
        (m.services["slow"].handled, m.services["other"].handled),
        (1, 1),
        "both handle it: a duplicate effect"
    );
    let q = &m.queues["jobs"];
    assert_eq!((q.counters.received, q.counters.redelivered), (2, 1));
    let slow_delete = sim
        .events()
        .iter()
        .find(|e| {
            matches!(
                e.kind,
                EventKind::WorkFinished {
                    service: ServiceId(1),
                    ..
                }
            )
        })
        .unwrap();
    assert!(slow_delete.t >= Millis(5_000));
}
