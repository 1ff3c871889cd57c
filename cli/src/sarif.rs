//! SARIF 2.1.0 output (`--format sarif`), for code-scanning dashboards.
//!
//! One run. Rules carry help text and the legal references of
//! `signatures/data/legal.toml`; results carry artifact URIs relative to
//! their scan root, regions with line, column (characters, `columnKind: unicodeCodePoints`) and byte offset,
//! archive members as a logical location (and `properties.inner`), partial
//! fingerprints from the keyed fingerprints, and suppressions. Limits of
//! GitHub code scanning: at most [`MAX_RESULTS`] results per run — beyond,
//! findings are aggregated per rule and file, and what still does not fit is
//! counted in a notification — and the file stays well under 25 MB.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde_json::{json, Value};
use shekara_scanner::model::Finding;
use shekara_scanner::{Report, Severity};
use shekara_signatures::{Kind, Ruleset};

/// Results per run GitHub accepts.
pub const MAX_RESULTS: usize = 5000;
/// Tool execution notifications listed (not-scanned paths) before summarising.
const MAX_NOTIFICATIONS: usize = 1000;

/// Upload limit of GitHub code scanning (bytes, uncompressed here: stricter).
pub const MAX_BYTES: usize = 25_000_000;

/// Writes the report as SARIF 2.1.0. Should it exceed [`MAX_BYTES`], the
/// per-result `attributes` and then the notifications are left out.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut doc = to_sarif(report);
    let mut bytes = serde_json::to_vec(&doc).map_err(io::Error::other)?;
    if bytes.len() > MAX_BYTES {
        slim(&mut doc);
        bytes = serde_json::to_vec(&doc).map_err(io::Error::other)?;
    }
    out.write_all(&bytes)?;
    out.write_all(b"\n")
}

/// Drops what a dashboard can live without.
fn slim(doc: &mut Value) {
    if let Some(results) = doc["runs"][0]["results"].as_array_mut() {
        for r in results {
            if let Some(p) = r["properties"].as_object_mut() {
                p.remove("attributes");
            }
        }
    }
    if let Some(inv) = doc["runs"][0]["invocations"][0].as_object_mut() {
        inv.insert("toolExecutionNotifications".into(), json!([]));
    }
    doc["runs"][0]["properties"]["slimmed"] =
        json!("over 25 MB: attributes and notifications left out; see the JSON report");
}

/// SARIF level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` score of a severity.
fn score(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// The SARIF document.
pub fn to_sarif(report: &Report) -> Value {
    let rules = rules(report);
    let index: BTreeMap<String, usize> = rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r["id"].as_str().map(|id| (id.to_string(), i)))
        .collect();
    let suppressed: BTreeMap<usize, &shekara_scanner::suppress::Suppression> =
        report.suppressions.iter().map(|s| (s.finding, s)).collect();
    let (results, omitted) = results(report, &index, &suppressed);
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "shekara",
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "informationUri": "https://example.invalid/shekara",
                "rules": rules,
            }},
            "invocations": [invocation(report, omitted)],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "schema": "shekara.sarif/v1",
                "ruleset": report.tool.ruleset,
                "roots": report.scan.roots,
                "fingerprint_key": report.scan.fingerprint_key,
                "coverage_complete": report.coverage.complete,
                "omitted_results": omitted,
                "verdicts": report.verdicts,
            },
        }],
    })
}

fn rules(report: &Report) -> Vec<Value> {
    let rs = Ruleset::builtin();
    let mut ids: BTreeSet<String> = rs.rules.iter().map(|r| r.id.clone()).collect();
    let mut kind_of: BTreeMap<String, Kind> = BTreeMap::new();
    for f in &report.findings {
        ids.insert(f.rule.to_string());
        kind_of.entry(f.rule.to_string()).or_insert(f.kind);
    }
    ids.into_iter()
        .map(|id| rule(rs, &id, kind_of.get(&id).copied()))
        .collect()
}

fn rule(rs: &Ruleset, id: &str, kind: Option<Kind>) -> Value {
    let own = rs.rules.iter().find(|r| r.id == id);
    // Table endpoints (`endpoint.aws.s3`) share the rule of their kind.
    let base = own.or_else(|| {
        let k = kind?;
        rs.rules
            .iter()
            .find(|r| r.kind == k && r.id.starts_with("endpoint."))
    });
    let endpoint = id
        .strip_prefix("endpoint.")
        .and_then(|e| rs.endpoints.iter().find(|x| x.id == e));
    let title = match (own, endpoint, base) {
        (Some(r), _, _) => r.title.clone(),
        (None, Some(e), _) => format!("{} {} endpoint", e.provider, e.service),
        (None, None, Some(b)) => b.title.clone(),
        _ => id.to_string(),
    };
    let description = base.map_or_else(|| title.clone(), |b| b.description.clone());
    let severity = base.map_or(Severity::Medium, |b| b.severity);
    let refs: Vec<&shekara_signatures::Reference> = base
        .map(|b| {
            b.references
                .iter()
                .filter_map(|r| rs.references.iter().find(|x| x.id == *r))
                .collect()
        })
        .unwrap_or_default();
    let mut help = format!("{description}\n");
    let mut md = format!("{description}\n");
    if !refs.is_empty() {
        help.push_str("\nLegal basis:\n");
        md.push_str("\n**Legal basis**\n\n");
        for r in &refs {
            help.push_str(&format!("- {}: {}\n", r.title, r.summary));
            md.push_str(&format!("- *{}*: {}\n", r.title, r.summary));
        }
    }
    let fix =
        "\nTo fix: keep personal data of Kazakh citizens in databases in Kazakhstan and remove \
               foreign egress from pipelines that carry it; accepted findings go in a baseline \
               (`shekara baseline create`) or get an inline `shekara:ignore RULE` comment.";
    help.push_str(fix);
    md.push_str(fix);
    json!({
        "id": id,
        "name": camel(id),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {"text": help, "markdown": md},
        "defaultConfiguration": {"level": level(severity)},
        "properties": {
            "tags": ["security", "privacy", "data-residency"],
            "security-severity": score(severity),
            "kind": kind.map(Kind::as_str).or(base.map(|b| b.kind.as_str())),
            "legal_references": refs.iter().map(|r| json!({"id": r.id, "title": r.title})).collect::<Vec<_>>(),
        },
    })
}

fn camel(id: &str) -> String {
    id.split(['.', '_', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// A group of findings shown as one result.
struct Group<'a> {
    first: usize,
    findings: Vec<(usize, &'a Finding)>,
}

fn results(
    report: &Report,
    index: &BTreeMap<String, usize>,
    suppressed: &BTreeMap<usize, &shekara_scanner::suppress::Suppression>,
) -> (Vec<Value>, usize) {
    let all: Vec<(usize, &Finding)> = report.findings.iter().enumerate().collect();
    let groups: Vec<Group<'_>> = if all.len() <= MAX_RESULTS {
        all.into_iter()
            .map(|(i, f)| Group {
                first: i,
                findings: vec![(i, f)],
            })
            .collect()
    } else {
        aggregate(all, suppressed)
    };
    let mut groups = groups;
    let mut omitted = 0;
    if groups.len() > MAX_RESULTS {
        // Keep the most severe groups; count the rest.
        groups.sort_by_key(|g| (std::cmp::Reverse(g.findings[0].1.severity), g.first));
        omitted = groups[MAX_RESULTS..].iter().map(|g| g.findings.len()).sum();
        groups.truncate(MAX_RESULTS);
        groups.sort_by_key(|g| g.first);
    }
    let out = groups
        .iter()
        .map(|g| result(report, g, index, suppressed))
        .collect();
    (out, omitted)
}

fn aggregate<'a>(
    all: Vec<(usize, &'a Finding)>,
    suppressed: &BTreeMap<usize, &shekara_scanner::suppress::Suppression>,
) -> Vec<Group<'a>> {
    let mut by: BTreeMap<(String, usize, String, Vec<String>, bool), Group<'a>> = BTreeMap::new();
    for (i, f) in all {
        let key = (
            f.rule.to_string(),
            f.location.root,
            f.location.path.to_string(),
            f.location.inner().to_vec(),
            suppressed.contains_key(&i),
        );
        by.entry(key)
            .or_insert_with(|| Group {
                first: i,
                findings: Vec::new(),
            })
            .findings
            .push((i, f));
    }
    let mut v: Vec<Group<'a>> = by.into_values().collect();
    v.sort_by_key(|g| g.first);
    v
}

fn result(
    report: &Report,
    g: &Group<'_>,
    index: &BTreeMap<String, usize>,
    suppressed: &BTreeMap<usize, &shekara_scanner::suppress::Suppression>,
) -> Value {
    let (i, f) = g.findings[0];
    let n = g.findings.len();
    let severity = g
        .findings
        .iter()
        .map(|(_, f)| f.severity)
        .max()
        .unwrap_or(f.severity);
    let what = match f.kind {
        Kind::ForeignEndpoint | Kind::DomesticEndpoint => {
            let a = &f.attributes;
            format!(
                "{} endpoint {} ({} {}, country {})",
                if f.kind == Kind::ForeignEndpoint {
                    "Foreign"
                } else {
                    "In-country"
                },
                f.evidence.masked,
                a.get("provider").unwrap_or("unknown provider"),
                a.get("service").unwrap_or(""),
                a.get("country").unwrap_or("unknown"),
            )
        }
        k => format!("{} {}", kind_name(k), f.evidence.masked),
    };
    let text = if n > 1 {
        format!(
            "{what} and {} more of rule {} in this file ({n} findings aggregated)",
            n - 1,
            f.rule
        )
    } else {
        what
    };
    let mut location = json!({"physicalLocation": physical(report, f)});
    if !f.location.inner().is_empty() {
        let fq = std::iter::once(&*f.location.path)
            .chain(f.location.inner().iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("!/");
        location["logicalLocations"] = json!([{
            "name": f.location.inner().last(),
            "fullyQualifiedName": fq,
            "kind": "member",
        }]);
    }
    let mut r = json!({
        "ruleId": f.rule,
        "level": level(severity),
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"shekaraValue/v1": format!("{}:{}", f.rule, f.evidence.fingerprint)},
        "properties": {
            "kind": f.kind.as_str(),
            "severity": severity.as_str(),
            "security-severity": score(severity),
            "confidence": f.confidence.as_str(),
            "masked": f.evidence.masked,
            "finding_index": i,
            "root": report.scan.roots.get(f.location.root),
            "inner": f.location.inner(),
            "attributes": f.attributes,
            "occurrences": g.findings.iter().map(|(_, f)| f.count).sum::<u64>(),
        },
    });
    if let Some(ri) = index.get(&*f.rule) {
        r["ruleIndex"] = json!(ri);
    }
    if let Some(s) = suppressed.get(&i) {
        r["suppressions"] = json!([{
            "kind": if s.by == "inline" { "inSource" } else { "external" },
            "justification": s.reason.clone().unwrap_or_else(|| s.by.clone()),
        }]);
    }
    r
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Iin => "IIN (individual identification number)",
        Kind::Bin => "BIN (business identification number)",
        Kind::BiometricTemplate => "Biometric template",
        Kind::FaceEmbedding => "Face embeddings",
        Kind::FaceImageStore => "Face image store",
        Kind::BiometricModel => "Biometric model",
        Kind::BiometricCode => "Biometric processing code",
        Kind::ForeignEndpoint => "Foreign endpoint",
        Kind::DomesticEndpoint => "In-country endpoint",
    }
}

fn physical(report: &Report, f: &Finding) -> Value {
    let mut region = json!({"byteOffset": f.location.byte_offset});
    if let (Some(l), Some(c)) = (f.location.line, f.location.column) {
        // 1-based, as SARIF wants them.
        region["startLine"] = json!(l.get());
        region["startColumn"] = json!(c.get());
    }
    let root_is_file = report
        .scan
        .roots
        .get(f.location.root)
        .is_some_and(|r| **r == *f.location.path);
    json!({
        "artifactLocation": {
            "uri": relative_uri(&f.location.path, root_is_file),
            "uriBaseId": format!("ROOT{}", f.location.root),
        },
        "region": region,
    })
}

/// A relative URI reference for a path: percent-encoded, never absolute.
pub fn relative_uri(path: &str, root_is_file: bool) -> String {
    let p = if root_is_file {
        // A file given as the root: its name is all that is relative to itself.
        path.rsplit('/').next().unwrap_or(path)
    } else {
        path
    };
    let p = p.trim_start_matches("./").trim_start_matches('/');
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("stdin");
    }
    out
}

fn invocation(report: &Report, omitted: usize) -> Value {
    let mut notes: Vec<Value> = report
        .coverage
        .not_scanned
        .iter()
        .take(MAX_NOTIFICATIONS)
        .map(|n| {
            let reason = serde_json::to_value(n.reason).unwrap_or(Value::Null);
            let reason = reason.as_str().unwrap_or("");
            let root_is_file = report.scan.roots.get(n.root).is_some_and(|r| *r == n.path);
            json!({
                "level": if n.reason.is_error() { "error" } else { "note" },
                "message": {"text": format!("not scanned ({reason}): {}", n.detail)},
                "locations": [{"physicalLocation": {"artifactLocation": {
                    "uri": relative_uri(&n.path, root_is_file),
                    "uriBaseId": format!("ROOT{}", n.root),
                }}}],
                "properties": {"reason": reason, "inner": n.inner},
            })
        })
        .collect();
    let rest = report
        .coverage
        .not_scanned
        .len()
        .saturating_sub(MAX_NOTIFICATIONS);
    if rest > 0 {
        notes.push(json!({"level": "note", "message": {"text": format!("{rest} more paths not scanned: see the JSON report")}}));
    }
    if omitted > 0 {
        notes.push(json!({"level": "warning", "message": {"text": format!("{omitted} findings not listed: SARIF consumers accept at most {MAX_RESULTS} results per run (see the JSON report)")}}));
    }
    json!({
        "executionSuccessful": true,
        "startTimeUtc": report.scan.started,
        "endTimeUtc": report.scan.finished,
        "toolExecutionNotifications": notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(relative_uri("data/a b.csv", false), "data/a%20b.csv");
        assert_eq!(relative_uri("/tmp/x/report.csv", true), "report.csv");
        assert_eq!(
            relative_uri("данные.csv", false),
            "%D0%B4%D0%B0%D0%BD%D0%BD%D1%8B%D0%B5.csv"
        );
    }

    #[test]
    fn levels() {
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Info), "note");
    }
}
