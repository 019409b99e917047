//! `Scenario` → engine `WorldSpec`: names become ids, `30s` becomes 30_000 ms (or 30 s where SQS
//! counts seconds), implied links are made explicit, and `after:` conditions become engine
//! triggers. Runs validation first, so a built spec always refers to things that exist.

use crate::diag::{Diagnostic, Pos};
use crate::expect::{self, Clause, Op, Operand};
use crate::file::{self, ApiAction, LinkKind, Outcome, Scenario};
use std::collections::BTreeMap;
use switchboard_engine::broker::{
    Chance, FilterPolicyScope, Millis, QueueConfig, QueueId, RedrivePolicy, SubscriptionConfig,
    SubscriptionTarget, TopicConfig, TopicId,
};
use switchboard_engine::ids::{LinkId, ServiceId};
use switchboard_engine::spec::{self as es, WorldSpec};

/// Latency of a link nobody declared (the lessons' default: 10 ms per hop).
pub const IMPLIED_LINK_LATENCY_MS: u64 = 10;
/// How long a caller waits for an RPC reply (or a send's response) unless the link says otherwise.
pub const DEFAULT_TIMEOUT_MS: u64 = 1_000;
/// Pause between a consumer's empty short-poll receive and the next one.
pub const IDLE_BACKOFF_MS: u64 = 200;
/// Most scheduled times one producer may expand to.
pub const MAX_SENDS: u64 = 100_000;

/// A link of the world: declared in `links:` or implied by who talks to whom.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedLink {
    pub from: String,
    pub to: String,
    pub kind: LinkKind,
    pub latency: file::Latency,
    pub loss: file::Percent,
    pub timeout: Option<file::Duration>,
    /// True when no `links:` entry declared it.
    pub implied: bool,
}

impl ResolvedLink {
    /// The link's name as the engine and the summary spell it: `from->to`.
    pub fn name(&self) -> String {
        format!("{}->{}", self.from, self.to)
    }
    fn joins(&self, a: &str, b: &str) -> bool {
        (self.from == a && self.to == b) || (self.from == b && self.to == a)
    }
}

impl Scenario {
    fn is_service(&self, name: &str) -> bool {
        self.services.iter().any(|s| s.name == name)
    }

    /// Who sends to whom because of a service, by name, services in file order: a producer to
    /// its target, a consumer's queue to the consumer, a client to the queues and topics it
    /// calls, handler steps to what they call, send to or publish to. The order decides the ids
    /// of implied links, so it must not change.
    pub(crate) fn service_talk(&self) -> Vec<(String, String)> {
        let mut talk = Vec::new();
        for s in &self.services {
            if let Some(p) = &s.producer {
                talk.push((s.name.clone(), p.to.clone()));
            }
            if let Some(c) = &s.consumer {
                talk.push((c.queue.clone(), s.name.clone()));
            }
            if let Some(c) = &s.client {
                for call in &c.calls {
                    if let Some(t) = call.queue.as_ref().or(call.topic.as_ref()) {
                        talk.push((s.name.clone(), t.clone()));
                    }
                }
            }
            let steps = s
                .consumer
                .iter()
                .flat_map(|c| c.steps.iter())
                .chain(s.rpc_server.iter().flat_map(|r| r.steps.iter()));
            for a in steps {
                if let Some(t) = a.call.as_ref().or(a.send.as_ref()).or(a.publish.as_ref()) {
                    talk.push((s.name.clone(), t.clone()));
                }
            }
        }
        talk
    }

    /// Every link: the declared ones in file order, then one per pair of nodes that talk to each
    /// other without a declared link (rpc between services, messaging to queues and topics).
    pub fn links_resolved(&self) -> Vec<ResolvedLink> {
        let mut links: Vec<ResolvedLink> = self
            .links
            .iter()
            .map(|l| ResolvedLink {
                from: l.from.clone(),
                to: l.to.clone(),
                kind: l
                    .kind
                    .unwrap_or(if self.is_service(&l.from) && self.is_service(&l.to) {
                        LinkKind::Rpc
                    } else {
                        LinkKind::Messaging
                    }),
                latency: l.latency,
                loss: l.loss,
                timeout: l.timeout,
                implied: false,
            })
            .collect();
        let mut talk = self.service_talk();
        for t in &self.topics {
            for sub in &t.subscriptions {
                if let Some(svc) = &sub.service {
                    talk.push((t.name.clone(), svc.clone()));
                }
            }
        }
        for (from, to) in talk {
            if from == to || links.iter().any(|l| l.joins(&from, &to)) {
                continue;
            }
            let kind = if self.is_service(&from) && self.is_service(&to) {
                LinkKind::Rpc
            } else {
                LinkKind::Messaging
            };
            links.push(ResolvedLink {
                from,
                to,
                kind,
                latency: file::Latency::fixed(IMPLIED_LINK_LATENCY_MS),
                loss: file::Percent(0),
                timeout: None,
                implied: true,
            });
        }
        links
    }

    /// Builds the engine's world description. Validates first; returns every problem found.
    pub fn to_spec(&self) -> Result<WorldSpec, Vec<Diagnostic>> {
        let diags = self.validate();
        if !diags.is_empty() {
            return Err(diags);
        }
        Builder::new(self).build()
    }
}

struct Builder<'a> {
    s: &'a Scenario,
    services: NameIds<'a, ServiceId>,
    queues: NameIds<'a, QueueId>,
    topics: NameIds<'a, TopicId>,
    links: Vec<ResolvedLink>,
    diags: Vec<Diagnostic>,
}

/// Name -> id lookup for the few names of a scenario: a list searched from its end, so a repeated
/// name resolves to its last entry exactly as a `BTreeMap` insert or `collect` would. Used instead
/// of one `BTreeMap` per id type because each of those instantiates its own tree code in the wasm.
pub(crate) struct NameIds<'a, I>(Vec<(&'a str, I)>);

impl<I> Default for NameIds<'_, I> {
    fn default() -> Self {
        NameIds(Vec::new())
    }
}

impl<'a, I> NameIds<'a, I> {
    pub(crate) fn insert(&mut self, name: &'a str, id: I) {
        self.0.push((name, id));
    }

    pub(crate) fn get(&self, name: &str) -> Option<&I> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| id)
    }
}

impl<'a, I> FromIterator<(&'a str, I)> for NameIds<'a, I> {
    fn from_iter<T: IntoIterator<Item = (&'a str, I)>>(iter: T) -> Self {
        NameIds(iter.into_iter().collect())
    }
}

impl<I> std::ops::Index<&str> for NameIds<'_, I> {
    type Output = I;
    /// Panics on an unknown name, as `BTreeMap` indexing does (callers index validated names).
    fn index(&self, name: &str) -> &I {
        self.get(name).expect("no entry found for key")
    }
}

fn problem(path: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Pos::NONE, path, message)
}

fn latency(l: file::Latency) -> es::Latency {
    if l.min_ms == l.max_ms {
        es::Latency::Fixed { ms: l.min_ms }
    } else {
        es::Latency::Uniform {
            min_ms: l.min_ms,
            max_ms: l.max_ms,
        }
    }
}

fn chance(p: file::Percent) -> Chance {
    Chance::from_ppm(p.0)
}

fn secs(d: file::Duration) -> u32 {
    (d.0 / 1_000).min(u64::from(u32::MAX)) as u32
}

impl<'a> Builder<'a> {
    fn new(s: &'a Scenario) -> Builder<'a> {
        let services = s
            .services
            .iter()
            .enumerate()
            .map(|(i, x)| (x.name.as_str(), ServiceId(i as u32)))
            .collect();
        let topics = s
            .topics
            .iter()
            .enumerate()
            .map(|(i, x)| (x.name.as_str(), TopicId(i as u32)))
            .collect();
        Builder {
            s,
            services,
            queues: NameIds::default(),
            topics,
            links: s.links_resolved(),
            diags: Vec::new(),
        }
    }

    fn build(mut self) -> Result<WorldSpec, Vec<Diagnostic>> {
        let queues = self.queues();
        let topics = self.topics();
        let links = self.links();
        let mut faults = Vec::new();
        let services = self.services(&mut faults);
        self.faults(&mut faults);
        if !self.diags.is_empty() {
            return Err(self.diags);
        }
        Ok(WorldSpec {
            seed: self.s.seed,
            services,
            queues,
            topics,
            links,
            faults,
            limits: es::Limits {
                until: Millis(self.s.duration.0),
                max_events: self.s.max_events,
            },
        })
    }

    /// Queues in an order where every dead-letter queue comes before the queues that use it
    /// (the engine creates them in order); ties keep file order.
    fn queues(&mut self) -> Vec<QueueConfig> {
        let mut placed: Vec<usize> = Vec::new();
        let n = self.s.queues.len();
        for _ in 0..=n {
            for (i, q) in self.s.queues.iter().enumerate() {
                if placed.contains(&i) {
                    continue;
                }
                let ready = match &q.dead_letter {
                    None => true,
                    Some(d) => placed.iter().any(|&j| self.s.queues[j].name == d.queue),
                };
                if ready {
                    placed.push(i);
                }
            }
        }
        if placed.len() != n {
            self.diags
                .push(problem("queues", "dead-letter queues form a cycle"));
            return Vec::new();
        }
        for (id, &i) in placed.iter().enumerate() {
            self.queues
                .insert(self.s.queues[i].name.as_str(), QueueId(id as u32));
        }
        placed
            .iter()
            .map(|&i| {
                let q = &self.s.queues[i];
                let mut c = QueueConfig::new(q.name.clone());
                c.visibility_timeout_s = secs(q.visibility_timeout);
                c.delay_s = secs(q.delay);
                c.retention_s = secs(q.retention);
                c.receive_wait_s = secs(q.receive_wait);
                c.max_message_bytes = q.max_message_size;
                c.content_based_dedup = q.content_based_deduplication;
                c.redrive = q.dead_letter.as_ref().map(|d| RedrivePolicy {
                    dead_letter: self.queues[d.queue.as_str()],
                    max_receive_count: d.max_receive_count,
                });
                c
            })
            .collect()
    }

    fn topics(&mut self) -> Vec<es::TopicSpec> {
        self.s
            .topics
            .iter()
            .map(|t| es::TopicSpec {
                config: TopicConfig {
                    name: t.name.clone(),
                    content_based_dedup: t.content_based_deduplication,
                },
                subscriptions: t
                    .subscriptions
                    .iter()
                    .filter_map(|sub| {
                        let target = match (&sub.queue, &sub.service) {
                            (Some(q), _) => {
                                SubscriptionTarget::Queue(*self.queues.get(q.as_str())?)
                            }
                            (_, Some(svc)) => {
                                SubscriptionTarget::Endpoint(self.services.get(svc.as_str())?.0)
                            }
                            _ => return None,
                        };
                        Some(SubscriptionConfig {
                            target,
                            raw_message_delivery: sub.raw,
                            filter_policy: sub.filter.as_ref().map(|f| f.to_string()),
                            filter_policy_scope: match sub.filter_scope {
                                file::FilterScope::MessageAttributes => {
                                    FilterPolicyScope::MessageAttributes
                                }
                                file::FilterScope::MessageBody => FilterPolicyScope::MessageBody,
                            },
                            // SNS's default delivery policy for HTTP/S endpoints: 3 retries, 20 s apart.
                            // https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
                            endpoint_retries: 3,
                            endpoint_retry_delay_s: 20,
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    fn node(&self, name: &str) -> Option<es::Node> {
        if let Some(id) = self.services.get(name) {
            return Some(es::Node::Service(*id));
        }
        if let Some(id) = self.queues.get(name) {
            return Some(es::Node::Queue(*id));
        }
        self.topics.get(name).map(|id| es::Node::Topic(*id))
    }

    fn links(&mut self) -> Vec<es::LinkSpec> {
        let mut out = Vec::new();
        for l in &self.links {
            let (Some(source), Some(target)) = (self.node(&l.from), self.node(&l.to)) else {
                self.diags.push(problem(
                    "links",
                    format!("link {} joins unknown nodes", l.name()),
                ));
                continue;
            };
            out.push(es::LinkSpec {
                source,
                target,
                kind: match l.kind {
                    LinkKind::Rpc => es::LinkKind::Rpc,
                    LinkKind::Messaging => es::LinkKind::Messaging,
                },
                latency_ms_min: l.latency.min_ms,
                latency_ms_max: l.latency.max_ms,
                loss: chance(l.loss),
            });
        }
        out
    }

    fn link_id(&self, a: &str, b: &str) -> Option<LinkId> {
        self.links
            .iter()
            .position(|l| l.joins(a, b))
            .map(|i| LinkId(i as u32))
    }

    fn timeout_between(&self, a: &str, b: &str) -> u64 {
        self.links
            .iter()
            .find(|l| l.joins(a, b))
            .and_then(|l| l.timeout)
            .map_or(DEFAULT_TIMEOUT_MS, |t| t.0)
    }

    fn template(
        &self,
        body: &str,
        group: &Option<String>,
        dedup: &Option<String>,
        attributes: &BTreeMap<String, String>,
    ) -> es::MessageTemplate {
        es::MessageTemplate {
            body: body.to_string(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            group_id: group.clone(),
            dedup_id: dedup.clone(),
        }
    }

    fn target(&self, name: &str) -> Option<es::Target> {
        if let Some(q) = self.queues.get(name) {
            return Some(es::Target::Queue(*q));
        }
        if let Some(t) = self.topics.get(name) {
            return Some(es::Target::Topic(*t));
        }
        self.services.get(name).map(|s| es::Target::Service(*s))
    }

    fn chain(&mut self, own: &str, steps: &[file::Action]) -> Vec<es::Step> {
        let mut out = Vec::new();
        for a in steps {
            let body = a.body.clone().unwrap_or_else(file::default_body);
            if let Some(svc) = &a.call {
                if let Some(id) = self.services.get(svc.as_str()) {
                    out.push(es::Step::Call {
                        service: *id,
                        timeout_ms: self.timeout_between(own, svc),
                        retry: es::RetryPolicy::default(),
                    });
                }
            } else if let Some(q) = &a.send {
                if let Some(id) = self.queues.get(q.as_str()) {
                    out.push(es::Step::Send {
                        queue: *id,
                        template: self.template(&body, &a.group, &a.dedup_id, &a.attributes),
                    });
                }
            } else if let Some(t) = &a.publish {
                if let Some(id) = self.topics.get(t.as_str()) {
                    out.push(es::Step::Publish {
                        topic: *id,
                        template: self.template(&body, &a.group, &a.dedup_id, &a.attributes),
                    });
                }
            }
        }
        out
    }

    fn services(&mut self, faults: &mut Vec<es::FaultSpec>) -> Vec<es::ServiceSpec> {
        let mut out = Vec::new();
        for (i, svc) in self.s.services.iter().enumerate() {
            let path = format!("services[{i}]");
            let behaviour = if let Some(p) = &svc.producer {
                self.producer(&path, &svc.name, p)
            } else if let Some(c) = &svc.consumer {
                if c.outcome == Outcome::SkipDelete {
                    // A consumer that never deletes = the skip-delete fault switched on from the start.
                    faults.push(es::FaultSpec {
                        at: es::Trigger::At(Millis::ZERO),
                        action: es::FaultAction::SkipDeletes {
                            service: ServiceId(i as u32),
                            on: true,
                        },
                    });
                }
                self.consumer(&svc.name, c)
            } else if let Some(r) = &svc.rpc_server {
                Some(es::Behaviour::RpcServer(es::RpcServerSpec {
                    latency: latency(r.latency),
                    concurrency: r.concurrency,
                    overflow: es::Overflow::Reject,
                    error_rate: chance(r.error_rate),
                    chain: self.chain(&svc.name, &r.steps),
                }))
            } else if let Some(c) = &svc.client {
                self.client(&path, c)
            } else {
                Some(es::Behaviour::Idle)
            };
            out.push(es::ServiceSpec {
                name: svc.name.clone(),
                behaviour: behaviour.unwrap_or(es::Behaviour::Idle),
            });
        }
        out
    }

    fn producer(&mut self, path: &str, own: &str, p: &file::Producer) -> Option<es::Behaviour> {
        let target = self.target(&p.to)?;
        let start = Millis(p.start.0);
        let schedule = if !p.at.is_empty() {
            es::Schedule::Times(p.at.iter().map(|d| Millis(d.0)).collect())
        } else {
            let every = p.every.map_or(1_000, |e| e.0.max(1));
            let room = self.s.duration.0.saturating_sub(p.start.0) / every + 1;
            let count = p.count.unwrap_or(room).min(room);
            if count > MAX_SENDS {
                self.diags.push(problem(
                    &format!("{path}.producer"),
                    format!("{count} sends; at most {MAX_SENDS} per producer"),
                ));
                return None;
            }
            if 1_000 % every == 0 {
                es::Schedule::Rate {
                    per_second: (1_000 / every) as u32,
                    start,
                    count,
                }
            } else {
                es::Schedule::Times((0..count).map(|k| start.plus(k * every)).collect())
            }
        };
        let retry = p
            .retry
            .as_ref()
            .map_or_else(es::RetryPolicy::default, |r| es::RetryPolicy {
                max_attempts: r.times + 1,
                backoff_ms: r.after.0,
            });
        Some(es::Behaviour::Producer(es::ProducerSpec {
            schedule,
            template: self.template(&p.body, &p.group, &p.dedup_id, &p.attributes),
            target,
            retry,
            timeout_ms: self.timeout_between(own, &p.to),
        }))
    }

    fn consumer(&mut self, own: &str, c: &file::Consumer) -> Option<es::Behaviour> {
        let queue = *self.queues.get(c.queue.as_str())?;
        let visibility_ms = self
            .s
            .queues
            .iter()
            .find(|q| q.name == c.queue)
            .map_or(30_000, |q| q.visibility_timeout.0);
        Some(es::Behaviour::Consumer(es::ConsumerSpec {
            queue,
            batch_size: c.batch,
            wait_ms: c.wait.0,
            idle_backoff_ms: if c.wait.0 == 0 { IDLE_BACKOFF_MS } else { 0 },
            work: latency(c.work),
            fail: if c.outcome == Outcome::Fail {
                Chance::ALWAYS
            } else {
                Chance::NEVER
            },
            pause: Chance::NEVER,
            pause_ms: 0,
            crash: if c.outcome == Outcome::Crash {
                Chance::ALWAYS
            } else {
                Chance::NEVER
            },
            idempotent: c.idempotent,
            idempotency_store: c.idempotency_store.clone(),
            // Extend halfway through each visibility period, back to a full period.
            heartbeat: c.heartbeat.then(|| es::Heartbeat {
                every_ms: (visibility_ms / 2).max(1_000),
                extend_to_ms: visibility_ms.max(2_000),
            }),
            chain: self.chain(own, &c.steps),
        }))
    }

    fn client(&mut self, path: &str, c: &file::Client) -> Option<es::Behaviour> {
        let mut calls = Vec::new();
        for (j, call) in c.calls.iter().enumerate() {
            let queue = call
                .queue
                .as_deref()
                .and_then(|q| self.queues.get(q))
                .copied();
            let topic = call
                .topic
                .as_deref()
                .and_then(|t| self.topics.get(t))
                .copied();
            let message = self.template(
                call.body.as_deref().unwrap_or("message {n}"),
                &call.group,
                &call.dedup_id,
                &call.attributes,
            );
            let receipt =
                es::ReceiptRef::NthOfLastReceive(call.message.unwrap_or(1).saturating_sub(1));
            let api = match (call.action, queue, topic) {
                (ApiAction::SendMessage, Some(queue), _) => es::ApiCall::SendMessage {
                    queue,
                    message,
                    delay_seconds: call.delay.map(secs),
                },
                (ApiAction::SendMessageBatch, Some(queue), _) => es::ApiCall::SendMessageBatch {
                    queue,
                    entries: call
                        .entries
                        .iter()
                        .map(|e| self.template(&e.body, &e.group, &e.dedup_id, &e.attributes))
                        .collect(),
                },
                (ApiAction::ReceiveMessage, Some(queue), _) => es::ApiCall::ReceiveMessage {
                    queue,
                    max_number_of_messages: call.max.unwrap_or(1),
                    wait_time_seconds: call.wait.map_or(0, secs),
                    visibility_timeout: call.visibility_timeout.map(secs),
                    receive_request_attempt_id: call.attempt_id.clone(),
                },
                (ApiAction::DeleteMessage, Some(queue), _) => {
                    es::ApiCall::DeleteMessage { queue, receipt }
                }
                (ApiAction::ChangeMessageVisibility, Some(queue), _) => {
                    es::ApiCall::ChangeMessageVisibility {
                        queue,
                        receipt,
                        visibility_timeout: call.visibility_timeout.map_or(0, secs),
                    }
                }
                (ApiAction::PurgeQueue, Some(queue), _) => es::ApiCall::PurgeQueue { queue },
                (ApiAction::Publish, _, Some(topic)) => es::ApiCall::Publish { topic, message },
                _ => {
                    self.diags.push(problem(
                        &format!("{path}.client.calls[{j}]"),
                        "the call's queue or topic is missing",
                    ));
                    continue;
                }
            };
            calls.push(es::ScriptedCall {
                at: Millis(call.at.0),
                call: api,
            });
        }
        Some(es::Behaviour::ScriptedClient(es::ScriptSpec { calls }))
    }

    fn faults(&mut self, out: &mut Vec<es::FaultSpec>) {
        for (i, f) in self.s.faults.iter().enumerate() {
            let path = format!("faults[{i}]");
            let trigger = match (&f.at, &f.after) {
                (Some(at), _) => es::Trigger::At(Millis(at.0)),
                (None, Some(cond)) => match trigger(cond, &self.services) {
                    Ok(t) => t,
                    Err(message) => {
                        self.diags.push(problem(&format!("{path}.after"), message));
                        continue;
                    }
                },
                (None, None) => continue,
            };
            let Some(action) = self.fault_action(&path, f) else {
                continue;
            };
            out.push(es::FaultSpec {
                at: trigger,
                action,
            });
        }
    }

    fn fault_action(&mut self, path: &str, f: &file::Fault) -> Option<es::FaultAction> {
        let service = |name: &str| self.services.get(name).copied();
        let link = |ends: &[String], field: &str, diags: &mut Vec<Diagnostic>| {
            let found = ends
                .first()
                .zip(ends.get(1))
                .and_then(|(a, b)| self.link_id(a, b));
            if found.is_none() {
                diags.push(problem(
                    &format!("{path}.{field}"),
                    format!("no link between `{}`", ends.join("` and `")),
                ));
            }
            found
        };
        let mut diags = Vec::new();
        let action = if let Some(s) = &f.crash {
            service(s).map(|service| es::FaultAction::Crash { service })
        } else if let Some(s) = &f.restart {
            service(s).map(|service| es::FaultAction::Restart { service })
        } else if let Some(ends) = &f.partition {
            link(ends, "partition", &mut diags).map(|link| es::FaultAction::Partition { link })
        } else if let Some(ends) = &f.heal {
            link(ends, "heal", &mut diags).map(|link| es::FaultAction::Heal { link })
        } else if let Some(ends) = &f.restore {
            link(ends, "restore", &mut diags).map(|link| es::FaultAction::Restore { link })
        } else if let Some(slow) = &f.slow {
            match (&slow.service, &slow.link) {
                (Some(s), _) => service(s).map(|service| es::FaultAction::Slow {
                    service,
                    factor_pct: slow.factor_pct.unwrap_or(100),
                }),
                (_, Some(ends)) => {
                    link(ends, "slow.link", &mut diags).map(|link| es::FaultAction::Degrade {
                        link,
                        drop: Chance::NEVER,
                        delay_ms: slow.delay.map_or(0, |d| d.0),
                    })
                }
                _ => None,
            }
        } else if let Some(drop) = &f.drop {
            link(&drop.link, "drop.link", &mut diags).map(|link| es::FaultAction::Degrade {
                link,
                drop: chance(drop.loss),
                delay_ms: drop.delay.map_or(0, |d| d.0),
            })
        } else if let Some(sd) = &f.skip_delete {
            service(&sd.service).map(|service| es::FaultAction::SkipDeletes { service, on: sd.on })
        } else if let Some(p) = &f.pause {
            service(&p.service).map(|service| es::FaultAction::Pause {
                service,
                for_ms: p.for_.0,
            })
        } else if let Some(l) = &f.lose_responses {
            link(&l.link, "lose_responses.link", &mut diags).map(|link| {
                es::FaultAction::LoseResponses {
                    link,
                    chance: chance(l.chance),
                }
            })
        } else {
            None
        };
        self.diags.extend(diags);
        action
    }
}

/// The `after:` conditions the engine can trigger on:
/// `received|handled|rpc_calls|sent|chain_sent(service) >= N` (or `== N`): right after the Nth
/// such event. `chain_sent` faults apply before the handler's next step (a worker crashing
/// between two copies of a fan-out).
pub const TRIGGER_METRICS: &[&str] = &["received", "handled", "rpc_calls", "sent", "chain_sent"];

pub(crate) fn trigger(
    text: &str,
    services: &NameIds<'_, ServiceId>,
) -> Result<es::Trigger, String> {
    let expr = expect::parse(text).map_err(|(m, _)| m)?;
    let usage = || {
        format!(
            "a fault's `after:` is one `metric(service) >= N` with metric one of {}",
            TRIGGER_METRICS.join(", ")
        )
    };
    let [Clause::Compare {
        metric,
        target: Some(target),
        op: Op::Ge | Op::Eq,
        value: Operand::Number(value),
    }] = expr.clauses.as_slice()
    else {
        return Err(usage());
    };
    if !TRIGGER_METRICS.contains(&metric.as_str()) {
        return Err(usage());
    }
    let service = *services
        .get(target.as_str())
        .ok_or_else(|| format!("no service named `{target}`"))?;
    let kind = match metric.as_str() {
        "received" => es::EventMatch::Received { service },
        "handled" => es::EventMatch::Handled { service },
        "rpc_calls" => es::EventMatch::RpcCall { service },
        "sent" => es::EventMatch::Sent { service },
        "chain_sent" => es::EventMatch::ChainSent { service },
        _ => return Err(usage()),
    };
    if *value < 1 || *value > i64::from(u32::MAX) {
        return Err("the count must be at least 1".into());
    }
    Ok(es::Trigger::AfterEvent {
        kind,
        nth: *value as u32,
    })
}
