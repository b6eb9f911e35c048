//! Pieces every subcommand shares: loading the model, the columns of table input, writing files
//! atomically, broken pipes.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stance::article::Columns;
use stance::Classifier;

/// Which columns of CSV and Parquet input hold an article's fields (every command that reads
/// articles takes these).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ColumnArgs {
    /// CSV/Parquet column holding the article id [default: id].
    #[arg(long, value_name = "NAME")]
    id_col: Option<String>,
    /// CSV/Parquet column holding the article text [default: text].
    #[arg(long, value_name = "NAME")]
    text_col: Option<String>,
    /// CSV/Parquet column holding the date [default: date, when present].
    #[arg(long, value_name = "NAME")]
    date_col: Option<String>,
    /// CSV/Parquet column holding the title [default: title, when present].
    #[arg(long, value_name = "NAME")]
    title_col: Option<String>,
}

impl ColumnArgs {
    /// The columns to read.
    pub fn columns(&self) -> Columns {
        Columns {
            id: self.id_col.clone(),
            text: self.text_col.clone(),
            title: self.title_col.clone(),
            date: self.date_col.clone(),
        }
    }
}

/// Loads `--model PATH`, or the model built into the binary.
pub fn load_model(path: Option<&Path>) -> Result<Classifier> {
    match path {
        Some(p) => Classifier::load(p).with_context(|| format!("loading model {}", p.display())),
        None => Classifier::builtin().context("loading the built-in model"),
    }
}

/// Parses a `--counterpart` or `--actor` name: one that is empty or only whitespace is an error
/// (it would score every article toward nothing).
pub fn name_arg(s: &str) -> std::result::Result<String, String> {
    if s.trim().is_empty() {
        return Err("a name must not be empty or only whitespace".into());
    }
    Ok(s.to_string())
}

/// True when the error chain ends in a closed pipe (e.g. `stance score ... | head`).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<stance::Error>().is_some_and(|s| {
                matches!(s, stance::Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
            })
    })
}

/// Writes a file through a temporary sibling and a rename, so a failure never leaves a
/// half-written file at `path`.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let file =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut w = io::BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
