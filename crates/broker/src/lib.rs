//! The base of Switchboard's engine: virtual time, the seeded RNG, and Amazon SQS/SNS semantics
//! (standard and FIFO queues, topics, subscriptions, filter policies) as a pure library.
//!
//! No I/O, no wall clock, no web dependency, no `HashMap` iteration: same inputs, same outputs,
//! on native and on wasm32.

pub mod rng;
pub mod time;

pub use rng::{Chance, Rng};
pub use time::Millis;
