//! The simulator: one `World`, an agenda ordered by (time, seq), services, RPC links, faults,
//! events with explanations, metrics, and a trace with checkpoints for step back and seek.
//! Built on `switchboard-broker`. Pure: no I/O, no wall clock, no web dependency.
//!
//! Entry point: [`Sim::new`] with a [`WorldSpec`] (built by the scenario crate), then
//! [`Sim::step`] / [`Sim::run_until`] / [`Sim::seek`], reading [`Sim::events`],
//! [`Sim::metrics`], [`Sim::world`] and [`Sim::transits`].

pub use switchboard_broker as broker;

mod agenda;
mod bridge;
pub mod event;
pub mod ids;
pub mod metrics;
pub mod sim;
pub mod spec;
pub mod statics;
pub mod world;

pub use event::{ClientCallRecord, Event, EventKind, Failure, LossCause, WorkOutcome};
pub use ids::{LinkId, ServiceId};
pub use metrics::{connection_count, Metrics};
pub use sim::{LinkState, RunStop, Sim};
pub use spec::*;
pub use statics::Names;
pub use world::{BuildError, ServiceStatus, Transit, World};
