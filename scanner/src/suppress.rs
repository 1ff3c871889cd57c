//! Suppressions: inline `shekara:ignore` comments and baseline files.
//!
//! A suppressed finding stays in the report (and the evidence); the report's
//! `suppressions` list names it by index with how and why it was accepted,
//! and it does not count for the exit code or the verdicts.
//!
//! Inline comments are looked for only around findings: the finding's line
//! and the line before, from the bytes in hand when the file was read whole,
//! mapped or streamed (see [`inline_in_window`]), else read back from the
//! file after the scan (at most a few KiB per finding), so the per-byte scan
//! is untouched. Findings inside
//! archives or read from standard input cannot be read back and are never
//! suppressed inline.

use std::collections::BTreeSet;
use std::fs::File;

use serde::{Deserialize, Serialize};

use crate::findings::FindingList;
use crate::model::Finding;

/// The inline marker.
pub const MARKER: &str = "shekara:ignore";
/// Baseline schema identifier.
pub const BASELINE_SCHEMA: &str = "shekara.baseline/v1";

/// How much of a line (before the finding) is read back.
const BACK: u64 = 4096;

/// One accepted finding.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Suppression {
    /// Index into the report's `findings`.
    pub finding: usize,
    /// `inline` or `baseline`.
    pub by: String,
    /// Why (the baseline entry's reason, or the inline comment's rule list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Until when (baseline entries, `YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Indices of suppressed findings.
pub fn suppressed_set(s: &[Suppression]) -> BTreeSet<usize> {
    s.iter().map(|s| s.finding).collect()
}

/// One baseline entry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    /// The finding's keyed fingerprint (`bk3:…`).
    pub fingerprint: String,
    /// Its rule id.
    pub rule: String,
    /// Its path, relative to the root; when present it must match too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Why it is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Last day it holds (`YYYY-MM-DD`, UTC); none: no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A baseline file: accepted findings, by fingerprint.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// [`BASELINE_SCHEMA`].
    pub schema: String,
    /// Id of the fingerprint key the fingerprints were made with.
    pub fingerprint_key: String,
    /// The accepted findings.
    #[serde(default)]
    pub accept: Vec<Accepted>,
}

impl Baseline {
    /// A baseline accepting every finding of a report.
    pub fn of<'a>(
        findings: impl IntoIterator<Item = &'a Finding>,
        key_id: &str,
        reason: Option<&str>,
        expires: Option<&str>,
    ) -> Baseline {
        let mut accept: Vec<Accepted> = findings
            .into_iter()
            .map(|f| Accepted {
                fingerprint: f.evidence.fingerprint.to_string(),
                rule: f.rule.to_string(),
                path: Some(f.location.path.to_string()),
                reason: reason.map(String::from),
                expires: expires.map(String::from),
            })
            .collect();
        accept.sort_by(|a, b| {
            (&a.path, &a.rule, &a.fingerprint).cmp(&(&b.path, &b.rule, &b.fingerprint))
        });
        accept.dedup();
        Baseline {
            schema: BASELINE_SCHEMA.into(),
            fingerprint_key: key_id.into(),
            accept,
        }
    }

    /// Parses a baseline (TOML).
    ///
    /// # Errors
    /// Bad TOML, unknown keys, a wrong schema or a bad date.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let b: Baseline = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(l) => format!("line {l}: {}", e.message().trim()),
                None => e.message().trim().to_string(),
            }
        })?;
        if b.schema != BASELINE_SCHEMA {
            return Err(format!(
                "schema is '{}', expected '{BASELINE_SCHEMA}'",
                b.schema
            ));
        }
        for a in &b.accept {
            if let Some(d) = &a.expires {
                if parse_date(d).is_none() {
                    return Err(format!("expires = '{d}' is not a date YYYY-MM-DD"));
                }
            }
        }
        Ok(b)
    }

    /// Writes it as TOML.
    pub fn to_toml(&self) -> String {
        let mut s = String::from(
            "# shekara baseline: accepted findings. Suppressed findings stay in reports and\n\
             # evidence, marked as suppressed; they do not count for exit codes or verdicts.\n",
        );
        s.push_str(&toml::to_string(self).unwrap_or_default());
        s
    }

    /// The entry accepting `f` on `today` (`YYYY-MM-DD`), if any.
    fn accepts(&self, f: &Finding, today: &str) -> Option<&Accepted> {
        self.accept.iter().find(|a| {
            *a.fingerprint == *f.evidence.fingerprint
                && a.rule == f.rule
                && a.path.as_deref().is_none_or(|p| p == &*f.location.path)
                && a.expires.as_deref().is_none_or(|d| d >= today)
        })
    }

    /// Entries whose expiry date is before `today`.
    pub fn expired(&self, today: &str) -> usize {
        self.accept
            .iter()
            .filter(|a| a.expires.as_deref().is_some_and(|d| d < today))
            .count()
    }
}

fn parse_date(s: &str) -> Option<()> {
    let b = s.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    ok.then_some(())
}

/// Today, UTC, `YYYY-MM-DD`.
pub fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Baseline suppressions for `findings`.
pub fn baseline<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    b: &Baseline,
    today: &str,
) -> Vec<Suppression> {
    findings
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| {
            b.accepts(f, today).map(|a| Suppression {
                finding: i,
                by: "baseline".into(),
                reason: a.reason.clone(),
                expires: a.expires.clone(),
            })
        })
        .collect()
}

/// Inline suppressions: `file_of(finding)` gives the file to read back, or
/// `None` when it cannot be (archive members, standard input).
///
/// Findings come sorted by file and offset; each file is read back in blocks
/// of [`BLOCK`] bytes around its findings, and a block without the marker
/// settles all of its findings at once.
pub fn inline<L: FindingList + ?Sized>(
    findings: &L,
    file_of: impl Fn(&Finding) -> Option<std::path::PathBuf> + Sync,
) -> Vec<Suppression>
where
    for<'x> &'x L: IntoIterator<Item = &'x Finding>,
{
    inline_unless(findings, |_| false, file_of)
}

/// [`inline`] for the findings whose index `settled` rejects (those whose
/// answer is already known, from the cache): their files are not read.
pub fn inline_unless<L: FindingList + ?Sized>(
    findings: &L,
    settled: impl Fn(usize) -> bool + Sync,
    file_of: impl Fn(&Finding) -> Option<std::path::PathBuf> + Sync,
) -> Vec<Suppression>
where
    for<'x> &'x L: IntoIterator<Item = &'x Finding>,
{
    use rayon::prelude::*;
    // Findings come grouped by file: each file is read back on its own,
    // files in parallel, and the answers joined in order.
    file_runs(findings, |i| !settled(i))
        .into_par_iter()
        .flat_map_iter(|run| inline_in_file(findings, run, &settled, &file_of))
        .collect()
}

/// [`inline`] for an input held in memory rather than read back from disk
/// (a git blob, a fetched object): `findings` at offsets into `bytes`, the
/// whole input. The same lines are searched as a read-back would (the
/// finding's line, within [`BACK`] bytes before it, and the comment line
/// before). Findings inside archive members are never suppressed inline.
/// Returns (index among `findings`, reason), the form the cache keeps.
pub fn inline_in_bytes(findings: &[Finding], bytes: &[u8]) -> crate::cache::Inline {
    let top = findings.iter().enumerate();
    inline_from(
        bytes,
        top.filter(|(_, f)| f.location.inner().is_empty())
            .map(|(i, f)| (i, f.location.byte_offset, &*f.rule)),
    )
}

/// Bytes per finding past which [`inline_from`] looks at each finding's
/// lines rather than first searching the whole input for the marker.
const SPARSE: usize = 2048;

/// [`inline_in_bytes`] for findings given as (index, byte offset, rule),
/// before they are made into [`Finding`]s (a file scanned whole, or mapped,
/// settles its inline ignores while its bytes are at hand, and is not read
/// back after the scan).
pub fn inline_from<'a>(
    bytes: &[u8],
    findings: impl IntoIterator<Item = (usize, u64, &'a str)>,
) -> crate::cache::Inline {
    let findings: Vec<(usize, u64, &str)> = findings.into_iter().collect();
    // A few findings in a large input: their lines are looked at directly.
    // Many: one search of the whole input for the marker first.
    let sparse = findings.len().saturating_mul(SPARSE) < bytes.len();
    if findings.is_empty() || (!sparse && marker_finder().find(bytes).is_none()) {
        return Vec::new();
    }
    findings
        .into_iter()
        .filter_map(|(i, at, rule)| {
            Some((i, inline_around(bytes, usize::try_from(at).ok()?, rule)?))
        })
        .collect()
}

/// The inline ignore of a finding of `rule` at offset `at` of `bytes`, the
/// whole input: what [`inline_from`] answers for it.
pub(crate) fn inline_around(bytes: &[u8], at: usize, rule: &str) -> Option<String> {
    if at > bytes.len() {
        return None;
    }
    let lo = at.saturating_sub(BACK as usize);
    let hi = bytes.len().min(at.saturating_add(BLOCK as usize));
    check_lines_counting(&bytes[lo..hi], at - lo, rule).0
}

/// Whether `count` findings at offsets `first` to `last` are dense enough
/// that one search of the marker over the lines [`inline_around`] reads
/// for them all costs less than looking at each (see [`SPARSE`]).
pub(crate) fn dense(count: usize, first: usize, last: usize) -> bool {
    let region = last.saturating_sub(first) + (BACK + BLOCK) as usize;
    count.saturating_mul(SPARSE) > region
}

/// Whether the lines [`inline_around`] reads for findings at offsets `first`
/// to `last` of `bytes` hold no inline-ignore marker at all.
pub(crate) fn no_marker_around(bytes: &[u8], first: usize, last: usize) -> bool {
    let hi = bytes.len().min(last.saturating_add(BLOCK as usize));
    let lo = first.saturating_sub(BACK as usize).min(hi);
    marker_finder().find(&bytes[lo..hi]).is_none()
}

/// The runs of consecutive findings in one file (members of an archive
/// included: they share its path) that `wanted` accepts: most files'
/// answers are settled during the scan, and their findings are passed over
/// without comparing paths.
fn file_runs<L: FindingList + ?Sized>(
    findings: &L,
    wanted: impl Fn(usize) -> bool,
) -> Vec<std::ops::Range<usize>>
where
    for<'x> &'x L: IntoIterator<Item = &'x Finding>,
{
    fn key(f: &Finding) -> (usize, &str, Option<&str>) {
        (f.location.root, &*f.location.path, f.location.path_base64())
    }
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    let mut len = 0;
    for (i, f) in findings.into_iter().enumerate() {
        len = i + 1;
        if !wanted(i) {
            runs.extend(start.take().map(|s| s..i));
            continue;
        }
        match start {
            Some(s) if key(f) == key(&findings[s]) => {}
            _ => runs.extend(start.replace(i).map(|s| s..i)),
        }
    }
    runs.extend(start.map(|s| s..len));
    runs
}

/// [`inline_unless`] over the findings `run` of one file: the file is
/// opened once, when a finding in it needs an answer.
fn inline_in_file<L: FindingList + ?Sized>(
    findings: &L,
    run: std::ops::Range<usize>,
    settled: &impl Fn(usize) -> bool,
    file_of: &impl Fn(&Finding) -> Option<std::path::PathBuf>,
) -> Vec<Suppression> {
    let mut out = Vec::new();
    let mut open: Option<Option<File>> = None;
    let mut block = Block::default();
    for i in run {
        let f = &findings[i];
        if !f.location.inner().is_empty() || settled(i) {
            continue;
        }
        let file = open.get_or_insert_with(|| file_of(f).and_then(|p| File::open(p).ok()));
        let Some(file) = file else { continue };
        if let Some(reason) = block.check(file, f.location.byte_offset, &f.rule) {
            out.push(Suppression {
                finding: i,
                by: "inline".into(),
                reason: Some(reason),
                expires: None,
            });
        }
    }
    out
}

/// Bytes read back at a time around findings.
const BLOCK: u64 = 64 << 10;

/// A cached part of a file: `bytes` start at `start`.
///
/// Each finding's own lines are searched for the marker; a block is searched
/// whole (once) only when its findings' lines add up to more than the block,
/// e.g. many findings on one long line. Either way the answer is the one
/// [`check_lines`] gives on the block's bytes.
#[derive(Default)]
struct Block {
    start: u64,
    bytes: Vec<u8>,
    /// Whether the block holds the marker, once searched.
    has_marker: Option<bool>,
    /// Bytes of lines searched in this block so far.
    spent: usize,
}

impl Block {
    /// Whether the line holding `offset`, or the (comment) line before, ignores `rule`.
    fn check(&mut self, file: &File, offset: u64, rule: &str) -> Option<String> {
        let want_start = offset.saturating_sub(BACK);
        let end = self.start + self.bytes.len() as u64;
        let covered = self.start <= want_start && offset + 512 <= end;
        if !covered {
            self.start = want_start;
            read_into(
                file,
                want_start,
                offset - want_start + BLOCK,
                &mut self.bytes,
            );
            self.has_marker = None;
            self.spent = 0;
        }
        if self.has_marker.is_none() && self.spent > self.bytes.len() {
            self.has_marker = Some(marker_finder().find(&self.bytes).is_some());
        }
        if self.has_marker == Some(false) {
            return None;
        }
        let at = usize::try_from(offset - self.start).ok()?;
        let lo = at.saturating_sub(BACK as usize);
        let (why, looked) = check_lines_counting(&self.bytes[lo..], at - lo, rule);
        self.spent += looked;
        why
    }
}

/// The marker's searcher, built once.
fn marker_finder() -> &'static memchr::memmem::Finder<'static> {
    static FINDER: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
        std::sync::OnceLock::new();
    FINDER.get_or_init(|| memchr::memmem::Finder::new(MARKER.as_bytes()))
}

/// Replaces `buf` with up to `len` bytes of `file` from `at` (fewer at its
/// end or on a read error), without zeroing the buffer first.
fn read_into(file: &File, at: u64, len: u64, buf: &mut Vec<u8>) {
    use std::io::{Read, Seek, SeekFrom};
    let want = usize::try_from(len).unwrap_or(0);
    if buf.capacity() < want {
        // A fresh allocation: growing would copy the old bytes over.
        *buf = Vec::with_capacity(want);
    }
    buf.clear();
    let mut reader: &File = file;
    if reader.seek(SeekFrom::Start(at)).is_ok() {
        // Bytes read before an error stay in `buf`.
        let _ = reader.take(len).read_to_end(buf);
    }
}

/// Whether the line holding `offset`, or the line before, says to ignore `rule`.
#[cfg(test)]
fn inline_at(file: &File, offset: u64, rule: &str) -> Option<String> {
    let start = offset.saturating_sub(BACK);
    let mut buf = vec![0u8; (offset - start) as usize + 512];
    let n = read_at_most(file, &mut buf, start);
    buf.truncate(n);
    check_lines(&buf, usize::try_from(offset - start).ok()?, rule)
}

/// `buf[at]` is the finding's first byte.
#[cfg(test)]
fn check_lines(buf: &[u8], at: usize, rule: &str) -> Option<String> {
    check_lines_counting(buf, at, rule).0
}

/// Where the line holding `buf[at]` and the line before start, and where
/// that line ends: (line before, line, end), each `0` or `buf.len()` when
/// no newline bounds it inside `buf`.
fn line_bounds(buf: &[u8], at: usize) -> (usize, usize, usize) {
    let at = at.min(buf.len());
    let line_start = memchr::memrchr(b'\n', &buf[..at]).map_or(0, |p| p + 1);
    let line_end = memchr::memchr(b'\n', &buf[at..]).map_or(buf.len(), |p| at + p);
    let prev_start = if line_start == 0 {
        0
    } else {
        memchr::memrchr(b'\n', &buf[..line_start - 1]).map_or(0, |p| p + 1)
    };
    (prev_start, line_start, line_end)
}

/// Bytes past a finding that a block read back after the scan always
/// holds (see [`Block::check`]): a line ending within them ends at the
/// same place for every block.
const AHEAD: usize = 512;

/// The inline answer for the finding at `window[at]` of rule `rule`, while
/// a streamed file's window is at hand: `window` starts at byte `start` of
/// the file, and `at_end` says it ends where the file ends.
///
/// `Some(answer)` when the window holds all a read-back after the scan
/// would look at, so the answer is the one [`inline_unless`] gives: the
/// finding's line and the line before, back to [`BACK`] bytes before it,
/// and its line's end within [`AHEAD`] bytes (or the file's end). `None`
/// when the lines reach past the window: the file is read back then.
pub(crate) fn inline_in_window(
    window: &[u8],
    start: u64,
    at: usize,
    at_end: bool,
    rule: &str,
) -> Option<Option<String>> {
    // The read-back's first byte: BACK before the finding, or the file's start.
    let clip = (start + at as u64).saturating_sub(BACK);
    let lo = usize::try_from(clip.saturating_sub(start)).ok()?;
    let hi = window.len().min(at.saturating_add(AHEAD));
    let buf = window.get(lo..hi)?;
    let at = at.checked_sub(lo)?;
    let (prev_start, _, line_end) = line_bounds(buf, at);
    // A line cut by the window's edge, where the read-back's edge is elsewhere.
    if prev_start == 0 && clip < start {
        return None;
    }
    if line_end == buf.len() && !(at_end && hi == window.len()) {
        return None;
    }
    Some(check_lines_counting(buf, at, rule).0)
}

/// [`check_lines`], and how many bytes the two lines span.
fn check_lines_counting(buf: &[u8], at: usize, rule: &str) -> (Option<String>, usize) {
    let at = at.min(buf.len());
    let (prev_start, line_start, line_end) = line_bounds(buf, at);
    let looked = line_end - prev_start;
    if let Some(why) = directive(&buf[line_start..line_end], rule) {
        return (Some(why), looked);
    }
    // The line before counts only when it is a comment of its own: a
    // trailing comment on a code line is about that line.
    let prev = &buf[prev_start..line_start];
    if comment_only(prev) {
        return (directive(prev, rule), looked);
    }
    (None, looked)
}

/// Whether nothing but whitespace and comment leaders precedes the marker.
fn comment_only(line: &[u8]) -> bool {
    marker_finder().find(line).is_some_and(|at| {
        line[..at]
            .iter()
            .all(|c| c.is_ascii_whitespace() || b"#/-;*<!%'".contains(c))
    })
}

#[cfg(test)]
fn read_at_most(file: &File, buf: &mut [u8], mut at: u64) -> usize {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], at) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                n += k;
                at += k as u64;
            }
        }
    }
    n
}

/// `shekara:ignore` (all rules) or `shekara:ignore RULE[,RULE…]` in `line`, matching `rule`.
fn directive(line: &[u8], rule: &str) -> Option<String> {
    let at = marker_finder().find(line)?;
    let rest = &line[at + MARKER.len()..];
    if rest
        .first()
        .is_some_and(|c| !c.is_ascii_whitespace() && *c != b',')
    {
        return None; // e.g. `shekara:ignored`
    }
    let rest = String::from_utf8_lossy(rest);
    let list: Vec<&str> = rest
        .split_whitespace()
        .next()
        .map(|w| w.split(',').filter(|r| !r.is_empty()).collect())
        .unwrap_or_default();
    let rules: Vec<&str> = list
        .into_iter()
        .filter(|r| r.contains('.') && !r.starts_with("*/") && !r.starts_with("-->"))
        .collect();
    if rules.is_empty() {
        return Some(format!("inline {MARKER}"));
    }
    rules
        .contains(&rule)
        .then(|| format!("inline {MARKER} {}", rules.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_wanted_findings_in_one_file() {
        let paths = ["a", "a", "b", "b", "b", "a", "c", "c"];
        let findings: Vec<Finding> = paths
            .iter()
            .map(|p| Finding::sample(shekara_detectors::Kind::Iin, p))
            .collect();
        assert_eq!(file_runs(&findings, |_| true), [0..2, 2..5, 5..6, 6..8]);
        assert_eq!(
            file_runs(&findings, |i| i != 3 && i != 6),
            [0..2, 2..3, 4..5, 5..6, 7..8]
        );
        assert_eq!(file_runs(&findings, |i| (2..5).contains(&i)), vec![2..5]);
        assert!(file_runs(&findings, |_| false).is_empty());
        assert!(file_runs(&[][..], |_| true).is_empty());
    }

    #[test]
    fn directives() {
        assert!(directive(b"x = 1 # shekara:ignore", "kz.iin").is_some());
        assert!(directive(b"# shekara:ignore kz.iin", "kz.iin").is_some());
        assert!(directive(b"# shekara:ignore kz.bin,kz.iin -- test data", "kz.iin").is_some());
        assert!(directive(b"# shekara:ignore kz.bin", "kz.iin").is_none());
        assert!(directive(b"# shekara:ignored", "kz.iin").is_none());
        assert!(directive(b"# nothing here", "kz.iin").is_none());
        assert!(directive(b"/* shekara:ignore */", "kz.iin").is_some());
    }

    #[test]
    fn line_and_line_before_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        let text = "# shekara:ignore\nA 850314319331\nB 850314319331\nC 850314319331 // shekara:ignore kz.iin\nD 850314319331\n";
        std::fs::write(&p, text).unwrap();
        let f = File::open(&p).unwrap();
        let off = |line: &str| text.find(line).unwrap() as u64 + 2;
        assert!(inline_at(&f, off("A "), "kz.iin").is_some(), "line before");
        assert!(
            inline_at(&f, off("B "), "kz.iin").is_none(),
            "two lines below"
        );
        assert!(inline_at(&f, off("C "), "kz.iin").is_some(), "same line");
        assert!(inline_at(&f, off("C "), "kz.bin").is_none(), "other rule");
        assert!(
            inline_at(&f, off("D "), "kz.iin").is_none(),
            "a trailing comment is about its own line"
        );
    }

    /// The read-back as it was before blocks were searched line by line:
    /// a zeroed buffer per read, the whole block searched for the marker.
    /// The oracle of `blocks_agree_with_whole_block_search`.
    #[derive(Default)]
    struct WholeBlockSearch {
        start: u64,
        bytes: Vec<u8>,
        has_marker: bool,
    }

    impl WholeBlockSearch {
        fn check(&mut self, file: &File, offset: u64, rule: &str) -> Option<String> {
            let want_start = offset.saturating_sub(BACK);
            let end = self.start + self.bytes.len() as u64;
            if !(self.start <= want_start && offset + 512 <= end) {
                self.start = want_start;
                self.bytes.resize((offset - want_start + BLOCK) as usize, 0);
                let n = read_at_most(file, &mut self.bytes, want_start);
                self.bytes.truncate(n);
                self.has_marker = memchr::memmem::find(&self.bytes, MARKER.as_bytes()).is_some();
            }
            if !self.has_marker {
                return None;
            }
            let at = usize::try_from(offset - self.start).ok()?;
            let lo = at.saturating_sub(BACK as usize);
            check_lines(&self.bytes[lo..], at - lo, rule)
        }
    }

    /// Short lines, a long line with many findings and a marker far along
    /// it, markers in and out of blocks: every finding gets the answer the
    /// whole-block search gave.
    #[test]
    fn blocks_agree_with_whole_block_search() {
        let mut text = String::new();
        for i in 0..3000 {
            match i % 10 {
                0 => text.push_str("# shekara:ignore\n"),
                3 => text.push_str("x 850314319331 // shekara:ignore kz.iin\n"),
                _ => {}
            }
            text.push_str(&format!("row {i} 850314319331 921130474626\n"));
            if i == 1500 {
                for j in 0..4000 {
                    text.push_str(&format!("{{\"iin\": \"850314319331\"}} {j} "));
                    if j == 3000 {
                        text.push_str("/* shekara:ignore */ ");
                    }
                }
                text.push('\n');
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, &text).unwrap();
        let f = File::open(&p).unwrap();
        let offsets: Vec<u64> = memchr::memmem::find_iter(text.as_bytes(), b"850314319331")
            .map(|o| o as u64)
            .collect();
        let (mut new, mut old) = (Block::default(), WholeBlockSearch::default());
        let mut suppressed = 0;
        for &o in &offsets {
            for rule in ["kz.iin", "kz.bin"] {
                let got = new.check(&f, o, rule);
                assert_eq!(got, old.check(&f, o, rule), "offset {o} rule {rule}");
                suppressed += usize::from(got.is_some());
            }
        }
        assert!(suppressed > 600, "{suppressed}");
    }

    #[test]
    fn in_memory_inputs_are_suppressed_as_files_are() {
        let mut text = String::new();
        for i in 0..400 {
            match i % 10 {
                0 => text.push_str("# shekara:ignore\n"),
                3 => text.push_str("x 850314319331 // shekara:ignore kz.iin -- fixture\n"),
                5 => text.push_str("y = 1 # shekara:ignore\n"),
                _ => {}
            }
            text.push_str(&format!("row {i} 850314319331 050340765602\n"));
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, &text).unwrap();
        let mut findings = Vec::new();
        for (needle, kind, rule) in [
            ("850314319331", shekara_detectors::Kind::Iin, "kz.iin"),
            ("050340765602", shekara_detectors::Kind::Bin, "kz.bin"),
        ] {
            for o in memchr::memmem::find_iter(text.as_bytes(), needle.as_bytes()) {
                let mut f = Finding::sample(kind, "a.txt");
                f.rule = rule.into();
                f.location.byte_offset = o as u64;
                findings.push(f);
            }
        }
        findings.sort_by_key(|f| f.location.byte_offset);
        let from_file: crate::cache::Inline = inline(&findings, |_| Some(p.clone()))
            .into_iter()
            .map(|s| (s.finding, s.reason.unwrap_or_default()))
            .collect();
        let from_bytes = inline_in_bytes(&findings, text.as_bytes());
        assert!(from_file.len() > 50, "{}", from_file.len());
        assert_eq!(from_bytes, from_file);
        assert!(from_bytes
            .iter()
            .any(|(_, why)| why == "inline shekara:ignore kz.iin"));
        // No marker: nothing, without a search per finding.
        let plain = text.replace("shekara:ignore", "nothing:here");
        assert!(inline_in_bytes(&findings, plain.as_bytes()).is_empty());
        // A member's finding is never suppressed inline.
        let mut member = findings.clone();
        for f in &mut member {
            f.location.set_inner(vec!["x.txt".into()]);
        }
        assert!(inline_in_bytes(&member, text.as_bytes()).is_empty());

        // Few findings far apart (their lines are looked at directly, with
        // no search of the whole input): the same answers as a read-back.
        let filler = "filler line without anything\n".repeat(2000);
        let sparse = format!(
            "# shekara:ignore\na 850314319331\n{filler}b 850314319331\n{filler}c 850314319331 # shekara:ignore\n"
        );
        let q = dir.path().join("b.txt");
        std::fs::write(&q, &sparse).unwrap();
        let mut few = Vec::new();
        for o in memchr::memmem::find_iter(sparse.as_bytes(), b"850314319331") {
            let mut f = Finding::sample(shekara_detectors::Kind::Iin, "b.txt");
            f.rule = "kz.iin".into();
            f.location.byte_offset = o as u64;
            few.push(f);
        }
        assert!(few.len() * SPARSE < sparse.len(), "sparse");
        let from_file: crate::cache::Inline = inline(&few, |_| Some(q.clone()))
            .into_iter()
            .map(|s| (s.finding, s.reason.unwrap_or_default()))
            .collect();
        let from_bytes = inline_in_bytes(&few, sparse.as_bytes());
        assert_eq!(
            from_bytes.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(from_bytes, from_file);
    }

    #[test]
    fn baseline_round_trip_and_expiry() {
        let b = Baseline {
            schema: BASELINE_SCHEMA.into(),
            fingerprint_key: "blake3:00".into(),
            accept: vec![Accepted {
                fingerprint: "bk3:aa".into(),
                rule: "kz.iin".into(),
                path: None,
                reason: Some("test data".into()),
                expires: Some("2030-01-01".into()),
            }],
        };
        let back = Baseline::parse(&b.to_toml()).unwrap();
        assert_eq!(back, b);
        assert_eq!(b.expired("2030-01-01"), 0);
        assert_eq!(b.expired("2030-01-02"), 1);
        assert!(Baseline::parse("schema = \"x\"\nfingerprint_key=\"\"\n").is_err());
        assert!(Baseline::parse(
            "schema = \"shekara.baseline/v1\"\nfingerprint_key=\"\"\nbogus=1\n"
        )
        .unwrap_err()
        .contains("line 3"));
    }
}
