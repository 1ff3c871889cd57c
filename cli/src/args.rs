//! Command-line flags, and their translation into a plain scanner `Config`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use shekara_scanner::policy::Policy;
use shekara_scanner::shard::Shard;
use shekara_scanner::suppress::Baseline;
use shekara_scanner::{Config, FingerprintKey, Input, Severity};

/// shekara (шекара, "border"): proves personal data of Kazakh citizens stayed inside the border.
///
/// Finds Kazakh national IDs (IIN/BIN), and endpoints that move data abroad,
/// in repos, datasets, configs and binaries, and reports what was and was not
/// scanned.
#[derive(Debug, Parser)]
#[command(name = "shekara", version, about, long_about = None, max_term_width = 100)]
pub struct Opts {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files, directories or standard input (`-`).
    Scan(ScanOpts),
    /// List the built-in rules, or check them.
    Rules {
        /// Check the rule data and exit non-zero on a problem.
        #[arg(long)]
        lint: bool,
        /// Print the prefilter's text anchors, one per line (used by benches/compare.sh); binary magics are left out.
        #[arg(long)]
        anchors: bool,
    },
    // --- evidence layer (issue #5) ---
    /// Make an Ed25519 key pair for signing evidence: FILE (secret, mode 0600) and FILE.pub.
    Keygen {
        /// Where to write the secret key (never overwritten); the public key goes to FILE.pub.
        #[arg(
            short,
            long,
            value_name = "FILE",
            default_value = "shekara-signing.key"
        )]
        output: PathBuf,
    },
    /// Check evidence: its signature, its root digest, and (with --against) the files on disk.
    Verify {
        /// The evidence file (written by `scan --evidence`).
        evidence: PathBuf,
        /// Require the signature to be by this public key (a .pub file from `shekara keygen`).
        #[arg(long, value_name = "PUB")]
        key: Option<PathBuf>,
        /// The detached signature (default: EVIDENCE.sig).
        #[arg(long, value_name = "SIG")]
        signature: Option<PathBuf>,
        /// Re-hash the artefact at PATH and report files added, removed or changed; one per scan root, in order.
        #[arg(long, value_name = "PATH")]
        against: Vec<PathBuf>,
    },
    /// Residency policy files (shekara.toml).
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Baselines: accepted findings.
    Baseline {
        #[command(subcommand)]
        action: BaselineAction,
    },
    /// Combine the JSON reports of the shards of a sweep (`scan --shard K/N`) into one.
    Merge(MergeOpts),
    /// Git hooks: `shekara hook install` writes .git/hooks/pre-commit.
    #[command(subcommand)]
    Hook(HookCommand),
}

#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Write a commented default shekara.toml (never overwrites).
    Init {
        /// Where to write it.
        #[arg(short, long, value_name = "FILE", default_value = "shekara.toml")]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum BaselineAction {
    /// Scan, and write every finding as accepted to the baseline file given with -o.
    Create {
        #[command(flatten)]
        scan: ScanOpts,
        /// Why these findings are accepted (stored with each entry).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Last day the acceptance holds (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
    },
}

/// `shekara merge`.
#[derive(Debug, clap::Args)]
pub struct MergeOpts {
    /// The shard reports (`--format json`), all N of them.
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,

    /// Write the merged report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit 1 when a merged finding is at least this severe.
    #[arg(long, value_name = "SEVERITY", default_value = "high", value_parser = parse_severity)]
    pub fail_on: Severity,
}

/// `shekara hook …`.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write a pre-commit hook that runs `shekara scan --staged` into this repository.
    Install {
        /// Replace a pre-commit hook that shekara did not write (it is kept as pre-commit.orig).
        #[arg(long)]
        force: bool,
        /// A path inside the repository.
        #[arg(default_value = ".")]
        repo: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Findings grouped by file, for people.
    Text,
    /// One JSON document (schema shekara.report/v1).
    Json,
    /// JSON Lines, streamed: one finding or coverage record per line, a summary last.
    Jsonl,
    /// SARIF 2.1.0, for code-scanning dashboards (GitHub and others).
    Sarif,
    /// One self-contained HTML page for auditors (prints to PDF).
    Html,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, clap::Args)]
pub struct ScanOpts {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(default_value = ".")]
    pub paths: Vec<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// Honour .gitignore and .ignore files (default: scan everything, hidden and ignored files included).
    #[arg(long)]
    pub gitignore: bool,

    /// Leave out paths matching GLOB (relative to the scan root); repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Skip files larger than SIZE (e.g. 500M, 2G); they are listed as not scanned.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// Follow symbolic links (loops are detected and reported).
    #[arg(long)]
    pub follow: bool,

    /// Put raw values (IINs!) in the report. Only for a report that stays with you.
    #[arg(long)]
    pub reveal: bool,

    /// Key for the fingerprints of found values (64 hex digits, or any secret
    /// text). Default: $SHEKARA_FINGERPRINT_KEY, else a per-install random key
    /// in $XDG_CONFIG_HOME/shekara/fingerprint.key.
    #[arg(
        long,
        value_name = "KEY",
        env = "SHEKARA_FINGERPRINT_KEY",
        hide_env_values = true
    )]
    pub fingerprint_key: Option<String>,

    /// Exit 1 when a finding is at least this severe [default: the policy's fail_on, else high].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,

    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Never memory-map files (read them instead).
    #[arg(long)]
    pub no_mmap: bool,

    // --- Object stores (s3://bucket/prefix roots) ---
    /// S3-compatible endpoint for s3:// roots, e.g. https://storage.yandexcloud.kz.
    #[arg(
        long,
        value_name = "URL",
        env = "AWS_ENDPOINT_URL",
        help_heading = "Object stores"
    )]
    pub endpoint_url: Option<String>,

    /// Region for s3:// roots (default: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1).
    #[arg(long, value_name = "REGION", help_heading = "Object stores")]
    pub region: Option<String>,

    /// Objects fetched and scanned at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 16,
        help_heading = "Object stores"
    )]
    pub jobs: usize,

    /// Retries of a request that failed transiently (503 SlowDown, 5xx, connection reset).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        help_heading = "Object stores"
    )]
    pub retries: usize,

    // --- evidence layer (issue #5) ---
    /// Also write the evidence manifest (shekara.evidence/v1: hashes, findings, verdicts) to FILE.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,

    /// Sign the evidence with this Ed25519 secret key (from `shekara keygen`): writes FILE.sig next to it.
    #[arg(long, value_name = "KEY", requires = "evidence")]
    pub sign_key: Option<PathBuf>,

    /// The residency policy (default: shekara.toml in the scan root or the nearest folder above it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Ignore any shekara.toml: use the built-in policy.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,

    /// Accepted findings (from `shekara baseline create`): reported as suppressed, not counted.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Do not honour inline `shekara:ignore` comments.
    #[arg(long)]
    pub no_inline_ignores: bool,
    // -- archives and images --
    /// Open archives nested at most N deep (zip in tar.gz counts 3); deeper ones are listed as not scanned.
    #[arg(long, value_name = "N", default_value_t = shekara_scanner::Limits::default().max_depth)]
    pub max_depth: u32,

    /// Stop unpacking a file after SIZE decompressed bytes (e.g. 64G); the rest is listed as not scanned.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_decompressed: Option<u64>,

    /// Treat a member that expands more than N times as a decompression bomb (stop unpacking that file).
    #[arg(long, value_name = "N", default_value_t = shekara_scanner::Limits::default().max_ratio)]
    pub max_ratio: u64,

    /// Open at most N archive members per file (all levels).
    #[arg(long, value_name = "N", default_value_t = shekara_scanner::Limits::default().max_entries)]
    pub max_entries: u64,
    // --- workflows (issue #6) ---
    /// Scan exactly what is staged for the next commit (the index blobs, not
    /// the working tree) of the repository at PATH; for pre-commit hooks.
    #[arg(long, conflicts_with_all = ["history", "cache"])]
    pub staged: bool,

    /// Scan every blob in the git history of the repository at PATH (all
    /// refs, each unique blob once); findings name the commit.
    #[arg(long, conflicts_with = "cache")]
    pub history: bool,

    /// With --history: only commits not reachable from REV.
    #[arg(long, value_name = "REV", requires = "history")]
    pub since: Option<String>,

    /// Keep results per file in DIR; files unchanged since the last sweep
    /// (device, inode, size, mtime, ctime) are not read again. For s3://
    /// roots: objects with an unchanged ETag, size and last-modified are not
    /// fetched again.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// Scan only shard K of N (0-based) of the files, split by a stable hash
    /// of their path (of the object key for s3:// roots); `shekara merge`
    /// combines the N reports.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse()
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(&s.to_ascii_lowercase())
        .ok_or_else(|| format!("'{s}' is not a severity: use info, low, medium, high or critical"))
}

/// Parses `123`, `10K`, `500M`, `2G`, `1T` (binary units, optional `iB`/`B`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    let stripped = upper.trim_end_matches("IB").trim_end_matches('B');
    let (num, mult) = match stripped.chars().last() {
        Some('K') => (&stripped[..stripped.len() - 1], 1u64 << 10),
        Some('M') => (&stripped[..stripped.len() - 1], 1 << 20),
        Some('G') => (&stripped[..stripped.len() - 1], 1 << 30),
        Some('T') => (&stripped[..stripped.len() - 1], 1 << 40),
        _ => (stripped, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            format!("'{s}' is not a size: use a number with an optional K, M, G or T (e.g. 500M)")
        })
}

impl ScanOpts {
    /// The scanner configuration these flags ask for.
    ///
    /// # Errors
    /// When no fingerprint key can be had.
    pub fn to_config(&self) -> anyhow::Result<Config> {
        let inputs = self.paths.iter().map(|p| Input::from(p.as_str())).collect();
        let mut c = Config::new(inputs);
        c.threads = self.threads.unwrap_or(0);
        c.gitignore = self.gitignore;
        c.exclude = self.exclude.clone();
        c.max_file_size = self.max_file_size;
        c.follow = self.follow;
        c.reveal = self.reveal;
        if self.no_mmap {
            c.mmap_threshold = None;
        }
        c.limits.max_depth = self.max_depth;
        c.limits.max_ratio = self.max_ratio.max(1);
        c.limits.max_entries = self.max_entries;
        if let Some(n) = self.max_decompressed {
            c.limits.max_decompressed = n;
        }
        c.key = Some(self.key()?);
        self.evidence_config(&mut c)?;
        c.shard = self.shard;
        c.cache.clone_from(&self.cache);
        Ok(c)
    }

    /// Policy, baseline and inline ignores (evidence layer).
    fn evidence_config(&self, c: &mut Config) -> anyhow::Result<()> {
        let found = match (&self.config, self.no_config) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => None,
            (None, false) => self
                .paths
                .iter()
                .find(|p| *p != "-")
                .and_then(|p| Policy::find(std::path::Path::new(p))),
        };
        let policy = match &found {
            Some(p) => Policy::load(p)?,
            None => Policy::builtin(),
        };
        c.exclude.extend(policy.settings.ignore.iter().cloned());
        let baseline = match (&self.baseline, &policy.settings.baseline, &found) {
            (Some(b), _, _) => Some(b.clone()),
            (None, Some(b), Some(file)) => {
                Some(file.parent().unwrap_or(std::path::Path::new(".")).join(b))
            }
            _ => None,
        };
        if let Some(b) = baseline {
            let text = std::fs::read_to_string(&b)
                .map_err(|e| anyhow::anyhow!("cannot read the baseline '{}': {e}", b.display()))?;
            let parsed = Baseline::parse(&text)
                .map_err(|e| anyhow::anyhow!("the baseline '{}': {e}", b.display()))?;
            let expired = parsed.expired(&shekara_scanner::suppress::today());
            if expired > 0 {
                eprintln!("shekara: warning: {expired} baseline entr(y/ies) in '{}' expired and no longer suppress", b.display());
            }
            c.baseline = Some(parsed);
        }
        c.inline_ignores = !self.no_inline_ignores;
        // The evidence lists every scanned file with the SHA-256 of the bytes scanned.
        c.hash_files |= self.evidence.is_some();
        c.policy = Some(policy);
        Ok(())
    }

    /// `--fail-on`, else the policy's `fail_on`, else high.
    pub fn fail_on(&self, config: &Config) -> Severity {
        self.fail_on
            .or_else(|| config.policy.as_ref().and_then(Policy::fail_on))
            .unwrap_or(Severity::High)
    }

    /// Whether the roots are object-store URLs (all of them, or an error
    /// when they are mixed with paths).
    ///
    /// # Errors
    /// s3:// roots mixed with paths or standard input.
    pub fn object_roots(&self) -> anyhow::Result<bool> {
        let objects = self
            .paths
            .iter()
            .filter(|p| shekara_objects::is_object_url(p))
            .count();
        if objects > 0 && objects < self.paths.len() {
            anyhow::bail!("s3:// roots and local paths cannot be scanned in one run: run shekara once for each");
        }
        Ok(objects > 0)
    }

    /// How object-store roots are swept.
    ///
    /// # Errors
    /// When the `--cache` directory cannot be created.
    pub fn object_options(&self) -> anyhow::Result<shekara_objects::ObjectOptions> {
        let cache = match &self.cache {
            Some(dir) => {
                let c = shekara_objects::DirCache::open(dir)
                    .map_err(|e| anyhow::anyhow!("cannot use --cache '{}': {e}", dir.display()))?;
                Some(std::sync::Arc::new(c) as std::sync::Arc<dyn shekara_objects::ObjectCache>)
            }
            None => None,
        };
        Ok(shekara_objects::ObjectOptions {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            jobs: self.jobs.max(1),
            retries: self.retries,
            shard: self.shard,
            cache,
            ..shekara_objects::ObjectOptions::default()
        })
    }

    fn key(&self) -> anyhow::Result<FingerprintKey> {
        if let Some(secret) = &self.fingerprint_key {
            return Ok(FingerprintKey::from_secret(secret, "given"));
        }
        match FingerprintKey::default_path() {
            Some(p) => match FingerprintKey::load_or_create(&p) {
                Ok(k) => Ok(k),
                Err(e) => {
                    eprintln!("shekara: warning: cannot use the key file {}: {e}; fingerprints are for this run only (set --fingerprint-key to fix)", p.display());
                    Ok(FingerprintKey::ephemeral()?)
                }
            },
            None => Ok(FingerprintKey::ephemeral()?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("10K"), Ok(10 << 10));
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn clap_is_consistent() {
        use clap::CommandFactory;
        Opts::command().debug_assert();
    }
}
