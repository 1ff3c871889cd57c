//! The evidence manifest (`shekara.evidence/v1`, documented in `docs/evidence.md`).
//!
//! A manifest says what was scanned (every file with its size and SHA-256),
//! what was not and why, what was found (masked and fingerprinted, never
//! raw), and the verdicts; `root_digest` is SHA-256 over its canonical JSON
//! so a reader can recompute it. Canonical JSON: the manifest without its
//! `root_digest` member, object members sorted by key (bytewise UTF-8), no
//! whitespace, strings escaped as `serde_json` escapes them (`"`, `\`, and
//! control characters; everything else as UTF-8), integers in decimal. The
//! manifest holds no floating-point numbers, so this is exactly RFC 8785
//! (JCS) for it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use globset::{Glob, GlobSetBuilder};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::model::Report;
use crate::policy::Policy;
use crate::walk::{self, WalkOptions};

/// The manifest schema identifier.
pub const EVIDENCE_SCHEMA: &str = "shekara.evidence/v1";

/// One scanned file and its hash.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    /// Index of the scan root.
    pub root: usize,
    /// Path relative to the root, `/`-separated (for a file root: the root as given).
    pub path: String,
    /// Raw path bytes, base64, when the path is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_base64: Option<String>,
    /// Member paths inside archives, outermost first (empty for plain files).
    #[serde(default)]
    pub inner: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// `sha256:<hex>`, or `None` when the file could not be read for hashing.
    pub sha256: Option<String>,
    /// Objects from an object store: the ETag of the version scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The digest (and findings) came from `--cache`: the file was unchanged
    /// since the sweep that hashed it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

/// Walk options as a scan used them (`exclude`, `gitignore`, `follow`).
///
/// # Errors
/// A glob that does not parse.
pub fn walk_options(
    exclude: &[String],
    gitignore: bool,
    follow: bool,
) -> Result<WalkOptions, String> {
    let mut globs = GlobSetBuilder::new();
    for g in exclude {
        globs.add(Glob::new(g).map_err(|e| format!("glob '{g}': {e}"))?);
        if let Ok(under) = Glob::new(&format!("{}/**", g.trim_end_matches('/'))) {
            globs.add(under);
        }
    }
    Ok(WalkOptions {
        gitignore,
        follow,
        exclude: globs.build().map_err(|e| e.to_string())?,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        stat: true,
    })
}

/// The walk options recorded in a report's or manifest's `scan.options`.
///
/// # Errors
/// A recorded glob that does not parse.
pub fn walk_options_of(options: &Value) -> Result<WalkOptions, String> {
    let exclude: Vec<String> = options["exclude"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    walk_options(
        &exclude,
        options["gitignore"].as_bool().unwrap_or(false),
        options["follow"].as_bool().unwrap_or(false),
    )
}

/// `sha256:<hex>` of a file's bytes, and its size.
///
/// # Errors
/// When it cannot be read.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex_digest(&h.finalize())))
}

fn hex_digest(d: &[u8]) -> String {
    let mut s = String::with_capacity(7 + d.len() * 2);
    s.push_str("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Walks `roots` (as a scan would) and hashes every regular file found.
pub fn hash_tree(roots: &[PathBuf], opts: &WalkOptions) -> Vec<ManifestFile> {
    let walked = walk::walk(roots, opts);
    walked
        .files
        .par_iter()
        .map(|e| {
            let (path, path_base64) = display(&e.rel);
            let (size, sha256) = match hash_file(&e.path) {
                Ok((n, h)) => (n, Some(h)),
                Err(_) => (e.size.unwrap_or_default(), None),
            };
            ManifestFile {
                root: e.root,
                path,
                path_base64,
                inner: Vec::new(),
                size,
                sha256,
                etag: None,
                cached: false,
            }
        })
        .collect()
}

fn display(rel: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(rel) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (
            String::from_utf8_lossy(rel).into_owned(),
            Some(base64::engine::general_purpose::STANDARD.encode(rel)),
        ),
    }
}

/// The hashed files of a finished scan, from `Report::files` (the scan
/// ran with `Config::hash_files`, so each hash is of the bytes scanned).
pub fn scanned_files(report: &Report) -> Vec<ManifestFile> {
    report
        .files
        .iter()
        .map(|f| ManifestFile {
            root: f.root,
            path: f.path.clone(),
            path_base64: f.path_base64.clone(),
            inner: f.inner.clone(),
            size: f.size,
            sha256: Some(format!("sha256:{}", f.sha256)),
            etag: f.etag.clone(),
            cached: f.cached,
        })
        .collect()
}

/// The host name, best effort.
pub fn hostname() -> String {
    for p in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(s) = std::fs::read_to_string(p) {
            let s = s.trim();
            if !s.is_empty() {
                return s.to_string();
            }
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".into())
}

/// Builds the manifest of a report, with its `root_digest`.
pub fn build(report: &Report, files: &[ManifestFile], policy: &Policy, host: &str) -> Value {
    let mut findings = serde_json::to_value(&report.findings).unwrap_or(Value::Null);
    // Evidence never holds raw values, whatever the scan's --reveal said.
    if let Some(list) = findings.as_array_mut() {
        for f in list {
            if let Some(e) = f.get_mut("evidence").and_then(Value::as_object_mut) {
                e.remove("raw");
            }
        }
    }
    let mut scan = serde_json::to_value(&report.scan).unwrap_or(Value::Null);
    if let Some(o) = scan.as_object_mut() {
        o.insert("host".into(), host.into());
    }
    let mut m = json!({
        "schema": EVIDENCE_SCHEMA,
        "tool": report.tool,
        "policy": {
            "source": policy.source,
            "digest": policy.digest,
            "settings": policy.settings,
        },
        "scan": scan,
        "files": files,
        "coverage": {
            "files_scanned": report.coverage.files_scanned,
            "bytes_scanned": report.coverage.bytes_scanned,
            "complete": report.coverage.complete,
        },
        "not_scanned": report.coverage.not_scanned,
        "findings": findings,
        "suppressions": report.suppressions,
        "verdicts": report.verdicts,
        "summary": report.summary,
    });
    if let Some(o) = m.as_object_mut() {
        // Object-store sweeps: where each store is, and whether Ctrl-C cut
        // the sweep short. Absent for file scans.
        if !report.stores.is_empty() {
            o.insert(
                "stores".into(),
                serde_json::to_value(&report.stores).unwrap_or(Value::Null),
            );
        }
        if report.partial {
            o.insert("partial".into(), true.into());
        }
    }
    let digest = root_digest(&m);
    if let Some(o) = m.as_object_mut() {
        o.insert("root_digest".into(), digest.into());
    }
    m
}

/// Canonical JSON bytes of `v` (see the module documentation).
pub fn canonical(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&str, &Value> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
            out.push(b'{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Serializing a string cannot fail.
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// `sha256:<hex>` over the canonical JSON of `manifest` without `root_digest`.
pub fn root_digest(manifest: &Value) -> String {
    let mut copy = manifest.clone();
    if let Some(o) = copy.as_object_mut() {
        o.remove("root_digest");
    }
    hex_digest(&Sha256::digest(canonical(&copy)))
}

/// Checks a manifest's `root_digest`.
///
/// # Errors
/// The stated and the recomputed digest, when they differ or the field is missing.
pub fn check_digest(manifest: &Value) -> Result<String, String> {
    let stated = manifest["root_digest"]
        .as_str()
        .ok_or("the evidence has no root_digest")?;
    let actual = root_digest(manifest);
    if stated == actual {
        Ok(actual)
    } else {
        Err(format!(
            "root_digest is {stated} but the content hashes to {actual}"
        ))
    }
}

/// What differs between the files a manifest lists and the files on disk now.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// On disk, not in the manifest (nor among its not-scanned paths).
    pub added: Vec<String>,
    /// In the manifest, gone from disk.
    pub removed: Vec<String>,
    /// In both, with another hash.
    pub changed: Vec<String>,
    /// Files compared and equal.
    pub same: usize,
}

impl Drift {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares a manifest's root `root` with `against` on disk, walked with the manifest's options.
///
/// # Errors
/// Options that do not parse, or `against` missing.
pub fn drift(manifest: &Value, root: usize, against: &Path) -> Result<Drift, String> {
    std::fs::metadata(against).map_err(|e| format!("cannot read '{}': {e}", against.display()))?;
    let opts = walk_options_of(&manifest["scan"]["options"])?;
    let now = hash_tree(&[against.to_path_buf()], &opts);
    let listed: Vec<ManifestFile> =
        serde_json::from_value(manifest["files"].clone()).map_err(|e| format!("files: {e}"))?;
    let then: BTreeMap<String, Option<String>> = listed
        .into_iter()
        .filter(|f| f.root == root && f.inner.is_empty())
        .map(|f| (f.path, f.sha256))
        .collect();
    let known_skipped: std::collections::BTreeSet<String> = manifest["not_scanned"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["root"].as_u64() == Some(root as u64))
        .filter_map(|n| n["path"].as_str().map(String::from))
        .collect();
    // A file root: one file each side, whatever its name now.
    if !against.is_dir() && then.len() == 1 && now.len() == 1 {
        let key = then.keys().next().cloned().unwrap_or_default();
        let mut f = now.into_iter().next().into_iter().collect::<Vec<_>>();
        if let Some(x) = f.first_mut() {
            x.path = key;
        }
        return Ok(compare(then, f, &known_skipped));
    }
    Ok(compare(then, now, &known_skipped))
}

fn compare(
    mut then: BTreeMap<String, Option<String>>,
    now: Vec<ManifestFile>,
    known_skipped: &std::collections::BTreeSet<String>,
) -> Drift {
    let mut d = Drift::default();
    for f in now {
        match then.remove(&f.path) {
            Some(h) if h.is_some() && h == f.sha256 => d.same += 1,
            Some(_) => d.changed.push(f.path),
            None if known_skipped.contains(&f.path) => {}
            None => d.added.push(f.path),
        }
    }
    d.removed = then.into_keys().collect();
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_keys_and_drops_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, {"z": "é\n", "a": null}], "a": true}"#).unwrap();
        assert_eq!(
            String::from_utf8(canonical(&v)).unwrap(),
            "{\"a\":true,\"b\":[1,{\"a\":null,\"z\":\"é\\n\"}]}"
        );
    }

    #[test]
    fn the_digest_ignores_its_own_field_and_catches_any_change() {
        let mut v = json!({"schema": EVIDENCE_SCHEMA, "x": [1, 2]});
        let d = root_digest(&v);
        v["root_digest"] = d.clone().into();
        assert_eq!(check_digest(&v), Ok(d));
        v["x"][1] = 3.into();
        assert!(check_digest(&v).is_err());
    }
}
