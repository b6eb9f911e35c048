//! Reading articles: a path to a stream of records (`-` standard input, `.txt` one article,
//! `.csv` and `.parquet` tables, anything else JSONL), each with its line number; lines read
//! with a length limit; records parsed leniently where Python's `json` module writes beyond
//! strict JSON, strictly otherwise.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::columns::Columns;
use super::read_csv::CsvRows;
use super::read_parquet::ParquetRows;
use super::{Article, Label};
use crate::error::{Error, Result};

/// The longest JSONL line, and the longest `.txt` file, accepted, in bytes (64 MiB): the
/// longest article. Scoring's memory grows with an article's tokens, so a longer one is an
/// error naming the file and line rather than a process that exhausts memory.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Reads articles from a path: `-` is JSONL on standard input, `*.txt` one article whose id is
/// the file stem (at most [`MAX_LINE_BYTES`]), `*.csv` and `*.parquet` tables with the default
/// [`Columns`], anything else JSONL.
///
/// # Errors
/// See [`read_path_with`].
pub fn read_path(path: &Path) -> Result<ArticleReader> {
    read_path_with(path, &Columns::default())
}

/// Reads articles from a path as [`read_path`] does, finding a table's fields in the columns
/// `columns` names (JSONL and `.txt` files ignore it).
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened; for a table, [`Error::BadColumn`] when a
/// column it needs is missing or of the wrong type, and [`Error::Parquet`] for a file that is
/// not Parquet. Errors in records come from the reader, one per record.
pub fn read_path_with(path: &Path, columns: &Columns) -> Result<ArticleReader> {
    if path == Path::new("-") {
        return Ok(ArticleReader::jsonl(
            PathBuf::from("-"),
            Box::new(BufReader::with_capacity(1 << 20, io::stdin())),
        ));
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let extension = |x: &str| path.extension().is_some_and(|e| e.eq_ignore_ascii_case(x));
    if extension("csv") {
        let rows = CsvRows::new(path, Box::new(file), columns)?;
        return Ok(ArticleReader::rows(Inner::Csv(Box::new(rows))));
    }
    if extension("parquet") {
        let rows = ParquetRows::open(path, file, columns)?;
        return Ok(ArticleReader::rows(Inner::Parquet(Box::new(rows))));
    }
    if extension("txt") {
        let mut bytes = Vec::new();
        BufReader::new(file)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, e))?;
        if bytes.len() > MAX_LINE_BYTES {
            return Err(Error::BadRecord {
                path: path.to_path_buf(),
                line: 1,
                message: format!("file longer than {MAX_LINE_BYTES} bytes"),
                source: None,
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            Error::BadRecord {
                path: path.to_path_buf(),
                line,
                message: format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
                source: None,
            }
        })?;
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(ArticleReader::single(Article {
            id,
            text,
            ..Article::default()
        }));
    }
    Ok(ArticleReader::jsonl(
        path.to_path_buf(),
        Box::new(BufReader::with_capacity(1 << 20, file)),
    ))
}

/// Reads every record of the given files, in order.
///
/// # Errors
/// The first read error, naming file and line.
pub fn read_all(paths: &[PathBuf]) -> Result<Vec<Article>> {
    read_all_with(paths, &Columns::default())
}

/// Reads every record of the given files, in order, finding a table's fields in the columns
/// `columns` names.
///
/// # Errors
/// The first read error, naming file and line (or row).
pub fn read_all_with(paths: &[PathBuf], columns: &Columns) -> Result<Vec<Article>> {
    let mut out = Vec::new();
    for p in paths {
        for item in read_path_with(p, columns)? {
            out.push(item?.1);
        }
    }
    Ok(out)
}

/// A streaming reader of articles; yields one `Result` per record, in file order.
pub struct ArticleReader {
    inner: Inner,
    /// Whether a record's `label` must be one of [`Label`]'s (see
    /// [`ArticleReader::ignoring_labels`]).
    check_labels: bool,
}

enum Inner {
    Single(Option<Article>),
    Csv(Box<CsvRows>),
    Parquet(Box<ParquetRows>),
    Jsonl {
        path: PathBuf,
        reader: Box<dyn BufRead + Send>,
        line: usize,
        buf: Vec<u8>,
        done: bool,
    },
}

impl ArticleReader {
    /// Reads JSONL records from any buffered reader; `path` is used in error messages.
    pub fn jsonl(path: PathBuf, reader: Box<dyn BufRead + Send>) -> Self {
        ArticleReader {
            inner: Inner::Jsonl {
                path,
                reader,
                line: 0,
                buf: Vec::new(),
                done: false,
            },
            check_labels: true,
        }
    }

    fn single(article: Article) -> Self {
        ArticleReader::rows(Inner::Single(Some(article)))
    }

    fn rows(inner: Inner) -> Self {
        ArticleReader {
            inner,
            check_labels: true,
        }
    }

    /// Reads records for a command that does not use labels (`score`, `ingest`): a `label`
    /// outside [`Label`]'s (`"positive"`, another project's scheme) is read as none instead of
    /// stopping the file. Training and evaluation keep the check.
    pub fn ignoring_labels(mut self) -> Self {
        self.check_labels = false;
        self
    }
}

impl Iterator for ArticleReader {
    type Item = Result<(usize, Article)>;

    /// Yields `(line, article)`: the one-based line the record came from (a CSV record's
    /// first line; a Parquet file's row).
    fn next(&mut self) -> Option<Self::Item> {
        let check_labels = self.check_labels;
        match &mut self.inner {
            Inner::Single(a) => a.take().map(|a| Ok((1, a))),
            Inner::Csv(rows) => rows.next(check_labels),
            Inner::Parquet(rows) => rows.next(check_labels),
            Inner::Jsonl {
                path,
                reader,
                line,
                buf,
                done,
            } => loop {
                if *done {
                    return None;
                }
                buf.clear();
                *line += 1;
                let n = match read_line_limited(reader.as_mut(), buf) {
                    Ok(n) => n,
                    Err(e) => {
                        *done = true;
                        return Some(Err(if e.kind() == io::ErrorKind::InvalidData {
                            Error::BadRecord {
                                path: path.clone(),
                                line: *line,
                                message: e.to_string(),
                                source: None,
                            }
                        } else {
                            Error::io(path.clone(), e)
                        }));
                    }
                };
                if n == 0 {
                    *done = true;
                    return None;
                }
                // A byte order mark before the first record (Windows tools write one).
                let record = match buf.strip_prefix(b"\xEF\xBB\xBF") {
                    Some(rest) if *line == 1 => rest,
                    _ => &buf[..],
                };
                if record.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let result = parse_record(record, check_labels).map_err(|(message, source)| {
                    Error::BadRecord {
                        path: path.clone(),
                        line: *line,
                        message,
                        source,
                    }
                });
                if result.is_err() {
                    *done = true;
                }
                return Some(result.map(|a| (*line, a)));
            },
        }
    }
}

fn read_line_limited(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(total);
        }
        let (used, found) = match memchr_newline(available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if buf.len() + used > MAX_LINE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line longer than {MAX_LINE_BYTES} bytes"),
            ));
        }
        buf.extend_from_slice(&available[..used]);
        reader.consume(used);
        total += used;
        if found {
            return Ok(total);
        }
    }
}

/// The first line break in `b`: `memchr` scans many bytes per instruction, where a
/// byte-at-a-time search was a visible share of scoring's CPU.
fn memchr_newline(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
}

#[derive(Deserialize)]
struct RawArticle {
    id: Option<serde_json::Value>,
    text: Option<serde_json::Value>,
    title: Option<String>,
    date: Option<serde_json::Value>,
    actor: Option<String>,
    counterpart: Option<String>,
    url: Option<String>,
    outlet: Option<String>,
    label: Option<String>,
}

/// What is wrong with a record (a message without location), and the JSON reader's error when
/// the record is not the JSON it must be.
type RecordProblem = (String, Option<serde_json::Error>);

/// Parses one JSONL record.
fn parse_record(line: &[u8], check_labels: bool) -> std::result::Result<Article, RecordProblem> {
    let text = std::str::from_utf8(line).map_err(|e| {
        let message = format!("not valid UTF-8 (byte {} of the line)", e.valid_up_to() + 1);
        (message, None)
    })?;
    let describe = |e: serde_json::Error| {
        let what = if e.is_data() {
            "not an article record"
        } else {
            "malformed JSON"
        };
        (what.to_string(), Some(e))
    };
    let raw: RawArticle = match serde_json::from_str(text) {
        Ok(raw) => raw,
        // Read again only when it fails: a well-formed line costs nothing more.
        Err(e) => match e.is_syntax().then(|| from_python_json(text)).flatten() {
            Some(repaired) => serde_json::from_str(&repaired).map_err(|again| {
                let (what, source) = describe(again);
                let message = format!(
                    "{what} (columns counted with NaN/Infinity read as null, lone surrogates as U+FFFD)"
                );
                (message, source)
            })?,
            None => return Err(describe(e)),
        },
    };
    let problem = |message: String| -> RecordProblem { (message, None) };
    let id = match raw.id {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(_) => return Err(problem("`id` must be a string or a number".into())),
        None => return Err(problem("missing `id`".into())),
    };
    let body = match raw.text {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Null) => String::new(),
        Some(_) => return Err(problem(format!("record {id:?}: `text` must be a string"))),
        // A headline alone is an article too (its title is scored).
        None if raw.title.as_ref().is_some_and(|t| !t.trim().is_empty()) => String::new(),
        None => return Err(problem(format!("record {id:?}: missing `text`"))),
    };
    let label = match raw.label.as_deref() {
        None | Some("") => None,
        Some(l) if !check_labels => Label::parse(l),
        Some(l) => Some(
            Label::parse(l)
                .filter(|l| *l != Label::Unmentioned)
                .ok_or_else(|| {
                    problem(format!(
                        "record {id:?}: label {l:?} is not conciliatory, confrontational or neutral"
                    ))
                })?,
        ),
    };
    // A number is read as the date its digits spell (GDELT's dates are integers, 20200101).
    let date = match raw.date {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(problem(format!(
                "record {id:?}: `date` must be a string or a number"
            )))
        }
    };
    if let Some(m) = super::date_out_of_years(&id, date.as_deref()) {
        return Err(problem(m));
    }
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    Ok(Article {
        id,
        text: body,
        title: nonempty(raw.title),
        date: nonempty(date),
        actor: nonempty(raw.actor),
        counterpart: nonempty(raw.counterpart),
        url: nonempty(raw.url),
        outlet: nonempty(raw.outlet),
        label,
    })
}

/// What Python's `json` module writes and reads but strict JSON readers refuse, rewritten into
/// JSON that keeps what `stance` reads of the record; `None` when the line holds none of it (its
/// error is then real).
///
/// - `NaN`, `Infinity` and `-Infinity` outside strings (`json.dumps` writes a float it cannot
///   spell so; a `goldstein` column with gaps, say) become `null`: a missing value (no field
///   `stance` reads is a float).
/// - A UTF-16 surrogate escape not part of a pair (`json.dumps` of text cut inside an emoji)
///   becomes `\ufffd`, the replacement character: a Rust string cannot hold half a pair.
fn from_python_json(line: &str) -> Option<String> {
    let b = line.as_bytes();
    let hex4 = |at: usize| -> Option<u32> {
        let digits = std::str::from_utf8(b.get(at..at + 4)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    let is_escape = |at: usize| b.get(at) == Some(&b'\\') && b.get(at + 1) == Some(&b'u');
    let (mut out, mut done) = (String::new(), 0);
    let mut replace = |at: usize, len: usize, with: &str, out: &mut String| {
        out.push_str(&line[done..at]);
        out.push_str(with);
        done = at + len;
    };
    let (mut i, mut in_string) = (0, false);
    while i < b.len() {
        if in_string {
            match b[i] {
                b'"' => in_string = false,
                b'\\' if is_escape(i) => {
                    let unit = hex4(i + 2);
                    if unit.is_some_and(|u| (0xD800..0xDC00).contains(&u))
                        && is_escape(i + 6)
                        && hex4(i + 8).is_some_and(|u| (0xDC00..0xE000).contains(&u))
                    {
                        i += 12; // a whole pair
                        continue;
                    }
                    if unit.is_some_and(|u| (0xD800..0xE000).contains(&u)) {
                        replace(i, 6, "\\ufffd", &mut out);
                    }
                    i += 6;
                    continue;
                }
                b'\\' => i += 1, // the escaped character is skipped below
                _ => {}
            }
        } else {
            let rest = &b[i..];
            let token = [&b"NaN"[..], b"Infinity", b"-Infinity"]
                .into_iter()
                .find(|t| rest.starts_with(t));
            match (b[i], token) {
                (b'"', _) => in_string = true,
                (_, Some(t)) => {
                    replace(i, t.len(), "null", &mut out);
                    i += t.len();
                    continue;
                }
                _ => {}
            }
        }
        i += 1;
    }
    (done > 0).then(|| {
        out.push_str(&line[done..]);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::parse_date;
    use chrono::NaiveDate;

    fn read(s: &[u8]) -> Vec<Result<(usize, Article)>> {
        ArticleReader::jsonl(
            PathBuf::from("t.jsonl"),
            Box::new(io::Cursor::new(s.to_vec())),
        )
        .collect()
    }

    #[test]
    fn reads_records_and_skips_blank_lines() {
        let out = read(b"{\"id\":\"a\",\"text\":\"x\",\"extra\":1}\n\n{\"id\":7,\"text\":\"y\",\"label\":\"neutral\"}");
        assert_eq!(out.len(), 2);
        let (line, b) = out[1].as_ref().unwrap();
        assert_eq!(*line, 3);
        assert_eq!(b.id, "7");
        assert_eq!(b.label, Some(Label::Neutral));
    }

    #[test]
    fn malformed_json_names_the_line_and_stops() {
        let out =
            read(b"{\"id\":\"a\",\"text\":\"x\"}\n{\"id\": oops}\n{\"id\":\"c\",\"text\":\"z\"}\n");
        assert_eq!(out.len(), 2);
        let err = out[1].as_ref().unwrap_err().to_string();
        assert!(err.starts_with("t.jsonl:2: malformed JSON"), "{err}");
    }

    #[test]
    fn non_utf8_is_an_error_with_its_line() {
        let out = read(b"{\"id\":\"a\",\"text\":\"\xff\"}\n");
        let err = out[0].as_ref().unwrap_err().to_string();
        assert!(err.contains("t.jsonl:1: not valid UTF-8"), "{err}");
    }

    #[test]
    fn rejects_unknown_label() {
        let out = read(b"{\"id\":\"a\",\"text\":\"x\",\"label\":\"positive\"}\n");
        assert!(out[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("not conciliatory"));
    }

    /// What Python's `json.dumps` writes beyond strict JSON is read: NaN and ±Infinity as
    /// missing values, a lone surrogate escape as U+FFFD (pairs, escaped
    /// backslashes and the words inside strings untouched); an integer date as its digits.
    /// Anything else malformed is still an error.
    #[test]
    fn reads_what_python_json_writes() {
        let one = |line: &str| read(line.as_bytes()).pop().expect("one record");
        let a = one(r#"{"id":1,"text":"NaN, not Infinity","g":NaN,"h":[Infinity,-Infinity],"title":NaN,"date":NaN}"#)
            .unwrap()
            .1;
        assert_eq!(a.text, "NaN, not Infinity");
        assert_eq!((a.title, a.date), (None, None));
        let a = one(r#"{"id":"\ud800x","text":"a \udc00 b \ud83d\ude00 c \\ud800 d \ud800\ud800\udc00 e \ud800"}"#)
            .unwrap()
            .1;
        assert_eq!(a.id, "\u{fffd}x");
        assert_eq!(
            a.text,
            "a \u{fffd} b \u{1f600} c \\ud800 d \u{fffd}\u{10000} e \u{fffd}"
        );
        let a = one(r#"{"id":2,"text":"x","date":20200103}"#).unwrap().1;
        assert_eq!(a.date.as_deref(), Some("20200103"));
        assert_eq!(
            parse_date(a.date.as_deref().unwrap()),
            NaiveDate::from_ymd_opt(2020, 1, 3)
        );
        for bad in [
            r#"{"id":3,"text":"x","g":NaN,}"#,
            r#"{"id":3,"text":"x","g":NaNa}"#,
            r#"{"id":3,"text":"x","g":nan}"#,
            r#"{"id":3,"text":"x","date":true}"#,
            r#"{"id":3,"text":"x \ud800"#,
        ] {
            match one(bad) {
                Err(Error::BadRecord { line: 1, .. }) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    /// A byte order mark before the first record (Windows tools write one) is skipped; one
    /// anywhere else is an error, as any stray bytes are.
    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped() {
        let out =
            read(b"\xEF\xBB\xBF{\"id\":\"a\",\"text\":\"x\"}\r\n{\"id\":\"b\",\"text\":\"y\"}\r\n");
        let ids: Vec<_> = out
            .iter()
            .map(|r| r.as_ref().unwrap().1.id.clone())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        let out = read(b"\xEF\xBB\xBF\n{\"id\":\"a\",\"text\":\"x\"}\n");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].as_ref().unwrap().0, 2);
        let out =
            read(b"{\"id\":\"a\",\"text\":\"x\"}\n\xEF\xBB\xBF{\"id\":\"b\",\"text\":\"y\"}\n");
        assert!(
            matches!(out[1], Err(Error::BadRecord { line: 2, .. })),
            "{out:?}"
        );
    }

    /// Regression: an article dated `+262142-12-05` was accepted by `ingest` and `trend` then
    /// panicked. A date with a year outside 1000-9999 is an error naming the file and line.
    #[test]
    fn a_date_outside_the_years_is_an_error_with_its_line() {
        let out = read(b"{\"id\":\"a\",\"text\":\"x\",\"date\":\"2020-01-02\"}\n{\"id\":\"b\",\"text\":\"x\",\"date\":\"+262142-12-05\"}\n");
        assert!(out[0].is_ok());
        let err = out[1].as_ref().unwrap_err().to_string();
        assert!(
            err.starts_with(
                "t.jsonl:2: record \"b\": date \"+262142-12-05\" has a year outside 1000-9999"
            ),
            "{err}"
        );
        for bad in ["\"0999-12-31\"", "\"00010101\"", "\"0500-01-01T00:00:00Z\""] {
            let line = format!("{{\"id\":\"c\",\"text\":\"x\",\"date\":{bad}}}");
            let out = read(line.as_bytes());
            assert!(
                matches!(out[0], Err(Error::BadRecord { line: 1, .. })),
                "{bad}: {out:?}"
            );
        }
        // A date that is no date at all is read as before (and skipped where a date is needed).
        let out = read(b"{\"id\":\"d\",\"text\":\"x\",\"date\":\"last Tuesday\"}");
        assert!(out[0].is_ok());
    }

    #[test]
    fn a_json_error_is_kept_as_the_source_of_its_record_error() {
        let input = "{\"id\":\"a\",\"text\":\"ok\"}\n{\"id\":\"b\",\"text\":\n";
        let mut r = ArticleReader::jsonl(
            PathBuf::from("in.jsonl"),
            Box::new(io::Cursor::new(input.as_bytes().to_vec())),
        );
        assert!(r.next().unwrap().is_ok());
        let err = r.next().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "in.jsonl:2: malformed JSON");
        let source = std::error::Error::source(&err).expect("the JSON reader's error");
        assert!(source.is::<serde_json::Error>(), "{source}");
    }

    /// A `.txt` article longer than the longest line a JSONL file may hold is an error, not
    /// read whole into memory; one of exactly that length is read.
    #[test]
    fn a_txt_file_past_the_line_limit_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.txt");
        std::fs::write(&path, vec![b'a'; MAX_LINE_BYTES + 1]).unwrap();
        let err = read_path(&path).err().expect("too long");
        assert!(
            err.to_string()
                .ends_with(":1: file longer than 67108864 bytes"),
            "{err}"
        );
        std::fs::write(&path, vec![b'a'; MAX_LINE_BYTES]).unwrap();
        let a: Vec<_> = read_path(&path).unwrap().collect();
        assert_eq!(a[0].as_ref().unwrap().1.text.len(), MAX_LINE_BYTES);
    }

    proptest::proptest! {
        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = read(&bytes);
        }

        /// The rewriting of Python's JSON never panics, keeps every quote where it was, and
        /// leaves nothing for a second pass to rewrite.
        #[test]
        fn python_json_rewrite_is_done_in_one_pass(
            tokens in proptest::collection::vec(proptest::sample::select(vec![
                "\"", "\\ud800", "\\udbff", "\\udc00", "\\ud83d\\ude00", "\\\\", "\\u0041", "\\",
                "NaN", "Infinity", "-Infinity", "-", "N", "a", "é", " ", ",", ":",
            ]), 0..24)
        ) {
            let line = tokens.concat();
            if let Some(out) = from_python_json(&line) {
                proptest::prop_assert_eq!(from_python_json(&out), None, "{} -> {}", line, out);
                proptest::prop_assert_eq!(out.matches('"').count(), line.matches('"').count());
            }
        }
    }
}
