//! The format's newer faults (`pause`, `lose_responses`, a `drop` that also delays) and scripted
//! calls (`send_message_batch`, `delay`, `attempt_id`): what they build into, and how bad values
//! are refused with a line, a column and a hint.

use switchboard_engine::broker::{Chance, Millis};
use switchboard_engine::{ApiCall, Behaviour, FaultAction, Sim, Trigger};
use switchboard_scenario::{load, Diagnostic};

const BASE: &str = r#"
version: 1
title: Additions
seed: 4
duration: 1m
services:
  - name: shop
    producer: {to: orders.fifo, at: [1s], group: g, dedup_id: "o-{n}", retry: {times: 1, after: 2s}}
  - name: worker
    consumer: {queue: orders.fifo}
  - name: client
    client:
      calls:
        - {at: 1s, action: send_message_batch, queue: orders.fifo, entries: [{body: a, group: g, dedup_id: a}, {body: b, group: g, dedup_id: b}]}
        - {at: 2s, action: receive_message, queue: orders.fifo, max: 2, attempt_id: try-1}
        - {at: 3s, action: send_message, queue: plain, body: later, delay: 5s}
queues:
  - name: orders.fifo
  - name: plain
faults:
  - {at: 0s, lose_responses: {link: [shop, orders.fifo]}}
  - {at: 1500ms, restore: [shop, orders.fifo]}
  - {after: received(worker) >= 1, pause: {service: worker, for: 40s}}
  - {at: 10s, drop: {link: [worker, orders.fifo], loss: 25%, delay: 200ms}}
"#;

fn errors(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(d) => d,
    }
}

/// The rendered diagnostic containing `needle`, e.g. `f:12:34: path: message (hint)`.
fn find<'a>(diags: &'a [Diagnostic], needle: &str) -> &'a Diagnostic {
    diags
        .iter()
        .find(|d| d.render("f").contains(needle))
        .unwrap_or_else(|| {
            let all: Vec<String> = diags.iter().map(|d| d.render("f")).collect();
            panic!("no diagnostic with {needle:?} in:\n{}", all.join("\n"))
        })
}

/// Line (1-based) and column of the first occurrence of `needle` in `text`.
fn position_of(text: &str, needle: &str) -> (u32, u32) {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?}"));
    let line = text[..at].matches('\n').count() as u32 + 1;
    let column = (at - text[..at].rfind('\n').map_or(0, |i| i + 1)) as u32 + 1;
    (line, column)
}

#[test]
fn new_faults_build_into_engine_actions() {
    let spec = load(BASE).unwrap().to_spec().unwrap();
    let actions: Vec<&FaultAction> = spec.faults.iter().map(|f| &f.action).collect();
    assert!(
        matches!(actions[0], FaultAction::LoseResponses { chance, .. } if *chance == Chance::ALWAYS),
        "lose_responses defaults to 100%: {actions:?}"
    );
    assert!(matches!(actions[1], FaultAction::Restore { .. }));
    assert!(
        matches!(actions[2], FaultAction::Pause { for_ms: 40_000, .. }),
        "{actions:?}"
    );
    assert!(matches!(
        spec.faults[2].at,
        Trigger::AfterEvent { nth: 1, .. }
    ));
    assert!(
        matches!(actions[3], FaultAction::Degrade { drop, delay_ms: 200, .. } if *drop == Chance::from_ppm(250_000)),
        "a drop with a delay is one degraded link: {actions:?}"
    );
}

#[test]
fn new_client_calls_build_into_api_calls() {
    let spec = load(BASE).unwrap().to_spec().unwrap();
    let Behaviour::ScriptedClient(script) = &spec.services[2].behaviour else {
        panic!("client");
    };
    let ApiCall::SendMessageBatch { entries, .. } = &script.calls[0].call else {
        panic!("{:?}", script.calls[0]);
    };
    let bodies: Vec<&str> = entries.iter().map(|e| e.body.as_str()).collect();
    assert_eq!(bodies, ["a", "b"]);
    assert_eq!(entries[1].dedup_id.as_deref(), Some("b"));
    assert!(matches!(
        &script.calls[1].call,
        ApiCall::ReceiveMessage { receive_request_attempt_id: Some(id), max_number_of_messages: 2, .. } if id == "try-1"
    ));
    assert!(matches!(
        &script.calls[2].call,
        ApiCall::SendMessage {
            delay_seconds: Some(5),
            ..
        }
    ));
}

#[test]
fn new_fields_round_trip_through_canonical_yaml() {
    let s = load(BASE).unwrap();
    let text = s.to_yaml();
    assert!(text.contains("for: 40s"), "{text}");
    let again = load(&text).unwrap_or_else(|d| panic!("{}\n{text}", d[0].render("yaml")));
    assert_eq!(again, s);
}

#[test]
fn a_lost_acknowledgement_makes_the_producer_retry_into_the_dedup_window() {
    let spec = load(BASE).unwrap().to_spec().unwrap();
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(Millis(60_000), 100_000);
    let m = serde_json::to_value(sim.metrics()).unwrap();
    // The shop's first send was accepted but its answer lost; the retry (same dedup id) was
    // dropped by SQS as a duplicate.
    assert_eq!(m["links"]["shop->orders.fifo"]["lost"], 1, "{m}");
    assert_eq!(m["queues"]["orders.fifo"]["deduplicated"], 1, "{m}");
}

#[test]
fn a_paused_service_does_nothing_until_it_resumes() {
    let spec = load(BASE).unwrap().to_spec().unwrap();
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(Millis(30_000), 100_000);
    let m = serde_json::to_value(sim.metrics()).unwrap();
    assert_eq!(
        m["services"]["worker"]["handled"], 0,
        "paused for 40s after its first receive: {m}"
    );
}

#[test]
fn pause_needs_a_known_service_and_a_duration_with_positions() {
    let text = BASE.replace(
        "pause: {service: worker, for: 40s}",
        "pause: {service: wroker, for: 40}",
    );
    let diags = errors(&text);
    let d = find(&diags, "no service named `wroker`");
    assert_eq!((d.line, d.column), position_of(&text, "wroker"));
    assert_eq!(d.hint.as_deref(), Some("did you mean `worker`?"));
    let d = find(&diags, "`40` is not a duration");
    assert_eq!((d.line, d.column), position_of(&text, "40}"));
    assert!(d.render("f").contains("add a unit"), "{}", d.render("f"));
}

#[test]
fn pause_longer_than_an_hour_is_out_of_range() {
    let text = BASE.replace("for: 40s", "for: 2h");
    let d = errors(&text);
    let d = find(&d, "pause 2h is out of range");
    assert_eq!((d.line, d.column), position_of(&text, "2h"));
}

#[test]
fn lose_responses_needs_linked_ends_and_a_percentage() {
    let text = BASE.replace(
        "lose_responses: {link: [shop, orders.fifo]}",
        "lose_responses: {link: [shop, plain], chance: half}",
    );
    let diags = errors(&text);
    let d = find(&diags, "`half` is not a percentage");
    assert_eq!((d.line, d.column), position_of(&text, "half"));
    let d = find(&diags, "`shop` and `plain` are not linked");
    assert_eq!(d.path, "faults[0].lose_responses.link");
    assert!(d
        .hint
        .as_deref()
        .unwrap_or("")
        .contains("shop, orders.fifo"));
}

#[test]
fn a_fault_with_pause_and_crash_does_two_things_and_is_refused() {
    let text = BASE.replace(
        "pause: {service: worker, for: 40s}",
        "pause: {service: worker, for: 40s}, crash: worker",
    );
    let d = errors(&text);
    let d = find(&d, "a fault does exactly one thing");
    assert!(d.hint.as_deref().unwrap().contains("lose_responses"));
}

#[test]
fn a_batch_has_one_to_ten_fifo_ready_entries() {
    let eleven: Vec<String> = (0..11)
        .map(|i| format!("{{body: m{i}, group: g, dedup_id: d{i}}}"))
        .collect();
    let text = BASE.replace(
        "entries: [{body: a, group: g, dedup_id: a}, {body: b, group: g, dedup_id: b}]",
        &format!("entries: [{}]", eleven.join(", ")),
    );
    let d = errors(&text);
    find(&d, "11 items; at most 10 are allowed");

    let text = BASE.replace("{body: b, group: g, dedup_id: b}", "{body: b, dedup_id: b}");
    let diags = errors(&text);
    let d = find(&diags, "every message needs a group id");
    assert_eq!(d.path, "services[2].client.calls[0].entries[1]");
    assert_eq!((d.line, d.column), position_of(&text, "{body: b, dedup_id"));

    let text = BASE.replace(
        "entries: [{body: a, group: g, dedup_id: a}, {body: b, group: g, dedup_id: b}]",
        "entries: []",
    );
    find(&errors(&text), "a batch needs at least one entry");

    let text = BASE.replace(
        "entries: [{body: a, group: g, dedup_id: a}, {body: b, group: g, dedup_id: b}]",
        "body: x",
    );
    let diags = errors(&text);
    find(&diags, "`send_message_batch` needs `entries`");
    let d = find(&diags, "`body` does not apply to `send_message_batch`");
    assert_eq!((d.line, d.column), position_of(&text, "x}"));
}

#[test]
fn attempt_id_is_for_fifo_receives_and_has_the_sqs_shape() {
    let text = BASE.replace("attempt_id: try-1", "attempt_id: \"try 1\"");
    let diags = errors(&text);
    let d = find(&diags, "is not a valid ReceiveRequestAttemptId");
    assert_eq!((d.line, d.column), position_of(&text, "\"try 1\""));

    let text = BASE.replace(
        "action: receive_message, queue: orders.fifo",
        "action: receive_message, queue: plain",
    );
    find(
        &errors(&text),
        "ReceiveRequestAttemptId applies only to FIFO queues",
    );

    let text = BASE.replace(
        "{at: 3s, action: send_message, queue: plain, body: later, delay: 5s}",
        "{at: 3s, action: delete_message, queue: plain, message: 1, attempt_id: x}",
    );
    find(
        &errors(&text),
        "`attempt_id` does not apply to `delete_message`",
    );
}

#[test]
fn per_message_delay_is_whole_seconds_up_to_15_minutes_and_not_on_fifo() {
    let text = BASE.replace("delay: 5s}", "delay: 16m}");
    let d = errors(&text);
    let d = find(&d, "delay (DelaySeconds) 16m is out of range");
    assert_eq!((d.line, d.column), position_of(&text, "16m"));

    let text = BASE.replace("delay: 5s}", "delay: 1500ms}");
    find(&errors(&text), "1500ms is not a whole number of seconds");

    let text = BASE.replace(
        "queue: plain, body: later, delay: 5s",
        "queue: orders.fifo, body: later, group: g, dedup_id: l, delay: 5s",
    );
    find(
        &errors(&text),
        "SQS has no per-message delay on FIFO queues",
    );
}
