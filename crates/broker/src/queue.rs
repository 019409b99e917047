//! One SQS queue, standard or FIFO: message records, visibility, delays, retention, FIFO group
//! lanes, deduplication, receive attempts and waiting long polls. Cross-queue work (inserting a
//! dead-lettered message into its DLQ) is handed back to the broker as `DeadMove`s.

use std::collections::VecDeque;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::api::{ReceiveRequest, ReceiveResponse, SendRequest, SendResponse};
use crate::config::{limits, validate_token, DedupScope, QueueConfig};
use crate::dedup::{DedupIndex, DedupKey};
use crate::error::{ApiError, ErrorCode};
use crate::event::{BrokerEvent, DeleteNoop};
use crate::ids::{
    AttributeType, AttributeValue, MessageId, MessageMeta, Payload, PollId, QueueId, ReceiptHandle,
    ReceivedMessage, TopicId,
};
use crate::intern::{Interner, NO_GROUP};
use crate::metrics::QueueMetrics;
use crate::rng::{Chance, Rng};
use crate::time::Millis;

pub use crate::store::MessageState;
use crate::store::{Msg, Store};

/// A FIFO message group: its undeleted messages in send order.
#[derive(Clone, Debug)]
pub(crate) struct Lane {
    /// The group (`NO_GROUP`: a free entry of `Queue::lanes`).
    pub group: u32,
    /// Slots (in the queue's store) of the group's undeleted messages, oldest first.
    pub msgs: VecDeque<u32>,
    /// The key under which this group sits in `Queue::avail` (its head, when the head is visible).
    avail_key: Option<MessageId>,
    /// Whether the group is in `Queue::blocked`.
    blocked: bool,
}

/// `Queue::lane_of` for a group without undeleted messages.
const NO_LANE: u32 = u32::MAX;

/// A waiting long poll.
#[derive(Clone, Debug)]
pub(crate) struct Poll {
    max: u32,
    visibility_ms: u64,
    until: Millis,
}

/// A remembered FIFO receive, for ReceiveRequestAttemptId retries.
#[derive(Clone, Debug)]
struct Attempt {
    id: Arc<str>,
    at: Millis,
    batch: Vec<ReceiptHandle>,
}

/// A message a receive moved out of its queue; the broker puts it into the dead-letter queue.
#[derive(Clone, Debug)]
pub(crate) struct DeadMove {
    pub dead_letter: QueueId,
    /// The record, already carrying its id in the dead-letter queue.
    pub msg: Msg,
}

/// A message offered to a queue: from SendMessage, or a topic's copy sharing the publish payload.
#[derive(Clone, Debug)]
pub(crate) struct Incoming {
    pub payload: Arc<Payload>,
    pub delay_s: Option<u32>,
    pub group_id: Option<Arc<str>>,
    /// `group_id` already interned by the caller (a topic's publish), or `NO_GROUP`: saves the
    /// interner lookup for each fan-out copy.
    pub group_ix: u32,
    pub dedup_id: Option<Arc<str>>,
    pub meta: MessageMeta,
}

impl From<SendRequest> for Incoming {
    fn from(req: SendRequest) -> Incoming {
        Incoming {
            payload: Arc::new(Payload {
                body: req.body,
                attributes: req.attributes,
            }),
            delay_s: req.delay_s,
            group_id: req.group_id,
            group_ix: NO_GROUP,
            dedup_id: req.dedup_id,
            meta: req.meta,
        }
    }
}

/// What queue operations need from the broker besides the queue itself.
pub(crate) struct Ctx<'a> {
    pub now: Millis,
    pub rng: &'a mut Rng,
    pub out: &'a mut Vec<BrokerEvent>,
    pub groups: &'a mut Interner,
    pub next_message: &'a mut u64,
    pub next_poll: &'a mut u64,
    pub dead: &'a mut Vec<DeadMove>,
}

impl Ctx<'_> {
    fn new_message_id(&mut self) -> MessageId {
        *self.next_message += 1;
        MessageId(*self.next_message)
    }
    fn group_name(&self, group: u32) -> Option<Arc<str>> {
        if group == NO_GROUP {
            None
        } else {
            self.groups.name(group)
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Queue {
    pub id: QueueId,
    pub cfg: QueueConfig,
    pub fifo: bool,
    /// Every stored record; ids grow with enqueue time, so the smallest id is the oldest.
    pub msgs: Store,
    /// FIFO: message groups with undeleted messages, a slab indexed by `lane_of` (plus free
    /// entries, listed in `free_lanes`, whose small buffers are reused for new lanes).
    lanes: Vec<Lane>,
    free_lanes: Vec<u32>,
    /// FIFO: by interned group number, the group's entry in `lanes` (or `NO_LANE`).
    lane_of: Vec<u32>,
    /// FIFO: groups whose head is visible, by head id (oldest head first), sorted. New heads
    /// are mostly the newest messages and receives take the oldest, so the ends move most.
    avail: VecDeque<(MessageId, u32)>,
    /// FIFO: groups whose head is in flight while more messages wait behind it, sorted.
    blocked: Vec<u32>,
    /// FIFO: deduplication ids accepted in the last 5 minutes, per scope (see `dedup.rs`).
    dedup: DedupIndex,
    attempts: VecDeque<Attempt>,
    /// An emptied receive batch handed back by the caller (`Broker::recycle_batch`), reused by
    /// the next receive that hands something out.
    pub(crate) spare: Vec<ReceivedMessage>,
    /// Waiting long polls in arrival order (= by id: poll ids only grow), and by deadline
    /// (sorted; polls usually end in arrival order, so both are pushed at the back and taken
    /// from the front).
    polls: VecDeque<(PollId, Poll)>,
    poll_deadlines: VecDeque<(Millis, PollId)>,
    last_purge: Option<Millis>,
    /// `compute_deadline()` as of the last change. The broker asks for every queue's deadline
    /// on every call, so it is cached; the broker refreshes it after each change it makes
    /// (`check` verifies the cache).
    deadline: Option<Millis>,
    pub metrics: QueueMetrics,
}

/// Content-based deduplication id: SHA-256 of the body only, hex.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>
/// ("generates the MessageDeduplicationId using a SHA-256 hash of the message body (but not the
/// attributes of the message)").
pub(crate) fn content_dedup_id(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[(byte >> 4) as usize]));
        hex.push(char::from(b"0123456789abcdef"[(byte & 15) as usize]));
    }
    hex
}

/// SQS allows only these characters in a body: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to
/// #xFFFD | #x10000 to #x10FFFF. <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>
fn body_char_allowed(c: char) -> bool {
    matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// Message attribute rules: names of letters, digits, `_`, `-`, `.` (no `..`, not starting or
/// ending with `.`, not starting with `AWS.`/`Amazon.`), at most 256 characters; values not
/// empty; Number values are numbers.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>
fn validate_attribute(name: &str, value: &AttributeValue) -> Result<(), ApiError> {
    // Every allowed character is ASCII, so bytes are characters once the byte check passes
    // (and a name failing it is refused whatever its length); prefixes compare without case.
    let bytes = name.as_bytes();
    let has_prefix =
        |p: &str| bytes.len() >= p.len() && bytes[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    let name_ok = !name.is_empty()
        && name.len() as u64 <= limits::MAX_ATTRIBUTE_NAME_CHARS as u64
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !has_prefix("aws.")
        && !has_prefix("amazon.");
    if !name_ok {
        return Err(invalid(format!(
            "Message attribute name '{name}' is invalid."
        )));
    }
    if value.value.is_empty() {
        return Err(invalid(format!(
            "Message attribute '{name}' must contain a non-empty message attribute value."
        )));
    }
    if value.data_type == AttributeType::Number && !is_number(&value.value) {
        return Err(invalid(format!(
            "Could not cast message attribute '{name}' value to number."
        )));
    }
    Ok(())
}

/// `-12`, `3.5`, `1e10`, `.5`: an optional sign, digits with an optional point, an optional
/// exponent.
fn is_number(text: &str) -> bool {
    let rest = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(pos) => (&rest[..pos], Some(&rest[pos + 1..])),
        None => (rest, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int_part = parts.next().unwrap_or("");
    let frac_part = parts.next().unwrap_or("");
    let digits_ok = (!int_part.is_empty() || !frac_part.is_empty())
        && int_part.bytes().all(|b| b.is_ascii_digit())
        && frac_part.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits_ok && exponent_ok
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValue, message)
}

impl Queue {
    pub(crate) fn new(id: QueueId, cfg: QueueConfig) -> Queue {
        Queue {
            id,
            fifo: cfg.is_fifo(),
            msgs: Store::new(!cfg.is_fifo()),
            cfg,
            lanes: Vec::new(),
            free_lanes: Vec::new(),
            lane_of: Vec::new(),
            avail: VecDeque::new(),
            blocked: Vec::new(),
            dedup: DedupIndex::default(),
            attempts: VecDeque::new(),
            spare: Vec::new(),
            polls: VecDeque::new(),
            poll_deadlines: VecDeque::new(),
            last_purge: None,
            deadline: None,
            metrics: QueueMetrics::default(),
        }
    }

    // ----- indexes -------------------------------------------------------------------------

    fn count_state(&mut self, state: MessageState, up: bool) {
        let counter = match state {
            MessageState::Visible => &mut self.metrics.visible,
            MessageState::Delayed => &mut self.metrics.delayed,
            MessageState::InFlight => &mut self.metrics.in_flight,
        };
        if up {
            *counter += 1;
        } else {
            *counter -= 1;
        }
        if state == MessageState::Visible && self.metrics.visible > self.metrics.max_visible {
            self.metrics.max_visible = self.metrics.visible;
        }
    }

    /// Moves the record in `slot` (found by the caller) to `state` (until `visible_at` for
    /// Delayed/InFlight), keeping every index right; false if the slot is empty.
    fn set_state_at(&mut self, slot: u32, state: MessageState, visible_at: Millis) -> bool {
        let Some(old_state) = self.msgs.set_state_at(slot, state, visible_at) else {
            return false;
        };
        self.count_state(old_state, false);
        self.count_state(state, true);
        if self.fifo {
            if let Some(group) = self.msgs.at_slot(slot).map(|m| m.group) {
                self.refresh_group(group);
            }
        }
        true
    }

    /// The `lanes` entry of a FIFO group with undeleted messages.
    fn lane_ix(&self, group: u32) -> Option<usize> {
        match self.lane_of.get(group as usize) {
            Some(&ix) if ix != NO_LANE => Some(ix as usize),
            _ => None,
        }
    }

    /// The lane of a FIFO group, if it has undeleted messages.
    pub(crate) fn lane(&self, group: u32) -> Option<&Lane> {
        self.lane_ix(group).map(|ix| &self.lanes[ix])
    }

    /// Every FIFO group with undeleted messages (in no particular order).
    pub(crate) fn group_lanes(&self) -> impl Iterator<Item = &Lane> + '_ {
        self.lanes.iter().filter(|l| l.group != NO_GROUP)
    }

    /// The lane of `group`, made (empty) if the group has none.
    fn lane_ix_or_new(&mut self, group: u32) -> usize {
        if let Some(ix) = self.lane_ix(group) {
            return ix;
        }
        let ix = match self.free_lanes.pop() {
            Some(ix) => ix,
            None => {
                self.lanes.push(Lane {
                    group: NO_GROUP,
                    msgs: VecDeque::new(),
                    avail_key: None,
                    blocked: false,
                });
                (self.lanes.len() - 1) as u32
            }
        };
        self.lanes[ix as usize].group = group;
        if self.lane_of.len() <= group as usize {
            self.lane_of.resize(group as usize + 1, NO_LANE);
        }
        self.lane_of[group as usize] = ix;
        ix as usize
    }

    /// Recomputes a FIFO group's place in `avail` and `blocked` after its head may have changed.
    fn refresh_group(&mut self, group: u32) {
        let Some(ix) = self.lane_ix(group) else {
            return;
        };
        let lane = &mut self.lanes[ix];
        let head = lane.msgs.front().and_then(|&slot| self.msgs.at_slot(slot));
        let (new_key, head_in_flight) = match head {
            Some(m) => (
                (m.state == MessageState::Visible).then_some(m.id),
                m.state == MessageState::InFlight,
            ),
            None => (None, false),
        };
        if lane.avail_key != new_key {
            if let Some(old) = lane.avail_key {
                if let Ok(pos) = self.avail.binary_search(&(old, group)) {
                    self.avail.remove(pos);
                }
            }
            if let Some(new) = new_key {
                let pos = self.avail.partition_point(|&e| e < (new, group));
                self.avail.insert(pos, (new, group));
            }
            lane.avail_key = new_key;
        }
        let blocked = head_in_flight && lane.msgs.len() > 1;
        if lane.blocked != blocked {
            lane.blocked = blocked;
            match self.blocked.binary_search(&group) {
                Ok(pos) => {
                    self.blocked.remove(pos);
                }
                Err(pos) => self.blocked.insert(pos, group),
            }
        }
        if lane.msgs.is_empty() {
            lane.group = NO_GROUP;
            // Keep a few emptied lanes' buffers: a group that drains and refills (a consumer
            // keeping up) would otherwise free and allocate one per message.
            if self.free_lanes.len() >= Self::MAX_SPARE_LANES || lane.msgs.capacity() > 64 {
                lane.msgs = VecDeque::new();
            }
            self.free_lanes.push(ix as u32);
            self.lane_of[group as usize] = NO_LANE;
        }
    }

    fn insert(&mut self, msg: Msg) {
        let (state, group) = (msg.state, msg.group);
        let slot = self.msgs.insert(msg);
        self.count_state(state, true);
        if self.fifo {
            let ix = self.lane_ix_or_new(group);
            self.lanes[ix].msgs.push_back(slot);
            self.refresh_group(group);
        }
    }

    /// Takes a record out of the queue entirely (delete, expiry, DLQ move).
    fn remove(&mut self, id: MessageId) -> Option<Msg> {
        let slot = self.msgs.slot_of(id)?;
        self.remove_at(slot)
    }

    /// `remove` of the record in `slot` (found by the caller).
    fn remove_at(&mut self, slot: u32) -> Option<Msg> {
        let msg = self.msgs.remove_at(slot)?;
        self.count_state(msg.state, false);
        if self.fifo {
            if let Some(ix) = self.lane_ix(msg.group) {
                let lane = &mut self.lanes[ix].msgs;
                if let Some(pos) = lane.iter().position(|&x| x == slot) {
                    lane.remove(pos);
                }
            }
            self.refresh_group(msg.group);
        }
        Some(msg)
    }

    /// True when a receive now would find something to hand out (or to dead-letter).
    pub(crate) fn has_receivable(&self) -> bool {
        if self.fifo {
            !self.avail.is_empty()
        } else {
            self.msgs.has_ready()
        }
    }

    // ----- SendMessage ---------------------------------------------------------------------

    /// Everything SendMessage checks before touching state.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>
    pub(crate) fn validate_send(&self, req: &Incoming) -> Result<(), ApiError> {
        let name = &self.cfg.name;
        if req.payload.body.is_empty() {
            return Err(ApiError::new(
                ErrorCode::MissingParameter,
                "The request must contain the parameter MessageBody.",
            ));
        }
        // Fast path: printable ASCII, tab, LF and CR are allowed (and so is DEL, 0x7F).
        let ascii_ok = req
            .payload
            .body
            .bytes()
            .all(|b| (0x20..0x80).contains(&b) || matches!(b, 0x9 | 0xA | 0xD));
        let bad = if ascii_ok {
            None
        } else {
            req.payload.body.chars().find(|c| !body_char_allowed(*c))
        };
        if let Some(bad) = bad {
            return Err(invalid(format!(
                "Invalid binary character {:#x} was found in the message body.",
                bad as u32
            )));
        }
        if req.payload.attributes.len() as u64 > limits::MAX_ATTRIBUTES as u64 {
            return Err(invalid(format!(
                "Number of message attributes [{}] exceeds the allowed maximum [{}].",
                req.payload.attributes.len(),
                limits::MAX_ATTRIBUTES
            )));
        }
        for (name, value) in req.payload.attributes.iter() {
            validate_attribute(name, value)?;
        }
        let size = req.payload.size_bytes();
        if size > self.cfg.max_message_bytes as u64 {
            return Err(invalid(format!(
                "Message must be shorter than {} bytes (this one is {size} bytes).",
                self.cfg.max_message_bytes
            )));
        }
        if let Some(delay) = req.delay_s {
            if delay > limits::MAX_DELAY_S {
                return Err(invalid(format!(
                    "DelaySeconds must be between 0 and {}, got {delay}.",
                    limits::MAX_DELAY_S
                )));
            }
        }
        if self.fifo {
            // FIFO queues have no per-message delay, only the queue's DelaySeconds.
            // <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html>
            if req.delay_s.is_some() {
                return Err(invalid(format!(
                    "{name}: the request includes a parameter that is not valid for this queue type (DelaySeconds per message is not supported on FIFO queues)."
                )));
            }
            let Some(group) = &req.group_id else {
                return Err(ApiError::new(
                    ErrorCode::MissingParameter,
                    format!("{name}: the request must contain the parameter MessageGroupId."),
                ));
            };
            validate_token("MessageGroupId", group)?;
            match &req.dedup_id {
                Some(d) => validate_token("MessageDeduplicationId", d)?,
                None if !self.cfg.content_based_dedup => {
                    return Err(invalid(format!(
                        "{name}: the queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly."
                    )))
                }
                None => {}
            }
        } else if req.dedup_id.is_some() {
            return Err(invalid(format!(
                "{name}: MessageDeduplicationId is only valid for FIFO queues."
            )));
        } else if let Some(group) = &req.group_id {
            validate_token("MessageGroupId", group)?;
        }
        if self.msgs.len() >= limits::MAX_QUEUE_DEPTH {
            return Err(ApiError::new(
                ErrorCode::OverLimit,
                format!(
                    "{name} holds {} messages, the playground limit.",
                    limits::MAX_QUEUE_DEPTH
                ),
            ));
        }
        Ok(())
    }

    /// SendMessage (also used for topic deliveries). Validates, deduplicates (FIFO), stores.
    pub(crate) fn send(
        &mut self,
        ctx: &mut Ctx,
        req: Incoming,
        from_topic: Option<TopicId>,
    ) -> Result<SendResponse, ApiError> {
        self.validate_send(&req)?;
        self.metrics.sent += 1;
        let now = ctx.now;
        let group = match &req.group_id {
            Some(_) if self.fifo && req.group_ix != NO_GROUP => req.group_ix,
            Some(g) if self.fifo => ctx.groups.intern(g),
            _ => NO_GROUP,
        };
        if group == NO_GROUP && self.fifo {
            // Only reachable when the interner is full (validate_send checked the group id).
            self.metrics.sent -= 1;
            return Err(ApiError::new(
                ErrorCode::OverLimit,
                format!(
                    "more than {} message group ids (playground limit)",
                    limits::MAX_GROUPS
                ),
            ));
        }
        let dedup_key = if self.fifo {
            match self.deduplicate(ctx, &req, group, from_topic) {
                Ok(key) => Some(key),
                Err(duplicate) => return Ok(duplicate),
            }
        } else {
            None
        };
        let id = ctx.new_message_id();
        let dedup_key = dedup_key.map(|(text, key)| {
            self.dedup.insert(key, id.0, now);
            text
        });
        // Standard: the message's DelaySeconds overrides the queue's. FIFO: the queue's only.
        let delay_s = req.delay_s.unwrap_or(self.cfg.delay_s);
        let visible_at = now.plus(delay_s as u64 * 1000);
        let state = if delay_s > 0 {
            MessageState::Delayed
        } else {
            MessageState::Visible
        };
        let payload = req.payload;
        self.insert(Msg::new(
            id, payload, req.meta, now, visible_at, group, state,
        ));
        self.metrics.accepted += 1;
        ctx.out.push(BrokerEvent::Accepted {
            queue: self.id,
            message: id,
            group: ctx.group_name(group),
            dedup_id: dedup_key,
            visible_at,
            from_topic,
            meta: req.meta,
        });
        Ok(SendResponse {
            message: id,
            deduplicated: false,
        })
    }

    /// The deduplication id space a group's sends fall in (DeduplicationScope: the whole queue,
    /// or each message group on its own).
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html>
    fn dedup_scope(&self, group: u32) -> u32 {
        if self.cfg.dedup_scope == DedupScope::MessageGroup {
            group
        } else {
            NO_GROUP
        }
    }

    /// FIFO deduplication: `Ok(id)` for a new deduplication id (explicit, or SHA-256 of the body),
    /// `Err(response)` when the id was accepted less than 5 minutes ago. The window starts at the
    /// first accepted send and is not moved by duplicates or by a delete.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html>
    fn deduplicate(
        &mut self,
        ctx: &mut Ctx,
        req: &Incoming,
        group: u32,
        from_topic: Option<TopicId>,
    ) -> Result<(Arc<str>, DedupKey), SendResponse> {
        let key: Arc<str> = match &req.dedup_id {
            Some(d) => d.clone(),
            None => Arc::from(content_dedup_id(&req.payload.body)),
        };
        self.dedup.prune(ctx.now);
        let hashed = DedupIndex::key(self.dedup_scope(group), &key);
        let Some((original, window_ends)) = self.dedup.find(hashed, ctx.now) else {
            return Ok((key, hashed));
        };
        let original = MessageId(original);
        self.metrics.deduplicated += 1;
        ctx.out.push(BrokerEvent::Deduplicated {
            queue: self.id,
            original,
            group: ctx.group_name(group),
            dedup_id: key,
            window_ends,
            from_topic,
        });
        Err(SendResponse {
            message: original,
            deduplicated: true,
        })
    }

    /// Puts a record moved from a source queue into this dead-letter queue. Standard queues keep
    /// the id and the original enqueue time; FIFO queues reset the enqueue time (and the broker
    /// gives a new id, so ids stay in enqueue order).
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html>
    /// (There, ApproximateAgeOfOldestMessage counts from the move; `oldest_age_ms` counts from
    /// the original enqueue for standard DLQs, a simplification.)
    pub(crate) fn insert_moved(&mut self, ctx: &mut Ctx, mut msg: Msg) {
        if self.fifo {
            msg.sent_at = ctx.now;
        }
        msg.state = MessageState::Visible;
        msg.visible_at = ctx.now;
        self.insert(msg);
        self.metrics.accepted += 1;
        self.metrics.dead_letter_arrivals += 1;
    }

    // ----- ReceiveMessage ------------------------------------------------------------------

    /// ReceiveMessage: messages now, or a waiting long poll.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>
    pub(crate) fn receive(
        &mut self,
        ctx: &mut Ctx,
        req: &ReceiveRequest,
    ) -> Result<ReceiveResponse, ApiError> {
        let (wait_s, visibility_ms) = self.receive_params(req)?;
        // ReceiveRequestAttemptId only applies to FIFO queues; standard queues ignore it.
        let attempt_id = match (&req.attempt_id, self.fifo) {
            (Some(a), true) => {
                validate_token("ReceiveRequestAttemptId", a)?;
                Some(a.as_str())
            }
            _ => None,
        };
        if let Some(attempt_id) = attempt_id {
            if let Some(batch) = self.retry_attempt(ctx, attempt_id, visibility_ms) {
                return Ok(ReceiveResponse::Messages(batch));
            }
        }
        let room = limits::MAX_IN_FLIGHT.saturating_sub(self.metrics.in_flight);
        if room == 0 && !self.fifo {
            return Err(ApiError::new(
                ErrorCode::OverLimit,
                format!(
                    "{} has {} messages in flight, the SQS limit.",
                    self.cfg.name,
                    limits::MAX_IN_FLIGHT
                ),
            ));
        }
        let max = (req.max_messages as u64).min(room) as u32;
        let batch = if max == 0 {
            Vec::new()
        } else {
            self.receive_now(ctx, max, visibility_ms, None)
        };
        if let Some(attempt_id) = attempt_id {
            self.remember_attempt(ctx, attempt_id, &batch);
        }
        if !batch.is_empty() || wait_s == 0 {
            return Ok(ReceiveResponse::Messages(batch));
        }
        self.start_poll(ctx, req.max_messages, visibility_ms, wait_s)
    }

    /// Range checks of a receive; returns (wait in s, visibility timeout in ms).
    fn receive_params(&self, req: &ReceiveRequest) -> Result<(u32, u64), ApiError> {
        if req.max_messages == 0 || req.max_messages > limits::MAX_BATCH {
            return Err(invalid(format!(
                "MaxNumberOfMessages must be between 1 and {}, got {}.",
                limits::MAX_BATCH,
                req.max_messages
            )));
        }
        let wait_s = req.wait_s.unwrap_or(self.cfg.receive_wait_s);
        if wait_s > limits::MAX_WAIT_S {
            return Err(invalid(format!(
                "WaitTimeSeconds must be between 0 and {}, got {wait_s}.",
                limits::MAX_WAIT_S
            )));
        }
        let visibility_s = req
            .visibility_timeout_s
            .unwrap_or(self.cfg.visibility_timeout_s);
        if visibility_s > limits::MAX_VISIBILITY_TIMEOUT_S {
            return Err(invalid(format!(
                "VisibilityTimeout must be between 0 and {}, got {visibility_s}.",
                limits::MAX_VISIBILITY_TIMEOUT_S
            )));
        }
        let visibility_ms = visibility_s as u64 * 1000;
        Ok((wait_s, visibility_ms))
    }

    /// Remembers a FIFO receive for ReceiveRequestAttemptId retries (empty batches are not
    /// worth repeating).
    fn remember_attempt(&mut self, ctx: &Ctx, attempt_id: &str, batch: &[ReceivedMessage]) {
        if batch.is_empty() {
            return;
        }
        if self.attempts.len() as u64 >= limits::MAX_ATTEMPTS as u64 {
            self.attempts.pop_front();
        }
        self.attempts.push_back(Attempt {
            id: Arc::from(attempt_id),
            at: ctx.now,
            batch: batch.iter().map(|m| m.receipt).collect(),
        });
    }

    /// A ReceiveRequestAttemptId can be retried only "if none of the messages have been modified
    /// (deleted or had their visibility changes)": a visibility change forgets every remembered
    /// receive that returned the message, so a retry with that id is a new receive. (A delete
    /// needs nothing here: `retry_attempt` finds the message gone.)
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>
    fn forget_attempts_with(&mut self, message: MessageId) {
        if !self.attempts.is_empty() {
            self.attempts
                .retain(|a| !a.batch.iter().any(|h| h.message == message));
        }
    }

    /// Long polling: nothing to receive now, so the receive waits up to `wait_s` and returns as
    /// soon as a message becomes receivable (`serve_polls`) or empty when the wait ends.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html>
    fn start_poll(
        &mut self,
        ctx: &mut Ctx,
        max: u32,
        visibility_ms: u64,
        wait_s: u32,
    ) -> Result<ReceiveResponse, ApiError> {
        if self.polls.len() as u64 >= limits::MAX_POLLS_PER_QUEUE as u64 {
            return Err(ApiError::new(
                ErrorCode::OverLimit,
                format!(
                    "{} already has {} waiting long polls (playground limit).",
                    self.cfg.name,
                    limits::MAX_POLLS_PER_QUEUE
                ),
            ));
        }
        *ctx.next_poll += 1;
        let poll = PollId(*ctx.next_poll);
        let until = ctx.now.plus(wait_s as u64 * 1000);
        self.polls.push_back((
            poll,
            Poll {
                max,
                visibility_ms,
                until,
            },
        ));
        let pos = self.poll_deadlines.partition_point(|&d| d < (until, poll));
        self.poll_deadlines.insert(pos, (until, poll));
        ctx.out.push(BrokerEvent::PollWaiting {
            queue: self.id,
            poll,
            until,
        });
        Ok(ReceiveResponse::Waiting { poll, until })
    }

    /// A retry with the same ReceiveRequestAttemptId within 5 minutes returns the same batch with
    /// the same receipt handles, and restarts their visibility timeout, if none of them was
    /// deleted or changed. <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>
    fn retry_attempt(
        &mut self,
        ctx: &mut Ctx,
        attempt_id: &str,
        visibility_ms: u64,
    ) -> Option<Vec<ReceivedMessage>> {
        let now = ctx.now;
        while self
            .attempts
            .front()
            .is_some_and(|a| a.at.plus(limits::RECEIVE_ATTEMPT_WINDOW_MS) <= now)
        {
            self.attempts.pop_front();
        }
        let pos = self.attempts.iter().position(|a| &*a.id == attempt_id)?;
        let attempt = self.attempts.remove(pos)?;
        let unchanged = attempt.batch.iter().all(|h| {
            self.msgs
                .slot_hinted(h.message, h.slot_hint)
                .and_then(|s| self.msgs.at_slot(s))
                .is_some_and(|m| m.state == MessageState::InFlight && m.receive_count == h.receive)
        });
        if !unchanged {
            return None;
        }
        let visible_again_at = now.plus(visibility_ms);
        let mut batch = Vec::with_capacity(attempt.batch.len());
        for handle in &attempt.batch {
            let Some(slot) = self.msgs.slot_hinted(handle.message, handle.slot_hint) else {
                continue;
            };
            self.set_state_at(slot, MessageState::InFlight, visible_again_at);
            let Some(m) = self.msgs.at_slot_mut(slot) else {
                continue;
            };
            m.set_received_at(now);
            let m = &*m;
            batch.push(ReceivedMessage {
                message: handle.message,
                receipt: *handle,
                payload: m.payload.clone(),
                meta: m.meta,
                group: ctx.group_name(m.group),
                receive_count: m.receive_count,
                sent_at: m.sent_at,
            });
        }
        ctx.out.push(BrokerEvent::ReceiveRetried {
            queue: self.id,
            n_messages: batch.len() as u32,
            visible_again_at,
        });
        self.attempts.push_back(Attempt {
            id: attempt.id,
            at: attempt.at,
            batch: attempt.batch,
        });
        Some(batch)
    }

    /// Hands out up to `max` messages now (possibly none).
    pub(crate) fn receive_now(
        &mut self,
        ctx: &mut Ctx,
        max: u32,
        visibility_ms: u64,
        poll: Option<PollId>,
    ) -> Vec<ReceivedMessage> {
        if self.fifo {
            self.receive_fifo(ctx, max, visibility_ms, poll)
        } else {
            self.receive_standard(ctx, max, visibility_ms, poll)
        }
    }

    /// An empty receive batch. Half the receives of a busy world find nothing, so it allocates only
    /// when something is receivable, and only room for the visible messages (a receive hands out
    /// nothing else): small, frequently recycled blocks.
    fn new_batch(&mut self, max: u32) -> Vec<ReceivedMessage> {
        if self.has_receivable() {
            let n = self.metrics.visible.min(max as u64) as usize;
            if self.spare.capacity() >= n {
                return std::mem::take(&mut self.spare);
            }
            Vec::with_capacity(n)
        } else {
            Vec::new()
        }
    }

    /// Standard queue: oldest visible first (best effort: a seeded chance takes the second
    /// oldest), and a seeded chance of leaving a stray copy behind (at-least-once delivery).
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html>
    fn receive_standard(
        &mut self,
        ctx: &mut Ctx,
        max: u32,
        visibility_ms: u64,
        poll: Option<PollId>,
    ) -> Vec<ReceivedMessage> {
        let mut batch = self.new_batch(max);
        let mut copies = Vec::new();
        while (batch.len() as u64) < max as u64 {
            let Some(first) = self.msgs.pop_ready() else {
                break;
            };
            // (id, slot) pairs, so the record is not looked up by id again.
            let mut pick = first;
            // Only draw when there is a choice, so switching reordering on changes nothing for
            // a queue holding one message.
            if self.cfg.reorder_chance != Chance::NEVER {
                if let Some(second) = self.msgs.pop_ready() {
                    if ctx.rng.chance(self.cfg.reorder_chance) {
                        pick = second;
                        self.msgs.unpop(first);
                        ctx.out.push(BrokerEvent::Reordered {
                            queue: self.id,
                            message: second.0,
                            skipped: first.0,
                        });
                    } else {
                        self.msgs.unpop(second);
                    }
                }
            }
            if self.past_max_receives(pick.0) {
                self.dead_letter(ctx, pick.0);
                continue;
            }
            batch.push(self.take(ctx, pick.1, visibility_ms, poll));
            if ctx.rng.chance(self.cfg.duplicate_chance) {
                copies.push(pick.0);
            }
        }
        for original in copies {
            self.inject_duplicate(ctx, original);
        }
        batch
    }

    /// FIFO queue: a group yields only the longest run of its oldest undeleted messages that are
    /// all visible; several messages of one group may come in one batch, in order; groups are
    /// served oldest head first (one possible order across groups).
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html>
    fn receive_fifo(
        &mut self,
        ctx: &mut Ctx,
        max: u32,
        visibility_ms: u64,
        poll: Option<PollId>,
    ) -> Vec<ReceivedMessage> {
        let mut batch = self.new_batch(max);
        let mut cursor: Option<(MessageId, u32)> = None;
        while (batch.len() as u64) < max as u64 {
            let next = match cursor {
                None => self.avail.front().copied(),
                Some(c) => {
                    let pos = self.avail.partition_point(|&e| e <= c);
                    self.avail.get(pos).copied()
                }
            };
            let Some((head, group)) = next else { break };
            cursor = Some((head, group));
            let mut i = 0usize;
            while (batch.len() as u64) < max as u64 {
                let Some(slot) = self.lane(group).and_then(|l| l.msgs.get(i).copied()) else {
                    break;
                };
                let Some(m) = self.msgs.at_slot(slot) else {
                    break;
                };
                if m.state != MessageState::Visible {
                    break;
                }
                let id = m.id;
                if self.past_max_receives(id) {
                    self.dead_letter(ctx, id);
                    continue;
                }
                batch.push(self.take(ctx, slot, visibility_ms, poll));
                i += 1;
            }
        }
        if (batch.len() as u64) < max as u64 {
            self.report_held(ctx);
        }
        batch
    }

    /// Emptied lane buffers kept for reuse (small ones only, so little memory is held).
    const MAX_SPARE_LANES: usize = 16;

    /// Playground cap on `Held` events per receive, so a queue with many blocked groups does not
    /// flood the trace.
    const MAX_HELD_EVENTS: usize = 10;

    /// Says which groups held a visible message back because an earlier one is in flight.
    fn report_held(&self, ctx: &mut Ctx) {
        let mut n = 0;
        for &group in &self.blocked {
            if n >= Self::MAX_HELD_EVENTS {
                break;
            }
            let Some(lane) = self.lane(group) else {
                continue;
            };
            let Some(head) = lane.msgs.front().and_then(|&s| self.msgs.at_slot(s)) else {
                continue;
            };
            let head = head.id;
            let waiting = lane
                .msgs
                .iter()
                .filter_map(|&s| self.msgs.at_slot(s))
                .find(|m| m.state != MessageState::InFlight);
            let Some(waiting) = waiting else { continue };
            if waiting.state != MessageState::Visible {
                continue;
            }
            let waiting = waiting.id;
            let Some(name) = ctx.group_name(group) else {
                continue;
            };
            ctx.out.push(BrokerEvent::Held {
                queue: self.id,
                group: name,
                message: waiting,
                blocked_by: head,
            });
            n += 1;
        }
    }

    fn past_max_receives(&self, id: MessageId) -> bool {
        // Without a redrive policy there is nothing to look up (the common, hot case).
        let Some(redrive) = &self.cfg.redrive else {
            return false;
        };
        self.msgs
            .get(id)
            .is_some_and(|m| m.receive_count >= redrive.max_receive_count)
    }

    /// Moves a record out for its dead-letter queue (lazily, when a receive would hand it out
    /// past maxReceiveCount). <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html>
    fn dead_letter(&mut self, ctx: &mut Ctx, id: MessageId) {
        let Some(redrive) = self.cfg.redrive else {
            return;
        };
        let Some(mut msg) = self.remove(id) else {
            return;
        };
        self.metrics.dead_lettered += 1;
        let new_id = if self.fifo { ctx.new_message_id() } else { id };
        ctx.out.push(BrokerEvent::DeadLettered {
            queue: self.id,
            dead_letter: redrive.dead_letter,
            message: id,
            new_message: new_id,
            group: ctx.group_name(msg.group),
            receive_count: msg.receive_count,
            max_receive_count: redrive.max_receive_count,
        });
        msg.id = new_id;
        ctx.dead.push(DeadMove {
            dead_letter: redrive.dead_letter,
            msg,
        });
    }

    /// Hands one visible record (in `slot`) out: in flight until now + visibility, receive
    /// count + 1.
    fn take(
        &mut self,
        ctx: &mut Ctx,
        slot: u32,
        visibility_ms: u64,
        poll: Option<PollId>,
    ) -> ReceivedMessage {
        let visible_again_at = ctx.now.plus(visibility_ms);
        let set = self.set_state_at(slot, MessageState::InFlight, visible_again_at);
        let m = self
            .msgs
            .at_slot_mut(slot)
            .filter(|_| set)
            .expect("take: record exists (checked by caller)");
        let id = m.id;
        m.receive_count += 1;
        m.set_received_at(ctx.now);
        let received = ReceivedMessage {
            message: id,
            receipt: ReceiptHandle {
                queue: self.id,
                message: id,
                receive: m.receive_count,
                slot_hint: slot,
            },
            payload: m.payload.clone(),
            meta: m.meta,
            group: ctx.group_name(m.group),
            receive_count: m.receive_count,
            sent_at: m.sent_at,
        };
        self.metrics.received += 1;
        if received.receive_count > 1 {
            self.metrics.redelivered += 1;
        }
        ctx.out.push(BrokerEvent::Received {
            queue: self.id,
            message: id,
            group: received.group.clone(),
            receive_count: received.receive_count,
            visible_again_at,
            poll,
            meta: received.meta,
        });
        received
    }

    /// At-least-once: a stray copy of `original` (another server missed the receive) that turns
    /// visible when the original's visibility timeout ends, even if the original is deleted.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html>
    fn inject_duplicate(&mut self, ctx: &mut Ctx, original: MessageId) {
        let Some(m) = self.msgs.get(original) else {
            return;
        };
        let state = if m.visible_at > ctx.now {
            MessageState::Delayed
        } else {
            MessageState::Visible
        };
        let (payload, meta, visible_at, group) = (
            m.payload.clone(),
            m.meta,
            m.visible_at.max(ctx.now),
            m.group,
        );
        let id = ctx.new_message_id();
        self.insert(Msg::new(
            id, payload, meta, ctx.now, visible_at, group, state,
        ));
        self.metrics.accepted += 1;
        self.metrics.duplicates_injected += 1;
        ctx.out.push(BrokerEvent::DuplicateInjected {
            queue: self.id,
            message: original,
            copy: id,
        });
    }

    // ----- DeleteMessage / ChangeMessageVisibility / PurgeQueue ----------------------------

    /// Checks that `receipt` was issued by this queue for a receive that happened; `m` is the
    /// record it names, already looked up (`None`: no such record).
    fn check_receipt_with(&self, receipt: &ReceiptHandle, m: Option<&Msg>) -> Result<(), ApiError> {
        if receipt.queue != self.id || receipt.receive == 0 {
            return Err(ApiError::new(
                ErrorCode::ReceiptHandleIsInvalid,
                format!(
                    "The input receipt handle \"{receipt}\" is not a valid receipt handle for {}.",
                    self.cfg.name
                ),
            ));
        }
        if let Some(m) = m {
            if receipt.receive > m.receive_count {
                return Err(ApiError::new(
                    ErrorCode::ReceiptHandleIsInvalid,
                    format!(
                        "The input receipt handle \"{receipt}\" is not a valid receipt handle."
                    ),
                ));
            }
        }
        Ok(())
    }

    /// FIFO receipt handles expire with the visibility timeout (or when a later receive issued a
    /// newer one): SQS answers InvalidParameterValue "The receipt handle has expired."
    /// <https://repost.aws/knowledge-center/sqs-receipt-handle-error>
    fn fifo_receipt_expired(&self, receipt: &ReceiptHandle, m: &Msg) -> Option<ApiError> {
        if self.fifo && (m.state != MessageState::InFlight || m.receive_count != receipt.receive) {
            return Some(invalid(format!(
                "Value {receipt} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
            )));
        }
        None
    }

    /// DeleteMessage. Standard queues accept any receipt handle of the message (AWS: "can delete a
    /// message from a queue even if a visibility timeout setting causes the message to be locked
    /// by another consumer"); FIFO refuses an expired one.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html>
    pub(crate) fn delete(
        &mut self,
        ctx: &mut Ctx,
        receipt: &ReceiptHandle,
    ) -> Result<(), ApiError> {
        // One id lookup for the whole delete (checks, then removal by slot), skipped when the
        // handle's slot hint still holds the message.
        let slot = self.msgs.slot_hinted(receipt.message, receipt.slot_hint);
        let found = slot.and_then(|s| self.msgs.at_slot(s));
        self.check_receipt_with(receipt, found)?;
        let (Some(slot), Some(m)) = (slot, found) else {
            ctx.out.push(BrokerEvent::DeleteIgnored {
                queue: self.id,
                message: receipt.message,
                reason: DeleteNoop::AlreadyGone,
            });
            return Ok(());
        };
        if let Some(error) = self.fifo_receipt_expired(receipt, m) {
            return Err(error);
        }
        let msg = self.remove_at(slot).expect("delete: record exists");
        self.metrics.deleted += 1;
        ctx.out.push(BrokerEvent::Deleted {
            queue: self.id,
            message: receipt.message,
            group: ctx.group_name(msg.group),
        });
        Ok(())
    }

    /// ChangeMessageVisibility: a new timeout counted from now, at most 12 hours after the
    /// receive; 0 makes the message visible at once.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html>
    pub(crate) fn change_visibility(
        &mut self,
        ctx: &mut Ctx,
        receipt: &ReceiptHandle,
        timeout_s: u32,
    ) -> Result<(), ApiError> {
        if timeout_s > limits::MAX_VISIBILITY_TIMEOUT_S {
            return Err(invalid(format!(
                "VisibilityTimeout must be between 0 and {}, got {timeout_s}.",
                limits::MAX_VISIBILITY_TIMEOUT_S
            )));
        }
        // One id lookup for the whole change (skipped when the slot hint holds the message).
        let slot = self.msgs.slot_hinted(receipt.message, receipt.slot_hint);
        let found = slot.and_then(|s| self.msgs.at_slot(s));
        self.check_receipt_with(receipt, found)?;
        let (Some(slot), Some(m)) = (slot, found) else {
            return Err(ApiError::new(
                ErrorCode::ReceiptHandleIsInvalid,
                format!(
                    "The receipt handle \"{receipt}\" refers to a message that is no longer in {}.",
                    self.cfg.name
                ),
            ));
        };
        if let Some(error) = self.fifo_receipt_expired(receipt, m) {
            return Err(error);
        }
        if m.state != MessageState::InFlight {
            return Err(ApiError::new(
                ErrorCode::MessageNotInflight,
                format!("{} in {} is not in flight.", receipt.message, self.cfg.name),
            ));
        }
        let visible_at = ctx.now.plus(timeout_s as u64 * 1000);
        let limit = m
            .received_at()
            .plus(limits::MAX_VISIBILITY_TIMEOUT_S as u64 * 1000);
        if visible_at > limit {
            return Err(invalid(format!(
                "Value {timeout_s} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [{} seconds].",
                limits::MAX_VISIBILITY_TIMEOUT_S
            )));
        }
        if timeout_s == 0 {
            self.set_state_at(slot, MessageState::Visible, ctx.now);
        } else {
            self.set_state_at(slot, MessageState::InFlight, visible_at);
        }
        self.forget_attempts_with(receipt.message);
        ctx.out.push(BrokerEvent::VisibilityChanged {
            queue: self.id,
            message: receipt.message,
            visible_at,
        });
        Ok(())
    }

    /// PurgeQueue: deletes every message (at once here; AWS takes up to 60 s) and refuses a second
    /// purge within 60 s. <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_PurgeQueue.html>
    pub(crate) fn purge(&mut self, ctx: &mut Ctx) -> Result<(), ApiError> {
        if let Some(last) = self.last_purge {
            if ctx.now < last.plus(60_000) {
                return Err(ApiError::new(
                    ErrorCode::PurgeQueueInProgress,
                    format!(
                        "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                        self.cfg.name
                    ),
                ));
            }
        }
        let n = self.msgs.len();
        self.msgs.clear();
        self.lanes.clear();
        self.free_lanes.clear();
        self.lane_of.clear();
        self.avail.clear();
        self.blocked.clear();
        self.attempts.clear();
        self.metrics.purged += n;
        self.metrics.visible = 0;
        self.metrics.in_flight = 0;
        self.metrics.delayed = 0;
        self.last_purge = Some(ctx.now);
        ctx.out.push(BrokerEvent::Purged {
            queue: self.id,
            n_messages: n,
        });
        Ok(())
    }

    /// Withdraws a waiting long poll; false if it is not waiting here.
    pub(crate) fn cancel_poll(&mut self, ctx: &mut Ctx, poll: PollId) -> bool {
        let Some(p) = self.remove_poll(poll) else {
            return false;
        };
        self.remove_poll_deadline(p.until, poll);
        ctx.out.push(BrokerEvent::PollCancelled {
            queue: self.id,
            poll,
        });
        true
    }

    // ----- time ----------------------------------------------------------------------------

    /// Earliest time something changes by itself: a delay or visibility timeout ends, the oldest
    /// record expires, or a long poll runs out.
    pub(crate) fn next_deadline(&self) -> Option<Millis> {
        self.deadline
    }

    /// Recomputes the cached deadline after a change.
    pub(crate) fn refresh_deadline(&mut self) {
        self.deadline = self.compute_deadline();
    }

    fn compute_deadline(&self) -> Option<Millis> {
        // The earliest of: the first timer, the oldest record's expiry, the first poll's end.
        let mut best = self.msgs.next_timer();
        let mut consider = |t: Millis| {
            if best.is_none_or(|b| t < b) {
                best = Some(t);
            }
        };
        if let Some(m) = self.msgs.oldest() {
            consider(m.sent_at.plus(self.cfg.retention_s as u64 * 1000));
        }
        if let Some(&(t, _)) = self.poll_deadlines.front() {
            consider(t);
        }
        best
    }

    /// Takes waiting poll `poll` out of the arrival list (not out of `poll_deadlines`).
    fn remove_poll(&mut self, poll: PollId) -> Option<Poll> {
        if self.polls.front().is_some_and(|&(id, _)| id == poll) {
            return self.polls.pop_front().map(|(_, p)| p);
        }
        let pos = self.polls.binary_search_by_key(&poll, |&(id, _)| id).ok()?;
        self.polls.remove(pos).map(|(_, p)| p)
    }

    fn remove_poll_deadline(&mut self, until: Millis, poll: PollId) {
        // Polls mostly end in arrival order: the first deadline is usually the one.
        if self.poll_deadlines.front() == Some(&(until, poll)) {
            self.poll_deadlines.pop_front();
        } else if let Ok(pos) = self.poll_deadlines.binary_search(&(until, poll)) {
            self.poll_deadlines.remove(pos);
        }
    }

    /// Applies everything due at or before `ctx.now`, in a fixed order: visibility/delay ends,
    /// expiries, then waiting polls get messages, then polls that ran out return empty.
    pub(crate) fn fire_due(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        while let Some((id, slot)) = self.msgs.pop_due(now) {
            let Some(m) = self.msgs.at_slot(slot) else {
                continue;
            };
            let (state, group, receive_count) = (m.state, m.group, m.receive_count);
            self.set_state_at(slot, MessageState::Visible, now);
            let group = ctx.group_name(group);
            ctx.out.push(match state {
                MessageState::Delayed => BrokerEvent::DelayEnded {
                    queue: self.id,
                    message: id,
                    group,
                },
                _ => BrokerEvent::VisibilityExpired {
                    queue: self.id,
                    message: id,
                    group,
                    receive_count,
                },
            });
        }
        self.expire(ctx);
        self.serve_polls(ctx);
        while let Some(&(until, poll)) = self.poll_deadlines.front() {
            if until > now {
                break;
            }
            self.poll_deadlines.pop_front();
            self.remove_poll(poll);
            ctx.out.push(BrokerEvent::PollCompleted {
                queue: self.id,
                poll,
                messages: Vec::new(),
            });
        }
    }

    /// Retention: records older than MessageRetentionPeriod disappear, whatever their state.
    /// Ids grow with enqueue time, so the first record is always the oldest.
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-architecture.html>
    fn expire(&mut self, ctx: &mut Ctx) {
        let retention_ms = self.cfg.retention_s as u64 * 1000;
        while let Some(m) = self.msgs.oldest() {
            if m.sent_at.plus(retention_ms) > ctx.now {
                break;
            }
            let id = m.id;
            let age_ms = ctx.now.since(m.sent_at);
            let msg = self.remove(id).expect("expire: record exists");
            self.metrics.expired += 1;
            ctx.out.push(BrokerEvent::Expired {
                queue: self.id,
                message: id,
                group: ctx.group_name(msg.group),
                age_ms,
            });
        }
    }

    /// Gives receivable messages to waiting long polls, oldest poll first (AWS does not say
    /// which waiting receive is served first; this is one possible order).
    pub(crate) fn serve_polls(&mut self, ctx: &mut Ctx) {
        while let Some(&(poll_id, ref poll)) = self.polls.front() {
            if !self.has_receivable() {
                break;
            }
            let (max, visibility_ms, until) = (poll.max, poll.visibility_ms, poll.until);
            let messages = self.receive_now(ctx, max, visibility_ms, Some(poll_id));
            if messages.is_empty() {
                // Everything receivable was dead-lettered instead; the poll keeps waiting.
                break;
            }
            self.polls.pop_front();
            self.remove_poll_deadline(until, poll_id);
            ctx.out.push(BrokerEvent::PollCompleted {
                queue: self.id,
                poll: poll_id,
                messages,
            });
        }
    }

    // ----- checks --------------------------------------------------------------------------

    /// Internal consistency: counters match the records, indexes match states.
    pub(crate) fn check(&self) -> Result<(), String> {
        let name = &self.cfg.name;
        self.metrics
            .check_conservation()
            .map_err(|e| format!("{name}: {e}"))?;
        self.msgs.check().map_err(|e| format!("{name}: {e}"))?;
        if self.deadline != self.compute_deadline() {
            return Err(format!(
                "{name}: cached deadline {:?} but {:?} is due",
                self.deadline,
                self.compute_deadline()
            ));
        }
        if !self.polls.is_empty() && self.has_receivable() {
            return Err(format!(
                "{name}: a long poll waits although a message can be received"
            ));
        }
        let count = |s: MessageState| self.msgs.iter().filter(|m| m.state == s).count() as u64;
        let (visible, in_flight, delayed) = (
            count(MessageState::Visible),
            count(MessageState::InFlight),
            count(MessageState::Delayed),
        );
        if (visible, in_flight, delayed)
            != (
                self.metrics.visible,
                self.metrics.in_flight,
                self.metrics.delayed,
            )
        {
            return Err(format!(
                "{name}: counted visible/in_flight/delayed {visible}/{in_flight}/{delayed} but metrics say {}/{}/{}",
                self.metrics.visible, self.metrics.in_flight, self.metrics.delayed
            ));
        }
        if self.fifo {
            let in_lanes: u64 = self.group_lanes().map(|l| l.msgs.len() as u64).sum();
            let n_avail = self.group_lanes().filter(|l| l.avail_key.is_some()).count();
            let n_blocked = self.group_lanes().filter(|l| l.blocked).count();
            if n_avail != self.avail.len()
                || n_blocked != self.blocked.len()
                || !self
                    .avail
                    .iter()
                    .zip(self.avail.iter().skip(1))
                    .all(|(a, b)| a < b)
                || !self.blocked.windows(2).all(|w| w[0] < w[1])
            {
                return Err(format!("{name}: available or blocked group lists are off"));
            }
            if in_lanes != self.msgs.len() {
                return Err(format!(
                    "{name}: {in_lanes} records in group lanes but {} stored",
                    self.msgs.len()
                ));
            }
            for lane in self.group_lanes() {
                if self.lane(lane.group).map(|l| l.group) != Some(lane.group) {
                    return Err(format!(
                        "{name}: group {} has a stale lane index",
                        lane.group
                    ));
                }
                let in_avail = lane
                    .avail_key
                    .is_some_and(|k| self.avail.binary_search(&(k, lane.group)).is_ok());
                if in_avail != lane.avail_key.is_some()
                    || lane.blocked != self.blocked.binary_search(&lane.group).is_ok()
                {
                    return Err(format!("{name}: group {} is misfiled", lane.group));
                }
                let ids: Vec<MessageId> = lane
                    .msgs
                    .iter()
                    .filter_map(|&s| self.msgs.at_slot(s))
                    .map(|m| m.id)
                    .collect();
                if ids.len() != lane.msgs.len() || ids.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(format!("{name}: a group lane is not in send order"));
                }
            }
        }
        Ok(())
    }

    /// Age of the oldest stored record.
    pub(crate) fn oldest_age_ms(&self, now: Millis) -> u64 {
        self.msgs.oldest().map_or(0, |m| now.since(m.sent_at))
    }

    /// Number of waiting long polls.
    pub(crate) fn n_polls(&self) -> u32 {
        self.polls.len() as u32
    }

    /// FIFO: the group whose head blocks it, if any.
    pub(crate) fn is_blocked(&self, group: u32) -> bool {
        self.lane(group).is_some_and(|l| l.blocked)
    }
}
