//! Helpers shared by integration tests.

#[allow(dead_code)]
pub mod html;

/// The proptest settings of a fuzz harness: `ci_cases` cases, or `PROPTEST_CASES` when set
/// (the long runs in the README's Development section), and no failure files written into
/// the repository (a failure prints its minimal input instead).
#[allow(dead_code)]
pub fn fuzz_config(ci_cases: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(ci_cases);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
