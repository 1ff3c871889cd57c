//! Structured inputs: datasets (CSV/TSV, JSON/JSONL, Parquet) and compiled binaries.
//!
//! A dataset with an ID column (or key) is reported column by column: one
//! finding per (input, column, kind) with the number of occurrences in
//! `count`, instead of one finding per cell. Everything else in the input is
//! still scanned by the engine: free-text cells, other keys, endpoints.
//!
//! * CSV/TSV ([`csv`]) and JSON/JSONL ([`json`]): the whole input is scanned
//!   by the engine as text; the cells of ID columns are counted by the
//!   aggregation, and the engine's findings at those cells are dropped (the
//!   aggregate stands for them), so nothing is counted twice.
//! * Parquet ([`parquet`]): decoded column by column; ID columns are
//!   aggregated, other string and integer columns are scanned as text, one
//!   value per line; the footer (schema, key-value metadata) is scanned raw.
//! * Binaries ([`crate::binary`]): ELF, PE, Mach-O (fat too).
//!
//! Sniffing is cheap: the file's extension, else its first 8 bytes; plain
//! text never pays for the structured path.

mod bits;
pub mod csv;
pub mod json;
pub mod parquet;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use shekara_detectors::digits::RunList;
use shekara_detectors::iin::{classify, IdClass};
use shekara_detectors::{Confidence, Kind, Severity};

use crate::driver::{FileResult, Outcome, Place, Scanner};
use crate::model::{Finding, Location};
use crate::windows::Located;

/// Structured files larger than this are scanned as plain bytes.
pub const STRUCTURED_LIMIT: u64 = 4 << 30;

/// At most this many distinct values are remembered per column (for `distinct`).
const DISTINCT_CAP: usize = 1 << 20;

/// Hashing for the lexers' maps and the `distinct` sets (see
/// [`shekara_detectors::hash`]).
pub(crate) use shekara_detectors::hash::FastHash;

/// A structured format, as sniffed from a path and the first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma- (or `;`/`|`) separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// One JSON document.
    Json,
    /// JSON Lines (one document per line).
    Jsonl,
    /// Apache Parquet (`PAR1` at both ends).
    Parquet,
    /// ELF, PE or Mach-O.
    Binary,
}

impl Format {
    /// The name used in the `dataset` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
            Format::Binary => "binary",
        }
    }
}

/// The format of the input at `path` (any case) from its extension.
pub fn by_extension(path: &str) -> Option<Format> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "csv" | "psv" => Format::Csv,
        "tsv" | "tab" => Format::Tsv,
        "json" | "geojson" => Format::Json,
        "jsonl" | "ndjson" => Format::Jsonl,
        "parquet" => Format::Parquet,
        _ => return None,
    })
}

/// The format of an input from its first bytes.
pub fn by_magic(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"PAR1") {
        return Some(Format::Parquet);
    }
    crate::binary::is_binary_magic(head).then_some(Format::Binary)
}

/// What an input is: its extension decides, else its first bytes.
pub fn sniff(path: &str, head: &[u8]) -> Option<Format> {
    by_extension(path).or_else(|| by_magic(head))
}

/// Scans `bytes` as the structured format it is, or `None` when it is none
/// of them (the caller scans it as plain bytes).
pub fn dispatch(scanner: &Scanner, place: &Place, bytes: &[u8]) -> Option<Outcome> {
    let path = place.detector_path();
    let head = &bytes[..bytes.len().min(8)];
    match sniff(&path, head)? {
        f @ (Format::Csv | Format::Tsv) => scan_text(
            scanner,
            place,
            bytes,
            f,
            |runs| csv::may_have_id_column(bytes, f, runs),
            || csv_columns(scanner, bytes, f),
        ),
        f @ (Format::Json | Format::Jsonl) => scan_text(
            scanner,
            place,
            bytes,
            f,
            |runs| json::may_have_id_column(bytes, runs),
            || Some(json_columns(scanner, bytes, f)),
        ),
        Format::Parquet => parquet::scan_parquet(scanner, place, bytes),
        Format::Binary => crate::binary::scan_binary(scanner, place, bytes),
    }
}

/// The file path of [`dispatch`]: sniffs an open file (extension, then —
/// unless the extension is a source or text one — its first 8 bytes with
/// one `pread`), and only when it is structured reads it
/// whole (memory-mapped from `mmap_threshold` up) and scans it.
pub(crate) fn scan_open_file(
    scanner: &Scanner,
    place: &Place,
    file: &File,
    size: u64,
    buf: &mut Vec<u8>,
    after_open: &dyn Fn(),
) -> Option<Outcome> {
    let structured = is_structured(place, size, || {
        let mut head = [0u8; 8];
        let n = file.read_at(&mut head, 0).ok()?;
        Some((head, n))
    });
    if !structured {
        return None;
    }
    after_open();
    if scanner.mmap_threshold().is_some_and(|t| size >= t.max(1)) {
        if let Ok(Some(map)) = crate::mmap::GuardedMap::new(file, size) {
            let out = dispatch(scanner, place, map.bytes())
                .unwrap_or_else(|| scanner.scan_plain_file(place, map.bytes()));
            let out = settle_inline(scanner, out, map.bytes());
            if !map.faulted() {
                return Some(out);
            }
            return None;
        }
    }
    let mut reader: &File = file;
    let n = crate::windows::read_whole(&mut reader, size, buf).ok()?;
    let bytes = &buf[..n];
    let out =
        dispatch(scanner, place, bytes).unwrap_or_else(|| scanner.scan_plain_file(place, bytes));
    Some(settle_inline(scanner, out, bytes))
}

/// Whether a file of `size` bytes at `place` is scanned as a structured
/// format: by its extension, else (unless the extension is a source or text
/// one) by its first 8 bytes, which `head` gives.
fn is_structured(
    place: &Place,
    size: u64,
    head: impl FnOnce() -> Option<([u8; 8], usize)>,
) -> bool {
    if !(4..=STRUCTURED_LIMIT).contains(&size) {
        return false;
    }
    let path = String::from_utf8_lossy(&place.rel);
    if by_extension(&path).is_some() {
        return true;
    }
    if is_text_extension(&path) {
        return false;
    }
    head().is_some_and(|(h, n)| by_magic(&h[..n]).is_some())
}

/// [`scan_open_file`] for a file already read whole into `bytes` (its size
/// when opened: `size`): `None` when it is not a structured format.
pub(crate) fn scan_read_file(
    scanner: &Scanner,
    place: &Place,
    size: u64,
    bytes: &[u8],
) -> Option<Outcome> {
    let structured = is_structured(place, size, || {
        let mut head = [0u8; 8];
        let n = bytes.len().min(8);
        head[..n].copy_from_slice(&bytes[..n]);
        Some((head, n))
    });
    if !structured {
        return None;
    }
    let out =
        dispatch(scanner, place, bytes).unwrap_or_else(|| scanner.scan_plain_file(place, bytes));
    Some(settle_inline(scanner, out, bytes))
}

/// `out` with its inline ignores settled from `bytes`, the whole input it
/// was scanned from, rather than by reading the file back after the scan.
fn settle_inline(scanner: &Scanner, mut out: Outcome, bytes: &[u8]) -> Outcome {
    if scanner.config().inline_ignores && out.inline.is_none() {
        out.inline = Some(crate::suppress::inline_in_bytes(&out.findings, bytes));
    }
    out
}

/// Extensions of source and text files, which are never sniffed for a
/// binary or Parquet magic (saves a `pread` per file in a repository).
const TEXT_EXTENSIONS: &[&str] = &[
    "txt",
    "md",
    "rst",
    "py",
    "rs",
    "go",
    "js",
    "ts",
    "jsx",
    "tsx",
    "java",
    "kt",
    "c",
    "h",
    "cc",
    "cpp",
    "hpp",
    "cs",
    "rb",
    "php",
    "sh",
    "yaml",
    "yml",
    "toml",
    "ini",
    "cfg",
    "conf",
    "tf",
    "hcl",
    "html",
    "htm",
    "css",
    "xml",
    "sql",
    "log",
    "properties",
    "swift",
    "scala",
    "ipynb",
    "env",
    "lock",
    "gradle",
    "mk",
    "cmake",
];

/// Whether `path` has an extension of a source or text file.
fn is_text_extension(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| TEXT_EXTENSIONS.iter().any(|t| t.eq_ignore_ascii_case(ext)))
}

/// Whether a CSV or JSON input may hold a cell the columns count: a run of
/// 9–12 digits that, left-padded with `0` to 12, is a valid IIN or BIN, and
/// that can be a whole cell (trimmed, maybe with a `.0` after it).
///
/// Without one, reading the columns finds no ID cell, so it gives no
/// aggregate and drops no finding: logs and tables without IDs skip the
/// column reader, for one digit-mask pass. The test errs towards yes:
/// * a cell's digits are a maximal run of digits (its neighbours are a
///   delimiter, a quote, a blank, a line end or, in JSON, a byte that ends a
///   number);
/// * a run is such a cell only when each neighbour is a blank, a quote, a
///   delimiter, a line end, or (before it) `:` `[` `{`, (after it) `]` `}`:
///   in CSV a cell holds nothing else. In JSON a number can also touch a
///   byte the tolerant lexer skips (`x850314319331`), unless that run is
///   inside a string: a run is taken as in a string only where its line, up
///   to it, has no backslash and an odd number of quotes, and the line
///   before does not end in a backslash (which may continue a string).
///
/// The 12-digit runs it visits are recorded in `pass` (see [`id_runs`]).
///
/// The bounds test for it along their own digit pass; this is their
/// tests' statement of it.
#[cfg(test)]
pub(crate) fn may_hold_id_cells(bytes: &[u8], format: Format, pass: &mut DigitPass) -> bool {
    let json = matches!(format, Format::Json | Format::Jsonl);
    id_runs(bytes, pass, json, |_| ControlFlow::Break(())).is_break()
}

/// The column bounds' one digit pass over an input: how it runs, and the
/// 12-digit runs it records for the engine pass (see [`id_runs`]).
#[derive(Debug, Default)]
pub struct DigitPass {
    /// The maximal runs of exactly 12 digits the pass visited.
    pub twelves: RunList,
    /// Find the runs in parts of this many bytes, in parallel.
    parts: Option<usize>,
}

impl DigitPass {
    /// A pass that finds the runs in one sequential scan.
    pub fn new() -> DigitPass {
        DigitPass::default()
    }

    /// A pass that finds the runs in parts of `part` bytes in parallel, a
    /// few parts at a time, then hands them to the bound in order: for a
    /// large input, whose bound would otherwise hold up the reader and the
    /// engine pass, which wait for its answer and its list.
    pub fn parallel(part: usize) -> DigitPass {
        DigitPass {
            twelves: RunList::new(),
            parts: Some(part.clamp(1, 1 << 30)),
        }
    }
}

/// Calls `f(start)` for each maximal run of 9–12 digits in `bytes` that
/// passes [`is_id_run`] (`json`: by JSON's rules), in order, until `f`
/// returns `Break` (the column bounds' one digit pass), and records every
/// 12-digit run in `pass.twelves` (valid or not) up to where it stopped:
/// the engine pass over the same input then takes its candidates from the
/// list instead of scanning for them again.
fn id_runs(
    bytes: &[u8],
    pass: &mut DigitPass,
    json: bool,
    mut f: impl FnMut(usize) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let twelves = &mut pass.twelves;
    let flow = match pass.parts {
        None => {
            let mut next = 0;
            let flow = shekara_detectors::digits::runs_between::<9, 12>(bytes, |s, len| {
                twelves.record(s, len);
                next = s + 1;
                match is_id_run(bytes, s, s + len, json) {
                    true => f(s),
                    false => ControlFlow::Continue(()),
                }
            });
            flow.map_break(|()| next)
        }
        Some(part) => parallel_runs(bytes, part, json, twelves, &mut f),
    };
    twelves.reached(match flow {
        ControlFlow::Break(next) => next,
        ControlFlow::Continue(()) => bytes.len(),
    });
    flow.map_break(|_| ())
}

/// [`id_runs`] with the runs found in parts of `part` bytes, a round of
/// parts (two per thread) at a time in parallel, [`is_id_run`] tested
/// there too; then, in order, the 12-digit runs recorded and the runs that
/// pass handed to `f`. `Break` with the offset up to which runs were
/// recorded.
fn parallel_runs(
    bytes: &[u8],
    part: usize,
    json: bool,
    twelves: &mut RunList,
    f: &mut impl FnMut(usize) -> ControlFlow<()>,
) -> ControlFlow<usize> {
    let round = part * 2 * rayon::current_num_threads().max(1);
    for from in (0..bytes.len()).step_by(round) {
        let to = (from + round).min(bytes.len());
        let starts: Vec<usize> = (from..to).step_by(part).collect();
        let found: Vec<PartRuns> = starts
            .par_iter()
            .map(|&a| PartRuns::find(bytes, a..(a + part).min(to), json))
            .collect();
        for (runs, a) in found.into_iter().zip(starts) {
            let mut t = runs.twelves.iter().map(|&s| a + s as usize).peekable();
            for s in runs.ids.iter().map(|&s| a + s as usize) {
                while let Some(r) = t.next_if(|&r| r <= s) {
                    twelves.record(r, 12);
                }
                if f(s).is_break() {
                    return ControlFlow::Break(s + 1);
                }
            }
            t.for_each(|r| twelves.record(r, 12));
        }
    }
    ControlFlow::Continue(())
}

/// The runs of one part of [`parallel_runs`].
struct PartRuns {
    /// Starts of the maximal runs of exactly 12 digits, from the part's
    /// start (a part is at most 2^30 bytes).
    twelves: Vec<u32>,
    /// Starts of the maximal runs of 9–12 digits that pass [`is_id_run`],
    /// from the part's start.
    ids: Vec<u32>,
}

impl PartRuns {
    /// The runs that start in `part`.
    fn find(bytes: &[u8], part: std::ops::Range<usize>, json: bool) -> PartRuns {
        // Past the part, the 12 bytes that show where a run starting in it ends.
        let hi = (part.end + 12).min(bytes.len());
        let inside = part.start > 0 && bytes[part.start - 1].is_ascii_digit();
        let mut out = PartRuns {
            twelves: Vec::new(),
            ids: Vec::new(),
        };
        let _ =
            shekara_detectors::digits::runs_between::<9, 12>(&bytes[part.start..hi], |i, len| {
                let s = part.start + i;
                if s >= part.end {
                    return ControlFlow::Break(());
                }
                // A run at the part's start that goes on before it is not maximal.
                if i == 0 && inside {
                    return ControlFlow::Continue(());
                }
                if len == 12 {
                    out.twelves.push(i as u32);
                }
                if is_id_run(bytes, s, s + len, json) {
                    out.ids.push(i as u32);
                }
                ControlFlow::Continue(())
            });
        out
    }
}

/// Whether the maximal digit run `bytes[s..e]` (9–12 digits) may be a
/// counted cell: valid as an ID once padded, and able to be a whole cell.
///
/// The month and century test comes first, in line in the digit pass's
/// loop: it turns down nine runs in ten (a CSV of phone and account
/// numbers gives millions), without a call each.
#[inline(always)]
fn is_id_run(bytes: &[u8], s: usize, e: usize, json: bool) -> bool {
    may_be_id_unpadded(&bytes[s..e]) && is_id_cell(bytes, s, e, json)
}

/// The rest of [`is_id_run`]: valid once padded, and a whole cell.
#[inline(never)]
fn is_id_cell(bytes: &[u8], s: usize, e: usize, json: bool) -> bool {
    padded(&bytes[s..e]).is_some_and(|(value, _)| classify(&value).is_ok())
        && may_be_cell(bytes, s, e, json)
}

/// Longest line prefix read back for quotes ([`json::in_string`]); past it, unsure.
const LINE_BACK: usize = 4096;

/// Whether the digits `bytes[s..e]` can be a whole cell (see `may_hold_id_cells`).
fn may_be_cell(bytes: &[u8], s: usize, e: usize, json: bool) -> bool {
    let e = if bytes[e..].starts_with(b".0") {
        e + 2
    } else {
        e
    };
    let left = s == 0
        || matches!(bytes[s - 1], b'"' | b',' | b';' | b'|' | b':' | b'[' | b'{')
        || bytes[s - 1].is_ascii_whitespace();
    let right = e == bytes.len()
        || matches!(bytes[e], b'"' | b',' | b';' | b'|' | b']' | b'}')
        || bytes[e].is_ascii_whitespace();
    if left && right {
        return true;
    }
    if !json {
        return false;
    }
    // A JSON number touching other bytes: a cell unless inside a string.
    json::in_string(bytes, s) != Some(true)
}

/// Whether the columns of `bytes` are read in parts: a large input, and
/// more than one thread to read them (on one, the parts only cost the merge).
fn split_columns(scanner: &Scanner, bytes: &[u8]) -> bool {
    scanner.is_large(bytes.len()) && rayon::current_num_threads() > 1
}

/// The columns of a JSON input. A large JSON Lines input is read in
/// segments cut at line ends, in parallel, and their columns merged in
/// order: the same columns as one pass gives (see [`line_cuts`] for why);
/// when the merge cannot tell (a `distinct` set past its cap), one pass.
fn json_columns(scanner: &Scanner, bytes: &[u8], format: Format) -> Columns {
    if format != Format::Jsonl || !split_columns(scanner, bytes) {
        return json::columns(bytes, format);
    }
    jsonl_columns(bytes, scanner.config().segment.max(1))
}

/// The columns of a JSON Lines input read in segments of about `segment`
/// bytes (see [`json_columns`]).
fn jsonl_columns(bytes: &[u8], segment: usize) -> Columns {
    let cuts = line_cuts(bytes, segment);
    let parts: Vec<Columns> = cuts
        .par_windows(2)
        .map(|r| json::columns(&bytes[r[0]..r[1]], Format::Jsonl))
        .collect();
    let mut merged = Columns::new(Format::Jsonl);
    let mut names: HashMap<String, usize, FastHash> = HashMap::default();
    for (part, &base) in parts.into_iter().zip(&cuts) {
        if merged.absorb(part, base as u64, &mut names).is_err() {
            return json::columns(bytes, Format::Jsonl);
        }
    }
    merged
}

/// Where a JSON Lines input can be cut into segments of about `segment`
/// bytes (the first is 0, the last the length): just past a line end the
/// lexer reaches as a token, which resets it. That is every `\n` but one
/// right after a `\` (inside a string the escape skips it) or one followed,
/// past blanks, by a `:` (the string before it would be a key).
fn line_cuts(bytes: &[u8], segment: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    let mut from = segment;
    while from < bytes.len() {
        let Some(cut) = memchr::memchr_iter(b'\n', &bytes[from..])
            .map(|p| from + p)
            .find(|&p| is_line_reset(bytes, p))
            .map(|p| p + 1)
            .filter(|&c| c < bytes.len())
        else {
            break;
        };
        cuts.push(cut);
        from = cut + segment;
    }
    cuts.push(bytes.len());
    cuts
}

/// Whether the JSON lexer reaches the `\n` at `p` as a token (see [`line_cuts`]).
fn is_line_reset(bytes: &[u8], p: usize) -> bool {
    let escaped = p > 0 && bytes[p - 1] == b'\\';
    let colon = bytes[p + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b':');
    !escaped && !colon
}

/// The columns of a CSV input. A large input is read in parts cut at line
/// ends outside quotes (see [`record_cuts`]), in parallel, and their
/// columns merged by position: the same columns as one pass gives. An input
/// with a stray quote (which only a pass from the start reads right), or
/// whose merge cannot tell, is read in one pass.
fn csv_columns(scanner: &Scanner, bytes: &[u8], format: Format) -> Option<Columns> {
    if !split_columns(scanner, bytes) {
        return csv::columns(bytes, format);
    }
    csv_parts(bytes, format, scanner.config().segment.max(1))
        .or_else(|| csv::columns(bytes, format))
}

/// [`csv_columns`] in parts of about `segment` bytes; `None` when one part
/// meets a stray quote or the merge cannot tell.
fn csv_parts(bytes: &[u8], format: Format, segment: usize) -> Option<Columns> {
    let delimiter = csv::delimiter(bytes, format);
    let cuts = record_cuts(bytes, segment);
    let parts: Vec<Option<Columns>> = cuts
        .par_windows(2)
        .enumerate()
        .map(|(k, r)| csv::part_columns(&bytes[r[0]..r[1]], format, delimiter, k == 0))
        .collect();
    // The first record decides the header: a first part with none (blank
    // lines only) leaves that to a part that was read as not the first.
    if parts.len() > 1 && parts[0].as_ref().is_some_and(|c| c.cols.is_empty()) {
        return None;
    }
    let mut merged = Columns::new(format);
    for (part, &base) in parts.into_iter().zip(&cuts) {
        merged.absorb_by_position(part?, base as u64).ok()?;
    }
    Some(merged)
}

/// Where a CSV input can be cut into parts of about `segment` bytes (the
/// first is 0, the last the length): just past a `\n` with an even number
/// of quotes before it. The bitmask splitter knows what is quoted by that
/// parity, so such a line end ends a record for it and a part read from
/// there starts as it would; where the parity rule does not hold, a part
/// meets a stray quote and the input is read in one pass.
fn record_cuts(bytes: &[u8], segment: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    // Whether the quotes in `bytes[..counted]` are odd in number.
    let (mut odd, mut counted) = (false, 0);
    let mut from = segment;
    while from < bytes.len() {
        odd ^= bytecount::count(&bytes[counted..from], b'"') % 2 == 1;
        let mut cut = None;
        for p in memchr::memchr2_iter(b'"', b'\n', &bytes[from..]) {
            if bytes[from + p] == b'"' {
                odd = !odd;
            } else if !odd {
                cut = Some(from + p + 1);
                break;
            }
        }
        let Some(cut) = cut.filter(|&c| c < bytes.len()) else {
            break;
        };
        cuts.push(cut);
        counted = cut;
        from = cut + segment;
    }
    cuts.push(bytes.len());
    cuts
}

/// A merged `distinct` set past its cap: the merge cannot say which values
/// one pass would have kept.
#[derive(Debug)]
struct Overflow;

/// Header words that name an ID column (compared per word, lowercased).
const IIN_WORDS: &[&str] = &["iin", "иин", "жсн"];
const BIN_WORDS: &[&str] = &["bin", "бин", "бсн"];

/// Whether a column or key name says it holds IINs or BINs: a word of it
/// (split at anything but letters and digits) is `iin`, `ИИН`, `ЖСН`, `bin`,
/// `БИН`, `БСН`, or starts or ends with one of the IIN words (`clientIIN`).
pub fn id_header(name: &str) -> bool {
    // An ASCII name says so only if it holds `iin` or `bin` (any case):
    // most names are rejected here without lowercasing a copy.
    if name.is_ascii()
        && !name.as_bytes().windows(3).any(|w| {
            matches!(w[0] | 0x20, b'i' | b'b') && (w[1] | 0x20) == b'i' && (w[2] | 0x20) == b'n'
        })
    {
        return false;
    }
    words_say_id(name)
}

/// [`id_header`] without its ASCII shortcut: the words of the lowercased name.
fn words_say_id(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| {
            BIN_WORDS.contains(&w)
                || IIN_WORDS
                    .iter()
                    .any(|t| w == *t || w.starts_with(t) || w.ends_with(t))
        })
}

/// `cell` without leading and trailing ASCII whitespace, and how many bytes
/// led: `trim_ascii`, with one test for the usual cell that has none (every
/// ASCII whitespace byte is at most `b' '`).
#[inline(always)]
pub(crate) fn trimmed(cell: &[u8]) -> (&[u8], usize) {
    match (cell.first(), cell.last()) {
        (Some(&a), Some(&b)) if a > b' ' && b > b' ' => (cell, 0),
        _ => {
            let v = cell.trim_ascii_start();
            (v.trim_ascii_end(), cell.len() - v.len())
        }
    }
}

/// Where a counted cell is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// At a byte offset of the input (CSV, JSON).
    Byte(u64),
    /// At a row of a columnar file, in the column chunk at `chunk_offset`.
    Row {
        /// 0-based row in the file.
        row: u64,
        /// File offset of the column chunk that holds it.
        chunk_offset: u64,
    },
}

/// The occurrences of one kind in one column.
#[derive(Debug)]
struct Group {
    kind: Kind,
    padded: bool,
    count: u64,
    first: [u8; 12],
    first_at: At,
    reason: &'static str,
    distinct: HashSet<u64, FastHash>,
    capped: bool,
}

/// What a column holds so far.
#[derive(Debug)]
pub struct Column {
    /// Its name (CSV header, JSON key, Parquet column path).
    pub name: String,
    /// 0-based position (`None` for JSON keys).
    pub index: Option<usize>,
    hinted: bool,
    nonempty: u64,
    valid12: u64,
    padded_valid: u64,
    groups: Vec<Group>,
    offsets: Vec<u64>,
}

impl Column {
    /// A column named `name` at `index`.
    pub fn new(name: &str, index: Option<usize>) -> Column {
        Column {
            name: name.to_string(),
            index,
            hinted: id_header(name),
            nonempty: 0,
            valid12: 0,
            padded_valid: 0,
            groups: Vec::new(),
            offsets: Vec::new(),
        }
    }

    /// Takes one cell (its text as stored, e.g. `"850314319331"` or the
    /// digits of an integer) found at `at`. `digits_at` is the byte offset of
    /// the digits when the cell is in the input's bytes.
    #[inline]
    pub fn observe(&mut self, cell: &[u8], at: At) {
        let (cell, _) = trimmed(cell);
        if !cell.is_empty() {
            self.nonempty += 1;
            if may_be_candidate(cell) {
                self.observe_candidate(cell, at);
            }
        }
    }

    /// [`Column::observe`] for a cell already trimmed and not empty, at
    /// byte `at` of the input. Most cells cannot be an ID (see
    /// [`may_be_candidate`]): they cost one count and a few comparisons
    /// without a call, and their [`At`] is never built.
    #[inline]
    pub(crate) fn observe_trimmed(&mut self, cell: &[u8], at: usize) {
        self.nonempty += 1;
        if may_be_candidate(cell) {
            self.observe_candidate(cell, At::Byte(at as u64));
        }
    }

    /// Counts `cell` if it is an ID; `cell` passed [`may_be_candidate`].
    #[inline(never)]
    fn observe_candidate(&mut self, cell: &[u8], at: At) {
        let Some((value, padded)) = padded(cell) else {
            return;
        };
        if !value.iter().all(u8::is_ascii_digit) {
            return;
        }
        let Ok((class, reason)) = classify(&value) else {
            return;
        };
        if padded {
            self.padded_valid += 1;
        } else {
            self.valid12 += 1;
            if let At::Byte(off) = at {
                self.offsets.push(off);
            }
        }
        let kind = match class {
            IdClass::Iin { .. } => Kind::Iin,
            IdClass::Bin { .. } => Kind::Bin,
        };
        self.group(kind, padded, value, at, reason).add(&value);
    }

    fn group(
        &mut self,
        kind: Kind,
        padded: bool,
        first: [u8; 12],
        first_at: At,
        reason: &'static str,
    ) -> &mut Group {
        let i = match self
            .groups
            .iter()
            .position(|g| g.kind == kind && g.padded == padded)
        {
            Some(i) => i,
            None => {
                self.groups.push(Group {
                    kind,
                    padded,
                    count: 0,
                    first,
                    first_at,
                    reason,
                    distinct: HashSet::default(),
                    capped: false,
                });
                self.groups.len() - 1
            }
        };
        &mut self.groups[i]
    }

    /// Whether this is an ID column: its name says so, or at least 3 of its
    /// values and half of its non-empty cells are valid 12-digit IINs/BINs,
    /// or 90% of them are, counting numbers that lost leading zeros.
    pub fn is_id(&self) -> bool {
        let all = self.valid12 + self.padded_valid;
        self.hinted
            || (self.valid12 >= 3 && self.valid12 * 2 >= self.nonempty)
            || (all >= 3 && all * 10 >= self.nonempty * 9)
    }
}

impl Column {
    /// Adds what `later` (the same column, read from the bytes after this
    /// one's, starting at `base`) observed.
    fn absorb(&mut self, later: Column, base: u64) -> Result<(), Overflow> {
        self.nonempty += later.nonempty;
        self.valid12 += later.valid12;
        self.padded_valid += later.padded_valid;
        self.offsets.extend(later.offsets.iter().map(|o| o + base));
        for g in later.groups {
            match self
                .groups
                .iter_mut()
                .find(|m| m.kind == g.kind && m.padded == g.padded)
            {
                Some(m) => m.absorb(g)?,
                None => self.groups.push(g.rebased(base)),
            }
        }
        Ok(())
    }
}

impl Group {
    /// Adds the occurrences of `later` (read after this one's).
    fn absorb(&mut self, later: Group) -> Result<(), Overflow> {
        self.count += later.count;
        self.distinct.extend(later.distinct);
        if self.capped || later.capped || self.distinct.len() > DISTINCT_CAP {
            return Err(Overflow);
        }
        Ok(())
    }

    /// This group with its first cell `base` bytes further on.
    fn rebased(mut self, base: u64) -> Group {
        if let At::Byte(off) = &mut self.first_at {
            *off += base;
        }
        self
    }

    fn add(&mut self, value: &[u8; 12]) {
        self.count += 1;
        if self.distinct.len() < DISTINCT_CAP {
            self.distinct.insert(as_u64(value));
        } else if !self.distinct.contains(&as_u64(value)) {
            self.capped = true;
        }
    }
}

fn as_u64(d: &[u8; 12]) -> u64 {
    d.iter().fold(0u64, |n, &b| n * 10 + u64::from(b - b'0'))
}

/// Whether a trimmed, non-empty cell may be an ID: 9–14 bytes starting
/// with a digit (see [`padded`]), and then the cheap necessary condition
/// [`may_be_id_unpadded`] on its digits without a trailing `.0`: most such
/// cells are phone numbers, amounts or account numbers, and stop here
/// without a call.
#[inline(always)]
fn may_be_candidate(cell: &[u8]) -> bool {
    if !(9..=14).contains(&cell.len()) || !cell[0].is_ascii_digit() {
        return false;
    }
    let digits = cell.strip_suffix(b".0").unwrap_or(cell);
    (9..=12).contains(&digits.len()) && may_be_id_unpadded(digits)
}

/// A cheap necessary condition for [`classify`] to accept 12 ASCII digits:
/// the month (digits 3–4) is 01–12, and digit 7 is an IIN's century digit
/// (1–6) or digits 5–6 a BIN's type digits (4–6, 0–3). Phone numbers,
/// amounts and other 9–12-digit numbers mostly stop here. Any bytes may be
/// given (a non-digit only makes the answer meaningless, never a panic).
/// The test oracle of [`may_be_id_unpadded`].
#[cfg(test)]
fn may_be_id(d: &[u8; 12]) -> bool {
    let digit = |i: usize| u32::from(d[i].wrapping_sub(b'0'));
    let month = digit(2) * 10 + digit(3);
    (1..=12).contains(&month)
        && ((1..=6).contains(&digit(6)) || ((4..=6).contains(&digit(4)) && digit(5) <= 3))
}

/// The cheap necessary condition for [`classify`] to accept `digits` (9–12
/// bytes) left-padded with `0` to 12 bytes, read in place, so that most
/// cells stop here before any copy: the month (digits 3–4 of the padded
/// number) is 01–12, and digit 7 is an IIN's century digit (1–6) or digits
/// 5–6 a BIN's type digits (4–6, 0–3). Phone numbers, amounts and other
/// 9–12-digit numbers mostly stop here. Any bytes may be given (a non-digit
/// only makes the answer meaningless, never a panic).
#[inline(always)]
fn may_be_id_unpadded(digits: &[u8]) -> bool {
    let n = digits.len();
    if (9..=12).contains(&n) {
        // Digit k of the padded number is `digits[k + n - 12]`; only the
        // month's first digit (k = 2) can be padding, when n = 9.
        let digit = |i: usize| u32::from(digits[i].wrapping_sub(b'0'));
        let tens = if n >= 10 { digit(n - 10) } else { 0 };
        let month = tens * 10 + digit(n - 9);
        return (1..=12).contains(&month)
            && ((1..=6).contains(&digit(n - 6))
                || ((4..=6).contains(&digit(n - 8)) && digit(n - 7) <= 3));
    }
    let pad = 12usize.saturating_sub(n);
    let digit = |i: usize| {
        i.checked_sub(pad)
            .and_then(|j| digits.get(j))
            .map_or(0, |&b| u32::from(b.wrapping_sub(b'0')))
    };
    let month = digit(2) * 10 + digit(3);
    (1..=12).contains(&month)
        && ((1..=6).contains(&digit(6)) || ((4..=6).contains(&digit(4)) && digit(5) <= 3))
}

/// A cell as 12 bytes: as it is, or left-padded with `0` when it has 9–11
/// bytes; a trailing `.0` (a float export) is ignored. Its bytes are not
/// checked.
#[inline]
fn padded(cell: &[u8]) -> Option<([u8; 12], bool)> {
    let cell = cell.strip_suffix(b".0").unwrap_or(cell);
    if !(9..=12).contains(&cell.len()) {
        return None;
    }
    let mut out = [b'0'; 12];
    // Byte by byte rather than `copy_from_slice`, which calls `memcpy`
    // for a length not known at compile time.
    for (o, &c) in out[12 - cell.len()..].iter_mut().zip(cell) {
        *o = c;
    }
    Some((out, cell.len() < 12))
}

/// A cell as a 12-digit ID candidate: 12 ASCII digits as they are, or 9–11
/// digits (a number that lost its leading zeros) padded with zeros; a
/// trailing `.0` (a float export) is ignored.
#[cfg(test)]
fn as_id_digits(cell: &[u8]) -> Option<([u8; 12], bool)> {
    padded(cell).filter(|(v, _)| v.iter().all(u8::is_ascii_digit))
}

/// Severities of the ID rules, from the built-in ruleset.
fn severity(kind: Kind) -> Severity {
    static SEV: OnceLock<(Severity, Severity)> = OnceLock::new();
    let (iin, bin) = *SEV.get_or_init(|| {
        let rules = shekara_signatures::Ruleset::builtin();
        let sev = |id: &str, d| rules.rule(id).map_or(d, |r| r.severity);
        (sev("kz.iin", Severity::High), sev("kz.bin", Severity::Low))
    });
    if kind == Kind::Iin {
        iin
    } else {
        bin
    }
}

/// The columns of one input, and how to turn them into findings.
#[derive(Debug)]
pub struct Columns {
    /// The columns, in order of first sight.
    pub cols: Vec<Column>,
    /// The `dataset` attribute (`csv`, `json`, …).
    pub format: Format,
}

impl Columns {
    /// No columns yet.
    pub fn new(format: Format) -> Columns {
        Columns {
            cols: Vec::new(),
            format,
        }
    }

    /// Adds the columns of `later`, read from the bytes after this one's,
    /// starting at `base`; `names` indexes this one's columns by name.
    fn absorb(
        &mut self,
        later: Columns,
        base: u64,
        names: &mut HashMap<String, usize, FastHash>,
    ) -> Result<(), Overflow> {
        for c in later.cols {
            match names.get(&c.name) {
                Some(&i) => self.cols[i].absorb(c, base)?,
                None => {
                    names.insert(c.name.clone(), self.cols.len());
                    let mut fresh = Column::new(&c.name, c.index);
                    fresh.absorb(c, base)?;
                    self.cols.push(fresh);
                }
            }
        }
        Ok(())
    }

    /// Adds the columns of `later`, read from the bytes after this one's,
    /// starting at `base`, column by column in order of position (a CSV
    /// part after the first names its columns `#1`, `#2`, …).
    fn absorb_by_position(&mut self, later: Columns, base: u64) -> Result<(), Overflow> {
        for (i, c) in later.cols.into_iter().enumerate() {
            match self.cols.get_mut(i) {
                Some(mine) => mine.absorb(c, base)?,
                None => {
                    let mut fresh = Column::new(&c.name, c.index);
                    fresh.absorb(c, base)?;
                    self.cols.push(fresh);
                }
            }
        }
        Ok(())
    }

    /// Byte offsets of the 12-digit cells the aggregates count (sorted).
    pub fn counted_offsets(&self) -> HashSet<u64> {
        self.cols
            .iter()
            .filter(|c| c.is_id())
            .flat_map(|c| c.offsets.iter().copied())
            .collect()
    }

    /// One finding per (ID column, kind, leading zero lost or not).
    pub fn findings(&self, scanner: &Scanner, place: &Place, bytes: &[u8]) -> Vec<Finding> {
        let mut out = Vec::new();
        for c in self.cols.iter().filter(|c| c.is_id()) {
            for g in &c.groups {
                out.push(self.finding(scanner, place, bytes, c, g));
            }
        }
        out
    }

    fn finding(
        &self,
        scanner: &Scanner,
        place: &Place,
        bytes: &[u8],
        c: &Column,
        g: &Group,
    ) -> Finding {
        let mut attributes = shekara_detectors::Attributes::new();
        attributes.insert("aggregated", "column");
        attributes.insert("column", c.name.clone());
        if let Some(i) = c.index {
            attributes.insert("column_index", i.to_string());
        }
        attributes.insert("dataset", self.format.as_str());
        let distinct = g.distinct.len().to_string();
        let distinct = if g.capped {
            format!("≥{distinct}")
        } else {
            distinct
        };
        attributes.insert("distinct", distinct);
        attributes.insert("validation", g.reason);
        if g.padded {
            attributes.insert("note", "leading zero lost");
        }
        let context = if c.hinted {
            "column name says it holds IDs"
        } else {
            "most values of the column are valid IDs"
        };
        attributes.insert("context", context);
        let (line, column, byte_offset) = match g.first_at {
            At::Byte(off) => {
                let (l, col) = line_col(bytes, off);
                (Some(l), Some(col), off)
            }
            At::Row { row, chunk_offset } => {
                attributes.insert("row", row.to_string());
                (None, None, chunk_offset)
            }
        };
        let (path, path_base64) = crate::driver::display_path(&place.rel);
        Finding {
            kind: g.kind,
            rule: if g.kind == Kind::Iin {
                "kz.iin"
            } else {
                "kz.bin"
            }
            .into(),
            severity: severity(g.kind),
            confidence: if c.hinted || !g.padded {
                Confidence::High
            } else {
                Confidence::Medium
            },
            location: Location::new(
                path,
                place.root,
                line.and_then(std::num::NonZeroU64::new),
                column.and_then(std::num::NonZeroU64::new),
                byte_offset,
            )
            .with_path_base64(path_base64.map(Into::into))
            .with_inner(place.inner.clone()),
            count: g.count,
            evidence: scanner.evidence(g.kind, &g.first),
            attributes,
            breach_notification: None,
        }
    }
}

/// 1-based line and column (in characters) of `off` in `bytes`.
pub fn line_col(bytes: &[u8], off: u64) -> (u64, u64) {
    crate::windows::line_col(bytes, usize::try_from(off).unwrap_or(usize::MAX))
}

/// A text dataset (CSV/TSV, JSON/JSONL) with its ID columns aggregated: the
/// engine's findings over all of `bytes`, without those at counted cells,
/// plus the aggregates, in offset order, with the columns read by `columns`
/// (`None`: not this format, the input is scanned as plain bytes). The column reader and the
/// engine pass are independent passes over the same bytes: a large input
/// runs them side by side (and the engine pass in segments, see
/// [`crate::Config::segment`]); the result is the same either way.
///
/// `bound` says whether the input may have an ID column (else `read` is
/// skipped) and records its 12-digit runs as it goes; the engine pass then
/// takes them from that list (one digit pass over the input, not two), so
/// the bound runs first, and the reader and the engine pass after it.
fn scan_text(
    scanner: &Scanner,
    place: &Place,
    bytes: &[u8],
    format: Format,
    bound: impl FnOnce(&mut DigitPass) -> bool + Send,
    read: impl FnOnce() -> Option<Columns> + Send,
) -> Option<Outcome> {
    let columns = |yes: bool| match yes {
        true => read(),
        false => Some(Columns::new(format)),
    };
    let mut pass = match split_columns(scanner, bytes) {
        true => DigitPass::parallel(scanner.config().segment),
        false => DigitPass::new(),
    };
    let yes = bound(&mut pass);
    let runs = Arc::new(pass.twelves);
    let (cols, pass) = scanner.join_if_large(
        bytes.len(),
        || columns(yes),
        || scanner.engine_pass_with_runs(place, bytes, runs),
    );
    Some(match cols {
        Some(cols) => finish_text(scanner, place, bytes, &cols, pass),
        None => scanner.outcome(place, pass),
    })
}

/// The engine's findings of `pass` less those at counted cells (dropped
/// before they are masked and fingerprinted), plus the aggregates.
///
/// Inline ignores the engine pass settled stay settled: its answers are
/// kept by offset and rule across the drop and the sort, and the columns'
/// findings have their lines read here.
fn finish_text(
    scanner: &Scanner,
    place: &Place,
    bytes: &[u8],
    cols: &Columns,
    mut pass: FileResult,
) -> Outcome {
    let hits: Option<Vec<crate::windows::Hit>> = pass.inline.take().map(|inline| {
        let hit = |(i, why): (usize, String)| {
            let raw = &pass.located.get(i)?.raw;
            Some((raw.span.start, raw.rule.to_string(), why))
        };
        inline.into_iter().filter_map(hit).collect()
    });
    drop_counted(&mut pass.located, cols);
    let mut outcome = scanner.outcome(place, pass);
    let counted = cols.findings(scanner, place, bytes);
    let hits = hits.map(|mut hits| {
        for f in counted.iter().filter(|f| f.location.inner().is_empty()) {
            let at = usize::try_from(f.location.byte_offset).unwrap_or(usize::MAX);
            if let Some(why) = crate::suppress::inline_around(bytes, at, &f.rule) {
                hits.push((f.location.byte_offset, f.rule.to_string(), why));
            }
        }
        hits
    });
    outcome.findings.extend(counted);
    sort_findings(&mut outcome.findings);
    outcome.inline = hits
        .as_deref()
        .map(|h| inline_of_findings(&outcome.findings, h));
    outcome
}

/// The inline ignores of `findings` (index among them, reason) from
/// [`crate::windows::Hit`]s; findings inside archive members never.
fn inline_of_findings(findings: &[Finding], hits: &[crate::windows::Hit]) -> crate::cache::Inline {
    let keys = findings.iter().map(|f| {
        let top = f.location.inner().is_empty();
        top.then(|| (f.location.byte_offset, &*f.rule))
    });
    crate::windows::inline_of_keys(keys, hits)
}

/// Drops the IIN/BIN findings at the cells the ID columns count. Both lists
/// are in offset order, so one merge walk does it (no set of every counted
/// offset is built).
fn drop_counted(located: &mut Vec<Located>, cols: &Columns) {
    let mut counted: Vec<u64> = Vec::new();
    for c in cols.cols.iter().filter(|c| c.is_id()) {
        counted.extend_from_slice(&c.offsets);
    }
    if counted.is_empty() {
        return;
    }
    // Each column's offsets are sorted already: this merges a few runs.
    counted.sort_unstable();
    let mut next = counted.iter().copied().peekable();
    located.retain(|l| {
        if !matches!(l.raw.kind, Kind::Iin | Kind::Bin) {
            return true;
        }
        let at = l.raw.span.start;
        while next.next_if(|&c| c < at).is_some() {}
        next.peek() != Some(&at)
    });
}

/// Orders findings as the report does within one input: inner path, offset, rule.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.location.inner(), a.location.byte_offset, &a.rule).cmp(&(
            b.location.inner(),
            b.location.byte_offset,
            &b.rule,
        ))
    });
}

/// Everything a reader observed, as text, for comparing two readers.
#[cfg(test)]
pub(crate) fn digest(cols: &Columns) -> String {
    use std::fmt::Write;
    let mut out = format!("{:?}\n", cols.format);
    for c in &cols.cols {
        let _ = writeln!(
            out,
            "{:?} {:?} hinted={} nonempty={} valid12={} padded={} offsets={:?} id={}",
            c.name,
            c.index,
            c.hinted,
            c.nonempty,
            c.valid12,
            c.padded_valid,
            c.offsets,
            c.is_id()
        );
        for g in &c.groups {
            let mut d: Vec<u64> = g.distinct.iter().copied().collect();
            d.sort_unstable();
            let _ = writeln!(
                out,
                "  {:?} padded={} count={} first={:?} at={:?} reason={} capped={} distinct={d:?}",
                g.kind,
                g.padded,
                g.count,
                String::from_utf8_lossy(&g.first),
                g.first_at,
                g.reason,
                g.capped
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bound's list holds exactly the 12-digit runs the engine would
    /// scan for, up to where the bound stopped; a bound that says no read
    /// the whole input.
    fn check_runs(bytes: &[u8], pass: &DigitPass, yes: bool) {
        let runs = &pass.twelves;
        let to = usize::try_from(runs.known_to()).unwrap_or(usize::MAX);
        assert!(to <= bytes.len());
        assert!(yes || to == bytes.len(), "a no from a partial pass");
        let mut want = Vec::new();
        shekara_detectors::digits::exact_runs(bytes, 0..to, 12, |s| want.push(s as u32));
        assert_eq!(runs.starts(), &want[..]);
    }

    /// The engine pass given the bound's list finds what it finds alone,
    /// on generated CSV and JSON Lines datasets, whole or in segments (the
    /// bound then in parallel parts), and the list is complete and used.
    #[test]
    fn engine_pass_with_the_bounds_runs_finds_the_same() {
        use shekara_fixtures::datasets::{csv_dataset, jsonl_dataset};
        let (csv, _) = csv_dataset(5, 3_000, 13);
        let (jsonl, _) = jsonl_dataset(6, 3_000, 11);
        let mut notes = Vec::new();
        for i in 0..4_000 {
            notes.extend_from_slice(format!("{i},850314319331 x,921130474626\n").as_bytes());
        }
        // The quoted CSV's bound stops at its first ID cell, the JSON
        // Lines' at an ID under a nested key: the engine scans past there.
        // The plain CSV's bound reads the whole input.
        for (bytes, f, name, whole) in [
            (&csv, Format::Csv, "quoted.csv", false),
            (&jsonl, Format::Jsonl, "t.jsonl", false),
            (&notes, Format::Csv, "t.csv", true),
        ] {
            for segment in [4099, 1 << 16, 8 << 20] {
                let mut c = crate::Config::new(Vec::new());
                c.key = Some(crate::FingerprintKey::from_secret("k", "test"));
                c.segment = segment;
                let scanner = Scanner::new(c).unwrap();
                let place = Place::file(0, name.as_bytes().to_vec());
                let mut pass = match split_columns(&scanner, bytes) {
                    true => DigitPass::parallel(segment),
                    false => DigitPass::new(),
                };
                match f {
                    Format::Csv => csv::may_have_id_column(bytes, f, &mut pass),
                    _ => json::may_have_id_column(bytes, &mut pass),
                };
                let known = pass.twelves.known_to();
                assert_eq!(known == bytes.len() as u64, whole, "{name}: {known}");
                assert!(known > 0 && !pass.twelves.starts().is_empty(), "{name}");
                let with = scanner.engine_pass_with_runs(&place, bytes, Arc::new(pass.twelves));
                let alone = scanner.engine_pass(&place, bytes);
                assert!(alone.located.len() > 100, "{name}");
                assert_eq!(with.located, alone.located, "{name}, segment {segment}");
            }
        }
    }

    /// A column bound, as the tests call it.
    type Bound = dyn Fn(&[u8], &mut DigitPass) -> bool;

    proptest::proptest! {
        /// The bounds' digit pass in parallel parts gives the answers and
        /// the lists the sequential one gives, runs across part edges too.
        #[test]
        fn parallel_digit_pass_changes_nothing(
            picks in proptest::collection::vec(0..CSV_BOUND_PIECES.len() + KEY_PIECES.len(), 0..60),
            part in proptest::sample::select(vec![1usize, 5, 13, 64, 1000]),
        ) {
            let all: Vec<&[u8]> = CSV_BOUND_PIECES.iter().chain(KEY_PIECES).copied().collect();
            let bytes: Vec<u8> = picks.iter().flat_map(|&i| all[i].iter().copied()).collect();
            let bounds: [&Bound; 4] = [
                &|b, p| csv::may_have_id_column(b, Format::Csv, p),
                &|b, p| csv::may_have_id_column(b, Format::Tsv, p),
                &|b, p| json::may_have_id_column(b, p),
                &|b, p| may_hold_id_cells(b, Format::Jsonl, p),
            ];
            for (k, bound) in bounds.iter().enumerate() {
                let (mut one, mut parts) = (DigitPass::new(), DigitPass::parallel(part));
                let want = bound(&bytes, &mut one);
                proptest::prop_assert_eq!(bound(&bytes, &mut parts), want, "bound {}", k);
                proptest::prop_assert_eq!(&parts.twelves, &one.twelves, "bound {}", k);
                check_runs(&bytes, &parts, want);
            }
        }
    }

    /// [`may_hold_id_cells`], its list checked.
    fn gate(bytes: &[u8], f: Format) -> bool {
        let mut pass = DigitPass::new();
        let yes = may_hold_id_cells(bytes, f, &mut pass);
        check_runs(bytes, &pass, yes);
        yes
    }

    /// [`json::may_have_id_column`], its list checked.
    fn json_bound(bytes: &[u8]) -> bool {
        let mut pass = DigitPass::new();
        let yes = json::may_have_id_column(bytes, &mut pass);
        check_runs(bytes, &pass, yes);
        yes
    }

    /// [`csv::may_have_id_column`], its list checked.
    fn csv_bound(bytes: &[u8], f: Format) -> bool {
        let mut pass = DigitPass::new();
        let yes = csv::may_have_id_column(bytes, f, &mut pass);
        check_runs(bytes, &pass, yes);
        yes
    }

    #[test]
    fn id_headers() {
        for h in [
            "iin",
            "IIN",
            "ИИН",
            "жсн",
            "client_iin",
            "clientIIN",
            "ИИН/БИН",
            "bin",
            "iin_number",
        ] {
            assert!(id_header(h), "{h}");
        }
        for h in [
            "binary", "cabinet", "name", "id", "phone", "robin", "Bi_n", "i-in",
        ] {
            assert!(!id_header(h), "{h}");
        }
        for h in ["BIN", "x.Iin", "Bin_code", "ЖСН", "iinBIN"] {
            assert!(id_header(h), "{h}");
        }
    }

    proptest::proptest! {
        #[test]
        fn id_header_shortcut_changes_nothing(name in "[iInNbB_ .жсЖ0-9a-z]{0,12}") {
            proptest::prop_assert_eq!(id_header(&name), words_say_id(&name));
        }
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff("a/B.CSV", b""), Some(Format::Csv));
        assert_eq!(sniff("x.ndjson", b""), Some(Format::Jsonl));
        assert_eq!(sniff("part-0", b"PAR1\x15"), Some(Format::Parquet));
        assert_eq!(sniff("bin/up", b"\x7fELF\x02"), Some(Format::Binary));
        assert_eq!(sniff("notes", b"hello"), None);
        assert!(is_text_extension("src/main.RS"));
        assert!(!is_text_extension("v1.2/uploader"));
        assert!(!is_text_extension("lib.so"));
    }

    #[test]
    fn lost_zeros_are_padded() {
        assert_eq!(as_id_digits(b"50101300018"), Some((*b"050101300018", true)));
        assert_eq!(
            as_id_digits(b"850314319331"),
            Some((*b"850314319331", false))
        );
        assert_eq!(
            as_id_digits(b"850314319331.0"),
            Some((*b"850314319331", false))
        );
        assert_eq!(as_id_digits(b"12345678"), None);
        assert_eq!(as_id_digits(b"8503143193x1"), None);
    }

    /// Every number `classify` accepts passes `may_be_id`: all months,
    /// days' tens and type digits, with the check digit made right.
    #[test]
    fn may_be_id_never_rejects_a_valid_number() {
        use shekara_detectors::iin::control_digit;
        let mut accepted = 0;
        for yy in [0u32, 85, 99] {
            for mid in 0..100_000u32 {
                // Digits 3–7 (month, day/type digits, century digit).
                let s = format!("{yy:02}{mid:05}3193");
                let mut d = [0u8; 12];
                d[..11].copy_from_slice(s.as_bytes());
                let digits = d.map(|b| b.wrapping_sub(b'0'));
                let Some(c) = control_digit(&digits) else {
                    continue;
                };
                d[11] = b'0' + c;
                if classify(&d).is_ok() {
                    accepted += 1;
                    assert!(may_be_id(&d), "{}", String::from_utf8_lossy(&d));
                }
            }
        }
        assert!(accepted > 1000, "{accepted}");
        assert!(!may_be_id(b"087378029895"), "a phone number, month 73");
        assert!(!may_be_id(b"851314319331"), "month 13");
    }

    proptest::proptest! {
        #[test]
        fn trimmed_is_trim_ascii(
            cell in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(b' '), proptest::strategy::Just(b'\t'),
                proptest::strategy::Just(0x0b), proptest::strategy::Just(0x0c),
                proptest::strategy::Just(b'\r'), proptest::strategy::Just(b'\n'),
                0u8..0x22, proptest::num::u8::ANY
            ], 0..8),
        ) {
            let (v, lead) = trimmed(&cell);
            proptest::prop_assert_eq!(v, cell.trim_ascii());
            proptest::prop_assert_eq!(lead, cell.len() - cell.trim_ascii_start().len());
        }

        #[test]
        fn may_be_id_unpadded_is_may_be_id_of_the_padded_cell(
            cell in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(b'0'), proptest::strategy::Just(b'1'),
                proptest::strategy::Just(b'4'), proptest::strategy::Just(b'9'),
                proptest::strategy::Just(b'.'), 0x2fu8..0x3b, proptest::num::u8::ANY
            ], 9..=12),
        ) {
            // As `observe_candidate` asks: of the cell without a trailing `.0`.
            let digits = cell.strip_suffix(b".0").unwrap_or(&cell);
            if let Some((value, _)) = padded(&cell) {
                proptest::prop_assert_eq!(may_be_id_unpadded(digits), may_be_id(&value));
            } else {
                proptest::prop_assert!(!(9..=12).contains(&digits.len()));
            }
        }
    }

    /// Lines that stress the cuts: keys split from their colon over lines,
    /// escapes before a line end, nesting, numbers, CRLF, broken lines.
    const JSONL_PIECES: &[&str] = &[
        "{\"iin\": \"850314319331\", \"note\": \"x\"}\n",
        "{\"iin\": 50101300018, \"name\": \"A\"}\n",
        "{\"ids\": [\"921130474626\", 850314319331, {\"bin\": \"050340765602\"}]}\n",
        "{\"k\"\n",
        ": \"850314319331\"}\n",
        "\"iin\"\n\n  :",
        "{\"a\": \"abc\\",
        "\n",
        "\", \"iin\": \"921130474626\"}\r\n",
        "{\"iin\": \"040229568857\"\n",
        "]}} 850314319331 {\"clientIIN\": [[\"110701677942\"]]}\n",
        "\\\n",
        "\n\n",
    ];

    proptest::proptest! {
        #[test]
        fn jsonl_segments_merge_to_one_pass(
            picks in proptest::collection::vec(0..JSONL_PIECES.len(), 0..120),
            segment in 1usize..300,
        ) {
            let bytes: Vec<u8> = picks.iter().flat_map(|&i| JSONL_PIECES[i].bytes()).collect();
            let one = digest(&json::columns(&bytes, Format::Jsonl));
            proptest::prop_assert_eq!(digest(&jsonl_columns(&bytes, segment)), one);
        }
    }

    /// Records that stress the cuts: quoted line ends, `""` escapes, CRLF,
    /// blank lines, ragged rows, IDs in a header-less first record. The
    /// first [`CSV_REGULAR`] keep the parity rule; the last four may not (an
    /// open quote, a stray quote, a first line that makes `;` the
    /// delimiter): those send the input to one pass.
    const CSV_PIECES: &[&str] = &[
        "1,850314319331,\"A\",\"ok\"\n",
        "2,921130474626,\"B, C\",\"line\nbreak 850314319331\"\n",
        "3,50101300018,\"say \"\"hi\"\"\",x\r\n",
        "\n\n",
        "4,040229568857,\"x\",y,z,110701677942\n",
        "5,,\n",
        "\"6\",\"880515306144\"\n",
        "\"open\nstill open\n",
        "closed\",1\n",
        "7,ab\"c,850314319331\n",
        "8;921130474626;x\n",
    ];
    const CSV_REGULAR: usize = 7;

    fn csv_input(header: bool, picks: &[usize]) -> Vec<u8> {
        let mut bytes = if header {
            b"id,iin,name,note\n".to_vec()
        } else {
            Vec::new()
        };
        bytes.extend(picks.iter().flat_map(|&i| CSV_PIECES[i].bytes()));
        bytes
    }

    proptest::proptest! {
        #[test]
        fn csv_parts_merge_to_one_pass(
            header in proptest::bool::ANY,
            picks in proptest::collection::vec(0..CSV_REGULAR, 0..120),
            segment in 1usize..300,
        ) {
            let bytes = csv_input(header, &picks);
            let one = digest(&csv::columns(&bytes, Format::Csv).unwrap());
            let parts = csv_parts(&bytes, Format::Csv, segment);
            // In parts unless the input opens with a part of blank lines.
            let first = record_cuts(&bytes, segment)[1];
            let blank_start = bytes[..first].iter().all(|&b| b == b'\n' || b == b'\r');
            proptest::prop_assert!(parts.is_some() || blank_start, "regular quotes: read in parts");
            if let Some(parts) = parts {
                proptest::prop_assert_eq!(digest(&parts), one);
            }
        }

        #[test]
        fn csv_with_stray_quotes_falls_back_or_agrees(
            header in proptest::bool::ANY,
            picks in proptest::collection::vec(0..CSV_PIECES.len(), 0..60),
            segment in 1usize..300,
        ) {
            let bytes = csv_input(header, &picks);
            let one = digest(&csv::columns(&bytes, Format::Csv).unwrap());
            if let Some(parts) = csv_parts(&bytes, Format::Csv, segment) {
                proptest::prop_assert_eq!(digest(&parts), one);
            }
        }
    }

    #[test]
    fn csv_cuts_only_at_record_ends() {
        let bytes = b"a,b\n1,\"x\ny\"\n2,\"\"\"\n\"\n3,4\n";
        let cuts = record_cuts(bytes, 1);
        let at = |s: &[u8]| memchr::memmem::find(bytes, s).unwrap() + s.len();
        // Not inside the quoted `x`, line end, `y`; nor inside the field of
        // an escaped quote and a line end.
        let expected = vec![0, at(b"a,b\n"), at(b"y\"\n"), at(b"\n\"\n"), bytes.len()];
        assert_eq!(cuts, expected);
        let parts = csv_parts(bytes, Format::Csv, 1).unwrap();
        assert_eq!(
            digest(&parts),
            digest(&csv::columns(bytes, Format::Csv).unwrap())
        );
    }

    #[test]
    fn jsonl_cuts_skip_escaped_and_key_line_ends() {
        let bytes = b"{\"a\": 1}\n{\"b\": \"x\\\ny\"}\n\"k\"\n : 2\n{}\n";
        let cuts = line_cuts(bytes, 1);
        let after: Vec<u8> = cuts[1..cuts.len() - 1]
            .iter()
            .map(|&c| bytes[c - 1])
            .collect();
        assert!(after.iter().all(|&b| b == b'\n'));
        // Not after `x\`, not before ` : 2`.
        let at = |s: &[u8]| memchr::memmem::find(bytes, s).unwrap() + s.len();
        let expected = vec![0, at(b"1}\n"), at(b"y\"}\n"), at(b"2\n"), bytes.len()];
        assert_eq!(cuts, expected);
    }

    /// Pieces of CSV and JSON around the column reader's cells: valid and
    /// invalid IDs, numbers that lost leading zeros, `.0` exports, quotes
    /// and blanks around cells, longer and shorter digit runs, IDs glued to
    /// letters or signs.
    const GATE_PIECES: &[&str] = &[
        "850314319331",
        "50101300018",
        "50101300018.0",
        "850314319332",
        "1775196831538",
        "123456789",
        "x",
        "-",
        ".0",
        " ",
        "\t",
        ",",
        ";",
        "\n",
        "\"",
        "{\"iin\": ",
        "}",
        "[",
        "]",
        ":",
        "\\",
        "\r",
        "abc",
        "1c77f",
        "e5",
    ];

    /// An ID column that counts a cell: what skipping a reader must never lose.
    fn counting_column(cols: &Columns) -> Option<&Column> {
        cols.cols.iter().find(|c| c.is_id() && !c.groups.is_empty())
    }

    fn has_groups(cols: &Columns) -> bool {
        cols.cols.iter().any(|c| !c.groups.is_empty())
    }

    proptest::proptest! {
        /// Where the gate says no ID cell can be there, no reader finds one:
        /// skipping the columns changes nothing.
        #[test]
        fn gate_passes_every_input_with_counted_cells(
            picks in proptest::collection::vec(0..GATE_PIECES.len(), 0..80),
        ) {
            let bytes: Vec<u8> = picks.iter().flat_map(|&i| GATE_PIECES[i].bytes()).collect();
            for f in [Format::Csv, Format::Tsv] {
                if !gate(&bytes, f) {
                    proptest::prop_assert!(!has_groups(&csv::columns(&bytes, f).unwrap()), "{:?}", f);
                }
            }
            for f in [Format::Json, Format::Jsonl] {
                if !gate(&bytes, f) {
                    proptest::prop_assert!(!has_groups(&json::columns(&bytes, f)), "{:?}", f);
                }
            }
        }
    }

    /// JSON pieces around the keys' bounds: ID values under a key (as
    /// numbers, strings, padded, in arrays), other values, empty ones, keys
    /// that say IIN, escapes and line ends that carry strings over.
    const KEY_PIECES: &[&[u8]] = &[
        b"{\"u\": 850314319331}\n",
        b"{\"u\":921130474626,\"t\":1}\n",
        b"{\"u\": \" 50101300018\"}\n",
        b"{\"u\" : 850314319331.0}",
        b"{\"u\": 123}\n",
        b"{\"u\": \"x\"}\n",
        b"{\"u\": \"\"}\n",
        b"{\"u\": -}\n",
        b"{\"v\": 850314319331}\n",
        b"{\"v\": [850314319331, \"921130474626\"]}\n",
        b"{\"\xff\": 850314319331}\n",
        b"{\"\xfe\": 921130474626}\n",
        b"{\"iin\": 7}\n",
        b"\"u\":",
        b"\"",
        b"\\",
        b"\n",
        b" ",
        b"x",
        b"850314319331",
    ];

    proptest::proptest! {
        /// Where the key bounds say no column can be an ID column, the
        /// lexer finds none that counts a cell: skipping it changes nothing.
        #[test]
        fn key_bounds_pass_every_input_with_an_id_column(
            picks in proptest::collection::vec(0..KEY_PIECES.len(), 0..60),
        ) {
            let bytes: Vec<u8> = picks.iter().flat_map(|&i| KEY_PIECES[i].iter().copied()).collect();
            if !json_bound(&bytes) {
                for f in [Format::Json, Format::Jsonl] {
                    let cols = json::columns(&bytes, f);
                    let counting = counting_column(&cols);
                    proptest::prop_assert!(counting.is_none(), "{:?}: {:?}", f, counting.map(|c| &c.name));
                }
            }
        }

        /// The CSV bound's quote test, run along its digit pass, answers
        /// what the whole input searched for a quote first would: with a
        /// quote, whether a candidate run exists at all (its list checked
        /// as far as it says it knows).
        #[test]
        fn csv_bound_tests_quotes_as_a_search_first_would(
            picks in proptest::collection::vec(0..CSV_BOUND_PIECES.len(), 0..60),
            part in proptest::sample::select(vec![0usize, 1, 7, 64]),
        ) {
            let bytes: Vec<u8> = picks.iter().flat_map(|&i| CSV_BOUND_PIECES[i].iter().copied()).collect();
            for f in [Format::Csv, Format::Tsv] {
                let pass = || match part {
                    0 => DigitPass::new(),
                    n => DigitPass::parallel(n),
                };
                let mut got = pass();
                let yes = csv::may_have_id_column(&bytes, f, &mut got);
                check_runs(&bytes, &got, yes);
                if memchr::memchr(b'"', &bytes).is_some() {
                    proptest::prop_assert_eq!(yes, gate(&bytes, f), "{:?}", f);
                } else {
                    // No quote: the whole input was read, as before.
                    proptest::prop_assert_eq!(got.twelves.known_to(), bytes.len() as u64);
                }
            }
        }
    }

    #[test]
    fn key_bounds_on_logs() {
        // A key with a few valid IDs among many other values: not an ID column.
        let mut log = Vec::new();
        for i in 0..40u64 {
            let v = if i % 10 == 0 {
                850314319331
            } else {
                746674632673 + i
            };
            log.extend_from_slice(format!("{{\"ts\":\"x\",\"user_id\":{v}}}\n").as_bytes());
        }
        assert!(!json_bound(&log));
        // Mostly valid IDs: it may be one (and is).
        let mut ids = Vec::new();
        for _ in 0..4 {
            ids.extend_from_slice(b"{\"user_id\":850314319331}\n{\"user_id\":\"921130474626\"}\n");
        }
        assert!(json_bound(&ids));
        let cols = json::columns(&ids, Format::Jsonl);
        assert!(counting_column(&cols).is_some());
        // `"user_id":` after a closing quote is no key: those values do not
        // count as the column's cells, so its three IDs make it one.
        let mut fake = b"{\"user_id\": 850314319331}\n".repeat(3);
        fake.extend(b"{\"a\": \"\"user_id\": 5}\n".repeat(10));
        assert!(json_bound(&fake));
        let cols = json::columns(&fake, Format::Jsonl);
        assert!(counting_column(&cols).is_some());
        // A key that says IIN, or a run in an array: the lexer decides.
        assert!(json_bound(b"{\"client_iin\": 850314319331}"));
        assert!(json_bound(b"{\"x\": [850314319331]}"));
        assert!(!json_bound(b"{\"x\": 850314319332}"));
    }

    /// CSV pieces around the columns' bounds: rows with IDs (12 digits,
    /// padded, `.0`, blank-padded) and without, in one column or another,
    /// empty and ragged rows, every line end, quotes, header names that say
    /// IIN, other delimiters.
    const CSV_BOUND_PIECES: &[&[u8]] = &[
        b"850314319331,1\n921130474626,2\n040229568857,3\n",
        b"1;850314319331\r\n2;921130474626\r3;50101300018.0\n",
        b"850314319331,1\n",
        b"1,921130474626\n",
        b" 50101300018.0 ;2\r\n",
        b"x,7\n",
        b",\n",
        b"\t,x\r",
        b"a,b,850314319331\n",
        b"id,iin\n",
        b"name;x\n",
        b"\"850314319331\",\"a\"\n",
        b"850314319332,1\n",
        b"850314319331",
        b",",
        b";",
        b"\t",
        b"\n",
        b"\r",
        b" ",
        b"\"",
        b"1",
    ];

    proptest::proptest! {
        /// Where the CSV bounds say no column can be an ID column, the
        /// reader finds none that counts a cell: skipping it changes nothing.
        #[test]
        fn csv_bounds_pass_every_input_with_an_id_column(
            picks in proptest::collection::vec(0..CSV_BOUND_PIECES.len(), 0..60),
        ) {
            let bytes: Vec<u8> = picks.iter().flat_map(|&i| CSV_BOUND_PIECES[i].iter().copied()).collect();
            for f in [Format::Csv, Format::Tsv] {
                if !csv_bound(&bytes, f) {
                    let cols = csv::columns(&bytes, f).unwrap();
                    let counting = counting_column(&cols);
                    proptest::prop_assert!(counting.is_none(), "{:?}: {:?}", f, counting.map(|c| &c.name));
                }
            }
        }
    }

    /// Whether the CSV reader finds a column that counts a cell.
    fn csv_counts(bytes: &[u8]) -> bool {
        counting_column(&csv::columns(bytes, Format::Csv).unwrap()).is_some()
    }

    #[test]
    fn csv_bounds_on_tables() {
        // A column with a few valid IDs among many other numbers: no ID column.
        let mut table = b"n,account,phone\n".to_vec();
        for i in 0..40u64 {
            let account = if i % 10 == 0 {
                850314319331
            } else {
                746674632673 + i
            };
            table.extend_from_slice(format!("{i},{account},7701{i:07}\n").as_bytes());
        }
        assert!(!csv_bound(&table, Format::Csv));
        assert!(!csv_counts(&table));
        // The same with `\r` and `\r\n` line ends and blanks around cells.
        let cr = String::from_utf8(table.clone())
            .unwrap()
            .replace(",7701", " , 7701");
        let cr = cr.replacen('\n', "\r", 20).replace('\n', "\r\n");
        assert!(!csv_bound(cr.as_bytes(), Format::Csv));
        // Mostly valid IDs: it may be one (and is).
        let ids = b"n,account\n1,850314319331\n2,921130474626\n3,040229568857\n4,x\n";
        assert!(csv_bound(ids, Format::Csv));
        assert!(csv_counts(ids));
        // A name that says IIN decides for one ID.
        let named = b"n,client_iin\n1,850314319331\n2,x\n3,y\n4,z\n";
        assert!(csv_bound(named, Format::Csv));
        assert!(csv_counts(named));
        // IDs past the header's columns, in rows few others reach: an ID
        // column by position (ragged rows are not counted as cells).
        let mut ragged = b"a,b\n".to_vec();
        ragged.extend(b"1,2\n".repeat(20));
        ragged.extend(b"1,2,850314319331\n".repeat(3));
        assert!(csv_bound(&ragged, Format::Csv));
        assert!(csv_counts(&ragged));
        // Each run is put in its column: the same IDs spread over three
        // columns are never three in one.
        let spread =
            b"a,b,c\n850314319331,x,y\nx,850314319331,y\nx,y,850314319331\nx,y,z\nx,y,z\nx,y,z\n";
        assert!(!csv_bound(spread, Format::Csv));
        assert!(!csv_counts(spread));
        // ... and a `\r` ends a line like a `\n` does.
        let by_cr = b"a,b\r850314319331,x\rx,850314319331\rx,850314319331\rx,850314319331\r";
        assert!(csv_bound(by_cr, Format::Csv));
        assert!(csv_counts(by_cr));
        // A quote anywhere: only the gate, then the reader, decides.
        let quoted = b"n,note\n1,\"a\nb\"\n850314319331,x\n";
        assert!(csv_bound(quoted, Format::Csv));
        assert!(!csv_bound(b"\"a\",850314319332\n", Format::Csv));
    }

    #[test]
    fn gate_on_logs_and_tables() {
        use Format::{Csv, Json, Jsonl};
        // A 13-digit epoch, an invalid ID, a valid one inside a hex string.
        let log =
            b"{\"ts\":\"2025-08-28T13:05:35Z\",\"epoch_ms\":1775196831538,\"n\":850314319332}\n\
                    {\"trace\":\"1c77f850314319331ab\"}\n";
        assert!(!gate(log, Jsonl));
        assert!(!gate(log, Json));
        // Phone numbers, invalid IDs, a valid one glued to text.
        let table = b"id,phone,note\n1,77011234567,x\n2,850314319332,ref-850314319331\n";
        assert!(!gate(table, Csv));
        for (input, f) in [
            (&b"id,iin\n1,850314319331\n"[..], Csv),
            (b"id;iin\n1;50101300018.0\r\n", Csv),
            (b"{\"iin\": \" 50101300018 \"}", Json),
            (b"{\"ids\": [1,2,921130474626]}", Json),
            // Outside a string the tolerant lexer reads a number here...
            (b"{\"iin\": x850314319331}", Json),
            // ... and here, after a string that went on past an escaped
            // line end and closes on this line.
            (b"{\"a\": \"x\\\n\", \"iin\": y850314319331}", Jsonl),
        ] {
            assert!(gate(input, f), "{}", String::from_utf8_lossy(input));
            // Each is a counted cell indeed.
            let cols = match f {
                Csv => csv::columns(input, f).unwrap(),
                _ => json::columns(input, f),
            };
            assert!(has_groups(&cols), "{}", String::from_utf8_lossy(input));
        }
        assert!(!gate(b"{\"iin\": x850314319331}", Csv));
        assert!(!gate(b"{\"a\": \"x y850314319331\"}", Json));
    }

    #[test]
    fn a_column_of_ids_is_an_id_column_by_its_values() {
        let mut c = Column::new("x", Some(0));
        for v in ["850314319331", "921130474626", "850314319331", "n/a"] {
            c.observe(v.as_bytes(), At::Byte(0));
        }
        assert!(c.is_id());
        assert_eq!(c.groups.len(), 1);
        assert_eq!(c.groups[0].count, 3);
        assert_eq!(c.groups[0].distinct.len(), 2);
        let mut d = Column::new("notes", Some(1));
        for v in ["850314319331", "a", "b", "c", "d", "e", "f"] {
            d.observe(v.as_bytes(), At::Byte(0));
        }
        assert!(!d.is_id());
    }
}
