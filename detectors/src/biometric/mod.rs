//! Biometric data: templates, embeddings, face-recognition models and code.
//!
//! * [`templates`]: ISO/IEC 19794 records (with the ISO-2005 / ANSI-2004
//!   finger-minutiae disambiguation), ANSI/NIST-ITL transactions, WSQ, ICAO
//!   9303 data groups, and the XML forms (ANSI/NIST-ITL, CBEFF, ISO 39794):
//!   found by literal anchors, confirmed by parsing their headers.
//! * [`embeddings`]: NumPy arrays (`.npy`, and `.npz` members stored
//!   uncompressed), FAISS indexes (anchored), pickles of face encodings
//!   (whole file).
//! * [`models`]: face-recognition models by file name, and ONNX graphs by
//!   their input and output shapes.
//! * [`code`]: imports and calls of biometric libraries, one finding per file.
//!
//! # The window contract
//! A parser looks at most [`OVERLAP`] bytes past its anchor ([`view`]). For
//! an anchor the window owns, the window holds that many bytes past it unless
//! the input ends first, so a view shorter than [`OVERLAP`] means the input
//! ends there: a record longer than such a view is truncated. A record longer
//! than a full view is judged on what the view shows. Whatever the window
//! size, a finding is therefore computed from the same bytes.

use crate::{Confidence, Haystack, Kind, RawFinding, Ruleset, Severity, OVERLAP};

mod anchored;
pub mod code;
pub mod embeddings;
pub mod images;
pub mod models;
pub mod templates;

pub use anchored::BinaryBiometrics;
pub use code::BiometricCode;
pub use embeddings::FacePickles;
pub use models::{model_by_name, ModelMatch, OnnxModels};

/// The bytes a parser may look at for an anchor at `at`: at most [`OVERLAP`].
pub fn view<'a>(hay: &Haystack<'a>, at: usize) -> &'a [u8] {
    let end = at.saturating_add(OVERLAP).min(hay.bytes.len());
    hay.bytes.get(at..end).unwrap_or(&[])
}

/// Whether a view ends with the input (it is shorter than [`OVERLAP`]).
pub fn view_ends_input(view: &[u8]) -> bool {
    view.len() < OVERLAP
}

/// What a parser makes of a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Rule id.
    pub rule: &'static str,
    /// Bytes of the view the finding covers (its value).
    pub len: usize,
    /// How sure.
    pub confidence: Confidence,
    /// `format` and whatever else was parsed.
    pub attributes: crate::Attributes,
}

impl Parsed {
    /// A parse result with a `format` attribute.
    pub fn new(rule: &'static str, len: usize, confidence: Confidence, format: &str) -> Parsed {
        let attributes = crate::attrs([("format", format)]);
        Parsed {
            rule,
            len,
            confidence,
            attributes,
        }
    }

    /// Adds an attribute.
    pub fn with(mut self, key: &'static str, value: impl ToString) -> Parsed {
        self.attributes.insert(key, value.to_string());
        self
    }
}

/// Severity of a rule from the ruleset (critical when the rule is missing).
pub fn severity_of(rules: &Ruleset, id: &str) -> Severity {
    rules.rule(id).map_or(Severity::Critical, |r| r.severity)
}

/// Bytes of a finding's span: its header, not the whole record.
///
/// The engine merges overlapping findings of one kind; record-long spans
/// would chain such merges further back than a window's context reaches,
/// and make the answer depend on the window size (a property test found
/// it). The value (what is fingerprinted) is still the record.
pub const SPAN: usize = 8;

/// Turns a parse into a finding at window position `at`.
pub fn finding(hay: &Haystack<'_>, at: usize, kind: Kind, sev: Severity, p: Parsed) -> RawFinding {
    let end = at.saturating_add(p.len).min(hay.bytes.len());
    let span_end = at.saturating_add(SPAN).min(end.max(at + 1));
    RawFinding {
        rule: p.rule.into(),
        kind,
        span: hay.abs(at)..hay.abs(span_end),
        value: hay.bytes[at..end].to_vec(),
        confidence: p.confidence,
        severity: sev,
        attributes: p.attributes,
    }
}

/// Whether a path's words suggest faces or embeddings (`face`, `embed`, `encod`, …).
pub fn face_context(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    [
        "face",
        "embed",
        "encod",
        "arcface",
        "facenet",
        "insightface",
        "biometr",
        "vggface",
    ]
    .iter()
    .any(|w| p.contains(w))
}

/// Big-endian u16 at `i`.
pub(crate) fn be16(b: &[u8], i: usize) -> Option<usize> {
    Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?) as usize)
}

/// Big-endian u32 at `i`.
pub(crate) fn be32(b: &[u8], i: usize) -> Option<usize> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?) as usize)
}

/// All biometric detectors.
pub fn detectors(rules: &Ruleset) -> Vec<Box<dyn crate::Detector>> {
    vec![
        Box::new(BinaryBiometrics::new(rules)),
        Box::new(FacePickles::new(rules)),
        Box::new(OnnxModels::new(rules)),
        Box::new(BiometricCode::new(rules)),
    ]
}
