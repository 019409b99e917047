//! House rules for the engine's source, checked by reading it: no hash-ordered collections,
//! no wall clock, no floats, no ambient randomness, no I/O, no unfinished code.

use std::path::Path;

const BANNED: &[(&str, &str)] = &[
    (
        "HashMap",
        "iteration order must be fixed: use BTreeMap or Vec-by-id",
    ),
    ("HashSet", "iteration order must be fixed: use BTreeSet"),
    ("Instant", "no wall clock in the engine"),
    ("SystemTime", "no wall clock in the engine"),
    (
        "f64",
        "no floats in decisions: use Chance (ppm) and integer ms",
    ),
    (
        "f32",
        "no floats in decisions: use Chance (ppm) and integer ms",
    ),
    (
        "thread_rng",
        "every random choice goes through the world's Rng",
    ),
    (
        "getrandom",
        "every random choice goes through the world's Rng",
    ),
    ("std::fs", "the engine does no I/O"),
    ("todo!", "no unfinished code"),
    ("unimplemented!", "no unfinished code"),
];

#[test]
fn engine_source_follows_the_house_rules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.starts_with("//!") {
            problems.push(format!(
                "{}: must start with a //! line saying what it owns",
                path.display()
            ));
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (word, why) in BANNED {
                if code.contains(word) {
                    problems.push(format!("{}:{}: `{word}`: {why}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        files >= 8,
        "found only {files} source files in {}",
        dir.display()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
