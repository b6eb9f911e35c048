//! `stance eval`: accuracy, macro-F1, ROC-AUC and confusion matrix of a model on each file's
//! conciliatory and confrontational records, and three-class macro-F1 on files with neutral
//! ones.

use std::path::PathBuf;

use anyhow::{Context, Result};
use stance::article::read_all_with;
use stance::classifier::evaluate;

use super::common::{load_model, ColumnArgs};

/// Arguments of `stance eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Model file (default: the built-in model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    columns: ColumnArgs,
    /// Labelled files: JSONL, CSV or Parquet (with a `label` column).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Runs `stance eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let classifier = load_model(args.model.as_deref())?;
    let mut rows = Vec::new();
    for path in &args.files {
        let records = read_all_with(std::slice::from_ref(path), &args.columns.columns())
            .with_context(|| format!("reading {}", path.display()))?;
        let m = evaluate(&classifier, &records);
        rows.push((path.display().to_string(), m));
    }
    if args.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(p, m)| serde_json::json!({"file": p, "model": classifier.id(), "metrics": m}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("model {}", classifier.id());
    println!(
        "{:<40} {:>6} {:>8} {:>8} {:>8} {:>6} {:>8}   confusion (rows truth conc/conf, cols predicted)",
        "file", "n", "accuracy", "macroF1", "ROC-AUC", "n all", "F1-3"
    );
    for (p, e) in rows {
        let (m, c) = (e.binary, e.binary.confusion);
        let f1_3 = e.macro_f1_3.map_or("-".to_string(), |f| format!("{f:.3}"));
        println!(
            "{:<40} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>6} {:>8}   [[{}, {}], [{}, {}]]",
            p, m.n, m.accuracy, m.macro_f1, m.roc_auc, e.n_3, f1_3, c.tp, c.fn_, c.fp, c.tn
        );
    }
    Ok(())
}
