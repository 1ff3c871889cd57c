//! JSON and JSON Lines: key-aware, values of ID keys aggregated (see [`super`]).
//!
//! A small tolerant lexer walks the bytes once: it tracks strings (with
//! escapes), object keys, and the key each value sits under (an array's
//! elements sit under the array's key). Strings and numbers are observed as
//! cells of the column named by their key. It never fails: malformed JSON
//! still gives the keys it could see, and the whole input is scanned by the
//! engine as text either way.

use std::collections::HashMap;

use super::bits::{escaped, json_masks, json_struct_masks, prefix_xor, with_block, BLOCK};
use super::{At, Column, Columns, Format};

/// A container being walked: the key its values sit under.
struct Frame {
    object: bool,
    key: Option<usize>,
}

/// The keys of a JSON input, with every string and number value observed.
///
/// Tokens are `"…"` strings, `{` `}` `[` `]`, numbers (from a `-` or a digit
/// through the run of `0-9 . e E + -` after it) and, in JSON Lines, `\n`;
/// everything else between tokens is skipped. A string is a key when the
/// next byte that is not whitespace is `:`. A string ends at its closing
/// quote, or, unterminated, before the end of its line.
///
/// Two lexers read by these rules. The structural one ([`Lexer::fast`])
/// computes per 64-byte block which bytes are escaped, which quotes are
/// unescaped and, by the running parity of those, which bytes lie inside
/// strings; it then visits only the tokens outside strings and the string
/// ends, so string contents and whitespace cost nothing per byte. Its
/// quote parity holds as long as every backslash is inside a string and no
/// raw line end is (both are invalid JSON). At the first byte where that
/// fails, the exact lexer ([`Lexer::exact`], which jumps between bytes of
/// interest and ends a string at a raw line end) takes over from the start
/// of the token that byte is in: for the rest of a JSON text, or up to the
/// next line of JSON Lines, where the structural lexer resumes. Both give
/// the same columns as a byte-at-a-time loop (kept in the tests as the
/// oracle).
pub fn columns(bytes: &[u8], format: Format) -> Columns {
    let mut lx = Lexer {
        bytes,
        jsonl: format == Format::Jsonl,
        cols: Columns::new(format),
        keys: KeyCache::default(),
        stack: Vec::new(),
        pending: None,
    };
    let mut from = 0;
    while let Err(at) = lx.fast(from) {
        match lx.exact(at) {
            Some(next) => from = next,
            None => break,
        }
    }
    lx.cols
}

/// Whether reading the columns of this JSON input can find an ID column;
/// `false` only when it provably cannot, so the lexer pass is skipped.
///
/// An ID column has a name that says so, or at least 3 valid ID cells that
/// are at least half of its non-empty cells (see [`Column::is_id`]). Every
/// ID cell is a candidate run of `may_hold_id_cells`. Each such
/// run is given the key it sits under, read back from it on its line
/// (`"key": 850314319331`, `"key": "850314319331"`); then, per key, the
/// runs bound its ID cells from above, and the values that follow `"key":`
/// on the input's lines bound its non-empty cells from below. Anything not
/// read that plainly (a run in an array, a line with a backslash, a key
/// that is not UTF-8 or says IIN/BIN, too many keys) means yes.
///
/// The 12-digit runs of its digit pass are recorded in `runs` (see
/// `super::id_runs`).
pub fn may_have_id_column(bytes: &[u8], runs: &mut super::DigitPass) -> bool {
    use std::ops::ControlFlow::{Break, Continue};
    /// Past this many keys with candidates, the lexer is cheaper.
    const MAX_KEYS: usize = 8;
    let mut keys: Vec<(&[u8], usize)> = Vec::new();
    let flow = super::id_runs(bytes, runs, true, |s| {
        let Some(key) = key_before(bytes, s) else {
            return Break(());
        };
        match keys.iter().position(|(k, _)| *k == key) {
            Some(i) => keys[i].1 += 1,
            None if keys.len() < MAX_KEYS => keys.push((key, 1)),
            None => return Break(()),
        }
        Continue(())
    });
    if flow.is_break() {
        return true;
    }
    keys.iter().any(|&(key, runs)| {
        let Ok(name) = std::str::from_utf8(key) else {
            return true;
        };
        super::id_header(name) || (runs >= 3 && !nonempty_at_least(bytes, key, 2 * runs + 1))
    })
}

/// Blanks within a line (a JSON Lines line end is a token).
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0c)
}

/// The key whose value holds the digit run at `s`, when its line reads
/// plainly `"key": ` then the run or a string that starts with it (see
/// [`may_have_id_column`]).
fn key_before(bytes: &[u8], s: usize) -> Option<&[u8]> {
    let mut i = s;
    let back_blanks = |mut i: usize| {
        while i > 0 && is_blank(bytes[i - 1]) {
            i -= 1;
        }
        i
    };
    i = back_blanks(i);
    if i > 0 && bytes[i - 1] == b'"' {
        i = back_blanks(i - 1);
    }
    if i == 0 || bytes[i - 1] != b':' {
        return None;
    }
    i = back_blanks(i - 1);
    if i == 0 || bytes[i - 1] != b'"' {
        return None;
    }
    let close = i - 1;
    let open = memchr::memrchr(b'"', &bytes[close.saturating_sub(super::LINE_BACK)..close])
        .map(|j| close.saturating_sub(super::LINE_BACK) + j)?;
    let tail = &bytes[open..s];
    if tail.contains(&b'\n') || tail.contains(&b'\\') || !opens_outside_string(bytes, open) {
        return None;
    }
    Some(&bytes[open + 1..close])
}

/// Whether the quote at `q` surely opens a string (see [`in_string`]).
fn opens_outside_string(bytes: &[u8], q: usize) -> bool {
    in_string(bytes, q) == Some(false)
}

/// Whether the byte at `at` lies inside a string, where its line tells for
/// sure: the line, up to it, has no backslash (so each quote opens or
/// closes a string) and the line before does not end in one (which may
/// carry a string over the line end; an unescaped line end ends a string
/// for both lexers). `None` when unsure, or when the line reaches back
/// more than [`super::LINE_BACK`] bytes.
pub(super) fn in_string(bytes: &[u8], at: usize) -> Option<bool> {
    let from = at.saturating_sub(super::LINE_BACK);
    let start = match memchr::memrchr(b'\n', &bytes[from..at]) {
        Some(j) => from + j + 1,
        None if from == 0 => 0,
        None => return None,
    };
    let line = &bytes[start..at];
    let continued = start >= 2 && bytes[start - 2] == b'\\';
    if continued || line.contains(&b'\\') {
        return None;
    }
    Some(!bytecount::count(line, b'"').is_multiple_of(2))
}

/// Whether at least `want` values with something in them follow `"key":` on
/// plain lines: each is a non-empty cell of the column `key` (a number, or
/// a string whose first byte is not blank).
fn nonempty_at_least(bytes: &[u8], key: &[u8], want: usize) -> bool {
    let mut needle = Vec::with_capacity(key.len() + 2);
    needle.push(b'"');
    needle.extend_from_slice(key);
    needle.push(b'"');
    let mut seen = 0;
    for q in memchr::memmem::find_iter(bytes, &needle) {
        let mut i = q + needle.len();
        while i < bytes.len() && is_blank(bytes[i]) {
            i += 1;
        }
        if bytes.get(i) != Some(&b':') {
            continue;
        }
        i += 1;
        while i < bytes.len() && is_blank(bytes[i]) {
            i += 1;
        }
        let value = match bytes.get(i) {
            Some(b'0'..=b'9' | b'-') => true,
            Some(b'"') => bytes
                .get(i + 1)
                .is_some_and(|&b| b != b'"' && b != b'\\' && !b.is_ascii_whitespace()),
            _ => false,
        };
        if value && opens_outside_string(bytes, q) {
            seen += 1;
            if seen >= want {
                return true;
            }
        }
    }
    false
}

/// The lexers' shared state and token handlers.
struct Lexer<'a> {
    bytes: &'a [u8],
    jsonl: bool,
    cols: Columns,
    keys: KeyCache<'a>,
    stack: Vec<Frame>,
    /// The key of the next value, once `"key":` was seen.
    pending: Option<usize>,
}

impl<'a> Lexer<'a> {
    /// The structural lexer from `from` (the input's start, or just after a
    /// line end in JSON Lines) to the end: `Err` with the position the
    /// exact lexer must take over at (see [`columns`]).
    fn fast(&mut self, from: usize) -> Result<(), usize> {
        let bytes = self.bytes;
        let mut base = from & !(BLOCK - 1);
        // Bits below `from` in its block are not this run's.
        let mut low = u64::MAX << (from - base);
        let mut esc_carry = false;
        // All ones when a string is open at the block's start.
        let mut str_carry = 0u64;
        // Whether the previous block ends with a scalar-start byte.
        let mut num_carry = 0u64;
        // The opening quote of the last string opened before this block.
        let mut open = 0usize;
        // Scalar-start bytes below this are inside a number already read.
        let mut skip = from;
        while base < bytes.len() {
            let [q, bs, nl, br, d] = with_block(bytes, base, json_struct_masks).map(|m| m & low);
            low = u64::MAX;
            let esc = escaped(bs, &mut esc_carry);
            let uq = q & !esc;
            let instr = prefix_xor(uq) ^ str_carry;
            let starts = d & !((d << 1) | num_carry);
            let nl_tokens = if self.jsonl { nl } else { 0 };
            // Closing quotes and the tokens outside strings; an opening
            // quote is found from its closing one.
            let opens = uq & instr;
            let mut events = (uq & !instr) | ((br | starts | nl_tokens) & !instr);
            let bad = (bs & !instr) | (nl & instr & !esc);
            if bad != 0 {
                // Tokens before the first bad byte are read here.
                events &= (bad & bad.wrapping_neg()) - 1;
            }
            while events != 0 {
                let bit = events.trailing_zeros();
                events &= events - 1;
                let at = base + bit as usize;
                if uq >> bit & 1 == 1 {
                    open = last_below(opens, bit, base).unwrap_or(open);
                    self.string_content(open, &bytes[open + 1..at], at + 1);
                    continue;
                }
                match bytes[at] {
                    b'{' | b'[' => self.open(bytes[at] == b'{'),
                    b'}' | b']' => self.close(),
                    b'\n' => self.line_end(),
                    _ if at < skip => {}
                    _ => {
                        // The digits and `-` of the number by the mask; the
                        // rest of it (`.` `e` `E` `+`, or past the block)
                        // byte by byte.
                        let run = (!d >> bit).trailing_zeros();
                        let end = at + run as usize;
                        skip = if bit + run < 64
                            && !matches!(bytes.get(end), Some(b'.' | b'e' | b'E' | b'+'))
                        {
                            self.number_to(at, end)
                        } else {
                            self.number(at)
                        };
                    }
                }
            }
            if bad != 0 {
                let bit = bad.trailing_zeros();
                return Err(if instr >> bit & 1 == 1 {
                    last_below(opens, bit, base).unwrap_or(open)
                } else {
                    base + bit as usize
                });
            }
            open = last_below(opens, 64, base).unwrap_or(open);
            str_carry = ((instr as i64) >> 63) as u64;
            num_carry = d >> 63;
            base += BLOCK;
        }
        if str_carry != 0 {
            // Unterminated, with no line end after it: it runs to the end.
            self.string(open, bytes.len(), false);
        }
        Ok(())
    }

    /// The exact lexer from `from` (between tokens): `Some` with the
    /// position after the first line end it reads as a token (JSON Lines),
    /// `None` at the end of the input.
    fn exact(&mut self, from: usize) -> Option<usize> {
        let bytes = self.bytes;
        let mut cur = Cursor::new(bytes, self.jsonl);
        let mut i = from;
        while let Some(at) = cur.next::<TOKENS>(i) {
            i = at;
            match bytes[i] {
                b'"' => {
                    let (end, closed) = cur.string_end(i + 1);
                    self.string(i, end, closed);
                    i = end;
                }
                b'{' | b'[' => {
                    self.open(bytes[i] == b'{');
                    i += 1;
                }
                b'}' | b']' => {
                    self.close();
                    i += 1;
                }
                b'\n' => {
                    // Only a token start in JSON Lines.
                    self.line_end();
                    return Some(i + 1);
                }
                _ => i = self.number(i),
            }
        }
        None
    }

    /// The string whose opening quote is at `quote`, ending just before
    /// `end`: past its closing quote when `closed`, else where the
    /// unterminated string stops (a line end, the input's end), its last
    /// byte then part of its content.
    fn string(&mut self, quote: usize, end: usize, closed: bool) {
        self.string_content(quote, string_content(self.bytes, quote, end, closed), end);
    }

    /// [`Lexer::string`] given its content (for a terminated string, the
    /// bytes between its quotes).
    #[inline(always)]
    fn string_content(&mut self, quote: usize, content: &'a [u8], end: usize) {
        let bytes = self.bytes;
        if next_is_colon(bytes, end) {
            self.pending = Some(self.keys.index(&mut self.cols, content));
        } else {
            if let Some(k) = self.current() {
                self.cols.cols[k].observe(content, At::Byte(quote as u64 + 1));
            }
            self.pending = None;
        }
    }

    /// A `{` (`object`) or `[`.
    #[inline]
    fn open(&mut self, object: bool) {
        let key = self.current();
        self.stack.push(Frame { object, key });
        self.pending = None;
    }

    /// A `}` or `]`.
    #[inline]
    fn close(&mut self) {
        self.stack.pop();
        self.pending = None;
    }

    /// A line end in JSON Lines.
    #[inline]
    fn line_end(&mut self) {
        self.stack.clear();
        self.pending = None;
    }

    /// The number starting at `at`; returns its end.
    #[inline]
    fn number(&mut self, at: usize) -> usize {
        self.number_to(at, number_end(self.bytes, at))
    }

    /// The number `bytes[at..end]`; returns `end`.
    #[inline(always)]
    fn number_to(&mut self, at: usize, end: usize) -> usize {
        if let Some(k) = self.current() {
            self.cols.cols[k].observe(&self.bytes[at..end], At::Byte(at as u64));
        }
        self.pending = None;
        end
    }

    /// The key a value here sits under: the pending `"key":`, else (in an
    /// array) the array's key.
    #[inline]
    fn current(&self) -> Option<usize> {
        current(&self.stack, self.pending)
    }
}

/// The position of the highest bit of `mask` below bit `bit` (0–64) of the
/// block at `base`.
#[inline(always)]
fn last_below(mask: u64, bit: u32, base: usize) -> Option<usize> {
    let below = mask & 1u64.checked_shl(bit).map_or(u64::MAX, |b| b - 1);
    (below != 0).then(|| base + 63 - below.leading_zeros() as usize)
}

/// Index of the string-stop masks (`"` `\\` `\n`) in [`Cursor`].
const STOPS: usize = 0;
/// Index of the token-start masks in [`Cursor`] (see [`super::bits::json_masks`]).
const TOKENS: usize = 1;

/// The exact lexer's walk ([`Lexer::exact`]): from one byte of interest to
/// the next, block by block, keeping the current block's masks.
struct Cursor<'a> {
    bytes: &'a [u8],
    jsonl: bool,
    /// Start of the block whose masks are loaded (`usize::MAX`: none yet).
    base: usize,
    masks: [u64; 2],
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8], jsonl: bool) -> Cursor<'a> {
        Cursor {
            bytes,
            jsonl,
            base: usize::MAX,
            masks: [0; 2],
        }
    }

    /// The first position at or after `from` whose byte is in class `W`
    /// ([`STOPS`] or [`TOKENS`]).
    #[inline(always)]
    fn next<const W: usize>(&mut self, from: usize) -> Option<usize> {
        let base = from & !(BLOCK - 1);
        if base == self.base {
            let m = self.masks[W] >> (from - base);
            if m != 0 {
                return Some(from + m.trailing_zeros() as usize);
            }
        }
        self.next_block::<W>(from)
    }

    /// [`Cursor::next`] past the loaded block.
    #[inline(never)]
    fn next_block<const W: usize>(&mut self, mut from: usize) -> Option<usize> {
        while from < self.bytes.len() {
            let base = from & !(BLOCK - 1);
            if base != self.base {
                self.base = base;
                let jsonl = self.jsonl;
                self.masks = with_block(self.bytes, base, |b| json_masks(b, jsonl));
            }
            let m = self.masks[W] >> (from - base);
            if m != 0 {
                return Some(from + m.trailing_zeros() as usize);
            }
            from = base + BLOCK;
        }
        None
    }

    /// The position just past the closing quote of a string whose content
    /// starts at `from`, and `true`; an unterminated string stops at the
    /// line end (before the `\n`) or the input's end, and `false`. A `\\`
    /// skips the byte after it.
    #[inline(always)]
    fn string_end(&mut self, from: usize) -> (usize, bool) {
        let mut i = from;
        while let Some(at) = self.next::<STOPS>(i) {
            match self.bytes[at] {
                b'\\' => i = at + 2,
                b'"' => return (at + 1, true),
                _ => return (at, false),
            }
        }
        (self.bytes.len(), false)
    }
}

/// The content of the string whose opening quote is at `quote` and which
/// ends just before `end` (see [`Lexer::string`]): without its closing
/// quote when `closed`, to `end` when it is unterminated (an unterminated
/// `"850314319331[` is not the cell `850314319331`).
fn string_content(bytes: &[u8], quote: usize, end: usize, closed: bool) -> &[u8] {
    let end = if closed { end - 1 } else { end };
    &bytes[quote + 1..end.max(quote + 1)]
}

/// The key a value here sits under: the pending `"key":`, else (in an
/// array) the array's key.
fn current(stack: &[Frame], pending: Option<usize>) -> Option<usize> {
    pending.or_else(|| stack.last().filter(|f| !f.object).and_then(|f| f.key))
}

/// The column index of each key seen so far, by its raw bytes (and, for
/// keys that are not UTF-8, by their lossily decoded name). Inputs repeat a
/// handful of keys on every line, or hold thousands of distinct ones: a
/// linear search of the column names cost more than the rest of the lexer
/// together. The columns of a JSON input are only ever added here.
///
/// Before any hashing, a key is compared with the two that followed the
/// previous key most recently (JSON Lines repeat their keys in the same
/// order, or alternate between a few kinds of line).
#[derive(Default)]
struct KeyCache<'a> {
    raw: HashMap<&'a [u8], usize, super::FastHash>,
    /// The names of keys that are not UTF-8, decoded lossily. A UTF-8 key
    /// is its own name: an earlier key of that name was either the same
    /// bytes (in `raw`) or one of these.
    lossy: HashMap<String, usize, super::FastHash>,
    /// The raw bytes each column was first seen as, by column index.
    first: Vec<&'a [u8]>,
    /// The columns whose keys came after column `k`'s, the latest first,
    /// at `k + 1` (at 0: after the start); `usize::MAX` for none yet.
    next: Vec<[usize; 2]>,
    /// The previous key's column, plus one (0 at the start).
    last: usize,
    /// A direct-mapped cache in front of `raw`: column + 1 (0: empty) by
    /// [`short_hash`], checked against `first`.
    recent: Vec<usize>,
}

/// Slots of [`KeyCache::recent`] (a power of two).
const RECENT: usize = 4096;

/// A cheap hash of a key's length and its first and last eight bytes.
#[inline]
fn short_hash(raw: &[u8]) -> usize {
    let n = raw.len();
    let (a, b) = if n >= 8 {
        (load8(raw, 0), load8(raw, n - 8))
    } else if n >= 4 {
        (u64::from(load4(raw, 0)), u64::from(load4(raw, n - 4)))
    } else {
        let w = raw.iter().fold(0u64, |w, &c| w << 8 | u64::from(c));
        (w, 0)
    };
    let h = (a ^ b.rotate_left(29) ^ n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - RECENT.trailing_zeros())) as usize & (RECENT - 1)
}

/// Whether two keys are the same bytes: word compares for the usual short
/// keys instead of a `memcmp` call.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 4 {
        return a == b;
    }
    if n < 8 {
        return load4(a, 0) == load4(b, 0) && load4(a, n - 4) == load4(b, n - 4);
    }
    if n <= 16 {
        return load8(a, 0) == load8(b, 0) && load8(a, n - 8) == load8(b, n - 8);
    }
    if n <= 32 {
        return load8(a, 0) == load8(b, 0)
            && load8(a, 8) == load8(b, 8)
            && load8(a, n - 16) == load8(b, n - 16)
            && load8(a, n - 8) == load8(b, n - 8);
    }
    a == b
}

#[inline(always)]
fn load8(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn load4(s: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_le_bytes(w)
}

impl<'a> KeyCache<'a> {
    /// The column of the key `raw`, added when new.
    #[inline(always)]
    fn index(&mut self, cols: &mut Columns, raw: &'a [u8]) -> usize {
        if let Some(&[p, q]) = self.next.get(self.last) {
            if self.first.get(p).is_some_and(|f| same(f, raw)) {
                self.last = p + 1;
                return p;
            }
            if self.first.get(q).is_some_and(|f| same(f, raw)) {
                self.next[self.last] = [q, p];
                self.last = q + 1;
                return q;
            }
        }
        self.index_unpredicted(cols, raw)
    }

    /// [`KeyCache::index`] when the predicted key was not it.
    #[inline(never)]
    fn index_unpredicted(&mut self, cols: &mut Columns, raw: &'a [u8]) -> usize {
        if self.recent.is_empty() {
            self.recent = vec![0; RECENT];
        }
        let slot = short_hash(raw);
        let i = match self.recent[slot].checked_sub(1) {
            Some(c) if same(self.first[c], raw) => c,
            _ => {
                let c = self.lookup(cols, raw);
                if same(self.first[c], raw) {
                    self.recent[slot] = c + 1;
                }
                c
            }
        };
        if self.next.len() <= self.last {
            self.next.resize(self.last + 1, [usize::MAX; 2]);
        }
        let after = &mut self.next[self.last];
        *after = [i, after[0]];
        self.last = i + 1;
        i
    }

    fn lookup(&mut self, cols: &mut Columns, raw: &'a [u8]) -> usize {
        if let Some(&i) = self.raw.get(raw) {
            return i;
        }
        let i = match std::str::from_utf8(raw) {
            Ok(name) => match self.lossy.get(name) {
                Some(&i) => i,
                None => self.add(cols, name, raw),
            },
            Err(_) => {
                let name = String::from_utf8_lossy(raw);
                let known = self.raw.get(name.as_bytes());
                match known.or_else(|| self.lossy.get(name.as_ref())) {
                    Some(&i) => i,
                    None => {
                        let i = self.add(cols, &name, raw);
                        self.lossy.insert(name.into_owned(), i);
                        i
                    }
                }
            }
        };
        self.raw.insert(raw, i);
        i
    }

    /// A new column named `name`, first seen as `raw`.
    fn add(&mut self, cols: &mut Columns, name: &str, raw: &'a [u8]) -> usize {
        cols.cols.push(Column::new(name, None));
        self.first.push(raw);
        cols.cols.len() - 1
    }
}

/// Whether the first byte from `from` on that is not whitespace is `:`.
#[inline]
fn next_is_colon(bytes: &[u8], from: usize) -> bool {
    match bytes.get(from) {
        Some(b':') => true,
        Some(b) if b.is_ascii_whitespace() => next_is_colon_slow(bytes, from + 1),
        _ => false,
    }
}

fn next_is_colon_slow(bytes: &[u8], from: usize) -> bool {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().find(|b| !b.is_ascii_whitespace()))
        == Some(&b':')
}

fn number_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from + 1;
    while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::super::digest;
    use super::*;
    use proptest::strategy::Just;

    fn col<'c>(cols: &'c Columns, name: &str) -> &'c Column {
        cols.cols.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn keys_strings_numbers_arrays() {
        let data = br#"{"people": [{"iin": "850314319331", "name": "A \"q\" 921130474626"},
            {"iin": 50101300018, "tags": ["x"]}], "ids": ["850314319331", "921130474626", "921130474626"]}"#;
        let cols = columns(data, Format::Json);
        assert!(col(&cols, "iin").is_id());
        assert!(col(&cols, "ids").is_id());
        assert!(!col(&cols, "name").is_id());
        let counted = cols.counted_offsets();
        assert_eq!(counted.len(), 4);
        let first = memchr::memmem::find(data, b"850314319331").unwrap() as u64;
        assert!(counted.contains(&first));
    }

    /// The byte-at-a-time definition `string_end` must agree with.
    fn string_end_naive(bytes: &[u8], from: usize) -> (usize, bool) {
        let mut i = from;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return (i + 1, true),
                b'\n' => return (i, false),
                _ => i += 1,
            }
        }
        (bytes.len(), false)
    }

    proptest::proptest! {
        /// Keys of every length up to 40, equal or differing in one byte.
        #[test]
        fn same_is_slice_equality(
            a in proptest::collection::vec(proptest::prop_oneof![Just(b'a'), Just(b'b')], 0..40),
            flip in proptest::option::of(0usize..40),
            extra in proptest::bool::ANY,
        ) {
            let mut b = a.clone();
            if let Some(i) = flip.filter(|&i| i < b.len()) {
                b[i] ^= 3;
            }
            if extra {
                b.push(b'a');
            }
            proptest::prop_assert_eq!(same(&a, &b), a == b);
        }

        #[test]
        fn string_end_agrees_with_bytewise(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'\n'), Just(b'a'), proptest::num::u8::ANY
            ], 0..64),
            from in 0usize..70,
        ) {
            let from = from.min(bytes.len());
            for jsonl in [false, true] {
                let got = Cursor::new(&bytes, jsonl).string_end(from);
                proptest::prop_assert_eq!(got, string_end_naive(&bytes, from));
            }
        }

        #[test]
        fn lexer_agrees_with_bytewise_on_json(doc in json_doc(3), jsonl in proptest::bool::ANY) {
            let format = if jsonl { Format::Jsonl } else { Format::Json };
            proptest::prop_assert_eq!(
                digest(&columns(&doc, format)),
                digest(&columns_bytewise(&doc, format))
            );
        }

        /// JSON Lines where some lines are broken in the ways that end
        /// the structural lexer's run: raw line ends inside strings,
        /// backslashes outside strings, unterminated strings.
        #[test]
        fn lexer_agrees_with_bytewise_on_broken_lines(
            lines in proptest::collection::vec(proptest::prop_oneof![
                json_doc(2),
                json_doc(2),
                proptest::prelude::Just(b"{\"iin\": \"850314319331".to_vec()),
                proptest::prelude::Just(b"{\"a\": \"x\ny\", \"iin\": 921130474626}".to_vec()),
                proptest::prelude::Just(b"\\\"{\"iin\": \"850314319331\"}".to_vec()),
                proptest::prelude::Just(b"[\"a\\\n\", 921130474626, \"\\\\\"]".to_vec()),
                proptest::prelude::Just(b"{\"k\" \n : \"850314319331\"}".to_vec()),
            ], 1..12),
            jsonl in proptest::bool::ANY,
        ) {
            let doc = lines.join(&b'\n');
            let format = if jsonl { Format::Jsonl } else { Format::Json };
            proptest::prop_assert_eq!(
                digest(&columns(&doc, format)),
                digest(&columns_bytewise(&doc, format))
            );
        }

        #[test]
        fn lexer_agrees_with_bytewise_on_garbage(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'\n'), Just(b'{'), Just(b'}'), Just(b'['),
                Just(b']'), Just(b':'), Just(b','), Just(b'-'), Just(b'8'), Just(b' '),
                Just(b'a'), proptest::num::u8::ANY
            ], 0..300),
            jsonl in proptest::bool::ANY,
        ) {
            let format = if jsonl { Format::Jsonl } else { Format::Json };
            proptest::prop_assert_eq!(
                digest(&columns(&bytes, format)),
                digest(&columns_bytewise(&bytes, format))
            );
        }
    }

    /// JSON texts (and JSON Lines, when lines are joined) of nested objects
    /// and arrays, with ID-like numbers and strings, escapes (`\\\"`), and
    /// sometimes truncated.
    fn json_doc(depth: u32) -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let key = prop_oneof![
            Just("iin".to_string()),
            Just("name".to_string()),
            Just("a\\\"b".to_string()),
            Just("ids".to_string()),
            "[a-z]{1,70}",
        ];
        let scalar = prop_oneof![
            Just("\"850314319331\"".to_string()),
            Just("921130474626".to_string()),
            Just("50101300018".to_string()),
            Just("-1.5e+3".to_string()),
            Just("\"x\\\\\\\"850314319331\"".to_string()),
            Just("\"tab\\t \\\\\"".to_string()),
            Just("true".to_string()),
            Just("null".to_string()),
            "[0-9]{1,14}",
            "\"[ -~]{0,80}\"",
        ];
        let leaf = scalar.boxed();
        let value = leaf.prop_recursive(depth, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                proptest::collection::vec((key.clone(), inner), 0..6).prop_map(|v| {
                    let body: Vec<String> = v
                        .into_iter()
                        .map(|(k, x)| format!("\"{k}\" : {x}"))
                        .collect();
                    format!("{{{}}}", body.join(",\n "))
                }),
            ]
        });
        (
            proptest::collection::vec(value, 1..4),
            0usize..4000,
            proptest::bool::ANY,
        )
            .prop_map(|(docs, cut, truncate)| {
                let mut out = docs.join("\n").into_bytes();
                if truncate {
                    out.truncate(cut.min(out.len()));
                }
                out
            })
    }

    /// The lexer as it was before the bitmask cursor: a byte at a time
    /// between tokens, `memchr3` inside strings. The oracle of the proptests.
    fn columns_bytewise(bytes: &[u8], format: Format) -> Columns {
        let mut cols = Columns::new(format);
        let mut keys = KeyCache::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut pending: Option<usize> = None;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    let (end, closed) = string_end_memchr(bytes, i + 1);
                    let content = string_content(bytes, i, end, closed);
                    if next_is_colon(bytes, end) {
                        pending = Some(keys.lookup(&mut cols, content));
                    } else {
                        if let Some(k) = current(&stack, pending) {
                            cols.cols[k].observe(content, At::Byte(i as u64 + 1));
                        }
                        pending = None;
                    }
                    i = end;
                }
                b'{' | b'[' => {
                    let key = current(&stack, pending);
                    stack.push(Frame {
                        object: bytes[i] == b'{',
                        key,
                    });
                    pending = None;
                    i += 1;
                }
                b'}' | b']' => {
                    stack.pop();
                    pending = None;
                    i += 1;
                }
                b'\n' if format == Format::Jsonl => {
                    stack.clear();
                    pending = None;
                    i += 1;
                }
                b'-' | b'0'..=b'9' => {
                    let end = number_end(bytes, i);
                    if let Some(k) = current(&stack, pending) {
                        cols.cols[k].observe(&bytes[i..end], At::Byte(i as u64));
                    }
                    pending = None;
                    i = end;
                }
                _ => i += 1,
            }
        }
        cols
    }

    fn string_end_memchr(bytes: &[u8], from: usize) -> (usize, bool) {
        let mut i = from;
        while let Some(p) = bytes
            .get(i..)
            .and_then(|rest| memchr::memchr3(b'"', b'\\', b'\n', rest))
        {
            let at = i + p;
            match bytes[at] {
                b'\\' => i = at + 2,
                b'"' => return (at + 1, true),
                _ => return (at, false),
            }
        }
        (bytes.len(), false)
    }

    #[test]
    fn keys_are_looked_up_by_bytes_as_by_name() {
        // Two raw keys that decode to the same lossy name share one column,
        // with or without the byte-keyed cache in front.
        let data = b"{\"a\xff\": 1, \"a\xfe\": 2, \"k\": 3}\n{\"k\": 4, \"a\xff\": 5}";
        let cols = columns(data, Format::Jsonl);
        let names: Vec<&str> = cols.cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a\u{fffd}", "k"]);
        assert_eq!(cols.cols[0].nonempty, 3);
        assert_eq!(cols.cols[1].nonempty, 2);
        // A UTF-8 key spelling the replacement character shares the column
        // of the invalid keys it decodes like, before or after them.
        for data in [
            &b"{\"a\xef\xbf\xbd\": 1, \"a\xff\": 2}\n{\"a\xfe\": 3}"[..],
            &b"{\"a\xff\": 1, \"a\xef\xbf\xbd\": 2}\n{\"a\xef\xbf\xbd\": 3}"[..],
        ] {
            let cols = columns(data, Format::Jsonl);
            assert_eq!(cols.cols.len(), 1);
            assert_eq!(cols.cols[0].name, "a\u{fffd}");
            assert_eq!(cols.cols[0].nonempty, 3);
            assert_eq!(
                digest(&cols),
                digest(&columns_bytewise(data, Format::Jsonl))
            );
        }
    }

    #[test]
    fn alternating_lines_keep_their_columns() {
        // Two kinds of line share a first key: the key after it alternates,
        // and a third kind now and then pushes one of them out.
        let mut data = Vec::new();
        for i in 0..60 {
            data.extend_from_slice(match i % 5 {
                0 | 2 => b"{\"ts\": 1, \"iin\": \"850314319331\", \"a\": 2}\n".as_slice(),
                1 | 3 => b"{\"ts\": 1, \"trace\": \"921130474626\", \"b\": 3}\n".as_slice(),
                _ => b"{\"ts\": 1, \"x\": 4, \"iin\": \"050340765602\"}\n".as_slice(),
            });
        }
        let cols = columns(&data, Format::Jsonl);
        assert_eq!(
            digest(&cols),
            digest(&columns_bytewise(&data, Format::Jsonl))
        );
        assert_eq!(col(&cols, "ts").nonempty, 60);
        assert_eq!(col(&cols, "iin").nonempty, 36);
        assert_eq!(col(&cols, "trace").nonempty, 24);
        assert_eq!(col(&cols, "x").nonempty, 12);
    }

    #[test]
    fn a_broken_line_does_not_swallow_the_next_ones() {
        // A raw line end inside a string (invalid JSON) ends the string
        // there (and, as ever, its last byte is not read); a backslash
        // outside a string is skipped. The lines after them are read as
        // usual (by the structural lexer again).
        let mut data = b"{\"note\": \"ab\n\\{\"x\": 2}\n".to_vec();
        for _ in 0..20 {
            data.extend_from_slice(b"{\"iin\": \"850314319331\", \"n\": \"921130474626\"}\n");
        }
        let cols = columns(&data, Format::Jsonl);
        assert_eq!(
            digest(&cols),
            digest(&columns_bytewise(&data, Format::Jsonl))
        );
        assert_eq!(col(&cols, "iin").nonempty, 20);
        assert_eq!(col(&cols, "note").nonempty, 1);
        assert_eq!(col(&cols, "x").nonempty, 1);
        assert_eq!(cols.counted_offsets().len(), 40, "iin and n");
    }

    /// An unterminated string ends at the line end, and everything up to
    /// it is its content: `"850314319331[` is no ID cell (it was read as
    /// `850314319331`, one byte short, while the bound, rightly, saw none),
    /// `"850314319331` is one.
    #[test]
    fn unterminated_strings_keep_their_last_byte() {
        for (data, valid) in [
            (
                &b"{\"iin\":  \"850314319331[\n850314319331850314319331"[..],
                0,
            ),
            (
                &b"{\"iin\": \"850314319331\n{\"iin\": \"850314319331["[..],
                1,
            ),
            (&b"{\"iin\": \"850314319331"[..], 1),
        ] {
            for format in [Format::Json, Format::Jsonl] {
                let cols = columns(data, format);
                assert_eq!(col(&cols, "iin").valid12, valid, "{format:?}");
                assert_eq!(digest(&cols), digest(&columns_bytewise(data, format)));
            }
        }
    }

    #[test]
    fn strings_across_blocks_and_escaped_quotes() {
        let pad = "x".repeat(70);
        let data = format!(
            "{{\"a\": \"{pad}\\\\\", \"iin\": [\"850314319331\", \"{pad}\\\"921130474626\"], \"b\\\"\": 921130474626}}"
        );
        let cols = columns(data.as_bytes(), Format::Json);
        assert_eq!(
            digest(&cols),
            digest(&columns_bytewise(data.as_bytes(), Format::Json))
        );
        assert_eq!(col(&cols, "iin").nonempty, 2);
        assert_eq!(col(&cols, "b\\\"").nonempty, 1);
    }

    #[test]
    fn jsonl_lines_reset_and_garbage_does_not_panic() {
        let data = b"{\"iin\": \"850314319331\"\n{\"x\": 921130474626}\n\"\\\n{]]}}[[\"";
        let cols = columns(data, Format::Jsonl);
        assert!(col(&cols, "iin").is_id());
        assert!(!col(&cols, "x").is_id());
    }
}
