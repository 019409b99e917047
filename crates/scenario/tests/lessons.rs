//! Format additions for the lessons: `after: chain_sent(service) >= N` (a fault between two
//! steps of a handler chain), `idempotent: {store: name}` (one idempotency store shared by
//! several consumers), and the `busy_ms` / `idle_ms` consumer metrics in `expect`.

use switchboard_engine::broker::Millis;
use switchboard_engine::{Behaviour, EventMatch, Sim, Trigger};
use switchboard_scenario::{load, summarize, Diagnostic};

const BASE: &str = r#"
version: 1
title: Lessons
seed: 7
duration: 30s
services:
  - name: shop
    producer: {to: inbound, at: [1s], body: "order"}
  - name: router
    consumer:
      queue: inbound
      steps:
        - {send: billing-q, body: "copy"}
        - {send: email-q, body: "copy"}
  - name: billing-1
    consumer: {queue: billing-q, idempotent: {store: billing-db}}
  - name: billing-2
    consumer: {queue: billing-q, idempotent: {store: billing-db}}
  - name: email
    consumer: {queue: email-q, idempotent: true}
queues:
  - name: inbound
    visibility_timeout: 5s
  - name: billing-q
  - name: email-q
faults:
  - {after: chain_sent(router) >= 1, crash: router}
  - {at: 3s, restart: router}
expect:
  - chain_sent(router) == 3
  - idle_ms(email) > busy_ms(email) and busy_ms(email) >= 100
"#;

fn errors(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(d) => d,
    }
}

fn position_of(text: &str, needle: &str) -> (u32, u32) {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?}"));
    let line = text[..at].matches('\n').count() as u32 + 1;
    let column = (at - text[..at].rfind('\n').map_or(0, |i| i + 1)) as u32 + 1;
    (line, column)
}

#[test]
fn chain_sent_condition_builds_a_chain_sent_trigger() {
    let spec = load(BASE).unwrap().to_spec().unwrap();
    assert_eq!(
        spec.faults[0].at,
        Trigger::AfterEvent {
            kind: EventMatch::ChainSent {
                service: switchboard_engine::ServiceId(1)
            },
            nth: 1
        }
    );
}

#[test]
fn idempotent_store_names_build_shared_and_private_stores() {
    let spec = load(BASE).unwrap().to_spec().unwrap();
    let store = |i: usize| match &spec.services[i].behaviour {
        Behaviour::Consumer(c) => (c.idempotent, c.idempotency_store.clone()),
        _ => panic!("consumer"),
    };
    assert_eq!(store(2), (true, Some("billing-db".into())));
    assert_eq!(store(3), (true, Some("billing-db".into())));
    assert_eq!(store(4), (true, None), "`true` keeps a private store");
}

#[test]
fn shared_store_and_chain_sent_round_trip_through_canonical_yaml() {
    let s = load(BASE).unwrap();
    let text = s.to_yaml();
    assert!(text.contains("store: billing-db"), "{text}");
    assert!(text.contains("chain_sent(router) >= 1"), "{text}");
    let again = load(&text).unwrap_or_else(|d| panic!("{}\n{text}", d[0].render("yaml")));
    assert_eq!(again, s);
}

#[test]
fn the_crash_between_copies_duplicates_billing_once_across_the_shared_store() {
    let scenario = load(BASE).unwrap();
    let spec = scenario.to_spec().unwrap();
    let mut sim = Sim::new(&spec).unwrap();
    sim.run_until(Millis(30_000), 100_000);
    let m = serde_json::to_value(sim.metrics()).unwrap();
    let handled = |s: &str| m["services"][s]["handled"].as_u64().unwrap();
    // Billing got two copies of one order (one before the crash, one after the redelivery);
    // whichever worker got the second, the shared store made it a skip.
    assert_eq!(m["queues"]["billing-q"]["accepted"], 2, "{m}");
    assert_eq!(handled("billing-1") + handled("billing-2"), 1, "{m}");
    assert_eq!(handled("email"), 1);
    let (summary, all_pass) = summarize(&scenario, &sim.metrics());
    assert!(all_pass, "{}", summary["expectations"]);
}

#[test]
fn idempotent_store_must_be_a_name_with_a_position() {
    let text = BASE.replacen("{store: billing-db}", "{store: \"bad name!\"}", 1);
    let diags = errors(&text);
    let d = diags
        .iter()
        .find(|d| d.message.contains("not a valid name"))
        .expect("bad store name reported");
    assert_eq!((d.line, d.column), position_of(&text, "\"bad name!\""));
}

#[test]
fn idempotent_store_rejects_unknown_fields_and_other_types() {
    let text = BASE.replacen("{store: billing-db}", "{stroe: billing-db}", 1);
    let diags = errors(&text);
    let d = diags
        .iter()
        .find(|d| d.message.contains("stroe"))
        .expect("unknown field reported");
    assert_eq!((d.line, d.column), position_of(&text, "stroe"));
    assert!(d.hint.as_deref().unwrap_or("").contains("store"), "{d:?}");
    let text = BASE.replacen("idempotent: true", "idempotent: yes-please", 1);
    let diags = errors(&text);
    let d = diags
        .iter()
        .find(|d| d.message.contains("true, false or {store: name}"))
        .expect("wrong type reported");
    assert_eq!((d.line, d.column), position_of(&text, "yes-please"));
}

#[test]
fn chain_sent_needs_a_known_service() {
    let text = BASE.replace("chain_sent(router) >= 1", "chain_sent(ruoter) >= 1");
    let diags = errors(&text);
    assert!(
        diags.iter().any(|d| d.message.contains("ruoter")),
        "{diags:?}"
    );
}

#[test]
fn busy_and_idle_ms_are_service_metrics_in_expect() {
    let text = BASE.replace("idle_ms(email) >", "idel_ms(email) >");
    let diags = errors(&text);
    let d = diags
        .iter()
        .find(|d| d.message.contains("idel_ms"))
        .expect("unknown metric reported");
    assert!(d.render("f").contains("idle_ms"), "{}", d.render("f"));
}
