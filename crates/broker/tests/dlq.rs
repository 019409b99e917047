//! Dead-letter queues: redrive after maxReceiveCount, done lazily by the next receive; queue kind
//! rules; conservation across the move.

mod common;
use common::*;
use switchboard_broker::*;

fn with_dlq(
    w: &mut World,
    name: &str,
    dlq_name: &str,
    max_receive_count: u32,
) -> (QueueId, QueueId) {
    let dlq = w.queue(if dlq_name.ends_with(".fifo") {
        fifo(dlq_name)
    } else {
        QueueConfig::new(dlq_name)
    });
    let mut cfg = if name.ends_with(".fifo") {
        fifo(name)
    } else {
        QueueConfig::new(name)
    };
    cfg.visibility_timeout_s = 10;
    cfg.redrive = Some(RedrivePolicy {
        dead_letter: dlq,
        max_receive_count,
    });
    (w.queue(cfg), dlq)
}

#[test]
fn dlq_move_happens_on_next_receive() {
    let mut w = World::new();
    let (q, dlq) = with_dlq(&mut w, "jobs", "jobs-dlq", 2);
    let id = w.send_ok(q, SendRequest::new("poison"));
    for _ in 0..2 {
        assert_eq!(ids(&w.recv(q, 1)), vec![id]);
        w.wait_s(10);
    }
    assert_eq!(
        w.metrics(q).visible,
        1,
        "after the second timeout it is still in the source queue"
    );
    assert_eq!(w.count("DeadLettered"), 0, "the move is lazy");
    assert!(
        w.recv(q, 1).is_empty(),
        "the third receive moves it instead of handing it out"
    );
    assert_eq!(w.count("DeadLettered"), 1);
    let moved = w.recv(dlq, 1);
    assert_eq!(ids(&moved), vec![id], "standard DLQs keep the message id");
    assert_eq!(moved[0].payload.body, "poison");
    assert_eq!(w.metrics(q).dead_lettered, 1);
    assert_eq!(w.metrics(dlq).dead_letter_arrivals, 1);
    assert!(
        w.story()
            .contains("jobs moved m1 to dead-letter queue jobs-dlq"),
        "{}",
        w.story()
    );
}

#[test]
fn dlq_receive_skips_to_the_next_message() {
    let mut w = World::new();
    let (q, _dlq) = with_dlq(&mut w, "jobs", "jobs-dlq", 1);
    w.send_ok(q, SendRequest::new("poison"));
    w.recv(q, 1);
    w.wait_s(10);
    let good = w.send_ok(q, SendRequest::new("good"));
    assert_eq!(ids(&w.recv(q, 1)), vec![good]);
}

#[test]
fn fifo_dlq_move_unblocks_the_group() {
    let mut w = World::new();
    let (q, dlq) = with_dlq(&mut w, "orders.fifo", "orders-dlq.fifo", 1);
    let m1 = w.send_ok(q, SendRequest::new("1").group("g"));
    let m2 = w.send_ok(q, SendRequest::new("2").group("g"));
    assert_eq!(ids(&w.recv(q, 1)), vec![m1]);
    w.wait_s(10);
    assert_eq!(
        ids(&w.recv(q, 1)),
        vec![m2],
        "m1 went to the DLQ, so the group moves on"
    );
    let moved = w.recv(dlq, 1);
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].payload.body, "1");
    assert_eq!(
        moved[0].group.as_deref(),
        Some("g"),
        "the group id travels with the message"
    );
}

#[test]
fn fifo_dlq_must_be_fifo() {
    let mut w = World::new();
    let standard = w.queue(QueueConfig::new("plain-dlq"));
    let mut cfg = fifo("orders.fifo");
    cfg.redrive = Some(RedrivePolicy {
        dead_letter: standard,
        max_receive_count: 3,
    });
    assert_eq!(
        w.broker.create_queue(cfg).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    let fifo_dlq = w.queue(fifo("dlq.fifo"));
    let mut cfg = QueueConfig::new("plain");
    cfg.redrive = Some(RedrivePolicy {
        dead_letter: fifo_dlq,
        max_receive_count: 3,
    });
    assert_eq!(
        w.broker.create_queue(cfg).unwrap_err().code,
        ErrorCode::InvalidParameterValue,
        "and a standard queue's DLQ must be standard"
    );
    let mut cfg = QueueConfig::new("dangling");
    cfg.redrive = Some(RedrivePolicy {
        dead_letter: QueueId(99),
        max_receive_count: 3,
    });
    assert_eq!(
        w.broker.create_queue(cfg).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    let mut cfg = QueueConfig::new("zero");
    cfg.redrive = Some(RedrivePolicy {
        dead_letter: standard,
        max_receive_count: 0,
    });
    assert_eq!(
        w.broker.create_queue(cfg).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
}

#[test]
fn dlq_waiting_poll_gets_the_moved_message() {
    let mut w = World::new();
    let (q, dlq) = with_dlq(&mut w, "jobs", "jobs-dlq", 1);
    let id = w.send_ok(q, SendRequest::new("poison"));
    w.recv(q, 1);
    assert!(matches!(
        w.receive(dlq, ReceiveRequest::max(1).wait(20)).unwrap(),
        ReceiveResponse::Waiting { .. }
    ));
    w.wait_s(10);
    w.recv(q, 1);
    let got = w.events.iter().find_map(|e| match e {
        BrokerEvent::PollCompleted {
            queue, messages, ..
        } if *queue == dlq => Some(ids(messages)),
        _ => None,
    });
    assert_eq!(got, Some(vec![id]));
}

#[test]
fn standard_dlq_keeps_the_original_enqueue_time_for_retention() {
    let mut w = World::new();
    let dlq = {
        let mut cfg = QueueConfig::new("dlq");
        cfg.retention_s = 120;
        w.queue(cfg)
    };
    let mut cfg = QueueConfig::new("jobs");
    cfg.visibility_timeout_s = 100;
    cfg.redrive = Some(RedrivePolicy {
        dead_letter: dlq,
        max_receive_count: 1,
    });
    let q = w.queue(cfg);
    w.send_ok(q, SendRequest::new("x"));
    w.recv(q, 1);
    w.wait_s(100);
    w.recv(q, 1);
    assert_eq!(w.metrics(dlq).visible, 1);
    w.wait_s(20);
    assert_eq!(
        w.metrics(dlq).expired,
        1,
        "120 s after the original send, not after the move"
    );
}

#[test]
fn conservation_holds_across_the_move() {
    let mut w = World::new();
    let (q, dlq) = with_dlq(&mut w, "jobs", "jobs-dlq", 1);
    for i in 0..5 {
        w.send_ok(q, SendRequest::new(format!("{i}")));
    }
    w.recv(q, 10);
    w.wait_s(10);
    w.recv(q, 10);
    let (src, dst) = (w.metrics(q), w.metrics(dlq));
    assert_eq!(src.dead_lettered, 5);
    assert_eq!(dst.accepted, 5);
    src.check_conservation().unwrap();
    dst.check_conservation().unwrap();
}

/// RedrivePolicy maxReceiveCount accepts 1 to 1000.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html>
#[test]
fn max_receive_count_is_one_to_one_thousand() {
    let mut w = World::new();
    let dlq = w.queue(QueueConfig::new("dlq"));
    for (name, count, ok) in [
        ("c0", 0, false),
        ("c1", 1, true),
        ("c1000", 1000, true),
        ("c1001", 1001, false),
    ] {
        let mut cfg = QueueConfig::new(name);
        cfg.redrive = Some(RedrivePolicy {
            dead_letter: dlq,
            max_receive_count: count,
        });
        let result = w.broker.create_queue(cfg);
        assert_eq!(result.is_ok(), ok, "maxReceiveCount {count}: {result:?}");
        if let Err(e) = result {
            assert_eq!(e.code, ErrorCode::InvalidParameterValue);
        }
    }
}

/// A dead-lettered message is the same message: body, message attributes and the sender's meta
/// arrive unchanged in the dead-letter queue (standard and FIFO, where the group id is kept too).
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html>
#[test]
fn dead_lettered_message_keeps_body_attributes_and_meta() {
    for (name, dlq_name) in [("jobs", "jobs-dlq"), ("jobs.fifo", "jobs-dlq.fifo")] {
        let mut w = World::new();
        let (q, dlq) = with_dlq(&mut w, name, dlq_name, 1);
        let meta = MessageMeta {
            origin: 77,
            created_at: Millis(5),
        };
        let mut req = SendRequest::new("poison")
            .attribute("kind", AttributeValue::string("order"))
            .attribute("amount", AttributeValue::number("12.5"))
            .meta(meta);
        if name.ends_with(".fifo") {
            req = req.group("g1").dedup("d1");
        }
        w.send_ok(q, req);
        assert_eq!(w.recv(q, 1).len(), 1);
        w.wait_s(10);
        assert!(w.recv(q, 1).is_empty(), "moved, not handed out");
        let moved = w.recv(dlq, 1);
        assert_eq!(moved.len(), 1, "{}", w.story());
        let m = &moved[0];
        assert_eq!(m.payload.body, "poison");
        assert_eq!(m.payload.attributes.len(), 2);
        assert_eq!(
            m.payload.attributes["kind"],
            AttributeValue::string("order")
        );
        assert_eq!(
            m.payload.attributes["amount"],
            AttributeValue::number("12.5")
        );
        assert_eq!(m.meta, meta);
        if name.ends_with(".fifo") {
            assert_eq!(m.group.as_deref(), Some("g1"));
        }
    }
}
