//! CSV/TSV: header-aware, ID columns aggregated (see [`super`]).
//!
//! The first record is the header unless one of its cells is a valid
//! 12-digit IIN/BIN (then columns are named `#1`, `#2`, …). The delimiter is
//! a tab for `.tsv`/`.tab`, else whichever of `,` `;` `|` `\t` occurs most in
//! the first line. Records may have any number of fields; quoted fields may
//! span lines.

use std::borrow::Cow;

use memchr::memmem;

use super::bits::{eq_masks, prefix_xor, with_block, BLOCK};
use super::{Column, Columns, Format};

/// The columns of a CSV input, with every cell observed.
///
/// Records are split as the `csv` crate does by default (RFC 4180 quoting
/// with `""` escapes, a quote only opens a field at its first byte, `\r`,
/// `\n` and `\r\n` end records, blank lines are skipped, records may have
/// any number of fields). The cells are slices of `bytes`, so the offset of
/// a counted cell is exact.
///
/// The splitter walks 64-byte blocks with bitmasks of the quote, the
/// delimiter and the line ends, and knows which separators are inside quotes
/// from the running parity of the quotes. That is right as long as every
/// quote opens a field, closes it or is one of a `""` pair; a stray quote
/// (`ab"c`, `"a"b"c`) is noticed at its cell, and the input is then split
/// again from the start by a byte-at-a-time state machine with the `csv`
/// crate's exact rules.
///
/// Always `Some`: every input splits into records.
pub fn columns(bytes: &[u8], format: Format) -> Option<Columns> {
    let delimiter = if format == Format::Tsv {
        b'\t'
    } else {
        guess_delimiter(bytes)
    };
    let mut cols = Builder::new(format);
    if split_fast(bytes, delimiter, &mut cols).is_err() {
        cols = Builder::new(format);
        split_exact(bytes, delimiter, &mut cols);
    }
    Some(cols.cols)
}

/// The delimiter [`columns`] splits this input at.
pub fn delimiter(bytes: &[u8], format: Format) -> u8 {
    if format == Format::Tsv {
        b'\t'
    } else {
        guess_delimiter(bytes)
    }
}

/// The columns of one part of a CSV input, for reading a large input in
/// parallel parts (see `super::csv_columns`): `part` starts at a record
/// boundary outside quotes; `first` says whether it holds the input's first
/// record (a header, or data). A later part's columns are named `#1`, `#2`,
/// … by position. `None` at a stray quote: only [`columns`] reads such an
/// input right, from its start.
pub fn part_columns(part: &[u8], format: Format, delimiter: u8, first: bool) -> Option<Columns> {
    let mut cols = Builder {
        cols: Columns::new(format),
        first: first.then(Vec::new),
    };
    split_fast(part, delimiter, &mut cols).ok()?;
    Some(cols.cols)
}

/// Whether reading the columns of this CSV input can find an ID column
/// that counts a cell; `false` only when it provably cannot, so the
/// splitter is skipped.
///
/// An ID column has a name that says so, or at least 3 valid ID cells that
/// are at least half of its non-empty cells (see [`super::Column::is_id`]),
/// and every ID cell is a candidate run of `may_hold_id_cells`. In
/// an input without a quote a record is a line (ended by `\r` or `\n`) and
/// its fields are what lies between delimiters, so a run's column is the
/// number of delimiters before it on its line. Per column, the runs bound
/// its ID cells from above, and its non-empty fields on the lines after the
/// first bound its non-empty cells from below: counted only until they
/// exceed twice the runs (a few hundred lines where IDs are rare). A quote
/// anywhere (records may span lines), a name on the first line that says
/// IIN/BIN, or a run past column [`MAX_COLUMN`] means yes whenever a
/// candidate run exists at all.
///
/// The 12-digit runs of its digit pass are recorded in `twelves` (see
/// `super::id_runs`).
pub(crate) fn may_have_id_column(
    bytes: &[u8],
    format: Format,
    twelves: &mut super::DigitPass,
) -> bool {
    let delimiter = delimiter(bytes, format);
    let runs = match candidate_runs(bytes, delimiter, twelves) {
        Runs::Columns(runs) => runs,
        Runs::Quoted { any } => return any,
        Runs::PastLastColumn => return true,
    };
    if runs.iter().all(|&n| n == 0) {
        return false;
    }
    if first_line_names_an_id(bytes, delimiter) {
        return true;
    }
    // Columns with 3 runs or more, and how many non-empty cells rule them out.
    let wanted: Vec<(usize, usize)> = runs
        .iter()
        .enumerate()
        .filter(|&(_, &n)| n >= 3)
        .map(|(j, &n)| (j, 2 * n + 1))
        .collect();
    !wanted.is_empty() && !nonempty_at_least(bytes, delimiter, &wanted)
}

/// What the bound's digit pass over a CSV input found.
#[derive(Debug, PartialEq, Eq)]
enum Runs {
    /// No quote: per column, how many runs may be an ID cell.
    Columns(Vec<usize>),
    /// A quote: whether there is a candidate run at all.
    Quoted { any: bool },
    /// A run past [`MAX_COLUMN`].
    PastLastColumn,
}

/// Per column, how many digit runs of a quote-free input may be an ID cell
/// (see [`may_have_id_column`]): maximal runs of 9–12 digits that pass
/// [`super::is_id_run`], each given its column (the delimiters before it on
/// its line), counted on from the last one's. The 12-digit runs are
/// recorded in `twelves`.
///
/// The quote test rides along: before each run, the bytes since the last
/// one are searched for a quote while the digit pass has them in cache
/// (searched on their own first, they were a cold pass over every CSV
/// byte: ≈ 1 % of the benchmark's run at 1 thread). A quote before a run
/// ends the pass (a candidate run exists); a quote after the last run is
/// found by searching what is left.
fn candidate_runs(bytes: &[u8], delimiter: u8, twelves: &mut super::DigitPass) -> Runs {
    use std::ops::ControlFlow::{Break, Continue};
    let mut runs: Vec<usize> = Vec::new();
    // The last run given a column: where it starts, and its column.
    let (mut at, mut col) = (0usize, 0usize);
    // No quote before this offset.
    let mut clear = 0usize;
    let mut quoted = false;
    let flow = super::id_runs(bytes, twelves, false, |s| {
        if memchr::memchr(b'"', &bytes[clear..s]).is_some() {
            quoted = true;
            return Break(());
        }
        clear = s;
        let gap = &bytes[at..s];
        col = match memchr::memrchr2(b'\n', b'\r', gap) {
            Some(p) => bytecount::count(&gap[p + 1..], delimiter),
            None => col + bytecount::count(gap, delimiter),
        };
        at = s;
        if col >= MAX_COLUMN {
            return Break(());
        }
        if runs.len() <= col {
            runs.resize(col + 1, 0);
        }
        runs[col] += 1;
        Continue(())
    });
    if quoted {
        return Runs::Quoted { any: true };
    }
    if flow.is_break() {
        return Runs::PastLastColumn;
    }
    if memchr::memchr(b'"', &bytes[clear..]).is_some() {
        return Runs::Quoted {
            any: runs.iter().any(|&n| n > 0),
        };
    }
    Runs::Columns(runs)
}

/// Columns past this one are not bounded: [`may_have_id_column`] says yes.
const MAX_COLUMN: usize = 1024;

/// Whether a field of the first non-blank line, trimmed, says IIN/BIN as a
/// header name would ([`super::id_header`]).
fn first_line_names_an_id(bytes: &[u8], delimiter: u8) -> bool {
    let Some(start) = bytes.iter().position(|&b| b != b'\n' && b != b'\r') else {
        return false;
    };
    let end = memchr::memchr2(b'\n', b'\r', &bytes[start..]).map_or(bytes.len(), |p| start + p);
    bytes[start..end]
        .split(|&b| b == delimiter)
        .any(|field| super::id_header(&String::from_utf8_lossy(super::trimmed(field).0)))
}

/// Whether, in an input without quotes, each column `j` of `wanted` has at
/// least `n` non-empty fields on the lines after the first non-blank one.
/// Gives up (`false`) where the lines read so far, projected over the
/// input, are too few to get there: the reader then decides.
fn nonempty_at_least(bytes: &[u8], delimiter: u8, wanted: &[(usize, usize)]) -> bool {
    let Some(&(last, _)) = wanted.last() else {
        return true;
    };
    let mut have = vec![0usize; last + 1];
    let mut missing = wanted.len();
    let (mut start, mut lines, mut first) = (0usize, 0usize, true);
    let ends = memchr::memchr2_iter(b'\n', b'\r', bytes).chain(std::iter::once(bytes.len()));
    for end in ends {
        let line = &bytes[start..end];
        start = end + 1;
        if line.is_empty() {
            continue;
        }
        if std::mem::take(&mut first) {
            continue;
        }
        for (j, field) in line.split(|&b| b == delimiter).take(last + 1).enumerate() {
            if super::trimmed(field).0.is_empty() {
                continue;
            }
            have[j] += 1;
            if let Some(&(_, n)) = wanted.iter().find(|&&(k, _)| k == j) {
                if have[j] == n {
                    missing -= 1;
                    if missing == 0 {
                        return true;
                    }
                }
            }
        }
        lines += 1;
        if lines % 256 == 0 {
            // Lines at this rate over the whole input, with a margin: if the
            // cells wanted are more, even full columns would not get there.
            let projected = lines.saturating_mul(bytes.len()) / start.max(1);
            if wanted
                .iter()
                .any(|&(j, n)| have[j] < n && n > projected + projected / 4)
            {
                return false;
            }
        }
    }
    false
}

/// A quote the fast splitter's parity rule gets wrong.
struct StrayQuote;

/// Splits by bitmasks (see [`columns`]); `Err` at the first stray quote.
fn split_fast(bytes: &[u8], delimiter: u8, out: &mut Builder) -> Result<(), StrayQuote> {
    // All ones when a quoted field is open at the start of the block.
    let mut inside = 0u64;
    // One past the last quote before the current block (0: none), so a
    // field starting at `start` holds an earlier quote when it is > `start`.
    let mut quote_end = 0usize;
    let mut start = 0usize;
    let mut field = 0usize;
    let mut base = 0usize;
    while base < bytes.len() {
        let needles = [b'"', delimiter, b'\n', b'\r'];
        let [quote, delim, lf, cr] = with_block(bytes, base, |b| eq_masks(b, needles));
        let seps = delim | lf | cr;
        if quote | inside == 0 && quote_end <= start {
            // No field that ends in this block holds a quote: the usual block.
            (start, field) = split_plain(bytes, base, seps, delim, start, field, out);
            base += BLOCK;
            continue;
        }
        let quoted = prefix_xor(quote) ^ inside;
        inside = 0u64.wrapping_sub(quoted >> 63);
        let mut seps = seps & !quoted;
        while seps != 0 {
            let bit = seps.trailing_zeros() as usize;
            seps &= seps - 1;
            let pos = base + bit;
            let term = delim & (1 << bit) == 0;
            if term && field == 0 && pos == start {
                // A blank line, or the `\n` of a `\r\n`.
                start = pos + 1;
                continue;
            }
            let before = quote & ((1u64 << bit) - 1);
            let has_quote = if before != 0 {
                base + 63 - before.leading_zeros() as usize >= start
            } else {
                quote_end > start
            };
            if !out.raw(bytes, start, pos, field, has_quote) {
                return Err(StrayQuote);
            }
            if term {
                out.end_record();
                field = 0;
            } else {
                field += 1;
            }
            start = pos + 1;
        }
        if quote != 0 {
            quote_end = base + 64 - quote.leading_zeros() as usize;
        }
        base += BLOCK;
    }
    if start < bytes.len() || field > 0 {
        if !out.raw(bytes, start, bytes.len(), field, quote_end > start) {
            return Err(StrayQuote);
        }
        out.end_record();
    }
    Ok(())
}

/// The separators `seps` of the block at `base` (`delim` tells delimiters
/// from line ends) when no field ending in it holds a quote: the loop of
/// [`split_fast`] without its quote bookkeeping. Returns the new `start`
/// and `field`.
#[inline(always)]
fn split_plain(
    bytes: &[u8],
    base: usize,
    mut seps: u64,
    delim: u64,
    mut start: usize,
    mut field: usize,
    out: &mut Builder,
) -> (usize, usize) {
    while seps != 0 {
        let bit = seps.trailing_zeros() as usize;
        seps &= seps - 1;
        let pos = base + bit;
        let term = delim & (1 << bit) == 0;
        if pos == start {
            if term && field == 0 {
                // A blank line, or the `\n` of a `\r\n`.
                start = pos + 1;
                continue;
            }
            out.empty(field, pos);
        } else {
            out.plain(bytes, start, pos, field);
        }
        if term {
            out.end_record();
            field = 0;
        } else {
            field += 1;
        }
        start = pos + 1;
    }
    (start, field)
}

/// The states of [`split_exact`], as `csv-core`'s.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    StartRecord,
    StartField,
    InField,
    InQuoted,
    /// A quote inside a quoted field: it closes the field, or a second
    /// quote follows and both stand for one.
    QuoteInQuoted,
}

/// Splits a byte at a time with `csv-core`'s rules (quote `"`, `""`
/// escapes, `\r`/`\n`/`\r\n` terminators, no comments).
fn split_exact(bytes: &[u8], delimiter: u8, out: &mut Builder) {
    let mut state = State::StartRecord;
    let mut start = 0;
    let mut field = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let term = c == b'\n' || c == b'\r';
        if state == State::StartRecord {
            if term {
                continue;
            }
            (start, field, state) = (i, 0, State::StartField);
        }
        state = match state {
            State::StartField if c == b'"' => State::InQuoted,
            State::InQuoted if c == b'"' => State::QuoteInQuoted,
            State::InQuoted => State::InQuoted,
            State::QuoteInQuoted if c == b'"' => State::InQuoted,
            _ if c == delimiter => {
                out.raw(bytes, start, i, field, true);
                (start, field) = (i + 1, field + 1);
                State::StartField
            }
            _ if term => {
                out.raw(bytes, start, i, field, true);
                out.end_record();
                State::StartRecord
            }
            _ => State::InField,
        };
    }
    if state != State::StartRecord {
        out.raw(bytes, start, bytes.len(), field, true);
        out.end_record();
    }
}

/// The value of a raw field as `csv-core` decodes it, where it starts in
/// `raw`, and whether the fast splitter's parity rule holds for it (its
/// quotes are the opening one, `""` pairs and the closing one).
fn decode(raw: &[u8]) -> (Cow<'_, [u8]>, usize, bool) {
    if raw.first() != Some(&b'"') {
        return (Cow::Borrowed(raw), 0, memchr::memchr(b'"', raw).is_none());
    }
    let mut out: Option<Vec<u8>> = None;
    let mut i = 1;
    while let Some(p) = memchr::memchr(b'"', &raw[i..]) {
        let j = i + p;
        if raw.get(j + 1) == Some(&b'"') {
            out.get_or_insert_with(Vec::new)
                .extend_from_slice(&raw[i..=j]);
            i = j + 2;
            continue;
        }
        // The closing quote; what follows it is copied as it is.
        let rest = &raw[j + 1..];
        let regular = memchr::memchr(b'"', rest).is_none();
        if out.is_none() && rest.trim_ascii().is_empty() {
            return (Cow::Borrowed(&raw[1..j]), 1, regular);
        }
        let mut v = out.unwrap_or_default();
        v.extend_from_slice(&raw[i..j]);
        v.extend_from_slice(rest);
        return (Cow::Owned(v), 1, regular);
    }
    // Unterminated: the field runs to the end of the input.
    match out {
        None => (Cow::Borrowed(&raw[1..]), 1, true),
        Some(mut v) => {
            v.extend_from_slice(&raw[i..]);
            (Cow::Owned(v), 1, true)
        }
    }
}

/// Takes the cells of the records in order and observes them; the first
/// record is held until it ends, to tell a header from data.
struct Builder {
    cols: Columns,
    /// The first record's cells (trimmed, with offsets) until it ends.
    first: Option<Vec<(Vec<u8>, usize)>>,
}

impl Builder {
    fn new(format: Format) -> Builder {
        Builder {
            cols: Columns::new(format),
            first: Some(Vec::new()),
        }
    }

    /// Takes the empty field number `field` of its record, at `at`: only
    /// the first record and fields past the known columns keep it.
    #[inline(always)]
    fn empty(&mut self, field: usize, at: usize) {
        if field >= self.cols.cols.len() {
            self.cell_slow(field, &[], at);
        }
    }

    /// Takes the field `bytes[start..end]` (not empty, no quote), number
    /// `field` of its record.
    #[inline(always)]
    fn plain(&mut self, bytes: &[u8], start: usize, end: usize, field: usize) {
        let (v, lead) = super::trimmed(&bytes[start..end]);
        self.cell(field, v, start + lead);
    }

    /// Takes the field `bytes[start..end]`, number `field` of its record;
    /// `has_quote` says whether it holds a `"`. False when the field has a
    /// stray quote (see [`decode`]).
    #[inline(always)]
    fn raw(
        &mut self,
        bytes: &[u8],
        start: usize,
        end: usize,
        field: usize,
        has_quote: bool,
    ) -> bool {
        if has_quote {
            return self.raw_quoted(bytes, start, end, field);
        }
        let raw = &bytes[start..end];
        let (v, lead) = super::trimmed(raw);
        self.cell(field, v, start + lead);
        true
    }

    /// [`Builder::raw`] for a field with a quote.
    #[inline(never)]
    fn raw_quoted(&mut self, bytes: &[u8], start: usize, end: usize, field: usize) -> bool {
        let raw = &bytes[start..end];
        let (value, off, regular) = decode(raw);
        let v = value.trim_ascii_start();
        let lead = value.len() - v.len();
        let v = v.trim_ascii_end();
        let at = match value {
            Cow::Borrowed(_) => start + off + lead,
            // Decoded from pieces (`""` escapes, bytes after the closing
            // quote): an ID-like value is located by search, else the
            // content's start stands for it.
            Cow::Owned(_) => match memmem::find(raw, v) {
                Some(p) if looks_numeric(v) => start + p,
                _ => start + off,
            },
        };
        self.cell(field, v, at);
        regular
    }

    /// Observes the trimmed cell `v` of column `field`, found at byte `at`.
    /// There are no columns while the first record is held.
    #[inline(always)]
    fn cell(&mut self, field: usize, v: &[u8], at: usize) {
        match self.cols.cols.get_mut(field) {
            Some(col) => {
                debug_assert!(self.first.is_none());
                if !v.is_empty() {
                    col.observe_trimmed(v, at);
                }
            }
            None => self.cell_slow(field, v, at),
        }
    }

    /// [`Builder::cell`] in the first record, or past the known columns.
    #[inline(never)]
    fn cell_slow(&mut self, field: usize, v: &[u8], at: usize) {
        if let Some(first) = &mut self.first {
            first.push((v.to_vec(), at));
            return;
        }
        let cols = &mut self.cols.cols;
        while cols.len() <= field {
            let n = cols.len();
            cols.push(Column::new(&format!("#{}", n + 1), Some(n)));
        }
        if !v.is_empty() {
            cols[field].observe_trimmed(v, at);
        }
    }

    /// Ends a record; the first one becomes the header unless one of its
    /// cells is a valid 12-digit IIN/BIN.
    #[inline(always)]
    fn end_record(&mut self) {
        if self.first.is_some() {
            self.end_first_record();
        }
    }

    /// [`Builder::end_record`] for the first record.
    #[inline(never)]
    fn end_first_record(&mut self) {
        let Some(first) = self.first.take() else {
            return;
        };
        let is_data = first
            .iter()
            .any(|(v, _)| v.len() == 12 && shekara_detectors::iin::classify(v).is_ok());
        if !is_data {
            for (i, (v, _)) in first.iter().enumerate() {
                let name = String::from_utf8_lossy(v);
                self.cols.cols.push(Column::new(&name, Some(i)));
            }
            return;
        }
        for (i, (v, at)) in first.iter().enumerate() {
            self.cell(i, v, *at);
        }
    }
}

fn looks_numeric(v: &[u8]) -> bool {
    (9..=14).contains(&v.len()) && v.first().is_some_and(u8::is_ascii_digit)
}

/// The most frequent of `,` `;` `|` `\t` in the first line (`,` on a tie or none).
fn guess_delimiter(bytes: &[u8]) -> u8 {
    let line_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let line = &bytes[..line_end.min(64 << 10)];
    let mut best = (0usize, b',');
    for d in [b',', b';', b'|', b'\t'] {
        let n = bytecount::count(line, d);
        if n > best.0 {
            best = (n, d);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::super::{digest, At};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_and_cells() {
        let data = b"name;iin\n\"A; B\";850314319331\nC;50101300018\nD;\n";
        let cols = columns(data, Format::Csv).unwrap();
        assert_eq!(cols.cols.len(), 2);
        assert_eq!(cols.cols[1].name, "iin");
        assert!(cols.cols[1].is_id());
        let offs = cols.counted_offsets();
        let at = memmem::find(data, b"850314319331").unwrap() as u64;
        assert_eq!(offs.into_iter().collect::<Vec<_>>(), vec![at]);
    }

    #[test]
    fn no_header_when_the_first_row_is_data() {
        let data = b"850314319331,x\n921130474626,y\n850314319331,z\n";
        let cols = columns(data, Format::Csv).unwrap();
        assert_eq!(cols.cols[0].name, "#1");
        assert!(cols.cols[0].is_id());
        assert_eq!(cols.counted_offsets().len(), 3);
    }

    #[test]
    fn delimiters() {
        assert_eq!(guess_delimiter(b"a;b;c,d\n1,2"), b';');
        assert_eq!(guess_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(guess_delimiter(b"abc"), b',');
    }

    #[test]
    fn quoted_fields_span_lines_and_blocks() {
        // A quoted cell with delimiters, CRLFs and `""` longer than a block,
        // then IDs whose offsets must be exact.
        let long = "x,\r\n\"\"".repeat(40);
        let data = format!("iin,note\r\n850314319331,\"{long}\"\r\n\r\n \"921130474626\" ,\"\"\n");
        let cols = columns(data.as_bytes(), Format::Csv).unwrap();
        assert_eq!(cols.cols.len(), 2);
        assert_eq!(cols.cols[0].nonempty, 2);
        assert_eq!(cols.cols[1].nonempty, 1);
        let mut offs: Vec<u64> = cols.counted_offsets().into_iter().collect();
        offs.sort_unstable();
        let first = data.find("850314319331").unwrap() as u64;
        assert_eq!(offs, vec![first]);
        assert_eq!(
            digest(&cols),
            digest(&columns_csv_crate(data.as_bytes(), Format::Csv))
        );
    }

    #[test]
    fn a_stray_quote_falls_back_to_the_exact_splitter() {
        // `ab"c` keeps its quote literally: the delimiters after it still split.
        let data = b"h1,h2,h3\nab\"c,850314319331,x\n921130474626,\"q\"z\"w,y\n";
        let mut fast = Builder::new(Format::Csv);
        assert!(split_fast(data, b',', &mut fast).is_err());
        let cols = columns(data, Format::Csv).unwrap();
        assert_eq!(cols.cols.len(), 3);
        assert_eq!(cols.cols[1].nonempty, 2);
        assert_eq!(digest(&cols), digest(&columns_csv_crate(data, Format::Csv)));
    }

    /// Blocks without a quote (split without quote bookkeeping) between
    /// blocks with one: empty cells, ragged records past the header's
    /// columns, blank lines and `\r\n`, as the `csv` crate reads them.
    #[test]
    fn plain_blocks_between_quoted_ones() {
        let mut data = String::from("iin,name,x\n");
        for i in 0..300 {
            data.push_str(match i % 7 {
                0 => "850314319331,,\n",
                1 => "921130474626,\"a,\nb\",z,extra,\n",
                2 => "\n\r\n",
                3 => ",,,,,,\r\n",
                4 => " 050340765602 ,x,y\r\n",
                5 => "50101300018,name,\r",
                _ => "121151312072,\"\"\"q\"\"\",w\n",
            });
        }
        let cols = columns(data.as_bytes(), Format::Csv).unwrap();
        assert_eq!(cols.cols.len(), 7);
        assert_eq!(
            digest(&cols),
            digest(&columns_csv_crate(data.as_bytes(), Format::Csv))
        );
        let mut exact = Builder::new(Format::Csv);
        split_exact(data.as_bytes(), b',', &mut exact);
        assert_eq!(digest(&cols), digest(&exact.cols));
    }

    /// One cell of a generated CSV, as written.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("850314319331".to_string()),
            Just("921130474626".to_string()),
            Just("050340765602".to_string()),
            Just("50101300018".to_string()),
            Just("850314319331.0".to_string()),
            Just(" 921130474626 ".to_string()),
            Just("\"850314319331\"".to_string()),
            Just("\" 121151312072\t\"".to_string()),
            Just("\"a,b\"".to_string()),
            Just("\"line\nbreak\r\nx\"".to_string()),
            Just("\"say \"\"hi\"\"\"".to_string()),
            Just("\"\"".to_string()),
            Just("iin".to_string()),
            "[0-9]{9,14}",
            "[a-z ]{0,70}",
            "\"[a-z,;\n]{0,70}\"",
        ]
    }

    /// Generated CSV: a header or not, ragged records, `\n` or `\r\n`,
    /// blank lines, and a delimiter among `,` `;` `\t`.
    fn csv_text() -> impl Strategy<Value = (String, Format)> {
        let record = proptest::collection::vec(cell(), 1..7);
        (
            proptest::collection::vec(record, 0..30),
            proptest::bool::ANY,
            prop_oneof![Just(","), Just(";"), Just("\t")],
            prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
            proptest::bool::ANY,
        )
            .prop_map(|(records, header, delim, eol, final_eol)| {
                let mut out = String::new();
                if header {
                    out.push_str(&["id", "iin", "name", "x"].join(delim));
                    out.push_str(eol);
                }
                for (i, r) in records.iter().enumerate() {
                    out.push_str(&r.join(delim));
                    if final_eol || i + 1 < records.len() {
                        out.push_str(eol);
                    }
                    if i % 7 == 3 {
                        out.push_str(eol);
                    }
                }
                let format = if delim == "\t" {
                    Format::Tsv
                } else {
                    Format::Csv
                };
                (out, format)
            })
    }

    proptest! {
        #[test]
        fn same_columns_as_the_csv_crate((text, format) in csv_text()) {
            let new = columns(text.as_bytes(), format).unwrap();
            let old = columns_csv_crate(text.as_bytes(), format);
            prop_assert_eq!(digest(&new), digest(&old));
        }

        /// Both splitters agree with each other on every input, and with the
        /// `csv` crate on everything but the offsets of cells it could not
        /// locate (decoded values that are not a substring of the input).
        #[test]
        fn malformed_input_never_panics(
            bytes in proptest::collection::vec(prop_oneof![
                Just(b'"'), Just(b','), Just(b'\n'), Just(b'\r'), Just(b' '), Just(b'8'),
                Just(b'5'), Just(b'a'), any::<u8>()
            ], 0..400),
        ) {
            let new = columns(&bytes, Format::Csv).unwrap();
            let mut exact = Builder::new(Format::Csv);
            split_exact(&bytes, guess_delimiter(&bytes), &mut exact);
            prop_assert_eq!(digest(&new), digest(&exact.cols));
            let old = columns_csv_crate(&bytes, Format::Csv);
            let counts = |c: &Columns| c.cols.iter()
                .map(|c| (c.name.clone(), c.nonempty, c.valid12, c.padded_valid))
                .collect::<Vec<_>>();
            prop_assert_eq!(counts(&new), counts(&old));
        }

        #[test]
        fn exact_splitter_agrees_on_generated_csv((text, format) in csv_text()) {
            let delim = if format == Format::Tsv { b'\t' } else { guess_delimiter(text.as_bytes()) };
            let mut exact = Builder::new(format);
            split_exact(text.as_bytes(), delim, &mut exact);
            prop_assert_eq!(digest(&exact.cols), digest(&columns(text.as_bytes(), format).unwrap()));
        }
    }

    /// The reader as it was: the `csv` crate, cells located by search. The
    /// oracle of the proptests.
    fn columns_csv_crate(bytes: &[u8], format: Format) -> Columns {
        let delimiter = if format == Format::Tsv {
            b'\t'
        } else {
            guess_delimiter(bytes)
        };
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(bytes);
        let mut cols = Columns::new(format);
        let mut record = ::csv::ByteRecord::new();
        let mut first = true;
        while reader.read_byte_record(&mut record).unwrap() {
            let start = record.position().map_or(0, |p| p.byte());
            if first {
                first = false;
                if old_header_of(&record, &mut cols) {
                    continue;
                }
            }
            old_observe_record(&record, start, bytes, delimiter, &mut cols);
        }
        cols
    }

    fn old_header_of(record: &::csv::ByteRecord, cols: &mut Columns) -> bool {
        let is_data = record.iter().any(|f| {
            let f = f.trim_ascii();
            f.len() == 12 && shekara_detectors::iin::classify(f).is_ok()
        });
        if is_data {
            return false;
        }
        for (i, f) in record.iter().enumerate() {
            let name = String::from_utf8_lossy(f.trim_ascii());
            cols.cols.push(Column::new(&name, Some(i)));
        }
        true
    }

    fn old_observe_record(
        record: &::csv::ByteRecord,
        start: u64,
        bytes: &[u8],
        delimiter: u8,
        cols: &mut Columns,
    ) {
        let mut cursor = start as usize;
        for (i, field) in record.iter().enumerate() {
            while cols.cols.len() <= i {
                let n = cols.cols.len();
                cols.cols.push(Column::new(&format!("#{}", n + 1), Some(n)));
            }
            let value = field.trim_ascii();
            let at = if looks_numeric(value) {
                old_find(bytes, cursor, value).map_or(At::Byte(cursor as u64), |p| {
                    cursor = p + value.len();
                    At::Byte(p as u64)
                })
            } else {
                cursor += field.len();
                At::Byte(cursor as u64)
            };
            cols.cols[i].observe(value, at);
            cursor += usize::from(bytes.get(cursor) == Some(&delimiter));
        }
    }

    fn old_find(bytes: &[u8], from: usize, value: &[u8]) -> Option<usize> {
        let end = from.saturating_add(64 << 10).min(bytes.len());
        let hay = bytes.get(from..end)?;
        memmem::find(hay, value).map(|p| from + p)
    }
}
