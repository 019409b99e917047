//! The `switchboard` command-line runner: check, run and explain scenario files headless, over
//! the same engine as the playground. The only place (with the UI) that does I/O.

use clap::{Args, Parser, Subcommand};
use std::io::{Read, Write};
use std::process::ExitCode;
use switchboard_engine::broker::Millis;
use switchboard_engine::Sim;
use switchboard_scenario::{load, yaml::MAX_BYTES, Diagnostic, Duration, Scenario};

const EXIT_CODES: &str = "Exit codes:
  0  every expectation holds (check: the file is valid)
  1  invalid input (unreadable file, or the scenario has errors: printed as FILE:LINE:COL: message (hint))
  2  usage error (unknown option, missing argument)
  3  an expectation failed";

/// Run Switchboard scenarios (SQS/SNS-style queues and topics, RPC links) on a deterministic virtual clock.
#[derive(Parser)]
#[command(name = "switchboard", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario to its end and check its `expect` lines.
    #[command(after_help = EXIT_CODES)]
    Run {
        #[command(flatten)]
        common: Common,
        /// Write the trace here: one JSON object per event (`-` = standard output).
        #[arg(long, value_name = "OUT.jsonl")]
        trace: Option<String>,
        /// Write the summary here as JSON: end_t_ms, events, expectations, queues, topics, services, links (`-` = standard output).
        #[arg(long, value_name = "OUT.json")]
        summary: Option<String>,
    },
    /// Validate a scenario only: every problem on standard error, nothing when it is valid.
    #[command(after_help = EXIT_CODES)]
    Check {
        /// Scenario file (YAML or JSON), `-` for standard input.
        file: String,
    },
    /// Run a scenario and tell it as sentences, one per event, with the virtual time.
    #[command(after_help = EXIT_CODES)]
    Explain {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
struct Common {
    /// Scenario file (YAML or JSON), `-` for standard input.
    file: String,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Stop at this virtual time instead of the scenario's `duration` (e.g. `30s`, `250ms`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    until: Option<Duration>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    Duration::parse(text)
        .ok_or_else(|| format!("`{text}` is not a duration; write e.g. 250ms, 30s, 5m, 1h"))
}

/// Exit 1 with a message.
struct Invalid;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { file } => check(&file),
        Command::Run {
            common,
            trace,
            summary,
        } => run(&common, trace.as_deref(), summary.as_deref()),
        Command::Explain { common } => explain(&common),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Invalid) => ExitCode::from(1),
    }
}

fn read_input(file: &str) -> Result<String, Invalid> {
    let mut bytes = Vec::new();
    let limit = MAX_BYTES as u64 + 1;
    let read = if file == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    if let Err(error) = read {
        eprintln!("{file}: cannot read: {error}");
        return Err(Invalid);
    }
    if bytes.len() > MAX_BYTES {
        eprintln!("{file}:1:1: the file is larger than {MAX_BYTES} bytes, the limit for scenarios (split it, or remove generated content)");
        return Err(Invalid);
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        eprintln!("{file}: byte {offset}: not UTF-8 text (scenarios are UTF-8 YAML or JSON)");
        Invalid
    })
}

fn report(file: &str, diags: &[Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for d in diags {
        let _ = writeln!(err, "{}", d.render(file));
    }
}

/// Reads, parses, validates and builds: the scenario and its simulator, or diagnostics.
/// `--seed` and `--until` override the built spec, not the file (a step at 4s stays valid with `--until 1s`).
fn prepare(
    common_file: &str,
    seed: Option<u64>,
    until: Option<Duration>,
) -> Result<(Scenario, Sim), Invalid> {
    let text = read_input(common_file)?;
    let mut scenario = load(&text).map_err(|diags| {
        report(common_file, &diags);
        Invalid
    })?;
    let mut spec = scenario.to_spec().map_err(|diags| {
        report(common_file, &diags);
        Invalid
    })?;
    if let Some(seed) = seed {
        scenario.seed = seed;
        spec.seed = seed;
    }
    if let Some(until) = until {
        scenario.duration = until;
        spec.limits.until = Millis(until.0);
    }
    let sim = Sim::new(&spec).map_err(|error| {
        eprintln!("{common_file}: the engine refused the scenario: {error}");
        Invalid
    })?;
    // The CLI runs forward only: no checkpoints for step back.
    Ok((scenario, sim.without_checkpoints()))
}

fn check(file: &str) -> Result<u8, Invalid> {
    prepare(file, None, None).map(|_| 0)
}

fn run_to_end(scenario: &Scenario, sim: &mut Sim) {
    sim.run_until(Millis(scenario.duration.0), scenario.max_events);
}

/// Opens `-` (standard output) or a file for writing.
fn open_output(path: &str) -> Result<Box<dyn Write>, Invalid> {
    if path == "-" {
        return Ok(Box::new(std::io::BufWriter::new(std::io::stdout().lock())));
    }
    match std::fs::File::create(path) {
        Ok(f) => Ok(Box::new(std::io::BufWriter::new(f))),
        Err(error) => {
            eprintln!("{path}: cannot write: {error}");
            Err(Invalid)
        }
    }
}

fn run(common: &Common, trace: Option<&str>, summary_out: Option<&str>) -> Result<u8, Invalid> {
    let (scenario, mut sim) = prepare(&common.file, common.seed, common.until)?;
    run_to_end(&scenario, &mut sim);
    if let Some(path) = trace {
        let mut out = open_output(path)?;
        for event in sim.events() {
            if writeln!(out, "{}", event.to_json_line(sim.names())).is_err() {
                break;
            }
        }
        let _ = out.flush();
    }
    let (summary, all_pass) = switchboard_scenario::summarize(&scenario, &sim.metrics());
    match summary_out {
        Some(path) => {
            let mut out = open_output(path)?;
            let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
        None if trace != Some("-") => print_results(&scenario, &summary, sim.event_count()),
        None => {}
    }
    Ok(if all_pass { 0 } else { 3 })
}

/// The human report when no JSON goes to standard output.
fn print_results(scenario: &Scenario, summary: &serde_json::Value, events: u64) {
    let end = summary
        .get("end_t_ms")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    println!(
        "{}: {events} events, ended at {}",
        scenario.title,
        Millis(end)
    );
    if let Some(results) = summary.get("expectations").and_then(|v| v.as_array()) {
        for r in results {
            let pass = r.get("pass").and_then(|v| v.as_bool()).unwrap_or(false);
            let text = r.get("text").and_then(|v| v.as_str()).unwrap_or("");
            let why = r.get("why").and_then(|v| v.as_str()).unwrap_or("");
            println!("{} {text}   ({why})", if pass { "PASS" } else { "FAIL" });
        }
    }
}

fn explain(common: &Common) -> Result<u8, Invalid> {
    let (scenario, mut sim) = prepare(&common.file, common.seed, common.until)?;
    run_to_end(&scenario, &mut sim);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for event in sim.events() {
        if writeln!(out, "{:>10}  {}", event.t.to_string(), sim.explain(&event)).is_err() {
            break;
        }
    }
    let _ = out.flush();
    let (_, all_pass) = switchboard_scenario::summarize(&scenario, &sim.metrics());
    Ok(if all_pass { 0 } else { 3 })
}
