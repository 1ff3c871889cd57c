//! The parallel driver: walk, then scan every file on a rayon pool.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

use base64::Engine as _;
use globset::{Glob, GlobSetBuilder};
use rayon::prelude::*;
use shekara_detectors::Engine;
use time::format_description::well_known::Rfc3339;

use crate::evidence::{mask, FingerprintKey};
use crate::model::{
    Coverage, Evidence, Finding, Location, NotScanned, Reason, Report, ScanInfo, Summary, Tool,
    REPORT_SCHEMA,
};
use crate::walk::{self, Entry, WalkOptions, Walked};
use crate::windows::{InputScan, Located};
use crate::{Config, Error, Input, Progress, Sink};

/// Files up to this size that a whole-file detector wants are read whole.
const WHOLE_FILE_LIMIT: u64 = 16 << 20;
/// Owned bytes per parallel segment of a memory-mapped file.
const SEGMENT: usize = 8 << 20;

/// A configured scan, ready to run.
#[derive(Debug)]
pub struct Scanner {
    config: Config,
    engine: Engine,
    key: FingerprintKey,
    walk: WalkOptions,
    pool: rayon::ThreadPool,
}

/// A file's findings, its coverage problem if any, and the bytes scanned.
type FileOut = (Vec<Finding>, Option<NotScanned>, u64);

/// The outcome of scanning one file.
struct FileResult {
    located: Vec<Located>,
    bytes: u64,
    problem: Option<(Reason, String)>,
}

impl FileResult {
    fn failed(reason: Reason, detail: String) -> FileResult {
        FileResult {
            located: Vec::new(),
            bytes: 0,
            problem: Some((reason, detail)),
        }
    }
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Scanner {
    /// Checks the configuration and builds the engine and thread pool.
    ///
    /// # Errors
    /// A bad exclude glob, no thread pool, or no fingerprint key.
    pub fn new(config: Config) -> Result<Scanner, Error> {
        Scanner::with_engine(config, Engine::builtin())
    }

    /// Like [`Scanner::new`] with a given engine (benchmarks, tests).
    ///
    /// # Errors
    /// As [`Scanner::new`].
    pub fn with_engine(config: Config, engine: Engine) -> Result<Scanner, Error> {
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
        };
        Ok(Scanner {
            config,
            engine,
            key,
            walk,
            pool,
        })
    }

    /// The engine this scanner runs.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs the scan, feeding `sink` as results come and `progress` counters.
    ///
    /// # Errors
    /// When a root does not exist or cannot be read. Problems with files
    /// below a root never stop the scan: they are recorded in coverage.
    pub fn run(&self, sink: &dyn Sink, progress: &Progress) -> Result<Report, Error> {
        let started = now();
        let roots = self.check_roots()?;
        let walked = self.pool.install(|| walk::walk(&roots.paths, &self.walk));
        let skipped: Vec<NotScanned> = walked
            .skipped
            .iter()
            .map(|s| not_scanned(s.root, &s.rel, s.reason, &s.detail, None))
            .collect();
        for s in &skipped {
            sink.skipped(s);
        }
        let results = self.scan_files(&walked, sink, progress);
        let stdin = roots.stdin.map(|ri| self.scan_stdin(ri, sink, progress));
        let folders = self.folder_findings(&walked, &results, sink);
        Ok(self.assemble(started, skipped, results, stdin, folders))
    }

    /// Face stores and model files by name, over the walked list (see
    /// [`crate::facestore`]), stamped with their notification deadline.
    fn folder_findings(
        &self,
        walked: &Walked,
        results: &[FileOut],
        sink: &dyn Sink,
    ) -> Vec<Finding> {
        let models_found = results
            .iter()
            .flat_map(|(f, _, _)| f)
            .filter(|f| f.kind == shekara_detectors::Kind::BiometricModel)
            .map(|f| (f.location.root, f.location.path.clone()))
            .collect();
        let cx = crate::facestore::Context {
            key: &self.key,
            reveal: self.config.reveal,
            models_found,
        };
        let mut found = self
            .pool
            .install(|| crate::facestore::folder_findings(&walked.files, &cx));
        crate::breach::stamp(&mut found, time::OffsetDateTime::now_utc());
        if !found.is_empty() {
            sink.file(usize::MAX, &found, None);
        }
        found
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

    fn scan_files(&self, walked: &Walked, sink: &dyn Sink, progress: &Progress) -> Vec<FileOut> {
        let files = &walked.files;
        progress
            .files_total
            .store(files.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let total: u64 = files.iter().map(|e| e.size).sum();
        progress
            .bytes_total
            .store(total, std::sync::atomic::Ordering::Relaxed);
        self.pool.install(|| {
            files
                .par_iter()
                .enumerate()
                .map(|(i, e)| {
                    let r = BUF.with(|b| self.scan_entry(e, &mut b.borrow_mut()));
                    let (findings, problem) =
                        self.report_file(e.root, &e.rel, r.located, r.problem, r.bytes);
                    sink.file(i, &findings, problem.as_ref());
                    progress.add(1, r.bytes, findings.len() as u64);
                    (findings, problem, r.bytes)
                })
                .collect()
        })
    }

    fn scan_stdin(&self, root: usize, sink: &dyn Sink, progress: &Progress) -> FileOut {
        let mut scan = InputScan::new(&self.engine, "-");
        let mut buf = Vec::new();
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        let (bytes, problem) = match scan.reader(&mut lock, u64::MAX, self.config.window, &mut buf)
        {
            Ok(n) => (n, None),
            Err((e, n)) => (n, Some((Reason::ReadError, e.to_string()))),
        };
        let (findings, problem) = self.report_file(root, b"-", scan.finish(), problem, bytes);
        sink.file(usize::MAX, &findings, problem.as_ref());
        progress.add(1, bytes, findings.len() as u64);
        (findings, problem, bytes)
    }

    fn scan_entry(&self, e: &Entry, buf: &mut Vec<u8>) -> FileResult {
        let file = match open(&e.path) {
            Ok(f) => f,
            Err(err) => return FileResult::failed(Reason::Unreadable, os_error(&err)),
        };
        let before = match file.metadata() {
            Ok(m) => m,
            Err(err) => return FileResult::failed(Reason::Unreadable, os_error(&err)),
        };
        if !before.is_file() {
            return FileResult::failed(
                Reason::SpecialFile,
                "no longer a regular file when opened".into(),
            );
        }
        let size = before.len();
        if let Some(max) = self.config.max_file_size.filter(|&m| size > m) {
            return FileResult::failed(
                Reason::TooLarge,
                format!("{size} bytes > --max-file-size {max}"),
            );
        }
        let path = String::from_utf8_lossy(&e.rel);
        let mut r = self.read_and_scan(&file, &e.path, &path, size, buf);
        if r.problem.is_none() {
            r.problem = changed(&file, &before, r.bytes);
        }
        r
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
        if size <= WHOLE_FILE_LIMIT && self.engine.wants_whole_file(path) {
            hook();
            return self.scan_whole(file, path, size, buf);
        }
        if self.config.mmap_threshold.is_some_and(|t| size >= t.max(1)) {
            if let Ok(Some(map)) = crate::mmap::GuardedMap::new(file) {
                hook();
                let located = self.scan_mapped(map.bytes(), path);
                let problem = map.faulted().then(|| (Reason::ChangedDuringScan, "file shrank while being scanned; the part past its new end was not scanned".to_string()));
                return FileResult {
                    located,
                    bytes: size,
                    problem,
                };
            }
        }
        hook();
        let mut scan = InputScan::new(&self.engine, path);
        let mut reader: &File = file;
        match scan.reader(&mut reader, size, self.config.window, buf) {
            Ok(n) => FileResult {
                located: scan.finish(),
                bytes: n,
                problem: None,
            },
            Err((err, n)) => FileResult {
                located: scan.finish(),
                bytes: n,
                problem: Some((
                    Reason::ReadError,
                    format!("{} after {n} bytes", os_error(&err)),
                )),
            },
        }
    }

    fn scan_whole(&self, file: &File, path: &str, size: u64, buf: &mut Vec<u8>) -> FileResult {
        buf.clear();
        let reader: &File = file;
        if let Err(err) = reader.take(size).read_to_end(buf) {
            return FileResult::failed(Reason::ReadError, os_error(&err));
        }
        let mut scan = InputScan::new(&self.engine, path);
        scan.slice(buf, self.config.window);
        scan.whole_file(buf);
        FileResult {
            located: scan.finish(),
            bytes: buf.len() as u64,
            problem: None,
        }
    }

    /// Scans a mapped file in segments, in parallel, then joins their line counts.
    fn scan_mapped(&self, bytes: &[u8], path: &str) -> Vec<Located> {
        let segments: Vec<usize> = (0..bytes.len()).step_by(SEGMENT).collect();
        let parts: Vec<(Vec<Located>, u64, Option<u64>)> = segments
            .par_iter()
            .map(|&start| {
                let end = (start + SEGMENT).min(bytes.len());
                let mut scan = InputScan::new(&self.engine, path);
                scan.slice_range(bytes, start..end, self.config.window);
                let (newlines, last) = scan.line_totals();
                (scan.finish(), newlines, last)
            })
            .collect();
        let mut out = Vec::new();
        let (mut newlines_before, mut last_newline) = (0u64, None::<u64>);
        for (located, newlines, last) in parts {
            for mut l in located {
                if l.line == 1 {
                    let line_start = last_newline.map_or(0, |p| p + 1);
                    l.column = l.raw.span.start - line_start + 1;
                }
                l.line += newlines_before;
                out.push(l);
            }
            newlines_before += newlines;
            last_newline = last.or(last_newline);
        }
        out
    }

    fn report_file(
        &self,
        root: usize,
        rel: &[u8],
        located: Vec<Located>,
        problem: Option<(Reason, String)>,
        bytes: u64,
    ) -> (Vec<Finding>, Option<NotScanned>) {
        // The file's display path is worked out once, not per finding.
        let shown = display_path(rel);
        let mut findings: Vec<Finding> = located
            .into_iter()
            .map(|l| self.finding(root, &shown, l))
            .collect();
        crate::breach::stamp(&mut findings, time::OffsetDateTime::now_utc());
        let problem = problem.map(|(reason, detail)| {
            let scanned = (bytes > 0).then_some(bytes);
            not_scanned(root, rel, reason, &detail, scanned)
        });
        (findings, problem)
    }

    fn finding(&self, root: usize, shown: &(String, Option<String>), l: Located) -> Finding {
        let raw = l.raw;
        let (path, path_base64) = shown.clone();
        Finding {
            kind: raw.kind,
            rule: raw.rule,
            severity: raw.severity,
            confidence: raw.confidence,
            location: Location {
                path,
                path_base64,
                root,
                inner: Vec::new(),
                line: Some(l.line),
                column: Some(l.column),
                byte_offset: raw.span.start,
            },
            count: 1,
            evidence: Evidence {
                masked: mask(raw.kind, &raw.value),
                fingerprint: self.key.fingerprint(&raw.value),
                raw: self
                    .config
                    .reveal
                    .then(|| String::from_utf8_lossy(&raw.value).into_owned()),
            },
            attributes: raw.attributes,
            breach_notification: None,
        }
    }

    fn assemble(
        &self,
        started: String,
        mut not_scanned_list: Vec<NotScanned>,
        results: Vec<FileOut>,
        stdin: Option<FileOut>,
        folders: Vec<Finding>,
    ) -> Report {
        let mut findings = Vec::new();
        let mut coverage = Coverage::default();
        for (f, problem, bytes) in results.into_iter().chain(stdin) {
            findings.extend(f);
            coverage.bytes_scanned += bytes;
            match problem {
                Some(p) => not_scanned_list.push(p),
                None => coverage.files_scanned += 1,
            }
        }
        if !folders.is_empty() {
            findings.extend(folders);
            // Stable: offsets and rules keep their order within a path.
            findings.sort_by(|a, b| {
                (a.location.root, &a.location.path).cmp(&(b.location.root, &b.location.path))
            });
        }
        not_scanned_list
            .sort_by(|a, b| (a.root, &a.path, a.reason).cmp(&(b.root, &b.path, b.reason)));
        coverage.complete = not_scanned_list
            .iter()
            .all(|n| !n.reason.is_error() && n.reason != Reason::TooLarge);
        coverage.not_scanned = not_scanned_list;
        let finished = time::OffsetDateTime::now_utc();
        let mut summary = Summary::of(&findings);
        summary.breach_notification = crate::breach::summarize(&findings);
        Report {
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
            summary,
        }
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
        o
    }
}

struct Roots {
    paths: Vec<PathBuf>,
    stdin: Option<usize>,
}

fn num_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
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

fn display_path(rel: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(rel) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (
            String::from_utf8_lossy(rel).into_owned(),
            Some(base64::engine::general_purpose::STANDARD.encode(rel)),
        ),
    }
}

fn not_scanned(
    root: usize,
    rel: &[u8],
    reason: Reason,
    detail: &str,
    bytes: Option<u64>,
) -> NotScanned {
    let (path, path_base64) = display_path(rel);
    NotScanned {
        path,
        path_base64,
        root,
        inner: Vec::new(),
        reason,
        detail: detail.to_string(),
        bytes_scanned: bytes,
    }
}
