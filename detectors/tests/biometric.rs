//! Biometric detectors on generated records: each format is found with its
//! exact `format`; corrupted records are not high confidence; prose and a
//! JPEG comment holding `FAC\0` are not templates; embeddings by shape and
//! norm; windows never change the answer.

use shekara_detectors::{Confidence, Engine, Kind, RawFinding};
use shekara_fixtures::{biometric as b, Rng};

mod common;
use common::scan_windows;

fn scan(bytes: &[u8], path: &str) -> Vec<RawFinding> {
    Engine::builtin().scan_input(bytes, path)
}

fn of_kind(found: &[RawFinding], kind: Kind) -> Vec<&RawFinding> {
    found.iter().filter(|f| f.kind == kind).collect()
}

/// The single finding of `kind`, else a panic that shows what was found.
fn one(bytes: &[u8], path: &str, kind: Kind) -> RawFinding {
    let found = scan(bytes, path);
    let k = of_kind(&found, kind);
    assert_eq!(k.len(), 1, "{path}: want one {kind}, got {found:#?}");
    k[0].clone()
}

fn attr<'a>(f: &'a RawFinding, key: &str) -> &'a str {
    f.attributes.get(key).unwrap_or("")
}

/// Surrounds a record with filler so it sits at an odd offset in a file.
fn embedded(record: &[u8]) -> Vec<u8> {
    let mut rng = Rng::new(99);
    let mut pre = vec![0u8; 3001];
    rng.fill(&mut pre);
    [pre.as_slice(), record, &[0u8; 77]].concat()
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    format: &'static str,
}

fn template_cases() -> Vec<Case> {
    let mut rng = Rng::new(5);
    vec![
        Case {
            name: "ISO 19794-2:2005",
            bytes: b::fmr_iso2005(&mut rng, 2, 20),
            format: "ISO/IEC 19794-2:2005",
        },
        Case {
            name: "ANSI 378-2004",
            bytes: b::fmr_ansi2004(&mut rng, 2, 20),
            format: "ANSI INCITS 378-2004",
        },
        Case {
            name: "ISO 19794-2:2011",
            bytes: b::iso2011(&mut rng, b"FMR", b"030", 2),
            format: "ISO/IEC 19794-2:2011 or ANSI INCITS 378-2009",
        },
        Case {
            name: "ANSI 378-2009/AM1",
            bytes: b::iso2011(&mut rng, b"FMR", b"035", 1),
            format: "ANSI INCITS 378-2009/AM1",
        },
        Case {
            name: "face 2005",
            bytes: b::fac_2005(120, 160),
            format: "ISO/IEC 19794-5:2005",
        },
        Case {
            name: "face 2011",
            bytes: b::iso2011(&mut rng, b"FAC", b"030", 1),
            format: "ISO/IEC 19794-5:2011",
        },
        Case {
            name: "finger image 2011",
            bytes: b::iso2011(&mut rng, b"FIR", b"020", 1),
            format: "ISO/IEC 19794-4:2011",
        },
        Case {
            name: "iris 2011",
            bytes: b::iso2011(&mut rng, b"IIR", b"020", 1),
            format: "ISO/IEC 19794-6:2011",
        },
        Case {
            name: "vein 2011",
            bytes: b::iso2011(&mut rng, b"VIR", b"020", 3),
            format: "ISO/IEC 19794-9:2011",
        },
        Case {
            name: "WSQ",
            bytes: b::wsq(500, 600),
            format: "WSQ",
        },
        Case {
            name: "ICAO DG2",
            bytes: b::icao_dg(0x75, &b::fac_2005(100, 120)),
            format: "ICAO 9303 DG2",
        },
        Case {
            name: "ICAO DG3",
            bytes: b::icao_dg(0x63, &b::iso2011(&mut rng, b"FIR", b"020", 3)),
            format: "ICAO 9303 DG3",
        },
        Case {
            name: "ICAO DG4",
            bytes: b::icao_dg(0x76, &b::iso2011(&mut rng, b"IIR", b"020", 3)),
            format: "ICAO 9303 DG4",
        },
        Case {
            name: "ANSI/NIST-ITL",
            bytes: b::ansi_nist(&[14, 10, 17]),
            format: "ANSI/NIST-ITL",
        },
    ]
}

#[test]
fn each_template_format_is_found_exactly_at_high_confidence() {
    for c in template_cases() {
        for (label, bytes) in [("alone", c.bytes.clone()), ("embedded", embedded(&c.bytes))] {
            let f = one(&bytes, "dump.bin", Kind::BiometricTemplate);
            assert_eq!(attr(&f, "format"), c.format, "{} {label}", c.name);
            assert_eq!(f.confidence, Confidence::High, "{} {label}: {f:#?}", c.name);
        }
    }
}

#[test]
fn minutiae_records_report_fingers_and_minutiae() {
    let mut rng = Rng::new(8);
    let iso = one(
        &b::fmr_iso2005(&mut rng, 3, 17),
        "t.bin",
        Kind::BiometricTemplate,
    );
    assert_eq!((attr(&iso, "fingers"), attr(&iso, "minutiae")), ("3", "51"));
    let ansi = one(
        &b::fmr_ansi2004(&mut rng, 1, 40),
        "t.bin",
        Kind::BiometricTemplate,
    );
    assert_eq!(
        (attr(&ansi, "fingers"), attr(&ansi, "minutiae")),
        ("1", "40")
    );
}

#[test]
fn nist_transactions_list_their_record_types() {
    let f = one(
        &b::ansi_nist(&[14, 10, 17]),
        "case.eft",
        Kind::BiometricTemplate,
    );
    assert_eq!(attr(&f, "record_types"), "1,10,14,17");
    assert_eq!(attr(&f, "modalities"), "face,finger,iris");
}

#[test]
fn icao_groups_name_their_data_block_and_inner_format() {
    let f = one(
        &b::icao_dg(0x75, &b::fac_2005(100, 120)),
        "dg2.bin",
        Kind::BiometricTemplate,
    );
    assert_eq!(attr(&f, "data_block"), "5F2E");
    assert_eq!(attr(&f, "inner_format"), "FAC");
    assert_eq!(attr(&f, "modality"), "face");
}

#[test]
fn corrupted_records_are_never_high_confidence() {
    let mut rng = Rng::new(9);
    let iso = b::fmr_iso2005(&mut rng, 2, 20);
    let fac = b::fac_2005(120, 160);
    let v2011 = b::iso2011(&mut rng, b"IIR", b"020", 2);
    let nist = b::ansi_nist(&[10]);
    let corrupt = [
        ("FMR truncated", b::truncate(&iso, iso.len() - 9)),
        ("FMR length +40", b::bad_length(&iso, 8, 40)),
        ("FMR length -6", {
            let mut r = iso.clone();
            r[11] -= 6;
            r
        }),
        ("FAC truncated", b::truncate(&fac, 60)),
        ("FAC length +1", b::bad_length(&fac, 8, 1)),
        ("2011 length +3", b::bad_length(&v2011, 8, 3)),
        ("2011 truncated", b::truncate(&v2011, 50)),
        ("WSQ truncated", b::truncate(&b::wsq(500, 600), 40)),
        ("NIST truncated", b::truncate(&nist, 60)),
    ];
    for (name, bytes) in corrupt {
        for f in of_kind(&scan(&bytes, "x.bin"), Kind::BiometricTemplate) {
            assert!(f.confidence < Confidence::High, "{name}: {f:#?}");
        }
    }
}

#[test]
fn prose_and_a_jpeg_comment_are_not_templates() {
    let prose = b"Templates: FMR (ISO 19794-2), FAC (19794-5), FIR, IIR. FMR 2005 vs 2011; FAC v3.";
    assert!(of_kind(&scan(prose, "notes.md"), Kind::BiometricTemplate).is_empty());
    let jpeg = b::jpeg(640, 480, Some(b"FAC\0 exported by camera app v2\0FMR\0"));
    let found = scan(&jpeg, "holiday/IMG_0001.jpg");
    assert!(
        of_kind(&found, Kind::BiometricTemplate).is_empty(),
        "{found:#?}"
    );
}

#[test]
fn embeddings_by_shape_and_norm() {
    let mut rng = Rng::new(10);
    let unit = one(
        &b::npy_f32(&mut rng, 10, 128, true),
        "data/x.npy",
        Kind::FaceEmbedding,
    );
    assert_eq!(unit.confidence, Confidence::High);
    assert_eq!(
        (
            attr(&unit, "dim"),
            attr(&unit, "rows"),
            attr(&unit, "normalized")
        ),
        ("128", "10", "true")
    );
    let raw512 = one(
        &b::npy_f32(&mut rng, 4, 512, false),
        "data/x.npy",
        Kind::FaceEmbedding,
    );
    assert_eq!(raw512.confidence, Confidence::Medium);
    assert_eq!(attr(&raw512, "normalized"), "false");
    let raw128 = scan(&b::npy_f32(&mut rng, 4, 128, false), "data/x.npy");
    let low = of_kind(&raw128, Kind::FaceEmbedding);
    assert!(
        low.iter().all(|f| f.confidence == Confidence::Low),
        "{low:#?}"
    );
    let image = scan(&b::npy_image(&mut rng, 112, 112), "faces/crop.npy");
    assert!(
        of_kind(&image, Kind::FaceEmbedding).is_empty(),
        "uint8 image is no embedding"
    );
    let other = scan(&b::npy_f32(&mut rng, 4, 300, true), "data/glove.npy");
    assert!(
        of_kind(&other, Kind::FaceEmbedding).is_empty(),
        "300-d without context"
    );
}

#[test]
fn pickles_of_face_encodings() {
    for numpy2 in [false, true] {
        let p = b::face_pickle(&mut Rng::new(11), 7, 128, numpy2);
        let f = one(&p, "models/encodings.pickle", Kind::FaceEmbedding);
        assert_eq!(f.confidence, Confidence::High);
        assert_eq!(
            (attr(&f, "dim"), attr(&f, "rows"), attr(&f, "dtype")),
            ("128", "7", "float64")
        );
        assert_eq!(attr(&f, "numpy"), if numpy2 { "2.x" } else { "1.x" });
        assert_eq!(attr(&f, "normalized"), "true");
    }
    let not_numpy = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";
    assert!(scan(not_numpy, "cfg.pkl").is_empty());
}

#[test]
fn faiss_indexes_by_header() {
    let idx = b::faiss_flat(&mut Rng::new(12), b"IxF2", 512, 3);
    let f = one(&idx, "search/faces.index", Kind::FaceEmbedding);
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!((attr(&f, "dim"), attr(&f, "rows")), ("512", "3"));
    let g = one(&idx, "search/vectors.index", Kind::FaceEmbedding);
    assert_eq!(g.confidence, Confidence::Medium);
}

#[test]
fn onnx_face_graphs() {
    let face = b::onnx("main_graph", "fc1.weight", &[1, 3, 112, 112], &[1, 512]);
    let f = one(&face, "models/model.onnx", Kind::BiometricModel);
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(attr(&f, "input"), "1x3x112x112");
    let named = b::onnx("arcface_r100", "w", &[1, 3, 224, 224], &[1, 1000]);
    assert_eq!(
        one(&named, "m.onnx", Kind::BiometricModel).confidence,
        Confidence::Medium
    );
    let imagenet = b::onnx("resnet50", "conv1.weight", &[1, 3, 224, 224], &[1, 1000]);
    assert!(scan(&imagenet, "models/resnet50.onnx").is_empty());
    assert!(scan(b"not protobuf at all \xff\xff\xff", "x.onnx").is_empty());
}

#[test]
fn code_is_one_finding_per_file_with_every_library() {
    let code = b"import dlib\nimport face_recognition\ndet = dlib.get_frontal_face_detector()\n\
                 encs = face_recognition.face_encodings(img)\n"
        .repeat(3);
    let f = one(&code, "pipeline/enroll.py", Kind::BiometricCode);
    assert_eq!(attr(&f, "libraries"), "face_recognition,dlib");
    assert_eq!(f.confidence, Confidence::High);
    assert!(
        scan(&code, "docs/enroll.md").is_empty(),
        "not a source file"
    );
}

#[test]
fn windows_never_change_biometric_findings() {
    let engine = Engine::builtin();
    let mut inputs: Vec<(Vec<u8>, &str)> = template_cases()
        .into_iter()
        .map(|c| (embedded(&c.bytes), "dump.bin"))
        .collect();
    let mut rng = Rng::new(13);
    inputs.push((embedded(&b::npy_f32(&mut rng, 3, 128, true)), "a.npz"));
    inputs.push((
        embedded(&b::faiss_flat(&mut rng, b"IxFI", 128, 2)),
        "faces.index",
    ));
    let mut all = Vec::new();
    for (bytes, _) in &inputs {
        all.extend_from_slice(bytes);
    }
    inputs.push((all, "everything.bin"));
    for (bytes, path) in &inputs {
        let whole = engine.scan_input(bytes, path);
        assert!(!whole.is_empty(), "{path}");
        for size in [1, 7, 4096] {
            let windowed = scan_windows(&engine, bytes, path, size);
            assert_eq!(windowed, whole, "{path}: window {size}");
        }
    }
}
