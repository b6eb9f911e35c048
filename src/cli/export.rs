//! `stance export`: the store's articles, scores and clusters as CSV or Parquet tables, one file
//! each in a directory, each written whole or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stance::article::{TableFormat, TableWriter};
use stance::store::{Store, StoreTable};

use super::ingest::{db_path, open_store};

/// Table formats of `stance export`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// Apache Parquet (snappy).
    Parquet,
}

/// Arguments of `stance export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Table format.
    #[arg(long, value_enum)]
    format: Format,
    /// Directory to write articles.EXT, scores.EXT and clusters.EXT into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Database file [default: $STANCE_DB, else stance.db in the working directory].
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

/// Runs `stance export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let db = db_path(args.db.as_deref());
    if !db.exists() {
        anyhow::bail!("no store at {}", db.display());
    }
    let store = open_store(&db)?;
    let (format, ext) = match args.format {
        Format::Csv => (TableFormat::Csv, "csv"),
        Format::Parquet => (TableFormat::Parquet, "parquet"),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for table in StoreTable::ALL {
        let path = args.out.join(format!("{}.{ext}", table.name()));
        let n = export_table(&store, table, format, &path)
            .with_context(|| format!("exporting {} to {}", table.name(), path.display()))?;
        println!("{}: {n} rows", path.display());
    }
    Ok(())
}

/// Writes one table through a temporary sibling and a rename.
fn export_table(
    store: &Store,
    table: StoreTable,
    format: TableFormat,
    path: &Path,
) -> Result<usize> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().context("not a file path")?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let file =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut w = TableWriter::new(format, table.columns(), std::io::BufWriter::new(file), path)?;
        let n = store.export(table, &mut w)?;
        let mut out = w.finish()?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
