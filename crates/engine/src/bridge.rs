//! The engine's only door into the broker: thin adapters from engine data (templates, origins,
//! scripted calls) to the broker's SQS/SNS API requests and back. Behaviours are written on
//! top of these calls; nothing here changes broker state except through its public API.

use serde_json::{json, Value};

use crate::broker::{
    ApiError, AttributeValue, Broker, BrokerEvent, DeliveryId, ErrorCode, MessageId, MessageMeta,
    Millis, PublishRequest, QueueId, QueueMetrics, ReceiptHandle, ReceiveRequest, ReceiveResponse,
    ReceivedMessage, Rng, SendBatchEntry, SendRequest, TopicId, TopicMetrics,
};
use crate::event::ClientCallRecord;
use crate::ids::ServiceId;
use crate::spec::{ApiCall, MessageTemplate, ReceiptRef, WorldSpec};
use crate::statics::Message;
use crate::world::{build_error, BuildError};

/// What a consumer holds after a receive: the broker's own received-message record.
pub(crate) type Got = ReceivedMessage;

/// Create queues, topics and subscriptions in spec order, so ids equal spec indexes.
pub(crate) fn create_all(broker: &mut Broker, spec: &WorldSpec) -> Result<(), BuildError> {
    for (i, config) in spec.queues.iter().enumerate() {
        let id = broker
            .create_queue(config.clone())
            .map_err(|e| build_error(format!("queues[{i}] {}: {e}", config.name)))?;
        if id.0 as usize != i {
            return Err(build_error(format!(
                "queues[{i}]: created as {id}, expected q{i}"
            )));
        }
    }
    for (i, topic) in spec.topics.iter().enumerate() {
        let id = broker
            .create_topic(topic.config.clone())
            .map_err(|e| build_error(format!("topics[{i}] {}: {e}", topic.config.name)))?;
        if id.0 as usize != i {
            return Err(build_error(format!(
                "topics[{i}]: created as {id}, expected t{i}"
            )));
        }
        for (j, sub) in topic.subscriptions.iter().enumerate() {
            if let crate::broker::SubscriptionTarget::Endpoint(e) = sub.target {
                if e as usize >= spec.services.len() {
                    return Err(build_error(format!(
                        "topics[{i}].subscriptions[{j}]: endpoint {e} is not a service"
                    )));
                }
            }
            broker
                .subscribe(id, sub.clone())
                .map_err(|e| build_error(format!("topics[{i}].subscriptions[{j}]: {e}")))?;
        }
    }
    Ok(())
}

fn send_request(message: &MessageTemplate, meta: MessageMeta) -> SendRequest {
    SendRequest {
        body: message.body.clone(),
        attributes: string_attributes(message.attributes.iter().cloned()),
        delay_s: None,
        group_id: message.group_id.as_deref().map(std::sync::Arc::from),
        dedup_id: message.dedup_id.as_deref().map(std::sync::Arc::from),
        meta,
    }
}

/// String message attributes as the broker takes them. Inserted one by one: `collect` sorts
/// through a temporary Vec first. A repeated name keeps its last value either way.
fn string_attributes(
    attributes: impl IntoIterator<Item = (String, String)>,
) -> std::sync::Arc<crate::broker::MessageAttributes> {
    let mut map = crate::broker::MessageAttributes::new();
    for (k, v) in attributes {
        map.insert(k, AttributeValue::string(v));
    }
    if map.is_empty() {
        return crate::broker::no_attributes();
    }
    std::sync::Arc::new(map)
}

/// Moves the rendered message into the request (no second copy of the strings).
fn into_send_request(message: Message, meta: MessageMeta) -> SendRequest {
    SendRequest {
        body: message.body,
        attributes: message.attributes,
        delay_s: None,
        group_id: message.group_id,
        dedup_id: message.dedup_id,
        meta,
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn send(
    broker: &mut Broker,
    now: Millis,
    rng: &mut Rng,
    out: &mut Vec<BrokerEvent>,
    queue: QueueId,
    message: Message,
    origin: u64,
    created_at: Millis,
) -> Result<MessageId, ErrorCode> {
    let request = into_send_request(message, MessageMeta { origin, created_at });
    broker
        .send_message(now, queue, request, rng, out)
        .map(|r| r.message)
        .map_err(|e| e.code)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn publish(
    broker: &mut Broker,
    now: Millis,
    rng: &mut Rng,
    out: &mut Vec<BrokerEvent>,
    topic: TopicId,
    message: Message,
    origin: u64,
    created_at: Millis,
) -> Result<(), ErrorCode> {
    let request = PublishRequest {
        body: message.body,
        attributes: message.attributes,
        group_id: message.group_id,
        dedup_id: message.dedup_id,
        meta: MessageMeta { origin, created_at },
    };
    broker
        .publish(now, topic, request, rng, out)
        .map(|_| ())
        .map_err(|e| e.code)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn receive(
    broker: &mut Broker,
    now: Millis,
    rng: &mut Rng,
    out: &mut Vec<BrokerEvent>,
    queue: QueueId,
    max: u32,
    wait_s: u32,
    visibility_s: Option<u32>,
) -> Result<ReceiveResponse, ErrorCode> {
    let request = ReceiveRequest {
        max_messages: max,
        wait_s: Some(wait_s),
        visibility_timeout_s: visibility_s,
        attempt_id: None,
    };
    broker
        .receive_message(now, queue, request, rng, out)
        .map_err(|e| e.code)
}

/// Hands a consumed receive batch back to its queue, so the next receive reuses the buffer.
pub(crate) fn recycle_batch(broker: &mut Broker, queue: QueueId, batch: Vec<Got>) {
    broker.recycle_batch(queue, batch);
}

pub(crate) fn delete(
    broker: &mut Broker,
    now: Millis,
    rng: &mut Rng,
    out: &mut Vec<BrokerEvent>,
    queue: QueueId,
    receipt: &ReceiptHandle,
) -> Result<(), ErrorCode> {
    broker
        .delete_message(now, queue, *receipt, rng, out)
        .map_err(|e| e.code)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn change_visibility(
    broker: &mut Broker,
    now: Millis,
    rng: &mut Rng,
    out: &mut Vec<BrokerEvent>,
    queue: QueueId,
    receipt: &ReceiptHandle,
    seconds: u32,
) -> Result<(), ErrorCode> {
    broker
        .change_message_visibility(now, queue, *receipt, seconds, rng, out)
        .map_err(|e| e.code)
}

pub(crate) fn cancel_poll(
    broker: &mut Broker,
    queue: QueueId,
    poll: crate::broker::PollId,
    rng: &mut Rng,
    out: &mut Vec<BrokerEvent>,
) {
    broker.cancel_poll(queue, poll, rng, out);
}

pub(crate) fn endpoint_result(
    broker: &mut Broker,
    now: Millis,
    rng: &mut Rng,
    out: &mut Vec<BrokerEvent>,
    delivery: DeliveryId,
    ok: bool,
) {
    // A delivery the broker no longer knows (abandoned) answers NotFound: nothing to do.
    let _ = if ok {
        broker.endpoint_delivered(now, delivery, rng, out)
    } else {
        broker.endpoint_delivery_failed(now, delivery, rng, out)
    };
}

pub(crate) fn advance(broker: &mut Broker, now: Millis, rng: &mut Rng, out: &mut Vec<BrokerEvent>) {
    broker.advance(now, rng, out);
}

pub(crate) fn next_deadline(broker: &Broker) -> Option<Millis> {
    broker.next_deadline()
}

pub(crate) fn queue_metrics(broker: &Broker, queue: u32) -> QueueMetrics {
    broker.queue_metrics(QueueId(queue))
}

pub(crate) fn topic_metrics(broker: &Broker, topic: u32) -> TopicMetrics {
    broker.topic_metrics(TopicId(topic))
}

fn message_json(m: &ReceivedMessage) -> Value {
    json!({
        "message_id": m.message.to_string(),
        "body": m.payload.body,
        "receive_count": m.receive_count,
        "receipt_handle": m.receipt.to_string(),
        "group": m.group.as_deref(),
        "origin": m.meta.origin,
    })
}

fn template_json(t: &MessageTemplate) -> Value {
    let attributes: serde_json::Map<String, Value> = t
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    json!({
        "MessageBody": t.body,
        "MessageAttributes": attributes,
        "MessageGroupId": t.group_id,
        "MessageDeduplicationId": t.dedup_id,
    })
}

fn resolve(receipt: &ReceiptRef, last: &[ReceiptHandle]) -> Result<ReceiptHandle, ApiError> {
    match receipt {
        ReceiptRef::Literal(handle) => Ok(*handle),
        ReceiptRef::NthOfLastReceive(n) => last.get(*n as usize).copied().ok_or_else(|| {
            ApiError::new(ErrorCode::MissingParameter, format!("the last receive returned no message #{n}, so there is no receipt handle to use"))
        }),
    }
}

fn record(
    service: ServiceId,
    call: &ApiCall,
    params: Value,
    outcome: Result<Value, ApiError>,
) -> ClientCallRecord {
    let (queue, topic) = match call {
        ApiCall::SendMessage { queue, .. }
        | ApiCall::SendMessageBatch { queue, .. }
        | ApiCall::ReceiveMessage { queue, .. }
        | ApiCall::DeleteMessage { queue, .. }
        | ApiCall::ChangeMessageVisibility { queue, .. }
        | ApiCall::PurgeQueue { queue } => (Some(*queue), None),
        ApiCall::Publish { topic, .. } => (None, Some(*topic)),
    };
    let (result, error) = match outcome {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some((e.code, e.message))),
    };
    ClientCallRecord {
        service,
        call: call.action_name(),
        queue,
        topic,
        params,
        result,
        error,
    }
}

/// Perform one scripted API call. Returns the record and, after a successful receive, the new
/// list of receipt handles (for "the Nth message of the last receive").
#[allow(clippy::too_many_arguments)]
pub(crate) fn client_call(
    broker: &mut Broker,
    now: Millis,
    rng: &mut Rng,
    out: &mut Vec<BrokerEvent>,
    service: ServiceId,
    call: &ApiCall,
    last: &[ReceiptHandle],
    next_origin: &mut u64,
) -> (ClientCallRecord, ClientReceipts) {
    let mut origin = || {
        let o = *next_origin;
        *next_origin += 1;
        MessageMeta {
            origin: o,
            created_at: now,
        }
    };
    let mut receipts = None;
    let mut waiting = None;
    let (params, outcome) = match call {
        ApiCall::SendMessage {
            queue,
            message,
            delay_seconds,
        } => {
            let mut params = template_json(message);
            params["DelaySeconds"] = json!(delay_seconds);
            let mut request = send_request(message, origin());
            request.delay_s = *delay_seconds;
            let outcome = broker.send_message(now, *queue, request, rng, out).map(
                |r| json!({"message_id": r.message.to_string(), "deduplicated": r.deduplicated}),
            );
            (params, outcome)
        }
        ApiCall::SendMessageBatch { queue, entries } => {
            let params = json!({"Entries": entries.iter().map(template_json).collect::<Vec<_>>()});
            let batch: Vec<SendBatchEntry> = entries
                .iter()
                .enumerate()
                .map(|(i, e)| SendBatchEntry {
                    id: format!("e{i}"),
                    request: send_request(e, origin()),
                })
                .collect();
            let outcome = broker.send_message_batch(now, *queue, batch, rng, out).map(|r| {
                json!({
                    "successful": r.successful.iter().map(|(id, s)| json!({"id": id, "message_id": s.message.to_string(), "deduplicated": s.deduplicated})).collect::<Vec<_>>(),
                    "failed": r.failed.iter().map(|f| json!({"id": f.id, "code": f.code.as_str(), "message": f.message})).collect::<Vec<_>>(),
                })
            });
            (params, outcome)
        }
        ApiCall::ReceiveMessage {
            queue,
            max_number_of_messages,
            wait_time_seconds,
            visibility_timeout,
            receive_request_attempt_id,
        } => {
            let params = json!({
                "MaxNumberOfMessages": max_number_of_messages,
                "WaitTimeSeconds": wait_time_seconds,
                "VisibilityTimeout": visibility_timeout,
                "ReceiveRequestAttemptId": receive_request_attempt_id,
            });
            // A scripted client does not block: a long poll is recorded as waiting; its
            // completion shows as the broker's PollCompleted event.
            let request = ReceiveRequest {
                max_messages: *max_number_of_messages,
                wait_s: Some(*wait_time_seconds),
                visibility_timeout_s: *visibility_timeout,
                attempt_id: receive_request_attempt_id.clone(),
            };
            let outcome = broker
                .receive_message(now, *queue, request, rng, out)
                .map(|r| match r {
                    ReceiveResponse::Messages(messages) => {
                        receipts = Some(messages.iter().map(|m| m.receipt).collect());
                        json!({"messages": messages.iter().map(message_json).collect::<Vec<_>>()})
                    }
                    ReceiveResponse::Waiting { poll, until } => {
                        waiting = Some(poll);
                        json!({"messages": [], "waiting": poll.to_string(), "until_t_ms": until.0})
                    }
                });
            (params, outcome)
        }
        ApiCall::DeleteMessage { queue, receipt } => match resolve(receipt, last) {
            Ok(handle) => (
                json!({"ReceiptHandle": handle.to_string()}),
                broker
                    .delete_message(now, *queue, handle, rng, out)
                    .map(|_| json!({})),
            ),
            Err(e) => (json!({"ReceiptHandle": Value::Null}), Err(e)),
        },
        ApiCall::ChangeMessageVisibility {
            queue,
            receipt,
            visibility_timeout,
        } => match resolve(receipt, last) {
            Ok(handle) => (
                json!({"ReceiptHandle": handle.to_string(), "VisibilityTimeout": visibility_timeout}),
                broker
                    .change_message_visibility(now, *queue, handle, *visibility_timeout, rng, out)
                    .map(|_| json!({})),
            ),
            Err(e) => (
                json!({"ReceiptHandle": Value::Null, "VisibilityTimeout": visibility_timeout}),
                Err(e),
            ),
        },
        ApiCall::PurgeQueue { queue } => (
            json!({}),
            broker.purge_queue(now, *queue, rng, out).map(|_| json!({})),
        ),
        ApiCall::Publish { topic, message } => {
            let params = template_json(message);
            let request = PublishRequest {
                body: message.body.clone(),
                attributes: string_attributes(message.attributes.iter().cloned()),
                group_id: message.group_id.as_deref().map(std::sync::Arc::from),
                dedup_id: message.dedup_id.as_deref().map(std::sync::Arc::from),
                meta: origin(),
            };
            let outcome = broker.publish(now, *topic, request, rng, out).map(
                |r| json!({"message_id": r.publish.to_string(), "deduplicated": r.deduplicated}),
            );
            (params, outcome)
        }
    };
    (
        record(service, call, params, outcome),
        ClientReceipts { receipts, waiting },
    )
}

/// What a scripted call leaves behind for later calls: the receipt handles of a receive that
/// returned messages, or the long poll it is waiting on.
pub(crate) struct ClientReceipts {
    pub receipts: Option<Vec<ReceiptHandle>>,
    pub waiting: Option<crate::broker::PollId>,
}
