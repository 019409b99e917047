//! Diagnostics: one problem in a scenario, with where it is (line, column, path) and a hint.
//! Also the "did you mean" helper (edit distance) used for unknown names and fields.

use serde::Serialize;

/// One problem found while loading or validating a scenario.
///
/// `line` and `column` are 1-based; both are 0 when the problem has no place in a text (a scenario
/// built from the UI's form). `path` names the place in the document (`services[2].consumer.queue`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    pub line: u32,
    pub column: u32,
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(pos: Pos, path: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            line: pos.line,
            column: pos.column,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// `FILE:LINE:COL: message (hint)` — the format the CLI prints and editors can jump to.
    pub fn render(&self, file: &str) -> String {
        let mut text = format!("{file}:{}:{}: ", self.line, self.column);
        if !self.path.is_empty() {
            text.push_str(&self.path);
            text.push_str(": ");
        }
        text.push_str(&self.message);
        if let Some(hint) = &self.hint {
            text.push_str(" (");
            text.push_str(hint);
            text.push(')');
        }
        text
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render("scenario"))
    }
}

/// A place in the text: 1-based line and column (column counted in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub const NONE: Pos = Pos { line: 0, column: 0 };
}

/// Levenshtein distance, bounded to short strings (names and field names are short; longer input
/// is compared by its first 64 characters so a hostile key can't make this quadratic-expensive).
pub fn edit_distance(a: &str, b: &str) -> u32 {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut prev: Vec<u32> = (0..=b.len() as u32).collect();
    let mut cur = vec![0u32; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i as u32 + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = u32::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo
/// (distance at most a third of the longer name, and at least 1 allowed).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(u32, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(word, candidate);
        let allowed = (word.chars().count().max(candidate.chars().count()) as u32 / 3).max(1);
        if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// "did you mean `x`?" or a list of what is allowed, whichever helps more.
pub fn suggest(word: &str, candidates: &[&str]) -> String {
    match nearest(word, candidates.iter().copied()) {
        Some(near) => format!("did you mean `{near}`?"),
        None if candidates.is_empty() => "nothing is defined here yet".to_string(),
        None => format!("expected one of: {}", candidates.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("visibility_timeout", "visibility_timeout"), 0);
        assert_eq!(edit_distance("visiblity_timeout", "visibility_timeout"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn nearest_ignores_names_that_are_too_different() {
        assert_eq!(nearest("queus", ["queues", "topics"]), Some("queues"));
        assert_eq!(nearest("zzzzzz", ["queues", "topics"]), None);
    }

    #[test]
    fn render_matches_the_cli_format() {
        let d = Diagnostic::new(
            Pos { line: 3, column: 5 },
            "queues[0]",
            "unknown field `fifoo`",
        )
        .hint("did you mean `fifo`?");
        assert_eq!(
            d.render("a.yaml"),
            "a.yaml:3:5: queues[0]: unknown field `fifoo` (did you mean `fifo`?)"
        );
    }
}
