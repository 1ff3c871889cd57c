//! IIN/BIN counts are exact, invalid numbers never reported, raw values never leak.

use std::fs;

use crate::{occurrences, of_kind, scan_json, shekara};

const VALID_IIN: [&str; 5] = [
    "850314319331",
    "921130474626",
    "040229568857",
    "110701677942",
    "880515306144",
];
const VALID_BIN: [&str; 5] = [
    "050340765602",
    "121151312072",
    "190760555694",
    "210142416564",
    "971243264927",
];
const INVALID: [&str; 7] = [
    "850314319332",  // control digit
    "921330474626",  // month 13
    "040229768857",  // digit 7 = 7
    "900230300108",  // 30 February
    "850314000103",  // digit 7 = 0
    "8503143193310", // 13 digits
    "85031431933",   // 11 digits
];

/// A tree of CSV, JSON and text files; returns (tree, planted IINs, planted BINs).
fn planted_tree() -> (tempfile::TempDir, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let (mut iins, mut bins) = (0, 0);
    let mut csv = String::from("id,iin,name\n");
    for (i, v) in VALID_IIN.iter().cycle().take(23).enumerate() {
        csv.push_str(&format!("{i},{v},Person {i}\n"));
        iins += 1;
    }
    for (i, v) in INVALID.iter().enumerate() {
        csv.push_str(&format!("{},{v},Nobody\n", 100 + i));
    }
    fs::create_dir(dir.path().join("data")).unwrap();
    fs::write(dir.path().join("data/people.csv"), csv).unwrap();

    let mut json = String::from("[");
    for (i, v) in VALID_BIN.iter().enumerate() {
        json.push_str(&format!("{{\"bin\": \"{v}\", \"n\": {i}}},"));
        bins += 1;
    }
    for v in INVALID {
        json.push_str(&format!("{{\"bin\": \"{v}\"}},"));
    }
    json.push_str("{\"iin\": \"921130474626\"}]");
    iins += 1;
    fs::write(dir.path().join("data/companies.json"), json).unwrap();

    let mut text = String::new();
    for v in VALID_IIN {
        text.push_str(&format!(
            "Клиент, ИИН {v}. Контрагент БИН {}.\n",
            VALID_BIN[0]
        ));
        iins += 1;
        bins += 1;
    }
    for v in INVALID {
        text.push_str(&format!("не номер: {v}\n"));
    }
    fs::write(dir.path().join("notes.md"), text).unwrap();
    (dir, iins, bins)
}

#[test]
fn counts_are_exact_and_invalid_numbers_are_never_reported() {
    let (dir, iins, bins) = planted_tree();
    let (report, code) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "IINs are high severity: exit 1");
    assert_eq!(occurrences(&of_kind(&report, "iin")), iins);
    assert_eq!(occurrences(&of_kind(&report, "bin")), bins);
    let text = report.to_string();
    for bad in INVALID {
        let masked = format!("{}******{}", &bad[..4], &bad[bad.len() - 2..]);
        let fps: Vec<_> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["evidence"]["masked"] == masked.as_str())
            .collect();
        // A masked prefix/suffix can collide with a valid number's; the fingerprint tells them apart.
        for f in fps {
            assert!(
                VALID_IIN
                    .iter()
                    .chain(VALID_BIN.iter())
                    .any(|v| v.starts_with(&bad[..4])),
                "{f}"
            );
        }
        assert!(!text.contains(bad));
    }
    assert_eq!(
        report["summary"]["by_kind"]["iin"],
        of_kind(&report, "iin").len() as u64
    );
}

#[test]
fn no_raw_value_in_any_format_without_reveal() {
    let (dir, _, _) = planted_tree();
    for format in ["text", "json", "jsonl"] {
        let out = shekara()
            .args(["scan", "--quiet", "--color", "always", "--format", format])
            .arg(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("8503******31"),
            "{format}: masked value shown"
        );
        for v in VALID_IIN.iter().chain(VALID_BIN.iter()) {
            assert!(!stdout.contains(v), "{format} leaks {v}");
        }
    }
    let out = shekara()
        .args(["scan", "--quiet", "--reveal", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("850314319331"), "--reveal shows raw values");
}

#[test]
fn fingerprints_are_keyed_and_consistent_across_files() {
    let (dir, _, _) = planted_tree();
    let (a, _) = scan_json(dir.path(), &[]);
    let out = shekara()
        .env("SHEKARA_FINGERPRINT_KEY", "another-key")
        .args(["scan", "--quiet", "-f", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let b: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fp = |r: &serde_json::Value, i: usize| {
        r["findings"][i]["evidence"]["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(
        fp(&a, 0),
        fp(&b, 0),
        "different keys, different fingerprints"
    );
    assert_ne!(a["scan"]["fingerprint_key"], b["scan"]["fingerprint_key"]);
    // The same IIN in two files has one fingerprint.
    let same: Vec<_> = of_kind(&a, "iin")
        .iter()
        .filter(|f| f["evidence"]["masked"] == "9211******26")
        .map(|f| f["evidence"]["fingerprint"].clone())
        .collect();
    assert!(same.len() >= 2);
    assert!(same.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn context_words_raise_confidence() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.txt"),
        "ЖСН: 850314319331\nrandom 921130474626\n",
    )
    .unwrap();
    let (r, _) = scan_json(dir.path(), &[]);
    let iins = of_kind(&r, "iin");
    assert_eq!(iins[0]["confidence"], "high");
    assert_eq!(iins[1]["confidence"], "medium");
    assert_eq!(iins[0]["location"]["line"], 1);
    assert_eq!(iins[1]["location"]["line"], 2);
    assert_eq!(iins[1]["location"]["column"], 8);
}

#[test]
fn stdin_is_scanned() {
    let out = shekara()
        .args(["scan", "-", "--quiet", "-f", "json"])
        .write_stdin("ИИН 850314319331\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["findings"][0]["location"]["path"], "-");
    assert_eq!(r["scan"]["roots"][0], "-");
    assert_eq!(r["coverage"]["not_scanned"], serde_json::json!([]));
    assert_eq!(r["coverage"]["files_scanned"], 1);
}
