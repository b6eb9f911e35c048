//! `stance report`: ingest any files given, then write a Markdown and an HTML report with
//! the trend chart (PNG and SVG) into a directory, all or nothing; or, with `--aggregates`,
//! the report of period aggregates computed elsewhere.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use stance::report::chart;
use stance::report::document::{self, ReportMeta};
use stance::Classifier;

use super::aggregates;
use super::common::{load_model, ColumnArgs};
use super::ingest::{db_path, ingest_files, open_store};
use super::trend::{analyse_series, chart_spec, series_of, Analysed, SeriesArgs};

/// Arguments of `stance report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Article files to ingest first (the first --counterpart is their default counterpart).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    columns: ColumnArgs,
    #[command(flatten)]
    series: SeriesArgs,
    /// Output directory (created, or replaced as a whole).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Model used to score the files given [default: the built-in model].
    #[arg(long, value_name = "M")]
    model: Option<PathBuf>,
}

/// Runs `stance report`.
pub fn run(args: ReportArgs) -> Result<()> {
    if !args.series.aggregates.is_empty() {
        return run_on_aggregates(args);
    }
    let db = db_path(args.series.db.as_deref());
    if args.files.is_empty() && !db.exists() {
        bail!(
            "no store at {}: give article files to ingest, or run `stance ingest FILE...` first",
            db.display()
        );
    }
    if args.out.is_file() {
        bail!("--out {} is a file, not a directory", args.out.display());
    }
    let classifier = if args.files.is_empty() {
        None
    } else {
        Some(load_model(args.model.as_deref())?)
    };
    let mut store = open_store(&db)?;
    if let Some(classifier) = &classifier {
        ingest_files(
            &mut store,
            &db,
            classifier,
            &args.files,
            &args.columns.columns(),
            args.series.counterparts.first().map(String::as_str),
            args.series.actor.as_deref(),
        )?;
    }
    let an = analyse_series(&store, &db, &args.series)?;
    let models = store.models()?;
    let card = an
        .model_ids
        .iter()
        .filter_map(|id| models.iter().find(|m| &m.id == id))
        .map(|m| m.card_markdown.clone())
        .collect::<Vec<_>>()
        .join("\n\n");
    write_report(&args.out, &an, card)
}

/// `stance report --aggregates`: the report of period aggregates, no store and no files to
/// ingest; the model card is the built-in model's when the aggregates name its id.
fn run_on_aggregates(args: ReportArgs) -> Result<()> {
    if !args.files.is_empty() {
        bail!("--aggregates draws from the tables it names: give no article files to ingest");
    }
    if args.out.is_file() {
        bail!("--out {} is a file, not a directory", args.out.display());
    }
    let an = aggregates::analyse(&args.series.aggregates, &args.series)?;
    let builtin = Classifier::builtin().context("loading the built-in model")?;
    let card = if an.model_ids.iter().any(|id| id == builtin.id()) {
        builtin.card_markdown()
    } else {
        String::new()
    };
    write_report(&args.out, &an, card)
}

/// Writes the report of `an` into the directory `out`, all or nothing, and prints the summary.
fn write_report(out: &Path, an: &Analysed, card: String) -> Result<()> {
    let spec = chart_spec(an);
    let series = series_of(&an.analyses);
    let svg = chart::svg(&spec, &series)?;
    let png = chart::png(&spec, &series)?;
    let meta = ReportMeta {
        title: spec.title.clone(),
        notes: spec.method_notes(),
        model_id: if an.model_ids.is_empty() {
            "not recorded".into()
        } else {
            an.model_ids.join(", ")
        },
        model_card: card,
        chart_png: "chart.png".into(),
        chart_svg: "chart.svg".into(),
    };
    let md = document::markdown(&meta, &an.analyses);
    let html = document::html(&meta, &an.analyses, &svg);
    let csv = document::csv(&meta.notes, &an.analyses);
    let files: [(&str, &[u8]); 5] = [
        ("report.md", md.as_bytes()),
        ("report.html", html.as_bytes()),
        ("chart.svg", svg.as_bytes()),
        ("chart.png", &png),
        ("periods.csv", csv.as_bytes()),
    ];
    write_dir(out, &files)?;
    print!("{}", document::text_summary(&an.analyses));
    eprintln!("stance: wrote {}", out.join("report.md").display());
    Ok(())
}

/// Writes every file into a temporary sibling directory, then swaps it in for `out`, so a
/// failure leaves either the old directory or none, never a partial one.
fn write_dir(out: &Path, files: &[(&str, &[u8])]) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .with_context(|| format!("--out {} is not a directory name", out.display()))?
        .to_string_lossy()
        .into_owned();
    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.tmp-{pid}"));
    let result = (|| -> Result<()> {
        std::fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        for (file, bytes) in files {
            let path = tmp.join(file);
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        std::fs::File::open(&tmp).and_then(|d| d.sync_all()).ok();
        if out.exists() {
            let old = parent.join(format!(".{name}.old-{pid}"));
            std::fs::rename(out, &old)
                .with_context(|| format!("moving the old {} aside", out.display()))?;
            if let Err(e) = std::fs::rename(&tmp, out) {
                let _ = std::fs::rename(&old, out);
                return Err(e).with_context(|| format!("writing {}", out.display()));
            }
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}
