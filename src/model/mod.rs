//! Sparse L2-regularised logistic regression on linfa's traits, trained by a diagonally
//! preconditioned L-BFGS (`lbfgs.rs`) over CSR rows (`sprs`), plus evaluation metrics. Knows
//! nothing about text: it sees rows of numbers and labels.
//!
//! Which class is positive is stored in the model (`positive`), never inferred from class
//! frequencies, so the sign of the score cannot flip with the balance of the training data.

mod lbfgs;
mod metrics;

pub use metrics::{BinaryMetrics, ConfusionCounts};

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
    /// Builds CSR records with `ncols` columns from rows given as `(indices, values)`.
    ///
    /// # Errors
    /// [`Error::SparseRows`] when an index is out of range or indices are not increasing.
    pub fn from_rows<'a>(
        rows: impl IntoIterator<Item = (&'a [u32], &'a [f32])>,
        ncols: usize,
    ) -> Result<Self> {
        let mut indptr = vec![0usize];
        let mut indices = Vec::new();
        let mut data = Vec::new();
        for (i, v) in rows {
            indices.extend_from_slice(i);
            data.extend_from_slice(v);
            indptr.push(indices.len());
        }
        Self::from_csr((indptr.len() - 1, ncols), indptr, indices, data)
    }

    /// Builds CSR records from their parts: row pointers, column indices, values.
    ///
    /// # Errors
    /// [`Error::SparseRows`] when the parts are inconsistent or indices out of order.
    pub fn from_csr(
        shape: (usize, usize),
        indptr: Vec<usize>,
        indices: Vec<u32>,
        data: Vec<f32>,
    ) -> Result<Self> {
        let indices = indices.into_iter().map(|i| i as usize).collect();
        let matrix =
            CsMat::try_new(shape, indptr, indices, data).map_err(|e| Error::SparseRows(e.3))?;
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
    /// Most L-BFGS iterations (default 50: with the diagonal preconditioner, 50 iterations
    /// reach a lower training loss than 100 without it, and evaluation macro-F1 stays that of
    /// 100 iterations within noise; BENCHMARKS.md, Training).
    pub max_iter: u64,
    /// Stop when the gradient norm falls below this (default 1e-6).
    pub tol: f64,
    /// Weigh classes inversely to their frequency (default true).
    pub balanced: bool,
    /// Threads computing the gradient (default 1). The result does not depend on it: every
    /// logit and every gradient entry is one sum in a fixed order.
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
            max_iter: 50,
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

    /// Sets the iteration limit (default 50).
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
    /// The class whose probability [`LogisticRegression::probability`] returns; `None` for a
    /// model fitted on true/false targets, whose probability is that of true.
    pub positive: Option<Label>,
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

/// A compressed sparse matrix with 32-bit inner indices: by row (CSR) or by column (CSC),
/// whichever `from` was given. Half the index traffic of `sprs`' `usize` indices.
struct Compressed {
    ptr: Vec<usize>,
    inner: Vec<u32>,
    values: Vec<f32>,
}

impl Compressed {
    /// The rows `keep` of a CSR matrix, in that order.
    fn rows_of(m: &CsMat<f32>, keep: &[usize]) -> Compressed {
        let ptr = m.indptr();
        let ptr = ptr.raw_storage();
        let mut out = Compressed {
            ptr: Vec::with_capacity(keep.len() + 1),
            inner: Vec::new(),
            values: Vec::new(),
        };
        out.ptr.push(0);
        for &r in keep {
            let (a, b) = (ptr[r], ptr[r + 1]);
            out.inner
                .extend(m.indices()[a..b].iter().map(|&i| i as u32));
            out.values.extend_from_slice(&m.data()[a..b]);
            out.ptr.push(out.inner.len());
        }
        out
    }

    /// The same matrix compressed the other way, with `n_inner` inner indices (a counting
    /// sort: inner indices come out increasing).
    fn transpose(&self, n_inner: usize) -> Compressed {
        let mut ptr = vec![0usize; n_inner + 1];
        for &i in &self.inner {
            ptr[i as usize + 1] += 1;
        }
        for k in 0..n_inner {
            ptr[k + 1] += ptr[k];
        }
        let mut next = ptr.clone();
        let mut inner = vec![0u32; self.inner.len()];
        let mut values = vec![0f32; self.values.len()];
        for o in 0..self.ptr.len() - 1 {
            let (is, vs) = self.outer(o);
            for (&i, &v) in is.iter().zip(vs) {
                let at = &mut next[i as usize];
                inner[*at] = o as u32;
                values[*at] = v;
                *at += 1;
            }
        }
        Compressed { ptr, inner, values }
    }

    /// The inner indices and values of outer index `o` (a row of CSR, a column of CSC).
    #[inline]
    fn outer(&self, o: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.ptr[o], self.ptr[o + 1]);
        (&self.inner[a..b], &self.values[a..b])
    }
}

struct Problem {
    /// The design matrix by row, for the logits.
    x: Compressed,
    /// The same matrix by column, for the gradient.
    xt: Compressed,
    y: Vec<f64>,
    w: Vec<f64>,
    /// Sum of `w`.
    wsum: f64,
    l2: f64,
    threads: usize,
    /// Per row: its weighted loss, then its residual (reused between evaluations).
    loss: Vec<f64>,
    residual: Vec<f64>,
}

/// Correction pairs L-BFGS keeps. Each costs two passes over the weights per iteration, but
/// fewer made the fits hardly faster and the model a little worse (BENCHMARKS.md, Training).
const LBFGS_MEMORY: usize = 10;

/// `start + Σ dense[index[k]] · values[k]`, summed in a fixed order: the entries past the last
/// multiple of four first, then four independent partial sums (which keep the pipeline full).
#[inline]
fn sparse_dot(start: f64, index: &[u32], values: &[f32], dense: &[f64]) -> f64 {
    let (ci, cv) = (index.chunks_exact(4), values.chunks_exact(4));
    let mut sum = start;
    for (&i, &v) in ci.remainder().iter().zip(cv.remainder()) {
        sum += dense[i as usize] * v as f64;
    }
    let mut lanes = [0.0; 4];
    for (i, v) in ci.zip(cv) {
        for k in 0..4 {
            lanes[k] += dense[i[k] as usize] * v[k] as f64;
        }
    }
    sum + ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
}

/// Runs `job` over `items` split into `threads` contiguous parts, one thread each.
fn split_work<T: Send>(items: &mut [T], threads: usize, job: impl Fn(usize, &mut [T]) + Sync) {
    if threads <= 1 || items.len() < 2 {
        job(0, items);
        return;
    }
    let per = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (k, part) in items.chunks_mut(per).enumerate() {
            let job = &job;
            scope.spawn(move || job(k * per, part));
        }
    });
}

impl lbfgs::Objective for Problem {
    /// Mean weighted log-loss plus penalty, and its gradient. The last entry of `p` is the
    /// intercept. Every row's logit and every column's gradient is one sum in a fixed order,
    /// so the result is the same whatever the number of threads.
    fn eval(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        let nf = p.len() - 1;
        let b = p[nf];
        let (x, y, w) = (&self.x, &self.y, &self.w);
        let mut rows: Vec<(&mut f64, &mut f64)> =
            self.loss.iter_mut().zip(self.residual.iter_mut()).collect();
        split_work(&mut rows, self.threads, |first, part| {
            for (k, (loss, residual)) in part.iter_mut().enumerate() {
                let r = first + k;
                let (cols, vals) = x.outer(r);
                let z = sparse_dot(b, cols, vals, p);
                let yz = y[r] * z;
                // log(1 + exp(-yz)), stably
                **loss = w[r]
                    * if yz > 0.0 {
                        (-yz).exp().ln_1p()
                    } else {
                        -yz + yz.exp().ln_1p()
                    };
                **residual = -y[r] * sigmoid(-yz) * w[r];
            }
        });
        let residual = &self.residual;
        let xt = &self.xt;
        let (scale, l2) = (1.0 / self.wsum, self.l2);
        split_work(&mut grad[..nf], self.threads, |first, part| {
            for (k, g) in part.iter_mut().enumerate() {
                let c = first + k;
                let (rs, vals) = xt.outer(c);
                let sum = sparse_dot(0.0, rs, vals, residual);
                *g = sum * scale + l2 * p[c];
            }
        });
        grad[nf] = residual.iter().sum::<f64>() * scale;
        let pen = lbfgs::dot(&p[..nf], &p[..nf]);
        self.loss.iter().sum::<f64>() * scale + 0.5 * l2 * pen
    }
}

impl Fit<SparseRecords, Array1<Label>, Error> for LogisticParams {
    type Object = LogisticRegression;

    /// Fits on rows labelled with the positive class or the other non-neutral class;
    /// neutral rows are ignored. Deterministic: same rows, same model.
    fn fit(&self, data: &DatasetBase<SparseRecords, Array1<Label>>) -> Result<LogisticRegression> {
        let params = self.clone().check()?;
        let keep: Vec<usize> = (0..data.targets.len())
            .filter(|&r| data.targets[r] != Label::Neutral)
            .collect();
        let y: Vec<bool> = keep
            .iter()
            .map(|&r| data.targets[r] == params.positive)
            .collect();
        let mut model = fit_rows(&params, data, &keep, y, "conciliatory and confrontational")?;
        model.positive = Some(params.positive);
        Ok(model)
    }
}

impl Fit<SparseRecords, Array1<bool>, Error> for LogisticParams {
    type Object = LogisticRegression;

    /// Fits on every row: true is the class whose probability the model predicts (its
    /// `positive` is `None`; [`LogisticParams::positive`] is not used). Deterministic.
    fn fit(&self, data: &DatasetBase<SparseRecords, Array1<bool>>) -> Result<LogisticRegression> {
        let params = self.clone().check()?;
        let keep: Vec<usize> = (0..data.targets.len()).collect();
        fit_rows(
            &params,
            data,
            &keep,
            data.targets.to_vec(),
            "true and false",
        )
    }
}

/// Fits on the rows `keep` of `data` with targets `y` (true: the positive class). `both` names
/// the two classes for the error when one has no row.
fn fit_rows<T>(
    params: &LogisticParams,
    data: &DatasetBase<SparseRecords, Array1<T>>,
    keep: &[usize],
    y: Vec<bool>,
    both: &str,
) -> Result<LogisticRegression> {
    let x_all = &data.records.matrix;
    let npos = y.iter().filter(|&&v| v).count();
    let nneg = y.len() - npos;
    if npos == 0 || nneg == 0 {
        return Err(Error::Training(format!(
            "need both {both} records, got {npos} of the positive class and {nneg} of the other"
        )));
    }
    let y: Vec<f64> = y.into_iter().map(|v| if v { 1.0 } else { -1.0 }).collect();
    let x = Compressed::rows_of(x_all, keep);
    let n = y.len() as f64;
    // Class balance times the dataset's own sample weight (1 when it has none).
    let w: Vec<f64> = y
        .iter()
        .zip(keep)
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
    let ncols = x_all.cols() + 1;
    let wsum = w.iter().sum();
    let rows = keep.len();
    let mut problem = Problem {
        xt: x.transpose(ncols - 1),
        x,
        y,
        w,
        wsum,
        l2: params.l2,
        threads: params.threads,
        loss: vec![0.0; rows],
        residual: vec![0.0; rows],
    };
    // Inverse curvature of each weight at the start (sigmoid' = 1/4), as L-BFGS's initial
    // inverse Hessian: rare features, with little curvature, get proportionally larger steps.
    let mut curvature = vec![0.0; ncols];
    for (c, h) in curvature[..ncols - 1].iter_mut().enumerate() {
        let (rs, vals) = problem.xt.outer(c);
        let s: f64 = rs
            .iter()
            .zip(vals)
            .map(|(&r, &v)| problem.w[r as usize] * (v as f64).powi(2))
            .sum();
        *h = 1.0 / (0.25 * s / problem.wsum + params.l2).max(1e-12);
    }
    curvature[ncols - 1] = 4.0;
    let found = lbfgs::minimise(
        &mut problem,
        vec![0.0; ncols],
        Some(&curvature),
        lbfgs::Settings {
            memory: LBFGS_MEMORY,
            max_iter: params.max_iter,
            tol_grad: params.tol,
            tol_cost: 1e-12,
        },
    );
    if !found.value.is_finite() {
        return Err(Error::Training(format!(
            "L-BFGS reached a non-finite loss ({}) after {} iterations",
            found.value, found.iterations
        )));
    }
    let best = found.x;
    let nf = best.len() - 1;
    Ok(LogisticRegression {
        weights: best[..nf].iter().map(|&v| v as f32).collect(),
        intercept: best[nf],
        positive: None,
        iterations: found.iterations,
    })
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

    /// Records from rows of (column indices, increasing; values).
    fn records(rows: &[(Vec<u32>, Vec<f32>)], ncols: usize) -> SparseRecords {
        SparseRecords::from_rows(rows.iter().map(|(i, v)| (&i[..], &v[..])), ncols).unwrap()
    }

    fn toy(flip_order: bool, extra_negatives: usize) -> (SparseRecords, Array1<Label>) {
        // Column 0 marks conciliatory rows, column 1 confrontational ones.
        let mut rows = vec![];
        let mut labels = vec![];
        for i in 0..(6 + extra_negatives) {
            let conc = i < 3;
            rows.push((
                vec![if conc { 0 } else { 1 }, 2],
                vec![1.0, (i % 3) as f32 * 0.1],
            ));
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
        (records(&rows, 3), Array1::from(labels))
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
    fn the_thread_count_does_not_change_the_model() {
        // Enough rows and columns that every thread gets work.
        let mut rows = vec![];
        let mut labels = vec![];
        for i in 0..300usize {
            let a = (i * 7919) % 97;
            let b = (i * 104_729) % 89 + 97;
            rows.push((
                vec![(a % 5) as u32, a as u32 + 5, b as u32 + 5],
                vec![0.5, 1.0, ((i % 7) as f32 + 1.0) / 7.0],
            ));
            labels.push(if (a + b) % 3 == 0 {
                Label::Conciliatory
            } else {
                Label::Confrontational
            });
        }
        let x = records(&rows, 5 + 97 + 89);
        let d = DatasetBase::new(x, Array1::from(labels));
        let one = LogisticParams::default().fit(&d).unwrap();
        for threads in [2, 3, 8] {
            assert_eq!(
                one,
                LogisticParams::default().threads(threads).fit(&d).unwrap()
            );
        }
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
        let rows = vec![(vec![0], vec![1.0])];
        let x = records(&rows, 1);
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
            rows.push((vec![0, 1], vec![a, b]));
            labels.push(if conc {
                Label::Conciliatory
            } else {
                Label::Confrontational
            });
            dense.extend([a as f64, b as f64]);
            targets.push(conc);
        }
        let x = records(&rows, 2);
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
            let ours_p = ours.probability(&[0, 1], &r.1);
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
