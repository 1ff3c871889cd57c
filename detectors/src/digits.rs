//! Finding maximal runs of exactly N ASCII digits, fast.
//!
//! No regex engine can skip ahead on `\d{12}`: it has no literal. A bitmask
//! of the digit bytes of each 64-byte block makes it cheap anyway: shifts
//! and ands of the mask (with the next block's, for runs that cross the
//! block's end) tell where a run of at least N digits starts, and the bytes
//! before and after decide whether it is maximal.
//!
//! Most blocks hold no long run: per block, one cheap test (a run of `n`
//! digits inside it, or a digit in its last byte) is all the hot loop does,
//! and the exact starts are computed, without a branch, only where it
//! passes. (A coarser first test, one bit per aligned all-digit 4-byte
//! group, won on sparse inputs and lost as much on CSV files, where most
//! blocks hold a long number; see the README's performance notes.)
//!
//! The masks come from a kernel per instruction set (module `simd`): AVX-512BW
//! or AVX2 where the CPU has them, chosen at run time once per call, else
//! SSE2 on x86-64, else eight bytes at a time in general-purpose registers.
//! Every kernel gives the same masks, so every path gives the same runs.

use std::ops::{ControlFlow, Range};

mod list;
mod simd;

pub use list::{RunList, MAX_RUNS};
pub use simd::Isa;
use simd::{dispatch, padded, Masks, WithMasks};

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
/// `n` must be in `1..=64`; other values find nothing. Uses the widest
/// instruction set this CPU has (see [`Isa`]).
#[inline]
pub fn exact_runs(hay: &[u8], range: Range<usize>, n: usize, f: impl FnMut(usize)) {
    exact_runs_on(Isa::Avx512, hay, range, n, f);
}

/// [`exact_runs`] with the masks of `isa`, or of the widest instruction set
/// below it that this CPU has: every one gives the same runs (for tests and
/// benches).
pub fn exact_runs_on(isa: Isa, hay: &[u8], range: Range<usize>, n: usize, f: impl FnMut(usize)) {
    dispatch(isa, ExactRuns { hay, range, n, f });
}

/// The arguments of [`exact_runs`], waiting for a kernel.
struct ExactRuns<'a, F> {
    hay: &'a [u8],
    range: Range<usize>,
    n: usize,
    f: F,
}

impl<F: FnMut(usize)> WithMasks for ExactRuns<'_, F> {
    type Output = ();

    /// Length 12 (IINs and BINs) is compiled apart, so that the run tests
    /// fold to a few shifts.
    #[inline(always)]
    fn run<M: Masks>(self, m: M) {
        if self.n == 12 {
            masked_runs_n(self.hay, self.range, Fixed::<12>, m, self.f);
        } else {
            masked_runs_n(self.hay, self.range, self.n, m, self.f);
        }
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

/// The body of [`exact_runs`] with kernel `m`. The hot loop runs over whole
/// 64-byte blocks (`chunks_exact`, so no bounds checks or partial-block code
/// in it), and branches only where a block may start a run; the last one
/// or two blocks follow, maybe partial.
#[inline(always)]
fn masked_runs_n<L: RunLength, M: Masks>(
    hay: &[u8],
    range: Range<usize>,
    len: L,
    m: M,
    mut f: impl FnMut(usize),
) {
    let n = len.get();
    if n == 0 || n > 64 {
        return;
    }
    let end = range.end.min(hay.len());
    let mut pos = range.start;
    if pos >= end {
        return;
    }
    // Whole blocks following the one at `pos`, up to the one after the last
    // block that holds a start in the range.
    let blocks_end = hay.len().min(pos + 64 + (end - pos).div_ceil(64) * 64);
    let following = hay.get(pos + 64..blocks_end).unwrap_or(&[]);
    if let Some(first) = hay
        .get(pos..pos + 64)
        .and_then(|b| <&[u8; 64]>::try_from(b).ok())
    {
        let blocks = Blocks {
            hay,
            pos,
            end,
            first,
            following,
        };
        pos = blocks.scan(len, m, &mut f);
    }
    // The last blocks: a whole or partial one, then maybe another.
    if pos >= end {
        return;
    }
    let mut prev_digit = pos > 0 && hay[pos - 1].is_ascii_digit();
    let mut cur = padded(m, &hay[pos..(pos + 64).min(hay.len())]);
    while pos < end {
        let next = match hay.get(pos + 64..) {
            Some(rest) => padded(m, &rest[..64.min(rest.len())]),
            None => 0,
        };
        emit(exact_starts(cur, next, prev_digit, len), pos, end, &mut f);
        prev_digit = cur >> 63 == 1;
        cur = next;
        pos += 64;
    }
}

/// The whole blocks of an [`exact_runs`] scan: `first` at `pos`, then
/// `following` (a multiple of 64 bytes long, maybe empty).
struct Blocks<'a> {
    hay: &'a [u8],
    pos: usize,
    end: usize,
    first: &'a [u8; 64],
    following: &'a [u8],
}

impl Blocks<'_> {
    /// Scans each block that has a following one: its digit mask, a cheap
    /// test, and where a run of `n` digits may start, the starts of maximal
    /// runs of exactly `n` found without a branch. Returns the offset of the
    /// last block, not yet scanned.
    #[inline(always)]
    fn scan<L: RunLength, M: Masks>(self, len: L, m: M, f: &mut impl FnMut(usize)) -> usize {
        let mut pos = self.pos;
        let mut prev_digit = pos > 0 && self.hay[pos - 1].is_ascii_digit();
        let mut cur = m.digits(self.first);
        for block in self.following.chunks_exact(64) {
            let next = m.digits(block.try_into().unwrap_or(&[0; 64]));
            // A run starting in the block ends in it or reaches its last
            // byte: a cheap test first, as most blocks pass neither.
            if runs_at_least(cur, len.get() as u32) != 0 || cur >> 63 == 1 {
                emit(exact_starts(cur, next, prev_digit, len), pos, self.end, f);
            }
            prev_digit = cur >> 63 == 1;
            cur = next;
            pos += 64;
        }
        pos
    }
}

/// Bit `i` set for each maximal run of exactly `n` digits (`1 ≤ n ≤ 64`)
/// that starts at bit `i` of the block whose digit mask is `cur` (`next`:
/// the following block's; `prev_digit`: whether the byte before is a digit).
#[inline(always)]
fn exact_starts<L: RunLength>(cur: u64, next: u64, prev_digit: bool, len: L) -> u64 {
    let n = len.get() as u32;
    let starts = cur & !((cur << 1) | u64::from(prev_digit));
    // Bit i: the byte n after i is a digit.
    let after = if n < 64 {
        (cur >> n) | (next << (64 - n))
    } else {
        next
    };
    // Runs that end inside the block (runs_at_least shifts zeros in at the top).
    let inner = starts & runs_at_least(cur, n) & !after;
    // The run that reaches the block's last byte and starts in it.
    let tail = cur.leading_ones();
    let crossing = if tail != 0 && tail < 64 && tail + next.trailing_ones() == n {
        1u64 << (64 - tail)
    } else {
        0
    };
    inner | crossing
}

/// Calls `f(pos + i)` for each bit `i` of `bits` with `pos + i < end`, in
/// increasing order. The loop that finds the bits stays small and keeps
/// its registers: `f` (the detectors' validation) runs out of line.
#[inline(always)]
fn emit(bits: u64, pos: usize, end: usize, f: &mut impl FnMut(usize)) {
    if bits != 0 {
        emit_out_of_line(bits, pos, end, f);
    }
}

/// The body of [`emit`].
#[inline(never)]
fn emit_out_of_line(mut bits: u64, pos: usize, end: usize, f: &mut impl FnMut(usize)) {
    while bits != 0 {
        let i = bits.trailing_zeros() as usize;
        if pos + i >= end {
            break;
        }
        f(pos + i);
        bits &= bits - 1;
    }
}

/// First non-digit at or after `e`, eight bytes at a time.
fn run_end(hay: &[u8], mut e: usize) -> usize {
    while let Some(x) = hay
        .get(e..e + 8)
        .and_then(|b| Some(u64::from_le_bytes(b.try_into().ok()?)))
    {
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

/// Calls `f(start, len)` for each maximal run of `MIN..=MAX` digits in `hay`
/// (`1 ≤ MIN ≤ MAX`, `MIN ≤ 64`), in increasing order, until `f` returns
/// `ControlFlow::Break`. For a quick "is there any such number" test of a
/// whole input: per 64-byte block one digit mask, and only blocks where a
/// run of at least `MIN` digits may start are looked at closely. Uses the
/// widest instruction set this CPU has.
///
/// `MIN` and `MAX` are constants so that the run tests unroll.
#[inline]
pub fn runs_between<const MIN: usize, const MAX: usize>(
    hay: &[u8],
    f: impl FnMut(usize, usize) -> ControlFlow<()>,
) -> ControlFlow<()> {
    runs_between_on::<MIN, MAX>(Isa::Avx512, hay, f)
}

/// [`runs_between`] with the masks of `isa`, or of the widest instruction
/// set below it that this CPU has (for tests and benches).
pub fn runs_between_on<const MIN: usize, const MAX: usize>(
    isa: Isa,
    hay: &[u8],
    f: impl FnMut(usize, usize) -> ControlFlow<()>,
) -> ControlFlow<()> {
    dispatch(isa, Between::<MIN, MAX, _> { hay, f })
}

/// The bytes [`has_rare_byte`] looks for: rare in text, common in binary
/// formats (the engine gates its binary-magic searchers on them). The wide
/// kernels test for exactly these by arithmetic (see `simd::Masks::any_rare`).
pub const RARE_BYTES: [u8; 3] = [0x00, 0x7F, 0xFF];

/// Whether `hay` holds a byte of [`RARE_BYTES`], with the widest kernel
/// this CPU has.
pub fn has_rare_byte(hay: &[u8]) -> bool {
    has_rare_byte_on(Isa::Avx512, hay)
}

/// [`has_rare_byte`] with the kernel of `isa`, or of the widest set below it.
pub fn has_rare_byte_on(isa: Isa, hay: &[u8]) -> bool {
    dispatch(isa, AnyRare(hay))
}

/// The argument of [`has_rare_byte`], waiting for a kernel.
struct AnyRare<'a>(&'a [u8]);

impl WithMasks for AnyRare<'_> {
    type Output = bool;

    #[inline(always)]
    fn run<M: Masks>(self, m: M) -> bool {
        let mut chunks = self.0.chunks_exact(256);
        for c in &mut chunks {
            if m.any_rare(c.try_into().unwrap_or(&[1; 256])) {
                return true;
            }
        }
        let [a, b, c] = RARE_BYTES;
        memchr::memchr3(a, b, c, chunks.remainder()).is_some()
    }
}

/// The arguments of [`runs_between`], waiting for a kernel.
struct Between<'a, const MIN: usize, const MAX: usize, F> {
    hay: &'a [u8],
    f: F,
}

impl<const MIN: usize, const MAX: usize, F> WithMasks for Between<'_, MIN, MAX, F>
where
    F: FnMut(usize, usize) -> ControlFlow<()>,
{
    type Output = ControlFlow<()>;

    #[inline(always)]
    fn run<M: Masks>(self, m: M) -> ControlFlow<()> {
        let (min, max) = (MIN, MAX);
        if min == 0 || min > 64 || max < min {
            return ControlFlow::Continue(());
        }
        let hay = self.hay;
        let mut f = self.f;
        // The runs of at least `min` digits that start in the block at
        // `pos`, given to `f` where they have at most `max`. Below 64 digits
        // (the built-in bound is 9–12) the block's own mask measures every
        // run that ends in it, and the run that reaches its last byte takes
        // the next block's trailing ones: all in 64-bit words, and what the
        // cheap test computed is the answer (`Short`). Longer bounds keep a
        // 128-bit window and measure past it byte by byte.
        let mut block = |cur: u64, next: u64, prev_digit: bool, pos: usize| {
            if MAX < 64 {
                let short = Short::of::<MIN, MAX>(cur, next, prev_digit);
                if short.any() {
                    return short.emit(cur, pos, &mut f);
                }
                return ControlFlow::Continue(());
            }
            if !may_start_run_between(cur, next, prev_digit, min, max) {
                return ControlFlow::Continue(());
            }
            let w = u128::from(cur) | (u128::from(next) << 64);
            let starts = runs_at_least(w, MIN as u32) & !((w << 1) | u128::from(prev_digit));
            let mut bits = starts as u64;
            while bits != 0 {
                let i = bits.trailing_zeros();
                bits &= bits - 1;
                let s = pos + i as usize;
                let len = run_end(hay, s) - s;
                if len <= MAX {
                    f(s, len)?;
                }
            }
            ControlFlow::Continue(())
        };
        let mut pos = 0;
        // Whole blocks in the hot loop (no bounds checks), then the tail.
        if let Some(first) = hay.get(..64).and_then(|b| <&[u8; 64]>::try_from(b).ok()) {
            let (mut cur, mut prev_digit) = (m.digits(first), false);
            for b in hay.get(64..).unwrap_or(&[]).chunks_exact(64) {
                let next = m.digits(b.try_into().unwrap_or(&[0; 64]));
                block(cur, next, prev_digit, pos)?;
                prev_digit = cur >> 63 == 1;
                cur = next;
                pos += 64;
            }
        }
        // The last blocks: a whole or partial one, then maybe another.
        while pos < hay.len() {
            let cur = padded(m, &hay[pos..(pos + 64).min(hay.len())]);
            let next = match hay.get(pos + 64..) {
                Some(rest) => padded(m, &rest[..64.min(rest.len())]),
                None => 0,
            };
            let prev_digit = pos > 0 && hay[pos - 1].is_ascii_digit();
            block(cur, next, prev_digit, pos)?;
            pos += 64;
        }
        ControlFlow::Continue(())
    }
}

/// The maximal runs of `MIN..=MAX` digits (`MAX < 64`) that start in one
/// block, from its digit mask `cur`, the next block's `next` and whether the
/// byte before it is a digit.
#[derive(Clone, Copy)]
struct Short {
    /// Starts of the runs that end inside the block, with a length in range.
    inner: u64,
    /// The start of the run that reaches the block's last byte (a bit of
    /// the block, or 0), when its whole length `last_len` is in range.
    last: u64,
    last_len: u32,
}

impl Short {
    #[inline(always)]
    fn of<const MIN: usize, const MAX: usize>(cur: u64, next: u64, prev_digit: bool) -> Short {
        let starts = cur & !((cur << 1) | u64::from(prev_digit));
        // The run through bit 63 is measured with `next`; every other run
        // ends in the block, where its length is the block's own.
        let tail = cur.leading_ones();
        let through = if tail == 0 { 0 } else { 1u64 << (64 - tail) };
        let mut inner = starts & runs_at_least(cur, MIN as u32) & !through;
        inner &= !runs_at_least(cur, MAX as u32 + 1);
        let last_len = tail + next.trailing_ones();
        let in_range = (MIN as u32..=MAX as u32).contains(&last_len);
        Short {
            inner,
            last: if in_range { starts & through } else { 0 },
            last_len,
        }
    }

    #[inline(always)]
    fn any(self) -> bool {
        self.inner | self.last != 0
    }

    /// Calls `f(start, len)` for each run, in order (out of line: most
    /// blocks have none, and the loop that finds them keeps its registers).
    #[inline(never)]
    fn emit(
        self,
        cur: u64,
        pos: usize,
        f: &mut impl FnMut(usize, usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut bits = self.inner;
        while bits != 0 {
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            f(pos + i as usize, (cur >> i).trailing_ones() as usize)?;
        }
        if self.last != 0 {
            f(
                pos + self.last.trailing_zeros() as usize,
                self.last_len as usize,
            )?;
        }
        ControlFlow::Continue(())
    }
}

/// Cheap test before [`runs_between`]'s 128-bit arithmetic (bounds of 64
/// digits or more): can a maximal run of `min..=max` digits start in the
/// block whose digit mask is `cur`?
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

    /// [`exact_runs`], checked against every kernel this CPU has, each
    /// called explicitly.
    fn fast(hay: &[u8], range: Range<usize>, n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        exact_runs(hay, range.clone(), n, |s| out.push(s));
        for isa in Isa::available() {
            let mut each = Vec::new();
            exact_runs_on(isa, hay, range.clone(), n, |s| each.push(s));
            assert_eq!(out, each, "the {isa:?} kernel agrees");
        }
        out
    }

    #[test]
    fn run_end_word_at_a_time() {
        let hay = b"ab1234567890123456789012345cd";
        for i in 2..27 {
            assert_eq!(run_end(hay, i), 27, "end from {i}");
        }
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

    /// Runs as long as a block or longer, at every offset in a block, for
    /// the longest lengths (`n = 64` has no byte after it in the block).
    #[test]
    fn block_long_runs() {
        for shift in 0..70 {
            for len in [62, 63, 64, 65, 130] {
                let mut hay = vec![b'x'; shift];
                hay.extend(std::iter::repeat_n(b'5', len));
                hay.extend_from_slice(&[b'y'; 70]);
                for n in [62, 63, 64] {
                    let want = if n == len { vec![shift] } else { vec![] };
                    assert_eq!(
                        fast(&hay, 0..hay.len(), n),
                        want,
                        "shift {shift} len {len} n {n}"
                    );
                }
            }
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

        /// Every kernel's rare-byte test agrees with `memchr3`, wherever
        /// the one rare byte lies (each byte value, each place of a chunk).
        #[test]
        fn rare_byte_test_matches_memchr(
            len in 0usize..1100,
            at in 0usize..1100,
            rare in any::<u8>(),
            filler in prop_oneof![Just(b'a'), Just(0x80u8), Just(0x7Eu8), Just(0xFEu8), Just(0x01u8)],
        ) {
            let mut hay = vec![filler; len];
            if at < len {
                hay[at] = rare;
            }
            let want = memchr::memchr3(0x00, 0x7F, 0xFF, &hay).is_some();
            for isa in Isa::available() {
                prop_assert_eq!(has_rare_byte_on(isa, &hay), want, "{:?}", isa);
            }
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
            for isa in Isa::available() {
                let mut got = Vec::new();
                let each = |s, n| {
                    got.push((s, n));
                    if got.len() > stop { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
                };
                let flow = match (min, max) {
                    (9, 12) => runs_between_on::<9, 12>(isa, &hay, each),
                    (1, 1) => runs_between_on::<1, 1>(isa, &hay, each),
                    (3, 70) => runs_between_on::<3, 70>(isa, &hay, each),
                    (12, 14) => runs_between_on::<12, 14>(isa, &hay, each),
                    _ => runs_between_on::<5, 9>(isa, &hay, each),
                };
                let kept = want.len().min(stop + 1);
                prop_assert_eq!(&got[..], &want[..kept], "{:?}", isa);
                prop_assert_eq!(flow.is_break(), want.len() > stop, "{:?}", isa);
            }
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
