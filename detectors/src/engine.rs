//! The engine: one pass of the shared prefilter over each block, detectors only at candidates.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};

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

/// The detectors and the shared prefilter built from their anchors.
pub struct Engine {
    detectors: Vec<Box<dyn Detector>>,
    literals: Option<AhoCorasick>,
    /// For each literal pattern: (detector index, anchor index within that detector).
    owners: Vec<Vec<(usize, usize)>>,
    longest_literal: usize,
    digit_detectors: Vec<usize>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("detectors", &self.detector_ids())
            .field("literals", &self.owners.len())
            .finish()
    }
}

/// Per-thread scratch space, reused across windows.
#[derive(Debug, Default)]
pub struct Scratch {
    found: Vec<RawFinding>,
}

impl Engine {
    /// Builds an engine over these detectors.
    ///
    /// # Panics
    /// When the literal automaton cannot be built (only with absurdly many anchors).
    pub fn new(detectors: Vec<Box<dyn Detector>>) -> Engine {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<(usize, usize)>> = Vec::new();
        for (d, det) in detectors.iter().enumerate() {
            for (a, anchor) in det.anchors().into_iter().enumerate() {
                match patterns.iter().position(|p| *p == anchor) {
                    Some(i) => owners[i].push((d, a)),
                    None => {
                        patterns.push(anchor);
                        owners.push(vec![(d, a)]);
                    }
                }
            }
        }
        let longest_literal = patterns.iter().map(Vec::len).max().unwrap_or(0);
        let literals = (!patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .expect("anchor automaton builds")
        });
        let digit_detectors = (0..detectors.len())
            .filter(|&i| detectors[i].wants_digit_runs())
            .collect();
        Engine {
            detectors,
            literals,
            owners,
            longest_literal,
            digit_detectors,
        }
    }

    /// The built-in detector set: national IDs, endpoints and declared egress.
    pub fn builtin() -> Engine {
        Engine::new(builtin_detectors())
    }

    /// The ids of the detectors, in order.
    pub fn detector_ids(&self) -> Vec<&str> {
        self.detectors.iter().map(|d| d.id()).collect()
    }

    /// Number of distinct literals in the shared prefilter.
    pub fn literal_count(&self) -> usize {
        self.owners.len()
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
        let Some(ac) = &self.literals else { return };
        // Let matches that start in this block run past its end.
        let end = (block.end + self.longest_literal).min(hay.bytes.len());
        let input = Input::new(hay.bytes).range(block.start..end);
        for m in ac.find_iter(input) {
            if m.start() >= block.end {
                break;
            }
            for &(d, a) in &self.owners[m.pattern().as_usize()] {
                self.detectors[d].on_anchor(hay, a, m.range(), found);
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
    vec![
        Box::new(crate::national_id::NationalId::new(rules)),
        Box::new(crate::endpoint::Endpoints::new(rules)),
        Box::new(crate::egress::DeclaredEgress::new(rules)),
    ]
}
