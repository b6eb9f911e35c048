//! `trend` and `report` with `--aggregates FILE`: series drawn from period aggregates computed
//! elsewhere (the Dask recipe's `stance.dask.period_aggregates`), without a store and without
//! scoring anything again.
//!
//! The table (CSV or Parquet) has a row per period, and per counterpart and actor when it has
//! those columns:
//! - `period`: `YYYY-MM`, `YYYY-Www` (ISO week) or `YYYY-MM-DD`, the form `--by` asks for;
//! - `articles`: articles naming the counterpart, copies included; `stories`: distinct stories
//!   among them;
//! - `mean_score`: the mean of the story scores (empty when there are none); `sd_score`: their
//!   standard deviation (n − 1 in the denominator; empty for fewer than two stories);
//! - optional `counterpart`, `actor` (empty for every actor), `unmentioned` (articles that never
//!   name the counterpart, left out as the store's trend leaves them out), `model_id`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::{Datelike, NaiveDate};
use stance::article::{read_columns, TableRow, YEARS};
use stance::report::trend::{Bucket, PeriodAggregate};
use stance::report::{analyse_aggregates, series_name};

use super::trend::{actor_matches, shown_name, Analysed, SeriesArgs};

/// The columns read, `(name, required)`, in the order of a row's cells.
const COLUMNS: [(&str, bool); 9] = [
    ("period", true),
    ("articles", true),
    ("stories", true),
    ("mean_score", true),
    ("sd_score", true),
    ("counterpart", false),
    ("actor", false),
    ("unmentioned", false),
    ("model_id", false),
];

/// One row of an aggregates table, checked.
struct Row {
    counterpart: Option<String>,
    actor: Option<String>,
    model_id: Option<String>,
    unmentioned: usize,
    period: PeriodAggregate,
}

/// The first day of the period a label names, if the label is of `bucket`'s form.
fn period_start(label: &str, bucket: Bucket) -> Option<NaiveDate> {
    let start = match bucket {
        Bucket::Day if label.len() == 10 => NaiveDate::parse_from_str(label, "%Y-%m-%d").ok()?,
        Bucket::Month if label.len() == 7 => {
            NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d").ok()?
        }
        Bucket::Week => {
            let (year, week) = label.split_once("-W")?;
            let year: i32 = year.parse().ok().filter(|_| year.len() == 4)?;
            let week: u32 = week.parse().ok().filter(|_| week.len() == 2)?;
            NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)?
        }
        _ => return None,
    };
    Some(start)
}

/// A count: a non-negative whole number (written `3` or `3.0`).
fn count(cell: Option<&str>, column: &str) -> std::result::Result<usize, String> {
    let Some(text) = cell else {
        return Err(format!("`{column}` is empty"));
    };
    match text.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.fract() == 0.0 && v < 9.0e15 => Ok(v as usize),
        _ => Err(format!(
            "`{column}` is {text:?}, not a count (a whole number, 0 or more)"
        )),
    }
}

/// A finite number, or `None` for an empty cell.
fn number(cell: Option<&str>, column: &str) -> std::result::Result<Option<f64>, String> {
    match cell {
        None => Ok(None),
        Some(text) => match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(format!("`{column}` is {text:?}, not a finite number")),
        },
    }
}

fn row_of(t: &TableRow, bucket: Bucket) -> std::result::Result<Row, String> {
    let cell = |i: usize| t.cells[i].as_deref();
    let label = cell(0).ok_or("`period` is empty")?;
    let start = period_start(label, bucket).ok_or_else(|| {
        let form = match bucket {
            Bucket::Day => "YYYY-MM-DD",
            Bucket::Week => "YYYY-Www",
            Bucket::Month => "YYYY-MM",
        };
        format!(
            "period {label:?} is not a {} ({form}); give --by for the periods the table has",
            bucket.as_str()
        )
    })?;
    if !YEARS.contains(&start.year()) {
        return Err(format!(
            "period {label:?} is outside the years {}-{}",
            YEARS.start(),
            YEARS.end()
        ));
    }
    let articles = count(cell(1), "articles")?;
    let stories = count(cell(2), "stories")?;
    let mean = number(cell(3), "mean_score")?;
    let sd = number(cell(4), "sd_score")?;
    let mean = match (stories, mean) {
        (0, m) => m.unwrap_or(0.0),
        (_, Some(m)) if (-1.0..=1.0).contains(&m) => m,
        (_, Some(m)) => return Err(format!("`mean_score` {m} is outside [-1, 1]")),
        (_, None) => return Err(format!("`mean_score` is empty for {stories} stories")),
    };
    let m2 = match (stories, sd) {
        (0 | 1, _) => 0.0,
        (_, Some(sd)) if sd >= 0.0 => sd * sd * (stories - 1) as f64,
        (_, Some(sd)) => return Err(format!("`sd_score` {sd} is negative")),
        (_, None) => return Err(format!("`sd_score` is empty for {stories} stories")),
    };
    if articles < stories {
        return Err(format!(
            "{stories} stories but {articles} articles (a story has at least one)"
        ));
    }
    Ok(Row {
        counterpart: cell(5).map(str::to_string),
        actor: cell(6).map(str::to_string),
        model_id: cell(8).map(str::to_string),
        unmentioned: match cell(7) {
            None => 0,
            some => count(some, "unmentioned")?,
        },
        period: PeriodAggregate {
            start,
            articles,
            stories,
            mean,
            m2,
        },
    })
}

/// Reads the aggregates files and analyses the series `a` asks for, as
/// [`super::trend::analyse_series`] does from the store.
pub(crate) fn analyse(files: &[PathBuf], a: &SeriesArgs) -> Result<Analysed> {
    let settings = a.settings()?;
    let bucket = settings.bucket;
    let mut rows = Vec::new();
    for path in files {
        let table = read_columns(path, &COLUMNS)
            .with_context(|| format!("reading the aggregates {}", path.display()))?;
        for t in &table {
            let row = row_of(t, bucket)
                .map_err(|m| anyhow::anyhow!("{}:{}: {m}", path.display(), t.row))?;
            rows.push(row);
        }
    }
    if rows.is_empty() {
        bail!(
            "no aggregates in {}",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let available = || {
        let mut v: Vec<String> = rows
            .iter()
            .map(|r| {
                series_name(
                    r.actor.as_deref(),
                    r.counterpart
                        .as_deref()
                        .unwrap_or("(no counterpart column)"),
                )
            })
            .collect();
        v.sort();
        v.dedup();
        v.join("; ")
    };
    let wanted = a.wanted();
    let mut series = Vec::new();
    let mut model_ids: Vec<String> = Vec::new();
    for (actor, counterpart) in &wanted {
        let matching: Vec<&Row> = rows
            .iter()
            .filter(|r| match &r.counterpart {
                Some(c) => c.eq_ignore_ascii_case(counterpart),
                // A table without counterparts is the series of the one counterpart asked for.
                None => wanted.len() == 1,
            })
            .filter(|r| actor_matches(actor.as_deref(), r.actor.as_deref()))
            .filter(|r| a.model_id.is_none() || r.model_id == a.model_id)
            .collect();
        let Some(first) = matching.first() else {
            bail!(
                "no aggregates for {}{}; the files have: {}",
                series_name(actor.as_deref(), counterpart),
                a.model_id
                    .as_deref()
                    .map(|m| format!(" by model {m}"))
                    .unwrap_or_default(),
                available()
            );
        };
        let mut models: Vec<&str> = matching
            .iter()
            .filter_map(|r| r.model_id.as_deref())
            .collect();
        models.sort_unstable();
        models.dedup();
        if models.len() > 1 {
            bail!(
                "the aggregates for {} come from several models ({}): choose one with --model-id",
                series_name(actor.as_deref(), counterpart),
                models.join(", ")
            );
        }
        for m in models {
            if !model_ids.iter().any(|x| x == m) {
                model_ids.push(m.to_string());
            }
        }
        let in_range = |d: NaiveDate| {
            settings.from.is_none_or(|f| d >= bucket.start(f)) && settings.to.is_none_or(|t| d <= t)
        };
        let kept: Vec<&Row> = matching
            .iter()
            .copied()
            .filter(|r| in_range(r.period.start))
            .collect();
        let shown = first.counterpart.as_deref().unwrap_or(counterpart);
        let actors = matching.iter().map(|r| r.actor.as_deref());
        series.push((shown_name(actors, shown), kept));
    }
    let names: Vec<&str> = series.iter().map(|s| s.0.as_str()).collect();
    let starts = series
        .iter()
        .flat_map(|s| s.1.iter().map(|r| r.period.start));
    let (lo, hi) = a.span(&settings, "aggregates", &names, starts)?;
    let params = a.params(&settings, lo, hi)?;
    let analyses = series
        .into_iter()
        .map(|(name, kept)| {
            let periods: Vec<PeriodAggregate> = kept.iter().map(|r| r.period.clone()).collect();
            let unmentioned = kept.iter().map(|r| r.unmentioned).sum();
            analyse_aggregates(&name, &periods, unmentioned, &params)
                .with_context(|| format!("analysing {name}"))
        })
        .collect::<Result<_>>()?;
    Ok(Analysed {
        analyses,
        params,
        model_ids,
        bucket,
        from_aggregates: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_labels_of_each_width() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            period_start("2025-03", Bucket::Month),
            Some(d("2025-03-01"))
        );
        assert_eq!(
            period_start("2025-W01", Bucket::Week),
            Some(d("2024-12-30"))
        );
        assert_eq!(
            period_start("2025-03-04", Bucket::Day),
            Some(d("2025-03-04"))
        );
        for (label, bucket) in [
            ("2025-03", Bucket::Week),
            ("2025-W10", Bucket::Month),
            ("2025-03-04", Bucket::Month),
            ("2025-13", Bucket::Month),
            ("2025-W54", Bucket::Week),
            ("25-W01", Bucket::Week),
            ("2025-3", Bucket::Month),
        ] {
            assert_eq!(period_start(label, bucket), None, "{label}");
        }
    }
}
