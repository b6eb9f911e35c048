//! Reading articles from Parquet: only the columns stance reads are decoded, a batch of rows at
//! a time. Text columns may be plain or dictionary-encoded strings; an id may also be an
//! integer, a date an integer (`20200103`), a date or a timestamp (its date in UTC). Errors name
//! the file and the row (counted from 1).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{downcast_dictionary_array, Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use super::columns::{article_from_cells, missing_column_message, Cells, Columns, FIELDS};
use super::Article;
use crate::error::{Error, Result};

/// Rows decoded at a time: about 8 MB of text at a wire story's length.
const BATCH_ROWS: usize = 1024;

/// A Parquet file's rows as articles, in file order.
pub(super) struct ParquetRows {
    path: PathBuf,
    batches: ParquetRecordBatchReader,
    /// Per field, its column's index in the decoded batches.
    index: [Option<usize>; FIELDS.len()],
    batch: Option<RecordBatch>,
    /// The next row of `batch`.
    at: usize,
    /// Rows read before `batch`.
    before: usize,
    done: bool,
}

impl ParquetRows {
    /// Opens `path` and checks that the columns `columns` asks for exist with readable types.
    ///
    /// # Errors
    /// [`Error::Parquet`] when the file is not Parquet; [`Error::BadColumn`] for a required
    /// column that is missing or a column of a type stance cannot read as its field.
    pub(super) fn open(path: &Path, file: File, columns: &Columns) -> Result<Self> {
        let parquet_error = |e: parquet::errors::ParquetError| Error::Parquet {
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
        let schema = builder.schema().clone();
        let have: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let wanted = columns.wanted();
        let mut roots = Vec::new();
        for f in 0..FIELDS.len() {
            let name = &wanted.names[f];
            match have.iter().position(|h| h == name) {
                Some(i) => {
                    let dt = schema.field(i).data_type();
                    if !readable(dt, f) {
                        return Err(Error::BadColumn {
                            path: path.to_path_buf(),
                            column: name.clone(),
                            message: format!("of type {dt}, which stance cannot read as {}", {
                                match f {
                                    0 => "an id (text or an integer)",
                                    3 => "a date (text, an integer such as 20200103, a date or a timestamp)",
                                    _ => "text",
                                }
                            }),
                        });
                    }
                    roots.push(i);
                }
                None if wanted.required[f] => {
                    return Err(Error::BadColumn {
                        path: path.to_path_buf(),
                        column: name.clone(),
                        message: missing_column_message(&have, wanted.flags[f]),
                    })
                }
                None => {}
            }
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
        let batches = builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(parquet_error)?;
        // The decoded batches hold the chosen columns in file order.
        roots.sort_unstable();
        let mut index = [None; FIELDS.len()];
        for (f, slot) in index.iter_mut().enumerate() {
            *slot = have
                .iter()
                .position(|h| *h == wanted.names[f])
                .and_then(|i| roots.iter().position(|&r| r == i));
        }
        Ok(ParquetRows {
            path: path.to_path_buf(),
            batches,
            index,
            batch: None,
            at: 0,
            before: 0,
            done: false,
        })
    }

    /// The next article and its row (counted from 1).
    pub(super) fn next(&mut self, check_labels: bool) -> Option<Result<(usize, Article)>> {
        if self.done {
            return None;
        }
        while self.batch.as_ref().is_none_or(|b| self.at >= b.num_rows()) {
            if let Some(b) = self.batch.take() {
                self.before += b.num_rows();
            }
            self.at = 0;
            match self.batches.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Ok(b)) => self.batch = Some(b),
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(Error::BadRow {
                        path: self.path.clone(),
                        row: self.before + 1,
                        message: "cannot decode the rows from here on".into(),
                        source: Some(Box::new(e)),
                    }));
                }
            }
        }
        let batch = self.batch.as_ref().expect("a batch with rows left");
        let i = self.at;
        self.at += 1;
        let row = self.before + i + 1;
        let mut cells: Cells = Default::default();
        for (f, cell) in cells.iter_mut().enumerate() {
            if let Some(c) = self.index[f] {
                *cell = value(batch.column(c).as_ref(), i);
            }
        }
        let result = article_from_cells(cells, check_labels).map_err(|message| Error::BadRow {
            path: self.path.clone(),
            row,
            message,
            source: None,
        });
        if result.is_err() {
            self.done = true;
        }
        Some(result.map(|a| (row, a)))
    }
}

/// Whether a column of type `dt` can be read as field `f` (in [`FIELDS`] order).
fn readable(dt: &DataType, f: usize) -> bool {
    let text = matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    );
    let integer = dt.is_integer();
    match dt {
        DataType::Dictionary(_, values) => readable(values, f),
        _ if text => true,
        _ if f == 0 => integer,
        _ if f == 3 => {
            integer
                || matches!(
                    dt,
                    DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
                )
        }
        _ => false,
    }
}

/// Row `i` of a column of a type [`readable`] accepts, as text; `None` when null.
pub(super) fn value(array: &dyn Array, i: usize) -> Option<String> {
    if array.is_null(i) {
        return None;
    }
    let date = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    let instant =
        |secs: i64, nanos: u32| date(DateTime::from_timestamp(secs, nanos).map(|t| t.date_naive()));
    Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(i).to_string(),
        DataType::Utf8View => array.as_string_view().value(i).to_string(),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(i).to_string(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(i).to_string(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(i).to_string(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(i).to_string(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(i).to_string(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(i);
            return date(
                NaiveDate::from_ymd_opt(1970, 1, 1)?
                    .checked_add_signed(chrono::Duration::days(days.into())),
            );
        }
        DataType::Date64 => {
            let ms = array.as_primitive::<Date64Type>().value(i);
            return instant(ms.div_euclid(1000), 0);
        }
        DataType::Timestamp(unit, _) => {
            let (v, per_second) = match unit {
                TimeUnit::Second => (array.as_primitive::<TimestampSecondType>().value(i), 1),
                TimeUnit::Millisecond => (
                    array.as_primitive::<TimestampMillisecondType>().value(i),
                    1_000,
                ),
                TimeUnit::Microsecond => (
                    array.as_primitive::<TimestampMicrosecondType>().value(i),
                    1_000_000,
                ),
                TimeUnit::Nanosecond => (
                    array.as_primitive::<TimestampNanosecondType>().value(i),
                    1_000_000_000,
                ),
            };
            return instant(v.div_euclid(per_second), 0);
        }
        DataType::Dictionary(_, _) => downcast_dictionary_array!(
            array => {
                let key = array.key(i)?;
                return value(array.values().as_ref(), key);
            },
            _ => return None,
        ),
        _ => return None,
    })
}
