//! The `shekara` binary: flags → `Config`, progress on stderr, report on stdout.
#![forbid(unsafe_code)]

mod args;
mod render;
// Evidence layer (issue #5).
mod evidence;
mod html;
mod keys;
mod sarif;
mod verify;
mod workflows;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Parser;
use shekara_scanner::model::exit;
use shekara_scanner::{Progress, Report, Scanner};

use args::{ColorChoice, Command, Format, Opts, ScanOpts};

/// mimalloc, not the system allocator: a sweep allocates millions of small
/// strings on several threads, and glibc's per-thread arenas grow one
/// `mprotect` at a time (73,000 calls in a cached re-sweep of 10 GiB) and
/// fault in fresh pages where mimalloc reuses freed ones. Measured in the
/// README's Performance section.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let opts = match Opts::try_parse() {
        Ok(o) => o,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::ERROR as u8 } else { 0 });
        }
    };
    let code = match opts.command {
        Command::Scan(s) => scan(&s),
        Command::Rules { lint, anchors } => rules(lint, anchors),
        Command::Keygen { output } => evidence::keygen(&output),
        Command::Verify {
            evidence,
            key,
            signature,
            against,
        } => verify::run(&verify::Verify {
            evidence: &evidence,
            key: key.as_deref(),
            signature: signature.as_deref(),
            against: &against,
        }),
        Command::Policy {
            action: args::PolicyAction::Init { output },
        } => evidence::policy_init(&output),
        Command::Baseline {
            action:
                args::BaselineAction::Create {
                    scan,
                    reason,
                    expires,
                },
        } => evidence::baseline_create(&scan, reason.as_deref(), expires.as_deref()),
        Command::Merge(m) => workflows::merge(&m),
        Command::Hook(h) => workflows::hook(&h),
    };
    ExitCode::from(code as u8)
}

fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("shekara: error: {msg}");
    exit::ERROR
}

fn scan(opts: &ScanOpts) -> i32 {
    // `--threads N` bounds every part of the run, the report writer's
    // parallel serialization (rayon's global pool) included, not only the
    // scanner's own pool.
    if let Some(n) = opts.threads.filter(|&n| n > 0) {
        // Fails only when the global pool was built already (by a caller
        // embedding this function): it then keeps its size.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let mut config = match opts.to_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let fail_on = opts.fail_on(&config);
    let show_bar = !opts.quiet && std::io::stderr().is_terminal();
    // Only a bar shows the byte total: without one, the walk spares a
    // `stat` per file.
    config.byte_totals = show_bar;
    // Workflows (#6): --staged / --history read blobs from git, not files.
    let git = match workflows::git_source(opts, &mut config) {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    let evidence_plan = match evidence::Plan::new(opts, &config) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let scanner = match runner(opts, config) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let out: Box<dyn Write + Send> = match &opts.output {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Box::new(std::io::BufWriter::with_capacity(1 << 16, f)),
            Err(e) => return fail(format!("cannot write the report to '{}': {e}", p.display())),
        },
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout(),
        )),
    };
    let progress = Progress::default();
    let run = |sink: &dyn shekara_scanner::Sink| match (&git, &scanner) {
        (Some(g), Runner::Files(files)) => g.run(files, sink, &progress).map_err(|e| e.to_string()),
        _ => scanner.run(sink, &progress),
    };
    let result: Result<Report, String> = with_progress(show_bar, &progress, || {
        if opts.format == Format::Jsonl {
            let sink = render::JsonLines::new(out);
            let report = run(&sink)?;
            sink.finish(&report)
                .map_err(|e| format!("cannot write the report: {e}"))?;
            if let Some(plan) = &evidence_plan {
                plan.write(&report).map_err(|e| format!("{e:#}"))?;
            }
            return Ok(report);
        }
        let report = run(&shekara_scanner::NoSink)?;
        let digest = match &evidence_plan {
            Some(plan) => Some(plan.write(&report).map_err(|e| format!("{e:#}"))?),
            None => None,
        };
        let mut out = out;
        write_report(opts, &report, digest.as_deref(), &mut out)
            .map_err(|e| format!("cannot write the report: {e}"))?;
        Ok(report)
    });
    let report = match result {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let code = report.exit_code(fail_on);
    if opts.staged && code == exit::FINDINGS {
        workflows::explain_blocked(&report, fail_on);
    }
    // The process ends right after: freeing hundreds of thousands of findings
    // one by one would only delay the exit.
    std::mem::forget(report);
    code
}

/// What runs a scan: the file scanner, or a sweep of object-store roots.
enum Runner {
    Files(Box<Scanner>),
    Objects(Box<shekara_objects::Sweep>),
}

impl Runner {
    fn run(&self, sink: &dyn shekara_scanner::Sink, progress: &Progress) -> Result<Report, String> {
        match self {
            Runner::Files(s) => s.run(sink, progress).map_err(|e| e.to_string()),
            Runner::Objects(s) => s.run(sink, progress),
        }
    }
}

fn runner(opts: &ScanOpts, mut config: shekara_scanner::Config) -> anyhow::Result<Runner> {
    if opts.object_roots()? {
        if opts.staged || opts.history {
            anyhow::bail!("--staged and --history read a git repository, not s3:// roots");
        }
        // The sweep keeps its own cache (by ETag) and shards by object key:
        // the file scanner's cache and shard do not apply to objects.
        config.hash_files |= config.cache.is_some();
        config.cache = None;
        config.shard = None;
        let sweep = shekara_objects::Sweep::new(config, opts.object_options()?)
            .map_err(anyhow::Error::msg)?;
        return Ok(Runner::Objects(Box::new(sweep)));
    }
    Ok(Runner::Files(Box::new(Scanner::new(config)?)))
}

fn write_report(
    opts: &ScanOpts,
    report: &Report,
    evidence_digest: Option<&str>,
    out: &mut Box<dyn Write + Send>,
) -> std::io::Result<()> {
    match opts.format {
        Format::Sarif => sarif::write(report, out)?,
        Format::Html => html::write(report, evidence_digest, out)?,
        Format::Json => render::json(report, out)?,
        Format::Text => {
            let color = match opts.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    opts.output.is_none()
                        && std::io::stdout().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none()
                }
            };
            render::text(report, render::Style { color }, out)?;
        }
        Format::Jsonl => {}
    }
    out.flush()
}

/// Runs `work` with a progress bar on stderr when asked.
fn with_progress<T>(show: bool, progress: &Progress, work: impl FnOnce() -> T) -> T {
    if !show {
        return work();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} · {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                bar.set_length(progress.bytes_total.load(Ordering::Relaxed));
                bar.set_position(progress.bytes_done.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "{}/{} files · {} findings",
                    progress.files_done.load(Ordering::Relaxed),
                    progress.files_total.load(Ordering::Relaxed),
                    progress.findings.load(Ordering::Relaxed)
                ));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let r = work();
        done.store(true, Ordering::Relaxed);
        bar.finish_and_clear();
        r
    })
}

fn rules(lint: bool, anchors: bool) -> i32 {
    let rules = shekara_signatures::Ruleset::builtin();
    if anchors {
        // Text anchors only: binary magics (biometric formats: NUL, 0xFF…)
        // cannot be passed to another tool as a command-line pattern.
        for lit in shekara_scanner::Engine::builtin().literals() {
            if let Ok(s) = std::str::from_utf8(lit) {
                if !s.chars().any(char::is_control) {
                    println!("{s}");
                }
            }
        }
        return exit::CLEAN;
    }
    if lint {
        let problems = rules.lint();
        for p in &problems {
            eprintln!("shekara: rule problem: {p}");
        }
        return if problems.is_empty() {
            exit::CLEAN
        } else {
            exit::ERROR
        };
    }
    println!("ruleset {}", rules.digest());
    for r in &rules.rules {
        println!("{:<28} {:<18} {:<8} {}", r.id, r.kind, r.severity, r.title);
    }
    for e in &rules.endpoints {
        let country = e.country.as_deref().unwrap_or("by region");
        println!(
            "{:<28} {:<18} {:<8} {} {} ({country})",
            format!("endpoint.{}", e.id),
            "endpoint",
            "-",
            e.provider,
            e.service
        );
    }
    exit::CLEAN
}
