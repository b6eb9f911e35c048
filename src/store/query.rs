//! Reading the store: row counts, models, the pairs scored, and the scored articles a
//! selection covers.

use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};

use super::Store;
use crate::article::{Evidence, Label};
use crate::error::{Error, Result};

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

impl Store {
    /// Row counts.
    pub fn counts(&self) -> Result<Counts> {
        let one = |sql: &str| -> Result<usize> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
                .map_err(Error::from)
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
            .prepare("SELECT id, hash, card, added FROM models ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| {
            Ok(ModelRecord {
                id: r.get(0)?,
                hash: r.get(1)?,
                card_markdown: r.get(2)?,
                added: r.get(3)?,
            })
        })?;
        rows.collect::<rusqlite::Result<_>>().map_err(Error::from)
    }

    /// Every (actor, counterpart, model) present, with its article count, most articles first.
    pub fn pairs(&self) -> Result<Vec<PairCount>> {
        let mut stmt = self.conn.prepare(
            "SELECT actor, counterpart, model_id, count(*) FROM scores
                 GROUP BY actor, counterpart, model_id ORDER BY count(*) DESC, counterpart, actor",
        )?;
        let rows = stmt.query_map([], |r| {
            let actor: String = r.get(0)?;
            Ok(PairCount {
                actor: (!actor.is_empty()).then_some(actor),
                counterpart: r.get(1)?,
                model_id: r.get(2)?,
                articles: r.get::<_, i64>(3)? as usize,
            })
        })?;
        rows.collect::<rusqlite::Result<_>>().map_err(Error::from)
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
            .map_err(Error::from)
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
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.date, a.title, a.outlet, a.url, a.cluster, s.counterpart, s.actor,
                        s.model_id, s.score, s.p_conciliatory, s.label, s.evidence
                 FROM scores s JOIN articles a ON a.id = s.article_id
                 WHERE s.counterpart = ?1 COLLATE NOCASE
                   AND (?2 IS NULL OR s.actor = ?2 COLLATE NOCASE)
                   AND s.model_id = ?3
                   AND (?4 IS NULL OR a.date >= ?4) AND (?5 IS NULL OR a.date <= ?5)
                 ORDER BY a.date, a.id, s.actor",
        )?;
        let from = sel.from.map(|d| d.to_string());
        let to = sel.to.map(|d| d.to_string());
        let rows = stmt.query_map(params![sel.counterpart, sel.actor, model, from, to], |r| {
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
        })?;
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
            ) = row?;
            let date =
                NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|e| Error::StoredArticle {
                    id: id.clone(),
                    field: format!("date {date:?}"),
                    source: Some(Box::new(e)),
                })?;
            let label = Label::parse(&label).ok_or_else(|| Error::StoredArticle {
                id: id.clone(),
                field: format!("label {label:?}"),
                source: None,
            })?;
            let evidence: Vec<Evidence> =
                serde_json::from_str(&ev).map_err(|e| Error::StoredArticle {
                    id: id.clone(),
                    field: "evidence".into(),
                    source: Some(Box::new(e)),
                })?;
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
            .map_err(Error::from)
    }
}
