//! `stance score` (being written).

use anyhow::Result;

/// Arguments of `stance score`.
#[derive(clap::Args)]
pub struct ScoreArgs {}

/// Runs `stance score`.
pub fn run(_args: ScoreArgs) -> Result<()> {
    anyhow::bail!("stance score is not written yet")
}
