//! `Broker`: every queue and topic of a world, the SQS/SNS actions on them, and the time-driven
//! transitions (`next_deadline` / `advance`). Owns the id counters and the group-name interner.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::api::{
    BatchFailure, BatchResponse, DeleteBatchEntry, PublishRequest, PublishResponse, ReceiveRequest,
    ReceiveResponse, SendBatchEntry, SendRequest, SendResponse,
};
use crate::config::{
    limits, validate_token, QueueConfig, SubscriptionConfig, SubscriptionTarget, TopicConfig,
    MAX_ENDPOINT_RETRIES, MAX_ENDPOINT_RETRY_DELAY_S,
};
use crate::error::{ApiError, ErrorCode};
use crate::event::{BrokerEvent, Names};
use crate::filter::FilterPolicy;
use crate::ids::{
    attributes_size, DeliveryId, MessageId, MessageMeta, Payload, PollId, PublishId, QueueId,
    ReceiptHandle, SubscriptionId, TopicId,
};
use crate::intern::{Interner, NO_GROUP};
use crate::metrics::{QueueMetrics, TopicMetrics};
use crate::queue::{content_dedup_id, Ctx, DeadMove, Incoming, MessageState, Queue};
use crate::rng::Rng;
use crate::store::{Msg, Store};
use crate::time::Millis;
use crate::topic::{envelope, PendingDelivery, Subscription, Topic};

/// All queues and topics. `Clone` is the checkpoint.
#[derive(Clone, Debug, Default)]
pub struct Broker {
    queues: Vec<Queue>,
    topics: Vec<Topic>,
    subscriptions: Vec<Subscription>,
    groups: Interner,
    next_message: u64,
    next_poll: u64,
    next_publish: u64,
    next_delivery: u64,
    deliveries: BTreeMap<DeliveryId, PendingDelivery>,
    retries: BTreeSet<(Millis, DeliveryId)>,
    /// The earliest cached deadline of any queue (`Queue::next_deadline`), kept up to date as
    /// queues change, so `next_deadline` and `advance` do not visit every queue on every call.
    queue_due: Option<Millis>,
    /// The latest time the broker has been advanced to; calls with an earlier `now` act at this time.
    now: Millis,
}

/// One message as the UI shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageView {
    pub message: MessageId,
    pub state: MessageState,
    /// End of the delay (Delayed) or of the visibility timeout (InFlight).
    pub visible_at: Millis,
    pub receive_count: u32,
    pub group: Option<Arc<str>>,
    pub sent_at: Millis,
    pub meta: MessageMeta,
    pub body: Arc<Payload>,
}

/// A FIFO message group: its undeleted messages in order; blocked when the head is in flight.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupLaneView {
    pub group: Arc<str>,
    pub messages: Vec<MessageView>,
    /// The in-flight head that holds the rest of the group back, if any.
    pub blocked_by: Option<MessageId>,
}

/// One subscription's copy of a publish, on its way to the target.
struct TopicCopy {
    topic: TopicId,
    subscription: SubscriptionId,
    publish: PublishId,
    payload: Arc<Payload>,
    raw: bool,
    group: Option<Arc<str>>,
    /// The interned index of `group` (`NO_GROUP` if none or the interner is full).
    group_ix: u32,
    dedup_id: Option<Arc<str>>,
    meta: MessageMeta,
}

/// One FIFO group in brief (see `Broker::queue_groups`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupSummary {
    pub group: Arc<str>,
    /// Messages of the group not in flight (visible or delayed).
    pub waiting: u32,
    pub in_flight: u32,
    /// The in-flight head holding the rest of the group back.
    pub blocked_by: Option<MessageId>,
}

/// A read-only picture of a queue for the UI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueView {
    pub queue: QueueId,
    pub name: String,
    pub fifo: bool,
    /// Every stored message in enqueue order.
    pub messages: Vec<MessageView>,
    /// FIFO: one lane per group (by group name order).
    pub groups: Vec<GroupLaneView>,
    pub waiting_polls: u32,
    pub oldest_age_ms: u64,
    pub metrics: QueueMetrics,
}

impl Broker {
    pub fn new() -> Broker {
        Broker::default()
    }

    // ----- setup ---------------------------------------------------------------------------

    /// CreateQueue. A redrive policy must name an existing queue of the same kind (a FIFO queue's
    /// dead-letter queue must be FIFO, a standard queue's must be standard).
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html>
    ///
    /// Asking again for an existing queue with exactly its attributes returns that queue; with
    /// other attribute values it is `QueueNameExists`.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html>
    pub fn create_queue(&mut self, cfg: QueueConfig) -> Result<QueueId, ApiError> {
        cfg.validate()?;
        if let Some(id) = self.queue_id(&cfg.name) {
            if self.queues[id.0 as usize].cfg == cfg {
                return Ok(id);
            }
            return Err(ApiError::new(
                ErrorCode::QueueNameExists,
                format!(
                    "a queue named {} already exists with other attribute values",
                    cfg.name
                ),
            ));
        }
        if self.queues.len() as u64 >= limits::MAX_QUEUES as u64 {
            return Err(ApiError::new(
                ErrorCode::OverLimit,
                format!("at most {} queues (playground limit)", limits::MAX_QUEUES),
            ));
        }
        if let Some(redrive) = &cfg.redrive {
            let Some(dlq) = self.queues.get(redrive.dead_letter.0 as usize) else {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameterValue,
                    format!(
                        "{}: dead-letter queue {} does not exist",
                        cfg.name, redrive.dead_letter
                    ),
                ));
            };
            if dlq.fifo != cfg.is_fifo() {
                let kind = if cfg.is_fifo() { "FIFO" } else { "standard" };
                return Err(ApiError::new(
                    ErrorCode::InvalidParameterValue,
                    format!(
                        "{}: the dead-letter queue of a {kind} queue must also be a {kind} queue, and {} is not",
                        cfg.name, dlq.cfg.name
                    ),
                ));
            }
        }
        let id = QueueId(self.queues.len() as u32);
        self.queues.push(Queue::new(id, cfg));
        Ok(id)
    }

    /// CreateTopic. Idempotent: asking again for an existing topic with the same attributes
    /// returns that topic; with other attributes it is `InvalidParameter`.
    /// <https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html>
    pub fn create_topic(&mut self, cfg: TopicConfig) -> Result<TopicId, ApiError> {
        cfg.validate()?;
        if let Some(id) = self.topic_id(&cfg.name) {
            if self.topics[id.0 as usize].cfg == cfg {
                return Ok(id);
            }
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "a topic named {} already exists with other attributes",
                    cfg.name
                ),
            ));
        }
        if self.topics.len() as u64 >= limits::MAX_TOPICS as u64 {
            return Err(ApiError::new(
                ErrorCode::OverLimit,
                format!("at most {} topics (playground limit)", limits::MAX_TOPICS),
            ));
        }
        let id = TopicId(self.topics.len() as u32);
        self.topics.push(Topic::new(cfg));
        Ok(id)
    }

    /// Subscribe. FIFO topics deliver only to FIFO queues; standard topics only to standard
    /// queues and endpoints. The filter policy is parsed here, so a bad one fails the call.
    /// <https://docs.aws.amazon.com/sns/latest/dg/fifo-sns-sqs.html>
    pub fn subscribe(
        &mut self,
        topic: TopicId,
        cfg: SubscriptionConfig,
    ) -> Result<SubscriptionId, ApiError> {
        let invalid = |m: String| ApiError::new(ErrorCode::InvalidParameter, m);
        let t = self.topics.get(topic.0 as usize).ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, format!("topic {topic} does not exist"))
        })?;
        if self.subscriptions.len() as u64 >= limits::MAX_SUBSCRIPTIONS as u64 {
            return Err(ApiError::new(
                ErrorCode::OverLimit,
                format!(
                    "at most {} subscriptions (playground limit)",
                    limits::MAX_SUBSCRIPTIONS
                ),
            ));
        }
        match cfg.target {
            SubscriptionTarget::Queue(queue) => {
                let q = self.queues.get(queue.0 as usize).ok_or_else(|| {
                    ApiError::new(ErrorCode::NotFound, format!("queue {queue} does not exist"))
                })?;
                if t.fifo && !q.fifo {
                    return Err(invalid(format!(
                        "topic {} is FIFO and can only deliver to FIFO queues; {} is a standard queue",
                        t.cfg.name, q.cfg.name
                    )));
                }
                if !t.fifo && q.fifo {
                    return Err(invalid(format!(
                        "{} is a FIFO queue; it can only subscribe to a FIFO topic, and {} is standard",
                        q.cfg.name, t.cfg.name
                    )));
                }
            }
            SubscriptionTarget::Endpoint(_) => {
                if t.fifo {
                    return Err(invalid(format!(
                        "FIFO topic {} can only deliver to SQS FIFO queues, not to an endpoint",
                        t.cfg.name
                    )));
                }
                if cfg.endpoint_retries > MAX_ENDPOINT_RETRIES
                    || cfg.endpoint_retry_delay_s > MAX_ENDPOINT_RETRY_DELAY_S
                {
                    return Err(invalid(format!(
                        "endpoint retries must be at most {MAX_ENDPOINT_RETRIES}, {MAX_ENDPOINT_RETRY_DELAY_S} s apart at most"
                    )));
                }
            }
        }
        let filter = match &cfg.filter_policy {
            Some(text) => Some(
                FilterPolicy::parse(text, cfg.filter_policy_scope)
                    .map_err(|e| invalid(format!("Invalid parameter: FilterPolicy: {e}")))?,
            ),
            None => None,
        };
        let id = SubscriptionId(self.subscriptions.len() as u32);
        self.subscriptions.push(Subscription { topic, cfg, filter });
        self.topics[topic.0 as usize].subscriptions.push(id);
        Ok(id)
    }

    // ----- lookups -------------------------------------------------------------------------

    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.queues
            .iter()
            .find(|q| q.cfg.name == name)
            .map(|q| q.id)
    }
    pub fn topic_id(&self, name: &str) -> Option<TopicId> {
        self.topics
            .iter()
            .position(|t| t.cfg.name == name)
            .map(|i| TopicId(i as u32))
    }
    pub fn n_queues(&self) -> u32 {
        self.queues.len() as u32
    }
    pub fn n_topics(&self) -> u32 {
        self.topics.len() as u32
    }
    pub fn n_subscriptions(&self) -> u32 {
        self.subscriptions.len() as u32
    }
    /// The queue's name ("" for an unknown id).
    pub fn queue_name(&self, queue: QueueId) -> &str {
        self.queues
            .get(queue.0 as usize)
            .map_or("", |q| q.cfg.name.as_str())
    }
    pub fn topic_name(&self, topic: TopicId) -> &str {
        self.topics
            .get(topic.0 as usize)
            .map_or("", |t| t.cfg.name.as_str())
    }
    pub fn queue_config(&self, queue: QueueId) -> Option<&QueueConfig> {
        self.queues.get(queue.0 as usize).map(|q| &q.cfg)
    }
    pub fn topic_config(&self, topic: TopicId) -> Option<&TopicConfig> {
        self.topics.get(topic.0 as usize).map(|t| &t.cfg)
    }
    pub fn subscription_config(&self, subscription: SubscriptionId) -> Option<&SubscriptionConfig> {
        self.subscriptions
            .get(subscription.0 as usize)
            .map(|s| &s.cfg)
    }
    /// The topic a subscription belongs to.
    pub fn subscription_topic(&self, subscription: SubscriptionId) -> Option<TopicId> {
        self.subscriptions
            .get(subscription.0 as usize)
            .map(|s| s.topic)
    }
    pub fn topic_subscriptions(&self, topic: TopicId) -> &[SubscriptionId] {
        self.topics
            .get(topic.0 as usize)
            .map_or(&[], |t| t.subscriptions.as_slice())
    }
    pub fn queue_metrics(&self, queue: QueueId) -> QueueMetrics {
        self.queues
            .get(queue.0 as usize)
            .map(|q| q.metrics)
            .unwrap_or_default()
    }
    pub fn topic_metrics(&self, topic: TopicId) -> TopicMetrics {
        self.topics
            .get(topic.0 as usize)
            .map(|t| t.metrics)
            .unwrap_or_default()
    }
    /// Age of the oldest message of the queue (ApproximateAgeOfOldestMessage), 0 when empty.
    pub fn oldest_age_ms(&self, queue: QueueId, now: Millis) -> u64 {
        self.queues
            .get(queue.0 as usize)
            .map_or(0, |q| q.oldest_age_ms(now))
    }
    /// The time the broker has been advanced to.
    pub fn now(&self) -> Millis {
        self.now
    }
    /// Endpoint deliveries not finished yet (in the engine's hands or waiting for a retry).
    pub fn pending_deliveries(&self) -> u32 {
        self.deliveries.len() as u32
    }

    fn queue_ix(&self, queue: QueueId) -> Result<usize, ApiError> {
        if (queue.0 as usize) < self.queues.len() {
            Ok(queue.0 as usize)
        } else {
            Err(ApiError::new(
                ErrorCode::QueueDoesNotExist,
                format!("The specified queue {queue} does not exist."),
            ))
        }
    }

    // ----- plumbing ------------------------------------------------------------------------

    /// Runs `f` on one queue at `now` (after applying everything due before), then lets waiting
    /// long polls take messages and moves dead-lettered messages into their DLQs.
    fn with_queue<T>(
        &mut self,
        now: Millis,
        queue: QueueId,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
        f: impl FnOnce(&mut Queue, &mut Ctx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.advance(now, rng, out);
        let ix = self.queue_ix(queue)?;
        let now = self.now;
        let mut dead = Vec::new();
        let result = {
            let mut ctx = Ctx {
                now,
                rng,
                out,
                groups: &mut self.groups,
                next_message: &mut self.next_message,
                next_poll: &mut self.next_poll,
                dead: &mut dead,
            };
            let q = &mut self.queues[ix];
            let old = q.next_deadline();
            let result = f(q, &mut ctx);
            q.serve_polls(&mut ctx);
            q.refresh_deadline();
            let new = q.next_deadline();
            self.queue_deadline_moved(old, new);
            result
        };
        if !dead.is_empty() {
            self.settle(now, rng, out, dead);
        }
        result
    }

    /// Keeps `queue_due` right after one queue's deadline went from `old` to `new`.
    fn queue_deadline_moved(&mut self, old: Option<Millis>, new: Option<Millis>) {
        if old == new {
            return;
        }
        match (new, self.queue_due) {
            (Some(n), Some(due)) if n < due => self.queue_due = Some(n),
            (Some(n), None) => self.queue_due = Some(n),
            // The earliest deadline moved later or went away: look for the new earliest.
            _ if old.is_some() && old == self.queue_due => self.recompute_queue_due(),
            _ => {}
        }
    }

    fn recompute_queue_due(&mut self) {
        let mut best: Option<Millis> = None;
        for q in &self.queues {
            if let Some(d) = q.next_deadline() {
                if best.is_none_or(|b| d < b) {
                    best = Some(d);
                }
            }
        }
        self.queue_due = best;
    }

    /// Puts dead-lettered messages into their DLQs (whose waiting polls may take them, and which
    /// may move them on to their own DLQ).
    fn settle(
        &mut self,
        now: Millis,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
        mut dead: Vec<DeadMove>,
    ) {
        while !dead.is_empty() {
            let moves = std::mem::take(&mut dead);
            let mut ctx = Ctx {
                now,
                rng,
                out,
                groups: &mut self.groups,
                next_message: &mut self.next_message,
                next_poll: &mut self.next_poll,
                dead: &mut dead,
            };
            let mut touched: Vec<usize> = Vec::new();
            for mv in moves {
                let ix = mv.dead_letter.0 as usize;
                if let Some(q) = self.queues.get_mut(ix) {
                    q.insert_moved(&mut ctx, mv.msg);
                    q.refresh_deadline();
                    if !touched.contains(&ix) {
                        touched.push(ix);
                    }
                }
            }
            for ix in touched {
                self.queues[ix].serve_polls(&mut ctx);
                self.queues[ix].refresh_deadline();
            }
            self.recompute_queue_due();
        }
    }

    // ----- SQS actions ---------------------------------------------------------------------

    /// SendMessage.
    pub fn send_message(
        &mut self,
        now: Millis,
        queue: QueueId,
        req: SendRequest,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<SendResponse, ApiError> {
        self.with_queue(now, queue, rng, out, |q, ctx| q.send(ctx, req.into(), None))
    }

    /// SendMessageBatch: up to 10 entries with distinct ids (letters, digits, `-`, `_`, at most 80
    /// characters), 256 KiB in total; each entry succeeds or fails on its own.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>
    pub fn send_message_batch(
        &mut self,
        now: Millis,
        queue: QueueId,
        entries: Vec<SendBatchEntry>,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<BatchResponse<SendResponse>, ApiError> {
        check_batch_ids(entries.iter().map(|e| e.id.as_str()))?;
        let total: u64 = entries
            .iter()
            .map(|e| e.request.body.len() as u64 + attributes_size(&e.request.attributes))
            .sum();
        if total > limits::MAX_MESSAGE_BYTES as u64 {
            return Err(ApiError::new(
                ErrorCode::BatchRequestTooLong,
                format!(
                    "Batch requests cannot be longer than {} bytes (this one is {total}).",
                    limits::MAX_MESSAGE_BYTES
                ),
            ));
        }
        self.with_queue(now, queue, rng, out, |q, ctx| {
            let mut response = BatchResponse {
                successful: Vec::new(),
                failed: Vec::new(),
            };
            for entry in entries {
                match q.send(ctx, entry.request.into(), None) {
                    Ok(sent) => response.successful.push((entry.id, sent)),
                    Err(e) => response.failed.push(BatchFailure {
                        id: entry.id,
                        code: e.code,
                        message: e.message,
                        sender_fault: true,
                    }),
                }
            }
            Ok(response)
        })
    }

    /// ReceiveMessage. With a wait (WaitTimeSeconds or the queue's ReceiveMessageWaitTimeSeconds)
    /// and nothing to receive, returns `Waiting`; a later call or `advance` completes the poll with
    /// `BrokerEvent::PollCompleted`.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html>
    pub fn receive_message(
        &mut self,
        now: Millis,
        queue: QueueId,
        req: ReceiveRequest,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<ReceiveResponse, ApiError> {
        self.with_queue(now, queue, rng, out, |q, ctx| q.receive(ctx, &req))
    }

    /// Hands an emptied receive batch back for reuse by the queue's next receive.
    pub fn recycle_batch(&mut self, queue: QueueId, mut batch: Vec<crate::ids::ReceivedMessage>) {
        if let Some(q) = self.queues.get_mut(queue.0 as usize) {
            batch.clear();
            if batch.capacity() > q.spare.capacity() {
                q.spare = batch;
            }
        }
    }

    /// Withdraws a waiting long poll (its consumer crashed or gave up). False if not waiting.
    pub fn cancel_poll(
        &mut self,
        queue: QueueId,
        poll: PollId,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> bool {
        let now = self.now;
        self.with_queue(now, queue, rng, out, |q, ctx| Ok(q.cancel_poll(ctx, poll)))
            .unwrap_or(false)
    }

    /// DeleteMessage.
    pub fn delete_message(
        &mut self,
        now: Millis,
        queue: QueueId,
        receipt: ReceiptHandle,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<(), ApiError> {
        self.with_queue(now, queue, rng, out, |q, ctx| q.delete(ctx, &receipt))
    }

    /// DeleteMessageBatch: same batch rules as SendMessageBatch; each entry on its own.
    pub fn delete_message_batch(
        &mut self,
        now: Millis,
        queue: QueueId,
        entries: Vec<DeleteBatchEntry>,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<BatchResponse<()>, ApiError> {
        check_batch_ids(entries.iter().map(|e| e.id.as_str()))?;
        self.with_queue(now, queue, rng, out, |q, ctx| {
            let mut response = BatchResponse {
                successful: Vec::new(),
                failed: Vec::new(),
            };
            for entry in entries {
                match q.delete(ctx, &entry.receipt) {
                    Ok(()) => response.successful.push((entry.id, ())),
                    Err(e) => response.failed.push(BatchFailure {
                        id: entry.id,
                        code: e.code,
                        message: e.message,
                        sender_fault: true,
                    }),
                }
            }
            Ok(response)
        })
    }

    /// ChangeMessageVisibility.
    pub fn change_message_visibility(
        &mut self,
        now: Millis,
        queue: QueueId,
        receipt: ReceiptHandle,
        timeout_s: u32,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<(), ApiError> {
        self.with_queue(now, queue, rng, out, |q, ctx| {
            q.change_visibility(ctx, &receipt, timeout_s)
        })
    }

    /// PurgeQueue.
    pub fn purge_queue(
        &mut self,
        now: Millis,
        queue: QueueId,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<(), ApiError> {
        self.with_queue(now, queue, rng, out, |q, ctx| q.purge(ctx))
    }

    // ----- SNS actions ---------------------------------------------------------------------

    /// Publish: deduplicate (FIFO topics), then give each subscription whose filter policy matches
    /// a copy: straight into queues (raw or enveloped), or as an endpoint delivery for the engine.
    /// <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>
    pub fn publish(
        &mut self,
        now: Millis,
        topic: TopicId,
        req: PublishRequest,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<PublishResponse, ApiError> {
        self.advance(now, rng, out);
        let now = self.now;
        let t = self.topics.get(topic.0 as usize).ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, format!("topic {topic} does not exist"))
        })?;
        let dedup_key = validate_publish(t, &req)?;
        self.next_publish += 1;
        let publish = PublishId(self.next_publish);
        self.topics[topic.0 as usize].metrics.published += 1;
        if let Some(key) = &dedup_key {
            if let Some(duplicate) = self.topic_dedup(topic, key, publish, now, out) {
                return Ok(duplicate);
            }
        }
        // A full interner (playground limit) falls back to an un-interned name.
        let mut group_ix = NO_GROUP;
        let group: Option<Arc<str>> = req.group_id.as_deref().map(|g| {
            group_ix = self.groups.intern(g);
            self.groups.name(group_ix).unwrap_or_else(|| Arc::from(g))
        });
        let topic_ix = topic.0 as usize;
        // Subscriptions are read by index below (no per-publish copy of the list or the name):
        // delivering a copy never adds or removes a subscription.
        let n_subscriptions = self.topics[topic_ix].subscriptions.len();
        out.push(BrokerEvent::Published {
            topic,
            publish,
            group: group.clone(),
            n_subscriptions: n_subscriptions as u32,
            meta: req.meta,
        });
        let raw_payload = Arc::new(Payload {
            body: req.body,
            attributes: req.attributes,
        });
        let mut enveloped: Option<Arc<Payload>> = None;
        let mut n_matched = 0u32;
        for i in 0..n_subscriptions {
            let sub_id = self.topics[topic_ix].subscriptions[i];
            let sub = &self.subscriptions[sub_id.0 as usize];
            if let Some(filter) = &sub.filter {
                if !filter.matches(&raw_payload.body, &raw_payload.attributes) {
                    self.topics[topic.0 as usize].metrics.filtered_out += 1;
                    out.push(BrokerEvent::FilteredOut {
                        topic,
                        subscription: sub_id,
                        publish,
                    });
                    continue;
                }
            }
            n_matched += 1;
            let raw = sub.cfg.raw_message_delivery;
            let payload = if raw {
                raw_payload.clone()
            } else {
                enveloped
                    .get_or_insert_with(|| {
                        Arc::new(Payload::new(envelope(
                            &self.topics[topic_ix].cfg.name,
                            publish,
                            &raw_payload.body,
                            &raw_payload.attributes,
                            now,
                        )))
                    })
                    .clone()
            };
            let target = sub.cfg.target;
            let copy = TopicCopy {
                topic,
                subscription: sub_id,
                publish,
                payload,
                raw,
                group: group.clone(),
                group_ix,
                dedup_id: dedup_key.clone(),
                meta: req.meta,
            };
            self.deliver_copy(now, target, copy, rng, out);
        }
        if n_matched == 0 {
            self.topics[topic.0 as usize].metrics.matched_none += 1;
            out.push(BrokerEvent::MatchedNone { topic, publish });
        }
        Ok(PublishResponse {
            publish,
            deduplicated: false,
        })
    }

    /// FIFO topics: `Some(response)` when the deduplication id was published less than 5 minutes
    /// ago. <https://docs.aws.amazon.com/sns/latest/dg/fifo-message-dedup.html>
    fn topic_dedup(
        &mut self,
        topic: TopicId,
        key: &Arc<str>,
        publish: PublishId,
        now: Millis,
        out: &mut Vec<BrokerEvent>,
    ) -> Option<PublishResponse> {
        let t = &mut self.topics[topic.0 as usize];
        let (original, _) = t.dedup_check(key, publish, now)?;
        t.metrics.deduplicated += 1;
        out.push(BrokerEvent::PublishDeduplicated {
            topic,
            original,
            dedup_id: key.clone(),
        });
        Some(PublishResponse {
            publish: original,
            deduplicated: true,
        })
    }

    /// Gives one subscription its copy of a publish: into the queue now, or as an endpoint
    /// delivery the engine carries out.
    fn deliver_copy(
        &mut self,
        now: Millis,
        target: SubscriptionTarget,
        copy: TopicCopy,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) {
        let TopicCopy {
            topic,
            subscription,
            publish,
            payload,
            raw,
            group,
            group_ix,
            dedup_id,
            meta,
        } = copy;
        match target {
            SubscriptionTarget::Queue(queue) => {
                // The copy shares the publish's payload (raw) or envelope: bytes are not duplicated.
                let send = Incoming {
                    payload,
                    delay_s: None,
                    group_id: group,
                    group_ix,
                    dedup_id,
                    meta,
                };
                let result = self.with_queue(now, queue, rng, out, |q, ctx| {
                    q.send(ctx, send, Some(topic))
                });
                let metrics = &mut self.topics[topic.0 as usize].metrics;
                match result {
                    Ok(sent) => {
                        metrics.delivered += 1;
                        out.push(BrokerEvent::DeliveredToQueue {
                            topic,
                            subscription,
                            publish,
                            queue,
                            message: sent.message,
                            raw,
                        });
                    }
                    Err(e) => {
                        metrics.delivery_failed += 1;
                        out.push(BrokerEvent::QueueDeliveryFailed {
                            topic,
                            subscription,
                            publish,
                            queue,
                            code: e.code,
                        });
                    }
                }
            }
            SubscriptionTarget::Endpoint(endpoint) => {
                self.next_delivery += 1;
                let delivery = DeliveryId(self.next_delivery);
                let pending = PendingDelivery {
                    topic,
                    subscription,
                    endpoint,
                    publish,
                    attempt: 1,
                    payload,
                    meta,
                    group,
                    in_hand: true,
                };
                out.push(request_event(delivery, &pending));
                self.deliveries.insert(delivery, pending);
            }
        }
    }

    /// The engine delivered an endpoint delivery successfully.
    pub fn endpoint_delivered(
        &mut self,
        now: Millis,
        delivery: DeliveryId,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<(), ApiError> {
        self.advance(now, rng, out);
        match self.deliveries.get(&delivery) {
            Some(p) if p.in_hand => {}
            _ => {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("delivery {delivery} is not waiting for an answer"),
                ))
            }
        }
        let p = self.deliveries.remove(&delivery).expect("checked above");
        self.topics[p.topic.0 as usize].metrics.delivered += 1;
        out.push(BrokerEvent::EndpointDelivered {
            topic: p.topic,
            subscription: p.subscription,
            delivery,
            attempt: p.attempt,
        });
        Ok(())
    }

    /// The engine could not deliver (endpoint down, error, timeout): retry per the subscription's
    /// delivery policy, linear backoff — SNS's default HTTP/S policy is 3 retries 20 s apart
    /// (numRetries 3, minDelayTarget = maxDelayTarget = 20 s) — then give up.
    /// <https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html>
    pub fn endpoint_delivery_failed(
        &mut self,
        now: Millis,
        delivery: DeliveryId,
        rng: &mut Rng,
        out: &mut Vec<BrokerEvent>,
    ) -> Result<(), ApiError> {
        self.advance(now, rng, out);
        let now = self.now;
        let Some(p) = self.deliveries.get_mut(&delivery).filter(|p| p.in_hand) else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("delivery {delivery} is not waiting for an answer"),
            ));
        };
        let cfg = &self.subscriptions[p.subscription.0 as usize].cfg;
        let (topic, subscription, attempt) = (p.topic, p.subscription, p.attempt);
        if attempt > cfg.endpoint_retries {
            self.deliveries.remove(&delivery);
            self.topics[topic.0 as usize].metrics.endpoint_abandoned += 1;
            out.push(BrokerEvent::EndpointDeliveryAbandoned {
                topic,
                subscription,
                delivery,
                attempts: attempt,
            });
            return Ok(());
        }
        let at = now.plus(cfg.endpoint_retry_delay_s as u64 * 1000);
        p.in_hand = false;
        self.retries.insert((at, delivery));
        self.topics[topic.0 as usize].metrics.endpoint_retries += 1;
        out.push(BrokerEvent::EndpointRetryScheduled {
            topic,
            subscription,
            delivery,
            next_attempt: attempt + 1,
            at,
        });
        Ok(())
    }

    // ----- time ----------------------------------------------------------------------------

    /// The earliest virtual time at which something changes by itself (visibility timeout or delay
    /// ends, a message expires, a long poll runs out, an endpoint retry is due).
    pub fn next_deadline(&self) -> Option<Millis> {
        // The cached earliest queue deadline: called after every broker change.
        let mut best = self.retries.first().map(|&(t, _)| t);
        if let Some(d) = self.queue_due {
            if best.is_none_or(|b| d < b) {
                best = Some(d);
            }
        }
        best.map(|t| t.max(self.now))
    }

    /// Applies every transition due at or before `now`, in time order (and, at equal times, queue
    /// by queue in id order, then endpoint retries). Calls with an earlier `now` than a previous
    /// one act at the previous time: the clock never goes back. Events carry no time: to stamp
    /// each one exactly, call `advance(t)` once per `t = next_deadline()` rather than jumping.
    #[inline]
    pub fn advance(&mut self, now: Millis, rng: &mut Rng, out: &mut Vec<BrokerEvent>) {
        let now = now.max(self.now);
        // Most calls (every action advances first) find nothing due: keep that check inline.
        if self.next_deadline().is_some_and(|t| t <= now) {
            self.fire_until(now, rng, out);
        }
        self.now = now;
    }

    /// `advance` when something is due at or before `now`.
    #[inline(never)]
    fn fire_until(&mut self, now: Millis, rng: &mut Rng, out: &mut Vec<BrokerEvent>) {
        while let Some(t) = self.next_deadline().filter(|&t| t <= now) {
            self.now = t;
            let mut dead = Vec::new();
            {
                let mut ctx = Ctx {
                    now: t,
                    rng,
                    out,
                    groups: &mut self.groups,
                    next_message: &mut self.next_message,
                    next_poll: &mut self.next_poll,
                    dead: &mut dead,
                };
                for q in &mut self.queues {
                    if q.next_deadline().is_some_and(|d| d <= t) {
                        q.fire_due(&mut ctx);
                        q.refresh_deadline();
                    }
                }
            }
            self.recompute_queue_due();
            self.settle(t, rng, out, dead);
            while let Some(&(at, delivery)) = self.retries.first() {
                if at > t {
                    break;
                }
                self.retries.remove(&(at, delivery));
                if let Some(p) = self.deliveries.get_mut(&delivery) {
                    p.attempt += 1;
                    p.in_hand = true;
                    out.push(request_event(delivery, p));
                }
            }
        }
    }

    // ----- views and checks ----------------------------------------------------------------

    /// A read-only picture of a queue for the UI (allocates; not for the hot path).
    pub fn queue_view(&self, queue: QueueId, now: Millis) -> Option<QueueView> {
        let q = self.queues.get(queue.0 as usize)?;
        let view = |m: &Msg| MessageView {
            message: m.id,
            state: m.state,
            visible_at: m.visible_at,
            receive_count: m.receive_count,
            group: if m.group == NO_GROUP {
                None
            } else {
                self.groups.name(m.group)
            },
            sent_at: m.sent_at,
            meta: m.meta,
            body: m.payload.clone(),
        };
        let messages = q.msgs.iter().map(view).collect();
        let mut groups: Vec<GroupLaneView> = q
            .group_lanes()
            .filter_map(|lane| {
                let g = lane.group;
                let name = self.groups.name(g)?;
                let messages: Vec<MessageView> = lane
                    .msgs
                    .iter()
                    .filter_map(|&slot| q.msgs.at_slot(slot).map(view))
                    .collect();
                let blocked_by = if q.is_blocked(g) {
                    messages.first().map(|m| m.message)
                } else {
                    None
                };
                Some(GroupLaneView {
                    group: name,
                    messages,
                    blocked_by,
                })
            })
            .collect();
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        Some(QueueView {
            queue,
            name: q.cfg.name.clone(),
            fifo: q.fifo,
            messages,
            groups,
            waiting_polls: q.n_polls(),
            oldest_age_ms: q.oldest_age_ms(now),
            metrics: q.metrics,
        })
    }

    /// Conservation and index consistency of every queue; `Err` names the queue and the numbers.
    /// Cheap enough for tests and debug builds, not for every step of a benchmark.
    pub fn check_invariants(&self) -> Result<(), String> {
        for q in &self.queues {
            q.check()?;
        }
        let earliest = self.queues.iter().filter_map(|q| q.next_deadline()).min();
        if earliest != self.queue_due {
            return Err(format!(
                "cached earliest queue deadline {:?} but {earliest:?} is due",
                self.queue_due
            ));
        }
        if self.groups.len() == u32::MAX {
            return Err("group interner full".into());
        }
        Ok(())
    }

    /// Bytes of bookkeeping per in-flight message, excluding payload bytes: the 64-byte record,
    /// its 12-byte entry in the id-ordered list and its 12-byte timer entry, plus 4 bytes of FIFO
    /// group lane (88 + 4 = 92). Growth slack comes on top; `tests/memory.rs` measures it.
    pub fn bytes_per_message() -> u64 {
        Store::bytes_per_record() + std::mem::size_of::<u32>() as u64
    }

    /// FIFO group lanes of a queue without per-message detail (cheap enough for every frame):
    /// per group, messages waiting (visible or delayed), in flight, and the in-flight head that
    /// blocks the group (if the group is blocked). Empty for standard queues.
    pub fn queue_groups(&self, queue: QueueId) -> Vec<GroupSummary> {
        let Some(q) = self.queues.get(queue.0 as usize) else {
            return Vec::new();
        };
        let mut groups: Vec<GroupSummary> = q
            .group_lanes()
            .filter_map(|lane| {
                let g = lane.group;
                let group = self.groups.name(g)?;
                let msgs = lane.msgs.iter().filter_map(|&slot| q.msgs.at_slot(slot));
                let in_flight = msgs.filter(|m| m.state == MessageState::InFlight).count() as u32;
                let blocked_by = if q.is_blocked(g) {
                    lane.msgs
                        .front()
                        .and_then(|&slot| q.msgs.at_slot(slot))
                        .map(|m| m.id)
                } else {
                    None
                };
                Some(GroupSummary {
                    group,
                    waiting: lane.msgs.len() as u32 - in_flight,
                    in_flight,
                    blocked_by,
                })
            })
            .collect();
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        groups
    }
}

fn request_event(delivery: DeliveryId, p: &PendingDelivery) -> BrokerEvent {
    BrokerEvent::EndpointDeliveryRequested {
        topic: p.topic,
        subscription: p.subscription,
        publish: p.publish,
        endpoint: p.endpoint,
        delivery,
        attempt: p.attempt,
        payload: p.payload.clone(),
        meta: p.meta,
        group: p.group.clone(),
    }
}

/// Publish checks; returns the FIFO deduplication id (explicit, or SHA-256 of the body).
/// <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>
fn validate_publish(t: &Topic, req: &PublishRequest) -> Result<Option<Arc<str>>, ApiError> {
    let invalid = |m: String| ApiError::new(ErrorCode::InvalidParameter, m);
    if req.body.is_empty() {
        return Err(invalid("Invalid parameter: Empty message".into()));
    }
    let size = req.body.len() as u64 + attributes_size(&req.attributes);
    if size > limits::MAX_MESSAGE_BYTES as u64 {
        return Err(invalid(format!(
            "Invalid parameter: Message too long ({size} bytes, at most {})",
            limits::MAX_MESSAGE_BYTES
        )));
    }
    if !t.fifo {
        if req.group_id.is_some() || req.dedup_id.is_some() {
            return Err(invalid(format!(
                "Invalid parameter: MessageGroupId and MessageDeduplicationId are only for FIFO topics; {} is standard",
                t.cfg.name
            )));
        }
        return Ok(None);
    }
    let Some(group) = &req.group_id else {
        return Err(invalid(
            "Invalid parameter: The MessageGroupId parameter is required for FIFO topics".into(),
        ));
    };
    validate_token("MessageGroupId", group).map_err(|e| invalid(e.message))?;
    match &req.dedup_id {
        Some(d) => {
            validate_token("MessageDeduplicationId", d).map_err(|e| invalid(e.message))?;
            Ok(Some(Arc::clone(d)))
        }
        None if t.cfg.content_based_dedup => Ok(Some(Arc::from(content_dedup_id(&req.body)))),
        None => Err(invalid(
            "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into(),
        )),
    }
}

/// Batch entry ids: 1 to 10 entries, each id 1-80 of [A-Za-z0-9_-], all distinct.
fn check_batch_ids<'a>(ids: impl Iterator<Item = &'a str> + Clone) -> Result<(), ApiError> {
    let n = ids.clone().count() as u64;
    if n == 0 {
        return Err(ApiError::new(
            ErrorCode::EmptyBatchRequest,
            "There should be at least one entry in the request.",
        ));
    }
    if n > limits::MAX_BATCH as u64 {
        return Err(ApiError::new(
            ErrorCode::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are {}. You have sent {n}.",
                limits::MAX_BATCH
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for id in ids {
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(ApiError::new(
                ErrorCode::InvalidBatchEntryId,
                format!("A batch entry id can only contain alphanumeric characters, hyphens and underscores, at most 80 ({id:?})."),
            ));
        }
        if !seen.insert(id) {
            return Err(ApiError::new(
                ErrorCode::BatchEntryIdsNotDistinct,
                format!("Two or more batch entries have the id {id:?}."),
            ));
        }
    }
    Ok(())
}

/// The broker knows queue and topic names; endpoints are numbered.
impl Names for Broker {
    fn queue(&self, queue: QueueId) -> String {
        self.queue_name(queue).to_string()
    }
    fn topic(&self, topic: TopicId) -> String {
        self.topic_name(topic).to_string()
    }
    fn subscription(&self, subscription: SubscriptionId) -> String {
        match self.subscriptions.get(subscription.0 as usize) {
            Some(s) => {
                let target = match s.cfg.target {
                    SubscriptionTarget::Queue(q) => self.queue_name(q).to_string(),
                    SubscriptionTarget::Endpoint(e) => self.endpoint(e),
                };
                format!("{}→{}", self.topic_name(s.topic), target)
            }
            None => subscription.to_string(),
        }
    }
    fn endpoint(&self, endpoint: u32) -> String {
        format!("endpoint {endpoint}")
    }
}
