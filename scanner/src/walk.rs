//! Enumerating what to scan: a parallel walk of each root.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use globset::GlobSet;
use ignore::{WalkBuilder, WalkState};

use crate::model::Reason;

/// A regular file to scan.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Index of its root.
    pub root: usize,
    /// Path to open.
    pub path: PathBuf,
    /// Path relative to the root, `/`-separated raw bytes.
    pub rel: Vec<u8>,
    /// Size when enumerated, when the walk was asked to `stat` every
    /// file ([`WalkOptions::stat`]); the scan takes the size of the open file.
    pub size: Option<u64>,
    /// Its identity and state when enumerated (the walk's own `stat`), for
    /// `--cache`: taken before the file is read, so a file that changes
    /// after it is a miss next time, never a stale hit.
    pub stamp: Option<crate::cache::Stamp>,
}

/// A path the walk decided not to scan.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// Index of its root.
    pub root: usize,
    /// Path relative to the root.
    pub rel: Vec<u8>,
    /// Why.
    pub reason: Reason,
    /// Details.
    pub detail: String,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walked {
    /// Files to scan, sorted by (root, path).
    pub files: Vec<Entry>,
    /// Paths not to scan.
    pub skipped: Vec<Skipped>,
}

/// Walk options (a subset of the scan configuration).
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Honour .gitignore, .ignore and git excludes.
    pub gitignore: bool,
    /// Follow symbolic links (loops are detected and reported).
    pub follow: bool,
    /// Paths (relative to their root) to leave out.
    pub exclude: GlobSet,
    /// Walker threads.
    pub threads: usize,
    /// `stat` every file as it is enumerated, for its size and identity
    /// ([`Entry::size`], [`Entry::stamp`]). A scan does not need them: it
    /// takes both from the open file. A `stat` by path is a large part of
    /// the walk's time (3,900 files at 2 threads: 3.5 ms of 9), so it is
    /// made only for a cache, a progress bar's byte total or a manifest.
    pub stat: bool,
}

/// Bytes of a path with `/` separators.
pub fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    for (i, c) in p.components().enumerate() {
        if i > 0 && !out.ends_with(b"/") {
            out.push(b'/');
        }
        out.extend_from_slice(c.as_os_str().as_bytes());
    }
    out
}

fn relative(root: &Path, root_is_dir: bool, path: &Path) -> Vec<u8> {
    if !root_is_dir {
        return path_bytes(root);
    }
    match path.strip_prefix(root) {
        Ok(r) if !r.as_os_str().is_empty() => path_bytes(r),
        _ => path_bytes(path),
    }
}

/// The details of the walk's skips, the same from both walkers (and from
/// the git history scan's `--exclude`).
const VCS_DETAIL: &str = "git metadata is not scanned as files";
pub(crate) const EXCLUDED_DETAIL: &str = "matched --exclude";
const LINK_DETAIL: &str = "symbolic link; use --follow to follow links";

/// Walks every root. Roots must exist (the caller checks).
pub fn walk(roots: &[PathBuf], opts: &WalkOptions) -> Walked {
    let out = Mutex::new(Walked::default());
    for (ri, root) in roots.iter().enumerate() {
        // An empty path holds the place of standard input.
        if root.as_os_str().is_empty() {
            continue;
        }
        if direct(root, opts) {
            walk_dir_direct(ri, root, opts, &out);
        } else {
            walk_root(ri, root, opts, &out);
        }
    }
    let mut w = out.into_inner().unwrap_or_else(|e| e.into_inner());
    w.files
        .sort_by(|a, b| (a.root, &a.rel).cmp(&(b.root, &b.rel)));
    w.skipped
        .sort_by(|a, b| (a.root, &a.rel).cmp(&(b.root, &b.rel)));
    w
}

/// Whether `root` is walked by [`walk_dir_direct`] rather than the `ignore`
/// crate's walker: a directory itself (not a link to one), with no ignore
/// files to honour and no links to follow — the default, where the `ignore`
/// walker's machinery (its own threads, each sleeping 1 ms when it finds no
/// work while another still walks) costs more than the directories' reads:
/// 1.6 ms for a one-file root at 2 threads, 5.3 ms for the benchmark
/// corpus's 106 directories and 3,903 files.
fn direct(root: &Path, opts: &WalkOptions) -> bool {
    !opts.gitignore
        && !opts.follow
        && std::fs::symlink_metadata(root).is_ok_and(|m| m.file_type().is_dir())
}

/// Walks a directory root on the current rayon pool, one task per
/// directory, with what the `ignore` walker would give under the same
/// options (a test compares the two): every entry but `.git` directories
/// below the root and `--exclude` matches (both recorded), links not
/// followed, special files recorded, unreadable directories recorded.
fn walk_dir_direct(ri: usize, root: &Path, opts: &WalkOptions, out: &Mutex<Walked>) {
    rayon::scope(|s| visit_dir_direct(s, ri, root, root.to_path_buf(), Vec::new(), opts, out));
}

fn visit_dir_direct<'s>(
    s: &rayon::Scope<'s>,
    ri: usize,
    root: &'s Path,
    dir: PathBuf,
    rel: Vec<u8>,
    opts: &'s WalkOptions,
    out: &'s Mutex<Walked>,
) {
    use std::os::unix::ffi::OsStrExt;
    let mut found = Walked::default();
    let error = |rel: Vec<u8>, err: &std::io::Error| Skipped {
        root: ri,
        // The root's own error names the root, as the `ignore` walker's does.
        rel: if rel.is_empty() {
            path_bytes(root)
        } else {
            rel
        },
        reason: Reason::WalkError,
        detail: if err.kind() == std::io::ErrorKind::PermissionDenied {
            "permission denied".to_string()
        } else {
            err.to_string()
        },
    };
    match std::fs::read_dir(&dir) {
        Err(err) => found.skipped.push(error(rel.clone(), &err)),
        Ok(entries) => {
            for e in entries {
                let e = match e {
                    Ok(e) => e,
                    Err(err) => {
                        found.skipped.push(error(rel.clone(), &err));
                        continue;
                    }
                };
                let name = e.file_name();
                let mut child = rel.clone();
                if !child.is_empty() {
                    child.push(b'/');
                }
                child.extend_from_slice(name.as_bytes());
                let path = e.path();
                let ft = match e.file_type() {
                    Ok(ft) => ft,
                    Err(err) => {
                        found.skipped.push(error(child, &err));
                        continue;
                    }
                };
                let skip = |reason, detail: &str| Skipped {
                    root: ri,
                    rel: child.clone(),
                    reason,
                    detail: detail.into(),
                };
                if ft.is_dir() && name == ".git" {
                    found.skipped.push(skip(Reason::VcsDirectory, VCS_DETAIL));
                } else if !opts.exclude.is_empty()
                    && opts
                        .exclude
                        .is_match(Path::new(&*String::from_utf8_lossy(&child)))
                {
                    found.skipped.push(skip(Reason::Excluded, EXCLUDED_DETAIL));
                } else if ft.is_dir() {
                    s.spawn(move |s| visit_dir_direct(s, ri, root, path, child, opts, out));
                } else if ft.is_symlink() {
                    found
                        .skipped
                        .push(skip(Reason::SymlinkNotFollowed, LINK_DETAIL));
                } else if !ft.is_file() {
                    found
                        .skipped
                        .push(skip(Reason::SpecialFile, special_kind(&ft)));
                } else {
                    let meta = opts.stat.then(|| e.metadata().ok()).flatten();
                    found.files.push(Entry {
                        root: ri,
                        path,
                        rel: child,
                        size: meta.as_ref().map(std::fs::Metadata::len),
                        stamp: meta.as_ref().map(crate::cache::Stamp::of),
                    });
                }
            }
        }
    }
    let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
    w.files.append(&mut found.files);
    w.skipped.append(&mut found.skipped);
}

fn walk_root(ri: usize, root: &Path, opts: &WalkOptions, out: &Mutex<Walked>) {
    let root_is_dir = root.is_dir();
    let root_owned = root.to_path_buf();
    let exclude = opts.exclude.clone();
    let skips = std::sync::Arc::new(Mutex::new(Vec::new()));
    let filter_skips = skips.clone();
    let mut b = WalkBuilder::new(root);
    b.hidden(false)
        .parents(opts.gitignore)
        .ignore(opts.gitignore)
        .git_ignore(opts.gitignore)
        .git_global(opts.gitignore)
        .git_exclude(opts.gitignore)
        .require_git(false)
        .follow_links(opts.follow)
        .threads(opts.threads.max(1))
        .filter_entry(move |e| {
            // Every entry passes here: its path relative to the root is
            // made only when there are globs to match it against or it is
            // left out.
            let rel = || relative(&root_owned, root_is_dir, e.path());
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            let reason = if is_dir && e.file_name() == ".git" && e.depth() > 0 {
                Some((Reason::VcsDirectory, VCS_DETAIL.to_string()))
            } else if e.depth() > 0
                && !exclude.is_empty()
                && exclude.is_match(Path::new(&*String::from_utf8_lossy(&rel())))
            {
                Some((Reason::Excluded, EXCLUDED_DETAIL.to_string()))
            } else {
                None
            };
            match reason {
                Some((reason, detail)) => {
                    let rel = rel();
                    let s = Skipped {
                        root: ri,
                        rel,
                        reason,
                        detail,
                    };
                    filter_skips
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(s);
                    false
                }
                None => true,
            }
        });
    b.build_parallel().run(|| {
        Box::new(|res| {
            visit(ri, root, root_is_dir, opts.stat, res, out);
            WalkState::Continue
        })
    });
    let skips = std::mem::take(&mut *skips.lock().unwrap_or_else(|e| e.into_inner()));
    out.lock()
        .unwrap_or_else(|e| e.into_inner())
        .skipped
        .extend(skips);
}

fn visit(
    ri: usize,
    root: &Path,
    root_is_dir: bool,
    stat: bool,
    res: Result<ignore::DirEntry, ignore::Error>,
    out: &Mutex<Walked>,
) {
    let item = match res {
        Ok(e) => classify(ri, root, root_is_dir, stat, &e),
        Err(err) => Some(Err(walk_error(ri, root, root_is_dir, &err))),
    };
    let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
    match item {
        Some(Ok(entry)) => w.files.push(entry),
        Some(Err(skip)) => w.skipped.push(skip),
        None => {}
    }
}

fn classify(
    ri: usize,
    root: &Path,
    root_is_dir: bool,
    stat: bool,
    e: &ignore::DirEntry,
) -> Option<Result<Entry, Skipped>> {
    let rel = relative(root, root_is_dir, e.path());
    let skip = |reason, detail: &str| {
        Some(Err(Skipped {
            root: ri,
            rel: rel.clone(),
            reason,
            detail: detail.into(),
        }))
    };
    let Some(ft) = e.file_type() else {
        return None; // stdin; roots are handled by the caller
    };
    if ft.is_dir() {
        return None;
    }
    if ft.is_symlink() {
        return skip(Reason::SymlinkNotFollowed, LINK_DETAIL);
    }
    if !ft.is_file() {
        return skip(Reason::SpecialFile, special_kind(&ft));
    }
    let meta = stat.then(|| e.metadata().ok()).flatten();
    Some(Ok(Entry {
        root: ri,
        path: e.path().to_path_buf(),
        rel,
        size: meta.as_ref().map(std::fs::Metadata::len),
        stamp: meta.as_ref().map(crate::cache::Stamp::of),
    }))
}

fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "FIFO (named pipe): never opened, it could block"
    } else if ft.is_socket() {
        "socket: never opened"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device: never opened"
    } else {
        "not a regular file"
    }
}

fn walk_error(ri: usize, root: &Path, root_is_dir: bool, err: &ignore::Error) -> Skipped {
    let (path, inner) = error_path(err);
    let rel = path.map_or_else(|| path_bytes(root), |p| relative(root, root_is_dir, p));
    let reason = if is_loop(inner) {
        Reason::SymlinkLoop
    } else {
        Reason::WalkError
    };
    let detail = match inner {
        ignore::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            "permission denied".to_string()
        }
        other => other.to_string(),
    };
    Skipped {
        root: ri,
        rel,
        reason,
        detail,
    }
}

fn error_path(err: &ignore::Error) -> (Option<&Path>, &ignore::Error) {
    match err {
        ignore::Error::WithPath { path, err } => (Some(path.as_path()), error_path(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => (Some(child.as_path()), err),
        other => (None, other),
    }
}

fn is_loop(err: &ignore::Error) -> bool {
    matches!(err, ignore::Error::Loop { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn options(stat: bool) -> WalkOptions {
        WalkOptions {
            gitignore: false,
            follow: false,
            exclude: GlobSet::empty(),
            threads: 2,
            stat,
        }
    }

    /// Files (relative path, path, size) and skips (path, reason, detail), sorted.
    #[allow(clippy::type_complexity)]
    fn listing(
        w: Walked,
    ) -> (
        Vec<(Vec<u8>, PathBuf, Option<u64>)>,
        Vec<(Vec<u8>, Reason, String)>,
    ) {
        let mut files: Vec<_> = w
            .files
            .into_iter()
            .map(|e| (e.rel, e.path, e.size))
            .collect();
        let mut skipped: Vec<_> = w
            .skipped
            .into_iter()
            .map(|s| (s.rel, s.reason, s.detail))
            .collect();
        files.sort();
        skipped.sort();
        (files, skipped)
    }

    /// The direct walk lists what the `ignore` walker lists, skips included,
    /// over hidden files, `.git` directories and a `.git` file, excluded
    /// files and folders, links (to files, to folders, in a loop), a FIFO,
    /// a name that is not UTF-8 and (when not run as root) an unreadable
    /// folder.
    #[test]
    fn the_direct_walk_lists_what_the_ignore_walker_lists() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in [
            "a/b/c",
            ".hidden",
            ".git/objects",
            "a/.git",
            "skip/me",
            "big",
        ] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        for f in [
            "top.txt",
            ".env",
            "a/x.py",
            "a/b/y.csv",
            "a/b/c/z.json",
            ".hidden/h",
            ".git/HEAD",
            "a/.git/config",
            "skip/me/secret.txt",
            "a/b/drop.log",
            "sub.git",
        ] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        std::fs::write(d.join("a/b/c/.git"), b"gitdir: elsewhere").unwrap();
        std::fs::write(d.join(std::ffi::OsStr::from_bytes(b"a/\xff\xfe.txt")), b"x").unwrap();
        for i in 0..40 {
            std::fs::write(d.join(format!("big/f{i:02}")), b"y").unwrap();
        }
        symlink(d.join("top.txt"), d.join("link-file")).unwrap();
        symlink(d.join("a"), d.join("a/b/link-up")).unwrap();
        symlink(d.join("loop"), d.join("loop")).unwrap();
        let fifo = d.join("a/pipe");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let locked = d.join("a/locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::write(locked.join("in.txt"), b"x").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let mut exclude = globset::GlobSetBuilder::new();
        exclude.add(globset::Glob::new("skip").unwrap());
        exclude.add(globset::Glob::new("**/*.log").unwrap());
        for (exclude, stat) in [(GlobSet::empty(), false), (exclude.build().unwrap(), true)] {
            let opts = WalkOptions {
                exclude,
                stat,
                ..options(false)
            };
            assert!(direct(d, &opts));
            let by = |f: fn(usize, &Path, &WalkOptions, &Mutex<Walked>)| {
                let out = Mutex::new(Walked::default());
                f(0, d, &opts, &out);
                listing(out.into_inner().unwrap())
            };
            let ours = by(walk_dir_direct);
            let theirs = by(walk_root);
            assert_eq!(ours, theirs);
            let has = |rel: &str| ours.0.iter().any(|f| f.0 == rel.as_bytes());
            assert!(has(".env") && has(".hidden/h") && has("a/b/c/.git") && has("big/f39"));
            assert!(!has(".git/HEAD") && !has("a/.git/config") && !has("link-file"));
            assert_eq!(has("skip/me/secret.txt") || has("a/b/drop.log"), !stat);
            assert!(ours.0.iter().all(|f| f.2.is_some() == stat));
            let reasons: BTreeSet<Reason> = ours.1.iter().map(|s| s.1).collect();
            assert!(reasons.contains(&Reason::VcsDirectory));
            assert!(reasons.contains(&Reason::SpecialFile));
            assert!(reasons.contains(&Reason::SymlinkNotFollowed));
            assert_eq!(reasons.contains(&Reason::Excluded), stat);
        }
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Not a plain folder: the `ignore` walker's.
        assert!(!direct(&d.join("link-file"), &options(false)));
        assert!(!direct(&d.join("top.txt"), &options(false)));
        assert!(!direct(
            d,
            &WalkOptions {
                gitignore: true,
                ..options(false)
            }
        ));
        assert!(!direct(
            d,
            &WalkOptions {
                follow: true,
                ..options(false)
            }
        ));
    }

    #[test]
    fn sizes_and_stamps_only_when_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("a.txt"), b"12345").unwrap();
        std::fs::write(dir.path().join("d/b.bin"), vec![0u8; 3000]).unwrap();
        let roots = [dir.path().to_path_buf()];
        let listed = |w: &Walked| -> Vec<(Vec<u8>, Option<u64>, bool)> {
            w.files
                .iter()
                .map(|e| (e.rel.clone(), e.size, e.stamp.is_some()))
                .collect()
        };
        let with = walk(&roots, &options(true));
        assert_eq!(
            listed(&with),
            [
                (b"a.txt".to_vec(), Some(5), true),
                (b"d/b.bin".to_vec(), Some(3000), true)
            ]
        );
        let without = walk(&roots, &options(false));
        assert_eq!(
            listed(&without),
            [
                (b"a.txt".to_vec(), None, false),
                (b"d/b.bin".to_vec(), None, false)
            ]
        );
    }
}
