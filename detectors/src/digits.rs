//! Finding maximal runs of exactly N ASCII digits, fast.
//!
//! No regex engine can skip ahead on `\d{12}`: it has no literal. Instead we
//! build a 64-bit mask of "is a digit" per 64-byte block (a loop the compiler
//! turns into compare + movemask), join it with the next block's mask into a
//! 128-bit word, and find, with a handful of shifts and ANDs, the bit positions
//! where a run of at least N digits starts. A start is kept when the byte
//! before it and the byte N after it are not digits. Only those few starts
//! ever reach the validators.

use std::ops::Range;

/// Bit `i` is set when `block[i]` is an ASCII digit; missing bytes count as non-digits.
#[inline]
fn mask(block: &[u8]) -> u64 {
    if let Ok(full) = <&[u8; 64]>::try_from(block) {
        return mask_full(full);
    }
    let mut m = 0u64;
    for (i, &b) in block.iter().take(64).enumerate() {
        m |= u64::from(b.wrapping_sub(b'0') < 10) << i;
    }
    m
}

#[inline]
fn mask_full(block: &[u8; 64]) -> u64 {
    let mut m = 0u64;
    // Sixteen bytes at a time keeps the compiler on the compare + movemask path.
    for (k, chunk) in block.chunks_exact(16).enumerate() {
        let mut part = 0u16;
        for (i, &b) in chunk.iter().enumerate() {
            part |= u16::from(b.wrapping_sub(b'0') < 10) << i;
        }
        m |= u64::from(part) << (16 * k);
    }
    m
}

/// Bits `i` for which bits `i..i+n` of `w` are all set (n ≥ 1), by doubling.
#[inline]
fn runs_at_least(w: u128, n: u32) -> u128 {
    let mut have = 1u32; // r has bit i when i..i+have are all set
    let mut r = w;
    while have * 2 <= n {
        r &= r >> have;
        have *= 2;
    }
    if have < n {
        // i..i+have and (i+n-have)..i+n together cover i..i+n
        r &= r >> (n - have);
    }
    r
}

/// Calls `f(start)` for each maximal run of exactly `n` digits in `hay` whose
/// start lies in `range`. Bytes outside `range` are still read to decide
/// whether a run is maximal, so a caller that scans a window with context on
/// both sides gets the same answer as one that scans the whole input.
///
/// `n` must be in `1..=64`; other values find nothing.
pub fn exact_runs(hay: &[u8], range: Range<usize>, n: usize, mut f: impl FnMut(usize)) {
    if n == 0 || n > 64 {
        return;
    }
    let end = range.end.min(hay.len());
    let mut pos = range.start;
    if pos >= end {
        return;
    }
    let mut prev_digit = pos > 0 && hay[pos - 1].is_ascii_digit();
    let mut cur = mask(&hay[pos..(pos + 64).min(hay.len())]);
    while pos < end {
        let next_start = pos + 64;
        let next = match hay.get(next_start..) {
            Some(rest) => mask(&rest[..64.min(rest.len())]),
            None => 0,
        };
        if cur != 0 {
            let w = u128::from(cur) | (u128::from(next) << 64);
            let runs = runs_at_least(w, n as u32);
            let starts = runs & !((w << 1) | u128::from(prev_digit)) & !(w >> n);
            let mut bits = starts as u64;
            let limit = end - pos; // only starts inside the range
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                if i >= limit {
                    break;
                }
                f(pos + i);
                bits &= bits - 1;
            }
        }
        prev_digit = cur >> 63 == 1;
        cur = next;
        pos = next_start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(hay: &[u8], range: Range<usize>, n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < hay.len() {
            if hay[i].is_ascii_digit() {
                let s = i;
                while i < hay.len() && hay[i].is_ascii_digit() {
                    i += 1;
                }
                if i - s == n && range.contains(&s) {
                    out.push(s);
                }
            } else {
                i += 1;
            }
        }
        out
    }

    fn fast(hay: &[u8], range: Range<usize>, n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        exact_runs(hay, range, n, |s| out.push(s));
        out
    }

    #[test]
    fn simple() {
        let hay = b"a 850314319331 b 1234567890123 c 12345678901 d850314319331";
        assert_eq!(fast(hay, 0..hay.len(), 12), vec![2, 46]);
    }

    #[test]
    fn runs_across_block_edges() {
        for shift in 50..80 {
            let mut hay = vec![b'x'; shift];
            hay.extend_from_slice(b"123456789012");
            hay.extend_from_slice(&[b'y'; 70]);
            assert_eq!(fast(&hay, 0..hay.len(), 12), vec![shift], "shift {shift}");
            let mut longer = hay.clone();
            longer.insert(shift, b'9');
            assert!(
                fast(&longer, 0..longer.len(), 12).is_empty(),
                "shift {shift}"
            );
        }
    }

    #[test]
    fn range_limits_starts_not_context() {
        let hay = b"1234567890123456 000000000000";
        // Start inside the 16-digit run: not a maximal run.
        assert!(fast(hay, 4..10, 12).is_empty());
        assert_eq!(fast(hay, 10..hay.len(), 12), vec![17]);
        assert!(fast(hay, 0..17, 12).is_empty());
    }

    proptest! {
        #[test]
        fn matches_naive(hay in proptest::collection::vec(prop_oneof![4 => b'0'..=b'9', 1 => Just(b' '), 1 => any::<u8>()], 0..400),
                         a in 0usize..400, b in 0usize..400, n in 1usize..20) {
            let (lo, hi) = (a.min(b).min(hay.len()), a.max(b).min(hay.len()));
            prop_assert_eq!(fast(&hay, lo..hi, n), naive(&hay, lo..hi, n));
        }
    }
}
