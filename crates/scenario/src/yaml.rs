//! Text (YAML 1.2, hence also JSON) to a small tree of nodes that remember their line and column.
//!
//! Built from `saphyr-parser`'s event stream with an explicit stack (no recursion), so every limit
//! is ours: input size, nesting depth, total nodes, and alias expansion (a "billion laughs" file is
//! refused before it is expanded). Never panics on any input.

use crate::diag::{Diagnostic, Pos};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Largest accepted scenario text. Real scenarios are a few KB; the limit keeps the browser responsive.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Deepest accepted nesting of maps and lists (the format itself needs about 6).
pub const MAX_DEPTH: u32 = 64;
/// Most nodes a document may have after aliases are expanded.
pub const MAX_NODES: u64 = 200_000;

/// A parsed value with the position where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar as written. `plain` is false for quoted and block scalars (always strings).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// Short name of the node's type for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar { text, plain: true } if is_null(text) => "null",
            Value::Scalar { text, plain: true } if text == "true" || text == "false" => "a boolean",
            Value::Scalar { text, plain: true } if text.parse::<f64>().is_ok() => "a number",
            Value::Scalar { .. } => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if is_null(text))
    }
}

pub fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line() as u32,
        column: span.start.col() as u32 + 1,
    }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Parses one document. Errors are returned as a single diagnostic (a syntax error stops parsing).
pub fn parse(text: &str) -> Result<Node, Diagnostic> {
    if text.len() > MAX_BYTES {
        return Err(Diagnostic::new(
            Pos { line: 1, column: 1 },
            "",
            format!(
                "the file is {} bytes; scenarios are limited to {} bytes",
                text.len(),
                MAX_BYTES
            ),
        )
        .hint("split it, or remove generated content"));
    }
    if let Some(offset) = text.find('\0') {
        let pos = position_of_offset(text, offset);
        return Err(Diagnostic::new(
            pos,
            "",
            "the file contains a NUL byte: this is not a text file",
        )
        .hint("scenarios are UTF-8 YAML or JSON text"));
    }
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // By anchor id: the parser numbers anchors densely from 1 in the order it meets them, so a
    // Vec by id answers as a map would, without a `BTreeMap` monomorph in the wasm. An entry is
    // set when its node completes (an alias inside its own anchor's node finds nothing).
    let mut anchors: Vec<Option<(Node, u64)>> = Vec::new();
    let mut nodes: u64 = 0;
    let mut documents = 0u32;
    let mut root: Option<Node> = None;
    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(pair)) => pair,
            Some(Err(error)) => {
                let mark = error.marker();
                let pos = Pos {
                    line: mark.line() as u32,
                    column: mark.col() as u32 + 1,
                };
                return Err(
                    Diagnostic::new(pos, "", format!("not valid YAML: {}", error.info()))
                        .hint("check indentation, quotes and brackets near here"),
                );
            }
        };
        let pos = pos_of(&span);
        let complete: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(Diagnostic::new(
                        pos,
                        "",
                        "more than one YAML document in the file",
                    )
                    .hint("a scenario is one document; remove the second `---`"));
                }
                None
            }
            Event::Alias(id) => {
                let Some(Some((node, count))) = anchors.get(id) else {
                    return Err(Diagnostic::new(pos, "", "alias to an unknown anchor"));
                };
                nodes = nodes.saturating_add(*count);
                if nodes > MAX_NODES {
                    return Err(alias_limit(pos));
                }
                Some((node.clone(), 0))
            }
            Event::Scalar(text, style, anchor, _tag) => {
                nodes += 1;
                let plain = matches!(style, ScalarStyle::Plain);
                Some((
                    Node {
                        pos,
                        value: Value::Scalar {
                            text: text.into_owned(),
                            plain,
                        },
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                nodes += 1;
                if stack.len() as u32 >= MAX_DEPTH {
                    return Err(Diagnostic::new(
                        pos,
                        "",
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    )
                    .hint("scenarios need only a few levels; this looks generated or corrupted"));
                }
                if matches!(event, Event::SequenceStart(..)) {
                    stack.push(Frame::Seq {
                        pos,
                        anchor,
                        items: Vec::new(),
                    });
                } else {
                    stack.push(Frame::Map {
                        pos,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                    });
                }
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => Some((
                    Node {
                        pos,
                        value: Value::Seq(items),
                    },
                    anchor,
                )),
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    ..
                }) => Some((
                    Node {
                        pos,
                        value: Value::Map(entries),
                    },
                    anchor,
                )),
                None => return Err(Diagnostic::new(pos, "", "unbalanced end of a collection")),
            },
        };
        if nodes > MAX_NODES {
            return Err(Diagnostic::new(
                pos,
                "",
                format!("more than {MAX_NODES} values in one file"),
            )
            .hint("scenarios are small; this looks generated"));
        }
        let Some((node, anchor)) = complete else {
            continue;
        };
        if anchor != 0 {
            let count = count_nodes(&node);
            if anchors.len() <= anchor {
                anchors.resize_with(anchor + 1, || None);
            }
            anchors[anchor] = Some((node.clone(), count));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    match root {
        Some(node) => Ok(node),
        None => Err(
            Diagnostic::new(Pos { line: 1, column: 1 }, "", "the file is empty")
                .hint("start with `version: 1` and a `title:`"),
        ),
    }
}

fn alias_limit(pos: Pos) -> Diagnostic {
    Diagnostic::new(
        pos,
        "",
        format!("aliases expand to more than {MAX_NODES} values"),
    )
    .hint("this looks like an alias bomb; write the values out or use fewer `*alias` references")
}

/// Nodes in a tree, iteratively (the tree may be deep).
fn count_nodes(node: &Node) -> u64 {
    let mut count = 0u64;
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        count += 1;
        match &n.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => todo.extend(items.iter()),
            Value::Map(entries) => {
                for (k, v) in entries {
                    todo.push(k);
                    todo.push(v);
                }
            }
        }
    }
    count
}

fn position_of_offset(text: &str, offset: usize) -> Pos {
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    Pos { line, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_remember_line_and_column() {
        let node = parse("a: 1\nb:\n  - x\n").unwrap();
        let Value::Map(entries) = node.value else {
            panic!("not a map")
        };
        assert_eq!(entries[1].0.pos, Pos { line: 2, column: 1 });
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("not a list")
        };
        assert_eq!(items[0].pos, Pos { line: 3, column: 5 });
    }

    #[test]
    fn json_parses_as_yaml() {
        let node = parse("{\"a\": [1, 2], \"b\": \"x\"}").unwrap();
        assert!(matches!(node.value, Value::Map(ref e) if e.len() == 2));
    }

    #[test]
    fn quoted_scalars_are_not_plain() {
        let node = parse("'true'").unwrap();
        assert_eq!(
            node.value,
            Value::Scalar {
                text: "true".into(),
                plain: false
            }
        );
    }

    #[test]
    fn aliases_expand_within_budget() {
        let node = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        let Value::Map(entries) = node.value else {
            panic!()
        };
        assert_eq!(entries[0].1.value, entries[1].1.value);
    }
}
