//! Detectors for shekara, and the engine that drives them in one pass.
//!
//! A [`Detector`] declares what it needs from the shared prefilter: literal
//! anchors (searched for all detectors at once with one Aho-Corasick
//! automaton), maximal runs of exactly 12 digits (found by a bit-parallel
//! scanner, see [`digits`]), or the whole content of files whose path it
//! recognises (small configuration files such as Terraform). The [`Engine`]
//! runs the prefilter over a [`Haystack`] window and only calls a detector at
//! its candidates, where it confirms and validates.
//!
//! Findings leave the engine as [`RawFinding`]s, which hold the raw matched
//! bytes: they never leave the process that way. The scanner masks and
//! fingerprints them before anything is reported.
//!
//! ```
//! use shekara_detectors::{Engine, Haystack};
//! let engine = Engine::builtin();
//! let text = b"client IIN: 850314319331";
//! let hay = Haystack::whole(text, "clients.txt");
//! let mut out = Vec::new();
//! engine.scan(&hay, &mut out);
//! assert_eq!(out.len(), 1);
//! assert_eq!(out[0].kind.as_str(), "iin");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::ops::Range;

pub use shekara_signatures::{intern, Confidence, Kind, RuleId, Ruleset, Severity};

pub mod attributes;
pub mod biometric;
pub mod context;
pub mod digits;
pub mod egress;
pub mod endpoint;
mod engine;
pub mod hash;
pub mod iin;
pub mod national_id;

pub use attributes::{Attributes, Text};
pub use engine::{builtin_detectors, Engine, Scratch, OVERLAP};

/// A window of bytes to scan, with the part of it this window answers for.
///
/// Scanning reads a file in windows that overlap their neighbours by
/// [`OVERLAP`] bytes on each side. A finding belongs to the window whose
/// `owned` range contains the finding's first byte, so a match that crosses a
/// window edge is reported once, by exactly one window.
#[derive(Clone, Debug)]
pub struct Haystack<'a> {
    /// The bytes: leading context, the owned part, trailing context.
    pub bytes: &'a [u8],
    /// The part of `bytes` this window answers for.
    pub owned: Range<usize>,
    /// Offset of `bytes[0]` in the whole input.
    pub base: u64,
    /// The input's path with `/` separators (archive members included), for
    /// detectors that care about file names; may be empty.
    pub path: &'a str,
}

impl<'a> Haystack<'a> {
    /// A haystack that is the whole input.
    pub fn whole(bytes: &'a [u8], path: &'a str) -> Haystack<'a> {
        Haystack {
            bytes,
            owned: 0..bytes.len(),
            base: 0,
            path,
        }
    }

    /// The windows a scanner cuts `bytes` (a whole input) into: each owns
    /// `size` bytes (at least 1) and carries [`OVERLAP`] bytes of context on
    /// both sides where the input has them.
    pub fn windows(
        bytes: &'a [u8],
        path: &'a str,
        size: usize,
    ) -> impl Iterator<Item = Haystack<'a>> + 'a {
        let size = size.max(1);
        (0..bytes.len()).step_by(size).map(move |start| {
            let end = (start + size).min(bytes.len());
            let lo = start.saturating_sub(OVERLAP);
            let hi = (end + OVERLAP).min(bytes.len());
            Haystack {
                bytes: &bytes[lo..hi],
                owned: start - lo..end - lo,
                base: lo as u64,
                path,
            }
        })
    }

    /// Absolute offset of window position `i`.
    pub fn abs(&self, i: usize) -> u64 {
        self.base + i as u64
    }

    /// Whether the window starts at the beginning of the input.
    pub fn at_start(&self) -> bool {
        self.base == 0
    }
}

/// A finding as a detector reports it: raw value included, in memory only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFinding {
    /// Rule id, e.g. `kz.iin` or `endpoint.aws.s3`.
    pub rule: RuleId,
    /// What was found.
    pub kind: Kind,
    /// Absolute byte span in the input.
    pub span: Range<u64>,
    /// The raw matched value (an IIN, a host, a URI). Never reported as is
    /// unless the user asks to reveal it.
    pub value: Vec<u8>,
    /// How sure the detector is.
    pub confidence: Confidence,
    /// How bad it is.
    pub severity: Severity,
    /// Kind-specific details: `provider`, `host`, `region`, `country`, `reason`, …
    pub attributes: Attributes,
}

/// A detector: what it needs from the prefilter and how it confirms candidates.
///
/// All methods but [`Detector::id`] have empty defaults, so a detector
/// implements only the hooks it uses.
pub trait Detector: Send + Sync {
    /// A stable identifier, for diagnostics and benchmarks.
    fn id(&self) -> &str;

    /// Literals, one of which occurs in every match of this detector. They
    /// join the shared Aho-Corasick prefilter; [`Detector::on_anchor`] is
    /// called with the index into this list.
    fn anchors(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }

    /// Whether this detector's anchors are searched in the input at `path`.
    /// Detectors of code and configuration skip data files (CSV, logs,
    /// binaries), where their anchors would only cost time.
    fn wants_anchors_in(&self, _path: &str) -> bool {
        true
    }

    /// Literals too frequent for the shared prefilter: each is searched on
    /// its own with a SIMD substring search. (The endpoints' `://`, in every
    /// URL, measured cheaper inside their literal group: no built-in
    /// detector has one now.)
    /// [`Detector::on_anchor`] gets them with indices after those of
    /// [`Detector::anchors`].
    fn frequent_anchors(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }

    /// Confirms a candidate: the anchor `anchor` was found at `at` (window
    /// positions). Anchors in the context parts of the window are reported
    /// too; the engine keeps only findings that start in the owned part.
    fn on_anchor(
        &self,
        _hay: &Haystack<'_>,
        _anchor: usize,
        _at: Range<usize>,
        _out: &mut Vec<RawFinding>,
    ) {
    }

    /// Whether this detector wants maximal runs of exactly 12 digits.
    fn wants_digit_runs(&self) -> bool {
        false
    }

    /// Confirms a 12-digit run at `at` (window positions).
    fn on_digit_run(&self, _hay: &Haystack<'_>, _at: Range<usize>, _out: &mut Vec<RawFinding>) {}

    /// Whether this detector wants the whole content of the file at `path`.
    fn wants_whole_file(&self, _path: &str) -> bool {
        false
    }

    /// Examines a whole file it asked for (the haystack owns all its bytes).
    fn on_whole_file(&self, _hay: &Haystack<'_>, _out: &mut Vec<RawFinding>) {}
}

/// Builds attributes from pairs (known names and values stored by index,
/// see [`attributes::Value`]).
pub fn attrs<const N: usize>(pairs: [(&'static str, &str); N]) -> Attributes {
    let mut a = Attributes::with_capacity(N);
    for (k, v) in pairs {
        a.insert_value(k.into(), v.into());
    }
    a
}
