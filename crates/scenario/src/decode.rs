//! From the position-carrying YAML tree to the file types, collecting every problem as a
//! diagnostic (wrong type, unknown field with the nearest valid name, value out of SQS's limits)
//! instead of stopping at the first. Cross-references are checked afterwards by `validate`.

use crate::diag::{suggest, Diagnostic, Pos};
use crate::file::*;
use crate::yaml::{Node, Value};
use std::collections::BTreeMap;

/// Where each path (`services[1].consumer.queue`) starts in the text, for later diagnostics.
#[derive(Clone, Debug, Default)]
pub struct Spans(pub BTreeMap<String, Pos>);

impl Spans {
    /// The position of `path`, or of its closest recorded parent.
    pub fn find(&self, path: &str) -> Pos {
        let mut p = path;
        loop {
            if let Some(pos) = self.0.get(p) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => {
                    return self
                        .0
                        .get("")
                        .copied()
                        .unwrap_or(Pos { line: 1, column: 1 })
                }
            }
        }
    }
}

/// Decoding context: the diagnostics so far and the positions seen.
pub struct Cx {
    pub diags: Vec<Diagnostic>,
    pub spans: Spans,
}

/// Limit on how many diagnostics one file produces (a hostile file could produce millions).
pub const MAX_DIAGNOSTICS: usize = 200;

impl Cx {
    pub fn new() -> Cx {
        Cx {
            diags: Vec::new(),
            spans: Spans::default(),
        }
    }

    pub fn error(
        &mut self,
        pos: Pos,
        path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        if self.diags.len() < MAX_DIAGNOSTICS {
            let mut d = Diagnostic::new(pos, path, message);
            d.hint = hint;
            self.diags.push(d);
        }
    }

    fn wrong_type(&mut self, node: &Node, path: &str, expected: &str, hint: Option<String>) {
        self.error(
            node.pos,
            path,
            format!("expected {expected}, found {}", node.kind()),
            hint,
        );
    }

    /// Opens a map with a known set of fields.
    fn obj<'a>(
        &mut self,
        node: &'a Node,
        path: &str,
        fields: &'static [&'static str],
    ) -> Option<Obj<'a>> {
        self.spans.0.insert(path.to_string(), node.pos);
        match &node.value {
            Value::Map(entries) => {
                let mut seen: BTreeMap<&str, Pos> = BTreeMap::new();
                for (key, _) in entries {
                    if let Value::Scalar { text, .. } = &key.value {
                        if let Some(first) = seen.insert(text.as_str(), key.pos) {
                            self.error(
                                key.pos,
                                path,
                                format!("duplicate key `{text}`"),
                                Some(format!("first defined at line {}", first.line)),
                            );
                        }
                    }
                }
                Some(Obj {
                    path: path.to_string(),
                    node,
                    entries,
                    used: vec![false; entries.len()],
                    fields,
                })
            }
            _ => {
                self.wrong_type(
                    node,
                    path,
                    "a map",
                    Some(format!("fields: {}", fields.join(", "))),
                );
                None
            }
        }
    }

    pub fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, plain } if !(*plain && crate::yaml::is_null(text)) => {
                Some(text.clone())
            }
            _ => {
                self.wrong_type(node, path, "a string", None);
                None
            }
        }
    }

    /// A non-empty name: letters, digits, `-`, `_`, `.` (SQS queue names allow `-`/`_`, `.fifo`).
    pub fn name(&mut self, node: &Node, path: &str) -> Option<String> {
        let text = self.string(node, path)?;
        let valid = !text.is_empty()
            && text.len() <= 80
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !valid {
            self.error(
                node.pos,
                path,
                format!("`{}` is not a valid name", truncate(&text)),
                Some(
                    "use 1–80 letters, digits, `-`, `_` or `.` (like SQS queue names)".to_string(),
                ),
            );
            return None;
        }
        Some(text)
    }

    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Scalar { text, plain: true } if text == "true" => Some(true),
            Value::Scalar { text, plain: true } if text == "false" => Some(false),
            _ => {
                self.wrong_type(node, path, "true or false", None);
                None
            }
        }
    }

    pub fn int(&mut self, node: &Node, path: &str, min: u64, max: u64, what: &str) -> Option<u64> {
        let Value::Scalar { text, plain: true } = &node.value else {
            self.wrong_type(node, path, "a whole number", None);
            return None;
        };
        let digits = text.replace('_', "");
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            self.wrong_type(node, path, "a whole number", None);
            return None;
        }
        match digits.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!("{} is out of range for {what}", truncate(text)),
                    Some(format!("allowed: {min}–{max}")),
                );
                None
            }
        }
    }

    pub fn coordinate(&mut self, node: &Node, path: &str) -> Option<i32> {
        let Value::Scalar { text, plain: true } = &node.value else {
            self.wrong_type(node, path, "a whole number", None);
            return None;
        };
        match text.parse::<i32>() {
            Ok(n) if (-100_000..=100_000).contains(&n) => Some(n),
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!("`{}` is not a coordinate", truncate(text)),
                    Some("use a whole number between -100000 and 100000".into()),
                );
                None
            }
        }
    }

    pub fn duration(
        &mut self,
        node: &Node,
        path: &str,
        min: Duration,
        max: Duration,
        what: &str,
    ) -> Option<Duration> {
        let Value::Scalar { text, .. } = &node.value else {
            self.wrong_type(node, path, "a duration like `30s`", None);
            return None;
        };
        let Some(d) = Duration::parse(text) else {
            let hint = if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
                format!("add a unit: `{text}ms` or `{text}s`")
            } else {
                "write a number and a unit: 250ms, 30s, 5m, 1h, 4d".to_string()
            };
            self.error(
                node.pos,
                path,
                format!("`{}` is not a duration", truncate(text)),
                Some(hint),
            );
            return None;
        };
        if d < min || d > max {
            self.error(
                node.pos,
                path,
                format!("{what} {} is out of range", d.to_text()),
                Some(format!("allowed: {} to {}", min.to_text(), max.to_text())),
            );
            return None;
        }
        Some(d)
    }

    pub fn latency(&mut self, node: &Node, path: &str) -> Option<Latency> {
        let Value::Scalar { text, .. } = &node.value else {
            self.wrong_type(
                node,
                path,
                "a time like `10ms` or a range `5ms..20ms`",
                None,
            );
            return None;
        };
        match Latency::parse(text) {
            Some(l) if l.min_ms > l.max_ms => {
                self.error(
                    node.pos,
                    path,
                    format!("range `{}` runs backwards", truncate(text)),
                    Some("write the smaller time first".into()),
                );
                None
            }
            Some(l) if l.max_ms > MAX_LATENCY.0 => {
                self.error(
                    node.pos,
                    path,
                    format!(
                        "`{}` is longer than {}",
                        truncate(text),
                        MAX_LATENCY.to_text()
                    ),
                    None,
                );
                None
            }
            Some(l) => Some(l),
            None => {
                self.error(
                    node.pos,
                    path,
                    format!("`{}` is not a time", truncate(text)),
                    Some("write `10ms` or a range `5ms..20ms`".into()),
                );
                None
            }
        }
    }

    pub fn percent(&mut self, node: &Node, path: &str) -> Option<Percent> {
        let Value::Scalar { text, .. } = &node.value else {
            self.wrong_type(node, path, "a percentage like `1%`", None);
            return None;
        };
        let parsed = Percent::parse(text);
        if parsed.is_none() {
            self.error(
                node.pos,
                path,
                format!("`{}` is not a percentage", truncate(text)),
                Some("write 0% to 100%, e.g. `0.5%`".into()),
            );
        }
        parsed
    }

    pub fn list<T>(
        &mut self,
        node: &Node,
        path: &str,
        max: usize,
        mut item: impl FnMut(&mut Cx, &Node, &str) -> Option<T>,
    ) -> Vec<T> {
        let Value::Seq(items) = &node.value else {
            if node.is_null() {
                return Vec::new();
            }
            self.wrong_type(
                node,
                path,
                "a list",
                Some("start each item with `- `".into()),
            );
            return Vec::new();
        };
        if items.len() > max {
            self.error(
                node.pos,
                path,
                format!("{} items; at most {max} are allowed", items.len()),
                None,
            );
        }
        let mut out = Vec::new();
        for (i, n) in items.iter().enumerate().take(max) {
            let p = format!("{path}[{i}]");
            self.spans.0.insert(p.clone(), n.pos);
            if let Some(v) = item(self, n, &p) {
                out.push(v);
            }
        }
        out
    }

    pub fn string_map(&mut self, node: &Node, path: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, path, "a map of names to strings", None);
            return out;
        };
        for (k, v) in entries.iter().take(MAX_ITEMS) {
            let p = format!("{path}.{}", scalar_text(k));
            if let (Some(key), Some(value)) = (self.string(k, &p), self.string(v, &p)) {
                out.insert(key, value);
            }
        }
        out
    }

    /// A JSON-like value (filter policies). Depth is already bounded by the YAML reader.
    pub fn json(&mut self, node: &Node) -> serde_json::Value {
        use serde_json::Value as J;
        match &node.value {
            Value::Scalar { text, plain: false } => J::String(text.clone()),
            Value::Scalar { text, plain: true } => {
                if crate::yaml::is_null(text) {
                    J::Null
                } else if text == "true" || text == "false" {
                    J::Bool(text == "true")
                } else if let Ok(n) = text.parse::<i64>() {
                    J::from(n)
                } else if let Some(n) = text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    J::Number(n)
                } else {
                    J::String(text.clone())
                }
            }
            Value::Seq(items) => J::Array(items.iter().map(|n| self.json(n)).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (scalar_text(k), self.json(v)))
                    .collect(),
            ),
        }
    }
}

impl Default for Cx {
    fn default() -> Self {
        Cx::new()
    }
}

/// Longest link latency or work time accepted.
pub const MAX_LATENCY: Duration = Duration(3_600_000);
/// Most items in any one list (services, queues, calls, ...).
pub const MAX_ITEMS: usize = 1_000;

fn scalar_text(node: &Node) -> String {
    match &node.value {
        Value::Scalar { text, .. } => truncate(text),
        _ => "?".to_string(),
    }
}

fn truncate(text: &str) -> String {
    if text.chars().count() > 40 {
        let mut t: String = text.chars().take(40).collect();
        t.push('…');
        t
    } else {
        text.to_string()
    }
}

/// A map being read field by field; `finish` reports the fields nobody asked for.
pub struct Obj<'a> {
    path: String,
    node: &'a Node,
    entries: &'a [(Node, Node)],
    used: Vec<bool>,
    fields: &'static [&'static str],
}

impl<'a> Obj<'a> {
    /// The value of `key`, if present (null counts as absent).
    pub fn get(&mut self, cx: &mut Cx, key: &str) -> Option<(&'a Node, String)> {
        debug_assert!(self.fields.contains(&key), "field {key} not declared");
        let index = self
            .entries
            .iter()
            .position(|(k, _)| matches!(&k.value, Value::Scalar { text, .. } if text == key))?;
        self.used[index] = true;
        let value = &self.entries[index].1;
        let path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        cx.spans.0.insert(path.clone(), value.pos);
        if value.is_null() {
            return None;
        }
        Some((value, path))
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, v)| {
            matches!(&k.value, Value::Scalar { text, .. } if text == key) && !v.is_null()
        })
    }

    pub fn field<T>(
        &mut self,
        cx: &mut Cx,
        key: &str,
        read: impl FnOnce(&mut Cx, &Node, &str) -> Option<T>,
    ) -> Option<T> {
        let (node, path) = self.get(cx, key)?;
        read(cx, node, &path)
    }

    pub fn required<T>(
        &mut self,
        cx: &mut Cx,
        key: &str,
        read: impl FnOnce(&mut Cx, &Node, &str) -> Option<T>,
    ) -> Option<T> {
        if !self.has(key) {
            cx.error(
                self.node.pos,
                &self.path,
                format!("missing field `{key}`"),
                None,
            );
            return None;
        }
        self.field(cx, key, read)
    }

    /// Reports unknown fields, each with the nearest known one.
    pub fn finish(self, cx: &mut Cx) {
        self.finish_with(cx, &[]);
    }

    pub fn finish_with(self, cx: &mut Cx, reserved: &[(&str, &str)]) {
        for (i, (key, _)) in self.entries.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let Value::Scalar { text, .. } = &key.value else {
                cx.error(key.pos, &self.path, "keys must be plain names", None);
                continue;
            };
            if self.fields.contains(&text.as_str()) {
                continue; // present but null, or intentionally not read (handled by the caller)
            }
            if let Some((_, message)) = reserved.iter().find(|(r, _)| *r == text) {
                cx.error(
                    key.pos,
                    &self.path,
                    format!("`{text}` is not supported yet"),
                    Some(message.to_string()),
                );
                continue;
            }
            cx.error(
                key.pos,
                &self.path,
                format!("unknown field `{}`", truncate(text)),
                Some(suggest(text, self.fields)),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The types, one reader each.

const MAX_DURATION: Duration = Duration(7 * 86_400_000);

pub fn scenario(cx: &mut Cx, root: &Node) -> Option<Scenario> {
    let mut o = cx.obj(root, "", Scenario::FIELDS)?;
    let version = o.required(cx, "version", |cx, n, p| {
        cx.int(n, p, 0, u32::MAX as u64, "version")
    });
    if let Some(v) = version {
        if v != u64::from(VERSION) {
            let pos = cx.spans.find("version");
            cx.error(
                pos,
                "version",
                format!("version {v} is not supported"),
                Some(format!("this Switchboard reads version {VERSION}")),
            );
        }
    }
    let title = o.required(cx, "title", |cx, n, p| cx.string(n, p));
    let description = o
        .field(cx, "description", |cx, n, p| cx.string(n, p))
        .unwrap_or_default();
    let seed = o
        .field(cx, "seed", |cx, n, p| cx.int(n, p, 0, u64::MAX, "seed"))
        .unwrap_or_else(default_seed);
    let duration = o.required(cx, "duration", |cx, n, p| {
        cx.duration(n, p, Duration(1), MAX_DURATION, "duration")
    });
    let max_events = o
        .field(cx, "max_events", |cx, n, p| {
            cx.int(n, p, 1, MAX_MAX_EVENTS, "max_events")
        })
        .unwrap_or(DEFAULT_MAX_EVENTS);
    let services = o
        .field(cx, "services", |cx, n, p| {
            Some(cx.list(n, p, MAX_ITEMS, service))
        })
        .unwrap_or_default();
    let queues = o
        .field(cx, "queues", |cx, n, p| {
            Some(cx.list(n, p, MAX_ITEMS, queue))
        })
        .unwrap_or_default();
    let topics = o
        .field(cx, "topics", |cx, n, p| {
            Some(cx.list(n, p, MAX_ITEMS, topic))
        })
        .unwrap_or_default();
    let links = o
        .field(cx, "links", |cx, n, p| Some(cx.list(n, p, MAX_ITEMS, link)))
        .unwrap_or_default();
    let faults = o
        .field(cx, "faults", |cx, n, p| {
            Some(cx.list(n, p, MAX_ITEMS, fault))
        })
        .unwrap_or_default();
    let steps = o
        .field(cx, "steps", |cx, n, p| Some(cx.list(n, p, MAX_ITEMS, step)))
        .unwrap_or_default();
    let expect = o
        .field(cx, "expect", |cx, n, p| {
            Some(cx.list(n, p, MAX_ITEMS, |cx, n, p| cx.string(n, p)))
        })
        .unwrap_or_default();
    o.finish_with(
        cx,
        &[(
            "variants",
            "`variants:` (named overrides of the topology, to compare integration styles on one workload) is reserved for a later version; see docs/scenario-format.md",
        )],
    );
    Some(Scenario {
        version: version? as u32,
        title: title?,
        description,
        seed,
        duration: duration?,
        max_events,
        services,
        queues,
        topics,
        links,
        faults,
        steps,
        expect,
    })
}

fn service(cx: &mut Cx, node: &Node, path: &str) -> Option<Service> {
    let mut o = cx.obj(node, path, Service::FIELDS)?;
    let name = o.required(cx, "name", |cx, n, p| cx.name(n, p));
    let producer = o.field(cx, "producer", producer);
    let consumer = o.field(cx, "consumer", consumer);
    let rpc_server = o.field(cx, "rpc_server", rpc_server);
    let client = o.field(cx, "client", client);
    let x = o.field(cx, "x", |cx, n, p| cx.coordinate(n, p));
    let y = o.field(cx, "y", |cx, n, p| cx.coordinate(n, p));
    let behaviours = Service::BEHAVIOURS.iter().filter(|b| o.has(b)).count();
    if behaviours != 1 {
        let message = if behaviours == 0 {
            "a service needs a behaviour"
        } else {
            "a service has exactly one behaviour"
        };
        cx.error(
            node.pos,
            path,
            message,
            Some(format!("give one of: {}", Service::BEHAVIOURS.join(", "))),
        );
    }
    o.finish(cx);
    Some(Service {
        name: name?,
        producer,
        consumer,
        rpc_server,
        client,
        x,
        y,
    })
}

fn template(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let text = cx.string(node, path)?;
    if text.len() > 1024 {
        cx.error(node.pos, path, "template longer than 1024 characters", None);
        return None;
    }
    Some(text)
}

fn producer(cx: &mut Cx, node: &Node, path: &str) -> Option<Producer> {
    let mut o = cx.obj(node, path, Producer::FIELDS)?;
    let to = o.required(cx, "to", |cx, n, p| cx.name(n, p));
    let start = o
        .field(cx, "start", |cx, n, p| {
            cx.duration(n, p, Duration(0), MAX_DURATION, "start")
        })
        .unwrap_or_default();
    let every = o.field(cx, "every", |cx, n, p| {
        cx.duration(n, p, Duration(1), MAX_DURATION, "every")
    });
    let count = o.field(cx, "count", |cx, n, p| cx.int(n, p, 0, 1_000_000, "count"));
    let at = o
        .field(cx, "at", |cx, n, p| {
            Some(cx.list(n, p, 10_000, |cx, n, p| {
                cx.duration(n, p, Duration(0), MAX_DURATION, "time")
            }))
        })
        .unwrap_or_default();
    let body = o.field(cx, "body", template).unwrap_or_else(default_body);
    let group = o.field(cx, "group", template);
    let dedup_id = o.field(cx, "dedup_id", template);
    let attributes = o
        .field(cx, "attributes", |cx, n, p| Some(cx.string_map(n, p)))
        .unwrap_or_default();
    let retry = o.field(cx, "retry", |cx, n, p| {
        let mut r = cx.obj(n, p, Retry::FIELDS)?;
        let times = r.required(cx, "times", |cx, n, p| cx.int(n, p, 1, 10, "retry times"));
        let after = r.required(cx, "after", |cx, n, p| {
            cx.duration(n, p, Duration(0), MAX_DURATION, "retry after")
        });
        r.finish(cx);
        Some(Retry {
            times: times? as u32,
            after: after?,
        })
    });
    if every.is_none() && at.is_empty() {
        cx.error(
            node.pos,
            path,
            "a producer needs a schedule",
            Some("give `every: 1s` (with an optional `count`) or `at: [0s, 2s]`".into()),
        );
    }
    if every.is_some() && !at.is_empty() {
        cx.error(
            node.pos,
            path,
            "`every` and `at` both given",
            Some("use one schedule".into()),
        );
    }
    o.finish(cx);
    Some(Producer {
        to: to?,
        start,
        every,
        count,
        at,
        body,
        group,
        dedup_id,
        attributes,
        retry,
    })
}

fn consumer(cx: &mut Cx, node: &Node, path: &str) -> Option<Consumer> {
    let mut o = cx.obj(node, path, Consumer::FIELDS)?;
    let queue = o.required(cx, "queue", |cx, n, p| cx.name(n, p));
    // ReceiveMessage MaxNumberOfMessages: 1–10.
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    let batch = o
        .field(cx, "batch", |cx, n, p| {
            cx.int(n, p, 1, 10, "batch (MaxNumberOfMessages)")
        })
        .unwrap_or(1);
    let wait = o
        .field(cx, "wait", |cx, n, p| {
            cx.duration(
                n,
                p,
                Duration(0),
                Duration(20_000),
                "wait (WaitTimeSeconds)",
            )
        })
        .unwrap_or_default();
    let work = o
        .field(cx, "work", |cx, n, p| cx.latency(n, p))
        .unwrap_or_else(default_work);
    let outcome = o.field(cx, "outcome", |cx, n, p| {
        choice(cx, n, p, Outcome::NAMES).map(|i| {
            [
                Outcome::Delete,
                Outcome::SkipDelete,
                Outcome::Fail,
                Outcome::Crash,
            ][i]
        })
    });
    let (idempotent, idempotency_store) = o
        .field(cx, "idempotent", idempotency)
        .unwrap_or((false, None));
    let heartbeat = o
        .field(cx, "heartbeat", |cx, n, p| cx.boolean(n, p))
        .unwrap_or(false);
    let steps = o
        .field(cx, "steps", |cx, n, p| Some(cx.list(n, p, 32, action)))
        .unwrap_or_default();
    o.finish(cx);
    Some(Consumer {
        queue: queue?,
        batch: batch as u32,
        wait,
        work,
        outcome: outcome.unwrap_or_default(),
        idempotent,
        idempotency_store,
        heartbeat,
        steps,
    })
}

/// `idempotent: true | false` (a private store or none) or `idempotent: {store: name}` (a store
/// shared with every consumer naming it).
fn idempotency(cx: &mut Cx, node: &Node, path: &str) -> Option<(bool, Option<String>)> {
    if !matches!(node.value, Value::Map(_)) {
        return match &node.value {
            Value::Scalar { plain: true, text } if text == "true" || text == "false" => {
                cx.boolean(node, path).map(|b| (b, None))
            }
            _ => {
                cx.wrong_type(
                    node,
                    path,
                    "true, false or {store: name}",
                    Some(
                        "`idempotent: {store: orders-db}` shares one store between consumers"
                            .into(),
                    ),
                );
                None
            }
        };
    }
    let mut o = cx.obj(node, path, Consumer::STORE_FIELDS)?;
    let store = o.required(cx, "store", |cx, n, p| cx.name(n, p));
    o.finish(cx);
    Some((true, Some(store?)))
}

fn rpc_server(cx: &mut Cx, node: &Node, path: &str) -> Option<RpcServer> {
    let mut o = cx.obj(node, path, RpcServer::FIELDS)?;
    let latency = o
        .field(cx, "latency", |cx, n, p| cx.latency(n, p))
        .unwrap_or_else(default_rpc_latency);
    let concurrency = o
        .field(cx, "concurrency", |cx, n, p| {
            cx.int(n, p, 1, 10_000, "concurrency")
        })
        .unwrap_or(100);
    let error_rate = o
        .field(cx, "error_rate", |cx, n, p| cx.percent(n, p))
        .unwrap_or_default();
    let steps = o
        .field(cx, "steps", |cx, n, p| Some(cx.list(n, p, 32, action)))
        .unwrap_or_default();
    o.finish(cx);
    Some(RpcServer {
        latency,
        concurrency: concurrency as u32,
        error_rate,
        steps,
    })
}

fn action(cx: &mut Cx, node: &Node, path: &str) -> Option<Action> {
    let mut o = cx.obj(node, path, Action::FIELDS)?;
    let call = o.field(cx, "call", |cx, n, p| cx.name(n, p));
    let send = o.field(cx, "send", |cx, n, p| cx.name(n, p));
    let publish = o.field(cx, "publish", |cx, n, p| cx.name(n, p));
    let body = o.field(cx, "body", template);
    let group = o.field(cx, "group", template);
    let dedup_id = o.field(cx, "dedup_id", template);
    let attributes = o
        .field(cx, "attributes", |cx, n, p| Some(cx.string_map(n, p)))
        .unwrap_or_default();
    let kinds = Action::KINDS.iter().filter(|k| o.has(k)).count();
    if kinds != 1 {
        cx.error(
            node.pos,
            path,
            "a step does exactly one thing",
            Some("give one of: call, send, publish".into()),
        );
    }
    o.finish(cx);
    Some(Action {
        call,
        send,
        publish,
        body,
        group,
        dedup_id,
        attributes,
    })
}

fn client(cx: &mut Cx, node: &Node, path: &str) -> Option<Client> {
    let mut o = cx.obj(node, path, Client::FIELDS)?;
    let calls = o.required(cx, "calls", |cx, n, p| {
        Some(cx.list(n, p, MAX_ITEMS, client_call))
    });
    o.finish(cx);
    Some(Client { calls: calls? })
}

fn client_call(cx: &mut Cx, node: &Node, path: &str) -> Option<ClientCall> {
    let mut o = cx.obj(node, path, ClientCall::FIELDS)?;
    let at = o.required(cx, "at", |cx, n, p| {
        cx.duration(n, p, Duration(0), MAX_DURATION, "at")
    });
    let action = o.required(cx, "action", |cx, n, p| {
        choice(cx, n, p, ApiAction::NAMES).map(|i| ApiAction::ALL[i])
    });
    let queue = o.field(cx, "queue", |cx, n, p| cx.name(n, p));
    let topic = o.field(cx, "topic", |cx, n, p| cx.name(n, p));
    let body = o.field(cx, "body", template);
    let group = o.field(cx, "group", template);
    let dedup_id = o.field(cx, "dedup_id", template);
    let attributes = o
        .field(cx, "attributes", |cx, n, p| Some(cx.string_map(n, p)))
        .unwrap_or_default();
    let max = o
        .field(cx, "max", |cx, n, p| {
            cx.int(n, p, 1, 10, "max (MaxNumberOfMessages)")
        })
        .map(|v| v as u32);
    let wait = o.field(cx, "wait", |cx, n, p| {
        cx.duration(
            n,
            p,
            Duration(0),
            Duration(20_000),
            "wait (WaitTimeSeconds)",
        )
    });
    let visibility_timeout = o.field(cx, "visibility_timeout", |cx, n, p| {
        cx.duration(
            n,
            p,
            Duration(0),
            Duration(12 * 3_600_000),
            "visibility_timeout",
        )
    });
    let message = o
        .field(cx, "message", |cx, n, p| {
            cx.int(n, p, 1, 100_000, "message")
        })
        .map(|v| v as u32);
    // SendMessage DelaySeconds: 0–900.
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    let delay = o.field(cx, "delay", |cx, n, p| {
        cx.duration(n, p, Duration(0), Duration(900_000), "delay (DelaySeconds)")
    });
    let attempt_id = o.field(cx, "attempt_id", attempt_id);
    // SendMessageBatch: at most 10 entries.
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
    let entries = o
        .field(cx, "entries", |cx, n, p| {
            let entries = cx.list(n, p, 10, batch_entry);
            if matches!(&n.value, Value::Seq(items) if items.is_empty()) {
                cx.error(
                    n.pos,
                    p,
                    "a batch needs at least one entry",
                    Some("SendMessageBatch takes 1–10 entries".into()),
                );
            }
            Some(entries)
        })
        .unwrap_or_default();
    if let Some(action) = action {
        call_fields_fit(cx, &o, node, path, action);
    }
    o.finish(cx);
    Some(ClientCall {
        at: at?,
        action: action?,
        queue,
        topic,
        body,
        group,
        dedup_id,
        attributes,
        max,
        wait,
        visibility_timeout,
        message,
        delay,
        attempt_id,
        entries,
    })
}

/// The fields a scripted call gives must fit its action: each action's own fields only
/// (`delay`, `attempt_id`, `entries`, `body`), and the ones it needs (`entries`, `queue`, `topic`,
/// `message`) present.
fn call_fields_fit(cx: &mut Cx, o: &Obj, node: &Node, path: &str, action: ApiAction) {
    let only: [(&str, &[ApiAction]); 4] = [
        ("delay", &[ApiAction::SendMessage]),
        ("attempt_id", &[ApiAction::ReceiveMessage]),
        ("entries", &[ApiAction::SendMessageBatch]),
        ("body", &[ApiAction::SendMessage, ApiAction::Publish]),
    ];
    for (field, actions) in only {
        if o.has(field) && !actions.contains(&action) {
            let pos = cx.spans.find(&format!("{path}.{field}"));
            let names: Vec<&str> = actions.iter().map(|a| a.name()).collect();
            let hint = if field == "body" && action == ApiAction::SendMessageBatch {
                "give each message its own `body` under `entries`".to_string()
            } else {
                format!("`{field}` applies to {}", names.join(", "))
            };
            cx.error(
                pos,
                path,
                format!("`{field}` does not apply to `{}`", action.name()),
                Some(hint),
            );
        }
    }
    if action == ApiAction::SendMessageBatch && !o.has("entries") {
        cx.error(
            node.pos,
            path,
            "`send_message_batch` needs `entries`",
            Some("e.g. `entries: [{body: a}, {body: b}]` (1–10)".into()),
        );
    }
    let needs_queue = !matches!(action, ApiAction::Publish);
    if needs_queue && !o.has("queue") {
        cx.error(
            node.pos,
            path,
            format!("`{}` needs a `queue`", action.name()),
            None,
        );
    }
    if action == ApiAction::Publish && !o.has("topic") {
        cx.error(node.pos, path, "`publish` needs a `topic`", None);
    }
    if matches!(
        action,
        ApiAction::DeleteMessage | ApiAction::ChangeMessageVisibility
    ) && !o.has("message")
    {
        cx.error(
            node.pos,
            path,
            format!(
                "`{}` needs `message`: which received message (1 = the first this client received)",
                action.name()
            ),
            None,
        );
    }
}

fn batch_entry(cx: &mut Cx, node: &Node, path: &str) -> Option<BatchEntry> {
    let mut o = cx.obj(node, path, BatchEntry::FIELDS)?;
    let body = o.field(cx, "body", template).unwrap_or_else(default_body);
    let group = o.field(cx, "group", template);
    let dedup_id = o.field(cx, "dedup_id", template);
    let attributes = o
        .field(cx, "attributes", |cx, n, p| Some(cx.string_map(n, p)))
        .unwrap_or_default();
    o.finish(cx);
    Some(BatchEntry {
        body,
        group,
        dedup_id,
        attributes,
    })
}

/// ReceiveRequestAttemptId: 1–128 characters, letters, digits and ASCII punctuation.
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
fn attempt_id(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let text = cx.string(node, path)?;
    let valid = !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation());
    if !valid {
        cx.error(
            node.pos,
            path,
            format!(
                "`{}` is not a valid ReceiveRequestAttemptId",
                truncate(&text)
            ),
            Some("use 1–128 letters, digits or punctuation, no spaces, e.g. `attempt-1`".into()),
        );
        return None;
    }
    Some(text)
}

fn choice(cx: &mut Cx, node: &Node, path: &str, names: &[&str]) -> Option<usize> {
    let text = cx.string(node, path)?;
    match names.iter().position(|n| *n == text) {
        Some(i) => Some(i),
        None => {
            cx.error(
                node.pos,
                path,
                format!("`{}` is not one of {}", truncate(&text), names.join(", ")),
                Some(suggest(&text, names)),
            );
            None
        }
    }
}

fn queue(cx: &mut Cx, node: &Node, path: &str) -> Option<Queue> {
    // Limits from the SQS API reference, SetQueueAttributes / CreateQueue:
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
    let mut o = cx.obj(node, path, Queue::FIELDS)?;
    let name = o.required(cx, "name", |cx, n, p| cx.name(n, p));
    let fifo = o.field(cx, "fifo", |cx, n, p| cx.boolean(n, p));
    let visibility_timeout = o
        .field(cx, "visibility_timeout", |cx, n, p| {
            cx.duration(
                n,
                p,
                Duration(0),
                Duration(12 * 3_600_000),
                "visibility_timeout",
            )
        })
        .unwrap_or_else(default_visibility);
    let delay = o
        .field(cx, "delay", |cx, n, p| {
            cx.duration(n, p, Duration(0), Duration(900_000), "delay")
        })
        .unwrap_or_default();
    let retention = o
        .field(cx, "retention", |cx, n, p| {
            cx.duration(
                n,
                p,
                Duration(60_000),
                Duration(14 * 86_400_000),
                "retention",
            )
        })
        .unwrap_or_else(default_retention);
    let max_message_size = o
        .field(cx, "max_message_size", |cx, n, p| {
            cx.int(n, p, 1_024, 1_048_576, "max_message_size (bytes)")
        })
        .map_or_else(default_max_message_size, |v| v as u32);
    let receive_wait = o
        .field(cx, "receive_wait", |cx, n, p| {
            cx.duration(n, p, Duration(0), Duration(20_000), "receive_wait")
        })
        .unwrap_or_default();
    let content_based_deduplication = o
        .field(cx, "content_based_deduplication", |cx, n, p| {
            cx.boolean(n, p)
        })
        .unwrap_or(false);
    let dead_letter = o.field(cx, "dead_letter", |cx, n, p| {
        let mut d = cx.obj(n, p, DeadLetter::FIELDS)?;
        let queue = d.required(cx, "queue", |cx, n, p| cx.name(n, p));
        let max_receive_count = d.required(cx, "max_receive_count", |cx, n, p| {
            cx.int(n, p, 1, 1_000, "max_receive_count")
        });
        d.finish(cx);
        Some(DeadLetter {
            queue: queue?,
            max_receive_count: max_receive_count? as u32,
        })
    });
    let x = o.field(cx, "x", |cx, n, p| cx.coordinate(n, p));
    let y = o.field(cx, "y", |cx, n, p| cx.coordinate(n, p));
    o.finish(cx);
    Some(Queue {
        name: name?,
        fifo,
        visibility_timeout,
        delay,
        retention,
        max_message_size,
        receive_wait,
        content_based_deduplication,
        dead_letter,
        x,
        y,
    })
}

fn topic(cx: &mut Cx, node: &Node, path: &str) -> Option<Topic> {
    let mut o = cx.obj(node, path, Topic::FIELDS)?;
    let name = o.required(cx, "name", |cx, n, p| cx.name(n, p));
    let fifo = o.field(cx, "fifo", |cx, n, p| cx.boolean(n, p));
    let content_based_deduplication = o
        .field(cx, "content_based_deduplication", |cx, n, p| {
            cx.boolean(n, p)
        })
        .unwrap_or(false);
    let subscriptions = o
        .field(cx, "subscriptions", |cx, n, p| {
            Some(cx.list(n, p, 100, subscription))
        })
        .unwrap_or_default();
    let x = o.field(cx, "x", |cx, n, p| cx.coordinate(n, p));
    let y = o.field(cx, "y", |cx, n, p| cx.coordinate(n, p));
    o.finish(cx);
    Some(Topic {
        name: name?,
        fifo,
        content_based_deduplication,
        subscriptions,
        x,
        y,
    })
}

fn subscription(cx: &mut Cx, node: &Node, path: &str) -> Option<Subscription> {
    let mut o = cx.obj(node, path, Subscription::FIELDS)?;
    let queue = o.field(cx, "queue", |cx, n, p| cx.name(n, p));
    let service = o.field(cx, "service", |cx, n, p| cx.name(n, p));
    let filter = o.field(cx, "filter", |cx, n, p| match &n.value {
        Value::Map(_) => Some(cx.json(n)),
        _ => {
            cx.error(
                n.pos,
                p,
                format!("expected a filter policy map, found {}", n.kind()),
                Some("e.g. `filter: {type: [order.created]}`".into()),
            );
            None
        }
    });
    let filter_scope = o.field(cx, "filter_scope", |cx, n, p| {
        choice(cx, n, p, FilterScope::NAMES)
            .map(|i| [FilterScope::MessageAttributes, FilterScope::MessageBody][i])
    });
    let raw = o
        .field(cx, "raw", |cx, n, p| cx.boolean(n, p))
        .unwrap_or(false);
    if queue.is_some() == service.is_some() && o.has("queue") == o.has("service") {
        cx.error(
            node.pos,
            path,
            "a subscription delivers to exactly one `queue` or `service`",
            None,
        );
    }
    o.finish(cx);
    Some(Subscription {
        queue,
        service,
        filter,
        filter_scope: filter_scope.unwrap_or_default(),
        raw,
    })
}

fn link(cx: &mut Cx, node: &Node, path: &str) -> Option<Link> {
    let mut o = cx.obj(node, path, Link::FIELDS)?;
    let from = o.required(cx, "from", |cx, n, p| cx.name(n, p));
    let to = o.required(cx, "to", |cx, n, p| cx.name(n, p));
    let kind = o.field(cx, "kind", |cx, n, p| {
        choice(cx, n, p, LinkKind::NAMES).map(|i| [LinkKind::Rpc, LinkKind::Messaging][i])
    });
    let latency = o
        .field(cx, "latency", |cx, n, p| cx.latency(n, p))
        .unwrap_or_else(default_link_latency);
    let loss = o
        .field(cx, "loss", |cx, n, p| cx.percent(n, p))
        .unwrap_or_default();
    let timeout = o.field(cx, "timeout", |cx, n, p| {
        cx.duration(n, p, Duration(1), MAX_LATENCY, "timeout")
    });
    o.finish(cx);
    Some(Link {
        from: from?,
        to: to?,
        kind,
        latency,
        loss,
        timeout,
    })
}

fn pair(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<String>> {
    let names = cx.list(node, path, 2, |cx, n, p| cx.name(n, p));
    if names.len() != 2 {
        cx.error(
            node.pos,
            path,
            "expected the two ends of a link, e.g. `[shipping, billing]`",
            None,
        );
        return None;
    }
    Some(names)
}

fn fault(cx: &mut Cx, node: &Node, path: &str) -> Option<Fault> {
    let mut o = cx.obj(node, path, Fault::FIELDS)?;
    let at = o.field(cx, "at", |cx, n, p| {
        cx.duration(n, p, Duration(0), MAX_DURATION, "at")
    });
    let after = o.field(cx, "after", condition);
    let crash = o.field(cx, "crash", |cx, n, p| cx.name(n, p));
    let restart = o.field(cx, "restart", |cx, n, p| cx.name(n, p));
    let partition = o.field(cx, "partition", pair);
    let heal = o.field(cx, "heal", pair);
    let slow = o.field(cx, "slow", slow_fault);
    let drop = o.field(cx, "drop", drop_fault);
    let restore = o.field(cx, "restore", pair);
    let skip_delete = o.field(cx, "skip_delete", skip_delete_fault);
    let pause = o.field(cx, "pause", pause_fault);
    let lose_responses = o.field(cx, "lose_responses", lose_responses_fault);
    when_exactly_one(cx, &o, node, path);
    let actions = Fault::ACTIONS.iter().filter(|a| o.has(a)).count();
    if actions != 1 {
        cx.error(
            node.pos,
            path,
            "a fault does exactly one thing",
            Some(format!("give one of: {}", Fault::ACTIONS.join(", "))),
        );
    }
    o.finish(cx);
    Some(Fault {
        at,
        after,
        crash,
        restart,
        partition,
        heal,
        slow,
        drop,
        restore,
        skip_delete,
        pause,
        lose_responses,
    })
}

fn when_exactly_one(cx: &mut Cx, o: &Obj, node: &Node, path: &str) {
    if o.has("at") == o.has("after") {
        cx.error(
            node.pos,
            path,
            "give exactly one of `at` (a time) or `after` (a condition)",
            Some("e.g. `at: 10s` or `after: received(orders) >= 1`".into()),
        );
    }
}

fn slow_fault(cx: &mut Cx, n: &Node, p: &str) -> Option<Slow> {
    let mut s = cx.obj(n, p, Slow::FIELDS)?;
    let service = s.field(cx, "service", |cx, n, p| cx.name(n, p));
    let factor_pct = s
        .field(cx, "factor_pct", |cx, n, p| {
            cx.int(n, p, 1, 100_000, "factor_pct")
        })
        .map(|v| v as u32);
    let link = s.field(cx, "link", pair);
    let delay = s.field(cx, "delay", |cx, n, p| {
        cx.duration(n, p, Duration(0), MAX_LATENCY, "delay")
    });
    if s.has("service") == s.has("link") {
        cx.error(
            n.pos,
            p,
            "`slow` needs exactly one of `service` or `link`",
            None,
        );
    } else if s.has("service") && !s.has("factor_pct") {
        cx.error(
            n.pos,
            p,
            "`slow` on a service needs `factor_pct` (400 = four times slower)",
            None,
        );
    } else if s.has("link") && !s.has("delay") {
        cx.error(
            n.pos,
            p,
            "`slow` on a link needs `delay` (extra latency, e.g. `200ms`)",
            None,
        );
    }
    s.finish(cx);
    Some(Slow {
        service,
        factor_pct,
        link,
        delay,
    })
}

fn drop_fault(cx: &mut Cx, n: &Node, p: &str) -> Option<Drop> {
    let mut d = cx.obj(n, p, Drop::FIELDS)?;
    let link = d.required(cx, "link", pair);
    let loss = d
        .field(cx, "loss", |cx, n, p| cx.percent(n, p))
        .unwrap_or(Percent(1_000_000));
    let delay = d.field(cx, "delay", |cx, n, p| {
        cx.duration(n, p, Duration(0), MAX_LATENCY, "delay")
    });
    d.finish(cx);
    Some(Drop {
        link: link?,
        loss,
        delay,
    })
}

fn skip_delete_fault(cx: &mut Cx, n: &Node, p: &str) -> Option<SkipDelete> {
    let mut s = cx.obj(n, p, SkipDelete::FIELDS)?;
    let service = s.required(cx, "service", |cx, n, p| cx.name(n, p));
    let on = s
        .field(cx, "on", |cx, n, p| cx.boolean(n, p))
        .unwrap_or(true);
    s.finish(cx);
    Some(SkipDelete {
        service: service?,
        on,
    })
}

fn pause_fault(cx: &mut Cx, n: &Node, p: &str) -> Option<Pause> {
    let mut s = cx.obj(n, p, Pause::FIELDS)?;
    let service = s.required(cx, "service", |cx, n, p| cx.name(n, p));
    let for_ = s.required(cx, "for", |cx, n, p| {
        cx.duration(n, p, Duration(1), MAX_LATENCY, "pause")
    });
    s.finish(cx);
    // A bad `for` was reported; keep the pause so its service is still checked.
    Some(Pause {
        service: service?,
        for_: for_.unwrap_or(Duration(1)),
    })
}

fn lose_responses_fault(cx: &mut Cx, n: &Node, p: &str) -> Option<LoseResponses> {
    let mut l = cx.obj(n, p, LoseResponses::FIELDS)?;
    let link = l.required(cx, "link", pair);
    let chance = l
        .field(cx, "chance", |cx, n, p| cx.percent(n, p))
        .unwrap_or(Percent(1_000_000));
    l.finish(cx);
    Some(LoseResponses {
        link: link?,
        chance,
    })
}

fn condition(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let text = cx.string(node, path)?;
    if let Err((message, offset)) = crate::expect::parse(&text) {
        let pos = Pos {
            line: node.pos.line,
            column: node.pos.column + offset,
        };
        cx.error(
            pos,
            path,
            format!("in condition: {message}"),
            Some("write e.g. `received(orders) >= 1`".into()),
        );
        return None;
    }
    Some(text)
}

fn step(cx: &mut Cx, node: &Node, path: &str) -> Option<Step> {
    let mut o = cx.obj(node, path, Step::FIELDS)?;
    let at = o.field(cx, "at", |cx, n, p| {
        cx.duration(n, p, Duration(0), MAX_DURATION, "at")
    });
    let after = o.field(cx, "after", condition);
    let title = o.required(cx, "title", |cx, n, p| cx.string(n, p));
    let text = o.required(cx, "text", |cx, n, p| cx.string(n, p));
    let pause = o
        .field(cx, "pause", |cx, n, p| cx.boolean(n, p))
        .unwrap_or(false);
    when_exactly_one(cx, &o, node, path);
    o.finish(cx);
    Some(Step {
        at,
        after,
        title: title?,
        text: text?,
        pause,
    })
}
