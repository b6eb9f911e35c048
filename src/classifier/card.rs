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
    /// Records used for the classifier (conciliatory + confrontational).
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

pub(super) fn card_markdown(card: &ModelCard, params: &TrainParams, band: f64, id: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!("# stance model `{id}`\n\n"));
    s.push_str(&format!(
        "- Trained: {}\n- Format version: {FORMAT_VERSION}\n",
        card.created
    ));
    s.push_str(&format!("- Rebuild: `{}`\n", card.command));
    s.push_str(&format!(
        "- Records used (conciliatory + confrontational): {}; vocabulary: {} sparse features + {} lexicon features\n",
        card.records_used, card.vocabulary, N_DENSE
    ));
    s.push_str(&format!(
        "- Parameters: L2 {}, balanced classes {}, equal weight per training file {}, min_df {}, dense scale {}, neutral band |score| < {:.2}\n\n",
        params.model.l2, params.model.balanced, params.equal_file_weight, params.vectoriser.min_df, params.vectoriser.dense_scale, band
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
        "\n## {}-fold cross-validation (training records)\n\n| metric | mean | sd |\n|---|---|---|\n| accuracy | {:.3} | {:.3} |\n| macro-F1 | {:.3} | {:.3} |\n| ROC-AUC | {:.3} | {:.3} |\n",
        cv.folds, cv.accuracy.mean, cv.accuracy.sd, cv.macro_f1.mean, cv.macro_f1.sd, cv.roc_auc.mean, cv.roc_auc.sd
    ));
    if !card.evaluation.is_empty() {
        s.push_str("\n## Held-out evaluation files (never trained on)\n\n| file | SHA-256 | n | accuracy | macro-F1 | ROC-AUC |\n|---|---|---|---|---|---|\n");
        for e in &card.evaluation {
            s.push_str(&format!(
                "| {} | `{}` | {} | {:.3} | {:.3} | {:.3} |\n",
                e.path,
                &e.sha256[..16.min(e.sha256.len())],
                e.n,
                e.accuracy,
                e.macro_f1,
                e.roc_auc
            ));
        }
    }
    s
}
