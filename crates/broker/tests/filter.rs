//! SNS filter policies, one operator per test, on message attributes and on the message body.

mod common;
use common::*;
use switchboard_broker::*;

/// Publishes each message to a topic with one filtered subscription; returns which got through.
fn passes(policy: &str, scope: FilterPolicyScope, messages: &[PublishRequest]) -> Vec<bool> {
    let mut w = World::new();
    let t = w.broker.create_topic(TopicConfig::new("events")).unwrap();
    let q = w.queue(QueueConfig::new("filtered"));
    w.broker
        .subscribe(
            t,
            SubscriptionConfig::queue(q)
                .raw()
                .with_filter(policy, scope),
        )
        .unwrap();
    messages
        .iter()
        .map(|m| {
            let before = w.metrics(q).accepted;
            w.broker
                .publish(w.now, t, m.clone(), &mut w.rng, &mut w.events)
                .unwrap();
            w.metrics(q).accepted > before
        })
        .collect()
}

fn attrs(pairs: &[(&str, AttributeValue)]) -> PublishRequest {
    let mut req = PublishRequest::new("body");
    for (k, v) in pairs {
        req = req.attribute(*k, v.clone());
    }
    req
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::string(v)
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::number(v)
}

const ATTR: FilterPolicyScope = FilterPolicyScope::MessageAttributes;
const BODY: FilterPolicyScope = FilterPolicyScope::MessageBody;

#[test]
fn filter_policy_exact_string_match() {
    let got = passes(
        r#"{"color":["red","blue"]}"#,
        ATTR,
        &[
            attrs(&[("color", s("red"))]),
            attrs(&[("color", s("blue"))]),
            attrs(&[("color", s("Red"))]),
            attrs(&[]),
        ],
    );
    assert_eq!(got, vec![true, true, false, false]);
}

#[test]
fn filter_policy_exact_number_match() {
    let got = passes(
        r#"{"price":[100]}"#,
        ATTR,
        &[
            attrs(&[("price", n("100"))]),
            attrs(&[("price", n("100.000"))]),
            attrs(&[("price", n("1e2"))]),
            attrs(&[("price", n("101"))]),
            attrs(&[("price", s("100"))]),
        ],
    );
    assert_eq!(
        got,
        vec![true, true, true, false, false],
        "numbers compare by value; a String attribute is not a number"
    );
}

#[test]
fn filter_policy_prefix() {
    let got = passes(
        r#"{"region":[{"prefix":"eu-"}]}"#,
        ATTR,
        &[
            attrs(&[("region", s("eu-west-1"))]),
            attrs(&[("region", s("us-east-1"))]),
        ],
    );
    assert_eq!(got, vec![true, false]);
}

#[test]
fn filter_policy_suffix() {
    let got = passes(
        r#"{"file":[{"suffix":".png"}]}"#,
        ATTR,
        &[
            attrs(&[("file", s("cat.png"))]),
            attrs(&[("file", s("cat.jpg"))]),
        ],
    );
    assert_eq!(got, vec![true, false]);
}

#[test]
fn filter_policy_equals_ignore_case() {
    let got = passes(
        r#"{"color":[{"equals-ignore-case":"RED"}]}"#,
        ATTR,
        &[
            attrs(&[("color", s("red"))]),
            attrs(&[("color", s("rEd"))]),
            attrs(&[("color", s("reddish"))]),
        ],
    );
    assert_eq!(got, vec![true, true, false]);
}

#[test]
fn filter_policy_anything_but_values() {
    let got = passes(
        r#"{"color":[{"anything-but":["red","blue"]}]}"#,
        ATTR,
        &[
            attrs(&[("color", s("green"))]),
            attrs(&[("color", s("red"))]),
            attrs(&[("color", s("blue"))]),
        ],
    );
    assert_eq!(got, vec![true, false, false]);
    let got = passes(
        r#"{"price":[{"anything-but":100}]}"#,
        ATTR,
        &[attrs(&[("price", n("99"))]), attrs(&[("price", n("100"))])],
    );
    assert_eq!(got, vec![true, false]);
}

#[test]
fn filter_policy_anything_but_prefix() {
    let got = passes(
        r#"{"region":[{"anything-but":{"prefix":"eu-"}}]}"#,
        ATTR,
        &[
            attrs(&[("region", s("us-east-1"))]),
            attrs(&[("region", s("eu-west-1"))]),
        ],
    );
    assert_eq!(got, vec![true, false]);
}

#[test]
fn filter_policy_anything_but_never_matches_missing_attribute() {
    let got = passes(
        r#"{"color":[{"anything-but":["red"]}]}"#,
        ATTR,
        &[
            attrs(&[]),
            attrs(&[("other", s("x"))]),
            attrs(&[("color", s("green"))]),
        ],
    );
    assert_eq!(got, vec![false, false, true]);
}

#[test]
fn filter_policy_numeric_comparisons() {
    let msgs: Vec<PublishRequest> = ["-1", "0", "0.5", "100", "100.00001", "abc"]
        .iter()
        .map(|v| attrs(&[("price", n(v))]))
        .collect();
    assert_eq!(
        passes(r#"{"price":[{"numeric":[">",0]}]}"#, ATTR, &msgs),
        vec![false, false, true, true, true, false]
    );
    assert_eq!(
        passes(r#"{"price":[{"numeric":[">=",0]}]}"#, ATTR, &msgs),
        vec![false, true, true, true, true, false]
    );
    assert_eq!(
        passes(r#"{"price":[{"numeric":["<",0.5]}]}"#, ATTR, &msgs),
        vec![true, true, false, false, false, false]
    );
    assert_eq!(
        passes(r#"{"price":[{"numeric":["<=",100]}]}"#, ATTR, &msgs),
        vec![true, true, true, true, false, false]
    );
    assert_eq!(
        passes(r#"{"price":[{"numeric":["=",100]}]}"#, ATTR, &msgs),
        vec![false, false, false, true, false, false]
    );
}

#[test]
fn filter_policy_numeric_range_between_two_bounds() {
    let msgs: Vec<PublishRequest> = ["0", "0.00001", "150", "150.00001"]
        .iter()
        .map(|v| attrs(&[("price", n(v))]))
        .collect();
    assert_eq!(
        passes(r#"{"price":[{"numeric":[">",0,"<=",150]}]}"#, ATTR, &msgs),
        vec![false, true, true, false]
    );
}

#[test]
fn filter_policy_numeric_precision_is_five_decimals() {
    // Digits past the fifth decimal are dropped, so these compare equal to 1.00001.
    let msgs: Vec<PublishRequest> = ["1.000019", "1.00001", "1.00002"]
        .iter()
        .map(|v| attrs(&[("v", n(v))]))
        .collect();
    assert_eq!(
        passes(r#"{"v":[{"numeric":["=",1.00001]}]}"#, ATTR, &msgs),
        vec![true, true, false]
    );
}

#[test]
fn filter_policy_exists_true_and_false() {
    let msgs = [attrs(&[("trace", s("1"))]), attrs(&[])];
    assert_eq!(
        passes(r#"{"trace":[{"exists":true}]}"#, ATTR, &msgs),
        vec![true, false]
    );
    assert_eq!(
        passes(r#"{"trace":[{"exists":false}]}"#, ATTR, &msgs),
        vec![false, true]
    );
}

#[test]
fn filter_policy_keys_are_anded() {
    let policy = r#"{"color":["red"],"size":["L"]}"#;
    let got = passes(
        policy,
        ATTR,
        &[
            attrs(&[("color", s("red")), ("size", s("L"))]),
            attrs(&[("color", s("red")), ("size", s("M"))]),
            attrs(&[("color", s("red"))]),
        ],
    );
    assert_eq!(got, vec![true, false, false]);
}

#[test]
fn filter_policy_or_across_keys() {
    let policy = r#"{"$or":[{"color":["red"]},{"size":["L"]}]}"#;
    let got = passes(
        policy,
        ATTR,
        &[
            attrs(&[("color", s("red"))]),
            attrs(&[("size", s("L"))]),
            attrs(&[("color", s("blue")), ("size", s("M"))]),
        ],
    );
    assert_eq!(got, vec![true, true, false]);
}

#[test]
fn filter_policy_string_array_attribute_matches_any_element() {
    let got = passes(
        r#"{"tags":["urgent"]}"#,
        ATTR,
        &[
            attrs(&[("tags", AttributeValue::string_array(r#"["low","urgent"]"#))]),
            attrs(&[("tags", AttributeValue::string_array(r#"["low"]"#))]),
        ],
    );
    assert_eq!(got, vec![true, false]);
}

#[test]
fn filter_policy_on_message_body() {
    let policy = r#"{"order":{"status":["paid"],"total":[{"numeric":[">=",50]}]}}"#;
    let got = passes(
        policy,
        BODY,
        &[
            PublishRequest::new(r#"{"order":{"status":"paid","total":75}}"#),
            PublishRequest::new(r#"{"order":{"status":"paid","total":10}}"#),
            PublishRequest::new(r#"{"order":{"status":"open","total":75}}"#),
            PublishRequest::new("not json"),
            // The body scope ignores attributes.
            PublishRequest::new("{}").attribute("status", s("paid")),
        ],
    );
    assert_eq!(got, vec![true, false, false, false, false]);
}

#[test]
fn filter_policy_body_arrays_match_any_element() {
    let got = passes(
        r#"{"tags":[{"prefix":"urg"}]}"#,
        BODY,
        &[
            PublishRequest::new(r#"{"tags":["low","urgent"]}"#),
            PublishRequest::new(r#"{"tags":["low"]}"#),
        ],
    );
    assert_eq!(got, vec![true, false]);
}

#[test]
fn filter_policy_anything_but_never_matches_missing_body_field() {
    let got = passes(
        r#"{"status":[{"anything-but":["paid"]}]}"#,
        BODY,
        &[
            PublishRequest::new(r#"{"other":1}"#),
            PublishRequest::new(r#"{"status":"open"}"#),
        ],
    );
    assert_eq!(got, vec![false, true]);
}

#[test]
fn filter_policy_invalid_policies_fail_subscribe() {
    let mut w = World::new();
    let t = w.broker.create_topic(TopicConfig::new("events")).unwrap();
    let q = w.queue(QueueConfig::new("q"));
    let bad = [
        r#"not json"#,
        r#"["a"]"#,
        r#"{"a":"red"}"#,
        r#"{"a":[]}"#,
        r#"{"a":[{"numeric":[">"]}]}"#,
        r#"{"a":[{"numeric":["<",5,">",1]}]}"#,
        r#"{"a":[{"numeric":[">",1e10]}]}"#,
        r#"{"a":[{"wildcard":"x*"}]}"#,
        r#"{"a":[{"exists":"yes"}]}"#,
        r#"{"$or":[{"a":["x"]}]}"#,
        r#"{"a":{"b":["x"]}}"#,
    ];
    for policy in bad {
        let err = w
            .broker
            .subscribe(t, SubscriptionConfig::queue(q).with_filter(policy, ATTR))
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParameter, "{policy}");
    }
    let many: Vec<String> = (0..151).map(|i| format!("\"v{i}\"")).collect();
    let too_many = format!("{{\"a\":[{}]}}", many.join(","));
    assert_eq!(
        w.broker
            .subscribe(t, SubscriptionConfig::queue(q).with_filter(too_many, ATTR))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameter
    );
    assert_eq!(w.broker.n_subscriptions(), 0);
}

#[test]
fn filtered_out_copies_are_counted_per_subscription() {
    let mut w = World::new();
    let t = w.broker.create_topic(TopicConfig::new("events")).unwrap();
    let red = w.queue(QueueConfig::new("red"));
    let blue = w.queue(QueueConfig::new("blue"));
    w.broker
        .subscribe(
            t,
            SubscriptionConfig::queue(red).with_filter(r#"{"c":["red"]}"#, ATTR),
        )
        .unwrap();
    w.broker
        .subscribe(
            t,
            SubscriptionConfig::queue(blue).with_filter(r#"{"c":["blue"]}"#, ATTR),
        )
        .unwrap();
    w.broker
        .publish(
            w.now,
            t,
            attrs(&[("c", s("red"))]),
            &mut w.rng,
            &mut w.events,
        )
        .unwrap();
    w.broker
        .publish(
            w.now,
            t,
            attrs(&[("c", s("green"))]),
            &mut w.rng,
            &mut w.events,
        )
        .unwrap();
    let m = w.broker.topic_metrics(t);
    assert_eq!(
        (m.published, m.delivered, m.filtered_out, m.matched_none),
        (2, 1, 3, 1)
    );
}

#[test]
fn filter_policy_anything_but_suffix() {
    let got = passes(
        r#"{"file":[{"anything-but":{"suffix":".tmp"}}]}"#,
        ATTR,
        &[
            attrs(&[("file", s("a.txt"))]),
            attrs(&[("file", s("a.tmp"))]),
            attrs(&[]),
        ],
    );
    assert_eq!(got, vec![true, false, false]);
}

#[test]
fn filter_policy_or_within_a_key_mixes_operators() {
    let policy = r#"{"region":["us-east-1",{"prefix":"eu-"},{"numeric":[">",100]}]}"#;
    let got = passes(
        policy,
        ATTR,
        &[
            attrs(&[("region", s("us-east-1"))]),
            attrs(&[("region", s("eu-central-1"))]),
            attrs(&[("region", n("101"))]),
            attrs(&[("region", s("ap-south-1"))]),
        ],
    );
    assert_eq!(got, vec![true, true, true, false]);
}

/// <https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html>:
/// "A filter policy can have a maximum of five keys."
#[test]
fn filter_policy_with_more_than_five_keys_is_invalid() {
    let mut w = World::new();
    let t = w.broker.create_topic(TopicConfig::new("events")).unwrap();
    let q = w.queue(QueueConfig::new("q"));
    let five = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"]}"#;
    w.broker
        .subscribe(t, SubscriptionConfig::queue(q).with_filter(five, ATTR))
        .unwrap();
    let six = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#;
    let err = w
        .broker
        .subscribe(t, SubscriptionConfig::queue(q).with_filter(six, ATTR))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameter);
    assert!(err.message.contains("FilterPolicy"), "{}", err.message);
    // Keys inside `$or` alternatives and nested body keys count too.
    let or_six = r#"{"a":["1"],"b":["1"],"c":["1"],"$or":[{"d":["1"]},{"e":["1"]},{"f":["1"]}]}"#;
    assert!(w
        .broker
        .subscribe(t, SubscriptionConfig::queue(q).with_filter(or_six, ATTR))
        .is_err());
    let nested_six = r#"{"o":{"a":["1"],"b":["1"],"c":["1"]},"p":{"d":["1"],"e":["1"],"f":["1"]}}"#;
    assert!(w
        .broker
        .subscribe(
            t,
            SubscriptionConfig::queue(q).with_filter(nested_six, BODY)
        )
        .is_err());
    assert_eq!(w.broker.n_subscriptions(), 1);
}
