//! Counters per queue and per topic, kept by the broker as it changes state (no event replay).

use serde::Serialize;

/// Per-queue counters. Definitions (all counts of message records of this queue):
/// - `sent`: SendMessage / SendMessageBatch entries and topic deliveries that passed validation,
///   including those dropped as duplicates (`deduplicated`). Refused entries are not counted.
/// - `accepted`: records that entered the queue = `sent - deduplicated` + `dead_letter_arrivals`
///   (moved in from a source queue) + `duplicates_injected` (at-least-once stray copies).
/// - Conservation, checked by `Broker::check_invariants`:
///   `accepted = deleted + dead_lettered + expired + purged + visible + in_flight + delayed`,
///   where `dead_lettered` counts records moved OUT of this queue to its dead-letter queue.
/// - `received` counts hand-outs; `redelivered` those with a receive count above 1.
/// - `visible`, `in_flight`, `delayed` are the records stored now; `max_visible` the peak of `visible`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueMetrics {
    pub sent: u64,
    pub accepted: u64,
    pub deduplicated: u64,
    pub received: u64,
    pub redelivered: u64,
    pub deleted: u64,
    pub dead_lettered: u64,
    pub dead_letter_arrivals: u64,
    pub duplicates_injected: u64,
    pub expired: u64,
    pub purged: u64,
    pub visible: u64,
    /// The largest `visible` ever reached (exact, updated on every change).
    pub max_visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

impl QueueMetrics {
    /// Records currently stored (visible + in flight + delayed).
    pub fn depth(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }

    /// `Err` with the numbers when conservation does not hold.
    pub fn check_conservation(&self) -> Result<(), String> {
        let inputs = self
            .sent
            .checked_sub(self.deduplicated)
            .map(|n| n + self.dead_letter_arrivals + self.duplicates_injected);
        if inputs != Some(self.accepted) {
            return Err(format!(
                "accepted {} != sent {} - deduplicated {} + dead_letter_arrivals {} + duplicates_injected {}",
                self.accepted, self.sent, self.deduplicated, self.dead_letter_arrivals, self.duplicates_injected
            ));
        }
        let outputs = self.deleted + self.dead_lettered + self.expired + self.purged + self.depth();
        if outputs != self.accepted {
            return Err(format!(
                "accepted {} != deleted {} + dead_lettered {} + expired {} + purged {} + visible {} + in_flight {} + delayed {}",
                self.accepted, self.deleted, self.dead_lettered, self.expired, self.purged, self.visible, self.in_flight, self.delayed
            ));
        }
        Ok(())
    }
}

/// Per-topic counters.
/// - `published`: Publish calls that passed validation (including deduplicated ones).
/// - `delivered`: copies handed to a queue or accepted by an endpoint.
/// - `filtered_out`: (publish, subscription) pairs skipped because the filter policy did not
///   match (as SNS's NumberOfNotificationsFilteredOut).
/// - `matched_none`: publishes that no subscription took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TopicMetrics {
    pub published: u64,
    pub deduplicated: u64,
    pub delivered: u64,
    pub filtered_out: u64,
    pub matched_none: u64,
    pub delivery_failed: u64,
    pub endpoint_retries: u64,
    pub endpoint_abandoned: u64,
}
