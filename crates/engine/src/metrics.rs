//! Metrics: per-service counters kept as events happen, queue depth samples for charts, and the
//! `Metrics` summary (keyed by name, `serde::Serialize`) that the CLI, UI and expectations read.
//! Percentiles are integer nearest-rank over exact per-millisecond counts (no floats).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::broker::{Broker, Millis, QueueMetrics, TopicMetrics};

/// A set of message origins as a bitset: origins are dense counters from 1, so remembering
/// one costs one bit. Used for "handled more than once" and for idempotency stores.
#[derive(Clone, Debug, Default)]
pub(crate) struct OriginSet(Vec<u64>);

impl OriginSet {
    pub fn contains(&self, origin: u64) -> bool {
        let (word, bit) = ((origin / 64) as usize, origin % 64);
        self.0.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// Adds `origin`; returns whether it was already there.
    pub fn insert(&mut self, origin: u64) -> bool {
        let (word, bit) = ((origin / 64) as usize, origin % 64);
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        let present = self.0[word] & (1 << bit) != 0;
        self.0[word] |= 1 << bit;
        present
    }

    pub fn approx_bytes(&self) -> u64 {
        self.0.len() as u64 * 8
    }
}

/// Counters of one service. `handled_origins` remembers every origin handled, so "handled more
/// than once" costs one bit per message.
#[derive(Clone, Debug, Default)]
pub(crate) struct ServiceMetrics {
    pub handled: u64,
    pub handled_more_than_once: u64,
    pub order_violations: u64,
    pub rpc_calls: u64,
    pub rpc_ok: u64,
    pub rpc_errors: u64,
    pub rpc_timeouts: u64,
    pub sent: u64,
    pub received: u64,
    /// Messages sent or published by the service's handler chain steps.
    pub chain_sent: u64,
    handled_origins: OriginSet,
    /// Per FIFO group: the highest origin handled so far (origin order = send order).
    group_high: BTreeMap<Arc<str>, u64>,
    violations_by_group: BTreeMap<Arc<str>, u64>,
    /// How many handled messages had each latency: `latency_low[ms]` for latencies under
    /// `LOW_LATENCY_MS` (a plain Vec grown to the largest one seen), a map above.
    latency_low: Vec<u64>,
    latency_high: BTreeMap<u64, u64>,
    /// Distinct latencies seen (nonzero entries of `latency_low` plus `latency_high.len()`).
    latency_distinct: u64,
}

/// Latencies below this many ms are counted in a Vec indexed by the latency (8 KiB at most).
const LOW_LATENCY_MS: u64 = 1024;

impl ServiceMetrics {
    /// Count one handled message; returns (handled before, order violation).
    pub fn record(
        &mut self,
        origin: u64,
        latency_ms: u64,
        group: Option<&Arc<str>>,
    ) -> (bool, bool) {
        self.handled += 1;
        let duplicate = self.handled_origins.insert(origin);
        if duplicate {
            self.handled_more_than_once += 1;
        }
        let mut violation = false;
        if let Some(group) = group {
            match self.group_high.get_mut(group) {
                Some(high) if origin < *high => violation = true,
                Some(high) => *high = origin,
                None => {
                    self.group_high.insert(group.clone(), origin);
                }
            }
            if violation {
                self.order_violations += 1;
                *self.violations_by_group.entry(group.clone()).or_insert(0) += 1;
            }
        }
        let count = if latency_ms < LOW_LATENCY_MS {
            let ms = latency_ms as usize;
            if self.latency_low.len() <= ms {
                self.latency_low.resize(ms + 1, 0);
            }
            &mut self.latency_low[ms]
        } else {
            self.latency_high.entry(latency_ms).or_insert(0)
        };
        if *count == 0 {
            self.latency_distinct += 1;
        }
        *count += 1;
        (duplicate, violation)
    }

    pub fn approx_bytes(&self) -> u64 {
        self.handled_origins.approx_bytes()
            + (self.latency_distinct
                + self.group_high.len() as u64
                + self.violations_by_group.len() as u64)
                * 48
    }

    /// Nearest-rank percentile `p` (1..=100) of the handled latencies: the smallest value with
    /// at least ceil(p/100 * n) samples at or below it.
    pub fn percentile(&self, p: u64) -> u64 {
        let n: u64 = self.latency_low.iter().sum::<u64>() + self.latency_high.values().sum::<u64>();
        if n == 0 {
            return 0;
        }
        let rank = (p * n).div_ceil(100).max(1);
        let mut seen = 0;
        let low = (0u64..).zip(self.latency_low.iter().copied());
        let high = self
            .latency_high
            .iter()
            .map(|(&value, &count)| (value, count));
        for (value, count) in low.chain(high).filter(|&(_, count)| count > 0) {
            seen += count;
            if seen >= rank {
                return value;
            }
        }
        0
    }
}

/// Queue depth samples for charts: at most `MAX_SAMPLES` per queue, evenly spaced over the run.
#[derive(Clone, Debug)]
pub(crate) struct QueueSamples {
    pub interval_ms: u64,
    pub next_at: Millis,
    /// Per queue: (t_ms, visible, in_flight).
    pub samples: Vec<Vec<(u64, u64, u64)>>,
}

pub const MAX_SAMPLES: u64 = 500;

impl QueueSamples {
    pub fn new(n_queues: u32, until: Millis) -> QueueSamples {
        let interval_ms = (until.0 / MAX_SAMPLES).max(100);
        QueueSamples {
            interval_ms,
            next_at: Millis::ZERO,
            samples: vec![Vec::new(); n_queues as usize],
        }
    }

    pub fn maybe_sample(&mut self, now: Millis, broker: &Broker) {
        if now < self.next_at || self.samples.is_empty() {
            return;
        }
        for (i, series) in self.samples.iter_mut().enumerate() {
            if series.len() as u64 >= MAX_SAMPLES {
                continue;
            }
            let m = crate::bridge::queue_metrics(broker, i as u32);
            series.push((now.0, m.visible, m.in_flight));
        }
        let steps = now.since(self.next_at) / self.interval_ms + 1;
        self.next_at = self.next_at.plus(steps * self.interval_ms);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LatencyPercentiles {
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceSummary {
    pub state: crate::world::ServiceStatus,
    pub handled: u64,
    pub handled_more_than_once: u64,
    pub order_violations: u64,
    /// Order violations by FIFO group name.
    pub order_violations_by_group: BTreeMap<String, u64>,
    pub rpc_calls: u64,
    pub rpc_ok: u64,
    pub rpc_errors: u64,
    pub rpc_timeouts: u64,
    /// Messages a producer got accepted.
    pub sent: u64,
    /// Messages a consumer received.
    pub received: u64,
    /// Messages its handler chain sent or published.
    pub chain_sent: u64,
    /// Consumers: time with a message in hand (working on it, or holding received ones).
    pub busy_ms: u64,
    /// Consumers: time alive with no message in hand (polling an empty queue, long-polling,
    /// or finding its only FIFO group blocked). Crashed time counts as neither.
    pub idle_ms: u64,
    pub latency_ms: LatencyPercentiles,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueSummary {
    #[serde(flatten)]
    pub counters: QueueMetrics,
    /// Age of the oldest stored message (ApproximateAgeOfOldestMessage), in ms.
    pub oldest_age_ms: u64,
    /// (t_ms, visible, in_flight) samples over the run, for charts.
    pub depth_over_time: Vec<(u64, u64, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkSummary {
    pub state: crate::sim::LinkState,
    /// Crossings attempted (requests, responses, deliveries).
    pub carried: u64,
    pub lost: u64,
}

/// The run's summary, keyed by name (BTreeMap, so serialization order is stable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metrics {
    pub t_ms: u64,
    pub events: u64,
    pub queues: BTreeMap<String, QueueSummary>,
    pub topics: BTreeMap<String, TopicMetrics>,
    pub services: BTreeMap<String, ServiceSummary>,
    pub links: BTreeMap<String, LinkSummary>,
    /// Connections of the topology: point-to-point links between services count once per
    /// service pair; each service attached to the broker counts once.
    pub connections: u64,
}

/// `now` is the time of the current event (not the world's clock, which may have passed
/// silent actions beyond it), so the summary is the same however the position was reached.
pub(crate) fn summarize(world: &crate::world::World, events: u64, now: Millis) -> Metrics {
    let names = &world.statics.names;
    let mut queues = BTreeMap::new();
    for (i, name) in names.queues.iter().enumerate() {
        queues.insert(
            name.clone(),
            QueueSummary {
                counters: crate::bridge::queue_metrics(&world.broker, i as u32),
                oldest_age_ms: world
                    .broker
                    .oldest_age_ms(crate::broker::QueueId(i as u32), now),
                depth_over_time: world.samples.samples[i].clone(),
            },
        );
    }
    let mut topics = BTreeMap::new();
    for (i, name) in names.topics.iter().enumerate() {
        topics.insert(
            name.clone(),
            crate::bridge::topic_metrics(&world.broker, i as u32),
        );
    }
    let mut services = BTreeMap::new();
    for (i, name) in names.services.iter().enumerate() {
        let m = &world.services[i].metrics;
        let (busy_ms, idle_ms) = world.busy_idle_ms(crate::ids::ServiceId(i as u32), now);
        services.insert(
            name.clone(),
            ServiceSummary {
                state: world.service_status(crate::ids::ServiceId(i as u32)),
                handled: m.handled,
                handled_more_than_once: m.handled_more_than_once,
                order_violations: m.order_violations,
                order_violations_by_group: m
                    .violations_by_group
                    .iter()
                    .map(|(g, n)| (g.to_string(), *n))
                    .collect(),
                rpc_calls: m.rpc_calls,
                rpc_ok: m.rpc_ok,
                rpc_errors: m.rpc_errors,
                rpc_timeouts: m.rpc_timeouts,
                sent: m.sent,
                received: m.received,
                chain_sent: m.chain_sent,
                busy_ms,
                idle_ms,
                latency_ms: LatencyPercentiles {
                    p50: m.percentile(50),
                    p95: m.percentile(95),
                    p99: m.percentile(99),
                },
            },
        );
    }
    let mut links = BTreeMap::new();
    for (i, name) in names.links.iter().enumerate() {
        let l = &world.links[i];
        links.insert(
            name.clone(),
            LinkSummary {
                state: crate::sim::link_state(l),
                carried: l.carried,
                lost: l.lost,
            },
        );
    }
    Metrics {
        t_ms: now.0,
        events,
        queues,
        topics,
        services,
        links,
        connections: connection_count(&world.statics.spec),
    }
}

/// Connections: each unordered pair of services joined by an rpc link counts once (a full mesh
/// of n services is n(n-1)/2); each service that talks to any queue or topic counts once
/// (its connection to the broker), so n services around a broker make n.
pub fn connection_count(spec: &crate::spec::WorldSpec) -> u64 {
    use crate::spec::{Behaviour, Node, Step, Target};
    let mut pairs = std::collections::BTreeSet::new();
    // By service id (dense): whether it talks to the broker. A Vec rather than a set of ids, so
    // the wasm carries no `BTreeSet<ServiceId>` code; only the count is used.
    let mut brokered: Vec<bool> = vec![false; spec.services.len()];
    let mut mark = |s: crate::ids::ServiceId| {
        let i = s.0 as usize;
        if brokered.len() <= i {
            brokered.resize(i + 1, false);
        }
        brokered[i] = true;
    };
    for link in &spec.links {
        match (link.source, link.target) {
            (Node::Service(a), Node::Service(b)) if a != b => {
                pairs.insert((a.min(b), a.max(b)));
            }
            (Node::Service(s), _) | (_, Node::Service(s)) => mark(s),
            _ => {}
        }
    }
    for (i, service) in spec.services.iter().enumerate() {
        let id = crate::ids::ServiceId(i as u32);
        let uses_broker = match &service.behaviour {
            Behaviour::Producer(p) => matches!(p.target, Target::Queue(_) | Target::Topic(_)),
            Behaviour::Consumer(c) => {
                let _ = c.queue;
                true
            }
            Behaviour::ScriptedClient(_) => true,
            Behaviour::RpcServer(s) => s
                .chain
                .iter()
                .any(|st| matches!(st, Step::Send { .. } | Step::Publish { .. })),
            Behaviour::Idle => false,
        };
        let endpoint = spec.topics.iter().any(|t| {
            t.subscriptions
                .iter()
                .any(|s| s.target == crate::broker::SubscriptionTarget::Endpoint(id.0))
        });
        if uses_broker || endpoint {
            mark(id);
        }
    }
    pairs.len() as u64 + brokered.iter().filter(|&&b| b).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_on_one_to_hundred() {
        let mut m = ServiceMetrics::default();
        for v in 1..=100u64 {
            m.record(v, v, None);
        }
        assert_eq!(
            (m.percentile(50), m.percentile(95), m.percentile(99)),
            (50, 95, 99)
        );
    }

    /// Latencies on both sides of the Vec/map split give the nearest-rank percentiles of the
    /// sorted samples, and the distinct count behind `approx_bytes`.
    #[test]
    fn percentiles_span_low_and_high_latencies() {
        let mut m = ServiceMetrics::default();
        let mut samples = Vec::new();
        let mut rng = crate::broker::Rng::new(3);
        for origin in 1..=5_000u64 {
            let latency = match rng.below(3) {
                0 => rng.below(20),
                1 => LOW_LATENCY_MS - 2 + rng.below(4),
                _ => rng.below(100_000),
            };
            m.record(origin, latency, None);
            samples.push(latency);
        }
        samples.sort_unstable();
        for p in [1, 10, 50, 90, 95, 99, 100] {
            let rank = (p * samples.len() as u64).div_ceil(100).max(1);
            assert_eq!(m.percentile(p), samples[rank as usize - 1], "p{p}");
        }
        samples.dedup();
        assert_eq!(m.latency_distinct, samples.len() as u64);
    }

    #[test]
    fn a_group_going_backwards_is_an_order_violation() {
        let mut m = ServiceMetrics::default();
        let g: Arc<str> = Arc::from("g1");
        assert_eq!(m.record(2, 0, Some(&g)), (false, false));
        assert_eq!(m.record(1, 0, Some(&g)), (false, true));
        assert_eq!(m.record(2, 0, Some(&g)), (true, false));
        assert_eq!(m.order_violations, 1);
        assert_eq!(m.handled_more_than_once, 1);
    }
}
