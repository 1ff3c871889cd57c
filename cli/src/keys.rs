//! Ed25519 signing keys and detached signatures of evidence files.
//!
//! Key files are text: one line `shekara-ed25519-secret-v1 <64 hex digits>`
//! (the 32-byte secret seed; the file is created with mode 0600) and one line
//! `shekara-ed25519-public-v1 <64 hex digits>` (the public key). A signature
//! is a detached JSON file `EVIDENCE.sig` (schema `shekara.signature/v1`)
//! holding the public key and the Ed25519 signature over the exact bytes of
//! the evidence file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

const SECRET_TAG: &str = "shekara-ed25519-secret-v1";
const PUBLIC_TAG: &str = "shekara-ed25519-public-v1";
/// Signature file schema.
pub const SIGNATURE_SCHEMA: &str = "shekara.signature/v1";

/// A detached signature.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DetachedSignature {
    /// [`SIGNATURE_SCHEMA`].
    pub schema: String,
    /// `ed25519`.
    pub algorithm: String,
    /// The signer's public key, 64 hex digits.
    pub public_key: String,
    /// SHA-256 of the signed file (informative; the signature covers the bytes).
    pub signed_sha256: String,
    /// The signature, 128 hex digits.
    pub signature: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.trim();
    if s.len() != N * 2 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The `.sig` file next to an evidence file.
pub fn signature_path(evidence: &Path) -> PathBuf {
    let mut s = evidence.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

/// Writes a new key pair: `out` (secret, mode 0600) and `out.pub`.
///
/// # Errors
/// When `out` exists (never overwritten) or cannot be written.
pub fn keygen(out: &Path) -> Result<(PathBuf, String)> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| anyhow!("no randomness: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let public = hex(key.verifying_key().as_bytes());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| {
            format!(
                "cannot create the key file '{}' (it is never overwritten)",
                out.display()
            )
        })?;
    writeln!(f, "{SECRET_TAG} {}", hex(&seed))?;
    let pub_path = {
        let mut s = out.as_os_str().to_owned();
        s.push(".pub");
        PathBuf::from(s)
    };
    std::fs::write(&pub_path, format!("{PUBLIC_TAG} {public}\n"))
        .with_context(|| format!("cannot write '{}'", pub_path.display()))?;
    Ok((pub_path, public))
}

fn tagged(path: &Path, tag: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file '{}'", path.display()))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(tag))
        .ok_or_else(|| {
            anyhow!(
                "'{}' is not a {tag} key file (make one with `shekara keygen`)",
                path.display()
            )
        })?;
    Ok(line.trim().to_string())
}

/// Loads a secret key file.
///
/// # Errors
/// Unreadable or malformed.
pub fn load_secret(path: &Path) -> Result<SigningKey> {
    let seed = unhex::<32>(&tagged(path, SECRET_TAG)?)
        .ok_or_else(|| anyhow!("'{}': the secret is not 64 hex digits", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Loads a public key file (or a secret key file, whose public half is used).
///
/// # Errors
/// Unreadable or malformed.
pub fn load_public(path: &Path) -> Result<VerifyingKey> {
    match tagged(path, PUBLIC_TAG) {
        Ok(h) => {
            let b = unhex::<32>(&h)
                .ok_or_else(|| anyhow!("'{}': the key is not 64 hex digits", path.display()))?;
            VerifyingKey::from_bytes(&b).map_err(|e| anyhow!("'{}': {e}", path.display()))
        }
        Err(_) => Ok(load_secret(path)?.verifying_key()),
    }
}

/// Signs `bytes`.
pub fn sign(key: &SigningKey, bytes: &[u8]) -> DetachedSignature {
    use sha2::Digest;
    DetachedSignature {
        schema: SIGNATURE_SCHEMA.into(),
        algorithm: "ed25519".into(),
        public_key: hex(key.verifying_key().as_bytes()),
        signed_sha256: format!("sha256:{}", hex(&sha2::Sha256::digest(bytes))),
        signature: hex(&key.sign(bytes).to_bytes()),
    }
}

/// The outcome of checking a signature.
pub struct Checked {
    /// The public key that signed, hex.
    pub public_key: String,
    /// Whether it is the key the caller pinned (`--key`); `None`: none was pinned.
    pub pinned: Option<bool>,
}

/// Checks `sig` over `bytes`; with `pinned`, the signer must be that key.
///
/// # Errors
/// A malformed signature file, a wrong key, or a signature that does not verify.
pub fn check(
    sig: &DetachedSignature,
    bytes: &[u8],
    pinned: Option<&VerifyingKey>,
) -> Result<Checked> {
    if sig.schema != SIGNATURE_SCHEMA || sig.algorithm != "ed25519" {
        bail!(
            "unsupported signature: schema '{}', algorithm '{}'",
            sig.schema,
            sig.algorithm
        );
    }
    let pk = unhex::<32>(&sig.public_key).ok_or_else(|| anyhow!("malformed public_key"))?;
    let vk = VerifyingKey::from_bytes(&pk).map_err(|e| anyhow!("bad public_key: {e}"))?;
    let s = unhex::<64>(&sig.signature).ok_or_else(|| anyhow!("malformed signature"))?;
    if let Some(p) = pinned {
        if p != &vk {
            bail!(
                "signed by key {} but --key is {}",
                sig.public_key,
                hex(p.as_bytes())
            );
        }
    }
    vk.verify(bytes, &Signature::from_bytes(&s))
        .map_err(|_| anyhow!("the signature does not match the evidence file's bytes"))?;
    Ok(Checked {
        public_key: sig.public_key.clone(),
        pinned: pinned.map(|_| true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_check_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("k");
        let (pub_path, _) = keygen(&k).unwrap();
        assert!(keygen(&k).is_err(), "never overwrites");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let sk = load_secret(&k).unwrap();
        let vk = load_public(&pub_path).unwrap();
        let mut bytes = b"{\"schema\":\"x\"}".to_vec();
        let sig = sign(&sk, &bytes);
        assert!(check(&sig, &bytes, Some(&vk)).is_ok());
        bytes[3] ^= 1;
        assert!(check(&sig, &bytes, Some(&vk)).is_err());
        let other = SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert!(check(&sig, b"{\"schema\":\"x\"}", Some(&other)).is_err());
    }
}
