//! The IIN/BIN detector: 12-digit runs, validated, with confidence from context.

use std::ops::Range;

use shekara_signatures::{Confidence, Kind, Ruleset, Severity};

use crate::context::ContextMatcher;
use crate::iin::{classify, IdClass};
use crate::{Detector, Haystack, RawFinding};

/// Finds valid IINs and BINs among maximal runs of exactly 12 digits.
#[derive(Debug)]
pub struct NationalId {
    context: ContextMatcher,
    iin_severity: Severity,
    bin_severity: Severity,
}

impl NationalId {
    /// Builds the detector from the ruleset (context words, severities).
    pub fn new(rules: &Ruleset) -> NationalId {
        let sev = |id: &str, fallback| rules.rule(id).map_or(fallback, |r| r.severity);
        NationalId {
            context: ContextMatcher::new(&rules.context),
            iin_severity: sev("kz.iin", Severity::High),
            bin_severity: sev("kz.bin", Severity::Low),
        }
    }
}

/// Why a valid number sits in a place where it is probably not an ID, if it does.
fn suspicious_place(hay: &[u8], at: &Range<usize>) -> Option<&'static str> {
    let before = at.start.checked_sub(1).and_then(|i| hay.get(i)).copied();
    let before2 = at.start.checked_sub(2).and_then(|i| hay.get(i)).copied();
    let after = hay.get(at.end).copied();
    let after2 = hay.get(at.end + 1).copied();
    let letter = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphabetic());
    let digit = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_digit());
    if letter(before) || letter(after) {
        return Some("adjacent to letters: part of an identifier or a hash");
    }
    // Only '.': a comma between digits is far more often a CSV separator than a decimal comma.
    let decimal = |b: Option<u8>| b == Some(b'.');
    if (decimal(before) && digit(before2)) || (decimal(after) && digit(after2)) {
        return Some("part of a decimal number");
    }
    if before == Some(b'-') && before2.is_some_and(|b| b.is_ascii_hexdigit()) {
        let from = at.start.saturating_sub(24);
        let prefix = &hay[from..at.start];
        if prefix.iter().filter(|&&b| b == b'-').count() >= 2 {
            return Some("last group of a UUID");
        }
    }
    None
}

impl Detector for NationalId {
    fn id(&self) -> &str {
        "national_id"
    }

    fn wants_digit_runs(&self) -> bool {
        true
    }

    fn on_digit_run(&self, hay: &Haystack<'_>, at: Range<usize>, out: &mut Vec<RawFinding>) {
        let value = &hay.bytes[at.clone()];
        let Ok((class, reason)) = classify(value) else {
            return;
        };
        let seen = self.context.before(hay.bytes, at.start);
        let (rule, kind, mut severity, has_context) = match class {
            IdClass::Iin { .. } => ("kz.iin", Kind::Iin, self.iin_severity, seen.iin),
            IdClass::Bin { .. } => ("kz.bin", Kind::Bin, self.bin_severity, seen.bin),
        };
        let mut attributes = crate::attrs([("validation", reason)]);
        if let IdClass::Bin { entity_type } = class {
            let t = match entity_type {
                4 => "resident",
                5 => "non_resident",
                _ => "joint_ie",
            };
            attributes.insert("entity_type", t);
        }
        let confidence = if let Some(why) = suspicious_place(hay.bytes, &at) {
            attributes.insert("context", why);
            severity = Severity::ALL[(severity as usize).saturating_sub(1)];
            Confidence::Low
        } else if has_context {
            attributes.insert("context", "identifier keyword nearby");
            Confidence::High
        } else {
            Confidence::Medium
        };
        out.push(RawFinding {
            rule: rule.into(),
            kind,
            span: hay.abs(at.start)..hay.abs(at.end),
            value: value.to_vec(),
            confidence,
            severity,
            attributes,
        });
    }
}
