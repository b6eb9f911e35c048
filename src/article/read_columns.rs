//! Reading named columns of a small CSV or Parquet table as text, for tables other than
//! articles (the period aggregates `stance trend --aggregates` charts). The table is read
//! whole, up to [`MAX_TABLE_ROWS`] rows; errors name the file and the row (CSV: the line the
//! record starts on; Parquet: the row, from 1), or the column.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{downcast_dictionary_array, Array};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::read_csv::CsvRecords;
use super::read_parquet::value;
use crate::error::{Error, Result};

/// The most rows a table read by [`read_columns`] may have.
pub const MAX_TABLE_ROWS: usize = 1_000_000;

/// One row of a table: its place in the file and its cells in the order asked for (`None` for
/// a column the file lacks, an empty CSV field, a null or a float NaN).
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// CSV: the line the record starts on (the header is line 1); Parquet: the row, from 1.
    pub row: usize,
    /// The cells, as text (numbers as their shortest decimal).
    pub cells: Vec<Option<String>>,
}

/// Reads the columns `(name, required)` of a `.csv` or `.parquet` file, every row.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::BadColumn`] for a required column that
/// is missing or a column of a type other than text, integer or float (or a dictionary of
/// those); [`Error::BadRow`] for a record that is not CSV, a field that is not UTF-8, or a
/// table of more than [`MAX_TABLE_ROWS`] rows; [`Error::Parquet`] for a file that is not
/// Parquet; [`Error::InvalidParams`] for a file that is neither `.csv` nor `.parquet`.
pub fn read_columns(path: &Path, columns: &[(&str, bool)]) -> Result<Vec<TableRow>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let extension = |x: &str| path.extension().is_some_and(|e| e.eq_ignore_ascii_case(x));
    if extension("csv") {
        read_csv(path, file, columns)
    } else if extension("parquet") {
        read_parquet(path, file, columns)
    } else {
        Err(Error::InvalidParams(format!(
            "{}: a table must be a .csv or .parquet file",
            path.display()
        )))
    }
}

/// The position in `have` of each column asked for; an error for a required one missing.
fn find(path: &Path, have: &[String], columns: &[(&str, bool)]) -> Result<Vec<Option<usize>>> {
    columns
        .iter()
        .map(
            |&(name, required)| match have.iter().position(|h| h == name) {
                None if required => Err(Error::BadColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                    message: format!("missing (the file has: {})", have.join(", ")),
                }),
                i => Ok(i),
            },
        )
        .collect()
}

fn too_many(path: &Path, row: usize) -> Error {
    Error::BadRow {
        path: path.to_path_buf(),
        row,
        message: format!("more than {MAX_TABLE_ROWS} rows"),
        source: None,
    }
}

fn read_csv(path: &Path, file: File, columns: &[(&str, bool)]) -> Result<Vec<TableRow>> {
    let mut records = CsvRecords::new(path, Box::new(std::io::BufReader::new(file)))?;
    if records.names.is_empty() {
        return Ok(Vec::new());
    }
    let index = find(path, &records.names, columns)?;
    let mut rows = Vec::new();
    while let Some(line) = records.next()? {
        if rows.len() == MAX_TABLE_ROWS {
            return Err(too_many(path, line));
        }
        let mut cells = Vec::with_capacity(columns.len());
        for (&(name, _), i) in columns.iter().zip(&index) {
            let cell = match *i {
                Some(i) => Some(records.field(i, name)?.trim()).filter(|s| !s.is_empty()),
                None => None,
            };
            cells.push(cell.map(str::to_string));
        }
        rows.push(TableRow { row: line, cells });
    }
    Ok(rows)
}

/// Whether a Parquet column of type `dt` reads as text.
fn readable(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(_, values) => readable(values),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => true,
        DataType::Float32 | DataType::Float64 => true,
        _ => dt.is_integer(),
    }
}

fn read_parquet(path: &Path, file: File, columns: &[(&str, bool)]) -> Result<Vec<TableRow>> {
    let parquet_error = |e: parquet::errors::ParquetError| Error::Parquet {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
    let schema = builder.schema().clone();
    let have: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let index = find(path, &have, columns)?;
    for (&(name, _), i) in columns.iter().zip(&index) {
        if let Some(i) = *i {
            let dt = schema.field(i).data_type();
            if !readable(dt) {
                return Err(Error::BadColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                    message: format!("of type {dt}, which stance cannot read as text or a number"),
                });
            }
        }
    }
    let mut roots: Vec<usize> = index.iter().flatten().copied().collect();
    roots.sort_unstable();
    roots.dedup();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let batches = builder
        .with_projection(mask)
        .build()
        .map_err(parquet_error)?;
    // The decoded batches hold the chosen columns in file order.
    let at: Vec<Option<usize>> = index
        .iter()
        .map(|i| i.and_then(|i| roots.iter().position(|&r| r == i)))
        .collect();
    let mut rows = Vec::new();
    for batch in batches {
        let batch = batch.map_err(|e| Error::BadRow {
            path: path.to_path_buf(),
            row: rows.len() + 1,
            message: "cannot decode the rows from here on".into(),
            source: Some(Box::new(e)),
        })?;
        for r in 0..batch.num_rows() {
            if rows.len() == MAX_TABLE_ROWS {
                return Err(too_many(path, rows.len() + 1));
            }
            let cells = at
                .iter()
                .map(|c| c.and_then(|c| cell(batch.column(c).as_ref(), r)))
                .collect();
            rows.push(TableRow {
                row: rows.len() + 1,
                cells,
            });
        }
    }
    Ok(rows)
}

/// Row `r` of a column [`readable`] accepts, as text; floats as their shortest decimal, NaN
/// as `None`.
fn cell(array: &dyn Array, r: usize) -> Option<String> {
    if array.is_null(r) {
        return None;
    }
    let float = |v: f64| (!v.is_nan()).then(|| v.to_string());
    match array.data_type() {
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(r)),
        DataType::Float32 => float(array.as_primitive::<Float32Type>().value(r).into()),
        DataType::Dictionary(_, values)
            if matches!(**values, DataType::Float32 | DataType::Float64) =>
        {
            downcast_dictionary_array!(
                array => cell(array.values().as_ref(), array.key(r)?),
                _ => None
            )
        }
        _ => value(array, r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_read_as_text_with_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "\u{feff}a,b,c\n1,\"x\ny\",\n\n2,z,3.5\r\n").unwrap();
        let rows = read_columns(&p, &[("c", true), ("a", true), ("d", false)]).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[0].cells, vec![None, Some("1".into()), None]);
        assert_eq!(rows[1].row, 5);
        assert_eq!(
            rows[1].cells,
            vec![Some("3.5".into()), Some("2".into()), None]
        );
        let e = read_columns(&p, &[("e", true)]).unwrap_err().to_string();
        assert!(e.contains("column `e`") && e.contains("a, b, c"), "{e}");
        std::fs::write(&p, b"a,b\n1,\xff\n").unwrap();
        let e = read_columns(&p, &[("b", true)]).unwrap_err().to_string();
        assert!(e.contains("t.csv:2:"), "{e}");
        std::fs::write(&p, b"a,b\n1,2,3\n").unwrap();
        let e = read_columns(&p, &[("b", true)]).unwrap_err().to_string();
        assert!(e.contains("t.csv:2:"), "{e}");
        let txt = dir.path().join("t.txt");
        std::fs::write(&txt, "a\n").unwrap();
        assert!(read_columns(&txt, &[("a", true)]).is_err());
    }
}
