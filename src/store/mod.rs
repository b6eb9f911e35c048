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
//!     score: 0.4, p_conciliatory: 0.7, label: Label::Conciliatory, mentions: 1, intercept: 0.0,
//!     evidence: vec![] };
//! let mut file = store.begin(&model, "in.jsonl")?;
//! file.add(&article, &score)?;
//! file.commit()?;
//! assert_eq!(store.counts()?.articles, 1);
//! # Ok(()) }
//! ```

pub mod dedup;
pub mod schema;

use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use crate::article::{Article, Evidence, Label, Score};
use crate::error::{Error, Result};
use crate::hash::{hex, sha256_hex};
use dedup::MinHash;

/// How long a connection waits for a lock held by another process before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn sql_err(e: rusqlite::Error) -> Error {
    Error::Store(e.to_string())
}

/// A model as the store keeps it: its id, a hash of its card, and the card itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// Stable model id (`Classifier::id`).
    pub id: String,
    /// SHA-256 of the JSON card, hex.
    pub hash: String,
    /// The model card as Markdown.
    pub card_markdown: String,
    /// The model card as JSON.
    pub card_json: String,
}

impl ModelInfo {
    /// Describes a model; the hash is computed from `card_json`.
    pub fn new(id: &str, card_markdown: &str, card_json: &str) -> ModelInfo {
        ModelInfo {
            id: id.to_string(),
            hash: sha256_hex(card_json.as_bytes()),
            card_markdown: card_markdown.to_string(),
            card_json: card_json.to_string(),
        }
    }
}

/// What [`FileIngest::add`] did with one article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// A new article (and its score) was stored; `duplicate_of` names the cluster it joined
    /// when it is a near-duplicate of an article already stored.
    New {
        /// The cluster id (the id of the cluster's first article) when it is a near-duplicate.
        duplicate_of: Option<String>,
    },
    /// The article was already stored; `new_score` is true when this model's score was not.
    Present {
        /// Whether a score was added (e.g. the same article under a new model).
        new_score: bool,
    },
    /// Skipped: no usable date.
    Undated,
    /// Skipped: neither the record nor the command named a counterpart.
    NoCounterpart,
    /// Skipped: an article with this id but different text is already stored.
    Conflict,
}

/// Counts of what one file added, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Articles stored for the first time.
    pub new: usize,
    /// Articles already present (same id and text).
    pub present: usize,
    /// Scores stored (new articles, or present articles under a new model or counterpart).
    pub new_scores: usize,
    /// New articles that joined an existing near-duplicate cluster.
    pub near_duplicates: usize,
    /// Ids of articles skipped for want of a usable date.
    pub undated: Vec<String>,
    /// Ids of articles skipped for want of a counterpart.
    pub no_counterpart: Vec<String>,
    /// Ids of articles skipped because the id is stored with different text.
    pub conflicts: Vec<String>,
}

/// Row counts of the whole store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Articles.
    pub articles: usize,
    /// Scores (one per article, counterpart, actor and model).
    pub scores: usize,
    /// Models.
    pub models: usize,
    /// Distinct near-duplicate clusters.
    pub clusters: usize,
}

/// A stored model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRecord {
    /// Its id.
    pub id: String,
    /// SHA-256 of its JSON card.
    pub hash: String,
    /// Its card as Markdown.
    pub card_markdown: String,
    /// When it was first stored (RFC 3339, UTC).
    pub added: String,
}

/// One (actor, counterpart, model) pair present in the store, with its article count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairCount {
    /// The actor as stored (`None` when no actor was named).
    pub actor: Option<String>,
    /// The counterpart as stored.
    pub counterpart: String,
    /// The model that scored them.
    pub model_id: String,
    /// Scored articles.
    pub articles: usize,
}

/// Which scores to read: a counterpart (case-insensitive), optionally an actor, a model and
/// an inclusive date range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The counterpart, matched case-insensitively against the stored name.
    pub counterpart: String,
    /// The actor, matched case-insensitively; `None` takes every actor.
    pub actor: Option<String>,
    /// The model id; `None` takes the most recently stored model that scored this pair.
    pub model: Option<String>,
    /// First date included.
    pub from: Option<NaiveDate>,
    /// Last date included.
    pub to: Option<NaiveDate>,
}

/// A stored article with one of its scores.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredArticle {
    /// Article id.
    pub id: String,
    /// Publication date.
    pub date: NaiveDate,
    /// Headline.
    pub title: Option<String>,
    /// Outlet.
    pub outlet: Option<String>,
    /// Address.
    pub url: Option<String>,
    /// Near-duplicate cluster (the id of the cluster's first stored article).
    pub cluster: String,
    /// Counterpart as stored.
    pub counterpart: String,
    /// Actor as stored (`None` when none was named).
    pub actor: Option<String>,
    /// Model id.
    pub model_id: String,
    /// Stance in [-1, 1].
    pub score: f64,
    /// Probability of conciliatory, 0..1.
    pub p_conciliatory: f64,
    /// Label.
    pub label: Label,
    /// Evidence sentences, largest contribution first.
    pub evidence: Vec<Evidence>,
}

/// An open store.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    ///
    /// # Errors
    /// [`Error::Store`] when the file is not a database, was written by a newer schema, or
    /// cannot be created.
    pub fn open(path: &Path) -> Result<Store> {
        let mut conn = Connection::open(path)
            .map_err(|e| Error::Store(format!("opening {}: {e}", path.display())))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(sql_err)?;
        // 8 KiB pages for a new store (an existing one keeps its own): an article's text takes
        // half as many overflow pages. Measured on 177 MB: ingest 5.5–5.7 s → 5.2–5.3 s, file
        // 310 → 326 MB (16 KiB: no faster, 357 MB).
        conn.pragma_update(None, "page_size", 8 * 1024)
            .map_err(sql_err)?;
        // A store whose first file is being ingested by another connection is in the
        // rollback-journal mode until that file commits (see `rollback_journal_if_alone`).
        // Asked for the log meanwhile, SQLite answers that mode, or busy at once (leaving the
        // mode needs a lock the writer holds): both mean wait, as for a lock.
        let waited = std::time::Instant::now();
        loop {
            let mode = match set_journal_mode(&conn, "WAL") {
                Ok(mode) => mode,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy =>
                {
                    FIRST_FILE_JOURNAL.to_string()
                }
                Err(e) => return Err(Error::Store(format!("{}: {e}", path.display()))),
            };
            if mode.eq_ignore_ascii_case("wal") {
                break;
            }
            if !mode.eq_ignore_ascii_case(FIRST_FILE_JOURNAL) {
                return Err(Error::Store(format!(
                    "{}: cannot use write-ahead logging (journal mode {mode})",
                    path.display()
                )));
            }
            if waited.elapsed() > BUSY_TIMEOUT {
                return Err(Error::Store(format!(
                    "{}: still busy with its first ingest after {} s; try again when it is done",
                    path.display(),
                    BUSY_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql_err)?;
        // A 16 MiB page cache instead of SQLite's 2 MiB: a large ingest then spills far fewer
        // pages to the log before it commits (measured: 1.8 s → 0.8 s of system time on
        // 177 MB, total 6.6 s → 6.0 s; 64 MiB gained nothing more).
        conn.pragma_update(None, "cache_size", -16 * 1024)
            .map_err(sql_err)?;
        schema::migrate(&mut conn)
            .map_err(|e| Error::Store(format!("{}: {}", path.display(), strip(e))))?;
        Ok(Store { conn })
    }

    /// The schema version of the open file (always [`schema::CURRENT`] after [`Store::open`]).
    pub fn schema_version(&self) -> Result<u32> {
        schema::version(&self.conn)
    }

    /// Starts ingesting one file: everything added through the returned handle is committed
    /// together by [`FileIngest::commit`], or not at all. `source` is recorded with each new
    /// article (usually the file path).
    ///
    /// # Errors
    /// [`Error::Store`] when the write lock cannot be had within [`BUSY_TIMEOUT`].
    pub fn begin(&mut self, model: &ModelInfo, source: &str) -> Result<FileIngest<'_>> {
        let conn = &self.conn;
        let restore_wal = rollback_journal_if_alone(conn)?;
        // `new_unchecked` borrows the connection shared, so the handle can also keep it to
        // restore the log after committing. No other transaction can be open on it: this
        // handle holds the store's `&mut` borrow until it is committed or dropped.
        let tx =
            Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(sql_err)?;
        tx.execute(
            "INSERT OR IGNORE INTO models (id, hash, card, card_json, added) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![model.id, model.hash, model.card_markdown, model.card_json, now()],
        )
        .map_err(sql_err)?;
        let pending = PendingBands::new();
        Ok(FileIngest {
            conn,
            tx,
            restore_wal,
            pending,
            model_id: model.id.clone(),
            source: source.to_string(),
            started: now(),
            stats: IngestStats::default(),
        })
    }

    /// Row counts.
    pub fn counts(&self) -> Result<Counts> {
        let one = |sql: &str| -> Result<usize> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
                .map_err(sql_err)
        };
        Ok(Counts {
            articles: one("SELECT count(*) FROM articles")?,
            scores: one("SELECT count(*) FROM scores")?,
            models: one("SELECT count(*) FROM models")?,
            clusters: one("SELECT count(DISTINCT cluster) FROM articles")?,
        })
    }

    /// Every stored model, oldest first.
    pub fn models(&self) -> Result<Vec<ModelRecord>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, hash, card, added FROM models ORDER BY rowid")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ModelRecord {
                    id: r.get(0)?,
                    hash: r.get(1)?,
                    card_markdown: r.get(2)?,
                    added: r.get(3)?,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
    }

    /// Every (actor, counterpart, model) present, with its article count, most articles first.
    pub fn pairs(&self) -> Result<Vec<PairCount>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT actor, counterpart, model_id, count(*) FROM scores
                 GROUP BY actor, counterpart, model_id ORDER BY count(*) DESC, counterpart, actor",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| {
                let actor: String = r.get(0)?;
                Ok(PairCount {
                    actor: (!actor.is_empty()).then_some(actor),
                    counterpart: r.get(1)?,
                    model_id: r.get(2)?,
                    articles: r.get::<_, i64>(3)? as usize,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
    }

    /// The model a selection without `model` reads: the most recently stored model that
    /// scored this counterpart (and actor); `None` when no model did.
    pub fn latest_model(&self, counterpart: &str, actor: Option<&str>) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT m.id FROM models m
                 WHERE EXISTS (SELECT 1 FROM scores s WHERE s.model_id = m.id
                     AND s.counterpart = ?1 COLLATE NOCASE
                     AND (?2 IS NULL OR s.actor = ?2 COLLATE NOCASE))
                 ORDER BY m.rowid DESC LIMIT 1",
                params![counterpart, actor],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)
    }

    /// The scored articles a selection covers, by date then id. With no model given, uses
    /// [`Store::latest_model`]; an empty result means nothing matched.
    pub fn scored(&self, sel: &Selection) -> Result<Vec<ScoredArticle>> {
        let model = match &sel.model {
            Some(m) => m.clone(),
            None => match self.latest_model(&sel.counterpart, sel.actor.as_deref())? {
                Some(m) => m,
                None => return Ok(Vec::new()),
            },
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.id, a.date, a.title, a.outlet, a.url, a.cluster, s.counterpart, s.actor,
                        s.model_id, s.score, s.p_conciliatory, s.label, s.evidence
                 FROM scores s JOIN articles a ON a.id = s.article_id
                 WHERE s.counterpart = ?1 COLLATE NOCASE
                   AND (?2 IS NULL OR s.actor = ?2 COLLATE NOCASE)
                   AND s.model_id = ?3
                   AND (?4 IS NULL OR a.date >= ?4) AND (?5 IS NULL OR a.date <= ?5)
                 ORDER BY a.date, a.id, s.actor",
            )
            .map_err(sql_err)?;
        let from = sel.from.map(|d| d.to_string());
        let to = sel.to.map(|d| d.to_string());
        let rows = stmt
            .query_map(params![sel.counterpart, sel.actor, model, from, to], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, f64>(9)?,
                    r.get::<_, f64>(10)?,
                    r.get::<_, String>(11)?,
                    r.get::<_, String>(12)?,
                ))
            })
            .map_err(sql_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                date,
                title,
                outlet,
                url,
                cluster,
                counterpart,
                actor,
                model_id,
                score,
                p,
                label,
                ev,
            ) = row.map_err(sql_err)?;
            let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|e| Error::Store(format!("article {id}: stored date {date:?}: {e}")))?;
            let label = Label::parse(&label)
                .ok_or_else(|| Error::Store(format!("article {id}: stored label {label:?}")))?;
            let evidence: Vec<Evidence> = serde_json::from_str(&ev)
                .map_err(|e| Error::Store(format!("article {id}: stored evidence: {e}")))?;
            out.push(ScoredArticle {
                cluster: cluster.unwrap_or_else(|| id.clone()),
                id,
                date,
                title,
                outlet,
                url,
                counterpart,
                actor: (!actor.is_empty()).then_some(actor),
                model_id,
                score,
                p_conciliatory: p,
                label,
                evidence,
            });
        }
        Ok(out)
    }

    /// How many stored articles share this near-duplicate cluster (the original included),
    /// whatever counterpart they were scored toward.
    pub fn cluster_size(&self, cluster: &str) -> Result<usize> {
        self.conn
            .query_row(
                "SELECT count(*) FROM articles WHERE cluster = ?1",
                params![cluster],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(sql_err)
    }
}

/// One file's ingestion in progress: a write transaction.
pub struct FileIngest<'s> {
    conn: &'s Connection,
    tx: Transaction<'s>,
    /// Whether this file is written through a rollback journal (see
    /// [`rollback_journal_if_alone`]) and the write-ahead log is to be restored after it.
    restore_wal: bool,
    pending: PendingBands,
    model_id: String,
    source: String,
    /// When this file's ingestion began: the `added` time of its new articles.
    started: String,
    stats: IngestStats,
}

impl FileIngest<'_> {
    /// Stores an article (unless present) and its score (unless present). Articles without a
    /// usable date or counterpart, or whose id is stored with other text, are skipped and
    /// recorded in the stats.
    ///
    /// # Errors
    /// [`Error::Store`] when SQLite fails; the caller should then drop this handle.
    pub fn add(&mut self, article: &Article, score: &Score) -> Result<Added> {
        self.add_prepared(article, score, prepare(article, score)?)
    }

    /// Like [`FileIngest::add`], with the work that needs no database ([`prepare`]) already
    /// done (for callers that do it on worker threads).
    ///
    /// # Errors
    /// [`Error::Store`] when SQLite fails; the caller should then drop this handle.
    pub fn add_prepared(
        &mut self,
        article: &Article,
        score: &Score,
        prepared: Prepared,
    ) -> Result<Added> {
        let Some(date) = article.date() else {
            self.stats.undated.push(article.id.clone());
            return Ok(Added::Undated);
        };
        let Some(counterpart) = score
            .counterpart
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        else {
            self.stats.no_counterpart.push(article.id.clone());
            return Ok(Added::NoCounterpart);
        };
        let Prepared {
            content_hash: hash,
            signature: sig,
            signature_bytes,
            bands,
            evidence,
        } = prepared;
        let stored: Option<String> = self
            .tx
            .prepare_cached("SELECT content_hash FROM articles WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![article.id], |r| r.get(0)).optional())
            .map_err(sql_err)?;
        let mut added = match stored {
            Some(h) if h != hash => {
                self.stats.conflicts.push(article.id.clone());
                return Ok(Added::Conflict);
            }
            Some(_) => Added::Present { new_score: false },
            None => {
                let cluster =
                    assign_cluster(&self.tx, &article.id, &sig, &bands, &mut self.pending)?;
                self.tx
                    .prepare_cached(
                        "INSERT INTO articles (id, date, title, outlet, url, content_hash, text,
                             source, added, minhash, cluster)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            article.id,
                            date.to_string(),
                            article.title,
                            article.outlet,
                            article.url,
                            hash,
                            article.text,
                            self.source,
                            self.started,
                            signature_bytes,
                            cluster
                        ])
                    })
                    .map_err(sql_err)?;
                self.pending
                    .add(&self.tx, &article.id, sig, bands, &cluster)?;
                self.stats.new += 1;
                let duplicate_of = (cluster != article.id).then_some(cluster);
                if duplicate_of.is_some() {
                    self.stats.near_duplicates += 1;
                }
                Added::New { duplicate_of }
            }
        };
        let n = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO scores (article_id, counterpart, actor, model_id, score,
                     p_conciliatory, label, mentions, evidence)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    article.id,
                    counterpart,
                    score.actor.as_deref().unwrap_or(""),
                    self.model_id,
                    score.score,
                    score.p_conciliatory,
                    score.label.as_str(),
                    score.mentions as i64,
                    evidence
                ])
            })
            .map_err(sql_err)?;
        self.stats.new_scores += n;
        if let Added::Present { new_score } = &mut added {
            self.stats.present += 1;
            *new_score = n > 0;
        }
        Ok(added)
    }

    /// What has been added so far.
    pub fn stats(&self) -> &IngestStats {
        &self.stats
    }

    /// The journal this file is written through: `wal` (the write-ahead log), or `truncate`
    /// (a rollback journal) for the first file of a store no other connection has open.
    ///
    /// # Errors
    /// [`Error::Store`] when SQLite fails.
    pub fn journal_mode(&self) -> Result<String> {
        self.tx
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(sql_err)
    }

    /// Commits everything added, returning the counts.
    ///
    /// # Errors
    /// [`Error::Store`] when the commit fails (nothing is then stored).
    pub fn commit(mut self) -> Result<IngestStats> {
        self.pending.write(&self.tx)?;
        self.tx.commit().map_err(sql_err)?;
        if self.restore_wal {
            // Committed already: should this fail, the next `Store::open` restores the log.
            let _ = set_journal_mode(self.conn, "WAL");
        }
        Ok(self.stats)
    }
}

/// Switches a store that holds no article yet, and that no other connection has open, from
/// the write-ahead log to a rollback journal for its first file; true if it did.
///
/// Through the log, every page of a large first file is written twice: into the log while the
/// transaction grows, then into the database when it commits (on the run.sh corpus, 326 MB
/// each way and 0.65 s of single-threaded commit). Through a rollback journal a new page is
/// written once, and the journal holds only the few pages that existed before: ingest of that
/// corpus into a new store took 3.3–3.6 s instead of 3.9–4.1 s. A failed or killed ingest
/// still leaves the store as it was (the journal rolls the file back when the store is next
/// opened). The price: while that first file is ingested, other commands opening the store
/// wait for it (`Store::open`, up to [`BUSY_TIMEOUT`]), where through the log they would have
/// read the empty store. Once a store holds articles, or when another connection is open,
/// nothing changes: readers never block the writer.
fn rollback_journal_if_alone(conn: &Connection) -> Result<bool> {
    let empty: bool = conn
        .query_row("SELECT NOT EXISTS (SELECT 1 FROM articles)", [], |r| {
            r.get(0)
        })
        .map_err(sql_err)?;
    if !empty {
        return Ok(false);
    }
    // Leaving the log needs the only connection: ask without waiting for others to close.
    conn.busy_timeout(Duration::ZERO).map_err(sql_err)?;
    let mode = set_journal_mode(conn, FIRST_FILE_JOURNAL);
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
    Ok(matches!(mode, Ok(m) if m.eq_ignore_ascii_case(FIRST_FILE_JOURNAL)))
}

/// The journal mode of a store while its first file is ingested, alone.
const FIRST_FILE_JOURNAL: &str = "truncate";

/// Sets the journal mode; SQLite answers with the mode in force afterwards.
fn set_journal_mode(conn: &Connection, mode: &str) -> rusqlite::Result<String> {
    conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0))
}

/// What storing an article needs that no database does: its content hash, its MinHash
/// signature and its evidence as JSON. Computed by [`FileIngest::add`], or beforehand on any
/// thread for [`FileIngest::add_prepared`].
#[derive(Debug, Clone)]
pub struct Prepared {
    content_hash: String,
    signature: MinHash,
    /// The signature as stored, and its band keys.
    signature_bytes: Vec<u8>,
    bands: Vec<i64>,
    evidence: String,
}

/// Does the database-free part of storing `article` with `score`.
///
/// # Errors
/// [`Error::Store`] when the evidence cannot be serialised.
pub fn prepare(article: &Article, score: &Score) -> Result<Prepared> {
    let signature = MinHash::of_text(&article.text);
    Ok(Prepared {
        content_hash: content_hash(article),
        signature_bytes: signature.to_bytes(),
        bands: signature.bands(),
        signature,
        evidence: serde_json::to_string(&score.evidence)
            .map_err(|e| Error::Store(format!("article {}: evidence: {e}", article.id)))?,
    })
}

/// Finds the cluster of the most similar stored article sharing one of `keys` (the
/// signature's band keys) whose estimated Jaccard similarity reaches [`dedup::THRESHOLD`]; the
/// article's own id when there is none. Candidates come from `pending` (the current file's
/// articles, held in memory) and, unless it knows the database holds none of the keys, from
/// one query that looks up all of them.
pub(crate) fn assign_cluster(
    tx: &Transaction<'_>,
    id: &str,
    sig: &MinHash,
    keys: &[i64],
    pending: &mut PendingBands,
) -> Result<String> {
    if keys.is_empty() {
        return Ok(id.to_string());
    }
    let mut best: Option<(f64, String)> = None;
    // Ties go to the smallest cluster id, whatever order the candidates come in.
    let mut offer = |other: &MinHash, cluster: &str| {
        let s = sig.similarity(other);
        if s >= dedup::THRESHOLD
            && best
                .as_ref()
                .is_none_or(|(b, bc)| s > *b || (s == *b && cluster < bc.as_str()))
        {
            best = Some((s, cluster.to_string()));
        }
    };
    // A held article whose keys are already written is offered twice when the database is
    // asked too: the same similarity and cluster, so the second offer changes nothing.
    for (other, cluster) in pending.candidates(keys) {
        offer(other, cluster);
    }
    if !pending.db_may_hold(tx, keys)? {
        return Ok(best.map_or_else(|| id.to_string(), |(_, c)| c));
    }
    let sql = format!(
        "SELECT DISTINCT b.article_id, a.minhash, a.cluster FROM minhash_bands b
         JOIN articles a ON a.id = b.article_id
         WHERE b.key IN ({}) AND b.article_id <> ?1",
        (0..keys.len())
            .map(|k| format!("?{}", k + 2))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut stmt = tx.prepare_cached(&sql).map_err(sql_err)?;
    let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(keys.len() + 1);
    args.push(&id);
    args.extend(keys.iter().map(|k| k as &dyn rusqlite::ToSql));
    let rows = stmt
        .query_map(args.as_slice(), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(sql_err)?;
    for row in rows {
        let (other, bytes, cluster) = row.map_err(sql_err)?;
        let Some(other_sig) = bytes.as_deref().and_then(MinHash::from_bytes) else {
            continue;
        };
        offer(&other_sig, &cluster.unwrap_or(other));
    }
    Ok(best.map_or_else(|| id.to_string(), |(_, c)| c))
}

/// Articles whose band keys [`PendingBands`] holds in memory at most.
const MAX_PENDING: usize = 32_768;
/// Articles whose band keys are written to the database together, in key order. Measured on
/// 177 MB, three runs each: 1,024 at a time 4.23–4.33 s, 8,192 3.98–4.13 s, all at commit
/// 4.02–4.05 s (not counting one run each of the last two, 4.79 and 5.11 s, when the disk was
/// slow: 1.4–1.5 s of system time).
const WRITE_EVERY: usize = 8192;
/// Band rows written by one statement.
const ROWS_PER_INSERT: usize = 64;

/// Band keys the database may hold, kept in memory ([`DbKeys`]) up to this many: 32 MiB.
const MAX_DB_KEYS: usize = 1 << 22;

/// The band keys of the articles added in the current transaction, so later articles of the
/// same file find them in memory as candidates instead of seeking each of their 32 keys in a
/// large table. The keys are written to `minhash_bands` in key order, [`WRITE_EVERY`] articles
/// at a time (and at commit). The database is asked for candidates only for an article with a
/// key it holds from before this transaction or from articles dropped from memory (after
/// [`MAX_PENDING`]); which keys those are is read once, when the first article needs it, unless
/// there are more than [`MAX_DB_KEYS`] (then the database is asked for every article).
#[derive(Debug)]
pub(crate) struct PendingBands {
    /// What is known of the keys in the database that no held article has.
    db: DbKeys,
    /// [`WRITE_EVERY`], [`MAX_PENDING`] and [`MAX_DB_KEYS`] (smaller in tests).
    write_every: usize,
    max_held: usize,
    max_db_keys: usize,
    /// Per article: its id, signature, band keys and cluster.
    articles: Vec<(String, MinHash, Vec<i64>, String)>,
    /// Articles (a prefix of `articles`) whose band keys are written.
    written: usize,
    /// Band key → its newest entry in `entries`.
    heads: FxHashMap<i64, u32>,
    /// Per article and band key: the article's index, and the next older entry with the same
    /// key (`u32::MAX` at the end).
    entries: Vec<(u32, u32)>,
}

impl PendingBands {
    /// Holds nothing yet.
    pub(crate) fn new() -> PendingBands {
        PendingBands {
            db: DbKeys::Unread,
            write_every: WRITE_EVERY,
            max_held: MAX_PENDING,
            max_db_keys: MAX_DB_KEYS,
            articles: Vec::new(),
            written: 0,
            heads: FxHashMap::default(),
            entries: Vec::new(),
        }
    }

    /// Whether the database may hold an article other than the held ones with one of `keys`
    /// (reading its keys the first time it is asked).
    fn db_may_hold(&mut self, tx: &Transaction<'_>, keys: &[i64]) -> Result<bool> {
        if let DbKeys::Unread = self.db {
            self.db = DbKeys::read(tx, self.max_db_keys)?;
        }
        Ok(match &self.db {
            DbKeys::Known(set) => keys.iter().any(|&k| set.contains(k)),
            _ => true,
        })
    }

    /// Holds an article's band keys, writing them (and those held before) when due.
    pub(crate) fn add(
        &mut self,
        tx: &Transaction<'_>,
        id: &str,
        sig: MinHash,
        keys: Vec<i64>,
        cluster: &str,
    ) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let article = self.articles.len() as u32;
        for &key in &keys {
            let next = self.heads.insert(key, self.entries.len() as u32);
            self.entries.push((article, next.unwrap_or(u32::MAX)));
        }
        self.articles
            .push((id.to_string(), sig, keys, cluster.to_string()));
        if self.articles.len() - self.written >= self.write_every {
            self.write(tx)?;
        }
        if self.articles.len() >= self.max_held {
            // Written, so the database finds them from now on.
            self.write(tx)?;
            let dropped: Vec<i64> = self.articles.iter().flat_map(|a| a.2.clone()).collect();
            self.articles.clear();
            self.written = 0;
            self.heads.clear();
            self.entries.clear();
            if let DbKeys::Known(set) = &mut self.db {
                if !set.add(dropped, self.max_db_keys) {
                    self.db = DbKeys::TooMany;
                }
            }
        }
        Ok(())
    }

    /// The held articles sharing any of `keys`, each once: signature and cluster.
    fn candidates(&self, keys: &[i64]) -> impl Iterator<Item = (&MinHash, &str)> {
        let mut found: Vec<u32> = Vec::new();
        for key in keys {
            let mut at = self.heads.get(key).copied().unwrap_or(u32::MAX);
            while at != u32::MAX {
                let (article, next) = self.entries[at as usize];
                found.push(article);
                at = next;
            }
        }
        found.sort_unstable();
        found.dedup();
        found.into_iter().map(|a| {
            let (_, sig, _, cluster) = &self.articles[a as usize];
            (sig, cluster.as_str())
        })
    }

    /// Writes the band keys of the articles not yet written, in key order.
    pub(crate) fn write(&mut self, tx: &Transaction<'_>) -> Result<()> {
        let mut rows: Vec<(i64, &str)> = self.articles[self.written..]
            .iter()
            .flat_map(|(id, _, keys, _)| keys.iter().map(move |&k| (k, id.as_str())))
            .collect();
        rows.sort_unstable();
        // Many rows to a statement: one statement per row spent more in binding and stepping
        // than in the table.
        let insert = |n: usize| {
            let values = vec!["(?, ?)"; n].join(", ");
            tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO minhash_bands (key, article_id) VALUES {values}"
            ))
            .map_err(sql_err)
        };
        let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
        let mut stmt = insert(ROWS_PER_INSERT)?;
        for chunk in &mut chunks {
            let args: Vec<&dyn rusqlite::ToSql> = chunk
                .iter()
                .flat_map(|(key, id)| [key as &dyn rusqlite::ToSql, id])
                .collect();
            stmt.execute(args.as_slice()).map_err(sql_err)?;
        }
        let mut stmt = insert(1)?;
        for (key, id) in chunks.remainder() {
            stmt.execute(params![key, id]).map_err(sql_err)?;
        }
        self.written = self.articles.len();
        Ok(())
    }
}

/// What a [`PendingBands`] knows of the band keys in the database.
#[derive(Debug)]
enum DbKeys {
    /// Not read yet.
    Unread,
    /// All of them.
    Known(KeySet),
    /// More than it keeps: every article's keys are looked up in the database.
    TooMany,
}

impl DbKeys {
    /// Reads the database's band keys, unless there are more than `max`.
    fn read(tx: &Transaction<'_>, max: usize) -> Result<DbKeys> {
        // The largest rowid is at least the number of articles, each with up to `BANDS` keys:
        // a store that may hold too many is not read at all.
        let articles: i64 = tx
            .query_row("SELECT coalesce(max(rowid), 0) FROM articles", [], |r| {
                r.get(0)
            })
            .map_err(sql_err)?;
        if articles as u64 > (max / dedup::BANDS) as u64 {
            return Ok(DbKeys::TooMany);
        }
        let mut stmt = tx
            .prepare("SELECT key FROM minhash_bands")
            .map_err(sql_err)?;
        let mut rows = stmt.query([]).map_err(sql_err)?;
        let mut keys = Vec::new();
        while let Some(row) = rows.next().map_err(sql_err)? {
            if keys.len() == max {
                return Ok(DbKeys::TooMany);
            }
            keys.push(row.get::<_, i64>(0).map_err(sql_err)?);
        }
        let mut set = KeySet::default();
        let fits = set.add(keys, max);
        debug_assert!(fits, "no more than `max` keys were read");
        Ok(DbKeys::Known(set))
    }
}

/// A set of band keys, sorted, with a directory by their top bits: a lookup reads one
/// directory entry and the one or two cache lines of keys it points to. Eight bytes a key,
/// where a hash set of them takes 10–20.
#[derive(Debug, Default)]
struct KeySet {
    /// The keys as unsigned, sorted, each once.
    keys: Vec<u64>,
    /// `keys[dir[b]..dir[b + 1]]` are those whose top `bits` bits are `b`.
    dir: Vec<u32>,
    bits: u32,
}

impl KeySet {
    /// Adds `new` keys; false (adding nothing) if the set could then exceed `max` (a key it
    /// already holds counts again). `new` is sorted in its own allocation and merged into the
    /// set from the back, so adding takes no memory beyond the set's growth.
    fn add(&mut self, new: Vec<i64>, max: usize) -> bool {
        let mut new: Vec<u64> = new.into_iter().map(|k| k as u64).collect();
        new.sort_unstable();
        new.dedup();
        let old = self.keys.len();
        if old + new.len() > max {
            return false;
        }
        if old == 0 {
            self.keys = new;
        } else {
            self.keys.resize(old + new.len(), 0);
            let (mut i, mut j) = (old, new.len());
            // Once `new` is placed, the set's smaller keys are where they were.
            for k in (0..self.keys.len()).rev() {
                if j == 0 {
                    break;
                }
                if i > 0 && self.keys[i - 1] > new[j - 1] {
                    self.keys[k] = self.keys[i - 1];
                    i -= 1;
                } else {
                    self.keys[k] = new[j - 1];
                    j -= 1;
                }
            }
            self.keys.dedup();
        }
        // About four keys a directory entry.
        self.bits = (self.keys.len() / 4).max(1).ilog2();
        self.dir.clear();
        self.dir.resize((1 << self.bits) + 1, 0);
        for &k in &self.keys {
            self.dir[bucket(k, self.bits) + 1] += 1;
        }
        for b in 1..self.dir.len() {
            self.dir[b] += self.dir[b - 1];
        }
        true
    }

    fn contains(&self, key: i64) -> bool {
        let key = key as u64;
        if self.keys.is_empty() {
            return false;
        }
        let b = bucket(key, self.bits);
        self.keys[self.dir[b] as usize..self.dir[b + 1] as usize].contains(&key)
    }
}

/// The directory entry of `key`: its top `bits` bits.
#[inline]
fn bucket(key: u64, bits: u32) -> usize {
    key.checked_shr(64 - bits).unwrap_or(0) as usize
}

fn content_hash(a: &Article) -> String {
    let mut h = Sha256::new();
    h.update(a.title.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(a.text.as_bytes());
    hex(&h.finalize())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn strip(e: Error) -> String {
    match e {
        Error::Store(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Clusters as the rule states them: each article joins the cluster of the most similar
    /// earlier article sharing a band key, at or above the threshold (ties to the smallest
    /// cluster id), else starts its own. Articles held in memory, written in chunks, dropped
    /// from memory and found in the database again, or stored by an earlier file: the store
    /// clusters every article the same way.
    #[test]
    fn held_band_keys_cluster_like_the_rule() {
        let base: Vec<String> = (0..12)
            .map(|b| {
                (0..40)
                    .map(|w| format!("w{}x{}", (b * 7 + w * 13) % 97, w % 5))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let mut texts = Vec::new();
        for i in 0..240usize {
            let mut words: Vec<String> = base[i % 12].split(' ').map(String::from).collect();
            for k in 0..(i / 12) % 6 {
                let at = (i * 31 + k * 17) % words.len();
                words[at] = format!("edit{i}_{k}");
            }
            texts.push((format!("a{i:03}"), words.join(" ")));
        }
        let mut expected: Vec<(String, String)> = Vec::new();
        let mut seen: Vec<(MinHash, String)> = Vec::new();
        for (id, text) in &texts {
            let sig = MinHash::of_text(text);
            let bands = sig.bands();
            let mut best: Option<(f64, String)> = None;
            for (other, cluster) in &seen {
                let s = sig.similarity(other);
                if other.bands().iter().any(|k| bands.contains(k))
                    && s >= dedup::THRESHOLD
                    && best
                        .as_ref()
                        .is_none_or(|(b, c)| s > *b || (s == *b && cluster < c))
                {
                    best = Some((s, cluster.clone()));
                }
            }
            let cluster = best.map_or_else(|| id.clone(), |(_, c)| c);
            seen.push((sig, cluster.clone()));
            expected.push((id.clone(), cluster));
        }
        assert!(expected.iter().filter(|(id, c)| id != c).count() > 100);
        let model = ModelInfo::new("m", "# m", "{}");
        // Limits: articles written together, held, and database keys kept in memory (with 150
        // articles to a file, 5,000 keys are read for the second file and exceeded once more
        // articles are dropped from memory; none are kept with 0).
        for (write_every, max_held, max_db_keys) in [
            (WRITE_EVERY, MAX_PENDING, MAX_DB_KEYS),
            (7, 40, MAX_DB_KEYS),
            (1, 1, MAX_DB_KEYS),
            (7, 40, 5_000),
            (7, 40, 0),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(&dir.path().join("s.db")).unwrap();
            for half in texts.chunks(150) {
                let mut file = store.begin(&model, "in.jsonl").unwrap();
                file.pending.write_every = write_every;
                file.pending.max_held = max_held;
                file.pending.max_db_keys = max_db_keys;
                for (id, text) in half {
                    let article = Article {
                        id: id.clone(),
                        text: text.clone(),
                        date: Some("2025-01-07".into()),
                        ..Article::default()
                    };
                    let score = Score {
                        id: id.clone(),
                        counterpart: Some("Cuba".into()),
                        actor: None,
                        score: 0.0,
                        p_conciliatory: 0.5,
                        label: Label::Neutral,
                        mentions: 1,
                        intercept: 0.0,
                        evidence: vec![],
                    };
                    file.add(&article, &score).unwrap();
                }
                file.commit().unwrap();
            }
            let mut got: Vec<(String, String)> = store
                .conn
                .prepare("SELECT id, cluster FROM articles ORDER BY id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            got.sort();
            assert_eq!(
                got, expected,
                "write every {write_every}, hold {max_held}, keep {max_db_keys} keys"
            );
            let rows: usize = store
                .conn
                .query_row("SELECT count(*) FROM minhash_bands", [], |r| r.get(0))
                .unwrap();
            assert_eq!(rows, texts.len() * dedup::BANDS);
        }
    }

    /// The key set answers as a hash set does, for keys at both ends of the range, keys
    /// sharing a directory entry, and sets grown in steps; and refuses to grow past its limit.
    #[test]
    fn key_set_contains_what_was_added() {
        let mut rng = SplitMix64::new(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next_u64() as i64;
        let mut set = KeySet::default();
        let mut all = rustc_hash::FxHashSet::default();
        assert!(!set.contains(0));
        for step in [0usize, 1, 3, 50, 1000, 20_000] {
            let mut keys: Vec<i64> = (0..step).map(|_| next()).collect();
            keys.extend([i64::MIN, -1, 0, 1, i64::MAX]);
            // Neighbours of a key share its directory entry.
            keys.extend(keys.clone().iter().take(20).map(|k| k.wrapping_add(1)));
            assert!(set.add(keys.clone(), usize::MAX));
            all.extend(keys);
            assert_eq!(set.keys.len(), all.len());
            for &k in &all {
                assert!(set.contains(k), "{k}");
            }
            for _ in 0..5000 {
                let k = next();
                assert_eq!(set.contains(k), all.contains(&k), "{k}");
            }
        }
        let size = set.keys.len();
        assert!(!set.add(vec![7, 8, 9, 10], size + 3));
        assert_eq!(set.keys.len(), size);
        assert!(set.add(vec![7, 8, 9], size + 3));
        assert_eq!(set.keys.len(), size + 3);
    }

    const WIRE: &str = "Cuba on Tuesday rejected a United States offer of talks on migration, \
        saying new sanctions announced last month made any dialogue impossible while Washington \
        kept what officials called an economic war against the island and its people.";

    /// Writes a store of schema `version` (1 or 2) holding three articles, two of them copies
    /// of one wire story. In version 2 they carry stale signatures, clusters and band rows
    /// (all three claimed as one cluster) that the migration must replace.
    fn write_old_store(path: &Path, version: u32) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(schema::V1).unwrap();
        if version == 2 {
            conn.execute_batch(schema::V1_TO_V2).unwrap();
        }
        conn.execute("INSERT INTO schema_version VALUES (?1)", params![version])
            .unwrap();
        for (id, text) in [
            ("a", WIRE.to_string()),
            ("b", format!("{WIRE} Officials gave no date.")),
            ("c", "Beijing and Manila signed a hotline agreement.".into()),
        ] {
            conn.execute(
                "INSERT INTO articles (id, date, content_hash, text, source, added)
                 VALUES (?1, '2025-10-14', 'h', ?2, 'old.jsonl', 'then')",
                params![id, text],
            )
            .unwrap();
            if version == 2 {
                conn.execute(
                    "UPDATE articles SET minhash = x'00', cluster = 'a' WHERE id = ?1",
                    params![id],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO minhash_bands (band, hash, article_id) VALUES (0, 1, ?1)",
                    params![id],
                )
                .unwrap();
            }
        }
    }

    #[test]
    fn migrates_a_version_1_store_and_clusters_its_articles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        write_old_store(&path, 1);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), schema::CURRENT);
        let counts = store.counts().unwrap();
        assert_eq!((counts.articles, counts.clusters), (3, 2));
        assert_eq!(store.cluster_size("a").unwrap(), 2);
        drop(store);
        // Opening again is a no-op.
        assert_eq!(Store::open(&path).unwrap().counts().unwrap(), counts);
    }

    #[test]
    fn migrates_a_version_2_store_by_re_signing_every_article() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        write_old_store(&path, 2);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 3);
        let counts = store.counts().unwrap();
        assert_eq!((counts.articles, counts.clusters), (3, 2));
        assert_eq!(store.cluster_size("a").unwrap(), 2);
        assert_eq!(store.cluster_size("c").unwrap(), 1);
        let bands: i64 = store
            .conn
            .query_row("SELECT count(*) FROM minhash_bands", [], |r| r.get(0))
            .unwrap();
        assert_eq!(bands, 3 * dedup::BANDS as i64);
    }

    #[test]
    fn refuses_a_store_from_a_newer_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        Store::open(&path).unwrap();
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE schema_version SET version = 99", [])
            .unwrap();
        let err = Store::open(&path).err().unwrap().to_string();
        assert!(err.contains("schema version 99"), "{err}");
    }
}
