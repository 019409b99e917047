//! Every preset in static/scenarios (the gallery reads the same files): it passes `check`, runs to
//! its end, and meets its own `expect` lines. The presets state their lessons; this proves them.

use switchboard_engine::broker::Millis;
use switchboard_engine::Sim;
use switchboard_scenario::{load, summarize};

fn presets() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/static/scenarios");
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
fn there_are_at_least_twenty_presets_and_a_welcome_tour() {
    let names: Vec<String> = presets().into_iter().map(|(n, _)| n).collect();
    assert!(names.len() >= 20, "{names:?}");
    assert!(names.contains(&"welcome.yaml".to_string()));
}

#[test]
fn every_preset_meets_its_own_expectations() {
    let mut failures = Vec::new();
    for (name, text) in presets() {
        let scenario = match load(&text) {
            Ok(s) => s,
            Err(diags) => {
                failures.push(
                    diags
                        .iter()
                        .map(|d| d.render(&name))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                continue;
            }
        };
        assert!(
            !scenario.expect.is_empty(),
            "{name}: a preset states its lesson in `expect`"
        );
        assert!(
            !scenario.steps.is_empty(),
            "{name}: a preset tells its story in `steps`"
        );
        let spec = scenario
            .to_spec()
            .unwrap_or_else(|d| panic!("{name}: {d:?}"));
        let mut sim = Sim::new(&spec).unwrap_or_else(|e| panic!("{name}: engine refused: {e}"));
        sim.run_until(Millis(scenario.duration.0), scenario.max_events);
        let (summary, all_pass) = summarize(&scenario, &sim.metrics());
        if !all_pass {
            let failed: Vec<String> = summary["expectations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["pass"] == false)
                .map(|r| format!("{name}: FAIL {} ({})", r["text"], r["why"]))
                .collect();
            failures.push(failed.join("\n"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_welcome_tour_shows_messages_within_the_first_second() {
    let (_, text) = presets()
        .into_iter()
        .find(|(n, _)| n == "welcome.yaml")
        .unwrap();
    let scenario = load(&text).unwrap();
    let mut sim = Sim::new(&scenario.to_spec().unwrap()).unwrap();
    sim.run_until(Millis(1_000), 100_000);
    let metrics = serde_json::to_value(sim.metrics()).unwrap();
    assert!(
        metrics["queues"]["orders"]["sent"].as_u64().unwrap() >= 1,
        "{metrics}"
    );
}

#[test]
fn presets_cover_every_source_post() {
    let all: String = presets().into_iter().map(|(_, t)| t).collect();
    for post in ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"] {
        assert!(
            all.contains(&format!("{post} ")) || all.contains(&format!("{post}'")),
            "no preset cites {post}"
        );
    }
}

/// Runs a preset to its end and returns its trace as JSON lines.
fn trace_of(file: &str) -> Vec<serde_json::Value> {
    let (_, text) = presets()
        .into_iter()
        .find(|(n, _)| n == file)
        .unwrap_or_else(|| panic!("{file} is a preset"));
    let scenario = load(&text).unwrap();
    let mut sim = Sim::new(&scenario.to_spec().unwrap()).unwrap();
    sim.run_until(Millis(scenario.duration.0), scenario.max_events);
    sim.trace_lines()
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect()
}

#[test]
fn s16_retries_follow_a_really_lost_acknowledgement() {
    let trace = trace_of("s16-dedup-window.yaml");
    let lost_answers = trace
        .iter()
        .filter(|e| e["kind"] == "lost" && e["response"] == true)
        .count();
    assert_eq!(lost_answers, 3, "one lost answer per lane");
    // Each lost answer is followed by a retry of the same message (attempt 2) by the producer.
    for shop in ["shop-fast-retry", "shop-late-retry", "shop-late-retry-idem"] {
        let first_loss = trace
            .iter()
            .position(|e| e["kind"] == "lost" && e["to"] == shop)
            .unwrap_or_else(|| panic!("{shop}: no lost answer"));
        assert!(
            trace[first_loss..]
                .iter()
                .any(|e| e["service"] == shop && e["attempt"] == 2),
            "{shop}: no second attempt after the lost answer"
        );
    }
}

#[test]
fn s21_the_pause_is_a_fault_not_slow_work() {
    let trace = trace_of("s21-visibility-timeout.yaml");
    let pauses: Vec<&serde_json::Value> = trace
        .iter()
        .filter(|e| e["kind"] == "fault" && e.to_string().contains("pause"))
        .collect();
    assert_eq!(pauses.len(), 2, "one pause per paused lane: {pauses:?}");
}

#[test]
fn s19_the_same_attempt_id_returns_the_same_receipts() {
    let trace = trace_of("s19-receive-attempt-id.yaml");
    let receipts = |e: &serde_json::Value| -> Vec<String> {
        e["result"]["messages"]
            .as_array()
            .map(|ms| ms.iter().map(|m| m["receipt_handle"].to_string()).collect())
            .unwrap_or_default()
    };
    let receives: Vec<&serde_json::Value> = trace
        .iter()
        .filter(|e| e["call"] == "ReceiveMessage" && e["service"] == "same-attempt")
        .collect();
    assert_eq!(receives.len(), 2);
    assert_eq!(receipts(receives[0]).len(), 3);
    assert_eq!(receipts(receives[0]), receipts(receives[1]));
    let retry_with_new_id = trace
        .iter()
        .find(|e| {
            e["call"] == "ReceiveMessage" && e["params"]["ReceiveRequestAttemptId"] == "attempt-2"
        })
        .expect("the new-attempt retry");
    assert!(receipts(retry_with_new_id).is_empty(), "group A is blocked");
}

#[test]
fn s12_the_router_crashes_between_its_two_copies() {
    let trace = trace_of("s12-fanout-crash-duplicates.yaml");
    let first_crash = trace
        .iter()
        .position(|e| e["kind"] == "crashed" && e["service"] == "router")
        .expect("the router crashes");
    // Right before the crash: its first copy (to billing), then the fault. No copy to email yet.
    assert_eq!(trace[first_crash - 2]["kind"], "chain_sent");
    assert_eq!(trace[first_crash - 2]["queue"], "billing-q");
    assert_eq!(trace[first_crash - 1]["kind"], "fault");
    let email_copies_before = trace[..first_crash]
        .iter()
        .filter(|e| e["kind"] == "chain_sent" && e["queue"] == "email-q")
        .count();
    assert_eq!(email_copies_before, 0);
    // In the idempotent lane billing's repeat is skipped, not processed.
    let skipped: Vec<&serde_json::Value> = trace
        .iter()
        .filter(|e| e["kind"] == "duplicate_skipped")
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["service"], "billing-2");
}

#[test]
fn s24_a_shared_store_skips_the_repeat_a_private_store_misses() {
    let trace = trace_of("s24-idempotent-consumers.yaml");
    let skipped_by = |s: &str| {
        trace
            .iter()
            .filter(|e| e["kind"] == "duplicate_skipped" && e["service"] == s)
            .count()
    };
    assert_eq!(skipped_by("own-store-2"), 0);
    assert_eq!(skipped_by("shared-store-2"), 1);
    let why = trace
        .iter()
        .find(|e| e["kind"] == "duplicate_skipped" && e["service"] == "shared-store-2")
        .map(|e| e["why"].as_str().unwrap_or("").to_string())
        .unwrap();
    assert!(why.contains("shared store payments-db"), "{why}");
}

#[test]
fn lost_responses_read_as_reached_but_answer_lost() {
    let trace = trace_of("s16-dedup-window.yaml");
    for e in trace
        .iter()
        .filter(|e| e["kind"] == "lost" && e["response"] == true)
    {
        let why = e["why"].as_str().unwrap();
        assert!(
            why.starts_with("The request reached ") && why.contains("may retry"),
            "{why}"
        );
        assert!(!why.contains("drop fault"), "{why}");
    }
}
