//! The findings and report model: what `--format json` serializes.
//!
//! The contract (`shekara.report/v1`) is documented in `docs/report.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shekara_detectors::{Confidence, Kind, Severity};

/// The report schema identifier.
pub const REPORT_SCHEMA: &str = "shekara.report/v1";

fn ser_display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Where a finding is.
///
/// Reports hold hundreds of thousands of findings, and most have neither a
/// raw path, nor archive members, nor a commit: those rare fields live in
/// one box, absent when all are empty, which keeps a location 56 bytes
/// (read them with [`Location::path_base64`], [`Location::inner`],
/// [`Location::commit`], [`Location::author_date`]). Serialized with every
/// field in its place, as a plain struct of them would be.
#[derive(Clone, Debug)]
pub struct Location {
    /// Path relative to its scan root, with `/` (lossy UTF-8; see `path_base64`).
    /// Shared by the findings of one file: one allocation per file, and the
    /// one copy stays in cache while the report is written.
    pub path: std::sync::Arc<str>,
    /// Index of the scan root (in `scan.roots`).
    pub root: usize,
    /// 1-based line, when the input is text-like.
    pub line: Option<std::num::NonZeroU64>,
    /// 1-based column, in characters: Unicode code points of UTF-8 text (of
    /// bytes that are not UTF-8, each counts as one but a stray continuation
    /// byte, which counts as none).
    pub column: Option<std::num::NonZeroU64>,
    /// Byte offset of the finding's first byte.
    pub byte_offset: u64,
    rare: Option<Box<Rare>>,
}

/// Equal when every field reads the same (an emptied box equals none).
impl PartialEq for Location {
    fn eq(&self, other: &Location) -> bool {
        self.path == other.path
            && self.root == other.root
            && self.line == other.line
            && self.column == other.column
            && self.byte_offset == other.byte_offset
            && self.path_base64() == other.path_base64()
            && self.inner() == other.inner()
            && self.commit() == other.commit()
            && self.author_date() == other.author_date()
    }
}

impl Eq for Location {}

/// A location's rare fields (see [`Location`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Rare {
    path_base64: Option<Box<str>>,
    inner: Vec<String>,
    commit: Option<Box<str>>,
    author_date: Option<Box<str>>,
}

impl Location {
    /// The raw path bytes, base64, present only when the path is not UTF-8.
    pub fn path_base64(&self) -> Option<&str> {
        self.rare.as_ref()?.path_base64.as_deref()
    }

    /// Member paths inside archives or images, outermost first.
    pub fn inner(&self) -> &[String] {
        self.rare.as_ref().map_or(&[], |r| &r.inner)
    }

    /// Git history scans: the commit that introduced the blob.
    pub fn commit(&self) -> Option<&str> {
        self.rare.as_ref()?.commit.as_deref()
    }

    /// Git history scans: that commit's author date, RFC 3339.
    pub fn author_date(&self) -> Option<&str> {
        self.rare.as_ref()?.author_date.as_deref()
    }

    /// A place at `byte_offset` (and `line`, `column`) of `path` under
    /// root `root`, with no rare field (see the `with_` methods).
    pub fn new(
        path: impl Into<std::sync::Arc<str>>,
        root: usize,
        line: Option<std::num::NonZeroU64>,
        column: Option<std::num::NonZeroU64>,
        byte_offset: u64,
    ) -> Location {
        Location {
            path: path.into(),
            root,
            line,
            column,
            byte_offset,
            rare: None,
        }
    }

    /// This location with the raw path `v` (base64).
    pub fn with_path_base64(mut self, v: Option<Box<str>>) -> Location {
        self.set_path_base64(v);
        self
    }

    /// This location with the member paths `v`.
    pub fn with_inner(mut self, v: Vec<String>) -> Location {
        self.set_inner(v);
        self
    }

    /// This location with the commit `commit` of date `date`.
    pub fn with_commit(mut self, commit: Option<Box<str>>, date: Option<Box<str>>) -> Location {
        self.set_commit(commit);
        self.set_author_date(date);
        self
    }

    /// The rare fields, to change (made when there are none yet).
    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Sets the raw path (base64).
    pub fn set_path_base64(&mut self, v: Option<Box<str>>) {
        if v.is_some() || self.rare.is_some() {
            self.rare_mut().path_base64 = v;
        }
    }

    /// The member paths, to change.
    pub fn inner_mut(&mut self) -> &mut Vec<String> {
        &mut self.rare_mut().inner
    }

    /// Sets the member paths.
    pub fn set_inner(&mut self, v: Vec<String>) {
        if !v.is_empty() || self.rare.is_some() {
            self.rare_mut().inner = v;
        }
    }

    /// Sets the commit.
    pub fn set_commit(&mut self, v: Option<Box<str>>) {
        if v.is_some() || self.rare.is_some() {
            self.rare_mut().commit = v;
        }
    }

    /// Sets the author date.
    pub fn set_author_date(&mut self, v: Option<Box<str>>) {
        if v.is_some() || self.rare.is_some() {
            self.rare_mut().author_date = v;
        }
    }
}

/// A location as serde reads and writes it: every field in its place.
#[derive(Serialize, Deserialize)]
struct LocationForm<P, S, I> {
    path: P,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_base64: Option<S>,
    root: usize,
    inner: I,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<std::num::NonZeroU64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<std::num::NonZeroU64>,
    byte_offset: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    author_date: Option<S>,
}

impl Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        LocationForm {
            path: &*self.path,
            path_base64: self.path_base64(),
            root: self.root,
            inner: self.inner(),
            line: self.line,
            column: self.column,
            byte_offset: self.byte_offset,
            commit: self.commit(),
            author_date: self.author_date(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Location, D::Error> {
        let f = LocationForm::<std::sync::Arc<str>, Box<str>, Vec<String>>::deserialize(d)?;
        let mut l = Location {
            path: f.path,
            root: f.root,
            line: f.line,
            column: f.column,
            byte_offset: f.byte_offset,
            rare: None,
        };
        l.set_path_base64(f.path_base64);
        l.set_inner(f.inner);
        l.set_commit(f.commit);
        l.set_author_date(f.author_date);
        Ok(l)
    }
}

impl Finding {
    /// A finding of `kind` at `path` under root 0, for tests.
    #[cfg(test)]
    pub(crate) fn sample(kind: shekara_detectors::Kind, path: &str) -> Finding {
        Finding {
            kind,
            rule: "r".into(),
            severity: Severity::High,
            confidence: shekara_detectors::Confidence::High,
            location: Location::at(path, 0),
            count: 1,
            evidence: Evidence {
                masked: "m".into(),
                fingerprint: "bk3:0".into(),
                raw: None,
            },
            attributes: Default::default(),
            breach_notification: None,
        }
    }
}

impl Location {
    /// A place that is a whole file or folder (`path` under root `root`):
    /// no member, line or column, offset 0.
    pub fn at(path: impl Into<std::sync::Arc<str>>, root: usize) -> Location {
        Location::new(path, root, None, None, 0)
    }
}

/// What a report may show of the matched value.
///
/// The masked value and the fingerprint are shared: findings of one value
/// (an endpoint host named again and again) point to one copy, which a
/// thread remembers (see `FingerprintKey::masked_and_fingerprint`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Evidence {
    /// Masked value, e.g. `8503******31`.
    pub masked: std::sync::Arc<str>,
    /// Keyed fingerprint of the raw value: equal values give equal fingerprints under one key.
    pub fingerprint: std::sync::Arc<str>,
    /// The raw value: only with `--reveal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Box<str>>,
}

/// One reported finding.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Finding {
    /// What was found.
    #[serde(serialize_with = "ser_display")]
    pub kind: Kind,
    /// The rule that found it.
    pub rule: shekara_detectors::RuleId,
    /// How bad it is.
    #[serde(serialize_with = "ser_display")]
    pub severity: Severity,
    /// How sure the detector is.
    #[serde(serialize_with = "ser_display")]
    pub confidence: Confidence,
    /// Where.
    pub location: Location,
    /// Occurrences this finding stands for (≥ 1).
    pub count: u64,
    /// Masked value and fingerprint.
    pub evidence: Evidence,
    /// Kind-specific details.
    pub attributes: shekara_detectors::Attributes,
    /// For biometric findings: the breach-notification window and deadline
    /// (see [`crate::breach`]).
    /// Boxed: most findings have none, and a finding without it is 150
    /// bytes smaller (reports hold hundreds of thousands of findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breach_notification: Option<Box<BreachNotification>>,
}

/// How soon a leak of what a finding stands for must be notified.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BreachNotification {
    /// The data class: `biometric` or `personal`.
    pub class: String,
    /// ISO 8601 duration, e.g. `PT3H`.
    pub window: String,
    /// Whether the window counts business days.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub business_days: bool,
    /// Id of the legal reference (signatures/data/legal.toml).
    pub basis: String,
    /// The legal reference's citation.
    pub basis_title: String,
    /// When the clock starts (RFC 3339 UTC): when the scanner detected the
    /// finding (see [`crate::breach`]).
    pub detected: String,
    /// `detected` plus the window (RFC 3339 UTC).
    pub deadline: String,
}

/// Why a path was not scanned (or not completely).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A `.git` directory: never descended (use history scanning for it).
    VcsDirectory,
    /// Matched an `--exclude` glob.
    Excluded,
    /// A symbolic link, not followed without `--follow`.
    SymlinkNotFollowed,
    /// A symbolic link that leads back to one of its ancestors.
    SymlinkLoop,
    /// A FIFO, socket or device: never opened.
    SpecialFile,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// Could not be opened (permissions, vanished).
    Unreadable,
    /// Reading failed part-way; what was read before was scanned.
    ReadError,
    /// The file changed (shrank, grew or was rewritten) while being scanned.
    ChangedDuringScan,
    /// The directory walk reported an error here.
    WalkError,
    /// The object store refused access (HTTP 403, or listing a prefix was denied).
    AccessDenied,
    /// The scan was stopped (Ctrl-C) before this was scanned; the report is partial.
    Interrupted,
    // -- archives and images (scanner::unpack) --
    /// An archive nested deeper than `--max-depth`: not opened.
    ArchiveDepth,
    /// The entry-count or decompressed-bytes limit of the top-level file was
    /// reached (`--max-entries`, `--max-decompressed`): the rest was not scanned.
    ArchiveLimit,
    /// A compressed member or stream expands more than `--max-ratio` times (a bomb guard).
    CompressionRatio,
    /// An archive or compressed stream that does not decode; what decoded was scanned.
    CorruptArchive,
    /// A container-image blob whose SHA-256 differs from its digest (tampered or damaged).
    DigestMismatch,
    /// An archive feature that is not decoded (encryption, an unusual compression method).
    UnsupportedFormat,
    /// A member identical to an archive that encloses it (a quine): not opened again.
    ArchiveLoop,
    /// A container image read as a stream (compressed, nested, or from
    /// standard input): its content was scanned, but blob digests were not
    /// verified and whiteouts not resolved.
    ImageStreamed,
    /// A structured file (Parquet) that does not decode: its raw bytes were
    /// scanned instead, its decoded content was not.
    Corrupt,
}

impl Reason {
    /// Whether this reason means an error (as opposed to a choice of the user or the tool's policy).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Reason::Unreadable
                | Reason::ReadError
                | Reason::ChangedDuringScan
                | Reason::WalkError
                | Reason::SymlinkLoop
                | Reason::AccessDenied
                | Reason::Interrupted
                | Reason::CorruptArchive
                | Reason::DigestMismatch
                | Reason::Corrupt
        )
    }

    /// Whether this reason leaves content unscanned by policy (an archive
    /// limit), so that coverage is not complete and no verdict is `clean`.
    /// An archive loop counts: what it skips is a copy of what was scanned,
    /// but its nominal expansion is infinite, and a crafted archive gets no
    /// all-clear.
    pub fn is_limit(self) -> bool {
        matches!(
            self,
            Reason::TooLarge
                | Reason::ArchiveDepth
                | Reason::ArchiveLimit
                | Reason::CompressionRatio
                | Reason::UnsupportedFormat
                | Reason::ArchiveLoop
        )
    }
}

/// A path that was not scanned, or not completely.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotScanned {
    /// Path relative to its root, with `/`.
    pub path: String,
    /// Raw path bytes, base64, when the path is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_base64: Option<String>,
    /// Index of the scan root.
    pub root: usize,
    /// Member paths inside archives, outermost first.
    pub inner: Vec<String>,
    /// Why.
    pub reason: Reason,
    /// Details (the OS error, the sizes, …).
    pub detail: String,
    /// Bytes that were scanned before it stopped, when some were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_scanned: Option<u64>,
}

/// What was scanned and what was not.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Coverage {
    /// Files scanned completely.
    pub files_scanned: u64,
    /// Bytes scanned (including the scanned part of partly scanned files).
    pub bytes_scanned: u64,
    /// Whether every path found was scanned completely.
    pub complete: bool,
    /// Every path not scanned, or not completely, with its reason.
    pub not_scanned: Vec<NotScanned>,
    /// Incremental sweeps (`--cache`): files (of `files_scanned`) whose
    /// results came from the cache because they had not changed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub files_cached: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A file (or archive member, or blob) that was scanned, with its digest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScannedFile {
    /// Path relative to its root, with `/`.
    pub path: String,
    /// Raw path bytes, base64, when the path is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_base64: Option<String>,
    /// Index of the scan root.
    pub root: usize,
    /// Member paths inside archives, outermost first.
    pub inner: Vec<String>,
    /// Bytes read.
    pub size: u64,
    /// SHA-256 of the bytes read, lowercase hex.
    pub sha256: String,
    /// The object's ETag, for objects from an object store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Incremental sweeps (`--cache`): the file was unchanged since the
    /// cached scan, so its digest and findings come from the cache.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

/// Counts for a quick read.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    /// Number of findings.
    pub findings: u64,
    /// Sum of `count` over findings.
    pub occurrences: u64,
    /// Findings per kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Findings per severity.
    pub by_severity: BTreeMap<String, u64>,
    /// Files with at least one finding.
    pub files_with_findings: u64,
    /// The most severe finding, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<String>,
    /// Per data class with findings (biometric first): its window, the
    /// detection time, the deadline and how many findings it covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breach_notification: Vec<BreachSummary>,
}

/// The notification clock for one class of findings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BreachSummary {
    /// The data class: `biometric` or `personal`.
    pub class: String,
    /// ISO 8601 duration, e.g. `PT3H`.
    pub window: String,
    /// Whether the window counts business days.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub business_days: bool,
    /// Id of the legal reference.
    pub basis: String,
    /// The legal reference's citation.
    pub basis_title: String,
    /// Findings of this class.
    pub findings: u64,
    /// The earliest detection among the class's findings (biometric only:
    /// IIN findings carry no clock of their own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected: Option<String>,
    /// The earliest deadline among the class's findings (biometric only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
}

/// The tool that made a report.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tool {
    /// `shekara`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Digest over the embedded rule data.
    pub ruleset: String,
}

/// What was scanned, how and when.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScanInfo {
    /// The roots as given.
    pub roots: Vec<String>,
    /// The options that change what is scanned or reported.
    pub options: BTreeMap<String, serde_json::Value>,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// End, RFC 3339 UTC.
    pub finished: String,
    /// Identifier of the fingerprint key (not the key).
    pub fingerprint_key: String,
}

/// A whole report.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: String,
    /// The tool.
    pub tool: Tool,
    /// The scan.
    pub scan: ScanInfo,
    /// Findings, ordered by root, path, inner path, offset, rule (held as
    /// the scan's per-file lists: see [`crate::findings`]).
    pub findings: crate::findings::Findings,
    /// What was and was not scanned.
    pub coverage: Coverage,
    /// Every input scanned, with its SHA-256: only when hashing was asked
    /// for (`Config::hash_files`, the evidence manifest); otherwise empty and
    /// left out of the JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ScannedFile>,
    /// Counts.
    pub summary: Summary,
    // --- evidence layer (issue #5) ---
    /// Residency verdict per artefact (each root, each archive or image).
    pub verdicts: Vec<crate::verdict::Verdict>,
    /// Findings accepted by an inline `shekara:ignore` or a baseline: they
    /// stay in `findings`, and do not count for the exit code or verdicts.
    pub suppressions: Vec<crate::suppress::Suppression>,
    /// Object stores swept (one per `s3://…` root): where the store is, as
    /// evidence. Empty, and left out of the JSON, for file scans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<Store>,
    /// The scan was stopped before its end (Ctrl-C): what is here is true,
    /// but not everything was scanned. Left out of the JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

/// An object store a scan swept, and where it is: the evidence that decides
/// whether a lake holding IINs is itself hosted abroad.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Store {
    /// Index of the scan root (in `scan.roots`).
    pub root: usize,
    /// The root as given, e.g. `s3://bucket/prefix`.
    pub url: String,
    /// `s3`.
    pub scheme: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix swept (empty: the whole bucket).
    pub prefix: String,
    /// The endpoint requests went to, e.g. `https://s3.eu-central-1.amazonaws.com`.
    pub endpoint: String,
    /// The endpoint's host.
    pub host: String,
    /// The region the client was configured with (`--region`, `AWS_REGION`, …).
    pub region: String,
    /// The bucket's region as the store reported it, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_region: Option<String>,
    /// How `bucket_region` was learnt (`GetBucketLocation`), or why it is missing.
    pub bucket_region_source: String,
    /// Provider from the endpoint table, or `unknown`.
    pub provider: String,
    /// ISO 3166 alpha-2 country where the data is stored, or `unknown`.
    pub country: String,
    /// Whether the store keeps the data in Kazakhstan (`country` is `KZ`).
    pub in_country: bool,
    /// Objects listed.
    pub objects_listed: u64,
    /// Objects whose bodies were fetched (not answered from the cache).
    pub objects_fetched: u64,
    /// Objects answered from `--cache` (unchanged ETag, size and last-modified).
    pub objects_cached: u64,
    /// Objects left to other shards (`--shard`).
    pub objects_other_shards: u64,
}

/// Adds `n` to the count of `key` in a short list (kinds, severities).
fn bump<K: PartialEq>(counts: &mut Vec<(K, u64)>, key: K, n: u64) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, c)) => *c += n,
        None => counts.push((key, n)),
    }
}

impl Summary {
    /// Counts over `findings`.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Summary {
        let mut s = Summary::default();
        let mut files = std::collections::BTreeSet::new();
        let mut last = None;
        // Counted by kind and severity as they are, named once at the end:
        // no string comparison or allocation per finding (a report holds
        // hundreds of thousands).
        let (mut kinds, mut severities) = (Vec::new(), Vec::new());
        let mut run = None;
        let mut max = None;
        for f in findings {
            s.findings += 1;
            s.occurrences += f.count;
            // Findings of a file mostly come one kind and severity at a time.
            match &mut run {
                Some((k, v, n)) if *k == f.kind && *v == f.severity => *n += 1,
                _ => {
                    if let Some((k, v, n)) = run.replace((f.kind, f.severity, 1)) {
                        bump(&mut kinds, k, n);
                        bump(&mut severities, v, n);
                    }
                }
            }
            max = max.max(Some(f.severity));
            let file = (f.location.root, &f.location.path, f.location.inner());
            // Findings come grouped by file: one set insert per file.
            if last != Some(file) {
                files.insert(file);
                last = Some(file);
            }
        }
        if let Some((k, v, n)) = run {
            bump(&mut kinds, k, n);
            bump(&mut severities, v, n);
        }
        for (k, n) in kinds {
            *s.by_kind.entry(k.as_str().to_string()).or_default() += n;
        }
        for (v, n) in severities {
            *s.by_severity.entry(v.as_str().to_string()).or_default() += n;
        }
        s.files_with_findings = files.len() as u64;
        s.max_severity = max.map(|v| v.to_string());
        s
    }
}

/// Process exit codes, as documented in the README.
pub mod exit {
    /// Nothing at or above `--fail-on`, and everything was scanned.
    pub const CLEAN: i32 = 0;
    /// Findings at or above `--fail-on`.
    pub const FINDINGS: i32 = 1;
    /// An error: bad arguments, an unreadable root, or a file that could not be read.
    pub const ERROR: i32 = 2;
}

impl Report {
    /// The exit code for this report: findings at or above `fail_on` (not
    /// suppressed) give 1;
    /// otherwise a path that could not be read gives 2; otherwise 0.
    pub fn exit_code(&self, fail_on: Severity) -> i32 {
        let suppressed = crate::suppress::suppressed_set(&self.suppressions);
        if self
            .findings
            .iter()
            .enumerate()
            .any(|(i, f)| f.severity >= fail_on && !suppressed.contains(&i))
        {
            exit::FINDINGS
        } else if self
            .coverage
            .not_scanned
            .iter()
            .any(|n| n.reason.is_error())
        {
            exit::ERROR
        } else {
            exit::CLEAN
        }
    }
}

#[cfg(test)]
mod summary_tests {
    use super::*;
    use shekara_detectors::Kind;

    /// A report holds hundreds of thousands of findings, each faulted in
    /// and read again by the summary, the verdicts and the writer: a
    /// location's rare fields share one box, and line and column are
    /// `NonZeroU64` (8 bytes, not 16). Session 13's finding was 288 bytes,
    /// session 15's 240.
    #[test]
    fn a_finding_stays_small() {
        assert!(
            std::mem::size_of::<Location>() <= 56,
            "{}",
            std::mem::size_of::<Location>()
        );
        assert!(std::mem::size_of::<Evidence>() <= 48);
        assert!(
            std::mem::size_of::<Finding>() <= 176,
            "{}",
            std::mem::size_of::<Finding>()
        );
    }

    /// A location is written with each field in its place, rare ones
    /// included or left out, and read back equal; a rare field set to
    /// nothing leaves no box behind.
    #[test]
    fn a_location_reads_and_writes_every_field_in_its_place() {
        let plain = Location::new("a/b.csv", 1, std::num::NonZeroU64::new(3), None, 40);
        let text = serde_json::to_string(&plain).unwrap();
        assert_eq!(
            text,
            r#"{"path":"a/b.csv","root":1,"inner":[],"line":3,"byte_offset":40}"#
        );
        assert_eq!(serde_json::from_str::<Location>(&text).unwrap(), plain);
        let rare = plain
            .clone()
            .with_path_base64(Some("YS9i".into()))
            .with_inner(vec!["x.zip".into(), "y.txt".into()])
            .with_commit(Some("c0ffee".into()), Some("2026-01-01T00:00:00Z".into()));
        let text = serde_json::to_string(&rare).unwrap();
        assert_eq!(
            text,
            concat!(
                r#"{"path":"a/b.csv","path_base64":"YS9i","root":1,"inner":["x.zip","y.txt"],"#,
                r#""line":3,"byte_offset":40,"commit":"c0ffee","author_date":"2026-01-01T00:00:00Z"}"#
            )
        );
        let back: Location = serde_json::from_str(&text).unwrap();
        assert_eq!(back, rare);
        assert_eq!(back.inner(), ["x.zip", "y.txt"]);
        assert_eq!(back.commit(), Some("c0ffee"));
        assert!(
            serde_json::from_str::<Location>(r#"{"path":"a","root":0,"byte_offset":0}"#).is_err()
        );
        let unset = plain
            .clone()
            .with_path_base64(None)
            .with_inner(Vec::new())
            .with_commit(None, None);
        assert!(unset.rare.is_none());
        assert_eq!(unset, plain);
        let mut emptied = rare;
        emptied.set_path_base64(None);
        emptied.set_inner(Vec::new());
        emptied.set_commit(None);
        emptied.set_author_date(None);
        assert!(emptied.rare.is_some());
        assert_eq!(emptied, plain);
    }

    /// The counts, as a plain loop over every finding gives them.
    fn naive(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        let mut files = std::collections::BTreeSet::new();
        for f in findings {
            s.findings += 1;
            s.occurrences += f.count;
            *s.by_kind.entry(f.kind.as_str().into()).or_default() += 1;
            *s.by_severity.entry(f.severity.as_str().into()).or_default() += 1;
            files.insert((f.location.root, &f.location.path, f.location.inner()));
        }
        s.files_with_findings = files.len() as u64;
        s.max_severity = findings
            .iter()
            .map(|f| f.severity)
            .max()
            .map(|v| v.to_string());
        s
    }

    #[test]
    fn summary_counts_runs_of_kinds_and_severities() {
        let kinds = [
            Kind::Iin,
            Kind::Bin,
            Kind::ForeignEndpoint,
            Kind::FaceEmbedding,
        ];
        let severities = [
            Severity::Low,
            Severity::High,
            Severity::Medium,
            Severity::Critical,
        ];
        let mut findings = Vec::new();
        let mut x = 7u64;
        for i in 0..500u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut f = Finding::sample(kinds[(x >> 60) as usize % 4], &format!("f{}", i / 37));
            // Runs of one kind and severity, broken now and then.
            if (x >> 40).is_multiple_of(5) {
                f.severity = severities[(x >> 50) as usize % 4];
            }
            f.count = 1 + (x >> 20) % 3;
            f.location.root = usize::from(i % 97 == 0);
            findings.push(f);
        }
        findings.sort_by(|a, b| {
            (&a.location.path, a.location.root).cmp(&(&b.location.path, b.location.root))
        });
        for n in [0, 1, 2, 50, 500] {
            assert_eq!(Summary::of(&findings[..n]), naive(&findings[..n]), "{n}");
        }
        let s = Summary::of(&findings);
        assert_eq!(s.by_kind.len(), 4);
        assert_eq!(s.max_severity.as_deref(), Some("critical"));
    }
}
