//! SNS topics and subscriptions: FIFO deduplication of publishes, filter policies, raw vs
//! enveloped payloads, and endpoint deliveries waiting for the engine's answer.

use std::sync::Arc;

use crate::config::{SubscriptionConfig, TopicConfig};
use crate::dedup::DedupIndex;
use crate::filter::FilterPolicy;
use crate::ids::{MessageAttributes, MessageMeta, Payload, PublishId, SubscriptionId, TopicId};
use crate::metrics::TopicMetrics;
use crate::time::Millis;

#[derive(Clone, Debug)]
pub(crate) struct Topic {
    pub cfg: TopicConfig,
    pub fifo: bool,
    pub subscriptions: Vec<SubscriptionId>,
    /// FIFO: deduplication ids published in the last 5 minutes (see `dedup.rs`).
    dedup: DedupIndex,
    pub metrics: TopicMetrics,
}

impl Topic {
    pub(crate) fn new(cfg: TopicConfig) -> Topic {
        Topic {
            fifo: cfg.is_fifo(),
            cfg,
            subscriptions: Vec::new(),
            dedup: DedupIndex::default(),
            metrics: TopicMetrics::default(),
        }
    }

    /// FIFO topics deduplicate publishes like FIFO queues: 5 minutes from the first accepted one.
    /// <https://docs.aws.amazon.com/sns/latest/dg/fifo-message-dedup.html>
    /// Returns the original publish when `key` is a duplicate; otherwise records it.
    pub(crate) fn dedup_check(
        &mut self,
        key: &Arc<str>,
        publish: PublishId,
        now: Millis,
    ) -> Option<(PublishId, Millis)> {
        self.dedup.prune(now);
        let hashed = DedupIndex::key(0, key);
        if let Some((original, window_ends)) = self.dedup.find(hashed, now) {
            return Some((PublishId(original), window_ends));
        }
        self.dedup.insert(hashed, publish.0, now);
        None
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Subscription {
    pub topic: TopicId,
    pub cfg: SubscriptionConfig,
    pub filter: Option<FilterPolicy>,
}

/// An endpoint delivery the engine has in hand (`in_hand`) or that waits for its retry time.
#[derive(Clone, Debug)]
pub(crate) struct PendingDelivery {
    pub topic: TopicId,
    pub subscription: SubscriptionId,
    pub endpoint: u32,
    pub publish: PublishId,
    pub attempt: u32,
    pub payload: Arc<Payload>,
    pub meta: MessageMeta,
    pub group: Option<Arc<str>>,
    pub in_hand: bool,
}

/// The SNS JSON envelope for non-raw delivery, with keys in a fixed order. `Timestamp` is the
/// virtual time as an ISO-8601 instant counted from 1970-01-01T00:00:00Z, so it is deterministic.
/// <https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html>
pub(crate) fn envelope(
    topic_name: &str,
    publish: PublishId,
    body: &str,
    attributes: &MessageAttributes,
    now: Millis,
) -> String {
    let mut map = serde_json::Map::new();
    map.insert("Type".into(), "Notification".into());
    map.insert("MessageId".into(), publish.to_string().into());
    map.insert(
        "TopicArn".into(),
        format!("arn:aws:sns:us-east-1:000000000000:{topic_name}").into(),
    );
    map.insert("Message".into(), body.into());
    map.insert("Timestamp".into(), iso8601(now).into());
    if !attributes.is_empty() {
        let mut attrs = serde_json::Map::new();
        for (name, value) in attributes {
            let mut entry = serde_json::Map::new();
            entry.insert("Type".into(), value.data_type.as_str().into());
            entry.insert("Value".into(), value.value.clone().into());
            attrs.insert(name.clone(), serde_json::Value::Object(entry));
        }
        map.insert("MessageAttributes".into(), serde_json::Value::Object(attrs));
    }
    serde_json::Value::Object(map).to_string()
}

/// `Millis` since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (Howard Hinnant's civil-from-days).
pub(crate) fn iso8601(t: Millis) -> String {
    let ms = t.0 % 1000;
    let secs = t.0 / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_counts_from_the_epoch() {
        assert_eq!(iso8601(Millis(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(Millis(1_500)), "1970-01-01T00:00:01.500Z");
        assert_eq!(iso8601(Millis(951_782_400_000)), "2000-02-29T00:00:00.000Z");
    }
}
