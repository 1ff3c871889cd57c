//! Moving many lists into one, in order, on every thread of the pool.
//!
//! A report's findings come as one list per file. The report keeps those
//! lists (see [`crate::findings`]), except when findings about folders (face
//! stores) must be sorted in among them: then the files' lists are joined
//! into one first, by [`Concat`]. [`Concat`] is an indexed parallel iterator over the lists'
//! items, in order, that moves each item: `collect_into_vec` then writes
//! every item straight into its place in the result, each thread its own
//! range (and so faulting in its own part of the fresh memory). Without it
//! the result had first to be filled with placeholders, which cost more
//! than the moves (2 threads, 80k findings: 7.3 ms of the 12).
//!
//! Rayon splits the iterator at item indices; a split that falls inside a
//! list moves that list's tail into a new one (`Vec::split_off`), which
//! happens a few times per thread, each time for one list.

use rayon::iter::plumbing::{bridge, Consumer, Producer, ProducerCallback, UnindexedConsumer};
use rayon::iter::{IndexedParallelIterator, ParallelIterator};

/// The items of `parts`, in order, as an indexed parallel iterator.
pub(crate) struct Concat<T> {
    parts: Vec<Vec<T>>,
    len: usize,
}

impl<T> Concat<T> {
    pub(crate) fn new(parts: Vec<Vec<T>>) -> Concat<T> {
        let len = parts.iter().map(Vec::len).sum();
        Concat { parts, len }
    }
}

impl<T: Send> ParallelIterator for Concat<T> {
    type Item = T;

    fn drive_unindexed<C: UnindexedConsumer<T>>(self, consumer: C) -> C::Result {
        bridge(self, consumer)
    }

    fn opt_len(&self) -> Option<usize> {
        Some(self.len)
    }
}

impl<T: Send> IndexedParallelIterator for Concat<T> {
    fn len(&self) -> usize {
        self.len
    }

    fn drive<C: Consumer<T>>(self, consumer: C) -> C::Result {
        bridge(self, consumer)
    }

    fn with_producer<CB: ProducerCallback<T>>(self, callback: CB) -> CB::Output {
        callback.callback(self)
    }
}

impl<T: Send> Producer for Concat<T> {
    type Item = T;
    type IntoIter = Items<T>;

    fn into_iter(self) -> Items<T> {
        Items {
            parts: self.parts.into_iter(),
            front: Vec::new().into_iter(),
            back: Vec::new().into_iter(),
            left: self.len,
        }
    }

    fn split_at(self, index: usize) -> (Concat<T>, Concat<T>) {
        let mut left = self.parts;
        // The first list that does not end at or before `index`.
        let (mut k, mut before) = (0, 0);
        while k < left.len() && before + left[k].len() <= index {
            before += left[k].len();
            k += 1;
        }
        let mut right = left.split_off(k);
        if before < index {
            // `index` falls inside `right[0]`: its head stays on the left.
            let tail = right[0].split_off(index - before);
            left.push(std::mem::replace(&mut right[0], tail));
        }
        (
            Concat {
                parts: left,
                len: index,
            },
            Concat {
                parts: right,
                len: self.len - index,
            },
        )
    }
}

/// A [`Concat`] part's items, moved out in order (from either end).
pub(crate) struct Items<T> {
    parts: std::vec::IntoIter<Vec<T>>,
    front: std::vec::IntoIter<T>,
    back: std::vec::IntoIter<T>,
    left: usize,
}

impl<T> Iterator for Items<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(x) = self.front.next() {
                self.left -= 1;
                return Some(x);
            }
            match self.parts.next() {
                Some(p) => self.front = p.into_iter(),
                None => {
                    let x = self.back.next()?;
                    self.left -= 1;
                    return Some(x);
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> DoubleEndedIterator for Items<T> {
    fn next_back(&mut self) -> Option<T> {
        loop {
            if let Some(x) = self.back.next_back() {
                self.left -= 1;
                return Some(x);
            }
            match self.parts.next_back() {
                Some(p) => self.back = p.into_iter(),
                None => {
                    let x = self.front.next_back()?;
                    self.left -= 1;
                    return Some(x);
                }
            }
        }
    }
}

impl<T> ExactSizeIterator for Items<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts(sizes: &[usize]) -> Vec<Vec<String>> {
        let mut n = 0;
        sizes
            .iter()
            .map(|&k| {
                (0..k)
                    .map(|_| {
                        n += 1;
                        n.to_string()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn empty_and_single_lists() {
        let mut out: Vec<String> = vec!["stale".into()];
        Concat::new(Vec::<Vec<String>>::new()).collect_into_vec(&mut out);
        assert!(out.is_empty());
        Concat::new(parts(&[0, 3, 0])).collect_into_vec(&mut out);
        assert_eq!(out, ["1", "2", "3"]);
    }

    #[test]
    fn items_come_from_both_ends_in_order() {
        let mut it = Producer::into_iter(Concat::new(parts(&[2, 0, 3])));
        assert_eq!(it.len(), 5);
        assert_eq!(it.next_back().as_deref(), Some("5"));
        assert_eq!(it.next().as_deref(), Some("1"));
        assert_eq!(it.len(), 3);
        let rest: Vec<String> = it.collect();
        assert_eq!(rest, ["2", "3", "4"]);
    }

    proptest! {
        /// Whatever the lists' sizes and the pool's threads, the result is
        /// the lists' items in order, each once.
        #[test]
        fn collects_what_a_sequential_flatten_gives(
            sizes in proptest::collection::vec(0usize..40, 0..60),
            threads in 1usize..5,
        ) {
            let want: Vec<String> = parts(&sizes).into_iter().flatten().collect();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut got = Vec::with_capacity(want.len() + 3);
            pool.install(|| {
                Concat::new(parts(&sizes))
                    .with_max_len(7)
                    .collect_into_vec(&mut got)
            });
            prop_assert_eq!(&got, &want);
            prop_assert!(got.capacity() >= want.len() + 3, "kept the room asked for");
        }

        /// Splitting anywhere, then reading each side, gives the items in order.
        #[test]
        fn splits_keep_order(sizes in proptest::collection::vec(0usize..20, 0..20), at in 0usize..400) {
            let want: Vec<String> = parts(&sizes).into_iter().flatten().collect();
            let c = Concat::new(parts(&sizes));
            let at = at.min(c.len);
            let (l, r) = Producer::split_at(c, at);
            prop_assert_eq!((l.len, r.len), (at, want.len() - at));
            let mut got: Vec<String> = Producer::into_iter(l).collect();
            got.extend(Producer::into_iter(r));
            prop_assert_eq!(got, want);
        }
    }
}
