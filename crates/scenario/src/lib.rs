//! Scenario files: the text people write (YAML or JSON), validated with line/column diagnostics,
//! built into an engine `WorldSpec`, and checked against its own `expect` lines.
//!
//! Pure: no I/O, no clock. The pipeline is parse (`yaml`) → decode (`decode`, every problem at
//! once) → validate (`validate`, cross-references and SQS rules) → build (`build`).
//!
//! Module map:
//! - [`yaml`]: text to a position-carrying tree, with size/depth/alias limits.
//! - [`file`]: the file's types ([`Scenario`] and its parts), serializable and schema-described.
//! - [`decode`]: tree to types, collecting diagnostics.
//! - [`validate`]: whole-scenario checks.
//! - [`expect`]: the expectation language and its evaluation over run metrics.
//! - [`emit`]: canonical YAML text (`Scenario::to_yaml`).
//! - [`layout`]: positions for nodes without `x`/`y`.

pub mod build;
pub mod decode;
pub mod diag;
pub mod emit;
pub mod expect;
pub mod file;
pub mod layout;
pub mod validate;
pub mod yaml;

pub use diag::{Diagnostic, Pos};
pub use expect::ExpectationResult;
pub use file::*;

/// Reads a scenario from YAML or JSON text. On failure returns every problem found, sorted by
/// position. Never panics, whatever the input; bounded in size, depth and alias expansion.
pub fn load(text: &str) -> Result<Scenario, Vec<Diagnostic>> {
    let root = yaml::parse(text).map_err(|d| vec![d])?;
    let mut cx = decode::Cx::new();
    let scenario = decode::scenario(&mut cx, &root);
    let mut diags = cx.diags;
    // Validate even when decoding found problems, so one pass shows everything. Items with a
    // bad field keep a default for it, so cascades are rare (only an unreadable name drops one).
    if let Some(scenario) = &scenario {
        diags.extend(validate::validate(scenario, &cx.spans));
    }
    diags.sort();
    diags.dedup();
    diags.truncate(decode::MAX_DIAGNOSTICS);
    match scenario {
        Some(s) if diags.is_empty() => Ok(s),
        _ if diags.is_empty() => Err(vec![Diagnostic::new(
            Pos { line: 1, column: 1 },
            "",
            "the scenario could not be read",
        )]),
        _ => Err(diags),
    }
}

impl Scenario {
    /// Checks a scenario that was built without text (the UI's form). Diagnostics carry paths,
    /// and line/column 0.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut spans = decode::Spans::default();
        spans.0.insert(String::new(), Pos::NONE);
        validate::validate(self, &spans)
    }

    /// Evaluates every `expect` line against the run's summary metrics (the JSON object with
    /// `queues`, `topics`, `services`, `links` keyed by name, plus `events`, `end_t_ms`, ...).
    pub fn evaluate_expectations(&self, metrics: &serde_json::Value) -> Vec<ExpectationResult> {
        self.expect
            .iter()
            .map(|text| expect::evaluate(text, metrics))
            .collect()
    }
}

/// The run summary the CLI writes and the UI shows: the engine's metrics as JSON (`queues`,
/// `topics`, `services`, `links` keyed by name, `events`, `connections`), plus `end_t_ms` and
/// `expectations` (each with `text`, `pass`, `why`). Returns the summary and whether every
/// expectation holds.
pub fn summarize(
    scenario: &Scenario,
    metrics: &switchboard_engine::Metrics,
) -> (serde_json::Value, bool) {
    let mut summary = serde_json::to_value(metrics).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(object) = summary.as_object_mut() {
        let end = object
            .get("t_ms")
            .cloned()
            .unwrap_or(serde_json::Value::from(0));
        object.insert("end_t_ms".into(), end);
    }
    let results = scenario.evaluate_expectations(&summary);
    let all_pass = results.iter().all(|r| r.pass);
    if let Some(object) = summary.as_object_mut() {
        object.insert(
            "expectations".into(),
            serde_json::to_value(&results).unwrap_or_default(),
        );
    }
    (summary, all_pass)
}
