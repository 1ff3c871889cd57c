//! The IIN/BIN detector: 12-digit runs, validated, with confidence from context.

use std::ops::Range;

use shekara_signatures::{Confidence, Kind, Ruleset, Severity};

use crate::context::ContextMatcher;
use crate::iin::{classify, IdClass};
use crate::{Attributes, Detector, Haystack, RawFinding};

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
        let entity_type = match class {
            IdClass::Bin { entity_type } => Some(match entity_type {
                4 => "resident",
                5 => "non_resident",
                _ => "joint_ie",
            }),
            IdClass::Iin { .. } => None,
        };
        let (confidence, context) = if let Some(why) = suspicious_place(hay.bytes, &at) {
            severity = Severity::ALL[(severity as usize).saturating_sub(1)];
            (Confidence::Low, Some(why))
        } else if has_context {
            (Confidence::High, Some("identifier keyword nearby"))
        } else {
            (Confidence::Medium, None)
        };
        let attributes = attributes(reason, entity_type, context);
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

/// Attribute sets a thread keeps (see [`attributes`]): one per reason,
/// entity type and context met, a dozen at most in practice.
const SETS: usize = 32;

/// A set's words: validation reason, BIN entity type, context.
type SetKey = (&'static str, Option<&'static str>, Option<&'static str>);

thread_local! {
    static SETS_MADE: std::cell::RefCell<Vec<(SetKey, Attributes)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The attributes of a national-ID finding, shared ([`Attributes::shared`])
/// with the thread's earlier findings of the same words: each part is one
/// of a few fixed strings, so the tens of thousands of IDs of a dataset
/// need a dozen sets, not a vector each, and the report writer copies a
/// repeated set's JSON.
fn attributes(
    reason: &'static str,
    entity_type: Option<&'static str>,
    context: Option<&'static str>,
) -> Attributes {
    let key = (reason, entity_type, context);
    let made = SETS_MADE.with(|m| {
        let m = m.try_borrow().ok()?;
        m.iter().find(|(k, _)| *k == key).map(|(_, a)| a.clone())
    });
    if let Some(a) = made {
        return a;
    }
    let mut a = crate::attrs([("validation", reason)]);
    if let Some(t) = entity_type {
        a.insert("entity_type", t);
    }
    if let Some(why) = context {
        a.insert("context", why);
    }
    let a = a.shared();
    SETS_MADE.with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            if m.len() < SETS {
                m.push((key, a.clone()));
            }
        }
    });
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<RawFinding> {
        crate::Engine::builtin().scan_input(text.as_bytes(), "t.txt")
    }

    /// Findings of the same words share one set, equal to the set built
    /// pair by pair; other words get their own.
    #[test]
    fn findings_of_the_same_words_share_one_set() {
        let f = ids("a 850314319331 b 921130474626\nИИН: 040229568857\n\
             c 050340765602 d 971243264927 e x850314319331");
        let words: Vec<_> = f
            .iter()
            .map(|f| {
                let a: Vec<_> = f
                    .attributes
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                a.join(" ")
            })
            .collect();
        assert_eq!(
            words,
            [
                "validation=valid IIN",
                "validation=valid IIN",
                "context=identifier keyword nearby validation=valid IIN",
                "entity_type=resident validation=valid BIN",
                "entity_type=resident validation=valid BIN",
                "context=adjacent to letters: part of an identifier or a hash validation=valid IIN",
            ]
        );
        let id = |i: usize| f[i].attributes.shared_id().expect("a shared set");
        assert_eq!(id(0), id(1));
        assert_eq!(id(3), id(4));
        let distinct: std::collections::HashSet<_> = [0, 2, 3, 5].map(id).into();
        assert_eq!(distinct.len(), 4);
        let mut built = crate::attrs([("validation", "valid BIN")]);
        built.insert("entity_type", "resident");
        assert_eq!(f[3].attributes, built);
    }
}
