//! Incremental sweeps (`Config::cache`) and shards (`Config::shard` + merge).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use shekara_fixtures::{valid_iin, Rng};
use shekara_scanner::merge::merge;
use shekara_scanner::shard::Shard;
use shekara_scanner::{Config, FingerprintKey, Input, NoSink, Progress, Report, Scanner};

/// Every file the scanner opened and read, in any test of this binary.
static OPENED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn record_open(p: &Path) {
    OPENED.lock().unwrap().push(p.to_path_buf());
}

/// Files below `dir` that were read since the last call (for that dir).
fn opened_below(dir: &Path) -> Vec<String> {
    let mut all = OPENED.lock().unwrap();
    let (mine, rest): (Vec<PathBuf>, Vec<PathBuf>) =
        all.drain(..).partition(|p| p.starts_with(dir));
    *all = rest;
    let mut names: Vec<String> = mine
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn config(root: &Path, key: &str) -> Config {
    let mut c = Config::new(vec![Input::Path(root.to_path_buf())]);
    c.key = Some(FingerprintKey::from_secret(key, "test"));
    c.hook_after_open = Some(record_open);
    c
}

fn run(c: Config) -> Report {
    Scanner::new(c)
        .unwrap()
        .run(&NoSink, &Progress::default())
        .unwrap()
}

/// A small tree: `n` CSV files, each with one or two valid IINs.
fn tree(dir: &Path, n: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    for i in 0..n {
        let sub = dir.join(format!("d{}", i % 3));
        fs::create_dir_all(&sub).unwrap();
        let mut text = format!("id,iin\n{i},{}\n", valid_iin(&mut rng));
        if i % 2 == 0 {
            text.push_str(&format!("{},{}\n", i + 100, valid_iin(&mut rng)));
        }
        fs::write(sub.join(format!("f{i:03}.csv")), text).unwrap();
    }
}

/// What a finding says, without when it was made.
fn summary_of(r: &Report) -> Vec<(String, u64, String, String)> {
    r.findings
        .iter()
        .map(|f| {
            (
                f.location.path.to_string(),
                f.location.byte_offset,
                f.rule.to_string(),
                f.evidence.fingerprint.to_string(),
            )
        })
        .collect()
}

#[test]
fn cache_skips_unchanged_files_rereads_changed_ones_and_is_invalidated_by_the_key() {
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    tree(data.path(), 12, 1);
    let with_cache = |key: &str| {
        let mut c = config(data.path(), key);
        c.cache = Some(cache.path().to_path_buf());
        c
    };

    let first = run(with_cache("k1"));
    assert_eq!(
        opened_below(data.path()).len(),
        12,
        "first sweep reads everything"
    );
    assert_eq!(first.coverage.files_cached, 0);
    assert_eq!(first.files.len(), 12, "a cached sweep hashes every file");

    let second = run(with_cache("k1"));
    assert_eq!(
        opened_below(data.path()),
        Vec::<String>::new(),
        "nothing re-read"
    );
    assert_eq!(second.coverage.files_cached, 12);
    assert!(second.files.iter().all(|f| f.cached));
    assert_eq!(
        summary_of(&second),
        summary_of(&first),
        "same findings from the cache"
    );
    let digests = |r: &Report| {
        r.files
            .iter()
            .map(|f| (f.path.clone(), f.sha256.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        digests(&second),
        digests(&first),
        "same digests from the cache"
    );

    // One file edited: only it is read again, and its findings follow the edit.
    let edited = data.path().join("d1/f001.csv");
    fs::write(&edited, "id,iin\nnone here\n").unwrap();
    let third = run(with_cache("k1"));
    assert_eq!(opened_below(data.path()), vec!["d1/f001.csv".to_string()]);
    assert_eq!(third.coverage.files_cached, 11);
    assert!(!third
        .findings
        .iter()
        .any(|f| &*f.location.path == "d1/f001.csv"));
    assert_eq!(third.findings.len(), first.findings.len() - 1);

    // Another fingerprint key: cached fingerprints would be wrong, so all is read again.
    let fourth = run(with_cache("k2"));
    assert_eq!(
        opened_below(data.path()).len(),
        12,
        "a new key invalidates the cache"
    );
    assert_eq!(fourth.coverage.files_cached, 0);
    let no_cache = run(config(data.path(), "k2"));
    opened_below(data.path());
    assert_eq!(summary_of(&fourth), summary_of(&no_cache));
}

/// Everything a report says about a scan, without times.
fn body_of(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value((
        &r.findings,
        &r.coverage.not_scanned,
        &r.suppressions,
        &r.summary,
        r.coverage.files_scanned,
        r.coverage.bytes_scanned,
        r.coverage.complete,
    ))
    .unwrap();
    strip_times(&mut v);
    let files: Vec<_> = r
        .files
        .iter()
        .map(|f| (&f.path, &f.inner, f.size, &f.sha256))
        .collect();
    serde_json::json!([v, serde_json::to_value(files).unwrap()])
}

fn strip_times(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("detected");
            m.remove("deadline");
            m.values_mut().for_each(strip_times);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_times),
        _ => {}
    }
}

/// Regression (issue #6 leftovers): archives and files with coverage records
/// were re-read on every sweep, and inline ignores were read back from every
/// file with findings; now both come from the cache, and a cached report
/// says what a fresh one says.
#[test]
fn cached_archives_corrupt_files_and_inline_ignores_equal_a_fresh_scan() {
    use shekara_fixtures::archives;
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(7);
    let (a, b, c) = (
        valid_iin(&mut rng),
        valid_iin(&mut rng),
        valid_iin(&mut rng),
    );
    let csv = format!("id,iin\n1,{a}\n2,{b}\n");
    fs::write(data.path().join("plain.csv"), &csv).unwrap();
    fs::write(
        data.path().join("people.zip"),
        archives::zip(
            &[("x/people.csv", csv.as_bytes()), ("y.txt", b"nothing")],
            true,
        ),
    )
    .unwrap();
    fs::write(
        data.path().join("people.csv.gz"),
        archives::gzip(csv.as_bytes()),
    )
    .unwrap();
    // A gzip header on bytes that do not inflate: a content-decided coverage record.
    let mut corrupt = archives::gzip(csv.as_bytes());
    corrupt.truncate(corrupt.len() / 2);
    fs::write(data.path().join("broken.gz"), corrupt).unwrap();
    fs::write(
        data.path().join("fixture.py"),
        format!("A = \"{a}\"  # shekara:ignore\nB = \"{c}\"\n"),
    )
    .unwrap();
    fs::write(data.path().join("gone.csv"), &csv).unwrap();
    let with_cache = || {
        let mut c = config(data.path(), "k");
        c.cache = Some(cache.path().to_path_buf());
        c
    };

    let first = run(with_cache());
    opened_below(data.path());
    assert!(
        first
            .coverage
            .not_scanned
            .iter()
            .any(|n| n.path == "broken.gz"),
        "the fixture has a coverage record"
    );
    assert_eq!(first.suppressions.len(), 1, "the inline ignore holds");
    assert!(
        first.files.iter().any(|f| !f.inner.is_empty()),
        "archive members listed"
    );

    fs::remove_file(data.path().join("gone.csv")).unwrap();
    let mut fresh = config(data.path(), "k");
    fresh.hash_files = true;
    let fresh = run(fresh);
    opened_below(data.path());
    let second = run(with_cache());
    assert_eq!(
        opened_below(data.path()),
        Vec::<String>::new(),
        "archives and corrupt files are not re-read either"
    );
    assert_eq!(
        second.coverage.files_cached, 4,
        "of files_scanned: broken.gz is cached but not scanned completely"
    );
    assert!(second.files.iter().all(|f| f.cached));
    assert_eq!(body_of(&second), body_of(&fresh), "cached = fresh");
    assert_eq!(second.suppressions[0].by, "inline");

    // The deleted file's entry went at the end of that sweep; a shard sweep
    // prunes nothing (it does not see every file).
    assert_eq!(entries(cache.path()), 5);
    fs::remove_file(data.path().join("plain.csv")).unwrap();
    let mut shard = with_cache();
    shard.shard = Some("1/2".parse::<Shard>().unwrap());
    run(shard);
    assert_eq!(entries(cache.path()), 5, "a shard does not prune");
    run(with_cache());
    assert_eq!(entries(cache.path()), 4, "a full sweep does");
    opened_below(data.path());
}

/// Entries in the cache's one results table.
fn entries(dir: &Path) -> u64 {
    use redb::{ReadableTableMetadata, TableHandle};
    let db = redb::Database::open(dir.join("shekara-cache.redb")).unwrap();
    let tx = db.begin_read().unwrap();
    let names: Vec<String> = tx
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect();
    assert_eq!(names.len(), 1, "one context");
    let def: redb::TableDefinition<'_, &[u8], &[u8]> = redb::TableDefinition::new(&names[0]);
    tx.open_table(def).unwrap().len().unwrap()
}

#[test]
fn merge_of_four_shards_equals_the_full_scan() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path(), 40, 2);
    fs::write(data.path().join("empty.txt"), "").unwrap();
    let full = run(config(data.path(), "k"));
    let shards: Vec<Report> = (0..4)
        .map(|index| {
            let mut c = config(data.path(), "k");
            c.shard = Some(Shard { index, count: 4 });
            run(c)
        })
        .collect();
    opened_below(data.path());
    let sizes: Vec<usize> = shards
        .iter()
        .map(|r| r.coverage.files_scanned as usize)
        .collect();
    assert_eq!(
        sizes.iter().sum::<usize>(),
        41,
        "shards cover every file once: {sizes:?}"
    );
    assert!(
        sizes.iter().all(|&n| n > 0),
        "every shard has work: {sizes:?}"
    );

    // Refusals: a missing shard, a duplicate, a different key.
    let missing = merge(shards[..3].to_vec()).unwrap_err();
    assert!(missing.0.contains("3/4"), "{missing}");
    let mut dup = shards.clone();
    dup[3] = shards[2].clone();
    assert!(merge(dup).unwrap_err().0.contains("twice"));
    let mut other_key = shards.clone();
    other_key[1].scan.fingerprint_key = "blake3:other".into();
    assert!(merge(other_key).unwrap_err().0.contains("fingerprint key"));

    let merged = merge(shards).unwrap();
    assert_eq!(merged.findings, full.findings, "finding for finding");
    assert_eq!(merged.coverage, full.coverage);
    assert_eq!(merged.summary, full.summary);
    assert_eq!(merged.scan.options["merged_shards"], 4);
}

/// Inline ignores are settled from the bytes a file was scanned from,
/// whichever way it was read: whole (source, datasets), memory-mapped or
/// streamed in windows (read back after the scan). Each way gives the same
/// suppressions.
#[test]
fn inline_ignores_are_the_same_however_a_file_is_read() {
    let data = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(11);
    let mut ids = || valid_iin(&mut rng);
    let ignored = |id: String| format!("x = \"{id}\"  # shekara:ignore\n");
    let kept = |id: String| format!("y = \"{id}\"\n");
    fs::write(
        data.path().join("code.py"),
        ignored(ids()) + &kept(ids()) + &ignored(ids()),
    )
    .unwrap();
    fs::write(
        data.path().join("notes.txt"),
        kept(ids()) + &"filler line\n".repeat(500) + &ignored(ids()),
    )
    .unwrap();
    fs::write(
        data.path().join("rows.csv"),
        format!(
            "note,ref\n\"{}\",a # shekara:ignore\n\"{}\",b\n",
            ids(),
            ids()
        ),
    )
    .unwrap();
    let scan = |mmap: Option<u64>| {
        let mut c = config(data.path(), "k");
        c.mmap_threshold = mmap;
        let report = run(c);
        let suppressed: Vec<String> = report
            .suppressions
            .iter()
            .map(|s| {
                let f = &report.findings[s.finding];
                format!("{}:{:?}:{}", f.location.path, f.location.line, s.by)
            })
            .collect();
        (report.findings.len(), suppressed)
    };
    let whole = scan(None);
    assert_eq!(whole.1.len(), 4, "{:?}", whole.1);
    assert_eq!(scan(Some(1)), whole, "memory-mapped");
    assert_eq!(scan(Some(1 << 40)), whole, "read whole or streamed");
}
