//! `stance report` (being written).

use anyhow::Result;

/// Arguments of `stance report`.
#[derive(clap::Args)]
pub struct ReportArgs {}

/// Runs `stance report`.
pub fn run(_args: ReportArgs) -> Result<()> {
    anyhow::bail!("stance report is not written yet")
}
