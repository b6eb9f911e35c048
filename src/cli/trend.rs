//! `stance trend` (being written).

use anyhow::Result;

/// Arguments of `stance trend`.
#[derive(clap::Args)]
pub struct TrendArgs {}

/// Runs `stance trend`.
pub fn run(_args: TrendArgs) -> Result<()> {
    anyhow::bail!("stance trend is not written yet")
}
