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

/// A thread's direct-mapped memo: slot `i` holds the last entry put there
/// (each entry holds its own key, compared whole on a hit). Used where an
/// input repeats a few values many times: endpoint hosts, their evidence.
pub type Slots<T> = std::cell::RefCell<Vec<Option<T>>>;

/// The slot of `key` (under `seed`, e.g. a table's identity) among `slots`.
pub fn slot_of(seed: u64, key: &[u8], slots: usize) -> usize {
    let mut h = FastHasher::default();
    h.write_u64(seed);
    h.write(key);
    (h.finish() % slots.max(1) as u64) as usize
}

/// What the entry in slot `slot` of `memo` gives through `read`: `None`
/// when the slot is empty, the memo is in use, or `read` says so (another
/// key's entry).
pub fn recall<T: 'static, R>(
    memo: &'static std::thread::LocalKey<Slots<T>>,
    slot: usize,
    read: impl FnOnce(&T) -> Option<R>,
) -> Option<R> {
    memo.with(|m| {
        let m = m.try_borrow().ok()?;
        read(m.get(slot)?.as_ref()?)
    })
}

/// Puts `entry` in slot `slot` of `memo`, which has `slots` slots (made on
/// first use); nothing when the memo is in use.
pub fn remember<T: 'static>(
    memo: &'static std::thread::LocalKey<Slots<T>>,
    slots: usize,
    slot: usize,
    entry: T,
) {
    memo.with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            if m.is_empty() {
                m.resize_with(slots, || None);
            }
            if let Some(s) = m.get_mut(slot) {
                *s = Some(entry);
            }
        }
    });
}
