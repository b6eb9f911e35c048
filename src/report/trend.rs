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

    let Some((starts, end)) = period_starts(by_article.values().map(|a| a.0), params)? else {
        return Ok(Trend::default());
    };
    stories.retain(|st| st.date >= starts[0] && st.date < end);
    for st in &mut stories {
        st.period = starts.partition_point(|&p| p <= st.date) - 1;
    }

    let mut scores: Vec<Vec<f64>> = vec![Vec::new(); starts.len()];
    let mut articles = vec![0usize; starts.len()];
    for st in &stories {
        scores[st.period].push(st.score);
        articles[st.period] += st.articles.len();
    }
    let moments: Vec<Option<Moments>> = scores
        .iter()
        .enumerate()
        .map(|(i, v)| (!v.is_empty()).then(|| Moments::of(i, v)))
        .collect();
    let intervals = starts
        .iter()
        .zip(&scores)
        .map(|(start, v)| {
            // Thin periods get no interval: no resamples drawn for them.
            (v.len() >= params.min_stories.max(1))
                .then(|| {
                    bootstrap_interval(
                        v,
                        params.resamples,
                        params.level,
                        params.seed ^ splitmix64(start.num_days_from_ce() as u64),
                    )
                })
                .flatten()
        })
        .collect();
    let (periods, shifts) = periods_and_shifts(&starts, &articles, &moments, intervals, params);
    Ok(Trend {
        periods,
        stories,
        shifts,
    })
}

/// What is known of one period of a trend computed elsewhere (a Dask job's monthly figures):
/// its stories' count, mean and spread, without the stories themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodAggregate {
    /// First day of the period (as [`Bucket::start`] gives it).
    pub start: NaiveDate,
    /// Articles naming the counterpart, copies included.
    pub articles: usize,
    /// Distinct stories among them.
    pub stories: usize,
    /// Mean of the story scores (unused when there are no stories).
    pub mean: f64,
    /// Sum of the squared deviations of the story scores from their mean (0 for one story).
    pub m2: f64,
}

/// The trend of periods aggregated elsewhere, by the same methods as [`trend`] where the
/// aggregates allow: the mean, the rolling mean and the change points are exactly those of the
/// stories behind them; the interval is the normal one, `mean ± z · sd / √n` with the stories'
/// standard deviation (the percentile bootstrap converges to it as stories grow). Several rows
/// of one period (one per actor, say) are pooled. The trend lists no stories.
///
/// # Errors
/// [`Error::InvalidParams`] for a start that is not the first day of a period of
/// `params.bucket`, fewer articles than stories, a mean outside [-1, 1] or a spread that is
/// negative or not finite, and for dates as [`trend`] rejects them.
pub fn trend_from_aggregates(rows: &[PeriodAggregate], params: &ValidTrendParams) -> Result<Trend> {
    let bucket = params.bucket;
    for r in rows {
        let bad = |m: String| Err(Error::InvalidParams(format!("period {}: {m}", r.start)));
        if bucket.start(r.start) != r.start {
            return bad(format!("not the first day of a {}", bucket.as_str()));
        }
        if r.articles < r.stories {
            return bad(format!(
                "{} stories but {} articles (a story has at least one)",
                r.stories, r.articles
            ));
        }
        if r.stories > 0 && !(-1.0..=1.0).contains(&r.mean) {
            return bad(format!("mean score {} is outside [-1, 1]", r.mean));
        }
        if !(r.m2.is_finite() && r.m2 >= 0.0) {
            return bad(format!(
                "spread {} is not a finite, non-negative number",
                r.m2
            ));
        }
    }
    let Some((starts, end)) = period_starts(rows.iter().map(|r| r.start), params)? else {
        return Ok(Trend::default());
    };
    let mut articles = vec![0usize; starts.len()];
    let mut moments: Vec<Option<Moments>> = vec![None; starts.len()];
    for r in rows
        .iter()
        .filter(|r| r.start >= starts[0] && r.start < end)
    {
        let i = starts.partition_point(|&p| p <= r.start) - 1;
        articles[i] += r.articles;
        if r.stories > 0 {
            let m = Moments::from_summary(i, r.stories, r.mean, r.m2);
            moments[i] = Some(moments[i].map_or(m, |old| old.pooled(&m)));
        }
    }
    let z = normal_quantile(0.5 + params.level / 2.0);
    let intervals = moments
        .iter()
        .map(|m| {
            m.map(|m| {
                let mean = m.sum / m.n as f64;
                let half = z * m.m2.sqrt() / m.n as f64;
                (mean - half, mean + half)
            })
        })
        .collect();
    let (periods, shifts) = periods_and_shifts(&starts, &articles, &moments, intervals, params);
    Ok(Trend {
        periods,
        stories: Vec::new(),
        shifts,
    })
}

/// The first day of every period of the trend's span (`params.span`, else the dates' own), and
/// the first day after the last period; `None` for no dates and no span.
///
/// # Errors
/// What [`check_dates`] says of the dates' own span.
fn period_starts(
    dates: impl Iterator<Item = NaiveDate> + Clone,
    params: &ValidTrendParams,
) -> Result<Option<(Vec<NaiveDate>, NaiveDate)>> {
    let bucket = params.bucket;
    let (first, last) = match (params.span, dates.clone().min(), dates.max()) {
        (Some(span), _, _) => span,
        (None, Some(f), Some(l)) => {
            check_dates(f, l, bucket)?;
            (f, l)
        }
        _ => return Ok(None),
    };
    let mut starts = Vec::new();
    let mut s = bucket.start(first);
    while s <= last {
        starts.push(s);
        s = bucket.next(s);
    }
    Ok(Some((starts, s)))
}

/// The periods (mean, interval unless thin, rolling mean) and change points of per-period
/// articles and story moments; `intervals` are given per period.
fn periods_and_shifts(
    starts: &[NaiveDate],
    articles: &[usize],
    moments: &[Option<Moments>],
    intervals: Vec<Option<(f64, f64)>>,
    params: &ValidTrendParams,
) -> (Vec<Period>, Vec<Shift>) {
    let min_stories = params.min_stories.max(1);
    let w = params.rolling.max(1);
    let periods = starts
        .iter()
        .zip(intervals)
        .enumerate()
        .map(|(i, (&start, interval))| {
            let stories = moments[i].map_or(0, |m| m.n);
            let thin = stories > 0 && stories < min_stories;
            let window = moments[(i + 1).saturating_sub(w)..=i].iter().flatten();
            let (n, sum) = window.fold((0, 0.0), |(n, s), m| (n + m.n, s + m.sum));
            Period {
                start,
                label: params.bucket.label(start),
                articles: articles[i],
                stories,
                mean: moments[i].map(|m| m.sum / m.n as f64),
                interval: if thin { None } else { interval },
                thin,
                rolling: (n > 0).then(|| sum / n as f64),
            }
        })
        .collect();
    let groups: Vec<Moments> = moments.iter().flatten().copied().collect();
    (periods, change_points_of(&groups, min_stories))
}

/// What the trend keeps of one period's story scores: enough for the mean, the rolling mean
/// and the change points (but not the bootstrap, which needs the scores).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Moments {
    /// Index of the period.
    period: usize,
    /// Stories.
    n: usize,
    /// Sum of their scores.
    sum: f64,
    /// Sum of their squares.
    sq: f64,
    /// Sum of squared deviations from their mean.
    m2: f64,
}

impl Moments {
    /// The moments of some values (at least one).
    fn of(period: usize, values: &[f64]) -> Moments {
        let sum: f64 = values.iter().sum();
        let mean = sum / values.len() as f64;
        Moments {
            period,
            n: values.len(),
            sum,
            sq: values.iter().map(|x| x * x).sum(),
            m2: values.iter().map(|x| (x - mean).powi(2)).sum(),
        }
    }

    /// The moments of `n` (at least one) values with this mean and spread.
    fn from_summary(period: usize, n: usize, mean: f64, m2: f64) -> Moments {
        let sum = mean * n as f64;
        Moments {
            period,
            n,
            sum,
            sq: m2 + sum * mean,
            m2,
        }
    }

    /// The moments of both sets of values together.
    fn pooled(&self, o: &Moments) -> Moments {
        let (n1, n2) = (self.n as f64, o.n as f64);
        let delta = o.sum / n2 - self.sum / n1;
        Moments {
            period: self.period,
            n: self.n + o.n,
            sum: self.sum + o.sum,
            sq: self.sq + o.sq,
            m2: self.m2 + o.m2 + delta * delta * n1 * n2 / (n1 + n2),
        }
    }
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
    let groups: Vec<Moments> = seq
        .chunk_by(|a, b| a.0 == b.0)
        .map(|g| Moments::of(g[0].0, &g.iter().map(|x| x.1).collect::<Vec<_>>()))
        .collect();
    change_points_of(&groups, min_stories)
}

/// [`change_points`] of the periods' moments (non-empty periods in order): splits fall only
/// between periods, so the sums per period are all the segmentation needs.
fn change_points_of(groups: &[Moments], min_stories: usize) -> Vec<Shift> {
    let n: usize = groups.iter().map(|g| g.n).sum();
    if n < 2 * min_stories.max(2) {
        return Vec::new();
    }
    let sigma2 = pooled_within_variance(groups).max(1e-4);
    let penalty = 3.0 * sigma2 * (n as f64).ln();
    let pre = Prefix::new(groups);
    let mut cuts = Vec::new();
    split(
        &pre,
        (0, groups.len()),
        min_stories.max(1),
        penalty,
        &mut cuts,
    );
    cuts.sort_unstable();
    let mut bounds = vec![0];
    bounds.extend(&cuts);
    bounds.push(groups.len());
    (1..bounds.len() - 1)
        .map(|k| Shift {
            period: groups[bounds[k]].period,
            before: pre.mean(bounds[k - 1], bounds[k]),
            after: pre.mean(bounds[k], bounds[k + 1]),
            until: match groups.get(bounds[k + 1]) {
                Some(g) => g.period,
                None => groups[groups.len() - 1].period + 1,
            },
        })
        .collect()
}

/// Prefix sums over the periods that make each candidate split O(1): counts, values and
/// squares.
struct Prefix {
    n: Vec<usize>,
    sum: Vec<f64>,
    sq: Vec<f64>,
}

impl Prefix {
    fn new(groups: &[Moments]) -> Prefix {
        let mut p = Prefix {
            n: vec![0],
            sum: vec![0.0],
            sq: vec![0.0],
        };
        for (i, g) in groups.iter().enumerate() {
            p.n.push(p.n[i] + g.n);
            p.sum.push(p.sum[i] + g.sum);
            p.sq.push(p.sq[i] + g.sq);
        }
        p
    }

    /// Values in periods `a..b`.
    fn count(&self, a: usize, b: usize) -> usize {
        self.n[b] - self.n[a]
    }

    fn mean(&self, a: usize, b: usize) -> f64 {
        (self.sum[b] - self.sum[a]) / self.count(a, b) as f64
    }

    fn sse(&self, a: usize, b: usize) -> f64 {
        let n = self.count(a, b) as f64;
        let s = self.sum[b] - self.sum[a];
        ((self.sq[b] - self.sq[a]) - s * s / n).max(0.0)
    }
}

/// Splits periods `a..b` where the gain is largest, if it passes the penalty, and recurses;
/// each side keeps at least two periods and `min` values.
fn split(pre: &Prefix, (a, b): (usize, usize), min: usize, penalty: f64, cuts: &mut Vec<usize>) {
    let total = pre.sse(a, b);
    let mut best: Option<(f64, usize)> = None;
    for c in a + 2..=b.saturating_sub(2) {
        if pre.count(a, c) < min || pre.count(c, b) < min {
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
            split(pre, (a, c), min, penalty, cuts);
            split(pre, (c, b), min, penalty, cuts);
        }
    }
}

/// Variance of values around their own period's mean, pooled over periods; falls back to
/// the overall variance when fewer than two degrees of freedom are available.
fn pooled_within_variance(groups: &[Moments]) -> f64 {
    let ss: f64 = groups.iter().map(|g| g.m2).sum();
    let df: usize = groups.iter().map(|g| g.n - 1).sum();
    if df >= 2 {
        return ss / df as f64;
    }
    let all = groups
        .iter()
        .copied()
        .reduce(|a, b| a.pooled(&b))
        .expect("at least one period");
    all.m2 / (all.n.max(2) - 1) as f64
}

/// The standard normal quantile: the `x` with `P(Z ≤ x) = p`, for `p` strictly between 0 and
/// 1 (Acklam's rational approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.02425;
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
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

    /// The scores of a trend's stories in period `i`.
    fn story_scores(t: &Trend, i: usize) -> Vec<f64> {
        t.stories
            .iter()
            .filter(|s| s.period == i)
            .map(|s| s.score)
            .collect()
    }

    /// The aggregates a job elsewhere would compute of a trend's stories: per period, the
    /// articles, the stories, their mean and their spread, by the textbook two-pass formula.
    fn aggregates_of(t: &Trend) -> Vec<PeriodAggregate> {
        t.periods
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let v = story_scores(t, i);
                let mean = mean(&v).unwrap_or(0.0);
                PeriodAggregate {
                    start: p.start,
                    articles: p.articles,
                    stories: v.len(),
                    mean,
                    m2: v.iter().map(|x| (x - mean).powi(2)).sum(),
                }
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn normal_quantiles_match_the_tables() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_985),
            (0.995, 2.575_829_304),
            (0.84134474607, 1.0),
            (0.001, -3.090_232_306),
            (0.02, -2.053_748_911),
        ] {
            assert!(
                (normal_quantile(p) - z).abs() < 1e-7,
                "{p}: {}",
                normal_quantile(p)
            );
        }
    }

    #[test]
    fn aggregates_give_the_stories_trend_with_a_normal_interval() {
        // Four months of ten stories each, the level dropping after the second.
        let mut o = Vec::new();
        for (m, level) in [(1, 0.4), (2, 0.5), (3, -0.4), (4, -0.5)] {
            for k in 0..10 {
                let score = level + ((m * 10 + k) as f64 * 0.7).sin() * 0.1;
                let id = format!("{m}-{k}");
                let date = format!("2025-{m:02}-{:02}", k + 1);
                o.push(obs(&id, &date, &id, score));
            }
        }
        o.push(obs("copy", "2025-01-20", "1-0", 0.4)); // a copy: two articles, one story
        let params = TrendParams::default().check().unwrap();
        let t = trend(&o, &params).unwrap();
        let a = trend_from_aggregates(&aggregates_of(&t), &params).unwrap();
        assert!(a.stories.is_empty());
        assert_eq!(a.periods.len(), 4);
        assert_eq!(a.shifts.len(), 1);
        assert_eq!(a.shifts[0].period, t.shifts[0].period);
        assert!(close(a.shifts[0].before, t.shifts[0].before));
        assert!(close(a.shifts[0].after, t.shifts[0].after));
        for (i, (p, q)) in a.periods.iter().zip(&t.periods).enumerate() {
            assert_eq!(
                (p.start, p.articles, p.stories),
                (q.start, q.articles, q.stories)
            );
            assert!(close(p.mean.unwrap(), q.mean.unwrap()));
            assert!(close(p.rolling.unwrap(), q.rolling.unwrap()));
            // Hand computed: mean ± 1.96 · sqrt(m2 / n) / sqrt(n).
            let m = p.mean.unwrap();
            let v = story_scores(&t, i);
            let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            let (lo, hi) = p.interval.unwrap();
            assert!(close(hi - m, 1.959_963_985 * sd / (v.len() as f64).sqrt()));
            assert!(close(m - lo, hi - m));
            // The bootstrap's interval is near it with ten stories.
            let (blo, bhi) = q.interval.unwrap();
            assert!(
                (blo - lo).abs() < 0.02 && (bhi - hi).abs() < 0.02,
                "{p:?} {q:?}"
            );
        }
    }

    #[test]
    fn rows_of_one_period_are_pooled_and_thin_periods_marked() {
        let d1 = d("2025-01-01");
        let row = |stories: usize, mean: f64, m2: f64| PeriodAggregate {
            start: d1,
            articles: stories + 1,
            stories,
            mean,
            m2,
        };
        // {0.2, 0.4} and {-0.3}: together mean 0.1, spread 0.02 + 0 + 2·1/3·(0.3+0.3)² = 0.26.
        let params = TrendParams::default().min_stories(4).check().unwrap();
        let t = trend_from_aggregates(&[row(2, 0.3, 0.02), row(1, -0.3, 0.0)], &params).unwrap();
        let p = &t.periods[0];
        assert_eq!((p.articles, p.stories), (5, 3));
        assert!(close(p.mean.unwrap(), 0.1));
        assert!(p.thin && p.interval.is_none());
        let params = TrendParams::default().min_stories(3).check().unwrap();
        let t = trend_from_aggregates(&[row(2, 0.3, 0.02), row(1, -0.3, 0.0)], &params).unwrap();
        let (lo, hi) = t.periods[0].interval.unwrap();
        assert!(close(
            hi - 0.1,
            1.959_963_985 * (0.26f64 / 3.0).sqrt() / 3f64.sqrt()
        ));
        assert!(close(0.1 - lo, hi - 0.1));
        // No stories: the articles are counted, no mean.
        let t = trend_from_aggregates(&[row(0, 0.0, 0.0)], &params).unwrap();
        assert_eq!((t.periods[0].articles, t.periods[0].mean), (1, None));
    }

    #[test]
    fn aggregates_that_cannot_be_are_refused() {
        let params = TrendParams::default().check().unwrap();
        let row = |start: &str, articles, stories, mean, m2| PeriodAggregate {
            start: d(start),
            articles,
            stories,
            mean,
            m2,
        };
        for bad in [
            row("2025-01-02", 3, 3, 0.0, 0.1),
            row("2025-01-01", 2, 3, 0.0, 0.1),
            row("2025-01-01", 3, 3, 1.5, 0.1),
            row("2025-01-01", 3, 3, f64::NAN, 0.1),
            row("2025-01-01", 3, 3, 0.0, -0.1),
            row("2025-01-01", 3, 3, 0.0, f64::INFINITY),
            row("0999-01-01", 3, 3, 0.0, 0.1),
        ] {
            assert!(
                matches!(
                    trend_from_aggregates(std::slice::from_ref(&bad), &params),
                    Err(Error::InvalidParams(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            trend_from_aggregates(&[], &params).unwrap(),
            Trend::default()
        );
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

        /// Any stories: the trend of their aggregates has the same periods, means, rolling
        /// means and change points as theirs.
        #[test]
        fn aggregates_keep_the_trend(
            stories in proptest::collection::vec((0..400i64, -1.0f64..=1.0), 0..60),
            bucket in 0..3usize,
            min_stories in 1..5usize,
        ) {
            let o: Vec<Observation> = stories
                .iter()
                .enumerate()
                .map(|(i, &(day, score))| {
                    let date = d("2024-01-01") + chrono::Days::new(day as u64);
                    Observation { id: format!("a{i}"), date, cluster: format!("a{i}"), score }
                })
                .collect();
            let params = TrendParams {
                bucket: [Bucket::Day, Bucket::Week, Bucket::Month][bucket],
                min_stories,
                resamples: 20,
                ..TrendParams::default()
            }
            .check()
            .unwrap();
            let t = trend(&o, &params).unwrap();
            let a = trend_from_aggregates(&aggregates_of(&t), &params).unwrap();
            proptest::prop_assert_eq!(a.periods.len(), t.periods.len());
            for (p, q) in a.periods.iter().zip(&t.periods) {
                proptest::prop_assert_eq!((p.stories, p.thin), (q.stories, q.thin));
                proptest::prop_assert!(p.mean.zip(q.mean).is_none_or(|(x, y)| close(x, y)));
                proptest::prop_assert!(p.rolling.zip(q.rolling).is_none_or(|(x, y)| close(x, y)));
            }
            let periods = |t: &Trend| t.shifts.iter().map(|s| (s.period, s.until)).collect::<Vec<_>>();
            proptest::prop_assert_eq!(periods(&a), periods(&t));
        }
    }
}
