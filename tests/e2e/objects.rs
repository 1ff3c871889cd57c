//! `shekara scan s3://…` against a real S3 server (s3s-fs) on loopback.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use shekara_fixtures::csv_with_iins;
use shekara_fixtures::Rng;
use shekara_objects::testing::{TestStore, ACCESS_KEY, SECRET_KEY};

use crate::{not_scanned, of_kind, shekara};

fn write(root: &Path, key: &str, bytes: &[u8]) {
    let p = root.join(key);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// `shekara scan URL --endpoint-url … --format json` with the test credentials.
fn sweep_std(store: &TestStore, url: &str, extra: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("shekara"));
    c.env("SHEKARA_FINGERPRINT_KEY", "e2e-test-key")
        .env_remove("NO_COLOR")
        .args(["scan", url, "--format", "json", "--quiet", "--retries", "2"])
        .args(["--endpoint-url", &store.endpoint(), "--region", "us-east-1"])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE");
    c
}

fn sweep_cmd(store: &TestStore, url: &str, extra: &[&str]) -> assert_cmd::Command {
    assert_cmd::Command::from_std(sweep_std(store, url, extra))
}

fn run(mut c: assert_cmd::Command) -> (Value, i32) {
    let out = c.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

#[test]
fn scans_a_bucket_by_url() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, counts) = csv_with_iins(&mut Rng::new(3), 25, 0.8);
    write(dir.path(), "lake/crm/customers.csv", &csv);
    write(
        dir.path(),
        "lake/crm/readme.txt",
        b"no personal data here\n",
    );
    write(dir.path(), "lake/crm/denied.csv", b"850314319331\n");
    let store = TestStore::start(dir.path()).unwrap();
    store
        .proxy_state
        .deny
        .lock()
        .unwrap()
        .push("denied.csv".into());

    let (report, code) = run(sweep_cmd(&store, "s3://lake/crm", &[]));
    assert_eq!(code, 1, "IINs found");
    let iins = of_kind(&report, "iin");
    // The CSV's IIN column is one aggregated finding carrying the count;
    // in an IIN column, an 11-digit IIN that lost its leading zero counts too.
    let occurrences: u64 = iins.iter().map(|f| f["count"].as_u64().unwrap()).sum();
    assert!(
        counts.in_id_column() > counts.valid,
        "a lost-zero IIN is planted"
    );
    assert_eq!(occurrences, counts.in_id_column() as u64);
    assert!(iins
        .iter()
        .all(|f| f["location"]["path"] == "s3://lake/crm/customers.csv"));
    assert_eq!(report["scan"]["roots"][0], "s3://lake/crm");
    assert_eq!(report["stores"][0]["bucket_region"], "us-east-1");
    assert_eq!(report["stores"][0]["in_country"], false);
    assert_eq!(
        not_scanned(&report),
        vec![(
            "s3://lake/crm/denied.csv".to_string(),
            "access_denied".to_string()
        )]
    );
    assert_eq!(report["coverage"]["complete"], false);

    // Without findings at or above --fail-on, the incomplete sweep exits 2.
    let (_, code) = run(sweep_cmd(
        &store,
        "s3://lake/crm",
        &["--fail-on", "critical"],
    ));
    assert_eq!(code, 2);
}

#[test]
fn cache_dir_means_no_refetch() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lake/a.txt", "ИИН 850314319331\n".as_bytes());
    write(dir.path(), "lake/b.txt", b"clean\n");
    write(
        dir.path(),
        "lake/c.txt",
        b"test = 921130474626  # shekara:ignore kz.iin\n",
    );
    let cache = tempfile::tempdir().unwrap();
    let store = TestStore::start(dir.path()).unwrap();
    let args = ["--cache", cache.path().to_str().unwrap()];
    let (first, _) = run(sweep_cmd(&store, "s3://lake", &args));
    assert_eq!(store.proxy_state.object_gets().len(), 3);
    store.proxy_state.reset();
    let (second, code) = run(sweep_cmd(&store, "s3://lake", &args));
    assert_eq!(code, 1);
    assert!(store.proxy_state.object_gets().is_empty());
    assert_eq!(first["findings"], second["findings"]);
    assert_eq!(second["stores"][0]["objects_cached"], 3);
    // The object's inline ignore applies, on the first sweep and from the cache.
    for report in [&first, &second] {
        let suppressed: Vec<&str> = report["suppressions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let i = s["finding"].as_u64().unwrap() as usize;
                report["findings"][i]["location"]["path"].as_str().unwrap()
            })
            .collect();
        assert_eq!(
            suppressed,
            ["s3://lake/c.txt"],
            "{}",
            report["suppressions"]
        );
        assert_eq!(
            report["summary"]["breach_notification"][0]["class"],
            "personal"
        );
    }
    assert_eq!(first["suppressions"], second["suppressions"]);
}

#[test]
fn mixing_paths_and_buckets_is_refused() {
    shekara()
        .args(["scan", "s3://lake", "."])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot be scanned in one run"));
    shekara()
        .args(["scan", "gs://lake"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not supported yet"));
}

#[test]
fn ctrl_c_writes_a_partial_report() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lake/a.txt", "ИИН 850314319331\n".as_bytes());
    write(dir.path(), "lake/z-stalls.txt", b"850314319331\n");
    let store = TestStore::start(dir.path()).unwrap();
    store
        .proxy_state
        .stall
        .lock()
        .unwrap()
        .push("z-stalls.txt".into());
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("report.json");
    let evidence = out_dir.path().join("evidence.json");
    let mut cmd = sweep_std(
        &store,
        "s3://lake",
        &[
            "--jobs",
            "1",
            "-o",
            out.to_str().unwrap(),
            "--evidence",
            evidence.to_str().unwrap(),
        ],
    );
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !store
        .proxy_state
        .object_gets()
        .iter()
        .any(|g| g.ends_with("z-stalls.txt"))
    {
        assert!(
            Instant::now() < deadline,
            "the sweep never reached the stalled object"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["partial"], true);
    assert_eq!(report["coverage"]["complete"], false);
    assert!(not_scanned(&report).contains(&("s3://lake".to_string(), "interrupted".to_string())));
    assert_eq!(
        of_kind(&report, "iin").len(),
        1,
        "a.txt was scanned before the stop"
    );
    assert_eq!(status.code(), Some(1));
    // The evidence of the stopped sweep says so, and names the object version.
    let ev: Value = serde_json::from_slice(&std::fs::read(&evidence).unwrap()).unwrap();
    assert_eq!(ev["partial"], true);
    assert_eq!(ev["coverage"]["complete"], false);
    assert_eq!(ev["stores"][0]["bucket"], "lake");
    let a = ev["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "s3://lake/a.txt")
        .expect("a.txt in the evidence");
    assert!(a["etag"].as_str().is_some_and(|e| !e.is_empty()), "{a}");
    assert!(a["sha256"].as_str().unwrap().starts_with("sha256:"));
}
