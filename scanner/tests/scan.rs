//! Scanner-level tests: read paths agree, files changing mid-scan, determinism.

use std::fs;
use std::path::Path;

use shekara_scanner::model::Reason;
use shekara_scanner::{Config, FingerprintKey, Input, NoSink, Progress, Report, Scanner};

fn config(root: &Path) -> Config {
    let mut c = Config::new(vec![Input::Path(root.to_path_buf())]);
    c.key = Some(FingerprintKey::from_secret("test", "test"));
    c
}

fn run(c: Config) -> Report {
    Scanner::new(c)
        .unwrap()
        .run(&NoSink, &Progress::default())
        .unwrap()
}

/// Text with an IIN every `every` bytes or so, lines of varied length.
fn big_text(bytes: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes + 100);
    let mut i = 0u64;
    while v.len() < bytes {
        i += 1;
        let pad = "x".repeat((i % 97) as usize);
        v.extend_from_slice(format!("{i} {pad} ИИН 850314319331 bad 850314319332\n").as_bytes());
    }
    v
}

/// The findings of one file share one copy of its path.
#[test]
fn findings_of_a_file_share_its_path() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), big_text(4096)).unwrap();
    fs::write(dir.path().join("b.txt"), big_text(2048)).unwrap();
    let r = run(config(dir.path()));
    let of = |name: &str| -> Vec<&std::sync::Arc<str>> {
        let f = r.findings.iter().filter(|f| &*f.location.path == name);
        f.map(|f| &f.location.path).collect()
    };
    let (a, b) = (of("a.txt"), of("b.txt"));
    assert!(a.len() > 10 && b.len() > 5, "{} {}", a.len(), b.len());
    assert!(a.iter().all(|p| std::sync::Arc::ptr_eq(p, a[0])));
    assert!(b.iter().all(|p| std::sync::Arc::ptr_eq(p, b[0])));
    assert!(!std::sync::Arc::ptr_eq(a[0], b[0]));
}

/// (path, offset, line, column, rule) of each finding.
type Position = (String, u64, Option<u64>, Option<u64>, String);

fn positions(r: &Report) -> Vec<Position> {
    r.findings
        .iter()
        .map(|f| {
            let l = &f.location;
            (
                l.path.to_string(),
                l.byte_offset,
                l.line.map(std::num::NonZeroU64::get),
                l.column.map(std::num::NonZeroU64::get),
                f.rule.to_string(),
            )
        })
        .collect()
}

#[test]
fn every_read_path_gives_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("big.txt"), big_text(3 << 20)).unwrap();
    fs::write(dir.path().join("small.txt"), big_text(10_000)).unwrap();
    let reference = run(config(dir.path()));
    assert!(reference.findings.len() > 1000);
    assert!(reference.findings.iter().all(|f| f.rule == "kz.iin"));
    for window in [7usize, 4096, 1 << 20] {
        for mmap in [None, Some(1u64)] {
            let mut c = config(dir.path());
            c.window = window;
            c.mmap_threshold = mmap;
            let got = run(c);
            assert_eq!(
                positions(&got),
                positions(&reference),
                "window {window}, mmap {mmap:?}"
            );
        }
    }
}

#[test]
fn mapped_segments_keep_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    // > 8 MiB so the mapped file is cut into parallel segments.
    let data = big_text(20 << 20);
    fs::write(dir.path().join("huge.txt"), &data).unwrap();
    let mut mapped = config(dir.path());
    mapped.mmap_threshold = Some(1);
    let mut read = config(dir.path());
    read.mmap_threshold = None;
    let (a, b) = (run(mapped), run(read));
    assert_eq!(positions(&a), positions(&b));
    let last = a.findings.last().unwrap();
    let lines_before = data[..last.location.byte_offset as usize]
        .iter()
        .filter(|&&c| c == b'\n')
        .count() as u64;
    assert_eq!(last.location.line.map(|l| l.get()), Some(lines_before + 1));
}

fn shrink(path: &Path) {
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(100_000).unwrap();
}

fn truncated_mid_scan(mmap: Option<u64>) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("shrinks.txt"), big_text(20 << 20)).unwrap();
    let mut c = config(dir.path());
    c.mmap_threshold = mmap;
    c.hook_after_open = Some(shrink);
    let r = run(c);
    let n = &r.coverage.not_scanned;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].reason, Reason::ChangedDuringScan);
    assert!(!r.coverage.complete);
    // Findings come only from the part that still existed.
    assert!(!r.findings.is_empty());
    assert!(r.findings.iter().all(|f| f.location.byte_offset < 100_000));
    assert_eq!(r.exit_code(shekara_scanner::Severity::Critical), 2);
}

#[test]
fn file_truncated_while_mapped_is_reported_not_fatal() {
    truncated_mid_scan(Some(1));
}

#[test]
fn file_truncated_while_read_is_reported() {
    truncated_mid_scan(None);
}

#[test]
fn file_truncated_before_it_is_read_whole_is_reported() {
    // Below the mapping threshold: read whole, once, after the hook.
    truncated_mid_scan(Some(64 << 20));
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        let sub = dir.path().join(format!("d{}", i % 5));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("f{i}.txt")), big_text(2000 + i * 300)).unwrap();
    }
    let mut reports = Vec::new();
    for threads in [1, 2, 4] {
        let mut c = config(dir.path());
        c.threads = threads;
        let r = run(c);
        // In path order, whatever order the threads took the files in.
        let paths: Vec<&str> = r.findings.iter().map(|f| &*f.location.path).collect();
        assert!(paths.windows(2).all(|w| w[0] <= w[1]), "{threads} threads");
        assert_eq!(paths.first(), Some(&"d0/f0.txt"));
        reports.push((
            serde_json::to_string(&r.findings).unwrap(),
            serde_json::to_string(&r.coverage).unwrap(),
        ));
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
}

#[test]
fn file_digests_agree_across_read_paths_and_with_blobs() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let big = big_text(3 << 20);
    let small = big_text(5_000);
    fs::write(dir.path().join("big.txt"), &big).unwrap();
    fs::write(dir.path().join("small.txt"), &small).unwrap();
    // A Terraform file takes the whole-file path.
    let tf = b"resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n}\n";
    fs::write(dir.path().join("main.tf"), tf).unwrap();
    let hex = |b: &[u8]| format!("{:x}", Sha256::digest(b));
    let want = vec![
        ("big.txt".to_string(), big.len() as u64, hex(&big)),
        ("main.tf".to_string(), tf.len() as u64, hex(tf)),
        ("small.txt".to_string(), small.len() as u64, hex(&small)),
    ];
    // Without hashing, no digests and no `files` in the JSON.
    let plain = run(config(dir.path()));
    assert!(plain.files.is_empty());
    assert!(serde_json::to_value(&plain).unwrap().get("files").is_none());
    for mmap in [None, Some(1u64)] {
        let mut c = config(dir.path());
        c.hash_files = true;
        c.mmap_threshold = mmap;
        let r = run(c);
        let mut got: Vec<_> = r
            .files
            .iter()
            .map(|f| (f.path.clone(), f.size, f.sha256.clone()))
            .collect();
        got.sort();
        assert_eq!(got, want, "mmap {mmap:?}");
        assert_eq!(positions(&r), positions(&plain));
    }
    // An in-memory blob gets the same findings and digest as the file.
    let mut c = config(dir.path());
    c.hash_files = true;
    let scanner = Scanner::new(c).unwrap();
    let place = shekara_scanner::Place::file(0, b"small.txt".to_vec());
    let blob = scanner.scan_bytes(&place, &small);
    assert_eq!(blob.files[0].sha256, hex(&small));
    assert!(blob.complete);
    let from_file: Vec<_> = plain
        .findings
        .iter()
        .filter(|f| &*f.location.path == "small.txt")
        .cloned()
        .collect();
    assert_eq!(blob.findings, from_file);
    let streamed = scanner.scan_reader(&place, &mut &small[..], u64::MAX);
    assert_eq!(streamed.findings, from_file);
    assert_eq!(streamed.files, blob.files);
}
