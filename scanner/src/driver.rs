//! The parallel driver: walk, then scan every file on a rayon pool.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{File, Metadata};
use std::io::Read;
use std::num::NonZeroU64;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use globset::{Glob, GlobSetBuilder};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use shekara_detectors::digits::RunList;
use shekara_detectors::Engine;
use time::format_description::well_known::Rfc3339;

use crate::evidence::FingerprintKey;
use crate::model::{
    Coverage, Evidence, Finding, Location, NotScanned, Reason, Report, ScanInfo, ScannedFile,
    Summary, Tool, REPORT_SCHEMA,
};
use crate::walk::{self, Entry, WalkOptions, Walked};
use crate::windows::{Hit, InputScan, Located};
use crate::{Config, Error, Input, Progress, Sink};

/// Files up to this size that a whole-file detector wants are read whole.
const WHOLE_FILE_LIMIT: u64 = 16 << 20;
/// The default owned bytes per parallel segment of a large input
/// ([`Config::segment`]).
pub(crate) const SEGMENT: usize = 8 << 20;

/// A configured scan, ready to run.
#[derive(Debug)]
pub struct Scanner {
    config: Config,
    /// Built on first use: [`Scanner::run`] builds the built-in engine on
    /// one pool thread while the walk runs on the others.
    engine: std::sync::OnceLock<Engine>,
    key: FingerprintKey,
    walk: WalkOptions,
    pool: rayon::ThreadPool,
    cache: Option<crate::cache::Cache>,
}

/// Where an input sits: its scan root, its path below the root, and the
/// member paths inside archives or images (outermost first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    /// Index of the scan root (in `Config::inputs`).
    pub root: usize,
    /// Path relative to the root (raw bytes; `/`-separated).
    pub rel: Vec<u8>,
    /// Member paths inside archives or images, outermost first.
    pub inner: Vec<String>,
}

impl Place {
    /// A top-level file.
    pub fn file(root: usize, rel: impl Into<Vec<u8>>) -> Place {
        Place {
            root,
            rel: rel.into(),
            inner: Vec::new(),
        }
    }

    /// The place of a member of this input.
    pub fn member(&self, name: impl Into<String>) -> Place {
        let mut inner = self.inner.clone();
        inner.push(name.into());
        Place {
            root: self.root,
            rel: self.rel.clone(),
            inner,
        }
    }

    /// The name path-aware detectors see: the innermost member, else the path.
    pub fn detector_path(&self) -> String {
        match self.inner.last() {
            Some(m) => m.clone(),
            None => String::from_utf8_lossy(&self.rel).into_owned(),
        }
    }
}

/// What scanning one input (a file, a blob, an object) gave.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Its findings (and its members' findings), in order.
    pub findings: Vec<Finding>,
    /// Whatever of it was not scanned, with the reason.
    pub not_scanned: Vec<NotScanned>,
    /// The inputs scanned, with their digests (only with `Config::hash_files`).
    pub files: Vec<ScannedFile>,
    /// Bytes scanned.
    pub bytes: u64,
    /// Whether the input itself was scanned completely.
    pub complete: bool,
    /// Inline `shekara:ignore` suppressions of `findings` (index among
    /// them, reason) when already settled (`--cache`); `None`: looked up
    /// after the scan.
    pub inline: Option<crate::cache::Inline>,
    /// A cached file's findings, still encoded: decoded at assembly,
    /// straight into the report (`findings` is then empty).
    pub later: Option<Later>,
}

/// A report assembled, before its evidence layer (see
/// [`Scanner::assemble_unfinished`]): what inline ignores the scan already
/// settled travels with it.
pub struct Unfinished {
    /// The report so far.
    pub report: Report,
    known: crate::post::KnownInline,
}

impl Unfinished {
    /// Inserts a finding of the caller's own at `at` in `report.findings`
    /// (no inline ignore applies to it).
    pub fn insert_finding(&mut self, at: usize, finding: Finding) {
        let at = at.min(self.report.findings.len());
        self.report.findings.insert(at, finding);
        self.known.insert(at);
    }
}

/// A cached file's findings, decoded when the report is assembled (see
/// [`crate::cache::Cache::get_deferred`]): a re-sweep of a large tree then
/// holds each finding once, in the report, not also in a list per file.
#[derive(Clone, Debug)]
pub struct Later {
    findings: std::sync::Arc<crate::cache::Deferred>,
    path: Arc<str>,
    path_base64: Option<String>,
    /// The file, to scan again if its cached findings do not decode.
    entry: Entry,
}

impl Outcome {
    /// Its number of findings, decoded or not.
    pub fn finding_count(&self) -> usize {
        self.findings.len() + self.later.as_ref().map_or(0, |l| l.findings.count())
    }
}

/// The outcome of scanning one file (or one in-memory input).
pub(crate) struct FileResult {
    /// The engine's findings, in order.
    pub(crate) located: Vec<Located>,
    bytes: u64,
    problem: Option<(Reason, String)>,
    sha256: Option<String>,
    /// Inline ignores of `located` (indices among them), settled from the
    /// bytes when the whole input was at hand; `None`: read back later.
    pub(crate) inline: Option<crate::cache::Inline>,
}

impl FileResult {
    fn failed(reason: Reason, detail: String) -> FileResult {
        FileResult {
            located: Vec::new(),
            bytes: 0,
            problem: Some((reason, detail)),
            sha256: None,
            inline: None,
        }
    }
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with this thread's scan buffer, or a fresh one when it is in use.
fn with_buf<R>(work: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    BUF.with(|b| match b.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.capacity() == 0 {
                // Room for any file read whole (below the mapping
                // threshold), reserved once: the kernel maps in only the
                // pages a read touches, and the buffer is never given up for
                // a larger one, each a fresh allocation faulted in anew
                // (1 GiB corpus, 1 thread: 29.2k → 28.3k page faults, peak
                // memory −3 MB).
                let _ = buf.try_reserve_exact(THREAD_BUF);
            }
            work(&mut buf)
        }
        Err(_) => work(&mut Vec::new()),
    })
}

/// The capacity of a thread's scan buffer: the default mapping threshold.
const THREAD_BUF: usize = 16 << 20;

impl Scanner {
    /// Checks the configuration and builds the engine and thread pool.
    ///
    /// # Errors
    /// A bad exclude glob, no thread pool, or no fingerprint key.
    pub fn new(config: Config) -> Result<Scanner, Error> {
        Scanner::with_engine_cell(config, std::sync::OnceLock::new())
    }

    /// Like [`Scanner::new`] with a given engine (benchmarks, tests).
    ///
    /// # Errors
    /// As [`Scanner::new`].
    pub fn with_engine(config: Config, engine: Engine) -> Result<Scanner, Error> {
        Scanner::with_engine_cell(config, std::sync::OnceLock::from(engine))
    }

    /// [`Scanner::with_engine`] with the engine given or built later.
    fn with_engine_cell(
        mut config: Config,
        engine: std::sync::OnceLock<Engine>,
    ) -> Result<Scanner, Error> {
        config.hash_files |= config.cache.is_some();
        let mut globs = GlobSetBuilder::new();
        for g in &config.exclude {
            let glob = Glob::new(g).map_err(|e| Error::Glob(g.clone(), e.to_string()))?;
            globs.add(glob);
            // `--exclude dir` also leaves out everything below dir.
            if let Ok(under) = Glob::new(&format!("{}/**", g.trim_end_matches('/'))) {
                globs.add(under);
            }
        }
        let exclude = globs
            .build()
            .map_err(|e| Error::Glob(config.exclude.join(","), e.to_string()))?;
        let threads = if config.threads == 0 {
            num_threads()
        } else {
            config.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("shekara-{i}"))
            .build()
            .map_err(|e| Error::Threads(e.to_string()))?;
        let key = match &config.key {
            Some(k) => k.clone(),
            None => FingerprintKey::ephemeral().map_err(Error::Key)?,
        };
        let walk = WalkOptions {
            gitignore: config.gitignore,
            follow: config.follow,
            exclude,
            threads,
            stat: config.byte_totals || config.cache.is_some(),
        };
        let cache = match &config.cache {
            Some(dir) => Some(
                crate::cache::Cache::open(dir, &cache_context(&config, &key))
                    .map_err(Error::Cache)?,
            ),
            None => None,
        };
        Ok(Scanner {
            config,
            engine,
            key,
            walk,
            pool,
            cache,
        })
    }

    /// The configuration this scanner runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `--exclude` leaves out this path (relative to its root).
    pub(crate) fn excludes(&self, rel: &[u8]) -> bool {
        use std::os::unix::ffi::OsStrExt;
        self.walk
            .exclude
            .is_match(std::path::Path::new(std::ffi::OsStr::from_bytes(rel)))
    }

    /// The engine this scanner runs.
    pub fn engine(&self) -> &Engine {
        self.engine.get_or_init(Engine::builtin)
    }

    /// Runs the scan, feeding `sink` as results come and `progress` counters.
    ///
    /// # Errors
    /// When a root does not exist or cannot be read. Problems with files
    /// below a root never stop the scan: they are recorded in coverage.
    pub fn run(&self, sink: &dyn Sink, progress: &Progress) -> Result<Report, Error> {
        let started = timestamp();
        let roots = self.check_roots()?;
        // The engine is built (≈ 2 ms, once) beside the walk, not before it.
        let (mut walked, _) = self
            .pool
            .install(|| rayon::join(|| walk::walk(&roots.paths, &self.walk), || self.engine()));
        if let Some(shard) = self.config.shard {
            walked.files.retain(|e| shard.owns(&e.rel));
            walked.skipped.retain(|s| shard.owns(&s.rel));
        }
        let skipped: Vec<NotScanned> = walked
            .skipped
            .iter()
            .map(|s| {
                not_scanned(
                    &Place::file(s.root, s.rel.clone()),
                    s.reason,
                    &s.detail,
                    None,
                )
            })
            .collect();
        for s in &skipped {
            sink.skipped(s);
        }
        let mut outcomes = self.scan_files(&walked, sink, progress);
        if let Some(ri) = roots.stdin {
            outcomes.push(self.scan_stdin(ri, sink, progress));
        }
        let folders = self.folder_findings(&walked, &outcomes, sink);
        let (mut report, known) = self.assemble_with(started, skipped, outcomes, folders);
        self.finish(&mut report, known);
        // After assembly, which scans again a file whose cached findings
        // turn out damaged, and caches it afresh.
        if let Some(cache) = &self.cache {
            self.finish_cache(cache, &roots, &walked);
        }
        Ok(report)
    }

    /// Runs `work` on this scanner's thread pool (for callers that feed
    /// their own inputs through [`Scanner::scan_bytes`]).
    pub fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        self.pool.install(work)
    }

    /// Face stores and model files by name, over the walked list (see
    /// [`crate::facestore`]), stamped with their notification deadline.
    fn folder_findings(
        &self,
        walked: &Walked,
        results: &[Outcome],
        sink: &dyn Sink,
    ) -> Vec<Finding> {
        let model = shekara_detectors::Kind::BiometricModel;
        // Every finding of the scan is looked at: on the pool's threads.
        let mut models_found: Vec<(usize, String)> = self.pool.install(|| {
            results
                .par_iter()
                .flat_map_iter(|o| &o.findings)
                .filter(|f| f.kind == model)
                .map(|f| (f.location.root, f.location.path.to_string()))
                .collect()
        });
        models_found.extend(
            results
                .iter()
                .filter_map(|o| o.later.as_ref())
                .filter(|l| l.findings.holds(model))
                .map(|l| (l.entry.root, l.path.to_string())),
        );
        let models_found = models_found.into_iter().collect();
        let cx = crate::facestore::Context {
            key: &self.key,
            reveal: self.config.reveal,
            models_found,
        };
        let mut found = self
            .pool
            .install(|| crate::facestore::folder_findings(&walked.files, &cx));
        crate::breach::stamp(
            &mut found,
            time::OffsetDateTime::now_utc(),
            self.config.policy.as_ref(),
        );
        if !found.is_empty() {
            let outcome = Outcome {
                findings: found,
                ..Outcome::default()
            };
            sink.file(usize::MAX, &outcome);
            return outcome.findings;
        }
        found
    }

    /// Stores what is buffered and, after a sweep that saw every file (not
    /// a shard), drops the entries of files no longer there.
    fn finish_cache(&self, cache: &crate::cache::Cache, roots: &Roots, walked: &Walked) {
        if let Err(e) = cache.flush() {
            eprintln!("shekara: warning: {e}; the next sweep re-reads what was not stored");
            return;
        }
        if self.config.shard.is_some() {
            return;
        }
        let prefixes: Vec<Vec<u8>> = roots
            .paths
            .iter()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| cache_key(p))
            .collect();
        let seen = self.pool.install(|| {
            walked
                .files
                .par_iter()
                .map(|e| cache_key(&e.path))
                .collect::<std::collections::HashSet<_>>()
        });
        if let Err(e) = cache.prune(&prefixes, &seen) {
            eprintln!("shekara: warning: cannot prune the cache: {e}");
        }
    }

    fn check_roots(&self) -> Result<Roots, Error> {
        let mut roots = Roots {
            paths: Vec::new(),
            stdin: None,
        };
        for (i, input) in self.config.inputs.iter().enumerate() {
            match input {
                Input::Path(p) => {
                    std::fs::metadata(p).map_err(|e| Error::Root(p.clone(), e))?;
                    roots.paths.push(p.clone());
                }
                Input::Stdin => {
                    roots.stdin = Some(i);
                    // Keep root indices aligned with the inputs: an empty placeholder is never walked.
                    roots.paths.push(PathBuf::new());
                }
            }
        }
        Ok(roots)
    }

    fn scan_files(&self, walked: &Walked, sink: &dyn Sink, progress: &Progress) -> Vec<Outcome> {
        let files = &walked.files;
        let jobs = crate::unpack::jobs(files);
        progress
            .files_total
            .store(jobs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let total: u64 = files.iter().filter_map(|e| e.size).sum();
        progress
            .bytes_total
            .store(total, std::sync::atomic::Ordering::Relaxed);
        // Cached findings wait to be decoded into the report, unless the
        // sink wants each file's findings as it is done.
        let defer = !sink.wants_findings();
        // One file per task: a thread that runs out of work takes the next
        // file, not only what rayon had not yet split off (a file costs
        // from microseconds to tens of milliseconds, so ranges split by
        // count leave one thread scanning alone at the end). 2 threads, 1
        // GiB corpus, 15 alternating runs: 346 → 343 ms.
        self.pool.install(|| {
            jobs.par_iter()
                .with_max_len(1)
                .enumerate()
                .map(|(i, job)| {
                    let outcome = match job {
                        crate::unpack::Job::File(e) => self.scan_file(e, defer),
                        crate::unpack::Job::ImageDir(img) => {
                            with_buf(|b| crate::unpack::scan_image_dir(self, img, b))
                        }
                    };
                    sink.file(i, &outcome);
                    progress.add(1, outcome.bytes, outcome.finding_count() as u64);
                    outcome
                })
                .collect()
        })
    }

    /// Scans one walked file, through the cache when there is one.
    fn scan_file(&self, e: &Entry, defer: bool) -> Outcome {
        let Some(cache) = &self.cache else {
            return with_buf(|b| self.scan_entry(e, b));
        };
        let place = Place::file(e.root, e.rel.clone());
        let key = cache_key(&e.path);
        // The walk's `stat` (one per file, not two).
        let stamp = e.stamp;
        if let Some(st) = stamp.as_ref() {
            if defer {
                if let Some((hit, later)) = cache.get_deferred(&key, st) {
                    let mut outcome = cached_outcome(&place, hit);
                    if later.count() > 0 {
                        let (path, path_base64) = display_path(&place.rel);
                        outcome.later = Some(Later {
                            findings: std::sync::Arc::new(later),
                            path: path.into(),
                            path_base64,
                            entry: e.clone(),
                        });
                    }
                    return outcome;
                }
            } else if let Some(hit) = cache.get(&key, st) {
                return cached_outcome(&place, hit);
            }
        }
        let mut outcome = with_buf(|b| self.scan_entry(e, b));
        // Archives and datasets are cached with their members and what of
        // them could not be decoded; read errors and files that changed
        // while read are not cached.
        let top = outcome.files.iter().find(|f| f.inner.is_empty());
        let settled = outcome
            .not_scanned
            .iter()
            .all(|n| crate::cache::cacheable(n.reason));
        if let (Some(stamp), Some(top), true) = (stamp, top, settled) {
            let sha256 = top.sha256.clone();
            // Settled now, while the file is in the page cache, and cached
            // with the findings: a re-sweep does not read the file back.
            if self.config.inline_ignores && outcome.inline.is_none() {
                outcome.inline = Some(inline_of(&e.path, &outcome.findings));
            }
            cache.put(key, &entry_of(stamp, sha256, &outcome));
        }
        outcome
    }

    fn scan_stdin(&self, root: usize, sink: &dyn Sink, progress: &Progress) -> Outcome {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        let outcome = self.scan_reader(&Place::file(root, b"-".to_vec()), &mut lock, u64::MAX);
        sink.file(usize::MAX, &outcome);
        progress.add(1, outcome.bytes, outcome.finding_count() as u64);
        outcome
    }

    /// Scans an input that is already in memory (a git blob, an object, an
    /// archive member): every detector, the same report shape as a file.
    /// Archives and compressed streams are opened ([`crate::unpack`]);
    /// datasets (CSV, JSON, Parquet) and binaries are scanned as such
    /// ([`crate::dataset`]).
    pub fn scan_bytes(&self, place: &Place, bytes: &[u8]) -> Outcome {
        let mut outcome = if crate::unpack::sniff(bytes).is_some() {
            with_buf(|buf| crate::unpack::scan_bytes(self, place, bytes, buf))
        } else {
            self.scan_plain_bytes(place, bytes)
        };
        // Inline ignores settled from the bytes in hand: a blob or an object
        // is not on this disk to be read back after the scan.
        if self.config.inline_ignores && outcome.inline.is_none() {
            outcome.inline = Some(crate::suppress::inline_in_bytes(&outcome.findings, bytes));
        }
        outcome
    }

    /// Scans bytes without opening archives: datasets and binaries as such,
    /// anything else as plain bytes.
    pub(crate) fn scan_plain_bytes(&self, place: &Place, bytes: &[u8]) -> Outcome {
        crate::dataset::dispatch(self, place, bytes)
            .unwrap_or_else(|| self.scan_plain(place, bytes))
    }

    /// Scans `bytes` as plain bytes (no structured format), every detector.
    pub(crate) fn scan_plain(&self, place: &Place, bytes: &[u8]) -> Outcome {
        self.scan_plain_except(place, bytes, &|_| false)
    }

    /// [`Scanner::scan_plain`] of `bytes`, the whole file at `place` (not
    /// an archive member, not decoded text): its inline ignores settled as
    /// it is scanned (see [`InputScan::settle_in_memory`]).
    pub(crate) fn scan_plain_file(&self, place: &Place, bytes: &[u8]) -> Outcome {
        let settle = place.inner.is_empty();
        let r = self.pass(bytes, &place.detector_path(), None, settle);
        self.outcome(place, r)
    }

    /// [`Scanner::scan_plain`] without the engine's findings that `skip`
    /// rejects (dropped before they are masked and fingerprinted).
    pub(crate) fn scan_plain_except(
        &self,
        place: &Place,
        bytes: &[u8],
        skip: &dyn Fn(&shekara_detectors::RawFinding) -> bool,
    ) -> Outcome {
        let mut r = self.engine_pass(place, bytes);
        r.located.retain(|l| !skip(&l.raw));
        self.outcome(place, r)
    }

    /// Whether an input of `len` bytes takes the parallel path: its engine
    /// pass in segments, other passes over it alongside (see [`Config::segment`]).
    pub(crate) fn is_large(&self, len: usize) -> bool {
        len > self.config.segment.max(1)
    }

    /// Runs `a` and `b` side by side when the input of `len` bytes is
    /// large, one after the other otherwise (small inputs do not pay for
    /// the hand-over).
    pub(crate) fn join_if_large<A: Send, B: Send>(
        &self,
        len: usize,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        if self.is_large(len) {
            rayon::join(a, b)
        } else {
            (a(), b())
        }
    }

    /// The engine's findings over an in-memory input, not yet masked (see
    /// [`Scanner::outcome`]): the window pass (in parallel segments when the
    /// input is large), the whole-file detectors that want it, and its digest
    /// (alongside, when asked for).
    pub(crate) fn engine_pass(&self, place: &Place, bytes: &[u8]) -> FileResult {
        self.pass(bytes, &place.detector_path(), None, false)
    }

    /// [`Scanner::engine_pass`] with the input's 12-digit runs as another
    /// pass over it recorded them (see [`RunList`]): the same result, the
    /// digit scan spared where the list knows the runs.
    pub(crate) fn engine_pass_with_runs(
        &self,
        place: &Place,
        bytes: &[u8],
        runs: Arc<RunList>,
    ) -> FileResult {
        // The input is the file itself when it is not an archive member:
        // its inline ignores are settled as it is scanned.
        let settle = place.inner.is_empty();
        self.pass(bytes, &place.detector_path(), Some(&runs), settle)
    }

    /// [`Scanner::engine_pass`] for the detectors' `path`; with `settle`
    /// (`bytes` are the whole file), the findings' inline ignores settled
    /// as the windows are scanned (see [`InputScan::settle_in_memory`]).
    fn pass(
        &self,
        bytes: &[u8],
        path: &str,
        runs: Option<&Arc<RunList>>,
        settle: bool,
    ) -> FileResult {
        let settle = settle && self.config.inline_ignores;
        let ((located, hits), sha256) = self.join_if_large(
            bytes.len(),
            || self.located(bytes, path, runs, settle),
            || self.config.hash_files.then(|| sha256_hex(bytes)),
        );
        let inline = hits.map(|h| crate::windows::inline_of(&located, &h));
        FileResult {
            located,
            bytes: bytes.len() as u64,
            problem: None,
            sha256,
            inline,
        }
    }

    /// A scan of an in-memory input at `path`, with its 12-digit runs
    /// when known, settling inline ignores when asked.
    fn input_scan<'s>(
        &'s self,
        path: &'s str,
        runs: Option<&Arc<RunList>>,
        settle: bool,
    ) -> InputScan<'s> {
        let mut scan = InputScan::new(self.engine(), path).with_runs(runs.cloned());
        if settle {
            scan.settle_in_memory();
        }
        scan
    }

    /// The window pass and whole-file detectors over an in-memory input:
    /// the same findings, in the same order, whether it is cut into
    /// segments or not.
    ///
    /// With `settle`, the inline ignores found too (see [`Scanner::pass`]).
    fn located(
        &self,
        bytes: &[u8],
        path: &str,
        runs: Option<&Arc<RunList>>,
        settle: bool,
    ) -> (Vec<Located>, Option<Vec<Hit>>) {
        let whole = bytes.len() as u64 <= WHOLE_FILE_LIMIT && self.engine().wants_whole_file(path);
        let mut scan = self.input_scan(path, runs, settle);
        if !self.is_large(bytes.len()) {
            scan.slice(bytes, self.config.window);
            if whole {
                scan.whole_file(bytes);
            }
            return scan.finish_hits();
        }
        let (mut located, mut hits) = self.scan_mapped(bytes, path, runs, settle);
        if whole {
            scan.whole_file(bytes);
            let (more, more_hits) = scan.finish_hits();
            located.extend(more);
            crate::windows::order(&mut located);
            if let (Some(h), Some(more)) = (hits.as_mut(), more_hits) {
                h.extend(more);
            }
        }
        (located, hits)
    }

    /// Scans up to `limit` bytes of a stream (stdin, a download) in windows.
    /// Archives and compressed streams are opened, streaming ([`crate::unpack`]).
    pub fn scan_reader(&self, place: &Place, reader: &mut dyn Read, limit: u64) -> Outcome {
        let mut limited = reader.take(limit);
        let mut head = Vec::with_capacity(crate::unpack::SNIFF_LEN);
        let peeked = (&mut limited)
            .take(crate::unpack::SNIFF_LEN as u64)
            .read_to_end(&mut head);
        let mut chained = std::io::Cursor::new(&head[..]).chain(limited);
        let structured = crate::dataset::sniff(&place.detector_path(), &head).is_some();
        with_buf(|buf| match (peeked, crate::unpack::sniff(&head)) {
            (Ok(_), Some(format)) => {
                crate::unpack::scan_stream(self, place, format, &mut chained, buf)
            }
            (Ok(_), None) if structured => self.scan_spooled(place, &mut chained, buf),
            _ => self.scan_plain_stream(place, &mut chained, u64::MAX, buf),
        })
    }

    /// Parquet, CSV/JSON columns and binaries are read whole, not as a
    /// stream: a stream of one (a large object fetched in ranged GETs,
    /// standard input) is spooled to an anonymous temporary file, gone when
    /// closed, and scanned as a file is. Memory stays bounded.
    fn scan_spooled(&self, place: &Place, reader: &mut dyn Read, buf: &mut Vec<u8>) -> Outcome {
        use std::io::{Seek, Write};
        let mut file = match tempfile::tempfile() {
            Ok(f) => f,
            Err(_) => return self.scan_plain_stream(place, reader, u64::MAX, buf),
        };
        buf.resize(1 << 20, 0);
        let mut size = 0u64;
        loop {
            let n = match reader.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let r = FileResult::failed(Reason::ReadError, format!("read failed: {e}"));
                    return self.outcome(place, r);
                }
            };
            if let Err(e) = file.write_all(&buf[..n]) {
                let detail = format!("cannot spool the stream to a temporary file: {e}");
                return self.outcome(place, FileResult::failed(Reason::ReadError, detail));
            }
            size += n as u64;
        }
        // `scan_open_file` reads from the file's position when it does not map it.
        if let Err(e) = file.rewind() {
            let detail = format!("cannot re-read the spooled stream: {e}");
            return self.outcome(place, FileResult::failed(Reason::ReadError, detail));
        }
        if let Some(out) = crate::dataset::scan_open_file(self, place, &file, size, buf, &|| {}) {
            return out;
        }
        match file.rewind() {
            Ok(()) => self.scan_plain_stream(place, &mut file, size, buf),
            Err(e) => self.outcome(
                place,
                FileResult::failed(
                    Reason::ReadError,
                    format!("cannot re-read the spooled stream: {e}"),
                ),
            ),
        }
    }

    /// Scans a stream as it is, without opening archives, with `buf` as the window buffer.
    pub(crate) fn scan_plain_stream(
        &self,
        place: &Place,
        reader: &mut dyn Read,
        limit: u64,
        buf: &mut Vec<u8>,
    ) -> Outcome {
        let path = place.detector_path();
        let r = self.scan_stream(reader, &path, limit, buf, false);
        self.outcome(place, r)
    }

    /// Scans a stream in windows; `settle`: inline ignores are settled
    /// from the windows (a file on disk, not read back after the scan).
    fn scan_stream(
        &self,
        reader: &mut dyn Read,
        path: &str,
        limit: u64,
        buf: &mut Vec<u8>,
        settle: bool,
    ) -> FileResult {
        let mut scan = InputScan::new(self.engine(), path);
        if settle {
            scan.settle_inline();
        }
        let mut hashing = HashingReader::new(reader, self.config.hash_files);
        let (bytes, problem) = match scan.reader(&mut hashing, limit, self.config.window, buf) {
            Ok(n) => (n, None),
            Err((err, n)) => (
                n,
                Some((
                    Reason::ReadError,
                    format!("{} after {n} bytes", os_error(&err)),
                )),
            ),
        };
        let (located, inline) = scan.finish_settled();
        FileResult {
            located,
            bytes,
            // Read back after the scan when the stream stopped short.
            inline: inline.filter(|_| problem.is_none()),
            problem,
            sha256: hashing.finish(),
        }
    }

    fn scan_entry(&self, e: &Entry, buf: &mut Vec<u8>) -> Outcome {
        let place = Place::file(e.root, e.rel.clone());
        let file = match open(&e.path) {
            Ok(f) => f,
            Err(err) => return self.failed(&place, Reason::Unreadable, os_error(&err)),
        };
        let before = match file.metadata() {
            Ok(m) => m,
            Err(err) => return self.failed(&place, Reason::Unreadable, os_error(&err)),
        };
        if !before.is_file() {
            let detail = "no longer a regular file when opened".into();
            return self.failed(&place, Reason::SpecialFile, detail);
        }
        let size = before.len();
        if let Some(max) = self.config.max_file_size.filter(|&m| size > m) {
            let detail = format!("{size} bytes > --max-file-size {max}");
            return self.failed(&place, Reason::TooLarge, detail);
        }
        if self.config.mmap_threshold.is_some_and(|t| size < t) {
            return self.scan_read(e, &place, &file, &before, buf);
        }
        if let Some(format) = sniff_file(&file) {
            if let Some(h) = self.config.hook_after_open {
                h(&e.path);
            }
            return crate::unpack::scan_file(self, &place, &file, size, format, buf);
        }
        // Datasets and binaries (sniffed by extension, else first bytes).
        let hook = || {
            if let Some(h) = self.config.hook_after_open {
                h(&e.path);
            }
        };
        if let Some(o) = crate::dataset::scan_open_file(self, &place, &file, size, buf, &hook) {
            return o;
        }
        let path = String::from_utf8_lossy(&e.rel);
        let mut r = self.read_and_scan(&file, &e.path, &path, size, buf);
        if r.problem.is_none() {
            r.problem = changed(&file, &before, r.bytes);
        }
        self.outcome(&place, r)
    }

    /// A file below the mapping threshold, opened: read whole, once. The
    /// archive and dataset sniffs look at its first bytes in memory rather
    /// than with a `pread` each, and it is scanned as one input, in parallel
    /// segments when large (what [`Scanner::scan_entry`] does otherwise
    /// with a mapped file). On 3,900 small files: 2 of 7 system calls per
    /// file spared.
    fn scan_read(
        &self,
        e: &Entry,
        place: &Place,
        file: &File,
        before: &Metadata,
        buf: &mut Vec<u8>,
    ) -> Outcome {
        use std::io::{Seek, SeekFrom};
        if let Some(h) = self.config.hook_after_open {
            h(&e.path);
        }
        let size = before.len();
        let mut reader = file;
        let n = match crate::windows::read_whole(&mut reader, size, buf) {
            Ok(n) => n,
            Err(err) => return self.failed(place, Reason::ReadError, os_error(&err)),
        };
        let bytes = &buf[..n];
        if let Some(format) = crate::unpack::sniff(&bytes[..n.min(crate::unpack::SNIFF_LEN)]) {
            // An archive or a compressed stream: unpacked from the file (its
            // readers seek or read at offsets), as a larger one is.
            if let Err(err) = reader.seek(SeekFrom::Start(0)) {
                return self.failed(place, Reason::ReadError, os_error(&err));
            }
            return crate::unpack::scan_file(self, place, file, size, format, buf);
        }
        if let Some(o) = crate::dataset::scan_read_file(self, place, size, bytes) {
            return o;
        }
        let path = String::from_utf8_lossy(&e.rel);
        let mut r = self.pass(bytes, &path, None, true);
        r.problem = changed(file, before, n as u64);
        self.outcome(place, r)
    }

    fn failed(&self, place: &Place, reason: Reason, detail: String) -> Outcome {
        self.outcome(place, FileResult::failed(reason, detail))
    }

    fn read_and_scan(
        &self,
        file: &File,
        fs_path: &std::path::Path,
        path: &str,
        size: u64,
        buf: &mut Vec<u8>,
    ) -> FileResult {
        let hook = || {
            if let Some(h) = self.config.hook_after_open {
                h(fs_path);
            }
        };
        if size <= WHOLE_FILE_LIMIT && self.engine().wants_whole_file(path) {
            hook();
            return self.scan_whole(file, path, size, buf);
        }
        if self.config.mmap_threshold.is_some_and(|t| size >= t.max(1)) {
            if let Ok(Some(map)) = crate::mmap::GuardedMap::new(file, size) {
                hook();
                let settle = self.config.inline_ignores;
                let ((located, hits), sha256) = rayon::join(
                    || self.scan_mapped(map.bytes(), path, None, settle),
                    || self.config.hash_files.then(|| sha256_hex(map.bytes())),
                );
                let inline = hits.map(|h| crate::windows::inline_of(&located, &h));
                let problem = map.faulted().then(|| (Reason::ChangedDuringScan, "file shrank while being scanned; the part past its new end was not scanned".to_string()));
                let mut r = FileResult {
                    located,
                    bytes: size,
                    sha256: sha256.filter(|_| problem.is_none()),
                    problem,
                    inline,
                };
                if map.faulted() {
                    // Truncated while read back: not settled from these bytes.
                    r.inline = None;
                }
                return r;
            }
        }
        hook();
        let mut reader: &File = file;
        let settle = self.config.inline_ignores;
        self.scan_stream(&mut reader, path, size, buf, settle)
    }

    fn scan_whole(&self, file: &File, path: &str, size: u64, buf: &mut Vec<u8>) -> FileResult {
        let mut reader: &File = file;
        match crate::windows::read_whole(&mut reader, size, buf) {
            Ok(n) => self.pass(&buf[..n], path, None, true),
            Err(err) => FileResult::failed(Reason::ReadError, os_error(&err)),
        }
    }

    /// Scans an input in segments of [`Config::segment`] bytes, in
    /// parallel, then joins their line counts. A finding belongs to the
    /// window (and so the segment) that owns its first byte, so the joined
    /// list is the one a single pass gives.
    ///
    /// With `settle`, the inline ignores found too, each segment's as it is
    /// scanned (see [`InputScan::settle_in_memory`]).
    fn scan_mapped(
        &self,
        bytes: &[u8],
        path: &str,
        runs: Option<&Arc<RunList>>,
        settle: bool,
    ) -> (Vec<Located>, Option<Vec<Hit>>) {
        let segment = self.config.segment.max(1);
        let segments: Vec<usize> = (0..bytes.len()).step_by(segment).collect();
        type Part = (Vec<Located>, Option<Vec<Hit>>, u64, u64);
        let parts: Vec<Part> = segments
            .par_iter()
            .map(|&start| {
                let end = (start + segment).min(bytes.len());
                let mut scan = self.input_scan(path, runs, settle).with_totals();
                scan.slice_range(bytes, start..end, self.config.window);
                let (newlines, _, chars) = scan.line_totals();
                let (located, hits) = scan.finish_hits();
                (located, hits, newlines, chars)
            })
            .collect();
        // One list of the size of all, not one grown by doubling (each step
        // fresh pages); the segments' lists go back to this thread's spare.
        let mut out = crate::windows::take_located();
        out.reserve(parts.iter().map(|p| p.0.len()).sum());
        let mut all_hits = settle.then(Vec::new);
        // Newlines before this segment, and characters from the last of
        // them to the segment's start (columns count characters: additive).
        let (mut newlines_before, mut carried) = (0u64, 0u64);
        for (located, hits, newlines, chars) in parts {
            match (all_hits.as_mut(), hits) {
                (Some(all), Some(h)) => all.extend(h),
                _ => all_hits = None,
            }
            let mut located = located;
            for mut l in located.drain(..) {
                if l.line == 1 {
                    l.column += carried;
                }
                l.line += newlines_before;
                out.push(l);
            }
            crate::windows::give_back_located(located);
            newlines_before += newlines;
            carried = if newlines > 0 { chars } else { carried + chars };
        }
        (out, all_hits)
    }

    /// The masked value and keyed fingerprint of a raw value (raw only with `--reveal`).
    pub(crate) fn evidence(&self, kind: shekara_detectors::Kind, value: &[u8]) -> Evidence {
        let (masked, fingerprint) = self.key.masked_and_fingerprint(kind, value);
        Evidence {
            masked,
            fingerprint,
            raw: self
                .config
                .reveal
                .then(|| String::from_utf8_lossy(value).into()),
        }
    }

    /// A coverage record for `place`.
    pub(crate) fn not_scanned(
        &self,
        place: &Place,
        reason: Reason,
        detail: &str,
        bytes: Option<u64>,
    ) -> NotScanned {
        not_scanned(place, reason, detail, bytes)
    }

    /// The outcome of an input scanned completely with no findings yet (its digest included).
    pub(crate) fn empty_outcome(&self, place: &Place, bytes: &[u8]) -> Outcome {
        let r = FileResult {
            located: Vec::new(),
            bytes: bytes.len() as u64,
            problem: None,
            sha256: self.config.hash_files.then(|| sha256_hex(bytes)),
            inline: None,
        };
        self.outcome(place, r)
    }

    /// Files at least this large are memory-mapped.
    pub(crate) fn mmap_threshold(&self) -> Option<u64> {
        self.config.mmap_threshold
    }

    /// Turns a file result into report items: masked findings, coverage, digest.
    pub(crate) fn outcome(&self, place: &Place, r: FileResult) -> Outcome {
        // The display path is worked out once, not per finding.
        let (path, path_base64) = display_path(&place.rel);
        let shown = (
            std::sync::Arc::<str>::from(path),
            path_base64.map(Box::<str>::from),
        );
        let mut located = r.located;
        let mut findings: Vec<Finding> = located
            .drain(..)
            .map(|l| self.finding(place, &shown, l))
            .collect();
        crate::windows::give_back_located(located);
        if let Some(policy) = &self.config.policy {
            policy.apply(&mut findings);
        }
        crate::breach::stamp(
            &mut findings,
            time::OffsetDateTime::now_utc(),
            self.config.policy.as_ref(),
        );
        let complete = r.problem.is_none();
        let not_scanned = r
            .problem
            .map(|(reason, detail)| {
                let scanned = (r.bytes > 0).then_some(r.bytes);
                not_scanned(place, reason, &detail, scanned)
            })
            .into_iter()
            .collect();
        let files = r
            .sha256
            .map(|sha256| ScannedFile {
                path: shown.0.to_string(),
                path_base64: shown.1.as_deref().map(String::from),
                root: place.root,
                inner: place.inner.clone(),
                size: r.bytes,
                sha256,
                etag: None,
                cached: false,
            })
            .into_iter()
            .collect();
        Outcome {
            findings,
            not_scanned,
            files,
            bytes: r.bytes,
            complete,
            inline: r.inline,
            later: None,
        }
    }

    fn finding(&self, place: &Place, shown: &(Arc<str>, Option<Box<str>>), l: Located) -> Finding {
        let raw = l.raw;
        let (path, path_base64) = shown.clone();
        Finding {
            kind: raw.kind,
            rule: raw.rule,
            severity: raw.severity,
            confidence: raw.confidence,
            location: Location::new(
                path,
                place.root,
                NonZeroU64::new(l.line),
                NonZeroU64::new(l.column),
                raw.span.start,
            )
            .with_path_base64(path_base64)
            .with_inner(place.inner.clone()),
            count: 1,
            evidence: self.evidence(raw.kind, &raw.value),
            attributes: raw.attributes,
            breach_notification: None,
        }
    }

    /// Puts a report together from what the walk skipped and the outcomes
    /// of the inputs, in the order given (the caller's order is the report's).
    pub fn assemble(
        &self,
        started: String,
        not_scanned_list: Vec<NotScanned>,
        outcomes: Vec<Outcome>,
    ) -> Report {
        let (mut report, known) =
            self.assemble_with(started, not_scanned_list, outcomes, Vec::new());
        self.finish(&mut report, known);
        report
    }

    /// [`Scanner::assemble`] without the evidence layer (suppressions,
    /// verdicts), for a caller that adds findings of its own first
    /// ([`Unfinished::insert_finding`], the object sweep's store findings)
    /// and then calls [`Scanner::finish_assembled`].
    pub fn assemble_unfinished(
        &self,
        started: String,
        not_scanned_list: Vec<NotScanned>,
        outcomes: Vec<Outcome>,
    ) -> Unfinished {
        let (report, known) = self.assemble_with(started, not_scanned_list, outcomes, Vec::new());
        Unfinished { report, known }
    }

    /// Runs the evidence layer over an [`Unfinished`] report.
    pub fn finish_assembled(&self, u: Unfinished) -> Report {
        let Unfinished { mut report, known } = u;
        self.finish(&mut report, known);
        report
    }

    /// Evidence layer: suppressions, then verdicts (files read back on
    /// this scan's threads).
    fn finish(&self, report: &mut Report, known: crate::post::KnownInline) {
        self.pool
            .install(|| crate::post::finish(report, &self.config, known));
    }

    /// [`Scanner::assemble`] plus findings about folders rather than files
    /// (face stores), merged into path order.
    fn assemble_with(
        &self,
        started: String,
        mut not_scanned_list: Vec<NotScanned>,
        outcomes: Vec<Outcome>,
        folders: Vec<Finding>,
    ) -> (Report, crate::post::KnownInline) {
        let mut files = Vec::new();
        let mut coverage = Coverage::default();
        let mut known = crate::post::KnownInline::default();
        // Cached findings: decoded in parallel, in place, when they all decode.
        let decoded = if outcomes.iter().any(|o| o.later.is_some()) {
            self.pool.install(|| decode_in_place(&outcomes))
        } else {
            None
        };
        let mut outcomes = outcomes;
        let mut parts: Vec<Vec<Finding>> = Vec::with_capacity(outcomes.len() + 1);
        let mut base = 0;
        if let Some(all) = decoded {
            for o in &mut outcomes {
                let n = o.finding_count();
                known.add(base, n, o.inline.take());
                base += n;
                o.later = None;
                o.findings = Vec::new();
                // Nothing left to count or move: the loop below sees no findings.
                o.inline = Some(Vec::new());
            }
            parts.push(all);
        }
        for mut o in outcomes {
            if let Some(later) = o.later.take() {
                let mut part = Vec::with_capacity(later.findings.count());
                if later.findings.decode_into(&mut part).is_some() {
                    for f in &mut part {
                        f.location.root = later.entry.root;
                        f.location.path = Arc::clone(&later.path);
                        f.location
                            .set_path_base64(later.path_base64.as_deref().map(Box::from));
                    }
                    known.add(base, part.len(), o.inline.take());
                    base += part.len();
                    parts.push(part);
                    o.findings = Vec::new();
                } else {
                    // A damaged cache value: the file is scanned again (and
                    // cached afresh, as any miss).
                    o = self.scan_file(&later.entry, false);
                }
            }
            // Files (of `files_scanned`), not the archive members listed with them.
            if o.complete {
                coverage.files_cached += o
                    .files
                    .iter()
                    .filter(|f| f.cached && f.inner.is_empty())
                    .count() as u64;
            }
            known.add(base, o.findings.len(), o.inline);
            base += o.findings.len();
            if !o.findings.is_empty() {
                parts.push(o.findings);
            }
            files.extend(o.files);
            coverage.bytes_scanned += o.bytes;
            if o.complete {
                coverage.files_scanned += 1;
            }
            not_scanned_list.extend(o.not_scanned);
        }
        // The files' lists are kept as they are (see [`crate::findings`]);
        // findings about folders (face stores, rare) are sorted in among
        // them in one list.
        let findings = if folders.is_empty() {
            crate::findings::Findings::from_parts(parts)
        } else {
            let mut findings = self.concat(parts, folders.len());
            findings.extend(folders);
            // Stable: offsets, rules and member order keep their order within a path.
            let mut order: Vec<usize> = (0..findings.len()).collect();
            order.sort_by(|&a, &b| {
                let (a, b) = (&findings[a].location, &findings[b].location);
                (a.root, &a.path).cmp(&(b.root, &b.path))
            });
            known.reorder(&order);
            let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
            let sorted: Vec<Finding> = order.iter().filter_map(|&i| slots[i].take()).collect();
            sorted.into()
        };
        not_scanned_list.sort_by(|a, b| {
            (a.root, &a.path, &a.inner, a.reason).cmp(&(b.root, &b.path, &b.inner, b.reason))
        });
        coverage.complete = not_scanned_list
            .iter()
            .all(|n| !n.reason.is_error() && !n.reason.is_limit());
        coverage.not_scanned = not_scanned_list;
        let finished = time::OffsetDateTime::now_utc();
        let personal = crate::breach::policy_window(self.config.policy.as_ref(), "personal");
        let window = personal.as_ref().map(|(w, b)| (w.as_str(), *b));
        // Two passes over every finding, side by side.
        let (mut summary, breach) = self.pool.install(|| {
            rayon::join(
                || Summary::of(&findings),
                || crate::breach::summarize(&findings, window),
            )
        });
        summary.breach_notification = breach;
        let report = Report {
            schema: REPORT_SCHEMA.into(),
            tool: Tool {
                name: "shekara".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ruleset: shekara_signatures::Ruleset::builtin().digest().into(),
            },
            scan: ScanInfo {
                roots: self.root_labels(),
                options: self.options(),
                started,
                finished: finished.format(&Rfc3339).unwrap_or_default(),
                fingerprint_key: self.key.id(),
            },
            findings,
            coverage,
            files,
            summary,
            verdicts: Vec::new(),
            suppressions: Vec::new(),
            stores: Vec::new(),
            partial: false,
        };
        (report, known)
    }

    /// The findings of `parts`, in order, in one list with room for `extra`
    /// more (the folder findings, sorted in among them). A report's hundreds
    /// of thousands of findings are moved by the pool's threads side by
    /// side, each into its own range of the list (see [`crate::concat`]).
    fn concat(&self, mut parts: Vec<Vec<Finding>>, extra: usize) -> Vec<Finding> {
        /// Below this many findings, one thread moves them.
        const PARALLEL_FROM: usize = 16 * 1024;
        let total: usize = parts.iter().map(Vec::len).sum();
        if parts.len() == 1 {
            let mut only = parts.pop().unwrap_or_default();
            only.reserve_exact(extra);
            return only;
        }
        let mut all = Vec::with_capacity(total + extra);
        if total < PARALLEL_FROM || self.pool.current_num_threads() < 2 {
            for p in parts {
                all.extend(p);
            }
            return all;
        }
        self.pool
            .install(|| crate::concat::Concat::new(parts).collect_into_vec(&mut all));
        all
    }

    fn root_labels(&self) -> Vec<String> {
        self.config
            .inputs
            .iter()
            .map(|i| match i {
                Input::Stdin => "-".to_string(),
                Input::Path(p) => display_path(&walk::path_bytes(p)).0,
            })
            .collect()
    }

    fn options(&self) -> BTreeMap<String, serde_json::Value> {
        let c = &self.config;
        let mut o = BTreeMap::new();
        o.insert("gitignore".into(), c.gitignore.into());
        o.insert("follow".into(), c.follow.into());
        o.insert("exclude".into(), c.exclude.clone().into());
        o.insert("max_file_size".into(), c.max_file_size.into());
        o.insert("reveal".into(), c.reveal.into());
        // Workflows (#6): present only when used, so other reports stay as they were.
        if let Some(shard) = c.shard {
            o.insert("shard".into(), shard.to_string().into());
        }
        if c.cache.is_some() {
            o.insert("cache".into(), true.into());
        }
        o
    }
}

/// Everything that changes what a scan finds or how it reports it: the
/// cache keeps results per context, so a change of any starts afresh.
fn cache_context(config: &Config, key: &FingerprintKey) -> String {
    let mut h = blake3::Hasher::new();
    for part in [
        env!("CARGO_PKG_VERSION"),
        shekara_signatures::Ruleset::builtin().digest(),
        &key.id(),
        if config.reveal { "reveal" } else { "masked" },
        // A policy changes severities and endpoint classes of findings.
        config
            .policy
            .as_ref()
            .map_or("no policy", |p| p.digest.as_str()),
        // Archive limits and the size limit decide what of an archive is read.
        &format!("{:?} {:?}", config.limits, config.max_file_size),
    ] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    h.finalize().to_hex()[..32].to_string()
}

/// The cache key of a file: its absolute path.
fn cache_key(path: &std::path::Path) -> Vec<u8> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    walk::path_bytes(&abs)
}

/// What the cache keeps of a file's outcome.
fn entry_of(stamp: crate::cache::Stamp, sha256: String, o: &Outcome) -> crate::cache::Entry {
    crate::cache::Entry {
        stamp,
        sha256,
        inline: o.inline.clone(),
        findings: o.findings.clone(),
        members: o
            .files
            .iter()
            .map(|f| crate::cache::Member {
                inner: f.inner.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
            })
            .collect(),
        not_scanned: o
            .not_scanned
            .iter()
            .map(|n| crate::cache::Unscanned {
                inner: n.inner.clone(),
                reason: n.reason,
                detail: n.detail.clone(),
                bytes_scanned: n.bytes_scanned,
            })
            .collect(),
        bytes: o.bytes,
        complete: o.complete,
    }
}

/// All findings of `outcomes`, in order, with cached ones decoded straight
/// into the list, in parallel: each job decodes a run of consecutive
/// findings, moving to a value's next finding as it goes (a job that starts
/// mid-value first reads past the findings before its own). `None` when a
/// cached value does not decode: the caller then takes them one outcome at
/// a time, scanning again what does not decode.
fn decode_in_place(outcomes: &[Outcome]) -> Option<Vec<Finding>> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut segs: Vec<(usize, &Outcome)> = Vec::new();
    let mut total = 0;
    for o in outcomes {
        let n = o.finding_count();
        if n > 0 {
            segs.push((total, o));
            total += n;
        }
    }
    let damaged = AtomicBool::new(false);
    // Per job: the segment and finding it is at, and the reader there.
    struct Cursor<'a> {
        seg: usize,
        next: usize,
        reader: Option<crate::cache::FindingReader<'a>>,
    }
    let mut out = Vec::new();
    (0..total)
        .into_par_iter()
        .with_min_len(4096)
        .map_init(
            || Cursor {
                seg: usize::MAX,
                next: 0,
                reader: None,
            },
            |c, i| {
                // The job's current segment or the next one, as a rule:
                // a search only where a job starts.
                let holds = |s: usize| {
                    segs.get(s).is_some_and(|&(start, _)| start <= i)
                        && segs
                            .get(s.wrapping_add(1))
                            .is_none_or(|&(next, _)| i < next)
                };
                let s = if holds(c.seg) {
                    c.seg
                } else if holds(c.seg.wrapping_add(1)) {
                    c.seg.wrapping_add(1)
                } else {
                    segs.partition_point(|&(start, _)| start <= i) - 1
                };
                let (start, o) = segs[s];
                let k = i - start;
                let Some(later) = &o.later else {
                    return o.findings[k].clone();
                };
                if c.seg != s || c.next != k {
                    c.seg = s;
                    c.next = 0;
                    c.reader = Some(later.findings.reader());
                }
                let Some(reader) = c.reader.as_mut() else {
                    return empty_finding();
                };
                while c.next < k {
                    if reader.next_finding().is_none() {
                        damaged.store(true, Ordering::Relaxed);
                        return empty_finding();
                    }
                    c.next += 1;
                }
                c.next += 1;
                let Some(mut f) = reader.next_finding() else {
                    damaged.store(true, Ordering::Relaxed);
                    return empty_finding();
                };
                if c.next == later.findings.count() && !reader.at_end() {
                    damaged.store(true, Ordering::Relaxed);
                }
                f.location.root = later.entry.root;
                f.location.path = Arc::clone(&later.path);
                f.location
                    .set_path_base64(later.path_base64.as_deref().map(Box::from));
                f
            },
        )
        .collect_into_vec(&mut out);
    (!damaged.load(Ordering::Relaxed)).then_some(out)
}

/// A cached result as the outcome of this file (at its place in this scan).
fn cached_outcome(place: &Place, hit: crate::cache::Entry) -> Outcome {
    let (path, path_base64) = display_path(&place.rel);
    let path: Arc<str> = path.into();
    let findings = hit
        .findings
        .into_iter()
        .map(|mut f| {
            f.location.root = place.root;
            f.location.path = Arc::clone(&path);
            f.location
                .set_path_base64(path_base64.as_deref().map(Box::from));
            f
        })
        .collect();
    let file = |inner: Vec<String>, size: u64, sha256: String| ScannedFile {
        path: path.to_string(),
        path_base64: path_base64.clone(),
        root: place.root,
        inner,
        size,
        sha256,
        etag: None,
        cached: true,
    };
    let files = hit
        .members
        .into_iter()
        .map(|m| file(m.inner, m.size, m.sha256))
        .collect();
    let not_scanned = hit
        .not_scanned
        .into_iter()
        .map(|n| NotScanned {
            path: path.to_string(),
            path_base64: path_base64.clone(),
            root: place.root,
            inner: n.inner,
            reason: n.reason,
            detail: n.detail,
            bytes_scanned: n.bytes_scanned,
        })
        .collect();
    Outcome {
        findings,
        not_scanned,
        files,
        bytes: hit.bytes,
        complete: hit.complete,
        inline: hit.inline,
        later: None,
    }
}

/// The inline suppressions of a file's findings, read back from the file.
fn inline_of(path: &std::path::Path, findings: &[Finding]) -> crate::cache::Inline {
    crate::suppress::inline(findings, |_| Some(path.to_path_buf()))
        .into_iter()
        .map(|s| (s.finding, s.reason.unwrap_or_default()))
        .collect()
}

struct Roots {
    paths: Vec<PathBuf>,
    stdin: Option<usize>,
}

fn num_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The current time, RFC 3339 UTC (the report's time format).
pub fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The archive format of an open file, by its first bytes (one positional read).
fn sniff_file(file: &File) -> Option<crate::unpack::Format> {
    use std::os::unix::fs::FileExt;
    let mut head = [0u8; crate::unpack::SNIFF_LEN];
    let mut len = 0;
    while len < head.len() {
        match file.read_at(&mut head[len..], len as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    crate::unpack::sniff(&head[..len])
}

/// Opens for reading without blocking on FIFOs (a file swapped for one after the walk).
fn open(path: &std::path::Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

fn os_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "vanished before it could be read".into(),
        _ => e.to_string(),
    }
}

/// Whether the file changed between the start and the end of its scan.
fn changed(file: &File, before: &Metadata, scanned: u64) -> Option<(Reason, String)> {
    let after = file.metadata().ok()?;
    if scanned < before.len() {
        return Some((
            Reason::ChangedDuringScan,
            format!(
                "file shrank while being scanned: {} bytes expected, {scanned} read",
                before.len()
            ),
        ));
    }
    if after.len() != before.len()
        || after.mtime() != before.mtime()
        || after.mtime_nsec() != before.mtime_nsec()
    {
        return Some((
            Reason::ChangedDuringScan,
            format!(
                "file was modified while being scanned (size {} → {})",
                before.len(),
                after.len()
            ),
        ));
    }
    None
}

pub(crate) fn display_path(rel: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(rel) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (
            String::from_utf8_lossy(rel).into_owned(),
            Some(base64::engine::general_purpose::STANDARD.encode(rel)),
        ),
    }
}

pub(crate) fn not_scanned(
    place: &Place,
    reason: Reason,
    detail: &str,
    bytes: Option<u64>,
) -> NotScanned {
    let (path, path_base64) = display_path(&place.rel);
    NotScanned {
        path,
        path_base64,
        root: place.root,
        inner: place.inner.clone(),
        reason,
        detail: detail.to_string(),
        bytes_scanned: bytes,
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A reader that hashes what passes through it, when asked to.
struct HashingReader<'r> {
    inner: &'r mut dyn Read,
    hasher: Option<Sha256>,
}

impl<'r> HashingReader<'r> {
    fn new(inner: &'r mut dyn Read, hash: bool) -> HashingReader<'r> {
        HashingReader {
            inner,
            hasher: hash.then(Sha256::new),
        }
    }

    fn finish(self) -> Option<String> {
        self.hasher.map(|h| hex(&h.finalize()))
    }
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// A finding with nothing in it (no allocation), a place holder that
/// [`Scanner::concat`] and [`decode_in_place`] overwrite (or, for a
/// damaged cache value, leave behind to be thrown away).
fn empty_finding() -> Finding {
    Finding {
        kind: shekara_detectors::Kind::Iin,
        rule: "".into(),
        severity: shekara_detectors::Severity::Info,
        confidence: shekara_detectors::Confidence::Low,
        // The empty shared strings: the one static copy, no allocation.
        location: crate::model::Location::at(Arc::<str>::default(), 0),
        count: 0,
        evidence: Evidence {
            masked: Arc::default(),
            fingerprint: Arc::default(),
            raw: None,
        },
        attributes: shekara_detectors::Attributes::new(),
        breach_notification: None,
    }
}
