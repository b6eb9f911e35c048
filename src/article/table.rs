//! Writing tables as CSV or Parquet: a fixed list of typed columns and rows pushed one at a
//! time, so a stream of scores (or a store's rows) is written in bounded memory. The columns of
//! a score are [`SCORE_COLUMNS`]: its fields as `stance score --format jsonl` writes them, the
//! evidence as that line's JSON array.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::{evidence_json, Score};
use crate::error::{Error, Result};

/// Rows gathered before they go to the Parquet writer as one batch.
const BATCH_ROWS: usize = 4096;
/// Rows in one Parquet row group: the writer holds a group's encoded pages in memory until it
/// is complete (a few hundred MB at most for articles with their text).
const ROW_GROUP_ROWS: usize = 32 * 1024;

/// A table file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// RFC 4180 CSV with a header row; `\n` line ends; fields quoted when they need it.
    Csv,
    /// Apache Parquet, snappy-compressed.
    Parquet,
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Text (UTF-8); may be null (an empty field in CSV).
    Text,
    /// A 64-bit float (in CSV the shortest decimal that reads back as the same value, as in
    /// JSON); may be null.
    Float,
    /// A 64-bit signed integer; may be null.
    Integer,
}

/// One value of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Text, for a [`ColumnType::Text`] column.
    Text(&'a str),
    /// A float, for a [`ColumnType::Float`] column (non-finite values are written as null).
    Float(f64),
    /// An integer, for a [`ColumnType::Integer`] column.
    Integer(i64),
    /// No value.
    Null,
}

/// The columns of a score table, in order: `id`, `counterpart`, `actor` (null when none was
/// named), `score`, `p_conciliatory`, `p_stance`, `label`, `mentions`, `intercept`, `evidence`
/// (the JSON array `stance score --format jsonl` writes, byte for byte).
pub const SCORE_COLUMNS: [(&str, ColumnType); 10] = [
    ("id", ColumnType::Text),
    ("counterpart", ColumnType::Text),
    ("actor", ColumnType::Text),
    ("score", ColumnType::Float),
    ("p_conciliatory", ColumnType::Float),
    ("p_stance", ColumnType::Float),
    ("label", ColumnType::Text),
    ("mentions", ColumnType::Integer),
    ("intercept", ColumnType::Float),
    ("evidence", ColumnType::Text),
];

/// A score made ready for a table row, its evidence already written as JSON (work that can be
/// done on the thread that scored it).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// The score, its evidence emptied.
    pub score: Score,
    /// The evidence as JSON.
    pub evidence: String,
}

impl ScoreRow {
    /// Takes the score's evidence into JSON.
    pub fn new(mut score: Score) -> ScoreRow {
        let evidence = evidence_json(&score.evidence);
        score.evidence = Vec::new();
        ScoreRow { score, evidence }
    }

    /// The row's cells, in [`SCORE_COLUMNS`] order.
    pub fn cells(&self) -> [Cell<'_>; 10] {
        let s = &self.score;
        fn text(o: &Option<String>) -> Cell<'_> {
            o.as_deref().map_or(Cell::Null, Cell::Text)
        }
        [
            Cell::Text(&s.id),
            text(&s.counterpart),
            text(&s.actor),
            Cell::Float(s.score),
            Cell::Float(s.p_conciliatory),
            Cell::Float(s.p_stance),
            Cell::Text(s.label.as_str()),
            Cell::Integer(s.mentions as i64),
            Cell::Float(s.intercept),
            Cell::Text(&self.evidence),
        ]
    }
}

/// Writes rows of fixed, typed columns as CSV or Parquet.
pub struct TableWriter<W: Write + Send> {
    path: PathBuf,
    types: Vec<ColumnType>,
    inner: Inner<W>,
}

enum Inner<W: Write + Send> {
    Csv {
        writer: csv::Writer<W>,
        /// The current row's fields, written as text.
        fields: Vec<Vec<u8>>,
    },
    Parquet {
        writer: ArrowWriter<W>,
        schema: SchemaRef,
        builders: Vec<Builder>,
        rows: usize,
    },
}

enum Builder {
    Text(StringBuilder),
    Float(Float64Builder),
    Integer(Int64Builder),
}

impl<W: Write + Send> TableWriter<W> {
    /// A writer of `columns` (name and type) to `out`; `path` names it in errors. A CSV gets its
    /// header row at once.
    ///
    /// # Errors
    /// [`Error::Csv`] or [`Error::Parquet`] when the header cannot be written.
    pub fn new(
        format: TableFormat,
        columns: &[(&str, ColumnType)],
        out: W,
        path: &Path,
    ) -> Result<Self> {
        let types: Vec<ColumnType> = columns.iter().map(|c| c.1).collect();
        let inner = match format {
            TableFormat::Csv => {
                let mut writer = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(out);
                writer
                    .write_record(columns.iter().map(|c| c.0))
                    .map_err(|e| csv_error(path, e))?;
                Inner::Csv {
                    writer,
                    fields: vec![Vec::new(); columns.len()],
                }
            }
            TableFormat::Parquet => {
                let fields: Vec<Field> = columns
                    .iter()
                    .map(|(name, t)| {
                        let dt = match t {
                            ColumnType::Text => DataType::Utf8,
                            ColumnType::Float => DataType::Float64,
                            ColumnType::Integer => DataType::Int64,
                        };
                        Field::new(*name, dt, true)
                    })
                    .collect();
                let schema = Arc::new(Schema::new(fields));
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .set_created_by(format!("stance {}", env!("CARGO_PKG_VERSION")))
                    .build();
                let writer = ArrowWriter::try_new(out, schema.clone(), Some(props))
                    .map_err(|e| parquet_error(path, e))?;
                Inner::Parquet {
                    writer,
                    schema,
                    builders: types.iter().map(|t| Builder::new(*t)).collect(),
                    rows: 0,
                }
            }
        };
        Ok(TableWriter {
            path: path.to_path_buf(),
            types,
            inner,
        })
    }

    /// Writes one row: a cell per column, in order; a cell of another type than its column's
    /// is written as null.
    ///
    /// # Errors
    /// [`Error::Csv`] or [`Error::Parquet`] when writing fails.
    pub fn push(&mut self, row: &[Cell<'_>]) -> Result<()> {
        debug_assert_eq!(row.len(), self.types.len(), "one cell per column");
        match &mut self.inner {
            Inner::Csv { writer, fields } => {
                for ((field, cell), t) in fields.iter_mut().zip(row).zip(&self.types) {
                    field.clear();
                    match (cell, t) {
                        (Cell::Text(s), ColumnType::Text) => field.extend_from_slice(s.as_bytes()),
                        (Cell::Float(v), ColumnType::Float) if v.is_finite() => {
                            field.extend_from_slice(ryu::Buffer::new().format_finite(*v).as_bytes())
                        }
                        (Cell::Integer(v), ColumnType::Integer) => {
                            field.extend_from_slice(v.to_string().as_bytes())
                        }
                        _ => {}
                    }
                }
                writer
                    .write_record(fields.iter())
                    .map_err(|e| csv_error(&self.path, e))
            }
            Inner::Parquet { builders, rows, .. } => {
                for (b, cell) in builders.iter_mut().zip(row) {
                    b.append(cell);
                }
                *rows += 1;
                if *rows == BATCH_ROWS {
                    self.flush_batch()?;
                }
                Ok(())
            }
        }
    }

    /// Hands the gathered rows to the Parquet writer as one batch.
    fn flush_batch(&mut self) -> Result<()> {
        let Inner::Parquet {
            writer,
            schema,
            builders,
            rows,
        } = &mut self.inner
        else {
            return Ok(());
        };
        if *rows == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        *rows = 0;
        let batch = RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|e| parquet_error(&self.path, e))?;
        writer
            .write(&batch)
            .map_err(|e| parquet_error(&self.path, e))
    }

    /// Writes what is left and the file's end (a Parquet file's footer), and returns the output.
    ///
    /// # Errors
    /// [`Error::Csv`] or [`Error::Parquet`] when writing fails.
    pub fn finish(mut self) -> Result<W> {
        self.flush_batch()?;
        let path = self.path;
        match self.inner {
            Inner::Csv { writer, .. } => writer.into_inner().map_err(|e| Error::Io {
                path,
                source: std::io::Error::new(e.error().kind(), e.error().to_string()),
            }),
            Inner::Parquet { writer, .. } => {
                writer.into_inner().map_err(|e| parquet_error(&path, e))
            }
        }
    }
}

impl Builder {
    fn new(t: ColumnType) -> Builder {
        match t {
            ColumnType::Text => Builder::Text(StringBuilder::new()),
            ColumnType::Float => Builder::Float(Float64Builder::new()),
            ColumnType::Integer => Builder::Integer(Int64Builder::new()),
        }
    }

    fn append(&mut self, cell: &Cell<'_>) {
        match (self, cell) {
            (Builder::Text(b), Cell::Text(s)) => b.append_value(s),
            (Builder::Float(b), Cell::Float(v)) if v.is_finite() => b.append_value(*v),
            (Builder::Integer(b), Cell::Integer(v)) => b.append_value(*v),
            (Builder::Text(b), _) => b.append_null(),
            (Builder::Float(b), _) => b.append_null(),
            (Builder::Integer(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Integer(b) => Arc::new(b.finish()),
        }
    }
}

fn csv_error(path: &Path, source: csv::Error) -> Error {
    Error::Csv {
        path: path.to_path_buf(),
        source,
    }
}

fn parquet_error(path: &Path, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Parquet {
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{read_path, read_path_with, Columns, Evidence, Label, Part};

    const COLUMNS: [(&str, ColumnType); 4] = [
        ("id", ColumnType::Text),
        ("text", ColumnType::Text),
        ("date", ColumnType::Text),
        ("n", ColumnType::Integer),
    ];

    fn write(format: TableFormat, rows: &[[Cell<'_>; 4]], path: &Path) {
        let file = std::fs::File::create(path).unwrap();
        let mut w = TableWriter::new(format, &COLUMNS, file, path).unwrap();
        for r in rows {
            w.push(r).unwrap();
        }
        w.finish().unwrap();
    }

    fn rows() -> Vec<[Cell<'static>; 4]> {
        vec![
            [
                Cell::Text("a"),
                Cell::Text("Havana, \"firmly\"\nrejected"),
                Cell::Text("2020-01-02"),
                Cell::Integer(1),
            ],
            [Cell::Text("b"), Cell::Null, Cell::Null, Cell::Null],
        ]
    }

    /// What a table writer writes reads back as the same articles, in CSV and Parquet alike.
    #[test]
    fn tables_read_back_as_articles() {
        let dir = tempfile::tempdir().unwrap();
        for (format, name) in [
            (TableFormat::Csv, "t.csv"),
            (TableFormat::Parquet, "t.parquet"),
        ] {
            let path = dir.path().join(name);
            write(format, &rows(), &path);
            let got: Vec<_> = read_path(&path).unwrap().map(|r| r.unwrap()).collect();
            assert_eq!(got.len(), 2, "{name}");
            assert_eq!(got[0].1.text, "Havana, \"firmly\"\nrejected", "{name}");
            assert_eq!(got[0].1.date.as_deref(), Some("2020-01-02"), "{name}");
            assert_eq!((got[1].1.id.as_str(), got[1].1.text.as_str()), ("b", ""));
            let lines: Vec<usize> = got.iter().map(|g| g.0).collect();
            let want = if format == TableFormat::Csv {
                [2, 4]
            } else {
                [1, 2]
            };
            assert_eq!(lines, want, "{name}");
        }
    }

    #[test]
    fn parquet_missing_and_mistyped_columns_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write(TableFormat::Parquet, &rows(), &path);
        let err = read_path_with(
            &path,
            &Columns {
                text: Some("body".into()),
                ..Columns::default()
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.ends_with("t.parquet: column `body`: no such column (the file has: id, text, date, n); name the column to read with --text-col"), "{err}");
        let err = read_path_with(
            &path,
            &Columns {
                text: Some("n".into()),
                ..Columns::default()
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.ends_with("t.parquet: column `n`: of type Int64, which stance cannot read as text"),
            "{err}"
        );
        // An integer id reads as its digits.
        let got: Vec<_> = read_path_with(
            &path,
            &Columns {
                id: Some("n".into()),
                ..Columns::default()
            },
        )
        .unwrap()
        .collect();
        assert_eq!(got[0].as_ref().unwrap().1.id, "1");
        let err = got[1].as_ref().unwrap_err().to_string();
        assert!(err.ends_with("t.parquet:2: missing `id`"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_parquet_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        std::fs::write(&path, "id,text\na,b\n").unwrap();
        let err = read_path(&path).err().unwrap();
        assert!(matches!(err, Error::Parquet { .. }), "{err}");
    }

    #[test]
    fn score_rows_carry_the_jsonl_evidence() {
        let score = Score {
            id: "a".into(),
            counterpart: Some("United States".into()),
            actor: None,
            score: -0.25,
            p_conciliatory: 0.375,
            p_stance: 0.5,
            label: Label::Confrontational,
            mentions: 2,
            intercept: 0.125,
            evidence: vec![Evidence {
                part: Part::Text,
                sentence: "x\u{2028}y".into(),
                start: 0,
                end: 5,
                contribution: 0.1,
                terms: Vec::new(),
            }],
        };
        let mut line = Vec::new();
        crate::article::write_json_line(&mut line, &score).unwrap();
        let row = ScoreRow::new(score);
        let line = String::from_utf8(line).unwrap();
        assert!(
            line.contains(&format!("\"evidence\":{}}}", row.evidence)),
            "{line}"
        );
        assert_eq!(row.cells()[2], Cell::Null);
        let mut out = Vec::new();
        let mut w =
            TableWriter::new(TableFormat::Csv, &SCORE_COLUMNS, &mut out, Path::new("-")).unwrap();
        w.push(&row.cells()).unwrap();
        w.finish().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id,counterpart,actor,score,p_conciliatory,p_stance,label,mentions,intercept,evidence\n\
             a,United States,,-0.25,0.375,0.5,confrontational,2,0.125,\"[{\"\"sentence\"\":\"\"x\\u2028y\"\",\"\"start\"\":0,\"\"end\"\":5,\"\"contribution\"\":0.1,\"\"terms\"\":[]}]\"\n"
        );
    }
}
