//! Helpers shared by the unit tests.

/// A deterministic pseudo-random index source (xorshift64): each call returns a number in
/// `0..n`. Tests that generate many inputs use it so a failure names an input that recurs.
pub(crate) fn indices(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}
