//! Same scenario + seed ⇒ the same trace, every time and on every target. The pinned hashes in
//! `tests/trace-hashes.txt` are checked here natively and by `tests/web.rs` in Chromium (wasm32),
//! so a match in both proves native == wasm. After an intended engine change, re-pin with
//! `UPDATE_EXPECT=1 cargo test --test determinism`.

mod common;

#[test]
fn presets_reproduce_their_pinned_trace_hashes() {
    let mut lines = Vec::new();
    let mut mismatches = Vec::new();
    for (name, text) in common::PINNED {
        let (events, hash) = common::run_to_end(text);
        let (again_events, again_hash) = common::run_to_end(text);
        assert_eq!(
            (events, hash),
            (again_events, again_hash),
            "{name}: two runs differ"
        );
        lines.push(format!("{name} {events} {hash:#018x}"));
        if common::pinned(name) != Some((events, hash)) {
            mismatches.push(format!(
                "{name}: got {events} events {hash:#018x}, pinned {:?}",
                common::pinned(name)
            ));
        }
    }
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/trace-hashes.txt");
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
        return;
    }
    assert!(
        mismatches.is_empty(),
        "trace hashes changed (re-pin with UPDATE_EXPECT=1 if intended):\n{}",
        mismatches.join("\n")
    );
}
