//! Archives and container images through the binary: located findings,
//! whiteout attributes, digest mismatches, limits as flags and exit codes.

use std::fs;

use shekara_fixtures::archives::{bomb, deep_zip, nested_tgz_zip_txt};
use shekara_fixtures::images::{image, Layout, ENDPOINT};
use shekara_fixtures::{text_with_iins, Rng};

use crate::{not_scanned, occurrences, of_kind, scan_json};

#[test]
fn image_tarball_findings_are_located_in_layers_with_whiteouts() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(Layout::Oci, 21, 25);
    fs::write(dir.path().join("app.tar"), img.tarball()).unwrap();
    let (r, code) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let iins = of_kind(&r, "iin");
    // The CSV's IIN column is one aggregated finding (issue #4 datasets).
    assert_eq!(occurrences(&iins), img.users_iins + img.secret_iins);
    let users: Vec<_> = iins
        .iter()
        .copied()
        .filter(|f| f["location"]["inner"][1] == "data/users.csv")
        .collect();
    assert_eq!(occurrences(&users), 25);
    for f in users {
        assert_eq!(f["location"]["path"], "app.tar");
        assert_eq!(f["location"]["inner"][0], img.layers[0].as_str());
        assert_eq!(f["attributes"]["layer"], "0");
        assert_eq!(f["attributes"]["hidden_by_layer"], "1");
        let masked = f["evidence"]["masked"].as_str().unwrap();
        assert!(masked.contains('*'), "{masked}");
    }
    let endpoints = of_kind(&r, "foreign_endpoint");
    assert!(endpoints
        .iter()
        .any(|f| f["location"]["inner"][0] == img.config.as_str()
            && ENDPOINT.contains(f["attributes"]["host"].as_str().unwrap())));
    assert!(r["coverage"]["complete"].as_bool().unwrap());
}

#[test]
fn tampered_image_exits_with_a_digest_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = image(Layout::Legacy, 22, 3);
    img.tamper();
    fs::write(dir.path().join("old.tar"), img.tarball()).unwrap();
    let (r, _) = scan_json(dir.path(), &["--fail-on", "critical"]);
    let ns = not_scanned(&r);
    assert!(
        ns.contains(&("old.tar".into(), "digest_mismatch".into())),
        "{ns:?}"
    );
    let (_, code) = scan_json(dir.path(), &["--fail-on", "critical"]);
    assert_eq!(code, 2);
}

#[test]
fn nested_archive_count_and_limits_as_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (text, planted) = text_with_iins(&mut Rng::new(23), 10_000, 17);
    fs::write(dir.path().join("outer.tar.gz"), nested_tgz_zip_txt(&text)).unwrap();
    fs::write(dir.path().join("deep.zip"), deep_zip(20, b"x")).unwrap();
    fs::write(dir.path().join("42.zip"), bomb(3, 16 << 20, true)).unwrap();
    let (r, _) = scan_json(dir.path(), &[]);
    let iins = of_kind(&r, "iin");
    assert_eq!(iins.len(), planted.len());
    assert!(iins.iter().all(
        |f| f["location"]["inner"] == serde_json::json!(["inner/data.zip", "notes/people.txt"])
    ));
    let ns = not_scanned(&r);
    assert!(
        ns.contains(&("deep.zip".into(), "archive_depth".into())),
        "{ns:?}"
    );
    assert!(
        ns.contains(&("42.zip".into(), "compression_ratio".into())),
        "{ns:?}"
    );
    assert!(!r["coverage"]["complete"].as_bool().unwrap());

    // Depth 2 stops before the zip inside the tar.gz.
    let (r, _) = scan_json(dir.path(), &["--max-depth", "2"]);
    assert!(of_kind(&r, "iin").is_empty());
    let ns = not_scanned(&r);
    assert!(
        ns.contains(&("outer.tar.gz".into(), "archive_depth".into())),
        "{ns:?}"
    );
    // A higher ratio lets the bomb's leaves through, until the byte budget stops it.
    let args = ["--max-ratio", "100000", "--max-decompressed", "64M"];
    let (r, _) = scan_json(dir.path(), &args);
    let ns = not_scanned(&r);
    assert!(
        ns.contains(&("42.zip".into(), "archive_limit".into())),
        "{ns:?}"
    );
    assert!(
        !ns.iter().any(|(_, reason)| reason == "compression_ratio"),
        "{ns:?}"
    );
}

#[test]
fn quines_end_fast_with_an_archive_loop_and_an_incomplete_verdict() {
    use shekara_fixtures::archives::{gzip, tar};
    use shekara_fixtures::quine::{gzip_quine, zip_quine, ZIP_MEMBER};
    let dir = tempfile::tempdir().unwrap();
    let q = zip_quine();
    fs::write(dir.path().join("quine.zip"), &q).unwrap();
    fs::write(dir.path().join("quine.gz"), gzip_quine()).unwrap();
    fs::write(
        dir.path().join("quine-in.tar.gz"),
        gzip(&tar(&[("quine.zip", &q)])),
    )
    .unwrap();
    let t = std::time::Instant::now();
    let (r, code) = scan_json(dir.path(), &[]);
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    // A loop is not an error: nothing found, nothing unreadable.
    assert_eq!(code, 0);
    let loops: Vec<(&str, Vec<&str>)> = r["coverage"]["not_scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            assert_eq!(n["reason"], "archive_loop", "{n}");
            let inner = n["inner"].as_array().unwrap();
            let inner = inner.iter().map(|m| m.as_str().unwrap()).collect();
            (n["path"].as_str().unwrap(), inner)
        })
        .collect();
    assert_eq!(
        loops,
        [
            ("quine-in.tar.gz", vec!["quine.zip", ZIP_MEMBER]),
            ("quine.gz", vec!["quine"]),
            ("quine.zip", vec![ZIP_MEMBER]),
        ]
    );
    assert_eq!(r["coverage"]["complete"], false);
    for v in r["verdicts"].as_array().unwrap() {
        assert_eq!(v["verdict"], "incomplete", "{v}");
    }
}
