//! Canonical YAML text for a scenario (the UI's text tab, "Export"): fields in declaration order,
//! defaults left out, durations in their shortest unit. `load(to_yaml(s)) == s` (tested).
//!
//! How: serde_json writes the struct in field order; our own YAML reader turns that JSON into an
//! ordered tree; this module prints the tree as block YAML. No second serializer to maintain.

use crate::file::Scenario;
use crate::yaml::{self, Node, Value};

impl Scenario {
    /// The scenario as canonical YAML text.
    pub fn to_yaml(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string());
        // Our own output is small and well-formed; should it ever not parse, emit JSON (valid YAML).
        let Ok(tree) = yaml::parse(&json) else {
            return json;
        };
        let mut out = String::new();
        emit_block(&tree, 0, &mut out);
        out
    }

    /// The scenario as pretty JSON (the same schema).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// Emits a map or list starting at the current line position (caller wrote the indentation).
fn emit_block(node: &Node, level: usize, out: &mut String) {
    match &node.value {
        Value::Map(entries) => {
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    indent(out, level);
                }
                out.push_str(&scalar(key));
                out.push(':');
                emit_value(value, level, out);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    indent(out, level);
                }
                out.push_str("- ");
                match &item.value {
                    Value::Map(e) if !e.is_empty() => emit_block(item, level + 1, out),
                    _ => {
                        emit_inline(item, out);
                        out.push('\n');
                    }
                }
            }
        }
        Value::Scalar { .. } => {
            out.push_str(&scalar(node));
            out.push('\n');
        }
    }
}

/// After `key:` — inline for scalars and short flat lists, else a nested block.
fn emit_value(value: &Node, level: usize, out: &mut String) {
    match &value.value {
        Value::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            indent(out, level + 1);
            emit_block(value, level + 1, out);
        }
        Value::Seq(items) if !items.is_empty() && !is_short_flat(value) => {
            let _ = items;
            out.push('\n');
            indent(out, level);
            emit_block(value, level, out);
        }
        _ => {
            out.push(' ');
            emit_inline(value, out);
            out.push('\n');
        }
    }
}

fn is_short_flat(node: &Node) -> bool {
    let mut text = String::new();
    emit_inline(node, &mut text);
    text.len() <= 60
        && !text.contains('\n')
        && matches!(&node.value, Value::Seq(items) if items.iter().all(|i| matches!(i.value, Value::Scalar { .. })))
}

/// Flow style: `[a, b]`, `{k: v}`, scalars.
fn emit_inline(node: &Node, out: &mut String) {
    match &node.value {
        Value::Scalar { .. } => out.push_str(&scalar(node)),
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                emit_inline(item, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&scalar(k));
                out.push_str(": ");
                emit_inline(v, out);
            }
            out.push('}');
        }
    }
}

/// A scalar as YAML: plain when that reads back as the same string, else double-quoted.
fn scalar(node: &Node) -> String {
    let Value::Scalar { text, plain } = &node.value else {
        return String::new();
    };
    if *plain || plain_is_safe(text) {
        return text.clone();
    }
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

fn plain_is_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if yaml::is_null(text)
        || matches!(
            text,
            "true" | "false" | "True" | "False" | "yes" | "no" | "on" | "off"
        )
    {
        return false;
    }
    if text.parse::<f64>().is_ok()
        || text.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
            && !looks_like_unit(text)
    {
        return false;
    }
    let special_start = "!&*{}[],#|>@`\"'%?:- \t";
    if special_start.contains(first) || text.ends_with(' ') || text.ends_with(':') {
        return false;
    }
    !text.contains(": ")
        && !text.contains(" #")
        && !text.contains('\n')
        && !text.contains('\t')
        && text.chars().all(|c| !c.is_control())
        && !text.contains(['{', '}', '[', ']', ','])
}

/// `30s`, `5ms..20ms`, `1%` read back as strings, so they may stay plain.
fn looks_like_unit(text: &str) -> bool {
    crate::file::Latency::parse(text).is_some() || crate::file::Percent::parse(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_only_when_it_reads_back_as_the_same_string() {
        assert!(plain_is_safe("orders.fifo"));
        assert!(!plain_is_safe("order {n}")); // braces would start a flow map
        assert!(!plain_is_safe("true"));
        assert!(!plain_is_safe("42"));
        assert!(plain_is_safe("30s"));
        assert!(!plain_is_safe("a: b"));
        assert!(!plain_is_safe(""));
    }
}
