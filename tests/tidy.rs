//! Architecture invariants checked as a test: the engine crates stay pure and deterministic, and
//! every module says what it owns. A failure names the file and line to fix.

use std::path::{Path, PathBuf};
use std::process::Command;

const PURE_CRATES: [&str; 3] = ["crates/broker", "crates/engine", "crates/scenario"];

/// Names that break determinism or purity inside the engine crates, and why.
const BANNED_IN_PURE_CRATES: [(&str, &str); 10] = [
    (
        "HashMap",
        "iteration order is random: use BTreeMap or Vec-by-id",
    ),
    ("HashSet", "iteration order is random: use BTreeSet"),
    ("Instant::now", "wall clock: virtual time only (Millis)"),
    ("SystemTime", "wall clock: virtual time only (Millis)"),
    (
        "std::fs",
        "no I/O in the engine: the CLI and the UI read files",
    ),
    (
        "thread_rng",
        "every random choice goes through the world's seeded Rng",
    ),
    (
        "getrandom",
        "every random choice goes through the world's seeded Rng",
    ),
    ("web_sys", "the engine has no web dependency"),
    ("js_sys", "the engine has no web dependency"),
    ("yew::", "the engine has no web dependency"),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn engine_crates_use_no_wall_clock_hash_order_io_or_web_crates() {
    let mut problems = Vec::new();
    for krate in PURE_CRATES {
        let mut files = Vec::new();
        rust_files(&repo().join(krate).join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (line_no, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for (name, why) in BANNED_IN_PURE_CRATES {
                    if code.contains(name) {
                        let shown = file.strip_prefix(repo()).unwrap().display();
                        problems.push(format!("{shown}:{}: `{name}`: {why}", line_no + 1));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "purity violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_module_starts_with_a_doc_line_on_what_it_owns() {
    let mut files = Vec::new();
    for dir in [
        "crates/broker/src",
        "crates/engine/src",
        "crates/scenario/src",
        "src",
    ] {
        rust_files(&repo().join(dir), &mut files);
    }
    files.sort();
    files.dedup();
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            !first.starts_with("//!")
        })
        .map(|f| f.strip_prefix(repo()).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a leading `//!` line:\n{}",
        missing.join("\n")
    );
}

#[test]
fn engine_dependency_tree_has_no_web_crate() {
    // `cargo tree` resolves from Cargo.lock without compiling anything.
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            "switchboard-scenario",
        ])
        .current_dir(repo())
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    for web in ["yew ", "web-sys ", "js-sys ", "gloo", "wasm-bindgen "] {
        assert!(
            !tree.contains(web),
            "engine crates depend on {web}:\n{tree}"
        );
    }
}
