//! The library's error type: one variant per way a stage can fail, each carrying what a
//! person needs to find the cause (file, line, value) and, where another error caused it, that
//! error as its [`source`](std::error::Error::source). Nothing here prints or exits.
//!
//! One enum for every stage, at the bottom of the module order (see the crate's docs), so that
//! any stage can return it without depending on a later one. A message never repeats its
//! source's: print an error with its chain of sources (as the `stance` binary does) to see all.

use std::path::PathBuf;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from another library, kept as the source of one of stance's.
pub type BoxedError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything the `stance` library can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// An input record could not be understood.
    #[error("{}:{line}: {message}", path.display())]
    BadRecord {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// What is wrong with the record.
        message: String,
        /// The JSON reader's own error, when the record is not the JSON it must be.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// A row of a CSV or Parquet file could not be read as an article.
    #[error("{}:{row}: {message}", path.display())]
    BadRow {
        /// The file.
        path: PathBuf,
        /// For CSV, the one-based line the record starts on (the header is line 1); for
        /// Parquet, the one-based row.
        row: usize,
        /// What is wrong with the row.
        message: String,
        /// The CSV or Parquet reader's own error, when it found the problem.
        #[source]
        source: Option<BoxedError>,
    },
    /// A column of a CSV or Parquet file is missing or of a type stance cannot read.
    #[error("{}: column `{column}`: {message}", path.display())]
    BadColumn {
        /// The file.
        path: PathBuf,
        /// The column's name.
        column: String,
        /// What is wrong with it.
        message: String,
    },
    /// A CSV file could not be read or written as CSV.
    #[error("{}: CSV", path.display())]
    Csv {
        /// The file (`<stdout>` for standard output).
        path: PathBuf,
        /// What the CSV reader or writer said.
        #[source]
        source: csv::Error,
    },
    /// A Parquet file could not be read or written.
    #[error("{}: Parquet", path.display())]
    Parquet {
        /// The file (`<stdout>` for standard output).
        path: PathBuf,
        /// What the Parquet reader or writer said.
        #[source]
        source: BoxedError,
    },
    /// A model file is missing pieces, of another format version, or not a model at all.
    #[error("model {}: {message}", path.display())]
    BadModel {
        /// Where the model was read from (`<built-in>` for the embedded one).
        path: PathBuf,
        /// What is wrong with it.
        message: String,
        /// The error that showed it (the JSON reader's, or a failed check's).
        #[source]
        source: Option<BoxedError>,
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
    /// Sparse rows given to the model are inconsistent (lengths, or indices out of order).
    #[error("invalid parameter: bad sparse rows")]
    SparseRows(#[source] sprs::errors::StructureError),
    /// Training could not proceed (too few records, a single class, optimiser failure).
    #[error("training failed: {0}")]
    Training(String),
    /// SQLite failed on the store.
    #[error("store")]
    Sql(#[from] rusqlite::Error),
    /// The store's file could not be opened as a database.
    #[error("store: opening {}", path.display())]
    OpenStore {
        /// The store's file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The store at `path` could not be set up or migrated.
    #[error("store: {}", path.display())]
    StoreFile {
        /// The store's file.
        path: PathBuf,
        /// What went wrong there.
        #[source]
        source: Box<Error>,
    },
    /// The store could not be switched to write-ahead logging.
    #[error("cannot use write-ahead logging (journal mode {mode})")]
    JournalMode {
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// Another command is still ingesting the store's first file.
    #[error("still busy with its first ingest after {seconds} s; try again when it is done")]
    StoreBusy {
        /// How long this command waited.
        seconds: u64,
    },
    /// The store was written by a newer `stance`.
    #[error("the database has schema version {found}; this stance reads up to {supported} (upgrade stance)")]
    NewerSchema {
        /// The store's schema version.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A stored article's fields cannot be read back.
    #[error("store: article {id}: stored {field}")]
    StoredArticle {
        /// The article's id.
        id: String,
        /// The field and its stored value.
        field: String,
        /// Why it does not read back, when another reader said.
        #[source]
        source: Option<BoxedError>,
    },
    /// An article's evidence could not be written as JSON.
    #[error("store: article {id}: evidence")]
    EvidenceJson {
        /// The article's id.
        id: String,
        /// What the JSON writer said.
        #[source]
        source: serde_json::Error,
    },
    /// Storing the article on line `line` of an input file failed.
    #[error("store: {path}:{line}: article {id:?}")]
    Ingest {
        /// The input file.
        path: String,
        /// One-based line number.
        line: usize,
        /// The article's id.
        id: String,
        /// What failed.
        #[source]
        source: Box<Error>,
    },
    /// The chart's font could not be loaded.
    #[error("report: the bundled DejaVu font could not be loaded")]
    Font,
    /// Drawing or encoding a chart failed.
    #[error("report: {what}")]
    Chart {
        /// The step that failed (drawing, encoding the PNG).
        what: &'static str,
        /// What plotters or the encoder said.
        #[source]
        source: BoxedError,
    },
    /// linfa reported an error (metrics, dataset shapes).
    #[error("linfa")]
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
