//! Sweeps against a real S3 server (s3s-fs) on loopback, through a proxy
//! that counts GETs and injects faults.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use shekara_fixtures::csv_with_iins;
use shekara_fixtures::Rng;
use shekara_objects::testing::{TestStore, ACCESS_KEY, SECRET_KEY};
use shekara_objects::{DirCache, ObjectOptions, Sweep};
use shekara_scanner::model::Reason;
use shekara_scanner::shard::Shard;
use shekara_scanner::{Config, FingerprintKey, Input, Kind, NoSink, Progress, Report};

/// A bucket `lake` under `root`: a CSV of customers, free text with one IIN
/// and a foreign bucket URL, and a clean object.
struct Lake {
    csv_iins: usize,
}

const NOTE: &str = "Интервью: клиент ИИН 850314319331 просил выгрузку в s3://exports-eu/x на https://exports.s3.eu-central-1.amazonaws.com\n";

fn write(root: &Path, key: &str, bytes: &[u8]) {
    let p = root.join(key);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn lake(root: &Path) -> Lake {
    let (csv, counts) = csv_with_iins(&mut Rng::new(7), 40, 0.75);
    write(root, "lake/raw/customers.csv", &csv);
    write(root, "lake/raw/notes/interview.txt", NOTE.as_bytes());
    write(
        root,
        "lake/raw/clean.txt",
        b"nothing to see here: 12 apples, 3 pears\n",
    );
    write(root, "lake/other/outside-prefix.txt", NOTE.as_bytes());
    Lake {
        csv_iins: counts.in_id_column(),
    }
}

fn start(root: &Path) -> TestStore {
    match TestStore::start(root) {
        Ok(s) => s,
        Err(e) if std::env::var_os("CI").is_none() => {
            panic!("cannot start the loopback S3 server ({e}); it runs in-process, so this is a bug or a sandbox without loopback")
        }
        Err(e) => panic!("CI: the loopback S3 server must start: {e}"),
    }
}

fn options(store: &TestStore) -> ObjectOptions {
    ObjectOptions {
        endpoint_url: Some(store.endpoint()),
        region: Some("us-east-1".into()),
        jobs: 4,
        retries: 3,
        retry_backoff: Duration::from_millis(5),
        credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        ..ObjectOptions::default()
    }
}

fn config(url: &str) -> Config {
    let mut c = Config::new(vec![Input::Path(url.into())]);
    c.key = Some(FingerprintKey::from_secret("test", "test"));
    c.hash_files = true;
    c
}

fn sweep(url: &str, o: ObjectOptions) -> Report {
    Sweep::new(config(url), o)
        .unwrap()
        .run_until(&NoSink, &Progress::default(), std::future::pending())
        .unwrap()
}

/// IIN occurrences per location path.
fn iins_at(r: &Report, path: &str) -> u64 {
    r.findings
        .iter()
        .filter(|f| f.kind == Kind::Iin && &*f.location.path == path)
        .map(|f| f.count)
        .sum()
}

/// IIN occurrences in the whole report (an ID column is one finding with a count).
fn iin_total(r: &Report) -> u64 {
    r.findings
        .iter()
        .filter(|f| f.kind == Kind::Iin)
        .map(|f| f.count)
        .sum()
}

fn reasons(r: &Report) -> Vec<(String, Reason)> {
    r.coverage
        .not_scanned
        .iter()
        .map(|n| (n.path.clone(), n.reason))
        .collect()
}

#[test]
fn sweeps_a_prefix_with_exact_counts_keys_digests_and_store_location() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let store = start(dir.path());
    let r = sweep("s3://lake/raw", options(&store));

    assert_eq!(
        iins_at(&r, "s3://lake/raw/customers.csv"),
        lake.csv_iins as u64
    );
    assert_eq!(iins_at(&r, "s3://lake/raw/notes/interview.txt"), 1);
    assert_eq!(iins_at(&r, "s3://lake/raw/clean.txt"), 0);
    assert_eq!(iin_total(&r), lake.csv_iins as u64 + 1);
    assert!(
        r.findings
            .iter()
            .all(|f| !f.location.path.contains("other/")),
        "only the prefix is swept"
    );
    let csv_finding = r
        .findings
        .iter()
        .find(|f| f.location.path.ends_with("customers.csv"))
        .unwrap();
    assert_eq!(
        csv_finding.location.line.map(|l| l.get()),
        Some(2),
        "first data row"
    );
    assert!(!csv_finding
        .evidence
        .masked
        .chars()
        .all(|c| c.is_ascii_digit()));
    // The foreign bucket named in the note.
    assert!(r.findings.iter().any(|f| f.kind == Kind::ForeignEndpoint
        && f.location.path.ends_with("interview.txt")
        && f.attributes.get("country") == Some("DE")));

    assert!(r.coverage.complete, "{:?}", reasons(&r));
    assert_eq!(r.coverage.files_scanned, 3);
    assert!(!r.partial);

    // SHA-256 per object, from the same pass, and the ETag.
    assert_eq!(r.files.len(), 3);
    let csv = std::fs::read(dir.path().join("lake/raw/customers.csv")).unwrap();
    let f = r
        .files
        .iter()
        .find(|f| f.path.ends_with("customers.csv"))
        .unwrap();
    assert_eq!(f.sha256, shekara_scanner::sha256_hex(&csv));
    assert_eq!(f.size, csv.len() as u64);
    assert!(f.etag.as_deref().is_some_and(|e| !e.is_empty()));

    // Where the store is.
    let s = &r.stores[0];
    assert_eq!((s.bucket.as_str(), s.prefix.as_str()), ("lake", "raw"));
    assert_eq!(s.bucket_region.as_deref(), Some("us-east-1"));
    assert_eq!(s.bucket_region_source, "GetBucketLocation");
    assert_eq!(
        (s.host.as_str(), s.country.as_str(), s.in_country),
        ("127.0.0.1", "unknown", false)
    );
    assert_eq!(
        (s.objects_listed, s.objects_fetched, s.objects_cached),
        (3, 3, 0)
    );
    // The store itself, a lake of unknown country holding IINs: high.
    let loc = r
        .findings
        .iter()
        .find(|f| f.rule == "store.location")
        .unwrap();
    assert_eq!(&*loc.location.path, "s3://lake/raw");
    assert_eq!(loc.kind, Kind::ForeignEndpoint);
    assert_eq!(loc.severity, shekara_scanner::Severity::High);
    assert_eq!(&loc.attributes["holds"], "iin");
    assert_eq!(
        r.findings[0].rule, "store.location",
        "the store comes first"
    );
}

#[test]
fn throttling_503_slowdown_is_retried_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let store = start(dir.path());
    // 503s on the listing, then on object GETs (4 jobs: spread over several objects).
    store.proxy_state.throttle.store(3, Ordering::SeqCst);
    store
        .proxy_state
        .throttle_objects
        .store(5, Ordering::SeqCst);
    let r = sweep("s3://lake/raw", options(&store));
    assert!(r.coverage.complete, "{:?}", r.coverage.not_scanned);
    assert_eq!(store.proxy_state.throttled.load(Ordering::SeqCst), 8);
    // Every object was fetched at least once more than it was throttled away.
    assert!(store.proxy_state.object_gets().len() >= 3 + 5);
    assert_eq!(
        iins_at(&r, "s3://lake/raw/customers.csv"),
        lake.csv_iins as u64
    );
}

/// A bucket holding IINs, with one object denied and one cut mid-stream,
/// on a store the policy declares in-country: the verdict is `incomplete`,
/// never `in_country`. The same bucket without that policy is a
/// `violation`: a store of unknown location holding IINs counts as abroad.
#[test]
fn denied_and_cut_objects_make_the_verdict_incomplete_and_an_unknown_store_a_violation() {
    use shekara_scanner::policy::Policy;
    use shekara_scanner::verdict::Residency;
    let dir = tempfile::tempdir().unwrap();
    let (csv, counts) = csv_with_iins(&mut Rng::new(11), 20, 1.0);
    write(dir.path(), "kzlake/hr/staff.csv", &csv);
    write(dir.path(), "kzlake/hr/secret.csv", b"iin\n850314319331\n");
    let (big, _) = csv_with_iins(&mut Rng::new(12), 400, 1.0);
    write(dir.path(), "kzlake/hr/broken.csv", &big);
    let store = start(dir.path());
    store
        .proxy_state
        .deny
        .lock()
        .unwrap()
        .push("hr/secret.csv".into());
    store
        .proxy_state
        .cut
        .lock()
        .unwrap()
        .push("hr/broken.csv".into());
    let run = |policy: Option<Policy>| {
        let mut c = config("s3://kzlake/hr");
        c.policy = policy;
        Sweep::new(c, options(&store))
            .unwrap()
            .run_until(&NoSink, &Progress::default(), std::future::pending())
            .unwrap()
    };
    let root_verdict = |r: &Report| {
        r.verdicts
            .iter()
            .find(|v| v.artefact.kind == "root")
            .map(|v| v.verdict)
            .unwrap()
    };

    let local = Policy::parse("[in_country]\nhosts = [\"127.0.0.1\"]\n", "test").unwrap();
    let r = run(Some(local));
    assert_eq!(
        iins_at(&r, "s3://kzlake/hr/staff.csv"),
        counts.valid as u64,
        "{:?} {:?}",
        reasons(&r),
        r.findings
            .iter()
            .map(|f| (&f.location.path, f.count))
            .collect::<Vec<_>>()
    );
    assert!(r.stores[0].in_country);
    let store_finding = r
        .findings
        .iter()
        .find(|f| f.rule == "store.location")
        .unwrap();
    assert_eq!(store_finding.kind, Kind::DomesticEndpoint);
    let got = reasons(&r);
    assert!(
        got.contains(&("s3://kzlake/hr/secret.csv".into(), Reason::AccessDenied)),
        "{got:?}"
    );
    assert!(
        got.contains(&("s3://kzlake/hr/broken.csv".into(), Reason::ReadError)),
        "{got:?}"
    );
    assert_eq!(root_verdict(&r), Residency::Incomplete, "{:?}", r.verdicts);

    let r = run(None);
    assert!(!r.stores[0].in_country);
    assert_eq!(root_verdict(&r), Residency::Violation, "{:?}", r.verdicts);
}

#[test]
fn denied_and_cut_objects_go_to_coverage_and_make_the_scan_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    write(dir.path(), "lake/raw/secret.csv", b"iin\n850314319331\n");
    let (big, _) = csv_with_iins(&mut Rng::new(9), 400, 1.0);
    write(dir.path(), "lake/raw/broken.csv", &big);
    let store = start(dir.path());
    store
        .proxy_state
        .deny
        .lock()
        .unwrap()
        .push("raw/secret.csv".into());
    store
        .proxy_state
        .cut
        .lock()
        .unwrap()
        .push("raw/broken.csv".into());
    let r = sweep("s3://lake/raw", options(&store));
    let got = reasons(&r);
    assert!(
        got.contains(&("s3://lake/raw/secret.csv".into(), Reason::AccessDenied)),
        "{got:?}"
    );
    assert!(
        got.contains(&("s3://lake/raw/broken.csv".into(), Reason::ReadError)),
        "{got:?}"
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(!r.coverage.complete);
    assert_eq!(iins_at(&r, "s3://lake/raw/secret.csv"), 0);
    assert_eq!(
        iins_at(&r, "s3://lake/raw/broken.csv"),
        0,
        "a cut body is not half-reported"
    );
    assert_eq!(
        iins_at(&r, "s3://lake/raw/customers.csv"),
        lake.csv_iins as u64
    );
    // Findings at or above high: 1; without them the incomplete scan is 2.
    assert_eq!(r.exit_code(shekara_scanner::Severity::High), 1);
    assert_eq!(r.exit_code(shekara_scanner::Severity::Critical), 2);
    // The cut object was retried before giving up.
    let gets = store.proxy_state.object_gets();
    assert!(
        gets.iter().filter(|g| g.ends_with("broken.csv")).count() > 1,
        "{gets:?}"
    );
}

#[test]
fn denied_listing_is_recorded_for_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    lake(dir.path());
    let store = start(dir.path());
    store.proxy_state.deny_list.store(true, Ordering::SeqCst);
    let r = sweep("s3://lake/raw", options(&store));
    assert_eq!(
        reasons(&r),
        vec![("s3://lake/raw".to_string(), Reason::AccessDenied)]
    );
    assert!(!r.coverage.complete);
    assert_eq!(r.exit_code(shekara_scanner::Severity::High), 2);
}

#[test]
fn cache_skips_unchanged_objects_and_refetches_a_changed_one() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let cache_dir = tempfile::tempdir().unwrap();
    let store = start(dir.path());
    let with_cache = || ObjectOptions {
        cache: Some(Arc::new(DirCache::open(cache_dir.path()).unwrap())),
        ..options(&store)
    };
    let first = sweep("s3://lake/raw", with_cache());
    assert_eq!(store.proxy_state.object_gets().len(), 3);
    store.proxy_state.reset();

    let again = sweep("s3://lake/raw", with_cache());
    assert_eq!(
        store.proxy_state.object_gets(),
        Vec::<String>::new(),
        "nothing changed: no GET"
    );
    assert_eq!(again.findings, first.findings);
    // The same digests, now marked as taken from the cache.
    assert!(again.files.iter().all(|f| f.cached));
    let uncached: Vec<_> = again
        .files
        .iter()
        .cloned()
        .map(|mut f| {
            f.cached = false;
            f
        })
        .collect();
    assert_eq!(uncached, first.files);
    assert_eq!(
        (
            again.stores[0].objects_fetched,
            again.stores[0].objects_cached
        ),
        (0, 3)
    );
    assert!(again.coverage.complete);

    write(
        dir.path(),
        "lake/raw/notes/interview.txt",
        format!("{NOTE}{NOTE}").as_bytes(),
    );
    store.proxy_state.reset();
    let changed = sweep("s3://lake/raw", with_cache());
    assert_eq!(
        store.proxy_state.object_gets(),
        vec!["/lake/raw/notes/interview.txt".to_string()]
    );
    assert_eq!(iins_at(&changed, "s3://lake/raw/notes/interview.txt"), 2);
    assert_eq!(
        iins_at(&changed, "s3://lake/raw/customers.csv"),
        lake.csv_iins as u64
    );
}

#[test]
fn shards_split_the_key_space_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    lake(dir.path());
    for i in 0..12 {
        write(
            dir.path(),
            &format!("lake/raw/parts/part-{i:02}.txt"),
            NOTE.as_bytes(),
        );
    }
    let store = start(dir.path());
    let whole = sweep("s3://lake", options(&store));
    let n = 3;
    let mut seen = Vec::new();
    let mut other = 0;
    for index in 0..n {
        let o = ObjectOptions {
            shard: Some(Shard { index, count: n }),
            ..options(&store)
        };
        let r = sweep("s3://lake", o);
        assert!(r.files.iter().all(|f| {
            let key = f.path.trim_start_matches("s3://lake/");
            Shard::of(key.as_bytes(), n) == index
        }));
        other += r.stores[0].objects_other_shards;
        seen.extend(r.files.into_iter().map(|f| f.path));
    }
    seen.sort();
    let mut all: Vec<String> = whole.files.into_iter().map(|f| f.path).collect();
    all.sort();
    assert_eq!(seen, all, "every object in exactly one shard");
    assert_eq!(other, 2 * all.len() as u64);
    assert_eq!(all.len(), 16);
}

#[test]
fn ranged_gets_find_what_one_get_finds() {
    let dir = tempfile::tempdir().unwrap();
    lake(dir.path());
    let store = start(dir.path());
    let whole = sweep("s3://lake/raw", options(&store));
    store.proxy_state.reset();
    let ranged = sweep(
        "s3://lake/raw",
        ObjectOptions {
            whole_limit: 100,
            part_size: 97,
            ..options(&store)
        },
    );
    let strip = |r: &Report| {
        r.findings
            .iter()
            .map(|f| (f.location.clone(), f.rule.clone(), f.evidence.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ranged.coverage.not_scanned, whole.coverage.not_scanned,
        "no read problem in ranged GETs"
    );
    let paths = |r: &Report| {
        r.findings
            .iter()
            .map(|f| format!("{} {:?} {}", f.location.path, f.location.inner(), f.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(&ranged), paths(&whole));
    assert_eq!(strip(&ranged), strip(&whole));
    assert_eq!(ranged.files, whole.files, "same digests");
    let csv_len = std::fs::metadata(dir.path().join("lake/raw/customers.csv"))
        .unwrap()
        .len();
    let csv_gets = store
        .proxy_state
        .object_gets()
        .into_iter()
        .filter(|g| g.ends_with("customers.csv"))
        .count() as u64;
    assert_eq!(csv_gets, csv_len.div_ceil(97));
}

#[test]
fn stopping_writes_a_partial_report() {
    let dir = tempfile::tempdir().unwrap();
    lake(dir.path());
    write(dir.path(), "lake/raw/zz-stalls.csv", b"850314319331\n");
    let store = start(dir.path());
    store
        .proxy_state
        .stall
        .lock()
        .unwrap()
        .push("zz-stalls.csv".into());
    let state = Arc::clone(&store.proxy_state);
    let stop = async move {
        while !state
            .object_gets()
            .iter()
            .any(|g| g.ends_with("zz-stalls.csv"))
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let r = Sweep::new(config("s3://lake/raw"), options(&store))
        .unwrap()
        .run_until(&NoSink, &Progress::default(), stop)
        .unwrap();
    assert!(r.partial);
    assert!(!r.coverage.complete);
    assert!(reasons(&r).contains(&("s3://lake/raw".to_string(), Reason::Interrupted)));
    assert_eq!(iins_at(&r, "s3://lake/raw/zz-stalls.csv"), 0);
}

/// A bucket of a CSV, a Parquet file and a .tar.gz, all holding IINs, and a
/// clean object. Returns the IINs planted in the Parquet and the tar.gz.
fn containers(root: &Path) -> (usize, usize) {
    let mut rng = Rng::new(11);
    let iins: Vec<String> = (0..9)
        .map(|_| shekara_fixtures::valid_iin(&mut rng))
        .collect();
    let mut values: Vec<&str> = iins.iter().map(String::as_str).collect();
    values.extend(["not an id", "Алматы"]);
    write(
        root,
        "lake/mixed/users.parquet",
        &shekara_fixtures::containers::parquet_strings("iin", &values),
    );
    let (csv, counts) = csv_with_iins(&mut rng, 30, 0.8);
    write(
        root,
        "lake/mixed/export.tar.gz",
        &shekara_fixtures::containers::tar_gz(&[
            ("export/users.csv", &csv),
            ("export/README", b"clean"),
        ]),
    );
    let (plain, plain_counts) = csv_with_iins(&mut rng, 12, 1.0);
    write(root, "lake/mixed/plain.csv", &plain);
    write(
        root,
        "lake/mixed/clean.json",
        br#"{"status": "ok", "rows": 12}"#,
    );
    assert_eq!(plain_counts.valid, 12);
    (iins.len(), counts.in_id_column())
}

/// Exact counts per object. The payloads are stored uncompressed (PLAIN
/// Parquet, stored-deflate gzip), so the counts hold whether or not the
/// scanner unpacks them; see the next test for what unpacking adds.
#[test]
fn csv_parquet_and_tar_gz_objects_give_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (in_parquet, in_tar) = containers(dir.path());
    let store = start(dir.path());
    let r = sweep("s3://lake/mixed", options(&store));
    assert_eq!(iins_at(&r, "s3://lake/mixed/plain.csv"), 12);
    assert_eq!(
        iins_at(&r, "s3://lake/mixed/users.parquet"),
        in_parquet as u64
    );
    assert_eq!(iins_at(&r, "s3://lake/mixed/export.tar.gz"), in_tar as u64);
    assert_eq!(iins_at(&r, "s3://lake/mixed/clean.json"), 0);
    assert_eq!(iin_total(&r), 12 + (in_parquet + in_tar) as u64);
    assert!(r.coverage.complete, "{:?}", reasons(&r));
}

/// With the archive and Parquet readers, findings inside a
/// container carry the member path in `inner`.
#[test]
fn container_findings_name_their_member() {
    let dir = tempfile::tempdir().unwrap();
    containers(dir.path());
    let store = start(dir.path());
    let r = sweep("s3://lake/mixed", options(&store));
    let in_tar: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Iin && f.location.path.ends_with("export.tar.gz"))
        .collect();
    assert!(!in_tar.is_empty());
    assert!(in_tar
        .iter()
        .all(|f| f.location.inner().last().map(String::as_str) == Some("export/users.csv")));
    let in_parquet: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Iin && f.location.path.ends_with("users.parquet"))
        .collect();
    assert!(!in_parquet.is_empty());
    assert!(in_parquet
        .iter()
        .all(|f| f.location.inner().iter().any(|m| m.contains("iin"))
            || f.attributes.get("column") == Some("iin")));
}

#[test]
fn roots_are_reported_as_urls() {
    let dir = tempfile::tempdir().unwrap();
    lake(dir.path());
    let store = start(dir.path());
    let r = sweep("s3://lake/raw/", options(&store));
    assert_eq!(r.scan.roots, vec!["s3://lake/raw".to_string()]);
}
