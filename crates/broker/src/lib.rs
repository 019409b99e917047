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

pub mod api;
pub mod broker;
pub mod config;
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
    limits, DedupScope, FilterPolicyScope, QueueConfig, RedrivePolicy, SubscriptionConfig,
    SubscriptionTarget, TopicConfig,
};
pub use error::{ApiError, ErrorCode};
pub use event::{BrokerEvent, DeleteNoop, EventIds, Names};
pub use filter::{Decimal, FilterPolicy};
pub use ids::{
    attributes_size, AttributeType, AttributeValue, DeliveryId, MessageAttributes, MessageId,
    MessageMeta, Payload, PollId, PublishId, QueueId, ReceiptHandle, ReceivedMessage,
    SubscriptionId, TopicId,
};
pub use metrics::{QueueMetrics, TopicMetrics};
pub use queue::MessageState;
pub use rng::{Chance, Rng};
pub use time::Millis;
