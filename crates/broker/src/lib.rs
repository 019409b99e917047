//! The base of Switchboard's engine: virtual time, the seeded RNG, and Amazon SQS/SNS semantics
//! (standard and FIFO queues, topics, subscriptions, filter policies) as a pure library.
//!
//! No I/O, no wall clock, no web dependency, no `HashMap` iteration: same inputs, same outputs,
//! on native and on wasm32.
//!
//! # API overview
//!
//! Build a [`Broker`], create queues ([`QueueConfig`]; a name ending in `.fifo` is FIFO), topics
//! ([`TopicConfig`]) and subscriptions ([`SubscriptionConfig`] targeting
//! [`SubscriptionTarget::Queue`] or [`SubscriptionTarget::Endpoint`]). Then call the actions,
//! each shaped like `fn(&mut self, now: Millis, target, request, rng: &mut Rng, out: &mut
//! Vec<BrokerEvent>) -> Result<Response, ApiError>`:
//!
//! | SQS / SNS action | method |
//! |---|---|
//! | SendMessage / SendMessageBatch | [`Broker::send_message`] / [`Broker::send_message_batch`] |
//! | ReceiveMessage | [`Broker::receive_message`] → [`ReceiveResponse::Messages`] or `Waiting { poll, until }` |
//! | DeleteMessage / DeleteMessageBatch | [`Broker::delete_message`] / [`Broker::delete_message_batch`] |
//! | ChangeMessageVisibility | [`Broker::change_message_visibility`] |
//! | PurgeQueue | [`Broker::purge_queue`] |
//! | Publish | [`Broker::publish`] |
//! | (endpoint answer) | [`Broker::endpoint_delivered`] / [`Broker::endpoint_delivery_failed`] |
//!
//! Every state change is pushed to `out` as a [`BrokerEvent`] (closed enum, `explain(&dyn Names)`,
//! `ids()`, `Serialize` with a `kind` tag). Errors carry the real SQS/SNS [`ErrorCode`].
//!
//! Time moves only when the caller says so: [`Broker::next_deadline`] is the next moment something
//! changes by itself (visibility timeout, delay, retention, long-poll end, endpoint retry);
//! [`Broker::advance`] applies everything due up to `now`. Every action first advances to its
//! `now`. A long poll that waits ends with [`BrokerEvent::PollCompleted`] carrying the messages
//! (or none when the wait ran out); endpoint deliveries come as
//! [`BrokerEvent::EndpointDeliveryRequested`] and the engine answers with `endpoint_delivered` /
//! `endpoint_delivery_failed`.
//!
//! Read side: [`Broker::queue_metrics`] / [`Broker::topic_metrics`] (see [`QueueMetrics`] for
//! the exact counter definitions and the conservation law), [`Broker::queue_view`] for the UI (FIFO
//! group lanes with the blocking head), [`Broker::check_invariants`] for tests.
//! Randomness (standard-queue duplicates and reordering, both off by default) only comes from the
//! `rng` argument; `Broker: Clone` is the checkpoint.
//!
//! # Identities and counters
//!
//! A [`MessageId`] names one stored record and grows with enqueue time across the broker. A
//! standard queue's dead-letter move keeps the id; a FIFO move gives a new id (FIFO DLQs reset the
//! enqueue time, and ids stay in enqueue order); an at-least-once stray copy is a new record with
//! a new id. [`MessageMeta`] (the sender's `origin` and `created_at`) travels unchanged through
//! all of these and through topic fan-out, so "the same message handled twice" is `origin`.
//! Counter definitions and the conservation law are on [`QueueMetrics`] and [`TopicMetrics`].
//!
//! # Simplifications (where the model is coarser than AWS, on purpose)
//!
//! - Short polls see every message; AWS samples a subset of servers and may return fewer.
//! - PurgeQueue removes everything at once (AWS: within 60 s).
//! - No throughput quotas (FIFO 300/3000 TPS, high-throughput mode) and no API-call latency: the
//!   engine models time on the wire.
//! - Order across FIFO groups: groups are served oldest head first, one possible order.
//! - Topic-to-queue delivery is immediate and never fails for availability reasons; endpoint
//!   deliveries retry per [`SubscriptionConfig::endpoint_retries`] / `endpoint_retry_delay_s`
//!   (SNS default HTTP/S policy: 3 retries, 20 s apart), then are abandoned.
//! - FIFO topics only deliver to FIFO queues (and standard topics only to standard queues and
//!   endpoints).
//!
//! # Costs
//!
//! Per in-flight message the broker stores 92 bytes of data excluding the payload (a 64-byte
//! record, a 12-byte id-order entry, a 12-byte timer entry, 4 bytes of FIFO lane), plus at most
//! a quarter of growth slack on its indexes; a FIFO queue adds about 75 bytes per deduplication
//! id remembered for 5 minutes (a 128-bit hash, not the text). `tests/memory.rs` measures it:
//! 90 B per in-flight message of a standard queue, 160 B per stored FIFO message. Payloads are shared `Arc`s: redeliveries,
//! stray copies, DLQ moves and fan-out copies do not copy the body.

pub mod api;
pub mod broker;
pub mod config;
mod dedup;
pub mod error;
pub mod event;
pub mod filter;
pub mod ids;
mod intern;
pub mod metrics;
pub mod queue;
pub mod rng;
mod store;
pub mod time;
mod topic;

pub use api::{
    BatchFailure, BatchResponse, DeleteBatchEntry, GroupName, PublishRequest, PublishResponse,
    ReceiveRequest, ReceiveResponse, SendBatchEntry, SendRequest, SendResponse,
};
pub use broker::{Broker, GroupLaneView, GroupSummary, MessageView, QueueView};
pub use config::{
    limits, DedupScope, FifoThroughputLimit, FilterPolicyScope, QueueConfig, RedrivePolicy,
    SubscriptionConfig, SubscriptionTarget, TopicConfig,
};
pub use error::{ApiError, ErrorCode};
pub use event::{BrokerEvent, DeleteNoop, EventIds, Names};
pub use filter::{Decimal, FilterPolicy};
pub use ids::{
    attributes_size, no_attributes, AttributeType, AttributeValue, DeliveryId, MessageAttributes,
    MessageId, MessageMeta, Payload, PollId, PublishId, QueueId, ReceiptHandle, ReceivedMessage,
    SubscriptionId, TopicId,
};
pub use metrics::{QueueMetrics, TopicMetrics};
pub use queue::MessageState;
pub use rng::{Chance, Rng};
pub use time::Millis;
