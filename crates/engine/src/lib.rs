//! The simulator: one `World`, an agenda ordered by (time, seq), services, RPC links, faults,
//! events with explanations, metrics, and a trace with checkpoints for step back and seek.
//! Built on `switchboard-broker`. Pure: no I/O, no wall clock, no web dependency.
//!
//! Entry point: [`Sim::new`] with a [`WorldSpec`] (built by the scenario crate), then
//! [`Sim::step`] / [`Sim::run_until`] / [`Sim::seek`], reading [`Sim::events`],
//! [`Sim::metrics`], [`Sim::world`] and [`Sim::transits`].
//!
//! # Example
//!
//! A producer sends three orders to a queue; a consumer handles and deletes them.
//!
//! ```
//! use switchboard_engine::broker::{Chance, Millis, QueueConfig, QueueId};
//! use switchboard_engine::*;
//!
//! let spec = WorldSpec {
//!     seed: 42,
//!     services: vec![
//!         ServiceSpec {
//!             name: "shop".into(),
//!             behaviour: Behaviour::Producer(ProducerSpec {
//!                 schedule: Schedule::Times(vec![Millis(0), Millis(10), Millis(20)]),
//!                 template: MessageTemplate { body: "order {n}".into(), ..Default::default() },
//!                 target: Target::Queue(QueueId(0)),
//!                 retry: RetryPolicy::default(),
//!                 timeout_ms: 1_000,
//!             }),
//!         },
//!         ServiceSpec {
//!             name: "billing".into(),
//!             behaviour: Behaviour::Consumer(ConsumerSpec {
//!                 queue: QueueId(0),
//!                 batch_size: 10,
//!                 wait_ms: 20_000,
//!                 idle_backoff_ms: 100,
//!                 work: Latency::Uniform { min_ms: 5, max_ms: 50 },
//!                 fail: Chance::NEVER,
//!                 pause: Chance::NEVER,
//!                 pause_ms: 0,
//!                 crash: Chance::NEVER,
//!                 idempotent: false,
//!                 idempotency_store: None,
//!                 heartbeat: None,
//!                 chain: vec![],
//!             }),
//!         },
//!     ],
//!     queues: vec![QueueConfig::new("orders")],
//!     topics: vec![],
//!     links: vec![],
//!     faults: vec![],
//!     limits: Limits { until: Millis::from_secs(60), max_events: 10_000 },
//! };
//! let mut sim = Sim::new(&spec).expect("valid world");
//! sim.run_until(spec.limits.until, spec.limits.max_events);
//! let metrics = sim.metrics();
//! assert_eq!(metrics.services["billing"].handled, 3);
//! assert_eq!(metrics.queues["orders"].counters.deleted, 3);
//! for event in sim.events().iter().take(3) {
//!     println!("{}", sim.explain(&event));
//! }
//! sim.seek(2); // back in time: the state after the first two events
//! assert_eq!(sim.event_count(), 2);
//! ```
//!
//! # Model in brief
//! - The agenda holds *actions* (a tick, an arrival, a timeout, the end of some work, a broker
//!   deadline); applying one produces zero or more *events* (`EventKind`). Actions that find
//!   their subject gone (a call already answered, a service that crashed since) are silent.
//! - Services never touch queues directly: every send, receive, delete, visibility change and
//!   publish is a call of the broker's SQS/SNS API (module `bridge`), and every broker state
//!   change comes back as a `BrokerEvent`, wrapped as `EventKind::Broker`.
//! - RPC: the request crosses the link (latency drawn per crossing, loss, partition, faults),
//!   the server works (concurrency slots, optional wait queue, error rate, handler chain),
//!   and the reply crosses back. The caller waits with a timeout; a crashed target refuses at
//!   once; a failure anywhere in a chain comes back up as an error reply.
//! - Messaging links are optional: with one, a producer's send travels to the queue/topic, the
//!   broker acts on arrival and the acknowledgement travels back (so a lost acknowledgement
//!   makes the producer resend with the same dedup id); received batches travel to the
//!   consumer. Without one, the broker call is instantaneous.
//! - Faults: crash/restart, pause, slow, partition/heal, degrade (drop + delay), lose
//!   responses, skip deletes, scheduled (`Trigger`) or injected (`Sim::inject`).

pub use switchboard_broker as broker;

mod agenda;
mod bridge;
pub mod event;
pub mod ids;
pub mod log;
pub mod metrics;
pub mod sim;
pub mod spec;
pub mod statics;
pub mod world;

pub use event::{ClientCallRecord, Event, EventKind, Failure, LossCause, WorkOutcome};
pub use ids::{LinkId, ServiceId};
pub use log::{Events, EventsIter};
pub use metrics::{connection_count, Metrics};
pub use sim::{LinkState, RunStop, Sim};
pub use spec::*;
pub use statics::Names;
pub use world::{BuildError, ServiceStatus, Transit, World};
