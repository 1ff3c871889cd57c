//! The scanner: inputs, enumeration, reading, the parallel driver and the report.
//!
//! [`Scanner::run`] walks the roots in parallel (the `ignore` crate, as
//! ripgrep), then scans the files on a rayon pool: small files are read with
//! `read` into a reused per-thread buffer, large ones are memory-mapped
//! (guarded against truncation, see [`mmap`]) and cut into segments scanned
//! in parallel. Every input is fed to the detectors' [`Engine`] in
//! overlapping windows ([`windows`]). Findings are masked and fingerprinted
//! before they leave the scanner ([`evidence`]); coverage records every path
//! that was not scanned, and why ([`model::Coverage`]).
//!
//! ```no_run
//! use shekara_scanner::{Config, Scanner, Progress, NoSink};
//! let config = Config::new(vec!["fixtures/demo".into()]);
//! let report = Scanner::new(config)?.run(&NoSink, &Progress::default())?;
//! println!("{} findings", report.findings.len());
//! # Ok::<(), shekara_scanner::Error>(())
//! ```
#![deny(missing_docs)]

pub mod binary;
pub mod breach;
pub mod cache;
mod concat;
pub mod dataset;
pub mod evidence;
pub mod facestore;
pub mod findings;
pub mod git;
pub mod json;
pub mod merge;
pub mod mmap;
pub mod model;
pub mod shard;
pub mod text;
pub mod unpack;
pub mod walk;
pub mod windows;

mod driver;

// Evidence layer (issue #5).
pub mod manifest;
pub mod policy;
mod post;
pub mod suppress;
pub mod verdict;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

pub use driver::Scanner;
pub use driver::{sha256_hex, timestamp, Later, Outcome, Place, Unfinished};
pub use evidence::FingerprintKey;
pub use findings::Findings;
pub use model::{Finding, NotScanned, Report, ScannedFile, Store};
pub use shekara_detectors::{Engine, Kind, Severity};
pub use unpack::Limits;

/// One input of a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file or directory.
    Path(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
}

impl From<&str> for Input {
    fn from(s: &str) -> Input {
        if s == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(s))
        }
    }
}

/// Everything that decides what a scan reads and reports. Built by the CLI
/// from its flags; nothing past the CLI sees the flags themselves.
#[derive(Clone, Debug)]
pub struct Config {
    /// What to scan.
    pub inputs: Vec<Input>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Honour .gitignore / .ignore files (default: scan everything).
    pub gitignore: bool,
    /// Follow symbolic links (default: record and skip them).
    pub follow: bool,
    /// Globs of paths (relative to their root) to leave out.
    pub exclude: Vec<String>,
    /// Files larger than this are not scanned (recorded in coverage).
    pub max_file_size: Option<u64>,
    /// Put raw values in the report.
    pub reveal: bool,
    /// The fingerprint key; `None` makes an ephemeral one.
    pub key: Option<FingerprintKey>,
    /// Owned bytes per window (tests use tiny windows to probe edges).
    pub window: usize,
    /// Files at least this large are memory-mapped; `None` never maps.
    pub mmap_threshold: Option<u64>,
    /// Owned bytes per parallel segment of a large input: an input (a
    /// memory-mapped file, a dataset read whole) longer than this has its
    /// engine pass cut into segments scanned in parallel, and a CSV/JSON
    /// input its column reader run alongside (tests lower it to reach the
    /// parallel path with small inputs).
    pub segment: usize,
    /// Compute the SHA-256 of every input scanned, in the same read pass
    /// (`Report::files`; the evidence manifest needs it).
    pub hash_files: bool,
    /// Test hook: called with a file's path once it is open (and mapped, when
    /// it is), before its bytes are read. Tests use it to change a file
    /// mid-scan deterministically.
    #[doc(hidden)]
    pub hook_after_open: Option<fn(&std::path::Path)>,
    /// The residency policy (`shekara.toml`): reclassifies endpoints, overrides severities.
    pub policy: Option<policy::Policy>,
    /// Accepted findings (`--baseline`).
    pub baseline: Option<suppress::Baseline>,
    /// Honour inline `shekara:ignore` comments (default: yes).
    pub inline_ignores: bool,
    /// Limits on unpacking archives, compressed streams and images.
    pub limits: Limits,
    // --- workflows (issue #6) ---
    /// Scan only the files this shard owns (`--shard K/N`, by the path
    /// relative to its root); the walk's skipped paths are split the same way.
    pub shard: Option<shard::Shard>,
    /// Incremental sweeps: the cache directory (`--cache DIR`). Implies
    /// `hash_files` (cached results carry the file's digest).
    pub cache: Option<PathBuf>,
    /// Know [`Progress::bytes_total`] before the scan starts: the walk then
    /// `stat`s every file (see [`walk::WalkOptions::stat`]). For a progress
    /// bar; without it the total counts only files whose size the walk
    /// learnt anyway (with a cache). Default: yes.
    pub byte_totals: bool,
}

impl Config {
    /// Defaults for these inputs.
    pub fn new(inputs: Vec<Input>) -> Config {
        Config {
            inputs,
            threads: 0,
            gitignore: false,
            follow: false,
            exclude: Vec::new(),
            max_file_size: None,
            reveal: false,
            key: None,
            window: windows::WINDOW,
            mmap_threshold: Some(16 << 20),
            segment: driver::SEGMENT,
            hash_files: false,
            hook_after_open: None,
            policy: None,
            baseline: None,
            inline_ignores: true,
            byte_totals: true,
            limits: Limits::default(),
            shard: None,
            cache: None,
        }
    }
}

/// Counters a progress display can poll while a scan runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files to scan (known once the walk ends).
    pub files_total: AtomicU64,
    /// Bytes to scan (known once the walk ends).
    pub bytes_total: AtomicU64,
    /// Files done.
    pub files_done: AtomicU64,
    /// Bytes done.
    pub bytes_done: AtomicU64,
    /// Findings so far.
    pub findings: AtomicU64,
}

impl Progress {
    fn add(&self, files: u64, bytes: u64, findings: u64) {
        self.files_done.fetch_add(files, Ordering::Relaxed);
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
        self.findings.fetch_add(findings, Ordering::Relaxed);
    }
}

/// Receives results while a scan runs (for streaming output). Calls come
/// from worker threads, in any order; `index` is the file's place in the
/// final, sorted order.
pub trait Sink: Sync {
    /// A path the walk left out.
    fn skipped(&self, _item: &NotScanned) {}
    /// An input is done: its findings and what of it was not scanned, and why.
    /// `index` is `usize::MAX` for inputs outside the walk (stdin, blobs).
    fn file(&self, _index: usize, _outcome: &Outcome) {}
    /// Whether [`Sink::file`] reads the findings. When not, a cached file's
    /// findings are left encoded in its outcome ([`Outcome::later`]) and
    /// decoded straight into the report.
    fn wants_findings(&self) -> bool {
        true
    }
}

/// A sink that ignores everything.
#[derive(Debug)]
pub struct NoSink;
impl Sink for NoSink {
    fn wants_findings(&self) -> bool {
        false
    }
}

/// Errors that stop a scan before it starts.
#[derive(Debug)]
pub enum Error {
    /// A root does not exist or cannot be read.
    Root(PathBuf, std::io::Error),
    /// An `--exclude` glob does not parse.
    Glob(String, String),
    /// The thread pool could not be built.
    Threads(String),
    /// No fingerprint key could be made.
    Key(std::io::Error),
    /// The `--cache` directory cannot be used.
    Cache(String),
    /// A git command failed (`--staged`, `--history`).
    Git(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Root(p, e) => write!(
                f,
                "cannot scan '{}': {e}",
                text::escape_lossy(walk::path_bytes(p).as_slice())
            ),
            Error::Glob(g, e) => write!(f, "the --exclude glob '{g}' is invalid: {e}"),
            Error::Threads(e) => write!(f, "cannot start worker threads: {e}"),
            Error::Key(e) => write!(f, "cannot make a fingerprint key: {e}"),
            Error::Cache(e) | Error::Git(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for Error {}
