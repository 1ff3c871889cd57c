//! Bad inputs: never a crash or a hang, always a coverage record with a reason.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command as Std;

use crate::{not_scanned, scan_json, shekara};

fn is_root() -> bool {
    Std::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

#[test]
fn fifo_symlink_loop_and_git_dir_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(p.join("ok.txt"), "nothing").unwrap();
    assert!(Std::new("mkfifo")
        .arg(p.join("pipe"))
        .status()
        .unwrap()
        .success());
    std::os::unix::fs::symlink(".", p.join("loop")).unwrap();
    fs::create_dir(p.join(".git")).unwrap();
    fs::write(p.join(".git/config"), "850314319331").unwrap();

    let (r, code) = scan_json(p, &[]);
    let ns = not_scanned(&r);
    assert!(
        ns.contains(&("pipe".into(), "special_file".into())),
        "{ns:?}"
    );
    assert!(
        ns.contains(&("loop".into(), "symlink_not_followed".into())),
        "{ns:?}"
    );
    assert!(
        ns.contains(&(".git".into(), "vcs_directory".into())),
        "{ns:?}"
    );
    assert_eq!(
        r["findings"].as_array().unwrap().len(),
        0,
        ".git is not descended"
    );
    assert_eq!(code, 0, "policy skips are not errors");

    let (r, code) = scan_json(p, &["--follow"]);
    let ns = not_scanned(&r);
    assert!(
        ns.iter()
            .any(|(path, reason)| path == "loop" && reason == "symlink_loop"),
        "{ns:?}"
    );
    assert!(
        ns.contains(&("pipe".into(), "special_file".into())),
        "{ns:?}"
    );
    assert_eq!(code, 2, "a loop is an incomplete scan");
    assert_eq!(r["coverage"]["complete"], false);
}

#[test]
fn unreadable_file_and_directory_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(p.join("secret.csv"), "iin\n850314319331\n").unwrap();
    fs::set_permissions(p.join("secret.csv"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::create_dir(p.join("locked")).unwrap();
    fs::write(p.join("locked/x.txt"), "x").unwrap();
    fs::set_permissions(p.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::write(p.join("fine.txt"), "ИИН 921130474626").unwrap();
    fs::set_permissions(p.join("fine.txt"), fs::Permissions::from_mode(0o644)).unwrap();

    let mut cmd = if is_root() {
        // root reads everything: drop to nobody to make permissions bite.
        if Std::new("setpriv").arg("--version").output().is_err() {
            eprintln!("SKIPPED: running as root without setpriv; cannot test unreadable files");
            return;
        }
        let bin = assert_cmd::cargo::cargo_bin("shekara");
        let mut c = assert_cmd::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin);
        c.env("SHEKARA_FINGERPRINT_KEY", "k");
        c
    } else {
        shekara()
    };
    let out = cmd
        .args(["scan", "--quiet", "-f", "json"])
        .arg(p)
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let ns = not_scanned(&r);
    assert!(
        ns.contains(&("secret.csv".into(), "unreadable".into())),
        "{ns:?}"
    );
    assert!(
        ns.iter()
            .any(|(path, reason)| path == "locked" && reason == "walk_error"),
        "{ns:?}"
    );
    assert_eq!(
        r["findings"].as_array().unwrap().len(),
        1,
        "the readable file is still scanned"
    );
    assert_eq!(out.status.code(), Some(1));
    fs::set_permissions(p.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn exclude_gitignore_and_max_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::create_dir_all(p.join("vendor/deep")).unwrap();
    fs::write(p.join("vendor/deep/a.txt"), "ИИН 850314319331").unwrap();
    fs::write(p.join(".gitignore"), "ignored.txt\n").unwrap();
    fs::write(p.join("ignored.txt"), "ИИН 850314319331").unwrap();
    fs::write(p.join(".env"), "ИИН 850314319331").unwrap();
    fs::write(p.join("big.txt"), "ИИН 850314319331".repeat(100)).unwrap();

    let (r, _) = scan_json(p, &[]);
    assert_eq!(
        r["summary"]["files_with_findings"], 4,
        "hidden and ignored files are scanned by default"
    );

    let (r, _) = scan_json(
        p,
        &[
            "--exclude",
            "vendor",
            "--gitignore",
            "--max-file-size",
            "1K",
        ],
    );
    let files: Vec<_> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files, vec![".env"]);
    let ns = not_scanned(&r);
    assert!(ns.contains(&("vendor".into(), "excluded".into())), "{ns:?}");
    assert!(
        ns.contains(&("big.txt".into(), "too_large".into())),
        "{ns:?}"
    );
    assert_eq!(
        r["coverage"]["complete"], false,
        "a size limit leaves the scan incomplete"
    );
}

#[test]
fn missing_root_and_bad_flags_exit_2_with_a_clear_message() {
    let out = shekara()
        .args(["scan", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot scan '/definitely/not/here'"), "{err}");

    let out = shekara()
        .args(["scan", ".", "--fail-on", "urgent"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("use info, low, medium, high or critical")
    );

    let out = shekara()
        .args(["scan", ".", "--exclude", "a[b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn huge_line_and_binary_junk_do_not_hurt() {
    let dir = tempfile::tempdir().unwrap();
    let mut line = vec![b'7'; 5 << 20];
    line.extend_from_slice(" ИИН 850314319331 ".as_bytes());
    line.extend(std::iter::repeat_n(b'a', 3 << 20));
    fs::write(dir.path().join("one-line.txt"), &line).unwrap();
    let junk: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    fs::write(dir.path().join("junk.bin"), junk).unwrap();
    let (r, _) = scan_json(dir.path(), &[]);
    let iins: Vec<_> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["location"]["path"] == "one-line.txt")
        .collect();
    assert_eq!(iins.len(), 1);
    assert_eq!(iins[0]["location"]["line"], 1);
    assert_eq!(
        iins[0]["location"]["byte_offset"],
        (5u64 << 20) + 1 + "ИИН ".len() as u64
    );
}
