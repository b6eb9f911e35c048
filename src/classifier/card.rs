//! The model card: what a model is and how it was made (training files with their hashes,
//! cross-validated and held-out metrics), and its Markdown form.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::format::FORMAT_VERSION;
use super::train::TrainParams;
use crate::error::{Error, Result};
use crate::features::N_DENSE;
use crate::hash::sha256_hex;

/// A training file as the model card records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingFile {
    /// Path as given to `stance train`.
    pub path: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Records read.
    pub records: usize,
    /// Conciliatory, confrontational and neutral records.
    pub by_label: [usize; 3],
}

/// Mean and standard deviation of a metric over folds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanSd {
    /// Mean over folds.
    pub mean: f64,
    /// Sample standard deviation over folds.
    pub sd: f64,
}

impl MeanSd {
    pub(super) fn of(v: &[f64]) -> MeanSd {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = if v.len() > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        MeanSd { mean, sd }
    }
}

/// Cross-validation results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CvReport {
    /// Number of folds.
    pub folds: usize,
    /// Accuracy over folds.
    pub accuracy: MeanSd,
    /// Macro-F1 over folds.
    pub macro_f1: MeanSd,
    /// ROC-AUC over folds.
    pub roc_auc: MeanSd,
    /// Three-class macro-F1 over folds (stance threshold 0.5).
    pub macro_f1_3: MeanSd,
    /// The stance threshold chosen on the out-of-fold predictions.
    pub stance_threshold: f64,
    /// Three-class macro-F1 of the out-of-fold predictions at that threshold, each record
    /// weighted as in training.
    pub weighted_macro_f1_3: f64,
}

/// Metrics of the finished model on one held-out evaluation file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMetrics {
    /// The file.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Conciliatory/confrontational rows evaluated.
    pub n: usize,
    /// Accuracy at threshold 0.5.
    pub accuracy: f64,
    /// Macro-F1 at threshold 0.5.
    pub macro_f1: f64,
    /// ROC-AUC.
    pub roc_auc: f64,
    /// Labelled rows of any class.
    pub n_3: usize,
    /// Three-class macro-F1 over them, when some are neutral.
    pub macro_f1_3: Option<f64>,
}

/// What the model is and how it was made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// When it was trained (UTC, RFC 3339).
    pub created: String,
    /// The command that rebuilds it.
    pub command: String,
    /// Training files.
    pub training_files: Vec<TrainingFile>,
    /// Labelled records used (the polarity model is fitted on the polar ones among them).
    pub records_used: usize,
    /// Cross-validated metrics on the training records.
    pub cross_validation: CvReport,
    /// Metrics on evaluation files never trained on.
    pub evaluation: Vec<FileMetrics>,
    /// Sparse vocabulary size.
    pub vocabulary: usize,
}

/// SHA-256 of a file's bytes, as hex.
///
/// # Errors
/// [`Error::Io`] when unreadable.
pub fn file_sha256(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(sha256_hex(&bytes))
}

pub(super) fn card_markdown(
    card: &ModelCard,
    params: &TrainParams,
    threshold: f64,
    id: &str,
) -> String {
    let mut s = String::new();
    s.push_str(&format!("# stance model `{id}`\n\n"));
    s.push_str(&format!(
        "- Trained: {}\n- Format version: {FORMAT_VERSION}\n",
        card.created
    ));
    s.push_str(&format!("- Rebuild: `{}`\n", card.command));
    s.push_str(&format!(
        "- Records used: {}; vocabulary: {} sparse features + {} lexicon features\n",
        card.records_used, card.vocabulary, N_DENSE
    ));
    s.push_str(&format!(
        "- Two linear models over the same features: polarity (conciliatory against confrontational, fitted on the polar records) and relevance (takes a stance or neutral, fitted on all). An article is neutral when the relevance model's probability is below {threshold:.2} (chosen on the out-of-fold predictions); `unmentioned` when it never names its counterpart.\n"
    ));
    s.push_str(&format!(
        "- Parameters: L2 {}, balanced classes {}, file weight ∝ records^{}, min_df {}, dense scale {}\n\n",
        params.model.l2, params.model.balanced, params.file_weight_power, params.vectoriser.min_df, params.vectoriser.dense_scale
    ));
    s.push_str("## Training files\n\n| file | SHA-256 | records | conciliatory | confrontational | neutral |\n|---|---|---|---|---|---|\n");
    for f in &card.training_files {
        s.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} |\n",
            f.path, f.sha256, f.records, f.by_label[0], f.by_label[1], f.by_label[2]
        ));
    }
    let cv = &card.cross_validation;
    s.push_str(&format!(
        "\n## {}-fold cross-validation (training records)\n\n| metric | mean | sd |\n|---|---|---|\n| accuracy (polar records) | {:.3} | {:.3} |\n| macro-F1 (polar records) | {:.3} | {:.3} |\n| ROC-AUC (polar records) | {:.3} | {:.3} |\n| three-class macro-F1 (threshold 0.5) | {:.3} | {:.3} |\n\nOut of fold, weighted as in training, the threshold {:.2} gives three-class macro-F1 {:.3}.\n",
        cv.folds, cv.accuracy.mean, cv.accuracy.sd, cv.macro_f1.mean, cv.macro_f1.sd, cv.roc_auc.mean, cv.roc_auc.sd, cv.macro_f1_3.mean, cv.macro_f1_3.sd, cv.stance_threshold, cv.weighted_macro_f1_3
    ));
    if !card.evaluation.is_empty() {
        s.push_str("\n## Held-out evaluation files (never trained on)\n\n| file | SHA-256 | n polar | accuracy | macro-F1 | ROC-AUC | n all | three-class macro-F1 |\n|---|---|---|---|---|---|---|---|\n");
        for e in &card.evaluation {
            // The hash is shortened by characters: a card edited by hand may hold anything.
            let short: String = e.sha256.chars().take(16).collect();
            let f1_3 = e.macro_f1_3.map_or("-".to_string(), |f| format!("{f:.3}"));
            s.push_str(&format!(
                "| {} | `{short}` | {} | {:.3} | {:.3} | {:.3} | {} | {f1_3} |\n",
                e.path, e.n, e.accuracy, e.macro_f1, e.roc_auc, e.n_3
            ));
        }
    }
    s
}
