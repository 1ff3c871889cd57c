//! Biometric template parsers: each takes the view at an anchor and says
//! whether a record starts there, which format, and how sure it is.
//!
//! Confidence follows one scheme: **high** when the header parses and its
//! length fields agree with what follows (the whole record checked, or for a
//! record longer than the view, the nested structure the view shows); **medium**
//! when the header parses and nothing the view shows contradicts it; **low**
//! when magic and version are there but a length is inconsistent or the
//! input ends inside the record. A magic without a valid version is nothing.

use super::{be16, be32, view_ends_input, Parsed};
use crate::Confidence::{self, High, Low, Medium};

/// Rule ids.
pub const RULE_ISO: &str = "biometric.template.iso19794";
/// ANSI/NIST-ITL transactions (traditional encoding).
pub const RULE_NIST: &str = "biometric.template.ansi_nist";
/// WSQ images.
pub const RULE_WSQ: &str = "biometric.template.wsq";
/// ICAO 9303 data groups.
pub const RULE_ICAO: &str = "biometric.template.icao9303";
/// XML forms.
pub const RULE_XML: &str = "biometric.template.xml";

/// The ISO/IEC 19794 magics, each followed by NUL in a record.
pub const ISO_MAGICS: [&[u8; 3]; 12] = [
    b"FMR", b"FIR", b"FAC", b"IIR", b"FSP", b"SDI", b"FSK", b"VIR", b"HND", b"SPD", b"VDI", b"DNA",
];

/// Where a record's end lies relative to the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Extent {
    /// The length field is smaller than the header: corrupt.
    Bad,
    /// The whole record is in the view.
    Whole,
    /// The input ends before the record does.
    Truncated,
    /// The record goes on past a full view.
    Beyond,
}

fn extent(v: &[u8], total: usize, header: usize) -> Extent {
    if total < header {
        Extent::Bad
    } else if total <= v.len() {
        Extent::Whole
    } else if view_ends_input(v) {
        Extent::Truncated
    } else {
        Extent::Beyond
    }
}

/// Confidence from the extent and whether the checked structure agreed.
fn judged(e: Extent, consistent: bool) -> Confidence {
    match (e, consistent) {
        (Extent::Whole, true) => High,
        (Extent::Beyond, true) => Medium,
        _ => Low,
    }
}

/// Bytes a finding covers: the record, or as much of it as the view shows.
fn covered(v: &[u8], total: usize) -> usize {
    total.clamp(8, v.len().max(8)).min(v.len())
}

fn part_of(magic: &[u8]) -> &'static str {
    match magic {
        b"FMR" => "2",
        b"FSP" => "3",
        b"FIR" => "4",
        b"FAC" => "5",
        b"IIR" => "6",
        b"SDI" => "7",
        b"FSK" => "8",
        b"VIR" => "9",
        b"HND" => "10",
        b"SPD" => "11",
        b"VDI" => "13",
        _ => "14",
    }
}

fn modality(magic: &[u8]) -> &'static str {
    match magic {
        b"FMR" | b"FIR" | b"FSP" | b"FSK" => "finger",
        b"FAC" => "face",
        b"IIR" => "iris",
        b"VIR" => "vein",
        b"HND" => "hand",
        b"SDI" | b"SPD" => "signature",
        b"VDI" => "voice",
        _ => "dna",
    }
}

/// An ISO/IEC 19794 record (or ANSI 378) at the start of `v`.
pub fn iso19794(v: &[u8]) -> Option<Parsed> {
    let magic = v.get(0..3)?;
    if v.get(3) != Some(&0) || v.get(7) != Some(&0) {
        return None;
    }
    let version = v.get(4..7)?;
    if version == b" 20" && magic == b"FMR" {
        return Some(
            fmr_2005(v)?
                .with("modality", "finger")
                .with("version", "20"),
        );
    }
    if !version.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let p = match (magic, version) {
        (b"FAC", b"010") => fac_2005(v)?,
        (b"FIR", b"010") => fir_2005(v)?,
        (b"IIR", b"010") => iir_2005(v)?,
        (b"FMR", b"035") => part1_2011(v, "ANSI INCITS 378-2009/AM1"),
        (b"FMR", b"030") => part1_2011(v, "ISO/IEC 19794-2:2011 or ANSI INCITS 378-2009"),
        _ if version[0] == b'0' && version[1] >= b'2' => {
            let f = format!("ISO/IEC 19794-{}:2011", part_of(magic));
            part1_2011(v, &f)
        }
        _ => return None,
    };
    Some(
        p.with("modality", modality(magic))
            .with("version", String::from_utf8_lossy(version).trim()),
    )
}

/// Finger views of a 2005/2004 minutiae record from `from`; returns
/// (end offset, total minutiae) when every view fits `limit`.
fn fmr_views(v: &[u8], from: usize, count: usize, limit: usize) -> Option<(usize, usize)> {
    let mut at = from;
    let mut minutiae = 0;
    for _ in 0..count {
        let m = *v.get(at + 3)? as usize;
        minutiae += m;
        at += 4 + 6 * m;
        let ext = be16(v, at)?;
        at += 2 + ext;
        if at > limit {
            return None;
        }
    }
    Some((at, minutiae))
}

/// `FMR\0 20\0`: ISO 19794-2:2005 or ANSI 378-2004, told apart as
/// FingerprintIO does by the bytes after the version.
fn fmr_2005(v: &[u8]) -> Option<Parsed> {
    let b89 = be16(v, 8)?;
    let (format, total, header) = if b89 >= 26 {
        ("ANSI INCITS 378-2004", b89, 26)
    } else if b89 > 0 || be16(v, 10)? >= 24 {
        // 1–25: too small for ANSI's 2-byte length; 0 then ≥ 24: too big for
        // the high half of ANSI's 4-byte extended length.
        ("ISO/IEC 19794-2:2005", be32(v, 8)?, 24)
    } else {
        ("ANSI INCITS 378-2004", be32(v, 10)?, 30)
    };
    let e = extent(v, total, header);
    let fingers = *v.get(header - 2)? as usize;
    let limit = total.min(v.len());
    let views = fmr_views(v, header, fingers, limit);
    let consistent = fingers > 0
        && match (e, views) {
            (Extent::Whole, Some((end, _))) => end == total,
            (Extent::Beyond, _) => true,
            _ => false,
        };
    let mut p = Parsed::new(RULE_ISO, covered(v, total), judged(e, consistent), format)
        .with("fingers", fingers);
    if let (true, Some((_, m))) = (consistent, views) {
        p = p.with("minutiae", m);
    }
    Some(p)
}

/// ISO/IEC 19794-5:2005 face: length, image count, facial record blocks.
fn fac_2005(v: &[u8]) -> Option<Parsed> {
    let total = be32(v, 8)?;
    let images = be16(v, 12)?;
    let e = extent(v, total, 14 + 32);
    let block = be32(v, 14)?;
    let points = be16(v, 18)?;
    let info = 14 + 20 + 8 * points;
    let data = info + 12;
    let mut consistent = images > 0 && block >= 32 + 8 * points && 14 + block <= total;
    let mut sum_ok = true;
    if e == Extent::Whole {
        let mut at = 14;
        for _ in 0..images {
            at += be32(v, at).unwrap_or(total);
        }
        sum_ok = at == total;
    }
    let image_type = match (v.get(info + 1), v.get(data..data + 2)) {
        (Some(0), Some([0xFF, 0xD8])) => Some("jpeg"),
        (Some(1), Some([0x00, 0x00])) | (Some(1), Some([0xFF, 0x4F])) => Some("jpeg2000"),
        (_, None) => None,
        _ => {
            consistent = false;
            None
        }
    };
    let confidence = match e {
        Extent::Whole if consistent && sum_ok => High,
        Extent::Beyond if consistent && image_type.is_some() => High,
        Extent::Beyond if consistent => Medium,
        _ => Low,
    };
    let mut p = Parsed::new(
        RULE_ISO,
        covered(v, total),
        confidence,
        "ISO/IEC 19794-5:2005",
    )
    .with("images", images);
    if let (Some(w), Some(h), Some(t)) = (be16(v, info + 2), be16(v, info + 4), image_type) {
        p = p.with("width", w).with("height", h).with("image_type", t);
    }
    Some(p)
}

/// ISO/IEC 19794-4:2005 finger image: 6-byte length, 32-byte header.
fn fir_2005(v: &[u8]) -> Option<Parsed> {
    let total = (be16(v, 8)? << 32) | be32(v, 10)?;
    let fingers = *v.get(18)? as usize;
    let depth = *v.get(28)?;
    let compression = *v.get(29)?;
    let e = extent(v, total, 32);
    let first = be32(v, 32);
    let consistent = fingers > 0
        && (1..=16).contains(&depth)
        && compression <= 5
        && first.is_none_or(|f| f >= 14 && 32 + f <= total)
        && (e != Extent::Whole || fingers != 1 || first == Some(total - 32));
    let p = Parsed::new(
        RULE_ISO,
        covered(v, total),
        judged(e, consistent),
        "ISO/IEC 19794-4:2005",
    )
    .with("fingers", fingers);
    Some(p)
}

/// ISO/IEC 19794-6:2005 iris: 4-byte length, header length field of 45.
fn iir_2005(v: &[u8]) -> Option<Parsed> {
    let total = be32(v, 8)?;
    let header_len = be16(v, 15)?;
    let e = extent(v, total, 45);
    let consistent = header_len == 45 && *v.get(14)? > 0;
    Some(Parsed::new(
        RULE_ISO,
        covered(v, total),
        judged(e, consistent),
        "ISO/IEC 19794-6:2005",
    ))
}

/// The generic ISO/IEC 19794-1:2011 header: length (4), representations
/// (2), certification flag (1), then representations led by their length.
fn part1_2011(v: &[u8], format: &str) -> Parsed {
    let total = be32(v, 8).unwrap_or(0);
    let reps = be16(v, 12).unwrap_or(0);
    let cert = v.get(14).copied().unwrap_or(0xFF);
    let e = extent(v, total, 15);
    let limit = total.min(v.len());
    let mut at = 15;
    let mut chain_ok = reps > 0 && cert <= 1;
    for _ in 0..reps {
        match be32(v, at) {
            Some(n) if n >= 4 && at + n <= total => at += n,
            Some(_) => {
                chain_ok = false;
                break;
            }
            None => break,
        }
        if at >= limit {
            break;
        }
    }
    let consistent = chain_ok && (e != Extent::Whole || at == total);
    Parsed::new(RULE_ISO, covered(v, total), judged(e, consistent), format)
        .with("representations", reps)
}

/// An ANSI/NIST-ITL transaction starting with its type-1 record
/// (`1.001:<length>` GS `1.002:<version>` GS `1.003:<CNT>` …, FS).
pub fn ansi_nist(v: &[u8]) -> Option<Parsed> {
    const GS: u8 = 0x1D;
    const FS: u8 = 0x1C;
    let colon = v.iter().take(6).position(|&b| b == b':')? + 1;
    let gs = colon + v.get(colon..colon + 11)?.iter().position(|&b| b == GS)?;
    let len: usize = std::str::from_utf8(&v[colon..gs]).ok()?.parse().ok()?;
    let rest = &v[gs + 1..];
    let version_field = rest
        .strip_prefix(b"1.002:")
        .or_else(|| rest.strip_prefix(b"1.02:"))?;
    let version: Vec<u8> = version_field
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    if version.len() != 4 {
        return None;
    }
    let types = cnt_types(v, len.min(v.len()));
    let e = extent(v, len, 20);
    let consistent = v.get(len.wrapping_sub(1)) == Some(&FS) && types.is_some();
    let mut p = Parsed::new(
        RULE_NIST,
        covered(v, len),
        judged(e, consistent),
        "ANSI/NIST-ITL",
    )
    .with("version", String::from_utf8_lossy(&version));
    if let Some(t) = types {
        let names: Vec<String> = t.iter().map(u32::to_string).collect();
        p = p
            .with("record_types", names.join(","))
            .with("modalities", modalities(&t));
    }
    Some(p)
}

/// Record types listed in the CNT field (1.003) of a type-1 record.
fn cnt_types(v: &[u8], end: usize) -> Option<Vec<u32>> {
    let rec = v.get(..end)?;
    let at = memchr::memmem::find(rec, b"\x1d1.003:")
        .or_else(|| memchr::memmem::find(rec, b"\x1d1.03:"))?;
    let field_start = at + 1 + rec[at + 1..].iter().position(|&b| b == b':')? + 1;
    let field_end = field_start
        + rec[field_start..]
            .iter()
            .position(|&b| b == 0x1D || b == 0x1C)
            .unwrap_or(rec.len() - field_start);
    let mut types: Vec<u32> = rec[field_start..field_end]
        .split(|&b| b == 0x1E)
        .skip(1)
        .filter_map(|sub| {
            let t = sub.split(|&b| b == 0x1F).next()?;
            std::str::from_utf8(t).ok()?.parse().ok()
        })
        .collect();
    types.insert(0, 1);
    types.sort_unstable();
    types.dedup();
    Some(types)
}

fn modalities(types: &[u32]) -> String {
    let m: std::collections::BTreeSet<&str> = types
        .iter()
        .filter_map(|t| match t {
            3..=9 | 13..=15 => Some("finger"),
            10 => Some("face"),
            17 => Some("iris"),
            18 => Some("dna"),
            _ => None,
        })
        .collect();
    if m.is_empty() {
        "none".into()
    } else {
        m.into_iter().collect::<Vec<_>>().join(",")
    }
}

/// A WSQ stream: SOI `FF A0`, then marker segments up to the frame header.
pub fn wsq(v: &[u8]) -> Option<Parsed> {
    if !matches!(v.get(3), Some(0xA2 | 0xA4 | 0xA5 | 0xA6 | 0xA8)) {
        return None;
    }
    let mut at = 2;
    loop {
        let (Some(&0xFF), Some(&m)) = (v.get(at), v.get(at + 1)) else {
            // The view ended, or something else follows a segment.
            let ok = at >= v.len() && !view_ends_input(v);
            let c = if ok { Medium } else { Low };
            return Some(Parsed::new(RULE_WSQ, v.len(), c, "WSQ"));
        };
        let len = be16(v, at + 2);
        match (m, len) {
            (0xA2, Some(n)) if n >= 17 => {
                let (h, w) = (be16(v, at + 6), be16(v, at + 8));
                let p = Parsed::new(RULE_WSQ, v.len(), High, "WSQ").with("modality", "finger");
                return match (w, h) {
                    (Some(w), Some(h)) if w > 0 && h > 0 => {
                        Some(p.with("width", w).with("height", h))
                    }
                    _ => Some(Parsed {
                        confidence: Low,
                        ..p
                    }),
                };
            }
            (0xA3..=0xA8, Some(n)) if n >= 2 => at += 2 + n,
            (_, None) if !view_ends_input(v) => {
                return Some(Parsed::new(RULE_WSQ, v.len(), Medium, "WSQ"))
            }
            _ => return Some(Parsed::new(RULE_WSQ, v.len(), Low, "WSQ")),
        }
    }
}

/// A BER-TLV length at `at`: (length, bytes it took).
fn ber_len(v: &[u8], at: usize) -> Option<(usize, usize)> {
    match *v.get(at)? {
        n if n < 0x80 => Some((n as usize, 1)),
        0x81 => Some((*v.get(at + 1)? as usize, 2)),
        0x82 => Some((be16(v, at + 1)?, 3)),
        0x83 => Some((be32(v, at)? & 0xFF_FFFF, 4)),
        _ => None,
    }
}

/// An ICAO 9303 biometric information group template (`7F61`) at the start
/// of `v`; `before` holds up to 5 bytes preceding it, where the data group
/// tag (DG2 `75`, DG3 `63`, DG4 `76`) and its length sit.
pub fn icao(v: &[u8], before: &[u8]) -> Option<Parsed> {
    let (group_len, n) = ber_len(v, 2)?;
    let mut at = 2 + n;
    if v.get(at..at + 2) != Some(&[0x02, 0x01]) {
        return None;
    }
    let instances = *v.get(at + 2)?;
    at += 3;
    if v.get(at..at + 2) != Some(&[0x7F, 0x60]) || instances == 0 {
        return None;
    }
    let (_, n) = ber_len(v, at + 2)?;
    at += 2 + n;
    let dg = data_group(before, 2 + n + group_len);
    let format = dg.map_or("ICAO 9303 BIT".to_string(), |(d, _)| {
        format!("ICAO 9303 {d}")
    });
    let mut p = Parsed::new(RULE_ICAO, v.len().min(2 + n + group_len), Medium, &format)
        .with("instances", instances);
    if let Some((_, m)) = dg {
        p = p.with("modality", m);
    }
    // Biometric header template A1, then the data block.
    if v.get(at) != Some(&0xA1) {
        return Some(Parsed {
            confidence: Low,
            ..p
        });
    }
    let (hlen, n) = ber_len(v, at + 1)?;
    let header = v.get(at + 1 + n..at + 1 + n + hlen);
    let owner = header.and_then(|h| tlv_value(h, 0x87));
    let ftype = header.and_then(|h| tlv_value(h, 0x88));
    at += 1 + n + hlen;
    let block = match v.get(at..at + 2) {
        Some([0x5F, 0x2E]) => Some("5F2E"),
        Some([0x7F, 0x2E]) => Some("7F2E"),
        _ => None,
    };
    if let (Some(o), Some(t)) = (owner, ftype) {
        p = p.with("format_owner", hex(o)).with("format_type", hex(t));
    }
    match block {
        Some(b) if owner.is_some() && ftype.is_some() => {
            p = p.with("data_block", b);
            let (_, n) = ber_len(v, at + 2).unwrap_or((0, 1));
            if let Some(inner) = v.get(at + 2 + n..at + 2 + n + 3) {
                if ISO_MAGICS.iter().any(|m| m.as_slice() == inner) {
                    p = p.with("inner_format", String::from_utf8_lossy(inner));
                }
            }
            Some(Parsed {
                confidence: High,
                ..p
            })
        }
        _ => Some(p),
    }
}

/// Whether `before` (the bytes ahead of a record) ends with an ICAO data
/// block tag (`5F2E`/`7F2E`) and its length.
pub fn in_icao_block(before: &[u8]) -> bool {
    let n = before.len();
    (0..n.saturating_sub(2)).any(|i| {
        matches!(before[i..i + 2], [0x5F, 0x2E] | [0x7F, 0x2E])
            && ber_len(before, i + 2).is_some_and(|(_, k)| i + 2 + k == n)
    })
}

/// The data group whose tag and length precede a `7F61` of `inner` bytes.
fn data_group(before: &[u8], inner: usize) -> Option<(&'static str, &'static str)> {
    let n = before.len();
    for start in (0..n.saturating_sub(1)).rev().take(4) {
        let Some((len, k)) = ber_len(before, start + 1) else {
            continue;
        };
        if start + 1 + k == n && len == inner {
            return match before[start] {
                0x75 => Some(("DG2", "face")),
                0x63 => Some(("DG3", "finger")),
                0x76 => Some(("DG4", "iris")),
                _ => None,
            };
        }
    }
    None
}

/// The value of the first primitive TLV with one-byte `tag` in `h`.
fn tlv_value(h: &[u8], tag: u8) -> Option<&[u8]> {
    let mut at = 0;
    while at < h.len() {
        let t = h[at];
        let (len, n) = ber_len(h, at + 1)?;
        let value = h.get(at + 1 + n..at + 1 + n + len)?;
        if t == tag {
            return Some(value);
        }
        at += 1 + n + len;
    }
    None
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Which XML namespace an anchor names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XmlKind {
    /// `http://biometrics.nist.gov/standard/…`
    Nist,
    /// `http://standards.iso.org/iso-iec/19785/-3/…`
    Cbeff,
    /// `http://standards.iso.org/iso-iec/39794/…`
    Iso39794,
}

/// A biometric XML namespace at the start of `v` (the anchor: the middle of
/// the namespace URI, `nist.gov/standard/`, `/iso-iec/19785/`,
/// `/iso-iec/39794/`), `before` being up to 64 bytes ahead of it. High when it is declared (`xmlns`) and
/// the view shows biometric data elements or a long base64 run; medium when
/// declared; low when merely mentioned.
pub fn xml(v: &[u8], before: &[u8], kind: XmlKind) -> Option<Parsed> {
    let tail = |lit: &str| v.get(lit.len()..).unwrap_or(&[]);
    let format = match kind {
        XmlKind::Nist => {
            let t = tail("nist.gov/standard/");
            if !(t.starts_with(b"2-2008") || t.starts_with(b"2011") || t.starts_with(b"2013")) {
                return None;
            }
            "ANSI/NIST-ITL XML".to_string()
        }
        XmlKind::Cbeff => {
            if !tail("/iso-iec/19785/").starts_with(b"-3") {
                return None;
            }
            "CBEFF XML (ISO/IEC 19785-3)".to_string()
        }
        XmlKind::Iso39794 => {
            let t = tail("/iso-iec/39794/");
            let part: String = t
                .iter()
                .skip_while(|&&b| b == b'-')
                .take_while(|b| b.is_ascii_digit())
                .map(|&b| b as char)
                .collect();
            if part.is_empty() {
                return None;
            }
            format!("ISO/IEC 39794-{part} XML")
        }
    };
    let declared = memchr::memmem::rfind(before, b"xmlns").is_some();
    let data = [
        &b"BinaryBase64Object"[..],
        b"BDB>",
        b"FaceImage",
        b"FingerImpression",
        b"IrisImage",
        b"representationData",
        b"imageData",
    ]
    .iter()
    .any(|lit| memchr::memmem::find(v, lit).is_some())
        || base64_run(v) >= 64;
    let confidence = match (declared, data) {
        (true, true) => High,
        (true, false) => Medium,
        _ => Low,
    };
    Some(Parsed::new(RULE_XML, v.len(), confidence, &format))
}

/// The longest run of base64 characters in `v`.
fn base64_run(v: &[u8]) -> usize {
    let mut best = 0;
    let mut run = 0;
    for &b in v {
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}
