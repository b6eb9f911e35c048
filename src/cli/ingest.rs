//! `stance ingest` (being written).

use anyhow::Result;

/// Arguments of `stance ingest`.
#[derive(clap::Args)]
pub struct IngestArgs {}

/// Runs `stance ingest`.
pub fn run(_args: IngestArgs) -> Result<()> {
    anyhow::bail!("stance ingest is not written yet")
}
