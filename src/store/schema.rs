//! The store's schema: one SQL script per version and the migrations between them.
//!
//! The version lives in the one-row table `schema_version`. Opening a store brings it to
//! [`CURRENT`] inside one transaction, so a failed migration leaves the file as it was.
//! A store written by a newer `stance` (higher version) is refused rather than guessed at.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::cluster::{assign_cluster, PendingBands};
use super::dedup::MinHash;
use crate::error::{Error, Result};

/// The schema version this build reads and writes.
pub const CURRENT: u32 = 3;

/// Version 1: articles, models and scores; no near-duplicate detection.
pub(crate) const V1: &str = "
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE models (
    id      TEXT PRIMARY KEY,
    hash    TEXT NOT NULL,
    card    TEXT NOT NULL,
    card_json TEXT NOT NULL,
    added   TEXT NOT NULL
);
CREATE TABLE articles (
    id           TEXT PRIMARY KEY,
    date         TEXT NOT NULL,
    title        TEXT,
    outlet       TEXT,
    url          TEXT,
    content_hash TEXT NOT NULL,
    text         TEXT NOT NULL,
    source       TEXT NOT NULL,
    added        TEXT NOT NULL
);
CREATE INDEX articles_date ON articles(date);
CREATE TABLE scores (
    article_id     TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    counterpart    TEXT NOT NULL,
    actor          TEXT NOT NULL DEFAULT '',
    model_id       TEXT NOT NULL REFERENCES models(id),
    score          REAL NOT NULL,
    p_conciliatory REAL NOT NULL,
    label          TEXT NOT NULL,
    mentions       INTEGER NOT NULL,
    evidence       TEXT NOT NULL,
    UNIQUE (article_id, counterpart, actor, model_id)
);
CREATE INDEX scores_counterpart ON scores(counterpart COLLATE NOCASE, model_id);
";

/// Version 2: a MinHash signature and a near-duplicate cluster per article, and the LSH band
/// index used to find candidate duplicates without comparing every pair. (Signatures are
/// computed by the step to version 3.)
pub(crate) const V1_TO_V2: &str = "
ALTER TABLE articles ADD COLUMN minhash BLOB;
ALTER TABLE articles ADD COLUMN cluster TEXT;
CREATE INDEX articles_cluster ON articles(cluster);
CREATE TABLE minhash_bands (
    band       INTEGER NOT NULL,
    hash       INTEGER NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE INDEX minhash_bands_lookup ON minhash_bands(band, hash);
";

/// Version 3: one-permutation MinHash signatures (one hash per shingle instead of 128), so
/// every signature and cluster is recomputed; band keys fold the band number into the hash and
/// live in one clustered table (no separate index to update), found by one query per article.
/// Bands carry no foreign key: they are written only with their article, in one transaction,
/// and articles are never deleted.
const V2_TO_V3: &str = "
DROP INDEX minhash_bands_lookup;
DROP TABLE minhash_bands;
CREATE TABLE minhash_bands (
    key        INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (key, article_id)
) WITHOUT ROWID;
UPDATE articles SET minhash = NULL, cluster = NULL;
";

/// Reads the schema version; 0 for a fresh file.
pub fn version(conn: &Connection) -> Result<u32> {
    let exists: bool = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !exists {
        return Ok(0);
    }
    let v: Option<i64> = conn
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(v.unwrap_or(0) as u32)
}

/// Brings the schema to [`CURRENT`], one step at a time, in one transaction.
///
/// # Errors
/// [`Error::NewerSchema`] when the file was written by a newer version; [`Error::Sql`] when a
/// step fails.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut v = version(&tx)?;
    if v > CURRENT {
        return Err(Error::NewerSchema {
            found: v,
            supported: CURRENT,
        });
    }
    if v == CURRENT {
        return Ok(());
    }
    if v == 0 {
        tx.execute_batch(V1)?;
        tx.execute("INSERT INTO schema_version (version) VALUES (1)", [])?;
        v = 1;
    }
    if v == 1 {
        tx.execute_batch(V1_TO_V2)?;
        v = 2;
    }
    if v == 2 {
        tx.execute_batch(V2_TO_V3)?;
        backfill_minhash(&tx)?;
        v = 3;
    }
    tx.execute("UPDATE schema_version SET version = ?1", params![v])?;
    tx.commit().map_err(Error::from)
}

/// Computes signatures and clusters for articles stored before version 3, oldest first, so
/// the clusters are the ones a fresh ingest in the same order would give.
fn backfill_minhash(tx: &Transaction<'_>) -> Result<()> {
    let rows: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT id, text FROM articles ORDER BY rowid")?;
        let it = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        it.collect::<rusqlite::Result<_>>()?
    };
    let mut held = PendingBands::new();
    for (id, text) in rows {
        let sig = MinHash::of_text(&text);
        let keys = sig.bands();
        let cluster = assign_cluster(tx, &id, &sig, &keys, &mut held)?;
        tx.execute(
            "UPDATE articles SET minhash = ?1, cluster = ?2 WHERE id = ?3",
            params![sig.to_bytes(), cluster, id],
        )?;
        held.add(tx, &id, sig, keys, &cluster)?;
    }
    held.write(tx)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::{dedup, Store};

    const WIRE: &str = "Cuba on Tuesday rejected a United States offer of talks on migration, \
        saying new sanctions announced last month made any dialogue impossible while Washington \
        kept what officials called an economic war against the island and its people.";

    /// Writes a store of schema `version` (1 or 2) holding three articles, two of them copies
    /// of one wire story. In version 2 they carry stale signatures, clusters and band rows
    /// (all three claimed as one cluster) that the migration must replace.
    fn write_old_store(path: &Path, version: u32) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(V1).unwrap();
        if version == 2 {
            conn.execute_batch(V1_TO_V2).unwrap();
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
        assert_eq!(store.schema_version().unwrap(), CURRENT);
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
        let err = Store::open(&path).err().unwrap();
        let Error::StoreFile { path: at, source } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(at, &path);
        assert!(
            matches!(
                **source,
                Error::NewerSchema {
                    found: 99,
                    supported: CURRENT
                }
            ),
            "{source:?}"
        );
        assert!(source.to_string().contains("schema version 99"));
    }
}
