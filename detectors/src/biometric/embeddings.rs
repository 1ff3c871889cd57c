//! Face embeddings: NumPy arrays, FAISS indexes, pickles of face encodings.
//!
//! An embedding is a float vector of a face model's width (128 dlib /
//! FaceNet, 256, 512 ArcFace / InsightFace). Face models L2-normalise their
//! output, so rows of norm 1 ± 0.01 are strong evidence; other widths count
//! only with a face-related path.

use memchr::memmem;

use super::{face_context, finding, severity_of, Parsed};
use crate::Confidence::{self, High, Low, Medium};
use crate::{Detector, Haystack, Kind, RawFinding, Ruleset, Severity};

/// Rule ids.
pub const RULE_NPY: &str = "biometric.embedding.npy";
/// FAISS indexes.
pub const RULE_FAISS: &str = "biometric.embedding.faiss";
/// Pickles.
pub const RULE_PICKLE: &str = "biometric.embedding.pickle";

/// Embedding widths of common face models.
pub const FACE_DIMS: [usize; 3] = [128, 256, 512];

/// Confidence for an array of width `dim` given what is known of its rows.
fn embedding_confidence(dim: usize, normalized: Option<bool>, path: &str) -> Option<Confidence> {
    let ctx = face_context(path);
    if FACE_DIMS.contains(&dim) {
        Some(match (normalized, dim, ctx) {
            (Some(true), _, _) => High,
            (_, 512, true) => High,
            (_, 512, false) | (_, _, true) => Medium,
            _ => Low,
        })
    } else if ctx && (64..=4096).contains(&dim) && normalized != Some(false) {
        Some(Low)
    } else {
        None
    }
}

/// Whether every row in `rows` (float values) has L2 norm 1 ± 0.01.
fn all_unit(norms: &[f64]) -> bool {
    !norms.is_empty() && norms.iter().all(|n| (n - 1.0).abs() <= 0.01)
}

/// Reads one little- or big-endian float of `size` bytes.
fn float_at(b: &[u8], size: usize, big: bool) -> Option<f64> {
    let v = b.get(..size)?;
    Some(match (size, big) {
        (4, false) => f32::from_le_bytes(v.try_into().ok()?) as f64,
        (4, true) => f32::from_be_bytes(v.try_into().ok()?) as f64,
        (8, false) => f64::from_le_bytes(v.try_into().ok()?),
        (8, true) => f64::from_be_bytes(v.try_into().ok()?),
        (2, _) => {
            let bits = if big {
                u16::from_be_bytes(v.try_into().ok()?)
            } else {
                u16::from_le_bytes(v.try_into().ok()?)
            };
            half(bits)
        }
        _ => return None,
    })
}

fn half(bits: u16) -> f64 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = ((bits >> 10) & 0x1F) as i32;
    let frac = (bits & 0x3FF) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Norms of the complete rows in `data` (at most `max`), and the sum of
/// squares of the visible part of the first row when none is complete.
fn row_norms(data: &[u8], dim: usize, size: usize, big: bool, max: usize) -> (Vec<f64>, f64) {
    let row = dim * size;
    let mut norms = Vec::new();
    if row == 0 {
        return (norms, 0.0);
    }
    for r in data.chunks_exact(row).take(max) {
        let s: f64 = r
            .chunks_exact(size)
            .filter_map(|x| float_at(x, size, big))
            .map(|x| x * x)
            .sum();
        norms.push(s.sqrt());
    }
    let partial = if norms.is_empty() {
        data.chunks_exact(size)
            .filter_map(|x| float_at(x, size, big))
            .map(|x| x * x)
            .sum()
    } else {
        0.0
    };
    (norms, partial)
}

/// What the visible rows say: normalised, not, or unknown.
fn normalized(norms: &[f64], partial: f64) -> Option<bool> {
    if !norms.is_empty() {
        Some(all_unit(norms))
    } else if partial > 1.01 {
        Some(false)
    } else {
        None
    }
}

fn tri(n: Option<bool>) -> &'static str {
    match n {
        Some(true) => "true",
        Some(false) => "false",
        None => "unknown",
    }
}

/// The header of a `.npy` array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// `descr`, e.g. `<f4`.
    pub descr: String,
    /// `fortran_order`.
    pub fortran: bool,
    /// `shape`.
    pub shape: Vec<usize>,
    /// Offset of the data from the magic.
    pub data: usize,
}

/// Parses a `.npy` header (format 1.0, 2.0 or 3.0) at the start of `v`.
pub fn npy_header(v: &[u8]) -> Option<NpyHeader> {
    let major = *v.get(6)?;
    let (hlen, start): (usize, usize) = match major {
        1 => (
            u16::from_le_bytes(v.get(8..10)?.try_into().ok()?) as usize,
            10,
        ),
        2 | 3 => (
            u32::from_le_bytes(v.get(8..12)?.try_into().ok()?) as usize,
            12,
        ),
        _ => return None,
    };
    let text = std::str::from_utf8(v.get(start..start.checked_add(hlen)?)?).ok()?;
    let descr = quoted_after(text, "'descr':")?;
    let fortran = text.contains("'fortran_order': True");
    let shape_at = text.find("'shape':")? + "'shape':".len();
    let open = shape_at + text[shape_at..].find('(')? + 1;
    let close = open + text[open..].find(')')?;
    let shape = text[open..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect::<Option<Vec<usize>>>()?;
    Some(NpyHeader {
        descr,
        fortran,
        shape,
        data: start + hlen,
    })
}

fn quoted_after(text: &str, key: &str) -> Option<String> {
    let at = text.find(key)? + key.len();
    let rest = text[at..].trim_start();
    let q = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let end = rest[1..].find(q)?;
    Some(rest[1..1 + end].to_string())
}

/// A `.npy` array at the start of `v` (the view at `\x93NUMPY`) judged as a
/// face embedding; `None` when it is not float rows (images, scalars, …).
pub fn npy(v: &[u8], path: &str) -> Option<Parsed> {
    let h = npy_header(v)?;
    let d = h.descr.as_bytes();
    let (order, kind, size) = (
        *d.first()?,
        *d.get(1)?,
        std::str::from_utf8(d.get(2..)?).ok()?,
    );
    let size: usize = size.parse().ok()?;
    if kind != b'f' || !matches!(size, 2 | 4 | 8) {
        return None;
    }
    let (rows, dim) = match h.shape[..] {
        [dim] => (1, dim),
        [rows, dim] => (rows, dim),
        _ => return None,
    };
    let data = v.get(h.data..).unwrap_or(&[]);
    let norm = if h.fortran && rows > 1 {
        None
    } else {
        let (norms, partial) = row_norms(data, dim, size, order == b'>', 8);
        normalized(&norms, partial)
    };
    let confidence = embedding_confidence(dim, norm, path)?;
    Some(
        Parsed::new(RULE_NPY, v.len(), confidence, "NumPy .npy")
            .with("dim", dim)
            .with("rows", rows)
            .with("dtype", &h.descr)
            .with("normalized", tri(norm)),
    )
}

/// Bytes of `1 << 20` as two little-endian i64: the two dummies every FAISS
/// index header carries 16 bytes after its fourcc.
pub const FAISS_DUMMIES: [u8; 16] = [0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0];

/// A FAISS index header at the start of `v` (fourcc, d, ntotal, dummies,
/// is_trained, metric type).
pub fn faiss(v: &[u8], path: &str) -> Option<Parsed> {
    let fourcc = v.get(..4)?;
    if fourcc[0] != b'I' || !fourcc.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let d = i32::from_le_bytes(v.get(4..8)?.try_into().ok()?);
    let ntotal = i64::from_le_bytes(v.get(8..16)?.try_into().ok()?);
    let trained = *v.get(32)?;
    let metric = i32::from_le_bytes(v.get(33..37)?.try_into().ok()?);
    if !(1..=65536).contains(&d) || !(0..1 << 40).contains(&ntotal) || trained > 1 {
        return None;
    }
    if !(0..=30).contains(&metric) {
        return None;
    }
    let confidence = embedding_confidence(d as usize, None, path)?;
    let metric_name = match metric {
        0 => "inner_product",
        1 => "l2",
        _ => "other",
    };
    Some(
        Parsed::new(
            RULE_FAISS,
            v.len(),
            confidence,
            &format!("FAISS index ({})", String::from_utf8_lossy(fourcc)),
        )
        .with("dim", d)
        .with("rows", ntotal)
        .with("metric", metric_name),
    )
}

/// Pickles of NumPy arrays: face_recognition-style `{"encodings": [...],
/// "names": [...]}` dumps, NumPy 1.x (`numpy.core.multiarray`) and 2.x
/// (`numpy._core.multiarray`). Whole files with pickle extensions.
pub struct FacePickles {
    severity: Severity,
}

impl FacePickles {
    /// Builds the detector.
    pub fn new(rules: &Ruleset) -> FacePickles {
        FacePickles {
            severity: severity_of(rules, RULE_PICKLE),
        }
    }
}

/// Extensions of pickle files.
const PICKLE_EXT: [&str; 5] = [".pkl", ".pickle", ".pck", ".p", ".pkl.gz"];

impl Detector for FacePickles {
    fn id(&self) -> &str {
        "biometric.pickle"
    }

    fn wants_whole_file(&self, path: &str) -> bool {
        let p = path.to_ascii_lowercase();
        PICKLE_EXT.iter().any(|e| p.ends_with(e))
    }

    fn on_whole_file(&self, hay: &Haystack<'_>, out: &mut Vec<RawFinding>) {
        if let Some(p) = pickle(hay.bytes, hay.path) {
            out.push(finding(hay, 0, Kind::FaceEmbedding, self.severity, p));
        }
    }
}

/// A pickle of NumPy arrays judged as face encodings.
pub fn pickle(b: &[u8], path: &str) -> Option<Parsed> {
    if b.first() != Some(&0x80) || !(2..=5).contains(b.get(1)?) {
        return None;
    }
    let module = memmem::find(b, b"numpy.core.multiarray")
        .or_else(|| memmem::find(b, b"numpy._core.multiarray"))?;
    let numpy2 = b.get(module + 6..module + 11) == Some(b"_core");
    let recon = module + memmem::find(b.get(module..module + 48)?, b"_reconstruct")?;
    let (shape, after) = first_shape(b, recon)?;
    let dtype_at = after
        + memmem::find(b.get(after..)?, b"f8")
            .map(|i| (i, 8))
            .into_iter()
            .chain(memmem::find(b.get(after..)?, b"f4").map(|i| (i, 4)))
            .min()?
            .0;
    let size = if b.get(dtype_at + 1) == Some(&b'8') {
        8
    } else {
        4
    };
    let (rows_per, dim) = match shape[..] {
        [dim] => (1, dim),
        [rows, dim] => (rows, dim),
        _ => return None,
    };
    let bytes_per = rows_per * dim * size;
    let (arrays, data) = data_blocks(b, dtype_at, bytes_per);
    if arrays == 0 {
        return None;
    }
    let mut norms = Vec::new();
    for block in data.iter().take(8) {
        norms.extend(row_norms(block, dim, size, false, 8).0);
    }
    let keys = memmem::find(b, b"encodings").is_some();
    let names = memmem::find(b, b"names").is_some();
    let norm = Some(all_unit(&norms));
    let mut confidence = embedding_confidence(dim, norm, path)?;
    if keys && FACE_DIMS.contains(&dim) {
        confidence = High;
    }
    let mut p = Parsed::new(
        RULE_PICKLE,
        b.len().min(4096),
        confidence,
        "Python pickle of NumPy arrays",
    )
    .with("dim", dim)
    .with("rows", arrays * rows_per)
    .with("dtype", if size == 8 { "float64" } else { "float32" })
    .with("normalized", tri(norm))
    .with("numpy", if numpy2 { "2.x" } else { "1.x" });
    if keys {
        p = p.with(
            "keys",
            if names {
                "encodings,names"
            } else {
                "encodings"
            },
        );
    }
    Some(p)
}

/// The first shape tuple after `from`: BININT1 (`K`) / BININT2 (`M`) /
/// BININT (`J`) values closed by TUPLE1/2 (`0x85`/`0x86`), after the
/// `(K\x01` that opens an ndarray state. Returns the shape and where it ends.
fn first_shape(b: &[u8], from: usize) -> Option<(Vec<usize>, usize)> {
    let state = from + memmem::find(b.get(from..from.checked_add(256)?.min(b.len()))?, b"(K\x01")?;
    let mut at = state + 3;
    let mut shape = Vec::new();
    loop {
        match *b.get(at)? {
            b'K' => {
                shape.push(*b.get(at + 1)? as usize);
                at += 2;
            }
            b'M' => {
                shape.push(u16::from_le_bytes(b.get(at + 1..at + 3)?.try_into().ok()?) as usize);
                at += 3;
            }
            b'J' => {
                shape.push(u32::from_le_bytes(b.get(at + 1..at + 5)?.try_into().ok()?) as usize);
                at += 5;
            }
            0x85 | 0x86 if !shape.is_empty() => return Some((shape, at + 1)),
            _ => return None,
        }
    }
}

/// Counts the BINBYTES (`B` + u32) / SHORT_BINBYTES (`C` + u8) blocks of
/// exactly `n` bytes from `from` on; returns the count and the first blocks.
fn data_blocks(b: &[u8], from: usize, n: usize) -> (usize, Vec<&[u8]>) {
    let mut header = Vec::new();
    if n < 256 {
        header.extend([b'C', n as u8]);
    } else if let Ok(n32) = u32::try_from(n) {
        header.push(b'B');
        header.extend(n32.to_le_bytes());
    } else {
        return (0, Vec::new());
    }
    let mut count = 0;
    let mut blocks = Vec::new();
    let finder = memmem::Finder::new(&header);
    let mut at = from;
    while let Some(i) = b.get(at..).and_then(|s| finder.find(s)) {
        let start = at + i + header.len();
        let Some(block) = b.get(start..start + n) else {
            break;
        };
        count += 1;
        if blocks.len() < 8 {
            blocks.push(block);
        }
        at = start + n;
    }
    (count, blocks)
}
