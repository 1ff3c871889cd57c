//! Throughput of the detection engine and its parts, in bytes per second,
//! over a 24 MiB mixed buffer from the corpus generator, scanned in 256 KiB
//! windows with `OVERLAP` bytes of context on each side, as the scanner does.
//!
//! Run: `cargo bench -p shekara-benches` (add `-- --quick` for a short run).

use std::time::Duration;

use aho_corasick::packed::{self, Searcher};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use shekara_detectors::endpoint::Endpoints;
use shekara_detectors::national_id::NationalId;
use shekara_detectors::{builtin_detectors, digits, Detector, Engine, Haystack, Ruleset, Scratch};
use shekara_fixtures::{biometric as bio, Rng};

const BUFFER: usize = 24 * 1024 * 1024;
const WINDOW: usize = 256 * 1024;
const SEED: u64 = 1;

/// Anchors used for the prefilter bench while the endpoint detector declares none.
const FALLBACK_ANCHORS: &[&str] = &[
    ".amazonaws.com",
    "storage.googleapis.com",
    ".core.windows.net",
    "s3://",
    "gs://",
    "abfss://",
    "api.openai.com",
    "huggingface.co",
    "api.anthropic.com",
    "yandexcloud",
    ".aliyuncs.com",
    ".r2.cloudflarestorage.com",
];

/// The windows a scanner would cut `buf` into.
fn windows(buf: &[u8]) -> impl Iterator<Item = Haystack<'_>> {
    Haystack::windows(buf, "corpus/mixed.bin", WINDOW)
}

fn scan_all(engine: &Engine, buf: &[u8]) -> usize {
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    let mut n = 0;
    for hay in windows(buf) {
        engine.scan_with(&hay, &mut scratch, &mut out);
        n += out.len();
        out.clear();
    }
    n
}

fn digit_runs(buf: &[u8]) -> usize {
    let mut n = 0;
    for hay in windows(buf) {
        digits::exact_runs(hay.bytes, hay.owned.clone(), 12, |_| n += 1);
    }
    n
}

/// [`digit_runs`] with the masks of one instruction set.
fn digit_runs_on(isa: digits::Isa, buf: &[u8]) -> usize {
    let mut n = 0;
    for hay in windows(buf) {
        digits::exact_runs_on(isa, hay.bytes, hay.owned.clone(), 12, |_| n += 1);
    }
    n
}

/// The endpoint anchors in one packed (Teddy) searcher, as the engine builds its groups.
fn prefilter() -> (Searcher, usize, &'static str) {
    let declared = Endpoints::new(Ruleset::builtin()).anchors();
    let (anchors, source) = if declared.is_empty() {
        let fallback = FALLBACK_ANCHORS
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect();
        (
            fallback,
            "fallback list (endpoint detector declares no anchors)",
        )
    } else {
        (declared, "endpoint detector's anchors")
    };
    let mut b = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostLongest)
        .builder();
    b.extend(&anchors);
    (b.build().expect("anchors build"), anchors.len(), source)
}

fn literal_hits(ac: &Searcher, buf: &[u8]) -> usize {
    windows(buf)
        .map(|hay| ac.find_iter(hay.bytes).count())
        .sum()
}

fn engine_benches(c: &mut Criterion) {
    let (buf, stats) = shekara_benches::generate_buffer_with_stats(BUFFER, SEED);
    eprintln!(
        "buffer: {} bytes, {} 12-digit runs ({} valid IINs, {} valid BINs), {} endpoints, {} magics",
        buf.len(),
        stats.twelve_digit_runs,
        stats.valid_iins,
        stats.valid_bins,
        stats.endpoints,
        stats.magics
    );
    let (ac, count, source) = prefilter();
    eprintln!("prefilter: {count} patterns from the {source}");
    let rules = Ruleset::builtin();
    let national = Engine::new(vec![Box::new(NationalId::new(rules))]);
    let endpoints = Engine::new(vec![Box::new(Endpoints::new(rules))]);
    let full = Engine::builtin();
    let no_bio = without_biometric();
    eprintln!(
        "findings: national_id {}, endpoints {}, full {}, full without biometric {}",
        scan_all(&national, &buf),
        scan_all(&endpoints, &buf),
        scan_all(&full, &buf),
        scan_all(&no_bio, &buf)
    );

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("digits_exact_runs", |b| {
        b.iter(|| digit_runs(black_box(&buf)))
    });
    // Each instruction set this CPU has (the one above is the widest).
    for isa in digits::Isa::available() {
        g.bench_function(format!("digits_exact_runs_{}", isa.name()), |b| {
            b.iter(|| digit_runs_on(isa, black_box(&buf)))
        });
    }
    g.bench_function("aho_corasick_prefilter", |b| {
        b.iter(|| literal_hits(&ac, black_box(&buf)))
    });
    g.bench_function("engine_national_id", |b| {
        b.iter(|| scan_all(&national, black_box(&buf)))
    });
    g.bench_function("engine_endpoints", |b| {
        b.iter(|| scan_all(&endpoints, black_box(&buf)))
    });
    g.bench_function("engine_builtin", |b| {
        b.iter(|| scan_all(&full, black_box(&buf)))
    });
    g.bench_function("engine_builtin_without_biometric", |b| {
        b.iter(|| scan_all(&no_bio, black_box(&buf)))
    });
    g.finish();
}

/// The built-in detectors but the biometric ones: the text path before them.
fn without_biometric() -> Engine {
    Engine::new(
        builtin_detectors()
            .into_iter()
            .filter(|d| !d.id().starts_with("biometric"))
            .collect(),
    )
}

/// 4 MiB of one biometric format: records separated by random filler.
fn format_buffer(record: impl Fn(&mut Rng) -> Vec<u8>) -> (Vec<u8>, usize) {
    let mut rng = Rng::new(SEED);
    let mut buf = Vec::with_capacity(FORMAT_BUFFER + 64 * 1024);
    let mut records = 0;
    while buf.len() < FORMAT_BUFFER {
        let mut filler = vec![0u8; 2048 + rng.index(2048)];
        rng.fill(&mut filler);
        buf.extend(filler);
        buf.extend(record(&mut rng));
        records += 1;
    }
    (buf, records)
}

const FORMAT_BUFFER: usize = 4 << 20;

/// Engine throughput on buffers dense in each biometric format.
fn biometric_benches(c: &mut Criterion) {
    type Gen = Box<dyn Fn(&mut Rng) -> Vec<u8>>;
    let formats: Vec<(&str, Gen)> = vec![
        ("iso19794_2_fmr", Box::new(|r| bio::fmr_iso2005(r, 2, 30))),
        ("ansi378_fmr", Box::new(|r| bio::fmr_ansi2004(r, 2, 30))),
        ("iso19794_5_face", Box::new(|_| bio::fac_2005(240, 320))),
        (
            "iso19794_2011",
            Box::new(|r| bio::iso2011(r, b"IIR", b"020", 2)),
        ),
        ("wsq", Box::new(|_| bio::wsq(500, 500))),
        (
            "icao_dg2",
            Box::new(|_| bio::icao_dg(0x75, &bio::fac_2005(240, 320))),
        ),
        ("ansi_nist", Box::new(|_| bio::ansi_nist(&[14, 10]))),
        (
            "npy_embeddings",
            Box::new(|r| bio::npy_f32(r, 8, 128, true)),
        ),
        (
            "faiss_index",
            Box::new(|r| bio::faiss_flat(r, b"IxF2", 128, 4)),
        ),
    ];
    let full = Engine::builtin();
    let mut g = c.benchmark_group("biometric");
    for (name, generate) in formats {
        let (buf, records) = format_buffer(generate);
        let found = scan_all(&full, &buf);
        eprintln!("{name}: {records} records, {found} findings");
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function(name, |b| b.iter(|| scan_all(&full, black_box(&buf))));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = engine_benches, biometric_benches
}
criterion_main!(benches);
