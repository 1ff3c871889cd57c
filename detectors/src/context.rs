//! Context words near a candidate: what raises an ID's confidence.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use shekara_signatures::ContextWords;

/// Which class of context words was seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// A word that points at an individual's IIN.
    pub iin: bool,
    /// A word that points at a legal entity's BIN.
    pub bin: bool,
}

/// Finds context words, with word boundaries, in the bytes before a candidate.
#[derive(Debug)]
pub struct ContextMatcher {
    ac: AhoCorasick,
    is_iin: Vec<bool>,
    window: usize,
}

fn title_case(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl ContextMatcher {
    /// Builds the matcher from the ruleset's context words.
    ///
    /// # Panics
    /// Never for the built-in words (the automaton is tiny).
    pub fn new(words: &ContextWords) -> ContextMatcher {
        let mut patterns: Vec<String> = Vec::new();
        let mut is_iin = Vec::new();
        let lists = [(&words.iin, true), (&words.bin, false)];
        for (list, iin) in lists {
            for w in list {
                for v in [w.clone(), w.to_lowercase(), w.to_uppercase(), title_case(w)] {
                    if !patterns.contains(&v) {
                        patterns.push(v);
                        is_iin.push(iin);
                    }
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            // Run only over a short window before each candidate: an NFA
            // builds in a fraction of a DFA's time (start-up counts for
            // small scans and the pre-commit hook), with the same matches.
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&patterns)
            .expect("context automaton builds");
        ContextMatcher {
            ac,
            is_iin,
            window: words.window,
        }
    }

    /// The context words found in the `window` bytes before `at` in `hay`,
    /// on the same line, or on the line before when nothing but spaces and
    /// punctuation precede `at` on its own line (a key above its value).
    pub fn before(&self, hay: &[u8], at: usize) -> Seen {
        let at = at.min(hay.len());
        let floor = at.saturating_sub(self.window);
        let line_start = line_start(hay, floor, at);
        let bare = !hay[line_start..at].iter().any(u8::is_ascii_alphanumeric);
        let from = if bare && line_start > floor {
            line_start_before(hay, floor, line_start - 1)
        } else {
            line_start
        };
        let slice = &hay[from..at];
        let mut seen = Seen::default();
        for m in self.ac.find_iter(slice) {
            if is_word_edge_before(slice, m.start()) && is_word_edge_after(slice, m.end()) {
                if self.is_iin[m.pattern().as_usize()] {
                    seen.iin = true;
                } else {
                    seen.bin = true;
                }
            }
        }
        seen
    }
}

/// Start of the line holding `at`, not before `floor`.
fn line_start(hay: &[u8], floor: usize, at: usize) -> usize {
    hay[floor..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(floor, |p| floor + p + 1)
}

/// Start of the line that ends at the newline `nl`, not before `floor`.
fn line_start_before(hay: &[u8], floor: usize, nl: usize) -> usize {
    line_start(hay, floor, nl)
}

/// Whether a letter (ASCII or any alphabetic Unicode character) ends just before `i`.
fn is_word_edge_before(s: &[u8], i: usize) -> bool {
    let start = i.saturating_sub(4);
    let tail = &s[start..i];
    // Try the longest valid UTF-8 suffix.
    for k in (1..=tail.len()).rev() {
        if let Ok(t) = std::str::from_utf8(&tail[tail.len() - k..]) {
            if let Some(c) = t.chars().last() {
                return !c.is_alphabetic();
            }
        }
    }
    true
}

/// Whether a letter starts at `i`.
fn is_word_edge_after(s: &[u8], i: usize) -> bool {
    let head = &s[i..(i + 4).min(s.len())];
    for k in (1..=head.len()).rev() {
        if let Ok(t) = std::str::from_utf8(&head[..k]) {
            if let Some(c) = t.chars().next() {
                return !c.is_alphabetic();
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> ContextMatcher {
        ContextMatcher::new(&shekara_signatures::Ruleset::builtin().context)
    }

    #[test]
    fn words_with_boundaries() {
        let m = m();
        let hay = "ИИН: ".as_bytes();
        assert!(m.before(hay, hay.len()).iin);
        let hay = b"client_iin=";
        assert!(m.before(hay, hay.len()).iin);
        let hay = b"skiing trip ";
        assert_eq!(m.before(hay, hay.len()), Seen::default());
        let hay = b"/usr/bin/env ";
        // "bin" between slashes is a word, but a path is weak context; accept it as BIN context.
        assert!(m.before(hay, hay.len()).bin);
        let hay = b"binary blob ";
        assert!(!m.before(hay, hay.len()).bin);
        let hay = "иин клиента ".as_bytes();
        assert!(m.before(hay, hay.len()).iin);
        let hay = "ЖСНы ".as_bytes();
        assert!(
            !m.before(hay, hay.len()).iin,
            "Cyrillic letter after the word"
        );
    }

    #[test]
    fn context_stays_on_its_line_or_the_key_line_above() {
        let m = m();
        let hay = "ИИН: 1\nrandom ".as_bytes();
        assert!(
            !m.before(hay, hay.len()).iin,
            "another line with its own text"
        );
        let hay = "iin:\n  - ".as_bytes();
        assert!(
            m.before(hay, hay.len()).iin,
            "a key on the line above a bare value"
        );
    }

    #[test]
    fn window_is_bounded() {
        let m = m();
        let mut hay = b"IIN ".to_vec();
        hay.extend(std::iter::repeat_n(b' ', 200));
        assert!(!m.before(&hay, hay.len()).iin);
    }
}
