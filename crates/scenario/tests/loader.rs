//! The loader as a specification: what it accepts, what it refuses and how it says so, and that
//! hostile input (huge, deep, alias bombs, junk) gets a clear error quickly and never a panic.

use switchboard_broker::Rng;
use switchboard_scenario::{load, Diagnostic, Scenario};

const SMALL: &str = r#"
version: 1
title: Small
seed: 3
duration: 10s
services:
  - name: shop
    producer: {to: orders, every: 1s, count: 3}
  - name: worker
    consumer: {queue: orders, work: 100ms}
queues:
  - name: orders
expect:
  - sent(orders) == 3
"#;

fn errors(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(d) => d,
    }
}

fn has(diags: &[Diagnostic], needle: &str) -> bool {
    diags.iter().any(|d| d.render("f").contains(needle))
}

fn presets() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../static/scenarios");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("static/scenarios exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_small_scenario_loads_with_defaults() {
    let s = load(SMALL).unwrap();
    assert_eq!(s.title, "Small");
    assert_eq!(s.duration.0, 10_000);
    assert_eq!(
        s.queues[0].visibility_timeout.0, 30_000,
        "SQS default visibility timeout"
    );
    assert_eq!(s.services[1].consumer.as_ref().unwrap().batch, 1);
}

#[test]
fn json_with_the_same_schema_loads_the_same_scenario() {
    let yaml = load(SMALL).unwrap();
    let json = load(&yaml.to_json()).unwrap();
    assert_eq!(yaml, json);
}

#[test]
fn unknown_fields_name_the_nearest_valid_one_with_position() {
    let text = SMALL.replace(
        "  - name: orders\n",
        "  - name: orders\n    visiblity_timeout: 10s\n",
    );
    let d = errors(&text);
    let line = text
        .lines()
        .position(|l| l.contains("visiblity_timeout"))
        .unwrap() as u32
        + 1;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].line, d[0].column), (line, 5));
    assert!(d[0].message.contains("unknown field `visiblity_timeout`"));
    assert_eq!(
        d[0].hint.as_deref(),
        Some("did you mean `visibility_timeout`?")
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
version: 1
title: Many problems
duration: 10s
services:
  - name: shop
    producer: {to: ordres, every: 1s, count: 3}
  - name: worker
    consumer: {queue: orders, batch: 11, wait: 25s}
queues:
  - name: orders
    visibility_timeout: 13h
    delay: 16m
    retention: 30s
    dead_letter: {queue: orders-dlq.fifo, max_receive_count: 0}
  - name: orders-dlq.fifo
expect:
  - visible(orders) = 3
"#;
    let d = errors(text);
    for needle in [
        "no queue or topic or service named `ordres` (did you mean `orders`?)",
        "out of range for batch",
        "wait (WaitTimeSeconds) 25s is out of range (allowed: 0ms to 20s)",
        "visibility_timeout 13h is out of range",
        "delay 16m is out of range",
        "retention 30s is out of range (allowed: 1m to 14d)",
        "out of range for max_receive_count",
        "expected a comparison",
    ] {
        assert!(
            has(&d, needle),
            "missing `{needle}` in:\n{}",
            d.iter()
                .map(|x| x.render("f"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(
        d.windows(2)
            .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)),
        "sorted by position"
    );
}

#[test]
fn fifo_rules_are_checked() {
    let text = r#"
version: 1
title: FIFO rules
duration: 10s
services:
  - name: shop
    producer: {to: orders.fifo, every: 1s, count: 3}
queues:
  - name: orders.fifo
    dead_letter: {queue: dlq, max_receive_count: 3}
  - name: dlq
  - name: plain
topics:
  - name: events.fifo
    subscriptions:
      - queue: plain
"#;
    let d = errors(text);
    assert!(has(
        &d,
        "`orders.fifo` is FIFO: every message needs a group id"
    ));
    assert!(has(&d, "every message needs a dedup id"));
    assert!(has(
        &d,
        "the dead-letter queue of a FIFO queue must be FIFO too"
    ));
    assert!(has(
        &d,
        "FIFO topic `events.fifo` can only deliver to FIFO queues"
    ));
}

#[test]
fn links_and_references_must_exist() {
    let text = SMALL.replace(
        "expect:",
        "links:\n  - {from: shop, to: billing}\nfaults:\n  - {at: 2s, crash: workr}\nexpect:",
    );
    let d = errors(&text);
    assert!(has(&d, "no service or queue or topic named `billing`"));
    assert!(has(&d, "no service named `workr` (did you mean `worker`?)"));
}

#[test]
fn duplicate_names_and_keys_are_refused() {
    let text = SMALL.replace(
        "queues:\n  - name: orders\n",
        "queues:\n  - name: orders\n  - name: shop\n    name: shop\n",
    );
    let d = errors(&text);
    assert!(has(&d, "duplicate key `name`"));
    assert!(has(&d, "the name `shop` is already used by a service"));
}

#[test]
fn variants_are_reserved_with_a_clear_message() {
    let text = format!("{SMALL}variants:\n  - name: by-rpc\n");
    let d = errors(&text);
    assert!(has(&d, "`variants` is not supported yet"), "{d:?}");
}

#[test]
fn durations_need_units_and_say_so() {
    let d = errors(&SMALL.replace("duration: 10s", "duration: 10"));
    assert!(
        has(&d, "`10` is not a duration (add a unit: `10ms` or `10s`)"),
        "{d:?}"
    );
}

#[test]
fn wrong_version_and_missing_fields_are_reported() {
    let d = errors("version: 2\nservices: 5\n");
    assert!(has(&d, "version 2 is not supported"));
    assert!(has(&d, "missing field `title`"));
    assert!(has(&d, "missing field `duration`"));
    assert!(has(&d, "expected a list, found a number"));
}

#[test]
fn canonical_yaml_round_trips_every_preset() {
    for (name, text) in presets() {
        let s = load(&text).unwrap_or_else(|d| panic!("{name}: {}", d[0].render(&name)));
        let again = load(&s.to_yaml()).unwrap_or_else(|d| {
            panic!("{name} canonical:\n{}\n{}", s.to_yaml(), d[0].render(&name))
        });
        assert_eq!(s, again, "{name}");
        assert_eq!(
            again.to_yaml(),
            s.to_yaml(),
            "{name}: canonical text is stable"
        );
    }
}

#[test]
fn layout_places_producers_left_of_queues_left_of_consumers() {
    let s = load(SMALL).unwrap();
    let placed = s.layout();
    let x = |n: &str| placed.iter().find(|p| p.name == n).unwrap().x;
    assert!(
        x("shop") < x("orders") && x("orders") < x("worker"),
        "{placed:?}"
    );
    assert_eq!(s.layout(), placed, "deterministic");
}

// ---------------------------------------------------------------------------------------------
// Hostile input. Each must fail with a clear diagnostic (and quickly: the suite would hang).

#[test]
fn truncated_files_say_where_they_end() {
    let text = &SMALL[..SMALL.find("consumer").unwrap() + 12];
    let d = errors(text);
    assert!(d[0].line > 0, "{d:?}");
    let d = errors("services: [ {name: a");
    assert!(d[0].message.contains("not valid YAML"), "{d:?}");
}

#[test]
fn a_50_megabyte_file_is_refused_by_size() {
    let big = "# padding\n".repeat(5_000_000);
    let d = errors(&big);
    assert!(d[0].message.contains("limited to 2097152 bytes"), "{d:?}");
}

#[test]
fn hundred_thousand_deep_nesting_is_refused() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let d = errors(&deep);
    assert!(
        d[0].message.contains("nesting") || d[0].message.contains("recursion limit"),
        "{d:?}"
    );
    let mut block = String::new();
    for i in 0..200 {
        block.push_str(&" ".repeat(i));
        block.push_str("a:\n");
    }
    let d = errors(&block);
    assert!(d[0].message.contains("nesting deeper than 64"), "{d:?}");
}

#[test]
fn an_alias_bomb_is_refused_before_expansion() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..20 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let d = errors(&bomb);
    assert!(
        d[0].message.contains("aliases expand to more than"),
        "{d:?}"
    );
}

#[test]
fn absurd_numbers_are_out_of_range_not_overflows() {
    let text = SMALL
        .replace("seed: 3", "seed: 999999999999999999999999999")
        .replace("duration: 10s", "duration: 99999999999999999999d");
    let d = errors(&text);
    assert!(has(&d, "out of range for seed"));
    assert!(has(&d, "is not a duration"));
    let d = errors(&SMALL.replace("count: 3", "count: -5"));
    assert!(has(&d, "expected a whole number"));
}

#[test]
fn binary_junk_is_refused() {
    let d = errors("\u{0}\u{1}\u{2}garbage");
    assert!(d[0].message.contains("NUL byte"));
    let d = errors("\u{7}\u{1b}[31m");
    assert!(!d.is_empty());
    let d = errors("- just\n- a list\n");
    assert!(has(&d, "expected a map"));
}

/// Seeded mutations of the presets and random byte strings: the loader must return (Ok or
/// diagnostics with positions), never panic. Prints the seed and input on failure.
#[test]
fn loader_survives_random_mutations_and_bytes() {
    let corpus: Vec<String> = presets()
        .into_iter()
        .map(|(_, t)| t)
        .chain([SMALL.to_string()])
        .collect();
    let alphabet: &[u8] = b" \n\t:-[]{},&*!|>'\"#%@`?0123456789abcxyz.";
    for seed in 0..400u64 {
        let mut rng = Rng::new(seed);
        let input: String = if seed % 4 == 0 {
            let len = rng.below(300) as usize;
            (0..len)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize] as char)
                .collect()
        } else {
            let base = corpus[rng.below(corpus.len() as u64) as usize]
                .as_bytes()
                .to_vec();
            let mut bytes = base;
            for _ in 0..1 + rng.below(8) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.below(bytes.len() as u64) as usize;
                match rng.below(4) {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, alphabet[rng.below(alphabet.len() as u64) as usize]),
                    2 => bytes[at] = alphabet[rng.below(alphabet.len() as u64) as usize],
                    _ => bytes.truncate(at),
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let result = std::panic::catch_unwind(|| load(&input));
        match result {
            Err(_) => panic!("loader panicked; reproduce with seed {seed}; input:\n{input}"),
            Ok(Err(diags)) => {
                assert!(!diags.is_empty(), "seed {seed}: empty diagnostics");
                assert!(diags.iter().all(|d| !d.message.is_empty()), "seed {seed}");
            }
            Ok(Ok(s)) => {
                // Whatever loads must round-trip through the canonical text.
                let again = load(&s.to_yaml());
                assert!(
                    again.as_ref().is_ok_and(|a| *a == s),
                    "seed {seed}: round trip failed for:\n{input}\n{:?}",
                    again.err()
                );
            }
        }
    }
}

/// The committed schema matches the types. `UPDATE_SCHEMA=1 cargo test -p switchboard-scenario` rewrites it.
#[test]
fn json_schema_file_is_up_to_date() {
    let schema = schemars::schema_for!(Scenario);
    let mut text = serde_json::to_string_pretty(&schema).unwrap();
    text.push('\n');
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/switchboard.schema.json"
    );
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(committed == text, "schema/switchboard.schema.json is stale: run `UPDATE_SCHEMA=1 cargo test -p switchboard-scenario --test loader`");
}

/// The decoder's field lists and the schema's properties name the same fields.
#[test]
fn decoder_fields_match_the_schema() {
    let schema = serde_json::to_value(schemars::schema_for!(Scenario)).unwrap();
    let props = |def: Option<&str>| -> Vec<String> {
        let node = match def {
            None => &schema,
            Some(d) => &schema["$defs"][d],
        };
        let mut keys: Vec<String> = node["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{def:?}"))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let sorted = |fields: &[&str]| {
        let mut v: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    use switchboard_scenario::*;
    let cases: Vec<(Option<&str>, &[&str])> = vec![
        (None, Scenario::FIELDS),
        (Some("Service"), Service::FIELDS),
        (Some("Producer"), Producer::FIELDS),
        (Some("Consumer"), Consumer::FIELDS),
        (Some("RpcServer"), RpcServer::FIELDS),
        (Some("Action"), Action::FIELDS),
        (Some("Client"), Client::FIELDS),
        (Some("ClientCall"), ClientCall::FIELDS),
        (Some("Queue"), Queue::FIELDS),
        (Some("DeadLetter"), DeadLetter::FIELDS),
        (Some("Topic"), Topic::FIELDS),
        (Some("Subscription"), Subscription::FIELDS),
        (Some("Link"), Link::FIELDS),
        (Some("Fault"), Fault::FIELDS),
        (Some("Slow"), Slow::FIELDS),
        (Some("Drop"), Drop::FIELDS),
        (Some("SkipDelete"), SkipDelete::FIELDS),
        (Some("Pause"), Pause::FIELDS),
        (Some("LoseResponses"), LoseResponses::FIELDS),
        (Some("BatchEntry"), BatchEntry::FIELDS),
        (Some("Step"), Step::FIELDS),
        (Some("Retry"), Retry::FIELDS),
    ];
    for (def, fields) in cases {
        assert_eq!(props(def), sorted(fields), "{def:?}");
    }
}

#[test]
fn the_documented_example_loads() {
    let doc = include_str!("../../../docs/scenario-format.md");
    let start = doc.find("## A complete small example").unwrap();
    let block = &doc[start..];
    let yaml_start = block.find("```yaml\n").unwrap() + 8;
    let yaml_end = block[yaml_start..].find("```").unwrap() + yaml_start;
    let scenario =
        load(&block[yaml_start..yaml_end]).unwrap_or_else(|d| panic!("{}", d[0].render("docs")));
    assert_eq!(scenario.expect.len(), 3);
}
