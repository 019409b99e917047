//! Small builders for test worlds, so each test states only what its behaviour needs.
#![allow(dead_code)]

use switchboard_engine::broker::{
    Chance, Millis, QueueConfig, QueueId, SubscriptionConfig, TopicConfig, TopicId,
};
use switchboard_engine::*;

pub fn world(services: Vec<ServiceSpec>) -> WorldSpec {
    WorldSpec {
        seed: 1,
        services,
        queues: Vec::new(),
        topics: Vec::new(),
        links: Vec::new(),
        faults: Vec::new(),
        limits: Limits {
            until: Millis::from_secs(120),
            max_events: 100_000,
        },
    }
}

pub fn rpc_link(a: u32, b: u32, latency_ms: u64) -> LinkSpec {
    LinkSpec {
        source: Node::Service(ServiceId(a)),
        target: Node::Service(ServiceId(b)),
        kind: LinkKind::Rpc,
        latency_ms_min: latency_ms,
        latency_ms_max: latency_ms,
        loss: Chance::NEVER,
    }
}

pub fn messaging_link(service: u32, node: Node, latency_ms: u64) -> LinkSpec {
    LinkSpec {
        source: Node::Service(ServiceId(service)),
        target: node,
        kind: LinkKind::Messaging,
        latency_ms_min: latency_ms,
        latency_ms_max: latency_ms,
        loss: Chance::NEVER,
    }
}

pub fn server(name: &str, work_ms: u64, chain: Vec<Step>) -> ServiceSpec {
    ServiceSpec {
        name: name.into(),
        behaviour: Behaviour::RpcServer(RpcServerSpec {
            latency: Latency::Fixed { ms: work_ms },
            concurrency: 8,
            overflow: Overflow::Reject,
            error_rate: Chance::NEVER,
            chain,
        }),
    }
}

pub fn call(service: u32, timeout_ms: u64) -> Step {
    Step::Call {
        service: ServiceId(service),
        timeout_ms,
        retry: RetryPolicy::default(),
    }
}

pub fn producer(
    name: &str,
    target: Target,
    times: &[u64],
    template: MessageTemplate,
    timeout_ms: u64,
    retry: RetryPolicy,
) -> ServiceSpec {
    ServiceSpec {
        name: name.into(),
        behaviour: Behaviour::Producer(ProducerSpec {
            schedule: Schedule::Times(times.iter().map(|&t| Millis(t)).collect()),
            template,
            target,
            retry,
            timeout_ms,
        }),
    }
}

pub fn caller(name: &str, target: u32, times: &[u64], timeout_ms: u64) -> ServiceSpec {
    producer(
        name,
        Target::Service(ServiceId(target)),
        times,
        body("call {n}"),
        timeout_ms,
        RetryPolicy::default(),
    )
}

pub fn body(text: &str) -> MessageTemplate {
    MessageTemplate {
        body: text.into(),
        ..MessageTemplate::default()
    }
}

pub fn consumer_spec(queue: u32) -> ConsumerSpec {
    ConsumerSpec {
        queue: QueueId(queue),
        batch_size: 1,
        wait_ms: 0,
        idle_backoff_ms: 100,
        work: Latency::Fixed { ms: 100 },
        fail: Chance::NEVER,
        pause: Chance::NEVER,
        pause_ms: 0,
        crash: Chance::NEVER,
        idempotent: false,
        idempotency_store: None,
        heartbeat: None,
        chain: Vec::new(),
    }
}

pub fn consumer(name: &str, spec: ConsumerSpec) -> ServiceSpec {
    ServiceSpec {
        name: name.into(),
        behaviour: Behaviour::Consumer(spec),
    }
}

pub fn queue(name: &str, visibility_timeout_s: u32) -> QueueConfig {
    QueueConfig {
        visibility_timeout_s,
        ..QueueConfig::new(name)
    }
}

pub fn topic(name: &str, queues: &[u32]) -> TopicSpec {
    TopicSpec {
        config: TopicConfig::new(name),
        subscriptions: queues
            .iter()
            .map(|&q| SubscriptionConfig::queue(QueueId(q)).raw())
            .collect(),
    }
}

pub fn topic_target(t: u32) -> Target {
    Target::Topic(TopicId(t))
}

pub fn fault(at_ms: u64, action: FaultAction) -> FaultSpec {
    FaultSpec {
        at: Trigger::At(Millis(at_ms)),
        action,
    }
}

pub fn run(spec: &WorldSpec) -> Sim {
    let mut sim = Sim::new(spec).expect("valid world");
    let stop = sim.run_until(spec.limits.until, spec.limits.max_events);
    assert_ne!(
        stop,
        RunStop::EventBudget,
        "the test world should finish within its budget"
    );
    sim
}

pub fn service(sim: &Sim, name: &str) -> switchboard_engine::metrics::ServiceSummary {
    sim.metrics()
        .services
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("no service {name}"))
}

/// Events whose trace kind is `kind`, as (time, event).
pub fn of_kind(sim: &Sim, kind: &str) -> Vec<Event> {
    sim.events()
        .iter()
        .filter(|e| e.kind.kind_name() == kind)
        .collect()
}
