//! Switchboard: the playground's web UI (behind the `web` feature) and the glue shared by the
//! `switchboard` CLI. The simulation itself lives in the `switchboard-engine` crate.

pub use switchboard_broker as broker;
pub use switchboard_engine as engine;
pub use switchboard_scenario as scenario;

#[cfg(feature = "web")]
pub mod ui;
