//! Fixed hash functions: the SplitMix64 mixing function, FNV-1a, and SHA-256 digests written as
//! hex. What they compute is stored (feature keys in model files, near-duplicate signatures
//! in stores, model ids) or reported (bootstrap intervals), so their output never changes.
//! Knows nothing of the rest of stance.

use sha2::{Digest, Sha256};

/// SplitMix64's increment: 2⁶⁴ divided by the golden ratio, odd.
pub const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's finaliser: mixes every bit of `z` into every bit of the result, bijectively.
#[inline]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64's output for state `z`: `z` advanced by [`GOLDEN_GAMMA`], then [`mix64`]. Also a
/// good hash of one 64-bit value.
#[inline]
pub const fn splitmix64(z: u64) -> u64 {
    mix64(z.wrapping_add(GOLDEN_GAMMA))
}

/// FNV-1a's starting value.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a's multiplier.
pub const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a of `bytes`, continuing from `h` ([`FNV_OFFSET`] to start).
#[inline]
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Lowercase hex digits of `bytes`, two per byte.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of `bytes`, as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published SplitMix64 sequence from seed 0, and SHA-256 of the empty string: what
    /// stored keys and ids depend on.
    #[test]
    fn outputs_match_the_published_values() {
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(GOLDEN_GAMMA), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
