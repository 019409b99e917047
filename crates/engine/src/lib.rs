//! The simulator: one `World`, an agenda ordered by (time, seq), services, RPC links, faults,
//! events with explanations, metrics, and a trace with checkpoints for step back and seek.
//! Built on `switchboard-broker`. Pure: no I/O, no wall clock, no web dependency.

pub use switchboard_broker as broker;
