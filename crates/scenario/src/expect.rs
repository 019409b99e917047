//! The `expect` language: `metric(target) op number`, joined with `and`, plus a few named
//! predicates such as `every_message_handled_once(billing)`. Also used by `after:` triggers.
//!
//! Parsing is pure text; evaluation reads metrics through [`MetricSource`], implemented for the
//! summary JSON (what the CLI writes) and for the typed `engine::Metrics` (what the UI holds, so it
//! never builds a JSON copy). Both name a metric exactly as the summary JSON does.

use std::collections::BTreeMap;
use std::str::Split;

use serde_json::Value;
use switchboard_engine::metrics::{LatencyPercentiles, LinkSummary, QueueSummary, ServiceSummary};
use switchboard_engine::{LinkState, Metrics, ServiceStatus};

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn text(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
    pub fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Op::Eq => left == right,
            Op::Ne => left != right,
            Op::Lt => left < right,
            Op::Le => left <= right,
            Op::Gt => left > right,
            Op::Ge => left >= right,
        }
    }
}

/// One clause of an expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clause {
    /// `metric(target) op value`; `target` is None for run-wide metrics (`events > 10`).
    Compare {
        metric: String,
        target: Option<String>,
        op: Op,
        value: Operand,
    },
    /// A named predicate over a target: `every_message_handled_once(billing)`.
    Predicate { name: String, target: String },
}

/// The right-hand side of a comparison: a number or another metric (`handled(b) == sent(a)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    Number(i64),
    Metric {
        metric: String,
        target: Option<String>,
    },
}

/// A parsed expectation: every clause must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    pub clauses: Vec<Clause>,
}

/// Predicates the language knows, with what they mean (shown in `--help` and the docs).
pub const PREDICATES: &[(&str, &str)] = &[
    (
        "every_message_handled_once",
        "the service handled messages and none more than once (handled > 0, handled_more_than_once == 0)",
    ),
    (
        "in_order",
        "the service saw no message out of its group's send order (order_violations == 0)",
    ),
    (
        "drained",
        "the queue is empty at the end (visible == 0, in_flight == 0, delayed == 0)",
    ),
];

/// Longest accepted expectation text (a limit on everything).
pub const MAX_EXPR_LEN: usize = 500;

/// Parses an expectation. The error is a message and the character offset where it went wrong.
pub fn parse(text: &str) -> Result<Expr, (String, u32)> {
    if text.len() > MAX_EXPR_LEN {
        return Err((format!("longer than {MAX_EXPR_LEN} characters"), 0));
    }
    let mut clauses = Vec::new();
    let mut rest = text;
    loop {
        let offset = (text.len() - rest.len()) as u32;
        let (clause, after) = parse_clause(rest).map_err(|(m, o)| (m, offset + o))?;
        clauses.push(clause);
        let after_trim = after.trim_start();
        if after_trim.is_empty() {
            break;
        }
        let Some(next) = after_trim
            .strip_prefix("and ")
            .or_else(|| after_trim.strip_prefix("&& "))
        else {
            let at = (text.len() - after_trim.len()) as u32;
            return Err(("expected `and` or the end".to_string(), at));
        };
        rest = next;
    }
    Ok(Expr { clauses })
}

/// `name` or `name(target)` at the start of `s` (after spaces); offsets are relative to `text`.
fn metric_ref<'t>(
    text: &str,
    s: &'t str,
) -> Result<(&'t str, Option<String>, &'t str), (String, u32)> {
    let s = s.trim_start();
    let at = |rest: &str| (text.len() - rest.len()) as u32;
    let name_len = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(s.len());
    if name_len == 0 || s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err((
            "expected a metric name like `visible(orders)`".to_string(),
            at(s),
        ));
    }
    let name = &s[..name_len];
    let mut rest = &s[name_len..];
    let mut target = None;
    if let Some(inner) = rest.strip_prefix('(') {
        let Some(close) = inner.find(')') else {
            return Err(("missing `)`".to_string(), at(rest)));
        };
        let t = inner[..close].trim();
        if t.is_empty() {
            return Err(("empty target in `()`".to_string(), at(rest)));
        }
        target = Some(t.to_string());
        rest = &inner[close + 1..];
    }
    Ok((name, target, rest))
}

const OPS: [(&str, Op); 6] = [
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("<", Op::Lt),
    (">", Op::Gt),
];

fn parse_clause(text: &str) -> Result<(Clause, &str), (String, u32)> {
    let start = (text.len() - text.trim_start().len()) as u32;
    let (name, target, rest) = metric_ref(text, text)?;
    let trimmed = rest.trim_start();
    let Some((sym, op)) = OPS.iter().find(|(sym, _)| trimmed.starts_with(sym)) else {
        // No operator: a predicate.
        if PREDICATES.iter().any(|(p, _)| *p == name) {
            let Some(target) = target else {
                return Err((
                    format!("`{name}` needs a target, e.g. `{name}(billing)`"),
                    start,
                ));
            };
            return Ok((
                Clause::Predicate {
                    name: name.to_string(),
                    target,
                },
                rest,
            ));
        }
        return Err((
            format!("expected a comparison after `{name}` (==, !=, <, <=, >, >=)"),
            (text.len() - trimmed.len()) as u32,
        ));
    };
    let after_op = trimmed[sym.len()..].trim_start();
    let metric = name.to_string();
    if after_op.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        let (other, other_target, rest) = metric_ref(text, after_op)?;
        let value = Operand::Metric {
            metric: other.to_string(),
            target: other_target,
        };
        return Ok((
            Clause::Compare {
                metric,
                target,
                op: *op,
                value,
            },
            rest,
        ));
    }
    let number_len = after_op
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(after_op.len(), |(i, _)| i);
    let at = (text.len() - after_op.len()) as u32;
    let value: i64 = after_op[..number_len].parse().map_err(|_| {
        (
            "expected a whole number or a metric like `sent(shop)`".to_string(),
            at,
        )
    })?;
    let clause = Clause::Compare {
        metric,
        target,
        op: *op,
        value: Operand::Number(value),
    };
    Ok((clause, &after_op[number_len..]))
}

/// The outcome of one expectation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ExpectationResult {
    pub text: String,
    pub pass: bool,
    /// The observed values, e.g. `deduplicated(orders.fifo) = 1`.
    pub why: String,
}

/// Why a metric could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// No service, queue, topic or link has the target's name.
    Target,
    /// The path names nothing.
    Metric,
    /// The path names something that is not a number (an object, a list, a text).
    NotNumber,
}

/// Something metrics can be read from, addressed as in the summary JSON: `target` is looked up
/// in `services`, `queues`, `topics`, `links` (in that order), or the top level when `None`;
/// `metric` is a `.`-separated path below it (`latency_ms.p99`). Numbers above `i64::MAX`
/// saturate.
pub trait MetricSource {
    fn metric(&self, metric: &str, target: Option<&str>) -> Result<i64, Missing>;
}

impl MetricSource for Value {
    fn metric(&self, metric: &str, target: Option<&str>) -> Result<i64, Missing> {
        let mut value = match target {
            None => self,
            Some(name) => ["services", "queues", "topics", "links"]
                .iter()
                .find_map(|section| self.get(section).and_then(|s| s.get(name)))
                .ok_or(Missing::Target)?,
        };
        for part in metric.split('.') {
            value = value.get(part).ok_or(Missing::Metric)?;
        }
        match value {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_u64().map(|u| u.min(i64::MAX as u64) as i64))
                .or_else(|| n.as_f64().map(|f| f as i64))
                .ok_or(Missing::NotNumber),
            Value::Bool(b) => Ok(i64::from(*b)),
            Value::Null => Ok(0),
            _ => Err(Missing::NotNumber),
        }
    }
}

/// The typed metrics, read along the same paths as their serialized form (`serde_json::to_value`
/// of them), so an expectation means the same in the UI as in the CLI summary.
impl MetricSource for Metrics {
    fn metric(&self, metric: &str, target: Option<&str>) -> Result<i64, Missing> {
        let mut path = metric.split('.');
        match target {
            None => {
                let path = &mut path;
                match path.next().unwrap_or_default() {
                    "t_ms" => number(self.t_ms, path),
                    "events" => number(self.events, path),
                    "connections" => number(self.connections, path),
                    "queues" => section(&self.queues, path, queue),
                    "topics" => section(&self.topics, path, topic),
                    "services" => section(&self.services, path, service),
                    "links" => section(&self.links, path, link),
                    _ => Err(Missing::Metric),
                }
            }
            Some(name) => {
                if let Some(s) = self.services.get(name) {
                    service(s, &mut path)
                } else if let Some(q) = self.queues.get(name) {
                    queue(q, &mut path)
                } else if let Some(t) = self.topics.get(name) {
                    topic(t, &mut path)
                } else if let Some(l) = self.links.get(name) {
                    link(l, &mut path)
                } else {
                    Err(Missing::Target)
                }
            }
        }
    }
}

type Path<'a, 'p> = &'a mut Split<'p, char>;

/// A number at the end of the path; a path going deeper names nothing.
fn number(n: u64, path: Path) -> Result<i64, Missing> {
    match path.next() {
        Some(_) => Err(Missing::Metric),
        None => Ok(n.min(i64::MAX as u64) as i64),
    }
}

/// A text or a list: not a number, and a path going deeper names nothing.
fn not_number(path: Path) -> Result<i64, Missing> {
    match path.next() {
        Some(_) => Err(Missing::Metric),
        None => Err(Missing::NotNumber),
    }
}

fn section<T>(
    map: &BTreeMap<String, T>,
    path: Path,
    read: fn(&T, Path) -> Result<i64, Missing>,
) -> Result<i64, Missing> {
    match path.next() {
        None => Err(Missing::NotNumber),
        Some(name) => map
            .get(name)
            .map_or(Err(Missing::Metric), |v| read(v, path)),
    }
}

fn service(s: &ServiceSummary, path: Path) -> Result<i64, Missing> {
    let Some(field) = path.next() else {
        return Err(Missing::NotNumber);
    };
    let n = match field {
        "state" => return status(&s.state, path),
        "handled" => s.handled,
        "handled_more_than_once" => s.handled_more_than_once,
        "order_violations" => s.order_violations,
        "order_violations_by_group" => {
            return section(&s.order_violations_by_group, path, |n, p| number(*n, p))
        }
        "rpc_calls" => s.rpc_calls,
        "rpc_ok" => s.rpc_ok,
        "rpc_errors" => s.rpc_errors,
        "rpc_timeouts" => s.rpc_timeouts,
        "sent" => s.sent,
        "received" => s.received,
        "chain_sent" => s.chain_sent,
        "busy_ms" => s.busy_ms,
        "idle_ms" => s.idle_ms,
        "latency_ms" => return latency(&s.latency_ms, path),
        _ => return Err(Missing::Metric),
    };
    number(n, path)
}

/// `ServiceStatus` serializes internally tagged: `{"state": "blocked_on_rpc", "since", "target"}`.
fn status(s: &ServiceStatus, path: Path) -> Result<i64, Missing> {
    match (path.next(), s) {
        (None, _) => Err(Missing::NotNumber),
        (Some("state"), _) => not_number(path),
        (Some("since"), ServiceStatus::BlockedOnRpc { since, .. }) => number(since.0, path),
        (Some("target"), ServiceStatus::BlockedOnRpc { target, .. }) => {
            number(u64::from(target.0), path)
        }
        _ => Err(Missing::Metric),
    }
}

fn latency(l: &LatencyPercentiles, path: Path) -> Result<i64, Missing> {
    let n = match path.next() {
        None => return Err(Missing::NotNumber),
        Some("p50") => l.p50,
        Some("p95") => l.p95,
        Some("p99") => l.p99,
        Some(_) => return Err(Missing::Metric),
    };
    number(n, path)
}

fn queue(q: &QueueSummary, path: Path) -> Result<i64, Missing> {
    let c = &q.counters;
    let n = match path.next() {
        None => return Err(Missing::NotNumber),
        Some("sent") => c.sent,
        Some("accepted") => c.accepted,
        Some("deduplicated") => c.deduplicated,
        Some("received") => c.received,
        Some("redelivered") => c.redelivered,
        Some("deleted") => c.deleted,
        Some("dead_lettered") => c.dead_lettered,
        Some("dead_letter_arrivals") => c.dead_letter_arrivals,
        Some("duplicates_injected") => c.duplicates_injected,
        Some("expired") => c.expired,
        Some("purged") => c.purged,
        Some("visible") => c.visible,
        Some("max_visible") => c.max_visible,
        Some("in_flight") => c.in_flight,
        Some("delayed") => c.delayed,
        Some("oldest_age_ms") => q.oldest_age_ms,
        Some("depth_over_time") => return not_number(path),
        Some(_) => return Err(Missing::Metric),
    };
    number(n, path)
}

fn topic(t: &switchboard_engine::broker::TopicMetrics, path: Path) -> Result<i64, Missing> {
    let n = match path.next() {
        None => return Err(Missing::NotNumber),
        Some("published") => t.published,
        Some("deduplicated") => t.deduplicated,
        Some("delivered") => t.delivered,
        Some("filtered_out") => t.filtered_out,
        Some("matched_none") => t.matched_none,
        Some("delivery_failed") => t.delivery_failed,
        Some("endpoint_retries") => t.endpoint_retries,
        Some("endpoint_abandoned") => t.endpoint_abandoned,
        Some(_) => return Err(Missing::Metric),
    };
    number(n, path)
}

fn link(l: &LinkSummary, path: Path) -> Result<i64, Missing> {
    let n = match path.next() {
        None => return Err(Missing::NotNumber),
        Some("state") => {
            // Exhaustive on purpose: a new state must be checked to still serialize as text.
            match l.state {
                LinkState::Ok | LinkState::Partitioned | LinkState::Lossy => {}
            }
            return not_number(path);
        }
        Some("carried") => l.carried,
        Some("lost") => l.lost,
        Some(_) => return Err(Missing::Metric),
    };
    number(n, path)
}

/// Looks a metric up and words a failure (`no metric `x` for `orders``).
pub fn lookup(
    metrics: &dyn MetricSource,
    metric: &str,
    target: Option<&str>,
) -> Result<i64, String> {
    metrics
        .metric(metric, target)
        .map_err(|missing| match missing {
            Missing::Target => format!(
                "no service, queue, topic or link named `{}` in the metrics",
                target.unwrap_or_default()
            ),
            Missing::Metric => format!(
                "no metric `{metric}`{}",
                target.map(|t| format!(" for `{t}`")).unwrap_or_default()
            ),
            Missing::NotNumber => format!("`{metric}` is not a number"),
        })
}

/// Evaluates one clause; returns (holds, observation text).
pub fn eval_clause(clause: &Clause, metrics: &dyn MetricSource) -> (bool, String) {
    match clause {
        Clause::Compare {
            metric,
            target,
            op,
            value,
        } => {
            let shown = |metric: &str, target: &Option<String>| match target {
                Some(t) => format!("{metric}({t})"),
                None => metric.to_string(),
            };
            let left = match lookup(metrics, metric, target.as_deref()) {
                Ok(v) => v,
                Err(why) => return (false, why),
            };
            match value {
                Operand::Number(n) => (
                    op.holds(left, *n),
                    format!("{} = {left}", shown(metric, target)),
                ),
                Operand::Metric {
                    metric: m2,
                    target: t2,
                } => match lookup(metrics, m2, t2.as_deref()) {
                    Ok(right) => {
                        let seen = format!(
                            "{} = {left}, {} = {right}",
                            shown(metric, target),
                            shown(m2, t2)
                        );
                        (op.holds(left, right), seen)
                    }
                    Err(why) => (false, why),
                },
            }
        }
        Clause::Predicate { name, target } => {
            let parts: &[(&str, Op, i64)] = match name.as_str() {
                "every_message_handled_once" => &[
                    ("handled", Op::Gt, 0),
                    ("handled_more_than_once", Op::Eq, 0),
                ],
                "in_order" => &[("order_violations", Op::Eq, 0)],
                "drained" => &[
                    ("visible", Op::Eq, 0),
                    ("in_flight", Op::Eq, 0),
                    ("delayed", Op::Eq, 0),
                ],
                _ => return (false, format!("unknown predicate `{name}`")),
            };
            let mut ok = true;
            let mut seen = Vec::new();
            for (metric, op, value) in parts {
                match lookup(metrics, metric, Some(target)) {
                    Ok(observed) => {
                        ok &= op.holds(observed, *value);
                        seen.push(format!("{metric}({target}) = {observed}"));
                    }
                    Err(why) => return (false, why),
                }
            }
            (ok, seen.join(", "))
        }
    }
}

/// Evaluates a whole expectation text (already validated at load; a parse error fails it).
pub fn evaluate(text: &str, metrics: &dyn MetricSource) -> ExpectationResult {
    match parse(text) {
        Err((message, _)) => ExpectationResult {
            text: text.to_string(),
            pass: false,
            why: message,
        },
        Ok(expr) => {
            let mut pass = true;
            let mut why = Vec::new();
            for clause in &expr.clauses {
                let (ok, seen) = eval_clause(clause, metrics);
                pass &= ok;
                why.push(seen);
            }
            ExpectationResult {
                text: text.to_string(),
                pass,
                why: why.join("; "),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_comparisons_joined_with_and() {
        let expr = parse("deduplicated(orders.fifo) == 1 and visible(orders) <= 5").unwrap();
        assert_eq!(expr.clauses.len(), 2);
        assert_eq!(
            expr.clauses[0],
            Clause::Compare {
                metric: "deduplicated".into(),
                target: Some("orders.fifo".into()),
                op: Op::Eq,
                value: Operand::Number(1)
            }
        );
    }

    #[test]
    fn parses_predicates_and_run_wide_metrics() {
        let expr = parse("every_message_handled_once(billing) and events > 3").unwrap();
        assert_eq!(
            expr.clauses[0],
            Clause::Predicate {
                name: "every_message_handled_once".into(),
                target: "billing".into()
            }
        );
        assert!(matches!(
            expr.clauses[1],
            Clause::Compare {
                target: None,
                op: Op::Gt,
                value: Operand::Number(3),
                ..
            }
        ));
    }

    #[test]
    fn reports_where_parsing_failed() {
        assert_eq!(parse("visible(orders) = 3").unwrap_err().1, 16);
        assert!(parse("visible(orders").is_err());
        assert!(parse("visible(orders) == ").is_err());
        assert!(parse("visible(orders) == 3x").is_err());
        assert!(parse("visible(orders) == 1 or x == 2").is_err());
    }

    #[test]
    fn evaluates_against_summary_json() {
        let m = json!({"queues": {"orders": {"visible": 3}}, "services": {"b": {"handled": 2, "handled_more_than_once": 0, "latency_ms": {"p99": 40}}}});
        assert!(evaluate("visible(orders) == 3", &m).pass);
        assert!(!evaluate("visible(orders) < 3", &m).pass);
        assert!(evaluate("every_message_handled_once(b)", &m).pass);
        assert!(evaluate("latency_ms.p99(b) <= 40", &m).pass);
        assert!(evaluate("handled(b) < visible(orders)", &m).pass);
        assert!(!evaluate("handled(b) == visible(orders)", &m).pass);
        assert!(evaluate("handled(b) < visible(orders)", &m).pass);
        assert!(!evaluate("handled(b) == visible(orders)", &m).pass);
        let missing = evaluate("visible(nope) == 0", &m);
        assert!(!missing.pass && missing.why.contains("nope"));
    }
}
