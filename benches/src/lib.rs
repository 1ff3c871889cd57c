//! Benchmark support for shekara: a seeded, mixed corpus generator.
//!
//! [`generate`] writes a directory tree that looks like a data-science
//! repository at scale (source code, YAML/JSON configs with endpoint URLs,
//! CSV with 12-digit numbers of which a small share are valid IINs, JSONL and
//! plain logs, binary blobs with magic bytes and embedded URLs), with the
//! densities of the corpus in `PERFORMANCE.md`: about 440k standalone
//! 12-digit runs, 56k endpoints and 7.6k magic bytes per GiB. The same seed
//! and size always give the same bytes. [`generate_buffer`] makes the same mix
//! in memory, for the criterion benches.
//!
//! ```
//! let buf = shekara_benches::generate_buffer(64 * 1024, 7);
//! assert!(buf.len() >= 64 * 1024);
//! assert_eq!(buf, shekara_benches::generate_buffer(64 * 1024, 7));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io;
use std::path::{Path, PathBuf};

use shekara_fixtures::{ids, Rng};

mod templates;

use templates::{expand, Emitted, Lines};

/// What a corpus holds, counted as it was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Maximal runs of exactly 12 ASCII digits.
    pub twelve_digit_runs: u64,
    /// Of those, valid IINs.
    pub valid_iins: u64,
    /// Of those, valid BINs.
    pub valid_bins: u64,
    /// Endpoint URLs and URIs.
    pub endpoints: u64,
    /// Magic bytes of binary formats.
    pub magics: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.files += o.files;
        self.bytes += o.bytes;
        self.twelve_digit_runs += o.twelve_digit_runs;
        self.valid_iins += o.valid_iins;
        self.valid_bins += o.valid_bins;
        self.endpoints += o.endpoints;
        self.magics += o.magics;
    }
}

/// The kind of content of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Python,
    Rust,
    Js,
    Yaml,
    Json,
    Csv,
    Jsonl,
    Log,
    Blob,
}

impl Kind {
    fn dir_ext(self) -> (&'static str, &'static str) {
        match self {
            Kind::Python => ("src", "py"),
            Kind::Rust => ("src", "rs"),
            Kind::Js => ("src", "js"),
            Kind::Yaml => ("configs", "yaml"),
            Kind::Json => ("configs", "json"),
            Kind::Csv => ("data", "csv"),
            Kind::Jsonl => ("logs", "jsonl"),
            Kind::Log => ("logs", "log"),
            Kind::Blob => ("blobs", "bin"),
        }
    }
}

/// One file of the plan.
#[derive(Clone, Debug)]
struct FileSpec {
    index: u64,
    kind: Kind,
    size: usize,
}

impl FileSpec {
    fn rel_path(&self) -> PathBuf {
        let (dir, ext) = self.kind.dir_ext();
        PathBuf::from(dir)
            .join(format!("{:03}", self.index / 200))
            .join(format!("f{:06}.{ext}", self.index))
    }
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// A size between `lo` and `hi`, log-uniform.
fn log_uniform(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    let (l, h) = ((lo as f64).ln(), (hi as f64).ln());
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (l + u * (h - l)).exp() as usize
}

/// Picks a kind and a size for one file; `max` caps the size.
fn draw_file(rng: &mut Rng, max: usize) -> (Kind, usize) {
    const SMALL: &[(u32, Kind)] = &[
        (10, Kind::Python),
        (7, Kind::Rust),
        (6, Kind::Js),
        (8, Kind::Yaml),
        (6, Kind::Json),
        (17, Kind::Csv),
        (15, Kind::Jsonl),
        (11, Kind::Log),
        (20, Kind::Blob),
    ];
    const LARGE: &[Kind] = &[Kind::Csv, Kind::Jsonl, Kind::Blob];
    let r = rng.below(1000);
    if r >= 997 && max >= 32 * MIB {
        let kind = *rng.pick(LARGE);
        return (kind, log_uniform(rng, 32 * MIB, 64 * MIB));
    }
    let x = rng.below(100) as u32;
    let mut acc = 0;
    let kind = SMALL
        .iter()
        .find(|(w, _)| {
            acc += w;
            x < acc
        })
        .map_or(Kind::Csv, |(_, k)| *k);
    let size = match r {
        0..=699 => log_uniform(rng, KIB, 32 * KIB),
        700..=969 => log_uniform(rng, 32 * KIB, MIB),
        _ => log_uniform(rng, MIB, 4 * MIB),
    };
    (kind, size.min(max))
}

/// The files of a corpus of `total` bytes.
fn plan(total: u64, seed: u64, max_file: usize) -> Vec<FileSpec> {
    let mut rng = Rng::derive(seed, u64::MAX);
    let mut left = total;
    let mut files = Vec::new();
    while left > 0 {
        let (kind, size) = draw_file(&mut rng, max_file);
        let size = (size as u64).min(left).max(KIB as u64) as usize;
        left = left.saturating_sub(size as u64);
        files.push(FileSpec {
            index: files.len() as u64,
            kind,
            size,
        });
    }
    files
}

/// Parsed templates for every kind.
struct Generator {
    python: Lines,
    rust: Lines,
    js: Lines,
    yaml: Lines,
    json: Lines,
    csv: Lines,
    jsonl: Lines,
    log: Lines,
}

const PYTHON: &[(u32, &str)] = &[
    (36, "import $w$\n"),
    (36, "from $w$.$w$ import $W$$W$\n"),
    (48, "\ndef $w$_$w$($w$, $w$=None):\n"),
    (36, "    \"\"\"$s$.\"\"\"\n"),
    (120, "    $w$ = $w$.$w$($w$, $n$)\n"),
    (36, "    $w$_$w$ = [$n$, $n$, $n$]\n"),
    (48, "    return $w$\n"),
    (48, "    # $s$\n"),
    (24, "class $W$$W$:\n"),
    (48, "    if $w$ > $n$:\n"),
    (30, "        raise ValueError(\"$s$\")\n"),
    (36, "    logger.info(\"$s$ %s\", $w$)\n"),
    (1, "BASE_URL = \"$url$\"\n"),
    (12, "DOCS = \"$url0$\"\n"),
    (8, "    customer_id = $d12$\n"),
    (6, "    created_ms = $ms$\n"),
];

const RUST: &[(u32, &str)] = &[
    (30, "use crate::$w$::$W$$W$;\n"),
    (
        8,
        "pub fn $w$_$w$(&self, $w$: usize) -> Result<$W$, Error> {\n",
    ),
    (120, "    let $w$ = self.$w$.$w$($n$)?;\n"),
    (48, "    // $s$.\n"),
    (60, "}\n"),
    (36, "    if $w$ > $n$ {\n"),
    (24, "        return Err(Error::$W$(\"$s$\".into()));\n"),
    (1, "const ENDPOINT: &str = \"$url$\";\n"),
    (12, "/// See <$url0$>.\n"),
    (6, "    assert_eq!($w$.id, $d12$);\n"),
];

const JS: &[(u32, &str)] = &[
    (36, "const $w$ = require('$w$');\n"),
    (48, "function $w$$W$($w$, $w$) {\n"),
    (120, "  const $w$ = $w$.$w$($n$);\n"),
    (48, "  return $w$.$w$($n$);\n"),
    (60, "}\n"),
    (48, "  // $s$\n"),
    (1, "  const res = await fetch('$url$');\n"),
    (12, "  const doc = '$url0$';\n"),
    (6, "  const id = $d12$;\n"),
];

const YAML: &[(u32, &str)] = &[
    (72, "$w$:\n"),
    (120, "  $w$: $w$\n"),
    (120, "  $w$_$w$: $n$\n"),
    (2, "  url: $url$\n"),
    (1, "  endpoint: $url$\n"),
    (24, "  homepage: $url0$\n"),
    (60, "  # $s$\n"),
    (60, "  timeout_ms: $n$\n"),
    (6, "  account: \"$d12$\"\n"),
];

const JSON: &[(u32, &str)] = &[
    (120, "  \"$w$\": \"$w$\",\n"),
    (120, "  \"$w$_$w$\": $n$,\n"),
    (3, "  \"url\": \"$url$\",\n"),
    (
        3,
        "  \"$w$\": {\"$w$\": \"$url0$\", \"$w$\": [$n$, $n$]},\n",
    ),
    (6, "  \"account_id\": \"$d12$\",\n"),
    (36, "  \"description\": \"$s$\",\n"),
];

const CSV: &[(u32, &str)] = &[
    (5, "$n$,$d12$,$name$,$city$,$amt$,$d11$,$ts$\n"),
    (36, "$n$,$d10$,$name$,$city$,$amt$,$d11$,$ts$\n"),
    (30, "$n$,$d16$,$name$,$city$,$amt$,$d11$,$ts$\n"),
    (26, "$n$,$d13$,$name$,$city$,$amt$,$d11$,$ts$\n"),
];

const JSONL: &[(u32, &str)] = &[
    (10, "{\"ts\":\"$ts$\",\"level\":\"INFO\",\"request_id\":\"$hex$\",\"user_id\":$d12$,\"latency_ms\":$n$,\"msg\":\"$s$\"}\n"),
    (100, "{\"ts\":\"$ts$\",\"level\":\"DEBUG\",\"request_id\":\"$hex$\",\"epoch_ms\":$ms$,\"path\":\"/$w$/$w$\",\"status\":200}\n"),
    (1, "{\"ts\":\"$ts$\",\"level\":\"WARN\",\"request_id\":\"$hex$\",\"upstream\":\"$url$\",\"retry\":$n$}\n"),
    (100, "{\"ts\":\"$ts$\",\"level\":\"INFO\",\"trace\":\"$hex$$hex$\",\"event\":\"$w$_$w$\",\"bytes\":$n$}\n"),
];

const LOG: &[(u32, &str)] = &[
    (200, "$ts$ INFO  [$w$] $s$\n"),
    (1, "$ts$ WARN  [$w$] upload to $url$ took $n$ ms\n"),
    (7, "$ts$ DEBUG [$w$] session=$hex$ user=$d12$\n"),
    (60, "$ts$ DEBUG [$w$] $w$=$n$ $w$=$n$ elapsed_ms=$n$\n"),
];

/// Magic bytes of binary formats: images, archives, models, databases.
const MAGICS: &[&[u8]] = &[
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"PK\x03\x04",
    b"\x1f\x8b\x08",
    b"%PDF-1.7",
    b"\x7fELF",
    b"GGUF",
    b"SQLite format 3\0",
    b"\x93NUMPY",
    b"PAR1",
];

impl Generator {
    fn new() -> Generator {
        Generator {
            python: Lines::new(PYTHON),
            rust: Lines::new(RUST),
            js: Lines::new(JS),
            yaml: Lines::new(YAML),
            json: Lines::new(JSON),
            csv: Lines::new(CSV),
            jsonl: Lines::new(JSONL),
            log: Lines::new(LOG),
        }
    }

    /// Appends about `size` bytes of `kind` content to `out`.
    fn content(&self, kind: Kind, size: usize, rng: &mut Rng, out: &mut Vec<u8>, em: &mut Emitted) {
        let start = out.len();
        let lines = match kind {
            Kind::Python => &self.python,
            Kind::Rust => &self.rust,
            Kind::Js => &self.js,
            Kind::Yaml => &self.yaml,
            Kind::Json => {
                out.extend_from_slice(b"{\n");
                &self.json
            }
            Kind::Csv => {
                out.extend_from_slice(b"id,account,full_name,city,amount,phone,created\n");
                &self.csv
            }
            Kind::Jsonl => &self.jsonl,
            Kind::Log => &self.log,
            Kind::Blob => return blob(size, rng, out, em),
        };
        while out.len() - start < size {
            expand(lines.pick(rng), rng, out, em);
        }
        if kind == Kind::Json {
            out.extend_from_slice(b"  \"end\": true\n}\n");
        }
    }
}

/// Random bytes with magic bytes at the start and every ~17 KiB on average, and an
/// embedded URL every ~50 KiB (as strings sit in binaries).
fn blob(size: usize, rng: &mut Rng, out: &mut Vec<u8>, em: &mut Emitted) {
    let end = out.len() + size;
    out.extend_from_slice(MAGICS[rng.index(MAGICS.len())]);
    em.magics += 1;
    while out.len() < end {
        let gap = 1 + rng.index(34 * KIB);
        let at = out.len();
        let stop = (at + gap).min(end);
        out.resize(stop, 0);
        rng.fill(&mut out[at..stop]);
        if out.len() >= end {
            break;
        }
        out.push(0);
        if rng.chance(0.33) {
            em.endpoints += 1;
            templates::endpoint(rng, out);
        } else {
            em.magics += 1;
            out.extend_from_slice(MAGICS[rng.index(MAGICS.len())]);
        }
        out.push(0);
    }
    out.truncate(end);
}

/// Counts maximal runs of exactly 12 digits in `bytes`, and the valid IINs and BINs among them.
fn count_runs(bytes: &[u8], stats: &mut Stats) {
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == 12 {
            stats.twelve_digit_runs += 1;
            let s = std::str::from_utf8(&bytes[start..i]).unwrap_or_default();
            stats.valid_iins += u64::from(ids::is_valid_iin(s));
            stats.valid_bins += u64::from(ids::is_valid_bin(s));
        }
    }
}

impl Generator {
    /// The bytes of file `spec` and their statistics.
    fn file(&self, spec: &FileSpec, seed: u64, out: &mut Vec<u8>) -> Stats {
        out.clear();
        let mut rng = Rng::derive(seed, spec.index);
        let mut em = Emitted::default();
        self.content(spec.kind, spec.size, &mut rng, out, &mut em);
        let mut stats = Stats {
            files: 1,
            bytes: out.len() as u64,
            endpoints: em.endpoints,
            magics: em.magics,
            ..Stats::default()
        };
        count_runs(out, &mut stats);
        stats
    }
}

/// Writes a corpus of about `total_bytes` bytes under `dir`, deterministic for `seed`.
///
/// File sizes run from 1 KiB to a few MiB, with a few of 32–64 MiB when the
/// corpus is large enough; files sit in subdirectories by kind. Two threads
/// share the work; the bytes do not depend on it.
///
/// # Errors
/// When a directory or file cannot be written.
pub fn generate(dir: &Path, total_bytes: u64, seed: u64) -> io::Result<Stats> {
    let max_file = if total_bytes >= 256 * MIB as u64 {
        64 * MIB
    } else {
        4 * MIB
    };
    let files = plan(total_bytes, seed, max_file);
    let gen = Generator::new();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let results: Vec<io::Result<Stats>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (files, gen) = (&files, &gen);
                s.spawn(move || write_share(dir, files, gen, seed, w, workers))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("generator thread panicked")))
            })
            .collect()
    });
    let mut total = Stats::default();
    for r in results {
        total.add(&r?);
    }
    Ok(total)
}

/// Writes every `workers`-th file of the plan, starting at `w`.
fn write_share(
    dir: &Path,
    files: &[FileSpec],
    gen: &Generator,
    seed: u64,
    w: usize,
    workers: usize,
) -> io::Result<Stats> {
    let mut stats = Stats::default();
    let mut buf = Vec::new();
    for spec in files.iter().skip(w).step_by(workers) {
        stats.add(&gen.file(spec, seed, &mut buf));
        let path = dir.join(spec.rel_path());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &buf)?;
    }
    Ok(stats)
}

/// The same mix as [`generate`], as one buffer of at least `total_bytes`
/// bytes (files of at most 1 MiB, back to back).
pub fn generate_buffer(total_bytes: usize, seed: u64) -> Vec<u8> {
    generate_buffer_with_stats(total_bytes, seed).0
}

/// [`generate_buffer`] and what the buffer holds.
pub fn generate_buffer_with_stats(total_bytes: usize, seed: u64) -> (Vec<u8>, Stats) {
    let gen = Generator::new();
    let mut out = Vec::with_capacity(total_bytes + MIB);
    let mut buf = Vec::new();
    let mut stats = Stats::default();
    for spec in plan(total_bytes as u64, seed, MIB) {
        stats.add(&gen.file(&spec, seed, &mut buf));
        out.extend_from_slice(&buf);
    }
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_is_deterministic_and_mixed() {
        let (a, stats) = generate_buffer_with_stats(4 * MIB, 1);
        assert_eq!(a, generate_buffer(4 * MIB, 1));
        assert_ne!(a, generate_buffer(4 * MIB, 2));
        assert!(stats.twelve_digit_runs > 0 && stats.endpoints > 0 && stats.magics > 0);
        assert!(stats.valid_iins > 0 && stats.valid_iins < stats.twelve_digit_runs / 10);
    }

    #[test]
    fn plan_covers_the_total() {
        let files = plan(100 * MIB as u64, 3, 4 * MIB);
        let sum: usize = files.iter().map(|f| f.size).sum();
        assert!((100 * MIB..100 * MIB + KIB).contains(&sum));
    }
}
