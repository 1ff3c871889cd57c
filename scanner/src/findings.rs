//! The report's findings, in order, held as the scan made them: one list per
//! file, the lists one after another.
//!
//! A scan of many files makes one list of findings per file, on whichever
//! thread scanned it. Moving them into one list afterwards cost fresh memory
//! the size of all findings, faulted in page by page, and a move of each
//! finding (1 GiB benchmark corpus, 80k findings of 288 bytes: ≈ 10 ms of a
//! 2-thread run, and more to free at exit). [`Findings`] keeps the lists and
//! reads them as one: in order, by index (a binary search over where each
//! list ends), from both ends. Changes that keep the lists (`push`,
//! `insert`, `retain`) stay cheap; a caller that wants one slice (to sort)
//! asks for it with [`Findings::make_contiguous`], which joins the lists once.

use std::ops::{Index, IndexMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::Finding;

/// Findings in report order (see the module docs).
#[derive(Clone, Default)]
pub struct Findings {
    /// The lists, none empty.
    parts: Vec<Vec<Finding>>,
    /// `ends[k]`: how many findings the lists up to and with `parts[k]` hold.
    ends: Vec<usize>,
}

impl Findings {
    /// No findings.
    pub fn new() -> Findings {
        Findings::default()
    }

    /// The findings of `parts`, one list after the other (empty ones dropped).
    pub fn from_parts(parts: Vec<Vec<Finding>>) -> Findings {
        let mut f = Findings {
            parts,
            ends: Vec::new(),
        };
        f.reindex();
        f
    }

    fn reindex(&mut self) {
        self.parts.retain(|p| !p.is_empty());
        let mut total = 0;
        self.ends = self
            .parts
            .iter()
            .map(|p| {
                total += p.len();
                total
            })
            .collect();
    }

    /// How many findings.
    pub fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The lists as held, in order, none empty.
    pub fn parts(&self) -> &[Vec<Finding>] {
        &self.parts
    }

    /// The index (in the whole) of list `k`'s first finding.
    fn start(&self, k: usize) -> usize {
        k.checked_sub(1).map_or(0, |j| self.ends[j])
    }

    /// The list holding finding `i`, and `i`'s index in it.
    fn locate(&self, i: usize) -> Option<(usize, usize)> {
        let k = self.ends.partition_point(|&e| e <= i);
        (k < self.parts.len()).then(|| (k, i - self.start(k)))
    }

    /// Finding `i`.
    pub fn get(&self, i: usize) -> Option<&Finding> {
        self.locate(i).map(|(k, j)| &self.parts[k][j])
    }

    /// Finding `i`, to change.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Finding> {
        self.locate(i).map(|(k, j)| &mut self.parts[k][j])
    }

    /// The findings `r`, in order (the part of it past the end left out):
    /// one search for the first, then a step along the lists.
    pub fn range(&self, r: std::ops::Range<usize>) -> impl Iterator<Item = &Finding> + '_ {
        let n = r.end.min(self.len()).saturating_sub(r.start);
        let (k, j) = self.locate(r.start).unwrap_or((self.parts.len(), 0));
        self.parts[k..].iter().flatten().skip(j).take(n)
    }

    /// The findings at `idx`, in that order, skipping indices past the end:
    /// with `idx` increasing (the verdicts' lists), one step along the lists
    /// rather than a search each.
    pub fn select<'a: 'i, 'i>(
        &'a self,
        idx: &'i [usize],
    ) -> impl Iterator<Item = &'a Finding> + 'i {
        let mut k = 0;
        idx.iter().filter_map(move |&i| {
            if k < self.parts.len() && i >= self.start(k) {
                while k < self.parts.len() && self.ends[k] <= i {
                    k += 1;
                }
            } else {
                k = self.ends.partition_point(|&e| e <= i);
            }
            self.parts.get(k)?.get(i - self.start(k))
        })
    }

    /// The first finding.
    pub fn first(&self) -> Option<&Finding> {
        self.parts.first().and_then(|p| p.first())
    }

    /// The last finding.
    pub fn last(&self) -> Option<&Finding> {
        self.parts.last().and_then(|p| p.last())
    }

    /// The findings in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: self.parts.iter().flatten(),
            left: self.len(),
        }
    }

    /// The findings in order, to change.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Finding> + '_ {
        self.parts.iter_mut().flatten()
    }

    /// The findings in order, on the current rayon pool.
    pub fn par_iter(&self) -> impl rayon::iter::ParallelIterator<Item = &Finding> + '_ {
        use rayon::prelude::*;
        self.parts.par_iter().flat_map_iter(|p| p.iter())
    }

    /// Appends `f`.
    pub fn push(&mut self, f: Finding) {
        match self.parts.last_mut() {
            Some(p) => {
                p.push(f);
                if let Some(e) = self.ends.last_mut() {
                    *e += 1;
                }
            }
            None => {
                self.parts.push(vec![f]);
                self.ends.push(1);
            }
        }
    }

    /// Puts `f` at index `at` (at most the length), after the findings before it.
    ///
    /// # Panics
    /// When `at` is past the end, as `Vec::insert` does.
    pub fn insert(&mut self, at: usize, f: Finding) {
        let len = self.len();
        assert!(at <= len, "insertion index {at} past the end ({len})");
        if at == len {
            return self.push(f);
        }
        if let Some((k, j)) = self.locate(at) {
            self.parts[k].insert(j, f);
            for e in &mut self.ends[k..] {
                *e += 1;
            }
        }
    }

    /// Keeps only the findings `keep` accepts, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&Finding) -> bool) {
        for p in &mut self.parts {
            p.retain(&mut keep);
        }
        self.reindex();
    }

    /// The findings as one slice: the lists joined into one first, if there
    /// are several (then once: later calls find one list).
    pub fn make_contiguous(&mut self) -> &mut [Finding] {
        if self.parts.len() > 1 {
            // Moved, not cloned as `[Vec<T>]::concat` would.
            let mut all = Vec::with_capacity(self.len());
            for p in std::mem::take(&mut self.parts) {
                all.extend(p);
            }
            self.parts = vec![all];
            self.reindex();
        }
        match self.parts.first_mut() {
            Some(p) => p,
            None => &mut [],
        }
    }

    /// The findings as one list.
    pub fn into_vec(mut self) -> Vec<Finding> {
        self.make_contiguous();
        self.parts.pop().unwrap_or_default()
    }
}

/// [`Findings::iter`]: in order, from both ends, of known length.
#[derive(Clone)]
pub struct Iter<'a> {
    inner: std::iter::Flatten<std::slice::Iter<'a, Vec<Finding>>>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Finding;

    fn next(&mut self) -> Option<&'a Finding> {
        let f = self.inner.next()?;
        self.left -= 1;
        Some(f)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let f = self.inner.next_back()?;
        self.left -= 1;
        Some(f)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Findings {
    type Item = &'a Finding;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Findings {
    type Item = &'a mut Finding;
    type IntoIter = std::iter::Flatten<std::slice::IterMut<'a, Vec<Finding>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.parts.iter_mut().flatten()
    }
}

impl IntoIterator for Findings {
    type Item = Finding;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<Finding>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.parts.into_iter().flatten()
    }
}

impl From<Vec<Finding>> for Findings {
    fn from(v: Vec<Finding>) -> Findings {
        Findings::from_parts(vec![v])
    }
}

impl FromIterator<Finding> for Findings {
    fn from_iter<I: IntoIterator<Item = Finding>>(iter: I) -> Findings {
        Findings::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl Extend<Finding> for Findings {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, iter: I) {
        let more: Vec<Finding> = iter.into_iter().collect();
        if !more.is_empty() {
            self.ends.push(self.len() + more.len());
            self.parts.push(more);
        }
    }
}

impl Index<usize> for Findings {
    type Output = Finding;

    fn index(&self, i: usize) -> &Finding {
        match self.get(i) {
            Some(f) => f,
            None => panic!("finding {i} of {}", self.len()),
        }
    }
}

impl IndexMut<usize> for Findings {
    fn index_mut(&mut self, i: usize) -> &mut Finding {
        let len = self.len();
        match self.get_mut(i) {
            Some(f) => f,
            None => panic!("finding {i} of {len}"),
        }
    }
}

impl PartialEq for Findings {
    fn eq(&self, other: &Findings) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Findings {}

impl PartialEq<[Finding]> for Findings {
    fn eq(&self, other: &[Finding]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl PartialEq<Vec<Finding>> for Findings {
    fn eq(&self, other: &Vec<Finding>) -> bool {
        *self == other[..]
    }
}

impl PartialEq<Findings> for Vec<Finding> {
    fn eq(&self, other: &Findings) -> bool {
        *other == self[..]
    }
}

impl std::fmt::Debug for Findings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Findings {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Findings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Findings, D::Error> {
        Vec::<Finding>::deserialize(d).map(Findings::from)
    }
}

/// Findings by index, from one list or several: what the inline-ignore
/// read-back ([`crate::suppress::inline`]) takes.
pub trait FindingList: Index<usize, Output = Finding> + Sync {}

impl FindingList for [Finding] {}

impl FindingList for Vec<Finding> {}

impl FindingList for Findings {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use shekara_detectors::Kind;

    /// Findings told apart by their offset: `n` of them from `from` on.
    fn list(from: u64, n: usize) -> Vec<Finding> {
        (0..n as u64)
            .map(|i| {
                let mut f = Finding::sample(Kind::Iin, "p");
                f.location.byte_offset = from + i;
                f
            })
            .collect()
    }

    fn parts(sizes: &[usize]) -> (Findings, Vec<Finding>) {
        let mut from = 0;
        let parts: Vec<Vec<Finding>> = sizes
            .iter()
            .map(|&n| {
                let l = list(from, n);
                from += n as u64;
                l
            })
            .collect();
        let flat: Vec<Finding> = parts.iter().flatten().cloned().collect();
        (Findings::from_parts(parts), flat)
    }

    fn offsets<'a>(fs: impl IntoIterator<Item = &'a Finding>) -> Vec<u64> {
        fs.into_iter().map(|f| f.location.byte_offset).collect()
    }

    proptest! {
        /// Read in every way, the lists are the one list they stand for.
        #[test]
        fn reads_as_the_flattened_list(sizes in prop::collection::vec(0usize..5, 0..7)) {
            let (f, flat) = parts(&sizes);
            prop_assert_eq!(f.len(), flat.len());
            prop_assert_eq!(f.is_empty(), flat.is_empty());
            prop_assert!(f.parts().iter().all(|p| !p.is_empty()));
            prop_assert_eq!(offsets(&f), offsets(&flat));
            prop_assert_eq!(offsets(f.iter().rev()), offsets(flat.iter().rev()));
            for i in 0..flat.len() + 2 {
                prop_assert_eq!(f.get(i), flat.get(i), "index {}", i);
            }
            // Increasing, repeated, going back, past the end.
            let mut idx: Vec<usize> = (0..flat.len() + 2).step_by(2).collect();
            idx.extend([1, 1, 0, flat.len() + 5, 3, 2]);
            let picked: Vec<&Finding> = idx.iter().filter_map(|&i| flat.get(i)).collect();
            prop_assert_eq!(offsets(f.select(&idx)), offsets(picked));
            for a in 0..flat.len() + 2 {
                for b in [a, a + 1, a + 3, flat.len(), flat.len() + 2] {
                    let want = offsets(flat.iter().skip(a).take(b.saturating_sub(a)));
                    prop_assert_eq!(offsets(f.range(a..b)), want, "range {}..{}", a, b);
                }
            }
            prop_assert_eq!(f.first(), flat.first());
            prop_assert_eq!(f.last(), flat.last());
            // Known length from both ends, as it is used.
            let mut it = f.iter();
            let mut left = flat.len();
            while left > 0 {
                prop_assert_eq!(it.len(), left);
                if left % 2 == 0 { it.next(); } else { it.next_back(); }
                left -= 1;
            }
            prop_assert_eq!(it.len(), 0);
            prop_assert!(it.next().is_none());
            prop_assert!(f == flat);
            prop_assert!(flat == f, "compared from the list's side");
            prop_assert_eq!(
                serde_json::to_string(&f).unwrap(),
                serde_json::to_string(&flat).unwrap()
            );
            let back: Findings = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
            prop_assert!(back == f);
            use rayon::prelude::*;
            prop_assert_eq!(offsets(f.par_iter().collect::<Vec<_>>()), offsets(&flat));
            prop_assert_eq!(offsets(&f.clone().into_vec()), offsets(&flat));
            prop_assert_eq!(offsets(&f.into_iter().collect::<Vec<_>>()), offsets(&flat));
        }

        /// Changed in place, they change as the one list would.
        #[test]
        fn changes_as_the_flattened_list(
            sizes in prop::collection::vec(0usize..5, 0..7),
            at in any::<prop::sample::Index>(),
            keep in 1u64..4,
            more in 0usize..3,
        ) {
            let (mut f, mut flat) = parts(&sizes);
            let at = at.index(flat.len() + 1);
            let new = list(1000, 1).remove(0);
            f.insert(at, new.clone());
            flat.insert(at, new);
            prop_assert!(f == flat);
            f.push(list(2000, 1).remove(0));
            flat.push(list(2000, 1).remove(0));
            f.extend(list(3000, more));
            flat.extend(list(3000, more));
            prop_assert!(f == flat);
            f.retain(|x| x.location.byte_offset % keep != 0);
            flat.retain(|x| x.location.byte_offset % keep != 0);
            prop_assert!(f == flat);
            prop_assert_eq!(f.len(), flat.len());
            for x in &mut f {
                x.count = 7;
            }
            for i in 0..flat.len() {
                flat[i].count = 7;
                prop_assert_eq!(&f[i], &flat[i]);
            }
            let one = f.make_contiguous();
            prop_assert_eq!(offsets(&*one), offsets(&flat));
            prop_assert!(f.parts().len() <= 1);
        }
    }

    #[test]
    #[should_panic(expected = "past the end")]
    fn insertion_past_the_end_panics_as_a_vec_does() {
        let (mut f, _) = parts(&[2, 1]);
        f.insert(4, list(9, 1).remove(0));
    }
}
