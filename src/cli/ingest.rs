//! `stance ingest`: score article files and keep them in the store, one transaction per file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stance::classifier::score_map_in_order;
use stance::store::{ModelInfo, Store};
use stance::Classifier;

use super::common::{load_model, ColumnArgs};

/// Arguments of `stance ingest`.
#[derive(clap::Args)]
pub struct IngestArgs {
    /// JSONL files (one article a line), CSV or Parquet files (one article a row) or .txt files
    /// (one article each); `-` reads JSONL from standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    columns: ColumnArgs,
    /// Counterpart for articles that do not name one.
    #[arg(long, value_name = "NAME", value_parser = super::common::name_arg)]
    counterpart: Option<String>,
    /// Actor for articles that do not name one.
    #[arg(long, value_name = "NAME", value_parser = super::common::name_arg)]
    actor: Option<String>,
    /// Model directory or file [default: the built-in model].
    #[arg(long, value_name = "M")]
    model: Option<PathBuf>,
    /// Database file [default: $STANCE_DB, else stance.db in the working directory].
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

/// The database path: `--db`, else `$STANCE_DB`, else `stance.db` in the working directory.
pub(crate) fn db_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    match std::env::var_os("STANCE_DB") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("stance.db"),
    }
}

/// Opens the store, saying which file failed.
pub(crate) fn open_store(path: &Path) -> Result<Store> {
    Store::open(path).with_context(|| format!("opening the store {}", path.display()))
}

/// Runs `stance ingest`.
pub fn run(args: IngestArgs) -> Result<()> {
    let classifier = load_model(args.model.as_deref())?;
    let db = db_path(args.db.as_deref());
    let mut store = open_store(&db)?;
    ingest_files(
        &mut store,
        &db,
        &classifier,
        &args.files,
        &args.columns.columns(),
        args.counterpart.as_deref(),
        args.actor.as_deref(),
    )
}

/// Ingests each file in its own transaction, printing one summary line per file to stdout
/// and skipped articles to stderr. Stops at the first failing file (earlier files stay stored).
/// `db` is the store's path, for error messages.
pub(crate) fn ingest_files(
    store: &mut Store,
    db: &Path,
    classifier: &Classifier,
    files: &[PathBuf],
    columns: &stance::article::Columns,
    counterpart: Option<&str>,
    actor: Option<&str>,
) -> Result<()> {
    let model = ModelInfo::new(
        classifier.id(),
        &classifier.card_markdown(),
        &classifier.card_json(),
    );
    for path in files {
        let name = path.display().to_string();
        let reader = stance::article::read_path_with(path, columns)
            .with_context(|| format!("reading {name}"))?
            .ignoring_labels();
        let bar = progress_bar(path);
        let mut file = store
            .begin(&model, &name)
            .with_context(|| format!("starting a write to the store {}", db.display()))?;
        let scored = score_map_in_order(
            classifier,
            reader,
            counterpart,
            actor,
            // Content hashes, near-duplicate signatures and evidence JSON are computed on the
            // scoring threads too, and the evidence, once in JSON, freed there; the writer only
            // writes.
            |article, score| {
                let prepared = stance::store::prepare(article, score);
                score.evidence = Vec::new();
                prepared
            },
            |line, article, score, prepared| {
                bar.inc(1);
                prepared
                    .and_then(|p| file.add_prepared(&article, &score, p))
                    .map_err(|e| stance::Error::Ingest {
                        path: name.clone(),
                        line,
                        id: article.id.clone(),
                        source: Box::new(e),
                    })?;
                Ok(())
            },
        );
        bar.finish_and_clear();
        if let Err(e) = scored {
            drop(file);
            return Err(anyhow::Error::new(e).context(format!(
                "ingesting {name} (nothing from this file was stored)"
            )));
        }
        let stats = file.commit().with_context(|| {
            format!(
                "committing {name} to the store {} (nothing from this file was stored)",
                db.display()
            )
        })?;
        let skipped = stats.undated.len() + stats.no_counterpart.len() + stats.conflicts.len();
        println!(
            "{name}: {} new, {} already present, {} skipped, {} near-duplicates ({} scores added)",
            stats.new, stats.present, skipped, stats.near_duplicates, stats.new_scores
        );
        report_skipped(&name, "without a usable date", &stats.undated);
        report_skipped(
            &name,
            "without a counterpart (give --counterpart)",
            &stats.no_counterpart,
        );
        report_skipped(
            &name,
            "whose id is already stored with different text",
            &stats.conflicts,
        );
    }
    Ok(())
}

fn report_skipped(name: &str, why: &str, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
    eprintln!(
        "stance: {name}: skipped {} article{} {why}: {}{}",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if ids.len() > shown.len() { ", …" } else { "" }
    );
}

/// A spinner counting articles, on stderr only when it is a terminal and the input is long.
fn progress_bar(path: &Path) -> ProgressBar {
    let long =
        path == Path::new("-") || std::fs::metadata(path).is_ok_and(|m| m.len() > 256 * 1024);
    if !long || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg}: {human_pos} articles ({per_sec}, {elapsed})",
        )
        .expect("valid template"),
    );
    bar.set_message(path.display().to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
