//! Standard queues: visibility timeout, receive counts, delays, retention, long polling, purge,
//! batches, size limits, at-least-once and best-effort ordering.

mod common;
use common::*;
use switchboard_broker::*;

#[test]
fn send_receive_delete_round_trip() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("orders"));
    let id = w.send_ok(q, SendRequest::new("hello"));
    let got = w.recv(q, 10);
    assert_eq!(ids(&got), vec![id]);
    assert_eq!(got[0].payload.body, "hello");
    assert_eq!(got[0].receive_count, 1);
    w.delete(q, got[0].receipt).unwrap();
    let m = w.metrics(q);
    assert_eq!(
        (
            m.sent,
            m.accepted,
            m.received,
            m.deleted,
            m.visible,
            m.in_flight
        ),
        (1, 1, 1, 1, 0, 0)
    );
}

#[test]
fn visibility_timeout_redelivers_with_higher_receive_count() {
    let mut w = World::new();
    let mut cfg = QueueConfig::new("jobs");
    cfg.visibility_timeout_s = 30;
    let q = w.queue(cfg);
    let id = w.send_ok(q, SendRequest::new("job"));
    let first = w.recv(q, 1);
    assert_eq!(first[0].receive_count, 1);
    w.wait_s(29);
    assert!(
        w.recv(q, 1).is_empty(),
        "still invisible 29 s into a 30 s timeout"
    );
    w.wait_s(1);
    let second = w.recv(q, 1);
    assert_eq!(ids(&second), vec![id]);
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(
        first[0].receipt, second[0].receipt,
        "each receive gets a new receipt handle"
    );
    assert_eq!(w.metrics(q).redelivered, 1);
    assert_eq!(w.count("VisibilityExpired"), 1);
}

#[test]
fn receive_visibility_override_applies_to_that_receive_only() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    w.send_ok(q, SendRequest::new("a"));
    let got = w
        .receive(q, ReceiveRequest::max(1).visibility(5))
        .unwrap()
        .into_messages();
    assert_eq!(got.len(), 1);
    w.wait_s(5);
    assert_eq!(
        w.recv(q, 1).len(),
        1,
        "visible again after the 5 s override, not 30 s"
    );
}

#[test]
fn change_visibility_zero_makes_message_visible_now() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    let id = w.send_ok(q, SendRequest::new("a"));
    let got = w.recv(q, 1);
    assert!(w.recv(q, 1).is_empty());
    w.change_visibility(q, got[0].receipt, 0).unwrap();
    let again = w.recv(q, 1);
    assert_eq!(ids(&again), vec![id]);
    assert_eq!(again[0].receive_count, 2);
}

#[test]
fn change_visibility_extends_and_refuses_messages_not_in_flight() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    w.send_ok(q, SendRequest::new("a"));
    let got = w.recv(q, 1);
    w.wait_s(20);
    w.change_visibility(q, got[0].receipt, 60).unwrap();
    w.wait_s(59);
    assert!(
        w.recv(q, 1).is_empty(),
        "extended: invisible until 20 s + 60 s"
    );
    w.wait_s(1);
    let again = w.recv(q, 1);
    assert_eq!(again.len(), 1);
    w.change_visibility(q, again[0].receipt, 0).unwrap();
    let err = w.change_visibility(q, again[0].receipt, 10).unwrap_err();
    assert_eq!(err.code, ErrorCode::MessageNotInflight);
}

#[test]
fn change_visibility_cannot_pass_twelve_hours_after_receive() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    w.send_ok(q, SendRequest::new("a"));
    let got = w.recv(q, 1);
    w.wait_s(10);
    let err = w.change_visibility(q, got[0].receipt, 43_200).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    w.change_visibility(q, got[0].receipt, 43_190).unwrap();
}

#[test]
fn per_message_delay_overrides_queue_delay() {
    let mut w = World::new();
    let mut cfg = QueueConfig::new("later");
    cfg.delay_s = 10;
    let q = w.queue(cfg);
    let slow = w.send_ok(q, SendRequest::new("queue delay"));
    let fast = w.send_ok(q, SendRequest::new("no delay").delay(0));
    assert_eq!(ids(&w.recv(q, 10)), vec![fast]);
    assert_eq!(w.metrics(q).delayed, 1);
    w.wait_s(10);
    assert_eq!(ids(&w.recv(q, 10)), vec![slow]);
    assert_eq!(w.count("DelayEnded"), 1);
}

#[test]
fn delay_over_fifteen_minutes_is_refused() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("later"));
    let err = w.send(q, SendRequest::new("x").delay(901)).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert_eq!(
        w.metrics(q).sent,
        0,
        "refused entries are not counted as sent"
    );
}

#[test]
fn retention_expires_old_messages() {
    let mut w = World::new();
    let mut cfg = QueueConfig::new("short");
    cfg.retention_s = 60;
    let q = w.queue(cfg);
    let old = w.send_ok(q, SendRequest::new("old"));
    w.wait_s(30);
    let young = w.send_ok(q, SendRequest::new("young"));
    let got = w.recv(q, 1);
    assert_eq!(ids(&got), vec![old]);
    w.wait_s(30);
    assert_eq!(w.metrics(q).expired, 1, "expires even while in flight");
    let err = w.delete(q, got[0].receipt);
    assert!(
        err.is_ok(),
        "deleting a gone message succeeds and does nothing"
    );
    assert_eq!(w.count("DeleteIgnored"), 1);
    w.wait_s(30);
    assert_eq!(w.metrics(q).expired, 2);
    assert!(w.recv(q, 10).is_empty(), "{young} expired too");
    assert_eq!(w.broker.next_deadline(), None);
}

#[test]
fn retention_and_timeouts_are_range_checked() {
    let mut w = World::new();
    let mut cfg = QueueConfig::new("bad");
    cfg.retention_s = 59;
    assert_eq!(
        w.broker.create_queue(cfg).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    let mut cfg = QueueConfig::new("bad");
    cfg.visibility_timeout_s = 43_201;
    assert_eq!(
        w.broker.create_queue(cfg).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    let mut cfg = QueueConfig::new("bad");
    cfg.receive_wait_s = 21;
    assert_eq!(
        w.broker.create_queue(cfg).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    let q = w.queue(QueueConfig::new("ok"));
    assert_eq!(
        w.receive(q, ReceiveRequest::max(11)).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        w.receive(q, ReceiveRequest::max(0)).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        w.receive(q, ReceiveRequest::max(1).wait(21))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameterValue
    );
    // CreateQueue again with exactly the same attributes returns the existing queue; with
    // another value it is QueueNameExists.
    assert_eq!(w.broker.create_queue(QueueConfig::new("ok")).unwrap(), q);
    let mut other = QueueConfig::new("ok");
    other.visibility_timeout_s = 60;
    assert_eq!(
        w.broker.create_queue(other).unwrap_err().code,
        ErrorCode::QueueNameExists
    );
    assert_eq!(
        w.broker
            .create_queue(QueueConfig::new("has space"))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameterValue
    );
}

#[test]
fn long_poll_completes_when_message_arrives() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    let ReceiveResponse::Waiting { poll, until } =
        w.receive(q, ReceiveRequest::max(5).wait(20)).unwrap()
    else {
        panic!("an empty queue makes a long poll wait")
    };
    assert_eq!(until, Millis::from_secs(20));
    assert_eq!(w.broker.next_deadline(), Some(until));
    w.wait_s(3);
    let id = w.send_ok(q, SendRequest::new("arrives"));
    let completed = w.events.iter().find_map(|e| match e {
        BrokerEvent::PollCompleted {
            poll: p, messages, ..
        } if *p == poll => Some(messages.clone()),
        _ => None,
    });
    let messages = completed.expect("the send completes the waiting poll at once");
    assert_eq!(ids(&messages), vec![id]);
    assert_eq!(w.metrics(q).in_flight, 1);
}

#[test]
fn long_poll_returns_empty_after_wait() {
    let mut w = World::new();
    let mut cfg = QueueConfig::new("quiet");
    cfg.receive_wait_s = 10;
    let q = w.queue(cfg);
    let ReceiveResponse::Waiting { poll, .. } = w.receive(q, ReceiveRequest::max(1)).unwrap()
    else {
        panic!("queue default ReceiveMessageWaitTimeSeconds makes it a long poll")
    };
    w.wait_ms(9_999);
    assert_eq!(w.count("PollCompleted"), 0);
    w.wait_ms(1);
    assert!(w.events.iter().any(|e| matches!(e, BrokerEvent::PollCompleted { poll: p, messages, .. } if *p == poll && messages.is_empty())));
    assert_eq!(w.broker.next_deadline(), None);
}

#[test]
fn long_poll_completes_when_visibility_expires() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    let id = w.send_ok(q, SendRequest::new("a"));
    w.receive(q, ReceiveRequest::max(1).visibility(5)).unwrap();
    assert!(matches!(
        w.receive(q, ReceiveRequest::max(1).wait(20)).unwrap(),
        ReceiveResponse::Waiting { .. }
    ));
    w.wait_s(5);
    let got = w.events.iter().find_map(|e| match e {
        BrokerEvent::PollCompleted { messages, .. } => Some(ids(messages)),
        _ => None,
    });
    assert_eq!(got, Some(vec![id]));
}

#[test]
fn cancelled_poll_gets_nothing() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    let ReceiveResponse::Waiting { poll, .. } =
        w.receive(q, ReceiveRequest::max(1).wait(20)).unwrap()
    else {
        panic!()
    };
    assert!(w.broker.cancel_poll(q, poll, &mut w.rng, &mut w.events));
    w.send_ok(q, SendRequest::new("a"));
    assert_eq!(w.count("PollCompleted"), 0);
    assert_eq!(w.metrics(q).visible, 1);
}

#[test]
fn purge_removes_everything() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    for i in 0..5 {
        w.send_ok(q, SendRequest::new(format!("m{i}")));
    }
    w.send_ok(q, SendRequest::new("late").delay(60));
    let got = w.recv(q, 2);
    w.broker
        .purge_queue(w.now, q, &mut w.rng, &mut w.events)
        .unwrap();
    w.check();
    let m = w.metrics(q);
    assert_eq!((m.purged, m.visible, m.in_flight, m.delayed), (6, 0, 0, 0));
    assert!(w.recv(q, 10).is_empty());
    assert!(w.delete(q, got[0].receipt).is_ok());
    let err = w
        .broker
        .purge_queue(w.now.plus(59_000), q, &mut w.rng, &mut w.events)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::PurgeQueueInProgress);
    assert!(w
        .broker
        .purge_queue(w.now.plus(60_000), q, &mut w.rng, &mut w.events)
        .is_ok());
}

#[test]
fn batch_send_reports_per_entry_failures() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    let entries = vec![
        SendBatchEntry {
            id: "ok1".into(),
            request: SendRequest::new("fine"),
        },
        SendBatchEntry {
            id: "bad".into(),
            request: SendRequest::new("too late").delay(2_000),
        },
        SendBatchEntry {
            id: "ok2".into(),
            request: SendRequest::new("also fine"),
        },
        SendBatchEntry {
            id: "empty".into(),
            request: SendRequest::new(""),
        },
    ];
    let r = w
        .broker
        .send_message_batch(w.now, q, entries, &mut w.rng, &mut w.events)
        .unwrap();
    let ok: Vec<&str> = r.successful.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ok, vec!["ok1", "ok2"]);
    let failed: Vec<(&str, ErrorCode)> = r.failed.iter().map(|f| (f.id.as_str(), f.code)).collect();
    assert_eq!(
        failed,
        vec![
            ("bad", ErrorCode::InvalidParameterValue),
            ("empty", ErrorCode::MissingParameter)
        ]
    );
    assert_eq!(w.metrics(q).accepted, 2);
}

#[test]
fn batch_rules_apply_to_the_whole_request() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    let entry = |id: &str| SendBatchEntry {
        id: id.into(),
        request: SendRequest::new("x"),
    };
    let mut call = |entries: Vec<SendBatchEntry>| {
        w.broker
            .send_message_batch(Millis::ZERO, q, entries, &mut w.rng, &mut w.events)
            .unwrap_err()
            .code
    };
    assert_eq!(call(vec![]), ErrorCode::EmptyBatchRequest);
    assert_eq!(
        call((0..11).map(|i| entry(&format!("e{i}"))).collect()),
        ErrorCode::TooManyEntriesInBatchRequest
    );
    assert_eq!(
        call(vec![entry("a"), entry("a")]),
        ErrorCode::BatchEntryIdsNotDistinct
    );
    assert_eq!(call(vec![entry("not ok!")]), ErrorCode::InvalidBatchEntryId);
    let big = |id: &str| SendBatchEntry {
        id: id.into(),
        request: SendRequest::new("x".repeat(100_000)),
    };
    assert_eq!(
        call(vec![big("a"), big("b"), big("c")]),
        ErrorCode::BatchRequestTooLong
    );
    assert_eq!(w.metrics(q).sent, 0);
}

#[test]
fn delete_batch_reports_per_entry_failures() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    let other = w.queue(QueueConfig::new("other"));
    w.send_ok(q, SendRequest::new("a"));
    w.send_ok(other, SendRequest::new("b"));
    let mine = w.recv(q, 1);
    let theirs = w.recv(other, 1);
    let entries = vec![
        DeleteBatchEntry {
            id: "mine".into(),
            receipt: mine[0].receipt,
        },
        DeleteBatchEntry {
            id: "theirs".into(),
            receipt: theirs[0].receipt,
        },
    ];
    let r = w
        .broker
        .delete_message_batch(w.now, q, entries, &mut w.rng, &mut w.events)
        .unwrap();
    assert_eq!(r.successful.len(), 1);
    assert_eq!(r.failed[0].id, "theirs");
    assert_eq!(r.failed[0].code, ErrorCode::ReceiptHandleIsInvalid);
}

#[test]
fn message_size_limit_is_256_kib_including_attributes() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    assert!(w.send(q, SendRequest::new("x".repeat(262_144))).is_ok());
    let err = w
        .send(
            q,
            SendRequest::new("x".repeat(262_140)).attribute("k", AttributeValue::string("vv")),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    let err = w.send(q, SendRequest::new("bad \u{1} char")).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
}

#[test]
fn standard_queue_old_receipt_handle_still_deletes() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    w.send_ok(q, SendRequest::new("a"));
    let first = w.recv(q, 1);
    w.change_visibility(q, first[0].receipt, 0).unwrap();
    let _second = w.recv(q, 1);
    w.delete(q, first[0].receipt).unwrap();
    assert_eq!(w.metrics(q).deleted, 1);
}

#[test]
fn receipt_handle_of_another_queue_is_invalid() {
    let mut w = World::new();
    let a = w.queue(QueueConfig::new("a"));
    let b = w.queue(QueueConfig::new("b"));
    w.send_ok(a, SendRequest::new("x"));
    let got = w.recv(a, 1);
    assert_eq!(
        w.delete(b, got[0].receipt).unwrap_err().code,
        ErrorCode::ReceiptHandleIsInvalid
    );
    assert_eq!(
        w.delete(QueueId(9), got[0].receipt).unwrap_err().code,
        ErrorCode::QueueDoesNotExist
    );
}

#[test]
fn duplicate_chance_redelivers_a_deleted_message_as_a_stray_copy() {
    let mut w = World::new();
    let mut cfg = QueueConfig::new("at-least-once");
    cfg.duplicate_chance = Chance::ALWAYS;
    let q = w.queue(cfg);
    w.send_ok(
        q,
        SendRequest::new("a").meta(MessageMeta {
            origin: 42,
            created_at: Millis::ZERO,
        }),
    );
    let got = w.recv(q, 1);
    w.delete(q, got[0].receipt).unwrap();
    assert!(
        w.recv(q, 1).is_empty(),
        "the copy appears only after the visibility timeout"
    );
    w.wait_s(30);
    let copy = w.recv(q, 1);
    assert_eq!(copy.len(), 1);
    assert_eq!(copy[0].meta.origin, 42, "the copy keeps the sender's meta");
    assert_eq!(copy[0].payload.body, "a");
    assert_eq!(
        w.metrics(q).duplicates_injected,
        2,
        "the copy's receive left another copy"
    );
}

#[test]
fn reorder_chance_hands_out_a_younger_message_first() {
    let mut w = World::new();
    let mut cfg = QueueConfig::new("loose");
    cfg.reorder_chance = Chance::ALWAYS;
    let q = w.queue(cfg);
    let a = w.send_ok(q, SendRequest::new("a"));
    let b = w.send_ok(q, SendRequest::new("b"));
    assert_eq!(ids(&w.recv(q, 1)), vec![b]);
    assert_eq!(ids(&w.recv(q, 1)), vec![a]);
    assert_eq!(w.count("Reordered"), 1);
}

#[test]
fn default_standard_queue_keeps_order_and_never_duplicates() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("plain"));
    let sent: Vec<MessageId> = (0..25)
        .map(|i| w.send_ok(q, SendRequest::new(format!("{i}"))))
        .collect();
    let mut got = Vec::new();
    loop {
        let batch = w.recv(q, 10);
        if batch.is_empty() {
            break;
        }
        for m in &batch {
            w.delete(q, m.receipt).unwrap();
        }
        got.extend(ids(&batch));
    }
    assert_eq!(got, sent);
    assert_eq!(w.metrics(q).duplicates_injected, 0);
}

#[test]
fn explanations_use_names() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("orders"));
    w.send_ok(q, SendRequest::new("a"));
    w.recv(q, 1);
    let story = w.story();
    assert!(story.contains("orders accepted m1"), "{story}");
    assert!(story.contains("orders gave m1"), "{story}");
    let json = serde_json::to_string(&w.events[0]).unwrap();
    assert!(json.contains("\"kind\":\"Accepted\""), "{json}");
}

#[test]
fn message_attributes_are_validated() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    let code = |w: &mut World, name: &str, value: AttributeValue| {
        w.send(q, SendRequest::new("x").attribute(name, value))
            .err()
            .map(|e| e.code)
    };
    assert_eq!(
        code(&mut w, "ok.name-1_", AttributeValue::number("-1.5e3")),
        None
    );
    assert_eq!(
        code(&mut w, "AWS.reserved", AttributeValue::string("v")),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        code(&mut w, "a..b", AttributeValue::string("v")),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        code(&mut w, "empty", AttributeValue::string("")),
        Some(ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        code(&mut w, "n", AttributeValue::number("twelve")),
        Some(ErrorCode::InvalidParameterValue)
    );
    let mut req = SendRequest::new("x");
    for i in 0..11 {
        req = req.attribute(format!("a{i}"), AttributeValue::string("v"));
    }
    assert_eq!(
        w.send(q, req).unwrap_err().code,
        ErrorCode::InvalidParameterValue,
        "at most 10 attributes"
    );
}

#[test]
fn standard_queue_refuses_receives_past_120000_in_flight() {
    let mut broker = Broker::new();
    let mut rng = Rng::new(1);
    let mut out = Vec::new();
    let q = broker.create_queue(QueueConfig::new("busy")).unwrap();
    for _ in 0..120_001 {
        broker
            .send_message(Millis(0), q, SendRequest::new("x"), &mut rng, &mut out)
            .unwrap();
        out.clear();
    }
    for _ in 0..12_000 {
        let got = broker
            .receive_message(Millis(0), q, ReceiveRequest::max(10), &mut rng, &mut out)
            .unwrap();
        assert_eq!(got.messages().len(), 10);
        out.clear();
    }
    let err = broker
        .receive_message(Millis(0), q, ReceiveRequest::max(10), &mut rng, &mut out)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::OverLimit);
    assert_eq!(broker.queue_metrics(q).in_flight, 120_000);
}

/// A receipt handle's slot hint is a shortcut, never part of the answer: a handle with no
/// hint, a wrong one, or a stale one (its slot reused by another message) deletes and changes
/// the right message, and equals the handle as received.
#[test]
fn receipt_slot_hint_is_checked_before_use() {
    let mut w = World::new();
    let q = w.queue(QueueConfig::new("jobs"));
    for body in ["a", "b", "c"] {
        w.send_ok(q, SendRequest::new(body));
    }
    let got = w.recv(q, 3);
    assert_eq!(got.len(), 3);
    let plain = |h: ReceiptHandle| ReceiptHandle::new(h.queue, h.message, h.receive);
    assert_eq!(plain(got[0].receipt), got[0].receipt);
    assert_eq!(
        format!("{:?}", plain(got[0].receipt)),
        format!("{:?}", got[0].receipt)
    );
    // The hint names another message's slot: found by id instead.
    let mut wrong = got[0].receipt;
    wrong.slot_hint = got[1].receipt.slot_hint;
    w.change_visibility(q, wrong, 0).unwrap();
    w.delete(q, wrong).unwrap();
    // No hint, and a hint past every slot.
    w.delete(q, plain(got[1].receipt)).unwrap();
    let mut far = got[2].receipt;
    far.slot_hint = 1 << 20;
    w.change_visibility(q, far, 60).unwrap();
    // A stale hint: the deleted messages' slots now hold new messages.
    w.send_ok(q, SendRequest::new("d"));
    w.send_ok(q, SendRequest::new("e"));
    let mut stale = got[0].receipt;
    stale.slot_hint = got[1].receipt.slot_hint;
    w.delete(q, stale).unwrap();
    assert!(w.events.iter().any(
        |e| matches!(e, BrokerEvent::DeleteIgnored { message, .. } if *message == got[0].message)
    ));
    let m = w.metrics(q);
    assert_eq!((m.deleted, m.visible, m.in_flight), (2, 2, 1));
    w.delete(q, far).unwrap();
    assert_eq!(w.metrics(q).deleted, 3);
}

/// A receive batch handed back with `recycle_batch` is reused by the queue's next receive, which
/// returns the same messages as without it.
#[test]
fn recycled_receive_batch_is_reused() {
    let run = |recycle: bool| {
        let mut w = World::new();
        let q = w.queue(QueueConfig::new("jobs"));
        let mut got = Vec::new();
        for round in 0..4 {
            for i in 0..5 {
                w.send_ok(q, SendRequest::new(format!("{round}-{i}")));
            }
            let batch = w.recv(q, 10);
            got.extend(
                batch
                    .iter()
                    .map(|m| (m.message, m.receipt, m.payload.body.clone())),
            );
            let ptr = batch.as_ptr();
            if recycle {
                w.broker.recycle_batch(q, batch);
                w.send_ok(q, SendRequest::new("again"));
                let next = w.recv(q, 1);
                assert_eq!(next.as_ptr(), ptr, "the recycled buffer is reused");
                got.extend(
                    next.iter()
                        .map(|m| (m.message, m.receipt, m.payload.body.clone())),
                );
                w.broker.recycle_batch(q, next);
            } else {
                w.send_ok(q, SendRequest::new("again"));
                let next = w.recv(q, 1);
                got.extend(
                    next.iter()
                        .map(|m| (m.message, m.receipt, m.payload.body.clone())),
                );
            }
        }
        (got, w.story())
    };
    assert_eq!(run(true), run(false));
}
