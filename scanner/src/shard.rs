//! Deterministic sharding: `--shard K/N` picks the inputs whose stable hash
//! falls in shard K of N, so N workers (a Kubernetes Indexed Job, Spark
//! tasks) never overlap and together cover everything.
//!
//! The hash is BLAKE3 over the input's key — the path relative to its root
//! for files, the object key for object stores — so the split does not
//! depend on the machine, the walk order or the thread count.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0-based, as `$JOB_COMPLETION_INDEX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    /// This worker's shard, `0..count`.
    pub index: u32,
    /// How many shards there are (≥ 1).
    pub count: u32,
}

impl Shard {
    /// The shard a key falls in, of `count`.
    pub fn of(key: &[u8], count: u32) -> u32 {
        let h = blake3::hash(key);
        let mut first = [0u8; 8];
        first.copy_from_slice(&h.as_bytes()[..8]);
        // Multiply-shift maps the 64-bit hash onto 0..count without the bias of `%`.
        ((u128::from(u64::from_le_bytes(first)) * u128::from(count)) >> 64) as u32
    }

    /// Whether this shard owns `key`.
    pub fn owns(&self, key: &[u8]) -> bool {
        Shard::of(key, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let err = || format!("'{s}' is not a shard: expected K/N with 0 ≤ K < N, e.g. 0/4");
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let index: u32 = k.trim().parse().map_err(|_| err())?;
        let count: u32 = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("2/5".parse(), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1/0", "x/2", "3", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(Shard { index: 0, count: 3 }.to_string(), "0/3");
    }

    #[test]
    fn shards_partition_and_balance() {
        // BLAKE3("data/users.csv")[..8] as little-endian u64, scaled to 10^6.
        const PINNED: u32 = 130_568;
        let n = 7;
        let keys: Vec<String> = (0..70_000).map(|i| format!("data/part-{i}.csv")).collect();
        let mut sizes = vec![0usize; n as usize];
        for k in &keys {
            let owners: Vec<u32> = (0..n)
                .filter(|&i| Shard { index: i, count: n }.owns(k.as_bytes()))
                .collect();
            assert_eq!(owners.len(), 1, "{k} owned by {owners:?}");
            sizes[owners[0] as usize] += 1;
        }
        // 10,000 expected per shard; a fair hash stays well within ±5 %.
        assert!(
            sizes.iter().all(|&s| (9_500..=10_500).contains(&s)),
            "{sizes:?}"
        );
        // Stable across runs and machines: a pinned value.
        assert_eq!(Shard::of(b"data/users.csv", 1), 0);
        assert_eq!(Shard::of(b"data/users.csv", 1_000_000), PINNED);
    }
}
