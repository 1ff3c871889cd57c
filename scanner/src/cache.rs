//! Incremental sweeps (`--cache DIR`): a file whose (device, inode, size,
//! mtime, ctime) are those of the last sweep is not read again; its SHA-256
//! and findings come from the cache.
//!
//! Storage is one [`redb`] database (`DIR/shekara-cache.redb`): an on-disk
//! B-tree with copy-on-write pages, so memory stays bounded for millions of
//! files, many worker threads can look up at once (read transactions), and a
//! crash mid-sweep leaves the last committed state. Results live in a table
//! named after a *context* digest — tool version, ruleset digest,
//! fingerprint key id and the options that change findings — so a new
//! ruleset, key or option set starts from nothing; tables of other contexts
//! are dropped when the cache is opened, which keeps the file from growing
//! across ruleset updates.
//!
//! Only complete results are stored: a file that could not be read, or
//! changed while it was read, is scanned again next time.
//!
//! Values are a compact binary layout ([`codec`]), stamp first; lookups
//! during a sweep go to one read snapshot taken when the cache is opened
//! (the previous sweep's state), shared by every worker thread, so a lookup
//! is one B-tree descent with no transaction set-up. Inline `shekara:ignore`
//! results are cached with the findings, so an unchanged file is not read
//! back for them either. At the end of a full sweep, [`Cache::prune`] drops
//! the entries of files under the scanned roots that the sweep no longer saw.
//!
//! A re-sweep's cost is the findings it hands back (hundreds of thousands on
//! a data lake), so they are handled once: a hit's findings stay encoded
//! ([`Cache::get_deferred`]) until the report is assembled, and are decoded
//! straight into its list, each attribute set shared among the findings
//! that repeat it. A value whose findings then fail to decode is scanned
//! again on the spot.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

use redb::{
    Database, ReadOnlyTable, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
};
use serde::{Deserialize, Serialize};

mod codec;

use crate::model::{Finding, Reason};

/// Memory redb may keep for pages (its default is 1 GiB). A re-sweep reads
/// each page of the file once: a larger cache only holds pages it will not
/// read again, and each page held is a page the kernel had to fault in
/// (≈ 160 MB for the 10 GiB benchmark tree). A tenth of it buffers writes.
const REDB_CACHE: usize = 32 << 20;

/// Entries buffered before one write transaction commits them.
const BATCH: usize = 4096;

/// A file's identity and state: equal stamps mean an unchanged file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds and nanoseconds.
    pub mtime: (i64, i64),
    /// Status-change time, seconds and nanoseconds (catches `touch -d` tricks).
    pub ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of this metadata.
    pub fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// Inline suppressions of a file's findings: (index among its findings,
/// the directive's reason).
pub type Inline = Vec<(usize, String)>;

/// What the cache keeps per file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The file's stamp when it was scanned.
    pub stamp: Stamp,
    /// SHA-256 of its content (lowercase hex).
    pub sha256: String,
    /// Which of its findings an inline `shekara:ignore` suppresses, when
    /// that was looked up (`None`: not known, look it up after the scan).
    pub inline: Option<Inline>,
    /// Its findings (paths and root index are rewritten on use).
    pub findings: Vec<Finding>,
    /// The inputs scanned, in the report's order: the file itself (empty
    /// `inner`) and, for archives and images, their members.
    pub members: Vec<Member>,
    /// What of it was not scanned, for reasons that its content decides (a
    /// corrupt archive, a bomb guard): see [`cacheable`].
    pub not_scanned: Vec<Unscanned>,
    /// Bytes scanned (decoded members included).
    pub bytes: u64,
    /// Whether the file itself was scanned completely.
    pub complete: bool,
}

/// A cached file's findings, still encoded (see [`Cache::get_deferred`]).
pub struct Deferred {
    value: Box<[u8]>,
    rest: codec::Rest,
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deferred")
            .field("count", &self.rest.count)
            .finish()
    }
}

impl Deferred {
    /// How many findings there are.
    pub fn count(&self) -> usize {
        self.rest.count
    }

    /// Whether a finding of this kind is among them.
    pub fn holds(&self, kind: shekara_detectors::Kind) -> bool {
        self.rest.holds(kind)
    }

    /// The findings one at a time, from the first.
    pub fn reader(&self) -> FindingReader<'_> {
        FindingReader(codec::Findings::new(&self.value, &self.rest))
    }

    /// Appends the findings to `out`. `None` when they do not decode (a
    /// damaged cache): `out` is left as it was.
    pub fn decode_into(&self, out: &mut Vec<Finding>) -> Option<()> {
        codec::decode_findings(&self.value, &self.rest, out)
    }
}

/// Reads a [`Deferred`]'s findings one at a time.
pub struct FindingReader<'a>(codec::Findings<'a>);

impl FindingReader<'_> {
    /// The next finding; `None` when it does not decode (a damaged cache).
    pub fn next_finding(&mut self) -> Option<Finding> {
        self.0.next_finding()
    }

    /// Whether every finding has been read and nothing follows them.
    pub fn at_end(&self) -> bool {
        self.0.at_end()
    }
}

/// An input scanned: a cached file or a member inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Member paths, outermost first.
    pub inner: Vec<String>,
    /// Bytes read.
    pub size: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// A part of a cached file that was not scanned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unscanned {
    /// Member paths, outermost first (empty: the file itself).
    pub inner: Vec<String>,
    /// Why.
    pub reason: Reason,
    /// Details.
    pub detail: String,
    /// Bytes scanned before it stopped.
    pub bytes_scanned: Option<u64>,
}

/// Whether a result with this reason may be cached: the file's content
/// (and the scan's options, which are part of the context) decides it.
/// Read errors, files changed mid-scan and size limits on the file itself
/// are never cached: the next sweep tries again.
pub fn cacheable(reason: Reason) -> bool {
    codec::REASONS.contains(&reason)
}

type Snapshot = ReadOnlyTable<&'static [u8], &'static [u8]>;

/// An open cache for one context.
pub struct Cache {
    db: Database,
    table: String,
    /// The state as opened: every lookup of the sweep reads this snapshot.
    snapshot: Mutex<Option<std::sync::Arc<Snapshot>>>,
    pending: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("table", &self.table).finish()
    }
}

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn def(name: &str) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
    TableDefinition::new(name)
}

impl Cache {
    /// Opens (or creates) the cache in `dir` for results made under `context`
    /// (a digest of everything that changes findings), dropping the tables
    /// of every other context.
    ///
    /// # Errors
    /// When the directory or database cannot be created or opened (another
    /// sweep holding it, a corrupt file): the message says which.
    pub fn open(dir: &Path, context: &str) -> Result<Cache, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the cache directory '{}': {e}", dir.display()))?;
        let file = dir.join("shekara-cache.redb");
        let db = Database::builder()
            .set_cache_size(REDB_CACHE)
            .create(&file)
            .map_err(|e| {
            format!(
                "cannot open the cache '{}': {e} (is another sweep using it? delete the file to start afresh)",
                file.display()
            )
        })?;
        let table = format!("results-{context}");
        let cache = Cache {
            db,
            table,
            snapshot: Mutex::new(None),
            pending: Mutex::new(Vec::new()),
        };
        cache
            .drop_other_contexts()
            .map_err(|e| format!("cannot prepare the cache '{}': {e}", file.display()))?;
        let snapshot = cache
            .db
            .begin_read()
            .map_err(s)
            .and_then(|tx| tx.open_table(def(&cache.table)).map_err(s))
            .map_err(|e| format!("cannot read the cache '{}': {e}", file.display()))?;
        *cache.snapshot.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(std::sync::Arc::new(snapshot));
        Ok(cache)
    }

    fn snapshot(&self) -> Option<std::sync::Arc<Snapshot>> {
        self.snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn drop_other_contexts(&self) -> Result<(), String> {
        // The usual case, one table and it is ours: no write (no fsync).
        let names: Vec<String> = {
            let tx = self.db.begin_read().map_err(s)?;
            let names = tx.list_tables().map_err(s)?;
            names.map(|t| t.name().to_string()).collect()
        };
        if names == [self.table.clone()] {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(s)?;
        let stale: Vec<String> = tx
            .list_tables()
            .map_err(s)?
            .map(|t| t.name().to_string())
            .filter(|n| *n != self.table)
            .collect();
        for name in &stale {
            tx.delete_table(def(name)).map_err(s)?;
        }
        tx.open_table(def(&self.table)).map_err(s)?;
        tx.commit().map_err(s)?;
        Ok(())
    }

    /// The cached entry for `key` if its stamp is `stamp` (as the cache
    /// was when opened). A value that does not decode is a miss.
    pub fn get(&self, key: &[u8], stamp: &Stamp) -> Option<Entry> {
        let table = self.snapshot()?;
        let value = table.get(key).ok()??;
        let bytes = value.value();
        // The stamp sits at the head: a changed file costs no decoding.
        if codec::stamp_of(bytes)? != *stamp {
            return None;
        }
        codec::decode(bytes)
    }

    /// [`Cache::get`] without decoding the findings: they stay encoded in
    /// the returned [`Deferred`], to be decoded straight into the report
    /// ([`Deferred::decode_into`]) instead of into a list of their own that
    /// is then copied there. A value whose other parts do not decode is a
    /// miss.
    pub fn get_deferred(&self, key: &[u8], stamp: &Stamp) -> Option<(Entry, Deferred)> {
        let table = self.snapshot()?;
        let value = table.get(key).ok()??;
        let bytes = value.value();
        if codec::stamp_of(bytes)? != *stamp {
            return None;
        }
        let (entry, rest) = codec::decode_head(bytes)?;
        let value = bytes.into();
        Some((entry, Deferred { value, rest }))
    }

    /// Records a result; written in batches (and by [`Cache::flush`]).
    pub fn put(&self, key: Vec<u8>, entry: &Entry) {
        let Some(value) = codec::encode(entry) else {
            return;
        };
        let batch = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.push((key, value));
            if p.len() < BATCH {
                return;
            }
            std::mem::take(&mut *p)
        };
        let _ = self.write(batch);
    }

    /// Writes what is buffered.
    ///
    /// # Errors
    /// When the database cannot be written (disk full): the sweep's results
    /// stand, the next sweep re-reads what was not stored.
    pub fn flush(&self) -> Result<(), String> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        self.write(batch)
            .map_err(|e| format!("cannot write the cache: {e}"))
    }

    fn write(&self, batch: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(s)?;
        {
            let mut table = tx.open_table(def(&self.table)).map_err(s)?;
            for (k, v) in &batch {
                table.insert(k.as_slice(), v.as_slice()).map_err(s)?;
            }
        }
        tx.commit().map_err(s)?;
        Ok(())
    }

    /// Drops the entries of files under `roots` (absolute paths, as keys
    /// are) that `keep` does not hold: files deleted or renamed since they
    /// were cached. Call after [`Cache::flush`], at the end of a sweep that
    /// saw every file under those roots (not a shard). Returns how many
    /// entries were dropped. Entries of other roots are left alone.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn prune(
        &self,
        roots: &[Vec<u8>],
        keep: &std::collections::HashSet<Vec<u8>>,
    ) -> Result<u64, String> {
        // The snapshot would pin the pages that pruning frees.
        self.snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        // Keys are read first: a sweep that finds nothing gone writes
        // nothing (a retain over the table would rewrite every page).
        let gone: Vec<Vec<u8>> = {
            let tx = self.db.begin_read().map_err(s)?;
            let table = tx.open_table(def(&self.table)).map_err(s)?;
            let mut gone = Vec::new();
            for item in table.iter().map_err(s)? {
                let (k, _) = item.map_err(s)?;
                let k = k.value();
                if roots.iter().any(|r| under(k, r)) && !keep.contains(k) {
                    gone.push(k.to_vec());
                }
            }
            gone
        };
        if gone.is_empty() {
            return Ok(0);
        }
        let tx = self.db.begin_write().map_err(s)?;
        {
            let mut table = tx.open_table(def(&self.table)).map_err(s)?;
            for k in &gone {
                table.remove(k.as_slice()).map_err(s)?;
            }
        }
        tx.commit().map_err(s)?;
        Ok(gone.len() as u64)
    }

    /// Entries stored for this context.
    pub fn len(&self) -> u64 {
        let count = || -> Result<u64, String> {
            let tx = self.db.begin_read().map_err(s)?;
            tx.open_table(def(&self.table)).map_err(s)?.len().map_err(s)
        };
        count().unwrap_or(0)
    }

    /// Whether nothing is stored for this context.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `key` is the path `root` or below it.
fn under(key: &[u8], root: &[u8]) -> bool {
    match key.strip_prefix(root) {
        Some(rest) => rest.is_empty() || rest[0] == b'/' || root.ends_with(b"/"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(size: u64) -> Stamp {
        Stamp {
            dev: 1,
            ino: 2,
            size,
            mtime: (3, 4),
            ctime: (5, 6),
        }
    }

    #[test]
    fn stores_matches_stamps_and_drops_other_contexts() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Entry {
            stamp: stamp(10),
            sha256: "ab".repeat(32),
            inline: None,
            findings: Vec::new(),
            members: Vec::new(),
            not_scanned: Vec::new(),
            bytes: 10,
            complete: true,
        };
        {
            let c = Cache::open(dir.path(), "one").unwrap();
            c.put(b"/a".to_vec(), &entry);
            c.flush().unwrap();
            assert!(
                c.get(b"/a", &stamp(10)).is_none(),
                "lookups read the state as opened"
            );
        }
        {
            let c = Cache::open(dir.path(), "one").unwrap();
            assert_eq!(c.get(b"/a", &stamp(10)).unwrap(), entry);
            assert!(
                c.get(b"/a", &stamp(11)).is_none(),
                "a changed stamp is a miss"
            );
            assert!(c.get(b"/b", &stamp(10)).is_none());
        }
        {
            let c = Cache::open(dir.path(), "one").unwrap();
            assert_eq!(c.len(), 1, "kept across opens");
        }
        let c = Cache::open(dir.path(), "two").unwrap();
        assert!(
            c.get(b"/a", &stamp(10)).is_none(),
            "another context starts empty"
        );
        drop(c);
        let c = Cache::open(dir.path(), "one").unwrap();
        assert!(c.is_empty(), "opening another context dropped this one");
    }

    /// Damages the findings of every value in `dir`'s cache (their first
    /// kind byte), leaving the rest of each value intact.
    fn damage_findings(dir: &Path) {
        let db = Database::create(dir.join("shekara-cache.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        let names: Vec<String> = tx
            .list_tables()
            .unwrap()
            .map(|t| t.name().to_string())
            .collect();
        for name in names {
            let mut table = tx.open_table(def(&name)).unwrap();
            let mut damaged = Vec::new();
            for item in table.iter().unwrap() {
                let (k, v) = item.unwrap();
                let mut v = v.value().to_vec();
                let (_, rest) = codec::decode_head(&v).unwrap();
                if rest.count > 0 {
                    v[rest.at] = 0xff;
                    damaged.push((k.value().to_vec(), v));
                }
            }
            assert!(!damaged.is_empty());
            for (k, v) in damaged {
                table.insert(k.as_slice(), v.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    }

    #[test]
    fn findings_that_do_not_decode_at_assembly_are_scanned_again() {
        use crate::{Config, FingerprintKey, Input, NoSink, Progress, Scanner};
        let data = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::write(
            data.path().join("a.csv"),
            "id,iin\n1,850314319331\n2,921130474626\n",
        )
        .unwrap();
        std::fs::write(
            data.path().join("b.py"),
            "URL = 's3://bucket/x'  # and 880515306144\n",
        )
        .unwrap();
        std::fs::write(data.path().join("c.txt"), "nothing here\n").unwrap();
        let run = || {
            let mut c = Config::new(vec![Input::Path(data.path().to_path_buf())]);
            c.key = Some(FingerprintKey::from_secret("k", "test"));
            c.cache = Some(cache.path().to_path_buf());
            Scanner::new(c)
                .unwrap()
                .run(&NoSink, &Progress::default())
                .unwrap()
        };
        let first = run();
        assert!(first.findings.len() >= 3, "{:?}", first.findings);
        let second = run();
        assert_eq!(second.findings, first.findings, "decoded into the report");
        assert_eq!(second.coverage.files_cached, 3);
        damage_findings(cache.path());
        let third = run();
        assert_eq!(third.findings, first.findings, "scanned again");
        assert_eq!(
            third.coverage.files_cached, 1,
            "only the file without findings came from the cache"
        );
        let cached: Vec<(&str, bool)> = third
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.cached))
            .collect();
        assert_eq!(cached, [("a.csv", false), ("b.py", false), ("c.txt", true)]);
        let fourth = run();
        assert_eq!(fourth.findings, first.findings);
        assert_eq!(fourth.coverage.files_cached, 3, "cached afresh");
    }

    #[test]
    fn cached_findings_decoded_in_parallel_equal_a_fresh_scan() {
        use crate::{Config, FingerprintKey, Input, NoSink, Progress, Scanner};
        // Enough findings for several decoding jobs, which start mid-value,
        // over files of different sizes, one of them changed between sweeps
        // (its findings come fresh, between cached ones).
        let data = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let write = |i: usize, n: usize| {
            let mut text = String::new();
            for j in 0..n {
                text.push_str(&format!("{i}/{j} ИИН 850314319331 s3://b{}/k\n", j % 7));
            }
            std::fs::write(data.path().join(format!("f{i}.txt")), text).unwrap();
        };
        for (i, n) in [3000, 1, 5000, 0, 7000, 2500].into_iter().enumerate() {
            write(i, n);
        }
        let run = |threads: usize, cached: bool| {
            let mut c = Config::new(vec![Input::Path(data.path().to_path_buf())]);
            c.key = Some(FingerprintKey::from_secret("k", "test"));
            c.threads = threads;
            if cached {
                c.cache = Some(cache.path().to_path_buf());
            }
            Scanner::new(c)
                .unwrap()
                .run(&NoSink, &Progress::default())
                .unwrap()
        };
        run(2, true);
        write(2, 4999);
        let fresh = run(1, false);
        assert!(
            fresh.findings.len() > 2 * 17_000,
            "{}",
            fresh.findings.len()
        );
        for threads in [1, 2, 4] {
            let cached = run(threads, true);
            assert_eq!(cached.findings, fresh.findings, "{threads} threads");
            assert_eq!(cached.suppressions, fresh.suppressions);
        }
    }

    #[test]
    fn prune_drops_unseen_files_under_the_roots_only() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Entry {
            stamp: stamp(1),
            sha256: "cd".repeat(32),
            inline: Some(Vec::new()),
            findings: Vec::new(),
            members: Vec::new(),
            not_scanned: Vec::new(),
            bytes: 1,
            complete: true,
        };
        let keys: [&[u8]; 5] = [b"/t/a", b"/t/gone", b"/t/sub/gone", b"/tree/x", b"/other/y"];
        {
            let c = Cache::open(dir.path(), "ctx").unwrap();
            for k in keys {
                c.put(k.to_vec(), &entry);
            }
            c.flush().unwrap();
        }
        let c = Cache::open(dir.path(), "ctx").unwrap();
        let keep = [b"/t/a".to_vec()].into_iter().collect();
        assert_eq!(c.prune(&[b"/t".to_vec()], &keep).unwrap(), 2);
        drop(c);
        let c = Cache::open(dir.path(), "ctx").unwrap();
        assert_eq!(c.len(), 3);
        assert!(c.get(b"/t/a", &stamp(1)).is_some(), "a seen file stays");
        assert!(c.get(b"/t/gone", &stamp(1)).is_none(), "an unseen one goes");
        assert!(
            c.get(b"/tree/x", &stamp(1)).is_some(),
            "a sibling root sharing a prefix is not under /t"
        );
        assert!(c.get(b"/other/y", &stamp(1)).is_some(), "other roots stay");
        assert!(under(b"/t", b"/t") && under(b"/x", b"/") && !under(b"/tx", b"/t"));
    }
}
