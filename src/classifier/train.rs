//! Training: features extracted once for every labelled record, then cross-validation folds
//! (each fitting its own vocabulary and IDF) and the final fit running side by side, each
//! fitting the two models (polarity on the polar records, relevance on all), the stance
//! threshold chosen on the out-of-fold predictions, and the card filled in. Also evaluation of
//! a finished classifier on labelled records.

use std::sync::mpsc;
use std::sync::Arc;

use chrono::NaiveDate;
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
    Doc, DocFeatures, Extracted, Extractor, InternedDocs, Names, SubsetVectoriser,
    VectoriserParams, N_DENSE,
};
use crate::model::{BinaryMetrics, LogisticParams, LogisticRegression, SparseRecords};
use crate::rng::SplitMix64;

/// Training parameters: vectoriser, models, cross-validation and the weight of each file.
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
    /// A training file's total weight grows as its number of records to this power (default
    /// 0.5): 0 gives every file the same weight, 1 every record. The square root keeps one
    /// large out-of-domain file from drowning the others without silencing it.
    pub file_weight_power: f64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            vectoriser: VectoriserParams::default(),
            model: LogisticParams::default(),
            folds: 5,
            seed: 17,
            file_weight_power: 0.5,
        }
    }
}

/// Labelled records prepared for training: features extracted once, reused by every fold.
struct TrainingSet {
    docs: InternedDocs,
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
    let interned = InternedDocs::new(&docs, worker_threads());
    TrainingSet {
        docs: interned,
        labels,
        sources: sources.to_vec(),
        names,
    }
}

/// A fitted vectoriser with its two models: polarity, relevance.
type Fitted = (SubsetVectoriser, LogisticRegression, LogisticRegression);

/// Fits a vectoriser and the two models on the records `subset`: polarity on its conciliatory
/// and confrontational records, relevance (takes a stance or not) on all of them. The
/// vectoriser's columns are named only with `named` (the final model; folds are never shown).
fn fit_subset(
    params: &TrainParams,
    prepared: &TrainingSet,
    subset: &[usize],
    named: bool,
) -> Result<Fitted> {
    let names = named.then_some(&prepared.names);
    let vectoriser = prepared
        .docs
        .fit(params.vectoriser.clone(), subset, names)?;
    let rows = vectoriser.records(&prepared.docs, subset);
    let records = SparseRecords::from_csr(rows.shape, rows.indptr, rows.indices, rows.values)?;
    let weights = Array1::from(record_weights(params, prepared, subset));
    let labels: Vec<Label> = subset.iter().map(|&i| prepared.labels[i]).collect();
    let stance = Array1::from(
        labels
            .iter()
            .map(|&l| l != Label::Neutral)
            .collect::<Vec<_>>(),
    );
    let data = DatasetBase::new(records, Array1::from(labels)).with_weights(weights);
    let polarity = params.model.fit(&data)?;
    let data = data.with_targets(stance);
    let relevance = params.model.fit(&data)?;
    Ok((vectoriser, polarity, relevance))
}

/// Per record of `subset`, its weight: every file's records share a total that grows as the
/// file's size to the power [`TrainParams::file_weight_power`]; the weights average 1.
fn record_weights(params: &TrainParams, prepared: &TrainingSet, subset: &[usize]) -> Vec<f32> {
    let mut per_source: FxHashMap<usize, usize> = FxHashMap::default();
    for &i in subset {
        *per_source.entry(prepared.sources[i]).or_insert(0) += 1;
    }
    let alpha = params.file_weight_power;
    let total: f64 = per_source.values().map(|&n| (n as f64).powf(alpha)).sum();
    subset
        .iter()
        .map(|&i| {
            let n = per_source[&prepared.sources[i]] as f64;
            (subset.len() as f64 * n.powf(alpha) / total / n) as f32
        })
        .collect()
}

/// The two models' probabilities of one training document: conciliatory, takes a stance.
fn predict(fitted: &Fitted, docs: &InternedDocs, doc: usize) -> (f64, f64) {
    let (v, polarity, relevance) = fitted;
    let row = v.row(docs, doc);
    (
        polarity.probability(&row.indices, &row.values),
        relevance.probability(&row.indices, &row.values),
    )
}

/// Extracts training features of records, with the names of their features.
fn extract_all(records: &[Article], lexicon: &Arc<Lexicon>) -> (Vec<DocFeatures>, Names) {
    let g = Gazetteer::builtin();
    let mut ex = Extractor::new(lexicon.clone());
    let mut out = Extracted::default();
    let mut names = Names::default();
    let mut cache: FxHashMap<(String, Option<NaiveDate>), Option<ActorRef>> = FxHashMap::default();
    let mut resolve = |n: Option<&String>, date: Option<NaiveDate>| {
        let n = n?;
        cache
            .entry((n.clone(), date))
            .or_insert_with(|| Some(g.resolve_at(n, date)).filter(|r| !r.is_empty()))
            .clone()
    };
    let mut docs = Vec::with_capacity(records.len());
    for r in records {
        let date = r.date();
        let cp = resolve(r.counterpart.as_ref(), date);
        let act = resolve(r.actor.as_ref(), date);
        let doc = Doc {
            title: r.title.as_deref(),
            text: &r.text,
            counterpart: cp.as_ref(),
            actor: act.as_ref(),
            date,
        };
        ex.extract(doc, Some(&mut names), &mut out);
        docs.push(DocFeatures::from_extracted(&out));
    }
    (docs, names)
}

/// Deterministic stratified fold assignment.
fn folds(labels: &[Label], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
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

/// One record's out-of-fold prediction: its index among the labelled records, and the two
/// models' probabilities (conciliatory, takes a stance).
type Prediction = (usize, f64, f64);

/// A finished fold: its number, its out-of-fold predictions, and its metrics.
type FoldResult = (usize, Vec<Prediction>, FoldMetrics);

/// What a training worker finished: the final fit, or fold `f`'s out-of-fold predictions.
enum Task {
    Final(Result<Fitted>),
    Fold(usize, Result<Vec<Prediction>>),
}

/// A fold's metrics: binary (conciliatory against confrontational) and three-class macro-F1
/// at the threshold that fold was given.
#[derive(Debug, Clone, Copy)]
pub struct FoldMetrics {
    /// On the fold's polar records.
    pub binary: BinaryMetrics,
    /// Three-class macro-F1 over all the fold's records, at a stance threshold of 0.5.
    pub macro_f1_3: f64,
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
        metrics: FoldMetrics,
    },
    /// The final model is being fitted on all records (alongside the folds).
    FinalFit,
}

/// Trains a classifier on labelled records: extracts features, cross-validates (each fold
/// fits its own vocabulary and IDF and both models), picks the stance threshold from the
/// out-of-fold predictions, fits the final models on everything, and fills the card.
///
/// `sources[i]` names the file record `i` came from (any number per file), for
/// [`TrainParams::file_weight_power`].
///
/// # Errors
/// [`Error::Training`] with too few records or without records of one of the three classes
/// (naming it); parameter errors.
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
    for class in [Label::Conciliatory, Label::Confrontational, Label::Neutral] {
        if !labelled.iter().any(|&i| records[i].label == Some(class)) {
            return Err(Error::Training(format!(
                "no {class} records: the polarity model needs conciliatory and confrontational \
                 records, the relevance model neutral ones beside them"
            )));
        }
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
    let run_fold = |f: usize| -> Result<Vec<Prediction>> {
        let train_idx: Vec<usize> = (0..all.len())
            .filter(|&j| fold_of[j] != f)
            .map(|j| all[j])
            .collect();
        let fitted = fit_subset(&params, &prepared, &train_idx, false)?;
        Ok((0..all.len())
            .filter(|&j| fold_of[j] == f)
            .map(|j| {
                let (p, q) = predict(&fitted, &prepared.docs, all[j]);
                (j, p, q)
            })
            .collect())
    };
    let fold_metrics = |preds: &[Prediction]| {
        let (p, t): (Vec<f64>, Vec<bool>) = preds
            .iter()
            .filter(|&&(j, _, _)| labels[j] != Label::Neutral)
            .map(|&(j, prob, _)| (prob, labels[j] == Label::Conciliatory))
            .unzip();
        let truth: Vec<Label> = preds.iter().map(|&(j, _, _)| labels[j]).collect();
        let ones = vec![1.0; preds.len()];
        let (pp, pq): (Vec<f64>, Vec<f64>) = preds.iter().map(|&(_, p, q)| (p, q)).unzip();
        FoldMetrics {
            binary: BinaryMetrics::compute(&p, &t),
            macro_f1_3: macro_f1_3(&pp, &pq, &truth, &ones, 0.5),
        }
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
    // Without folds the threshold is the one balanced classes suggest.
    let mut stance_threshold = 0.5;
    if n_folds >= 2 {
        results.sort_by_key(|r| r.0);
        let (mut acc, mut f1, mut auc, mut f1_3) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut oof = vec![(0.5, 0.5); all.len()];
        for (_, preds, metrics) in results {
            for (j, p, q) in preds {
                oof[j] = (p, q);
            }
            acc.push(metrics.binary.accuracy);
            f1.push(metrics.binary.macro_f1);
            auc.push(metrics.binary.roc_auc);
            f1_3.push(metrics.macro_f1_3);
        }
        let (p, q): (Vec<f64>, Vec<f64>) = oof.into_iter().unzip();
        let weights = record_weights(&params, &prepared, &all);
        let weights: Vec<f64> = weights.into_iter().map(f64::from).collect();
        let (threshold, oof_f1_3) = choose_stance_threshold(&p, &q, &labels, &weights);
        stance_threshold = threshold;
        card.cross_validation = CvReport {
            folds: n_folds,
            accuracy: MeanSd::of(&acc),
            macro_f1: MeanSd::of(&f1),
            roc_auc: MeanSd::of(&auc),
            macro_f1_3: MeanSd::of(&f1_3),
            stance_threshold,
            weighted_macro_f1_3: oof_f1_3,
        };
    }
    let (fitted, polarity, relevance) = final_fit.expect("the final fit ran");
    let vectoriser = fitted.vectoriser;
    card.records_used = labels.len();
    card.vocabulary = vectoriser.n_features() - N_DENSE;
    let file = ModelFile {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        analyser: Analyser::English {
            context_window: crate::features::CONTEXT_WINDOW,
            data_sha256: builtin_data_sha256(),
        },
        params,
        vectoriser,
        polarity,
        relevance,
        stance_threshold,
        card,
    };
    Ok(Classifier::from_file(file, lexicon))
}

/// Three-class macro-F1 of predictions (`p`: conciliatory; `q`: takes a stance) at a stance
/// threshold, each record counted with its weight.
fn macro_f1_3(p: &[f64], q: &[f64], truth: &[Label], w: &[f64], threshold: f64) -> f64 {
    let class = |l: Label| match l {
        Label::Conciliatory => 0,
        Label::Confrontational => 2,
        Label::Neutral | Label::Unmentioned => 1,
    };
    let mut counts = [[0f64; 3]; 3];
    for (((&pi, &qi), &l), &wi) in p.iter().zip(q).zip(truth).zip(w) {
        let pred = if qi < threshold {
            1
        } else if pi >= 0.5 {
            0
        } else {
            2
        };
        counts[class(l)][pred] += wi;
    }
    (0..3)
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
        / 3.0
}

/// The stance threshold (0.10 to 0.90 by 0.01) that maximises the three-class macro-F1 of the
/// out-of-fold predictions, each record weighted as in training; with that F1.
fn choose_stance_threshold(p: &[f64], q: &[f64], truth: &[Label], w: &[f64]) -> (f64, f64) {
    let mut best = (0.5, f64::MIN);
    for step in 10..=90 {
        let t = step as f64 / 100.0;
        let f1 = macro_f1_3(p, q, truth, w, t);
        if f1 > best.1 + 1e-12 {
            best = (t, f1);
        }
    }
    best
}

/// A classifier's metrics on labelled records.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    /// Conciliatory against confrontational on the polar records (`p_conciliatory` at 0.5).
    #[serde(flatten)]
    pub binary: BinaryMetrics,
    /// Labelled records of any class.
    pub n_3: usize,
    /// Three-class macro-F1 over them (an unmentioned result counts as neutral); `None`
    /// without neutral records.
    pub macro_f1_3: Option<f64>,
    /// Records whose text never names their counterpart.
    pub unmentioned: usize,
}

/// Evaluates a classifier on labelled records: binary metrics on the polar ones, three-class
/// macro-F1 on all when some are neutral.
pub fn evaluate(classifier: &Classifier, records: &[Article]) -> Evaluation {
    let mut scorer = classifier.scorer();
    let (mut p, mut t) = (Vec::new(), Vec::new());
    let (mut truth, mut predicted) = (Vec::new(), Vec::new());
    let mut unmentioned = 0;
    for r in records {
        let Some(label) = r.label else { continue };
        let s = scorer.score(r, None, None);
        unmentioned += (s.label == Label::Unmentioned) as usize;
        if label != Label::Neutral {
            p.push(s.p_conciliatory);
            t.push(label == Label::Conciliatory);
        }
        truth.push(label);
        predicted.push(s.label);
    }
    // The three-class F1 of labels already decided: a label is its own prediction.
    let as_probabilities = |l: &Label| match l {
        Label::Conciliatory => (1.0, 1.0),
        Label::Confrontational => (0.0, 1.0),
        _ => (0.5, 0.0),
    };
    let (pp, pq): (Vec<f64>, Vec<f64>) = predicted.iter().map(as_probabilities).unzip();
    let ones = vec![1.0; truth.len()];
    Evaluation {
        binary: BinaryMetrics::compute(&p, &t),
        n_3: truth.len(),
        macro_f1_3: truth
            .contains(&Label::Neutral)
            .then(|| macro_f1_3(&pp, &pq, &truth, &ones, 0.5)),
        unmentioned,
    }
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
