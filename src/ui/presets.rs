//! The preset scenarios, embedded at build time from `static/scenarios/` (the same files the
//! tests and the CLI read). Embedding costs a few KB gzipped and makes the first Step instant.

/// "New": an empty canvas that is still a valid scenario.
pub const EMPTY: &str = "version: 1\ntitle: Untitled system\nduration: 60s\n";

/// (file stem, text), in gallery order. The first one is the welcome tour.
pub const ALL: &[(&str, &str)] = &[
    (
        "welcome",
        include_str!("../../static/scenarios/welcome.yaml"),
    ),
    (
        "s01-broker",
        include_str!("../../static/scenarios/s01-broker.yaml"),
    ),
    (
        "s01-mesh",
        include_str!("../../static/scenarios/s01-mesh.yaml"),
    ),
    (
        "s03-rpc-vs-message",
        include_str!("../../static/scenarios/s03-rpc-vs-message.yaml"),
    ),
    (
        "s05-christmas-tree",
        include_str!("../../static/scenarios/s05-christmas-tree.yaml"),
    ),
    (
        "s06-rest-edge-async-inside",
        include_str!("../../static/scenarios/s06-rest-edge-async-inside.yaml"),
    ),
    (
        "s07-load-levelling",
        include_str!("../../static/scenarios/s07-load-levelling.yaml"),
    ),
    (
        "s09-music-store",
        include_str!("../../static/scenarios/s09-music-store.yaml"),
    ),
    (
        "s10-competing-consumers",
        include_str!("../../static/scenarios/s10-competing-consumers.yaml"),
    ),
    (
        "s11-pubsub-over-sqs",
        include_str!("../../static/scenarios/s11-pubsub-over-sqs.yaml"),
    ),
    (
        "s16-dedup-window",
        include_str!("../../static/scenarios/s16-dedup-window.yaml"),
    ),
    (
        "s20-fifo-head-of-line",
        include_str!("../../static/scenarios/s20-fifo-head-of-line.yaml"),
    ),
    (
        "s21-visibility-timeout",
        include_str!("../../static/scenarios/s21-visibility-timeout.yaml"),
    ),
    (
        "s24-idempotent-consumers",
        include_str!("../../static/scenarios/s24-idempotent-consumers.yaml"),
    ),
    (
        "s26-durable-pubsub",
        include_str!("../../static/scenarios/s26-durable-pubsub.yaml"),
    ),
    (
        "s29-style-shootout",
        include_str!("../../static/scenarios/s29-style-shootout.yaml"),
    ),
];

/// The page opens on the welcome preset.
pub fn welcome() -> &'static str {
    ALL.iter()
        .find(|p| p.0 == "welcome")
        .map(|p| p.1)
        .unwrap_or(EMPTY)
}

/// Title and first description line of a preset, read from its text without a full load.
pub fn title_of(text: &str) -> (String, String) {
    let mut title = String::new();
    let mut desc = String::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("title:") {
            title = t.trim().trim_matches('"').trim_matches('\'').to_string();
        } else if let Some(d) = line.strip_prefix("description:") {
            let d = d.trim().trim_start_matches(['>', '|']).trim();
            desc = d.trim_matches('"').to_string();
        } else if desc.is_empty()
            && !title.is_empty()
            && line.starts_with("  ")
            && text.contains("description:")
        {
            // Block scalar: the first indented line after `description: >`.
            let l = line.trim();
            if !l.is_empty() && !l.contains(':') {
                desc = l.to_string();
            }
        }
        if !title.is_empty() && !desc.is_empty() {
            break;
        }
    }
    (title, desc)
}
