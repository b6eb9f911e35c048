//! `stance train`: read labelled JSONL, print cross-validated metrics, then write the model
//! and its card (atomically) to `--out`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use stance::article::read_all_with;
use stance::classifier::{
    evaluate, file_sha256, train, FileMetrics, ModelCard, Progress, TrainParams, TrainingFile,
};
use stance::features::VectoriserParams;
use stance::model::LogisticParams;
use stance::Label;

use super::common::{write_atomically, ColumnArgs};

/// Arguments of `stance train`.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// Directory to write model.json and CARD.md into (created if missing).
    #[arg(long, default_value = "model")]
    out: PathBuf,
    /// Labelled files to evaluate the finished model on and record in its card (never trained on).
    #[arg(long = "eval", value_name = "FILE")]
    eval: Vec<PathBuf>,
    /// Cross-validation folds (0 skips cross-validation).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// L2 penalty.
    #[arg(long, default_value_t = LogisticParams::default().l2)]
    l2: f64,
    /// Most L-BFGS iterations per fit.
    #[arg(long, default_value_t = LogisticParams::default().max_iter)]
    max_iter: u64,
    /// Minimum document frequency of a sparse feature.
    #[arg(long, default_value_t = VectoriserParams::default().min_df)]
    min_df: usize,
    /// Weight of the dense lexicon features.
    #[arg(long, default_value_t = VectoriserParams::default().dense_scale)]
    dense_scale: f32,
    /// Do not reweigh classes by frequency.
    #[arg(long)]
    no_balance: bool,
    /// A training file's total weight grows as its number of records to this power: 0 weighs
    /// every file alike, 1 every record.
    #[arg(long, default_value_t = TrainParams::default().file_weight_power)]
    file_weight_power: f64,
    /// Weigh every record alike (the same as --file-weight-power 1).
    #[arg(long)]
    weigh_records: bool,
    #[command(flatten)]
    columns: ColumnArgs,
    /// Labelled training files: JSONL, CSV or Parquet (with a `label` column).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Runs `stance train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let mut card = ModelCard {
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        command: std::env::args().skip(1).fold("stance".to_string(), |s, a| {
            if a.contains(' ') {
                format!("{s} '{a}'")
            } else {
                format!("{s} {a}")
            }
        }),
        ..ModelCard::default()
    };
    let columns = args.columns.columns();
    let mut records = Vec::new();
    let mut sources = Vec::new();
    for (file_index, path) in args.files.iter().enumerate() {
        let recs = read_all_with(std::slice::from_ref(path), &columns)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut by_label = [0usize; 3];
        for r in &recs {
            match r.label {
                Some(Label::Conciliatory) => by_label[0] += 1,
                Some(Label::Confrontational) => by_label[1] += 1,
                Some(Label::Neutral) => by_label[2] += 1,
                Some(Label::Unmentioned) | None => {}
            }
        }
        eprintln!(
            "read {}: {} records ({} conciliatory, {} confrontational, {} neutral)",
            path.display(),
            recs.len(),
            by_label[0],
            by_label[1],
            by_label[2]
        );
        card.training_files.push(TrainingFile {
            path: path.display().to_string(),
            sha256: file_sha256(path)?,
            records: recs.len(),
            by_label,
        });
        sources.extend(std::iter::repeat_n(file_index, recs.len()));
        records.extend(recs);
    }
    let mut params = TrainParams::default();
    params.folds = args.folds;
    params.file_weight_power = if args.weigh_records {
        1.0
    } else {
        args.file_weight_power
    };
    params.model = params
        .model
        .l2(args.l2)
        .balanced(!args.no_balance)
        .max_iter(args.max_iter);
    params.vectoriser = params
        .vectoriser
        .min_df(args.min_df)
        .dense_scale(args.dense_scale);
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let classifier = train(&records, &sources, params, card, &mut |p| {
        match p {
        Progress::Extracting { done, total } => {
            if tty {
                eprint!("\rextracting features: {done}/{total}");
                if done == total {
                    eprintln!();
                }
                let _ = std::io::stderr().flush();
            } else if done == total {
                eprintln!("extracted features of {total} records");
            }
        }
        Progress::Fold {
            fold,
            folds,
            metrics,
        } => eprintln!(
            "fold {fold}/{folds}: accuracy {:.3}  macro-F1 {:.3}  ROC-AUC {:.3}  (n={})  three-class macro-F1 {:.3}",
            metrics.binary.accuracy,
            metrics.binary.macro_f1,
            metrics.binary.roc_auc,
            metrics.binary.n,
            metrics.macro_f1_3
        ),
        Progress::FinalFit => {
            let alongside = if args.folds >= 2 {
                ", alongside the folds"
            } else {
                ""
            };
            eprintln!("fitting the final model on all records{alongside}")
        }
    }
    })?;
    let cv = &classifier.card().cross_validation;
    if cv.folds > 1 {
        println!(
            "{}-fold cross-validation: accuracy {:.3} ± {:.3}, macro-F1 {:.3} ± {:.3}, ROC-AUC {:.3} ± {:.3}",
            cv.folds, cv.accuracy.mean, cv.accuracy.sd, cv.macro_f1.mean, cv.macro_f1.sd, cv.roc_auc.mean, cv.roc_auc.sd
        );
        println!(
            "three-class macro-F1 {:.3} ± {:.3}; stance threshold {:.2} (out-of-fold three-class macro-F1 {:.3}, weighted as in training)",
            cv.macro_f1_3.mean, cv.macro_f1_3.sd, cv.stance_threshold, cv.weighted_macro_f1_3
        );
    }
    let mut evaluation = Vec::new();
    for path in &args.eval {
        let recs = read_all_with(std::slice::from_ref(path), &columns)
            .with_context(|| format!("reading {}", path.display()))?;
        let e = evaluate(&classifier, &recs);
        let m = e.binary;
        let f1_3 = e.macro_f1_3.map_or(String::new(), |f| {
            format!(", three-class macro-F1 {f:.3} (n {})", e.n_3)
        });
        println!(
            "held-out {}: n {} accuracy {:.3} macro-F1 {:.3} ROC-AUC {:.3}{f1_3}",
            path.display(),
            m.n,
            m.accuracy,
            m.macro_f1,
            m.roc_auc
        );
        evaluation.push(FileMetrics {
            path: path.display().to_string(),
            sha256: file_sha256(path)?,
            n: m.n,
            accuracy: m.accuracy,
            macro_f1: m.macro_f1,
            roc_auc: m.roc_auc,
            n_3: e.n_3,
            macro_f1_3: e.macro_f1_3,
        });
    }
    let classifier = classifier.with_evaluation(evaluation);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let model_path = args.out.join("model.json");
    write_atomically(&model_path, |w| Ok(w.write_all(&classifier.to_bytes())?))?;
    write_atomically(&args.out.join("CARD.md"), |w| {
        Ok(w.write_all(classifier.card_markdown().as_bytes())?)
    })?;
    println!(
        "wrote {} (model {}) and CARD.md in {:.1}s",
        model_path.display(),
        classifier.id(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
