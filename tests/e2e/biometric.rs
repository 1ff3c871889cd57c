//! Biometric data end to end: a tree with a face store beside a holiday
//! folder, templates, embeddings, models and code; every biometric finding
//! carries its notification deadline, and the text output leads with it.

use std::fs;
use std::path::Path;

use shekara_fixtures::{biometric as b, Rng};

use crate::{of_kind, scan_json, shekara};

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

/// The tree: `crops/` (12 face crops), `holiday/` (12 photos 640×480), a
/// minutiae record dump, an ICAO DG2, embeddings, a model and enrolment code.
fn tree(root: &Path) {
    for i in 0..12 {
        write(root, &format!("crops/{i:04}.jpg"), &b::jpeg(112, 112, None));
        write(
            root,
            &format!("holiday/IMG_{i:04}.jpg"),
            &b::jpeg(640, 480, None),
        );
    }
    let mut rng = Rng::new(21);
    let mut dump = b"export v2\n".to_vec();
    dump.extend(b::fmr_iso2005(&mut rng, 2, 25));
    dump.extend(b::fmr_ansi2004(&mut rng, 1, 30));
    write(root, "exports/templates.bin", &dump);
    write(
        root,
        "exports/passport_dg2.bin",
        &b::icao_dg(0x75, &b::fac_2005(240, 320)),
    );
    write(
        root,
        "vectors/face_embeddings.npy",
        &b::npy_f32(&mut rng, 20, 512, true),
    );
    write(
        root,
        "vectors/encodings.pickle",
        &b::face_pickle(&mut rng, 5, 128, false),
    );
    write(root, "models/w600k_r50.onnx", b"\x08\x07");
    write(
        root,
        "src/enroll.py",
        b"import face_recognition\nenc = face_recognition.face_encodings(img)\n",
    );
}

#[test]
fn face_store_beside_a_photo_folder_is_exactly_one_finding() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let (r, code) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "critical findings fail the run");
    let stores = of_kind(&r, "face_image_store");
    assert_eq!(stores.len(), 1, "{stores:#?}");
    assert_eq!(stores[0]["location"]["path"], "crops");
    assert_eq!(stores[0]["count"], 12);
}

#[test]
fn every_kind_is_found_with_its_attributes() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let (r, _) = scan_json(dir.path(), &[]);
    let formats: Vec<&str> = of_kind(&r, "biometric_template")
        .iter()
        .map(|f| f["attributes"]["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats,
        [
            "ICAO 9303 DG2",
            "ISO/IEC 19794-2:2005",
            "ANSI INCITS 378-2004"
        ]
    );
    let emb: Vec<(&str, &str)> = of_kind(&r, "face_embedding")
        .iter()
        .map(|f| {
            (
                f["attributes"]["dim"].as_str().unwrap(),
                f["attributes"]["rows"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(emb, [("128", "5"), ("512", "20")]);
    assert_eq!(of_kind(&r, "biometric_model").len(), 1);
    let code = of_kind(&r, "biometric_code");
    assert_eq!(code.len(), 1);
    assert_eq!(code[0]["attributes"]["libraries"], "face_recognition");
}

#[test]
fn every_biometric_finding_carries_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let (r, _) = scan_json(dir.path(), &[]);
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(
        findings.len(),
        8,
        "3 templates, 2 embeddings, model, code, store"
    );
    let mut earliest: Option<String> = None;
    for f in findings {
        let b = &f["breach_notification"];
        assert_eq!(b["window"], "PT3H", "{f:#}");
        assert_eq!(b["basis"], "kz.digital-code.art24.biometric");
        let detected = b["detected"].as_str().unwrap();
        let deadline = b["deadline"].as_str().unwrap().to_string();
        assert_eq!(
            hours_between(detected, &deadline),
            3,
            "{detected} → {deadline}"
        );
        if earliest.as_ref().is_none_or(|e| deadline < *e) {
            earliest = Some(deadline);
        }
    }
    let s = &r["summary"]["breach_notification"][0];
    assert_eq!(s["class"], "biometric");
    assert_eq!(s["findings"], findings.len());
    assert_eq!(s["deadline"].as_str(), earliest.as_deref());
}

/// Whole hours between two RFC 3339 UTC times of the same minute and second.
fn hours_between(a: &str, b: &str) -> i64 {
    let secs = |t: &str| -> i64 {
        let (date, time) = t.split_once('T').unwrap();
        let day: i64 = date[8..10].parse().unwrap();
        let h: i64 = time[..2].parse().unwrap();
        let m: i64 = time[3..5].parse().unwrap();
        let s: i64 = time[6..8].parse().unwrap();
        ((day * 24 + h) * 60 + m) * 60 + s
    };
    (secs(b) - secs(a)) / 3600
}

#[test]
fn text_output_leads_with_the_deadline_and_shows_no_template_bytes() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let out = shekara()
        .args(["scan", "--color", "never"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("BIOMETRIC DATA: "), "{text}");
    assert!(first.contains("notify by "), "{first}");
    assert!(text.contains("[biometric data: "), "templates are masked");
    assert!(!text.contains("FMR"), "no raw template bytes: {text}");
}
