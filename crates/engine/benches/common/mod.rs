//! The reference workload shared by the benchmark (`benches/engine.rs`) and the profiling and
//! guard harness (`examples/reference.rs`): a producer publishes to a standard topic that fans
//! out to two standard queues; the first queue's consumers forward each message to a FIFO queue
//! with 64 groups (`g{n%64}`), whose own consumers drain it.

use switchboard_engine::broker::{
    Chance, Millis, QueueConfig, QueueId, SubscriptionConfig, TopicConfig, TopicId,
};
use switchboard_engine::*;

fn consumer(name: String, queue: u32, batch: u32, chain: Vec<Step>) -> ServiceSpec {
    ServiceSpec {
        name,
        behaviour: Behaviour::Consumer(ConsumerSpec {
            queue: QueueId(queue),
            batch_size: batch,
            wait_ms: 1_000,
            idle_backoff_ms: 50,
            work: Latency::Uniform {
                min_ms: 1,
                max_ms: 6,
            },
            fail: Chance(10_000),
            pause: Chance::NEVER,
            pause_ms: 0,
            crash: Chance::NEVER,
            idempotent: false,
            idempotency_store: None,
            heartbeat: None,
            chain,
        }),
    }
}

pub fn reference_world(per_second: u32, max_events: u64) -> WorldSpec {
    let mut services = vec![ServiceSpec {
        name: "shop".into(),
        behaviour: Behaviour::Producer(ProducerSpec {
            schedule: Schedule::Rate {
                per_second,
                start: Millis(0),
                count: u64::MAX,
            },
            template: MessageTemplate {
                body: "order {n}".into(),
                attributes: vec![("kind".into(), "order".into())],
                group_id: None,
                dedup_id: None,
            },
            target: Target::Topic(TopicId(0)),
            retry: RetryPolicy::default(),
            timeout_ms: 1_000,
        }),
    }];
    let forward = vec![Step::Send {
        queue: QueueId(2),
        template: MessageTemplate {
            body: "ship {origin}".into(),
            attributes: vec![],
            group_id: Some("g{n%64}".into()),
            // The origin is unique per order, so the 4 forwarding consumers never collide.
            dedup_id: Some("{origin}".into()),
        },
    }];
    for i in 0..4 {
        services.push(consumer(format!("billing-{i}"), 0, 10, forward.clone()));
        services.push(consumer(format!("analytics-{i}"), 1, 10, vec![]));
        services.push(consumer(format!("shipping-{i}"), 2, 10, vec![]));
    }
    let fifo = QueueConfig::new("shipping.fifo");
    WorldSpec {
        seed: 7,
        services,
        queues: vec![
            QueueConfig::new("billing"),
            QueueConfig::new("analytics"),
            fifo,
        ],
        topics: vec![TopicSpec {
            config: TopicConfig::new("orders"),
            subscriptions: vec![
                SubscriptionConfig::queue(QueueId(0)).raw(),
                SubscriptionConfig::queue(QueueId(1)).raw(),
            ],
        }],
        links: Vec::new(),
        faults: Vec::new(),
        limits: Limits {
            until: Millis::from_mins(24 * 60),
            max_events,
        },
    }
}
