//! `stance eval` (being written).

use anyhow::Result;

/// Arguments of `stance eval`.
#[derive(clap::Args)]
pub struct EvalArgs {}

/// Runs `stance eval`.
pub fn run(_args: EvalArgs) -> Result<()> {
    anyhow::bail!("stance eval is not written yet")
}
