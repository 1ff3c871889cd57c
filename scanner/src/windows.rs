//! Feeding an input to the engine in overlapping windows, from a slice or a reader.
//!
//! Both paths cut the input the same way: owned parts of `chunk` bytes with
//! [`OVERLAP`] bytes of context on each side. The engine reports a finding
//! only from the window that owns its first byte, so the result does not
//! depend on the chunk size or on which path read the bytes; a test checks
//! that for chunk sizes 1, 7 and 4096.

use std::io::{self, Read};
use std::sync::Arc;

use shekara_detectors::digits::RunList;
use shekara_detectors::{Engine, Haystack, RawFinding, Scratch, OVERLAP};

/// The default owned size of a window.
pub const WINDOW: usize = 256 * 1024;

/// A finding with its line and column worked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The detector's finding.
    pub raw: RawFinding,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters (see [`chars`]).
    pub column: u64,
}

thread_local! {
    /// An emptied list of findings, kept by the thread that made it.
    static SPARE: std::cell::RefCell<Vec<Located>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Lists kept for reuse hold at most this many findings (≈ 7 MB).
const SPARE_MAX: usize = 1 << 16;

/// An empty list of findings: the one this thread gave back last
/// ([`give_back_located`]), with its room, else a new one. A file's list
/// grows by doubling, each step a fresh allocation, and in a file with
/// thousands of findings, fresh pages to fault in; reused, it grows once
/// per thread.
pub fn take_located() -> Vec<Located> {
    SPARE.with(|s| {
        s.try_borrow_mut()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    })
}

/// Gives an emptied list back for [`take_located`] on this thread (kept when
/// it has more room than the one kept, up to [`SPARE_MAX`]).
pub fn give_back_located(mut list: Vec<Located>) {
    list.clear();
    if list.capacity() > SPARE_MAX {
        return;
    }
    SPARE.with(|s| {
        if let Ok(mut kept) = s.try_borrow_mut() {
            if list.capacity() > kept.capacity() {
                *kept = list;
            }
        }
    });
}

/// Running line count over the owned parts of consecutive windows.
#[derive(Debug, Default)]
struct Lines {
    newlines: u64,
    last_newline: Option<u64>,
    /// Characters since the last newline (or the start).
    chars: u64,
}

impl Lines {
    /// Advances over `bytes` (which start at absolute offset `base`).
    fn advance(&mut self, bytes: &[u8], base: u64) {
        self.newlines += bytecount::count(bytes, b'\n') as u64;
        match memrchr(bytes) {
            Some(p) => {
                self.last_newline = Some(base + p as u64);
                self.chars = chars(&bytes[p + 1..]);
            }
            None => self.chars += chars(bytes),
        }
    }

    /// Line and column of the offset advanced to.
    fn locate(&self) -> (u64, u64) {
        (self.newlines + 1, self.chars + 1)
    }
}

/// Characters in `bytes`: Unicode code points of UTF-8 text, counted as
/// the bytes that do not continue a character (a stray byte counts as one;
/// a stray continuation byte as none). Additive over any split of the
/// bytes, so a count carried across windows is exact.
pub fn chars(bytes: &[u8]) -> u64 {
    bytecount::num_chars(bytes) as u64
}

/// 1-based line and column (in characters, see [`chars`]) of `at` in `bytes`.
pub fn line_col(bytes: &[u8], at: usize) -> (u64, u64) {
    let at = at.min(bytes.len());
    let before = &bytes[..at];
    let line = bytecount::count(before, b'\n') as u64 + 1;
    let start = memrchr(before).map_or(0, |p| p + 1);
    (line, chars(&before[start..]) + 1)
}

fn memrchr(bytes: &[u8]) -> Option<usize> {
    memchr::memrchr(b'\n', bytes)
}

/// Scans one input window by window, collecting located findings.
pub struct InputScan<'e> {
    engine: &'e Engine,
    path: &'e str,
    scratch: Scratch,
    found: Vec<RawFinding>,
    lines: Lines,
    /// Whether [`InputScan::line_totals`] will be asked for: else the bytes
    /// after the last finding of the last window are not counted.
    totals: bool,
    out: Vec<Located>,
    /// Inline ignores settled from the windows (see [`InputScan::settle_inline`]).
    inline: Option<Settled>,
    /// Whether the window being scanned ends where the input ends.
    at_end: bool,
    /// Inline ignores settled against the whole in-memory input (see
    /// [`InputScan::settle_in_memory`]), not the window.
    in_memory: bool,
}

/// Inline ignores of a streamed input, settled window by window.
#[derive(Debug)]
struct Settled {
    /// False once a finding's lines reach past its window.
    complete: bool,
    /// The suppressed findings.
    hits: Vec<Hit>,
}

/// A finding suppressed by an inline comment: (offset, rule, reason).
pub type Hit = (u64, String, String);

/// The inline ignores of `located` (index among them, reason) from the
/// [`Hit`]s of the scans that found them.
pub fn inline_of(located: &[Located], hits: &[Hit]) -> crate::cache::Inline {
    inline_of_keys(
        located
            .iter()
            .map(|l| Some((l.raw.span.start, &*l.raw.rule))),
        hits,
    )
}

/// The inline ignores (index, reason) of a list whose items are at `keys`
/// (offset, rule; `None`: never suppressed inline), from [`Hit`]s.
pub fn inline_of_keys<'k>(
    keys: impl Iterator<Item = Option<(u64, &'k str)>>,
    hits: &[Hit],
) -> crate::cache::Inline {
    if hits.is_empty() {
        return Vec::new();
    }
    // Sorted once and searched: a file of thousands of ignored findings
    // (a fixture) costs n log n here, not n².
    let mut sorted: Vec<&Hit> = hits.iter().collect();
    sorted.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    keys.enumerate()
        .filter_map(|(i, key)| {
            let (at, rule) = key?;
            let k = sorted
                .binary_search_by(|h| (h.0, h.1.as_str()).cmp(&(at, rule)))
                .ok()?;
            Some((i, sorted[k].2.clone()))
        })
        .collect()
}

impl<'e> InputScan<'e> {
    /// Starts scanning the input at `path` (used by path-aware detectors).
    pub fn new(engine: &'e Engine, path: &'e str) -> InputScan<'e> {
        InputScan {
            engine,
            path,
            scratch: Scratch::default(),
            found: Vec::new(),
            lines: Lines::default(),
            totals: false,
            out: take_located(),
            inline: None,
            at_end: false,
            in_memory: false,
        }
    }

    /// Settles the inline ignores of the findings of [`InputScan::reader`]
    /// while each window is at hand (see [`crate::suppress::inline_in_window`]),
    /// so that a streamed file need not be read back after the scan; the
    /// answer is given by [`InputScan::finish_settled`].
    pub fn settle_inline(&mut self) {
        self.inline = Some(Settled {
            complete: true,
            hits: Vec::new(),
        });
    }

    /// Settles the inline ignores of the findings of [`InputScan::slice`],
    /// [`InputScan::slice_range`] and [`InputScan::whole_file`] right after
    /// each window's pass, against the whole input they are given (the
    /// file's bytes), while the window is in cache: the answers are those
    /// of [`crate::suppress::inline_from`] over the whole input, at a
    /// fraction of the cost of reading each finding's lines back cold after
    /// the scan (1 GiB corpus, 1 thread: ≈ 430 → ≈ 80 ns a finding). The
    /// answer is given by [`InputScan::finish_hits`].
    pub fn settle_in_memory(&mut self) {
        self.settle_inline();
        self.in_memory = true;
    }

    /// This scan, with the 12-digit runs of the input as another pass over
    /// it recorded them (see [`Scratch::with_runs`]); `None`: none known.
    /// Only for [`InputScan::slice`] and [`InputScan::slice_range`], whose
    /// windows are cut from that input.
    pub fn with_runs(mut self, runs: Option<Arc<RunList>>) -> InputScan<'e> {
        if let Some(runs) = runs {
            self.scratch = Scratch::with_runs(runs);
        }
        self
    }

    /// This scan, counting lines to the end of the input for
    /// [`InputScan::line_totals`].
    pub fn with_totals(mut self) -> InputScan<'e> {
        self.totals = true;
        self
    }

    /// Scans one window: `bytes` start at absolute `base`; `owned` is
    /// relative; `last` says no window follows (its bytes after the last
    /// finding need no line count, unless the totals are asked for).
    fn window(&mut self, bytes: &[u8], owned: std::ops::Range<usize>, base: u64, last: bool) {
        let hay = Haystack {
            bytes,
            owned: owned.clone(),
            base,
            path: self.path,
        };
        self.found.clear();
        self.engine
            .scan_with(&hay, &mut self.scratch, &mut self.found);
        if let Some(s) = self
            .inline
            .as_mut()
            .filter(|s| s.complete && !self.in_memory)
        {
            for raw in &self.found {
                let at = (raw.span.start - base) as usize;
                match crate::suppress::inline_in_window(bytes, base, at, self.at_end, &raw.rule) {
                    Some(None) => {}
                    Some(Some(why)) => s.hits.push((raw.span.start, raw.rule.to_string(), why)),
                    None => {
                        s.complete = false;
                        break;
                    }
                }
            }
        }
        let mut cursor = owned.start;
        for raw in self.found.drain(..) {
            let rel = (raw.span.start - base) as usize;
            self.lines
                .advance(&bytes[cursor..rel], base + cursor as u64);
            cursor = rel;
            let (line, column) = self.lines.locate();
            self.out.push(Located { raw, line, column });
        }
        if !last || self.totals {
            self.lines
                .advance(&bytes[cursor..owned.end], base + cursor as u64);
        }
    }

    /// Scans a whole in-memory input in windows of `chunk` owned bytes.
    pub fn slice(&mut self, bytes: &[u8], chunk: usize) {
        self.slice_range(bytes, 0..bytes.len(), chunk);
    }

    /// Scans the part `range` of an in-memory input (context is taken from
    /// outside it) in windows of `chunk` owned bytes. Line numbers count from
    /// the start of `range`.
    pub fn slice_range(&mut self, bytes: &[u8], range: std::ops::Range<usize>, chunk: usize) {
        let chunk = chunk.max(1);
        let mut start = range.start;
        loop {
            let end = (start + chunk).min(range.end);
            let lo = start.saturating_sub(OVERLAP);
            let hi = (end + OVERLAP).min(bytes.len());
            let before = self.out.len();
            self.window(
                &bytes[lo..hi],
                start - lo..end - lo,
                lo as u64,
                end >= range.end,
            );
            self.settle_from(bytes, before);
            if end >= range.end {
                break;
            }
            start = end;
        }
    }

    /// Scans up to `limit` bytes from `reader` in windows of `chunk` owned
    /// bytes, reusing `buf`. Returns the number of bytes read.
    ///
    /// # Errors
    /// A read error, with the number of bytes read before it; those bytes
    /// have been scanned, and [`InputScan::finish`] gives their findings.
    pub fn reader(
        &mut self,
        reader: &mut dyn Read,
        limit: u64,
        chunk: usize,
        buf: &mut Vec<u8>,
    ) -> Result<u64, (io::Error, u64)> {
        let chunk = chunk.max(1);
        let mut reader = reader.take(limit);
        let size = chunk + 3 * OVERLAP;
        if buf.len() < size {
            // Zeroed once per thread, not per read.
            buf.resize(size, 0);
        }
        let (mut base, mut owned_start, mut len) = (0u64, 0usize, 0usize);
        loop {
            let want = owned_start + chunk + OVERLAP;
            let eof = fill(&mut reader, &mut buf[..want], &mut len)
                .map_err(|e| (e, base + len as u64))?;
            let owned_end = if eof { len } else { len - OVERLAP };
            self.at_end = eof;
            self.window(&buf[..len], owned_start..owned_end, base, eof);
            if eof {
                return Ok(base + len as u64);
            }
            let keep_from = owned_end.saturating_sub(OVERLAP);
            buf.copy_within(keep_from..len, 0);
            len -= keep_from;
            base += keep_from as u64;
            owned_start = owned_end - keep_from;
        }
    }

    /// Findings also found by whole-file detectors over `bytes` (the entire input).
    pub fn whole_file(&mut self, bytes: &[u8]) {
        let hay = Haystack::whole(bytes, self.path);
        let mut found = Vec::new();
        self.engine.scan_whole_file(&hay, &mut found);
        let before = self.out.len();
        for raw in found {
            let (line, column) = line_col(bytes, raw.span.start as usize);
            self.out.push(Located { raw, line, column });
        }
        self.settle_from(bytes, before);
    }

    /// Settles the inline ignores of the findings from `out[from..]` against
    /// `bytes`, the whole input, when [`InputScan::settle_in_memory`] asked
    /// for it. Where they are dense, one search for the marker around them
    /// first (as [`crate::suppress::inline_from`] does over a whole input).
    fn settle_from(&mut self, bytes: &[u8], from: usize) {
        let Some(s) = self.inline.as_mut().filter(|_| self.in_memory) else {
            return;
        };
        let new = &self.out[from..];
        let offset = |l: &Located| usize::try_from(l.raw.span.start).unwrap_or(usize::MAX);
        // A window's findings come in order; a whole-file detector's may not.
        let (Some(first), Some(last)) =
            (new.iter().map(offset).min(), new.iter().map(offset).max())
        else {
            return;
        };
        let dense = crate::suppress::dense(new.len(), first, last);
        if dense && crate::suppress::no_marker_around(bytes, first, last) {
            return;
        }
        for l in new {
            if let Some(why) = crate::suppress::inline_around(bytes, offset(l), &l.raw.rule) {
                s.hits.push((l.raw.span.start, l.raw.rule.to_string(), why));
            }
        }
    }

    /// Newlines counted so far, the offset of the last one, and the
    /// characters after it (or since the start when there is none); to the
    /// end of the input only for a scan made [`InputScan::with_totals`].
    pub fn line_totals(&self) -> (u64, Option<u64>, u64) {
        debug_assert!(self.totals, "line totals of a scan made without them");
        (
            self.lines.newlines,
            self.lines.last_newline,
            self.lines.chars,
        )
    }

    /// The findings, ordered by offset then rule.
    pub fn finish(mut self) -> Vec<Located> {
        order(&mut self.out);
        self.out
    }

    /// [`InputScan::finish`], and the inline ignores found by
    /// [`InputScan::settle_in_memory`] as (offset, rule, reason); `None`
    /// when it was not asked for.
    pub fn finish_hits(mut self) -> (Vec<Located>, Option<Vec<Hit>>) {
        order(&mut self.out);
        let hits = self.inline.filter(|s| s.complete).map(|s| s.hits);
        (self.out, hits)
    }

    /// [`InputScan::finish`], and the findings' inline ignores (index among
    /// them, reason) when [`InputScan::settle_inline`] was asked for and
    /// every finding's lines were inside its window; `None` otherwise.
    pub fn finish_settled(mut self) -> (Vec<Located>, Option<crate::cache::Inline>) {
        order(&mut self.out);
        let inline = self
            .inline
            .filter(|s| s.complete)
            .map(|s| inline_of(&self.out, &s.hits));
        (self.out, inline)
    }
}

/// Orders findings by offset, rule and end (stable), dropping repeats of
/// one finding (a whole-file detector and the window pass may both see it).
pub fn order(located: &mut Vec<Located>) {
    located.sort_by(|a, b| {
        (a.raw.span.start, &a.raw.rule, a.raw.span.end).cmp(&(
            b.raw.span.start,
            &b.raw.rule,
            b.raw.span.end,
        ))
    });
    located.dedup_by(|a, b| a.raw == b.raw);
}

/// Reads up to `limit` bytes of `reader` into the start of `buf` and returns
/// how many it read: the input is `buf[..n]`.
///
/// `buf` is a buffer reused from file to file, and its length says how much
/// of it is initialised: it is never shortened below what was read, so the
/// next user ([`InputScan::reader`] needs a window's worth) does not zero
/// it again. A longer input than any before is read past the length with
/// `read_to_end` (which reads a file into spare capacity without zeroing it).
///
/// # Errors
/// A read error (`Interrupted` is retried).
pub fn read_whole(reader: &mut dyn Read, limit: u64, buf: &mut Vec<u8>) -> io::Result<usize> {
    let want = usize::try_from(limit).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    if buf.len() < want {
        if buf.capacity() < want {
            // A fresh allocation: growing would copy the old bytes over.
            *buf = Vec::new();
        }
        buf.clear();
        buf.try_reserve(want)
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        reader.take(limit).read_to_end(buf)?;
        return Ok(buf.len());
    }
    let mut n = 0;
    fill(reader, &mut buf[..want], &mut n)?;
    Ok(n)
}

/// Reads into `buf[*len..]` until it is full or the reader ends; true at the end.
fn fill(reader: &mut dyn Read, buf: &mut [u8], len: &mut usize) -> io::Result<bool> {
    while *len < buf.len() {
        match reader.read(&mut buf[*len..]) {
            Ok(0) => return Ok(true),
            Ok(n) => *len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_slice(engine: &Engine, data: &[u8], chunk: usize) -> Vec<Located> {
        let mut s = InputScan::new(engine, "t.txt");
        s.slice(data, chunk);
        s.finish()
    }

    fn by_reader(engine: &Engine, data: &[u8], chunk: usize) -> Vec<Located> {
        let mut s = InputScan::new(engine, "t.txt");
        let mut buf = Vec::new();
        let n = s.reader(&mut &data[..], u64::MAX, chunk, &mut buf).unwrap();
        assert_eq!(n, data.len() as u64);
        s.finish()
    }

    fn sample() -> Vec<u8> {
        let mut data = Vec::new();
        for i in 0..300 {
            data.extend_from_slice(format!("line {i} ИИН 850314319331 x\n").as_bytes());
            data.extend_from_slice(b"bad 850314319332 and 0850314319331\n");
            if i % 7 == 0 {
                data.extend_from_slice(b"BIN:050340765602;");
            }
        }
        data
    }

    #[test]
    fn every_read_path_gives_the_same_answer() {
        let engine = Engine::builtin();
        let data = sample();
        let reference = by_slice(&engine, &data, data.len());
        assert_eq!(
            reference
                .iter()
                .filter(|l| l.raw.kind.as_str() == "iin")
                .count(),
            300
        );
        for chunk in [1, 7, 4096, WINDOW] {
            assert_eq!(
                by_slice(&engine, &data, chunk),
                reference,
                "slice, chunk {chunk}"
            );
            assert_eq!(
                by_reader(&engine, &data, chunk),
                reference,
                "reader, chunk {chunk}"
            );
        }
    }

    #[test]
    fn lines_and_columns() {
        let engine = Engine::builtin();
        let data = b"a\nbb\nIIN 850314319331\n\n  921130474626";
        for chunk in [1, 3, 100] {
            let got = by_reader(&engine, data, chunk);
            let pos: Vec<_> = got.iter().map(|l| (l.line, l.column)).collect();
            assert_eq!(pos, vec![(3, 5), (5, 3)], "chunk {chunk}");
        }
        // Columns count characters, not bytes: Cyrillic takes two bytes each.
        let data = "ЖСН\nИИН: 850314319331 және 921130474626\n".as_bytes();
        for chunk in [1, 3, 100] {
            let got = by_reader(&engine, data, chunk);
            let pos: Vec<_> = got.iter().map(|l| (l.line, l.column)).collect();
            assert_eq!(pos, vec![(2, 6), (2, 24)], "chunk {chunk}");
        }
        let at = data.len() - 13;
        assert_eq!(line_col(data, at), (2, 24));
        assert_eq!(chars("ж\u{1F600}a".as_bytes()), 3);
        assert_eq!(
            chars(b"\xff\x80a"),
            2,
            "a stray continuation byte counts as none"
        );
    }

    #[test]
    fn read_whole_keeps_the_buffer_long() {
        let mut buf = vec![7u8; 10];
        let n = read_whole(&mut &b"abcdefghijklmnop"[..], 100, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"abcdefghijklmnop");
        assert_eq!(buf.len(), 16, "longer than before: read to its end");
        let n = read_whole(&mut &b"0123456789"[..], 4, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"0123");
        assert_eq!(buf.len(), 16, "never shortened");
        let n = read_whole(&mut &b"xyz"[..], 16, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"xyz");
        assert_eq!(&buf[n..], b"3efghijklmnop", "bytes past the input stay");
    }

    /// The inline ignores settled from a stream's windows, for each cut of
    /// the windows: whenever they are settled, the answers are those a
    /// read-back of the file after the scan gives.
    #[test]
    fn inline_ignores_settled_from_windows_agree_with_the_read_back() {
        let engine = Engine::builtin();
        let long = "x".repeat(5000);
        let mut short = String::from("850314319331 at the start\n");
        for i in 0..600 {
            match i % 10 {
                0 => short.push_str("# shekara:ignore\n"),
                3 => short.push_str("x 850314319331 // shekara:ignore kz.iin\n"),
                5 => short.push_str("y = 050340765602 # shekara:ignore kz.iin,kz.bin\n"),
                _ => {}
            }
            short.push_str(&format!("row {i} ИИН 850314319331 BIN 050340765602\n"));
        }
        // A line longer than a window's context before a finding; lines
        // longer than a read-back holds before a finding (it sees the
        // marker right before the finding, not the one at the line's
        // start); a last line with no newline.
        let mid = "m".repeat(2000);
        let clipped = format!(
            "{short}# shekara:ignore {mid} 850314319331\n{long} shekara:ignore 850314319331\nshekara:ignore {long} 921130474626 end"
        );
        // A line going on past what a read-back holds after a finding.
        let far = format!("{short}z 850314319331 {long} shekara:ignore\n{short}");
        let dir = tempfile::tempdir().unwrap();
        let mut settled = Vec::new();
        for (name, text) in [("short", &short), ("clipped", &clipped), ("far", &far)] {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            for chunk in [7, 100, 1000, 4096, 9000, WINDOW] {
                let mut s = InputScan::new(&engine, "t.txt");
                s.settle_inline();
                let mut buf = Vec::new();
                s.reader(&mut text.as_bytes(), u64::MAX, chunk, &mut buf)
                    .unwrap();
                let (located, inline) = s.finish_settled();
                assert_eq!(located, by_slice(&engine, text.as_bytes(), WINDOW));
                let Some(inline) = inline else {
                    assert_ne!(name, "short", "short lines settle (chunk {chunk})");
                    continue;
                };
                settled.push((name, chunk));
                let findings: Vec<_> = located
                    .iter()
                    .map(|l| {
                        let mut f = crate::model::Finding::sample(l.raw.kind, name);
                        f.rule.clone_from(&l.raw.rule);
                        f.location.byte_offset = l.raw.span.start;
                        f
                    })
                    .collect();
                let read_back: crate::cache::Inline =
                    crate::suppress::inline(&findings, |_| Some(p.clone()))
                        .into_iter()
                        .map(|s| (s.finding, s.reason.unwrap_or_default()))
                        .collect();
                assert!(read_back.len() > 100, "{}", read_back.len());
                assert_eq!(inline, read_back, "{name}, chunk {chunk}");
            }
        }
        assert_eq!(settled.iter().filter(|(n, _)| *n == "short").count(), 6);
        assert!(settled.contains(&("clipped", WINDOW)), "{settled:?}");
        assert!(settled.iter().all(|(n, _)| *n != "far"), "{settled:?}");
        // Lines cut by the window's edge are not settled from it.
        let mut s = InputScan::new(&engine, "t.txt");
        s.settle_inline();
        s.reader(&mut far.as_bytes(), u64::MAX, WINDOW, &mut Vec::new())
            .unwrap();
        assert_eq!(s.finish_settled().1, None);
    }

    /// Settled against the whole in-memory input, every finding's answer is
    /// the one [`crate::suppress::inline_from`] gives over the input after
    /// the scan: lines cut by windows, long lines, the input's last line,
    /// dense and sparse findings, whole-file detectors' findings, windows
    /// of a part of the input.
    #[test]
    fn inline_ignores_settled_in_memory_agree_with_the_whole_input() {
        let engine = Engine::builtin();
        let long = "x".repeat(5000);
        let mut dense = String::new();
        for i in 0..300 {
            if i % 7 == 0 {
                dense.push_str("# shekara:ignore\n");
            }
            dense.push_str(&format!("{i} 850314319331 s3://b-{i}.s3.amazonaws.com\n"));
        }
        let sparse = format!(
            "{long}\n850314319331 # shekara:ignore kz.iin\n{long}\n{long} 921130474626\n# shekara:ignore\n{long} 050340765602 end"
        );
        let code = format!("import face_recognition  # shekara:ignore\n{dense}");
        let reference = |bytes: &[u8], located: &[Located]| {
            let items = located.iter().enumerate();
            crate::suppress::inline_from(
                bytes,
                items.map(|(i, l)| (i, l.raw.span.start, &*l.raw.rule)),
            )
        };
        let mut hits = 0;
        for (path, text) in [("d.txt", &dense), ("s.txt", &sparse), ("face.py", &code)] {
            let bytes = text.as_bytes();
            for chunk in [7, 100, 4096, WINDOW] {
                let mut s = InputScan::new(&engine, path);
                s.settle_in_memory();
                s.slice(bytes, chunk);
                s.whole_file(bytes);
                let (located, found) = s.finish_hits();
                let inline = inline_of(&located, &found.unwrap());
                assert_eq!(inline, reference(bytes, &located), "{path}, chunk {chunk}");
                hits += inline.len();
                // A part of the input, as a segment is scanned.
                let cut = bytes.len() / 3;
                let mut s = InputScan::new(&engine, path);
                s.settle_in_memory();
                s.slice_range(bytes, cut..bytes.len(), chunk);
                let (located, found) = s.finish_hits();
                let inline = inline_of(&located, &found.unwrap());
                assert_eq!(
                    inline,
                    reference(bytes, &located),
                    "{path}, part, chunk {chunk}"
                );
            }
        }
        assert!(hits > 400, "{hits}");
        // Not asked for: no answer.
        let mut s = InputScan::new(&engine, "d.txt");
        s.slice(dense.as_bytes(), WINDOW);
        assert_eq!(s.finish_hits().1, None);
    }

    #[test]
    fn line_totals_count_to_the_end_when_asked() {
        let engine = Engine::builtin();
        let data = "ИИН 850314319331\nx\nпосле\nend".as_bytes();
        for chunk in [3, 7, data.len()] {
            let mut s = InputScan::new(&engine, "t").with_totals();
            s.slice(data, chunk);
            let last = data.iter().rposition(|&b| b == b'\n').unwrap() as u64;
            assert_eq!(s.line_totals(), (3, Some(last), 3), "chunk {chunk}");
            assert_eq!(s.finish().len(), 1);
        }
    }

    #[test]
    fn reader_respects_limit() {
        let engine = Engine::builtin();
        let data = b"850314319331 921130474626";
        let mut s = InputScan::new(&engine, "t");
        let mut buf = Vec::new();
        assert_eq!(s.reader(&mut &data[..], 12, 5, &mut buf).unwrap(), 12);
        assert_eq!(s.finish().len(), 1);
    }
}
