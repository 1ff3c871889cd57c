//! Archives, compressed streams and container images: members located to
//! their inner path, limits reported in coverage, hostile inputs end fast.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use shekara_fixtures::archives::{self, bomb, deep_zip, nested_tgz_zip_txt, overlap_bomb};
use shekara_fixtures::images::{self, Image, Layout, ENDPOINT};
use shekara_fixtures::quine::{gzip_quine, zip_quine, ZIP_MEMBER};
use shekara_fixtures::{text_with_iins, Rng};
use shekara_scanner::model::Reason;
use shekara_scanner::verdict::Residency;
use shekara_scanner::{Config, FingerprintKey, Input, NoSink, Place, Progress, Report, Scanner};

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

fn scan_one(name: &str, bytes: &[u8]) -> Report {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(name), bytes).unwrap();
    run(config(dir.path()))
}

fn iins(r: &Report) -> Vec<&shekara_scanner::Finding> {
    r.findings.iter().filter(|f| f.rule == "kz.iin").collect()
}

/// Occurrences the findings stand for (a CSV's IIN column is one aggregated finding).
fn occurrences(fs: &[&shekara_scanner::Finding]) -> usize {
    fs.iter().map(|f| f.count as usize).sum()
}

fn reasons(r: &Report) -> Vec<Reason> {
    r.coverage.not_scanned.iter().map(|n| n.reason).collect()
}

fn text(seed: u64, count: usize) -> Vec<u8> {
    text_with_iins(&mut Rng::new(seed), 20_000, count).0
}

#[test]
fn nested_tgz_zip_txt_gives_exact_count_and_full_inner_path() {
    let r = scan_one("outer.tar.gz", &nested_tgz_zip_txt(&text(1, 37)));
    let found = iins(&r);
    assert_eq!(found.len(), 37);
    for f in &found {
        assert_eq!(&*f.location.path, "outer.tar.gz");
        assert_eq!(f.location.inner(), ["inner/data.zip", "notes/people.txt"]);
    }
    assert!(r.coverage.complete, "{:?}", r.coverage.not_scanned);
}

#[test]
fn every_format_and_nesting_is_opened_by_magic_not_name() {
    let t = text(2, 5);
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("a.bin", archives::gzip(&t), vec!["a.bin~"]),
        ("people.txt.gz", archives::gzip(&t), vec!["people.txt"]),
        ("people.txt.zst", archives::zstd(&t), vec!["people.txt"]),
        ("people.txt.bz2", archives::bzip2(&t), vec!["people.txt"]),
        ("people.txt.xz", archives::xz(&t), vec!["people.txt"]),
        (
            "x.tar.xz",
            archives::xz(&archives::tar(&[("p.txt", &t)])),
            vec!["p.txt"],
        ),
        (
            "x.docx",
            archives::zip(&[("word/document.xml", &t)], true),
            vec!["word/document.xml"],
        ),
        ("x.tar", archives::tar(&[("d/p.txt", &t)]), vec!["d/p.txt"]),
        (
            "x.tzst",
            archives::zstd(&archives::tar(&[("p.txt", &t)])),
            vec!["p.txt"],
        ),
        (
            "model.npz",
            archives::zip(&[("w.npy", &t)], false),
            vec!["w.npy"],
        ),
        (
            "x.whl",
            archives::zip(&[("pkg/data.txt", &t)], true),
            vec!["pkg/data.txt"],
        ),
    ];
    for (name, bytes, inner) in cases {
        let r = scan_one(name, &bytes);
        let found = iins(&r);
        assert_eq!(found.len(), 5, "{name}");
        assert!(
            found.iter().all(|f| f.location.inner() == inner),
            "{name}: {:?}",
            found[0].location.inner()
        );
    }
}

#[test]
fn archives_from_blobs_and_streams_match_files() {
    let bytes = nested_tgz_zip_txt(&text(3, 9));
    let file = scan_one("o.tgz", &bytes);
    let scanner = Scanner::new(config(Path::new("."))).unwrap();
    let place = Place::file(0, b"o.tgz".to_vec());
    let blob = scanner.scan_bytes(&place, &bytes);
    let stream = scanner.scan_reader(&place, &mut &bytes[..], u64::MAX);
    fn key<'a>(
        fs: impl IntoIterator<Item = &'a shekara_scanner::Finding>,
    ) -> Vec<(Vec<String>, u64, String)> {
        fs.into_iter()
            .map(|f| {
                (
                    f.location.inner().to_vec(),
                    f.location.byte_offset,
                    f.evidence.fingerprint.to_string(),
                )
            })
            .collect()
    }
    assert_eq!(key(&file.findings).len(), 9);
    assert_eq!(key(&file.findings), key(&blob.findings));
    assert_eq!(key(&file.findings), key(&stream.findings));
}

#[test]
fn member_digests_are_listed_with_hash_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("o.tgz"), nested_tgz_zip_txt(&text(4, 2))).unwrap();
    let mut c = config(dir.path());
    c.hash_files = true;
    let r = run(c);
    let inners: Vec<Vec<String>> = r.files.iter().map(|f| f.inner.clone()).collect();
    assert!(inners.contains(&vec![]));
    assert!(inners.contains(&vec![
        "inner/data.zip".to_string(),
        "notes/people.txt".to_string()
    ]));
    assert!(r.files.iter().all(|f| f.sha256.len() == 64));
}

fn timed(name: &str, bytes: &[u8]) -> (Report, Duration) {
    let t = Instant::now();
    let r = scan_one(name, bytes);
    let took = t.elapsed();
    eprintln!("{name}: {} bytes scanned in {took:?}", bytes.len());
    (r, took)
}

#[test]
fn a_42_zip_style_bomb_ends_fast_with_a_ratio_record() {
    // 16^4 leaves of 64 MiB of zeros: 4 TiB nominal.
    let b = bomb(4, 64 << 20, true);
    assert!(b.len() < 10 << 20, "{}", b.len());
    let (r, took) = timed("42.zip", &b);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        reasons(&r).contains(&Reason::CompressionRatio),
        "{:?}",
        reasons(&r)
    );
    assert!(!r.coverage.complete);
}

#[test]
fn a_bomb_that_lies_about_its_sizes_ends_fast() {
    // Headers declare ratio 1: the zip reader stops at the declared size and
    // the checksum fails; nothing expands.
    let b = bomb(3, 64 << 20, false);
    let (r, took) = timed("liar.zip", &b);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        reasons(&r).contains(&Reason::CorruptArchive),
        "{:?}",
        reasons(&r)
    );
    assert!(r.coverage.bytes_scanned < 64 << 20);
}

#[test]
fn a_stream_bomb_is_stopped_by_counting_its_output() {
    // 4 GiB of zeros in a few hundred KiB of zstd: no sizes to check up front.
    let mut z = Vec::new();
    let zeros = std::io::Read::take(std::io::repeat(0), 4 << 30);
    zstd::stream::copy_encode(zeros, &mut z, 1).unwrap();
    assert!(z.len() < 1 << 20, "{}", z.len());
    let (r, took) = timed("zeros.bin.zst", &z);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(reasons(&r), [Reason::CompressionRatio]);
    assert!(r.coverage.bytes_scanned < 1 << 30);
}

#[test]
fn an_overlapping_entries_bomb_hits_the_byte_budget() {
    let b = overlap_bomb(1 << 20, 5000);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("overlap.zip"), &b).unwrap();
    let mut c = config(dir.path());
    c.limits.max_decompressed = 256 << 20;
    let t = Instant::now();
    let r = run(c);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        reasons(&r).contains(&Reason::ArchiveLimit),
        "{:?}",
        reasons(&r)
    );
}

#[test]
fn twenty_deep_nesting_stops_at_the_depth_limit() {
    let (r, took) = timed("deep.zip", &deep_zip(20, &text(5, 1)));
    assert!(took < Duration::from_secs(5));
    let deep: Vec<_> = r
        .coverage
        .not_scanned
        .iter()
        .filter(|n| n.reason == Reason::ArchiveDepth)
        .collect();
    assert_eq!(deep.len(), 1);
    assert_eq!(deep[0].inner.len(), 8, "{:?}", deep[0].inner);
    assert!(iins(&r).is_empty());
    // With a deeper limit the IIN at the bottom is found, 20 levels down.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("deep.zip"), deep_zip(20, &text(5, 1))).unwrap();
    let mut c = config(dir.path());
    c.limits.max_depth = 32;
    let r = run(c);
    assert_eq!(iins(&r).len(), 1);
    assert_eq!(iins(&r)[0].location.inner().len(), 20);
    assert_eq!(iins(&r)[0].location.inner()[19], "deep.txt");
}

/// The verdict of the archive artefact at `path`.
fn verdict_of(r: &Report, path: &str) -> Option<Residency> {
    r.verdicts
        .iter()
        .find(|v| v.artefact.path.as_deref() == Some(path))
        .map(|v| v.verdict)
}

/// The one coverage record of a report, which must be an archive loop.
fn the_loop(r: &Report) -> &shekara_scanner::NotScanned {
    assert_eq!(reasons(r), [Reason::ArchiveLoop], "{:?}", r.coverage);
    &r.coverage.not_scanned[0]
}

#[test]
fn a_zip_quine_is_caught_one_level_down() {
    // A real quine: its member, extracted, is the zip itself (fixtures/src/quine.rs).
    let (r, took) = timed("quine.zip", &zip_quine());
    assert!(took < Duration::from_secs(5), "{took:?}");
    let n = the_loop(&r);
    assert_eq!(n.path, "quine.zip");
    assert_eq!(n.inner, [ZIP_MEMBER], "caught at the member, not deeper");
    assert!(
        n.detail.contains("'quine.zip' (the file itself)"),
        "{}",
        n.detail
    );
    assert!(!r.coverage.complete);
    assert_eq!(verdict_of(&r, "quine.zip"), Some(Residency::Incomplete));
    assert_eq!(r.verdicts[0].verdict, Residency::Incomplete, "the root too");
    assert!(r.findings.is_empty());
}

#[test]
fn a_gzip_quine_is_caught_one_level_down() {
    let (r, took) = timed("quine.gz", &gzip_quine());
    assert!(took < Duration::from_secs(5), "{took:?}");
    let n = the_loop(&r);
    // A stream's content is named after it without the suffix.
    assert_eq!(n.inner, ["quine"]);
    assert_eq!(verdict_of(&r, "quine.gz"), Some(Residency::Incomplete));
}

#[test]
fn a_zip_quine_inside_a_tar_gz_is_caught_below_its_own_member() {
    let q = zip_quine();
    let tgz = archives::gzip(&archives::tar(&[
        ("README", b"a quine inside".as_slice()),
        ("nested/quine.zip", &q),
    ]));
    let (r, took) = timed("outer.tar.gz", &tgz);
    assert!(took < Duration::from_secs(5), "{took:?}");
    let n = the_loop(&r);
    assert_eq!(n.path, "outer.tar.gz");
    assert_eq!(n.inner, ["nested/quine.zip", ZIP_MEMBER]);
    assert!(n.detail.contains("'nested/quine.zip'"), "{}", n.detail);
    assert_eq!(verdict_of(&r, "outer.tar.gz"), Some(Residency::Incomplete));
}

#[test]
fn a_zip_quine_from_a_blob_or_a_stream_ends_with_a_loop_record() {
    let q = zip_quine();
    let scanner = Scanner::new(config(Path::new("."))).unwrap();
    let place = Place::file(0, b"quine.zip".to_vec());
    // A blob in memory is its own first ancestor.
    let blob = scanner.scan_bytes(&place, &q);
    assert_eq!(blob.not_scanned.len(), 1);
    assert_eq!(blob.not_scanned[0].reason, Reason::ArchiveLoop);
    assert_eq!(blob.not_scanned[0].inner, [ZIP_MEMBER]);
    // A stream cannot be compared with itself: one level more.
    let stream = scanner.scan_reader(&place, &mut &q[..], u64::MAX);
    assert_eq!(stream.not_scanned.len(), 1);
    assert_eq!(stream.not_scanned[0].reason, Reason::ArchiveLoop);
    assert_eq!(stream.not_scanned[0].inner, [ZIP_MEMBER, ZIP_MEMBER]);
}

#[test]
fn archive_limits_make_the_verdict_incomplete_not_clean() {
    // Regression: verdicts counted only read errors and oversized files, so
    // a bomb or a too-deep nesting was judged `clean`.
    let (r, _) = timed("42.zip", &bomb(2, 4 << 20, true));
    assert!(reasons(&r).contains(&Reason::CompressionRatio));
    assert_eq!(verdict_of(&r, "42.zip"), Some(Residency::Incomplete));
    let (r, _) = timed("deep.zip", &deep_zip(20, b"no ids here"));
    assert_eq!(reasons(&r), [Reason::ArchiveDepth]);
    assert_eq!(verdict_of(&r, "deep.zip"), Some(Residency::Incomplete));
}

#[test]
fn every_zip_method_with_a_decoder_is_opened() {
    // One member per method, each with its own IINs; Deflate64's holds a
    // text twice, the copy reaching back past Deflate's 32 KiB window.
    let mut entries = Vec::new();
    let mut expected = Vec::new();
    for (i, (method, name)) in archives::ZIP_METHODS.iter().enumerate() {
        let (mut plain, planted) = text_with_iins(&mut Rng::new(60 + i as u64), 40_000, 3 + i);
        let mut count = planted.len();
        if *method == 9 {
            assert!(plain.len() <= 49_152, "{}", plain.len());
            plain = [plain.clone(), plain].concat();
            count *= 2;
        }
        let member = format!("{name}.txt");
        entries.push(archives::method_entry(&member, *method, &plain));
        expected.push((member, count));
    }
    // PPMd (98) has no decoder here: reported, not guessed at.
    entries.push(archives::RawEntry {
        method: 98,
        ..archives::RawEntry::deflated("ppmd.txt", b"850314319331")
    });
    let r = scan_one("methods.zip", &archives::raw_zip(&entries, &[]));
    for (member, count) in &expected {
        let found: Vec<_> = iins(&r)
            .into_iter()
            .filter(|f| f.location.inner() == [member.as_str()])
            .collect();
        assert_eq!(
            found.len(),
            *count,
            "{member}: {:?}",
            r.coverage.not_scanned
        );
    }
    assert_eq!(iins(&r).len(), expected.iter().map(|e| e.1).sum::<usize>());
    let n = &r.coverage.not_scanned;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(
        (n[0].reason, n[0].inner.as_slice()),
        (
            Reason::UnsupportedFormat,
            ["ppmd.txt".to_string()].as_slice()
        )
    );
}

#[test]
fn entry_limit_is_reported() {
    let files: Vec<(String, Vec<u8>)> =
        (0..50).map(|i| (format!("f{i}.txt"), text(i, 1))).collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("many.zip"), archives::zip(&refs, true)).unwrap();
    let mut c = config(dir.path());
    c.limits.max_entries = 10;
    let r = run(c);
    assert_eq!(iins(&r).len(), 10);
    assert!(reasons(&r).contains(&Reason::ArchiveLimit));
}

#[test]
fn a_corrupt_archive_is_reported_and_its_good_part_scanned() {
    let whole = archives::gzip(&text(6, 40));
    let cut = &whole[..whole.len() / 2];
    let r = scan_one("cut.txt.gz", cut);
    assert!(
        reasons(&r).contains(&Reason::CorruptArchive),
        "{:?}",
        reasons(&r)
    );
    assert!(!iins(&r).is_empty() && iins(&r).len() < 40);
    // A "zip" whose directory is garbage is scanned as bytes.
    let mut fake = b"PK\x03\x04".to_vec();
    fake.extend_from_slice(b" 850314319331 and no directory");
    let r = scan_one("fake.zip", &fake);
    assert!(reasons(&r).contains(&Reason::CorruptArchive));
}

// ---- container images ----

fn check_image(r: &Report, img: &Image, root_path: &str) {
    let found = iins(r);
    let users: Vec<_> = found
        .iter()
        .copied()
        .filter(|f| f.location.inner().get(1).map(String::as_str) == Some("data/users.csv"))
        .collect();
    assert_eq!(occurrences(&users), img.users_iins);
    for f in &users {
        assert_eq!(&*f.location.path, root_path);
        assert_eq!(f.location.inner()[0], img.layers[0]);
        assert_eq!(&f.attributes["layer"], "0");
        assert_eq!(&f.attributes["hidden_by_layer"], "1");
    }
    let secret: Vec<_> = found
        .iter()
        .filter(|f| f.location.inner().get(1).map(String::as_str) == Some("opt/secret/ids.txt"))
        .collect();
    assert_eq!(secret.len(), img.secret_iins);
    assert!(secret
        .iter()
        .all(|f| &f.attributes["hidden_by_layer"] == "2"));
    assert_eq!(occurrences(&found), img.users_iins + img.secret_iins);
    let endpoint: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.location.inner() == [img.config.clone()])
        .collect();
    assert!(
        endpoint
            .iter()
            .any(|f| f.kind == shekara_scanner::Kind::ForeignEndpoint
                && ENDPOINT.contains(&f.attributes["host"])),
        "{:?}",
        r.findings
            .iter()
            .map(|f| (&f.kind, f.location.inner()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn docker_save_both_layouts_locate_findings_with_whiteouts() {
    for layout in [Layout::Legacy, Layout::Oci] {
        let img = images::image(layout, 11, 120);
        let r = scan_one("image.tar", &img.tarball());
        check_image(&r, &img, "image.tar");
        assert!(
            r.coverage.not_scanned.is_empty(),
            "{layout:?}: {:?}",
            r.coverage.not_scanned
        );
    }
}

#[test]
fn oci_layout_directory_is_one_artefact() {
    let img = images::image(Layout::Oci, 12, 30).oci_only();
    let dir = tempfile::tempdir().unwrap();
    img.write_dir(&dir.path().join("img")).unwrap();
    let r = run(config(dir.path()));
    check_image(&r, &img, "img");
    assert!(
        r.coverage.not_scanned.is_empty(),
        "{:?}",
        r.coverage.not_scanned
    );
    assert!(r.findings.iter().all(|f| &*f.location.path == "img"));
}

#[test]
fn a_tampered_blob_is_a_digest_mismatch() {
    for layout in [Layout::Legacy, Layout::Oci] {
        let mut img = images::image(layout, 13, 10);
        img.tamper();
        let r = scan_one("image.tar", &img.tarball());
        let bad: Vec<_> = r
            .coverage
            .not_scanned
            .iter()
            .filter(|n| n.reason == Reason::DigestMismatch)
            .collect();
        assert_eq!(bad.len(), 1, "{layout:?}: {:?}", r.coverage.not_scanned);
        assert_eq!(bad[0].inner, [img.layers[1].clone()]);
        // Still scanned.
        assert_eq!(occurrences(&iins(&r)), img.users_iins + img.secret_iins);
    }
    let mut img = images::image(Layout::Oci, 14, 10).oci_only();
    img.tamper();
    let dir = tempfile::tempdir().unwrap();
    img.write_dir(dir.path()).unwrap();
    let r = run(config(dir.path()));
    assert!(reasons(&r).contains(&Reason::DigestMismatch));
}

#[test]
fn an_image_inside_an_archive_is_still_an_image() {
    let img = images::image(Layout::Oci, 15, 20);
    let outer = archives::gzip(&archives::tar(&[("export/image.tar", &img.tarball())]));
    let r = scan_one("bundle.tgz", &outer);
    let users: Vec<_> = iins(&r)
        .into_iter()
        .filter(|f| f.location.inner().get(2).map(String::as_str) == Some("data/users.csv"))
        .collect();
    assert_eq!(occurrences(&users), 20);
    assert!(users
        .iter()
        .all(|f| f.location.inner()[0] == "export/image.tar"
            && &f.attributes["hidden_by_layer"] == "1"));
}

#[test]
fn a_compressed_image_says_what_streaming_did_not_verify() {
    // `docker save app | gzip`: the tar is a stream, read once; its layers
    // are scanned but not analysed as an image, and coverage says so.
    for layout in [Layout::Oci, Layout::Legacy] {
        let img = images::image(layout, 17, 20);
        let r = scan_one("app.tar.gz", &archives::gzip(&img.tarball()));
        let found = iins(&r);
        assert_eq!(occurrences(&found), img.users_iins + img.secret_iins);
        assert!(found
            .iter()
            .all(|f| !f.attributes.contains_key("hidden_by_layer")));
        let n = &r.coverage.not_scanned;
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(n[0].reason, Reason::ImageStreamed);
        assert_eq!((n[0].path.as_str(), n[0].inner.len()), ("app.tar.gz", 0));
        assert!(
            n[0].detail.contains("digests were not verified"),
            "{}",
            n[0].detail
        );
    }
    // An ordinary tar with an index.json (a web project) is not an image.
    let site = archives::gzip(&archives::tar(&[("index.json", b"{}".as_slice())]));
    assert!(scan_one("site.tgz", &site).coverage.not_scanned.is_empty());
}

#[test]
fn report_order_is_archive_order_and_stable() {
    let img = images::image(Layout::Oci, 16, 40);
    let a = scan_one("image.tar", &img.tarball());
    let b = scan_one("image.tar", &img.tarball());
    let key = |r: &Report| -> Vec<(Vec<String>, u64)> {
        r.findings
            .iter()
            .map(|f| (f.location.inner().to_vec(), f.location.byte_offset))
            .collect()
    };
    assert_eq!(key(&a), key(&b));
    let offsets: Vec<u64> = a
        .findings
        .iter()
        .filter(|f| f.location.inner().get(1).map(String::as_str) == Some("data/users.csv"))
        .map(|f| f.location.byte_offset)
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
}
