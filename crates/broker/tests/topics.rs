//! SNS topics: fan-out, FIFO topic rules, raw vs enveloped delivery, publish deduplication,
//! endpoint deliveries with retries.

mod common;
use common::*;
use switchboard_broker::*;

fn publish(
    w: &mut World,
    topic: TopicId,
    req: PublishRequest,
) -> Result<PublishResponse, ApiError> {
    let r = w
        .broker
        .publish(w.now, topic, req, &mut w.rng, &mut w.events);
    w.check();
    r
}

fn topic(w: &mut World, name: &str) -> TopicId {
    w.broker.create_topic(TopicConfig::new(name)).unwrap()
}

#[test]
fn topic_fans_out_to_every_subscription() {
    let mut w = World::new();
    let t = topic(&mut w, "orders");
    let queues: Vec<QueueId> = ["billing", "shipping", "audit"]
        .iter()
        .map(|n| w.queue(QueueConfig::new(*n)))
        .collect();
    for &q in &queues {
        w.broker
            .subscribe(t, SubscriptionConfig::queue(q).raw())
            .unwrap();
    }
    w.broker
        .subscribe(t, SubscriptionConfig::endpoint(7))
        .unwrap();
    let meta = MessageMeta {
        origin: 5,
        created_at: Millis(0),
    };
    publish(&mut w, t, PublishRequest::new("order 1").meta(meta)).unwrap();
    for &q in &queues {
        let got = w.recv(q, 10);
        assert_eq!(bodies(&got), vec!["order 1".to_string()]);
        assert_eq!(got[0].meta, meta, "the copy keeps the publisher's meta");
    }
    assert_eq!(w.count("EndpointDeliveryRequested"), 1);
    let m = w.broker.topic_metrics(t);
    assert_eq!(
        (m.published, m.delivered),
        (1, 3),
        "endpoint copies count as delivered once the engine confirms"
    );
}

#[test]
fn raw_vs_enveloped_delivery() {
    let mut w = World::new();
    let t = topic(&mut w, "orders");
    let raw_q = w.queue(QueueConfig::new("raw"));
    let env_q = w.queue(QueueConfig::new("enveloped"));
    w.broker
        .subscribe(t, SubscriptionConfig::queue(raw_q).raw())
        .unwrap();
    w.broker
        .subscribe(t, SubscriptionConfig::queue(env_q))
        .unwrap();
    w.wait_ms(1_500);
    publish(
        &mut w,
        t,
        PublishRequest::new("hello").attribute("kind", AttributeValue::string("new")),
    )
    .unwrap();
    let raw = w.recv(raw_q, 1);
    assert_eq!(raw[0].payload.body, "hello");
    assert_eq!(
        raw[0].payload.attributes["kind"],
        AttributeValue::string("new"),
        "raw delivery passes attributes as SQS attributes"
    );
    let env = w.recv(env_q, 1);
    assert!(
        env[0].payload.attributes.is_empty(),
        "enveloped delivery puts attributes inside the envelope"
    );
    let json: serde_json::Value = serde_json::from_str(&env[0].payload.body).unwrap();
    assert_eq!(json["Type"], "Notification");
    assert_eq!(json["Message"], "hello");
    assert_eq!(json["MessageId"], "n1");
    assert_eq!(
        json["TopicArn"],
        "arn:aws:sns:us-east-1:000000000000:orders"
    );
    assert_eq!(json["Timestamp"], "1970-01-01T00:00:01.500Z");
    assert_eq!(json["MessageAttributes"]["kind"]["Type"], "String");
    assert_eq!(json["MessageAttributes"]["kind"]["Value"], "new");
}

#[test]
fn envelope_is_deterministic() {
    let run = || {
        let mut w = World::new();
        let t = topic(&mut w, "orders");
        let q = w.queue(QueueConfig::new("q"));
        w.broker.subscribe(t, SubscriptionConfig::queue(q)).unwrap();
        publish(
            &mut w,
            t,
            PublishRequest::new("x")
                .attribute("b", AttributeValue::number("2"))
                .attribute("a", AttributeValue::string("1")),
        )
        .unwrap();
        w.recv(q, 1)[0].payload.body.clone()
    };
    assert_eq!(run(), run());
}

#[test]
fn fifo_topic_refuses_standard_queue_subscription() {
    let mut w = World::new();
    let t = w
        .broker
        .create_topic(TopicConfig::new("orders.fifo"))
        .unwrap();
    let standard = w.queue(QueueConfig::new("plain"));
    let err = w
        .broker
        .subscribe(t, SubscriptionConfig::queue(standard))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameter);
    assert_eq!(
        w.broker
            .subscribe(t, SubscriptionConfig::endpoint(1))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameter
    );
    let st = topic(&mut w, "plain-topic");
    let fq = w.queue(fifo("orders.fifo"));
    assert_eq!(
        w.broker
            .subscribe(st, SubscriptionConfig::queue(fq))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameter
    );
    assert!(w.broker.subscribe(t, SubscriptionConfig::queue(fq)).is_ok());
}

#[test]
fn fifo_topic_passes_group_and_dedup_ids() {
    let mut w = World::new();
    let t = w
        .broker
        .create_topic(TopicConfig::new("orders.fifo"))
        .unwrap();
    // The queue has no content-based dedup: the send only works because the topic passes its id.
    let q = w.queue(QueueConfig::new("billing.fifo"));
    w.broker
        .subscribe(t, SubscriptionConfig::queue(q).raw())
        .unwrap();
    publish(
        &mut w,
        t,
        PublishRequest::new("o1").group("customer-7").dedup("o1-id"),
    )
    .unwrap();
    let accepted = w.events.iter().find_map(|e| match e {
        BrokerEvent::Accepted {
            group,
            dedup_id,
            from_topic,
            ..
        } => Some((group.clone(), dedup_id.clone(), *from_topic)),
        _ => None,
    });
    assert_eq!(
        accepted,
        Some((Some("customer-7".into()), Some("o1-id".into()), Some(t)))
    );
    let got = w.recv(q, 1);
    assert_eq!(got[0].group.as_deref(), Some("customer-7"));
}

#[test]
fn fifo_topic_deduplicates_publishes() {
    let mut w = World::new();
    let mut cfg = TopicConfig::new("orders.fifo");
    cfg.content_based_dedup = true;
    let t = w.broker.create_topic(cfg).unwrap();
    let q = w.queue(QueueConfig::new("billing.fifo"));
    w.broker
        .subscribe(t, SubscriptionConfig::queue(q).raw())
        .unwrap();
    let first = publish(&mut w, t, PublishRequest::new("same").group("g")).unwrap();
    let second = publish(&mut w, t, PublishRequest::new("same").group("g")).unwrap();
    assert!(second.deduplicated);
    assert_eq!(second.publish, first.publish);
    assert_eq!(w.metrics(q).accepted, 1);
    w.wait_s(300);
    assert!(
        !publish(&mut w, t, PublishRequest::new("same").group("g"))
            .unwrap()
            .deduplicated
    );
}

#[test]
fn fifo_topic_requires_group_and_dedup() {
    let mut w = World::new();
    let t = w
        .broker
        .create_topic(TopicConfig::new("orders.fifo"))
        .unwrap();
    assert_eq!(
        publish(&mut w, t, PublishRequest::new("x"))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameter
    );
    assert_eq!(
        publish(&mut w, t, PublishRequest::new("x").group("g"))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameter
    );
    let st = topic(&mut w, "plain");
    assert_eq!(
        publish(&mut w, st, PublishRequest::new("x").group("g"))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameter
    );
    assert_eq!(
        publish(&mut w, st, PublishRequest::new(""))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameter
    );
    assert_eq!(
        w.broker
            .publish(
                w.now,
                TopicId(99),
                PublishRequest::new("x"),
                &mut w.rng,
                &mut w.events
            )
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
}

#[test]
fn fifo_topic_fan_out_keeps_group_order_in_each_queue() {
    let mut w = World::new();
    let t = w
        .broker
        .create_topic(TopicConfig::new("orders.fifo"))
        .unwrap();
    let a = w.queue(QueueConfig::new("a.fifo"));
    let b = w.queue(QueueConfig::new("b.fifo"));
    w.broker
        .subscribe(t, SubscriptionConfig::queue(a).raw())
        .unwrap();
    w.broker
        .subscribe(t, SubscriptionConfig::queue(b).raw())
        .unwrap();
    for i in 0..4 {
        publish(
            &mut w,
            t,
            PublishRequest::new(format!("{i}"))
                .group("g")
                .dedup(format!("d{i}")),
        )
        .unwrap();
    }
    for q in [a, b] {
        assert_eq!(bodies(&w.recv(q, 10)), vec!["0", "1", "2", "3"]);
    }
}

#[test]
fn publish_matching_no_subscription_is_counted() {
    let mut w = World::new();
    let t = topic(&mut w, "orders");
    publish(&mut w, t, PublishRequest::new("nobody listens")).unwrap();
    assert_eq!(w.broker.topic_metrics(t).matched_none, 1);
    assert_eq!(w.count("MatchedNone"), 1);
}

#[test]
fn queue_refusing_a_copy_is_reported_not_fatal() {
    let mut w = World::new();
    let t = topic(&mut w, "orders");
    let mut cfg = QueueConfig::new("small");
    cfg.max_message_bytes = 1_024;
    let small = w.queue(cfg);
    let big = w.queue(QueueConfig::new("big"));
    w.broker
        .subscribe(t, SubscriptionConfig::queue(small))
        .unwrap();
    w.broker
        .subscribe(t, SubscriptionConfig::queue(big))
        .unwrap();
    // 1000 bytes raw, but more than 1 KiB once wrapped in the envelope.
    publish(&mut w, t, PublishRequest::new("x".repeat(1_000))).unwrap();
    assert_eq!(w.count("QueueDeliveryFailed"), 1);
    assert_eq!(w.metrics(big).accepted, 1);
    assert_eq!(w.broker.topic_metrics(t).delivery_failed, 1);
}

fn delivery_of(event: &BrokerEvent) -> Option<(DeliveryId, u32)> {
    match event {
        BrokerEvent::EndpointDeliveryRequested {
            delivery, attempt, ..
        } => Some((*delivery, *attempt)),
        _ => None,
    }
}

#[test]
fn endpoint_delivery_retries_then_succeeds() {
    let mut w = World::new();
    let t = topic(&mut w, "orders");
    w.broker
        .subscribe(t, SubscriptionConfig::endpoint(3))
        .unwrap();
    publish(&mut w, t, PublishRequest::new("x")).unwrap();
    let (delivery, attempt) = w.events.iter().find_map(delivery_of).unwrap();
    assert_eq!(attempt, 1);
    w.broker
        .endpoint_delivery_failed(w.now, delivery, &mut w.rng, &mut w.events)
        .unwrap();
    assert_eq!(
        w.broker.next_deadline(),
        Some(Millis::from_secs(20)),
        "SNS default: retry 20 s later"
    );
    w.wait_s(20);
    let attempts: Vec<u32> = w
        .events
        .iter()
        .filter_map(delivery_of)
        .map(|(_, a)| a)
        .collect();
    assert_eq!(attempts, vec![1, 2]);
    w.broker
        .endpoint_delivered(w.now, delivery, &mut w.rng, &mut w.events)
        .unwrap();
    assert_eq!(w.broker.topic_metrics(t).delivered, 1);
    assert_eq!(w.broker.pending_deliveries(), 0);
    assert_eq!(
        w.broker
            .endpoint_delivered(w.now, delivery, &mut w.rng, &mut w.events)
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
}

#[test]
fn endpoint_delivery_is_abandoned_after_the_retries() {
    let mut w = World::new();
    let t = topic(&mut w, "orders");
    w.broker
        .subscribe(t, SubscriptionConfig::endpoint(3))
        .unwrap();
    publish(&mut w, t, PublishRequest::new("x")).unwrap();
    let (delivery, _) = w.events.iter().find_map(delivery_of).unwrap();
    for _ in 0..3 {
        w.broker
            .endpoint_delivery_failed(w.now, delivery, &mut w.rng, &mut w.events)
            .unwrap();
        w.wait_s(20);
    }
    w.broker
        .endpoint_delivery_failed(w.now, delivery, &mut w.rng, &mut w.events)
        .unwrap();
    assert_eq!(w.count("EndpointDeliveryRequested"), 4, "1 try + 3 retries");
    assert_eq!(w.count("EndpointDeliveryAbandoned"), 1);
    assert_eq!(w.broker.topic_metrics(t).endpoint_abandoned, 1);
    assert_eq!(w.broker.next_deadline(), None);
}

#[test]
fn topic_explanations_use_names() {
    let mut w = World::new();
    let t = topic(&mut w, "orders");
    let q = w.queue(QueueConfig::new("billing"));
    w.broker
        .subscribe(
            t,
            SubscriptionConfig::queue(q)
                .with_filter(r#"{"kind":["x"]}"#, FilterPolicyScope::MessageAttributes),
        )
        .unwrap();
    publish(&mut w, t, PublishRequest::new("a")).unwrap();
    let story = w.story();
    assert!(
        story.contains("Topic orders: subscription orders→billing does not get n1"),
        "{story}"
    );
}

#[test]
fn create_topic_is_idempotent_for_the_same_attributes() {
    let mut w = World::new();
    let t = topic(&mut w, "orders.fifo");
    assert_eq!(
        w.broker
            .create_topic(TopicConfig::new("orders.fifo"))
            .unwrap(),
        t,
        "same name, same attributes: the existing topic"
    );
    let mut other = TopicConfig::new("orders.fifo");
    other.content_based_dedup = true;
    assert_eq!(
        w.broker.create_topic(other).unwrap_err().code,
        ErrorCode::InvalidParameter
    );
    assert_eq!(w.broker.n_topics(), 1);
}
