//! Training: features extracted once for every labelled record, then cross-validation folds
//! (each fitting its own vocabulary and IDF) and the final fit running side by side, the
//! neutral band chosen on the out-of-fold scores, and the card filled in. Also evaluation of a
//! finished classifier on labelled records.

use std::sync::mpsc;
use std::sync::Arc;

use linfa::dataset::DatasetBase;
use linfa::traits::Fit;
use ndarray::Array1;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::card::{CvReport, MeanSd, ModelCard};
use super::format::{builtin_data_sha256, Analyser, ModelFile, FORMAT_NAME, FORMAT_VERSION};
use super::{worker_threads, Classifier};
use crate::actors::{ActorRef, Gazetteer};
use crate::article::{Article, Label};
use crate::error::{Error, Result};
use crate::features::lexicon::Lexicon;
use crate::features::{
    DocFeatures, Extracted, Extractor, InternedDocs, Names, SubsetVectoriser, VectoriserParams,
    N_DENSE,
};
use crate::model::{BinaryMetrics, LogisticParams, LogisticRegression, SparseRecords};
use crate::rng::FoldLcg;

/// Training parameters: vectoriser, model, neutral band and cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    /// Vectoriser parameters.
    pub vectoriser: VectoriserParams,
    /// Logistic regression parameters.
    pub model: LogisticParams,
    /// Folds of cross-validation before the final fit (default 5; 0 or 1 skips it).
    pub folds: usize,
    /// Seed of the fold assignment (default 17).
    pub seed: u64,
    /// Give every training file the same total weight, however many records it has
    /// (default true), so one large out-of-domain file cannot drown the others.
    pub equal_file_weight: bool,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            vectoriser: VectoriserParams::default(),
            model: LogisticParams::default(),
            folds: 5,
            seed: 17,
            equal_file_weight: true,
        }
    }
}

/// Labelled records prepared for training: features extracted once, reused by every fold.
struct TrainingSet {
    docs: InternedDocs,
    /// Per record, its effective number of sentences.
    n_eff: Vec<f64>,
    labels: Vec<Label>,
    sources: Vec<usize>,
    names: Names,
}

fn prepare(
    records: &[Article],
    sources: &[usize],
    lexicon: &Arc<Lexicon>,
    progress: &mut dyn FnMut(usize, usize),
) -> TrainingSet {
    // Contiguous halves (or more) on separate threads, concatenated in order.
    let workers = worker_threads().min(records.len().max(1));
    let chunk = records.len().div_ceil(workers).max(1);
    let parts: Vec<(Vec<DocFeatures>, Names)> = std::thread::scope(|scope| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|part| scope.spawn(move || extract_all(part, lexicon)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("extraction worker"))
            .collect()
    });
    let mut docs = Vec::with_capacity(records.len());
    let mut names = Names::default();
    for (d, n) in parts {
        docs.extend(d);
        names.extend(n);
    }
    let labels = records
        .iter()
        .map(|r| r.label.unwrap_or(Label::Neutral))
        .collect();
    progress(records.len(), records.len());
    let n_eff = docs.iter().map(DocFeatures::effective_sentences).collect();
    let interned = InternedDocs::new(&docs, worker_threads());
    TrainingSet {
        n_eff,
        docs: interned,
        labels,
        sources: sources.to_vec(),
        names,
    }
}

/// Fits a vectoriser and a model on the records `subset`; the vectoriser's columns are
/// named only with `named` (the final model; folds are never shown).
fn fit_subset(
    params: &TrainParams,
    prepared: &TrainingSet,
    subset: &[usize],
    named: bool,
) -> Result<(SubsetVectoriser, LogisticRegression)> {
    let names = named.then_some(&prepared.names);
    let vectoriser = prepared
        .docs
        .fit(params.vectoriser.clone(), subset, names)?;
    let rows = vectoriser.records(&prepared.docs, subset);
    let records = SparseRecords::from_csr(rows.shape, rows.indptr, rows.indices, rows.values)?;
    let targets = Array1::from(
        subset
            .iter()
            .map(|&i| prepared.labels[i])
            .collect::<Vec<_>>(),
    );
    let data = DatasetBase::new(records, targets)
        .with_weights(Array1::from(record_weights(params, prepared, subset)));
    let model = params.model.fit(&data)?;
    Ok((vectoriser, model))
}

/// Per record of `subset`: 1, or with [`TrainParams::equal_file_weight`] the weight that gives
/// every training file the same total.
fn record_weights(params: &TrainParams, prepared: &TrainingSet, subset: &[usize]) -> Vec<f32> {
    if !params.equal_file_weight {
        return vec![1.0; subset.len()];
    }
    let mut per_source: FxHashMap<usize, usize> = FxHashMap::default();
    for &i in subset {
        *per_source.entry(prepared.sources[i]).or_insert(0) += 1;
    }
    let share = subset.len() as f32 / per_source.len() as f32;
    subset
        .iter()
        .map(|&i| share / per_source[&prepared.sources[i]] as f32)
        .collect()
}

fn predict(v: &SubsetVectoriser, m: &LogisticRegression, docs: &InternedDocs, doc: usize) -> f64 {
    let row = v.row(docs, doc);
    m.probability(&row.indices, &row.values)
}

/// Extracts training features of records, with the names of their features.
fn extract_all(records: &[Article], lexicon: &Arc<Lexicon>) -> (Vec<DocFeatures>, Names) {
    let g = Gazetteer::builtin();
    let mut ex = Extractor::new(lexicon.clone());
    let mut out = Extracted::default();
    let mut names = Names::default();
    let mut cache: FxHashMap<String, ActorRef> = FxHashMap::default();
    let mut resolve = |n: Option<&String>| {
        n.map(|n| {
            cache
                .entry(n.clone())
                .or_insert_with(|| g.resolve(n))
                .clone()
        })
    };
    let mut docs = Vec::with_capacity(records.len());
    for r in records {
        let cp = resolve(r.counterpart.as_ref());
        let act = resolve(r.actor.as_ref());
        ex.extract(
            &r.text,
            cp.as_ref(),
            act.as_ref(),
            Some(&mut names),
            &mut out,
        );
        docs.push(DocFeatures::from_extracted(&out));
    }
    (docs, names)
}

/// Deterministic stratified fold assignment.
fn folds(labels: &[Label], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = FoldLcg::new(seed);
    let mut fold = vec![0; labels.len()];
    for class in [Label::Conciliatory, Label::Confrontational, Label::Neutral] {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        for i in (1..idx.len()).rev() {
            idx.swap(i, rng.below(i + 1));
        }
        for (j, &i) in idx.iter().enumerate() {
            fold[i] = j % k;
        }
    }
    fold
}

/// A finished fold: its number, its out-of-fold probabilities by record, and its metrics.
type FoldResult = (usize, Vec<(usize, f64)>, BinaryMetrics);

/// What a training worker finished: the final fit, or fold `f`'s out-of-fold probabilities.
enum Task {
    Final(Result<(SubsetVectoriser, LogisticRegression)>),
    Fold(usize, Result<Vec<(usize, f64)>>),
}

/// What [`train`] reports as it goes.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Features extracted from `done` of `total` records.
    Extracting {
        /// Records done.
        done: usize,
        /// Records in all.
        total: usize,
    },
    /// A cross-validation fold finished.
    Fold {
        /// Fold number, from 1.
        fold: usize,
        /// Folds in all.
        folds: usize,
        /// Its metrics.
        metrics: BinaryMetrics,
    },
    /// The final model is being fitted on all records (alongside the folds).
    FinalFit,
}

/// Trains a classifier on labelled records: extracts features, cross-validates (each fold
/// fits its own vocabulary and IDF), picks the neutral band from the out-of-fold scores,
/// fits the final model on everything, and fills the card.
///
/// `sources[i]` names the file record `i` came from (any number per file), for
/// [`TrainParams::equal_file_weight`].
///
/// # Errors
/// [`Error::Training`] with too few records or a single class; parameter errors.
pub fn train(
    records: &[Article],
    sources: &[usize],
    params: TrainParams,
    mut card: ModelCard,
    progress: &mut dyn FnMut(Progress),
) -> Result<Classifier> {
    let params = TrainParams {
        vectoriser: params.vectoriser.check()?,
        model: params.model.check()?,
        ..params
    };
    if sources.len() != records.len() {
        return Err(Error::InvalidParams(format!(
            "{} sources for {} records",
            sources.len(),
            records.len()
        )));
    }
    let labelled: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].label.is_some())
        .collect();
    if labelled.len() < 10 {
        return Err(Error::Training(format!(
            "need at least 10 labelled records, got {}",
            labelled.len()
        )));
    }
    let lexicon = Arc::new(Lexicon::builtin()?);
    let prepared = prepare(records, sources, &lexicon, &mut |done, total| {
        progress(Progress::Extracting { done, total })
    });
    let all: Vec<usize> = labelled.clone();
    let labels: Vec<Label> = all.iter().map(|&i| prepared.labels[i]).collect();
    // The folds and the final fit are independent: all run at once, a few at a time, the
    // final fit first (the largest). Each result is gathered by its number, so the outcome does
    // not depend on scheduling; folds are reported as they finish.
    let n_folds = if params.folds >= 2 { params.folds } else { 0 };
    let fold_of = if n_folds > 0 {
        folds(&labels, n_folds, params.seed)
    } else {
        Vec::new()
    };
    let run_fold = |f: usize| -> Result<Vec<(usize, f64)>> {
        let train_idx: Vec<usize> = (0..all.len())
            .filter(|&j| fold_of[j] != f)
            .map(|j| all[j])
            .collect();
        let (v, m) = fit_subset(&params, &prepared, &train_idx, false)?;
        Ok((0..all.len())
            .filter(|&j| fold_of[j] == f)
            .map(|j| (j, predict(&v, &m, &prepared.docs, all[j])))
            .collect())
    };
    let fold_metrics = |preds: &[(usize, f64)]| {
        let (p, t): (Vec<f64>, Vec<bool>) = preds
            .iter()
            .filter(|&&(j, _)| labels[j] != Label::Neutral)
            .map(|&(j, prob)| (prob, labels[j] == Label::Conciliatory))
            .unzip();
        BinaryMetrics::compute(&p, &t)
    };
    progress(Progress::FinalFit);
    // Alone, the final fit computes its gradient on every core; beside the folds, on one.
    let mut final_params = params.clone();
    final_params.model.threads = if n_folds == 0 { worker_threads() } else { 1 };
    let mut final_fit = None;
    let mut results: Vec<FoldResult> = Vec::new();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        // Task 0 is the final fit, task f + 1 fold f.
        let tasks = n_folds + 1;
        for _ in 0..worker_threads().min(tasks) {
            let tx = tx.clone();
            let (next, run_fold, final_params, prepared, all) =
                (&next, &run_fold, &final_params, &prepared, &all);
            scope.spawn(move || loop {
                let t = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let done = match t {
                    0 => Task::Final(fit_subset(final_params, prepared, all, true)),
                    t if t < tasks => Task::Fold(t - 1, run_fold(t - 1)),
                    _ => return,
                };
                if tx.send(done).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for done in rx {
            match done {
                Task::Final(fitted) => final_fit = Some(fitted?),
                Task::Fold(f, preds) => {
                    let preds = preds?;
                    let metrics = fold_metrics(&preds);
                    progress(Progress::Fold {
                        fold: f + 1,
                        folds: n_folds,
                        metrics,
                    });
                    results.push((f, preds, metrics));
                }
            }
        }
        Ok::<_, Error>(())
    })?;
    let mut neutral_band = 0.0;
    if n_folds >= 2 {
        results.sort_by_key(|r| r.0);
        let mut acc = Vec::new();
        let mut f1 = Vec::new();
        let mut auc = Vec::new();
        let mut oof = vec![0.5; all.len()];
        for (_, preds, metrics) in results {
            for (j, prob) in preds {
                oof[j] = prob;
            }
            acc.push(metrics.accuracy);
            f1.push(metrics.macro_f1);
            auc.push(metrics.roc_auc);
        }
        card.cross_validation = CvReport {
            folds: n_folds,
            accuracy: MeanSd::of(&acc),
            macro_f1: MeanSd::of(&f1),
            roc_auc: MeanSd::of(&auc),
        };
        let n_eff: Vec<f64> = all.iter().map(|&i| prepared.n_eff[i]).collect();
        neutral_band = choose_neutral_band(&oof, &labels, &n_eff);
    }
    let (fitted, model) = final_fit.expect("the final fit ran");
    let vectoriser = fitted.vectoriser;
    card.records_used = labels.iter().filter(|&&l| l != Label::Neutral).count();
    card.vocabulary = vectoriser.n_features() - N_DENSE;
    let file = ModelFile {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        analyser: Analyser::English {
            context_window: crate::features::CONTEXT_WINDOW,
            data_sha256: builtin_data_sha256(),
        },
        params,
        neutral_band,
        vectoriser,
        model,
        card,
    };
    Ok(Classifier::from_file(file, lexicon))
}

/// The |score| band labelled neutral that maximises three-class macro-F1 of out-of-fold
/// scores, narrowed per record as in scoring by the square root of its effective number of
/// sentences; 0 when the training data has no neutral records.
fn choose_neutral_band(p: &[f64], labels: &[Label], n_eff: &[f64]) -> f64 {
    if !labels.contains(&Label::Neutral) {
        return 0.0;
    }
    let mut best = (f64::MIN, 0.0);
    for step in 0..=30 {
        let band = step as f64 * 0.02;
        let mut counts = [[0f64; 3]; 3];
        for ((&pi, &l), &n) in p.iter().zip(labels).zip(n_eff) {
            let s = 2.0 * pi - 1.0;
            let pred = if s.abs() < band / n.max(1.0).sqrt() {
                1
            } else if s > 0.0 {
                0
            } else {
                2
            };
            let truth = match l {
                Label::Conciliatory => 0,
                Label::Neutral => 1,
                Label::Confrontational => 2,
            };
            counts[truth][pred] += 1.0;
        }
        let f1: f64 = (0..3)
            .map(|c| {
                let tp = counts[c][c];
                let fp: f64 = (0..3).map(|t| counts[t][c]).sum::<f64>() - tp;
                let fn_: f64 = counts[c].iter().sum::<f64>() - tp;
                if tp == 0.0 {
                    0.0
                } else {
                    2.0 * tp / (2.0 * tp + fp + fn_)
                }
            })
            .sum::<f64>()
            / 3.0;
        if f1 > best.0 + 1e-12 {
            best = (f1, band);
        }
    }
    best.1
}

/// Evaluates a classifier on labelled records (neutral rows are skipped).
pub fn evaluate(classifier: &Classifier, records: &[Article]) -> BinaryMetrics {
    let mut scorer = classifier.scorer();
    let mut p = Vec::new();
    let mut t = Vec::new();
    for r in records {
        match r.label {
            Some(Label::Conciliatory) | Some(Label::Confrontational) => {
                p.push(scorer.score(r, None, None).p_conciliatory);
                t.push(r.label == Some(Label::Conciliatory));
            }
            _ => {}
        }
    }
    BinaryMetrics::compute(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_deterministic() {
        let labels: Vec<Label> = (0..50)
            .map(|i| {
                if i % 5 == 0 {
                    Label::Neutral
                } else if i % 2 == 0 {
                    Label::Conciliatory
                } else {
                    Label::Confrontational
                }
            })
            .collect();
        let a = folds(&labels, 5, 17);
        assert_eq!(a, folds(&labels, 5, 17));
        for f in 0..5 {
            let n = a.iter().filter(|&&x| x == f).count();
            assert_eq!(n, 10, "fold {f}");
        }
    }
}
