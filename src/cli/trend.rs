//! `stance trend`: the stance toward one or more counterparts over time, drawn from the store.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use stance::report::chart::{self, ChartSpec, Series};
use stance::report::trend::{Bucket, TrendParams, ValidTrendParams};
use stance::report::{analyse, document, series_name, SeriesAnalysis};
use stance::store::{Selection, Store};

use super::aggregates;
use super::common::write_atomically;
use super::ingest::{db_path, open_store};

/// Which series to draw and how to bucket them (shared by `trend` and `report`).
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SeriesArgs {
    /// Counterpart (as stored, case-insensitive); repeat to compare several on one chart.
    #[arg(long = "counterpart", value_name = "NAME", required = true, value_parser = super::common::name_arg)]
    pub counterparts: Vec<String>,
    /// Only articles by this actor [default: every actor].
    #[arg(long, value_name = "NAME", value_parser = super::common::name_arg)]
    pub actor: Option<String>,
    /// Also draw the reverse direction (counterpart → actor); needs --actor.
    #[arg(long, requires = "actor")]
    pub reciprocal: bool,
    /// Period width.
    #[arg(long, value_name = "PERIOD", default_value = "month", value_parser = ["day", "week", "month"])]
    pub by: String,
    /// First date included (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last date included (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Periods with fewer distinct stories are marked thin and get no interval.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub min_articles: usize,
    /// Use the scores of this stored model id [default: the latest model that scored each series].
    #[arg(long, value_name = "ID")]
    pub model_id: Option<String>,
    /// Database file [default: $STANCE_DB, else stance.db in the working directory].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Draw from period aggregates computed elsewhere instead of the store: a CSV or Parquet
    /// table with columns period, articles, stories, mean_score, sd_score (and counterpart,
    /// actor, unmentioned, model_id when present), as `stance.dask.period_aggregates` writes.
    /// Repeat for several files.
    #[arg(long, value_name = "FILE", conflicts_with = "db")]
    pub aggregates: Vec<PathBuf>,
}

/// The checked settings every series shares: period width and date range.
pub(crate) struct Settings {
    pub bucket: Bucket,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl SeriesArgs {
    /// The period width and date range, checked.
    pub(crate) fn settings(&self) -> Result<Settings> {
        let bucket = Bucket::parse(&self.by).context("--by must be day, week or month")?;
        let from = date_arg("from", self.from.as_deref())?;
        let to = date_arg("to", self.to.as_deref())?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                bail!("--from {f} is after --to {t}");
            }
        }
        if self.min_articles == 0 {
            bail!("--min-articles must be at least 1");
        }
        Ok(Settings { bucket, from, to })
    }

    /// The series asked for, as `(actor, counterpart)`: each counterpart, then with
    /// `--reciprocal` each reversed.
    pub(crate) fn wanted(&self) -> Vec<(Option<String>, String)> {
        let mut wanted: Vec<(Option<String>, String)> = Vec::new();
        for c in &self.counterparts {
            wanted.push((self.actor.clone(), c.clone()));
        }
        if self.reciprocal {
            let actor = self.actor.clone().expect("clap requires --actor");
            for c in &self.counterparts {
                wanted.push((Some(c.clone()), actor.clone()));
            }
        }
        wanted
    }

    /// The span of the dates of the series `names` (`what` they are, for the message when
    /// there are none in the range asked for).
    pub(crate) fn span(
        &self,
        s: &Settings,
        what: &str,
        names: &[&str],
        dates: impl Iterator<Item = NaiveDate> + Clone,
    ) -> Result<(NaiveDate, NaiveDate)> {
        match (dates.clone().min(), dates.max()) {
            (Some(lo), Some(hi)) => Ok((lo, hi)),
            _ => bail!(
                "no {what} for {} between {} and {}",
                names.join(", "),
                s.from.map_or("the start".into(), |d| d.to_string()),
                s.to.map_or("the end".into(), |d| d.to_string())
            ),
        }
    }

    /// The trend settings of a span.
    pub(crate) fn params(
        &self,
        s: &Settings,
        lo: NaiveDate,
        hi: NaiveDate,
    ) -> Result<ValidTrendParams> {
        TrendParams::default()
            .bucket(s.bucket)
            .min_stories(self.min_articles)
            .span(s.from.unwrap_or(lo), s.to.unwrap_or(hi))
            .check()
            .context("the trend's settings")
    }
}

/// Arguments of `stance trend`.
#[derive(clap::Args)]
pub struct TrendArgs {
    #[command(flatten)]
    series: SeriesArgs,
    /// Chart file: .png or .svg.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Also write the per-period figures as CSV.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
}

/// The analyses of every requested series, with the settings and the model(s) they used.
pub(crate) struct Analysed {
    pub analyses: Vec<SeriesAnalysis>,
    pub params: ValidTrendParams,
    pub model_ids: Vec<String>,
    pub bucket: Bucket,
    /// Drawn from period aggregates rather than the store.
    pub from_aggregates: bool,
}

fn date_arg(flag: &str, v: Option<&str>) -> Result<Option<NaiveDate>> {
    v.map(|s| {
        stance::article::parse_date(s)
            .with_context(|| format!("--{flag} {s:?} is not a date (use YYYY-MM-DD)"))
    })
    .transpose()
}

/// Resolves the series against the store and analyses them over one shared span of periods.
pub(crate) fn analyse_series(store: &Store, db: &Path, a: &SeriesArgs) -> Result<Analysed> {
    let settings = a.settings()?;
    let (bucket, from, to) = (settings.bucket, settings.from, settings.to);
    let pairs = store.pairs()?;
    if pairs.is_empty() {
        bail!(
            "the store {} is empty: run `stance ingest FILE... --db {}` first",
            db.display(),
            db.display()
        );
    }
    let available = || {
        let mut v: Vec<String> = pairs
            .iter()
            .map(|p| {
                format!(
                    "{} ({} articles, model {})",
                    series_name(p.actor.as_deref(), &p.counterpart),
                    p.articles,
                    p.model_id
                )
            })
            .collect();
        v.dedup();
        v.join("; ")
    };
    let wanted = a.wanted();
    let mut rows = Vec::new();
    let mut model_ids: Vec<String> = Vec::new();
    for (actor, counterpart) in &wanted {
        let matching: Vec<_> = pairs
            .iter()
            .filter(|p| p.counterpart.eq_ignore_ascii_case(counterpart))
            .filter(|p| actor_matches(actor.as_deref(), p.actor.as_deref()))
            .collect();
        let Some(first) = matching.first() else {
            bail!(
                "no stored scores for {}; the store has: {}",
                series_name(actor.as_deref(), counterpart),
                available()
            );
        };
        let model = match &a.model_id {
            Some(m) => m.clone(),
            None => store
                .latest_model(counterpart, actor.as_deref())?
                .unwrap_or_else(|| first.model_id.clone()),
        };
        let sel = Selection {
            counterpart: counterpart.clone(),
            actor: actor.clone(),
            model: Some(model.clone()),
            from,
            to,
        };
        let scored = store.scored(&sel)?;
        if !model_ids.contains(&model) {
            model_ids.push(model);
        }
        let actors = matching.iter().map(|p| p.actor.as_deref());
        let name = shown_name(actors, &first.counterpart);
        rows.push((name, scored));
    }
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let dates = rows.iter().flat_map(|r| r.1.iter().map(|s| s.date));
    let (lo, hi) = a.span(&settings, "articles", &names, dates)?;
    for (name, r) in &rows {
        if r.is_empty() {
            eprintln!("stance: no articles for {name} in this date range");
        }
    }
    let params = a.params(&settings, lo, hi)?;
    let analyses = rows
        .into_iter()
        .map(|(name, r)| analyse(&name, r, &params).with_context(|| format!("analysing {name}")))
        .collect::<Result<_>>()?;
    Ok(Analysed {
        analyses,
        params,
        model_ids,
        bucket,
        from_aggregates: false,
    })
}

/// Whether a row's actor is the one asked for (any, when none was asked for), by name,
/// case-insensitively.
pub(crate) fn actor_matches(want: Option<&str>, have: Option<&str>) -> bool {
    want.is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)))
}

/// A series' name: its actor when every row has the same one (always so when one was asked
/// for), and its counterpart.
pub(crate) fn shown_name<'a>(
    mut actors: impl Iterator<Item = Option<&'a str>>,
    counterpart: &str,
) -> String {
    let first = actors.next().flatten();
    let only_actor = actors.all(|a| a == first).then_some(first).flatten();
    series_name(only_actor, counterpart)
}

/// The chart spec for a set of analyses.
pub(crate) fn chart_spec(an: &Analysed) -> ChartSpec {
    let series = series_of(&an.analyses);
    let models = if an.model_ids.is_empty() {
        "Model: not recorded with the aggregates.".to_string()
    } else {
        format!("Model: {}.", an.model_ids.join(", "))
    };
    let spec = ChartSpec::new(&chart::title(&series, an.bucket), &an.params, &models);
    if an.from_aggregates {
        spec.from_aggregates()
    } else {
        spec
    }
}

/// The chart series of a set of analyses.
pub(crate) fn series_of(analyses: &[SeriesAnalysis]) -> Vec<Series<'_>> {
    analyses
        .iter()
        .map(|a| Series {
            name: a.name.clone(),
            trend: &a.trend,
        })
        .collect()
}

/// Runs `stance trend`.
pub fn run(args: TrendArgs) -> Result<()> {
    let ext = args
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let png = match ext.as_deref() {
        Some("png") => true,
        Some("svg") => false,
        _ => bail!("--out {} must end in .png or .svg", args.out.display()),
    };
    let an = if args.series.aggregates.is_empty() {
        let db = db_path(args.series.db.as_deref());
        if !db.exists() {
            bail!(
                "no store at {}: run `stance ingest FILE...` first (or give --db / STANCE_DB)",
                db.display()
            );
        }
        let store = open_store(&db)?;
        analyse_series(&store, &db, &args.series)?
    } else {
        aggregates::analyse(&args.series.aggregates, &args.series)?
    };
    let spec = chart_spec(&an);
    let series = series_of(&an.analyses);
    let bytes = if png {
        chart::png(&spec, &series)?
    } else {
        chart::svg(&spec, &series)?.into_bytes()
    };
    write_atomically(&args.out, |w| Ok(w.write_all(&bytes)?))
        .with_context(|| format!("writing {}", args.out.display()))?;
    if let Some(csv) = &args.csv {
        let text = document::csv(&spec.method_notes(), &an.analyses);
        write_atomically(csv, |w| Ok(w.write_all(text.as_bytes())?))
            .with_context(|| format!("writing {}", csv.display()))?;
    }
    print!("{}", document::text_summary(&an.analyses));
    eprintln!("stance: wrote {}", args.out.display());
    Ok(())
}
