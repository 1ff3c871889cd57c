//! Biometric-processing code: imports and calls of face and fingerprint
//! libraries (from `signatures/data/biometric.toml`), one finding per file
//! naming every library used.

use aho_corasick::{AhoCorasick, MatchKind};

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
            .build(&patterns)
            .ok();
        BiometricCode {
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
        let mut used = vec![(false, false); self.libraries.len()];
        let mut first: Option<aho_corasick::Match> = None;
        for m in ac.find_iter(hay.bytes) {
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
