//! FIFO deduplication: explicit ids, content-based ids (SHA-256 of the body only), the 5-minute
//! window from the first accepted send, and DeduplicationScope.

mod common;
use common::*;
use switchboard_broker::*;

fn explicit(name: &str) -> QueueConfig {
    QueueConfig::new(name)
}

#[test]
fn same_dedup_id_inside_window_is_dropped_and_returns_original_id() {
    let mut w = World::new();
    let q = w.queue(explicit("pay.fifo"));
    let first = w
        .send(q, SendRequest::new("a").group("g").dedup("d1"))
        .unwrap();
    let second = w
        .send(q, SendRequest::new("b").group("g").dedup("d1"))
        .unwrap();
    assert!(!first.deduplicated);
    assert!(second.deduplicated);
    assert_eq!(second.message, first.message);
    let m = w.metrics(q);
    assert_eq!((m.sent, m.accepted, m.deduplicated), (2, 1, 1));
}

#[test]
fn dedup_window_survives_delete() {
    let mut w = World::new();
    let q = w.queue(explicit("pay.fifo"));
    w.send_ok(q, SendRequest::new("a").group("g").dedup("d1"));
    let got = w.recv(q, 1);
    w.delete(q, got[0].receipt).unwrap();
    w.wait_s(60);
    let again = w
        .send(q, SendRequest::new("a").group("g").dedup("d1"))
        .unwrap();
    assert!(
        again.deduplicated,
        "deleting the message does not end the window"
    );
    assert!(w.recv(q, 1).is_empty());
}

#[test]
fn dedup_window_expires_after_five_minutes() {
    let mut w = World::new();
    let q = w.queue(explicit("pay.fifo"));
    w.send_ok(q, SendRequest::new("a").group("g").dedup("d1"));
    w.wait_ms(299_999);
    assert!(
        w.send(q, SendRequest::new("a").group("g").dedup("d1"))
            .unwrap()
            .deduplicated
    );
    w.wait_ms(1);
    let later = w
        .send(q, SendRequest::new("a").group("g").dedup("d1"))
        .unwrap();
    assert!(
        !later.deduplicated,
        "the window is 5 minutes from the first accepted send"
    );
    assert_eq!(w.metrics(q).accepted, 2);
}

#[test]
fn duplicates_do_not_extend_the_window() {
    let mut w = World::new();
    let q = w.queue(explicit("pay.fifo"));
    w.send_ok(q, SendRequest::new("a").group("g").dedup("d1"));
    w.wait_s(200);
    assert!(
        w.send(q, SendRequest::new("a").group("g").dedup("d1"))
            .unwrap()
            .deduplicated
    );
    w.wait_s(100);
    assert!(
        !w.send(q, SendRequest::new("a").group("g").dedup("d1"))
            .unwrap()
            .deduplicated
    );
}

#[test]
fn content_based_dedup_ignores_attributes() {
    let mut w = World::new();
    let q = w.queue(fifo("pay.fifo"));
    let a = w
        .send(
            q,
            SendRequest::new("same body")
                .group("g")
                .attribute("v", AttributeValue::string("1")),
        )
        .unwrap();
    let b = w
        .send(
            q,
            SendRequest::new("same body")
                .group("g")
                .attribute("v", AttributeValue::string("2")),
        )
        .unwrap();
    assert!(b.deduplicated, "attributes are not part of the SHA-256");
    assert_eq!(a.message, b.message);
    let c = w
        .send(q, SendRequest::new("other body").group("g"))
        .unwrap();
    assert!(!c.deduplicated);
}

#[test]
fn content_based_dedup_id_is_the_sha256_of_the_body() {
    let mut w = World::new();
    let q = w.queue(fifo("pay.fifo"));
    w.send_ok(q, SendRequest::new("abc").group("g"));
    let dedup = w.events.iter().find_map(|e| match e {
        BrokerEvent::Accepted { dedup_id, .. } => dedup_id.clone(),
        _ => None,
    });
    assert_eq!(
        dedup.as_deref(),
        Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
}

#[test]
fn explicit_dedup_id_wins_over_content() {
    let mut w = World::new();
    let q = w.queue(fifo("pay.fifo"));
    w.send_ok(q, SendRequest::new("same").group("g").dedup("x"));
    assert!(
        !w.send(q, SendRequest::new("same").group("g").dedup("y"))
            .unwrap()
            .deduplicated
    );
}

#[test]
fn send_without_dedup_id_or_content_based_dedup_fails() {
    let mut w = World::new();
    let q = w.queue(explicit("pay.fifo"));
    let err = w.send(q, SendRequest::new("a").group("g")).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert!(
        err.message.contains("ContentBasedDeduplication"),
        "{}",
        err.message
    );
}

#[test]
fn dedup_scope_queue_spans_groups() {
    let mut w = World::new();
    let q = w.queue(explicit("pay.fifo"));
    w.send_ok(q, SendRequest::new("a").group("g1").dedup("d"));
    assert!(
        w.send(q, SendRequest::new("a").group("g2").dedup("d"))
            .unwrap()
            .deduplicated
    );
}

#[test]
fn dedup_scope_message_group() {
    let mut w = World::new();
    let mut cfg = explicit("pay.fifo");
    cfg.dedup_scope = DedupScope::MessageGroup;
    let q = w.queue(cfg);
    w.send_ok(q, SendRequest::new("a").group("g1").dedup("d"));
    assert!(
        !w.send(q, SendRequest::new("a").group("g2").dedup("d"))
            .unwrap()
            .deduplicated,
        "another group has its own id space"
    );
    assert!(
        w.send(q, SendRequest::new("a").group("g1").dedup("d"))
            .unwrap()
            .deduplicated
    );
    assert_eq!(w.metrics(q).accepted, 2);
}

#[test]
fn dedup_settings_are_fifo_only() {
    let mut w = World::new();
    let mut cfg = QueueConfig::new("plain");
    cfg.content_based_dedup = true;
    assert_eq!(
        w.broker.create_queue(cfg).unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    let q = w.queue(QueueConfig::new("plain"));
    assert_eq!(
        w.send(q, SendRequest::new("a").dedup("d"))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameterValue
    );
}

#[test]
fn deduplicated_send_is_explained() {
    let mut w = World::new();
    let q = w.queue(explicit("pay.fifo"));
    w.send_ok(q, SendRequest::new("a").group("g").dedup("d1"));
    w.send_ok(q, SendRequest::new("a").group("g").dedup("d1"));
    let story = w.story();
    assert!(
        story.contains(
            "pay.fifo dropped a send (group g): deduplication id d1 was already accepted as m1"
        ),
        "{story}"
    );
}
