//! The anchored biometric detector: one set of literals for every binary
//! and XML format, dispatched to the parsers in [`super::templates`] and
//! [`super::embeddings`].

use super::embeddings::{self, FAISS_DUMMIES, RULE_FAISS, RULE_NPY};
use super::templates::{
    self, XmlKind, ISO_MAGICS, RULE_ICAO, RULE_ISO, RULE_NIST, RULE_WSQ, RULE_XML,
};
use super::{finding, severity_of, view, Parsed};
use crate::{Detector, Haystack, Kind, RawFinding, Ruleset, Severity};

/// What an anchor stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    Iso,
    Nist,
    Wsq,
    Icao,
    Xml(XmlKind),
    Npy,
    Faiss,
}

/// The anchors, in the order [`Detector::anchors`] returns them. None is
/// shorter than three bytes, and all but the XML namespaces hold a byte that
/// text rarely has (NUL, GS, `0xFF`, `0x7F`, `0x93`). ANSI/NIST is anchored
/// on the GS that leads its second field (`1.001:` or `1.01:` are common in
/// text), the namespaces on their rare middles (`nist.gov/standard/`): the
/// shared literal pass then costs the text path least (measured with the
/// engine bench: 11 → 17 GB/s for these anchors alone).
fn table() -> Vec<(Vec<u8>, Anchor)> {
    let mut t: Vec<(Vec<u8>, Anchor)> = ISO_MAGICS
        .iter()
        .map(|m| ([m.as_slice(), b"\0"].concat(), Anchor::Iso))
        .collect();
    t.push((b"\x1d1.002:".to_vec(), Anchor::Nist));
    t.push((b"\x1d1.02:".to_vec(), Anchor::Nist));
    t.push((vec![0xFF, 0xA0, 0xFF], Anchor::Wsq));
    t.push((vec![0x7F, 0x61, 0x81], Anchor::Icao));
    t.push((vec![0x7F, 0x61, 0x82], Anchor::Icao));
    t.push((vec![0x7F, 0x61, 0x83], Anchor::Icao));
    t.push((b"nist.gov/standard/".to_vec(), Anchor::Xml(XmlKind::Nist)));
    t.push((b"/iso-iec/19785/".to_vec(), Anchor::Xml(XmlKind::Cbeff)));
    t.push((b"/iso-iec/39794/".to_vec(), Anchor::Xml(XmlKind::Iso39794)));
    t.push((b"\x93NUMPY".to_vec(), Anchor::Npy));
    t.push((FAISS_DUMMIES.to_vec(), Anchor::Faiss));
    t
}

/// Biometric templates (kind `biometric_template`) and embedding arrays
/// (kind `face_embedding`) found by anchors and confirmed by their headers.
pub struct BinaryBiometrics {
    table: Vec<(Vec<u8>, Anchor)>,
    template: Severity,
    embedding: Severity,
}

impl BinaryBiometrics {
    /// Builds the detector; severities come from the rules.
    pub fn new(rules: &Ruleset) -> BinaryBiometrics {
        BinaryBiometrics {
            table: table(),
            template: severity_of(rules, RULE_ISO),
            embedding: severity_of(rules, RULE_NPY),
        }
    }

    fn parse(&self, hay: &Haystack<'_>, anchor: Anchor, at: usize) -> Option<(usize, Parsed)> {
        let before = |n: usize| &hay.bytes[at.saturating_sub(n)..at];
        let p = match anchor {
            // A record inside an ICAO data block is reported by the data group.
            Anchor::Iso if templates::in_icao_block(before(6)) => return None,
            Anchor::Iso => templates::iso19794(view(hay, at))?,
            Anchor::Nist => {
                // The anchor is the GS before 1.002; the record starts at 1.001.
                let back = &hay.bytes[at.saturating_sub(16)..at];
                let i = memchr::memmem::rfind(back, b"1.001:")
                    .or_else(|| memchr::memmem::rfind(back, b"1.01:"))?;
                let start = at - back.len() + i;
                return Some((start, templates::ansi_nist(view(hay, start))?));
            }
            Anchor::Wsq => templates::wsq(view(hay, at))?,
            Anchor::Icao => templates::icao(view(hay, at), before(5))?,
            Anchor::Xml(k) => templates::xml(view(hay, at), before(64), k)?,
            Anchor::Npy => embeddings::npy(view(hay, at), hay.path)?,
            Anchor::Faiss => {
                let start = at.checked_sub(16)?;
                // The index inside an ID map is reported with the map.
                if start >= 37 && hay.bytes.get(start - 37..start - 34) == Some(b"IxM") {
                    return None;
                }
                return Some((start, embeddings::faiss(view(hay, start), hay.path)?));
            }
        };
        Some((at, p))
    }
}

impl Detector for BinaryBiometrics {
    fn id(&self) -> &str {
        "biometric.binary"
    }

    fn anchors(&self) -> Vec<Vec<u8>> {
        self.table.iter().map(|(lit, _)| lit.clone()).collect()
    }

    fn on_anchor(
        &self,
        hay: &Haystack<'_>,
        anchor: usize,
        at: std::ops::Range<usize>,
        out: &mut Vec<RawFinding>,
    ) {
        let Some(&(_, kind)) = self.table.get(anchor) else {
            return;
        };
        let Some((start, p)) = self.parse(hay, kind, at.start) else {
            return;
        };
        let (k, sev) = match p.rule {
            RULE_NPY | RULE_FAISS => (Kind::FaceEmbedding, self.embedding),
            RULE_ISO | RULE_NIST | RULE_WSQ | RULE_ICAO | RULE_XML => {
                (Kind::BiometricTemplate, self.template)
            }
            _ => (Kind::BiometricTemplate, self.template),
        };
        out.push(finding(hay, start, k, sev, p));
    }
}
