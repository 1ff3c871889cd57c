//! Large inputs take the parallel path (engine pass in segments, column
//! reader alongside it): the report is the one the sequential path gives,
//! whatever the segment size, thread count or read path.
//!
//! `Config::segment` is lowered so that inputs of a few MiB are "large".

use std::fs;
use std::path::Path;

use shekara_fixtures::datasets::{csv_dataset, jsonl_dataset, DatasetCounts};
use shekara_scanner::{Config, Finding, FingerprintKey, Input, NoSink, Progress, Report, Scanner};

/// IINs on the last line of [`notes`].
const LONG_LINE_IINS: usize = 3_000;

/// Plain text with IINs, BINs, invalid numbers and URLs on every line, so
/// that segment edges fall inside and between matches.
fn notes(lines: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..lines {
        out.extend_from_slice(format!("line {i} ИИН 850314319331 x\n").as_bytes());
        out.extend_from_slice(b"bad 850314319332 and 0850314319331\n");
        if i % 7 == 0 {
            out.extend_from_slice(b"BIN:050340765602; s3://kz-archive/dump.csv\n");
        }
    }
    // One line longer than several segments: its findings' columns (in
    // characters) carry over segments without a newline.
    for _ in 0..LONG_LINE_IINS {
        out.extend_from_slice("жолы ИИН 850314319331, ".as_bytes());
    }
    out.push(b'\n');
    out
}

/// Terraform (read whole by the egress detector) padded past a segment.
fn terraform(pad_lines: usize) -> Vec<u8> {
    let mut out =
        b"provider \"aws\" {\n  region = \"eu-central-1\"\n}\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = \"kz\"\n}\n"
            .to_vec();
    for i in 0..pad_lines {
        out.extend_from_slice(format!("# row {i}: owner 921130474626\n").as_bytes());
    }
    out
}

struct Corpus {
    dir: tempfile::TempDir,
    csv: DatasetCounts,
    jsonl: DatasetCounts,
    notes_lines: usize,
}

fn corpus() -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let (csv, csv_counts) = csv_dataset(21, 40_000, 97);
    let (jsonl, jsonl_counts) = jsonl_dataset(22, 30_000, 89);
    fs::write(dir.path().join("people.csv"), csv).unwrap();
    fs::write(dir.path().join("events.jsonl"), jsonl).unwrap();
    fs::write(dir.path().join("notes.txt"), notes(20_000)).unwrap();
    fs::write(dir.path().join("main.tf"), terraform(20_000)).unwrap();
    Corpus {
        dir,
        csv: csv_counts,
        jsonl: jsonl_counts,
        notes_lines: 20_000,
    }
}

fn scan(root: &Path, segment: usize, threads: usize, mmap: Option<u64>) -> Report {
    let mut c = Config::new(vec![Input::Path(root.to_path_buf())]);
    c.key = Some(FingerprintKey::from_secret("test", "test"));
    c.segment = segment;
    c.threads = threads;
    c.mmap_threshold = mmap;
    c.hash_files = true;
    Scanner::new(c)
        .unwrap()
        .run(&NoSink, &Progress::default())
        .unwrap()
}

/// The findings without their detection time.
fn findings(r: &Report) -> Vec<Finding> {
    r.findings
        .iter()
        .cloned()
        .map(|mut f| {
            f.breach_notification = None;
            f
        })
        .collect()
}

fn count(r: &Report, path: &str, kind: &str, aggregated: bool) -> u64 {
    r.findings
        .iter()
        .filter(|f| &*f.location.path == path && f.kind.to_string() == kind)
        .filter(|f| f.attributes.get("aggregated").is_some() == aggregated)
        .map(|f| f.count)
        .sum()
}

#[test]
fn parallel_and_sequential_paths_give_the_same_report() {
    let c = corpus();
    let reference = scan(c.dir.path(), usize::MAX, 1, Some(16 << 20));
    // The reference is not empty: every kind of input gave what it holds.
    let csv_ids = (c.csv.iins + c.csv.lost_zero) as u64;
    assert_eq!(count(&reference, "people.csv", "iin", true), csv_ids);
    assert_eq!(
        count(&reference, "people.csv", "iin", false),
        c.csv.note_iins as u64
    );
    let jsonl_ids = (c.jsonl.iins + c.jsonl.lost_zero) as u64;
    assert_eq!(count(&reference, "events.jsonl", "iin", true), jsonl_ids);
    assert_eq!(
        count(&reference, "notes.txt", "iin", false),
        (c.notes_lines + LONG_LINE_IINS) as u64
    );
    assert!(count(&reference, "notes.txt", "bin", false) > 0);
    assert!(count(&reference, "main.tf", "foreign_endpoint", false) > 0);
    assert_eq!(reference.files.len(), 4);
    assert!(reference.coverage.complete);

    for (segment, threads, mmap) in [
        (4099, 2, Some(1)),
        (65_536, 4, None),
        (1 << 20, 2, Some(16 << 20)),
        (1 << 20, 1, Some(1)),
    ] {
        let r = scan(c.dir.path(), segment, threads, mmap);
        let what = format!("segment {segment}, {threads} threads, mmap {mmap:?}");
        assert_eq!(findings(&r), findings(&reference), "{what}");
        assert_eq!(r.coverage, reference.coverage, "{what}");
        assert_eq!(r.files, reference.files, "{what}");
        assert_eq!(r.summary.occurrences, reference.summary.occurrences);
    }
}
