//! Command-line flags, and their translation into a plain scanner `Config`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use shekara_scanner::shard::Shard;
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
        /// Print the prefilter's literal anchors, one per line (used by benches/compare.sh).
        #[arg(long)]
        anchors: bool,
    },
    /// Combine the JSON reports of the shards of a sweep (`scan --shard K/N`) into one.
    Merge(MergeOpts),
    /// Git hooks: `shekara hook install` writes .git/hooks/pre-commit.
    #[command(subcommand)]
    Hook(HookCommand),
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

    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_name = "SEVERITY", default_value = "high", value_parser = parse_severity)]
    pub fail_on: Severity,

    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,

    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Never memory-map files (read them instead).
    #[arg(long)]
    pub no_mmap: bool,

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
    /// (device, inode, size, mtime, ctime) are not read again.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// Scan only shard K of N (0-based) of the files, split by a stable hash
    /// of their path; `shekara merge` combines the N reports.
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
        c.key = Some(self.key()?);
        c.shard = self.shard;
        c.cache.clone_from(&self.cache);
        Ok(c)
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
