//! Evidence output formats: SARIF against the official schema, HTML in headless
//! Chromium, and no raw value in any format.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use base64::Engine as _;
use serde_json::Value;
use shekara_fixtures::Rng;

use crate::evidence::{customers, iins};
use crate::shekara;

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips the test (or fails it under CI=true) with a reason.
fn skip(why: &str) {
    assert!(!under_ci(), "CI=true, and this test cannot run: {why}");
    eprintln!("SKIPPED: {why}");
}

/// An ISO/IEC 19794-2 finger minutiae record: header, then seeded minutiae bytes.
fn template(seed: u64) -> Vec<u8> {
    let mut body = vec![0u8; 96];
    Rng::new(seed).fill(&mut body);
    let mut t = b"FMR\0 20\0".to_vec();
    let len = (8 + 4 + body.len()) as u32;
    t.extend_from_slice(&len.to_be_bytes());
    t.extend_from_slice(&body);
    t
}

/// An artefact with IINs, a template file and an S3 upload: a violation.
fn artefact(dir: &Path) -> (PathBuf, Vec<String>, Vec<u8>) {
    let art = dir.join("submission");
    fs::create_dir_all(art.join("data")).unwrap();
    let ids = iins(21, 6);
    fs::write(art.join("data/customers.csv"), customers(&ids)).unwrap();
    fs::write(
        art.join("notes.md"),
        format!("Клиент ИИН {} звонил.\n", ids[0]),
    )
    .unwrap();
    let t = template(5);
    fs::write(art.join("data/finger-0001.fmr"), &t).unwrap();
    fs::write(
        art.join("upload.py"),
        "DEST = \"https://kz-train.s3.eu-central-1.amazonaws.com/customers/\"\n",
    )
    .unwrap();
    (art, ids, t)
}

fn run(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = shekara().args(args).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn scan_format(art: &Path, format: &str, extra: &[&str]) -> Vec<u8> {
    let mut args: Vec<&std::ffi::OsStr> = ["scan", "--quiet", "--no-config", "-f", format]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .collect();
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(art.as_os_str());
    run(&args)
}

fn schema_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SHEKARA_SARIF_SCHEMA") {
        return Some(PathBuf::from(p));
    }
    // The workspace root is cli/..; the schema sits beside the checkout.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/sarif-schema-2.1.0.json");
    p.is_file().then_some(p)
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (art, _, _) = artefact(dir.path());
    fs::write(
        art.join("ok.txt"),
        format!("# shekara:ignore\n{}\n", iins(22, 1)[0]),
    )
    .unwrap();
    let sarif: Value = serde_json::from_slice(&scan_format(&art, "sarif", &[])).unwrap();

    // What GitHub code scanning needs, checked whatever the schema's availability.
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 5000);
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            !uri.starts_with('/') && !uri.contains("://"),
            "relative: {uri}"
        );
        assert!(r["partialFingerprints"]["shekaraValue/v1"]
            .as_str()
            .unwrap()
            .contains("bk3:"));
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
    }
    let iin = results.iter().find(|r| r["ruleId"] == "kz.iin").unwrap();
    assert_eq!(iin["level"], "error");
    assert!(
        iin["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(results
        .iter()
        .any(|r| r["suppressions"][0]["kind"] == "inSource"));
    let rule = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "kz.iin")
        .unwrap();
    assert!(
        rule["help"]["text"].as_str().unwrap().contains("94-V"),
        "{rule}"
    );
    assert!(!rule["properties"]["legal_references"]
        .as_array()
        .unwrap()
        .is_empty());

    let Some(path) = schema_path() else {
        skip("no SARIF schema: put it at ../shared/sarif-schema-2.1.0.json beside the checkout or set SHEKARA_SARIF_SCHEMA");
        return;
    };
    let schema: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );
    // The validator is not vacuous: a broken document fails.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
}

#[test]
fn sarif_aggregates_beyond_5000_results() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("big");
    fs::create_dir_all(&art).unwrap();
    // 6 files × 1000 IINs: 6000 findings → one aggregated result per file.
    for f in 0..6 {
        fs::write(
            // Plain text: a CSV's IIN column would already be one aggregated finding.
            art.join(format!("part-{f}.txt")),
            customers(&iins(100 + f, 1000)),
        )
        .unwrap();
    }
    let sarif: Value = serde_json::from_slice(&scan_format(&art, "sarif", &[])).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "aggregated per rule and file");
    let total: u64 = results
        .iter()
        .map(|r| r["properties"]["occurrences"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 6000);
    assert!(results[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("aggregated"));
}

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SHEKARA_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

fn headless(bin: &Path, profile: &Path) -> Std {
    let mut c = Std::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn html_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (art, _, _) = artefact(dir.path());
    let page = dir.path().join("report.html");
    let ev = dir.path().join("ev.json");
    let out = shekara()
        .args(["scan", "--quiet", "--no-config", "-f", "html", "-o"])
        .arg(&page)
        .arg("--evidence")
        .arg(&ev)
        .arg(&art)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let html = fs::read_to_string(&page).unwrap();
    // Self-contained: nothing fetched from anywhere.
    for needle in ["<script", "src=", "href=\"http", "@import", "url("] {
        assert!(!html.contains(needle), "external reference {needle}");
    }
    let doc: Value = serde_json::from_slice(&fs::read(&ev).unwrap()).unwrap();
    assert!(
        html.contains(doc["root_digest"].as_str().unwrap()),
        "the evidence digest is shown"
    );

    let Some(bin) = chromium() else {
        skip("no chromium (apt-get install -y chromium; .ci/run does)");
        return;
    };
    let url = format!("file://{}", page.display());
    let dom = headless(&bin, &dir.path().join("profile-dom"))
        .args(["--dump-dom", &url])
        .output();
    let dom = match dom {
        Ok(o) if o.status.success() && !o.stdout.is_empty() => o,
        Ok(o) => {
            skip(&format!(
                "chromium did not render: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ));
            return;
        }
        Err(e) => {
            skip(&format!("chromium cannot start: {e}"));
            return;
        }
    };
    let text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        text.contains("data-verdict=\"violation\""),
        "the verdict is in the rendered DOM"
    );
    assert!(text.contains("personal data would leave Kazakhstan"));
    let log = String::from_utf8_lossy(&dom.stderr);
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Refused to") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:?}");

    let shot = std::env::temp_dir().join("shekara-evidence-report.png");
    let _ = fs::remove_file(&shot);
    let status = headless(&bin, &dir.path().join("profile-shot"))
        .args(["--window-size=1280,1800", "--hide-scrollbars"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(status.status.success());
    let png = fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot"
    );
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn no_output_format_holds_a_raw_iin_or_raw_template_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (art, ids, tpl) = artefact(dir.path());
    let key = dir.path().join("k");
    shekara()
        .arg("keygen")
        .arg("-o")
        .arg(&key)
        .assert()
        .success();
    let body = &tpl[12..60];
    let raw_forms: Vec<(String, Vec<u8>)> = ids
        .iter()
        .map(|i| (format!("IIN {i}"), i.as_bytes().to_vec()))
        .chain([
            ("template bytes".to_string(), body.to_vec()),
            (
                "template hex".to_string(),
                body.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    .into_bytes(),
            ),
            (
                "template base64".to_string(),
                base64::engine::general_purpose::STANDARD
                    .encode(body)
                    .into_bytes(),
            ),
        ])
        .collect();
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);

    let mut outputs: Vec<(String, Vec<u8>)> = ["text", "json", "jsonl", "sarif", "html"]
        .iter()
        .map(|f| (f.to_string(), scan_format(&art, f, &[])))
        .collect();
    let ev = dir.path().join("ev.json");
    let _ = scan_format(
        &art,
        "json",
        &[
            "--evidence",
            ev.to_str().unwrap(),
            "--sign-key",
            key.to_str().unwrap(),
        ],
    );
    outputs.push(("evidence".into(), fs::read(&ev).unwrap()));
    outputs.push((
        "signature".into(),
        fs::read(dir.path().join("ev.json.sig")).unwrap(),
    ));
    // --reveal puts raw values in reports, never in the evidence.
    let _ = scan_format(
        &art,
        "json",
        &["--reveal", "--evidence", ev.to_str().unwrap()],
    );
    outputs.push(("evidence with --reveal".into(), fs::read(&ev).unwrap()));

    for (format, out) in &outputs {
        assert!(out.len() > 100, "{format} output is real");
        for (what, raw) in &raw_forms {
            assert!(!find(out, raw), "{format} output holds the raw {what}");
        }
    }
    // The check can fail: a revealed report does hold the raw IIN, and masks are there otherwise.
    let revealed = scan_format(&art, "json", &["--reveal"]);
    assert!(find(&revealed, ids[0].as_bytes()));
    let masked = format!("{}******{}", &ids[0][..4], &ids[0][10..]);
    for (format, out) in &outputs[..5] {
        assert!(
            find(out, masked.as_bytes()),
            "{format} shows the masked value"
        );
    }
}
