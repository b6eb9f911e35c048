//! Reading articles from CSV: a header row names the columns, records follow RFC 4180 (quoted
//! fields may hold commas, quotes and line breaks), and every record must have as many fields
//! as the header. Errors name the file and the line the record starts on.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::columns::{article_from_cells, missing_column_message, Cells, Columns, FIELDS};
use super::{Article, MAX_LINE_BYTES};
use crate::error::{Error, Result};

/// What the CSV reader has read and not yet passed: enough to tell the line a record starts
/// on from its byte offset. The reader's own line count leaves out the blank lines it skips,
/// and the offset it gives a record is where those begin.
#[derive(Default)]
struct Seen {
    /// Chunks as read, from the oldest a record may still start in: `(offset, bytes)`.
    chunks: VecDeque<(u64, Vec<u8>)>,
    /// Line ends in the chunks already let go.
    newlines: usize,
}

impl Seen {
    /// The line of the first byte at or after `byte` that does not end a line; chunks before
    /// `byte` are let go (records come in order).
    fn line_at(&mut self, byte: u64) -> usize {
        while let Some((start, bytes)) = self.chunks.front() {
            if start + bytes.len() as u64 > byte {
                break;
            }
            self.newlines += memchr::memchr_iter(b'\n', bytes).count();
            self.chunks.pop_front();
        }
        let mut line = 1 + self.newlines;
        for (start, bytes) in &self.chunks {
            let from = byte.saturating_sub(*start).min(bytes.len() as u64) as usize;
            line += memchr::memchr_iter(b'\n', &bytes[..from]).count();
            for &b in &bytes[from..] {
                match b {
                    b'\n' => line += 1,
                    _ => return line,
                }
            }
        }
        line
    }
}

/// The input, keeping a copy of what the reader reads in [`Seen`].
struct Counting {
    inner: Box<dyn Read + Send>,
    seen: Arc<Mutex<Seen>>,
    at: u64,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.chunks.push_back((self.at, buf[..n].to_vec()));
            self.at += n as u64;
        }
        Ok(n)
    }
}

/// A CSV file's header and records, for both table readers: records end at `\n` (a `\r`
/// before it is taken off the last field), blank lines are skipped, every other record must
/// have the header's number of fields and at most [`MAX_LINE_BYTES`] bytes, and each comes
/// with the line it starts on.
pub(super) struct CsvRecords {
    path: PathBuf,
    reader: csv::Reader<Counting>,
    seen: Arc<Mutex<Seen>>,
    /// The header's column names (a byte order mark and spaces trimmed); none for an empty
    /// file.
    pub(super) names: Vec<String>,
    record: csv::ByteRecord,
    /// The line the current record starts on.
    line: usize,
}

impl CsvRecords {
    /// Reads the header of `input`.
    ///
    /// # Errors
    /// [`Error::BadRow`] for a header that is not UTF-8 or not CSV; [`Error::Csv`] when the
    /// input cannot be read.
    pub(super) fn new(path: &Path, input: Box<dyn Read + Send>) -> Result<Self> {
        // Records end at `\n` alone, with the `\r` before it taken off the last field below:
        // ending them at `\r\n` as well, the reader numbers a record's line before reading the
        // `\n` that starts it, one short in a Windows file.
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            // Lengths are checked in `next`, where a blank line (`\r` alone, in a Windows
            // file) can be told from a ragged record.
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(Counting {
                inner: input,
                seen: Arc::clone(&seen),
                at: 0,
            });
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(path, e, |p| p.line() as usize))?;
        let mut names = Vec::with_capacity(header.len());
        for (i, h) in header.iter().enumerate() {
            let name = std::str::from_utf8(h).map_err(|_| Error::BadRow {
                path: path.to_path_buf(),
                row: 1,
                message: format!("the header's column {} is not valid UTF-8", i + 1),
                source: None,
            })?;
            // A byte order mark (Windows tools write one) is not part of the first name.
            names.push(name.trim_start_matches('\u{feff}').trim().to_string());
        }
        Ok(CsvRecords {
            path: path.to_path_buf(),
            reader,
            seen,
            names,
            record: csv::ByteRecord::new(),
            line: 0,
        })
    }

    /// The line a record at `pos` starts on.
    fn line_at(&self, pos: &csv::Position) -> usize {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.line_at(pos.byte())
    }

    /// An error about the current record.
    pub(super) fn error(&self, message: String) -> Error {
        Error::BadRow {
            path: self.path.clone(),
            row: self.line,
            message,
            source: None,
        }
    }

    /// Moves to the next record that is not blank and returns the line it starts on; `None`
    /// at the end.
    ///
    /// # Errors
    /// [`Error::BadRow`] naming the line for a record that is not CSV, has another number of
    /// fields than the header or is too long; [`Error::Csv`] when the input cannot be read.
    pub(super) fn next(&mut self) -> Result<Option<usize>> {
        if self.names.is_empty() {
            return Ok(None); // an empty file: no header, no records
        }
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(e) => return Err(csv_error(&self.path, e, |p| self.line_at(p))),
            }
            self.line = self.record.position().map_or(0, |p| self.line_at(p));
            // A blank line between records reads as a record of one empty field.
            if self.record.len() == 1 && self.record[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if self.record.len() != self.names.len() {
                return Err(self.error(format!(
                    "the record has {} fields; the header has {}",
                    self.record.len(),
                    self.names.len()
                )));
            }
            if self.record.as_slice().len() > MAX_LINE_BYTES {
                return Err(self.error(format!("record longer than {MAX_LINE_BYTES} bytes")));
            }
            return Ok(Some(self.line));
        }
    }

    /// Field `i` of the current record, as text.
    ///
    /// # Errors
    /// [`Error::BadRow`] naming the line and the column `name` when it is not UTF-8.
    pub(super) fn field(&self, i: usize, name: &str) -> Result<&str> {
        let mut bytes = self.record.get(i).unwrap_or_default();
        if i + 1 == self.record.len() {
            bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        }
        std::str::from_utf8(bytes).map_err(|e| {
            self.error(format!(
                "column `{name}`: not valid UTF-8 (byte {} of the field)",
                e.valid_up_to() + 1
            ))
        })
    }
}

/// A CSV file's records as articles, in file order.
pub(super) struct CsvRows {
    records: CsvRecords,
    /// Per field, the index of its column in the file.
    index: [Option<usize>; FIELDS.len()],
    /// The column names, for messages.
    names: [String; FIELDS.len()],
    done: bool,
}

impl CsvRows {
    /// Reads the header of `input` and finds the columns `columns` asks for.
    ///
    /// # Errors
    /// [`Error::BadColumn`] for a required column the header lacks; [`Error::BadRow`] for a
    /// header that is not UTF-8 or not CSV.
    pub(super) fn new(path: &Path, input: Box<dyn Read + Send>, columns: &Columns) -> Result<Self> {
        let records = CsvRecords::new(path, input)?;
        let have = &records.names;
        let wanted = columns.wanted();
        let mut index = [None; FIELDS.len()];
        // An empty file has no header and no articles.
        for f in (0..FIELDS.len()).filter(|_| !have.is_empty()) {
            index[f] = have.iter().position(|h| *h == wanted.names[f]);
            if index[f].is_none() && wanted.required[f] {
                return Err(Error::BadColumn {
                    path: path.to_path_buf(),
                    column: wanted.names[f].clone(),
                    message: missing_column_message(have, wanted.flags[f]),
                });
            }
        }
        Ok(CsvRows {
            records,
            index,
            names: wanted.names,
            done: false,
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
        let Some(line) = self.records.next()? else {
            return Ok(None);
        };
        let mut cells: Cells = Default::default();
        for (f, cell) in cells.iter_mut().enumerate() {
            if let Some(i) = self.index[f] {
                *cell = Some(self.records.field(i, &self.names[f])?.to_string());
            }
        }
        let article = article_from_cells(cells, check_labels).map_err(|m| self.records.error(m))?;
        Ok(Some((line, article)))
    }
}

/// A CSV reader's error as stance's: a record of the wrong length or one that is not UTF-8
/// names its line (`line_at` of its position), anything else (an I/O error) the file.
fn csv_error(path: &Path, e: csv::Error, line_at: impl Fn(&csv::Position) -> usize) -> Error {
    let row = |pos: Option<&csv::Position>| pos.map_or(0, &line_at);
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

    /// Regression: the CSV reader skips blank lines without counting them, so every line named
    /// after one was one short (a record on line 5 was reported on line 4).
    #[test]
    fn lines_are_counted_past_blank_lines() {
        let out = read(b"id,text\n\na,\"x\n\ny\"\n\r\n\nb,w\r\nc,v,extra\n");
        assert_eq!(out[0].as_ref().unwrap().0, 3);
        // A blank line in a Windows file (`\r` alone) is blank too.
        assert_eq!(out[1].as_ref().unwrap().0, 8);
        let err = out[2].as_ref().unwrap_err().to_string();
        assert!(err.starts_with("t.csv:9: the record has 3 fields"), "{err}");
        // Past a read-ahead buffer's worth of records.
        let mut big = b"id,text\n".to_vec();
        for i in 0..5000 {
            big.extend_from_slice(format!("r{i},\"two\nlines\"\n\n").as_bytes());
        }
        let out = read(&big);
        assert_eq!(out.len(), 5000);
        assert_eq!(out[4999].as_ref().unwrap().0, 2 + 3 * 4999);
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
