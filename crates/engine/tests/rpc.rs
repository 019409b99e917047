//! RPC links and servers: latency on the way there and back, timeouts, crashes, partitions,
//! concurrency limits, and failures travelling up a chain of synchronous calls.

mod common;

use common::*;
use switchboard_engine::broker::Millis;
use switchboard_engine::*;

#[test]
fn rpc_call_round_trip_takes_two_link_latencies() {
    let mut spec = world(vec![
        caller("client", 1, &[0], 5_000),
        server("api", 0, vec![]),
    ]);
    spec.links.push(rpc_link(0, 1, 50));
    let sim = run(&spec);
    let completed = of_kind(&sim, "rpc_completed");
    assert_eq!(completed.len(), 1);
    assert_eq!(
        completed[0].t,
        Millis(100),
        "50 ms there + 0 ms work + 50 ms back"
    );
    assert!(matches!(
        completed[0].kind,
        EventKind::RpcCompleted { failure: None, .. }
    ));
    let client = service(&sim, "client");
    assert_eq!(
        (
            client.rpc_calls,
            client.rpc_ok,
            client.rpc_errors,
            client.rpc_timeouts
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(service(&sim, "api").handled, 1);
}

#[test]
fn rpc_timeout_cascades_up_the_chain() {
    // client -> a -> b -> c, and c is far too slow: b times out, fails, and the failure goes up.
    let mut spec = world(vec![
        caller("client", 1, &[0], 10_000),
        server("a", 0, vec![call(2, 5_000), Step::Reply]),
        server("b", 0, vec![call(3, 1_000), Step::Reply]),
        server("c", 60_000, vec![]),
    ]);
    spec.links = vec![rpc_link(0, 1, 10), rpc_link(1, 2, 10), rpc_link(2, 3, 10)];
    let sim = run(&spec);
    let b = service(&sim, "b");
    assert_eq!((b.rpc_timeouts, b.rpc_ok), (1, 0), "b gives up on c");
    let a = service(&sim, "a");
    assert_eq!(
        (a.rpc_errors, a.rpc_timeouts, a.rpc_ok),
        (1, 0, 0),
        "a gets b's error, not a timeout"
    );
    let client = service(&sim, "client");
    assert_eq!(
        (client.rpc_errors, client.rpc_timeouts, client.rpc_ok),
        (1, 0, 0)
    );
    // b's timeout at 20 + 1000, then the errors travel back 10 ms per hop.
    let timed_out = of_kind(&sim, "rpc_timed_out");
    assert_eq!(timed_out[0].t, Millis(1_020));
    let completed = of_kind(&sim, "rpc_completed");
    let client_done = completed
        .iter()
        .find(|e| {
            matches!(
                e.kind,
                EventKind::RpcCompleted {
                    caller: ServiceId(0),
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(client_done.t, Millis(1_040));
    assert_eq!(
        service(&sim, "c").handled,
        1,
        "c still finishes its (useless) work"
    );
    assert!(
        !of_kind(&sim, "late_response").is_empty(),
        "c's answer arrives after b stopped waiting"
    );
}

#[test]
fn crashed_service_fails_calls_fast_or_times_out() {
    // Call 1 reaches api while it is down: refused at once. Call 2 is in api's hands when it
    // crashes: no reply ever comes, so the caller times out.
    let mut spec = world(vec![
        caller("client", 1, &[100, 2_000], 1_000),
        server("api", 500, vec![]),
    ]);
    spec.links.push(rpc_link(0, 1, 20));
    spec.faults = vec![
        fault(
            0,
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
        fault(
            2_100,
            FaultAction::Crash {
                service: ServiceId(1),
            },
        ),
    ];
    let sim = run(&spec);
    let completed = of_kind(&sim, "rpc_completed");
    assert_eq!(completed.len(), 1);
    assert_eq!(
        completed[0].t,
        Millis(140),
        "refused after one round trip, long before the timeout"
    );
    assert!(matches!(
        completed[0].kind,
        EventKind::RpcCompleted {
            failure: Some(Failure::Refused),
            ..
        }
    ));
    let timed_out = of_kind(&sim, "rpc_timed_out");
    assert_eq!(timed_out.len(), 1);
    assert_eq!(timed_out[0].t, Millis(3_000));
    let client = service(&sim, "client");
    assert_eq!((client.rpc_errors, client.rpc_timeouts), (1, 1));
}

#[test]
fn partitioned_link_times_out_calls() {
    let mut spec = world(vec![
        caller("client", 1, &[100, 5_000], 1_000),
        server("api", 10, vec![]),
    ]);
    spec.links.push(rpc_link(0, 1, 20));
    spec.faults = vec![
        fault(0, FaultAction::Partition { link: LinkId(0) }),
        fault(3_000, FaultAction::Heal { link: LinkId(0) }),
    ];
    let sim = run(&spec);
    let lost = of_kind(&sim, "lost");
    assert_eq!(lost.len(), 1);
    assert!(matches!(
        lost[0].kind,
        EventKind::Lost {
            cause: LossCause::Partition,
            response: false,
            ..
        }
    ));
    assert_eq!(of_kind(&sim, "rpc_timed_out")[0].t, Millis(1_100));
    let client = service(&sim, "client");
    assert_eq!(
        (client.rpc_timeouts, client.rpc_ok),
        (1, 1),
        "after the heal the second call succeeds"
    );
}

#[test]
fn blocked_caller_is_visible_in_the_world_view() {
    let mut spec = world(vec![
        caller("client", 1, &[0], 10_000),
        server("a", 0, vec![call(2, 5_000)]),
        server("b", 1_000, vec![]),
    ]);
    spec.links = vec![rpc_link(0, 1, 10), rpc_link(1, 2, 10)];
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(Millis(500), 1_000);
    assert_eq!(
        sim.service_status(ServiceId(1)),
        ServiceStatus::BlockedOnRpc {
            since: Millis(10),
            target: ServiceId(2)
        }
    );
    assert_eq!(sim.service_status(ServiceId(2)), ServiceStatus::Working);
    sim.run_until(Millis(5_000), 1_000);
    assert_eq!(sim.service_status(ServiceId(1)), ServiceStatus::Idle);
}

#[test]
fn concurrency_limit_rejects_overflow_calls() {
    let mut api = server("api", 1_000, vec![]);
    if let Behaviour::RpcServer(s) = &mut api.behaviour {
        s.concurrency = 1;
    }
    let mut spec = world(vec![caller("client", 1, &[0, 10, 20], 5_000), api]);
    spec.links.push(rpc_link(0, 1, 5));
    let sim = run(&spec);
    let client = service(&sim, "client");
    assert_eq!((client.rpc_ok, client.rpc_errors), (1, 2));
    let rejected = of_kind(&sim, "rpc_rejected");
    assert!(rejected.iter().all(|e| matches!(
        e.kind,
        EventKind::RpcRejected {
            failure: Failure::Busy,
            ..
        }
    )));
}

#[test]
fn chain_call_retries_with_backoff_after_a_timeout() {
    let mut spec = world(vec![
        caller("client", 1, &[0], 20_000),
        server(
            "a",
            0,
            vec![Step::Call {
                service: ServiceId(2),
                timeout_ms: 100,
                retry: RetryPolicy {
                    max_attempts: 3,
                    backoff_ms: 50,
                },
            }],
        ),
        server("b", 10, vec![]),
    ]);
    spec.links = vec![rpc_link(0, 1, 10), rpc_link(1, 2, 10)];
    spec.faults = vec![
        fault(0, FaultAction::Partition { link: LinkId(1) }),
        fault(150, FaultAction::Heal { link: LinkId(1) }),
    ];
    let sim = run(&spec);
    let a = service(&sim, "a");
    assert_eq!(
        (a.rpc_calls, a.rpc_timeouts, a.rpc_ok),
        (2, 1, 1),
        "first attempt lost, retry after 50 ms succeeds"
    );
    assert_eq!(service(&sim, "client").rpc_ok, 1);
}

#[test]
fn a_full_server_queues_calls_and_serves_them_in_turn() {
    let mut api = server("api", 100, vec![]);
    if let Behaviour::RpcServer(s) = &mut api.behaviour {
        s.concurrency = 1;
        s.overflow = Overflow::Queue { max: 5 };
    }
    let mut spec = world(vec![caller("client", 1, &[0, 1, 2], 5_000), api]);
    spec.links.push(rpc_link(0, 1, 5));
    let sim = run(&spec);
    let done: Vec<u64> = of_kind(&sim, "rpc_completed")
        .iter()
        .map(|e| e.t.0)
        .collect();
    assert_eq!(
        done,
        vec![110, 210, 310],
        "one at a time: 5 ms there, 100 ms each, 5 ms back"
    );
    assert_eq!(
        of_kind(&sim, "rpc_accepted")
            .iter()
            .filter(|e| matches!(e.kind, EventKind::RpcAccepted { queued: true, .. }))
            .count(),
        2
    );
}
