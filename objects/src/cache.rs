//! Incremental sweeps: an object whose ETag, size and last-modified time
//! are unchanged since the last sweep is answered from the cache, never
//! fetched again.
//!
//! [`ObjectCache`] is the seam: [`DirCache`] keeps one small JSON file per
//! object under `DIR/objects/`; a file cache (the `--cache` of file scans)
//! can implement the same trait with (size, mtime, inode) as the version.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shekara_scanner::model::{Finding, NotScanned, ScannedFile};
use shekara_scanner::Outcome;

/// What identifies one version of one input, and the scan settings its
/// results depend on. Equal keys mean the cached results can be reused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheKey {
    /// The input: `s3://bucket/key`.
    pub input: String,
    /// The version: ETag, size, last-modified (and the version id, when there is one).
    pub version: String,
    /// Everything else the results depend on: ruleset digest, tool
    /// version, fingerprint key id, `--reveal`, digests on or off.
    pub context: String,
}

impl CacheKey {
    /// A fixed-length digest of the whole key (a file name).
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        for part in [&self.input, &self.version, &self.context] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().to_hex().to_string()
    }
}

/// A store of scan outcomes keyed by input version.
pub trait ObjectCache: Send + Sync + std::fmt::Debug {
    /// The outcome stored for this key, if any (with root index 0: the
    /// caller sets its own).
    fn lookup(&self, key: &CacheKey) -> Option<Outcome>;
    /// Stores a complete outcome. Errors are not fatal: the next sweep fetches again.
    fn store(&self, key: &CacheKey, outcome: &Outcome);
}

/// The cache in a directory: `DIR/objects/<blake3 of the key>.json`.
#[derive(Debug)]
pub struct DirCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    input: String,
    version: String,
    context: String,
    findings: Vec<Finding>,
    not_scanned: Vec<NotScanned>,
    files: Vec<ScannedFile>,
    bytes: u64,
    /// Inline ignores settled while the object's bytes were in hand
    /// (`None`: not settled; an entry written before this field).
    #[serde(default)]
    inline: Option<Vec<(usize, String)>>,
}

impl DirCache {
    /// Opens (creating) the cache under `dir`.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(dir: &Path) -> std::io::Result<DirCache> {
        let dir = dir.join("objects");
        std::fs::create_dir_all(&dir)?;
        Ok(DirCache { dir })
    }

    fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.digest()))
    }
}

impl ObjectCache for DirCache {
    fn lookup(&self, key: &CacheKey) -> Option<Outcome> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let e: Entry = serde_json::from_slice(&bytes).ok()?;
        // A digest collision or a hand-edited file: never trust a mismatch.
        if (e.input.as_str(), e.version.as_str(), e.context.as_str())
            != (
                key.input.as_str(),
                key.version.as_str(),
                key.context.as_str(),
            )
        {
            return None;
        }
        Some(Outcome {
            findings: e.findings,
            not_scanned: e.not_scanned,
            files: e.files,
            bytes: e.bytes,
            complete: true,
            inline: e.inline,
            ..Outcome::default()
        })
    }

    fn store(&self, key: &CacheKey, outcome: &Outcome) {
        let e = Entry {
            input: key.input.clone(),
            version: key.version.clone(),
            context: key.context.clone(),
            findings: outcome.findings.clone(),
            not_scanned: outcome.not_scanned.clone(),
            files: outcome.files.clone(),
            bytes: outcome.bytes,
            inline: outcome.inline.clone(),
        };
        let Ok(json) = serde_json::to_vec(&e) else {
            return;
        };
        // Write then rename: a sweep killed mid-write leaves no torn entry.
        let path = self.path(key);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// Sets the root index of everything in a cached outcome.
pub(crate) fn reroot(outcome: &mut Outcome, root: usize) {
    for f in &mut outcome.findings {
        f.location.root = root;
    }
    for n in &mut outcome.not_scanned {
        n.root = root;
    }
    for f in &mut outcome.files {
        f.root = root;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(version: &str) -> CacheKey {
        CacheKey {
            input: "s3://b/k.csv".into(),
            version: version.into(),
            context: "ctx".into(),
        }
    }

    #[test]
    fn round_trip_and_version_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DirCache::open(dir.path()).unwrap();
        assert!(cache.lookup(&key("v1")).is_none());
        let o = Outcome {
            bytes: 42,
            complete: true,
            files: vec![ScannedFile {
                path: "s3://b/k.csv".into(),
                path_base64: None,
                root: 3,
                inner: vec![],
                size: 42,
                sha256: "ab".into(),
                etag: Some("\"e\"".into()),
                cached: false,
            }],
            inline: Some(vec![(0, "inline shekara:ignore".into())]),
            ..Outcome::default()
        };
        cache.store(&key("v1"), &o);
        let back = cache.lookup(&key("v1")).unwrap();
        assert_eq!((back.bytes, &back.files), (42, &o.files));
        assert_eq!(back.inline, o.inline, "inline ignores settled once, kept");
        assert!(cache.lookup(&key("v2")).is_none());
        let mut other = key("v1");
        other.context = "another key".into();
        assert!(cache.lookup(&other).is_none());
    }
}
