//! `stance train` (being written).

use anyhow::Result;

/// Arguments of `stance train`.
#[derive(clap::Args)]
pub struct TrainArgs {}

/// Runs `stance train`.
pub fn run(_args: TrainArgs) -> Result<()> {
    anyhow::bail!("stance train is not written yet")
}
