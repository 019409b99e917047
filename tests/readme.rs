//! The README's scenario example is a real scenario: it loads, runs, and meets its own `expect` lines.

use switchboard::engine::Sim;

#[test]
fn readme_scenario_example_runs_and_meets_its_expectations() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```yaml\n")
        .expect("a yaml block in the README")
        + "```yaml\n".len();
    let end = start + readme[start..].find("```").expect("the block ends");
    let scenario = switchboard::scenario::load(&readme[start..end]).expect("the example is valid");
    let spec = scenario.to_spec().expect("the example builds");
    let mut sim = Sim::new(&spec).expect("the world builds");
    sim.run_until(spec.limits.until, spec.limits.max_events);
    let (summary, all_pass) = switchboard::scenario::summarize(&scenario, &sim.metrics());
    assert!(
        all_pass,
        "README example expectations: {}",
        summary["expectations"]
    );
    assert!(!scenario.expect.is_empty());
}
