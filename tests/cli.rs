//! The `switchboard` binary as users call it: run, check, explain, stdin, and the documented
//! exit codes (0 ok, 1 invalid input, 2 usage, 3 an expectation failed).

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn preset(name: &str) -> String {
    format!("{}/static/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn switchboard(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run switchboard")
}

fn with_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchboard");
    // The CLI may stop reading early (size limit): a broken pipe here is expected then.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const FAILING: &str = "version: 1\ntitle: Fails on purpose\nduration: 5s\nservices:\n  - name: shop\n    producer: {to: orders, every: 1s, count: 3}\nqueues:\n  - name: orders\nexpect:\n  - sent(orders) == 99\n";

#[test]
fn check_is_silent_and_exits_0_for_a_valid_file() {
    let out = switchboard(&["check", &preset("welcome.yaml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn check_prints_every_error_as_file_line_col_and_exits_1() {
    let bad = "version: 1\ntitle: Bad\nduration: 5s\nqueus: []\nservices:\n  - name: a\n    consumer: {queue: nope}\n";
    let out = with_stdin(&["check", "-"], bad);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("-:4:1: unknown field `queus` (did you mean `queues`?)"),
        "{err}"
    );
    assert!(
        err.contains(
            "-:7:23: services[0].consumer.queue: no queue named `nope` (define it under `queues:`)"
        ),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn run_exits_0_when_every_expectation_holds_and_reports_them() {
    let out = switchboard(&["run", &preset("welcome.yaml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("PASS sent(orders) == 30"), "{stdout}");
}

#[test]
fn run_exits_3_when_an_expectation_fails() {
    let out = with_stdin(&["run", "-"], FAILING);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stdout).contains("FAIL sent(orders) == 99   (sent(orders) = 3)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn run_writes_a_summary_with_metrics_and_expectations() {
    let out = switchboard(&["run", &preset("welcome.yaml"), "--summary", "-"]);
    assert_eq!(out.status.code(), Some(0));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary is JSON");
    assert_eq!(
        summary["end_t_ms"].as_u64().map(|t| t <= 20_000),
        Some(true)
    );
    assert!(summary["events"].as_u64().unwrap() > 0);
    for field in [
        "sent",
        "accepted",
        "deduplicated",
        "received",
        "redelivered",
        "deleted",
        "dead_lettered",
        "visible",
        "in_flight",
    ] {
        assert!(
            summary["queues"]["orders"][field].is_u64(),
            "queues.orders.{field}"
        );
    }
    for field in [
        "handled",
        "handled_more_than_once",
        "order_violations",
        "rpc_calls",
        "rpc_ok",
        "rpc_errors",
        "rpc_timeouts",
    ] {
        assert!(
            summary["services"]["worker-a"][field].is_u64(),
            "services.worker-a.{field}"
        );
    }
    assert!(summary["services"]["worker-a"]["latency_ms"]["p99"].is_u64());
    assert!(summary["topics"]["order-events"]["delivered"].is_u64());
    assert!(summary["links"].is_object());
    let expectations = summary["expectations"].as_array().unwrap();
    assert!(expectations
        .iter()
        .all(|e| e["pass"] == true && e["why"].is_string()));
}

#[test]
fn run_writes_a_trace_of_one_json_object_per_event() {
    let dir = std::env::temp_dir().join(format!("switchboard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.jsonl");
    let out = switchboard(&[
        "run",
        &preset("s09-music-store.yaml"),
        "--trace",
        trace.to_str().unwrap(),
        "--until",
        "10s",
    ]);
    assert_eq!(
        out.status.code().map(|c| c == 0 || c == 3),
        Some(true),
        "{}",
        text(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(!lines.is_empty());
    for (i, event) in lines.iter().enumerate() {
        assert_eq!(event["seq"].as_u64(), Some(i as u64));
        assert!(event["t_ms"].as_u64().unwrap() <= 10_000);
        assert!(event["kind"].is_string() && event["why"].is_string());
    }
    assert!(
        lines.iter().any(|e| e.get("call").is_some()),
        "scripted client calls appear with `call`"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn same_seed_same_trace_and_seed_flag_is_honoured() {
    let a = switchboard(&[
        "run",
        &preset("s10-competing-consumers.yaml"),
        "--trace",
        "-",
    ]);
    let b = switchboard(&[
        "run",
        &preset("s10-competing-consumers.yaml"),
        "--trace",
        "-",
    ]);
    assert_eq!(a.stdout, b.stdout);
    let c = switchboard(&[
        "run",
        &preset("s10-competing-consumers.yaml"),
        "--trace",
        "-",
        "--seed",
        "12345",
    ]);
    assert_ne!(
        a.stdout, c.stdout,
        "work times are drawn from the seeded Rng"
    );
}

#[test]
fn explain_tells_the_run_one_sentence_per_event() {
    let out = switchboard(&["explain", &preset("welcome.yaml"), "--until", "1s"]);
    assert_eq!(out.status.code().map(|c| c == 0 || c == 3), Some(true));
    let stdout = text(&out.stdout);
    assert!(stdout.lines().count() > 3);
    assert!(
        stdout
            .lines()
            .all(|l| l.trim_start().starts_with("0.") || l.trim_start().starts_with("1.")),
        "{stdout}"
    );
    assert!(stdout.contains("shop sent"), "{stdout}");
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let out = switchboard(&["run"]);
    assert_eq!(out.status.code(), Some(2));
    let out = switchboard(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["check", "--help"],
        &["explain", "--help"],
    ] {
        let out = switchboard(args);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            text(&out.stdout).contains("3  an expectation failed"),
            "{args:?}"
        );
    }
    let out = switchboard(&["run", &preset("welcome.yaml"), "--until", "soon"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unreadable_or_hostile_input_exits_1_with_a_message() {
    let out = switchboard(&["check", "/nonexistent/scenario.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read"));
    let out = with_stdin(&["check", "-"], &"x".repeat(3 * 1024 * 1024));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("larger than"));
    let mut child = Command::new(BIN)
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[0xff, 0xfe, 0x00, 0x41])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not UTF-8"));
}

#[test]
fn check_reports_bad_pause_and_lost_response_faults_with_positions() {
    let bad = "version: 1\ntitle: Bad faults\nduration: 5s\nservices:\n  - name: shop\n    producer: {to: orders, every: 1s}\n  - name: worker\n    consumer: {queue: orders}\nqueues:\n  - name: orders\nfaults:\n  - {at: 1s, pause: {service: wroker, for: 3s}}\n  - {at: 1s, lose_responses: {link: [shop, orders], chance: 150%}}\n";
    let out = with_stdin(&["check", "-"], bad);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "-:12:31: faults[0].pause.service: no service named `wroker` (did you mean `worker`?)"
        ),
        "{err}"
    );
    assert!(
        err.contains("-:13:61: faults[1].lose_responses.chance: `150%` is not a percentage"),
        "{err}"
    );
}
