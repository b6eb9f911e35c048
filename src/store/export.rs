//! Exporting the store as tables (CSV or Parquet through [`TableWriter`]): its articles, their
//! scores, and the near-duplicate clusters, each streamed row by row.

use std::io::Write;

use super::Store;
use crate::article::{Cell, ColumnType, TableWriter};
use crate::error::Result;

/// A table of the store that [`Store::export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreTable {
    /// One row per article: `id`, `date`, `title`, `outlet`, `url`, `cluster`, `source` (the
    /// file it was ingested from), `added` (RFC 3339), `content_hash`, `text`.
    Articles,
    /// One row per score: `article_id`, `counterpart`, `actor` (null when none was named),
    /// `model_id`, `score`, `p_conciliatory`, `label`, `mentions`, `evidence` (JSON, as
    /// `stance score` writes it).
    Scores,
    /// One row per near-duplicate cluster: `cluster` (its first stored article's id),
    /// `articles`, `outlets` (distinct), `first_date`, `last_date`.
    Clusters,
}

const ARTICLES: [(&str, ColumnType); 10] = [
    ("id", ColumnType::Text),
    ("date", ColumnType::Text),
    ("title", ColumnType::Text),
    ("outlet", ColumnType::Text),
    ("url", ColumnType::Text),
    ("cluster", ColumnType::Text),
    ("source", ColumnType::Text),
    ("added", ColumnType::Text),
    ("content_hash", ColumnType::Text),
    ("text", ColumnType::Text),
];

const SCORES: [(&str, ColumnType); 9] = [
    ("article_id", ColumnType::Text),
    ("counterpart", ColumnType::Text),
    ("actor", ColumnType::Text),
    ("model_id", ColumnType::Text),
    ("score", ColumnType::Float),
    ("p_conciliatory", ColumnType::Float),
    ("label", ColumnType::Text),
    ("mentions", ColumnType::Integer),
    ("evidence", ColumnType::Text),
];

const CLUSTERS: [(&str, ColumnType); 5] = [
    ("cluster", ColumnType::Text),
    ("articles", ColumnType::Integer),
    ("outlets", ColumnType::Integer),
    ("first_date", ColumnType::Text),
    ("last_date", ColumnType::Text),
];

impl StoreTable {
    /// Every table, in the order `stance export` writes them.
    pub const ALL: [StoreTable; 3] = [
        StoreTable::Articles,
        StoreTable::Scores,
        StoreTable::Clusters,
    ];

    /// The table's name (`articles`, `scores`, `clusters`): the stem of its exported file.
    pub fn name(self) -> &'static str {
        match self {
            StoreTable::Articles => "articles",
            StoreTable::Scores => "scores",
            StoreTable::Clusters => "clusters",
        }
    }

    /// The table's columns, for [`TableWriter::new`].
    pub fn columns(self) -> &'static [(&'static str, ColumnType)] {
        match self {
            StoreTable::Articles => &ARTICLES,
            StoreTable::Scores => &SCORES,
            StoreTable::Clusters => &CLUSTERS,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            StoreTable::Articles => {
                "SELECT id, date, title, outlet, url, coalesce(cluster, id), source, added,
                        content_hash, text
                 FROM articles ORDER BY date, id"
            }
            StoreTable::Scores => {
                "SELECT s.article_id, s.counterpart, nullif(s.actor, ''), s.model_id, s.score,
                        s.p_conciliatory, s.label, s.mentions, s.evidence
                 FROM scores s JOIN articles a ON a.id = s.article_id
                 ORDER BY a.date, s.article_id, s.counterpart, s.actor, s.model_id"
            }
            StoreTable::Clusters => {
                "SELECT coalesce(cluster, id) AS c, count(*), count(DISTINCT outlet), min(date),
                        max(date)
                 FROM articles GROUP BY c ORDER BY min(date), c"
            }
        }
    }
}

impl Store {
    /// Writes every row of `table` to `out` (made with [`StoreTable::columns`]) and returns how
    /// many it wrote.
    ///
    /// # Errors
    /// [`Error::Sql`](crate::Error::Sql) when the store cannot be read; what `out` returns
    /// when writing fails.
    pub fn export<W: Write + Send>(
        &self,
        table: StoreTable,
        out: &mut TableWriter<W>,
    ) -> Result<usize> {
        let columns = table.columns();
        let mut stmt = self.conn.prepare(table.sql())?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        let mut texts: Vec<Option<String>> = vec![None; columns.len()];
        let mut numbers = vec![(0f64, 0i64); columns.len()];
        while let Some(row) = rows.next()? {
            for (i, (_, t)) in columns.iter().enumerate() {
                match t {
                    ColumnType::Text => texts[i] = row.get(i)?,
                    ColumnType::Float => numbers[i].0 = row.get(i)?,
                    ColumnType::Integer => numbers[i].1 = row.get(i)?,
                }
            }
            let cells: Vec<Cell<'_>> = columns
                .iter()
                .enumerate()
                .map(|(i, (_, t))| match t {
                    ColumnType::Text => texts[i].as_deref().map_or(Cell::Null, Cell::Text),
                    ColumnType::Float => Cell::Float(numbers[i].0),
                    ColumnType::Integer => Cell::Integer(numbers[i].1),
                })
                .collect();
            out.push(&cells)?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::TableFormat;
    use crate::store::ModelInfo;
    use crate::{Article, Label, Score};
    use std::path::Path;

    #[test]
    fn exports_articles_scores_and_clusters_as_csv() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let model = ModelInfo::new("m1", "# model", "{}");
        let mut file = store.begin(&model, "in.jsonl").unwrap();
        for (id, date) in [("b", "2025-01-08"), ("a", "2025-01-07")] {
            let article = Article {
                id: id.into(),
                text: format!("Cuba welcomed the talks, \"{id}\".\nIt said so."),
                date: Some(date.into()),
                outlet: Some("Wire".into()),
                ..Article::default()
            };
            let score = Score {
                id: id.into(),
                counterpart: Some("United States".into()),
                actor: None,
                score: 0.5,
                p_conciliatory: 0.75,
                p_stance: 1.0,
                label: Label::Conciliatory,
                mentions: 1,
                intercept: 0.0,
                evidence: vec![],
            };
            file.add(&article, &score).unwrap();
        }
        file.commit().unwrap();
        let export = |table: StoreTable| {
            let mut w = TableWriter::new(
                TableFormat::Csv,
                table.columns(),
                Vec::new(),
                Path::new("-"),
            )
            .unwrap();
            let n = store.export(table, &mut w).unwrap();
            (n, String::from_utf8(w.finish().unwrap()).unwrap())
        };
        let (n, articles) = export(StoreTable::Articles);
        assert_eq!(n, 2);
        let lines: Vec<&str> = articles.lines().collect();
        assert!(lines[0].starts_with("id,date,title,outlet,url,cluster,source,added,"));
        assert!(
            lines[1].starts_with("a,2025-01-07,,Wire,,a,in.jsonl,"),
            "{articles}"
        );
        assert!(articles.contains("\"Cuba welcomed the talks, \"\"a\"\".\nIt said so.\""));
        let (_, scores) = export(StoreTable::Scores);
        assert_eq!(
            scores.lines().nth(1),
            Some("a,United States,,m1,0.5,0.75,conciliatory,1,[]")
        );
        let (n, clusters) = export(StoreTable::Clusters);
        assert_eq!(n, 2);
        assert_eq!(clusters.lines().nth(1), Some("a,1,1,2025-01-07,2025-01-07"));
    }
}
