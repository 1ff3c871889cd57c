//! Output formats, exit codes and the report contract.

use std::fs;

use crate::{scan_json, shekara};

#[test]
fn exit_codes_follow_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), "partner BIN 050340765602").unwrap();
    let (_, code) = scan_json(dir.path(), &[]);
    assert_eq!(
        code, 0,
        "a BIN is low severity: below the default --fail-on high"
    );
    let (_, code) = scan_json(dir.path(), &["--fail-on", "low"]);
    assert_eq!(code, 1);
    fs::write(dir.path().join("a.txt"), "nothing here").unwrap();
    let (r, code) = scan_json(dir.path(), &["--fail-on", "info"]);
    assert_eq!(code, 0);
    assert_eq!(r["summary"]["findings"], 0);
}

#[test]
fn json_report_has_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub/a.csv"), "iin\n850314319331\n").unwrap();
    let (r, _) = scan_json(dir.path(), &[]);
    assert_eq!(r["schema"], "shekara.report/v1");
    assert_eq!(r["tool"]["name"], "shekara");
    assert!(r["tool"]["ruleset"]
        .as_str()
        .unwrap()
        .starts_with("blake3:"));
    assert!(r["scan"]["started"].as_str().unwrap().ends_with('Z'));
    let f = &r["findings"][0];
    assert_eq!(f["kind"], "iin");
    assert_eq!(f["rule"], "kz.iin");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["count"], 1);
    assert_eq!(f["location"]["path"], "sub/a.csv");
    assert_eq!(f["location"]["inner"], serde_json::json!([]));
    assert_eq!(f["location"]["line"], 2);
    assert_eq!(f["location"]["byte_offset"], 4);
    assert_eq!(f["evidence"]["masked"], "8503******31");
    assert!(f["evidence"]["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("bk3:"));
    assert!(f["evidence"].get("raw").is_none());
    assert_eq!(r["coverage"]["files_scanned"], 1);
    assert_eq!(r["coverage"]["bytes_scanned"], 17);
    assert_eq!(r["coverage"]["complete"], true);
}

#[test]
fn jsonl_streams_findings_then_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..30 {
        fs::write(
            dir.path().join(format!("f{i:02}.txt")),
            format!("ИИН 850314319331 {i}"),
        )
        .unwrap();
    }
    let out = shekara()
        .args(["scan", "--quiet", "-f", "jsonl", "-j", "2"])
        .arg(dir.path())
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 31);
    let paths: Vec<_> = lines[..30]
        .iter()
        .map(|l| l["location"]["path"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "streamed in path order");
    assert!(lines[..30].iter().all(|l| l["type"] == "finding"));
    assert_eq!(lines[30]["type"], "summary");
    assert_eq!(lines[30]["summary"]["findings"], 30);
}

#[test]
fn text_output_is_grouped_and_sanitized() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("evil\x1b[31m.txt"), "ИИН 850314319331").unwrap();
    let out = shekara()
        .args(["scan", "--color", "never"])
        .arg(dir.path())
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("evil\\u{1b}[31m.txt"), "{s}");
    assert!(!s.contains('\x1b'));
    assert!(s.contains("8503******31"));
    assert!(s.contains("1 findings (iin 1) in 1 files"));
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
}

#[test]
fn report_is_identical_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..50 {
        fs::write(
            dir.path().join(format!("{i}.txt")),
            format!("{i} ИИН 850314319331\n").repeat(i + 1),
        )
        .unwrap();
    }
    let strip = |mut v: serde_json::Value| {
        v["scan"]["started"] = "".into();
        v["scan"]["finished"] = "".into();
        v
    };
    let (a, _) = scan_json(dir.path(), &["-j", "1"]);
    let (b, _) = scan_json(dir.path(), &["-j", "2"]);
    assert_eq!(strip(a), strip(b));
}

#[test]
fn rules_lint_passes() {
    shekara().args(["rules", "--lint"]).assert().success();
    let out = shekara().arg("rules").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("kz.iin"));
}
