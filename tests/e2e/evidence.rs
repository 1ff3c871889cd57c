//! Residency evidence: verdicts, the manifest, signatures and verify, policy, suppressions.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use serde_json::Value;
use shekara_fixtures::ids::valid_iin;
use shekara_fixtures::Rng;

use crate::shekara;

/// `n` valid IINs from a seed.
pub fn iins(seed: u64, n: usize) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| valid_iin(&mut rng)).collect()
}

/// A CSV of customers with IINs.
pub fn customers(iins: &[String]) -> String {
    let mut s = String::from("id,iin,city\n");
    for (i, n) in iins.iter().enumerate() {
        s.push_str(&format!("{i},{n},Almaty\n"));
    }
    s
}

fn is_root() -> bool {
    Std::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// The three artefacts of the issue: IINs + S3 upload; IINs + only Yandex Cloud KZ; an unreadable file.
fn three_artefacts(base: &Path) -> [PathBuf; 3] {
    let a = base.join("abroad");
    let b = base.join("at-home");
    let c = base.join("unreadable");
    for d in [&a, &b, &c] {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(a.join("customers.csv"), customers(&iins(1, 5))).unwrap();
    fs::write(
        a.join("upload.py"),
        "URL = \"https://kz-train.s3.eu-central-1.amazonaws.com/upload/customers.csv\"\n",
    )
    .unwrap();
    fs::write(b.join("customers.csv"), customers(&iins(2, 4))).unwrap();
    fs::write(
        b.join("storage.yaml"),
        "endpoint: https://storage.yandexcloud.kz/kz-bucket/customers.csv\n",
    )
    .unwrap();
    fs::write(c.join("notes.txt"), "no numbers here\n").unwrap();
    fs::write(c.join("secret.csv"), customers(&iins(3, 2))).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for d in [base, &a, &b, &c] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::set_permissions(c.join("secret.csv"), fs::Permissions::from_mode(0o000)).unwrap();
    [a, b, c]
}

/// `shekara` that cannot read a 0o000 file: as root, drop to nobody with setpriv.
fn unprivileged() -> Option<assert_cmd::Command> {
    if !is_root() {
        return Some(shekara());
    }
    if Std::new("setpriv").arg("--version").output().is_err() {
        return None;
    }
    let mut c = assert_cmd::Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(assert_cmd::cargo::cargo_bin("shekara"))
        .env("SHEKARA_FINGERPRINT_KEY", "e2e-test-key");
    Some(c)
}

fn verdict_of(r: &Value, root: usize) -> &Value {
    r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["artefact"]["root"] == root && v["artefact"]["kind"] == "root")
        .unwrap_or_else(|| panic!("no verdict for root {root}: {}", r["verdicts"]))
}

fn reason<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code)
        .unwrap_or_else(|| panic!("no reason {code}: {v}"))
}

#[test]
fn three_artefacts_get_violation_in_country_and_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c] = three_artefacts(dir.path());
    let Some(mut cmd) = unprivileged() else {
        eprintln!("SKIPPED: running as root without setpriv; cannot make a file unreadable");
        return;
    };
    let out = cmd
        .args(["scan", "--quiet", "--no-config", "-f", "json"])
        .args([&a, &b, &c])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "IINs are high severity");
    let findings = r["findings"].as_array().unwrap();

    let v = verdict_of(&r, 0);
    assert_eq!(v["verdict"], "violation", "{v}");
    let personal = reason(v, "personal_data")["findings"].as_array().unwrap();
    let mut occurrences = 0;
    for i in personal {
        let f = &findings[i.as_u64().unwrap() as usize];
        assert_eq!(f["kind"], "iin");
        assert_eq!(f["location"]["root"], 0);
        occurrences += f["count"].as_u64().unwrap();
    }
    // The CSV's IIN column is aggregated: the five IINs are one finding's count.
    assert_eq!(occurrences, 5);
    let egress = reason(v, "foreign_egress")["findings"].as_array().unwrap();
    let f = &findings[egress[0].as_u64().unwrap() as usize];
    assert_eq!(f["attributes"]["provider"], "Amazon Web Services");
    assert_eq!(f["location"]["path"], "upload.py");
    assert!(v["breach"]["deadline"].is_string(), "{v}");

    let v = verdict_of(&r, 1);
    assert_eq!(v["verdict"], "in_country", "{v}");
    let home = reason(v, "in_country_endpoint")["findings"]
        .as_array()
        .unwrap();
    let f = &findings[home[0].as_u64().unwrap() as usize];
    assert_eq!(f["attributes"]["country"], "KZ");
    assert!(v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["code"] != "foreign_egress"));

    let v = verdict_of(&r, 2);
    assert_eq!(v["verdict"], "incomplete", "never clean: {v}");
    let ns = reason(v, "not_scanned")["not_scanned"].as_array().unwrap();
    let n = &r["coverage"]["not_scanned"][ns[0].as_u64().unwrap() as usize];
    assert_eq!(n["path"], "secret.csv");
    assert_eq!(n["reason"], "unreadable");
}

#[test]
fn egress_only_and_clean() {
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("pipeline");
    let c = dir.path().join("clean");
    fs::create_dir_all(&e).unwrap();
    fs::create_dir_all(&c).unwrap();
    fs::write(e.join("train.py"), "BASE = \"https://api.openai.com/v1\"\n").unwrap();
    fs::write(c.join("readme.txt"), "hello\n").unwrap();
    let out = shekara()
        .args(["scan", "--quiet", "--no-config", "-f", "json"])
        .args([&e, &c])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict_of(&r, 0)["verdict"], "egress_only");
    assert_eq!(verdict_of(&r, 1)["verdict"], "clean");
    assert_eq!(
        reason(verdict_of(&r, 1), "nothing_found")["code"],
        "nothing_found"
    );
}

fn evidence_scan(root: &Path, evidence: &Path, key: Option<&Path>) {
    let mut c = shekara();
    c.args(["scan", "--quiet", "--no-config", "-f", "json", "-o"])
        .arg(evidence.with_extension("report.json"))
        .arg("--evidence")
        .arg(evidence)
        .arg(root);
    if let Some(k) = key {
        c.arg("--sign-key").arg(k);
    }
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn verify(evidence: &Path, args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = shekara()
        .arg("verify")
        .arg(evidence)
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn keypair(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("signing.key");
    shekara()
        .arg("keygen")
        .arg("-o")
        .arg(&key)
        .assert()
        .success();
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the secret key is private");
    let public = dir.join("signing.key.pub");
    (key, public)
}

#[test]
fn verify_against_catches_a_changed_byte_an_added_and_a_removed_file() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("artefact");
    fs::create_dir_all(art.join("data")).unwrap();
    fs::write(art.join("data/customers.csv"), customers(&iins(7, 3))).unwrap();
    fs::write(art.join("config.yaml"), "bucket: s3://kz-train/raw\n").unwrap();
    fs::write(art.join("train.py"), "print('train')\n").unwrap();
    let (key, public) = keypair(dir.path());
    let ev = dir.path().join("evidence.json");
    evidence_scan(&art, &ev, Some(&key));
    assert!(dir.path().join("evidence.json.sig").is_file());

    let pinned = [std::ffi::OsStr::new("--key"), public.as_os_str()];
    let against = [std::ffi::OsStr::new("--against"), art.as_os_str()];
    let all: Vec<&std::ffi::OsStr> = pinned.iter().chain(&against).copied().collect();
    let (code, text) = verify(&ev, &all);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("3 unchanged"), "{text}");

    // One changed byte.
    let mut bytes = fs::read(art.join("train.py")).unwrap();
    bytes[0] ^= 0x20;
    fs::write(art.join("train.py"), bytes).unwrap();
    let (code, text) = verify(&ev, &all);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("changed  train.py"), "{text}");
    assert!(
        text.contains("signature: ok"),
        "the evidence itself is intact: {text}"
    );

    // One added file, one removed file.
    fs::write(art.join("data/new.csv"), "x\n").unwrap();
    fs::remove_file(art.join("config.yaml")).unwrap();
    let (code, text) = verify(&ev, &all);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("added    data/new.csv"), "{text}");
    assert!(text.contains("removed  config.yaml"), "{text}");
    assert!(
        text.contains("1 added, 1 removed, 1 changed, 1 unchanged"),
        "{text}"
    );
}

#[test]
fn a_flipped_byte_in_the_evidence_fails_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("a");
    fs::create_dir_all(&art).unwrap();
    fs::write(art.join("c.csv"), customers(&iins(8, 2))).unwrap();
    let (key, public) = keypair(dir.path());
    let ev = dir.path().join("ev.json");
    evidence_scan(&art, &ev, Some(&key));
    let pinned = [std::ffi::OsStr::new("--key"), public.as_os_str()];
    assert_eq!(verify(&ev, &pinned).0, 0);

    let mut bytes = fs::read(&ev).unwrap();
    // A byte inside a value that JSON still parses: a digit of the first file size.
    let at = bytes.windows(8).position(|w| w == b"\"size\": ").unwrap() + 8;
    bytes[at] = if bytes[at] == b'9' {
        b'8'
    } else {
        bytes[at] + 1
    };
    fs::write(&ev, &bytes).unwrap();
    let (code, text) = verify(&ev, &pinned);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("signature: FAILED"), "{text}");
    assert!(text.contains("root digest: FAILED"), "{text}");

    // Another key is refused even on intact evidence.
    let other = dir.path().join("other");
    fs::create_dir_all(&other).unwrap();
    let (_, other_pub) = keypair(&other);
    evidence_scan(&art, &ev, Some(&key));
    let (code, text) = verify(&ev, &[std::ffi::OsStr::new("--key"), other_pub.as_os_str()]);
    assert_eq!(code, 1, "{text}");
    // Malformed input is an error, not a verdict.
    fs::write(&ev, "not json").unwrap();
    assert_eq!(verify(&ev, &[]).0, 2);
}

/// An RFC 8785 canonical form written independently of the scanner's code.
fn jcs(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            assert!(n.is_u64() || n.is_i64(), "the manifest holds only integers");
            out.push_str(&n.to_string());
        }
        Value::String(s) => {
            out.push('"');
            for ch in s.chars() {
                match ch {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                jcs(x, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            // RFC 8785 sorts by UTF-16 code units.
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                jcs(&Value::String(k.clone()), out);
                out.push(':');
                jcs(&o[k], out);
            }
            out.push('}');
        }
    }
}

#[test]
fn the_root_digest_recomputes_independently() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("a");
    fs::create_dir_all(&art).unwrap();
    fs::write(art.join("c.csv"), customers(&iins(9, 3))).unwrap();
    fs::write(
        art.join("odd \"name\"\t\u{1}.txt"),
        "https://x.s3.us-east-1.amazonaws.com/k\n",
    )
    .unwrap();
    let ev = dir.path().join("ev.json");
    evidence_scan(&art, &ev, None);
    let mut doc: Value = serde_json::from_slice(&fs::read(&ev).unwrap()).unwrap();
    assert_eq!(doc["schema"], "shekara.evidence/v1");
    let stated = doc["root_digest"].as_str().unwrap().to_string();
    doc.as_object_mut().unwrap().remove("root_digest");
    let mut canon = String::new();
    jcs(&doc, &mut canon);
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(canon.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stated, format!("sha256:{hex}"));
    // What the manifest must hold.
    assert!(doc["scan"]["host"].is_string());
    assert!(doc["policy"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let csv = files.iter().find(|f| f["path"] == "c.csv").unwrap();
    let bytes = fs::read(art.join("c.csv")).unwrap();
    let want: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(csv["sha256"], format!("sha256:{want}"));
    assert_eq!(csv["size"], bytes.len() as u64);
    // Unsigned evidence verifies its digest, and says it is unsigned.
    let (code, text) = verify(&ev, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("unsigned"), "{text}");
}

#[test]
fn policy_reclassifies_overrides_and_rejects_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("a");
    fs::create_dir_all(&art).unwrap();
    fs::write(art.join("c.csv"), customers(&iins(10, 2))).unwrap();
    fs::write(art.join("cfg.yaml"), "url: https://minio.bank.example.kz.s3.amazonaws.com/x\nother: https://data.corp-kz.example/x\n").unwrap();
    // Without a policy: a foreign S3 endpoint → violation.
    let out = shekara()
        .args(["scan", "--quiet", "--no-config", "-f", "json"])
        .arg(&art)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict_of(&r, 0)["verdict"], "violation");
    let host = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "foreign_endpoint")
        .unwrap()["attributes"]["host"]
        .as_str()
        .unwrap()
        .to_string();

    // shekara.toml in the root (found upward from it): that host is in-country; BIN severity.
    shekara()
        .args(["policy", "init", "-o"])
        .arg(art.join("shekara.toml"))
        .assert()
        .success();
    let init = fs::read_to_string(art.join("shekara.toml")).unwrap();
    let policy = init.replace("hosts = []", &format!("hosts = [\"{host}\"]"));
    assert_ne!(policy, init);
    fs::write(art.join("shekara.toml"), policy).unwrap();
    let out = shekara()
        .args(["scan", "--quiet", "-f", "json"])
        .arg(&art)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        verdict_of(&r, 0)["verdict"],
        "in_country",
        "{}",
        r["verdicts"]
    );
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["attributes"]["host"] == host.as_str())
        .unwrap();
    assert_eq!(f["kind"], "domestic_endpoint");
    assert!(f["attributes"]["policy"]
        .as_str()
        .unwrap()
        .contains("in_country.hosts"));

    // fail_on from the policy; --fail-on wins.
    fs::write(art.join("shekara.toml"), "fail_on = \"critical\"\n").unwrap();
    shekara()
        .args(["scan", "--quiet"])
        .arg(&art)
        .assert()
        .code(0);
    shekara()
        .args(["scan", "--quiet", "--fail-on", "high"])
        .arg(&art)
        .assert()
        .code(1);

    // Unknown key: an error naming the line.
    fs::write(
        art.join("shekara.toml"),
        "ignore = []\n[in_country]\nhost = [\"x\"]\n",
    )
    .unwrap();
    let out = shekara()
        .args(["scan", "--quiet"])
        .arg(&art)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shekara.toml:3"), "{err}");
    assert!(err.contains("host"), "{err}");
}

#[test]
fn inline_ignores_and_baselines_suppress_but_keep_findings() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("a");
    fs::create_dir_all(&art).unwrap();
    let n = iins(11, 3);
    fs::write(
        art.join("fixtures.py"),
        format!(
            "# shekara:ignore kz.iin\nA = \"{}\"\nB = \"{}\"  # shekara:ignore\nC = \"{}\"  # a trailing ignore above is about its own line\n",
            n[0], n[1], n[2]
        ),
    )
    .unwrap();
    let out = shekara()
        .args(["scan", "--quiet", "--no-config", "-f", "json"])
        .arg(&art)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["findings"].as_array().unwrap().len(),
        3,
        "suppressed findings stay"
    );
    let s = r["suppressions"].as_array().unwrap();
    assert_eq!(s.len(), 2, "{s:?}");
    let lines: Vec<u64> = s
        .iter()
        .map(|x| {
            r["findings"][x["finding"].as_u64().unwrap() as usize]["location"]["line"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(lines, [2, 3]);
    assert_eq!(out.status.code(), Some(1), "line 4 still counts");

    // A baseline accepts the rest: exit 0, verdict clean, findings still listed.
    let base = dir.path().join("baseline.toml");
    shekara()
        .args([
            "baseline",
            "create",
            "--quiet",
            "--no-config",
            "--reason",
            "synthetic test data",
            "--expires",
            "2099-12-31",
            "-o",
        ])
        .arg(&base)
        .arg(&art)
        .assert()
        .success();
    let out = shekara()
        .args(["scan", "--quiet", "--no-config", "-f", "json", "--baseline"])
        .arg(&base)
        .arg(&art)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(r["findings"].as_array().unwrap().len(), 3);
    let s = r["suppressions"].as_array().unwrap();
    assert_eq!(s.len(), 3);
    assert!(s
        .iter()
        .any(|x| x["by"] == "baseline" && x["reason"] == "synthetic test data"));
    assert_eq!(verdict_of(&r, 0)["verdict"], "clean");

    // An expired baseline suppresses nothing.
    let text = fs::read_to_string(&base)
        .unwrap()
        .replace("2099-12-31", "2000-01-01");
    fs::write(&base, text).unwrap();
    let out = shekara()
        .args([
            "scan",
            "--quiet",
            "--no-config",
            "--no-inline-ignores",
            "--baseline",
        ])
        .arg(&base)
        .arg(&art)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expired"));
}
