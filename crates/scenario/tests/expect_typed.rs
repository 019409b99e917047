//! The expect language reads the typed `Metrics` exactly as it reads their summary JSON: for
//! every preset, at several points of its run, every path of the JSON (and paths that miss)
//! gives the same value or the same failure through both `MetricSource` implementations.

use serde_json::Value;
use switchboard_engine::broker::Millis;
use switchboard_engine::Sim;
use switchboard_scenario::expect::{self, MetricSource};
use switchboard_scenario::load;

fn presets() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../static/scenarios");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("static/scenarios exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap();
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect();
    out.sort();
    out
}

/// Every path below `v` (objects and arrays included, as the evaluator may be pointed at them).
fn paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = v {
        for (k, child) in map {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push(p.clone());
            paths(child, &p, out);
        }
    }
}

fn same_everywhere(file: &str, typed: &switchboard_engine::Metrics) {
    let json = serde_json::to_value(typed).unwrap();
    let mut top = Vec::new();
    paths(&json, "", &mut top);
    top.extend(["", "nope", "events.x", "queues.nope", "end_t_ms"].map(String::from));
    for p in &top {
        assert_eq!(
            typed.metric(p, None),
            json.metric(p, None),
            "{file}: run-wide `{p}`"
        );
    }
    let mut targets: Vec<String> = ["services", "queues", "topics", "links"]
        .iter()
        .filter_map(|s| json.get(s).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect();
    targets.push("nope".into());
    for t in &targets {
        let entity = ["services", "queues", "topics", "links"]
            .iter()
            .find_map(|s| json.get(s).and_then(|s| s.get(t)));
        let mut ps = Vec::new();
        if let Some(e) = entity {
            paths(e, "", &mut ps);
        }
        ps.extend(
            [
                "",
                "nope",
                "handled.x",
                "latency_ms",
                "latency_ms.p7",
                "state.since",
            ]
            .map(String::from),
        );
        for p in &ps {
            assert_eq!(
                typed.metric(p, Some(t)),
                json.metric(p, Some(t)),
                "{file}: `{p}({t})`"
            );
            assert_eq!(
                expect::lookup(typed, p, Some(t)),
                expect::lookup(&json, p, Some(t)),
                "{file}: `{p}({t})`"
            );
        }
    }
}

#[test]
fn typed_metrics_read_like_their_summary_json_in_every_preset() {
    let presets = presets();
    assert!(presets.len() > 5, "presets found");
    for (file, text) in &presets {
        let scenario = load(text).unwrap_or_else(|d| panic!("{file}: {}", d[0].message));
        let spec = scenario.to_spec().unwrap();
        let mut sim = Sim::new(&spec).unwrap();
        let end = spec.limits.until.0;
        for k in 1..=4u64 {
            sim.run_until(Millis(end * k / 4), spec.limits.max_events);
            let m = sim.metrics();
            same_everywhere(file, &m);
            for e in &scenario.expect {
                let json = serde_json::to_value(&m).unwrap();
                assert_eq!(
                    expect::evaluate(e, &m),
                    expect::evaluate(e, &json),
                    "{file}: {e}"
                );
            }
        }
    }
}
