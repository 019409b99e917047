//! Whole-scenario checks after decoding: names resolve to the right kind of thing, FIFO rules
//! hold (group ids, FIFO-only attributes, FIFO topics to FIFO queues, DLQ kinds), times fall
//! inside the run, and every `expect`/`after` condition names real targets and metrics.
//! Works on a `Scenario` alone (the UI's form), positions come from `Spans` when there is text.

use crate::build::NameIds;
use crate::decode::Spans;
use crate::diag::{suggest, Diagnostic};
use crate::expect::{self, Clause, Operand};
use crate::file::*;

/// What a name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Service,
    Queue,
    Topic,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::Queue => "queue",
            Kind::Topic => "topic",
        }
    }
}

/// Metrics per kind of target, as named in the run summary (the engine's `Metrics`).
pub const QUEUE_METRICS: &[&str] = &[
    "sent",
    "accepted",
    "deduplicated",
    "received",
    "redelivered",
    "deleted",
    "dead_lettered",
    "dead_letter_arrivals",
    "duplicates_injected",
    "expired",
    "purged",
    "visible",
    "in_flight",
    "delayed",
    "max_visible",
];
pub const TOPIC_METRICS: &[&str] = &[
    "published",
    "deduplicated",
    "delivered",
    "filtered_out",
    "matched_none",
    "delivery_failed",
    "endpoint_retries",
    "endpoint_abandoned",
];
pub const SERVICE_METRICS: &[&str] = &[
    "handled",
    "handled_more_than_once",
    "order_violations",
    "rpc_calls",
    "rpc_ok",
    "rpc_errors",
    "rpc_timeouts",
    "sent",
    "received",
    "chain_sent",
    "busy_ms",
    "idle_ms",
    "latency_ms.p50",
    "latency_ms.p95",
    "latency_ms.p99",
];
pub const LINK_METRICS: &[&str] = &["carried", "lost"];
/// Run-wide metrics (no target): `events`, `end_t_ms`, `connections` (links in the topology).
pub const RUN_METRICS: &[&str] = &["events", "end_t_ms", "t_ms", "connections"];

/// Name -> kind, kept sorted by name: answers exactly as a `BTreeMap<&str, Kind>` would (sorted
/// iteration, `insert` replaces and returns the previous kind) without that map's own tree code
/// in the wasm. At most a few thousand names (`MAX_ITEMS` per section).
#[derive(Default)]
struct Kinds<'a>(Vec<(&'a str, Kind)>);

impl<'a> Kinds<'a> {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| (*n).cmp(name))
    }
    fn insert(&mut self, name: &'a str, kind: Kind) -> Option<Kind> {
        match self.find(name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, kind)),
            Err(i) => {
                self.0.insert(i, (name, kind));
                None
            }
        }
    }
    fn get(&self, name: &str) -> Option<&Kind> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }
    fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }
    fn keys(&self) -> impl Iterator<Item = &&'a str> {
        self.0.iter().map(|(n, _)| n)
    }
    fn iter(&self) -> impl Iterator<Item = (&&'a str, &Kind)> {
        self.0.iter().map(|(n, k)| (n, k))
    }
}

struct Names<'a> {
    kinds: Kinds<'a>,
    // Lists rather than maps: a `BTreeMap` per value type costs its own tree code in the wasm.
    fifo: NameIds<'a, bool>,
    content_dedup: NameIds<'a, bool>,
    links: Vec<String>,
}

impl<'a> Names<'a> {
    fn all(&self) -> Vec<&str> {
        self.kinds.keys().copied().collect()
    }
    fn of(&self, kind: Kind) -> Vec<&str> {
        self.kinds
            .iter()
            .filter(|(_, k)| **k == kind)
            .map(|(n, _)| *n)
            .collect()
    }
}

struct Checker<'s> {
    diags: Vec<Diagnostic>,
    spans: &'s Spans,
}

impl Checker<'_> {
    fn error(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::new(self.spans.find(path), path, message);
        d.hint = hint;
        self.diags.push(d);
    }

    /// `name` must exist and be one of `kinds`; returns its kind.
    fn resolve(&mut self, names: &Names, path: &str, name: &str, kinds: &[Kind]) -> Option<Kind> {
        match names.kinds.get(name) {
            Some(k) if kinds.contains(k) => Some(*k),
            Some(k) => {
                let wanted: Vec<&str> = kinds.iter().map(|k| k.word()).collect();
                self.error(
                    path,
                    format!("`{name}` is a {}, not a {}", k.word(), wanted.join(" or ")),
                    None,
                );
                None
            }
            None => {
                let candidates: Vec<&str> = kinds.iter().flat_map(|k| names.of(*k)).collect();
                let wanted: Vec<&str> = kinds.iter().map(|k| k.word()).collect();
                let hint = if candidates.is_empty() {
                    let sections: Vec<String> =
                        kinds.iter().map(|k| format!("`{}s:`", k.word())).collect();
                    format!("define it under {}", sections.join(" or "))
                } else {
                    suggest(name, &candidates)
                };
                self.error(
                    path,
                    format!("no {} named `{name}`", wanted.join(" or ")),
                    Some(hint),
                );
                None
            }
        }
    }

    /// A FIFO target needs a group id, and a dedup id unless content-based deduplication is on.
    /// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    fn fifo_send(
        &mut self,
        names: &Names,
        path: &str,
        target: &str,
        group: &Option<String>,
        dedup: &Option<String>,
    ) {
        if names.fifo.get(target) != Some(&true) {
            return;
        }
        if group.is_none() {
            self.error(
                path,
                format!("`{target}` is FIFO: every message needs a group id"),
                Some("add `group: \"customer-{n%3}\"` (MessageGroupId)".into()),
            );
        }
        if dedup.is_none() && names.content_dedup.get(target) != Some(&true) {
            self.error(
                path,
                format!("`{target}` is FIFO without content_based_deduplication: every message needs a dedup id"),
                Some("add `dedup_id: \"order-{n}\"` or set `content_based_deduplication: true` on it".into()),
            );
        }
    }
}

/// Checks everything that needs the whole scenario. Returns the problems found, in file order.
pub fn validate(scenario: &Scenario, spans: &Spans) -> Vec<Diagnostic> {
    let mut c = Checker {
        diags: Vec::new(),
        spans,
    };
    let mut names = Names {
        kinds: Kinds::default(),
        fifo: NameIds::default(),
        content_dedup: NameIds::default(),
        links: Vec::new(),
    };
    let declared = scenario
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("services[{i}].name"), &s.name, Kind::Service));
    let declared = declared
        .chain(
            scenario
                .queues
                .iter()
                .enumerate()
                .map(|(i, q)| (format!("queues[{i}].name"), &q.name, Kind::Queue)),
        )
        .chain(
            scenario
                .topics
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("topics[{i}].name"), &t.name, Kind::Topic)),
        );
    for (path, name, kind) in declared {
        if let Some(existing) = names.kinds.insert(name.as_str(), kind) {
            let hint = "services, queues and topics share one set of names; pick another";
            c.error(
                &path,
                format!("the name `{name}` is already used by a {}", existing.word()),
                Some(hint.into()),
            );
        }
    }
    for q in &scenario.queues {
        names.fifo.insert(&q.name, q.is_fifo());
        names
            .content_dedup
            .insert(&q.name, q.content_based_deduplication);
    }
    for t in &scenario.topics {
        names.fifo.insert(&t.name, t.is_fifo());
        names
            .content_dedup
            .insert(&t.name, t.content_based_deduplication);
    }
    let resolved = scenario.links_resolved();
    names.links = resolved.iter().map(|l| l.name()).collect();
    link_ends(&mut c, scenario, &resolved);

    queues(&mut c, &names, scenario);
    topics(&mut c, &names, scenario);
    services(&mut c, &names, scenario);
    links(&mut c, &names, scenario);
    faults(&mut c, &names, scenario);
    for (i, step) in scenario.steps.iter().enumerate() {
        within_run(&mut c, scenario, &format!("steps[{i}].at"), step.at);
        if let Some(cond) = &step.after {
            condition(&mut c, &names, &format!("steps[{i}].after"), cond);
        }
    }
    for (i, text) in scenario.expect.iter().enumerate() {
        condition(&mut c, &names, &format!("expect[{i}]"), text);
    }
    c.diags.sort();
    c.diags
}

fn queues(c: &mut Checker, names: &Names, scenario: &Scenario) {
    for (i, q) in scenario.queues.iter().enumerate() {
        let path = format!("queues[{i}]");
        let suffix = q.name.ends_with(".fifo");
        // "The name of a FIFO queue must end with the .fifo suffix."
        // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fifo-queues.html
        if q.fifo == Some(true) && !suffix {
            c.error(
                &format!("{path}.fifo"),
                "a FIFO queue's name must end in `.fifo`",
                Some(format!("rename it `{}.fifo`", q.name)),
            );
        }
        if q.fifo == Some(false) && suffix {
            c.error(
                &format!("{path}.fifo"),
                "only FIFO queues may end in `.fifo`",
                Some("remove `fifo: false` or rename the queue".into()),
            );
        }
        if q.content_based_deduplication && !q.is_fifo() {
            c.error(
                &format!("{path}.content_based_deduplication"),
                "content-based deduplication is for FIFO queues only",
                None,
            );
        }
        for (field, d) in [
            ("visibility_timeout", q.visibility_timeout),
            ("delay", q.delay),
            ("retention", q.retention),
            ("receive_wait", q.receive_wait),
        ] {
            whole_seconds(c, &format!("{path}.{field}"), d);
        }
        if let Some(dl) = &q.dead_letter {
            let p = format!("{path}.dead_letter.queue");
            if dl.queue == q.name {
                c.error(&p, "a queue can't be its own dead-letter queue", None);
            } else if c.resolve(names, &p, &dl.queue, &[Kind::Queue]).is_some() {
                // "The dead-letter queue of a FIFO queue must also be a FIFO queue" (and standard likewise).
                // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
                let dl_fifo = names.fifo.get(dl.queue.as_str()) == Some(&true);
                if q.is_fifo() != dl_fifo {
                    let (a, b) = if q.is_fifo() {
                        ("FIFO", "standard")
                    } else {
                        ("standard", "FIFO")
                    };
                    c.error(
                        &p,
                        format!(
                            "the dead-letter queue of a {a} queue must be {a} too, `{}` is {b}",
                            dl.queue
                        ),
                        None,
                    );
                }
            }
        }
    }
}

fn topics(c: &mut Checker, names: &Names, scenario: &Scenario) {
    for (i, t) in scenario.topics.iter().enumerate() {
        let path = format!("topics[{i}]");
        if t.fifo == Some(true) && !t.name.ends_with(".fifo") {
            c.error(
                &format!("{path}.fifo"),
                "a FIFO topic's name must end in `.fifo`",
                Some(format!("rename it `{}.fifo`", t.name)),
            );
        }
        if t.content_based_deduplication && !t.is_fifo() {
            c.error(
                &format!("{path}.content_based_deduplication"),
                "content-based deduplication is for FIFO topics only",
                None,
            );
        }
        for (j, s) in t.subscriptions.iter().enumerate() {
            let sp = format!("{path}.subscriptions[{j}]");
            if let Some(q) = &s.queue {
                if c.resolve(names, &format!("{sp}.queue"), q, &[Kind::Queue])
                    .is_some()
                {
                    let q_fifo = names.fifo.get(q.as_str()) == Some(&true);
                    // 2017-era SNS (the lessons' era): FIFO topics deliver only to FIFO queues, and
                    // standard topics can't deliver to FIFO queues.
                    // https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html
                    if t.is_fifo() && !q_fifo {
                        c.error(
                            &format!("{sp}.queue"),
                            format!(
                                "FIFO topic `{}` can only deliver to FIFO queues; `{q}` is standard",
                                t.name
                            ),
                            Some("subscribe a `.fifo` queue".into()),
                        );
                    }
                    if !t.is_fifo() && q_fifo {
                        c.error(
                            &format!("{sp}.queue"),
                            format!(
                                "standard topic `{}` can't deliver to FIFO queue `{q}`",
                                t.name
                            ),
                            Some(
                                "make the topic FIFO (`.fifo`) or subscribe a standard queue"
                                    .into(),
                            ),
                        );
                    }
                }
            }
            if let Some(svc) = &s.service {
                c.resolve(names, &format!("{sp}.service"), svc, &[Kind::Service]);
                if t.is_fifo() {
                    c.error(
                        &format!("{sp}.service"),
                        "FIFO topics deliver only to SQS FIFO queues",
                        None,
                    );
                }
            }
            if let Some(filter) = &s.filter {
                filter_policy(c, &format!("{sp}.filter"), filter);
            }
        }
    }
}

/// SNS filter policy shape: each key maps to a list of values or match objects, or (body scope)
/// a nested object; at most 5 keys at the top level.
/// https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
fn filter_policy(c: &mut Checker, path: &str, filter: &serde_json::Value) {
    let Some(map) = filter.as_object() else {
        return;
    };
    if map.len() > 5 {
        c.error(
            path,
            format!(
                "{} keys; SNS allows at most 5 in a filter policy",
                map.len()
            ),
            None,
        );
    }
    for (key, value) in map {
        match value {
            serde_json::Value::Array(items) if !items.is_empty() => {}
            serde_json::Value::Object(_) => {}
            _ => c.error(
                &format!("{path}.{key}"),
                format!("filter values for `{key}` must be a list"),
                Some(format!(
                    "write `{key}: [value]` or `{key}: [{{prefix: \"x\"}}]`"
                )),
            ),
        }
    }
}

fn services(c: &mut Checker, names: &Names, scenario: &Scenario) {
    for (i, s) in scenario.services.iter().enumerate() {
        let path = format!("services[{i}]");
        if let Some(p) = &s.producer {
            let pp = format!("{path}.producer");
            let kind = c.resolve(
                names,
                &format!("{pp}.to"),
                &p.to,
                &[Kind::Queue, Kind::Topic, Kind::Service],
            );
            if matches!(kind, Some(Kind::Queue | Kind::Topic)) {
                c.fifo_send(names, &pp, &p.to, &p.group, &p.dedup_id);
            }
            if p.to == s.name {
                c.error(&format!("{pp}.to"), "a service can't call itself", None);
            }
            for (j, t) in p.at.iter().enumerate() {
                within_run(c, scenario, &format!("{pp}.at[{j}]"), Some(*t));
            }
        }
        if let Some(con) = &s.consumer {
            let cp = format!("{path}.consumer");
            c.resolve(names, &format!("{cp}.queue"), &con.queue, &[Kind::Queue]);
            actions(c, names, &cp, &con.steps, &s.name);
        }
        if let Some(r) = &s.rpc_server {
            actions(c, names, &format!("{path}.rpc_server"), &r.steps, &s.name);
        }
        if let Some(client) = &s.client {
            for (j, call) in client.calls.iter().enumerate() {
                let cp = format!("{path}.client.calls[{j}]");
                within_run(c, scenario, &format!("{cp}.at"), Some(call.at));
                if let Some(w) = call.wait {
                    whole_seconds(c, &format!("{cp}.wait"), w);
                }
                if let Some(v) = call.visibility_timeout {
                    whole_seconds(c, &format!("{cp}.visibility_timeout"), v);
                }
                if call.action == ApiAction::ChangeMessageVisibility
                    && call.visibility_timeout.is_none()
                {
                    c.error(
                        &cp,
                        "`change_message_visibility` needs `visibility_timeout`",
                        None,
                    );
                }
                if let Some(d) = call.delay {
                    whole_seconds(c, &format!("{cp}.delay"), d);
                }
                if let Some(q) = &call.queue {
                    c.resolve(names, &format!("{cp}.queue"), q, &[Kind::Queue]);
                    let fifo = names.fifo.get(q.as_str()) == Some(&true);
                    if call.action == ApiAction::SendMessage {
                        c.fifo_send(names, &cp, q, &call.group, &call.dedup_id);
                    }
                    if call.action == ApiAction::SendMessageBatch {
                        for (k, e) in call.entries.iter().enumerate() {
                            c.fifo_send(
                                names,
                                &format!("{cp}.entries[{k}]"),
                                q,
                                &e.group,
                                &e.dedup_id,
                            );
                        }
                    }
                    // "FIFO queues don't support per-message delays, only per-queue delays."
                    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
                    if call.delay.is_some() && fifo {
                        c.error(
                            &format!("{cp}.delay"),
                            format!("`{q}` is FIFO: SQS has no per-message delay on FIFO queues"),
                            Some("set `delay` on the queue instead".into()),
                        );
                    }
                    // "This parameter applies only to FIFO (first-in-first-out) queues."
                    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
                    if call.attempt_id.is_some() && !fifo && names.kinds.contains_key(q.as_str()) {
                        c.error(
                            &format!("{cp}.attempt_id"),
                            format!("`{q}` is a standard queue: ReceiveRequestAttemptId applies only to FIFO queues"),
                            Some("receive from a `.fifo` queue or remove `attempt_id`".into()),
                        );
                    }
                }
                if let Some(t) = &call.topic {
                    c.resolve(names, &format!("{cp}.topic"), t, &[Kind::Topic]);
                    if call.action == ApiAction::Publish {
                        c.fifo_send(names, &cp, t, &call.group, &call.dedup_id);
                    }
                }
            }
        }
    }
}

fn actions(c: &mut Checker, names: &Names, path: &str, steps: &[Action], own: &str) {
    for (k, a) in steps.iter().enumerate() {
        let ap = format!("{path}.steps[{k}]");
        if let Some(svc) = &a.call {
            c.resolve(names, &format!("{ap}.call"), svc, &[Kind::Service]);
            if svc == own {
                c.error(&format!("{ap}.call"), "a service can't call itself", None);
            }
        }
        if let Some(q) = &a.send {
            if c.resolve(names, &format!("{ap}.send"), q, &[Kind::Queue])
                .is_some()
            {
                c.fifo_send(names, &ap, q, &a.group, &a.dedup_id);
            }
        }
        if let Some(t) = &a.publish {
            if c.resolve(names, &format!("{ap}.publish"), t, &[Kind::Topic])
                .is_some()
            {
                c.fifo_send(names, &ap, t, &a.group, &a.dedup_id);
            }
        }
    }
}

fn links(c: &mut Checker, names: &Names, scenario: &Scenario) {
    // (ends, index) of the links so far; searched from the end, so a repeat reports the latest
    // earlier link, as a map insert would (a list: smaller in the wasm than a map of this type).
    let mut seen: Vec<((String, String), usize)> = Vec::new();
    for (i, l) in scenario.links.iter().enumerate() {
        let path = format!("links[{i}]");
        let from = c.resolve(
            names,
            &format!("{path}.from"),
            &l.from,
            &[Kind::Service, Kind::Queue, Kind::Topic],
        );
        let to = c.resolve(
            names,
            &format!("{path}.to"),
            &l.to,
            &[Kind::Service, Kind::Queue, Kind::Topic],
        );
        if l.from == l.to {
            c.error(
                &format!("{path}.to"),
                "a link needs two different ends",
                None,
            );
        }
        if l.kind == Some(LinkKind::Rpc)
            && (from.is_some_and(|k| k != Kind::Service) || to.is_some_and(|k| k != Kind::Service))
        {
            c.error(
                &format!("{path}.kind"),
                "an rpc link joins two services",
                Some("use `kind: messaging` for a queue or topic".into()),
            );
        }
        if l.timeout.is_some()
            && (l.kind == Some(LinkKind::Messaging)
                || from.is_some_and(|k| k != Kind::Service)
                || to.is_some_and(|k| k != Kind::Service))
        {
            c.error(
                &format!("{path}.timeout"),
                "`timeout` applies to rpc links only",
                None,
            );
        }
        let key = if l.from <= l.to {
            (l.from.clone(), l.to.clone())
        } else {
            (l.to.clone(), l.from.clone())
        };
        let first = seen.iter().rev().find(|(k, _)| *k == key).map(|(_, i)| *i);
        seen.push((key, i));
        if let Some(first) = first {
            c.error(
                &path,
                format!(
                    "`{}` and `{}` are already linked by links[{first}]",
                    l.from, l.to
                ),
                None,
            );
        }
    }
}

fn faults(c: &mut Checker, names: &Names, scenario: &Scenario) {
    let consumers: Vec<&str> = scenario
        .services
        .iter()
        .filter(|s| s.consumer.is_some())
        .map(|s| s.name.as_str())
        .collect();
    let any = [Kind::Service, Kind::Queue, Kind::Topic];
    for (i, f) in scenario.faults.iter().enumerate() {
        let path = format!("faults[{i}]");
        within_run(c, scenario, &format!("{path}.at"), f.at);
        if let Some(cond) = &f.after {
            condition(c, names, &format!("{path}.after"), cond);
            let services: crate::build::NameIds<'_, switchboard_engine::ids::ServiceId> = scenario
                .services
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        s.name.as_str(),
                        switchboard_engine::ids::ServiceId(i as u32),
                    )
                })
                .collect();
            if let Err(message) = crate::build::trigger(cond, &services) {
                c.error(
                    &format!("{path}.after"),
                    message,
                    Some("e.g. `after: received(fulfilment) >= 1`".into()),
                );
            }
        }
        for (field, svc) in [("crash", &f.crash), ("restart", &f.restart)] {
            if let Some(svc) = svc {
                c.resolve(names, &format!("{path}.{field}"), svc, &[Kind::Service]);
            }
        }
        for (field, ends) in [("partition", &f.partition), ("heal", &f.heal)] {
            if let Some(ends) = ends {
                for (j, end) in ends.iter().enumerate() {
                    c.resolve(names, &format!("{path}.{field}[{j}]"), end, &any);
                }
            }
        }
        if let Some(slow) = &f.slow {
            if let Some(svc) = &slow.service {
                c.resolve(
                    names,
                    &format!("{path}.slow.service"),
                    svc,
                    &[Kind::Service],
                );
            }
            for (j, end) in slow.link.iter().flatten().enumerate() {
                c.resolve(names, &format!("{path}.slow.link[{j}]"), end, &any);
            }
        }
        if let Some(drop) = &f.drop {
            for (j, end) in drop.link.iter().enumerate() {
                c.resolve(names, &format!("{path}.drop.link[{j}]"), end, &any);
            }
        }
        for (j, end) in f.restore.iter().flatten().enumerate() {
            c.resolve(names, &format!("{path}.restore[{j}]"), end, &any);
        }
        if let Some(p) = &f.pause {
            c.resolve(
                names,
                &format!("{path}.pause.service"),
                &p.service,
                &[Kind::Service],
            );
        }
        if let Some(l) = &f.lose_responses {
            for (j, end) in l.link.iter().enumerate() {
                c.resolve(
                    names,
                    &format!("{path}.lose_responses.link[{j}]"),
                    end,
                    &any,
                );
            }
        }
        if let Some(sd) = &f.skip_delete {
            let p = format!("{path}.skip_delete.service");
            if c.resolve(names, &p, &sd.service, &[Kind::Service])
                .is_some()
                && !consumers.contains(&sd.service.as_str())
            {
                c.error(
                    &p,
                    format!("`{}` is not a consumer, so it deletes nothing", sd.service),
                    Some(suggest(&sd.service, &consumers)),
                );
            }
        }
    }
}

/// SQS counts these attributes in whole seconds.
fn whole_seconds(c: &mut Checker, path: &str, d: Duration) {
    if d.0 % 1_000 != 0 {
        c.error(
            path,
            format!("{} is not a whole number of seconds", d.to_text()),
            Some("SQS counts this attribute in seconds".into()),
        );
    }
}

/// Fault targets that are links must name two nodes that are linked (declared or implied).
fn link_ends(c: &mut Checker, scenario: &Scenario, resolved: &[crate::build::ResolvedLink]) {
    for (i, f) in scenario.faults.iter().enumerate() {
        let candidates = [
            ("partition", f.partition.as_ref()),
            ("heal", f.heal.as_ref()),
            ("restore", f.restore.as_ref()),
            ("slow.link", f.slow.as_ref().and_then(|s| s.link.as_ref())),
            ("drop.link", f.drop.as_ref().map(|d| &d.link)),
            (
                "lose_responses.link",
                f.lose_responses.as_ref().map(|l| &l.link),
            ),
        ];
        for (field, ends) in candidates {
            let Some([a, b]) = ends.map(|e| e.as_slice()) else {
                continue;
            };
            let linked = resolved
                .iter()
                .any(|l| (&l.from == a && &l.to == b) || (&l.from == b && &l.to == a));
            let known = |n: &String| {
                scenario.services.iter().any(|s| &s.name == n)
                    || scenario.queues.iter().any(|q| &q.name == n)
                    || scenario.topics.iter().any(|t| &t.name == n)
            };
            if !linked && known(a) && known(b) {
                let names: Vec<String> = resolved
                    .iter()
                    .map(|l| format!("[{}, {}]", l.from, l.to))
                    .collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                c.error(
                    &format!("faults[{i}].{field}"),
                    format!("`{a}` and `{b}` are not linked"),
                    Some(suggest(&format!("[{a}, {b}]"), &names)),
                );
            }
        }
    }
}

fn within_run(c: &mut Checker, scenario: &Scenario, path: &str, at: Option<Duration>) {
    if let Some(at) = at {
        if at > scenario.duration {
            c.error(
                path,
                format!(
                    "{} is after the run ends ({})",
                    at.to_text(),
                    scenario.duration.to_text()
                ),
                Some("raise `duration` or move it earlier".into()),
            );
        }
    }
}

/// An expectation or trigger: parses, and each target and metric exists.
fn condition(c: &mut Checker, names: &Names, path: &str, text: &str) {
    let expr = match expect::parse(text) {
        Ok(e) => e,
        Err((message, offset)) => {
            let mut pos = c.spans.find(path);
            pos.column += offset;
            let mut d = Diagnostic::new(pos, path, message);
            d.hint = Some(
                "write `metric(target) op number`, e.g. `visible(orders) <= 5`, joined with `and`"
                    .into(),
            );
            c.diags.push(d);
            return;
        }
    };
    for clause in &expr.clauses {
        match clause {
            Clause::Compare {
                metric,
                target,
                value,
                ..
            } => {
                metric_ref(c, names, path, metric, target.as_deref());
                if let Operand::Metric { metric, target } = value {
                    metric_ref(c, names, path, metric, target.as_deref());
                }
            }
            Clause::Predicate { name, target } => {
                let kind = if name == "drained" {
                    Kind::Queue
                } else {
                    Kind::Service
                };
                c.resolve(names, path, target, &[kind]);
            }
        }
    }
}

fn metric_ref(c: &mut Checker, names: &Names, path: &str, metric: &str, target: Option<&str>) {
    match target {
        Some(target) => metric_on(c, names, path, metric, target),
        None if RUN_METRICS.contains(&metric) => {}
        None => {
            let hint = format!(
                "run-wide metrics: {}; or name a target: `{metric}(orders)`",
                RUN_METRICS.join(", ")
            );
            c.error(
                path,
                format!("unknown run-wide metric `{metric}`"),
                Some(hint),
            );
        }
    }
}

fn metric_on(c: &mut Checker, names: &Names, path: &str, metric: &str, target: &str) {
    let (kind_metrics, what): (&[&str], &str) = match names.kinds.get(target) {
        Some(Kind::Queue) => (QUEUE_METRICS, "queue"),
        Some(Kind::Topic) => (TOPIC_METRICS, "topic"),
        Some(Kind::Service) => (SERVICE_METRICS, "service"),
        None if names.links.iter().any(|l| l == target) => (LINK_METRICS, "link"),
        None => {
            let mut all = names.all();
            all.extend(names.links.iter().map(String::as_str));
            c.error(
                path,
                format!("no service, queue, topic or link named `{target}`"),
                Some(suggest(target, &all)),
            );
            return;
        }
    };
    if !kind_metrics.contains(&metric) {
        c.error(
            path,
            format!("`{metric}` is not a {what} metric"),
            Some(suggest(metric, kind_metrics)),
        );
    }
}
