//! A fast hasher for short keys that the program or the rule data chooses,
//! or where a collision only costs a comparison.

use std::hash::{BuildHasherDefault, Hasher};

/// Hashing for the dataset lexers' maps, the `distinct` sets and the known
/// attribute strings: FxHash's
/// multiply-rotate step eight bytes at a time, finished with MurmurHash3's
/// 64-bit mixer so that low bucket bits depend on every input bit. SipHash
/// cost more than the lexing it served. The input chooses the keys, but a
/// collision only costs a comparison, and the mixer is a bijection on
/// `u64`, so two distinct IDs never share a full hash.
pub type FastHash = BuildHasherDefault<FastHasher>;

/// See [`FastHash`].
#[derive(Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        // The last 1–7 bytes as one zero-padded word (slices hash their
        // length first, so padding cannot make two keys alike).
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}
