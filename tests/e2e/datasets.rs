//! Datasets and binaries through the binary: aggregated columns, Parquet,
//! binaries placed in sections, no raw values in the output.

use std::fs;

use shekara_fixtures::binaries::stripped_elf;
use shekara_fixtures::datasets::{csv_dataset, parquet_dataset, ParquetOptions};

use crate::{of_kind, scan_json};

const S3: &str = "https://kz-exports.s3.eu-central-1.amazonaws.com/dump/users.csv";

#[test]
fn csv_parquet_and_a_stripped_elf() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, cc) = csv_dataset(31, 20_000, 100);
    fs::write(dir.path().join("people.csv"), &csv).unwrap();
    let opts = ParquetOptions {
        codec: "zstd",
        dictionary: true,
        row_group: 4096,
    };
    let (pq, pc) = parquet_dataset(32, 10_000, opts);
    fs::write(dir.path().join("people.parquet"), &pq).unwrap();
    fs::write(dir.path().join("uploader"), stripped_elf(&[S3], &[]).0).unwrap();

    let (report, code) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "IINs are high severity");
    let iins = of_kind(&report, "iin");
    let agg = |path: &str, column: &str, note: Option<&str>| -> u64 {
        let hits: Vec<_> = iins
            .iter()
            .filter(|f| {
                f["location"]["path"] == path
                    && f["attributes"]["column"] == column
                    && f["attributes"]["aggregated"] == "column"
                    && f["attributes"]["note"].as_str() == note
            })
            .collect();
        assert_eq!(hits.len(), 1, "{path} {column} {note:?}");
        hits[0]["count"].as_u64().unwrap()
    };
    assert_eq!(agg("people.csv", "iin", None), cc.iins as u64);
    assert_eq!(
        agg("people.csv", "iin", Some("leading zero lost")),
        cc.lost_zero as u64
    );
    assert_eq!(agg("people.parquet", "iin", None), pc.iin_strings as u64);
    assert_eq!(
        agg("people.parquet", "national_id", None),
        pc.int_iins as u64
    );
    assert_eq!(
        agg("people.parquet", "national_id", Some("leading zero lost")),
        pc.int_lost_zero as u64
    );
    let endpoints = of_kind(&report, "foreign_endpoint");
    let elf: Vec<_> = endpoints
        .iter()
        .filter(|f| f["location"]["path"] == "uploader")
        .collect();
    assert_eq!(elf.len(), 1);
    assert_eq!(elf[0]["location"]["inner"][0], "section:.rodata");
    // Masked and fingerprinted: no raw IIN anywhere in the output.
    let text = serde_json::to_string(&report).unwrap();
    let csv_text = String::from_utf8(csv).unwrap();
    let first_iin = csv_text.lines().nth(1).unwrap().split(',').nth(1).unwrap();
    assert_eq!(first_iin.len(), 12);
    assert!(!text.contains(first_iin));
    assert!(report["coverage"]["complete"].as_bool().unwrap());
}
