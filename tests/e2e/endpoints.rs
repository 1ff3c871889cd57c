//! Endpoints in configs and code: provider, country, domestic vs foreign, no spoofs.

use std::fs;

use serde_json::Value;

use crate::{of_kind, scan_json};

fn attr<'a>(f: &'a Value, k: &str) -> &'a str {
    f["attributes"][k].as_str().unwrap_or("")
}

/// The endpoint findings of one file, as (kind, provider, country, masked).
fn endpoints_in(report: &Value, path: &str) -> Vec<(String, String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["location"]["path"] == path && f["kind"].as_str().unwrap().ends_with("_endpoint")
        })
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                attr(f, "provider").to_string(),
                attr(f, "country").to_string(),
                f["evidence"]["masked"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn endpoints_in_configs_are_found_with_provider_and_country() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(
        p.join("storage.yaml"),
        "train: https://kz-data.s3.eu-central-1.amazonaws.com/x.csv\nmirror: https://storage.yandexcloud.kz/kz-data\nspoof: https://s3.amazonaws.com.example.org/x\n",
    )
    .unwrap();
    fs::write(
        p.join(".env"),
        "OPENAI_BASE_URL=https://api.openai.com/v1\nSTORE=https://object.pscloud.io/bucket\n",
    )
    .unwrap();
    fs::write(p.join("upload.py"), "import boto3\nboto3.client('s3').upload_file('a.csv', 'b', 'k')\nURL = 'gs://kz-archive/2024/'\n").unwrap();
    fs::write(p.join("main.tf"), "provider \"aws\" {\n  region = \"eu-west-1\"\n}\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = \"kz\"\n}\n").unwrap();
    fs::create_dir(p.join(".dvc")).unwrap();
    fs::write(
        p.join(".dvc/config"),
        "['remote \"storage\"']\n    url = s3://kz-train/dvc\n",
    )
    .unwrap();

    let (r, _) = scan_json(p, &[]);

    let yaml = endpoints_in(&r, "storage.yaml");
    assert!(
        yaml.contains(&(
            "foreign_endpoint".into(),
            "Amazon Web Services".into(),
            "DE".into(),
            "kz-data.s3.eu-central-1.amazonaws.com".into()
        )),
        "{yaml:?}"
    );
    assert!(
        yaml.iter()
            .any(|e| e.0 == "domestic_endpoint" && e.2 == "KZ" && e.3 == "storage.yandexcloud.kz"),
        "{yaml:?}"
    );
    assert!(
        !yaml.iter().any(|e| e.3.contains("example.org")),
        "suffix spoof must not match: {yaml:?}"
    );
    assert_eq!(yaml.len(), 2, "{yaml:?}");

    let env = endpoints_in(&r, ".env");
    assert!(
        env.iter()
            .any(|e| e.0 == "foreign_endpoint" && e.1 == "OpenAI" && e.3 == "api.openai.com"),
        "{env:?}"
    );
    assert!(
        env.iter()
            .any(|e| e.0 == "domestic_endpoint" && e.2 == "KZ" && e.3 == "object.pscloud.io"),
        "{env:?}"
    );

    let py = endpoints_in(&r, "upload.py");
    assert!(
        py.iter()
            .any(|e| e.0 == "foreign_endpoint" && e.3 == "gs://kz-archive"),
        "{py:?}"
    );
    assert!(
        !py.iter().any(|e| e.1 == "Hugging Face"),
        "boto3's upload_file is not a Hugging Face push: {py:?}"
    );

    let tf = endpoints_in(&r, "main.tf");
    assert!(
        tf.iter()
            .any(|e| e.0 == "foreign_endpoint" && e.1 == "Amazon Web Services" && e.2 == "IE"),
        "{tf:?}"
    );

    let dvc = endpoints_in(&r, ".dvc/config");
    assert!(
        dvc.iter().any(|e| e.0 == "foreign_endpoint"
            && e.1 == "Amazon Web Services"
            && e.3.starts_with("s3://kz-train")),
        "{dvc:?}"
    );
    let dvc_finding = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["location"]["path"] == ".dvc/config")
        .unwrap();
    assert_eq!(attr(dvc_finding, "source"), "dvc_remote");

    for f in of_kind(&r, "foreign_endpoint")
        .into_iter()
        .chain(of_kind(&r, "domestic_endpoint"))
    {
        // Egress declared without a URL (a Terraform block) has no host.
        let keys: &[&str] = if f["rule"].as_str().unwrap().starts_with("endpoint.") {
            &["provider", "host", "region", "country"]
        } else {
            &["provider", "region", "country"]
        };
        for k in keys {
            assert!(!attr(f, k).is_empty(), "attribute {k} missing: {f}");
        }
    }
}

#[test]
fn endpoints_are_found_inside_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let mut blob: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    blob.extend_from_slice(b"\0\0https://uploads.s3.us-east-1.amazonaws.com/in\0");
    blob.extend((0..5000u32).map(|i| (i.wrapping_mul(40503) >> 7) as u8));
    fs::write(dir.path().join("uploader.bin"), blob).unwrap();
    let (r, _) = scan_json(dir.path(), &[]);
    let e = endpoints_in(&r, "uploader.bin");
    assert!(
        e.contains(&(
            "foreign_endpoint".into(),
            "Amazon Web Services".into(),
            "US".into(),
            "uploads.s3.us-east-1.amazonaws.com".into()
        )),
        "{e:?}"
    );
}
