//! The 12-digit runs of a whole input, recorded by one pass for another.
//!
//! A CSV/JSON input goes through two digit scans: the column bound's (every
//! maximal run of 9–12 digits) and the engine's (every maximal run of
//! exactly 12). The bound's pass sees every run the engine's would, so it
//! records the starts of the 12-digit ones in a [`RunList`], and the engine
//! walks the list instead of scanning the bytes again (see
//! [`crate::Scratch::with_runs`]). Where the list stops (the bound stopped
//! early, or the list is full), the engine scans the rest itself.

use std::ops::Range;

/// The list holds at most this many starts (4 bytes each: 32 MiB). Past
/// it, the runs are not recorded and the engine scans the rest itself.
pub const MAX_RUNS: usize = 8 << 20;

/// The starts of the maximal runs of exactly 12 ASCII digits of one whole
/// input, in increasing order: every such run that starts before
/// [`RunList::known_to`], and no other.
///
/// Filled by a pass that visits the input's maximal digit runs in order
/// ([`RunList::record`] each, then [`RunList::reached`]); an empty list
/// knows nothing (`known_to` is 0), so a scan given one finds its runs
/// itself.
///
/// ```
/// use shekara_detectors::digits::RunList;
/// let hay = b"a 850314319331 b 1234567890123 c 921130474626";
/// let mut list = RunList::new();
/// list.record(2, 12);
/// list.record(17, 13);
/// list.reached(20);
/// assert_eq!(list.known_to(), 20);
/// let mut seen = Vec::new();
/// list.exact12(hay, 0, 0..hay.len(), |s| seen.push(s));
/// assert_eq!(seen, vec![2, 33]); // the first from the list, the last scanned
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunList {
    starts: Vec<u32>,
    /// Runs starting at or past this are not recorded (the list is full,
    /// or a start does not fit in 32 bits).
    cut: Option<u64>,
    known_to: u64,
}

impl RunList {
    /// An empty list that knows nothing yet.
    pub fn new() -> RunList {
        RunList::default()
    }

    /// Records the maximal run of `len` digits at `start` (only runs of 12
    /// are kept). Runs must be recorded in increasing order of start.
    #[inline]
    pub fn record(&mut self, start: usize, len: usize) {
        if len != 12 || self.cut.is_some() {
            return;
        }
        match u32::try_from(start) {
            Ok(s) if self.starts.len() < MAX_RUNS => self.starts.push(s),
            _ => self.cut = Some(start as u64),
        }
    }

    /// Says that every maximal run starting before `end` was recorded.
    pub fn reached(&mut self, end: usize) {
        let end = end as u64;
        self.known_to = self.cut.map_or(end, |c| c.min(end));
    }

    /// Every 12-digit run starting before this offset is in the list.
    pub fn known_to(&self) -> u64 {
        self.known_to
    }

    /// The recorded starts (absolute offsets), in increasing order.
    pub fn starts(&self) -> &[u32] {
        &self.starts
    }

    /// Bytes the list takes on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<u32>()
    }

    /// [`super::exact_runs`] with `n = 12` over a window `hay` of the input
    /// the list was recorded from, whose first byte is at absolute offset
    /// `base`: calls `f(start)` (relative to `hay`) for each maximal run of
    /// exactly 12 digits starting in `range`, in increasing order. Starts
    /// the list knows come from it; the rest of `range` is scanned.
    ///
    /// The answers agree as long as `hay` has the input's bytes around each
    /// run (a window carries [`crate::OVERLAP`] bytes of context): the list
    /// holds runs maximal in the whole input, the scan those maximal in `hay`.
    pub fn exact12(&self, hay: &[u8], base: u64, range: Range<usize>, mut f: impl FnMut(usize)) {
        let end = range.end.min(hay.len());
        if range.start >= end {
            return;
        }
        let (from, to) = (base + range.start as u64, base + end as u64);
        let split = to.min(self.known_to).max(from);
        if from < split {
            let first = self.starts.partition_point(|&s| u64::from(s) < from);
            for &s in &self.starts[first..] {
                let s = u64::from(s);
                if s >= split {
                    break;
                }
                f((s - base) as usize);
            }
        }
        if split < to {
            let rest = (split - base) as usize..end;
            super::exact_runs(hay, rest, 12, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OVERLAP;
    use proptest::prelude::*;
    use std::ops::ControlFlow;

    /// The list a bound's pass records: every maximal 9–12 run, in order,
    /// stopping after the run at `stop` when there is one.
    fn recorded(hay: &[u8], stop: Option<usize>) -> RunList {
        let mut list = RunList::new();
        let mut last = 0;
        let flow = super::super::runs_between::<9, 12>(hay, |s, len| {
            list.record(s, len);
            last = s + 1;
            if stop.is_some_and(|k| s >= k) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        list.reached(if flow.is_break() { last } else { hay.len() });
        list
    }

    /// The 12-digit runs the scanner's windows of `chunk` owned bytes find,
    /// with the list or without it: absolute starts.
    fn windows(hay: &[u8], chunk: usize, list: Option<&RunList>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < hay.len() {
            let end = (start + chunk).min(hay.len());
            let lo = start.saturating_sub(OVERLAP);
            let hi = (end + OVERLAP).min(hay.len());
            let w = &hay[lo..hi];
            let owned = start - lo..end - lo;
            match list {
                Some(l) => l.exact12(w, lo as u64, owned, |s| out.push(lo + s)),
                None => super::super::exact_runs(w, owned, 12, |s| out.push(lo + s)),
            }
            start = end;
        }
        out
    }

    #[test]
    fn knows_nothing_until_reached() {
        let hay = b"x 850314319331 y";
        let mut list = RunList::new();
        list.record(2, 12);
        assert_eq!(list.known_to(), 0);
        list.reached(hay.len());
        assert_eq!(list.starts(), &[2]);
        assert_eq!(list.known_to(), hay.len() as u64);
    }

    #[test]
    fn a_list_stops_at_the_first_run_it_cannot_hold() {
        let far = u32::MAX as usize + 4;
        let mut list = RunList::new();
        list.record(5, 12);
        list.record(far, 12);
        list.record(far + 20, 12);
        list.reached(far + 100);
        assert_eq!(list.starts(), &[5]);
        assert_eq!(list.known_to(), far as u64, "known up to the run not held");
        // Only runs of 12 are kept; other lengths cost nothing.
        let mut list = RunList::new();
        list.record(3, 11);
        list.record(30, 13);
        list.reached(50);
        assert!(list.starts().is_empty());
        assert_eq!(list.heap_bytes(), 0);
    }

    /// Dropping a run, or shifting one by a byte, is seen: the list is what
    /// the engine reports, not a hint it checks.
    #[test]
    fn the_list_decides() {
        let hay = b"a 850314319331, 921130474626; 1234567890123 040229568857 b";
        let full = recorded(hay, None);
        let want = windows(hay, 7, None);
        assert_eq!(want, vec![2, 16, 44]);
        assert_eq!(windows(hay, 7, Some(&full)), want);
        let mut dropped = RunList::new();
        for &s in &full.starts()[..full.starts().len() - 1] {
            dropped.record(s as usize, 12);
        }
        dropped.reached(hay.len());
        assert_ne!(windows(hay, 7, Some(&dropped)), want);
        let mut shifted = RunList::new();
        for &s in full.starts() {
            shifted.record(s as usize + 1, 12);
        }
        shifted.reached(hay.len());
        assert_ne!(windows(hay, 7, Some(&shifted)), want);
    }

    proptest! {
        /// Windows given the list (complete, or cut where the recording
        /// pass stopped) find exactly the runs they find scanning.
        #[test]
        fn list_equals_scan(
            parts in proptest::collection::vec(prop_oneof![
                3 => proptest::collection::vec(b'0'..=b'9', 8..15),
                2 => proptest::collection::vec(prop_oneof![
                    4 => b'0'..=b'9', 1 => Just(b','), 1 => any::<u8>()], 0..40),
                1 => Just(vec![b'a'; 1500]),
            ], 0..60),
            chunk in proptest::sample::select(vec![1usize, 7, 64, 1000, 4096, 1 << 20]),
            stop in proptest::option::of(0usize..3000),
        ) {
            let hay = parts.concat();
            let list = recorded(&hay, stop);
            let want = windows(&hay, chunk, None);
            prop_assert_eq!(windows(&hay, chunk, Some(&list)), want);
        }
    }
}
