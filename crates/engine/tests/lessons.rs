//! Behaviours the lessons need beyond the basics: a fault between two steps of a handler chain
//! (a fan-out worker dying halfway), idempotency stores shared between workers, per-consumer
//! busy and idle time, and lost responses explained as such.

mod common;

use common::*;
use switchboard_engine::broker::{Chance, Millis, QueueId};
use switchboard_engine::*;

fn send(queue: u32) -> Step {
    Step::Send {
        queue: QueueId(queue),
        template: body("copy of {origin}"),
    }
}

/// shop -> inbound (visibility 5 s) -> router copying to billing-q and email-q.
fn fanout_world(trigger_nth: u32) -> WorldSpec {
    let mut router = consumer_spec(0);
    router.work = Latency::Fixed { ms: 20 };
    router.chain = vec![send(1), send(2)];
    let mut spec = world(vec![
        producer(
            "shop",
            Target::Queue(QueueId(0)),
            &[1_000],
            body("order 1"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("router", router),
        consumer("billing", consumer_spec(1)),
        consumer("email", consumer_spec(2)),
    ]);
    spec.queues = vec![
        queue("inbound", 5),
        queue("billing-q", 30),
        queue("email-q", 30),
    ];
    spec.faults = vec![
        FaultSpec {
            at: Trigger::AfterEvent {
                kind: EventMatch::ChainSent {
                    service: ServiceId(1),
                },
                nth: trigger_nth,
            },
            action: FaultAction::Crash {
                service: ServiceId(1),
            },
        },
        fault(
            3_000,
            FaultAction::Restart {
                service: ServiceId(1),
            },
        ),
    ];
    spec
}

#[test]
fn chain_sent_trigger_crashes_the_worker_between_two_copies() {
    let sim = run(&fanout_world(1));
    let kinds: Vec<&str> = sim
        .events()
        .iter()
        .filter(|e| e.t == Millis(1_020))
        .map(|e| e.kind.kind_name())
        .filter(|k| matches!(*k, "chain_sent" | "fault" | "crashed"))
        .collect();
    assert_eq!(
        kinds,
        ["chain_sent", "fault", "crashed"],
        "the crash lands right after the first copy, before the second"
    );
    let m = sim.metrics();
    assert_eq!(m.queues["inbound"].counters.redelivered, 1);
    assert_eq!(
        m.services["router"].chain_sent, 3,
        "1 before the crash, 2 after redelivery"
    );
    let (billing, email) = (&m.services["billing"], &m.services["email"]);
    assert_eq!((billing.handled, billing.handled_more_than_once), (2, 1));
    assert_eq!((email.handled, email.handled_more_than_once), (1, 0));
}

#[test]
fn chain_sent_trigger_counts_every_chain_send_of_the_service() {
    // Crashing after the 2nd chain send (the email copy) still skips the delete: both
    // subscribers got their copy before the crash, so the redelivery duplicates both.
    let sim = run(&fanout_world(2));
    let m = sim.metrics();
    assert_eq!(m.queues["inbound"].counters.redelivered, 1);
    assert_eq!(m.services["billing"].handled_more_than_once, 1);
    assert_eq!(m.services["email"].handled_more_than_once, 1);
}

/// Worker `a` handles the one job then crashes before deleting it; worker `b` (paused for the
/// first second, so `a` receives first) gets the redelivery.
fn two_workers(store_a: Option<&str>, store_b: Option<&str>) -> Sim {
    let mut a = consumer_spec(0);
    a.crash = Chance::ALWAYS;
    a.idempotent = true;
    a.idempotency_store = store_a.map(String::from);
    let mut b = consumer_spec(0);
    b.idempotent = true;
    b.idempotency_store = store_b.map(String::from);
    let mut spec = world(vec![
        producer(
            "shop",
            Target::Queue(QueueId(0)),
            &[0],
            body("order"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("a", a),
        consumer("b", b),
    ]);
    spec.queues = vec![queue("orders", 2)];
    spec.faults = vec![fault(
        0,
        FaultAction::Pause {
            service: ServiceId(2),
            for_ms: 1_000,
        },
    )];
    run(&spec)
}

#[test]
fn shared_idempotency_store_skips_a_duplicate_redelivered_to_another_worker() {
    let sim = two_workers(Some("orders-db"), Some("orders-db"));
    assert_eq!(sim.metrics().queues["orders"].counters.redelivered, 1);
    assert_eq!(service(&sim, "a").handled, 1);
    assert_eq!(service(&sim, "b").handled, 0, "b sees a's processed origin");
    let skipped = of_kind(&sim, "duplicate_skipped");
    assert_eq!(skipped.len(), 1);
    let why = sim.explain(&skipped[0]);
    assert!(why.contains("shared store orders-db"), "{why}");
    assert_eq!(sim.metrics().queues["orders"].counters.deleted, 1);
}

#[test]
fn private_idempotency_stores_do_not_see_other_workers() {
    let sim = two_workers(None, None);
    assert_eq!(sim.metrics().queues["orders"].counters.redelivered, 1);
    assert_eq!(service(&sim, "a").handled, 1);
    assert_eq!(
        service(&sim, "b").handled,
        1,
        "b's own store is empty: processed twice"
    );
    assert!(of_kind(&sim, "duplicate_skipped").is_empty());
}

#[test]
fn different_store_names_are_different_stores() {
    let sim = two_workers(Some("db-1"), Some("db-2"));
    assert_eq!(service(&sim, "b").handled, 1);
}

#[test]
fn consumer_busy_ms_is_time_with_a_message_in_hand_and_the_rest_is_idle() {
    let mut spec = world(vec![
        producer(
            "shop",
            Target::Queue(QueueId(0)),
            &[5_000],
            body("order"),
            1_000,
            RetryPolicy::default(),
        ),
        consumer("worker", consumer_spec(0)),
        consumer("bystander", consumer_spec(1)),
        consumer("victim", consumer_spec(1)),
    ]);
    spec.queues = vec![queue("orders", 30), queue("empty", 30)];
    spec.faults = vec![fault(
        2_000,
        FaultAction::Crash {
            service: ServiceId(3),
        },
    )];
    spec.limits.until = Millis::from_secs(10);
    let sim = run(&spec);
    let m = sim.metrics();
    let t = m.t_ms;
    assert!(t > 9_000, "the consumers keep polling until the end ({t})");
    let worker = &m.services["worker"];
    assert_eq!(worker.busy_ms, 100, "100 ms of work on the one message");
    assert_eq!(worker.idle_ms, t - 100);
    let bystander = &m.services["bystander"];
    assert_eq!((bystander.busy_ms, bystander.idle_ms), (0, t));
    let victim = &m.services["victim"];
    assert_eq!(
        (victim.busy_ms, victim.idle_ms),
        (0, 2_000),
        "crashed time is neither busy nor idle"
    );
    assert_eq!(
        (m.services["shop"].busy_ms, m.services["shop"].idle_ms),
        (0, 0)
    );
}

#[test]
fn busy_and_idle_time_survive_seek() {
    let mut spec = fanout_world(1);
    spec.limits.until = Millis::from_secs(20);
    let mut sim = run(&spec);
    let end = sim.metrics();
    let n = sim.event_count();
    sim.seek(n / 2);
    let half = sim.metrics();
    sim.seek(n);
    assert_eq!(sim.metrics().services, end.services);
    assert!(half.services["billing"].idle_ms <= end.services["billing"].idle_ms);
}

#[test]
fn a_lost_response_is_explained_as_work_done_but_answer_lost() {
    let mut spec = world(vec![producer(
        "shop",
        Target::Queue(QueueId(0)),
        &[0],
        body("order"),
        500,
        RetryPolicy::default(),
    )]);
    spec.queues = vec![queue("orders", 30)];
    spec.links = vec![messaging_link(0, Node::Queue(QueueId(0)), 10)];
    spec.faults = vec![fault(
        0,
        FaultAction::LoseResponses {
            link: LinkId(0),
            chance: Chance::ALWAYS,
        },
    )];
    let sim = run(&spec);
    assert_eq!(sim.metrics().queues["orders"].counters.accepted, 1);
    let lost = of_kind(&sim, "lost");
    assert_eq!(lost.len(), 1);
    let why = sim.explain(&lost[0]);
    assert!(
        why.contains("reached orders")
            && why.contains("response to shop was lost on the way back")
            && why.contains("time out and may retry"),
        "{why}"
    );
    assert!(!why.contains("drop fault"), "{why}");
}
