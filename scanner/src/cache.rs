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

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

use redb::{Database, ReadableTableMetadata, TableDefinition, TableHandle};
use serde::{Deserialize, Serialize};

use crate::model::Finding;

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

/// What the cache keeps per file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The file's stamp when it was scanned.
    pub stamp: Stamp,
    /// SHA-256 of its content.
    pub sha256: String,
    /// Its findings (paths and root index are rewritten on use).
    pub findings: Vec<Finding>,
}

/// An open cache for one context.
pub struct Cache {
    db: Database,
    table: String,
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
        let db = Database::create(&file).map_err(|e| {
            format!(
                "cannot open the cache '{}': {e} (is another sweep using it? delete the file to start afresh)",
                file.display()
            )
        })?;
        let table = format!("results-{context}");
        let cache = Cache {
            db,
            table,
            pending: Mutex::new(Vec::new()),
        };
        cache
            .drop_other_contexts()
            .map_err(|e| format!("cannot prepare the cache '{}': {e}", file.display()))?;
        Ok(cache)
    }

    fn drop_other_contexts(&self) -> Result<(), String> {
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

    /// The cached entry for `key` if its stamp is `stamp`.
    pub fn get(&self, key: &[u8], stamp: &Stamp) -> Option<Entry> {
        let tx = self.db.begin_read().ok()?;
        let table = tx.open_table(def(&self.table)).ok()?;
        let value = table.get(key).ok()??;
        let entry: Entry = serde_json::from_slice(value.value()).ok()?;
        (entry.stamp == *stamp).then_some(entry)
    }

    /// Records a result; written in batches (and by [`Cache::flush`]).
    pub fn put(&self, key: Vec<u8>, entry: &Entry) {
        let Ok(value) = serde_json::to_vec(entry) else {
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
            sha256: "ab".into(),
            findings: Vec::new(),
        };
        {
            let c = Cache::open(dir.path(), "one").unwrap();
            c.put(b"/a".to_vec(), &entry);
            c.flush().unwrap();
            assert_eq!(c.get(b"/a", &stamp(10)).unwrap().sha256, "ab");
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
}
