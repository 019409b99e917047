//! Property tests over random workloads driven by the project's own seeded `Rng`: FIFO group
//! order, deduplication windows, conservation, and determinism. Each failure prints `seed=N`;
//! rerun one seed with `BROKER_SEED=N cargo test -p switchboard-broker --test properties`.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchboard_broker::*;

const DEBUG_SEEDS: u64 = 200;

/// (queue, group when the scope is per group, deduplication id).
type DedupKey = (QueueId, Option<Arc<str>>, Arc<str>);
const OPS_PER_SEED: u32 = 300;

fn seeds() -> Vec<u64> {
    match std::env::var("BROKER_SEED") {
        Ok(s) => vec![s.parse().expect("BROKER_SEED is a number")],
        Err(_) => (0..DEBUG_SEEDS).collect(),
    }
}

/// A random world: a FIFO queue with a FIFO DLQ, a FIFO queue scoped per group, a standard queue
/// with duplicates and reordering switched on (and a standard DLQ), a FIFO topic feeding the
/// first two, and a standard topic feeding the standard queue (filtered) and an endpoint.
struct Workload {
    broker: Broker,
    rng: Rng,
    now: Millis,
    queues: Vec<QueueId>,
    topic: TopicId,
    news: TopicId,
    held: Vec<ReceivedMessage>,
    /// Endpoint deliveries the "engine" has not answered yet.
    deliveries: Vec<DeliveryId>,
    /// Every event with the virtual time of the call that produced it.
    log: Vec<(Millis, BrokerEvent)>,
}

impl Workload {
    fn new(seed: u64) -> Workload {
        let mut broker = Broker::new();
        let dlq = broker.create_queue(QueueConfig::new("dlq.fifo")).unwrap();
        let mut main = QueueConfig::new("main.fifo");
        main.visibility_timeout_s = 5;
        main.retention_s = 600;
        main.redrive = Some(RedrivePolicy {
            dead_letter: dlq,
            max_receive_count: 3,
        });
        let main = broker.create_queue(main).unwrap();
        let mut scoped = QueueConfig::new("scoped.fifo");
        scoped.dedup_scope = DedupScope::MessageGroup;
        scoped.visibility_timeout_s = 7;
        let scoped = broker.create_queue(scoped).unwrap();
        let loose_dlq = broker.create_queue(QueueConfig::new("loose-dlq")).unwrap();
        let mut loose = QueueConfig::new("loose");
        loose.redrive = Some(RedrivePolicy {
            dead_letter: loose_dlq,
            max_receive_count: 2,
        });
        loose.duplicate_chance = Chance(100_000);
        loose.reorder_chance = Chance(200_000);
        loose.visibility_timeout_s = 4;
        loose.retention_s = 120;
        let loose = broker.create_queue(loose).unwrap();
        let topic = broker.create_topic(TopicConfig::new("feed.fifo")).unwrap();
        broker
            .subscribe(topic, SubscriptionConfig::queue(main).raw())
            .unwrap();
        broker
            .subscribe(topic, SubscriptionConfig::queue(scoped))
            .unwrap();
        let news = broker.create_topic(TopicConfig::new("news")).unwrap();
        let filter = r#"{"kind":[{"anything-but":["noise"]}]}"#;
        let scope = FilterPolicyScope::MessageAttributes;
        broker
            .subscribe(
                news,
                SubscriptionConfig::queue(loose).with_filter(filter, scope),
            )
            .unwrap();
        broker
            .subscribe(news, SubscriptionConfig::endpoint(1).raw())
            .unwrap();
        Workload {
            broker,
            rng: Rng::new(seed),
            now: Millis::ZERO,
            queues: vec![main, scoped, loose, dlq, loose_dlq],
            topic,
            news,
            held: Vec::new(),
            deliveries: Vec::new(),
            log: Vec::new(),
        }
    }

    /// One random API call (or a wait); returns the events it produced.
    fn step(&mut self) -> Vec<BrokerEvent> {
        let mut out = Vec::new();
        let mut draw = self.rng.fork();
        let queue = self.queues[draw.below(self.queues.len() as u64) as usize];
        let fifo = self.broker.queue_config(queue).unwrap().is_fifo();
        let group = format!("g{}", draw.below(3));
        let dedup = format!("d{}", draw.below(12));
        match draw.below(100) {
            0..=29 => {
                let mut req = SendRequest::new(format!("body{}", draw.below(5)));
                if fifo {
                    req = req.group(group).dedup(dedup);
                }
                let _ = self
                    .broker
                    .send_message(self.now, queue, req, &mut self.rng, &mut out);
            }
            30..=39 => {
                let req = PublishRequest::new(format!("pub{}", draw.below(5)))
                    .group(group)
                    .dedup(dedup);
                let _ = self
                    .broker
                    .publish(self.now, self.topic, req, &mut self.rng, &mut out);
            }
            40..=64 => {
                let mut req = ReceiveRequest::max(1 + draw.below(10) as u32)
                    .wait(if draw.below(4) == 0 { 5 } else { 0 });
                if draw.below(5) == 0 {
                    req = req.visibility(draw.below(10) as u32);
                }
                if let Ok(r) =
                    self.broker
                        .receive_message(self.now, queue, req, &mut self.rng, &mut out)
                {
                    self.held.extend(r.into_messages());
                }
            }
            65..=79 if !self.held.is_empty() => {
                let m = self
                    .held
                    .swap_remove(draw.below(self.held.len() as u64) as usize);
                let _ = self.broker.delete_message(
                    self.now,
                    m.receipt.queue,
                    m.receipt,
                    &mut self.rng,
                    &mut out,
                );
            }
            80..=84 if !self.held.is_empty() => {
                let m = &self.held[draw.below(self.held.len() as u64) as usize];
                let timeout = draw.below(8) as u32;
                let _ = self.broker.change_message_visibility(
                    self.now,
                    m.receipt.queue,
                    m.receipt,
                    timeout,
                    &mut self.rng,
                    &mut out,
                );
            }
            86 if !self.deliveries.is_empty() => {
                let d = self
                    .deliveries
                    .swap_remove(draw.below(self.deliveries.len() as u64) as usize);
                let _ = if draw.below(2) == 0 {
                    self.broker
                        .endpoint_delivered(self.now, d, &mut self.rng, &mut out)
                } else {
                    self.broker
                        .endpoint_delivery_failed(self.now, d, &mut self.rng, &mut out)
                };
            }
            87 => {
                let kind = ["noise", "order", "alert"][draw.below(3) as usize];
                let req = PublishRequest::new(format!("news{}", draw.below(5)))
                    .attribute("kind", AttributeValue::string(kind));
                let _ = self
                    .broker
                    .publish(self.now, self.news, req, &mut self.rng, &mut out);
            }
            85 => {
                let _ = self
                    .broker
                    .purge_queue(self.now, queue, &mut self.rng, &mut out);
            }
            88..=89 => {
                if let Some(t) = self.broker.next_deadline() {
                    self.now = t;
                    self.broker.advance(self.now, &mut self.rng, &mut out);
                }
            }
            _ => {
                self.now = self.now.plus(draw.below(20_000));
                self.broker.advance(self.now, &mut self.rng, &mut out);
            }
        }
        for e in &out {
            match e {
                BrokerEvent::PollCompleted { messages, .. } => {
                    self.held.extend(messages.iter().cloned())
                }
                BrokerEvent::EndpointDeliveryRequested { delivery, .. } => {
                    self.deliveries.push(*delivery)
                }
                _ => {}
            }
        }
        self.log.extend(out.iter().map(|e| (self.now, e.clone())));
        out
    }
}

/// Tracks, per (queue, group), the undeleted messages in send order.
#[derive(Default)]
struct GroupModel {
    lanes: BTreeMap<(QueueId, Arc<str>), Vec<MessageId>>,
}

impl GroupModel {
    fn remove(&mut self, queue: QueueId, message: MessageId) {
        for ((q, _), lane) in self.lanes.iter_mut() {
            if *q == queue {
                lane.retain(|m| *m != message);
            }
        }
    }

    /// Applies one call's events; checks that every hand-out of a FIFO message comes after all
    /// earlier undeleted messages of its group were handed out in the same batch.
    fn apply(
        &mut self,
        events: &[BrokerEvent],
        fifo: &dyn Fn(QueueId) -> bool,
    ) -> Result<(), String> {
        let mut batch: Vec<(QueueId, Option<PollId>, MessageId)> = Vec::new();
        for e in events {
            match e {
                BrokerEvent::Accepted {
                    queue,
                    message,
                    group: Some(g),
                    ..
                } if fifo(*queue) => {
                    self.lanes
                        .entry((*queue, g.clone()))
                        .or_default()
                        .push(*message);
                }
                BrokerEvent::DeadLettered {
                    queue,
                    dead_letter,
                    message,
                    new_message,
                    group,
                    ..
                } => {
                    self.remove(*queue, *message);
                    if let Some(g) = group {
                        self.lanes
                            .entry((*dead_letter, g.clone()))
                            .or_default()
                            .push(*new_message);
                    }
                }
                BrokerEvent::Deleted { queue, message, .. }
                | BrokerEvent::Expired { queue, message, .. } => self.remove(*queue, *message),
                BrokerEvent::Purged { queue, .. } => self.lanes.retain(|(q, _), _| q != queue),
                BrokerEvent::Received {
                    queue,
                    message,
                    group: Some(g),
                    poll,
                    ..
                } if fifo(*queue) => {
                    let lane = self
                        .lanes
                        .get(&(*queue, g.clone()))
                        .cloned()
                        .unwrap_or_default();
                    let Some(pos) = lane.iter().position(|m| m == message) else {
                        return Err(format!(
                            "{message} handed out but not an undeleted message of group {g}"
                        ));
                    };
                    for earlier in &lane[..pos] {
                        if !batch.contains(&(*queue, *poll, *earlier)) {
                            return Err(format!(
                                "{message} of group {g} handed out while the earlier {earlier} is undeleted and not in the same batch before it"
                            ));
                        }
                    }
                    batch.push((*queue, *poll, *message));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[test]
fn property_fifo_per_group_order_is_never_violated() {
    for seed in seeds() {
        let mut w = Workload::new(seed);
        let mut model = GroupModel::default();
        for op in 0..OPS_PER_SEED {
            let events = w.step();
            let broker = &w.broker;
            let fifo = |q: QueueId| broker.queue_config(q).is_some_and(QueueConfig::is_fifo);
            if let Err(e) = model.apply(&events, &fifo) {
                panic!("seed={seed} op={op}: {e}");
            }
        }
    }
}

#[test]
fn property_dedup_id_is_never_enqueued_twice_inside_its_window() {
    for seed in seeds() {
        let mut w = Workload::new(seed);
        for _ in 0..OPS_PER_SEED {
            w.step();
        }
        // (queue, scope, dedup id) -> time of the last accepted send.
        let mut first: BTreeMap<DedupKey, Millis> = BTreeMap::new();
        for (t, e) in &w.log {
            let BrokerEvent::Accepted {
                queue,
                group,
                dedup_id: Some(d),
                ..
            } = e
            else {
                continue;
            };
            let scoped =
                w.broker.queue_config(*queue).unwrap().dedup_scope == DedupScope::MessageGroup;
            let key = (*queue, if scoped { group.clone() } else { None }, d.clone());
            if let Some(prev) = first.get(&key) {
                assert!(
                    t.since(*prev) >= limits::DEDUP_WINDOW_MS,
                    "seed={seed}: dedup id {d} accepted twice in {} at {prev} and {t}",
                    w.broker.queue_name(*queue)
                );
            }
            first.insert(key, *t);
        }
    }
}

#[test]
fn property_conservation_holds_after_every_call() {
    for seed in seeds() {
        let mut w = Workload::new(seed);
        let mut accepted_events: BTreeMap<QueueId, u64> = BTreeMap::new();
        for op in 0..OPS_PER_SEED {
            let events = w.step();
            if let Err(e) = w.broker.check_invariants() {
                panic!("seed={seed} op={op}: {e}");
            }
            // Cross-check the counters against the event stream.
            for e in &events {
                let q = match e {
                    BrokerEvent::Accepted { queue, .. }
                    | BrokerEvent::DuplicateInjected { queue, .. } => *queue,
                    BrokerEvent::DeadLettered { dead_letter, .. } => *dead_letter,
                    _ => continue,
                };
                *accepted_events.entry(q).or_default() += 1;
            }
            for &q in &w.queues {
                let m = w.broker.queue_metrics(q);
                assert_eq!(
                    m.accepted,
                    accepted_events.get(&q).copied().unwrap_or(0),
                    "seed={seed} op={op}: accepted vs events in {}",
                    w.broker.queue_name(q)
                );
            }
        }
    }
}

#[test]
fn property_same_seed_same_events_and_clone_is_a_checkpoint() {
    for seed in seeds().into_iter().take(50) {
        let mut a = Workload::new(seed);
        let mut b = Workload::new(seed);
        for _ in 0..OPS_PER_SEED / 2 {
            a.step();
            b.step();
        }
        // Continue a from a clone: the clone must behave exactly like the original.
        let mut c = Workload {
            broker: a.broker.clone(),
            rng: a.rng.clone(),
            now: a.now,
            queues: a.queues.clone(),
            topic: a.topic,
            news: a.news,
            held: a.held.clone(),
            deliveries: a.deliveries.clone(),
            log: Vec::new(),
        };
        for _ in 0..OPS_PER_SEED / 2 {
            let ea = a.step();
            let eb = b.step();
            let ec = c.step();
            assert_eq!(ea, eb, "seed={seed}: same seed, different events");
            assert_eq!(ea, ec, "seed={seed}: a cloned broker diverged");
        }
        let json = |w: &Workload| {
            serde_json::to_string(&w.log.iter().map(|(_, e)| e).collect::<Vec<_>>()).unwrap()
        };
        assert_eq!(json(&a), json(&b), "seed={seed}");
    }
}

#[test]
fn workloads_exercise_the_interesting_paths() {
    // Guards the properties against a workload that never reaches the cases they are about.
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    for seed in 0..20 {
        let mut w = Workload::new(seed);
        for _ in 0..OPS_PER_SEED {
            for e in w.step() {
                *kinds.entry(e.kind()).or_default() += 1;
            }
        }
    }
    for kind in [
        "Accepted",
        "Deduplicated",
        "Received",
        "Held",
        "VisibilityExpired",
        "Deleted",
        "DeadLettered",
        "Expired",
        "PollCompleted",
        "DuplicateInjected",
        "Reordered",
        "Purged",
        "FilteredOut",
        "DeliveredToQueue",
        "EndpointDelivered",
        "EndpointRetryScheduled",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} events in the random workloads: {kinds:?}"
        );
    }
}

#[test]
fn bytes_per_message_stays_within_budget() {
    // Performance note, measured not timed: bookkeeping per stored message excluding payload.
    let bytes = Broker::bytes_per_message();
    assert!(bytes <= 96, "{bytes} bytes per message");
}

/// Random junk for one hostile call.
fn junk_string(draw: &mut Rng) -> String {
    let alphabet = [
        "", "a", "g1", "b", "7", "x y", "é", "\u{1}", "..", "AWS.x", "{", "1e9999", "-0", "a.fifo",
    ];
    let n = draw.below(3);
    (0..n)
        .map(|_| alphabet[draw.below(alphabet.len() as u64) as usize])
        .collect()
}

#[test]
fn property_hostile_calls_never_panic_and_keep_invariants() {
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    for seed in seeds() {
        let mut draw = Rng::new(seed ^ 0x5eed);
        let mut rng = Rng::new(seed);
        let mut broker = Broker::new();
        // A valid core so that junk calls meet real state (ids 0 and 1; junk may add more).
        let mut fifo = QueueConfig::new("core.fifo");
        fifo.content_based_dedup = true;
        broker.create_queue(QueueConfig::new("core")).unwrap();
        broker.create_queue(fifo).unwrap();
        broker.create_topic(TopicConfig::new("news")).unwrap();
        let mut out = Vec::new();
        let mut now = Millis::ZERO;
        let mut handles: Vec<ReceiptHandle> = Vec::new();
        for op in 0..OPS_PER_SEED {
            let queue = QueueId(draw.below(6) as u32);
            let topic = TopicId(draw.below(3) as u32);
            match draw.below(14) {
                0 => {
                    let mut cfg = QueueConfig::new(
                        junk_string(&mut draw) + ["q", "f.fifo"][draw.below(2) as usize],
                    );
                    cfg.visibility_timeout_s = draw.below(50_000) as u32;
                    cfg.retention_s = draw.below(2_000_000) as u32;
                    cfg.delay_s = draw.below(1_000) as u32;
                    cfg.receive_wait_s = draw.below(25) as u32;
                    cfg.content_based_dedup = draw.below(2) == 0;
                    if draw.below(3) == 0 {
                        cfg.redrive = Some(RedrivePolicy {
                            dead_letter: QueueId(draw.below(6) as u32),
                            max_receive_count: draw.below(1_100) as u32,
                        });
                    }
                    let _ = broker.create_queue(cfg);
                }
                1 => {
                    let _ = broker.create_topic(TopicConfig::new(
                        junk_string(&mut draw) + ["t", "t.fifo"][draw.below(2) as usize],
                    ));
                }
                2 => {
                    let target = if draw.below(2) == 0 {
                        SubscriptionTarget::Queue(queue)
                    } else {
                        SubscriptionTarget::Endpoint(draw.next_u64() as u32)
                    };
                    let mut cfg = SubscriptionConfig::new(target);
                    if draw.below(2) == 0 {
                        let policies = [
                            r#"{"a":["x"]}"#,
                            r#"{"a":[{"numeric":[">",1e300]}]}"#,
                            "{",
                            r#"{"$or":[]}"#,
                            r#"{"a":{"b":[{"exists":false}]}}"#,
                        ];
                        cfg.filter_policy =
                            Some(policies[draw.below(policies.len() as u64) as usize].to_string());
                        cfg.filter_policy_scope = if draw.below(2) == 0 {
                            FilterPolicyScope::MessageBody
                        } else {
                            FilterPolicyScope::MessageAttributes
                        };
                    }
                    let _ = broker.subscribe(topic, cfg);
                }
                3..=5 => {
                    let mut req = SendRequest::new(junk_string(&mut draw) + "m");
                    if draw.below(4) != 0 {
                        req = req.group(junk_string(&mut draw) + "g");
                    }
                    if draw.below(4) == 0 {
                        req = req.dedup(junk_string(&mut draw));
                    }
                    if draw.below(3) == 0 {
                        req = req.delay(draw.below(2_000) as u32);
                    }
                    if draw.below(3) == 0 {
                        req = req.attribute(
                            junk_string(&mut draw),
                            AttributeValue::number(junk_string(&mut draw)),
                        );
                    }
                    let _ = broker.send_message(now, queue, req, &mut rng, &mut out);
                }
                6..=7 => {
                    let req = ReceiveRequest {
                        max_messages: draw.below(12) as u32,
                        wait_s: Some(draw.below(25) as u32),
                        visibility_timeout_s: Some(draw.below(50_000) as u32),
                        attempt_id: Some(junk_string(&mut draw) + "r"),
                    };
                    if let Ok(r) = broker.receive_message(now, queue, req, &mut rng, &mut out) {
                        handles.extend(r.messages().iter().map(|m| m.receipt));
                    }
                }
                8 => {
                    let mut receipt =
                        match handles.get(draw.below(handles.len() as u64 + 1) as usize) {
                            Some(h) => *h,
                            None => ReceiptHandle::new(
                                queue,
                                MessageId(draw.next_u64()),
                                draw.next_u64() as u32,
                            ),
                        };
                    if draw.below(4) == 0 {
                        receipt.receive = receipt.receive.wrapping_add(1);
                    }
                    let _ = if draw.below(2) == 0 {
                        broker.delete_message(now, queue, receipt, &mut rng, &mut out)
                    } else {
                        broker.change_message_visibility(
                            now,
                            queue,
                            receipt,
                            draw.next_u64() as u32 % 50_000,
                            &mut rng,
                            &mut out,
                        )
                    };
                }
                9 => {
                    let mut req =
                        PublishRequest::new(junk_string(&mut draw) + r#"{"a":"x","b":{"c":1}}"#);
                    if draw.below(2) == 0 {
                        req = req
                            .group(junk_string(&mut draw))
                            .dedup(junk_string(&mut draw));
                    }
                    req = req.attribute("a", AttributeValue::string(junk_string(&mut draw)));
                    let _ = broker.publish(now, topic, req, &mut rng, &mut out);
                }
                10 => {
                    let d = DeliveryId(draw.below(20));
                    let _ = if draw.below(2) == 0 {
                        broker.endpoint_delivered(now, d, &mut rng, &mut out)
                    } else {
                        broker.endpoint_delivery_failed(now, d, &mut rng, &mut out)
                    };
                }
                11 => {
                    let _ = broker.purge_queue(now, queue, &mut rng, &mut out);
                }
                12 => {
                    broker.cancel_poll(queue, PollId(draw.below(20)), &mut rng, &mut out);
                }
                _ => {
                    // Time jumps, including absurd ones (the clock saturates, never panics).
                    now = if draw.below(50) == 0 {
                        Millis(u64::MAX - draw.below(10))
                    } else {
                        now.plus(draw.below(100_000))
                    };
                    broker.advance(now, &mut rng, &mut out);
                }
            }
            if let Err(e) = broker.check_invariants() {
                panic!("seed={seed} op={op}: {e}");
            }
            for e in &out {
                let _ = e.explain(&broker);
                *kinds.entry(e.kind()).or_default() += 1;
            }
            out.clear();
        }
    }
    if seeds().len() > 1 {
        for kind in [
            "Accepted",
            "Received",
            "Deleted",
            "Published",
            "Deduplicated",
        ] {
            assert!(
                kinds.contains_key(kind),
                "hostile workload never produced {kind}: {kinds:?}"
            );
        }
    }
}
