//! Compiled binaries: findings placed in their section (and arch), once each.

use std::fs;
use std::path::Path;
use std::process::Command;

use object::{Architecture, Object};
use shekara_fixtures::binaries::{fat_macho, macho_object, pe_image, stripped_elf, Placed};
use shekara_scanner::{Config, Finding, FingerprintKey, Input, NoSink, Progress, Report, Scanner};

const S3: &str = "https://kz-exports.s3.eu-central-1.amazonaws.com/dump/users.csv";
const GCS: &str = "https://storage.googleapis.com/kz-backup-bucket/iins.parquet";
const IIN: &str = "IIN 850314319331";

fn config(root: &Path) -> Config {
    let mut c = Config::new(vec![Input::Path(root.to_path_buf())]);
    c.key = Some(FingerprintKey::from_secret("test", "test"));
    c
}

fn scan_file(name: &str, bytes: &[u8]) -> Report {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(name), bytes).unwrap();
    Scanner::new(config(dir.path()))
        .unwrap()
        .run(&NoSink, &Progress::default())
        .unwrap()
}

/// The findings of one planted string: those whose offset lies inside it.
fn at<'r>(r: &'r Report, placed: &Placed, s: &str) -> Vec<&'r Finding> {
    let (_, off) = placed.iter().find(|(p, _)| p == s).unwrap();
    let end = off + s.len() as u64;
    r.findings
        .iter()
        .filter(|f| (*off..end).contains(&f.location.byte_offset))
        .collect()
}

fn inner(f: &Finding) -> Vec<&str> {
    f.location.inner().iter().map(String::as_str).collect()
}

#[test]
fn stripped_elf_with_an_s3_url_in_rodata() {
    let (elf, placed) = stripped_elf(&[S3], &[IIN]);
    let parsed = object::File::parse(&*elf).unwrap();
    assert_eq!(parsed.symbols().count(), 0, "stripped: no symbol table");
    assert!(parsed.section_by_name(".symtab").is_none());
    let r = scan_file("uploader", &elf);
    let url = at(&r, &placed, S3);
    assert_eq!(url.len(), 1, "{:?}", r.findings);
    assert_eq!(url[0].kind.to_string(), "foreign_endpoint");
    assert_eq!(inner(url[0]), ["section:.rodata"]);
    assert_eq!(url[0].location.line, None);
    let id = at(&r, &placed, IIN);
    assert_eq!(id.len(), 1);
    assert_eq!(id[0].kind.to_string(), "iin");
    assert_eq!(inner(id[0]), ["section:.data"]);
    assert_eq!(r.findings.len(), 2, "nothing twice, nothing else");
}

#[test]
fn pe_rdata_and_data() {
    let (pe, placed) = pe_image(&[S3], &[IIN]);
    let r = scan_file("uploader.exe", &pe);
    let url = at(&r, &placed, S3);
    assert_eq!(url.len(), 1);
    assert_eq!(inner(url[0]), ["section:.rdata"]);
    let id = at(&r, &placed, IIN);
    assert_eq!(inner(id[0]), ["section:.data"]);
    assert_eq!(r.findings.len(), 2);
}

#[test]
fn macho_cstring() {
    let (m, placed) = macho_object(Architecture::X86_64, &[S3], &[IIN]);
    let r = scan_file("uploader.o", &m);
    let url = at(&r, &placed, S3);
    assert_eq!(url.len(), 1);
    assert_eq!(inner(url[0]), ["section:__cstring"]);
    assert_eq!(inner(at(&r, &placed, IIN)[0]), ["section:__data"]);
    assert_eq!(r.findings.len(), 2);
}

#[test]
fn fat_macho_scans_each_arch() {
    let (x86, px) = macho_object(Architecture::X86_64, &[S3], &[]);
    let (arm, pa) = macho_object(Architecture::Aarch64, &[GCS], &[IIN]);
    const X86_64: u32 = 0x0100_0007;
    const ARM64: u32 = 0x0100_000c;
    let (fat, offsets) = fat_macho(&[(X86_64, 3, x86), (ARM64, 0, arm)]);
    let shift =
        |p: &Placed, by: u64| -> Placed { p.iter().map(|(s, o)| (s.clone(), o + by)).collect() };
    let (px, pa) = (shift(&px, offsets[0]), shift(&pa, offsets[1]));
    let r = scan_file("Uploader", &fat);
    let s3 = at(&r, &px, S3);
    assert_eq!(s3.len(), 1);
    assert_eq!(inner(s3[0]), ["arch:x86_64", "section:__cstring"]);
    let gcs = at(&r, &pa, GCS);
    assert_eq!(gcs.len(), 1);
    assert_eq!(inner(gcs[0]), ["arch:arm64", "section:__cstring"]);
    assert_eq!(inner(at(&r, &pa, IIN)[0]), ["arch:arm64", "section:__data"]);
    assert_eq!(r.findings.len(), 3);
}

#[test]
fn a_binary_inside_something_is_placed_below_its_member_path() {
    let (elf, placed) = stripped_elf(&[S3], &[]);
    let scanner = Scanner::new(config(Path::new("."))).unwrap();
    let place = shekara_scanner::Place::file(0, b"image.tar".to_vec()).member("usr/bin/up");
    let o = scanner.scan_bytes(&place, &elf);
    assert_eq!(o.findings.len(), 1);
    assert_eq!(inner(&o.findings[0]), ["usr/bin/up", "section:.rodata"]);
    let off = o.findings[0].location.byte_offset;
    assert!((placed[0].1..placed[0].1 + S3.len() as u64).contains(&off));
}

#[test]
fn a_file_that_only_looks_like_a_binary_is_scanned_as_bytes() {
    let r = scan_file("notes", format!("MZ but text: {IIN}\n").as_bytes());
    assert_eq!(r.findings.len(), 1);
    assert!(r.findings[0].location.inner().is_empty());
    assert_eq!(r.findings[0].location.line.map(|l| l.get()), Some(1));
    assert!(r.coverage.complete);
}

/// With the system C compiler (when there is one): a real, stripped
/// executable. Without one the test says so and checks nothing else.
#[test]
fn system_cc_stripped_executable() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("up.c");
    let url = "https://kz-dumps.s3.us-east-1.amazonaws.com/iin.csv";
    fs::write(
        &src,
        format!("#include <stdio.h>\nstatic const char url[] = \"{url}\";\nint main(void) {{ puts(url); return 0; }}\n"),
    )
    .unwrap();
    let exe = dir.path().join("up");
    let built = Command::new("cc")
        .arg("-O1")
        .arg("-s")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status();
    if !matches!(built, Ok(s) if s.success()) {
        eprintln!("no working system C compiler: skipped");
        return;
    }
    let bytes = fs::read(&exe).unwrap();
    let parsed = object::File::parse(&*bytes).unwrap();
    assert_eq!(parsed.symbols().count(), 0, "cc -s strips");
    let r = scan_file("up", &bytes);
    let found: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.kind.to_string() == "foreign_endpoint")
        .collect();
    assert_eq!(found.len(), 1, "{:?}", r.findings);
    assert_eq!(inner(found[0]), ["section:.rodata"]);
}
