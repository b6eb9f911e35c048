//! The library's error type: one variant per way a stage can fail, each carrying what a
//! person needs to find the cause (file, line, value). Nothing here prints or exits.

use std::path::PathBuf;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the `stance` library can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// An input record could not be understood.
    #[error("{path}:{line}: {message}")]
    BadRecord {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// What is wrong with the record.
        message: String,
    },
    /// A model file is missing pieces, of another format version, or not a model at all.
    #[error("model {path}: {message}")]
    BadModel {
        /// Where the model was read from (`<built-in>` for the embedded one).
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A data file shipped with or given to stance (gazetteer, lexicon) is malformed.
    #[error("{path}:{line}: {message}")]
    BadData {
        /// The data file.
        path: String,
        /// One-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Parameters failed their check.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Training could not proceed (too few records, a single class, optimiser failure).
    #[error("training failed: {0}")]
    Training(String),
    /// The article store failed.
    #[error("store: {0}")]
    Store(String),
    /// Building a report or chart failed.
    #[error("report: {0}")]
    Report(String),
    /// linfa reported an error (metrics, dataset shapes).
    #[error("linfa: {0}")]
    Linfa(#[from] linfa::Error),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
