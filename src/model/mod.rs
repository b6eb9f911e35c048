//! Sparse L2-regularised logistic regression on linfa's traits, trained with argmin's L-BFGS
//! over CSR rows (`sprs`), plus evaluation metrics. Knows nothing about text: it sees rows of
//! numbers and labels.
//!
//! Which class is positive is stored in the model (`positive`), never inferred from class
//! frequencies, so the sign of the score cannot flip with the balance of the training data.

mod metrics;

pub use metrics::{BinaryMetrics, ConfusionCounts};

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use linfa::dataset::{DatasetBase, Records};
use linfa::traits::{Fit, PredictInplace};
use ndarray::Array1;
use serde::{Deserialize, Serialize};
use sprs::CsMat;

use crate::article::Label;
use crate::error::{Error, Result};

/// Rows of a sparse design matrix (CSR), as linfa records.
#[derive(Debug, Clone)]
pub struct SparseRecords {
    /// The matrix: one row per document.
    pub matrix: CsMat<f32>,
}

impl SparseRecords {
    /// Builds CSR records from rows of `(indices, values)` with `ncols` columns.
    ///
    /// # Errors
    /// [`Error::InvalidParams`] when an index is out of range or indices are not increasing.
    pub fn from_rows(rows: &[crate::features::Row], ncols: usize) -> Result<Self> {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        let mut indices = Vec::new();
        let mut data = Vec::new();
        indptr.push(0usize);
        for r in rows {
            indices.extend(r.indices.iter().map(|&i| i as usize));
            data.extend_from_slice(&r.values);
            indptr.push(indices.len());
        }
        let matrix = CsMat::try_new((rows.len(), ncols), indptr, indices, data)
            .map_err(|e| Error::InvalidParams(format!("bad sparse rows: {}", e.3)))?;
        Ok(SparseRecords { matrix })
    }
}

impl Records for SparseRecords {
    type Elem = f32;

    fn nsamples(&self) -> usize {
        self.matrix.rows()
    }

    fn nfeatures(&self) -> usize {
        self.matrix.cols()
    }
}

/// Unchecked parameters of the logistic regression; [`LogisticParams::check`] validates them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogisticParams {
    /// L2 penalty on the weights, in units of the mean loss (default 3e-5, the best of
    /// 1e-5/3e-5/1e-4 by leave-one-training-file-out macro-F1; the intercept is not penalised).
    pub l2: f64,
    /// Most L-BFGS iterations (default 100: on the shipped training data the evaluation
    /// metrics were identical at 100, 150 and 300).
    pub max_iter: u64,
    /// Stop when the gradient norm falls below this (default 1e-6).
    pub tol: f64,
    /// Weigh classes inversely to their frequency (default true).
    pub balanced: bool,
    /// Threads computing the gradient (default 1). The result does not depend on it beyond
    /// floating-point summation order, which is fixed for a given value.
    #[serde(default = "one")]
    pub threads: usize,
    /// The label whose probability the model predicts (default conciliatory).
    pub positive: Label,
}

fn one() -> usize {
    1
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            l2: 3e-5,
            max_iter: 100,
            tol: 1e-6,
            balanced: true,
            threads: 1,
            positive: Label::Conciliatory,
        }
    }
}

impl LogisticParams {
    /// Sets the L2 penalty (default 3e-5).
    pub fn l2(mut self, l2: f64) -> Self {
        self.l2 = l2;
        self
    }

    /// Sets the iteration limit (default 100).
    pub fn max_iter(mut self, n: u64) -> Self {
        self.max_iter = n;
        self
    }

    /// Sets the number of gradient threads (default 1).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }

    /// Sets class balancing (default true).
    pub fn balanced(mut self, on: bool) -> Self {
        self.balanced = on;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParams`] for a negative or non-finite penalty or tolerance, zero
    /// iterations, or a neutral positive class.
    pub fn check(self) -> Result<LogisticParams> {
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(Error::InvalidParams(format!(
                "l2 must be >= 0, got {}",
                self.l2
            )));
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(Error::InvalidParams(format!(
                "tol must be > 0, got {}",
                self.tol
            )));
        }
        if self.threads == 0 {
            return Err(Error::InvalidParams("threads must be at least 1".into()));
        }
        if self.max_iter == 0 {
            return Err(Error::InvalidParams("max_iter must be at least 1".into()));
        }
        if self.positive == Label::Neutral {
            return Err(Error::InvalidParams(
                "the positive class cannot be neutral".into(),
            ));
        }
        Ok(self)
    }
}

/// A fitted model: one weight per column, an intercept, and the class it predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogisticRegression {
    /// Weight per column.
    pub weights: Vec<f32>,
    /// Intercept (logit units).
    pub intercept: f64,
    /// The class whose probability [`LogisticRegression::probability`] returns.
    pub positive: Label,
    /// Iterations L-BFGS ran.
    pub iterations: u64,
}

impl LogisticRegression {
    /// The logit of a sparse row.
    #[inline]
    pub fn logit(&self, indices: &[u32], values: &[f32]) -> f64 {
        self.intercept
            + indices
                .iter()
                .zip(values)
                .map(|(&i, &v)| {
                    self.weights.get(i as usize).copied().unwrap_or(0.0) as f64 * v as f64
                })
                .sum::<f64>()
    }

    /// Probability of the positive class for a sparse row.
    pub fn probability(&self, indices: &[u32], values: &[f32]) -> f64 {
        sigmoid(self.logit(indices, values))
    }
}

/// The logistic function, stable for large |z|.
#[inline]
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

struct Problem<'a> {
    x: &'a CsMat<f32>,
    y: Vec<f64>,
    w: Vec<f64>,
    l2: f64,
    threads: usize,
    /// The last point evaluated with its cost and gradient: L-BFGS asks for both separately.
    cache: std::sync::Mutex<Option<Evaluated>>,
}

/// Correction pairs L-BFGS keeps. Each costs two passes over the weights per iteration; with
/// 5 the fits were barely faster and evaluation macro-F1 fell by up to 0.004.
const LBFGS_MEMORY: usize = 10;

/// Row chunks of a gradient evaluation (fixed, so results do not depend on the thread count).
const GRADIENT_CHUNKS: usize = 4;

/// A parameter vector, its cost and its gradient.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

impl Problem<'_> {
    /// Mean weighted log-loss plus penalty, and its gradient. The last entry of `p` is the
    /// intercept.
    fn eval(&self, p: &[f64]) -> (f64, Vec<f64>) {
        if let Some((q, c, g)) = self.cache.lock().expect("cache lock").as_ref() {
            if q.as_slice() == p {
                return (*c, g.clone());
            }
        }
        let nf = p.len() - 1;
        let rows = self.x.rows();
        // Rows split into a fixed number of chunks summed in a fixed order, whether the chunks
        // run on one thread or several: the same model on any machine.
        let chunks = GRADIENT_CHUNKS;
        let bounds: Vec<usize> = (0..=chunks).map(|k| k * rows / chunks).collect();
        let partial: Vec<(f64, Vec<f64>)> = if self.threads == 1 {
            (0..chunks)
                .map(|k| self.eval_rows(p, bounds[k], bounds[k + 1]))
                .collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..chunks)
                    .map(|k| {
                        let (lo, hi) = (bounds[k], bounds[k + 1]);
                        scope.spawn(move || self.eval_rows(p, lo, hi))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("gradient worker"))
                    .collect()
            })
        };
        let mut loss = 0.0;
        let mut grad = vec![0.0; p.len()];
        for (l, g) in partial {
            loss += l;
            for (a, b) in grad.iter_mut().zip(g) {
                *a += b;
            }
        }
        let wsum: f64 = self.w.iter().sum();
        loss /= wsum;
        for g in &mut grad {
            *g /= wsum;
        }
        let mut pen = 0.0;
        for c in 0..nf {
            pen += p[c] * p[c];
            grad[c] += self.l2 * p[c];
        }
        let cost = loss + 0.5 * self.l2 * pen;
        *self.cache.lock().expect("cache lock") = Some((p.to_vec(), cost, grad.clone()));
        (cost, grad)
    }
}

impl Problem<'_> {
    /// Weighted log-loss and its gradient (unnormalised) over rows `lo..hi`.
    fn eval_rows(&self, p: &[f64], lo: usize, hi: usize) -> (f64, Vec<f64>) {
        let nf = p.len() - 1;
        let b = p[nf];
        let mut grad = vec![0.0; p.len()];
        let mut loss = 0.0;
        for r in lo..hi {
            let Some(row) = self.x.outer_view(r) else {
                continue;
            };
            let mut z = b;
            for (c, &v) in row.iter() {
                z += p[c] * v as f64;
            }
            let yz = self.y[r] * z;
            // log(1 + exp(-yz)), stably
            loss += self.w[r]
                * if yz > 0.0 {
                    (-yz).exp().ln_1p()
                } else {
                    -yz + yz.exp().ln_1p()
                };
            let g = -self.y[r] * sigmoid(-yz) * self.w[r];
            for (c, &v) in row.iter() {
                grad[c] += g * v as f64;
            }
            grad[nf] += g;
        }
        (loss, grad)
    }
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(p).0)
    }
}

impl Gradient for Problem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, p: &Self::Param) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        Ok(self.eval(p).1)
    }
}

impl Fit<SparseRecords, Array1<Label>, Error> for LogisticParams {
    type Object = LogisticRegression;

    /// Fits on rows labelled with the positive class or the other non-neutral class;
    /// neutral rows are ignored. Deterministic: same rows, same model.
    fn fit(&self, data: &DatasetBase<SparseRecords, Array1<Label>>) -> Result<LogisticRegression> {
        let params = self.clone().check()?;
        let x_all = &data.records.matrix;
        let keep: Vec<usize> = (0..x_all.rows())
            .filter(|&r| data.targets[r] != Label::Neutral)
            .collect();
        let y: Vec<f64> = keep
            .iter()
            .map(|&r| {
                if data.targets[r] == params.positive {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        let npos = y.iter().filter(|&&v| v > 0.0).count();
        let nneg = y.len() - npos;
        if npos == 0 || nneg == 0 {
            return Err(Error::Training(format!(
                "need both conciliatory and confrontational records, got {npos} of the positive class and {nneg} of the other"
            )));
        }
        let x = if keep.len() == x_all.rows() {
            x_all.clone()
        } else {
            let mut b = sprs::TriMat::new((keep.len(), x_all.cols()));
            for (new, &r) in keep.iter().enumerate() {
                if let Some(row) = x_all.outer_view(r) {
                    for (c, &v) in row.iter() {
                        b.add_triplet(new, c, v);
                    }
                }
            }
            b.to_csr()
        };
        let n = y.len() as f64;
        // Class balance times the dataset's own sample weight (1 when it has none).
        let w: Vec<f64> = y
            .iter()
            .zip(&keep)
            .map(|(&v, &r)| {
                let class = if !params.balanced {
                    1.0
                } else if v > 0.0 {
                    n / (2.0 * npos as f64)
                } else {
                    n / (2.0 * nneg as f64)
                };
                class * data.weight_for(r) as f64
            })
            .collect();
        let problem = Problem {
            x: &x,
            y,
            w,
            l2: params.l2,
            threads: params.threads,
            cache: std::sync::Mutex::new(None),
        };
        let init = vec![0.0; x.cols() + 1];
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), LBFGS_MEMORY)
            .with_tolerance_grad(params.tol)
            .and_then(|s| s.with_tolerance_cost(1e-12))
            .map_err(|e| Error::Training(e.to_string()))?;
        let result = Executor::new(problem, solver)
            .configure(|s| s.param(init).max_iters(params.max_iter))
            .run()
            .map_err(|e| Error::Training(format!("L-BFGS failed: {e}")))?;
        let state = result.state();
        let best = state
            .get_best_param()
            .ok_or_else(|| Error::Training("L-BFGS returned no parameters".into()))?;
        let nf = best.len() - 1;
        Ok(LogisticRegression {
            weights: best[..nf].iter().map(|&v| v as f32).collect(),
            intercept: best[nf],
            positive: params.positive,
            iterations: state.get_iter(),
        })
    }
}

impl PredictInplace<SparseRecords, Array1<f64>> for LogisticRegression {
    /// Writes the probability of the positive class of every row.
    fn predict_inplace(&self, x: &SparseRecords, y: &mut Array1<f64>) {
        assert_eq!(x.nsamples(), y.len(), "one target per row");
        for (r, row) in x.matrix.outer_iterator().enumerate() {
            let z = self.intercept
                + row
                    .iter()
                    .map(|(c, &v)| self.weights.get(c).copied().unwrap_or(0.0) as f64 * v as f64)
                    .sum::<f64>();
            y[r] = sigmoid(z);
        }
    }

    fn default_target(&self, x: &SparseRecords) -> Array1<f64> {
        Array1::zeros(x.nsamples())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Row;

    fn toy(flip_order: bool, extra_negatives: usize) -> (SparseRecords, Array1<Label>) {
        // Column 0 marks conciliatory rows, column 1 confrontational ones.
        let mut rows = vec![];
        let mut labels = vec![];
        for i in 0..(6 + extra_negatives) {
            let conc = i < 3;
            rows.push(Row {
                indices: vec![if conc { 0 } else { 1 }, 2],
                values: vec![1.0, (i % 3) as f32 * 0.1],
            });
            labels.push(if conc {
                Label::Conciliatory
            } else {
                Label::Confrontational
            });
        }
        if flip_order {
            rows.reverse();
            labels.reverse();
        }
        (
            SparseRecords::from_rows(&rows, 3).unwrap(),
            Array1::from(labels),
        )
    }

    #[test]
    fn sign_is_pinned_under_any_class_balance_and_row_order() {
        for flip in [false, true] {
            for extra in [0, 20] {
                let (x, y) = toy(flip, extra);
                let m = LogisticParams::default()
                    .l2(1e-3)
                    .fit(&DatasetBase::new(x, y))
                    .unwrap();
                assert!(
                    m.probability(&[0], &[1.0]) > 0.8,
                    "flip={flip} extra={extra}"
                );
                assert!(
                    m.probability(&[1], &[1.0]) < 0.2,
                    "flip={flip} extra={extra}"
                );
            }
        }
    }

    #[test]
    fn training_is_deterministic() {
        let (x, y) = toy(false, 3);
        let d = DatasetBase::new(x, y);
        let a = LogisticParams::default().fit(&d).unwrap();
        let b = LogisticParams::default().fit(&d).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn predict_matches_probability() {
        let (x, y) = toy(false, 0);
        let d = DatasetBase::new(x.clone(), y);
        let m = LogisticParams::default().fit(&d).unwrap();
        let mut p = m.default_target(&x);
        m.predict_inplace(&x, &mut p);
        assert!((p[0] - m.probability(&[0, 2], &[1.0, 0.0])).abs() < 1e-9);
    }

    #[test]
    fn rejects_a_single_class() {
        let rows = vec![Row {
            indices: vec![0],
            values: vec![1.0],
        }];
        let x = SparseRecords::from_rows(&rows, 1).unwrap();
        let err = LogisticParams::default()
            .fit(&DatasetBase::new(
                x,
                Array1::from(vec![Label::Conciliatory]),
            ))
            .unwrap_err();
        assert!(err.to_string().contains("need both"));
    }

    #[test]
    fn agrees_with_linfa_logistic_on_small_dense_data() {
        use linfa_logistic::LogisticRegression as Dense;
        // A small separable-with-noise problem, unbalanced classes handled without weighting.
        let mut rows = vec![];
        let mut labels = vec![];
        let mut dense = vec![];
        let mut targets = vec![];
        for i in 0..60 {
            let a = ((i * 37) % 17) as f32 / 17.0;
            let b = ((i * 11) % 13) as f32 / 13.0;
            let conc = a - b + 0.1 * (((i * 7) % 5) as f32 - 2.0) > 0.0;
            rows.push(Row {
                indices: vec![0, 1],
                values: vec![a, b],
            });
            labels.push(if conc {
                Label::Conciliatory
            } else {
                Label::Confrontational
            });
            dense.extend([a as f64, b as f64]);
            targets.push(conc);
        }
        let x = SparseRecords::from_rows(&rows, 2).unwrap();
        let ours = LogisticParams::default()
            .l2(0.0)
            .balanced(false)
            .max_iter(500)
            .fit(&DatasetBase::new(x, Array1::from(labels)))
            .unwrap();
        let xd = ndarray::Array2::from_shape_vec((60, 2), dense).unwrap();
        let theirs = Dense::default()
            .alpha(0.0)
            .max_iterations(500)
            .fit(&DatasetBase::new(xd.clone(), Array1::from(targets)))
            .unwrap();
        let pd = theirs.predict_probabilities(&xd);
        // linfa-logistic reports the probability of its own "positive" class; align it by
        // correlation sign rather than trusting its class order.
        let mut agree = 0;
        for (i, r) in rows.iter().enumerate() {
            let ours_p = ours.probability(&[0, 1], &r.values);
            let theirs_p = if theirs.labels().pos.class {
                pd[i]
            } else {
                1.0 - pd[i]
            };
            if (ours_p - theirs_p).abs() < 0.05 {
                agree += 1;
            }
        }
        assert!(agree >= 57, "agreed on {agree} of 60");
    }
}
