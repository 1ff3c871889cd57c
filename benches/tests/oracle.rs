//! The fixture generators and the detectors agree (each checks the other),
//! and the corpus generator is deterministic on disk.

use shekara_detectors::iin::{validate_bin, validate_iin};
use shekara_detectors::{Engine, Haystack, Kind};
use shekara_fixtures::{ids, InvalidKind, Rng};

#[test]
fn generated_numbers_validate_as_claimed() {
    let mut rng = Rng::new(11);
    for _ in 0..5000 {
        let iin = ids::valid_iin(&mut rng);
        assert!(validate_iin(iin.as_bytes()).is_ok(), "{iin}");
        assert!(validate_bin(iin.as_bytes()).is_err(), "{iin}");
        let bin = ids::valid_bin(&mut rng);
        assert!(validate_bin(bin.as_bytes()).is_ok(), "{bin}");
        for kind in InvalidKind::ALL {
            let bad = ids::invalid(&mut rng, kind);
            assert!(validate_iin(bad.as_bytes()).is_err(), "{kind:?} {bad}");
            assert!(validate_bin(bad.as_bytes()).is_err(), "{kind:?} {bad}");
        }
    }
}

#[test]
fn engine_finds_exactly_the_planted_numbers_in_the_demo() {
    let engine = Engine::builtin();
    let planted = shekara_fixtures::planted();
    let mut iins = Vec::new();
    let mut bins = Vec::new();
    for (path, bytes) in shekara_fixtures::demo_files() {
        let mut out = Vec::new();
        engine.scan(&Haystack::whole(&bytes, &path), &mut out);
        for f in out {
            let v = String::from_utf8(f.value).expect("ascii");
            match f.kind {
                Kind::Iin => iins.push((path.clone(), v)),
                Kind::Bin => bins.push((path.clone(), v)),
                _ => {}
            }
        }
    }
    let want = |list: &[shekara_fixtures::PlantedNumber]| -> Vec<(String, String)> {
        list.iter()
            .map(|n| (n.path.clone(), n.value.clone()))
            .collect()
    };
    iins.sort();
    bins.sort();
    let (mut wi, mut wb) = (want(&planted.iins), want(&planted.bins));
    wi.sort();
    wb.sort();
    assert_eq!(iins, wi);
    assert_eq!(bins, wb);
}

/// Scans `buf` in windows of `window` bytes with `OVERLAP` context, as a scanner would.
fn windowed_iins(engine: &Engine, buf: &[u8], window: usize) -> Vec<u64> {
    let mut starts = Vec::new();
    for hay in Haystack::windows(buf, "t.txt", window) {
        let mut out = Vec::new();
        engine.scan(&hay, &mut out);
        starts.extend(
            out.iter()
                .filter(|f| f.kind == Kind::Iin)
                .map(|f| f.span.start),
        );
    }
    starts
}

#[test]
fn planted_offsets_survive_any_window_size() {
    let engine = Engine::builtin();
    let mut rng = Rng::new(5);
    let (text, planted) = shekara_fixtures::text_with_iins(&mut rng, 300_000, 400);
    let want: Vec<u64> = planted.iter().map(|(at, _)| *at as u64).collect();
    for window in [1, 7, 4096, 65_536, 1 << 20] {
        assert_eq!(
            windowed_iins(&engine, &text, window),
            want,
            "window {window}"
        );
    }
}

#[test]
fn corpus_on_disk_is_deterministic() {
    let base = std::env::temp_dir().join(format!("shekara-corpus-test-{}", std::process::id()));
    let (a, b) = (base.join("a"), base.join("b"));
    let sa = shekara_benches::generate(&a, 3 << 20, 9).expect("generate a");
    let sb = shekara_benches::generate(&b, 3 << 20, 9).expect("generate b");
    assert_eq!(sa, sb);
    assert!(sa.bytes >= 3 << 20 && sa.twelve_digit_runs > 0);
    let mut names = Vec::new();
    let mut stack = vec![a.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                names.push(p.strip_prefix(&a).expect("under a").to_path_buf());
            }
        }
    }
    assert_eq!(names.len() as u64, sa.files);
    for n in names {
        assert!(
            std::fs::read(a.join(&n)).ok() == std::fs::read(b.join(&n)).ok(),
            "{n:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}
