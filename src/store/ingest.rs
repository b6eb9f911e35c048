//! Ingesting one file: a write transaction that stores each new article with its
//! near-duplicate cluster and each new score, idempotently, and commits them together.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use sha2::{Digest, Sha256};

use super::cluster::{assign_cluster, PendingBands};
use super::dedup::MinHash;
use super::open::{rollback_journal_if_alone, set_journal_mode};
use super::Store;
use crate::article::{Article, Score};
use crate::error::{Error, Result};
use crate::hash::{hex, sha256_hex};

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

impl Store {
    /// Starts ingesting one file: everything added through the returned handle is committed
    /// together by [`FileIngest::commit`], or not at all. `source` is recorded with each new
    /// article (usually the file path).
    ///
    /// # Errors
    /// [`Error::Sql`] when the write lock cannot be had within [`BUSY_TIMEOUT`](super::BUSY_TIMEOUT).
    pub fn begin(&mut self, model: &ModelInfo, source: &str) -> Result<FileIngest<'_>> {
        let conn = &self.conn;
        let restore_wal = rollback_journal_if_alone(conn)?;
        // `new_unchecked` borrows the connection shared, so the handle can also keep it to
        // restore the log after committing. No other transaction can be open on it: this
        // handle holds the store's `&mut` borrow until it is committed or dropped.
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO models (id, hash, card, card_json, added) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![model.id, model.hash, model.card_markdown, model.card_json, now()],
        )?;
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
}

/// One file's ingestion in progress: a write transaction.
pub struct FileIngest<'s> {
    conn: &'s Connection,
    tx: Transaction<'s>,
    /// Whether this file is written through a rollback journal (see
    /// [`rollback_journal_if_alone`]) and the write-ahead log is to be restored after it.
    restore_wal: bool,
    pub(super) pending: PendingBands,
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
    /// [`Error::Sql`] when SQLite fails; the caller should then drop this handle.
    pub fn add(&mut self, article: &Article, score: &Score) -> Result<Added> {
        self.add_prepared(article, score, prepare(article, score)?)
    }

    /// Like [`FileIngest::add`], with the work that needs no database ([`prepare`]) already
    /// done (for callers that do it on worker threads).
    ///
    /// # Errors
    /// [`Error::Sql`] when SQLite fails; the caller should then drop this handle.
    pub fn add_prepared(
        &mut self,
        article: &Article,
        score: &Score,
        prepared: PreparedArticle,
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
        let PreparedArticle {
            content_hash: hash,
            signature: sig,
            signature_bytes,
            bands,
            evidence,
        } = prepared;
        let stored: Option<String> = self
            .tx
            .prepare_cached("SELECT content_hash FROM articles WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![article.id], |r| r.get(0)).optional())?;
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
                    })?;
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
            })?;
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
    /// [`Error::Sql`] when SQLite fails.
    pub fn journal_mode(&self) -> Result<String> {
        self.tx
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(Error::from)
    }

    /// Commits everything added, returning the counts.
    ///
    /// # Errors
    /// [`Error::Sql`] when the commit fails (nothing is then stored).
    pub fn commit(mut self) -> Result<IngestStats> {
        self.pending.write(&self.tx)?;
        self.tx.commit()?;
        if self.restore_wal {
            // Committed already: should this fail, the next `Store::open` restores the log.
            let _ = set_journal_mode(self.conn, "WAL");
        }
        Ok(self.stats)
    }
}

/// What storing an article needs that no database does: its content hash, its MinHash
/// signature and its evidence as JSON. Computed by [`FileIngest::add`], or beforehand on any
/// thread for [`FileIngest::add_prepared`].
#[derive(Debug, Clone)]
pub struct PreparedArticle {
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
/// [`Error::EvidenceJson`] when the evidence cannot be serialised.
pub fn prepare(article: &Article, score: &Score) -> Result<PreparedArticle> {
    let signature = MinHash::of_text(&article.text);
    Ok(PreparedArticle {
        content_hash: content_hash(article),
        signature_bytes: signature.to_bytes(),
        bands: signature.bands(),
        signature,
        evidence: serde_json::to_string(&score.evidence).map_err(|source| Error::EvidenceJson {
            id: article.id.clone(),
            source,
        })?,
    })
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
