//! String interning for message group ids: a message record stores a `u32`, events and views get
//! the shared `Arc<str>`. Ordered map, so interning order is deterministic.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Group index meaning "no group" (standard queues).
pub(crate) const NO_GROUP: u32 = u32::MAX;

#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    names: Vec<Arc<str>>,
    index: BTreeMap<Arc<str>, u32>,
}

impl Interner {
    /// The index of `name`, adding it if new; `NO_GROUP` when the table is full.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&ix) = self.index.get(name) {
            return ix;
        }
        if self.names.len() as u64 >= crate::config::limits::MAX_GROUPS as u64 {
            return NO_GROUP;
        }
        let ix = self.names.len() as u32;
        let name: Arc<str> = Arc::from(name);
        self.names.push(name.clone());
        self.index.insert(name, ix);
        ix
    }

    pub(crate) fn name(&self, ix: u32) -> Option<Arc<str>> {
        self.names.get(ix as usize).cloned()
    }

    pub(crate) fn len(&self) -> u32 {
        self.names.len() as u32
    }
}
