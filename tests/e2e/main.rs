//! End-to-end tests of the `shekara` binary.

mod artefacts;
mod biometric;
mod coverage;
mod datasets;
mod demo;
mod endpoints;
mod evidence;
mod evidence_formats;
mod national_ids;
mod objects;
mod output;
mod workflows;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// The binary with a fixed fingerprint key and no config dir side effects.
pub fn shekara() -> Command {
    let mut c = Command::cargo_bin("shekara").unwrap();
    c.env("SHEKARA_FINGERPRINT_KEY", "e2e-test-key")
        .env_remove("NO_COLOR");
    c
}

/// Runs `shekara scan ARGS --format json` and parses the report; returns it with the exit code.
pub fn scan_json(root: &Path, extra: &[&str]) -> (Value, i32) {
    let out = shekara()
        .arg("scan")
        .arg(root)
        .args(["--format", "json", "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, code)
}

/// Findings of one kind.
pub fn of_kind<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

/// Occurrences these findings stand for (the sum of their `count`: an
/// aggregated dataset column is one finding for many cells).
pub fn occurrences(findings: &[&Value]) -> usize {
    findings
        .iter()
        .map(|f| f["count"].as_u64().unwrap() as usize)
        .sum()
}

/// The (path, reason) pairs of coverage.not_scanned.
pub fn not_scanned(report: &Value) -> Vec<(String, String)> {
    report["coverage"]["not_scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["path"].as_str().unwrap().to_string(),
                n["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
