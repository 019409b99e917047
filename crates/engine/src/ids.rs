//! Engine-side identifiers: services, links and topology nodes. Plain `u32` newtypes indexing
//! `Vec`s (never `usize`, so traces and hashes are the same on wasm32 and native).

pub use switchboard_broker::Millis;

/// A service of the world; index into `World::services`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ServiceId(pub u32);

/// A link of the world; index into `World::links`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct LinkId(pub u32);

impl ServiceId {
    pub(crate) fn ix(self) -> usize {
        self.0 as usize
    }
}

impl LinkId {
    pub(crate) fn ix(self) -> usize {
        self.0 as usize
    }
}
