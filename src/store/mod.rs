//! The embedded store of scored articles (SQLite through rusqlite): articles, their
//! near-duplicate clusters, models and scores. The only module that touches SQL.
//!
//! - One file, opened in WAL mode with a busy timeout, so readers never block the writer
//!   and a second writer waits instead of failing. The one exception: the first file
//!   ingested into a new store that no other connection has open goes through a rollback
//!   journal (every page written once instead of twice), and commands opening the store
//!   meanwhile wait for it; the log is back when it commits (see [`FileIngest::journal_mode`]).
//! - Each input file is ingested inside one transaction ([`Store::begin`] … [`FileIngest::commit`]):
//!   dropping a [`FileIngest`] without committing (an error, a kill) leaves the store as it was.
//! - Idempotent: an article is keyed by its id and content hash, a score by
//!   (article, counterpart, actor, model); adding either again changes nothing.
//!
//! It never reads the environment or picks a default path: the caller does.
//!
//! Opening (settings, journal, migration) is in `open.rs`, [`schema`] holds the versions and
//! their migrations, ingesting a file in `ingest.rs`, near-duplicate clustering in `cluster.rs`
//! over the signatures of [`dedup`], reading in `query.rs`, and exporting tables (CSV or
//! Parquet) in `export.rs`.
//!
//! # Examples
//! ```
//! # fn main() -> stance::Result<()> {
//! use stance::store::{ModelInfo, Store};
//! use stance::{Article, Label, Score};
//! let dir = tempfile::tempdir().unwrap();
//! let mut store = Store::open(&dir.path().join("stance.db"))?;
//! let model = ModelInfo::new("m1", "# model", "{}");
//! let article = Article { id: "a1".into(), text: "Cuba welcomed the talks.".into(),
//!     date: Some("2025-01-07".into()), ..Article::default() };
//! let score = Score { id: "a1".into(), counterpart: Some("United States".into()), actor: None,
//!     score: 0.4, p_conciliatory: 0.7, p_stance: 1.0, label: Label::Conciliatory, mentions: 1,
//!     intercept: 0.0,
//!     evidence: vec![] };
//! let mut file = store.begin(&model, "in.jsonl")?;
//! file.add(&article, &score)?;
//! file.commit()?;
//! assert_eq!(store.counts()?.articles, 1);
//! # Ok(()) }
//! ```

pub mod dedup;
pub mod schema;

mod cluster;
mod export;
mod ingest;
mod open;
mod query;

pub use export::StoreTable;
pub use ingest::{prepare, Added, FileIngest, IngestStats, ModelInfo, PreparedArticle};
pub use open::BUSY_TIMEOUT;
pub use query::{Counts, ModelRecord, PairCount, ScoredArticle, Selection};

use rusqlite::Connection;

use crate::error::Result;

/// An open store.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// The schema version of the open file (always [`schema::CURRENT`] after [`Store::open`]).
    pub fn schema_version(&self) -> Result<u32> {
        schema::version(&self.conn)
    }
}
