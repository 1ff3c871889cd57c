//! Workflows (issue #6): git sources for `scan`, `merge` of shard reports,
//! and `hook install`.

use std::io::Write;
use std::path::{Path, PathBuf};

use shekara_scanner::git::{self, Source};
use shekara_scanner::model::exit;
use shekara_scanner::{Config, Input, Report, Severity};

use crate::args::{HookCommand, MergeOpts, ScanOpts};
use crate::fail;

/// What a git scan reads: the staged blobs, through git processes started
/// before the detectors are built, or the history.
pub enum GitScan {
    /// `--staged` (pre-commit): the processes run while the engine is built.
    Staged(std::sync::Mutex<git::Staging>),
    /// `--history`.
    History(PathBuf, Source),
}

impl GitScan {
    /// Runs it.
    pub fn run(
        &self,
        scanner: &shekara_scanner::Scanner,
        sink: &dyn shekara_scanner::Sink,
        progress: &shekara_scanner::Progress,
    ) -> Result<Report, shekara_scanner::Error> {
        match self {
            GitScan::Staged(staging) => {
                let mut staging = staging.lock().unwrap_or_else(|e| e.into_inner());
                scanner.scan_staged(&mut staging, sink, progress)
            }
            GitScan::History(top, source) => scanner.scan_git(top, source, sink, progress),
        }
    }
}

/// For `--staged` / `--history`: the repository's top level and what to
/// read from it; the scan's one root becomes the top level, so paths are
/// relative to it. `None` for an ordinary scan.
pub fn git_source(opts: &ScanOpts, config: &mut Config) -> Result<Option<GitScan>, String> {
    if !opts.staged && !opts.history {
        return Ok(None);
    }
    let flag = if opts.staged { "--staged" } else { "--history" };
    let [path] = opts.paths.as_slice() else {
        return Err(format!(
            "{flag} scans one repository: give one path inside it (default: .)"
        ));
    };
    if path == "-" {
        return Err(format!("{flag} reads a git repository, not standard input"));
    }
    let (top, scan) = if opts.staged {
        let mut staging = git::Staging::start(Path::new(path)).map_err(|e| e.to_string())?;
        let top = staging.toplevel().map_err(|e| e.to_string())?;
        (top, GitScan::Staged(std::sync::Mutex::new(staging)))
    } else {
        let top = git::toplevel(Path::new(path)).map_err(|e| e.to_string())?;
        let source = Source::History {
            since: opts.since.clone(),
        };
        (top.clone(), GitScan::History(top, source))
    };
    config.inputs = vec![Input::Path(top)];
    Ok(Some(scan))
}

/// After a blocked commit: what was found, where, and the ways out.
pub fn explain_blocked(report: &Report, fail_on: Severity) {
    let blocking: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity >= fail_on)
        .collect();
    let mut e = std::io::stderr().lock();
    let _ = writeln!(
        e,
        "\nshekara: commit blocked: {} finding{} at or above '{fail_on}' in the staged files:",
        blocking.len(),
        if blocking.len() == 1 { "" } else { "s" }
    );
    for f in blocking.iter().take(20) {
        let line = f.location.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(
            e,
            "  {}{line}  {} {}  ({})",
            shekara_scanner::text::sanitize(&f.location.path),
            f.kind,
            f.evidence.masked,
            f.rule
        );
    }
    if blocking.len() > 20 {
        let _ = writeln!(e, "  … and {} more", blocking.len() - 20);
    }
    let _ = writeln!(
        e,
        "How to go on:\n  \
         - remove the data from those files (keep it out of git), `git add` them and commit again;\n  \
         - a value that is not personal data (a test fixture): put `shekara:ignore` in a comment on its line,\n    \
           or accept the current findings in a baseline file (`--baseline`, see the README);\n  \
         - commit anyway, this once: git commit --no-verify"
    );
}

/// `shekara merge`.
pub fn merge(opts: &MergeOpts) -> i32 {
    let mut reports = Vec::new();
    for p in &opts.reports {
        let read = std::fs::read(p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Report>(&b).map_err(|e| e.to_string()));
        match read {
            Ok(r) => reports.push(r),
            Err(e) => {
                return fail(format!(
                    "cannot read the shard report '{}': {e} (give reports made with --format json)",
                    p.display()
                ))
            }
        }
    }
    let merged = match shekara_scanner::merge::merge(reports) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let written = match &opts.output {
        Some(p) => std::fs::File::create(p).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            crate::render::json(&merged, &mut w)?;
            w.flush()
        }),
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            crate::render::json(&merged, &mut w).and_then(|()| w.flush())
        }
    };
    if let Err(e) = written {
        return fail(format!("cannot write the merged report: {e}"));
    }
    merged.exit_code(opts.fail_on)
}

/// Marks the hooks shekara writes, so that reinstalling is idempotent.
const HOOK_MARK: &str = "# shekara-hook: written by `shekara hook install`";

/// `shekara hook …`.
pub fn hook(cmd: &HookCommand) -> i32 {
    match cmd {
        HookCommand::Install { force, repo } => match install(repo, *force) {
            Ok(msg) => {
                eprintln!("shekara: {msg}");
                exit::CLEAN
            }
            Err(e) => fail(e),
        },
    }
}

fn install(repo: &Path, force: bool) -> Result<String, String> {
    let hooks = git_path(repo, "hooks")?;
    std::fs::create_dir_all(&hooks)
        .map_err(|e| format!("cannot create '{}': {e}", hooks.display()))?;
    let path = hooks.join("pre-commit");
    let mut kept = String::new();
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.contains(HOOK_MARK) {
            if !force {
                return Err(format!(
                    "'{}' exists and was not written by shekara: leaving it alone. \
                     Add `shekara scan --staged --quiet` to it yourself, or run \
                     `shekara hook install --force` (it keeps the old hook as pre-commit.orig)",
                    path.display()
                ));
            }
            let orig = hooks.join("pre-commit.orig");
            std::fs::rename(&path, &orig)
                .map_err(|e| format!("cannot move the old hook aside: {e}"))?;
            kept = format!(" (the old hook is now {})", orig.display());
        }
    }
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "shekara".into());
    let script = format!(
        "#!/bin/sh\n{HOOK_MARK}\n\
         # Blocks a commit that adds IINs or biometric data; endpoints are reported, not blocked.\n\
         # Bypass once: git commit --no-verify\n\
         SHEKARA=\"${{SHEKARA:-shekara}}\"\n\
         command -v \"$SHEKARA\" >/dev/null 2>&1 || SHEKARA='{}'\n\
         exec \"$SHEKARA\" scan --staged --quiet\n",
        exe.replace('\'', "'\\''")
    );
    std::fs::write(&path, script).map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("cannot make '{}' executable: {e}", path.display()))?;
    Ok(format!(
        "installed the pre-commit hook {}{kept}",
        path.display()
    ))
}

/// `git rev-parse --git-path NAME` (honours worktrees and core.hooksPath), absolute.
fn git_path(repo: &Path, name: &str) -> Result<PathBuf, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--path-format=absolute", "--git-path", name])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "'{}' is not inside a git repository: {}",
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim_end_matches(['\n', '\r']),
    ))
}
