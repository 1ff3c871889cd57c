//! A findings writer that produces exactly what `serde_json` writes for a
//! [`Finding`], without serde's per-field machinery.
//!
//! Reports hold hundreds of thousands of findings; for a re-sweep answered
//! from the cache, serializing them was the largest single cost. Field names
//! are written as constant bytes, numbers with `itoa`, and a string is copied
//! as it is unless it holds a byte JSON must escape. The tests compare the
//! output with `serde_json`'s byte for byte, over findings with every
//! optional field set and strings full of escapes; the rare nested part (the
//! breach-notification block) is written by `serde_json` itself.

use crate::model::{Evidence, Finding, Location};

/// The JSON of shared attribute sets written lately (see
/// [`shekara_detectors::Attributes::shared_id`]), by set: a report repeats
/// a few thousand sets (one per endpoint host and region, and the cache's),
/// and a repeat is copied, not written again. A small table by identity:
/// findings of one file interleave a few hosts.
///
/// It also keeps the parts of a finding's JSON that repeat from one finding
/// to the next, each with what it was written from (compared whole, so a
/// match is exact): the head (`{"kind":…,"location":`, one per rule, kind,
/// severity and confidence) and the start of the location (path, root and
/// no archive members: the same for every finding of a file). Copied, they
/// spare a finding's writing a fifth of its instructions (2,005 → 1,597
/// on the benchmark corpus).
#[derive(Debug, Default)]
pub struct Written {
    slots: Vec<(usize, Vec<u8>)>,
    heads: Vec<Option<(Head, Vec<u8>)>>,
    place: Option<(std::sync::Arc<str>, usize, Vec<u8>)>,
}

/// What a finding's head is written from.
#[derive(Debug)]
struct Head {
    kind: shekara_detectors::Kind,
    rule: shekara_detectors::RuleId,
    severity: shekara_detectors::Severity,
    confidence: shekara_detectors::Confidence,
}

/// Sets [`Written`] keeps, at most.
const WRITTEN_SLOTS: usize = 64;

/// Heads [`Written`] keeps, at most.
const HEAD_SLOTS: usize = 32;

impl Written {
    /// The slot of set `id` (an address: its low bits are alignment).
    fn slot(&mut self, id: usize) -> &mut (usize, Vec<u8>) {
        if self.slots.is_empty() {
            self.slots.resize_with(WRITTEN_SLOTS, || (0, Vec::new()));
        }
        &mut self.slots[(id >> 4) % WRITTEN_SLOTS]
    }

    /// The slot of the head of `f`: by its rule's text and its kind.
    fn head_slot(&mut self, f: &Finding) -> &mut Option<(Head, Vec<u8>)> {
        if self.heads.is_empty() {
            self.heads.resize_with(HEAD_SLOTS, || None);
        }
        let r = f.rule.as_bytes();
        let h = r.len() ^ r.last().map_or(0, |&b| usize::from(b) << 3) ^ (f.kind as usize) << 6;
        &mut self.heads[h % HEAD_SLOTS]
    }
}

/// Appends `f` as `serde_json::to_writer` would.
pub fn write_finding(out: &mut Vec<u8>, f: &Finding) {
    write_finding_with(out, f, &mut Written::default());
}

/// [`write_finding`], reusing the attributes' JSON when `f` shares its set
/// with the finding written last with `memo`.
pub fn write_finding_with(out: &mut Vec<u8>, f: &Finding, memo: &mut Written) {
    out.reserve(512);
    let same = |h: &Head| {
        h.kind == f.kind
            && h.severity == f.severity
            && h.confidence == f.confidence
            && h.rule == f.rule
    };
    match memo.head_slot(f) {
        Some((h, bytes)) if same(h) => out.extend_from_slice(bytes),
        slot => {
            let head = Head {
                kind: f.kind,
                rule: f.rule.clone(),
                severity: f.severity,
                confidence: f.confidence,
            };
            let start = out.len();
            out.extend_from_slice(b"{\"kind\":");
            name(out, f.kind.as_str());
            out.extend_from_slice(b",\"rule\":");
            string(out, &f.rule);
            out.extend_from_slice(b",\"severity\":");
            name(out, f.severity.as_str());
            out.extend_from_slice(b",\"confidence\":");
            name(out, f.confidence.as_str());
            out.extend_from_slice(b",\"location\":");
            *slot = Some((head, out[start..].to_vec()));
        }
    }
    location(out, &f.location, &mut memo.place);
    out.extend_from_slice(b",\"count\":");
    number(out, f.count);
    out.extend_from_slice(b",\"evidence\":");
    evidence(out, &f.evidence);
    out.extend_from_slice(b",\"attributes\":");
    let id = f.attributes.shared_id();
    if let Some(slot) = id.map(|id| memo.slot(id)).filter(|s| Some(s.0) == id) {
        out.extend_from_slice(&slot.1);
    } else {
        let start = out.len();
        out.push(b'{');
        for (i, (k, v)) in f.attributes.values().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            value(out, k);
            out.push(b':');
            value(out, v);
        }
        out.push(b'}');
        if let Some(id) = id {
            let slot = memo.slot(id);
            slot.0 = id;
            slot.1.clear();
            slot.1.extend_from_slice(&out[start..]);
        }
    }
    if let Some(b) = &f.breach_notification {
        out.extend_from_slice(b",\"breach_notification\":");
        // Plain data into a Vec: cannot fail.
        let _ = serde_json::to_writer(&mut *out, b);
    }
    out.push(b'}');
}

/// A location; `place` remembers the start of the last one written (up to
/// its archive members) when it had neither a raw path nor members.
fn location(
    out: &mut Vec<u8>,
    l: &Location,
    place: &mut Option<(std::sync::Arc<str>, usize, Vec<u8>)>,
) {
    let plain = l.path_base64().is_none() && l.inner().is_empty();
    match place {
        Some((path, root, bytes)) if plain && *root == l.root && **path == *l.path => {
            out.extend_from_slice(bytes);
        }
        _ => {
            let start = out.len();
            out.extend_from_slice(b"{\"path\":");
            string(out, &l.path);
            if let Some(b) = l.path_base64() {
                out.extend_from_slice(b",\"path_base64\":");
                string(out, b);
            }
            out.extend_from_slice(b",\"root\":");
            number(out, l.root as u64);
            out.extend_from_slice(b",\"inner\":[");
            for (i, m) in l.inner().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, m);
            }
            out.push(b']');
            if plain {
                *place = Some((l.path.clone(), l.root, out[start..].to_vec()));
            }
        }
    }
    if let Some(n) = l.line {
        out.extend_from_slice(b",\"line\":");
        number(out, n.get());
    }
    if let Some(n) = l.column {
        out.extend_from_slice(b",\"column\":");
        number(out, n.get());
    }
    out.extend_from_slice(b",\"byte_offset\":");
    number(out, l.byte_offset);
    if let Some(c) = l.commit() {
        out.extend_from_slice(b",\"commit\":");
        string(out, c);
    }
    if let Some(d) = l.author_date() {
        out.extend_from_slice(b",\"author_date\":");
        string(out, d);
    }
    out.push(b'}');
}

fn evidence(out: &mut Vec<u8>, e: &Evidence) {
    out.extend_from_slice(b"{\"masked\":");
    string(out, &e.masked);
    out.extend_from_slice(b",\"fingerprint\":");
    string(out, &e.fingerprint);
    if let Some(r) = &e.raw {
        out.extend_from_slice(b",\"raw\":");
        string(out, r);
    }
    out.push(b'}');
}

fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON string: copied as it is when no byte needs escaping (control
/// characters, `"` and `\`, as `serde_json` escapes them), else written by
/// `serde_json`.
fn string(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// An enum's name (kind, severity, confidence): snake-case ASCII that
/// needs no escaping, so it is quoted without the test [`string`] makes
/// (48 MiB corpus: a finding's writing 2,210 → 2,010 instructions).
fn name(out: &mut Vec<u8>, s: &'static str) {
    debug_assert!(!needs_escape(s.as_bytes()), "{s:?}");
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// An attribute name or value: a known string (most of them) is copied
/// from its JSON text, written once per run; any other goes through
/// [`string`].
fn value(out: &mut Vec<u8>, v: &shekara_detectors::attributes::Value) {
    static QUOTED: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    let quoted = QUOTED.get_or_init(|| {
        (0..)
            .map_while(shekara_detectors::attributes::known_at)
            .map(|s| {
                let mut q = Vec::with_capacity(s.len() + 2);
                string(&mut q, s);
                q
            })
            .collect()
    });
    match v.known_index().and_then(|i| quoted.get(i as usize)) {
        Some(q) => out.extend_from_slice(q),
        None => string(out, v.as_str()),
    }
}

/// Whether `b` holds a byte below 0x20, `"` or `\`: eight bytes at a time.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `w` is below `n` (n ≤ 0x80): the classic "has less" test.
    let bad = |w: u64| {
        let below = w.wrapping_sub(ONES * 0x20) & !w;
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        let zero = |x: u64| x.wrapping_sub(ONES) & !x;
        (below | zero(quote) | zero(slash)) & HIGH != 0
    };
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if bad(u64::from_le_bytes(w)) {
            return true;
        }
    }
    // The tail, padded with a byte that needs nothing.
    let rest = chunks.remainder();
    let mut w = [b'a'; 8];
    w[..rest.len()].copy_from_slice(rest);
    bad(u64::from_le_bytes(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BreachNotification;
    use shekara_detectors::{Confidence, Kind, Severity};
    use std::num::NonZeroU64;

    fn ours(f: &Finding) -> Vec<u8> {
        let mut v = Vec::new();
        write_finding(&mut v, f);
        v
    }

    fn base() -> Finding {
        Finding {
            kind: Kind::Iin,
            rule: "kz.iin".into(),
            severity: Severity::High,
            confidence: Confidence::Medium,
            location: Location::at("data/a.csv", 0),
            count: 1,
            evidence: Evidence {
                masked: "8503******31".into(),
                fingerprint: "bk3:00".into(),
                raw: None,
            },
            attributes: shekara_detectors::Attributes::new(),
            breach_notification: None,
        }
    }

    #[test]
    fn shared_attribute_sets_are_copied_as_serde_writes_them() {
        let mut a = shekara_detectors::Attributes::new();
        a.insert("provider", "Amazon Web Services");
        a.insert("host", "b.s3.amazonaws.com");
        let a = a.shared();
        let mut b = shekara_detectors::Attributes::new();
        b.insert("host", "quote \" ▸");
        let b = b.shared();
        let mut owned = shekara_detectors::Attributes::new();
        owned.insert("validation", "valid IIN");
        // More sets than the memo's slots, revisited in a scrambled order:
        // sets that share a slot take turns in it.
        let many: Vec<shekara_detectors::Attributes> = (0..3 * WRITTEN_SLOTS)
            .map(|i| {
                let mut m = shekara_detectors::Attributes::new();
                m.insert("host", format!("h{i}.blob.core.windows.net"));
                m.shared()
            })
            .collect();
        let mut sets = vec![&a, &a, &b, &owned, &a, &owned, &b, &b];
        for round in 0..3 {
            sets.extend((0..many.len()).map(|k| &many[(k * 37 + round * 11) % many.len()]));
        }
        let sets = sets;
        assert_one_memo_writes_as_serde(sets.iter().enumerate().map(|(i, set)| {
            let mut f = base();
            f.count = i as u64;
            f.attributes = (*set).clone();
            f
        }));
    }

    /// Writes `findings` one after another through one memo and compares
    /// the text with `serde_json`'s.
    fn assert_one_memo_writes_as_serde(findings: impl Iterator<Item = Finding>) {
        let (mut got, mut want) = (Vec::new(), Vec::new());
        let mut memo = Written::default();
        for f in findings {
            write_finding_with(&mut got, &f, &mut memo);
            want.extend(serde_json::to_vec(&f).unwrap());
        }
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }

    /// Heads and location starts are copied only when everything they are
    /// written from is the same: findings that differ in one of kind, rule
    /// (as text, owned or not), severity, confidence, path, root, raw path
    /// or archive members, in a scrambled order, through one memo.
    #[test]
    fn repeated_heads_and_places_are_copied_as_serde_writes_them() {
        let shared: std::sync::Arc<str> = "src/a.py".into();
        let mut variants: Vec<Finding> = Vec::new();
        for k in 0..9 {
            let mut f = base();
            match k {
                0 => {}
                1 => f.kind = Kind::Bin,
                2 => f.rule = String::from("kz.iin").into(),
                3 => f.rule = "kz.bin".into(),
                4 => f.severity = Severity::Low,
                5 => f.confidence = Confidence::High,
                6 => f.location.root = 1,
                7 => f.location.set_path_base64(Some("c3JjL2EucHk=".into())),
                _ => f.location.set_inner(vec!["layer.tar".into()]),
            }
            // The same text in one shared string and in a copy of its own.
            f.location.path = if k % 2 == 0 {
                shared.clone()
            } else {
                String::from("src/a.py").into()
            };
            variants.push(f);
        }
        let mut other = base();
        other.location.path = "src/b.py".into();
        variants.push(other);
        assert_one_memo_writes_as_serde((0..200usize).map(|i| {
            let mut f = variants[(i * 7 + i / 13) % variants.len()].clone();
            f.location.byte_offset = i as u64;
            f
        }));
    }

    #[test]
    fn every_field_as_serde_writes_it() {
        let tricky = [
            "",
            "plain",
            "quote \" and \\ backslash",
            "tab\tnew\nline\r\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            "юникод ▸ 中文 \u{202e}bidi",
            "</script>",
        ];
        let kinds = [
            Kind::Iin,
            Kind::Bin,
            Kind::ForeignEndpoint,
            Kind::DomesticEndpoint,
        ];
        for (i, s) in tricky.iter().enumerate() {
            let mut f = base();
            f.kind = kinds[i % kinds.len()];
            f.rule = format!("rule{s}").into();
            f.severity = Severity::ALL[i % Severity::ALL.len()];
            f.confidence = [Confidence::Low, Confidence::Medium, Confidence::High][i % 3];
            f.location.path = (*s).into();
            f.location
                .set_path_base64((i % 2 == 0).then(|| format!("b64{s}").into()));
            f.location.root = i * 1000;
            f.location
                .set_inner(tricky[..i].iter().map(|m| m.to_string()).collect());
            f.location.line = NonZeroU64::new(u64::MAX - i as u64).filter(|_| i % 3 != 0);
            f.location.column = NonZeroU64::new(i as u64).filter(|_| i % 2 == 1);
            f.location.byte_offset = 10u64.pow(i as u32);
            f.location
                .set_commit((i % 2 == 0).then(|| s.repeat(2).into()));
            f.location
                .set_author_date((i > 2).then(|| "2026-01-01T00:00:00Z".into()));
            f.count = i as u64 * 7;
            f.evidence.masked = format!("m{s}").into();
            f.evidence.raw = (i % 2 == 1).then(|| (*s).into());
            for (j, v) in tricky.iter().enumerate().take(i + 1) {
                f.attributes.insert(format!("k{j}{v}"), format!("{v}{j}"));
            }
            f.breach_notification = (i % 2 == 0).then(|| {
                Box::new(BreachNotification {
                    class: "biometric".into(),
                    window: "PT3H".into(),
                    business_days: i == 4,
                    basis: format!("basis{s}"),
                    basis_title: "t".into(),
                    detected: "2026-01-01T00:00:00Z".into(),
                    deadline: "2026-01-01T03:00:00Z".into(),
                })
            });
            let reference = serde_json::to_vec(&f).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&ours(&f)),
                String::from_utf8_lossy(&reference),
                "finding {i}"
            );
        }
    }

    #[test]
    fn escape_test_agrees_with_bytewise() {
        let naive = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        // Every byte value at every position of strings of length 0..=17.
        for len in 0..=17usize {
            for pos in 0..len.max(1) {
                for byte in 0..=255u8 {
                    let mut v = vec![b'x'; len];
                    if len > 0 {
                        v[pos] = byte;
                    }
                    assert_eq!(
                        needs_escape(&v),
                        naive(&v),
                        "len {len} pos {pos} byte {byte}"
                    );
                }
            }
        }
    }

    #[test]
    fn enum_names_are_quoted_as_serde_quotes_them() {
        use shekara_detectors::{Confidence, Kind, Severity};
        let names = Kind::ALL
            .map(Kind::as_str)
            .into_iter()
            .chain(Severity::ALL.map(Severity::as_str))
            .chain(Confidence::ALL.map(Confidence::as_str));
        for n in names {
            let mut ours = Vec::new();
            name(&mut ours, n);
            assert_eq!(ours, serde_json::to_vec(n).unwrap(), "{n}");
        }
    }

    #[test]
    fn a_bare_finding_as_serde_writes_it() {
        let f = base();
        assert_eq!(ours(&f), serde_json::to_vec(&f).unwrap());
    }
}
