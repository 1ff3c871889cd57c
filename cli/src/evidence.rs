//! Evidence subcommands and the `--evidence` / `--sign-key` step of a scan.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use shekara_scanner::manifest::{self, ManifestFile};
use shekara_scanner::model::exit;
use shekara_scanner::policy::{Policy, DEFAULT_TOML};
use shekara_scanner::suppress::Baseline;
use shekara_scanner::{Config, NoSink, Progress, Report, Scanner};

use crate::args::ScanOpts;
use crate::keys;

/// `shekara keygen`.
pub fn keygen(out: &Path) -> i32 {
    match keys::keygen(out) {
        Ok((pub_path, public)) => {
            println!("secret key: {} (mode 0600: keep it private)", out.display());
            println!("public key: {} ({public})", pub_path.display());
            exit::CLEAN
        }
        Err(e) => crate::fail(format!("{e:#}")),
    }
}

/// `shekara policy init`.
pub fn policy_init(out: &Path) -> i32 {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out);
    match f.and_then(|mut f| f.write_all(DEFAULT_TOML.as_bytes())) {
        Ok(()) => {
            println!("wrote {}", out.display());
            exit::CLEAN
        }
        Err(e) => crate::fail(format!(
            "cannot create '{}' ({e}); it is never overwritten",
            out.display()
        )),
    }
}

/// `shekara baseline create`.
pub fn baseline_create(opts: &ScanOpts, reason: Option<&str>, expires: Option<&str>) -> i32 {
    let Some(out) = &opts.output else {
        return crate::fail("baseline create needs -o FILE: where to write the baseline");
    };
    if let Some(d) = expires {
        let probe = format!("schema=\"shekara.baseline/v1\"\nfingerprint_key=\"\"\n[[accept]]\nfingerprint=\"\"\nrule=\"\"\nexpires=\"{d}\"\n");
        if Baseline::parse(&probe).is_err() {
            return crate::fail(format!("--expires '{d}' is not a date YYYY-MM-DD"));
        }
    }
    let mut config = match opts.to_config() {
        Ok(c) => c,
        Err(e) => return crate::fail(format!("{e:#}")),
    };
    // A baseline accepts what is there now: nothing is suppressed while making it.
    config.baseline = None;
    config.inline_ignores = false;
    let report = match Scanner::new(config).and_then(|s| s.run(&NoSink, &Progress::default())) {
        Ok(r) => r,
        Err(e) => return crate::fail(e),
    };
    let b = Baseline::of(
        &report.findings,
        &report.scan.fingerprint_key,
        reason,
        expires,
    );
    match std::fs::write(out, b.to_toml()) {
        Ok(()) => {
            eprintln!(
                "shekara: {} finding(s) accepted in {}",
                b.accept.len(),
                out.display()
            );
            exit::CLEAN
        }
        Err(e) => crate::fail(format!("cannot write '{}': {e}", out.display())),
    }
}

/// What `--evidence` will write once the scan is done.
pub struct Plan {
    path: PathBuf,
    sign_key: Option<ed25519_dalek::SigningKey>,
    policy: Policy,
}

impl Plan {
    /// The plan for these flags, or `None` without `--evidence`. The key is
    /// loaded first, so a bad key fails before the scan.
    ///
    /// # Errors
    /// An unreadable signing key or a bad glob.
    pub fn new(opts: &ScanOpts, config: &Config) -> Result<Option<Plan>> {
        let Some(path) = &opts.evidence else {
            return Ok(None);
        };
        let sign_key = opts
            .sign_key
            .as_deref()
            .map(keys::load_secret)
            .transpose()?;
        Ok(Some(Plan {
            path: path.clone(),
            sign_key,
            policy: config.policy.clone().unwrap_or_else(Policy::builtin),
        }))
    }

    /// Hashes the scanned files, writes the manifest (and its signature);
    /// returns the root digest.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn write(&self, report: &Report) -> Result<String> {
        let files: Vec<ManifestFile> = manifest::scanned_files(report);
        let doc = manifest::build(report, &files, &self.policy, &manifest::hostname());
        let digest = doc["root_digest"].as_str().unwrap_or_default().to_string();
        let mut bytes = serde_json::to_vec_pretty(&doc)?;
        bytes.push(b'\n');
        std::fs::write(&self.path, &bytes)
            .with_context(|| format!("cannot write the evidence to '{}'", self.path.display()))?;
        if let Some(key) = &self.sign_key {
            let sig = keys::sign(key, &bytes);
            let sig_path = keys::signature_path(&self.path);
            let mut text = serde_json::to_vec_pretty(&sig)?;
            text.push(b'\n');
            std::fs::write(&sig_path, text).with_context(|| {
                format!("cannot write the signature to '{}'", sig_path.display())
            })?;
        }
        Ok(digest)
    }
}
