//! Datasets: CSV/TSV, JSON/JSONL and Parquet ID columns are aggregated with
//! exact counts; other cells are still scanned; nothing is counted twice.

use std::fs;
use std::path::Path;

use shekara_fixtures::datasets::{
    csv_dataset, jsonl_dataset, parquet_dataset, ParquetOptions, NOTE_URL,
};
use shekara_scanner::model::Reason;
use shekara_scanner::{
    Config, Finding, FingerprintKey, Input, NoSink, Place, Progress, Report, Scanner,
};

fn config(root: &Path) -> Config {
    let mut c = Config::new(vec![Input::Path(root.to_path_buf())]);
    c.key = Some(FingerprintKey::from_secret("test", "test"));
    c
}

/// Scans one file with this name and content.
fn scan_file(name: &str, bytes: &[u8]) -> Report {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(name), bytes).unwrap();
    Scanner::new(config(dir.path()))
        .unwrap()
        .run(&NoSink, &Progress::default())
        .unwrap()
}

fn attr<'f>(f: &'f Finding, k: &str) -> Option<&'f str> {
    f.attributes.get(k)
}

/// Aggregated findings of `column`: (kind, count, note).
fn aggregates(r: &Report, column: &str) -> Vec<(String, u64, Option<String>)> {
    let mut v: Vec<_> = r
        .findings
        .iter()
        .filter(|f| attr(f, "aggregated") == Some("column") && attr(f, "column") == Some(column))
        .map(|f| {
            (
                f.kind.to_string(),
                f.count,
                attr(f, "note").map(String::from),
            )
        })
        .collect();
    v.sort_by_key(|t| (t.0.clone(), t.2.clone()));
    v
}

fn individual<'r>(r: &'r Report, kind: &str) -> Vec<&'r Finding> {
    r.findings
        .iter()
        .filter(|f| f.kind.to_string() == kind && attr(f, "aggregated").is_none())
        .collect()
}

#[test]
fn csv_of_100k_rows_gives_one_aggregate_with_the_exact_count() {
    let (bytes, c) = csv_dataset(7, 100_000, 0);
    let r = scan_file("people.csv", &bytes);
    assert_eq!(aggregates(&r, "iin"), vec![("iin".into(), 100_000, None)]);
    let agg = r
        .findings
        .iter()
        .find(|f| attr(f, "column") == Some("iin"))
        .unwrap();
    assert_eq!(attr(agg, "distinct"), Some(c.distinct.to_string().as_str()));
    assert_eq!(attr(agg, "column_index"), Some("1"));
    assert_eq!(attr(agg, "dataset"), Some("csv"));
    // First cell: line 2, right after "1,".
    let first = bytes.iter().position(|&b| b == b'\n').unwrap() + 3;
    assert_eq!(agg.location.line.map(|l| l.get()), Some(2));
    assert_eq!(agg.location.byte_offset, first as u64);
    assert_eq!(agg.evidence.masked.len(), 12);
    assert!(agg.evidence.masked.contains("******"));
    // Free text is still scanned one by one: IINs and URLs in notes.
    assert_eq!(individual(&r, "iin").len(), c.note_iins);
    let urls = r
        .findings
        .iter()
        .filter(|f| f.kind.to_string() == "foreign_endpoint")
        .count();
    assert_eq!(urls, c.note_urls);
    assert_eq!(
        r.summary.occurrences as usize,
        100_000 + c.note_iins + c.note_urls
    );
    assert!(r.coverage.complete);
}

#[test]
fn csv_numbers_that_lost_their_leading_zero() {
    let (bytes, c) = csv_dataset(3, 2000, 50);
    let r = scan_file("export.csv", &bytes);
    assert_eq!(
        aggregates(&r, "iin"),
        vec![
            ("iin".into(), c.iins as u64, None),
            (
                "iin".into(),
                c.lost_zero as u64,
                Some("leading zero lost".into())
            ),
        ]
    );
    let lost = r
        .findings
        .iter()
        .find(|f| attr(f, "note").is_some())
        .unwrap();
    // The 50th data row is the first without its zero: line 51, 11 digits there.
    assert_eq!(lost.location.line.map(|l| l.get()), Some(51));
    let at = lost.location.byte_offset as usize;
    assert!(bytes[at..at + 11].iter().all(u8::is_ascii_digit));
    assert_eq!(bytes[at + 11], b',');
    assert!(lost.evidence.masked.starts_with('0'));
}

#[test]
fn file_and_blob_paths_agree() {
    let (bytes, _) = csv_dataset(11, 3000, 40);
    let r = scan_file("a.csv", &bytes);
    let scanner = Scanner::new(config(Path::new("."))).unwrap();
    let blob = scanner.scan_bytes(&Place::file(0, b"a.csv".to_vec()), &bytes);
    assert_eq!(blob.findings, r.findings);
}

#[test]
fn tsv_and_headerless_values() {
    let (csv, c) = csv_dataset(5, 500, 0);
    let tsv: Vec<u8> = String::from_utf8(csv)
        .unwrap()
        .replace(',', "\t")
        .into_bytes();
    let r = scan_file("x.tsv", &tsv);
    assert_eq!(
        aggregates(&r, "iin"),
        vec![("iin".into(), c.iins as u64, None)]
    );
    // No header: the column is an ID column by its values.
    let body: Vec<u8> = tsv.splitn(2, |&b| b == b'\n').nth(1).unwrap().to_vec();
    let r = scan_file("y.tsv", &body);
    assert_eq!(
        aggregates(&r, "#2"),
        vec![("iin".into(), c.iins as u64, None)]
    );
}

#[test]
fn a_column_with_a_few_ids_in_free_text_stays_individual() {
    let data = "name,comment\nA,see 850314319331\nB,none\nC,n/a\nD,ok\n";
    let r = scan_file("c.csv", data.as_bytes());
    assert_eq!(individual(&r, "iin").len(), 1);
    assert!(aggregates(&r, "comment").is_empty());
}

#[test]
fn jsonl_keys_strings_and_numbers() {
    let (bytes, c) = jsonl_dataset(9, 3000, 30);
    let r = scan_file("people.jsonl", &bytes);
    assert_eq!(
        aggregates(&r, "iin"),
        vec![
            ("iin".into(), c.iins as u64, None),
            (
                "iin".into(),
                c.lost_zero as u64,
                Some("leading zero lost".into())
            ),
        ]
    );
    assert_eq!(individual(&r, "iin").len(), c.note_iins);
    assert_eq!(
        individual(&r, "foreign_endpoint").len(),
        c.note_urls,
        "{NOTE_URL}"
    );
}

#[test]
fn pretty_json_array() {
    let data = r#"{"clients": [
  {"ИИН": "850314319331", "name": "A"},
  {"ИИН": "921130474626", "name": "B"},
  {"ИИН": 50101300018, "name": "C"}
], "contact": "IIN 850314319331"}"#;
    let r = scan_file("clients.json", data.as_bytes());
    assert_eq!(
        aggregates(&r, "ИИН"),
        vec![
            ("iin".into(), 2, None),
            ("iin".into(), 1, Some("leading zero lost".into())),
        ]
    );
    assert_eq!(individual(&r, "iin").len(), 1);
}

fn parquet_case(codec: &'static str, dictionary: bool) {
    let opts = ParquetOptions {
        codec,
        dictionary,
        row_group: 1500,
    };
    let (bytes, c) = parquet_dataset(21, 4000, opts);
    let r = scan_file("people.parquet", &bytes);
    let ctx = format!("{codec} dictionary={dictionary}");
    assert_eq!(
        aggregates(&r, "iin"),
        vec![("iin".into(), c.iin_strings as u64, None)],
        "{ctx}"
    );
    assert_eq!(
        aggregates(&r, "national_id"),
        vec![
            ("iin".into(), c.int_iins as u64, None),
            (
                "iin".into(),
                c.int_lost_zero as u64,
                Some("leading zero lost".into())
            ),
        ],
        "{ctx}"
    );
    let notes = individual(&r, "iin");
    assert_eq!(notes.len(), c.note_iins, "{ctx}");
    assert!(notes.iter().all(|f| attr(f, "column") == Some("note")));
    let first_row = c.first_note_iin_row.unwrap().to_string();
    assert!(notes
        .iter()
        .any(|f| attr(f, "row") == Some(first_row.as_str())));
    assert_eq!(
        individual(&r, "foreign_endpoint").len(),
        c.note_urls,
        "{ctx}"
    );
    assert!(r.coverage.not_scanned.is_empty(), "{ctx}");
}

#[test]
fn parquet_counts_per_column_every_codec_and_encoding() {
    for codec in ["snappy", "zstd", "gzip", "none"] {
        for dictionary in [true, false] {
            parquet_case(codec, dictionary);
        }
    }
}

#[test]
fn parquet_is_sniffed_without_its_extension() {
    let opts = ParquetOptions {
        codec: "snappy",
        dictionary: true,
        row_group: 10_000,
    };
    let (bytes, c) = parquet_dataset(4, 1000, opts);
    let r = scan_file("part-00000", &bytes);
    assert_eq!(
        aggregates(&r, "iin"),
        vec![("iin".into(), c.iin_strings as u64, None)]
    );
}

#[test]
fn corrupt_parquet_is_recorded_and_scanned_raw() {
    let opts = ParquetOptions {
        codec: "none",
        dictionary: false,
        row_group: 10_000,
    };
    let (mut bytes, c) = parquet_dataset(8, 500, opts);
    // A footer length past the start of the file: the metadata cannot be read.
    let n = bytes.len();
    bytes[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let r = scan_file("broken.parquet", &bytes);
    assert_eq!(r.coverage.not_scanned.len(), 1);
    let ns = &r.coverage.not_scanned[0];
    assert_eq!(ns.reason, Reason::Corrupt);
    assert!(
        ns.detail.contains("raw bytes were scanned"),
        "{}",
        ns.detail
    );
    assert!(!r.coverage.complete);
    // Uncompressed, plain: the raw scan still sees the string IINs.
    assert!(individual(&r, "iin").len() >= c.iin_strings);
    assert_eq!(r.exit_code(shekara_scanner::Severity::Critical), 2);
}

#[test]
fn garbage_after_a_parquet_magic_does_not_panic() {
    let mut data = b"PAR1".to_vec();
    data.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    data.extend_from_slice(&100u32.to_le_bytes());
    data.extend_from_slice(b"PAR1");
    let r = scan_file("junk.parquet", &data);
    assert_eq!(r.coverage.not_scanned[0].reason, Reason::Corrupt);
    // Only the head says Parquet (its footer is checked in place, before
    // the file is copied for the reader): the reader's own words; and one
    // shorter than a footer.
    for (tail, short) in [(&b"PAR0"[..], false), (b"", true)] {
        let mut data = b"PAR1".to_vec();
        if !short {
            data.extend(b" 850314319331 s3://b.s3.amazonaws.com".repeat(50));
            data.extend_from_slice(tail);
        }
        let r = scan_file("blob.bin", &data);
        let ns = &r.coverage.not_scanned[0];
        assert_eq!(ns.reason, Reason::Corrupt);
        if !short {
            assert_eq!(
                ns.detail,
                "not decodable as Parquet (Parquet error: Invalid Parquet file. Corrupt footer); \
                 its raw bytes were scanned instead"
            );
            assert_eq!(individual(&r, "iin").len(), 50);
        }
    }
}

/// Inline ignores settled while each file is scanned (read whole, mapped
/// and cut into segments, datasets with counted ID columns, JSON Lines)
/// are what reading each finding's lines back from its file answers.
#[test]
fn inline_ignores_settled_during_the_scan_agree_with_the_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let marked = |bytes: Vec<u8>, line: &str| {
        let mut out = Vec::new();
        for (i, l) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
            out.extend_from_slice(l);
            if i % 40 == 7 {
                out.extend_from_slice(line.as_bytes());
            }
        }
        out
    };
    let (csv, _) = csv_dataset(3, 2_000, 17);
    let csv_line = "0,850314319331,\"x\",\"s3://b.s3.amazonaws.com shekara:ignore \"\n";
    fs::write(dir.path().join("people.csv"), marked(csv, csv_line)).unwrap();
    let (jsonl, _) = jsonl_dataset(4, 2_000, 13);
    let json_line = "{\"note\": \"gs://b/x 921130474626\"} // shekara:ignore kz.iin\n";
    fs::write(dir.path().join("people.jsonl"), marked(jsonl, json_line)).unwrap();
    let mut code = String::new();
    for i in 0..3_000 {
        match i % 9 {
            0 => code.push_str("# shekara:ignore\n"),
            4 => code.push_str("u = 's3://a.s3.amazonaws.com'  # shekara:ignore\n"),
            _ => {}
        }
        code.push_str(&format!(
            "row_{i} = '850314319331 https://api.openai.com/v1'\n"
        ));
    }
    fs::write(dir.path().join("train.py"), &code).unwrap();
    // Not a binary the object parser reads: scanned as plain bytes.
    let mut blob = b"\x7fELF\0\0\0".to_vec();
    blob.extend(code.replace('\n', "\n\0\x01").as_bytes());
    fs::write(dir.path().join("blob.bin"), &blob).unwrap();
    for (segment, mapped) in [(None, None), (Some(4099), Some(1))] {
        let mut c = config(dir.path());
        if let Some(s) = segment {
            c.segment = s;
        }
        if mapped.is_some() {
            c.mmap_threshold = mapped;
        }
        let r = Scanner::new(c)
            .unwrap()
            .run(&NoSink, &Progress::default())
            .unwrap();
        let got: Vec<(usize, Option<String>)> = r
            .suppressions
            .iter()
            .filter(|s| s.by == "inline")
            .map(|s| (s.finding, s.reason.clone()))
            .collect();
        let root = dir.path().to_path_buf();
        let want: Vec<(usize, Option<String>)> =
            shekara_scanner::suppress::inline(&r.findings, |f| Some(root.join(&*f.location.path)))
                .into_iter()
                .map(|s| (s.finding, s.reason))
                .collect();
        assert_eq!(got, want, "segment {segment:?}");
        let files: std::collections::BTreeSet<&str> = got
            .iter()
            .map(|&(i, _)| &*r.findings[i].location.path)
            .collect();
        assert_eq!(files.len(), 4, "{files:?}");
        assert!(got.len() > 300, "{}", got.len());
    }
}
