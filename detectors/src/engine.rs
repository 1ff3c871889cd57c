//! The engine: one pass of the shared prefilter over each block, detectors only at candidates.

use std::ops::Range;

use aho_corasick::packed;
use aho_corasick::Span;
use memchr::memmem;

use crate::{digits, Detector, Haystack, RawFinding};

mod order;

/// Bytes of context each window carries on each side of its owned part.
///
/// Every detector keeps its matches (and the context it looks behind or ahead
/// at) within this many bytes of where the match starts, so a window with this
/// much context on both sides sees everything about the matches it owns.
pub const OVERLAP: usize = 1024;

/// Size of the blocks over which the literal search and the digit scan run
/// back to back, while the block is in cache.
const BLOCK: usize = 64 * 1024;

/// At most this many literals share one SIMD (slim Teddy) searcher: past
/// 32 aho-corasick switches to a slower variant, and past 64 to none.
const GROUP_MAX: usize = 24;

/// A detector's few text anchors (at most this many) join another
/// detector's searcher rather than cost a pass of their own…
const MERGE_SMALL: usize = 8;

/// …as long as that searcher stays a slim Teddy (8 buckets, 32 literals).
const MERGED_MAX: usize = 32;

/// Bytes that text (ASCII or UTF-8) never holds or hardly ever: NUL, DEL and
/// `0xFF`. An anchor with one of them (a binary magic) can only match where
/// one occurs, so its searcher runs only over blocks that hold one (binary
/// files, not text); one SIMD byte search over the block decides.
const RARE: [u8; 3] = digits::RARE_BYTES;

/// How often byte `b` occurs in text and code, relative to other bytes: the
/// model the literal order is priced with (see `order::WEIGHT`).
pub(crate) fn byte_weight(b: u8) -> f64 {
    f64::from(order::WEIGHT[usize::from(b)])
}

/// Where the tail of `lit` starts (at least `min` bytes long, or all of it)
/// whose first three bytes are least likely, as [`byte_weight`] prices them
/// one by one (the first such tail on a tie).
///
/// The SIMD searcher stops wherever a literal's first bytes may be (its
/// bucket's fingerprint), and most stops are not the literal: in code,
/// `.wi` and `.go` start method calls everywhere. A detector that finds its
/// value around the match either way (the endpoints' hosts) searches a
/// rarer tail. (The declared-egress anchors searched by their tails, the
/// head checked before each, gained nothing measurable: not done.)
///
/// Pricing a leading `.` as often as `e` (a dot starts every method call in
/// code) made source files faster still but data files slower (CSV, JSON
/// Lines and logs, where a dot is mostly a decimal point), and the whole
/// benchmark corpus 698 → 753 ms: the model is used as it is.
pub(crate) fn rare_tail(lit: &[u8], min: usize) -> usize {
    let last = lit.len().saturating_sub(min);
    let price = |i: usize| -> f64 {
        let first = &lit[i..(i + 3).min(lit.len())];
        first.iter().map(|&c| byte_weight(c)).product()
    };
    (0..=last)
        .min_by(|&x, &y| price(x).total_cmp(&price(y)).then(x.cmp(&y)))
        .unwrap_or(0)
}

/// Whether `bytes` hold a byte of [`RARE`].
fn has_rare(bytes: &[u8]) -> bool {
    digits::has_rare_byte(bytes)
}

/// Whether a literal holds a byte of [`RARE`].
fn is_rare(lit: &[u8]) -> bool {
    lit.iter().any(|b| RARE.contains(b))
}

/// Whether occurrences of `a` and `b` can overlap: one holds the other, or
/// an end of one begins the other.
fn may_overlap(a: &[u8], b: &[u8]) -> bool {
    let holds = |x: &[u8], y: &[u8]| y.is_empty() || x.windows(y.len()).any(|w| w == y);
    let joins = |x: &[u8], y: &[u8]| (1..x.len()).any(|i| y.starts_with(&x[i..]));
    holds(a, b) || holds(b, a) || joins(a, b) || joins(b, a)
}

/// One SIMD literal searcher over a group of anchors.
struct LiteralGroup {
    searcher: packed::Searcher,
    /// Detector and anchor index (within the detector) of each pattern.
    patterns: Vec<(usize, usize)>,
    /// The detectors with a pattern here.
    detectors: Vec<usize>,
    longest: usize,
    /// Whether every pattern holds a [`RARE`] byte (run only where one occurs).
    rare: bool,
}

/// A group's literals before its searcher is built.
///
/// Literals of different detectors share a searcher only when none is a
/// prefix of another's: the searcher reports, at each position, the longest
/// literal that starts there, which is then the one its detector's own
/// searcher would report. A shared searcher steps one byte past each match
/// start (an occurrence of one detector's literal may overlap another's) and
/// keeps, per detector, only matches after that detector's last one: the
/// non-overlapping matches each detector's own searcher gives.
struct Pending {
    literals: Vec<Vec<u8>>,
    patterns: Vec<(usize, usize)>,
    rare: bool,
}

impl Pending {
    /// The group's searcher, its literals inserted in the order [`order::order`]
    /// picks when `reorder` (else as given). `patterns` is permuted along
    /// with the literals: pattern id `i` of the searcher is `patterns[i]`.
    fn build(mut self, reorder: bool) -> Option<LiteralGroup> {
        if reorder {
            let o = order::order(&self.literals);
            self.literals = o
                .iter()
                .map(|&i| std::mem::take(&mut self.literals[i]))
                .collect();
            self.patterns = o.iter().map(|&i| self.patterns[i]).collect();
        }
        let mut b = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostLongest)
            .builder();
        for lit in &self.literals {
            b.add(lit);
        }
        let mut detectors: Vec<usize> = self.patterns.iter().map(|p| p.0).collect();
        // Sorted first: the order may have interleaved the detectors' patterns.
        detectors.sort_unstable();
        detectors.dedup();
        Some(LiteralGroup {
            searcher: b.build()?,
            patterns: self.patterns,
            detectors,
            longest: self.literals.iter().map(Vec::len).max().unwrap_or(0),
            rare: self.rare,
        })
    }

    /// Whether `lits` of another detector may join this group.
    fn takes(&self, lits: &[(usize, Vec<u8>)]) -> bool {
        let prefix = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
        !self.rare
            && self.literals.len() + lits.len() <= MERGED_MAX
            && !lits
                .iter()
                .any(|(_, l)| self.literals.iter().any(|m| prefix(l, m)))
    }
}

/// A frequent anchor, searched on its own.
struct Frequent {
    finder: memmem::Finder<'static>,
    detector: usize,
    anchor: usize,
}

/// The detectors and the shared prefilter built from their anchors.
pub struct Engine {
    detectors: Vec<Box<dyn Detector>>,
    groups: Vec<LiteralGroup>,
    frequent: Vec<Frequent>,
    /// The longest literal of a [`RARE`] group.
    rare_longest: usize,
    literals: Vec<Vec<u8>>,
    digit_detectors: Vec<usize>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("detectors", &self.detector_ids())
            .field("literals", &self.literal_count())
            .field("groups", &self.groups.len())
            .finish()
    }
}

/// Per-thread scratch space, reused across windows.
#[derive(Debug, Default)]
pub struct Scratch {
    found: Vec<RawFinding>,
    /// The 12-digit runs of the input being scanned, found by another pass.
    runs: Option<std::sync::Arc<digits::RunList>>,
}

impl Scratch {
    /// Scratch space for the windows of one input whose 12-digit runs
    /// another pass over it recorded in `runs` (see [`digits::RunList`]):
    /// [`Engine::scan_with`] takes the runs from the list where it knows
    /// them instead of scanning the bytes for them, with the same findings.
    /// The windows' `base` must be offsets in that input.
    pub fn with_runs(runs: std::sync::Arc<digits::RunList>) -> Scratch {
        Scratch {
            found: Vec::new(),
            runs: Some(runs),
        }
    }
}

/// Splits one detector's anchors into balanced groups of at most [`GROUP_MAX`],
/// those with a [`RARE`] byte apart; a few text anchors join an earlier group
/// of another detector when they fit (see [`Pending::takes`]).
fn literal_groups(detector: usize, anchors: Vec<Vec<u8>>, share: bool, groups: &mut Vec<Pending>) {
    // One searcher reports one of two overlapping matches; two report both.
    // The rare anchors are searched apart only when that cannot happen.
    let apart = share && {
        let (rare, text): (Vec<&Vec<u8>>, _) = anchors.iter().partition(|l| is_rare(l));
        !rare.iter().any(|r| text.iter().any(|t| may_overlap(r, t)))
    };
    let indexed = anchors.into_iter().enumerate();
    let (rare, text): (Vec<_>, Vec<_>) = indexed.partition(|(_, lit)| apart && is_rare(lit));
    for (set, is_rare) in [(text, false), (rare, true)] {
        if set.is_empty() {
            continue;
        }
        if share && !is_rare && set.len() <= MERGE_SMALL {
            if let Some(g) = groups.iter_mut().find(|g| g.takes(&set)) {
                for (i, lit) in set {
                    g.patterns.push((detector, i));
                    g.literals.push(lit);
                }
                continue;
            }
        }
        let per = set.len().div_ceil(set.len().div_ceil(GROUP_MAX));
        for chunk in set.chunks(per) {
            groups.push(Pending {
                literals: chunk.iter().map(|(_, l)| l.clone()).collect(),
                patterns: chunk.iter().map(|(i, _)| (detector, *i)).collect(),
                rare: is_rare,
            });
        }
    }
}

impl Engine {
    /// Builds an engine over these detectors.
    ///
    /// Each detector's anchors are searched with SIMD literal searchers of at
    /// most [`GROUP_MAX`] literals (aho-corasick's Teddy, measured 7–10 GB/s
    /// per group on the benchmark corpus, against 2 GB/s for one searcher of
    /// all 59); frequent anchors with `memmem`. Each searcher is a full pass
    /// over the block (≈ 1.3 instructions a byte, whatever it finds), so
    /// there are as few as can be: anchors with a [`RARE`] byte (binary
    /// magics) get searchers that run only over blocks holding such a byte,
    /// and a detector's few ([`MERGE_SMALL`]) other anchors join another
    /// detector's searcher while it stays slim ([`MERGED_MAX`]).
    ///
    /// Each group's literals are inserted in the order [`order::order`]
    /// picks: Teddy's bucket of a literal follows from its insertion index,
    /// and a bucket of unlike literals accepts many byte combinations that
    /// are not literals, each a verification. The order puts literals with
    /// alike leading bytes together: a greedy placement and a local search
    /// over a simulation of aho-corasick's bucket assignment, priced with a
    /// static byte-frequency model (≈ 0.1 ms, 0.9M instructions, at start-up
    /// for all groups; measured alone over the benchmark corpus, the
    /// endpoints' group 105 → 88 ms/GiB and the egress group 106 → 100
    /// ms/GiB, against 78 for a searcher that never matches).
    pub fn new(detectors: Vec<Box<dyn Detector>>) -> Engine {
        Engine::build(detectors, true, true)
    }

    /// [`Engine::new`]; with `share` false, every group holds one detector's
    /// anchors and runs over every block, and with `reorder` false, each
    /// group's literals are inserted as given (the references the tests
    /// compare to).
    fn build(detectors: Vec<Box<dyn Detector>>, share: bool, reorder: bool) -> Engine {
        let mut pending = Vec::new();
        let mut frequent = Vec::new();
        let mut literals = Vec::new();
        for (d, det) in detectors.iter().enumerate() {
            let anchors = det.anchors();
            let base = anchors.len();
            literals.extend(anchors.iter().cloned());
            literals.extend(det.frequent_anchors());
            literal_groups(d, anchors, share, &mut pending);
            for (i, lit) in det.frequent_anchors().into_iter().enumerate() {
                frequent.push(Frequent {
                    finder: memmem::Finder::new(&lit).into_owned(),
                    detector: d,
                    anchor: base + i,
                });
            }
        }
        let groups: Vec<LiteralGroup> = pending
            .into_iter()
            .filter_map(|p| p.build(reorder))
            .collect();
        let rare_longest = groups.iter().filter(|g| g.rare).map(|g| g.longest).max();
        let digit_detectors = (0..detectors.len())
            .filter(|&i| detectors[i].wants_digit_runs())
            .collect();
        Engine {
            detectors,
            groups,
            frequent,
            rare_longest: rare_longest.unwrap_or(0),
            literals,
            digit_detectors,
        }
    }

    /// The built-in detector set: national IDs, endpoints, declared egress and
    /// biometric data.
    pub fn builtin() -> Engine {
        Engine::new(builtin_detectors())
    }

    /// The ids of the detectors, in order.
    pub fn detector_ids(&self) -> Vec<&str> {
        self.detectors.iter().map(|d| d.id()).collect()
    }

    /// Every literal of the prefilter (grouped and frequent), for building an
    /// equivalent pattern for another tool (the benchmark's ripgrep run).
    pub fn literals(&self) -> &[Vec<u8>] {
        &self.literals
    }

    /// Number of literals in the prefilter (grouped and frequent).
    pub fn literal_count(&self) -> usize {
        self.groups.iter().map(|g| g.patterns.len()).sum::<usize>() + self.frequent.len()
    }

    /// Whether some detector wants the whole content of the file at `path`.
    pub fn wants_whole_file(&self, path: &str) -> bool {
        self.detectors.iter().any(|d| d.wants_whole_file(path))
    }

    /// Runs the whole-file detectors that want `hay.path` over `hay`, which
    /// must hold the whole input.
    pub fn scan_whole_file(&self, hay: &Haystack<'_>, out: &mut Vec<RawFinding>) {
        for d in &self.detectors {
            if d.wants_whole_file(hay.path) {
                d.on_whole_file(hay, out);
            }
        }
    }

    /// Scans a whole in-memory input as the scanner does: the window pass
    /// over all of it, then the whole-file detectors that want `path`.
    pub fn scan_input(&self, bytes: &[u8], path: &str) -> Vec<RawFinding> {
        let hay = Haystack::whole(bytes, path);
        let mut out = Vec::new();
        self.scan(&hay, &mut out);
        if self.wants_whole_file(path) {
            self.scan_whole_file(&hay, &mut out);
        }
        out
    }

    /// Scans one window and appends the findings it owns to `out`, in order of
    /// their start offset.
    pub fn scan_with(&self, hay: &Haystack<'_>, scratch: &mut Scratch, out: &mut Vec<RawFinding>) {
        let found = &mut scratch.found;
        found.clear();
        let len = hay.bytes.len();
        let owned = hay.owned.start.min(len)..hay.owned.end.min(len);
        let wanted = self.wanted(hay.path);
        let mut block = 0;
        while block < len {
            let block_end = (block + BLOCK).min(len);
            self.literals_in(hay, &wanted, block..block_end, found);
            let digits_from = block.max(owned.start);
            let digits_to = block_end.min(owned.end);
            if digits_from < digits_to && !self.digit_detectors.is_empty() {
                let each = |s: usize| {
                    for &d in &self.digit_detectors {
                        self.detectors[d].on_digit_run(hay, s..s + 12, found);
                    }
                };
                match &scratch.runs {
                    Some(runs) => runs.exact12(hay.bytes, hay.base, digits_from..digits_to, each),
                    None => digits::exact_runs(hay.bytes, digits_from..digits_to, 12, each),
                }
            }
            block = block_end;
        }
        settle(found, hay.abs(owned.start)..hay.abs(owned.end), out);
    }

    /// [`Engine::scan_with`] with fresh scratch space.
    pub fn scan(&self, hay: &Haystack<'_>, out: &mut Vec<RawFinding>) {
        self.scan_with(hay, &mut Scratch::default(), out);
    }

    /// Per group, bit `i` set when `g.detectors[i]` wants its anchors
    /// searched in the input at `path`: asked once per window, not per block.
    fn wanted(&self, path: &str) -> Vec<u64> {
        self.groups
            .iter()
            .map(|g| {
                g.detectors
                    .iter()
                    .enumerate()
                    .filter(|&(_, &d)| self.detectors[d].wants_anchors_in(path))
                    .fold(0u64, |acc, (i, _)| acc | 1 << i)
            })
            .collect()
    }

    fn literals_in(
        &self,
        hay: &Haystack<'_>,
        wanted: &[u64],
        block: Range<usize>,
        found: &mut Vec<RawFinding>,
    ) {
        // Whether the block holds a rare byte, found out when a group needs to know.
        let mut rare: Option<bool> = None;
        for (g, &wanted) in self.groups.iter().zip(wanted) {
            if wanted == 0 {
                continue;
            }
            if g.rare {
                let end = (block.end + self.rare_longest).min(hay.bytes.len());
                if !*rare.get_or_insert_with(|| has_rare(&hay.bytes[block.start..end])) {
                    continue;
                }
            }
            // Let matches that start in this block run past its end.
            let end = (block.end + g.longest).min(hay.bytes.len());
            if g.detectors.len() == 1 {
                self.matches_of_one(hay, g, block.start..block.end, end, found);
            } else {
                self.matches_of_many(hay, g, wanted, block.start..block.end, end, found);
            }
        }
        for f in &self.frequent {
            let n = f.finder.needle().len();
            let end = (block.end + n).min(hay.bytes.len());
            for i in f.finder.find_iter(&hay.bytes[block.start..end]) {
                let s = block.start + i;
                if s >= block.end {
                    break;
                }
                self.detectors[f.detector].on_anchor(hay, f.anchor, s..s + n, found);
            }
        }
    }
}

impl Engine {
    /// The non-overlapping matches of a one-detector group that start in
    /// `block`, searched up to `end`, each to its detector.
    fn matches_of_one(
        &self,
        hay: &Haystack<'_>,
        g: &LiteralGroup,
        block: Range<usize>,
        end: usize,
        found: &mut Vec<RawFinding>,
    ) {
        let mut at = block.start;
        while let Some(m) = g.searcher.find_in(hay.bytes, Span::from(at..end)) {
            if m.start() >= block.end {
                break;
            }
            let (d, anchor) = g.patterns[m.pattern().as_usize()];
            self.detectors[d].on_anchor(hay, anchor, m.start()..m.end(), found);
            at = m.end().max(m.start() + 1);
        }
    }

    /// The matches of a shared group (see [`Pending`]) that start in `block`,
    /// searched up to `end`: per detector with bit `i` in `wanted` (for
    /// `g.detectors[i]`), the non-overlapping ones.
    fn matches_of_many(
        &self,
        hay: &Haystack<'_>,
        g: &LiteralGroup,
        wanted: u64,
        block: Range<usize>,
        end: usize,
        found: &mut Vec<RawFinding>,
    ) {
        // Per detector slot, where its last match ended.
        let mut free = [block.start; 64];
        let mut at = block.start;
        while let Some(m) = g.searcher.find_in(hay.bytes, Span::from(at..end)) {
            if m.start() >= block.end {
                break;
            }
            at = m.start() + 1;
            let (d, anchor) = g.patterns[m.pattern().as_usize()];
            let slot = g.detectors.iter().position(|&x| x == d).unwrap_or(0);
            if m.start() < free[slot] {
                continue;
            }
            free[slot] = m.end().max(m.start() + 1);
            if wanted & 1 << slot != 0 {
                self.detectors[d].on_anchor(hay, anchor, m.start()..m.end(), found);
            }
        }
    }
}

/// Orders, de-duplicates and keeps only the findings that start in `owned`.
///
/// Findings of the same kind whose spans overlap are one finding (a URI found
/// by its scheme and again by its host): the one that starts first, and of
/// those the longest, wins. De-duplication runs before the ownership filter,
/// so neighbouring windows, which see the same context, decide alike.
fn settle(found: &mut Vec<RawFinding>, owned: Range<u64>, out: &mut Vec<RawFinding>) {
    found.sort_by(|a, b| {
        (a.span.start, std::cmp::Reverse(a.span.end), &a.rule).cmp(&(
            b.span.start,
            std::cmp::Reverse(b.span.end),
            &b.rule,
        ))
    });
    // Sorted by start, a finding overlaps an earlier kept one of its kind
    // exactly when that kind's furthest kept end lies past its start.
    let mut reach: Vec<(crate::Kind, u64)> = Vec::new();
    for f in found.drain(..) {
        let slot = match reach.iter().position(|(k, _)| *k == f.kind) {
            Some(i) => i,
            None => {
                reach.push((f.kind, 0));
                reach.len() - 1
            }
        };
        if reach[slot].1 > f.span.start {
            continue;
        }
        reach[slot].1 = f.span.end;
        if owned.contains(&f.span.start) {
            out.push(f);
        }
    }
}

/// The built-in detectors, built from the embedded ruleset.
pub fn builtin_detectors() -> Vec<Box<dyn Detector>> {
    let rules = crate::Ruleset::builtin();
    let mut d: Vec<Box<dyn Detector>> = vec![
        Box::new(crate::national_id::NationalId::new(rules)),
        Box::new(crate::endpoint::Endpoints::new(rules)),
        Box::new(crate::egress::DeclaredEgress::new(rules)),
    ];
    d.extend(crate::biometric::detectors(rules));
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The built-in detectors name their rules by interned ids: a finding
    /// carries its rule without an allocation of its own.
    #[test]
    fn builtin_findings_borrow_their_rule_ids() {
        let e = Engine::builtin();
        let rules = crate::Ruleset::builtin();
        let mut texts: Vec<String> = rules
            .endpoints
            .iter()
            .flat_map(|s| s.examples.iter().map(|x| x.text.clone()))
            .collect();
        texts.push("ИИН 850314319331, БИН 050340765602".into());
        texts.push("trainer.push_to_hub(\"org/model\")".into());
        let mut seen = 0;
        for t in &texts {
            for f in e.scan_input(t.as_bytes(), "config.py") {
                assert!(
                    matches!(f.rule, std::borrow::Cow::Borrowed(_)),
                    "{} in {t:?}",
                    f.rule
                );
                seen += 1;
            }
        }
        assert!(seen > rules.endpoints.len(), "{seen} findings");
    }

    #[test]
    fn binary_magics_are_gated_and_few_text_anchors_shared() {
        let e = Engine::builtin();
        let rare: Vec<_> = e.groups.iter().filter(|g| g.rare).collect();
        assert_eq!(rare.len(), 1, "one searcher for the binary magics");
        assert!(rare[0].patterns.len() >= 10);
        let shared = e.groups.iter().filter(|g| g.detectors.len() > 1).count();
        assert_eq!(shared, 1, "the biometric text anchors join the endpoints'");
        for g in &e.groups {
            let mut distinct: Vec<usize> = g.patterns.iter().map(|p| p.0).collect();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(g.detectors, distinct, "each detector once");
        }
        assert!(e.groups.iter().all(|g| g.patterns.len() <= MERGED_MAX));
        // Nothing is lost: every literal is searched exactly once.
        let reference = Engine::build(builtin_detectors(), false, false);
        assert_eq!(e.literal_count(), reference.literal_count());
        assert_eq!(e.literals(), reference.literals());
    }

    #[test]
    fn overlaps() {
        assert!(may_overlap(b"abc", b"bcd"));
        assert!(may_overlap(b"bcd", b"abc"));
        assert!(may_overlap(b"xabcx", b"abc"));
        assert!(!may_overlap(b"abc", b"xyz"));
        assert!(!may_overlap(b"\x93NUMPY", b"FMR\0"));
    }

    /// A detector whose rare and text anchors may overlap keeps them in one
    /// searcher, over every block.
    #[test]
    fn overlapping_rare_and_text_anchors_stay_together() {
        struct Two;
        impl Detector for Two {
            fn id(&self) -> &str {
                "two"
            }
            fn anchors(&self) -> Vec<Vec<u8>> {
                vec![b"ab\0".to_vec(), b"xab".to_vec()]
            }
        }
        let e = Engine::new(vec![Box::new(Two)]);
        assert_eq!(e.groups.len(), 1);
        assert!(!e.groups[0].rare);
        assert_eq!(e.groups[0].patterns.len(), 2);
    }

    #[test]
    fn the_rare_set_is_the_one_the_simd_test_knows() {
        // `digits::has_rare_byte` tests for these three bytes by arithmetic.
        assert_eq!(RARE, [0x00, 0x7F, 0xFF]);
        for b in 0..=255u8 {
            assert_eq!(has_rare(&[b; 300]), RARE.contains(&b), "byte {b:#04x}");
        }
    }

    #[test]
    fn rare_bytes_are_not_in_text() {
        assert!(!has_rare("ИИН: 850314319331, ғ, Ё, €".as_bytes()));
        assert!(has_rare(b"FMR\0"));
        assert!(has_rare(&[b'a', 0xFF]));
        assert!(has_rare(&[0x7F, b'a']));
    }

    /// Scans `bytes` in windows of `chunk` owned bytes, as the scanner does.
    fn windows(e: &Engine, bytes: &[u8], path: &str, chunk: usize) -> Vec<RawFinding> {
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        for hay in Haystack::windows(bytes, path, chunk) {
            e.scan_with(&hay, &mut scratch, &mut out);
        }
        out
    }

    /// Pieces that make anchors meet, overlap and straddle block edges:
    /// every prefilter literal (whole, cut, upper-cased), hosts, URL parts,
    /// rare bytes and noise.
    fn piece(literals: &[Vec<u8>]) -> impl Strategy<Value = Vec<u8>> {
        use shekara_fixtures::biometric as bio;
        let lits = literals.to_vec();
        let cut = literals.to_vec();
        let mut rng = shekara_fixtures::Rng::new(2);
        let records = vec![
            bio::fmr_iso2005(&mut rng, 1, 3),
            bio::wsq(40, 50),
            bio::icao_dg(0x75, &bio::fac_2005(8, 8)),
            bio::ansi_nist(&[2, 4]),
            bio::npy_f32(&mut rng, 1, 128, true),
            bio::faiss_flat(&mut rng, b"IxF2", 128, 2),
        ];
        prop_oneof![
            1 => proptest::sample::select(records),
            4 => proptest::sample::select(lits),
            1 => (proptest::sample::select(cut), any::<proptest::sample::Index>())
                .prop_map(|(l, i)| l[..i.index(l.len() + 1)].to_vec()),
            2 => proptest::sample::select(vec![
                &b"https://"[..], b"s3://b", b"gs://", b"x.s3.eu-west-1", b"data.blob.core",
                b"user@", b"-", b".", b" ", b"\n", b"\"", b"/", b"1.001:", b"\x1d",
                b"FMR", b"\0 20\0", b"\x93NUMPY", b"storage.yandexcloud", b"HTTPS://X.S3.",
                b".COM", b"arn:aws:s3:::b/k", b"push_to_hub(\"https://hf.co/x\")",
            ])
            .prop_map(|p| p.to_vec()),
            2 => proptest::collection::vec(any::<u8>(), 0..12),
            2 => "[a-z0-9.-]{0,20}".prop_map(String::into_bytes),
            1 => Just(vec![b'a'; 70_000]),
        ]
    }

    /// [`windows`] with the 12-digit runs taken from `runs`.
    fn windows_with(
        e: &Engine,
        bytes: &[u8],
        chunk: usize,
        runs: digits::RunList,
    ) -> Vec<RawFinding> {
        let mut out = Vec::new();
        let mut scratch = Scratch::with_runs(std::sync::Arc::new(runs));
        for hay in Haystack::windows(bytes, "t.csv", chunk) {
            e.scan_with(&hay, &mut scratch, &mut out);
        }
        out
    }

    /// The runs a column bound records: every maximal 9–12 run, in order,
    /// stopping after the first one at or past `stop`.
    fn recorded(bytes: &[u8], stop: Option<usize>) -> digits::RunList {
        use std::ops::ControlFlow;
        let mut list = digits::RunList::new();
        let mut last = 0;
        let flow = digits::runs_between::<9, 12>(bytes, |s, len| {
            list.record(s, len);
            last = s + 1;
            match stop {
                Some(k) if s >= k => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        });
        list.reached(if flow.is_break() { last } else { bytes.len() });
        list
    }

    /// Pieces of CSV-like text: valid and invalid IDs, near misses in
    /// length, context words, separators, endpoints, noise.
    fn id_piece() -> impl Strategy<Value = Vec<u8>> {
        use shekara_fixtures::ids;
        let mut rng = shekara_fixtures::Rng::new(7);
        let mut ids: Vec<Vec<u8>> = (0..40)
            .map(|i| match i % 3 {
                0 => ids::valid_iin(&mut rng),
                1 => ids::valid_bin(&mut rng),
                _ => ids::valid_iin_leading_zero(&mut rng),
            })
            .map(String::into_bytes)
            .collect();
        ids.extend([&b"850314319332"[..], b"8503143193312", b"50314319331"].map(<[u8]>::to_vec));
        prop_oneof![
            4 => proptest::sample::select(ids),
            2 => proptest::sample::select(vec![
                &b","[..], b";", b"\n", b"\"", b" ", b"IIN ", "ИИН: ".as_bytes(),
                b"iin,name\n", b".0", b"https://s3.eu-west-1.amazonaws.com/b", b"x",
            ])
            .prop_map(|p| p.to_vec()),
            2 => proptest::collection::vec(b'0'..=b'9', 1..16),
            1 => proptest::collection::vec(any::<u8>(), 0..12),
            1 => Just(vec![b'a'; 3000]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The engine given the 12-digit runs another pass recorded (all
        /// of them, or up to where that pass stopped) finds exactly what it
        /// finds scanning for them, whatever the window size.
        #[test]
        fn supplied_runs_change_nothing(
            parts in proptest::collection::vec(id_piece(), 0..200),
            chunk in proptest::sample::select(vec![1usize, 7, 100, 4096, 256 * 1024]),
            stop in proptest::option::of(0usize..20_000),
        ) {
            let bytes = parts.concat();
            let e = Engine::builtin();
            let want = windows(&e, &bytes, "t.csv", chunk);
            let got = windows_with(&e, &bytes, chunk, recorded(&bytes, stop));
            prop_assert_eq!(got, want);
        }
    }

    /// A list missing its last run, or with its runs a byte off, changes
    /// the findings: the engine trusts the list, so it must be exact.
    #[test]
    fn a_wrong_run_list_is_seen() {
        let bytes = b"iin,x\n850314319331,1\n921130474626,2\n040229568857,3\n";
        let e = Engine::builtin();
        let want = windows(&e, bytes, "t.csv", 7);
        assert_eq!(want.len(), 3);
        let full = recorded(bytes, None);
        assert_eq!(windows_with(&e, bytes, 7, full.clone()), want);
        let mut dropped = digits::RunList::new();
        let mut shifted = digits::RunList::new();
        let starts = full.starts();
        for &s in &starts[..starts.len() - 1] {
            dropped.record(s as usize, 12);
        }
        for &s in starts {
            shifted.record(s as usize + 1, 12);
        }
        dropped.reached(bytes.len());
        shifted.reached(bytes.len());
        assert_eq!(windows_with(&e, bytes, 7, dropped).len(), 2);
        assert_ne!(windows_with(&e, bytes, 7, shifted), want);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// The built-in engine finds exactly what two plainer ones find:
        /// with its literals inserted as given rather than in the order
        /// picked for Teddy's buckets (each pattern id still maps to its
        /// detector and anchor), and with one searcher per detector over
        /// every block rather than shared searchers and the rare-byte gate.
        #[test]
        fn insertion_order_sharing_and_gating_change_nothing(
            parts in proptest::collection::vec(
                piece(Engine::builtin().literals()), 1..120),
            path in proptest::sample::select(vec!["a.py", "b.csv", "c.bin", ".dvc/config"]),
            chunk in proptest::sample::select(vec![7usize, 4096, 256 * 1024]),
        ) {
            let bytes = parts.concat();
            let got = windows(&Engine::builtin(), &bytes, path, chunk);
            let given = Engine::build(builtin_detectors(), true, false);
            prop_assert_eq!(&got, &windows(&given, &bytes, path, chunk), "order");
            let apart = Engine::build(builtin_detectors(), false, false);
            prop_assert_eq!(&got, &windows(&apart, &bytes, path, chunk), "sharing");
        }
    }
}
