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
fn there_are_at_least_twelve_presets_and_a_welcome_tour() {
    let names: Vec<String> = presets().into_iter().map(|(n, _)| n).collect();
    assert!(names.len() >= 13, "{names:?}");
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
