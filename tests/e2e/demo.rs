//! The demo that ships with the repo: exactly what was planted is found.

use std::path::PathBuf;

use shekara_fixtures::{planted, InvalidKind, NumberKind, Planted};

use crate::{occurrences, of_kind, scan_json, shekara};

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo")
}

/// Planted "invalid" 11-digit numbers (valid IINs without their leading
/// zero) that sit in a dataset's ID column: reported as IINs with
/// `note: leading zero lost`.
fn lost_zero_in(p: &Planted, path: &str) -> usize {
    let is_data = path.ends_with(".csv") || path.ends_with(".json");
    p.invalid
        .iter()
        .filter(|n| is_data && n.path == path)
        .filter(|n| n.kind == NumberKind::Invalid(InvalidKind::LostLeadingZero))
        .count()
}

#[test]
fn demo_findings_are_exactly_what_was_planted() {
    let p = planted();
    let (r, code) = scan_json(&demo(), &[]);
    assert_eq!(code, 1);
    let paths: std::collections::BTreeSet<&str> =
        p.invalid.iter().map(|n| n.path.as_str()).collect();
    let lost: usize = paths.iter().map(|path| lost_zero_in(&p, path)).sum();
    assert_eq!(occurrences(&of_kind(&r, "iin")), p.valid_iins() + lost);
    assert_eq!(occurrences(&of_kind(&r, "bin")), p.valid_bins());
    for n in &p.iins {
        let in_file: Vec<_> = of_kind(&r, "iin")
            .into_iter()
            .filter(|f| f["location"]["path"] == n.path.as_str())
            .filter(|f| f["attributes"]["note"].is_null())
            .collect();
        let lost_found: Vec<_> = of_kind(&r, "iin")
            .into_iter()
            .filter(|f| f["location"]["path"] == n.path.as_str())
            .filter(|f| f["attributes"]["note"] == "leading zero lost")
            .collect();
        assert_eq!(
            occurrences(&lost_found),
            lost_zero_in(&p, &n.path),
            "{}",
            n.path
        );
        assert_eq!(occurrences(&in_file), p.iins_in(&n.path), "{}", n.path);
    }
    for e in &p.endpoints {
        let text = std::fs::read_to_string(demo().join(&e.path)).unwrap();
        let at = text
            .find(&e.needle)
            .unwrap_or_else(|| panic!("{} not in {}", e.needle, e.path));
        // The finding that covers the needle: the nearest endpoint finding starting at or before it.
        let covering = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["location"]["path"] == e.path.as_str()
                    && f["kind"].as_str().unwrap().ends_with("_endpoint")
            })
            .filter(|f| f["location"]["byte_offset"].as_u64().unwrap() <= at as u64)
            .max_by_key(|f| f["location"]["byte_offset"].as_u64().unwrap());
        let found = covering.is_some_and(|f| {
            f["kind"] == e.kind
                && f["attributes"]["provider"] == e.provider
                && f["attributes"]["country"] == e.country
        });
        assert!(
            found,
            "planted endpoint not found as expected: {e:?}\n{}",
            serde_json::to_string_pretty(&r["findings"]).unwrap()
        );
    }
    assert_eq!(r["coverage"]["complete"], true);
}

#[test]
fn demo_report_snapshot() {
    let (r, _) = scan_json(&demo(), &[]);
    insta::assert_json_snapshot!("demo_report", r, {
        ".scan.started" => "[time]",
        ".scan.finished" => "[time]",
        ".scan.roots[0]" => "[demo]",
        ".tool.version" => "[version]",
        ".tool.ruleset" => "[ruleset]",
        ".verdicts[].label" => "[demo]",
        ".verdicts[].breach.detected" => "[time]",
        ".verdicts[].breach.deadline" => "[time]",
    });
}

#[test]
fn demo_text_output_never_shows_a_raw_number() {
    let out = shekara()
        .args(["scan", "--color", "never"])
        .arg(demo())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for n in planted().iins.iter().chain(planted().bins.iter()) {
        assert!(!text.contains(&n.value), "raw {} in text output", n.value);
    }
    assert!(text.contains("data/customers.csv"));
}
