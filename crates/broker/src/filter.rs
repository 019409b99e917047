//! SNS subscription filter policies: parsing the JSON policy and matching it against message
//! attributes or a JSON body. No regex and no floats: numbers are fixed-point decimals.
//!
//! Operators follow <https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html>:
//! exact string / number / null, `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a
//! value, a list, or `{"prefix": ..}` / `{"suffix": ..}`), `numeric` (`=`, `<`, `<=`, `>`, `>=`,
//! and a range as a `>`/`>=` pair followed by a `<`/`<=` pair), `exists`, and `$or`. Keys are
//! ANDed, the values listed for one key are ORed.

use serde_json::Value;

use crate::config::FilterPolicyScope;
use crate::ids::{AttributeType, MessageAttributes};

/// SNS numeric matching: "from -1,000,000,000 to 1,000,000,000" with 5 digits after the point.
/// Values are kept as integers scaled by 10^5, parsed from the decimal text; digits past the
/// fifth decimal are truncated toward zero. This is exact and identical on every platform.
/// <https://docs.aws.amazon.com/sns/latest/dg/numeric-value-matching.html>
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decimal(i128);

impl Decimal {
    pub const SCALE_DIGITS: u32 = 5;
    const SCALE: i128 = 100_000;
    const LIMIT: i128 = 1_000_000_000 * Self::SCALE;

    /// Parses `-12.5`, `3`, `1e3`, `2.5E-2`. `None` for anything else or out of ±1e9.
    pub fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(pos) => (&rest[..pos], Some(&rest[pos + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(pos) => (&mantissa[..pos], &mantissa[pos + 1..]),
            None => (mantissa, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let exp10: i64 = match exponent {
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty()
                    || digits.len() > 4
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                let magnitude: i64 = digits.parse().ok()?;
                if e.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                }
            }
            None => 0,
        };
        // value = digits * 10^(exp10 - frac_len); scaled = value * 10^5.
        let digits: Vec<u8> = int_part
            .bytes()
            .chain(frac_part.bytes())
            .map(|b| b - b'0')
            .skip_while(|&d| d == 0)
            .collect();
        let shift = exp10 - frac_part.len() as i64 + Self::SCALE_DIGITS as i64;
        let mut scaled: i128 = 0;
        let kept = if shift >= 0 {
            digits.len() as i64
        } else {
            digits.len() as i64 + shift
        };
        if kept > 0 {
            for &d in &digits[..kept as usize] {
                scaled = scaled.checked_mul(10)?.checked_add(d as i128)?;
                if scaled > Self::LIMIT {
                    return None;
                }
            }
            for _ in 0..shift.max(0) {
                scaled = scaled.checked_mul(10)?;
                if scaled > Self::LIMIT {
                    return None;
                }
            }
        }
        Some(Decimal(if negative { -scaled } else { scaled }))
    }

    /// The value times 10^5.
    pub fn scaled(self) -> i128 {
        self.0
    }
}

/// A parsed filter policy.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterPolicy {
    scope: FilterPolicyScope,
    root: Node,
}

/// Keys ANDed together, plus `$or` groups (each matches when one of its alternatives does).
#[derive(Clone, Debug, PartialEq)]
struct Node {
    keys: Vec<(String, Rule)>,
    ors: Vec<Vec<Node>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Rule {
    /// Body scope: a nested object.
    Nested(Node),
    /// The listed conditions, ORed.
    Any(Vec<Cond>),
}

#[derive(Clone, Debug, PartialEq)]
enum Scalar {
    Str(String),
    Num(Decimal),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
enum Cond {
    Str(String),
    Num(Decimal),
    Bool(bool),
    Null,
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Vec<Scalar>),
    AnythingButPrefix(String),
    AnythingButSuffix(String),
    Numeric(Vec<(Cmp, Decimal)>),
    Exists(bool),
}

/// A value found in the message for a key.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Str(String),
    Num(Decimal),
    Bool(bool),
    Null,
    /// Present but not comparable (binary attribute, object, number out of range).
    Opaque,
}

/// SNS limit: the total combination of values in a policy may not exceed 150.
/// <https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html>
pub const MAX_COMBINATIONS: u64 = 150;
/// SNS limit: "A filter policy can have a maximum of five keys." Counted here as distinct key
/// paths with a condition list (a nested body key `a.b` is one key; a key repeated in several
/// `$or` alternatives counts once).
/// <https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html>
pub const MAX_KEYS: u64 = 5;
/// SNS limit: a filter policy is at most 256 KB.
pub const MAX_POLICY_BYTES: u64 = 262_144;
/// Playground limit: nesting depth of body policies.
pub const MAX_DEPTH: u32 = 8;

impl FilterPolicy {
    /// Parses and checks a policy; the error says what is wrong and where (the key path).
    pub fn parse(text: &str, scope: FilterPolicyScope) -> Result<FilterPolicy, String> {
        if text.len() as u64 > MAX_POLICY_BYTES {
            return Err(format!(
                "filter policy is larger than {MAX_POLICY_BYTES} bytes"
            ));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format!("filter policy is not valid JSON: {e}"))?;
        let root = parse_node(&value, scope, "", 0)?;
        let mut keys = std::collections::BTreeSet::new();
        root.key_paths("", &mut keys);
        if keys.len() as u64 > MAX_KEYS {
            return Err(format!(
                "filter policy has {} keys, more than the SNS limit of {MAX_KEYS}",
                keys.len()
            ));
        }
        let combinations = root.combinations();
        if combinations > MAX_COMBINATIONS {
            return Err(format!(
                "filter policy has {combinations} value combinations, more than the SNS limit of {MAX_COMBINATIONS}"
            ));
        }
        Ok(FilterPolicy { scope, root })
    }

    pub fn scope(&self) -> FilterPolicyScope {
        self.scope
    }

    /// Does a message with this body and these attributes pass the policy?
    pub fn matches(&self, body: &str, attributes: &MessageAttributes) -> bool {
        match self.scope {
            FilterPolicyScope::MessageAttributes => self
                .root
                .matches(&|key: &str| attribute_values(attributes, key)),
            FilterPolicyScope::MessageBody => {
                // A body that is not a JSON object matches no body policy.
                let Ok(Value::Object(object)) = serde_json::from_str::<Value>(body) else {
                    return false;
                };
                let object = Value::Object(object);
                self.root.matches_json(&object)
            }
        }
    }
}

fn parse_node(
    value: &Value,
    scope: FilterPolicyScope,
    path: &str,
    depth: u32,
) -> Result<Node, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "filter policy nests deeper than {MAX_DEPTH} levels at {path}"
        ));
    }
    let Value::Object(object) = value else {
        return Err(format!("filter policy{} must be a JSON object", at(path)));
    };
    if object.is_empty() {
        return Err(format!("filter policy{} has no keys", at(path)));
    }
    let mut node = Node {
        keys: Vec::new(),
        ors: Vec::new(),
    };
    for (key, rule) in object {
        let key_path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        if key == "$or" {
            let Value::Array(alternatives) = rule else {
                return Err(format!("\"$or\"{} must be an array of objects", at(path)));
            };
            if alternatives.len() < 2 {
                return Err(format!(
                    "\"$or\"{} needs at least two alternatives",
                    at(path)
                ));
            }
            let parsed = alternatives
                .iter()
                .map(|alt| parse_node(alt, scope, path, depth + 1))
                .collect::<Result<Vec<Node>, String>>()?;
            node.ors.push(parsed);
            continue;
        }
        match rule {
            Value::Array(conds) => {
                if conds.is_empty() {
                    return Err(format!("{key_path}: the list of values is empty"));
                }
                let conds = conds
                    .iter()
                    .map(|c| parse_cond(c, &key_path))
                    .collect::<Result<Vec<Cond>, String>>()?;
                node.keys.push((key.clone(), Rule::Any(conds)));
            }
            Value::Object(_) if scope == FilterPolicyScope::MessageBody => {
                node.keys.push((
                    key.clone(),
                    Rule::Nested(parse_node(rule, scope, &key_path, depth + 1)?),
                ));
            }
            _ => {
                return Err(format!(
                    "{key_path}: expected a list of values{}",
                    if scope == FilterPolicyScope::MessageAttributes {
                        ""
                    } else {
                        " or a nested object"
                    }
                ))
            }
        }
    }
    Ok(node)
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}

fn number(value: &serde_json::Number, path: &str) -> Result<Decimal, String> {
    Decimal::parse(&value.to_string())
        .ok_or_else(|| format!("{path}: {value} is outside the SNS numeric range of ±1e9"))
}

fn string(value: &Value, path: &str, op: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("{path}: \"{op}\" needs a string")),
    }
}

fn parse_cond(value: &Value, path: &str) -> Result<Cond, String> {
    match value {
        Value::String(s) => Ok(Cond::Str(s.clone())),
        Value::Number(n) => Ok(Cond::Num(number(n, path)?)),
        Value::Bool(b) => Ok(Cond::Bool(*b)),
        Value::Null => Ok(Cond::Null),
        Value::Array(_) => Err(format!("{path}: a value list cannot contain a list")),
        Value::Object(object) => {
            if object.len() != 1 {
                return Err(format!(
                    "{path}: an operator object must have exactly one operator"
                ));
            }
            let (op, arg) = object.iter().next().expect("one entry");
            match op.as_str() {
                "prefix" => Ok(Cond::Prefix(string(arg, path, op)?)),
                "suffix" => Ok(Cond::Suffix(string(arg, path, op)?)),
                "equals-ignore-case" => Ok(Cond::EqualsIgnoreCase(string(arg, path, op)?)),
                "exists" => match arg {
                    Value::Bool(b) => Ok(Cond::Exists(*b)),
                    _ => Err(format!("{path}: \"exists\" needs true or false")),
                },
                "anything-but" => parse_anything_but(arg, path),
                "numeric" => parse_numeric(arg, path),
                other => Err(format!("{path}: unknown operator \"{other}\"")),
            }
        }
    }
}

fn parse_anything_but(arg: &Value, path: &str) -> Result<Cond, String> {
    let scalar = |v: &Value| -> Result<Scalar, String> {
        match v {
            Value::String(s) => Ok(Scalar::Str(s.clone())),
            Value::Number(n) => Ok(Scalar::Num(number(n, path)?)),
            _ => Err(format!("{path}: \"anything-but\" takes strings or numbers")),
        }
    };
    match arg {
        Value::Array(items) if !items.is_empty() => Ok(Cond::AnythingBut(
            items.iter().map(scalar).collect::<Result<_, _>>()?,
        )),
        Value::Object(object) if object.len() == 1 => {
            let (op, inner) = object.iter().next().expect("one entry");
            match op.as_str() {
                "prefix" => Ok(Cond::AnythingButPrefix(string(inner, path, op)?)),
                "suffix" => Ok(Cond::AnythingButSuffix(string(inner, path, op)?)),
                other => Err(format!(
                    "{path}: \"anything-but\" does not support \"{other}\""
                )),
            }
        }
        Value::String(_) | Value::Number(_) => Ok(Cond::AnythingBut(vec![scalar(arg)?])),
        _ => Err(format!(
            "{path}: \"anything-but\" needs a value, a non-empty list, or {{\"prefix\": ..}}"
        )),
    }
}

fn parse_numeric(arg: &Value, path: &str) -> Result<Cond, String> {
    let Value::Array(items) = arg else {
        return Err(format!(
            "{path}: \"numeric\" needs a list like [\">\", 0, \"<=\", 100]"
        ));
    };
    if items.len() != 2 && items.len() != 4 {
        return Err(format!(
            "{path}: \"numeric\" needs one or two (operator, number) pairs"
        ));
    }
    let mut pairs = Vec::new();
    for pair in items.chunks(2) {
        let cmp = match pair[0].as_str() {
            Some("=") => Cmp::Eq,
            Some("<") => Cmp::Lt,
            Some("<=") => Cmp::Le,
            Some(">") => Cmp::Gt,
            Some(">=") => Cmp::Ge,
            _ => return Err(format!("{path}: \"numeric\" operators are =, <, <=, >, >=")),
        };
        let Value::Number(n) = &pair[1] else {
            return Err(format!(
                "{path}: \"numeric\" needs a number after each operator"
            ));
        };
        pairs.push((cmp, number(n, path)?));
    }
    if pairs.len() == 2 {
        let lower_ok = matches!(pairs[0].0, Cmp::Gt | Cmp::Ge);
        let upper_ok = matches!(pairs[1].0, Cmp::Lt | Cmp::Le);
        if !lower_ok || !upper_ok || pairs[0].1 > pairs[1].1 {
            return Err(format!("{path}: a numeric range is a lower bound (> or >=) then a higher upper bound (< or <=)"));
        }
    }
    Ok(Cond::Numeric(pairs))
}

impl Node {
    /// Every key path that carries a list of conditions.
    fn key_paths(&self, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        for (key, rule) in &self.keys {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match rule {
                Rule::Nested(node) => node.key_paths(&path, out),
                Rule::Any(_) => {
                    out.insert(path);
                }
            }
        }
        for alternatives in &self.ors {
            for alt in alternatives {
                alt.key_paths(prefix, out);
            }
        }
    }

    fn combinations(&self) -> u64 {
        let keys = self.keys.iter().fold(1u64, |acc, (_, rule)| {
            let n = match rule {
                Rule::Nested(node) => node.combinations(),
                Rule::Any(conds) => conds.len() as u64,
            };
            acc.saturating_mul(n.max(1))
        });
        self.ors.iter().fold(keys, |acc, alternatives| {
            acc.saturating_mul(
                alternatives
                    .iter()
                    .map(Node::combinations)
                    .fold(0u64, u64::saturating_add)
                    .max(1),
            )
        })
    }

    /// Attribute scope: `lookup(key)` gives the values, `None` when the attribute is missing.
    fn matches(&self, lookup: &dyn Fn(&str) -> Option<Vec<Val>>) -> bool {
        let keys_match = self.keys.iter().all(|(key, rule)| match rule {
            Rule::Any(conds) => rule_matches(conds, lookup(key).as_deref()),
            Rule::Nested(_) => false,
        });
        keys_match
            && self
                .ors
                .iter()
                .all(|alternatives| alternatives.iter().any(|alt| alt.matches(lookup)))
    }

    /// Body scope: walk the JSON object.
    fn matches_json(&self, object: &Value) -> bool {
        let keys_match = self.keys.iter().all(|(key, rule)| {
            let field = object.get(key);
            match rule {
                Rule::Nested(node) => match field {
                    Some(inner @ Value::Object(_)) => node.matches_json(inner),
                    // Objects inside arrays: the nested rule matches if one element matches.
                    Some(Value::Array(items)) => items
                        .iter()
                        .any(|item| item.is_object() && node.matches_json(item)),
                    _ => node.matches_json(&Value::Object(serde_json::Map::new())),
                },
                Rule::Any(conds) => rule_matches(conds, field.map(json_values).as_deref()),
            }
        });
        keys_match
            && self
                .ors
                .iter()
                .all(|alternatives| alternatives.iter().any(|alt| alt.matches_json(object)))
    }
}

fn json_value(value: &Value) -> Val {
    match value {
        Value::String(s) => Val::Str(s.clone()),
        Value::Number(n) => Decimal::parse(&n.to_string()).map_or(Val::Opaque, Val::Num),
        Value::Bool(b) => Val::Bool(*b),
        Value::Null => Val::Null,
        Value::Array(_) | Value::Object(_) => Val::Opaque,
    }
}

fn json_values(value: &Value) -> Vec<Val> {
    match value {
        Value::Array(items) => items.iter().map(json_value).collect(),
        other => vec![json_value(other)],
    }
}

/// The values of a message attribute, or `None` when it is missing.
fn attribute_values(attributes: &MessageAttributes, key: &str) -> Option<Vec<Val>> {
    let attribute = attributes.get(key)?;
    Some(match attribute.data_type {
        AttributeType::String => vec![Val::Str(attribute.value.clone())],
        AttributeType::Number => {
            vec![Decimal::parse(&attribute.value).map_or(Val::Opaque, Val::Num)]
        }
        AttributeType::Binary => vec![Val::Opaque],
        AttributeType::StringArray => match serde_json::from_str::<Value>(&attribute.value) {
            Ok(Value::Array(items)) => items.iter().map(json_value).collect(),
            _ => vec![Val::Opaque],
        },
    })
}

/// One key: any listed condition matching any value. A missing key only satisfies
/// `{"exists": false}`; in particular `anything-but` never matches a missing attribute.
fn rule_matches(conds: &[Cond], values: Option<&[Val]>) -> bool {
    match values {
        None => conds.contains(&Cond::Exists(false)),
        Some(values) => conds.iter().any(|cond| match cond {
            Cond::Exists(wanted) => *wanted,
            _ => values.iter().any(|v| cond_matches(cond, v)),
        }),
    }
}

fn scalar_equals(scalar: &Scalar, value: &Val) -> bool {
    match (scalar, value) {
        (Scalar::Str(s), Val::Str(v)) => s == v,
        (Scalar::Num(s), Val::Num(v)) => s == v,
        _ => false,
    }
}

fn cond_matches(cond: &Cond, value: &Val) -> bool {
    match (cond, value) {
        (Cond::Str(s), Val::Str(v)) => s == v,
        (Cond::Num(n), Val::Num(v)) => n == v,
        (Cond::Bool(b), Val::Bool(v)) => b == v,
        (Cond::Null, Val::Null) => true,
        (Cond::Prefix(p), Val::Str(v)) => v.starts_with(p.as_str()),
        (Cond::Suffix(p), Val::Str(v)) => v.ends_with(p.as_str()),
        (Cond::EqualsIgnoreCase(p), Val::Str(v)) => p.to_lowercase() == v.to_lowercase(),
        (Cond::AnythingBut(list), Val::Str(_) | Val::Num(_)) => {
            !list.iter().any(|s| scalar_equals(s, value))
        }
        (Cond::AnythingButPrefix(p), Val::Str(v)) => !v.starts_with(p.as_str()),
        (Cond::AnythingButSuffix(p), Val::Str(v)) => !v.ends_with(p.as_str()),
        (Cond::Numeric(pairs), Val::Num(v)) => pairs.iter().all(|(cmp, bound)| match cmp {
            Cmp::Eq => v == bound,
            Cmp::Lt => v < bound,
            Cmp::Le => v <= bound,
            Cmp::Gt => v > bound,
            Cmp::Ge => v >= bound,
        }),
        (Cond::Exists(wanted), _) => *wanted,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_parses_exactly_to_five_places() {
        assert_eq!(Decimal::parse("12.5").map(Decimal::scaled), Some(1_250_000));
        assert_eq!(Decimal::parse("-0.000019").map(Decimal::scaled), Some(-1));
        assert_eq!(
            Decimal::parse("1e3").map(Decimal::scaled),
            Some(100_000_000)
        );
        assert_eq!(Decimal::parse("2.5E-2").map(Decimal::scaled), Some(2_500));
        assert_eq!(
            Decimal::parse("1000000000").map(Decimal::scaled),
            Some(100_000_000_000_000)
        );
        assert_eq!(Decimal::parse("1000000000.00001"), None);
        assert_eq!(Decimal::parse("abc"), None);
        assert_eq!(Decimal::parse("."), None);
        assert_eq!(Decimal::parse("1e99999"), None);
    }
}
