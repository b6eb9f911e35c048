//! Articles, labels and scores as plain data, and their files: reading articles from `.jsonl`
//! and `.txt` files (`read.rs`) and from CSV and Parquet tables (`columns.rs`, `read_csv.rs`,
//! `read_parquet.rs`; other small tables by named column, `read_columns.rs`), writing scores as
//! one JSON object a line (`json.rs`) and tables as CSV or Parquet (`table.rs`). Knows nothing
//! about text processing or models.
//!
//! Input handling, decided once for every command:
//! - empty lines in JSONL are skipped; an empty file yields no articles;
//! - a line that is not a JSON object, lacks `id` or `text`, has a label other than the three,
//!   or holds bytes that are not UTF-8 is an error naming the file and line;
//! - a line longer than [`MAX_LINE_BYTES`] is an error (a runaway file is not read into memory);
//! - a `date` that is a date but outside the years [`YEARS`] (1000–9999) is an error naming the
//!   file and line (a date that is no date at all is read, and left unusable, as before);
//! - unknown fields are ignored, so richer records (with `code`, `origin`, ...) read as they are.

mod columns;
mod json;
mod read;
mod read_columns;
mod read_csv;
mod read_parquet;
mod table;

pub use columns::Columns;
pub use json::{evidence_json, write_json_line};
pub use read::{read_all, read_all_with, read_path, read_path_with, ArticleReader, MAX_LINE_BYTES};
pub use read_columns::{read_columns, TableRow, MAX_TABLE_ROWS};
pub use table::{Cell, ColumnType, ScoreRow, TableFormat, TableWriter, SCORE_COLUMNS};

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// The stance class of a labelled record or of a scored article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Agrees, consults, supports, concedes, cooperates, aids, de-escalates (CAMEO 02–08).
    Conciliatory,
    /// Plain statement with no stance toward the counterpart (CAMEO 01).
    Neutral,
    /// Demands, criticises, accuses, rejects, threatens, sanctions, coerces, fights (CAMEO 09–20).
    Confrontational,
    /// A scored article that never names the counterpart (under any alias, title included):
    /// it takes no stance toward it and counts in no trend. Never a label of training data.
    Unmentioned,
}

impl Label {
    /// The label's name as written in files: `conciliatory`, `neutral`, `confrontational`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Conciliatory => "conciliatory",
            Label::Neutral => "neutral",
            Label::Confrontational => "confrontational",
            Label::Unmentioned => "unmentioned",
        }
    }

    /// Parses a label name (exact, lowercase).
    pub fn parse(s: &str) -> Option<Label> {
        match s {
            "conciliatory" => Some(Label::Conciliatory),
            "neutral" => Some(Label::Neutral),
            "confrontational" => Some(Label::Confrontational),
            "unmentioned" => Some(Label::Unmentioned),
            _ => None,
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One news article (or labelled record) as read from input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Identifier, unique within its input.
    pub id: String,
    /// The article body.
    pub text: String,
    /// Headline, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Publication date as given (`YYYY-MM-DD`, RFC 3339, or `YYYYMMDD`); see [`Article::date`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Who takes the stance; overrides the command-line `--actor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Toward whom; overrides the command-line `--counterpart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<String>,
    /// Source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Publishing outlet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlet: Option<String>,
    /// Gold label, present in training and evaluation data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
}

impl Article {
    /// Parses [`Article::date`] into a calendar date, or `None` when absent or unusable.
    pub fn date(&self) -> Option<NaiveDate> {
        self.date.as_deref().and_then(parse_date)
    }
}

/// The years a date may have: 1000 to 9999. A feed's `+262142-12-05` or `0001-01-01` is a
/// broken field, not a date, and arithmetic on dates near chrono's limits would overflow.
pub const YEARS: std::ops::RangeInclusive<i32> = 1000..=9999;

/// Parses `YYYY-MM-DD`, an RFC 3339 timestamp (its date part, in its own offset), or
/// `YYYYMMDD`; `None` when it is none of these or its year is outside [`YEARS`].
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    parse_any_year(s).filter(|d| YEARS.contains(&d.year()))
}

/// [`parse_date`] without the range of years (the reader tells an out-of-range date from a
/// malformed one with it).
pub(crate) fn parse_any_year(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.date_naive());
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    }
    None
}

/// The complaint about a record's date when it is a date with a year outside [`YEARS`] (a date
/// that is no date at all is read and left unusable); the same words for every input format.
pub(crate) fn date_out_of_years(id: &str, date: Option<&str>) -> Option<String> {
    let d = parse_any_year(date?)?;
    (!YEARS.contains(&d.year())).then(|| {
        format!(
            "record {id:?}: date {:?} has a year outside {}-{}",
            date.unwrap_or_default(),
            YEARS.start(),
            YEARS.end()
        )
    })
}

/// Writes a contribution with the digits it has. Its factors (feature values, IDF, weights) are
/// `f32`, so it is good to about seven significant digits, and the seventeen of an `f64` are
/// noise: it is written as the shortest decimal that reads back as the same `f32` (at most nine
/// significant digits, which also keeps the output small). A value `f32` cannot hold
/// (beyond its largest, or so small it would become 0) is written as the `f64` it is, so no
/// contribution changes sign or vanishes.
fn f32_precision<S: serde::Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    let narrow = *v as f32;
    let holds = narrow.is_finite() && (narrow != 0.0 || *v == 0.0);
    if holds || !v.is_finite() {
        s.serialize_f32(narrow)
    } else {
        s.serialize_f64(*v)
    }
}

/// One term and its signed contribution to an article's logit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermContribution {
    /// Human-readable feature name (stemmed n-gram, context term or lexicon feature).
    pub term: String,
    /// Weight × value: its share of the logit (written as the shortest decimal that reads back
    /// as the same `f32`: its factors are `f32`).
    #[serde(serialize_with = "f32_precision")]
    pub contribution: f64,
}

/// Which part of an article a sentence is in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// The title (headline).
    Title,
    /// The text (body).
    #[default]
    Text,
}

impl Part {
    /// Whether it is the text (the default, left out of written evidence).
    pub fn is_text(&self) -> bool {
        *self == Part::Text
    }
}

/// A sentence that moved the score, with its share of the logit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// `title` for a sentence of the title; left out for one of the text.
    #[serde(default, skip_serializing_if = "Part::is_text")]
    pub part: Part,
    /// The sentence as it appears in the title or the text.
    pub sentence: String,
    /// Byte offset of the sentence's start in the text (in the title for a title sentence).
    pub start: usize,
    /// Byte offset one past its end.
    pub end: usize,
    /// Sum of the contributions of every feature occurrence in the sentence (logit units;
    /// written as the shortest decimal that reads back as the same `f32`).
    #[serde(serialize_with = "f32_precision")]
    pub contribution: f64,
    /// The terms in the sentence that contributed most, largest magnitude first.
    pub terms: Vec<TermContribution>,
}

/// The result of scoring one article toward one counterpart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The article's id.
    pub id: String,
    /// The counterpart as resolved (canonical name, or the literal name given).
    pub counterpart: Option<String>,
    /// The actor as resolved, if one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Stance in [-1, 1]: positive conciliatory, negative confrontational; the expected stance
    /// `p_stance × (2·p_conciliatory − 1)` (conciliatory +1, neutral 0, confrontational −1); 0
    /// when unmentioned.
    pub score: f64,
    /// The polarity model's probability that the article is conciliatory rather than
    /// confrontational, 0..1 (when unmentioned, that of the text as a whole, about no one).
    pub p_conciliatory: f64,
    /// The relevance model's probability that the article takes a stance toward the
    /// counterpart at all, 0..1 (0 when unmentioned).
    pub p_stance: f64,
    /// Conciliatory or confrontational (by `p_conciliatory`) when `p_stance` reaches the
    /// model's threshold, else neutral; unmentioned when the counterpart is never named.
    pub label: Label,
    /// How often the counterpart was found in the text.
    pub mentions: usize,
    /// The model's intercept (logit units): the part of the logit no sentence carries.
    pub intercept: f64,
    /// Sentences that moved the score most, largest magnitude first.
    pub evidence: Vec<Evidence>,
}

/// Writes `value` as one line of JSON, `\n` included: the output's lines (`stance score --format
/// jsonl`) are split by `\n` alone.
///
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_date_forms() {
        assert_eq!(
            parse_date("2025-03-04"),
            NaiveDate::from_ymd_opt(2025, 3, 4)
        );
        assert_eq!(
            parse_date("2025-03-04T23:00:00-05:00"),
            NaiveDate::from_ymd_opt(2025, 3, 4)
        );
        assert_eq!(parse_date("19950103"), NaiveDate::from_ymd_opt(1995, 1, 3));
        assert_eq!(parse_date("March 4"), None);
    }

    /// Regression: `+262142-12-05` was accepted and `trend` then panicked on date arithmetic.
    #[test]
    fn rejects_years_outside_1000_to_9999() {
        for s in [
            "+262142-12-05",
            "0999-12-31",
            "10000-01-01",
            "-0001-01-01",
            "00010101",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
        assert_eq!(
            parse_date("1000-01-01"),
            NaiveDate::from_ymd_opt(1000, 1, 1)
        );
        assert_eq!(
            parse_date("9999-12-31"),
            NaiveDate::from_ymd_opt(9999, 12, 31)
        );
    }
}
