//! Feature keys: how a feature's name becomes the 64-bit key the vocabulary stores. Stems are
//! hashed ([`stem_hash`]), role placeholders have fixed units, and each kind of feature (unigram,
//! bigram, counterpart context, cue) mixes its unit with a salt of its own ([`mix`]). Saved
//! models store these keys, so none of this may change.

use crate::hash::{fnv1a, mix64, FNV_OFFSET, GOLDEN_GAMMA};

/// A 64-bit mixer (splitmix64's finaliser) combining two values.
#[inline]
pub fn mix(a: u64, b: u64) -> u64 {
    mix64(a ^ b.rotate_left(23) ^ GOLDEN_GAMMA)
}

/// Hash of a stem: FNV-1a, then mixed. Stable across runs and platforms, which saved models
/// rely on; never 0.
pub fn stem_hash(s: &str) -> u64 {
    mix(fnv1a(FNV_OFFSET, s.as_bytes()), 0).max(1)
}

/// The unit of a counterpart mention in the role-masked stream.
pub(crate) const UNIT_CP: u64 = 0x0c0f_fee0_0000_0001;
/// The unit of an actor mention.
pub(crate) const UNIT_ACTOR: u64 = 0x0c0f_fee0_0000_0002;
/// The unit of a mention of any other actor.
pub(crate) const UNIT_OTHER: u64 = 0x0c0f_fee0_0000_0003;
/// The unit of a number.
pub(crate) const UNIT_NUM: u64 = 0x0c0f_fee0_0000_0004;
/// Mixed into a unit in a negation scope.
pub(crate) const NEG_SALT: u64 = 0x5bd1_e995_1234_5678;
/// Mixed into a unigram's unit.
pub(crate) const SALT_UNI: u64 = 0x1111_2222_3333_4444;
/// Mixed into the first unit of a bigram.
pub(crate) const SALT_BI: u64 = 0x5555_6666_7777_8888;
/// Mixed into a unit near a counterpart mention.
pub(crate) const SALT_CTX: u64 = 0x9999_aaaa_bbbb_cccc;
/// Mixed into a cue category (with its negation).
pub(crate) const SALT_CUE: u64 = 0xdddd_eeee_ffff_0001;
/// Mixed into a cue category near a counterpart mention.
pub(crate) const SALT_CUE_CTX: u64 = 0x1234_5678_9abc_def0;
/// Mixed into a cue category (with its negation) and the roles of its agent and patient.
pub(crate) const SALT_DIR: u64 = 0x0d1c_7ed0_0000_0001;
/// Mixed into a cue's polarity and the roles of its agent and patient.
pub(crate) const SALT_DIR_POLARITY: u64 = 0x0d1c_7ed0_0000_0002;
/// Mixed into every key of a text scored toward a counterpart the gazetteer does not know.
pub(crate) const SALT_DOMAIN: u64 = 0x0d1c_7ed0_0000_0003;
