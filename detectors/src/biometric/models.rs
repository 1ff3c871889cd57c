//! Face-recognition models: known model files by name (any size, matched by
//! the scanner over the walked file list), and ONNX graphs by their shapes.
//!
//! The ONNX reader is a small hand-written protobuf walker rather than
//! `prost` over the ONNX schema: it needs five fields (graph, name,
//! initializer names, input and output shapes), and `prost` would bring a
//! build script, `protoc` and the schema for them.

use super::{finding, severity_of, Parsed};
use crate::Confidence::{High, Low, Medium};
use crate::{Detector, Haystack, Kind, RawFinding, Ruleset, Severity};

/// Rule id of name matches.
pub const RULE_NAME: &str = "biometric.model.name";
/// Rule id of ONNX graph matches.
pub const RULE_ONNX: &str = "biometric.model.onnx";

/// Extensions of model files, for keyword matches.
const MODEL_EXT: [&str; 14] = [
    ".onnx",
    ".pt",
    ".pth",
    ".pb",
    ".h5",
    ".tflite",
    ".caffemodel",
    ".t7",
    ".dat",
    ".params",
    ".pkl",
    ".ckpt",
    ".safetensors",
    ".xml",
];

/// A model file recognised by its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelMatch {
    /// The rule (`biometric.model.name`).
    pub rule: &'static str,
    /// `dlib`, `insightface`, …
    pub family: String,
    /// `recognition`, `detection`, `landmarks`, or `unknown` for keywords.
    pub task: String,
    /// What matched: the known name or the keyword.
    pub matched: String,
    /// High for a known file name, medium for a keyword in a model file name.
    pub confidence: crate::Confidence,
}

/// Matches a path's file name against the known face models.
pub fn model_by_name(rules: &Ruleset, path: &str) -> Option<ModelMatch> {
    let name = path.rsplit('/').next()?.to_ascii_lowercase();
    let name = name.strip_suffix(".bz2").unwrap_or(&name);
    let b = &rules.biometric;
    if let Some(m) = b.models.iter().find(|m| {
        if m.prefix {
            name.starts_with(&m.name)
        } else {
            name == m.name
        }
    }) {
        return Some(ModelMatch {
            rule: RULE_NAME,
            family: m.family.clone(),
            task: m.task.clone(),
            matched: m.name.clone(),
            confidence: High,
        });
    }
    if !MODEL_EXT.iter().any(|e| name.ends_with(e)) {
        return None;
    }
    let k = b
        .model_keywords
        .iter()
        .find(|k| name.contains(&k.keyword))?;
    Some(ModelMatch {
        rule: RULE_NAME,
        family: k.family.clone(),
        task: "unknown".into(),
        matched: k.keyword.clone(),
        confidence: Medium,
    })
}

/// ONNX models (whole `.onnx` files) whose graph looks like face recognition:
/// input N×3×112×112 (or 160×160) and a 512- or 128-wide output, or face
/// model names in the graph, producer or initializers.
pub struct OnnxModels {
    severity: Severity,
    keywords: Vec<String>,
}

impl OnnxModels {
    /// Builds the detector.
    pub fn new(rules: &Ruleset) -> OnnxModels {
        OnnxModels {
            severity: severity_of(rules, RULE_ONNX),
            keywords: rules
                .biometric
                .model_keywords
                .iter()
                .map(|k| k.keyword.clone())
                .collect(),
        }
    }
}

impl Detector for OnnxModels {
    fn id(&self) -> &str {
        "biometric.onnx"
    }

    fn wants_whole_file(&self, path: &str) -> bool {
        path.to_ascii_lowercase().ends_with(".onnx")
    }

    fn on_whole_file(&self, hay: &Haystack<'_>, out: &mut Vec<RawFinding>) {
        if let Some(p) = onnx(hay.bytes, &self.keywords) {
            out.push(finding(hay, 0, Kind::BiometricModel, self.severity, p));
        }
    }
}

/// Reads a protobuf varint at `*at`.
fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Fields of one protobuf message: (field number, wire value) where a
/// length-delimited value is its bytes and a varint is empty with the number.
fn fields(b: &[u8]) -> Option<Vec<(u64, &[u8], u64)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let key = varint(b, &mut at)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => out.push((field, &b[0..0], varint(b, &mut at)?)),
            1 => {
                at = at.checked_add(8)?;
            }
            2 => {
                let n = usize::try_from(varint(b, &mut at)?).ok()?;
                let end = at.checked_add(n)?;
                out.push((field, b.get(at..end)?, 0));
                at = end;
            }
            5 => {
                at = at.checked_add(4)?;
            }
            _ => return None,
        }
    }
    (at == b.len()).then_some(out)
}

fn field<'a, 'b>(f: &'b [(u64, &'a [u8], u64)], n: u64) -> impl Iterator<Item = &'a [u8]> + 'b
where
    'a: 'b,
{
    f.iter()
        .filter(move |(k, _, _)| *k == n)
        .map(|(_, v, _)| *v)
}

/// The dims of a ValueInfoProto's tensor type (0 for symbolic dims).
fn shape(value_info: &[u8]) -> Option<Vec<u64>> {
    let vi = fields(value_info)?;
    let ty = fields(field(&vi, 2).next()?)?;
    let tensor = fields(field(&ty, 1).next()?)?;
    let shape = fields(field(&tensor, 2).next()?)?;
    field(&shape, 1)
        .map(|d| {
            let d = fields(d)?;
            Some(d.iter().find(|(k, _, _)| *k == 1).map_or(0, |(_, _, v)| *v))
        })
        .collect()
}

/// An ONNX `ModelProto` judged as a face-recognition model.
pub fn onnx(b: &[u8], keywords: &[String]) -> Option<Parsed> {
    let model = fields(b)?;
    let graph = fields(field(&model, 7).next()?)?;
    let input = field(&graph, 11).next().and_then(shape);
    let output = field(&graph, 12).next().and_then(shape);
    let face_input = matches!(
        input.as_deref(),
        Some([_, 3, 112, 112]) | Some([_, 3, 160, 160]) | Some([_, 112, 112, 3])
    );
    let face_output = matches!(output.as_deref(), Some([_, 512]) | Some([_, 128]));
    let mut names: Vec<&[u8]> = field(&graph, 2).collect();
    names.extend(field(&model, 2));
    for init in field(&graph, 5).take(64) {
        if let Some(f) = fields(init) {
            names.extend(field(&f, 8));
        }
    }
    let named = names.iter().find_map(|n| {
        let n = String::from_utf8_lossy(n).to_ascii_lowercase();
        keywords.iter().find(|k| n.contains(k.as_str())).cloned()
    });
    let confidence = match (face_input && face_output, named.is_some()) {
        (true, _) => High,
        (false, true) => Medium,
        (false, false) if face_input => Low,
        _ => return None,
    };
    let dims = |s: &Option<Vec<u64>>| {
        s.as_ref().map_or("unknown".to_string(), |d| {
            d.iter().map(u64::to_string).collect::<Vec<_>>().join("x")
        })
    };
    let mut p = Parsed::new(RULE_ONNX, b.len().min(4096), confidence, "ONNX")
        .with("input", dims(&input))
        .with("output", dims(&output))
        .with(
            "task",
            if face_input && face_output {
                "recognition"
            } else {
                "unknown"
            },
        );
    if let Some(k) = named {
        p = p.with("matched", k);
    }
    Some(p)
}
