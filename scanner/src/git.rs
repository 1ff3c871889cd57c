//! Git sources: the staged index (`--staged`, for pre-commit hooks) and the
//! whole history (`--history`), read as blobs, never from the working tree.
//!
//! This drives the `git` command (`git diff --cached --raw`, `git log
//! --raw`, `git cat-file --batch`) instead of linking a git library: git is
//! wherever a repository is, it reads every repository format and
//! extension git itself writes, and the `gix` crate would add well over a
//! hundred crates to a CI build that has 20 minutes on two cores. Blobs
//! stream through one `cat-file --batch` process into the scanner's pool.
//!
//! Pre-commit start-up ([`Staging`]): the three git processes a staged scan
//! needs (`rev-parse --show-toplevel`, `diff-index --cached HEAD`, `cat-file
//! --batch`) are started at once, before the detectors are built, so their
//! start-up and the index read overlap with each other and with building the
//! engine. `diff-index --cached` is plumbing: it compares the index with
//! HEAD's tree without looking at the working tree or refreshing the index
//! (`git diff --cached`, porcelain, costs about twice as much on a
//! 100,000-file index).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rayon::prelude::*;

use crate::model::{NotScanned, Reason, Report};
use crate::{Error, Outcome, Place, Progress, Scanner, Sink};

/// Which blobs of a repository to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The blobs staged in the index that differ from HEAD (added, copied,
    /// modified, type-changed): exactly what the next commit adds.
    Staged,
    /// Every blob introduced by a commit reachable from any ref, each unique
    /// blob once, located at the commit that first introduced it.
    History {
        /// Only commits not reachable from this revision.
        since: Option<String>,
    },
}

/// A blob to scan, where it was found.
#[derive(Clone, Debug)]
struct Blob {
    id: String,
    path: Vec<u8>,
    commit: Option<(String, String)>,
}

/// The top-level directory of the repository holding `path`.
///
/// # Errors
/// When `path` is not inside a git work tree, or git cannot be run.
pub fn toplevel(path: &Path) -> Result<PathBuf, Error> {
    let out = git(path, &["rev-parse", "--show-toplevel"])?;
    let text = String::from_utf8_lossy(&out);
    Ok(PathBuf::from(text.trim_end_matches(['\n', '\r'])))
}

/// `git -C dir ARGS…` that never takes optional locks (a hook must not
/// race the user's own git commands for `index.lock`).
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--no-optional-locks")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0");
    cmd
}

fn spawn(mut cmd: Command, stdin: Stdio) -> Result<Child, Error> {
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Git(format!("cannot run git: {e} (is git installed?)")))
}

/// Waits for a spawned git and returns its output, or its error message.
fn output(child: Child, args: &[&str], dir: &Path) -> Result<Vec<u8>, Error> {
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
    checked(out, args, dir)
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, Error> {
    let out = command(dir, args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git(format!("cannot run git: {e} (is git installed?)")))?;
    checked(out, args, dir)
}

fn checked(out: std::process::Output, args: &[&str], dir: &Path) -> Result<Vec<u8>, Error> {
    if !out.status.success() {
        return Err(Error::Git(format!(
            "git {} failed in '{}': {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// One record of `git diff/log --raw -z`: `:oldmode newmode old new status`.
struct Raw<'a> {
    new_mode: &'a str,
    new_id: &'a str,
}

fn parse_raw(meta: &[u8]) -> Option<Raw<'_>> {
    let meta = std::str::from_utf8(meta).ok()?;
    let mut parts = meta.trim_start_matches('\n').strip_prefix(':')?.split(' ');
    let _old_mode = parts.next()?;
    let new_mode = parts.next()?;
    let _old_id = parts.next()?;
    let new_id = parts.next()?;
    Some(Raw { new_mode, new_id })
}

/// What becomes of an entry of this mode: scanned, or recorded as not scanned.
fn unscannable(mode: &str) -> Option<(Reason, &'static str)> {
    match mode {
        "160000" => Some((
            Reason::SpecialFile,
            "a submodule (gitlink): scan it in its own repository",
        )),
        "120000" => Some((
            Reason::SymlinkNotFollowed,
            "a symbolic link: its target is scanned where it lives",
        )),
        _ => None,
    }
}

/// Paths recorded as not scanned, with the reason and details.
type Skips = Vec<(Vec<u8>, Reason, String)>;

/// `diff-index --cached HEAD`: the index against HEAD's tree, without
/// the working tree.
const DIFF_INDEX: [&str; 8] = [
    "diff-index",
    "--cached",
    "--raw",
    "-z",
    "--no-renames",
    "--no-abbrev",
    "--diff-filter=ACMT",
    "HEAD",
];
/// The same with the porcelain, which also handles a repository without
/// commits yet (an unborn HEAD: everything staged is new).
const DIFF_CACHED: [&str; 7] = [
    "diff",
    "--cached",
    "--raw",
    "-z",
    "--no-renames",
    "--no-abbrev",
    "--diff-filter=ACMT",
];

/// A staged scan's git processes, started together (see the module docs).
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    toplevel: Option<Child>,
    top: Option<PathBuf>,
    listing: Option<Child>,
    batch: Option<Child>,
}

impl Staging {
    /// Starts `rev-parse --show-toplevel`, `diff-index --cached HEAD` and
    /// `cat-file --batch` in the repository holding `dir`.
    ///
    /// # Errors
    /// When git cannot be run.
    pub fn start(dir: &Path) -> Result<Staging, Error> {
        Ok(Staging {
            dir: dir.to_path_buf(),
            toplevel: Some(spawn(
                command(dir, &["rev-parse", "--show-toplevel"]),
                Stdio::null(),
            )?),
            top: None,
            listing: Some(spawn(command(dir, &DIFF_INDEX), Stdio::null())?),
            batch: Some(spawn(
                command(dir, &["cat-file", "--batch"]),
                Stdio::piped(),
            )?),
        })
    }

    /// The repository's top level (paths of the scan are relative to it).
    ///
    /// # Errors
    /// When `dir` is not inside a git work tree.
    pub fn toplevel(&mut self) -> Result<PathBuf, Error> {
        if let Some(child) = self.toplevel.take() {
            let args = ["rev-parse", "--show-toplevel"];
            let out = output(child, &args, &self.dir)?;
            let text = String::from_utf8_lossy(&out);
            self.top = Some(PathBuf::from(text.trim_end_matches(['\n', '\r'])));
        }
        self.top
            .clone()
            .ok_or_else(|| Error::Git("no top level".into()))
    }

    /// The staged blobs, from the listing started with the others.
    fn blobs(&mut self) -> Result<(Vec<Blob>, Skips), Error> {
        let listed = match self.listing.take() {
            Some(child) => output(child, &DIFF_INDEX, &self.dir),
            None => Err(Error::Git("listed already".into())),
        };
        match listed {
            Ok(out) => parse_staged(&out),
            // No commit yet (or another reason diff-index refuses): the
            // porcelain knows what to compare with, and reports real errors.
            Err(_) => parse_staged(&git(&self.dir, &DIFF_CACHED)?),
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for child in [&mut self.toplevel, &mut self.listing, &mut self.batch]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The staged blobs that differ from HEAD, from `git diff --cached --raw -z`.
fn staged_blobs(top: &Path) -> Result<(Vec<Blob>, Skips), Error> {
    let mut staging = Staging {
        dir: top.to_path_buf(),
        toplevel: None,
        top: Some(top.to_path_buf()),
        listing: Some(spawn(command(top, &DIFF_INDEX), Stdio::null())?),
        batch: None,
    };
    staging.blobs()
}

/// Parses `--raw -z` records of staged changes.
fn parse_staged(out: &[u8]) -> Result<(Vec<Blob>, Skips), Error> {
    let mut tokens = out.split(|&b| b == 0).filter(|t| !t.is_empty());
    let (mut blobs, mut skipped) = (Vec::new(), Vec::new());
    while let (Some(meta), Some(path)) = (tokens.next(), tokens.next()) {
        let raw = parse_raw(meta)
            .ok_or_else(|| Error::Git("unexpected output from git diff --raw".into()))?;
        match unscannable(raw.new_mode) {
            Some((reason, detail)) => skipped.push((path.to_vec(), reason, detail.to_string())),
            None => blobs.push(Blob {
                id: raw.new_id.to_string(),
                path: path.to_vec(),
                commit: None,
            }),
        }
    }
    Ok((blobs, skipped))
}

/// Streams `git log --all --raw` and keeps the first commit (oldest first)
/// that introduced each blob.
fn history_blobs(top: &Path, since: Option<&str>) -> Result<(Vec<Blob>, Skips), Error> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(top).args([
        "log",
        "--all",
        "-m",
        "--raw",
        "-z",
        "--no-renames",
        "--no-abbrev",
        "--diff-filter=ACMT",
        "--reverse",
        "--date-order",
        "--format=%x01%H %aI",
    ]);
    if let Some(rev) = since {
        cmd.args(["--not", rev, "--"]);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Git(format!("cannot run git: {e} (is git installed?)")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Git("no git output".into()))?;
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut blobs = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut commit: Option<(String, String)> = None;
    let mut token = Vec::new();
    let mut pending_meta: Option<Vec<u8>> = None;
    loop {
        token.clear();
        if reader
            .read_until(0, &mut token)
            .map_err(|e| Error::Git(e.to_string()))?
            == 0
        {
            break;
        }
        if token.last() == Some(&0) {
            token.pop();
        }
        let t = trim_newlines(&token);
        if let Some(header) = t.strip_prefix(b"\x01") {
            let h = String::from_utf8_lossy(header);
            let (id, date) = h.split_once(' ').unwrap_or((&h, ""));
            commit = Some((id.to_string(), date.to_string()));
            continue;
        }
        let Some(meta) = pending_meta.take() else {
            if t.starts_with(b":") {
                pending_meta = Some(t.to_vec());
            }
            continue;
        };
        let Some(raw) = parse_raw(&meta) else {
            continue;
        };
        if !seen.insert(raw.new_id.to_string()) {
            continue;
        }
        match unscannable(raw.new_mode) {
            Some(_) => {} // links and submodules in history: nothing of ours to read
            None => blobs.push(Blob {
                id: raw.new_id.to_string(),
                path: t.to_vec(),
                commit: commit.clone(),
            }),
        }
    }
    finish(child, "log")?;
    Ok((blobs, Vec::new()))
}

fn trim_newlines(t: &[u8]) -> &[u8] {
    let start = t.iter().position(|&b| b != b'\n').unwrap_or(t.len());
    &t[start..]
}

fn finish(mut child: Child, what: &str) -> Result<(), Error> {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().map_err(|e| Error::Git(e.to_string()))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Git(format!("git {what} failed: {}", err.trim())))
    }
}

/// A blob read from `cat-file --batch`, or why it could not be.
enum Fetched {
    Bytes(Vec<u8>),
    TooLarge(u64),
    Missing(String),
}

/// Reads the blobs' contents in order from one `git cat-file --batch`,
/// handing each to `each` (ids are written from another thread so neither
/// pipe fills up).
fn cat_blobs(
    mut child: Child,
    blobs: &[Blob],
    max: Option<u64>,
    mut each: impl FnMut(usize, Fetched),
) -> Result<(), Error> {
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::Git("no git input".into()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Git("no git output".into()))?;
    let ids: Vec<String> = blobs.iter().map(|b| b.id.clone()).collect();
    let writer = std::thread::spawn(move || {
        let mut w = std::io::BufWriter::new(&mut stdin);
        for id in ids {
            if writeln!(w, "{id}").is_err() {
                break;
            }
        }
        let _ = w.flush();
    });
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut header = String::new();
    for i in 0..blobs.len() {
        header.clear();
        if reader
            .read_line(&mut header)
            .map_err(|e| Error::Git(e.to_string()))?
            == 0
        {
            return Err(Error::Git("git cat-file ended early".into()));
        }
        let fields: Vec<&str> = header.trim_end().split(' ').collect();
        let size = match fields.as_slice() {
            [_, "blob", size] => size.parse::<u64>().ok(),
            _ => None,
        };
        let Some(size) = size else {
            each(i, Fetched::Missing(header.trim_end().to_string()));
            continue;
        };
        let mut bytes = Vec::new();
        let too_large = max.is_some_and(|m| size > m);
        let copied = if too_large {
            std::io::copy(&mut (&mut reader).take(size), &mut std::io::sink())
        } else {
            bytes.reserve(usize::try_from(size).unwrap_or(0));
            std::io::copy(&mut (&mut reader).take(size), &mut bytes)
        };
        copied.map_err(|e| Error::Git(format!("reading a blob from git: {e}")))?;
        let mut nl = [0u8; 1];
        reader
            .read_exact(&mut nl)
            .map_err(|e| Error::Git(format!("reading a blob from git: {e}")))?;
        each(
            i,
            if too_large {
                Fetched::TooLarge(size)
            } else {
                Fetched::Bytes(bytes)
            },
        );
    }
    let _ = writer.join();
    finish(child, "cat-file")
}

impl Scanner {
    /// Scans the blobs of the repository at `repo` (its top level: paths are
    /// relative to it and belong to root 0) that `source` selects.
    ///
    /// # Errors
    /// When git cannot be run or fails (not a repository, a bad `--since`
    /// revision).
    pub fn scan_git(
        &self,
        repo: &Path,
        source: &Source,
        sink: &dyn Sink,
        progress: &Progress,
    ) -> Result<Report, Error> {
        match source {
            Source::Staged => {
                let mut staging = Staging::start(repo)?;
                self.scan_staged(&mut staging, sink, progress)
            }
            Source::History { .. } => self.scan_source(repo, source, None, sink, progress),
        }
    }

    /// Scans the staged blobs with the git processes `staging` started
    /// (see [`Staging`]): paths are relative to its top level, root 0.
    ///
    /// # Errors
    /// When git cannot be run or fails (not a repository).
    pub fn scan_staged(
        &self,
        staging: &mut Staging,
        sink: &dyn Sink,
        progress: &Progress,
    ) -> Result<Report, Error> {
        let top = staging.toplevel()?;
        self.scan_source(&top, &Source::Staged, Some(staging), sink, progress)
    }

    fn scan_source(
        &self,
        repo: &Path,
        source: &Source,
        staging: Option<&mut Staging>,
        sink: &dyn Sink,
        progress: &Progress,
    ) -> Result<Report, Error> {
        let started = crate::timestamp();
        let mut batch = None;
        let (mut blobs, mut skipped) = match (source, staging) {
            (Source::Staged, Some(staging)) => {
                batch = staging.batch.take();
                staging.blobs()?
            }
            (Source::Staged, None) => staged_blobs(repo)?,
            (Source::History { since }, _) => history_blobs(repo, since.as_deref())?,
        };
        let mut seen_excluded = HashSet::new();
        blobs.retain(|b| {
            let out = self.excludes(&b.path);
            if out && seen_excluded.insert(b.path.clone()) {
                let why = crate::walk::EXCLUDED_DETAIL.into();
                skipped.push((b.path.clone(), Reason::Excluded, why));
            }
            !out
        });
        if let Some(shard) = self.config().shard {
            blobs.retain(|b| shard.owns(&b.path));
            skipped.retain(|(path, _, _)| shard.owns(path));
        }
        // Report order: by path (as a walk), oldest first within a path; a
        // path lives in one shard, so merged shards keep this order.
        blobs.sort_by(|a, b| a.path.cmp(&b.path));
        let skipped: Vec<NotScanned> = skipped
            .into_iter()
            .map(|(path, reason, detail)| not_scanned(&path, reason, detail, None))
            .collect();
        for s in &skipped {
            sink.skipped(s);
        }
        progress
            .files_total
            .store(blobs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let batch = match batch {
            Some(b) => b,
            None => spawn(command(repo, &["cat-file", "--batch"]), Stdio::piped())?,
        };
        let mut outcomes = self.scan_blobs(batch, &blobs, sink, progress)?;
        outcomes.sort_by_key(|(i, _)| *i);
        let outcomes = outcomes.into_iter().map(|(_, o)| o).collect();
        let mut report = self.assemble(started, skipped, outcomes);
        let mode = match source {
            Source::Staged => "staged",
            Source::History { .. } => "history",
        };
        report.scan.options.insert("git".into(), mode.into());
        if let Source::History { since: Some(rev) } = source {
            report
                .scan
                .options
                .insert("since".into(), rev.clone().into());
        }
        Ok(report)
    }

    /// Reads blobs on this thread and scans them on the pool.
    fn scan_blobs(
        &self,
        batch: Child,
        blobs: &[Blob],
        sink: &dyn Sink,
        progress: &Progress,
    ) -> Result<Vec<(usize, Outcome)>, Error> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Fetched)>(64);
        let max = self.config().max_file_size;
        let scan_one = |(i, read): (usize, Fetched)| {
            let blob = &blobs[i];
            let place = Place::file(0, blob.path.clone());
            let mut outcome = match read {
                Fetched::Bytes(bytes) => self.scan_bytes(&place, &bytes),
                Fetched::TooLarge(size) => Outcome {
                    not_scanned: vec![not_scanned(
                        &blob.path,
                        Reason::TooLarge,
                        format!("{size} bytes > --max-file-size {}", max.unwrap_or(0)),
                        None,
                    )],
                    ..Outcome::default()
                },
                Fetched::Missing(what) => Outcome {
                    not_scanned: vec![not_scanned(
                        &blob.path,
                        Reason::Unreadable,
                        format!("git has no blob {} ({what})", blob.id),
                        None,
                    )],
                    ..Outcome::default()
                },
            };
            if let Some((commit, date)) = &blob.commit {
                for f in &mut outcome.findings {
                    f.location.set_commit(Some(commit.as_str().into()));
                    f.location.set_author_date(Some(date.as_str().into()));
                }
                for n in &mut outcome.not_scanned {
                    n.detail = format!("{} (commit {commit})", n.detail);
                }
            }
            sink.file(usize::MAX, &outcome);
            progress.add(1, outcome.bytes, outcome.findings.len() as u64);
            (i, outcome)
        };
        std::thread::scope(|s| {
            let worker = s.spawn(|| {
                self.install(|| {
                    rx.into_iter()
                        .par_bridge()
                        .map(scan_one)
                        .collect::<Vec<_>>()
                })
            });
            let read = cat_blobs(batch, blobs, max, |i, r| {
                let _ = tx.send((i, r));
            });
            drop(tx);
            let outcomes = worker
                .join()
                .map_err(|_| Error::Git("a scan worker panicked".into()))?;
            read.map(|()| outcomes)
        })
    }
}

fn not_scanned(path: &[u8], reason: Reason, detail: String, bytes: Option<u64>) -> NotScanned {
    let (shown, b64) = match std::str::from_utf8(path) {
        Ok(s) => (s.to_string(), None),
        Err(_) => {
            use base64::Engine as _;
            (
                String::from_utf8_lossy(path).into_owned(),
                Some(base64::engine::general_purpose::STANDARD.encode(path)),
            )
        }
    };
    NotScanned {
        path: shown,
        path_base64: b64,
        root: 0,
        inner: Vec::new(),
        reason,
        detail,
        bytes_scanned: bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_records_parse() {
        let r = parse_raw(b"\n:100644 100755 aaaa bbbb M").unwrap();
        assert_eq!((r.new_mode, r.new_id), ("100755", "bbbb"));
        assert!(parse_raw(b"garbage").is_none());
        assert!(unscannable("160000").is_some());
        assert!(unscannable("100644").is_none());
    }
}
