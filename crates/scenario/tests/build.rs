//! `Scenario::to_spec`: names become ids, SQS attributes become seconds, dead-letter queues are
//! created before the queues that use them, implied links appear, and `after:` becomes a trigger.

use switchboard_engine::broker::{Millis, SubscriptionTarget};
use switchboard_engine::{Behaviour, FaultAction, Node, Schedule, Target, Trigger};
use switchboard_scenario::load;

const TEXT: &str = r#"
version: 1
title: Build
seed: 9
duration: 1m
max_events: 5000
services:
  - name: shop
    producer: {to: orders, every: 250ms, count: 8, group: g1, dedup_id: "d{n}"}
  - name: worker
    consumer: {queue: orders, batch: 5, wait: 20s, outcome: fail}
  - name: odd
    producer: {to: billing, every: 300ms, count: 3}
  - name: billing
    rpc_server: {latency: 5ms..15ms, concurrency: 2, error_rate: 1%}
  - name: audit
    rpc_server: {}
queues:
  - name: orders
    fifo: false
    visibility_timeout: 45s
    dead_letter: {queue: orders-dlq, max_receive_count: 4}
  - name: orders-dlq
topics:
  - name: events
    subscriptions:
      - {service: audit, filter: {type: [a]}}
faults:
  - {after: received(worker) >= 2, crash: worker}
  - {at: 5s, partition: [odd, billing]}
"#;

#[test]
fn to_spec_resolves_names_units_and_order() {
    let scenario = load(TEXT).unwrap_or_else(|d| panic!("{}", d[0].render("t")));
    let spec = scenario.to_spec().unwrap();
    assert_eq!(spec.seed, 9);
    assert_eq!(
        (spec.limits.until, spec.limits.max_events),
        (Millis(60_000), 5_000)
    );
    let names: Vec<&str> = spec.queues.iter().map(|q| q.name.as_str()).collect();
    let orders = names.iter().position(|n| *n == "orders").unwrap();
    let dlq = names.iter().position(|n| *n == "orders-dlq").unwrap();
    assert!(
        dlq < orders,
        "a dead-letter queue is created first: {names:?}"
    );
    let q = &spec.queues[orders];
    assert_eq!(q.visibility_timeout_s, 45);
    assert_eq!(
        q.redrive
            .map(|r| (r.dead_letter.0 as usize, r.max_receive_count)),
        Some((dlq, 4))
    );
    match &spec.services[0].behaviour {
        Behaviour::Producer(p) => {
            assert!(
                matches!(
                    p.schedule,
                    Schedule::Rate {
                        per_second: 4,
                        count: 8,
                        ..
                    }
                ),
                "{:?}",
                p.schedule
            );
            assert_eq!(
                p.target,
                Target::Queue(switchboard_engine::broker::QueueId(orders as u32))
            );
        }
        other => panic!("{other:?}"),
    }
    match &spec.services[2].behaviour {
        Behaviour::Producer(p) => assert!(
            matches!(&p.schedule, Schedule::Times(t) if t.len() == 3 && t[2] == Millis(600))
        ),
        other => panic!("{other:?}"),
    }
    match &spec.services[1].behaviour {
        Behaviour::Consumer(c) => {
            assert_eq!((c.batch_size, c.wait_ms, c.fail.0), (5, 20_000, 1_000_000));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        spec.topics[0].subscriptions[0].target,
        SubscriptionTarget::Endpoint(4)
    );
    assert_eq!(
        spec.topics[0].subscriptions[0].filter_policy.as_deref(),
        Some(r#"{"type":["a"]}"#)
    );
}

#[test]
fn implied_links_join_everyone_who_talks() {
    let scenario = load(TEXT).unwrap();
    let spec = scenario.to_spec().unwrap();
    let names: Vec<String> = scenario.links_resolved().iter().map(|l| l.name()).collect();
    assert!(names.contains(&"shop->orders".to_string()), "{names:?}");
    assert!(names.contains(&"orders->worker".to_string()), "{names:?}");
    assert!(names.contains(&"odd->billing".to_string()), "{names:?}");
    assert!(names.contains(&"events->audit".to_string()), "{names:?}");
    assert_eq!(spec.links.len(), names.len());
    assert!(spec
        .links
        .iter()
        .any(|l| matches!((l.source, l.target), (Node::Service(_), Node::Service(_)))));
}

#[test]
fn faults_become_engine_triggers_and_actions() {
    let spec = load(TEXT).unwrap().to_spec().unwrap();
    assert!(matches!(
        spec.faults[0].at,
        Trigger::AfterEvent { nth: 2, .. }
    ));
    assert!(matches!(spec.faults[0].action, FaultAction::Crash { .. }));
    assert_eq!(spec.faults[1].at, Trigger::At(Millis(5_000)));
    assert!(matches!(
        spec.faults[1].action,
        FaultAction::Partition { .. }
    ));
}

#[test]
fn after_conditions_the_engine_cannot_trigger_on_are_refused() {
    let text = TEXT.replace(
        "after: received(worker) >= 2",
        "after: visible(orders) >= 2",
    );
    let d = load(&text).unwrap_err();
    assert!(
        d.iter()
            .any(|d| d.message.contains("a fault's `after:` is one")),
        "{d:?}"
    );
}
