//! `stance report`: ingest any files given, then write a Markdown and an HTML report with
//! the trend chart (PNG and SVG) into a directory, all or nothing.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use stance::report::chart;
use stance::report::document::{self, ReportMeta};

use super::common::{load_model, ColumnArgs};
use super::ingest::{db_path, ingest_files, open_store};
use super::trend::{analyse_series, chart_spec, series_of, SeriesArgs};

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
    let spec = chart_spec(&an);
    let series = series_of(&an.analyses);
    let svg = chart::svg(&spec, &series)?;
    let png = chart::png(&spec, &series)?;
    let models = store.models()?;
    let card = an
        .model_ids
        .iter()
        .filter_map(|id| models.iter().find(|m| &m.id == id))
        .map(|m| m.card_markdown.clone())
        .collect::<Vec<_>>()
        .join("\n\n");
    let meta = ReportMeta {
        title: spec.title.clone(),
        notes: spec.method_notes(),
        model_id: an.model_ids.join(", "),
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
    write_dir(&args.out, &files)?;
    print!("{}", document::text_summary(&an.analyses));
    eprintln!("stance: wrote {}", args.out.join("report.md").display());
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
