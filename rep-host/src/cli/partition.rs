//! `--partition count:K/N | hash:K/N`: the share of the cases one of N CI machines runs,
//! with cargo-nextest's syntax and meaning. Every case is in exactly one of the N shares.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// How cases are split between `total` shares; this machine runs share `shard` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// `count`: by position in the (filtered, name-ordered) list; `hash`: by name.
    pub by_hash: bool,
    /// K, from 1 to N.
    pub shard: u64,
    /// N, at least 1.
    pub total: u64,
}

impl Partition {
    /// Whether the case named `name` (its path under DIR), `index`-th (from 0) of the cases
    /// selected, is in this share. `hash` depends on the name only, so a share keeps its
    /// cases when others are added; `count` gives shares of equal size (±1).
    pub fn contains(&self, index: usize, name: &str) -> bool {
        let bucket = if self.by_hash {
            let digest = Sha256::digest(name.as_bytes());
            let mut first = [0u8; 8];
            first.copy_from_slice(&digest[..8]);
            u64::from_be_bytes(first) % self.total
        } else {
            u64::try_from(index).unwrap_or(u64::MAX) % self.total
        };
        bucket == self.shard - 1
    }
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Partition, String> {
        let usage = || format!("{text:?} is not count:K/N or hash:K/N (1 <= K <= N)");
        let (kind, shares) = text.split_once(':').ok_or_else(usage)?;
        let by_hash = match kind {
            "count" => false,
            "hash" => true,
            _ => return Err(usage()),
        };
        let (shard, total) = shares.split_once('/').ok_or_else(usage)?;
        let shard: u64 = shard.parse().map_err(|_| usage())?;
        let total: u64 = total.parse().map_err(|_| usage())?;
        if shard == 0 || shard > total {
            return Err(usage());
        }
        Ok(Partition {
            by_hash,
            shard,
            total,
        })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.by_hash { "hash" } else { "count" };
        write!(f, "{kind}:{}/{}", self.shard, self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_syntax_is_nextests() {
        let p: Partition = "count:2/3".parse().unwrap();
        assert_eq!((p.by_hash, p.shard, p.total), (false, 2, 3));
        assert_eq!(
            "hash:1/1".parse::<Partition>().unwrap().to_string(),
            "hash:1/1"
        );
        for bad in [
            "count:0/3",
            "count:4/3",
            "hash:1",
            "slice:1/2",
            "count:a/2",
            "count:1/0",
            "",
        ] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_case_is_in_exactly_one_share() {
        let names: Vec<String> = (0..100)
            .map(|i| format!("flow{}/case-{i}.yaml", i % 7))
            .collect();
        for by_hash in [false, true] {
            let shares: Vec<Partition> = (1..=3)
                .map(|shard| Partition {
                    by_hash,
                    shard,
                    total: 3,
                })
                .collect();
            let mut sizes = [0usize; 3];
            for (index, name) in names.iter().enumerate() {
                let owners: Vec<usize> = (0..3)
                    .filter(|s| shares[*s].contains(index, name))
                    .collect();
                assert_eq!(owners.len(), 1, "{name}: {owners:?}");
                sizes[owners[0]] += 1;
            }
            if by_hash {
                // Spread, not all in one share.
                assert!(sizes.iter().all(|s| *s > 10), "{sizes:?}");
            } else {
                assert_eq!(sizes, [34, 33, 33]);
            }
        }
    }

    #[test]
    fn hash_shares_depend_on_the_name_only() {
        let p: Partition = "hash:2/4".parse().unwrap();
        for name in ["a.yaml", "greet/passing.yaml", "x/y/z.json"] {
            assert_eq!(p.contains(0, name), p.contains(999, name));
        }
    }
}
