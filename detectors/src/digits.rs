//! Finding maximal runs of exactly N ASCII digits, fast.
//!
//! No regex engine can skip ahead on `\d{12}`: it has no literal. Two
//! observations make it cheap anyway:
//!
//! * A run of at least 11 digits always covers two consecutive 4-byte groups
//!   aligned to a multiple of 4 (its first aligned group starts at most 3
//!   bytes in, and 3 + 8 ≤ 11). So a filter only has to find aligned 8-byte
//!   spans of digits: per 8-byte word a handful of SWAR operations mark the
//!   digit bytes and test both halves, with no per-byte branch.
//! * Such spans are rare outside long numbers. At each one the run around it
//!   is measured once, byte by byte, and reported when its length is exactly
//!   N and the byte before and after are not digits.
//!
//! Shorter lengths (N < 11) use a bitmask of digit bytes per 64-byte block.

use std::ops::{ControlFlow, Range};

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
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn mask_full(block: &[u8; 64]) -> u64 {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, sub_i8_m128i,
    };
    // SSE2, through safe_arch's safe wrappers: subtract '0', then a byte is a
    // digit when min(byte, 9) == byte (unsigned), and movemask packs the bits.
    let zero = set_splat_i8_m128i(b'0' as i8);
    let nine = set_splat_i8_m128i(9);
    let lane = |k: usize| {
        let bytes: &[u8; 16] = block[16 * k..16 * k + 16].try_into().unwrap_or(&[0; 16]);
        let t = sub_i8_m128i(load_unaligned_m128i(bytes), zero);
        let digits = cmp_eq_mask_i8_m128i(min_u8_m128i(t, nine), t);
        u64::from(move_mask_i8_m128i(digits) as u16)
    };
    lane(0) | lane(1) << 16 | lane(2) << 32 | lane(3) << 48
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn mask_full(block: &[u8; 64]) -> u64 {
    let mut m = 0u64;
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        let d = digit_bytes(u64::from_le_bytes(b));
        // Gather the eight high bits into one byte.
        m |= ((d >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    m
}

/// Bits `i` for which bits `i..i+n` of `w` are all set (n ≥ 1, n at most
/// `w`'s width), by doubling; for one 64-bit block or two.
#[inline(always)]
fn runs_at_least<T>(w: T, n: u32) -> T
where
    T: Copy + std::ops::BitAnd<Output = T> + std::ops::Shr<u32, Output = T>,
{
    let mut have = 1u32; // r has bit i when i..i+have are all set
    let mut r = w;
    while have * 2 <= n {
        r = r & (r >> have);
        have *= 2;
    }
    if have < n {
        // i..i+have and (i+n-have)..i+n together cover i..i+n
        r = r & (r >> (n - have));
    }
    r
}

const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of each byte of `x` set where that byte is an ASCII digit.
#[inline(always)]
fn digit_bytes(x: u64) -> u64 {
    let t = x ^ 0x3030_3030_3030_3030; // digits become 0..=9
    let ten_or_more = ((t & LOW7) + 0x7676_7676_7676_7676) | t;
    !ten_or_more & HIGH
}

/// Calls `f(start)` for each maximal run of exactly `n` digits in `hay` whose
/// start lies in `range`, in increasing order. Bytes outside `range` are
/// still read to decide whether a run is maximal, so a caller that scans a
/// window with context on both sides gets the same answer as one that scans
/// the whole input.
///
/// `n` must be in `1..=64`; other values find nothing.
pub fn exact_runs(hay: &[u8], range: Range<usize>, n: usize, f: impl FnMut(usize)) {
    if USE_SPANS && (11..=64).contains(&n) {
        long_runs(hay, range, n, f);
    } else {
        masked_runs(hay, range, n, f);
    }
}

/// Whether runs of 11+ digits use the aligned-span filter rather than the
/// SIMD bitmask (which wins where SSE2 is available).
const USE_SPANS: bool = !cfg!(all(target_arch = "x86_64", target_feature = "sse2"));

/// The aligned-span filter, for `n ≥ 11` (see the module docs).
fn long_runs(hay: &[u8], range: Range<usize>, n: usize, mut f: impl FnMut(usize)) {
    let end = range.end.min(hay.len());
    if range.start >= end {
        return;
    }
    // A run starting in the range has its first aligned span at most 3 bytes in.
    let scan_end = (end + 3 + 8).min(hay.len());
    let first = range.start & !7;
    let mut state = Spans {
        prev: 0,
        measured_to: 0,
    };
    let mut chunks = hay[first..scan_end].chunks_exact(32);
    let mut base = first;
    for c in &mut chunks {
        let block: &[u8; 32] = c.try_into().unwrap_or(&[0; 32]);
        state.block(hay, block, base, &range, n, &mut f);
        base += 32;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // Padding with non-digits cannot create a span.
        let mut block = [0u8; 32];
        block[..rest.len()].copy_from_slice(rest);
        state.block(hay, &block, base, &range, n, &mut f);
    }
}

/// Carries the filter's state from one 32-byte block to the next.
struct Spans {
    /// 1 when the last 4-byte group of the previous block was all digits.
    prev: u32,
    /// Runs ending before this offset have been measured already.
    measured_to: usize,
}

impl Spans {
    #[inline(always)]
    fn block(
        &mut self,
        hay: &[u8],
        block: &[u8; 32],
        base: usize,
        range: &Range<usize>,
        n: usize,
        f: &mut impl FnMut(usize),
    ) {
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&block[i * 8..i * 8 + 8]);
            digit_bytes(u64::from_le_bytes(b))
        };
        // Bit 7 of all4(x): bytes 0-3 of x are digits; bit 39: bytes 4-7.
        let all4 = |x: u64| {
            let y = x & (x >> 8);
            y & (y >> 16)
        };
        // One bit per aligned 4-byte group of the block that is all digits.
        let groups = (0..4).fold(0u32, |g, i| {
            let a = all4(word(i));
            g | ((((a >> 7) & 1) | ((a >> 38) & 2)) as u32) << (2 * i)
        });
        let with_prev = groups << 1 | self.prev;
        // Branch only on aligned 8-byte digit spans: years and short numbers pass through.
        let mut pairs = with_prev & (with_prev >> 1);
        self.prev = groups >> 7;
        while pairs != 0 {
            let j = pairs.trailing_zeros() as usize;
            pairs &= pairs - 1;
            // Pair bit j: groups j-1 and j of this block (group -1 ends the previous block).
            if let Some(span) = (base + 4 * j).checked_sub(4) {
                measure(hay, span, &mut self.measured_to, range, n, f);
            }
        }
    }
}

/// Measures the digit run around the all-digit span at `span`, once per run.
#[inline(never)]
fn measure(
    hay: &[u8],
    span: usize,
    measured_to: &mut usize,
    range: &Range<usize>,
    n: usize,
    f: &mut impl FnMut(usize),
) {
    if span < *measured_to {
        return;
    }
    let s = run_start(hay, span);
    let e = run_end(hay, span + 8);
    *measured_to = e;
    if e - s == n && range.contains(&s) {
        f(s);
    }
}

fn word_at(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// First non-digit at or after `e`, eight bytes at a time.
fn run_end(hay: &[u8], mut e: usize) -> usize {
    while let Some(x) = hay.get(e..e + 8).and_then(word_at) {
        let other = !digit_bytes(x) & HIGH;
        if other != 0 {
            return e + (other.trailing_zeros() / 8) as usize;
        }
        e += 8;
    }
    while e < hay.len() && hay[e].is_ascii_digit() {
        e += 1;
    }
    e
}

/// Start of the digit run that holds `s - 1` (or `s` itself), eight bytes at a time.
fn run_start(hay: &[u8], mut s: usize) -> usize {
    while let Some(x) = s
        .checked_sub(8)
        .and_then(|from| hay.get(from..s))
        .and_then(word_at)
    {
        let other = !digit_bytes(x) & HIGH;
        if other != 0 {
            return s - (other.leading_zeros() / 8) as usize;
        }
        s -= 8;
    }
    while s > 0 && hay[s - 1].is_ascii_digit() {
        s -= 1;
    }
    s
}

/// Cheap test before the 128-bit run arithmetic: can a run of at least `n`
/// digits start in the block whose digit mask is `cur` (`next`: the
/// following block's)? Such a run either lies inside the block or reaches
/// its last byte (`cur`'s leading ones) and goes on into the next block
/// (`next`'s trailing ones). Dates, times and short numbers pass neither
/// test, so [`emit_starts`] runs in few blocks.
#[inline(always)]
fn may_start_run(cur: u64, next: u64, n: usize) -> bool {
    if n < 8 {
        return cur != 0;
    }
    let tail = cur.leading_ones();
    runs_at_least(cur, n as u32) != 0 || (tail != 0 && (tail + next.trailing_ones()) as usize >= n)
}

/// The bitmask method, for any `n` in `1..=64`; compiled apart for `n = 12`
/// (IINs and BINs), where the run tests fold to a few shifts.
fn masked_runs(hay: &[u8], range: Range<usize>, n: usize, f: impl FnMut(usize)) {
    if n == 12 {
        masked_runs_n(hay, range, Fixed::<12>, f);
    } else {
        masked_runs_n(hay, range, n, f);
    }
}

/// A run length: known when compiling (the 12 of IINs and BINs, so that
/// the shift loops of the run tests unroll to constants) or at run time.
trait RunLength: Copy {
    fn get(self) -> usize;
}

/// A run length known when compiling.
#[derive(Clone, Copy)]
struct Fixed<const N: usize>;

impl<const N: usize> RunLength for Fixed<N> {
    #[inline(always)]
    fn get(self) -> usize {
        N
    }
}

impl RunLength for usize {
    #[inline(always)]
    fn get(self) -> usize {
        self
    }
}

/// The body of [`masked_runs`]. Each 64-byte block's digit mask is computed
/// once; the hot loop runs over whole blocks (`chunks_exact`, so no bounds
/// checks or partial-block code in it) and leaves the rare blocks that may
/// start a run to [`emit_starts`].
#[inline(always)]
fn masked_runs_n<L: RunLength>(hay: &[u8], range: Range<usize>, len: L, mut f: impl FnMut(usize)) {
    let n = len.get();
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
    // Whole blocks following the current one, up to the one after the last
    // block that holds a start in the range.
    let blocks_end = hay.len().min(pos + 64 + (end - pos).div_ceil(64) * 64);
    let following = hay.get(pos + 64..blocks_end).unwrap_or(&[]);
    let mut whole = following.chunks_exact(64);
    for block in &mut whole {
        let next = mask_full(block.try_into().unwrap_or(&[0; 64]));
        if may_start_run(cur, next, n) {
            emit_starts(cur, next, prev_digit, pos, end - pos, len, &mut f);
        }
        prev_digit = cur >> 63 == 1;
        cur = next;
        pos += 64;
    }
    // The last blocks: a partial one, then none.
    while pos < end {
        let next = match hay.get(pos + 64..) {
            Some(rest) => mask(&rest[..64.min(rest.len())]),
            None => 0,
        };
        if may_start_run(cur, next, n) {
            emit_starts(cur, next, prev_digit, pos, end - pos, len, &mut f);
        }
        prev_digit = cur >> 63 == 1;
        cur = next;
        pos += 64;
    }
}

/// Calls `f(start, len)` for each maximal run of `MIN..=MAX` digits in `hay`
/// (`1 ≤ MIN ≤ MAX`, `MIN ≤ 64`), in increasing order, until `f` returns
/// `ControlFlow::Break`. For a quick "is there any such number" test of a
/// whole input: per 64-byte block one digit mask, and only blocks where a
/// run of at least `min` digits may start are looked at closely.
///
/// `MIN` and `MAX` are constants so that the run tests unroll.
pub fn runs_between<const MIN: usize, const MAX: usize>(
    hay: &[u8],
    mut f: impl FnMut(usize, usize) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let (min, max) = (MIN, MAX);
    if min == 0 || min > 64 || max < min {
        return ControlFlow::Continue(());
    }
    let mut prev_digit = false;
    let mut pos = 0;
    let mut cur = mask(&hay[..hay.len().min(64)]);
    // The starts of runs of at least `min` digits in the block at `pos`.
    // A run starting in the block is measured by the masks when it is
    // shorter than 64 digits (the next block's mask covers its end).
    let short = max < 64;
    let mut block = |cur: u64, next: u64, prev_digit: bool, pos: usize| {
        let w = u128::from(cur) | (u128::from(next) << 64);
        let mut starts = runs_at_least(w, min as u32) & !((w << 1) | u128::from(prev_digit));
        if short {
            starts &= !runs_at_least(w, max as u32 + 1);
        }
        let mut bits = starts as u64;
        while bits != 0 {
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            let s = pos + i as usize;
            let len = if short {
                (w >> i).trailing_ones() as usize
            } else {
                run_end(hay, s) - s
            };
            if len <= max {
                f(s, len)?;
            }
        }
        ControlFlow::Continue(())
    };
    // Whole blocks in the hot loop (no bounds checks), then the tail.
    let mut whole = hay.get(64..).unwrap_or(&[]).chunks_exact(64);
    for b in &mut whole {
        let next = mask_full(b.try_into().unwrap_or(&[0; 64]));
        if may_start_run_between(cur, next, prev_digit, min, max) {
            block(cur, next, prev_digit, pos)?;
        }
        prev_digit = cur >> 63 == 1;
        cur = next;
        pos += 64;
    }
    while pos < hay.len() {
        let next = match hay.get(pos + 64..) {
            Some(rest) => mask(&rest[..64.min(rest.len())]),
            None => 0,
        };
        if may_start_run_between(cur, next, prev_digit, min, max) {
            block(cur, next, prev_digit, pos)?;
        }
        prev_digit = cur >> 63 == 1;
        cur = next;
        pos += 64;
    }
    ControlFlow::Continue(())
}

/// Cheap test before [`runs_between`]'s 128-bit arithmetic: can a maximal
/// run of `min..=max` digits start in the block whose digit mask is `cur`?
/// Runs that end inside the block are told exactly from `cur` alone; the
/// run that reaches its last byte is measured with `next`'s trailing ones.
/// Logs whose lines each hold a longer number (13-digit epoch times) pass
/// it without the closer look.
#[inline(always)]
fn may_start_run_between(cur: u64, next: u64, prev_digit: bool, min: usize, max: usize) -> bool {
    let starts = cur & !((cur << 1) | u64::from(prev_digit));
    let mut inner = starts & runs_at_least(cur, min as u32);
    if max < 64 {
        inner &= !runs_at_least(cur, max as u32 + 1);
    }
    let tail = cur.leading_ones() as usize;
    inner != 0
        || tail == 64
        || (tail != 0 && (min..=max).contains(&(tail + next.trailing_ones() as usize)))
}

/// Calls `f(pos + i)` for each maximal run of exactly `n` digits starting at
/// bit `i < limit` of the block whose digit mask is `cur` (`next`: the
/// following block's; `prev_digit`: whether the byte before is a digit).
#[inline(never)]
fn emit_starts<L: RunLength>(
    cur: u64,
    next: u64,
    prev_digit: bool,
    pos: usize,
    limit: usize,
    len: L,
    f: &mut impl FnMut(usize),
) {
    let n = len.get();
    let w = u128::from(cur) | (u128::from(next) << 64);
    let runs = runs_at_least(w, n as u32);
    let starts = runs & !((w << 1) | u128::from(prev_digit)) & !(w >> n);
    let mut bits = starts as u64;
    while bits != 0 {
        let i = bits.trailing_zeros() as usize;
        if i >= limit {
            break;
        }
        f(pos + i);
        bits &= bits - 1;
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
        exact_runs(hay, range.clone(), n, |s| out.push(s));
        let mut masked = Vec::new();
        masked_runs(hay, range.clone(), n, |s| masked.push(s));
        assert_eq!(out, masked, "both methods agree");
        if (11..=64).contains(&n) {
            let mut spans = Vec::new();
            long_runs(hay, range, n, |s| spans.push(s));
            assert_eq!(out, spans, "the span filter agrees");
        }
        out
    }

    #[test]
    fn run_edges_word_at_a_time() {
        let hay = b"ab1234567890123456789012345cd";
        for i in 2..27 {
            assert_eq!(run_end(hay, i), 27, "end from {i}");
            assert_eq!(run_start(hay, i), 2, "start from {i}");
        }
        assert_eq!(run_start(b"12345678901234567890", 17), 0);
        assert_eq!(run_end(b"12345678901234567890", 3), 20);
    }

    #[test]
    fn swar_marks_digits() {
        let x = u64::from_le_bytes(*b"0a9/:\xff5 ");
        assert_eq!(digit_bytes(x), 0x0080_0000_0080_0080);
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

        /// `runs_between` gives every maximal run of `min..=max` digits, in
        /// order, and stops where its callback says.
        #[test]
        fn runs_between_matches_naive(hay in proptest::collection::vec(prop_oneof![12 => b'0'..=b'9', 1 => Just(b' '), 1 => any::<u8>()], 0..400),
                                      which in 0usize..5, stop in 0usize..4) {
            // Past 63 digits the run is measured byte by byte.
            let (min, max) = [(9, 12), (1, 1), (3, 70), (12, 14), (5, 9)][which];
            let want: Vec<(usize, usize)> = (min..=max)
                .flat_map(|n| naive(&hay, 0..hay.len(), n).into_iter().map(move |s| (s, n)))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut got = Vec::new();
            let each = |s, n| {
                got.push((s, n));
                if got.len() > stop { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
            };
            let flow = match (min, max) {
                (9, 12) => runs_between::<9, 12>(&hay, each),
                (1, 1) => runs_between::<1, 1>(&hay, each),
                (3, 70) => runs_between::<3, 70>(&hay, each),
                (12, 14) => runs_between::<12, 14>(&hay, each),
                _ => runs_between::<5, 9>(&hay, each),
            };
            let kept = want.len().min(stop + 1);
            prop_assert_eq!(&got[..], &want[..kept]);
            prop_assert_eq!(flow.is_break(), want.len() > stop);
        }

        /// Runs of 10–14 digits (IIN length ± 2) placed right around the
        /// 64-byte block edges, with range ends on or near the edges too.
        #[test]
        fn runs_near_block_edges(runs in proptest::collection::vec((0usize..6, 0usize..8, 10usize..15, any::<bool>()), 1..6),
                                 lo_block in 0usize..4, lo_skew in 0usize..3, hi_skew in 0usize..3) {
            let mut hay = vec![b'x'; 6 * 64 + 32];
            for (block, back, len, digit_after) in runs {
                let s = (block * 64 + 64).saturating_sub(back + len / 2);
                for (i, b) in hay.iter_mut().skip(s).take(len).enumerate() {
                    *b = b'0' + (i % 10) as u8;
                }
                if digit_after && s + len < hay.len() {
                    hay[s + len] = b'7';
                }
            }
            let lo = (lo_block * 64 + lo_skew).min(hay.len());
            let hi = (hay.len() - hi_skew * 31).max(lo);
            for n in [11, 12, 13] {
                prop_assert_eq!(fast(&hay, lo..hi, n), naive(&hay, lo..hi, n));
            }
        }
    }
}
