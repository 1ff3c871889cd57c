//! Every example and negative example of every rule and endpoint-table entry,
//! run through the real engine (prefilter, confirm, validate), checking what
//! was captured; and every positive example again in small windows, which
//! must give the same findings as one whole-buffer scan.

use std::collections::BTreeMap;

use shekara_detectors::{Engine, Haystack, RawFinding, OVERLAP};
use shekara_signatures::{Example, Kind, NegativeExample, Ruleset};

mod common;
use common::scan_windows;

/// The path an example is scanned as.
fn path_of(path: &Option<String>) -> &str {
    path.as_deref().unwrap_or("example.txt")
}

/// Windowed scan plus whole-file detectors, as the scanner does.
fn scan(engine: &Engine, bytes: &[u8], path: &str) -> Vec<RawFinding> {
    engine.scan_input(bytes, path)
}

/// Whether a finding belongs to a rule: its own id, or for the two endpoint
/// kind rules, any endpoint-table finding of that kind.
fn of_rule(f: &RawFinding, rule: &str, kind: Kind) -> bool {
    match rule {
        "endpoint.foreign" | "endpoint.domestic" => {
            f.rule.starts_with("endpoint.") && f.kind == kind
        }
        _ => f.rule == rule,
    }
}

/// Checks one positive example; returns a problem description, if any.
fn check_example(
    engine: &Engine,
    owner: &str,
    rule: &str,
    kind: Option<Kind>,
    ex: &Example,
) -> Option<String> {
    let found = scan(engine, &ex.haystack(), path_of(&ex.path));
    let want_kind = ex.kind.or(kind);
    let value = ex.value_bytes();
    let hit = found
        .iter()
        .find(|f| of_rule(f, rule, want_kind.unwrap_or(f.kind)) && f.value == value);
    let Some(f) = hit else {
        return Some(format!(
            "{owner}: {:?}: no finding with value {:?}; got {:#?}",
            ex.text,
            ex.value,
            summary(&found)
        ));
    };
    let mut problems = Vec::new();
    let endpoint_kind = match f.attributes.get("country") {
        Some("KZ") => Kind::DomesticEndpoint,
        _ => Kind::ForeignEndpoint,
    };
    let expected_kind = want_kind.unwrap_or(endpoint_kind);
    if f.kind != expected_kind || (is_endpoint_kind(f.kind) && f.kind != endpoint_kind) {
        problems.push(format!(
            "kind {} (want {expected_kind}, country says {endpoint_kind})",
            f.kind
        ));
    }
    if let Some(c) = ex.confidence.filter(|c| *c != f.confidence) {
        problems.push(format!("confidence {} (want {c})", f.confidence));
    }
    problems.extend(attribute_problems(&f.attributes, &ex.attributes));
    (!problems.is_empty()).then(|| format!("{owner}: {:?}: {}", ex.text, problems.join("; ")))
}

fn is_endpoint_kind(k: Kind) -> bool {
    matches!(k, Kind::ForeignEndpoint | Kind::DomesticEndpoint)
}

fn attribute_problems(
    got: &shekara_detectors::Attributes,
    want: &BTreeMap<String, String>,
) -> Vec<String> {
    want.iter()
        .filter(|(k, v)| got.get(k) != Some(v.as_str()))
        .map(|(k, v)| format!("attribute {k} = {:?} (want {v:?})", got.get(k)))
        .collect()
}

fn summary(found: &[RawFinding]) -> Vec<String> {
    found
        .iter()
        .map(|f| {
            format!(
                "{} {} {:?} {:?}",
                f.rule,
                f.kind,
                String::from_utf8_lossy(&f.value),
                f.attributes
            )
        })
        .collect()
}

/// Checks one negative example: no finding accepted by `forbidden`.
fn check_negative(
    engine: &Engine,
    owner: &str,
    ex: &NegativeExample,
    forbidden: impl Fn(&RawFinding) -> bool,
) -> Option<String> {
    let found = scan(engine, &ex.haystack(), path_of(&ex.path));
    let bad: Vec<_> = found.into_iter().filter(|f| forbidden(f)).collect();
    (!bad.is_empty()).then(|| {
        format!(
            "{owner}: negative {:?} ({}) matched: {:#?}",
            ex.text,
            ex.why,
            summary(&bad)
        )
    })
}

/// Every positive example, as (owner, bytes, path).
fn all_examples(rules: &Ruleset) -> Vec<(String, Vec<u8>, String)> {
    let rule_ex = rules
        .rules
        .iter()
        .flat_map(|r| r.examples.iter().map(move |e| (r.id.clone(), e)));
    let table_ex = rules.endpoints.iter().flat_map(|e| {
        e.examples
            .iter()
            .map(move |x| (format!("endpoint.{}", e.id), x))
    });
    rule_ex
        .chain(table_ex)
        .map(|(o, e)| (o, e.haystack(), path_of(&e.path).to_string()))
        .collect()
}

fn fail_if_any(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn rule_examples_capture_exactly() {
    let engine = Engine::builtin();
    let rules = Ruleset::builtin();
    let problems = rules
        .rules
        .iter()
        .flat_map(|r| r.examples.iter().map(move |ex| (r, ex)))
        .filter_map(|(r, ex)| check_example(&engine, &r.id, &r.id, Some(r.kind), ex));
    fail_if_any(problems.collect());
}

#[test]
fn rule_negative_examples_do_not_match() {
    let engine = Engine::builtin();
    let rules = Ruleset::builtin();
    let problems = rules.rules.iter().flat_map(|r| {
        let engine = &engine;
        r.negative_examples
            .iter()
            .filter_map(move |ex| check_negative(engine, &r.id, ex, |f| of_rule(f, &r.id, r.kind)))
    });
    fail_if_any(problems.collect());
}

#[test]
fn endpoint_table_examples_capture_exactly() {
    let engine = Engine::builtin();
    let rules = Ruleset::builtin();
    let problems = rules.endpoints.iter().flat_map(|e| {
        let rule = format!("endpoint.{}", e.id);
        let engine = &engine;
        e.examples
            .iter()
            .filter_map(move |ex| check_example(engine, &rule, &rule, None, ex))
    });
    fail_if_any(problems.collect());
}

#[test]
fn endpoint_table_negative_examples_find_no_endpoint() {
    let engine = Engine::builtin();
    let rules = Ruleset::builtin();
    let problems = rules.endpoints.iter().flat_map(|e| {
        let engine = &engine;
        e.negative_examples.iter().filter_map(move |ex| {
            check_negative(engine, &e.id, ex, |f| f.rule.starts_with("endpoint."))
        })
    });
    fail_if_any(problems.collect());
}

#[test]
fn required_endpoint_negatives_are_present() {
    let rules = Ruleset::builtin();
    let texts: Vec<&str> = rules
        .endpoints
        .iter()
        .flat_map(|e| e.negative_examples.iter().map(|n| n.text.as_str()))
        .collect();
    for needle in [
        "s3.amazonaws.com.example.org",
        "notamazonaws.com",
        "billing@amazonaws.com",
        "myhf.com",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(needle)),
            "no negative example with {needle}"
        );
    }
}

#[test]
fn windowed_scans_agree_with_whole_buffer() {
    let engine = Engine::builtin();
    let mut problems = Vec::new();
    for (owner, text, path) in all_examples(Ruleset::builtin()) {
        let mut whole = Vec::new();
        engine.scan(&Haystack::whole(&text, &path), &mut whole);
        for size in [1, 7, 4096] {
            let windowed = scan_windows(&engine, &text, &path, size);
            if windowed != whole {
                problems.push(format!(
                    "{owner}: {text:?}: window {size}: {:#?} vs whole {:#?}",
                    summary(&windowed),
                    summary(&whole)
                ));
            }
        }
    }
    fail_if_any(problems);
}

/// Padding pushes each example across window edges at odd offsets.
#[test]
fn windowed_scans_agree_with_padding() {
    let engine = Engine::builtin();
    let mut problems = Vec::new();
    for (owner, text, path) in all_examples(Ruleset::builtin()) {
        let padded = [
            "x".repeat(OVERLAP + 3).as_bytes(),
            b"\n",
            &text,
            b"\n",
            "y".repeat(5).as_bytes(),
        ]
        .concat();
        let mut whole = Vec::new();
        engine.scan(&Haystack::whole(&padded, &path), &mut whole);
        let windowed = scan_windows(&engine, &padded, &path, 7);
        if windowed != whole {
            problems.push(format!(
                "{owner}: {text:?}: {:#?} vs {:#?}",
                summary(&windowed),
                summary(&whole)
            ));
        }
    }
    fail_if_any(problems);
}
