//! `shekara merge`: one report from the reports of the N shards of a sweep
//! (`--shard K/N`), as if one machine had scanned everything.
//!
//! Shards are refused unless they are comparable — the same tool version
//! and ruleset, the same fingerprint key, the same roots and the same
//! options but for the shard — and unless they are exactly shards `0..N` of
//! one N, each once: a missing shard would make a partial sweep look whole.

use std::collections::BTreeMap;

use crate::model::{Coverage, Report, Summary, REPORT_SCHEMA};
use crate::shard::Shard;

/// Why shards cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError(pub String);

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MergeError {}

fn err<T>(msg: String) -> Result<T, MergeError> {
    Err(MergeError(msg))
}

/// The shard a report was made for (`scan.options.shard`).
fn shard_of(r: &Report, n: usize) -> Result<Shard, MergeError> {
    match r.scan.options.get("shard").and_then(|v| v.as_str()) {
        Some(s) => s.parse().map_err(MergeError),
        None => err(format!(
            "input {} is not a shard (no scan.options.shard): make each part with --shard K/N",
            n + 1
        )),
    }
}

/// The options that must agree between shards (all but the shard itself).
fn common_options(r: &Report) -> BTreeMap<String, serde_json::Value> {
    let mut o = r.scan.options.clone();
    o.remove("shard");
    o
}

/// Checks that the reports are shards 0..N of one comparable sweep and
/// returns them ordered by shard index.
fn check(reports: Vec<Report>) -> Result<Vec<Report>, MergeError> {
    let Some(first) = reports.first() else {
        return err("nothing to merge: give the shard reports".into());
    };
    let count = shard_of(first, 0)?.count;
    let mut by_index: Vec<Option<Report>> = (0..count).map(|_| None).collect();
    for (n, r) in reports.iter().enumerate() {
        if r.schema != REPORT_SCHEMA {
            return err(format!(
                "input {}: schema '{}', expected '{REPORT_SCHEMA}'",
                n + 1,
                r.schema
            ));
        }
        let shard = shard_of(r, n)?;
        let same = [
            ("tool version", r.tool.version == first.tool.version),
            ("ruleset", r.tool.ruleset == first.tool.ruleset),
            (
                "fingerprint key",
                r.scan.fingerprint_key == first.scan.fingerprint_key,
            ),
            ("roots", r.scan.roots == first.scan.roots),
            ("options", common_options(r) == common_options(first)),
            ("shard count", shard.count == count),
        ];
        if let Some((what, _)) = same.iter().find(|(_, ok)| !ok) {
            return err(format!(
                "shard {shard} differs from shard {} in its {what}: merge only the shards of one sweep",
                shard_of(first, 0)?
            ));
        }
    }
    for (n, r) in reports.into_iter().enumerate() {
        let shard = shard_of(&r, n)?;
        let slot = &mut by_index[shard.index as usize];
        if slot.is_some() {
            return err(format!("shard {shard} is given twice"));
        }
        *slot = Some(r);
    }
    let missing: Vec<String> = by_index
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_none())
        .map(|(i, _)| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return err(format!(
            "shard{} {} missing: a merge of part of a sweep would look complete",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        ));
    }
    Ok(by_index.into_iter().flatten().collect())
}

/// Merges the reports of shards `0..N` into one report: findings, coverage
/// and scanned files of all shards in the order a single scan gives, the
/// summary recounted, the earliest start and the latest end.
///
/// # Errors
/// When the reports are not exactly the shards of one comparable sweep.
pub fn merge(reports: Vec<Report>) -> Result<Report, MergeError> {
    let shards = check(reports)?;
    let count = shards.len();
    // Each suppression travels with its finding (indices change in the merge).
    let mut suppressed = Vec::new();
    let mut shards = shards;
    // The personal-data window the shards' policy set (shards of one sweep
    // share their policy): kept for the merged summary.
    let personal = shards
        .iter()
        .flat_map(|r| &r.summary.breach_notification)
        .find(|b| b.class == "personal")
        .map(|b| (b.window.clone(), b.business_days));
    for r in &mut shards {
        for s in std::mem::take(&mut r.suppressions) {
            if let Some(f) = r.findings.get(s.finding) {
                suppressed.push((identity(f), s));
            }
        }
    }
    let mut it = shards.into_iter();
    let mut out = it
        .next()
        .ok_or_else(|| MergeError("nothing to merge".into()))?;
    for r in it {
        out.partial |= r.partial;
        merge_stores(&mut out.stores, r.stores);
        out.findings.extend(r.findings);
        out.files.extend(r.files);
        add_coverage(&mut out.coverage, r.coverage);
        out.scan.started = out.scan.started.min(r.scan.started);
        out.scan.finished = out.scan.finished.max(r.scan.finished);
    }
    // Sorted as one list below.
    let mut findings = std::mem::take(&mut out.findings).into_vec();
    merge_store_findings(&mut findings);
    for s in &mut out.stores {
        // Every object was some shard's: none is left to another one.
        s.objects_other_shards = 0;
    }
    // A single scan orders by root then path (bytes); within a file the
    // shard kept the scan's own order, and a file lives in one shard only.
    findings.sort_by(|a, b| {
        let ka = (
            a.location.root,
            a.location.path.as_bytes(),
            a.location.inner(),
        );
        ka.cmp(&(
            b.location.root,
            b.location.path.as_bytes(),
            b.location.inner(),
        ))
    });
    out.findings = findings.into();
    out.files.sort_by(|a, b| {
        (a.root, a.path.as_bytes(), &a.inner).cmp(&(b.root, b.path.as_bytes(), &b.inner))
    });
    out.coverage.not_scanned.sort_by(|a, b| {
        (a.root, &a.path, &a.inner, a.reason).cmp(&(b.root, &b.path, &b.inner, b.reason))
    });
    out.summary = Summary::of(&out.findings);
    out.summary.breach_notification = crate::breach::summarize(
        &out.findings,
        personal.as_ref().map(|(w, b)| (w.as_str(), *b)),
    );
    let at: std::collections::HashMap<_, usize> = out
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| (identity(f), i))
        .collect();
    out.suppressions = suppressed
        .into_iter()
        .filter_map(|(k, mut s)| {
            s.finding = *at.get(&k)?;
            Some(s)
        })
        .collect();
    out.suppressions.sort_by_key(|s| s.finding);
    // Verdicts are recomputed over the whole: an artefact split across
    // shards is judged on all its findings. The report does not record the
    // policy, so the built-in breach windows apply.
    out.verdicts = crate::verdict::compute(
        &out,
        &crate::policy::Policy::builtin(),
        time::OffsetDateTime::now_utc(),
    );
    out.scan.options.remove("shard");
    out.scan
        .options
        .insert("merged_shards".into(), count.into());
    Ok(out)
}

/// Object-store sweeps: each shard lists the whole prefix and fetches its
/// share, so the listing is counted once and the fetches are added up.
fn merge_stores(out: &mut Vec<crate::model::Store>, more: Vec<crate::model::Store>) {
    for s in more {
        match out.iter_mut().find(|o| o.root == s.root) {
            Some(o) => {
                o.objects_listed = o.objects_listed.max(s.objects_listed);
                o.objects_fetched += s.objects_fetched;
                o.objects_cached += s.objects_cached;
                if o.bucket_region.is_none() {
                    o.bucket_region = s.bucket_region;
                    o.bucket_region_source = s.bucket_region_source;
                }
            }
            None => out.push(s),
        }
    }
    out.sort_by_key(|s| s.root);
}

/// Each shard of an object-store sweep states where the store is, as a
/// `store.location` finding holding the kinds that shard found: the merge
/// keeps one per root, holding what all shards found, at the highest severity.
fn merge_store_findings(findings: &mut Vec<crate::model::Finding>) {
    let mut first: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut drop = Vec::new();
    for i in 0..findings.len() {
        if findings[i].rule != "store.location" {
            continue;
        }
        let root = findings[i].location.root;
        let Some(&keep) = first.get(&root) else {
            first.insert(root, i);
            continue;
        };
        let (severity, holds) = {
            let f = &findings[i];
            (
                f.severity,
                f.attributes.get("holds").unwrap_or_default().to_string(),
            )
        };
        let k = &mut findings[keep];
        k.severity = k.severity.max(severity);
        let mut kinds: Vec<String> = k
            .attributes
            .get("holds")
            .map(|h| h.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        kinds.extend(holds.split(',').map(str::to_string));
        kinds.retain(|k| !k.is_empty());
        kinds.sort();
        kinds.dedup();
        k.attributes.insert("holds", kinds.join(","));
        drop.push(i);
    }
    let mut i = 0;
    findings.retain(|_| {
        i += 1;
        !drop.contains(&(i - 1))
    });
}

/// What identifies a finding across shards.
fn identity(f: &crate::model::Finding) -> (usize, String, Vec<String>, u64, String, String) {
    (
        f.location.root,
        f.location.path.to_string(),
        f.location.inner().to_vec(),
        f.location.byte_offset,
        f.rule.to_string(),
        f.evidence.fingerprint.to_string(),
    )
}

fn add_coverage(into: &mut Coverage, c: Coverage) {
    into.files_scanned += c.files_scanned;
    into.bytes_scanned += c.bytes_scanned;
    into.files_cached += c.files_cached;
    into.complete &= c.complete;
    into.not_scanned.extend(c.not_scanned);
}
