//! FIFO queues: group lanes, in-flight heads blocking their group, runs of one group in a batch,
//! receive request attempt ids, expired receipt handles, and FIFO-only parameter rules.

mod common;
use common::*;
use switchboard_broker::*;

fn in_group(body: &str, group: &str) -> SendRequest {
    SendRequest::new(body).group(group)
}

#[test]
fn fifo_group_blocks_while_head_in_flight() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    let m1 = w.send_ok(q, in_group("1", "g1"));
    let m2 = w.send_ok(q, in_group("2", "g1"));
    assert_eq!(ids(&w.recv(q, 1)), vec![m1]);
    assert!(w.recv(q, 10).is_empty(), "m2 waits behind the in-flight m1");
    let held = w.events.iter().any(|e| matches!(e, BrokerEvent::Held { message, blocked_by, .. } if *message == m2 && *blocked_by == m1));
    assert!(held, "{}", w.story());
    assert!(
        w.story()
            .contains("orders.fifo held m2: group g1 still has m1 in flight"),
        "{}",
        w.story()
    );
    let view = w.broker.queue_view(q, w.now).unwrap();
    assert_eq!(view.groups[0].blocked_by, Some(m1));
    w.wait_s(30);
    let again = w.recv(q, 10);
    assert_eq!(
        ids(&again),
        vec![m1, m2],
        "after the timeout the group restarts at its head, in order"
    );
    assert_eq!(again[0].receive_count, 2);
}

#[test]
fn fifo_other_groups_flow_while_one_is_blocked() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    let a1 = w.send_ok(q, in_group("a1", "a"));
    let _a2 = w.send_ok(q, in_group("a2", "a"));
    let b1 = w.send_ok(q, in_group("b1", "b"));
    assert_eq!(ids(&w.recv(q, 1)), vec![a1]);
    assert_eq!(
        ids(&w.recv(q, 10)),
        vec![b1],
        "group b is not held back by group a"
    );
}

#[test]
fn fifo_receive_returns_run_of_same_group_in_order() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    let a: Vec<MessageId> = (0..3)
        .map(|i| w.send_ok(q, in_group(&format!("a{i}"), "a")))
        .collect();
    let b: Vec<MessageId> = (0..2)
        .map(|i| w.send_ok(q, in_group(&format!("b{i}"), "b")))
        .collect();
    let got = w.recv(q, 10);
    assert_eq!(
        ids(&got),
        [a.clone(), b.clone()].concat(),
        "as many of the oldest group as possible first, in order"
    );
    for m in &got {
        w.delete(q, m.receipt).unwrap();
    }
    let c: Vec<MessageId> = (0..4)
        .map(|i| w.send_ok(q, in_group(&format!("c{i}"), "c")))
        .collect();
    assert_eq!(
        ids(&w.recv(q, 2)),
        c[..2].to_vec(),
        "a batch may stop in the middle of a run"
    );
    assert!(
        w.recv(q, 2).is_empty(),
        "the rest of the run waits for the in-flight part"
    );
}

#[test]
fn fifo_run_stops_at_first_message_not_visible() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    let m1 = w.send_ok(q, in_group("1", "g"));
    let m2 = w.send_ok(q, in_group("2", "g"));
    let m3 = w.send_ok(q, in_group("3", "g"));
    let got = w.recv(q, 2);
    assert_eq!(ids(&got), vec![m1, m2]);
    // Only m1 is made visible again: the group's run is [m1] because m2 is still in flight.
    w.change_visibility(q, got[0].receipt, 0).unwrap();
    assert_eq!(ids(&w.recv(q, 10)), vec![m1]);
    assert!(w
        .events
        .iter()
        .all(|e| !matches!(e, BrokerEvent::Received { message, .. } if *message == m3)));
}

#[test]
fn fifo_deleting_the_head_unblocks_the_group() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    w.send_ok(q, in_group("1", "g"));
    let m2 = w.send_ok(q, in_group("2", "g"));
    let got = w.recv(q, 1);
    w.delete(q, got[0].receipt).unwrap();
    assert_eq!(ids(&w.recv(q, 1)), vec![m2]);
}

#[test]
fn fifo_waiting_long_poll_gets_the_next_message_when_head_is_deleted() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    w.send_ok(q, in_group("1", "g"));
    let m2 = w.send_ok(q, in_group("2", "g"));
    let got = w.recv(q, 1);
    assert!(matches!(
        w.receive(q, ReceiveRequest::max(1).wait(20)).unwrap(),
        ReceiveResponse::Waiting { .. }
    ));
    w.delete(q, got[0].receipt).unwrap();
    let completed = w.events.iter().find_map(|e| match e {
        BrokerEvent::PollCompleted { messages, .. } => Some(ids(messages)),
        _ => None,
    });
    assert_eq!(completed, Some(vec![m2]));
}

#[test]
fn fifo_requires_message_group_id() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    let err = w.send(q, SendRequest::new("no group")).unwrap_err();
    assert_eq!(err.code, ErrorCode::MissingParameter);
}

#[test]
fn fifo_refuses_per_message_delay() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    let err = w.send(q, in_group("x", "g").delay(5)).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert_eq!(w.metrics(q).sent, 0);
}

#[test]
fn fifo_queue_delay_applies_to_every_message() {
    let mut w = World::new();
    let mut cfg = fifo("slow.fifo");
    cfg.delay_s = 5;
    let q = w.queue(cfg);
    let m = w.send_ok(q, in_group("x", "g"));
    assert!(w.recv(q, 1).is_empty());
    w.wait_s(5);
    assert_eq!(ids(&w.recv(q, 1)), vec![m]);
}

#[test]
fn expired_fifo_receipt_handle_cannot_delete() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    w.send_ok(q, in_group("x", "g"));
    let got = w.recv(q, 1);
    w.wait_s(30);
    let err = w.delete(q, got[0].receipt).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert!(
        err.message.contains("The receipt handle has expired"),
        "{}",
        err.message
    );
    let again = w.recv(q, 1);
    assert_eq!(
        w.delete(q, got[0].receipt).unwrap_err().code,
        ErrorCode::InvalidParameterValue,
        "an older handle stays expired"
    );
    w.delete(q, again[0].receipt).unwrap();
    assert_eq!(w.metrics(q).deleted, 1);
}

#[test]
fn expired_fifo_receipt_handle_cannot_change_visibility() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    w.send_ok(q, in_group("x", "g"));
    let got = w.recv(q, 1);
    w.wait_s(31);
    assert_eq!(
        w.change_visibility(q, got[0].receipt, 10).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
}

#[test]
fn receive_request_attempt_id_returns_same_batch() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    for i in 0..3 {
        w.send_ok(q, in_group(&format!("{i}"), "g"));
    }
    let first = w
        .receive(q, ReceiveRequest::max(2).attempt("try-1"))
        .unwrap()
        .into_messages();
    assert_eq!(first.len(), 2);
    w.wait_s(10);
    let retry = w
        .receive(q, ReceiveRequest::max(2).attempt("try-1"))
        .unwrap()
        .into_messages();
    assert_eq!(retry, first, "same messages, same receipt handles");
    assert_eq!(w.count("ReceiveRetried"), 1);
    // The retry restarted the visibility timeout: still invisible 29 s after the retry.
    w.wait_s(29);
    assert!(w.recv(q, 10).is_empty());
    w.wait_s(1);
    assert_eq!(w.recv(q, 10).len(), 3);
}

#[test]
fn receive_request_attempt_id_is_a_new_receive_once_something_changed() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    w.send_ok(q, in_group("1", "g"));
    let m2 = w.send_ok(q, in_group("2", "g"));
    let first = w
        .receive(q, ReceiveRequest::max(1).attempt("a"))
        .unwrap()
        .into_messages();
    w.delete(q, first[0].receipt).unwrap();
    let retry = w
        .receive(q, ReceiveRequest::max(1).attempt("a"))
        .unwrap()
        .into_messages();
    assert_eq!(ids(&retry), vec![m2]);
    assert_eq!(w.count("ReceiveRetried"), 0);
}

#[test]
fn receive_request_attempt_id_is_forgotten_after_five_minutes() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    w.send_ok(q, in_group("1", "g"));
    w.receive(q, ReceiveRequest::max(1).attempt("a").visibility(600))
        .unwrap();
    w.wait_s(300);
    assert!(w
        .receive(q, ReceiveRequest::max(1).attempt("a"))
        .unwrap()
        .messages()
        .is_empty());
    assert_eq!(w.count("ReceiveRetried"), 0);
}

#[test]
fn fifo_order_across_groups_is_explained_as_one_possible_order() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    w.send_ok(q, in_group("x", "g"));
    w.recv(q, 1);
    assert!(w.story().contains("one possible order"), "{}", w.story());
}

#[test]
fn fifo_view_shows_lanes_in_order_with_blocking_head() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    let a1 = w.send_ok(q, in_group("a1", "a"));
    let a2 = w.send_ok(q, in_group("a2", "a"));
    let b1 = w.send_ok(q, in_group("b1", "b"));
    w.recv(q, 1);
    let view = w.broker.queue_view(q, w.now).unwrap();
    assert!(view.fifo);
    let lanes: Vec<(String, Vec<MessageId>, Option<MessageId>)> = view
        .groups
        .iter()
        .map(|g| {
            (
                g.group.to_string(),
                g.messages.iter().map(|m| m.message).collect(),
                g.blocked_by,
            )
        })
        .collect();
    assert_eq!(
        lanes,
        vec![
            ("a".into(), vec![a1, a2], Some(a1)),
            ("b".into(), vec![b1], None)
        ]
    );
    assert_eq!(view.groups[0].messages[0].state, MessageState::InFlight);
}

#[test]
fn queue_groups_summarises_lanes_for_the_ui() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    let a1 = w.send_ok(q, in_group("a1", "a"));
    w.send_ok(q, in_group("a2", "a"));
    w.send_ok(q, in_group("b1", "b"));
    w.recv(q, 1);
    let groups: Vec<(String, u32, u32, Option<MessageId>)> = w
        .broker
        .queue_groups(q)
        .into_iter()
        .map(|g| (g.group.to_string(), g.waiting, g.in_flight, g.blocked_by))
        .collect();
    assert_eq!(
        groups,
        vec![("a".into(), 1, 1, Some(a1)), ("b".into(), 1, 0, None)]
    );
}

/// ReceiveMessage: a ReceiveRequestAttemptId may be retried "if none of the messages have been
/// modified (deleted or had their visibility changes)". Extending the visibility of one message
/// of the batch makes the retry a new receive.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>
#[test]
fn receive_request_attempt_id_is_a_new_receive_after_a_visibility_change() {
    let mut w = World::new();
    let q = w.queue(fifo("orders.fifo"));
    w.send_ok(q, in_group("1", "g"));
    let other = w.send_ok(q, in_group("2", "h"));
    let first = w
        .receive(q, ReceiveRequest::max(1).attempt("a"))
        .unwrap()
        .into_messages();
    assert_eq!(first.len(), 1);
    w.change_visibility(q, first[0].receipt, 120).unwrap();
    let retry = w
        .receive(q, ReceiveRequest::max(1).attempt("a"))
        .unwrap()
        .into_messages();
    assert_eq!(ids(&retry), vec![other], "a new receive, not the old batch");
    assert_eq!(w.count("ReceiveRetried"), 0);
}

/// SetQueueAttributes: FifoThroughputLimit `perMessageGroupId` "is allowed only when the value
/// for DeduplicationScope is messageGroup"; both are FIFO-only attributes.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>
#[test]
fn fifo_throughput_limit_per_group_requires_message_group_dedup_scope() {
    let mut w = World::new();
    let mut cfg = fifo("fast.fifo");
    cfg.fifo_throughput_limit = FifoThroughputLimit::PerMessageGroupId;
    let err = w.broker.create_queue(cfg.clone()).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    cfg.dedup_scope = DedupScope::MessageGroup;
    w.broker.create_queue(cfg).unwrap();
    let mut standard = QueueConfig::new("plain");
    standard.fifo_throughput_limit = FifoThroughputLimit::PerMessageGroupId;
    standard.dedup_scope = DedupScope::MessageGroup;
    assert_eq!(
        w.broker.create_queue(standard).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
}
