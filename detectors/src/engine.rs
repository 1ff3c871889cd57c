//! The engine: one pass of the shared prefilter over each block, detectors only at candidates.

use std::ops::Range;

use aho_corasick::packed;
use aho_corasick::Span;
use memchr::memmem;

use crate::{digits, Detector, Haystack, RawFinding};

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

/// One SIMD literal searcher over a group of one detector's anchors.
struct LiteralGroup {
    searcher: packed::Searcher,
    detector: usize,
    /// Anchor index (within the detector) of each pattern.
    anchors: Vec<usize>,
    longest: usize,
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
}

/// Splits one detector's anchors into balanced groups of at most [`GROUP_MAX`].
fn literal_groups(detector: usize, anchors: Vec<Vec<u8>>) -> Vec<LiteralGroup> {
    let n = anchors.len();
    if n == 0 {
        return Vec::new();
    }
    let groups = n.div_ceil(GROUP_MAX);
    let per = n.div_ceil(groups);
    let indexed: Vec<(usize, Vec<u8>)> = anchors.into_iter().enumerate().collect();
    indexed
        .chunks(per)
        .filter_map(|chunk| {
            let mut b = packed::Config::new()
                .match_kind(packed::MatchKind::LeftmostLongest)
                .builder();
            for (_, lit) in chunk {
                b.add(lit);
            }
            Some(LiteralGroup {
                searcher: b.build()?,
                detector,
                anchors: chunk.iter().map(|(i, _)| *i).collect(),
                longest: chunk.iter().map(|(_, l)| l.len()).max().unwrap_or(0),
            })
        })
        .collect()
}

impl Engine {
    /// Builds an engine over these detectors.
    ///
    /// Each detector's anchors are searched with SIMD literal searchers of at
    /// most [`GROUP_MAX`] literals (aho-corasick's Teddy, measured 7–10 GB/s
    /// per group on the benchmark corpus, against 2 GB/s for one searcher of
    /// all 59); frequent anchors with `memmem`.
    pub fn new(detectors: Vec<Box<dyn Detector>>) -> Engine {
        let mut groups = Vec::new();
        let mut frequent = Vec::new();
        let mut literals = Vec::new();
        for (d, det) in detectors.iter().enumerate() {
            let anchors = det.anchors();
            let base = anchors.len();
            literals.extend(anchors.iter().cloned());
            literals.extend(det.frequent_anchors());
            groups.extend(literal_groups(d, anchors));
            for (i, lit) in det.frequent_anchors().into_iter().enumerate() {
                frequent.push(Frequent {
                    finder: memmem::Finder::new(&lit).into_owned(),
                    detector: d,
                    anchor: base + i,
                });
            }
        }
        let digit_detectors = (0..detectors.len())
            .filter(|&i| detectors[i].wants_digit_runs())
            .collect();
        Engine {
            detectors,
            groups,
            frequent,
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
        self.groups.iter().map(|g| g.anchors.len()).sum::<usize>() + self.frequent.len()
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
        let mut block = 0;
        while block < len {
            let block_end = (block + BLOCK).min(len);
            self.literals_in(hay, block..block_end, found);
            let digits_from = block.max(owned.start);
            let digits_to = block_end.min(owned.end);
            if digits_from < digits_to && !self.digit_detectors.is_empty() {
                digits::exact_runs(hay.bytes, digits_from..digits_to, 12, |s| {
                    for &d in &self.digit_detectors {
                        self.detectors[d].on_digit_run(hay, s..s + 12, found);
                    }
                });
            }
            block = block_end;
        }
        settle(found, hay.abs(owned.start)..hay.abs(owned.end), out);
    }

    /// [`Engine::scan_with`] with fresh scratch space.
    pub fn scan(&self, hay: &Haystack<'_>, out: &mut Vec<RawFinding>) {
        self.scan_with(hay, &mut Scratch::default(), out);
    }

    fn literals_in(&self, hay: &Haystack<'_>, block: Range<usize>, found: &mut Vec<RawFinding>) {
        for g in &self.groups {
            if !self.detectors[g.detector].wants_anchors_in(hay.path) {
                continue;
            }
            // Let matches that start in this block run past its end.
            let end = (block.end + g.longest).min(hay.bytes.len());
            let mut at = block.start;
            while let Some(m) = g.searcher.find_in(hay.bytes, Span::from(at..end)) {
                if m.start() >= block.end {
                    break;
                }
                let anchor = g.anchors[m.pattern().as_usize()];
                self.detectors[g.detector].on_anchor(hay, anchor, m.start()..m.end(), found);
                at = m.end().max(m.start() + 1);
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
