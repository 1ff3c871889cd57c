//! Biometric-processing code: imports and calls of face and fingerprint
//! libraries (from `signatures/data/biometric.toml`), one finding per file
//! naming every library used.

use std::collections::BTreeMap;

use aho_corasick::{packed, AhoCorasick, AhoCorasickKind, Input, MatchKind, Span};

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

/// Bytes of a trigger (see [`Triggers`]): the most slim Teddy compares
/// per position.
const TRIGGER_LEN: usize = 4;

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

/// A guess of how often `b` occurs in source code, for choosing rare
/// triggers: lowercase letters by their English frequency, then the space;
/// uppercase letters, digits and punctuation are rarer. Only the order of
/// the guesses matters much.
fn byte_weight(b: u8) -> f64 {
    const LOWER: &[u8; 26] = b"etaoinsrhldcumfpgwybvkxjqz";
    match b {
        b' ' => 0.15,
        b'a'..=b'z' => {
            let rank = LOWER.iter().position(|&c| c == b).unwrap_or(25);
            0.06 / (1.0 + rank as f64 * 0.4)
        }
        b'A'..=b'Z' => byte_weight(b.to_ascii_lowercase()) * 0.08,
        b'0'..=b'9' | b'_' | b'.' | b'(' | b')' | b'=' | b',' => 0.01,
        _ => 0.003,
    }
}

/// Words common in source code: a trigger inside one of them would stop
/// the search all the time, so its guessed frequency is multiplied by
/// [`COMMON_PENALTY`] (a unigram guess cannot tell that `rint` is common).
const COMMON: [&str; 22] = [
    "print",
    "source",
    "import",
    "return",
    "self",
    "string",
    "main",
    "device",
    "context",
    "detect",
    "predict",
    "model",
    "compute",
    "python",
    "github",
    "solution",
    "library",
    "#include <lib",
    "minute",
    "_min",
    "_max",
    "new ",
];

/// See [`COMMON`].
const COMMON_PENALTY: f64 = 100.0;

/// What one more trigger costs, as a frequency: more patterns fill the
/// Teddy buckets and make it stop more often.
const TRIGGER_COST: f64 = 2e-7;

/// A guess of how often `w` starts at a position: the product of
/// [`byte_weight`]s, raised for substrings of [`COMMON`] words.
fn weight(w: &[u8]) -> f64 {
    let p: f64 = w.iter().map(|&b| byte_weight(b)).product();
    // The first byte first: a slice comparison is a call (start-up time).
    let common = COMMON.iter().any(|c| {
        c.as_bytes()
            .windows(w.len())
            .any(|x| x.first() == w.first() && x == w)
    });
    if common {
        p * COMMON_PENALTY
    } else {
        p
    }
}

/// The keys assigned to a trigger: `(key, offset of the trigger in it)`.
type Holders = Vec<(usize, usize)>;

/// Short substrings, each in some of the prefilter keys: one slim Teddy
/// over them is about twice as fast as a fat one over the ~40 keys (19.6M
/// against 42.1M instructions for the 17 MB of source files of the
/// benchmark corpus), and each hit is checked against the keys that hold
/// that trigger at a known offset.
struct Triggers {
    searcher: packed::Searcher,
    /// The prefilter keys.
    keys: Vec<Vec<u8>>,
    /// The triggers, by pattern id.
    triggers: Vec<Vec<u8>>,
    /// Per trigger, the keys assigned to it.
    holders: Vec<Holders>,
    /// Per trigger: the other triggers that one of them is a prefix of,
    /// which may match where it matches (a key shorter than
    /// [`TRIGGER_LEN`] is its own trigger); the searcher reports one.
    related: Vec<Vec<usize>>,
    /// The largest offset in `holders`.
    max_offset: usize,
}

/// Chooses triggers for `keys` among their [`TRIGGER_LEN`]-byte substrings
/// (a shorter key stands for itself): greedily the one with the lowest
/// guessed cost ([`weight`] + [`TRIGGER_COST`]) per key not yet covered,
/// until every key holds one. Each key is assigned to the first trigger
/// chosen that it holds, at its first offset. Deterministic: ties go to the
/// smaller substring. On the built-in table: 16 triggers (`face`, `Face`,
/// `bozo`, `MTCN`, …) for 40 keys.
fn choose_triggers(keys: &[Vec<u8>]) -> Vec<(Vec<u8>, Holders)> {
    // Every candidate (sorted, for the ties) with the keys that hold it.
    let mut holding: BTreeMap<Vec<u8>, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        for w in k.windows(TRIGGER_LEN) {
            match holding.get_mut(w) {
                Some(h) if h.last() == Some(&i) => {}
                Some(h) => h.push(i),
                None => {
                    holding.insert(w.to_vec(), vec![i]);
                }
            }
        }
    }
    for k in keys.iter().filter(|k| k.len() < TRIGGER_LEN) {
        let h = (0..keys.len()).filter(|&i| offset(&keys[i], k).is_some());
        holding.insert(k.clone(), h.collect());
    }
    let candidates: Vec<(Vec<u8>, Vec<usize>, f64)> = holding
        .into_iter()
        .map(|(w, h)| {
            let cost = weight(&w) + TRIGGER_COST;
            (w, h, cost)
        })
        .collect();
    let mut covered = vec![false; keys.len()];
    let mut out = Vec::new();
    loop {
        let mut best: Option<(f64, usize)> = None;
        for (c, (_, h, cost)) in candidates.iter().enumerate() {
            let n = h.iter().filter(|&&i| !covered[i]).count();
            let score = cost / n as f64;
            if n > 0 && best.is_none_or(|(s, _)| score < s) {
                best = Some((score, c));
            }
        }
        let Some((_, c)) = best else {
            return out;
        };
        let (w, h, _) = &candidates[c];
        let mut holders = Vec::new();
        for &i in h {
            if !covered[i] {
                covered[i] = true;
                holders.push((i, offset(&keys[i], w).unwrap_or(0)));
            }
        }
        out.push((w.clone(), holders));
    }
}

/// Where `w` first occurs in `k`.
fn offset(k: &[u8], w: &[u8]) -> Option<usize> {
    k.windows(w.len()).position(|x| x == w)
}

impl Triggers {
    /// Triggers for `keys`; `None` when there are none, one is empty (it
    /// is everywhere) or no packed searcher can be built.
    fn new(keys: &[String]) -> Option<Triggers> {
        if keys.iter().any(String::is_empty) {
            return None;
        }
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        let chosen = choose_triggers(&keys);
        let mut b = packed::Config::new().builder();
        for (t, _) in &chosen {
            b.add(t);
        }
        let searcher = b.build()?;
        let (triggers, holders): (Vec<Vec<u8>>, Vec<Holders>) = chosen.into_iter().unzip();
        let max_offset = holders.iter().flatten().map(|&(_, o)| o).max()?;
        let related = triggers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (0..triggers.len())
                    .filter(|&j| {
                        j != i && (t.starts_with(&triggers[j]) || triggers[j].starts_with(t))
                    })
                    .collect()
            })
            .collect();
        Some(Triggers {
            searcher,
            keys,
            triggers,
            holders,
            related,
            max_offset,
        })
    }

    /// Where the first key in `hay` starts, as a search for every key
    /// would say.
    fn first_key(&self, hay: &[u8]) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut at = 0;
        while let Some(m) = self.searcher.find_in(hay, Span::from(at..hay.len())) {
            let p = m.start();
            // A key starting before `best` holds its trigger before
            // `best + max_offset`.
            if best.is_some_and(|b| p >= b + self.max_offset) {
                break;
            }
            let t = m.pattern().as_usize();
            self.check(hay, p, t, &mut best);
            for &u in &self.related[t] {
                if hay
                    .get(p..)
                    .is_some_and(|h| h.starts_with(&self.triggers[u]))
                {
                    self.check(hay, p, u, &mut best);
                }
            }
            at = p + 1;
        }
        best
    }

    /// Lowers `best` to the start of a key that holds trigger `t` at `p`.
    #[inline]
    fn check(&self, hay: &[u8], p: usize, t: usize, best: &mut Option<usize>) {
        for &(k, off) in &self.holders[t] {
            let Some(s) = p.checked_sub(off) else {
                continue;
            };
            if best.is_some_and(|b| s >= b) {
                continue;
            }
            if hay.get(s..).is_some_and(|h| h.starts_with(&self.keys[k])) {
                *best = Some(s);
            }
        }
    }
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
    /// A slim Teddy over triggers of [`prefilter_keys`]: the automaton runs
    /// only from the first key in the file, and not at all in the many
    /// source files without one.
    prefilter: Option<Triggers>,
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
        let prefilter = Triggers::new(&prefilter_keys(&patterns));
        BiometricCode {
            prefilter,
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
        if let Some(p) = &self.prefilter {
            let Some(hit) = p.first_key(hay.bytes) else {
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
    use proptest::prelude::*;

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
        for l in &lits {
            assert!(keys.iter().any(|k| l.contains(k.as_str())), "{l}");
        }
        for k in &keys {
            assert!(k.len() >= 4, "{k}");
            assert!(!k.starts_with("import") && !k.starts_with("from "), "{k}");
        }
        let d = BiometricCode::new(Ruleset::builtin());
        assert!(d.prefilter.is_some());
    }

    /// Few triggers (one slim Teddy takes up to 32; fewer fill its buckets
    /// less), each held by its keys at the recorded offset, every key
    /// assigned once, and words common in code are not triggers.
    #[test]
    fn triggers_cover_every_key() {
        let keys = prefilter_keys(&literals());
        let bytes: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        let chosen = choose_triggers(&bytes);
        let names: Vec<String> = chosen
            .iter()
            .map(|(t, _)| String::from_utf8_lossy(t).into_owned())
            .collect();
        assert!(chosen.len() <= 16, "{names:?}");
        let mut seen = vec![0; keys.len()];
        for (t, holders) in &chosen {
            assert_eq!(t.len(), TRIGGER_LEN, "{names:?}");
            for &(k, off) in holders {
                assert_eq!(&bytes[k][off..off + t.len()], &t[..], "{}", keys[k]);
                seen[k] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
        for common in ["rint", "prin", "impo", "retu", "self", "tion", "ther"] {
            assert!(!names.iter().any(|n| n == common), "{names:?}");
        }
    }

    #[test]
    fn a_short_key_is_its_own_trigger() {
        let keys = ["ab", "xabcdefy", "cdef"].map(|k| k.as_bytes().to_vec());
        let chosen = choose_triggers(&keys);
        assert!(chosen
            .iter()
            .any(|(t, h)| t == b"ab" && h.contains(&(0, 0))));
        let t = Triggers::new(&["ab", "xabcdefy", "cdef"].map(String::from)).unwrap();
        assert_eq!(t.first_key(b"zzxabcdefy"), Some(2));
        assert_eq!(t.first_key(b"zzzcdef ab"), Some(3));
        assert_eq!(t.first_key(b"zzzcde a b"), None);
        assert!(Triggers::new(&["abcd".into(), String::new()]).is_none());
        assert!(Triggers::new(&[]).is_none());
    }

    /// The first key by a plain search for every key: the oracle of
    /// [`Triggers::first_key`].
    fn naive_first_key(keys: &[String], hay: &[u8]) -> Option<usize> {
        keys.iter()
            .filter_map(|k| memchr::memmem::find(hay, k.as_bytes()))
            .min()
    }

    /// Pieces of generated text: filler, keys, keys with a byte changed,
    /// cut short or cut at the front (near-misses that hold the trigger or
    /// part of it), and words with `face`/`print` in them.
    fn piece(keys: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
        let n = keys.len();
        let k2 = keys.clone();
        let k3 = keys.clone();
        prop_oneof![
            4 => "[a-z _.(\n]{0,40}".prop_map(String::into_bytes),
            1 => (0..n).prop_map(move |i| keys[i].clone().into_bytes()),
            2 => (0..n, any::<prop::sample::Index>(), any::<u8>()).prop_map(move |(i, at, b)| {
                let mut k = k2[i].clone().into_bytes();
                let j = at.index(k.len());
                k[j] = b;
                k
            }),
            2 => (0..n, any::<prop::sample::Index>(), any::<bool>()).prop_map(move |(i, at, front)| {
                let k = k3[i].as_bytes();
                let j = at.index(k.len());
                if front { k[j..].to_vec() } else { k[..j].to_vec() }
            }),
            1 => prop_oneof![
                Just(b"interface".to_vec()),
                Just(b"Surface".to_vec()),
                Just(b"println!(".to_vec()),
                Just(b"facet".to_vec()),
                Just(b"FPrin".to_vec()),
            ],
        ]
    }

    proptest::proptest! {
        #[test]
        fn first_key_is_the_naive_search(
            pieces in proptest::collection::vec(piece(prefilter_keys(&literals())), 0..40),
        ) {
            let keys = prefilter_keys(&literals());
            let t = Triggers::new(&keys).unwrap();
            let hay = pieces.concat();
            proptest::prop_assert_eq!(t.first_key(&hay), naive_first_key(&keys, &hay));
        }

        /// Keys over a tiny alphabet overlap and hold each other's
        /// triggers: a key whose trigger comes later may start first.
        #[test]
        fn first_key_with_overlapping_keys(
            keys in proptest::collection::vec("[abc]{1,7}", 1..6),
            hay in "[abcd]{0,80}",
        ) {
            let t = Triggers::new(&keys).unwrap();
            proptest::prop_assert_eq!(t.first_key(hay.as_bytes()), naive_first_key(&keys, hay.as_bytes()));
        }
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
        slow.prefilter = None;
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
