//! `shekara verify EVIDENCE [--key PUB] [--against PATH]…`.
//!
//! Checks, in order: the detached signature (`EVIDENCE.sig`), the root
//! digest, and with `--against` the files on disk now against the files the
//! evidence lists. Exit 0: everything checked holds; 1: something does not
//! (bad signature, digest mismatch, files added, removed or changed); 2: the
//! evidence or a key cannot be read or is malformed.

use std::path::{Path, PathBuf};

use serde_json::Value;
use shekara_scanner::manifest::{self, EVIDENCE_SCHEMA};
use shekara_scanner::model::exit;
use shekara_scanner::text::sanitize;

use crate::keys;

/// What to verify.
pub struct Verify<'a> {
    /// The evidence file.
    pub evidence: &'a Path,
    /// Pinned public key.
    pub key: Option<&'a Path>,
    /// Detached signature (default: EVIDENCE.sig).
    pub signature: Option<&'a Path>,
    /// Artefacts to compare, one per scan root in order.
    pub against: &'a [PathBuf],
}

/// Runs the checks, printing one line per check; returns the exit code.
pub fn run(v: &Verify<'_>) -> i32 {
    match checks(v) {
        Ok(true) => {
            println!("verified");
            exit::CLEAN
        }
        Ok(false) => {
            println!("NOT VERIFIED");
            exit::FINDINGS
        }
        Err(e) => {
            eprintln!("shekara: error: {e:#}");
            exit::ERROR
        }
    }
}

fn checks(v: &Verify<'_>) -> anyhow::Result<bool> {
    let bytes = std::fs::read(v.evidence)
        .map_err(|e| anyhow::anyhow!("cannot read '{}': {e}", v.evidence.display()))?;
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("'{}' is not JSON: {e}", v.evidence.display()))?;
    if doc["schema"] != EVIDENCE_SCHEMA {
        anyhow::bail!(
            "'{}' is not shekara evidence (schema {}, expected {EVIDENCE_SCHEMA})",
            v.evidence.display(),
            doc["schema"]
        );
    }
    let pinned = v.key.map(keys::load_public).transpose()?;
    let mut ok = signature(v, &bytes, pinned.as_ref())?;
    match manifest::check_digest(&doc) {
        Ok(d) => println!("root digest: ok ({d})"),
        Err(e) => {
            println!("root digest: FAILED: {e}");
            ok = false;
        }
    }
    let roots = doc["scan"]["roots"].as_array().map_or(0, Vec::len);
    if v.against.len() > roots {
        anyhow::bail!(
            "{} --against paths for {roots} scan roots: give one per root, in order",
            v.against.len()
        );
    }
    for (root, path) in v.against.iter().enumerate() {
        ok &= against(&doc, root, path)?;
    }
    Ok(ok)
}

fn signature(
    v: &Verify<'_>,
    bytes: &[u8],
    pinned: Option<&ed25519_dalek::VerifyingKey>,
) -> anyhow::Result<bool> {
    let sig_path = v
        .signature
        .map_or_else(|| keys::signature_path(v.evidence), Path::to_path_buf);
    let text = match std::fs::read(&sig_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && v.signature.is_none() => {
            if pinned.is_some() {
                println!(
                    "signature: FAILED: no signature file {}",
                    sig_path.display()
                );
                return Ok(false);
            }
            println!("signature: none (unsigned evidence; the digest below only shows internal consistency)");
            return Ok(true);
        }
        Err(e) => anyhow::bail!("cannot read '{}': {e}", sig_path.display()),
    };
    let sig: keys::DetachedSignature = serde_json::from_slice(&text)
        .map_err(|e| anyhow::anyhow!("'{}' is not a signature file: {e}", sig_path.display()))?;
    match keys::check(&sig, bytes, pinned) {
        Ok(c) if c.pinned.is_some() => {
            println!("signature: ok (ed25519, key {})", c.public_key);
            Ok(true)
        }
        Ok(c) => {
            println!(
                "signature: ok (ed25519, key {}; not pinned: pass --key to require this signer)",
                c.public_key
            );
            Ok(true)
        }
        Err(e) => {
            println!("signature: FAILED: {e:#}");
            Ok(false)
        }
    }
}

fn against(doc: &Value, root: usize, path: &Path) -> anyhow::Result<bool> {
    let d = manifest::drift(doc, root, path).map_err(|e| anyhow::anyhow!(e))?;
    let label = sanitize(&path.display().to_string());
    if d.is_empty() {
        println!(
            "files of root {root} against {label}: ok ({} unchanged)",
            d.same
        );
        return Ok(true);
    }
    println!(
        "files of root {root} against {label}: FAILED ({} added, {} removed, {} changed, {} unchanged)",
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        d.same
    );
    for (tag, list) in [
        ("added", &d.added),
        ("removed", &d.removed),
        ("changed", &d.changed),
    ] {
        for p in list {
            println!("  {tag:<8} {}", sanitize(p));
        }
    }
    Ok(false)
}
