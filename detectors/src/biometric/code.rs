//! Biometric-processing code: imports and calls of face and fingerprint
//! libraries (from `signatures/data/biometric.toml`), one finding per file
//! naming every library used.

use aho_corasick::{packed, AhoCorasick, AhoCorasickKind, Input, MatchKind};

use super::severity_of;
use crate::Confidence::{High, Medium};
use crate::{attrs, Detector, Haystack, Kind, RawFinding, Ruleset, Severity};

/// Rule id.
pub const RULE_CODE: &str = "biometric.code";

/// Extensions of source files (Python, notebooks, Rust, Go, Java, Kotlin,
/// JavaScript/TypeScript, C/C++, C#).
const CODE_EXT: [&str; 17] = [
    ".py", ".ipynb", ".rs", ".go", ".java", ".kt", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx",
    ".c", ".cc", ".cpp", ".h", ".cs",
];

/// Keys per prefilter searcher: aho-corasick's packed (Teddy) searcher takes
/// up to 64. One fat searcher over the ~40 keys measured cheaper than two
/// slim ones (42M against 51M instructions on the benchmark corpus).
const PREFILTER_GROUP: usize = 64;

/// Keys sharing a prefix at least this long are searched by that prefix.
const SHARED_PREFIX: usize = 8;

/// Substrings to search for instead of `literals`: each literal contains one
/// of them, so a file without any key holds no literal. Keys leave out the
/// keyword before a library name (`import `, `from `, `#include `), whose
/// first bytes are in every source file and would make the SIMD searcher
/// stop at each import line, and literals that share a long prefix
/// (`DeepFace.verify(`, `DeepFace.find(`) are searched by it.
fn prefilter_keys(literals: &[String]) -> Vec<String> {
    fn minimal(mut keys: Vec<String>) -> Vec<String> {
        keys.sort();
        keys.dedup();
        let all = keys.clone();
        keys.retain(|k| !all.iter().any(|o| o != k && k.contains(o.as_str())));
        keys
    }
    let keys = minimal(
        literals
            .iter()
            .map(|l| match l.rsplit_once(' ') {
                Some((_, last)) if last.len() >= 4 => last.to_string(),
                _ => l.clone(),
            })
            .collect(),
    );
    // Sorted, keys with a shared prefix are neighbours.
    let mut merged: Vec<String> = Vec::new();
    for k in keys {
        if let Some(last) = merged.last_mut() {
            let common = last
                .bytes()
                .zip(k.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            if common >= SHARED_PREFIX && last.is_char_boundary(common) {
                last.truncate(common);
                continue;
            }
        }
        merged.push(k);
    }
    minimal(merged)
}

/// One literal: which library, and whether it is an import.
struct Literal {
    library: usize,
    import: bool,
}

/// The code detector.
pub struct BiometricCode {
    libraries: Vec<String>,
    literals: Vec<Literal>,
    searcher: Option<AhoCorasick>,
    /// SIMD (Teddy) searchers over [`prefilter_keys`]: the automaton runs
    /// only from the first key in the file, and not at all in the many
    /// source files without one.
    prefilter: Vec<packed::Searcher>,
    /// Length of the longest literal.
    longest: usize,
    severity: Severity,
}

impl BiometricCode {
    /// Builds the detector from the library table.
    pub fn new(rules: &Ruleset) -> BiometricCode {
        let mut patterns = Vec::new();
        let mut literals = Vec::new();
        let libs = &rules.biometric.libraries;
        for (i, lib) in libs.iter().enumerate() {
            for (list, import) in [(&lib.imports, true), (&lib.calls, false)] {
                for p in list {
                    patterns.push(p.clone());
                    literals.push(Literal { library: i, import });
                }
            }
        }
        let searcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            // It runs only in files the prefilter found a key in, from that
            // key on: an NFA builds in a fraction of a DFA's time (start-up
            // counts for small scans and the pre-commit hook).
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&patterns)
            .ok();
        let keys = prefilter_keys(&patterns);
        let groups = keys.len().div_ceil(PREFILTER_GROUP).max(1);
        let per = keys.len().div_ceil(groups).max(1);
        let prefilter: Option<Vec<packed::Searcher>> = keys
            .chunks(per)
            .map(|chunk| {
                let mut b = packed::Config::new().builder();
                b.extend(chunk);
                b.build()
            })
            .collect();
        BiometricCode {
            prefilter: prefilter.unwrap_or_default(),
            longest: patterns.iter().map(String::len).max().unwrap_or(0),
            libraries: libs.iter().map(|l| l.library.clone()).collect(),
            literals,
            searcher,
            severity: severity_of(rules, RULE_CODE),
        }
    }
}

impl Detector for BiometricCode {
    fn id(&self) -> &str {
        "biometric.code"
    }

    fn wants_whole_file(&self, path: &str) -> bool {
        let p = path.to_ascii_lowercase();
        CODE_EXT.iter().any(|e| p.ends_with(e))
    }

    fn on_whole_file(&self, hay: &Haystack<'_>, out: &mut Vec<RawFinding>) {
        let Some(ac) = &self.searcher else {
            return;
        };
        // A key lies inside a literal, so no literal starts more than the
        // longest literal's length before the first key: the automaton
        // starts there (its matches are the same), or the file is skipped.
        let mut from = 0;
        if !self.prefilter.is_empty() {
            let hit = self
                .prefilter
                .iter()
                .filter_map(|p| p.find(hay.bytes))
                .map(|m| m.start())
                .min();
            let Some(hit) = hit else {
                return;
            };
            from = hit.saturating_sub(self.longest);
        }
        let mut used = vec![(false, false); self.libraries.len()];
        let mut first: Option<aho_corasick::Match> = None;
        for m in ac.find_iter(Input::new(hay.bytes).range(from..)) {
            let lit = &self.literals[m.pattern().as_usize()];
            let u = &mut used[lit.library];
            if lit.import {
                u.0 = true;
            } else {
                u.1 = true;
            }
            first.get_or_insert(m);
        }
        let Some(first) = first else {
            return;
        };
        let names: Vec<&str> = used
            .iter()
            .zip(&self.libraries)
            .filter(|((i, c), _)| *i || *c)
            .map(|(_, n)| n.as_str())
            .collect();
        let imported_and_called = used.iter().any(|(i, c)| *i && *c);
        let joined = names.join(",");
        let mut a = attrs([("libraries", joined.as_str())]);
        a.insert(
            "evidence",
            if imported_and_called {
                "import+call"
            } else {
                "import_or_call"
            },
        );
        out.push(RawFinding {
            rule: RULE_CODE.into(),
            kind: Kind::BiometricCode,
            span: hay.abs(first.start())..hay.abs(first.end()),
            value: hay.bytes[first.range()].to_vec(),
            confidence: if imported_and_called { High } else { Medium },
            severity: self.severity,
            attributes: a,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals() -> Vec<String> {
        let rules = Ruleset::builtin();
        let libs = &rules.biometric.libraries;
        libs.iter()
            .flat_map(|l| l.imports.iter().chain(&l.calls).cloned())
            .collect()
    }

    #[test]
    fn every_literal_contains_a_prefilter_key() {
        let lits = literals();
        let keys = prefilter_keys(&lits);
        assert!(keys.len() < lits.len(), "{} keys", keys.len());
        assert!(keys.len() <= PREFILTER_GROUP, "one SIMD searcher: {keys:?}");
        for l in &lits {
            assert!(keys.iter().any(|k| l.contains(k.as_str())), "{l}");
        }
        for k in &keys {
            assert!(k.len() >= 4, "{k}");
            assert!(!k.starts_with("import") && !k.starts_with("from "), "{k}");
        }
        let d = BiometricCode::new(Ruleset::builtin());
        assert_eq!(d.prefilter.len(), 1);
    }

    #[test]
    fn merges_shared_prefixes_and_drops_keywords() {
        let lits = [
            "import abcdefgh",
            "Lib.verify(",
            "Lib.verify_all(",
            "x y",
            "Lib.find(",
        ];
        let keys = prefilter_keys(&lits.map(String::from));
        let want = ["Lib.find(", "Lib.verify", "abcdefgh", "x y"];
        assert_eq!(keys, want.map(String::from).to_vec());
    }

    /// The finding is the automaton's over the whole file, wherever the
    /// first literal is and whatever precedes it.
    #[test]
    fn same_finding_as_the_automaton_alone() {
        let d = BiometricCode::new(Ruleset::builtin());
        let mut slow = BiometricCode::new(Ruleset::builtin());
        slow.prefilter.clear();
        for pad in [0usize, 1, 63, 64, 100_000] {
            let mut text = "x = 1 # interface surface\n"
                .repeat(pad / 20 + 1)
                .into_bytes();
            text.truncate(pad);
            assert_eq!(text.len(), pad);
            text.extend_from_slice(b"from insightface.app import FaceAnalysis\n");
            text.extend_from_slice(b"det = cv2.CascadeClassifier(p)\n");
            let hay = Haystack::whole(&text, "m.py");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            d.on_whole_file(&hay, &mut a);
            slow.on_whole_file(&hay, &mut b);
            assert_eq!(a, b, "pad {pad}");
            assert_eq!(a.len(), 1);
            assert_eq!(
                a[0].span.start,
                pad as u64,
                "{:?}",
                String::from_utf8_lossy(&a[0].value)
            );
            assert_eq!(&a[0].attributes["libraries"], "insightface,opencv-face");
        }
        let mut none = Vec::new();
        d.on_whole_file(
            &Haystack::whole(b"import os\nsurface = 1\n", "a.py"),
            &mut none,
        );
        assert!(none.is_empty());
    }
}
