//! Binary evaluation metrics (accuracy, macro-F1, ROC-AUC, confusion counts). The confusion
//! counts are tallied here at threshold 0.5; ROC-AUC comes from linfa's ROC curve.

use linfa::dataset::Pr;
use linfa::prelude::BinaryClassification;
use serde::Serialize;

/// Confusion counts with the positive class first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConfusionCounts {
    /// Positive predicted positive.
    pub tp: usize,
    /// Negative predicted positive.
    pub fp: usize,
    /// Positive predicted negative.
    pub fn_: usize,
    /// Negative predicted negative.
    pub tn: usize,
}

/// Metrics of binary predictions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BinaryMetrics {
    /// Rows evaluated.
    pub n: usize,
    /// Share predicted correctly at threshold 0.5.
    pub accuracy: f64,
    /// Mean of the two classes' F1.
    pub macro_f1: f64,
    /// Area under the ROC curve (NaN when one class is absent).
    pub roc_auc: f64,
    /// Confusion counts at threshold 0.5.
    pub confusion: ConfusionCounts,
}

fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    let d = 2 * tp + fp + fn_;
    if d == 0 {
        0.0
    } else {
        2.0 * tp as f64 / d as f64
    }
}

impl BinaryMetrics {
    /// Computes metrics from probabilities of the positive class and the truth.
    pub fn compute(probabilities: &[f64], truth: &[bool]) -> BinaryMetrics {
        assert_eq!(
            probabilities.len(),
            truth.len(),
            "one probability per truth"
        );
        let mut c = ConfusionCounts::default();
        for (&p, &t) in probabilities.iter().zip(truth) {
            match (p >= 0.5, t) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => c.tn += 1,
            }
        }
        let n = truth.len();
        let accuracy = if n == 0 {
            f64::NAN
        } else {
            (c.tp + c.tn) as f64 / n as f64
        };
        let macro_f1 = (f1(c.tp, c.fp, c.fn_) + f1(c.tn, c.fn_, c.fp)) / 2.0;
        let has_both = truth.iter().any(|&t| t) && truth.iter().any(|&t| !t);
        let roc_auc = if has_both {
            auc(probabilities, truth)
        } else {
            f64::NAN
        };
        BinaryMetrics {
            n,
            accuracy,
            macro_f1,
            roc_auc,
            confusion: c,
        }
    }
}

/// ROC-AUC through linfa's ROC curve; ties among scores are broken by the curve's order.
fn auc(probabilities: &[f64], truth: &[bool]) -> f64 {
    let pr: Vec<Pr> = probabilities
        .iter()
        .map(|&p| Pr::try_from(p.clamp(0.0, 1.0) as f32).unwrap_or(Pr::even()))
        .collect();
    match pr.as_slice().roc(truth) {
        Ok(roc) => roc.area_under_curve() as f64,
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        let p = [0.9, 0.8, 0.3, 0.6, 0.1, 0.2];
        let t = [true, true, true, false, false, false];
        let m = BinaryMetrics::compute(&p, &t);
        assert_eq!(
            m.confusion,
            ConfusionCounts {
                tp: 2,
                fp: 1,
                fn_: 1,
                tn: 2
            }
        );
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((m.macro_f1 - 2.0 / 3.0).abs() < 1e-12);
        // 9 positive-negative pairs, 8 ordered correctly.
        assert!((m.roc_auc - 8.0 / 9.0).abs() < 1e-6, "{}", m.roc_auc);
    }
}
