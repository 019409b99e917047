//! Shared helpers for the broker's specification tests: a broker on a virtual clock that records
//! every event, so tests read like a script of SQS/SNS calls.
#![allow(dead_code)]

use switchboard_broker::*;

pub struct World {
    pub broker: Broker,
    pub rng: Rng,
    pub now: Millis,
    pub events: Vec<BrokerEvent>,
}

impl World {
    pub fn new() -> World {
        World {
            broker: Broker::new(),
            rng: Rng::new(1),
            now: Millis::ZERO,
            events: Vec::new(),
        }
    }

    pub fn queue(&mut self, cfg: QueueConfig) -> QueueId {
        self.broker.create_queue(cfg).expect("create queue")
    }

    /// Moves the clock forward by `ms` and applies what became due.
    pub fn wait_ms(&mut self, ms: u64) {
        self.now = self.now.plus(ms);
        self.broker
            .advance(self.now, &mut self.rng, &mut self.events);
        self.check();
    }

    pub fn wait_s(&mut self, s: u64) {
        self.wait_ms(s * 1000)
    }

    pub fn send(&mut self, queue: QueueId, req: SendRequest) -> Result<SendResponse, ApiError> {
        let r = self
            .broker
            .send_message(self.now, queue, req, &mut self.rng, &mut self.events);
        self.check();
        r
    }

    pub fn send_ok(&mut self, queue: QueueId, req: SendRequest) -> MessageId {
        self.send(queue, req).expect("send").message
    }

    pub fn receive(
        &mut self,
        queue: QueueId,
        req: ReceiveRequest,
    ) -> Result<ReceiveResponse, ApiError> {
        let r = self
            .broker
            .receive_message(self.now, queue, req, &mut self.rng, &mut self.events);
        self.check();
        r
    }

    /// Short-poll receive of up to `max` messages.
    pub fn recv(&mut self, queue: QueueId, max: u32) -> Vec<ReceivedMessage> {
        self.receive(queue, ReceiveRequest::max(max).wait(0))
            .expect("receive")
            .into_messages()
    }

    pub fn delete(&mut self, queue: QueueId, receipt: ReceiptHandle) -> Result<(), ApiError> {
        let r =
            self.broker
                .delete_message(self.now, queue, receipt, &mut self.rng, &mut self.events);
        self.check();
        r
    }

    pub fn change_visibility(
        &mut self,
        queue: QueueId,
        receipt: ReceiptHandle,
        timeout_s: u32,
    ) -> Result<(), ApiError> {
        let r = self.broker.change_message_visibility(
            self.now,
            queue,
            receipt,
            timeout_s,
            &mut self.rng,
            &mut self.events,
        );
        self.check();
        r
    }

    pub fn metrics(&self, queue: QueueId) -> QueueMetrics {
        self.broker.queue_metrics(queue)
    }

    pub fn check(&self) {
        if let Err(e) = self.broker.check_invariants() {
            panic!("broker invariant broken: {e}");
        }
    }

    /// Explanations of all events so far, one per line (for assertion messages).
    pub fn story(&self) -> String {
        self.events
            .iter()
            .map(|e| e.explain(&self.broker))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn count(&self, kind: &str) -> usize {
        self.events.iter().filter(|e| e.kind() == kind).count()
    }
}

pub fn ids(messages: &[ReceivedMessage]) -> Vec<MessageId> {
    messages.iter().map(|m| m.message).collect()
}

pub fn bodies(messages: &[ReceivedMessage]) -> Vec<String> {
    messages.iter().map(|m| m.payload.body.clone()).collect()
}

pub fn fifo(name: &str) -> QueueConfig {
    let mut cfg = QueueConfig::new(name);
    cfg.content_based_dedup = true;
    cfg
}
