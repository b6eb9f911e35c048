//! Near-duplicate clustering at ingest: each new article joins the cluster of the most similar
//! stored article sharing a MinHash band key, found among the current file's articles held in
//! memory and, when it may hold some, the database; band keys are written in key order.

use rusqlite::{params, Transaction};
use rustc_hash::FxHashMap;

use super::dedup::{self, MinHash};
use crate::error::{Error, Result};

/// Finds the cluster of the most similar stored article sharing one of `keys` (the
/// signature's band keys) whose estimated Jaccard similarity reaches [`dedup::THRESHOLD`]; the
/// article's own id when there is none. Candidates come from `pending` (the current file's
/// articles, held in memory) and, unless it knows the database holds none of the keys, from
/// one query that looks up all of them.
pub(super) fn assign_cluster(
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
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(keys.len() + 1);
    args.push(&id);
    args.extend(keys.iter().map(|k| k as &dyn rusqlite::ToSql));
    let rows = stmt.query_map(args.as_slice(), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    for row in rows {
        let (other, bytes, cluster) = row?;
        let Some(other_sig) = bytes.as_deref().and_then(MinHash::from_bytes) else {
            continue;
        };
        offer(&other_sig, &cluster.unwrap_or(other));
    }
    Ok(best.map_or_else(|| id.to_string(), |(_, c)| c))
}

/// Articles whose band keys [`PendingBands`] holds in memory at most.
const MAX_PENDING: usize = 32_768;
/// Articles whose band keys are written to the database together, in key order: large batches
/// keep the writes sequential, and this size was as fast as writing all at commit while
/// bounding what is held unwritten (BENCHMARKS.md, Ingest).
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
pub(super) struct PendingBands {
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
    pub(super) fn new() -> PendingBands {
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
    pub(super) fn add(
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
    pub(super) fn write(&mut self, tx: &Transaction<'_>) -> Result<()> {
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
            .map_err(Error::from)
        };
        let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
        let mut stmt = insert(ROWS_PER_INSERT)?;
        for chunk in &mut chunks {
            let args: Vec<&dyn rusqlite::ToSql> = chunk
                .iter()
                .flat_map(|(key, id)| [key as &dyn rusqlite::ToSql, id])
                .collect();
            stmt.execute(args.as_slice())?;
        }
        let mut stmt = insert(1)?;
        for (key, id) in chunks.remainder() {
            stmt.execute(params![key, id])?;
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
        let articles: i64 =
            tx.query_row("SELECT coalesce(max(rowid), 0) FROM articles", [], |r| {
                r.get(0)
            })?;
        if articles as u64 > (max / dedup::BANDS) as u64 {
            return Ok(DbKeys::TooMany);
        }
        let mut stmt = tx.prepare("SELECT key FROM minhash_bands")?;
        let mut rows = stmt.query([])?;
        let mut keys = Vec::new();
        while let Some(row) = rows.next()? {
            if keys.len() == max {
                return Ok(DbKeys::TooMany);
            }
            keys.push(row.get::<_, i64>(0)?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{Article, Label, Score};
    use crate::rng::SplitMix64;
    use crate::store::{ModelInfo, Store};

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
                        p_stance: 0.25,
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
}
