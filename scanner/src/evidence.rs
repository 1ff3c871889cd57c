//! Masking and keyed fingerprints: what a report may say about a raw value.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use shekara_detectors::hash::{recall, remember, slot_of, Slots};
use shekara_detectors::Kind;

/// Domain separation for fingerprints, so they never equal another tool's keyed hashes.
const FINGERPRINT_CONTEXT: &[u8] = b"shekara.fingerprint.v1\0";
const KEY_DERIVE_CONTEXT: &str = "shekara 2026 fingerprint key v1";

/// Values a thread remembers the masked form and fingerprint of (see
/// [`FingerprintKey::masked_and_fingerprint`]).
const REMEMBERED: usize = 1024;

/// Longest value remembered: hosts and URIs are short; longer values
/// (biometric records) are rarely repeated.
const REMEMBERED_LEN: usize = 256;

/// A value's masked form and fingerprint under one key.
struct Remembered {
    key: [u8; 32],
    kind: Kind,
    value: Box<[u8]>,
    masked: Arc<str>,
    fingerprint: Arc<str>,
}

thread_local! {
    static REMEMBER: Slots<Remembered> = const { Slots::new(Vec::new()) };
}

/// A 32-byte key for keyed BLAKE3 fingerprints, and where it came from.
#[derive(Clone)]
pub struct FingerprintKey {
    key: [u8; 32],
    source: String,
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerprintKey")
            .field("id", &self.id())
            .field("source", &self.source)
            .finish()
    }
}

impl FingerprintKey {
    /// A key from a user-given secret: 64 hex digits are used as is, any other
    /// text is stretched with BLAKE3's key derivation.
    pub fn from_secret(secret: &str, source: &str) -> FingerprintKey {
        let key = parse_hex32(secret.trim())
            .unwrap_or_else(|| blake3::derive_key(KEY_DERIVE_CONTEXT, secret.as_bytes()));
        FingerprintKey {
            key,
            source: source.to_string(),
        }
    }

    /// The per-install key at `path`, created with 32 random bytes (mode 0600)
    /// when it does not exist yet.
    ///
    /// # Errors
    /// When the file can neither be read nor created, or holds no valid key.
    pub fn load_or_create(path: &Path) -> std::io::Result<FingerprintKey> {
        if let Ok(text) = fs::read_to_string(path) {
            let key = parse_hex32(text.trim()).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} does not hold 64 hex digits", path.display()),
                )
            })?;
            return Ok(FingerprintKey {
                key,
                source: format!("file:{}", path.display()),
            });
        }
        let key = random_key()?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path)?;
        writeln!(f, "{}", hex(&key))?;
        Ok(FingerprintKey {
            key,
            source: format!("file:{}", path.display()),
        })
    }

    /// A random key for this run only (fingerprints then match only within one report).
    ///
    /// # Errors
    /// When the system has no randomness to give.
    pub fn ephemeral() -> std::io::Result<FingerprintKey> {
        Ok(FingerprintKey {
            key: random_key()?,
            source: "ephemeral".into(),
        })
    }

    /// The default per-install key path: `$SHEKARA_CONFIG_DIR`, else
    /// `$XDG_CONFIG_HOME/shekara`, else `$HOME/.config/shekara`, then `fingerprint.key`.
    pub fn default_path() -> Option<PathBuf> {
        let env = |k| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = env("SHEKARA_CONFIG_DIR")
            .or_else(|| env("XDG_CONFIG_HOME").map(|d| d.join("shekara")))
            .or_else(|| env("HOME").map(|h| h.join(".config").join("shekara")))?;
        Some(dir.join("fingerprint.key"))
    }

    /// A public identifier of the key (not the key): lets readers tell whether
    /// two reports' fingerprints are comparable.
    pub fn id(&self) -> String {
        let h = blake3::hash(&self.key);
        format!("blake3:{}", &h.to_hex()[..16])
    }

    /// Where the key came from: `env`, `flag`, `file:…` or `ephemeral`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// [`mask`] and [`FingerprintKey::fingerprint`] of `value`, remembered
    /// per thread for the last [`REMEMBERED`] values (by hash; a slot holds
    /// its value, compared whole, and the key): a report names the same
    /// endpoint hosts over and over (on the benchmark corpus 57k endpoint
    /// findings of 11.8k values), and a keyed hash, its hex and the mask
    /// cost ≈ 1,400 instructions; a repeat shares the remembered copies (two
    /// reference counts, no allocation). National IDs, nearly all distinct,
    /// are worked out each time, each written once into its shared copy.
    pub fn masked_and_fingerprint(&self, kind: Kind, value: &[u8]) -> (Arc<str>, Arc<str>) {
        if matches!(kind, Kind::Iin | Kind::Bin) || value.len() > REMEMBERED_LEN {
            return (mask_shared(kind, value), self.fingerprint_shared(value));
        }
        let slot = slot_of(kind as u64, value, REMEMBERED);
        let seen = recall(&REMEMBER, slot, |m| {
            (m.kind == kind && *m.value == *value && m.key == self.key)
                .then(|| (m.masked.clone(), m.fingerprint.clone()))
        });
        if let Some(both) = seen {
            return both;
        }
        let (masked, fingerprint) = (mask_shared(kind, value), self.fingerprint_shared(value));
        let entry = Remembered {
            key: self.key,
            kind,
            value: value.into(),
            masked: masked.clone(),
            fingerprint: fingerprint.clone(),
        };
        remember(&REMEMBER, REMEMBERED, slot, entry);
        (masked, fingerprint)
    }

    /// The keyed fingerprint of a raw value: `bk3:` and 32 hex digits (128 bits).
    pub fn fingerprint(&self, value: &[u8]) -> String {
        self.fingerprint_shared(value).to_string()
    }

    /// [`FingerprintKey::fingerprint`], written once into a shared copy.
    pub fn fingerprint_shared(&self, value: &[u8]) -> Arc<str> {
        // A short value (most are) is hashed in one call, with the context
        // before it in a buffer on the stack: the same digest as hashing
        // both in turn, without setting up an incremental hasher.
        let mut joined = [0u8; 128];
        let n = FINGERPRINT_CONTEXT.len() + value.len();
        let digest = match joined.get_mut(..n) {
            Some(buf) => {
                buf[..FINGERPRINT_CONTEXT.len()].copy_from_slice(FINGERPRINT_CONTEXT);
                buf[FINGERPRINT_CONTEXT.len()..].copy_from_slice(value);
                blake3::keyed_hash(&self.key, buf)
            }
            None => {
                let mut h = blake3::Hasher::new_keyed(&self.key);
                h.update(FINGERPRINT_CONTEXT);
                h.update(value);
                h.finalize()
            }
        };
        let mut text = [0u8; 4 + 32];
        text[..4].copy_from_slice(b"bk3:");
        for (i, b) in digest.as_bytes()[..16].iter().enumerate() {
            text[4 + 2 * i] = HEX[usize::from(b >> 4)];
            text[5 + 2 * i] = HEX[usize::from(b & 15)];
        }
        // ASCII: the conversion cannot fail.
        std::str::from_utf8(&text).unwrap_or_default().into()
    }
}

fn random_key() -> std::io::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(key)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The masked form of a raw value, safe to print.
///
/// National IDs keep their first four and last two digits (`8503******31`);
/// biometric templates and embeddings show only their size; model, code and
/// folder findings show the name or import found;
/// endpoints are not personal data and are shown as found (control
/// characters escaped).
pub fn mask(kind: Kind, value: &[u8]) -> String {
    match kind {
        Kind::Iin | Kind::Bin => mask_digits(value, 4, 2),
        // Biometric records and vectors are never shown, not even in part.
        Kind::BiometricTemplate | Kind::FaceEmbedding => {
            format!("[biometric data: {} bytes withheld]", value.len())
        }
        _ => crate::text::escape_lossy(value),
    }
}

/// [`mask`], written once into a shared copy: a national ID's mask (12
/// ASCII digits, most findings) is put together on the stack.
fn mask_shared(kind: Kind, value: &[u8]) -> Arc<str> {
    let mut buf = [0u8; 16];
    let digits = matches!(kind, Kind::Iin | Kind::Bin) && value.is_ascii();
    match buf
        .get_mut(..value.len())
        .filter(|_| digits && value.len() > 6)
    {
        Some(out) => {
            let n = out.len();
            out[..4].copy_from_slice(&value[..4]);
            out[4..n - 2].fill(b'*');
            out[n - 2..].copy_from_slice(&value[n - 2..]);
            // ASCII in, ASCII out.
            std::str::from_utf8(out).unwrap_or_default().into()
        }
        None => mask(kind, value).into(),
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn mask_digits(value: &[u8], head: usize, tail: usize) -> String {
    let n = value.len();
    if n <= head + tail {
        return "*".repeat(n);
    }
    if value.is_ascii() {
        let mut s = String::with_capacity(n);
        s.extend(value[..head].iter().map(|&b| char::from(b)));
        s.extend(std::iter::repeat_n('*', n - head - tail));
        s.extend(value[n - tail..].iter().map(|&b| char::from(b)));
        return s;
    }
    let mut s = String::with_capacity(n);
    s.push_str(&String::from_utf8_lossy(&value[..head]));
    s.push_str(&"*".repeat(n - head - tail));
    s.push_str(&String::from_utf8_lossy(&value[n - tail..]));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-thread memo gives what working the value out gives: for
    /// every kind, repeated and long values, two keys, over more values
    /// than it has slots.
    #[test]
    fn remembered_evidence_is_worked_out_evidence() {
        let keys = [
            FingerprintKey::from_secret("a", "test"),
            FingerprintKey::from_secret("b", "test"),
        ];
        let kinds = [
            Kind::ForeignEndpoint,
            Kind::DomesticEndpoint,
            Kind::Iin,
            Kind::BiometricTemplate,
        ];
        let mut values: Vec<Vec<u8>> = (0..2 * REMEMBERED)
            .map(|i| format!("b{i}.s3.eu-central-1.amazonaws.com").into_bytes())
            .collect();
        values.push(vec![b'x'; REMEMBERED_LEN + 1]);
        values.push(b"850314319331".to_vec());
        for round in 0..3 {
            for k in 0..values.len() {
                let value = &values[(k * 13 + round * 7) % values.len()];
                for key in &keys {
                    for kind in kinds {
                        let want = (mask(kind, value), key.fingerprint(value));
                        let (m, f) = key.masked_and_fingerprint(kind, value);
                        assert_eq!((m.to_string(), f.to_string()), want);
                    }
                }
            }
        }
    }

    #[test]
    fn masks_ids() {
        assert_eq!(mask(Kind::Iin, b"850314319331"), "8503******31");
        assert_eq!(mask(Kind::Bin, b"0503407656"), "0503****56");
        assert_eq!(mask(Kind::Iin, b"12345"), "*****");
        assert_eq!(
            mask(Kind::ForeignEndpoint, b"s3.amazonaws.com"),
            "s3.amazonaws.com"
        );
    }

    /// The mask put together on the stack is [`mask`]'s, for every kind,
    /// every length around and past the stack buffer, and bytes that are
    /// not ASCII.
    #[test]
    fn shared_mask_is_the_mask() {
        let mut values: Vec<Vec<u8>> = (0..=20)
            .map(|n| b"85031431933112345678"[..n].to_vec())
            .collect();
        values.push("8503ЖСН14319".as_bytes().to_vec());
        values.push(b"8503\xff\xfe431933".to_vec());
        for kind in Kind::ALL {
            for v in &values {
                assert_eq!(&*mask_shared(kind, v), mask(kind, v), "{kind:?} {v:?}");
            }
        }
    }

    #[test]
    fn fingerprints_are_keyed_and_stable() {
        let a = FingerprintKey::from_secret("alpha", "flag");
        let b = FingerprintKey::from_secret("beta", "flag");
        assert_eq!(
            a.fingerprint(b"850314319331"),
            a.fingerprint(b"850314319331")
        );
        assert_ne!(
            a.fingerprint(b"850314319331"),
            b.fingerprint(b"850314319331")
        );
        assert!(!a.fingerprint(b"850314319331").contains("850314319331"));
        // The first 16 bytes of the keyed BLAKE3 digest, in lowercase hex.
        let mut h = blake3::Hasher::new_keyed(&a.key);
        h.update(FINGERPRINT_CONTEXT);
        h.update(b"850314319331");
        assert_eq!(
            a.fingerprint(b"850314319331"),
            format!("bk3:{}", &h.finalize().to_hex()[..32])
        );
        assert_eq!(a.fingerprint(b"x").len(), 4 + 32);
        // Values hashed in one call (short) and incrementally (long) alike.
        for len in [0, 1, 64, 104, 105, 106, 200, 5000] {
            let value: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut h = blake3::Hasher::new_keyed(&a.key);
            h.update(FINGERPRINT_CONTEXT);
            h.update(&value);
            let want = format!("bk3:{}", &h.finalize().to_hex()[..32]);
            assert_eq!(a.fingerprint(&value), want, "{len} bytes");
        }
    }

    #[test]
    fn hex_keys_are_used_verbatim() {
        let hexkey = "00".repeat(32);
        let k = FingerprintKey::from_secret(&hexkey, "env");
        assert_eq!(k.key, [0u8; 32]);
    }

    #[test]
    fn key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/fingerprint.key");
        let k1 = FingerprintKey::load_or_create(&p).unwrap();
        let k2 = FingerprintKey::load_or_create(&p).unwrap();
        assert_eq!(k1.id(), k2.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
