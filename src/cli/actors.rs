//! `stance actors` (being written).

use anyhow::Result;

/// Arguments of `stance actors`.
#[derive(clap::Args)]
pub struct ActorsArgs {}

/// Runs `stance actors`.
pub fn run(_args: ActorsArgs) -> Result<()> {
    anyhow::bail!("stance actors is not written yet")
}
