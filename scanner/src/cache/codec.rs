//! The cache's value encoding: compact, hand-written, versioned.
//!
//! A re-sweep of an unchanged tree decodes every cached finding, so the
//! encoding is what that sweep costs. JSON (the first version) spent most of
//! a re-sweep parsing field names and hex; this is a flat byte layout:
//! little-endian fixed-width integers, LEB128 lengths, enums as one byte,
//! the SHA-256 as 32 raw bytes, and nothing a finding's place in the scan
//! rewrites anyway (path, root). The stamp comes first at a fixed offset, so
//! a changed file is told from an unchanged one without decoding the rest.
//!
//! Attribute names and the values the rule data knows are stored as their
//! index among the known strings (`shekara_detectors::attributes`), with a
//! digest of that table in each value.
//!
//! Decoding never panics on bad bytes (a damaged cache file): every read is
//! bounds-checked and a value that does not decode is a cache miss.

use shekara_detectors::attributes::Value;
use shekara_detectors::hash::FastHash;
use shekara_detectors::{Confidence, Kind, Severity};

use super::{Entry, Inline, Member, Stamp, Unscanned};

/// Attribute sets at most this many are remembered per thread for sharing
/// (then forgotten all at once): a few MB at most.
const SEEN_CAP: usize = 1 << 16;

type Seen = std::collections::HashMap<Box<[u8]>, shekara_detectors::Attributes, FastHash>;

thread_local! {
    /// The attribute sets this thread decoded, by their encoded bytes.
    static SEEN: std::cell::RefCell<Seen> = std::cell::RefCell::default();
}
use crate::model::{BreachNotification, Evidence, Finding, Location, Reason};
use std::num::NonZeroU64;

/// A line or column read back: absent, or a number that is not 0 (a 0 is
/// damage, `None`).
fn nonzero(v: Option<u64>) -> Option<Option<NonZeroU64>> {
    match v {
        None => Some(None),
        Some(n) => NonZeroU64::new(n).map(Some),
    }
}

/// Layout version: the first byte of every value.
const VERSION: u8 = 4;

/// The reasons a cached result may carry, by their byte.
pub(super) const REASONS: [Reason; 8] = [
    Reason::ArchiveDepth,
    Reason::ArchiveLimit,
    Reason::CompressionRatio,
    Reason::CorruptArchive,
    Reason::DigestMismatch,
    Reason::UnsupportedFormat,
    Reason::ArchiveLoop,
    Reason::Corrupt,
];
/// Bytes of the version and stamp at the start of a value.
pub(super) const HEAD: usize = 1 + 7 * 8;

const KINDS: [Kind; 9] = Kind::ALL;
const CONFIDENCES: [Confidence; 3] = Confidence::ALL;

/// Encodes an entry; `None` when a value cannot be represented (an unknown
/// enum variant, a digest that is not SHA-256 hex): such a file is simply
/// not cached.
pub(super) fn encode(e: &Entry) -> Option<Vec<u8>> {
    let mut w = Vec::with_capacity(HEAD + 32 + 16 + e.findings.len() * 160);
    w.push(VERSION);
    stamp(&mut w, &e.stamp);
    w.extend_from_slice(&shekara_detectors::attributes::known_digest().to_le_bytes());
    w.extend_from_slice(&sha_bytes(&e.sha256)?);
    match &e.inline {
        None => w.push(0),
        Some(list) => {
            w.push(1);
            uvar(&mut w, list.len() as u64);
            for (i, why) in list {
                uvar(&mut w, *i as u64);
                string(&mut w, why);
            }
        }
    }
    uvar(&mut w, e.members.len() as u64);
    for m in &e.members {
        strings(&mut w, &m.inner);
        uvar(&mut w, m.size);
        w.extend_from_slice(&sha_bytes(&m.sha256)?);
    }
    uvar(&mut w, e.not_scanned.len() as u64);
    for n in &e.not_scanned {
        strings(&mut w, &n.inner);
        w.push(u8::try_from(REASONS.iter().position(|r| *r == n.reason)?).ok()?);
        string(&mut w, &n.detail);
        opt_u64(&mut w, n.bytes_scanned);
    }
    uvar(&mut w, e.bytes);
    w.push(u8::from(e.complete));
    // Findings last, after the kinds they hold: a sweep can take the rest
    // now and decode the findings later, straight into the report.
    let mut kinds = 0u16;
    for f in &e.findings {
        kinds |= 1 << KINDS.iter().position(|k| *k == f.kind)?;
    }
    w.extend_from_slice(&kinds.to_le_bytes());
    uvar(&mut w, e.findings.len() as u64);
    for f in &e.findings {
        finding(&mut w, f)?;
    }
    Some(w)
}

/// The stamp at the head of a value, when its layout is this version's.
pub(super) fn stamp_of(v: &[u8]) -> Option<Stamp> {
    if *v.first()? != VERSION {
        return None;
    }
    let mut r = Reader { b: v, at: 1 };
    r.stamp()
}

/// Decodes a whole entry.
pub(super) fn decode(v: &[u8]) -> Option<Entry> {
    let (mut entry, rest) = decode_head(v)?;
    let mut findings = Vec::with_capacity(rest.count.min(1 << 16));
    decode_findings(v, &rest, &mut findings)?;
    entry.findings = findings;
    Some(entry)
}

/// Where a value's findings are, and what they hold (see [`decode_head`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rest {
    /// Offset of the first finding.
    pub(super) at: usize,
    /// How many there are.
    pub(super) count: usize,
    /// Bit `i` set when a finding of `KINDS[i]` is among them.
    pub(super) kinds: u16,
}

impl Rest {
    /// Whether a finding of this kind is among them.
    pub(super) fn holds(&self, kind: Kind) -> bool {
        KINDS
            .iter()
            .position(|k| *k == kind)
            .is_some_and(|i| self.kinds & (1 << i) != 0)
    }
}

/// Decodes all of an entry but its findings (left empty), and says where
/// they are.
pub(super) fn decode_head(v: &[u8]) -> Option<(Entry, Rest)> {
    let stamp = stamp_of(v)?;
    let mut r = Reader { b: v, at: HEAD };
    // Attribute strings are stored by their index among the known strings
    // of the build that wrote them: another build's value is a miss.
    if r.u64()? != shekara_detectors::attributes::known_digest() {
        return None;
    }
    let sha256 = hex(r.take(32)?);
    let inline = match r.u8()? {
        0 => None,
        1 => {
            let n = r.len()?;
            let mut list: Inline = Vec::with_capacity(n.min(1 << 16));
            for _ in 0..n {
                list.push((r.len()?, r.string()?));
            }
            Some(list)
        }
        _ => return None,
    };
    let n = r.len()?;
    let mut members = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        members.push(Member {
            inner: r.strings()?,
            size: r.uvar()?,
            sha256: hex(r.take(32)?),
        });
    }
    let n = r.len()?;
    let mut not_scanned = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        not_scanned.push(Unscanned {
            inner: r.strings()?,
            reason: *REASONS.get(usize::from(r.u8()?))?,
            detail: r.string()?,
            bytes_scanned: r.opt_u64()?,
        });
    }
    let bytes = r.uvar()?;
    let complete = match r.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let kinds = u16::from_le_bytes(r.take(2)?.try_into().ok()?);
    let count = r.len()?;
    // Each finding takes more than one byte: a count past the bytes left is damage.
    if count > v.len() - r.at {
        return None;
    }
    let entry = Entry {
        stamp,
        sha256,
        inline,
        findings: Vec::new(),
        members,
        not_scanned,
        bytes,
        complete,
    };
    Some((
        entry,
        Rest {
            at: r.at,
            count,
            kinds,
        },
    ))
}

/// Reads the findings that `rest` (from [`decode_head`] of `v`) locates,
/// one at a time.
pub(super) struct Findings<'a> {
    r: Reader<'a>,
}

impl<'a> Findings<'a> {
    pub(super) fn new(v: &'a [u8], rest: &Rest) -> Findings<'a> {
        Findings {
            r: Reader { b: v, at: rest.at },
        }
    }

    /// The next finding; `None` when it does not decode.
    pub(super) fn next_finding(&mut self) -> Option<Finding> {
        self.r.finding()
    }

    /// Whether the value ends here (after the last finding).
    pub(super) fn at_end(&self) -> bool {
        self.r.at == self.r.b.len()
    }
}

/// Appends the findings that `rest` (from [`decode_head`] of `v`) locates
/// to `out`. `None` when they do not decode, or do not end the value, or
/// hold a kind `rest` does not: then `out` is left as it was.
pub(super) fn decode_findings(v: &[u8], rest: &Rest, out: &mut Vec<Finding>) -> Option<()> {
    let before = out.len();
    let mut r = Findings::new(v, rest);
    let mut kinds = 0u16;
    out.reserve(rest.count);
    for _ in 0..rest.count {
        match r.next_finding() {
            Some(f) => {
                kinds |= 1 << KINDS.iter().position(|k| *k == f.kind).unwrap_or(15);
                out.push(f);
            }
            None => break,
        }
    }
    if out.len() - before != rest.count || !r.at_end() || kinds != rest.kinds {
        out.truncate(before);
        return None;
    }
    Some(())
}

fn stamp(w: &mut Vec<u8>, s: &Stamp) {
    for x in [s.dev, s.ino, s.size] {
        w.extend_from_slice(&x.to_le_bytes());
    }
    for x in [s.mtime.0, s.mtime.1, s.ctime.0, s.ctime.1] {
        w.extend_from_slice(&x.to_le_bytes());
    }
}

fn finding(w: &mut Vec<u8>, f: &Finding) -> Option<()> {
    w.push(u8::try_from(KINDS.iter().position(|k| *k == f.kind)?).ok()?);
    string(w, &f.rule);
    w.push(u8::try_from(Severity::ALL.iter().position(|s| *s == f.severity)?).ok()?);
    w.push(u8::try_from(CONFIDENCES.iter().position(|c| *c == f.confidence)?).ok()?);
    let l = &f.location;
    strings(w, l.inner());
    opt_u64(w, l.line.map(NonZeroU64::get));
    opt_u64(w, l.column.map(NonZeroU64::get));
    uvar(w, l.byte_offset);
    opt_str(w, l.commit());
    opt_str(w, l.author_date());
    uvar(w, f.count);
    string(w, &f.evidence.masked);
    string(w, &f.evidence.fingerprint);
    opt_str(w, f.evidence.raw.as_deref());
    uvar(w, f.attributes.len() as u64);
    for (k, v) in f.attributes.values() {
        text(w, k);
        text(w, v);
    }
    match &f.breach_notification {
        None => w.push(0),
        Some(b) => {
            w.push(if b.business_days { 2 } else { 1 });
            for s in [
                &b.class,
                &b.window,
                &b.basis,
                &b.basis_title,
                &b.detected,
                &b.deadline,
            ] {
                string(w, s);
            }
        }
    }
    Some(())
}

fn uvar(w: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        w.push((x as u8) | 0x80);
        x >>= 7;
    }
    w.push(x as u8);
}

fn string(w: &mut Vec<u8>, s: &str) {
    uvar(w, s.len() as u64);
    w.extend_from_slice(s.as_bytes());
}

/// An attribute string: `2 × index + 1` when it is a known string (see
/// `shekara_detectors::attributes::known_index`), else `2 × length` and
/// the bytes.
fn text(w: &mut Vec<u8>, v: &Value) {
    match v.known_index() {
        Some(i) => uvar(w, 2 * u64::from(i) + 1),
        None => {
            let s = v.as_str();
            uvar(w, 2 * s.len() as u64);
            w.extend_from_slice(s.as_bytes());
        }
    }
}

fn strings(w: &mut Vec<u8>, list: &[String]) {
    uvar(w, list.len() as u64);
    for s in list {
        string(w, s);
    }
}

fn opt_u64(w: &mut Vec<u8>, x: Option<u64>) {
    match x {
        None => w.push(0),
        Some(x) => {
            w.push(1);
            uvar(w, x);
        }
    }
}

fn opt_str(w: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => w.push(0),
        Some(s) => {
            w.push(1);
            string(w, s);
        }
    }
}

fn sha_bytes(hex: &str) -> Option<[u8; 32]> {
    let h = hex.as_bytes();
    if h.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(h.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// A bounds-checked cursor.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn uvar(&mut self) -> Option<u64> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            x |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(x);
            }
        }
        None
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.uvar()?).ok()
    }

    fn string(&mut self) -> Option<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }

    /// A string as a shared copy (a finding's masked value and fingerprint):
    /// one allocation, not a `String`'s and then the `Arc`'s.
    fn shared(&mut self) -> Option<std::sync::Arc<str>> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).ok().map(Into::into)
    }

    /// An attribute string (see the writer's `text`): a known one is its
    /// index, with no allocation, no UTF-8 check and no lookup.
    fn text(&mut self) -> Option<Value> {
        let x = self.uvar()?;
        if x & 1 == 1 {
            return Value::known(u32::try_from(x >> 1).ok()?);
        }
        let n = usize::try_from(x >> 1).ok()?;
        let s = std::str::from_utf8(self.take(n)?).ok()?;
        Some(Value::from(s))
    }

    /// A finding's attributes. A set seen before (by its bytes) is the
    /// same shared set: a report repeats a few thousand sets over hundreds
    /// of thousands of findings (see [`shekara_detectors::Attributes::shared`]).
    fn attributes(&mut self) -> Option<shekara_detectors::Attributes> {
        let start = self.at;
        let n = self.len()?;
        if n == 0 {
            return Some(shekara_detectors::Attributes::new());
        }
        for _ in 0..2 * n {
            let x = self.uvar()?;
            if x & 1 == 0 {
                self.take(usize::try_from(x >> 1).ok()?)?;
            }
        }
        let bytes = &self.b[start..self.at];
        if let Some(a) = SEEN.with(|seen| seen.borrow().get(bytes).cloned()) {
            return Some(a);
        }
        let end = self.at;
        self.at = start;
        self.len()?;
        let mut attributes = shekara_detectors::Attributes::with_capacity(n.min(64));
        for _ in 0..n {
            // Stored in name order, so each insert appends.
            attributes.insert_value(self.text()?, self.text()?);
        }
        debug_assert_eq!(self.at, end);
        let attributes = attributes.shared();
        SEEN.with(|seen| {
            let mut seen = seen.borrow_mut();
            if seen.len() >= SEEN_CAP {
                seen.clear();
            }
            seen.insert(bytes.into(), attributes.clone());
        });
        Some(attributes)
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        let n = self.len()?;
        let mut list = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            list.push(self.string()?);
        }
        Some(list)
    }

    fn opt_u64(&mut self) -> Option<Option<u64>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.uvar()?)),
            _ => None,
        }
    }

    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }

    fn stamp(&mut self) -> Option<Stamp> {
        Some(Stamp {
            dev: self.u64()?,
            ino: self.u64()?,
            size: self.u64()?,
            mtime: (self.i64()?, self.i64()?),
            ctime: (self.i64()?, self.i64()?),
        })
    }

    fn finding(&mut self) -> Option<Finding> {
        let kind = *KINDS.get(usize::from(self.u8()?))?;
        let rule = self.string()?;
        let severity = *Severity::ALL.get(usize::from(self.u8()?))?;
        let confidence = *CONFIDENCES.get(usize::from(self.u8()?))?;
        let inner = self.strings()?;
        // The path is set by the caller, which knows the file (one path for
        // all its findings).
        let (line, column) = (nonzero(self.opt_u64()?)?, nonzero(self.opt_u64()?)?);
        let location = Location::new(
            std::sync::Arc::<str>::default(),
            0,
            line,
            column,
            self.uvar()?,
        )
        .with_inner(inner)
        .with_commit(
            self.opt_str()?.map(Into::into),
            self.opt_str()?.map(Into::into),
        );
        let count = self.uvar()?;
        let evidence = Evidence {
            masked: self.shared()?,
            fingerprint: self.shared()?,
            raw: self.opt_str()?.map(Into::into),
        };
        let attributes = self.attributes()?;
        let breach_notification = match self.u8()? {
            0 => None,
            flag @ (1 | 2) => Some(Box::new(BreachNotification {
                business_days: flag == 2,
                class: self.string()?,
                window: self.string()?,
                basis: self.string()?,
                basis_title: self.string()?,
                detected: self.string()?,
                deadline: self.string()?,
            })),
            _ => return None,
        };
        Some(Finding {
            kind,
            rule: rule.into(),
            severity,
            confidence,
            location,
            count,
            evidence,
            attributes,
            breach_notification,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        let mut attributes = shekara_detectors::Attributes::new();
        attributes.insert("provider", "aws");
        attributes.insert("country", "US");
        let findings = KINDS
            .iter()
            .enumerate()
            .map(|(i, &kind)| Finding {
                kind,
                rule: format!("rule.{i}").into(),
                severity: Severity::ALL[i % 5],
                confidence: CONFIDENCES[i % 3],
                location: Location::new(
                    std::sync::Arc::<str>::default(),
                    0,
                    NonZeroU64::new(i as u64 * 1000).filter(|_| i % 3 != 0),
                    NonZeroU64::new(7).filter(|_| i % 4 != 0),
                    (i as u64) << 40,
                )
                .with_inner(if i % 2 == 0 {
                    vec!["a.zip".into(), "ж.csv".into()]
                } else {
                    Vec::new()
                })
                .with_commit(
                    (i == 3).then(|| "c0ffee".into()),
                    (i == 3).then(|| "2026-01-01T00:00:00Z".into()),
                ),
                count: 1 + i as u64 * 300,
                evidence: Evidence {
                    masked: "8503******31".into(),
                    fingerprint: "bk3:abc".into(),
                    raw: (i == 1).then(|| "850314319331".into()),
                },
                attributes: if i % 2 == 1 {
                    attributes.clone()
                } else {
                    shekara_detectors::Attributes::new()
                },
                breach_notification: (i % 3 == 2).then(|| {
                    Box::new(BreachNotification {
                        class: "biometric".into(),
                        window: "PT3H".into(),
                        business_days: i == 5,
                        basis: "zpd".into(),
                        basis_title: "Law on personal data, art. 20".into(),
                        detected: "2026-11-23T19:00:00Z".into(),
                        deadline: "2026-11-23T22:00:00Z".into(),
                    })
                }),
            })
            .collect();
        Entry {
            stamp: Stamp {
                dev: u64::MAX,
                ino: 42,
                size: 1 << 33,
                mtime: (-5, 999_999_999),
                ctime: (i64::MAX, 0),
            },
            sha256: "0123456789abcdef".repeat(4),
            inline: Some(vec![(0, "iin.kz".into()), (300, String::new())]),
            findings,
            members: vec![Member {
                inner: vec!["a.zip".into(), "b.csv".into()],
                size: 77,
                sha256: "fe".repeat(32),
            }],
            not_scanned: REASONS
                .iter()
                .enumerate()
                .map(|(i, &reason)| Unscanned {
                    inner: vec![format!("m{i}")],
                    reason,
                    detail: "bad".into(),
                    bytes_scanned: (i % 2 == 0).then_some(i as u64),
                })
                .collect(),
            bytes: 12345,
            complete: false,
        }
    }

    #[test]
    fn round_trips_every_field() {
        let e = sample();
        let bytes = encode(&e).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back, e);
        assert_eq!(stamp_of(&bytes), Some(e.stamp));
        let json = serde_json::to_vec(&e.findings).unwrap();
        assert!(
            bytes.len() * 2 < json.len(),
            "binary {} bytes vs JSON {}",
            bytes.len(),
            json.len()
        );
    }

    #[test]
    fn unknown_inline_state_round_trips() {
        let mut e = sample();
        e.inline = None;
        assert_eq!(decode(&encode(&e).unwrap()).unwrap().inline, None);
    }

    #[test]
    fn known_strings_are_stored_by_index_and_another_table_is_a_miss() {
        let e = sample();
        let v = encode(&e).unwrap();
        // "provider" (a name) and "US" (a country of the rule data) are
        // indices, "aws" (unknown) is spelt out.
        assert!(!v.windows(8).any(|w| w == b"provider"));
        assert!(v.windows(3).any(|w| w == b"aws"));
        let back = decode(&v).unwrap();
        let f = back
            .findings
            .iter()
            .find(|f| !f.attributes.is_empty())
            .unwrap();
        let (_, country) = f
            .attributes
            .values()
            .find(|(k, _)| k.as_str() == "country")
            .unwrap();
        assert_eq!(country.as_str(), "US");
        assert!(country.known_index().is_some(), "decoded as its index");
        let mut other = v.clone();
        other[HEAD] ^= 1;
        assert!(
            decode(&other).is_none(),
            "a value of another known-string table"
        );
    }

    #[test]
    fn repeated_attribute_sets_are_shared_and_distinct_ones_kept_apart() {
        // Sets that differ only in an owned string (a host), or in one known
        // value, decoded over two entries: each finding gets its own set back.
        let mut e = sample();
        let base = e.findings[1].clone();
        e.findings = (0..40)
            .map(|i| {
                let mut f = base.clone();
                f.attributes = shekara_detectors::Attributes::new();
                f.attributes
                    .insert("country", if i % 3 == 0 { "US" } else { "KZ" });
                f.attributes
                    .insert("host", format!("b{}.example.org", i % 5));
                f
            })
            .collect();
        let bytes = encode(&e).unwrap();
        for _ in 0..2 {
            assert_eq!(decode(&bytes).unwrap(), e);
        }
        let mut changed = e.clone();
        for f in &mut changed.findings {
            f.attributes.insert("host", "other.example.org");
        }
        assert_eq!(decode(&encode(&changed).unwrap()).unwrap(), changed);
    }

    #[test]
    fn truncated_or_damaged_values_are_misses_not_panics() {
        let bytes = encode(&sample()).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_none(), "trailing bytes");
        let mut old = bytes.clone();
        old[0] = 1;
        assert!(
            stamp_of(&old).is_none() && decode(&old).is_none(),
            "old layout"
        );
        // Flipping any byte must not panic (it may still decode).
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            let _ = decode(&b);
        }
    }

    #[test]
    fn a_digest_that_is_not_sha256_hex_is_not_cached() {
        let mut e = sample();
        e.sha256 = "AB".repeat(32);
        assert!(encode(&e).is_none());
        e.sha256 = "ab".into();
        assert!(encode(&e).is_none());
    }

    #[test]
    fn errors_of_the_moment_are_not_cached() {
        let mut e = sample();
        e.not_scanned[0].reason = Reason::ReadError;
        assert!(encode(&e).is_none());
        assert!(!super::super::cacheable(Reason::ChangedDuringScan));
        assert!(!super::super::cacheable(Reason::TooLarge));
        assert!(super::super::cacheable(Reason::CorruptArchive));
    }
}
