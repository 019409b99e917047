//! Editing: palette, drag, connect, delete and inspector fields each produce a NEW scenario text
//! (clone the `Scenario`, change it, `to_yaml`, and re-validate with `load`). The world is never
//! poked; the session is rebuilt from the new text. Also the inspector's view of a selection.

use super::session::{Edit, FaultCmd, Field, Inspectable, NewNode, Session};
use super::topology::Selected;
use super::view::{EdgeKind, NodeKind};
use crate::scenario::{self, Duration, FilterScope, Latency, LinkKind, Outcome, Percent, Scenario};

/// Behaviour templates come from the loader itself, so defaults always match the format.
const TEMPLATE: &str = "version: 1\ntitle: t\nduration: 10s\nservices:\n  - name: p\n    producer: {to: q, every: 1s}\n  - name: c\n    consumer: {queue: q}\n  - name: r\n    rpc_server: {}\nqueues:\n  - name: q\n";

fn template() -> Scenario {
    scenario::load(TEMPLATE).expect("the built-in template is a valid scenario")
}

fn fresh_name(s: &Scenario, base: &str, suffix: &str) -> String {
    let taken = |n: &str| {
        s.services.iter().any(|x| x.name == n)
            || s.queues.iter().any(|x| x.name == n)
            || s.topics.iter().any(|x| x.name == n)
    };
    for i in 1.. {
        let mut n = String::from(base);
        n.push_str(&i.to_string());
        n.push_str(suffix);
        if !taken(&n) {
            return n;
        }
    }
    unreachable!()
}

fn is_service(s: &Scenario, n: &str) -> bool {
    s.services.iter().any(|x| x.name == n)
}
fn is_queue(s: &Scenario, n: &str) -> bool {
    s.queues.iter().any(|x| x.name == n)
}
fn is_topic(s: &Scenario, n: &str) -> bool {
    s.topics.iter().any(|x| x.name == n)
}

fn diag(ds: Vec<scenario::Diagnostic>) -> String {
    ds.into_iter()
        .map(|d| {
            let mut m = d.message;
            if let Some(h) = d.hint {
                m.push_str(" (");
                m.push_str(&h);
                m.push(')');
            }
            m
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Session {
    /// The scenario text after `edit`, validated; `Err` says why the edit is refused.
    pub fn edited(&self, edit: &Edit) -> Result<String, String> {
        let mut s = self.scenario().clone();
        apply(&mut s, edit, self)?;
        let text = s.to_yaml();
        scenario::load(&text).map_err(diag)?;
        Ok(text)
    }

    /// Properties of the selected node or link, and what can be broken there.
    pub fn inspect(&self, sel: &Selected) -> Option<Inspectable> {
        let s = self.scenario();
        match sel {
            Selected::None => None,
            Selected::Node(name) => {
                let view = self.topology().node(name)?;
                if let Some(svc) = s.services.iter().find(|x| &x.name == name) {
                    let crashed = matches!(&view.kind, NodeKind::Service(v) if v.crashed);
                    let skipping = matches!(&view.kind, NodeKind::Service(v) if v.skips_deletes);
                    let mut faults = vec![if crashed {
                        ("Restart service", FaultCmd::Restart(name.clone()))
                    } else {
                        ("Crash service", FaultCmd::Crash(name.clone()))
                    }];
                    if svc.consumer.is_some() {
                        faults.push(if skipping {
                            ("Resume deletes", FaultCmd::SkipDeletes(name.clone(), false))
                        } else {
                            ("Skip deletes", FaultCmd::SkipDeletes(name.clone(), true))
                        });
                    }
                    let mut fields = vec![text_field("name", "Name", &svc.name, None)];
                    if let Some(p) = &svc.producer {
                        fields.push(text_field(
                            "producer.to",
                            "Sends to",
                            &p.to,
                            Some("a queue, a topic, or a service to call"),
                        ));
                        fields.push(text_field(
                            "producer.every",
                            "Every",
                            &p.every.map(|d| d.to_text()).unwrap_or_default(),
                            Some("e.g. 500ms, 2s"),
                        ));
                        fields.push(text_field(
                            "producer.count",
                            "How many",
                            &p.count.map(|c| c.to_string()).unwrap_or_default(),
                            None,
                        ));
                        fields.push(text_field(
                            "producer.group",
                            "FIFO group id",
                            p.group.as_deref().unwrap_or(""),
                            Some("e.g. g{n}; {n} counts messages"),
                        ));
                    }
                    if let Some(c) = &svc.consumer {
                        fields.push(text_field(
                            "consumer.queue",
                            "Consumes from",
                            &c.queue,
                            None,
                        ));
                        fields.push(text_field(
                            "consumer.batch",
                            "Batch size (1–10)",
                            &c.batch.to_string(),
                            None,
                        ));
                        fields.push(text_field(
                            "consumer.work",
                            "Work time",
                            &c.work.to_text(),
                            Some("e.g. 50ms or 20ms..80ms"),
                        ));
                        fields.push(select_field(
                            "consumer.outcome",
                            "Then",
                            Outcome::NAMES,
                            outcome_name(c.outcome),
                        ));
                        fields.push(bool_field(
                            "consumer.idempotent",
                            "Idempotent (remembers handled messages)",
                            c.idempotent,
                        ));
                    }
                    if let Some(r) = &svc.rpc_server {
                        fields.push(text_field(
                            "rpc.latency",
                            "Latency",
                            &r.latency.to_text(),
                            None,
                        ));
                        fields.push(text_field(
                            "rpc.concurrency",
                            "Concurrency",
                            &r.concurrency.to_string(),
                            None,
                        ));
                        fields.push(text_field(
                            "rpc.error_rate",
                            "Error rate",
                            &r.error_rate.to_text(),
                            Some("e.g. 5%"),
                        ));
                    }
                    if svc.producer.is_none()
                        && svc.consumer.is_none()
                        && svc.rpc_server.is_none()
                        && svc.client.is_none()
                    {
                        fields.push(select_field(
                            "behaviour",
                            "Behaviour",
                            &["none", "producer", "consumer", "rpc_server"],
                            "none",
                        ));
                    }
                    return Some(Inspectable {
                        title: svc.name.clone(),
                        kind: "Service",
                        fields,
                        faults,
                    });
                }
                if let Some(q) = s.queues.iter().find(|x| &x.name == name) {
                    let mut fields = vec![
                        text_field(
                            "name",
                            "Name",
                            &q.name,
                            if q.is_fifo() {
                                Some("FIFO queue names end in .fifo")
                            } else {
                                None
                            },
                        ),
                        text_field(
                            "queue.visibility_timeout",
                            "Visibility timeout",
                            &q.visibility_timeout.to_text(),
                            Some("0s to 12h (SQS default 30s)"),
                        ),
                        text_field(
                            "queue.delay",
                            "Delivery delay",
                            &q.delay.to_text(),
                            Some("0s to 15m"),
                        ),
                    ];
                    if q.is_fifo() {
                        fields.push(bool_field(
                            "queue.content_based_deduplication",
                            "Content-based deduplication",
                            q.content_based_deduplication,
                        ));
                    }
                    let dlq = q.dead_letter.as_ref();
                    fields.push(text_field(
                        "queue.dlq",
                        "Dead-letter queue",
                        dlq.map(|d| d.queue.as_str()).unwrap_or(""),
                        Some("name of another queue, or empty"),
                    ));
                    if let Some(d) = dlq {
                        fields.push(text_field(
                            "queue.max_receive_count",
                            "Max receives before the DLQ",
                            &d.max_receive_count.to_string(),
                            None,
                        ));
                    }
                    return Some(Inspectable {
                        title: q.name.clone(),
                        kind: if q.is_fifo() {
                            "FIFO queue"
                        } else {
                            "Standard queue"
                        },
                        fields,
                        faults: vec![],
                    });
                }
                let t = s.topics.iter().find(|x| &x.name == name)?;
                let mut fields = vec![text_field("name", "Name", &t.name, None)];
                if t.is_fifo() {
                    fields.push(bool_field(
                        "topic.content_based_deduplication",
                        "Content-based deduplication",
                        t.content_based_deduplication,
                    ));
                }
                Some(Inspectable {
                    title: t.name.clone(),
                    kind: if t.is_fifo() { "FIFO topic" } else { "Topic" },
                    fields,
                    faults: vec![],
                })
            }
            Selected::Edge(key) => {
                let e = self.topology().edges.iter().find(|e| &e.key == key)?;
                let mut title = e.source.clone();
                title.push_str(" → ");
                title.push_str(&e.target);
                let link = s.links.iter().find(|l| {
                    (l.from == e.source && l.to == e.target)
                        || (l.from == e.target && l.to == e.source)
                });
                let mut fields = Vec::new();
                if e.kind == EdgeKind::Subscribe {
                    if let Some(sub) = subscription(s, &e.source, &e.target) {
                        let policy = sub
                            .filter
                            .as_ref()
                            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                            .unwrap_or_default();
                        let mut f = text_field(
                            "sub.filter",
                            "Filter policy (JSON)",
                            &policy,
                            Some("e.g. {\"type\": [\"order.created\"]}; empty = every message"),
                        );
                        f.multiline = true;
                        fields.push(f);
                        fields.push(select_field(
                            "sub.filter_scope",
                            "The filter looks at",
                            FilterScope::NAMES,
                            match sub.filter_scope {
                                FilterScope::MessageAttributes => "message_attributes",
                                FilterScope::MessageBody => "message_body",
                            },
                        ));
                        fields.push(bool_field(
                            "sub.raw",
                            "Raw message delivery (no SNS envelope)",
                            sub.raw,
                        ));
                    }
                }
                if let Some(l) = link {
                    let kind =
                        l.kind
                            .unwrap_or(if is_service(s, &l.from) && is_service(s, &l.to) {
                                LinkKind::Rpc
                            } else {
                                LinkKind::Messaging
                            });
                    let mut f = select_field(
                        "link.kind",
                        "Link kind",
                        LinkKind::NAMES,
                        match kind {
                            LinkKind::Rpc => "rpc",
                            LinkKind::Messaging => "messaging",
                        },
                    );
                    f.help =
                        Some("rpc: the caller waits for a reply; messaging: via a queue or topic");
                    fields.push(f);
                    fields.push(text_field(
                        "link.latency",
                        "Latency",
                        &l.latency.to_text(),
                        Some("e.g. 10ms or 5ms..40ms"),
                    ));
                    fields.push(text_field(
                        "link.loss",
                        "Loss",
                        &l.loss.to_text(),
                        Some("e.g. 1%"),
                    ));
                }
                let faults = if self.has_link(key) {
                    vec![if e.cut {
                        ("Heal link", FaultCmd::Heal(key.clone()))
                    } else {
                        ("Cut link", FaultCmd::Cut(key.clone()))
                    }]
                } else {
                    vec![]
                };
                Some(Inspectable {
                    title,
                    kind: e.kind.label(),
                    fields,
                    faults,
                })
            }
        }
    }
}

/// The subscription of topic `topic` that delivers to `target` (a queue or a service).
fn subscription<'a>(
    s: &'a Scenario,
    topic: &str,
    target: &str,
) -> Option<&'a scenario::Subscription> {
    s.topics
        .iter()
        .find(|t| t.name == topic)?
        .subscriptions
        .iter()
        .find(|x| x.queue.as_deref() == Some(target) || x.service.as_deref() == Some(target))
}

/// Parses a filter policy typed in the inspector; an error names the line and column.
pub fn parse_policy(text: &str) -> Result<Option<serde_json::Value>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.len() > 16 * 1024 {
        return Err(
            "A filter policy is at most 16 KB (SNS allows 256 KB in total, but keep it readable)."
                .into(),
        );
    }
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let mut m = String::from("Not valid JSON at line ");
        m.push_str(&e.line().to_string());
        m.push_str(", column ");
        m.push_str(&e.column().to_string());
        m.push_str(". Write an object such as {\"type\": [\"order.created\"]}.");
        m
    })?;
    if !v.is_object() {
        return Err("A filter policy is a JSON object: {\"attribute\": [values]}.".into());
    }
    Ok(Some(v))
}

fn text_field(
    key: &'static str,
    label: &'static str,
    value: &str,
    help: Option<&'static str>,
) -> Field {
    Field {
        key,
        label,
        value: value.to_string(),
        options: None,
        boolean: false,
        multiline: false,
        error: None,
        help,
    }
}
fn bool_field(key: &'static str, label: &'static str, on: bool) -> Field {
    Field {
        key,
        label,
        value: on.to_string(),
        options: None,
        boolean: true,
        multiline: false,
        error: None,
        help: None,
    }
}
fn select_field(key: &'static str, label: &'static str, options: &[&str], value: &str) -> Field {
    Field {
        key,
        label,
        value: value.to_string(),
        options: Some(options.iter().map(|o| o.to_string()).collect()),
        boolean: false,
        multiline: false,
        error: None,
        help: None,
    }
}
fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Delete => "delete",
        Outcome::SkipDelete => "skip_delete",
        Outcome::Fail => "fail",
        Outcome::Crash => "crash",
    }
}

fn place(s: &Scenario) -> (i32, i32) {
    // Below everything placed so far, so a new node never hides an old one.
    let placed = s.layout();
    let y = placed
        .iter()
        .map(|p| p.y)
        .max()
        .map(|y| y + 110)
        .unwrap_or(120);
    let x = 120 + (placed.len() as i32 % 4) * 200;
    (x, y)
}

fn apply(s: &mut Scenario, edit: &Edit, session: &Session) -> Result<(), String> {
    match edit {
        Edit::Add { node } => {
            // Pin every computed position first, so adding a node does not reshuffle the others.
            pin_layout(s);
            let (x, y) = place(s);
            let _name = match node {
                NewNode::Service => {
                    let name = fresh_name(s, "service", "");
                    // A service must do something: it starts as an RPC server; connecting it as a
                    // sender or consumer turns it into a producer or consumer.
                    let mut svc = template().services.remove(2);
                    svc.name = name.clone();
                    svc.x = Some(x);
                    svc.y = Some(y);
                    s.services.push(svc);
                    name
                }
                NewNode::Queue | NewNode::FifoQueue => {
                    let fifo = *node == NewNode::FifoQueue;
                    let name = fresh_name(
                        s,
                        if fifo { "orders" } else { "queue" },
                        if fifo { ".fifo" } else { "" },
                    );
                    let mut q = template().queues.remove(0);
                    q.name = name.clone();
                    q.fifo = fifo.then_some(true);
                    q.x = Some(x);
                    q.y = Some(y);
                    s.queues.push(q);
                    name
                }
                NewNode::Topic => {
                    let name = fresh_name(s, "topic", "");
                    s.topics.push(scenario::Topic {
                        name: name.clone(),
                        fifo: None,
                        content_based_deduplication: false,
                        subscriptions: vec![],
                        x: Some(x),
                        y: Some(y),
                    });
                    name
                }
            };
        }
        Edit::Move { name, x, y } => {
            pin_layout(s);
            let (x, y) = (Some(*x), Some(*y));
            if let Some(v) = s.services.iter_mut().find(|v| &v.name == name) {
                (v.x, v.y) = (x, y);
            } else if let Some(v) = s.queues.iter_mut().find(|v| &v.name == name) {
                (v.x, v.y) = (x, y);
            } else if let Some(v) = s.topics.iter_mut().find(|v| &v.name == name) {
                (v.x, v.y) = (x, y);
            }
        }
        Edit::Connect { from, to, kind } => connect(s, from, to, *kind)?,
        Edit::Delete(sel) => delete(s, sel, session)?,
        Edit::Set { target, key, value } => set(s, target, key, value)?,
    }
    Ok(())
}

fn pin_layout(s: &mut Scenario) {
    for p in s.layout() {
        let (x, y) = (Some(p.x), Some(p.y));
        if let Some(v) = s.services.iter_mut().find(|v| v.name == p.name) {
            (v.x, v.y) = (x, y);
        } else if let Some(v) = s.queues.iter_mut().find(|v| v.name == p.name) {
            (v.x, v.y) = (x, y);
        } else if let Some(v) = s.topics.iter_mut().find(|v| v.name == p.name) {
            (v.x, v.y) = (x, y);
        }
    }
}

fn ensure_link(s: &mut Scenario, from: &str, to: &str, kind: LinkKind) {
    if !s
        .links
        .iter()
        .any(|l| (l.from == from && l.to == to) || (l.from == to && l.to == from))
    {
        s.links.push(scenario::Link {
            from: from.into(),
            to: to.into(),
            kind: Some(kind),
            latency: scenario::default_link_latency(),
            loss: Percent(0),
            timeout: None,
        });
    }
}

fn connect(s: &mut Scenario, from: &str, to: &str, kind: EdgeKind) -> Result<(), String> {
    match kind {
        EdgeKind::Rpc => {
            if !(is_service(s, from) && is_service(s, to)) {
                return Err("An RPC call connects two services.".into());
            }
            let callee = s.services.iter_mut().find(|v| v.name == to).unwrap();
            if callee.rpc_server.is_none() && callee.consumer.is_none() && callee.producer.is_none()
            {
                callee.rpc_server = template().services.remove(2).rpc_server;
            }
            let called = s
                .links
                .iter()
                .any(|l| l.to == from && l.kind == Some(LinkKind::Rpc));
            let caller = s.services.iter_mut().find(|v| v.name == from).unwrap();
            if caller.producer.is_none()
                && caller.consumer.is_none()
                && caller.client.is_none()
                && !called
            {
                // A fresh service calling another becomes a client that calls once a second.
                let mut p = template().services.remove(0).producer.unwrap();
                p.to = to.into();
                caller.producer = Some(p);
                caller.rpc_server = None;
            }
            ensure_link(s, from, to, LinkKind::Rpc);
        }
        EdgeKind::Send | EdgeKind::Publish => {
            let ok = is_service(s, from)
                && if kind == EdgeKind::Send {
                    is_queue(s, to)
                } else {
                    is_topic(s, to)
                };
            if !ok {
                return Err(if kind == EdgeKind::Send {
                    "Send goes from a service to a queue.".into()
                } else {
                    "Publish goes from a service to a topic.".into()
                });
            }
            let fifo = s
                .queues
                .iter()
                .find(|q| q.name == to)
                .is_some_and(|q| q.is_fifo())
                || s.topics
                    .iter()
                    .find(|t| t.name == to)
                    .is_some_and(|t| t.is_fifo());
            let svc = s.services.iter_mut().find(|v| v.name == from).unwrap();
            let mut p = svc
                .producer
                .take()
                .unwrap_or_else(|| template().services.remove(0).producer.unwrap());
            p.to = to.into();
            if fifo && p.group.is_none() {
                p.group = Some("g{n}".into());
                if p.dedup_id.is_none() {
                    p.dedup_id = Some("d{n}".into());
                }
            }
            svc.producer = Some(p);
            svc.rpc_server = None;
            ensure_link(s, from, to, LinkKind::Messaging);
        }
        EdgeKind::Consume => {
            let (svc, queue) = if is_service(s, from) && is_queue(s, to) {
                (from, to)
            } else if is_queue(s, from) && is_service(s, to) {
                (to, from)
            } else {
                return Err("Consume connects a service and a queue.".into());
            };
            let v = s.services.iter_mut().find(|v| v.name == svc).unwrap();
            let mut c = v
                .consumer
                .take()
                .unwrap_or_else(|| template().services.remove(1).consumer.unwrap());
            c.queue = queue.into();
            v.consumer = Some(c);
            v.rpc_server = None;
            ensure_link(s, svc, queue, LinkKind::Messaging);
        }
        EdgeKind::Subscribe => {
            if !is_topic(s, from) || !(is_queue(s, to) || is_service(s, to)) {
                return Err("Subscribe goes from a topic to a queue or a service.".into());
            }
            let to_queue = is_queue(s, to);
            let t = s.topics.iter_mut().find(|t| t.name == from).unwrap();
            t.subscriptions.push(scenario::Subscription {
                queue: to_queue.then(|| to.to_string()),
                service: (!to_queue).then(|| to.to_string()),
                filter: None,
                filter_scope: Default::default(),
                raw: false,
            });
        }
    }
    Ok(())
}

fn delete(s: &mut Scenario, sel: &Selected, session: &Session) -> Result<(), String> {
    match sel {
        Selected::None => {}
        Selected::Node(name) => {
            s.services.retain(|v| &v.name != name);
            s.queues.retain(|v| &v.name != name);
            s.topics.retain(|v| &v.name != name);
            s.links.retain(|l| &l.from != name && &l.to != name);
            for t in &mut s.topics {
                t.subscriptions
                    .retain(|x| x.queue.as_ref() != Some(name) && x.service.as_ref() != Some(name));
            }
            for q in &mut s.queues {
                if q.dead_letter.as_ref().is_some_and(|d| &d.queue == name) {
                    q.dead_letter = None;
                }
            }
            for v in &mut s.services {
                if v.producer.as_ref().is_some_and(|p| &p.to == name) {
                    v.producer = None;
                }
                if v.consumer.as_ref().is_some_and(|c| &c.queue == name) {
                    v.consumer = None;
                }
            }
            s.faults.retain(|f| {
                let names = [f.crash.as_ref(), f.restart.as_ref()];
                !names.iter().flatten().any(|n| *n == name)
                    && !f.partition.as_ref().is_some_and(|p| p.contains(name))
                    && !f.heal.as_ref().is_some_and(|p| p.contains(name))
            });
        }
        Selected::Edge(key) => {
            let e = session
                .topology()
                .edges
                .iter()
                .find(|e| &e.key == key)
                .ok_or("that link no longer exists")?;
            let (a, b) = (e.source.clone(), e.target.clone());
            s.links
                .retain(|l| !((l.from == a && l.to == b) || (l.from == b && l.to == a)));
            match e.kind {
                EdgeKind::Send | EdgeKind::Publish | EdgeKind::Rpc => {
                    if let Some(v) = s.services.iter_mut().find(|v| v.name == a) {
                        if v.producer.as_ref().is_some_and(|p| p.to == b) {
                            v.producer = None;
                        }
                    }
                }
                EdgeKind::Consume => {
                    if let Some(v) = s.services.iter_mut().find(|v| v.name == b || v.name == a) {
                        v.consumer = None;
                    }
                }
                EdgeKind::Subscribe => {
                    if let Some(t) = s.topics.iter_mut().find(|t| t.name == a) {
                        t.subscriptions.retain(|x| {
                            x.queue.as_deref() != Some(b.as_str())
                                && x.service.as_deref() != Some(b.as_str())
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

fn parse_dur(v: &str) -> Result<Duration, String> {
    Duration::parse(v).ok_or_else(|| "Write a duration such as 250ms, 30s or 5m.".to_string())
}
fn parse_u(v: &str, min: u64, max: u64) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => {
            let mut m = String::from("Write a whole number from ");
            m.push_str(&min.to_string());
            m.push_str(" to ");
            m.push_str(&max.to_string());
            m.push('.');
            Err(m)
        }
    }
}

fn rename(s: &mut Scenario, old: &str, new: &str) -> Result<(), String> {
    let new = new.trim();
    if new.is_empty() {
        return Err("A name cannot be empty.".into());
    }
    if new != old && (is_service(s, new) || is_queue(s, new) || is_topic(s, new)) {
        return Err("Another node already has this name.".into());
    }
    let r = |x: &mut String| {
        if x == old {
            *x = new.to_string();
        }
    };
    for v in &mut s.services {
        r(&mut v.name);
        if let Some(p) = &mut v.producer {
            r(&mut p.to);
        }
        if let Some(c) = &mut v.consumer {
            r(&mut c.queue);
        }
    }
    for q in &mut s.queues {
        r(&mut q.name);
        if let Some(d) = &mut q.dead_letter {
            r(&mut d.queue);
        }
    }
    for t in &mut s.topics {
        r(&mut t.name);
        for sub in &mut t.subscriptions {
            if let Some(q) = &mut sub.queue {
                r(q);
            }
            if let Some(q) = &mut sub.service {
                r(q);
            }
        }
    }
    for l in &mut s.links {
        r(&mut l.from);
        r(&mut l.to);
    }
    Ok(())
}

fn set(s: &mut Scenario, target: &Selected, key: &str, v: &str) -> Result<(), String> {
    let name = match target {
        Selected::Node(n) => n.clone(),
        Selected::Edge(k) if key.starts_with("sub.") => {
            let (topic, to) = k.split_once("->").ok_or("unknown link")?;
            let sub = s
                .topics
                .iter_mut()
                .find(|t| t.name == topic)
                .and_then(|t| {
                    t.subscriptions.iter_mut().find(|x| {
                        x.queue.as_deref() == Some(to) || x.service.as_deref() == Some(to)
                    })
                })
                .ok_or("this subscription no longer exists")?;
            match key {
                "sub.filter" => sub.filter = parse_policy(v)?,
                "sub.filter_scope" => {
                    sub.filter_scope = if v == "message_body" {
                        FilterScope::MessageBody
                    } else {
                        FilterScope::MessageAttributes
                    }
                }
                "sub.raw" => sub.raw = v == "true",
                _ => {}
            }
            return Ok(());
        }
        Selected::Edge(k) => {
            let (a, b) = k.split_once("->").ok_or("unknown link")?;
            let l = s
                .links
                .iter_mut()
                .find(|l| (l.from == a && l.to == b) || (l.from == b && l.to == a))
                .ok_or("this connection has no link settings")?;
            match key {
                "link.latency" => {
                    l.latency =
                        Latency::parse(v).ok_or("Write a latency such as 10ms or 5ms..40ms.")?
                }
                "link.kind" => {
                    l.kind = Some(if v == "rpc" {
                        LinkKind::Rpc
                    } else {
                        LinkKind::Messaging
                    })
                }
                "link.loss" => {
                    l.loss = Percent::parse(v).ok_or("Write a percentage such as 1% or 0.5%.")?
                }
                _ => {}
            }
            return Ok(());
        }
        Selected::None => return Ok(()),
    };
    if key == "name" {
        return rename(s, &name, v);
    }
    if let Some(svc) = s.services.iter_mut().find(|x| x.name == name) {
        match key {
            "behaviour" => {
                let mut t = template();
                match v {
                    "producer" => svc.producer = t.services.remove(0).producer,
                    "consumer" => svc.consumer = t.services.remove(1).consumer,
                    "rpc_server" => svc.rpc_server = t.services.remove(2).rpc_server,
                    _ => {}
                }
                // A fresh producer/consumer points at the template's queue; leave it to be connected.
                if let Some(p) = &mut svc.producer {
                    if p.to == "q" {
                        svc.producer = None;
                        return Err("Connect this service to a queue or topic to make it a producer (drag from its handle).".into());
                    }
                }
                if svc.consumer.as_ref().is_some_and(|c| c.queue == "q") {
                    svc.consumer = None;
                    return Err("Connect this service to a queue to make it a consumer (drag from its handle).".into());
                }
            }
            "producer.to" => svc.producer.as_mut().ok_or("not a producer")?.to = v.trim().into(),
            "producer.every" => {
                svc.producer.as_mut().ok_or("not a producer")?.every = if v.trim().is_empty() {
                    None
                } else {
                    Some(parse_dur(v)?)
                }
            }
            "producer.count" => {
                svc.producer.as_mut().ok_or("not a producer")?.count = if v.trim().is_empty() {
                    None
                } else {
                    Some(parse_u(v, 0, 1_000_000)?)
                }
            }
            "producer.group" => {
                svc.producer.as_mut().ok_or("not a producer")?.group =
                    (!v.trim().is_empty()).then(|| v.trim().to_string())
            }
            "consumer.queue" => {
                svc.consumer.as_mut().ok_or("not a consumer")?.queue = v.trim().into()
            }
            "consumer.batch" => {
                svc.consumer.as_mut().ok_or("not a consumer")?.batch = parse_u(v, 1, 10)? as u32
            }
            "consumer.work" => {
                svc.consumer.as_mut().ok_or("not a consumer")?.work =
                    Latency::parse(v).ok_or("Write a work time such as 50ms or 20ms..80ms.")?
            }
            "consumer.outcome" => {
                svc.consumer.as_mut().ok_or("not a consumer")?.outcome = match v {
                    "skip_delete" => Outcome::SkipDelete,
                    "fail" => Outcome::Fail,
                    "crash" => Outcome::Crash,
                    _ => Outcome::Delete,
                }
            }
            "consumer.idempotent" => {
                svc.consumer.as_mut().ok_or("not a consumer")?.idempotent = v == "true"
            }
            "rpc.latency" => {
                svc.rpc_server.as_mut().ok_or("not an RPC server")?.latency =
                    Latency::parse(v).ok_or("Write a latency such as 20ms or 10ms..90ms.")?
            }
            "rpc.concurrency" => {
                svc.rpc_server
                    .as_mut()
                    .ok_or("not an RPC server")?
                    .concurrency = parse_u(v, 1, 10_000)? as u32
            }
            "rpc.error_rate" => {
                svc.rpc_server
                    .as_mut()
                    .ok_or("not an RPC server")?
                    .error_rate = Percent::parse(v).ok_or("Write a percentage such as 5%.")?
            }
            _ => {}
        }
        return Ok(());
    }
    if let Some(t) = s.topics.iter_mut().find(|x| x.name == name) {
        if key == "topic.content_based_deduplication" {
            t.content_based_deduplication = v == "true";
        }
        return Ok(());
    }
    if let Some(q) = s.queues.iter_mut().find(|x| x.name == name) {
        match key {
            "queue.visibility_timeout" => q.visibility_timeout = parse_dur(v)?,
            "queue.delay" => q.delay = parse_dur(v)?,
            "queue.content_based_deduplication" => q.content_based_deduplication = v == "true",
            "queue.dlq" => {
                let v = v.trim();
                q.dead_letter = if v.is_empty() {
                    None
                } else {
                    let max = q
                        .dead_letter
                        .as_ref()
                        .map(|d| d.max_receive_count)
                        .unwrap_or(3);
                    Some(scenario::DeadLetter {
                        queue: v.into(),
                        max_receive_count: max,
                    })
                };
            }
            "queue.max_receive_count" => {
                let n = parse_u(v, 1, 1000)? as u32;
                q.dead_letter
                    .as_mut()
                    .ok_or("set a dead-letter queue first")?
                    .max_receive_count = n;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn welcome() -> Session {
        Session::open(crate::ui::presets::welcome()).unwrap()
    }

    fn set(
        s: &Session,
        target: Selected,
        key: &'static str,
        value: &str,
    ) -> Result<String, String> {
        s.edited(&Edit::Set {
            target,
            key,
            value: value.into(),
        })
    }

    #[test]
    fn a_filter_policy_is_checked_as_json_then_as_an_sns_policy() {
        let s = welcome();
        let edge = s
            .topology()
            .edges
            .iter()
            .find(|e| e.kind == EdgeKind::Subscribe)
            .expect("the welcome preset has a subscription")
            .key
            .clone();
        let sub = || Selected::Edge(edge.clone());
        let broken = set(&s, sub(), "sub.filter", "{\"type\": [").unwrap_err();
        assert!(broken.contains("Not valid JSON at line 1"), "{broken}");
        let not_object = set(&s, sub(), "sub.filter", "[1]").unwrap_err();
        assert!(not_object.contains("JSON object"), "{not_object}");
        let not_a_list = set(&s, sub(), "sub.filter", "{\"type\": \"order.created\"}").unwrap_err();
        assert!(
            !not_a_list.contains("JSON"),
            "the scenario's validation explains: {not_a_list}"
        );
        let ok = set(&s, sub(), "sub.filter", "{\"type\": [\"order.shipped\"]}").unwrap();
        let reloaded = crate::scenario::load(&ok).unwrap();
        let t = &reloaded.topics[0];
        assert!(t.subscriptions.iter().any(|x| x.filter.is_some()));
        // Clearing the text removes the policy (every message matches).
        let cleared = Session::open(&ok).unwrap();
        let text = set(&cleared, sub(), "sub.filter", "  ").unwrap();
        let reloaded = crate::scenario::load(&text).unwrap();
        assert!(reloaded.topics[0]
            .subscriptions
            .iter()
            .all(|x| x.filter.is_none()));
    }

    #[test]
    fn policies_past_the_size_limit_are_refused() {
        let big = format!("{{\"k\": [\"{}\"]}}", "x".repeat(20_000));
        assert!(parse_policy(&big).unwrap_err().contains("16 KB"));
        assert_eq!(parse_policy("").unwrap(), None);
    }
}
