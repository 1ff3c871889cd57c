//! Residency verdicts: one per artefact, from its findings and coverage.
//!
//! An artefact is each scan root, and each top-level file of a root that is
//! an artefact of its own: an archive or an image, recognised by findings or
//! coverage entries with a non-empty `location.inner`. Rules, in order:
//!
//! 1. personal data (IIN, biometrics) **and** foreign egress (a foreign
//!    endpoint, a hosted fine-tuning API, a model-hub push) → `violation`;
//! 2. anything not fully scanned (an unreadable, changed or oversized path,
//!    an archive limit: depth, entries, bytes, ratio, an unsupported method,
//!    a loop) → `incomplete`, never `clean` or `in_country`;
//! 3. personal data with only in-country endpoints, or none → `in_country`;
//! 4. foreign endpoints without personal data → `egress_only`;
//! 5. otherwise → `clean`.
//!
//! Suppressed findings do not count. Every reason lists the indices of its
//! findings (into the report's `findings`) or coverage entries (into
//! `coverage.not_scanned`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use shekara_detectors::attributes::Value;
use shekara_detectors::Kind;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Weekday};

use crate::model::{Finding, Report};
use crate::policy::Policy;

/// The residency verdict of one artefact.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Residency {
    /// Personal data next to foreign egress: the data would leave the country.
    Violation,
    /// Not everything was scanned: no all-clear can be given.
    Incomplete,
    /// Foreign egress without personal data: a pipeline that could carry data abroad.
    EgressOnly,
    /// Personal data with only in-country endpoints (or none).
    InCountry,
    /// Neither personal data nor foreign egress, and everything scanned.
    Clean,
}

impl Residency {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Residency::Violation => "violation",
            Residency::Incomplete => "incomplete",
            Residency::EgressOnly => "egress_only",
            Residency::InCountry => "in_country",
            Residency::Clean => "clean",
        }
    }
}

/// Which artefact a verdict is about.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Artefact {
    /// Index of the scan root.
    pub root: usize,
    /// `root` (the whole root) or `archive` (a file of the root holding members).
    pub kind: String,
    /// For `archive`: its path relative to the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// One reason of a verdict.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerdictReason {
    /// `personal_data`, `foreign_egress`, `in_country_endpoint`, `not_scanned`, `suppressed`, `nothing_found`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// Indices into `findings`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<usize>,
    /// Indices into `coverage.not_scanned`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_scanned: Vec<usize>,
}

/// The breach-notification deadline a violation starts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BreachDeadline {
    /// `biometric` or `personal`.
    pub class: String,
    /// The window (ISO 8601 duration) from the policy.
    pub window: String,
    /// Whether it counts business days (weekends skipped; public holidays are not known).
    pub business_days: bool,
    /// When the violation was detected, RFC 3339 UTC: for biometric data
    /// the earliest `detected` of its findings (a finding answered from
    /// the cache keeps the time it was first found), else the end of the scan.
    pub detected: String,
    /// Notify the authorised body by then, RFC 3339 UTC.
    pub deadline: String,
}

/// The verdict on one artefact.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Verdict {
    /// The artefact.
    pub artefact: Artefact,
    /// Its name for people (`root` or `root ▸ path`).
    pub label: String,
    /// The verdict.
    pub verdict: Residency,
    /// Why, each pointing at findings or coverage entries.
    pub reasons: Vec<VerdictReason>,
    /// For a violation: the breach-notification deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach: Option<BreachDeadline>,
}

/// What one artefact holds.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    personal: Vec<usize>,
    foreign: Vec<usize>,
    domestic: Vec<usize>,
    suppressed: Vec<usize>,
    missing: Vec<usize>,
    biometric: bool,
}

impl Tally {
    /// Counts finding `i`.
    fn count(&mut self, i: usize, f: &Finding, suppressed: bool) {
        if suppressed {
            self.suppressed.push(i);
        } else if f.kind.is_personal_data() {
            self.personal.push(i);
            self.biometric |= f.kind != Kind::Iin;
        } else if f.kind == Kind::ForeignEndpoint {
            self.foreign.push(i);
        } else if f.kind == Kind::DomesticEndpoint {
            self.domestic.push(i);
        }
    }

    /// Adds what `other` counted (of findings after those counted here).
    /// A list this one has nothing in yet is taken over, not copied (a
    /// root's lists hold an index per finding).
    fn append(&mut self, other: Tally) {
        fn join(into: &mut Vec<usize>, mut from: Vec<usize>) {
            if into.is_empty() {
                *into = from;
            } else {
                into.append(&mut from);
            }
        }
        join(&mut self.personal, other.personal);
        join(&mut self.foreign, other.foreign);
        join(&mut self.domestic, other.domestic);
        join(&mut self.suppressed, other.suppressed);
        join(&mut self.missing, other.missing);
        self.biometric |= other.biometric;
    }
}

/// Verdicts for every artefact of `report` (suppressions already filled in).
pub fn compute(report: &Report, policy: &Policy, detected: OffsetDateTime) -> Vec<Verdict> {
    tallies(report)
        .into_iter()
        .map(|(a, t)| judge(report, a, t, policy, detected))
        .collect()
}

/// What each artefact of `report` holds.
fn tallies(report: &Report) -> BTreeMap<Artefact, Tally> {
    let suppressed: BTreeSet<usize> = crate::suppress::suppressed_set(&report.suppressions);
    let mut tallies: BTreeMap<Artefact, Tally> = BTreeMap::new();
    for root in 0..report.scan.roots.len() {
        tallies.entry(root_artefact(root)).or_default();
    }
    // Each finding counts for its root and, inside an archive, for the
    // archive (see `artefacts_of`): tallied by root index, and by the
    // archive of the findings before it (they come grouped by file), rather
    // than by a key built and looked up per finding.
    let mut roots: Vec<Option<Tally>> = Vec::new();
    let mut archive: Option<(Artefact, Tally)> = None;
    for (i, f) in report.findings.iter().enumerate() {
        let root = f.location.root;
        if roots.len() <= root {
            roots.resize_with(root + 1, || None);
        }
        let suppressed = suppressed.contains(&i);
        roots[root]
            .get_or_insert_with(Tally::default)
            .count(i, f, suppressed);
        if f.location.inner().is_empty() {
            continue;
        }
        let path = &*f.location.path;
        let same = archive
            .as_ref()
            .is_some_and(|(a, _)| a.root == root && a.path.as_deref() == Some(path));
        if !same {
            if let Some((a, t)) = archive.take() {
                tallies.entry(a).or_default().append(t);
            }
            let a = artefacts_of(root, path, f.location.inner()).pop();
            archive = a.map(|a| (a, Tally::default()));
        }
        if let Some((_, t)) = &mut archive {
            t.count(i, f, suppressed);
        }
    }
    if let Some((a, t)) = archive {
        tallies.entry(a).or_default().append(t);
    }
    for (root, t) in roots.into_iter().enumerate() {
        if let Some(t) = t {
            tallies.entry(root_artefact(root)).or_default().append(t);
        }
    }
    for (i, n) in report.coverage.not_scanned.iter().enumerate() {
        if n.reason.is_error() || n.reason.is_limit() {
            for a in artefacts_of(n.root, &n.path, &n.inner) {
                tallies.entry(a).or_default().missing.push(i);
            }
        }
    }
    tallies
}

fn root_artefact(root: usize) -> Artefact {
    Artefact {
        root,
        kind: "root".into(),
        path: None,
    }
}

fn artefacts_of(root: usize, path: &str, inner: &[String]) -> Vec<Artefact> {
    let mut v = vec![root_artefact(root)];
    if !inner.is_empty() {
        v.push(Artefact {
            root,
            kind: "archive".into(),
            path: Some(path.to_string()),
        });
    }
    v
}

fn judge(
    report: &Report,
    artefact: Artefact,
    t: Tally,
    policy: &Policy,
    detected: OffsetDateTime,
) -> Verdict {
    let verdict = if !t.personal.is_empty() && !t.foreign.is_empty() {
        Residency::Violation
    } else if !t.missing.is_empty() {
        Residency::Incomplete
    } else if !t.personal.is_empty() {
        Residency::InCountry
    } else if !t.foreign.is_empty() {
        Residency::EgressOnly
    } else {
        Residency::Clean
    };
    // Biometric data: the clock the findings carry (the earliest of them; a
    // finding answered from the cache keeps the time it was first found),
    // so a nightly re-sweep does not restart the 3 hours.
    let clock = if t.biometric {
        earliest_detection(report, &t.personal).unwrap_or(detected)
    } else {
        detected
    };
    let breach = (verdict == Residency::Violation).then(|| deadline(policy, t.biometric, clock));
    // The tally's lists move into the reasons (an index per finding).
    let mut reasons = Vec::new();
    if !t.personal.is_empty() {
        let message = format!(
            "{} personal-data finding(s), occurrences by kind: {}",
            t.personal.len(),
            kinds(report, &t.personal)
        );
        reasons.push(reason("personal_data", message, t.personal));
    }
    if !t.foreign.is_empty() {
        let message = format!(
            "{} foreign egress finding(s): {}",
            t.foreign.len(),
            providers(report, &t.foreign)
        );
        reasons.push(reason("foreign_egress", message, t.foreign));
    }
    if !t.domestic.is_empty() {
        let message = format!(
            "{} in-country endpoint(s): {}",
            t.domestic.len(),
            providers(report, &t.domestic)
        );
        reasons.push(reason("in_country_endpoint", message, t.domestic));
    }
    if !t.missing.is_empty() {
        reasons.push(VerdictReason {
            code: "not_scanned".into(),
            message: format!(
                "{} path(s) could not be scanned completely: {}",
                t.missing.len(),
                missing_paths(report, &t.missing)
            ),
            findings: Vec::new(),
            not_scanned: t.missing,
        });
    }
    if !t.suppressed.is_empty() {
        let message = format!(
            "{} suppressed finding(s) not counted (inline ignores or baseline)",
            t.suppressed.len()
        );
        reasons.push(reason("suppressed", message, t.suppressed));
    }
    if reasons.is_empty() {
        reasons.push(reason(
            "nothing_found",
            "no personal data and no foreign egress found; everything was scanned".into(),
            Vec::new(),
        ));
    }
    Verdict {
        label: label(report, &artefact),
        artefact,
        verdict,
        reasons,
        breach,
    }
}

fn reason(code: &str, message: String, findings: Vec<usize>) -> VerdictReason {
    VerdictReason {
        code: code.into(),
        message,
        findings,
        not_scanned: Vec::new(),
    }
}

/// Occurrences per kind (an aggregated CSV column counts its `count`, not 1).
fn kinds(report: &Report, idx: &[usize]) -> String {
    let mut m: BTreeMap<&str, usize> = BTreeMap::new();
    for f in report.findings.select(idx) {
        *m.entry(f.kind.as_str()).or_default() += f.count as usize;
    }
    m.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn providers(report: &Report, idx: &[usize]) -> String {
    use rayon::prelude::*;
    // Tens of thousands of endpoint findings: looked at in parallel parts
    // (on the scan's threads), their pairs joined.
    let m = idx
        .par_chunks(PROVIDER_PART)
        .map(|part| provider_pairs(report, part))
        .reduce(BTreeSet::new, |mut a, b| {
            a.extend(b);
            a
        });
    let list: Vec<String> = m.into_iter().map(|(p, c)| format!("{p} ({c})")).collect();
    if list.len() > 8 {
        format!("{}, … ({} providers)", list[..8].join(", "), list.len())
    } else {
        list.join(", ")
    }
}

/// Findings [`providers`] looks at in one part.
const PROVIDER_PART: usize = 8192;

/// Attribute sets whose (provider, country) [`provider_pairs`] remembers.
const PAIR_SLOTS: usize = 64;

/// The distinct (provider, country) pairs of the findings at `idx`.
fn provider_pairs<'r>(report: &'r Report, idx: &[usize]) -> BTreeSet<(&'r str, &'r str)> {
    // Borrowed pairs: one `format!` per provider, not per finding.
    // Provider and country names are mostly borrowed from the rule data
    // (see `shekara_detectors::attributes`): a pair seen before is found by
    // address among the few distinct ones, before any string comparison.
    let same = |a: &str, b: &str| std::ptr::eq(a, b);
    let mut seen: Vec<(&'r str, &'r str)> = Vec::new();
    let mut m: BTreeSet<(&'r str, &'r str)> = BTreeSet::new();
    let (provider, country) = (Value::from("provider"), Value::from("country"));
    // Endpoint findings share their host's attribute set (and cached ones
    // theirs): a set's pair, once looked up, is remembered by the set's
    // identity in a small table (a file's findings interleave a few hosts).
    let mut memo: [(usize, &'r str, &'r str); PAIR_SLOTS] = [(0, "", ""); PAIR_SLOTS];
    for f in report.findings.select(idx) {
        let a = &f.attributes;
        // The set's identity and its slot (an address: its low bits are alignment).
        let key = a.shared_id().map(|id| (id, (id >> 4) % PAIR_SLOTS));
        let (p, c) = match key {
            Some((id, k)) if memo[k].0 == id => (memo[k].1, memo[k].2),
            _ => {
                let named = a.get_value(&provider);
                let p = named.unwrap_or(&*f.rule);
                let c = a.get_value(&country).unwrap_or("unknown");
                // Only a set that names its provider: otherwise the
                // rule, which differs from finding to finding, stands in.
                if let (Some((id, k)), Some(_)) = (key, named) {
                    memo[k] = (id, p, c);
                }
                (p, c)
            }
        };
        if seen.iter().any(|&(sp, sc)| same(sp, p) && same(sc, c)) {
            continue;
        }
        if seen.len() < 64 {
            seen.push((p, c));
        }
        m.insert((p, c));
    }
    m
}

fn missing_paths(report: &Report, idx: &[usize]) -> String {
    let list: Vec<String> = idx
        .iter()
        .filter_map(|&i| report.coverage.not_scanned.get(i))
        .take(5)
        .map(|n| {
            let mut p = n.path.clone();
            for m in &n.inner {
                p.push_str(" ▸ ");
                p.push_str(m);
            }
            let reason = serde_json::to_value(n.reason)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            format!("{p} ({reason})")
        })
        .collect();
    let more = idx.len().saturating_sub(5);
    if more > 0 {
        format!("{}, and {more} more", list.join(", "))
    } else {
        list.join(", ")
    }
}

fn label(report: &Report, a: &Artefact) -> String {
    let root = report.scan.roots.get(a.root).cloned().unwrap_or_default();
    match &a.path {
        Some(p) if root != *p => format!("{root} ▸ {p}"),
        Some(p) => p.clone(),
        None => root,
    }
}

/// The earliest `breach_notification.detected` among `idx`.
fn earliest_detection(report: &Report, idx: &[usize]) -> Option<OffsetDateTime> {
    report
        .findings
        .select(idx)
        .filter_map(|f| f.breach_notification.as_ref())
        .filter_map(|b| OffsetDateTime::parse(&b.detected, &Rfc3339).ok())
        .min()
}

fn deadline(policy: &Policy, biometric: bool, detected: OffsetDateTime) -> BreachDeadline {
    let (window, hours, business) = policy.breach_window(biometric);
    let end = add_window(detected, hours, business);
    let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    BreachDeadline {
        class: if biometric { "biometric" } else { "personal" }.into(),
        window,
        business_days: business,
        detected: fmt(detected),
        deadline: fmt(end),
    }
}

/// `start + hours`; with `business_days`, whole days are counted on weekdays only.
pub fn add_window(start: OffsetDateTime, hours: u64, business_days: bool) -> OffsetDateTime {
    let hours = i64::try_from(hours).unwrap_or(i64::MAX / 3600 / 2);
    if !business_days {
        return start.saturating_add(Duration::hours(hours));
    }
    let (days, rest) = (hours / 24, hours % 24);
    let mut t = start;
    // A detection on a weekend starts counting on Monday.
    while matches!(t.weekday(), Weekday::Saturday | Weekday::Sunday) {
        t = t.saturating_add(Duration::days(1));
    }
    for _ in 0..days {
        t = t.saturating_add(Duration::days(1));
        while matches!(t.weekday(), Weekday::Saturday | Weekday::Sunday) {
            t = t.saturating_add(Duration::days(1));
        }
    }
    t.saturating_add(Duration::hours(rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Coverage, Finding, NotScanned, Reason, ScanInfo, Summary, Tool};
    use time::macros::datetime;

    fn finding(kind: Kind, path: &str, inner: &[&str]) -> Finding {
        let mut f = Finding::sample(kind, path);
        f.location
            .set_inner(inner.iter().map(|s| s.to_string()).collect());
        f
    }

    fn report(findings: Vec<Finding>, not_scanned: Vec<NotScanned>) -> Report {
        Report {
            schema: String::new(),
            tool: Tool {
                name: String::new(),
                version: String::new(),
                ruleset: String::new(),
            },
            scan: ScanInfo {
                roots: vec!["repo".into()],
                options: Default::default(),
                started: String::new(),
                finished: String::new(),
                fingerprint_key: String::new(),
            },
            summary: Summary::of(&findings),
            findings: findings.into(),
            coverage: Coverage {
                not_scanned,
                ..Coverage::default()
            },
            stores: Vec::new(),
            partial: false,
            files: Vec::new(),
            verdicts: Vec::new(),
            suppressions: Vec::new(),
        }
    }

    /// Providers over more findings than one part: the pairs of every part,
    /// joined, as one pass over all of them gives (a pair seen only in the
    /// last part, or only in the first, included).
    #[test]
    fn providers_of_many_findings_join_their_parts() {
        let n = 3 * PROVIDER_PART + 17;
        let findings: Vec<Finding> = (0..n)
            .map(|i| {
                let mut f = finding(Kind::ForeignEndpoint, "a.env", &[]);
                let mut a = shekara_detectors::Attributes::new();
                let provider = match i {
                    0 => "First Only".to_string(),
                    i if i == n - 1 => "Last Only".to_string(),
                    i => format!("P{}", i % 5),
                };
                a.insert("provider", provider);
                a.insert("country", if i % 2 == 0 { "US" } else { "DE" });
                f.attributes = a;
                f
            })
            .collect();
        let r = report(findings, Vec::new());
        let idx: Vec<usize> = (0..n).collect();
        let got = providers(&r, &idx);
        let all = provider_pairs(&r, &idx);
        assert_eq!(all.len(), 12, "{all:?}");
        let list: Vec<String> = all.iter().map(|(p, c)| format!("{p} ({c})")).collect();
        assert_eq!(got, format!("{}, … (12 providers)", list[..8].join(", ")));
        assert!(got.starts_with("First Only (US)"), "{got}");
        let tail = providers(&r, &idx[n - 5..]);
        assert!(tail.contains("Last Only"), "{tail}");
    }

    /// Tallies as a key per finding and artefact gives them, for findings
    /// of two roots, plain files and members of archives met more than once.
    #[test]
    fn tallies_by_root_and_archive_run_are_those_by_key() {
        let mut findings = Vec::new();
        let kinds = [
            Kind::Iin,
            Kind::ForeignEndpoint,
            Kind::DomesticEndpoint,
            Kind::FaceEmbedding,
        ];
        for i in 0..60usize {
            let (path, inner): (&str, &[&str]) = match i % 7 {
                0 | 1 => ("a.tar", &["x.csv"]),
                2 => ("b.zip", &["y/z.yaml", "w"]),
                3 => ("plain.yaml", &[]),
                _ => ("a.tar", &["q.json"]),
            };
            let mut f = finding(kinds[i % 4], path, inner);
            f.location.root = usize::from(i % 5 == 0) * 2;
            findings.push(f);
        }
        let mut r = report(findings, Vec::new());
        r.suppressions = [3, 17, 40]
            .map(|finding| crate::suppress::Suppression {
                finding,
                by: "inline".into(),
                reason: None,
                expires: None,
            })
            .to_vec();
        let suppressed = crate::suppress::suppressed_set(&r.suppressions);
        let mut want: BTreeMap<Artefact, Tally> = BTreeMap::new();
        want.entry(root_artefact(0)).or_default();
        for (i, f) in r.findings.iter().enumerate() {
            for a in artefacts_of(f.location.root, &f.location.path, f.location.inner()) {
                want.entry(a)
                    .or_default()
                    .count(i, f, suppressed.contains(&i));
            }
        }
        let got = tallies(&r);
        assert_eq!(got, want);
        assert_eq!(got.len(), 6, "roots 0 and 2, each archive under each root");
    }

    #[test]
    fn archives_are_artefacts_of_their_own() {
        let r = report(
            vec![
                finding(Kind::Iin, "data.tar", &["customers.csv"]),
                finding(
                    Kind::ForeignEndpoint,
                    "image.tar",
                    &["layer1", "app/cfg.yaml"],
                ),
                finding(Kind::DomesticEndpoint, "plain.yaml", &[]),
            ],
            vec![NotScanned {
                path: "bundle.zip".into(),
                path_base64: None,
                root: 0,
                inner: vec!["broken.bin".into()],
                reason: Reason::ReadError,
                detail: String::new(),
                bytes_scanned: None,
            }],
        );
        let v = compute(&r, &Policy::builtin(), datetime!(2026-11-23 10:00 UTC));
        let of = |path: Option<&str>| {
            v.iter()
                .find(|x| x.artefact.path.as_deref() == path)
                .map(|x| x.verdict)
        };
        assert_eq!(of(None), Some(Residency::Violation), "the root holds both");
        assert_eq!(of(Some("data.tar")), Some(Residency::InCountry));
        assert_eq!(of(Some("image.tar")), Some(Residency::EgressOnly));
        assert_eq!(of(Some("bundle.zip")), Some(Residency::Incomplete));
        assert_eq!(
            of(Some("plain.yaml")),
            None,
            "a plain file is not an artefact"
        );
        assert_eq!(v.len(), 4);
        let root = v.iter().find(|x| x.artefact.path.is_none()).unwrap();
        assert!(root.reasons.iter().any(|r| r.code == "not_scanned"));
        assert_eq!(
            root.breach.as_ref().unwrap().deadline,
            "2026-11-24T10:00:00Z"
        );
    }

    #[test]
    fn a_biometric_violation_keeps_the_clock_of_its_earliest_finding() {
        let mut r = report(
            vec![
                finding(Kind::FaceEmbedding, "emb.npy", &[]),
                finding(Kind::FaceEmbedding, "old.npy", &[]),
                finding(Kind::ForeignEndpoint, "b.py", &[]),
            ],
            vec![],
        );
        // Found in this sweep, and (from the cache) the night before.
        r.findings[0].breach_notification =
            crate::breach::notification("biometric", datetime!(2026-11-23 09:59:30 UTC))
                .map(Box::new);
        r.findings[1].breach_notification =
            crate::breach::notification("biometric", datetime!(2026-11-22 02:00 UTC)).map(Box::new);
        let v = compute(&r, &Policy::builtin(), datetime!(2026-11-23 10:00 UTC));
        assert_eq!(v[0].verdict, Residency::Violation);
        let b = v[0].breach.as_ref().unwrap();
        assert_eq!(b.class, "biometric");
        assert_eq!(b.detected, "2026-11-22T02:00:00Z");
        assert_eq!(b.deadline, "2026-11-22T05:00:00Z");
        // Without clocks on the findings: the end of the scan.
        for f in &mut r.findings {
            f.breach_notification = None;
        }
        let v = compute(&r, &Policy::builtin(), datetime!(2026-11-23 10:00 UTC));
        assert_eq!(
            v[0].breach.as_ref().unwrap().detected,
            "2026-11-23T10:00:00Z"
        );
    }

    #[test]
    fn suppressed_findings_do_not_count() {
        let mut r = report(
            vec![
                finding(Kind::Iin, "a.csv", &[]),
                finding(Kind::ForeignEndpoint, "b.py", &[]),
            ],
            vec![],
        );
        r.suppressions = vec![crate::suppress::Suppression {
            finding: 1,
            by: "baseline".into(),
            reason: None,
            expires: None,
        }];
        let v = compute(&r, &Policy::builtin(), datetime!(2026-11-23 10:00 UTC));
        assert_eq!(v[0].verdict, Residency::InCountry);
        assert!(v[0]
            .reasons
            .iter()
            .any(|r| r.code == "suppressed" && r.findings == [1]));
    }

    #[test]
    fn business_days_skip_weekends() {
        // Friday 10:00 + 1 business day = Monday 10:00.
        let fri = datetime!(2026-11-20 10:00 UTC);
        assert_eq!(add_window(fri, 24, true), datetime!(2026-11-23 10:00 UTC));
        // Saturday → counted from Monday → Tuesday.
        let sat = datetime!(2026-11-21 09:00 UTC);
        assert_eq!(add_window(sat, 24, true), datetime!(2026-11-24 09:00 UTC));
        // Biometric: plain hours.
        assert_eq!(add_window(fri, 3, false), datetime!(2026-11-20 13:00 UTC));
    }
}
