//! Reading articles from CSV: a header row names the columns, records follow RFC 4180 (quoted
//! fields may hold commas, quotes and line breaks), and every record must have as many fields
//! as the header. Errors name the file and the line the record starts on.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::columns::{article_from_cells, missing_column_message, Cells, Columns, FIELDS};
use super::{Article, MAX_LINE_BYTES};
use crate::error::{Error, Result};

/// A CSV file's records as articles, in file order.
pub(super) struct CsvRows {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read + Send>>,
    /// Per field, the index of its column in the file.
    index: [Option<usize>; FIELDS.len()],
    /// The column names, for messages.
    names: [String; FIELDS.len()],
    record: csv::ByteRecord,
    done: bool,
}

impl CsvRows {
    /// Reads the header of `input` and finds the columns `columns` asks for.
    ///
    /// # Errors
    /// [`Error::BadColumn`] for a required column the header lacks; [`Error::BadRow`] for a
    /// header that is not UTF-8 or not CSV.
    pub(super) fn new(path: &Path, input: Box<dyn Read + Send>, columns: &Columns) -> Result<Self> {
        // Records end at `\n` alone, with the `\r` before it taken off the last field below:
        // ending them at `\r\n` as well, the reader numbers a record's line before reading the
        // `\n` that starts it, one short in a Windows file.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(input);
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(path, e))?
            .clone();
        let mut have = Vec::with_capacity(header.len());
        for (i, h) in header.iter().enumerate() {
            let name = std::str::from_utf8(h).map_err(|_| Error::BadRow {
                path: path.to_path_buf(),
                row: 1,
                message: format!("the header's column {} is not valid UTF-8", i + 1),
                source: None,
            })?;
            // A byte order mark (Windows tools write one) is not part of the first name.
            have.push(name.trim_start_matches('\u{feff}').trim().to_string());
        }
        let wanted = columns.wanted();
        let mut index = [None; FIELDS.len()];
        // An empty file has no header and no articles.
        let empty = header.is_empty();
        for f in (0..FIELDS.len()).filter(|_| !empty) {
            index[f] = have.iter().position(|h| *h == wanted.names[f]);
            if index[f].is_none() && wanted.required[f] {
                return Err(Error::BadColumn {
                    path: path.to_path_buf(),
                    column: wanted.names[f].clone(),
                    message: missing_column_message(&have, wanted.flags[f]),
                });
            }
        }
        Ok(CsvRows {
            path: path.to_path_buf(),
            reader,
            index,
            names: wanted.names,
            record: csv::ByteRecord::new(),
            done: empty,
        })
    }

    /// The next article and the line its record starts on.
    pub(super) fn next(&mut self, check_labels: bool) -> Option<Result<(usize, Article)>> {
        if self.done {
            return None;
        }
        let result = self.read(check_labels);
        match result {
            Ok(None) => {
                self.done = true;
                None
            }
            Ok(Some(item)) => Some(Ok(item)),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    fn read(&mut self, check_labels: bool) -> Result<Option<(usize, Article)>> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(e) => return Err(csv_error(&self.path, e)),
            }
            let line = self.record.position().map_or(0, |p| p.line() as usize);
            let row_error = |message: String| Error::BadRow {
                path: self.path.clone(),
                row: line,
                message,
                source: None,
            };
            // A blank line between records reads as a record of one empty field.
            if self.record.len() == 1 && self.record[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if self.record.as_slice().len() > MAX_LINE_BYTES {
                return Err(row_error(format!(
                    "record longer than {MAX_LINE_BYTES} bytes"
                )));
            }
            let mut cells: Cells = Default::default();
            for (f, cell) in cells.iter_mut().enumerate() {
                let Some(i) = self.index[f] else { continue };
                let mut bytes = self.record.get(i).unwrap_or_default();
                if i + 1 == self.record.len() {
                    bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
                }
                let s = std::str::from_utf8(bytes).map_err(|e| {
                    row_error(format!(
                        "column `{}`: not valid UTF-8 (byte {} of the field)",
                        self.names[f],
                        e.valid_up_to() + 1
                    ))
                })?;
                *cell = Some(s.to_string());
            }
            let article = article_from_cells(cells, check_labels).map_err(row_error)?;
            return Ok(Some((line, article)));
        }
    }
}

/// A CSV reader's error as stance's: a record of the wrong length or one that is not UTF-8
/// names its line, anything else (an I/O error) the file.
pub(super) fn csv_error(path: &Path, e: csv::Error) -> Error {
    let row = |pos: Option<&csv::Position>| pos.map_or(0, |p| p.line() as usize);
    let (row, message) = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => (
            row(pos.as_ref()),
            format!("the record has {len} fields; the header has {expected_len}"),
        ),
        csv::ErrorKind::Utf8 { pos, err } => (
            row(pos.as_ref()),
            format!("field {} is not valid UTF-8", err.field() + 1),
        ),
        csv::ErrorKind::Io(_) => {
            return Error::Csv {
                path: path.to_path_buf(),
                source: e,
            }
        }
        _ => (0, "not CSV".to_string()),
    };
    Error::BadRow {
        path: path.to_path_buf(),
        row,
        message,
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_with(s: &[u8], columns: &Columns) -> Result<Vec<Result<(usize, Article)>>> {
        let mut rows = CsvRows::new(
            Path::new("t.csv"),
            Box::new(std::io::Cursor::new(s.to_vec())),
            columns,
        )?;
        Ok(std::iter::from_fn(|| rows.next(true)).collect())
    }

    fn read(s: &[u8]) -> Vec<Result<(usize, Article)>> {
        read_with(s, &Columns::default()).expect("header reads")
    }

    #[test]
    fn reads_quoted_fields_with_commas_quotes_and_line_breaks() {
        let out = read(
            b"id,date,text,extra\r\na,2020-01-02,\"Havana, \"\"firmly\"\"\r\nrejected\",1\r\nb,,plain,2\r\n",
        );
        let (line, a) = out[0].as_ref().unwrap();
        assert_eq!(*line, 2);
        assert_eq!(a.text, "Havana, \"firmly\"\r\nrejected");
        assert_eq!(a.date.as_deref(), Some("2020-01-02"));
        let (line, b) = out[1].as_ref().unwrap();
        assert_eq!((*line, b.date.as_deref()), (4, None));
    }

    #[test]
    fn a_ragged_row_names_its_line_and_stops() {
        let out = read(b"id,text\na,x\nb,y,z\nc,w\n");
        assert_eq!(out.len(), 2);
        let err = out[1].as_ref().unwrap_err().to_string();
        assert_eq!(err, "t.csv:3: the record has 3 fields; the header has 2");
    }

    #[test]
    fn non_utf8_cell_names_line_and_column() {
        let out = read(b"id,text\na,\"x\ny\"\nb,ok \xff\n");
        let err = out[1].as_ref().unwrap_err().to_string();
        assert_eq!(
            err,
            "t.csv:4: column `text`: not valid UTF-8 (byte 4 of the field)"
        );
    }

    #[test]
    fn missing_text_column_is_named_with_the_flag() {
        let err = read_with(b"id,body\na,x\n", &Columns::default())
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            "t.csv: column `text`: no such column (the file has: id, body); name the column to read with --text-col"
        );
        let out = read_with(
            b"\xEF\xBB\xBFid,body\na,x\n",
            &Columns {
                text: Some("body".into()),
                ..Columns::default()
            },
        )
        .unwrap();
        assert_eq!(out[0].as_ref().unwrap().1.text, "x");
    }

    #[test]
    fn empty_file_and_header_only_yield_nothing() {
        assert!(read(b"").is_empty());
        assert!(read(b"id,text\n").is_empty());
        assert!(read(b"id,text\n\n\n").is_empty());
    }

    #[test]
    fn missing_id_names_the_line() {
        let out = read(b"id,text\n,x\n");
        assert_eq!(
            out[0].as_ref().unwrap_err().to_string(),
            "t.csv:2: missing `id`"
        );
    }

    proptest::proptest! {
        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut input = b"id,text\n".to_vec();
            input.extend(bytes);
            let _ = read_with(&input, &Columns::default());
        }
    }
}
