//! Trend maths, as pure functions: bucketing scored articles into periods, counting each
//! near-duplicate cluster once, bootstrap intervals, rolling means and change points.
//! No I/O, no plotting, no store.
//!
//! Methods, stated once:
//! - **Stories.** Articles are grouped by near-duplicate cluster; a story's score is the mean
//!   of its copies' scores and it counts once (weight 1), in the period of its earliest copy.
//! - **Interval.** The 95% interval of a period's mean is a percentile bootstrap over its
//!   stories ([`TrendParams::resamples`] = 2000 resamples, seed [`TrendParams::seed`] = 42
//!   mixed with the period's start, so the same data always gives the same interval). Periods
//!   with fewer than [`TrendParams::min_stories`] stories (default 3) are *thin*: their mean is
//!   shown, marked, and gets no interval.
//! - **Rolling mean.** Pooled mean of the stories in the current and previous
//!   `rolling - 1` periods (default 3 periods).
//! - **Change points.** Binary segmentation of the story scores in date order, splitting only
//!   between periods: a split is kept when it lowers the sum of squared deviations from the
//!   segment means by more than a BIC-style penalty of `3 σ² ln n` (σ² the pooled
//!   within-period variance, n the stories), and each side keeps at least 2 non-empty periods
//!   and `min_stories` stories; segments are split again until no split passes.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};

use crate::article::YEARS;
use crate::error::{Error, Result};
use crate::hash::splitmix64;
use crate::rng::SplitMix64;

/// The most periods one trend may have (100,000: 273 years by day). A longer span is an error
/// that asks for a wider period, rather than a trend too large to draw or read.
pub const MAX_PERIODS: usize = 100_000;

/// The most bootstrap resamples (1,000,000): the interval's work grows with them.
pub const MAX_RESAMPLES: usize = 1_000_000;

/// The width of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Calendar days.
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
}

impl Bucket {
    /// Parses `day`, `week` or `month`.
    pub fn parse(s: &str) -> Option<Bucket> {
        match s.to_ascii_lowercase().as_str() {
            "day" => Some(Bucket::Day),
            "week" => Some(Bucket::Week),
            "month" => Some(Bucket::Month),
            _ => None,
        }
    }

    /// The name: `day`, `week` or `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
        }
    }

    /// The first day of the period containing `d`.
    pub fn start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Bucket::Day => d,
            Bucket::Week => d
                .checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday())))
                .unwrap_or(NaiveDate::MIN),
            Bucket::Month => d.with_day(1).unwrap_or(d),
        }
    }

    /// The first day of the period after the one starting at `start` ([`NaiveDate::MAX`] past
    /// the last date chrono holds).
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Bucket::Day => start
                .checked_add_days(Days::new(1))
                .unwrap_or(NaiveDate::MAX),
            Bucket::Week => start
                .checked_add_days(Days::new(7))
                .unwrap_or(NaiveDate::MAX),
            Bucket::Month => {
                let (y, m) = if start.month() == 12 {
                    (start.year() + 1, 1)
                } else {
                    (start.year(), start.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MAX)
            }
        }
    }

    /// A short label: `2025-03-04`, `2025-W10` or `2025-03`.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Bucket::Day => start.format("%Y-%m-%d").to_string(),
            Bucket::Week => {
                let w = start.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Bucket::Month => start.format("%Y-%m").to_string(),
        }
    }
}

/// One scored article, as the maths needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Article id (several observations of one id, e.g. under several actors, are averaged).
    pub id: String,
    /// Publication date.
    pub date: NaiveDate,
    /// Near-duplicate cluster id.
    pub cluster: String,
    /// Score in [-1, 1].
    pub score: f64,
}

/// Settings of [`trend`] as given, unchecked; `TrendParams::default()` gives the documented
/// defaults and [`TrendParams::check`] the [`ValidTrendParams`] that [`trend`] takes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendParams {
    /// Period width (default month).
    pub bucket: Bucket,
    /// Fewest stories for a period to get an interval (default 3; at least 1).
    pub min_stories: usize,
    /// Bootstrap resamples (default 2000; 1 to [`MAX_RESAMPLES`]).
    pub resamples: usize,
    /// Bootstrap seed (default 42).
    pub seed: u64,
    /// Interval coverage (default 0.95; strictly between 0 and 1).
    pub level: f64,
    /// Periods in the rolling mean (default 3; at least 1).
    pub rolling: usize,
    /// First and last dates the periods must cover, even if empty (default: the data's span;
    /// the first not after the last, both in the years [`YEARS`], at most [`MAX_PERIODS`]
    /// periods).
    pub span: Option<(NaiveDate, NaiveDate)>,
}

impl Default for TrendParams {
    fn default() -> Self {
        TrendParams {
            bucket: Bucket::Month,
            min_stories: 3,
            resamples: 2000,
            seed: 42,
            level: 0.95,
            rolling: 3,
            span: None,
        }
    }
}

impl TrendParams {
    /// Sets the period width (default month).
    pub fn bucket(mut self, bucket: Bucket) -> Self {
        self.bucket = bucket;
        self
    }

    /// Sets the fewest stories for an interval (default 3).
    pub fn min_stories(mut self, n: usize) -> Self {
        self.min_stories = n;
        self
    }

    /// Sets the span the periods must cover (default: the data's).
    pub fn span(mut self, first: NaiveDate, last: NaiveDate) -> Self {
        self.span = Some((first, last));
        self
    }

    /// Checks the parameters, once, into the form [`trend`] takes.
    ///
    /// # Errors
    /// [`Error::InvalidParams`] for `min_stories`, `resamples` or `rolling` of 0, more than
    /// [`MAX_RESAMPLES`] resamples, a `level` not strictly between 0 and 1, or a span that is
    /// reversed, has a date outside [`YEARS`] or holds more than [`MAX_PERIODS`] periods.
    pub fn check(self) -> Result<ValidTrendParams> {
        let bad = |m: String| Err(Error::InvalidParams(m));
        if self.min_stories == 0 {
            return bad("min_stories must be at least 1".into());
        }
        if self.rolling == 0 {
            return bad("rolling must be at least 1 period".into());
        }
        if !(1..=MAX_RESAMPLES).contains(&self.resamples) {
            return bad(format!(
                "resamples must be 1 to {MAX_RESAMPLES}, got {}",
                self.resamples
            ));
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return bad(format!("level must be between 0 and 1, got {}", self.level));
        }
        if let Some((first, last)) = self.span {
            if first > last {
                return bad(format!("the span starts ({first}) after it ends ({last})"));
            }
            check_dates(first, last, self.bucket)?;
        }
        Ok(ValidTrendParams(self))
    }
}

/// Checks that `first..=last` lies in the years [`YEARS`] and spans at most [`MAX_PERIODS`]
/// periods of `bucket`.
fn check_dates(first: NaiveDate, last: NaiveDate, bucket: Bucket) -> Result<()> {
    for d in [first, last] {
        if !YEARS.contains(&d.year()) {
            return Err(Error::InvalidParams(format!(
                "date {d} is outside the years {}-{}",
                YEARS.start(),
                YEARS.end()
            )));
        }
    }
    let days = (last - first).num_days().max(0) as usize;
    let periods = match bucket {
        Bucket::Day => days + 1,
        Bucket::Week => days / 7 + 2,
        Bucket::Month => days / 28 + 2,
    };
    if periods > MAX_PERIODS {
        return Err(Error::InvalidParams(format!(
            "{first} to {last} is more than {MAX_PERIODS} periods of a {}; choose a wider period or a shorter span",
            bucket.as_str()
        )));
    }
    Ok(())
}

/// [`TrendParams`] that passed [`TrendParams::check`]; read its settings through `Deref`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidTrendParams(TrendParams);

impl std::ops::Deref for ValidTrendParams {
    type Target = TrendParams;

    fn deref(&self) -> &TrendParams {
        &self.0
    }
}

/// One near-duplicate cluster within the selection: counted once.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// Cluster id.
    pub cluster: String,
    /// Index of its period in [`Trend::periods`].
    pub period: usize,
    /// Date of its earliest copy.
    pub date: NaiveDate,
    /// Mean score of its copies.
    pub score: f64,
    /// Ids of its copies, earliest first.
    pub articles: Vec<String>,
}

/// One period of the trend.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    /// First day.
    pub start: NaiveDate,
    /// Label (`2025-03`, `2025-W10`, `2025-03-04`).
    pub label: String,
    /// Articles (copies included).
    pub articles: usize,
    /// Distinct stories.
    pub stories: usize,
    /// Mean of the story scores; `None` for an empty period.
    pub mean: Option<f64>,
    /// Bootstrap interval of the mean; `None` for thin or empty periods.
    pub interval: Option<(f64, f64)>,
    /// Fewer stories than `min_stories` (but at least one).
    pub thin: bool,
    /// Rolling mean ending at this period; `None` if the window holds no story.
    pub rolling: Option<f64>,
}

/// A change point: the stance level differs before and after `period`.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// Index of the first period of the new level.
    pub period: usize,
    /// Mean story score of the segment before.
    pub before: f64,
    /// Mean story score of the segment after.
    pub after: f64,
    /// Index just past the last period of the segment after (where the next level begins).
    pub until: usize,
}

impl Shift {
    /// `after - before`.
    pub fn delta(&self) -> f64 {
        self.after - self.before
    }
}

/// The result of [`trend`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trend {
    /// Every period of the span, empty ones included, in order.
    pub periods: Vec<Period>,
    /// The stories, in date order.
    pub stories: Vec<Story>,
    /// Change points, in date order.
    pub shifts: Vec<Shift>,
}

/// Buckets observations into periods, one weight per story, with intervals, rolling mean
/// and change points (see the module docs for the methods). No observations give no periods
/// unless `params.span` is set.
///
/// # Errors
/// [`Error::InvalidParams`] when, without a span, the observations' dates reach outside the
/// years [`YEARS`] or span more than [`MAX_PERIODS`] periods.
pub fn trend(obs: &[Observation], params: &ValidTrendParams) -> Result<Trend> {
    // Average repeated observations of one article, then group articles into stories.
    let mut by_article: BTreeMap<&str, (NaiveDate, &str, f64, usize)> = BTreeMap::new();
    for o in obs {
        let e = by_article
            .entry(o.id.as_str())
            .or_insert((o.date, o.cluster.as_str(), 0.0, 0));
        e.2 += o.score;
        e.3 += 1;
    }
    let mut by_cluster: BTreeMap<&str, Vec<(NaiveDate, &str, f64)>> = BTreeMap::new();
    for (id, (date, cluster, sum, n)) in &by_article {
        by_cluster
            .entry(cluster)
            .or_default()
            .push((*date, id, sum / *n as f64));
    }
    let mut stories: Vec<Story> = by_cluster
        .into_iter()
        .map(|(cluster, mut copies)| {
            copies.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
            Story {
                cluster: cluster.to_string(),
                period: 0,
                date: copies[0].0,
                score: copies.iter().map(|c| c.2).sum::<f64>() / copies.len() as f64,
                articles: copies.iter().map(|c| c.1.to_string()).collect(),
            }
        })
        .collect();
    stories.sort_by(|a, b| a.date.cmp(&b.date).then(a.cluster.cmp(&b.cluster)));

    let bucket = params.bucket;
    let dates = by_article.values().map(|a| a.0);
    let (first, last) = match (params.span, dates.clone().min(), dates.max()) {
        (Some(span), _, _) => span,
        (None, Some(f), Some(l)) => {
            check_dates(f, l, bucket)?;
            (f, l)
        }
        _ => return Ok(Trend::default()),
    };
    let mut starts = Vec::new();
    let mut s = bucket.start(first);
    while s <= last {
        starts.push(s);
        s = bucket.next(s);
    }
    stories.retain(|st| st.date >= bucket.start(first) && st.date < s);
    for st in &mut stories {
        st.period = starts.partition_point(|&p| p <= st.date) - 1;
    }

    let mut scores: Vec<Vec<f64>> = vec![Vec::new(); starts.len()];
    let mut articles = vec![0usize; starts.len()];
    for st in &stories {
        scores[st.period].push(st.score);
        articles[st.period] += st.articles.len();
    }
    let mut periods: Vec<Period> = starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let v = &scores[i];
            let thin = !v.is_empty() && v.len() < params.min_stories.max(1);
            let interval = if v.is_empty() || thin {
                None
            } else {
                bootstrap_interval(
                    v,
                    params.resamples,
                    params.level,
                    params.seed ^ splitmix64(start.num_days_from_ce() as u64),
                )
            };
            Period {
                start,
                label: bucket.label(start),
                articles: articles[i],
                stories: v.len(),
                mean: mean(v),
                interval,
                thin,
                rolling: None,
            }
        })
        .collect();
    let w = params.rolling.max(1);
    for i in 0..periods.len() {
        let lo = (i + 1).saturating_sub(w);
        let window: Vec<f64> = scores[lo..=i].iter().flatten().copied().collect();
        periods[i].rolling = mean(&window);
    }
    let seq: Vec<(usize, f64)> = stories.iter().map(|s| (s.period, s.score)).collect();
    let shifts = change_points(&seq, params.min_stories.max(1));
    Ok(Trend {
        periods,
        stories,
        shifts,
    })
}

/// The arithmetic mean; `None` for no values.
pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Percentile bootstrap interval of the mean at coverage `level` (e.g. 0.95), from
/// `resamples` resamples drawn with a generator seeded by `seed`; `None` for no values.
/// One value gives a zero-width interval.
pub fn bootstrap_interval(
    values: &[f64],
    resamples: usize,
    level: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let mut rng = SplitMix64::new(seed);
    let mut means: Vec<f64> = (0..resamples.max(1))
        .map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let alpha = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    Some((quantile(&means, alpha), quantile(&means, 1.0 - alpha)))
}

/// Linear-interpolation quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Change points of a sequence of `(period, score)` pairs sorted by period, by binary
/// segmentation with a `3 σ² ln n` penalty (see the module docs). Each side of a split keeps
/// at least `min_stories` values and two distinct periods.
pub fn change_points(seq: &[(usize, f64)], min_stories: usize) -> Vec<Shift> {
    let n = seq.len();
    if n < 2 * min_stories.max(2) {
        return Vec::new();
    }
    let sigma2 = pooled_within_variance(seq).max(1e-4);
    let penalty = 3.0 * sigma2 * (n as f64).ln();
    let mut cuts = Vec::new();
    split(
        seq,
        &Prefix::new(seq),
        (0, n),
        min_stories.max(1),
        penalty,
        &mut cuts,
    );
    cuts.sort_unstable();
    let mut bounds = vec![0];
    bounds.extend(&cuts);
    bounds.push(n);
    let seg_mean = |a: usize, b: usize| seq[a..b].iter().map(|x| x.1).sum::<f64>() / (b - a) as f64;
    (1..bounds.len() - 1)
        .map(|k| Shift {
            period: seq[bounds[k]].0,
            before: seg_mean(bounds[k - 1], bounds[k]),
            after: seg_mean(bounds[k], bounds[k + 1]),
            until: if bounds[k + 1] == n {
                seq[n - 1].0 + 1
            } else {
                seq[bounds[k + 1]].0
            },
        })
        .collect()
}

/// Prefix sums that make each candidate split O(1): values, squares and period boundaries.
struct Prefix {
    sum: Vec<f64>,
    sq: Vec<f64>,
    /// `starts[i]`: how many of the first `i` values begin a new period.
    starts: Vec<usize>,
}

impl Prefix {
    fn new(seq: &[(usize, f64)]) -> Prefix {
        let mut p = Prefix {
            sum: vec![0.0],
            sq: vec![0.0],
            starts: vec![0],
        };
        for (i, &(period, x)) in seq.iter().enumerate() {
            p.sum.push(p.sum[i] + x);
            p.sq.push(p.sq[i] + x * x);
            let new = i == 0 || seq[i - 1].0 != period;
            p.starts.push(p.starts[i] + usize::from(new));
        }
        p
    }

    fn sse(&self, a: usize, b: usize) -> f64 {
        let n = (b - a) as f64;
        let s = self.sum[b] - self.sum[a];
        ((self.sq[b] - self.sq[a]) - s * s / n).max(0.0)
    }

    /// Distinct periods among values `a..b` (the value at `a` always opens one).
    fn periods(&self, a: usize, b: usize) -> usize {
        1 + self.starts[b] - self.starts[a + 1]
    }
}

fn split(
    seq: &[(usize, f64)],
    pre: &Prefix,
    (a, b): (usize, usize),
    min: usize,
    penalty: f64,
    cuts: &mut Vec<usize>,
) {
    let total = pre.sse(a, b);
    let mut best: Option<(f64, usize)> = None;
    for c in a + min..=b.saturating_sub(min) {
        if c == a || c == b || seq[c].0 == seq[c - 1].0 {
            continue; // split only between periods
        }
        if pre.periods(a, c) < 2 || pre.periods(c, b) < 2 {
            continue;
        }
        let gain = total - pre.sse(a, c) - pre.sse(c, b);
        if best.is_none_or(|(g, _)| gain > g) {
            best = Some((gain, c));
        }
    }
    if let Some((gain, c)) = best {
        if gain > penalty {
            cuts.push(c);
            split(seq, pre, (a, c), min, penalty, cuts);
            split(seq, pre, (c, b), min, penalty, cuts);
        }
    }
}

/// Variance of values around their own period's mean, pooled over periods; falls back to
/// the overall variance when fewer than two degrees of freedom are available.
fn pooled_within_variance(seq: &[(usize, f64)]) -> f64 {
    let mut groups: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for &(p, x) in seq {
        groups.entry(p).or_default().push(x);
    }
    let (mut ss, mut df) = (0.0, 0usize);
    for v in groups.values() {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        ss += v.iter().map(|x| (x - m).powi(2)).sum::<f64>();
        df += v.len() - 1;
    }
    if df >= 2 {
        return ss / df as f64;
    }
    let all: Vec<f64> = seq.iter().map(|x| x.1).collect();
    let m = all.iter().sum::<f64>() / all.len() as f64;
    all.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (all.len().max(2) - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn obs(id: &str, date: &str, cluster: &str, score: f64) -> Observation {
        Observation {
            id: id.into(),
            date: d(date),
            cluster: cluster.into(),
            score,
        }
    }

    #[test]
    fn buckets_start_on_monday_and_first_of_month() {
        assert_eq!(Bucket::Week.start(d("2025-01-09")), d("2025-01-06"));
        assert_eq!(Bucket::Month.start(d("2025-01-09")), d("2025-01-01"));
        assert_eq!(Bucket::Month.next(d("2025-12-01")), d("2026-01-01"));
        assert_eq!(Bucket::Week.label(d("2024-12-30")), "2025-W01");
    }

    #[test]
    fn period_mean_counts_each_cluster_once() {
        // Hand computed: stories a (0.5), b (-0.5), c = mean(-1, -1, -0.7) = -0.9;
        // mean over stories = (0.5 - 0.5 - 0.9) / 3 = -0.3 (per article it would be -0.54).
        let o = vec![
            obs("a", "2025-01-02", "a", 0.5),
            obs("b", "2025-01-03", "b", -0.5),
            obs("c1", "2025-01-04", "c", -1.0),
            obs("c2", "2025-01-05", "c", -1.0),
            obs("c3", "2025-01-05", "c", -0.7),
        ];
        let t = trend(&o, &TrendParams::default().check().unwrap()).unwrap();
        assert_eq!(t.periods.len(), 1);
        let p = &t.periods[0];
        assert_eq!((p.articles, p.stories), (5, 3));
        assert!((p.mean.unwrap() + 0.3).abs() < 1e-12);
        assert!(!p.thin && p.interval.is_some());
        let c = t.stories.iter().find(|s| s.cluster == "c").unwrap();
        assert_eq!(c.articles, vec!["c1", "c2", "c3"]);
    }

    #[test]
    fn empty_and_thin_periods_are_kept_and_marked() {
        let o = vec![
            obs("a", "2025-01-02", "a", 0.2),
            obs("b", "2025-03-03", "b", 0.4),
            obs("c", "2025-03-04", "c", 0.6),
            obs("e", "2025-03-05", "e", 0.8),
        ];
        let t = trend(&o, &TrendParams::default().check().unwrap()).unwrap();
        let labels: Vec<_> = t.periods.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["2025-01", "2025-02", "2025-03"]);
        assert!(t.periods[0].thin && t.periods[0].interval.is_none());
        assert_eq!(t.periods[1].mean, None);
        assert!(!t.periods[1].thin);
        assert!((t.periods[2].mean.unwrap() - 0.6).abs() < 1e-12);
        // Rolling mean over three periods pools all four stories: (0.2+0.4+0.6+0.8)/4.
        assert!((t.periods[2].rolling.unwrap() - 0.5).abs() < 1e-12);
        assert!((t.periods[1].rolling.unwrap() - 0.2).abs() < 1e-12);
    }

    #[test]
    fn a_story_counts_in_the_period_of_its_first_copy() {
        let o = vec![
            obs("a", "2025-01-31", "a", -1.0),
            obs("a2", "2025-02-01", "a", -0.8),
        ];
        let t = trend(&o, &TrendParams::default().check().unwrap()).unwrap();
        assert_eq!(t.periods[0].stories, 1);
        assert_eq!(t.periods[0].articles, 2);
        assert_eq!(t.periods[1].stories, 0);
    }

    #[test]
    fn bootstrap_is_deterministic_and_contains_the_mean() {
        let v = [0.1, 0.5, -0.2, 0.3, 0.9];
        let a = bootstrap_interval(&v, 2000, 0.95, 7).unwrap();
        assert_eq!(a, bootstrap_interval(&v, 2000, 0.95, 7).unwrap());
        assert!(a.0 < 0.32 && 0.32 < a.1, "{a:?}");
        assert_eq!(bootstrap_interval(&[0.4], 100, 0.95, 1), Some((0.4, 0.4)));
    }

    #[test]
    fn bootstrap_interval_narrows_as_stories_grow() {
        let pattern = [-0.6, -0.1, 0.3, 0.8, 0.2, -0.4, 0.5, 0.0];
        let width = |n: usize| {
            let v: Vec<f64> = pattern.iter().cycle().take(n).copied().collect();
            let (lo, hi) = bootstrap_interval(&v, 2000, 0.95, 42).unwrap();
            hi - lo
        };
        let (w8, w32, w128) = (width(8), width(32), width(128));
        assert!(w8 > w32 && w32 > w128, "{w8} {w32} {w128}");
        // The standard error halves when n quadruples.
        assert!((w8 / w32 - 2.0).abs() < 0.4, "{}", w8 / w32);
    }

    #[test]
    fn finds_a_step_change_where_it_is() {
        let mut seq = Vec::new();
        for p in 0..12 {
            for k in 0..4 {
                let noise = [0.05, -0.05, 0.1, -0.1][k];
                let level = if p < 7 { 0.5 } else { -0.4 };
                seq.push((p, level + noise));
            }
        }
        let shifts = change_points(&seq, 3);
        assert_eq!(shifts.len(), 1, "{shifts:?}");
        assert_eq!(shifts[0].period, 7);
        assert!((shifts[0].before - 0.5).abs() < 1e-9);
        assert!((shifts[0].after + 0.4).abs() < 1e-9);
        assert_eq!(shifts[0].until, 12);
    }

    #[test]
    fn no_change_point_in_flat_noise() {
        let seq: Vec<(usize, f64)> = (0..60)
            .map(|i| (i / 5, [0.3, -0.2, 0.1, -0.3, 0.2][i % 5]))
            .collect();
        assert!(change_points(&seq, 3).is_empty());
    }

    #[test]
    fn explicit_span_adds_empty_periods_and_drops_outside_stories() {
        let o = vec![
            obs("a", "2025-02-10", "a", 0.2),
            obs("z", "2026-01-01", "z", 0.9),
        ];
        let p = TrendParams::default()
            .span(d("2025-01-01"), d("2025-03-31"))
            .check()
            .unwrap();
        let t = trend(&o, &p).unwrap();
        assert_eq!(t.periods.len(), 3);
        assert_eq!(t.stories.len(), 1);
    }

    /// Regression: a reversed span panicked at `starts[0]`; extreme dates panicked in date
    /// arithmetic. Each is now an error from `check` or `trend`.
    #[test]
    fn rejects_reversed_spans_extreme_dates_and_bad_settings() {
        let reversed = TrendParams::default().span(d("2025-03-01"), d("2025-01-01"));
        assert!(matches!(reversed.check(), Err(Error::InvalidParams(_))));
        let far = TrendParams::default().span(NaiveDate::MIN, NaiveDate::MAX);
        assert!(far.check().is_err());
        let by_day = TrendParams::default()
            .bucket(Bucket::Day)
            .span(d("1000-01-01"), d("9999-12-31"));
        assert!(by_day
            .check()
            .unwrap_err()
            .to_string()
            .contains("more than 100000 periods"));
        for p in [
            TrendParams::default().min_stories(0),
            TrendParams {
                rolling: 0,
                ..TrendParams::default()
            },
            TrendParams {
                resamples: 0,
                ..TrendParams::default()
            },
            TrendParams {
                level: f64::NAN,
                ..TrendParams::default()
            },
            TrendParams {
                level: 1.0,
                ..TrendParams::default()
            },
        ] {
            assert!(p.clone().check().is_err(), "{p:?}");
        }
        let ok = TrendParams::default().check().unwrap();
        for date in [
            NaiveDate::MIN,
            NaiveDate::MAX,
            d("0999-12-31"),
            d("+10000-01-01"),
        ] {
            let o = vec![
                obs("a", "2025-01-02", "a", 0.2),
                Observation {
                    date,
                    ..obs("b", "2025-01-02", "b", 0.1)
                },
            ];
            assert!(trend(&o, &ok).is_err(), "{date}");
        }
        for b in [Bucket::Day, Bucket::Week, Bucket::Month] {
            assert_eq!(b.next(NaiveDate::MAX), NaiveDate::MAX);
            assert!(b.start(NaiveDate::MIN) <= NaiveDate::MIN.succ_opt().unwrap());
        }
    }

    proptest::proptest! {
        /// Any dates and settings: `check` and `trend` return, never panic, and a trend that is
        /// made covers every story's date.
        #[test]
        fn fuzz_trend_never_panics(
            days in proptest::collection::vec(-4_000_000i32..4_000_000, 0..12),
            span in proptest::option::of((-4_000_000i32..4_000_000, -4_000_000i32..4_000_000)),
            bucket in 0..3usize,
            min_stories in 0..5usize,
            level in proptest::num::f64::ANY,
        ) {
            let day = |n: i32| NaiveDate::from_num_days_from_ce_opt(n).unwrap_or(NaiveDate::MIN);
            let o: Vec<Observation> = days
                .iter()
                .enumerate()
                .map(|(i, &n)| Observation {
                    id: format!("a{i}"),
                    date: day(n),
                    cluster: format!("c{}", i % 3),
                    score: (i as f64 / 7.0).sin(),
                })
                .collect();
            let params = TrendParams {
                bucket: [Bucket::Day, Bucket::Week, Bucket::Month][bucket],
                min_stories,
                level,
                resamples: 50,
                span: span.map(|(a, b)| (day(a), day(b))),
                ..TrendParams::default()
            };
            if let Ok(valid) = params.check() {
                if let Ok(t) = trend(&o, &valid) {
                    for s in &t.stories {
                        proptest::prop_assert!(t.periods[s.period].start <= s.date);
                    }
                }
            }
        }
    }
}
