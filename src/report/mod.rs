//! Turning stored scores into trends, charts and reports. [`trend`] is the maths (pure
//! functions, no I/O); [`chart`] draws with plotters (the only user of plotters);
//! [`document`] writes the Markdown, HTML, CSV and plain-text summaries. This module ties a
//! series of stored scores to its trend, its shifts and what moved them. Nothing here touches
//! the store or the file system: callers pass rows in and write the strings out.

pub mod chart;
pub mod document;
pub mod trend;

use std::collections::BTreeMap;

use crate::article::{Evidence, Label};
use crate::error::Result;
use crate::store::ScoredArticle;
use trend::{Observation, PeriodAggregate, Shift, Trend, ValidTrendParams};

/// Stories listed per shift in "what moved the line".
pub const MOVERS_PER_SHIFT: usize = 3;
/// Evidence sentences listed per story.
pub const EVIDENCE_PER_STORY: usize = 2;
/// Periods after a change point searched for the stories that moved it.
pub const MOVER_WINDOW: usize = 3;

/// One series (actor → counterpart under one model) analysed: its rows, trend, movers and
/// near-duplicate clusters.
#[derive(Debug, Clone)]
pub struct SeriesAnalysis {
    /// Display name, e.g. `Cuba → United States`.
    pub name: String,
    /// The rows it was computed from, by date: every stored score of the series but those of
    /// articles that never name the counterpart.
    pub articles: Vec<ScoredArticle>,
    /// Articles of the series left out of every mean, interval and change point because they
    /// never name the counterpart.
    pub unmentioned: usize,
    /// The trend.
    pub trend: Trend,
    /// For each shift, the stories that moved it.
    pub movers: Vec<Movers>,
    /// Clusters with more than one copy, largest first.
    pub clusters: Vec<Cluster>,
    /// Drawn from period aggregates computed elsewhere: no articles, stories or clusters at
    /// hand, only the figures per period.
    pub from_aggregates: bool,
}

/// The stories that contributed most to one shift.
#[derive(Debug, Clone)]
pub struct Movers {
    /// The change point.
    pub shift: Shift,
    /// Its stories, most in the direction of the shift first.
    pub stories: Vec<Mover>,
}

/// One story behind a shift.
#[derive(Debug, Clone)]
pub struct Mover {
    /// Its representative copy (the one scored furthest in the direction of the shift).
    pub article: ScoredArticle,
    /// The story's score (mean over copies).
    pub score: f64,
    /// How many copies it had.
    pub copies: usize,
    /// Evidence sentences pushing in the direction of the shift, strongest first.
    pub evidence: Vec<Evidence>,
}

/// A near-duplicate cluster with more than one copy.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Cluster id.
    pub id: String,
    /// Headline of its first copy.
    pub title: String,
    /// Date of its first copy.
    pub date: chrono::NaiveDate,
    /// Copies in this series, original included.
    pub copies: usize,
    /// Outlets that ran it.
    pub outlets: Vec<String>,
    /// The story's score.
    pub score: f64,
}

/// Analyses one series: trend, shifts, their movers and its near-duplicate clusters. Articles
/// labelled unmentioned (they never name the counterpart) are counted and left out.
///
/// # Errors
/// What [`trend::trend`] fails with: dates outside the years it takes, or too many periods.
pub fn analyse(
    name: &str,
    articles: Vec<ScoredArticle>,
    params: &ValidTrendParams,
) -> Result<SeriesAnalysis> {
    let before = articles.len();
    let articles: Vec<ScoredArticle> = articles
        .into_iter()
        .filter(|a| a.label != Label::Unmentioned)
        .collect();
    let unmentioned = before - articles.len();
    let obs: Vec<Observation> = articles
        .iter()
        .map(|a| Observation {
            id: a.id.clone(),
            date: a.date,
            cluster: a.cluster.clone(),
            score: a.score,
        })
        .collect();
    let trend = trend::trend(&obs, params)?;
    let by_id: BTreeMap<&str, &ScoredArticle> =
        articles.iter().map(|a| (a.id.as_str(), a)).collect();

    let movers = trend
        .shifts
        .iter()
        .map(|shift| {
            let sign = shift.delta().signum();
            let end = shift.until.min(shift.period + MOVER_WINDOW);
            let mut stories: Vec<Mover> = trend
                .stories
                .iter()
                .filter(|s| s.period >= shift.period && s.period < end)
                .filter_map(|s| {
                    let copies = copies_of(&by_id, &s.articles);
                    let rep = copies
                        .iter()
                        .max_by(|a, b| (a.score * sign).total_cmp(&(b.score * sign)))?;
                    let mut evidence: Vec<Evidence> = rep
                        .evidence
                        .iter()
                        .filter(|e| e.contribution * sign > 0.0)
                        .cloned()
                        .collect();
                    evidence.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
                    evidence.truncate(EVIDENCE_PER_STORY);
                    Some(Mover {
                        article: (*rep).clone(),
                        score: s.score,
                        copies: s.articles.len(),
                        evidence,
                    })
                })
                .collect();
            stories.sort_by(|a, b| (b.score * sign).total_cmp(&(a.score * sign)));
            stories.truncate(MOVERS_PER_SHIFT);
            Movers {
                shift: shift.clone(),
                stories,
            }
        })
        .collect();

    let mut clusters: Vec<Cluster> = trend
        .stories
        .iter()
        .filter(|s| s.articles.len() > 1)
        .map(|s| {
            let copies = copies_of(&by_id, &s.articles);
            let mut outlets: Vec<String> = copies.iter().filter_map(|a| a.outlet.clone()).collect();
            outlets.dedup();
            Cluster {
                id: s.cluster.clone(),
                title: copies
                    .first()
                    .and_then(|a| a.title.clone())
                    .unwrap_or_else(|| s.cluster.clone()),
                date: s.date,
                copies: s.articles.len(),
                outlets,
                score: s.score,
            }
        })
        .collect();
    clusters.sort_by(|a, b| b.copies.cmp(&a.copies).then(a.date.cmp(&b.date)));

    Ok(SeriesAnalysis {
        name: name.to_string(),
        articles,
        unmentioned,
        trend,
        movers,
        clusters,
        from_aggregates: false,
    })
}

/// Analyses one series given as period aggregates (a Dask job's monthly figures, say): its
/// trend by [`trend::trend_from_aggregates`], its shifts without the stories behind them
/// (none are at hand), no clusters. `unmentioned` is the count of articles the aggregates say
/// were left out.
///
/// # Errors
/// What [`trend::trend_from_aggregates`] fails with.
pub fn analyse_aggregates(
    name: &str,
    rows: &[PeriodAggregate],
    unmentioned: usize,
    params: &ValidTrendParams,
) -> Result<SeriesAnalysis> {
    let trend = trend::trend_from_aggregates(rows, params)?;
    let movers = trend
        .shifts
        .iter()
        .map(|shift| Movers {
            shift: shift.clone(),
            stories: Vec::new(),
        })
        .collect();
    Ok(SeriesAnalysis {
        name: name.to_string(),
        articles: Vec::new(),
        unmentioned,
        trend,
        movers,
        clusters: Vec::new(),
        from_aggregates: true,
    })
}

/// The stored rows of a story's copies, in the story's order.
fn copies_of<'a>(
    by_id: &BTreeMap<&str, &'a ScoredArticle>,
    ids: &[String],
) -> Vec<&'a ScoredArticle> {
    ids.iter()
        .filter_map(|id| by_id.get(id.as_str()).copied())
        .collect()
}

/// The name of a series: `actor → counterpart`, or `→ counterpart` for every actor.
pub fn series_name(actor: Option<&str>, counterpart: &str) -> String {
    match actor {
        Some(a) => format!("{a} → {counterpart}"),
        None => format!("all actors → {counterpart}"),
    }
}
