//! The classifier: analyser + vectoriser + model as one versioned artifact, and the only place
//! they meet. Scores articles with evidence, trains with cross-validation, saves and loads.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use linfa::dataset::DatasetBase;
use linfa::traits::Fit;
use ndarray::Array1;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::actors::{ActorRef, Gazetteer, BUILTIN_GAZETTEER};
use crate::article::{Article, Evidence, Label, Score, TermContribution};
use crate::error::{Error, Result};
use crate::features::lexicon::{Lexicon, BUILTIN_CUES, BUILTIN_MODIFIERS, BUILTIN_VALENCE};
use crate::features::{
    effective_sentences, sublinear, DocFeatures, Extracted, Extractor, InternedDocs, Names,
    SubsetVectoriser, Vectoriser, VectoriserParams, NO_COLUMN, N_DENSE,
};
use crate::hash::{hex, sha256_hex};
use crate::model::{sigmoid, BinaryMetrics, LogisticParams, LogisticRegression, SparseRecords};
use crate::rng::FoldLcg;

/// Version of the model file format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Value of the `format` field that marks a stance model file.
pub const FORMAT_NAME: &str = "stance-model";
/// The default model compiled into the library (`models/default/model.json`).
pub const BUILTIN_MODEL: &[u8] = include_bytes!("../models/default/model.json");
/// Most evidence sentences reported per article that push toward its score.
pub const EVIDENCE_SENTENCES: usize = 3;
/// Most evidence sentences reported that push against it (after those that push toward it).
pub const EVIDENCE_AGAINST: usize = 2;
/// Terms reported per evidence sentence.
pub const EVIDENCE_TERMS: usize = 5;

/// How text is analysed before vectorising; stored in the model so scoring replays training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
#[non_exhaustive]
pub enum Analyser {
    /// English: NFKD folding, Snowball stems, negation scope, gazetteer role masking, the
    /// shipped cue lexicon. `data_sha256` fingerprints the gazetteer and lexicon it used.
    English {
        /// Words counted on each side of a counterpart mention.
        context_window: usize,
        /// SHA-256 of the gazetteer and lexicon files the model was trained with.
        data_sha256: String,
    },
}

/// Fingerprint of the built-in gazetteer and lexicon.
pub fn builtin_data_sha256() -> String {
    let mut h = Sha256::new();
    for part in [
        BUILTIN_GAZETTEER,
        BUILTIN_VALENCE,
        BUILTIN_CUES,
        BUILTIN_MODIFIERS,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex(&h.finalize())
}

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
    fn of(v: &[f64]) -> MeanSd {
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

/// The saved artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    format_version: u32,
    analyser: Analyser,
    params: TrainParams,
    /// |score| below this is labelled neutral.
    neutral_band: f64,
    vectoriser: Vectoriser,
    model: LogisticRegression,
    card: ModelCard,
}

impl ModelFile {
    /// Parses a model file that did not parse as one of this version, and says why not.
    fn diagnose(bytes: &[u8]) -> std::result::Result<ModelFile, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a stance model (invalid JSON: {e})"))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err("not a stance model (no \"format\": \"stance-model\")".into());
        }
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == FORMAT_VERSION as u64 => {}
            Some(v) => {
                return Err(format!(
                    "format version {v}, but this stance reads version {FORMAT_VERSION}; retrain the model"
                ))
            }
            None => return Err("missing format_version".into()),
        }
        serde_json::from_value(value).map_err(|e| format!("malformed model: {e}"))
    }
}

/// A trained classifier, ready to score.
#[derive(Debug, Clone)]
pub struct Classifier {
    file: Arc<ModelFile>,
    lexicon: Arc<Lexicon>,
    id: String,
    /// Per column, its IDF and weight side by side (one memory access while scoring).
    columns: Arc<Vec<(f32, f32)>>,
}

/// Per column of a model file: its IDF (1 for dense columns) and its weight.
fn column_table(file: &ModelFile) -> Arc<Vec<(f32, f32)>> {
    let v = &file.vectoriser;
    Arc::new(
        (0..v.n_features())
            .map(|c| (v.idf(c as u32), file.model.weights[c]))
            .collect(),
    )
}

/// Term frequencies of one sentence by column, in a small open-addressing table sized to the
/// sentence: accumulating touches a few cache lines instead of arrays as long as the
/// vocabulary.
#[derive(Debug, Default)]
struct SentenceTerms {
    /// Per slot: column + 1 (0 when empty), term frequency, TF-IDF value.
    slots: Vec<(u32, f32, f32)>,
    /// log2 of the number of slots.
    bits: u32,
    /// Occupied slots, in order of first occurrence.
    touched: Vec<u32>,
}

impl SentenceTerms {
    /// Empties the table, with room for `n` columns at most half full.
    fn reset(&mut self, n: usize) {
        for &s in &self.touched {
            self.slots[s as usize] = (0, 0.0, 0.0);
        }
        self.touched.clear();
        let want = (2 * n).next_power_of_two().max(16);
        if want > self.slots.len() {
            self.slots = vec![(0, 0.0, 0.0); want];
            self.bits = want.trailing_zeros();
        }
    }

    /// The slot of `col`, claimed (in `touched` order) when new.
    #[inline]
    fn slot(&mut self, col: u32) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = ((col as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - self.bits)) as usize;
        loop {
            let c = self.slots[i].0;
            if c == col + 1 {
                return i;
            }
            if c == 0 {
                self.slots[i].0 = col + 1;
                self.touched.push(i as u32);
                return i;
            }
            i = (i + 1) & mask;
        }
    }
}

/// Per-thread scoring state: feature extractor, buffers, and resolved names.
pub struct Scorer<'c> {
    classifier: &'c Classifier,
    extractor: Extractor,
    extracted: Extracted,
    terms: SentenceTerms,
    /// Per sentence in turn, each of its terms' column and contribution to the logit.
    term_contrib: Vec<(u32, f64)>,
    /// Per sentence, its range in `term_contrib`.
    ranges: Vec<(usize, usize)>,
    dense_contrib: Vec<[f64; N_DENSE]>,
    resolved: FxHashMap<String, ActorRef>,
}

impl Classifier {
    /// The model compiled into the binary.
    ///
    /// # Errors
    /// [`Error::BadModel`] when this build carries no model or it does not load.
    pub fn builtin() -> Result<Classifier> {
        if BUILTIN_MODEL.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::BadModel {
                path: "<built-in>".into(),
                message:
                    "this build carries no model; train one with `stance train` and pass --model"
                        .into(),
            });
        }
        Classifier::from_bytes(BUILTIN_MODEL, Path::new("<built-in>"))
    }

    /// Loads a model file written by [`Classifier::save`].
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable; [`Error::BadModel`] when truncated, not a stance model,
    /// of another format version, or trained with other gazetteer/lexicon data.
    pub fn load(path: &Path) -> Result<Classifier> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Classifier::from_bytes(&bytes, path)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Classifier> {
        // What does not depend on the file (the lexicon, the gazetteer) and its id are made on
        // another thread while the file parses (about 13 ms of work beside 27 ms of parsing and
        // indexing). A bad file is still hashed: the price of an error, not of a load.
        std::thread::scope(|scope| {
            let side = scope.spawn(|| {
                Gazetteer::builtin();
                let id = sha256_hex(bytes)[..16].to_string();
                (id, Lexicon::builtin())
            });
            let file = Classifier::parse(bytes, path);
            let (id, lexicon) = side
                .join()
                .expect("hashing and building the built-in lexicon and gazetteer do not panic");
            let file = file?;
            Ok(Classifier {
                columns: column_table(&file),
                file: Arc::new(file),
                lexicon: Arc::new(lexicon?),
                id,
            })
        })
    }

    /// Parses and checks a model file, and builds its column index.
    fn parse(bytes: &[u8], path: &Path) -> Result<ModelFile> {
        let bad = |message: String| Error::BadModel {
            path: path.to_path_buf(),
            message,
        };
        // A well-formed model of this version parses in one typed pass; anything else is
        // parsed again as plain JSON to say what is wrong with it.
        let typed = serde_json::from_slice::<ModelFile>(bytes)
            .ok()
            .filter(|f| f.format == FORMAT_NAME && f.format_version == FORMAT_VERSION);
        let mut file = match typed {
            Some(file) => file,
            None => ModelFile::diagnose(bytes).map_err(bad)?,
        };
        file.params = TrainParams {
            vectoriser: file.params.vectoriser.clone().check()?,
            model: file.params.model.clone().check()?,
            ..file.params
        };
        file.vectoriser.validate().map_err(|e| bad(e.to_string()))?;
        if file.model.weights.len() != file.vectoriser.n_features() {
            return Err(bad(format!(
                "{} weights for {} features",
                file.model.weights.len(),
                file.vectoriser.n_features()
            )));
        }
        let Analyser::English { data_sha256, .. } = &file.analyser;
        if *data_sha256 != builtin_data_sha256() {
            return Err(bad(
                "trained with a different gazetteer or lexicon than this build ships; retrain it with `stance train`".into(),
            ));
        }
        file.vectoriser.build_index();
        Ok(file)
    }

    /// Writes the model as JSON.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes();
        std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
    }

    /// The model serialised as JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&*self.file).expect("model serialises")
    }

    /// A stable identifier: the first 16 hex digits of the model file's SHA-256.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        &self.file.card
    }

    /// The model card as JSON.
    pub fn card_json(&self) -> String {
        serde_json::to_string_pretty(&self.file.card).expect("card serialises")
    }

    /// The model card as Markdown.
    pub fn card_markdown(&self) -> String {
        card_markdown(
            &self.file.card,
            &self.file.params,
            self.file.neutral_band,
            &self.id,
        )
    }

    /// |score| below which the label is neutral.
    pub fn neutral_band(&self) -> f64 {
        self.file.neutral_band
    }

    /// Creates per-thread scoring state.
    pub fn scorer(&self) -> Scorer<'_> {
        Scorer {
            classifier: self,
            extractor: Extractor::new(self.lexicon.clone())
                .with_columns(self.file.vectoriser.column_index()),
            extracted: Extracted::default(),
            terms: SentenceTerms::default(),
            term_contrib: Vec::new(),
            ranges: Vec::new(),
            dense_contrib: Vec::new(),
            resolved: FxHashMap::default(),
        }
    }

    /// Scores one article; the article's own `counterpart`/`actor` override the arguments.
    /// For many articles use [`Classifier::scorer`] or [`score_in_order`].
    pub fn score(
        &self,
        article: &Article,
        counterpart: Option<&str>,
        actor: Option<&str>,
    ) -> Score {
        self.scorer().score(article, counterpart, actor)
    }
}

impl Scorer<'_> {
    fn resolve(&mut self, name: Option<&str>) -> Option<ActorRef> {
        let name = name?;
        if let Some(r) = self.resolved.get(name) {
            return Some(r.clone());
        }
        let r = Gazetteer::builtin().resolve(name);
        if self.resolved.len() > 10_000 {
            self.resolved.clear();
        }
        self.resolved.insert(name.to_string(), r.clone());
        Some(r)
    }

    /// Scores one article toward its counterpart, with evidence.
    pub fn score(
        &mut self,
        article: &Article,
        counterpart: Option<&str>,
        actor: Option<&str>,
    ) -> Score {
        let cp = self.resolve(article.counterpart.as_deref().or(counterpart));
        let act = self.resolve(article.actor.as_deref().or(actor));
        let c = self.classifier;
        let file = &*c.file;
        let vec = &file.vectoriser;
        let w = &file.model.weights;
        let columns = &*c.columns;
        self.extractor.extract(
            &article.text,
            cp.as_ref(),
            act.as_ref(),
            None,
            &mut self.extracted,
        );
        let ex = &self.extracted;

        // Per sentence: term frequencies by column, its unit-length TF-IDF vector, scaled by
        // the sentence's weight — exactly as `Vectoriser::transform` builds the row.
        let n_sent = ex.analysis.sentences.len();
        let mut sent_total = vec![0f64; n_sent];
        // Per sentence, its terms' contributions and its dense features' contributions. Terms
        // are named from these only for the sentences chosen as evidence.
        self.term_contrib.clear();
        self.ranges.clear();
        self.ranges.resize(n_sent, (0, 0));
        self.dense_contrib.clear();
        self.dense_contrib.resize(n_sent, [0.0; N_DENSE]);
        let mut logit = file.model.intercept;
        let mut unattributed = file.model.intercept;
        let mut start = 0;
        while start < ex.occurrences.len() {
            let sentence = ex.occurrences[start].sentence;
            let mut end = start;
            while end < ex.occurrences.len() && ex.occurrences[end].sentence == sentence {
                end += 1;
            }
            let terms = &mut self.terms;
            terms.reset(end - start);
            for o in &ex.occurrences[start..end] {
                if o.column != NO_COLUMN {
                    let slot = terms.slot(o.column);
                    terms.slots[slot].1 += o.value;
                }
            }
            let mut norm2 = 0f32;
            for &slot in &terms.touched {
                let (c1, tf, x) = &mut terms.slots[slot as usize];
                let v = sublinear(*tf) * columns[*c1 as usize - 1].0;
                *x = v;
                norm2 += v * v;
            }
            let first = self.term_contrib.len();
            if norm2 > 0.0 {
                let scale = ex.weights[sentence as usize] / norm2.sqrt();
                for &slot in &terms.touched {
                    let (c1, _, x) = terms.slots[slot as usize];
                    let (col, weight) = (c1 - 1, columns[c1 as usize - 1].1);
                    let contribution = weight as f64 * (x * scale) as f64;
                    sent_total[sentence as usize] += contribution;
                    self.term_contrib.push((col, contribution));
                    logit += contribution;
                }
            }
            self.ranges[sentence as usize] = (first, self.term_contrib.len());
            start = end;
        }
        // Dense features: the document's value is the weighted mean of its sentences'.
        let scale = vec.params.dense_scale as f64;
        for (s, (d, a)) in ex.sentence_dense.iter().zip(&ex.weights).enumerate() {
            for (k, &v) in d.iter().enumerate().take(N_DENSE - 1) {
                if v != 0.0 {
                    let contribution = w[k] as f64 * scale * (*a as f64) * v as f64;
                    sent_total[s] += contribution;
                    self.dense_contrib[s][k] = contribution;
                    logit += contribution;
                }
            }
        }
        // Whether the counterpart is mentioned belongs to no sentence.
        let mentioned = ex.dense[N_DENSE - 1] as f64 * scale * w[N_DENSE - 1] as f64;
        logit += mentioned;
        unattributed += mentioned;
        let p = sigmoid(logit);
        let score = 2.0 * p - 1.0;
        // The band was chosen on (mostly one-sentence) training records. A document's score is
        // a weighted mean over its sentences, which varies less the more sentences it averages:
        // by 1/sqrt(effective number of sentences), so the band narrows by as much.
        let band = file.neutral_band / effective_sentences(&ex.weights).max(1.0).sqrt();
        let label = if score.abs() < band {
            Label::Neutral
        } else if (p >= 0.5) == (file.model.positive == Label::Conciliatory) {
            Label::Conciliatory
        } else {
            Label::Confrontational
        };
        // Evidence: the sentences that pushed hardest toward the result, then the strongest
        // ones that pushed against it; each with its top terms.
        let toward = if logit >= 0.0 { 1.0 } else { -1.0 };
        let pull = |s: usize| toward * sent_total[s];
        let mut order: Vec<usize> = (0..n_sent).filter(|&s| pull(s) > 0.0).collect();
        best_first(&mut order, EVIDENCE_SENTENCES, |&a, &b| {
            pull(b).total_cmp(&pull(a)).then(a.cmp(&b))
        });
        let mut against: Vec<usize> = (0..n_sent).filter(|&s| pull(s) < 0.0).collect();
        best_first(&mut against, EVIDENCE_AGAINST, |&a, &b| {
            pull(a).total_cmp(&pull(b)).then(b.cmp(&a))
        });
        order.append(&mut against);
        let chosen: Vec<Vec<(u32, f64)>> = order
            .iter()
            .map(|&s| {
                let (a, b) = self.ranges[s];
                let sparse = self.term_contrib[a..b]
                    .iter()
                    .copied()
                    .filter(|t| t.1 != 0.0);
                let dense = (0..N_DENSE)
                    .filter(|&k| self.dense_contrib[s][k] != 0.0)
                    .map(|k| (k as u32, self.dense_contrib[s][k]));
                sparse.chain(dense).collect()
            })
            .collect();
        let mut evidence = Vec::with_capacity(order.len());
        for (&s, mut terms) in order.iter().zip(chosen) {
            best_first(&mut terms, EVIDENCE_TERMS, |a, b| {
                b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0))
            });
            let sent = &ex.analysis.sentences[s];
            evidence.push(Evidence {
                sentence: article.text[sent.start..sent.end].to_string(),
                start: sent.start,
                end: sent.end,
                contribution: sent_total[s],
                terms: terms
                    .into_iter()
                    .map(|(col, contribution)| TermContribution {
                        term: vec.name(col).to_string(),
                        contribution,
                    })
                    .collect(),
            });
        }
        Score {
            id: article.id.clone(),
            counterpart: cp.map(|c| c.display),
            actor: act.map(|a| a.display),
            score,
            p_conciliatory: if file.model.positive == Label::Conciliatory {
                p
            } else {
                1.0 - p
            },
            label,
            mentions: ex.mentions,
            intercept: unattributed,
            evidence,
        }
    }
}

/// Keeps the `k` first of `v` in the order `cmp` (a total order), sorted: a partial selection,
/// as a long article's sentences need not all be sorted to find its few strongest.
fn best_first<T>(v: &mut Vec<T>, k: usize, mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    if k == 0 {
        v.clear();
        return;
    }
    if v.len() > k {
        v.select_nth_unstable_by(k - 1, &mut cmp);
        v.truncate(k);
    }
    v.sort_by(cmp);
}

/// Articles handed to a worker at a time.
const BATCH: usize = 64;

/// Scores a stream of `(line, article)` records on all cores, calling `sink` in input order.
/// Memory stays bounded: at most a few batches are in flight. Stops at the first reader or
/// sink error, after delivering every result that precedes it.
///
/// # Errors
/// The first error of the reader or the sink.
pub fn score_in_order<I, F>(
    classifier: &Classifier,
    articles: I,
    counterpart: Option<&str>,
    actor: Option<&str>,
    mut sink: F,
) -> Result<()>
where
    I: Iterator<Item = Result<(usize, Article)>> + Send,
    F: FnMut(usize, Article, Score) -> Result<()>,
{
    score_map_in_order(
        classifier,
        articles,
        counterpart,
        actor,
        |_, _| (),
        |l, a, s, ()| sink(l, a, s),
    )
}

/// Like [`score_in_order`], also running `map` on each result inside the worker threads (for
/// work such as formatting output that should not serialise on the calling thread). `map` may
/// take from the score what the sink will not need (such as evidence it has rendered): freed
/// on the thread that allocated it, it costs less than freed by the calling thread.
///
/// # Errors
/// The first error of the reader or the sink.
pub fn score_map_in_order<I, M, T, F>(
    classifier: &Classifier,
    articles: I,
    counterpart: Option<&str>,
    actor: Option<&str>,
    map: M,
    mut sink: F,
) -> Result<()>
where
    I: Iterator<Item = Result<(usize, Article)>> + Send,
    M: Fn(&Article, &mut Score) -> T + Sync,
    T: Send,
    F: FnMut(usize, Article, Score, T) -> Result<()>,
{
    type Batch = (usize, Vec<(usize, Article)>, Option<Error>);
    type Done<T> = (usize, Vec<(usize, Article, Score, T)>, Option<Error>);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(1);
    std::thread::scope(|scope| {
        let (work_tx, work_rx) = mpsc::sync_channel::<Batch>(workers * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::sync_channel::<Done<T>>(workers * 2);
        // Reader: batches articles; a read error travels with the batch it ends.
        let reader = scope.spawn(move || {
            let mut seq = 0;
            let mut batch = Vec::with_capacity(BATCH);
            for item in articles {
                match item {
                    Ok(a) => {
                        batch.push(a);
                        if batch.len() == BATCH {
                            if work_tx
                                .send((seq, std::mem::take(&mut batch), None))
                                .is_err()
                            {
                                return;
                            }
                            seq += 1;
                        }
                    }
                    Err(e) => {
                        let _ = work_tx.send((seq, batch, Some(e)));
                        return;
                    }
                }
            }
            if !batch.is_empty() {
                let _ = work_tx.send((seq, batch, None));
            }
        });
        let map = &map;
        for _ in 0..workers {
            let rx = Arc::clone(&work_rx);
            let tx = done_tx.clone();
            scope.spawn(move || {
                let mut scorer = classifier.scorer();
                loop {
                    let next = rx.lock().map(|r| r.recv());
                    let Ok(Ok((seq, batch, err))) = next else {
                        return;
                    };
                    let out = batch
                        .into_iter()
                        .map(|(line, a)| {
                            let mut s = scorer.score(&a, counterpart, actor);
                            let t = map(&a, &mut s);
                            (line, a, s, t)
                        })
                        .collect();
                    if tx.send((seq, out, err)).is_err() {
                        return;
                    }
                }
            });
        }
        // Only the workers may hold the receiving end: once they stop, the reader must stop too.
        drop(work_rx);
        drop(done_tx);
        let mut pending: std::collections::BTreeMap<usize, Done<T>> = Default::default();
        let mut want = 0;
        let mut result = Ok(());
        'recv: for done in done_rx.iter() {
            pending.insert(done.0, done);
            while let Some((_, out, err)) = pending.remove(&want) {
                want += 1;
                for (line, a, s, t) in out {
                    if let Err(e) = sink(line, a, s, t) {
                        result = Err(e);
                        break 'recv;
                    }
                }
                if let Some(e) = err {
                    result = Err(e);
                    break 'recv;
                }
            }
        }
        // Dropping the receiver unblocks workers and the reader on early exit.
        drop(done_rx);
        let _ = reader.join();
        result
    })
}

/// Labelled records prepared for training: features extracted once, reused by every fold.
struct Prepared {
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
) -> Prepared {
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
    Prepared {
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
    prepared: &Prepared,
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
fn record_weights(params: &TrainParams, prepared: &Prepared, subset: &[usize]) -> Vec<f32> {
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

/// Threads to use for parallel work: the machine's cores.
fn worker_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(1)
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
    let bytes = serde_json::to_vec(&file).expect("model serialises");
    let id = sha256_hex(&bytes)[..16].to_string();
    Ok(Classifier {
        columns: column_table(&file),
        file: Arc::new(file),
        lexicon,
        id,
    })
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

impl Classifier {
    /// Adds evaluation results to the card (used by `stance train --eval`).
    pub fn with_evaluation(mut self, evaluation: Vec<FileMetrics>) -> Classifier {
        let mut file = (*self.file).clone();
        file.card.evaluation = evaluation;
        let bytes = serde_json::to_vec(&file).expect("model serialises");
        self.id = sha256_hex(&bytes)[..16].to_string();
        self.file = Arc::new(file);
        self
    }
}

/// SHA-256 of a file's bytes, as hex.
///
/// # Errors
/// [`Error::Io`] when unreadable.
pub fn file_sha256(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(sha256_hex(&bytes))
}

fn card_markdown(card: &ModelCard, params: &TrainParams, band: f64, id: &str) -> String {
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

/// Reads every record of the given files, in order.
///
/// # Errors
/// The first read error, naming file and line.
pub fn read_all(paths: &[PathBuf]) -> Result<Vec<Article>> {
    let mut out = Vec::new();
    for p in paths {
        for item in crate::article::read_path(p)? {
            out.push(item?.1);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn article(text: &str) -> Article {
        Article {
            id: "t".into(),
            text: text.into(),
            ..Article::default()
        }
    }

    #[test]
    fn builtin_model_loads_and_matches_the_shipped_data() {
        let c = Classifier::builtin()
            .expect("the shipped model loads with the shipped gazetteer and lexicon");
        assert!(c.card().records_used > 1000);
    }

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

    /// The scorer's own path (columns resolved while extracting, per-sentence term tables)
    /// gives the probability of the plain path: features by key, `Vectoriser::transform`, dot.
    #[test]
    fn scorer_agrees_with_the_vectoriser_row() {
        let c = Classifier::builtin().unwrap();
        let file = &*c.file;
        let vec = &file.vectoriser;
        let texts = [
            "Havana rejected talks with Washington. The U.S. did not welcome the move; Cuba said it would never negotiate.",
            "The United States and Cuba agreed to restore ties, praising 3 rounds of talks. Officials welcomed the deal.",
            "Nothing here names the counterpart. Ministers met in Geneva.",
        ];
        let cp = Gazetteer::builtin().resolve("United States");
        let mut plain = Extractor::new(c.lexicon.clone());
        let mut resolving = Extractor::new(c.lexicon.clone()).with_columns(vec.column_index());
        let mut scorer = c.scorer();
        for text in texts {
            let (mut a, mut b) = (Extracted::default(), Extracted::default());
            plain.extract(text, Some(&cp), None, None, &mut a);
            resolving.extract(text, Some(&cp), None, None, &mut b);
            assert_eq!(a.occurrences.len(), b.occurrences.len());
            for (x, y) in a.occurrences.iter().zip(&b.occurrences) {
                assert_eq!(x.key, y.key);
                assert_eq!(x.column, NO_COLUMN);
                assert_eq!(y.column, vec.column(y.key).unwrap_or(NO_COLUMN));
            }
            let row = vec.transform(&DocFeatures::from_extracted(&a));
            let logit = file.model.intercept
                + row
                    .indices
                    .iter()
                    .zip(&row.values)
                    .map(|(&i, &v)| file.model.weights[i as usize] as f64 * v as f64)
                    .sum::<f64>();
            let p = sigmoid(logit);
            let p = if file.model.positive == Label::Conciliatory {
                p
            } else {
                1.0 - p
            };
            let r = scorer.score(&article(text), Some("United States"), None);
            assert!(
                (r.p_conciliatory - p).abs() < 1e-6,
                "{text}: {} vs {p}",
                r.p_conciliatory
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn scores_are_finite_in_range_and_evidence_adds_up(text in "\\PC{0,400}", cp in "[A-Za-z ]{0,12}") {
            let c = Classifier::builtin().unwrap();
            let mut s = c.scorer();
            let a = article(&text);
            let r = s.score(&a, Some(&cp), None);
            prop_assert!(r.score.is_finite() && (-1.0..=1.0).contains(&r.score));
            prop_assert!((0.0..=1.0).contains(&r.p_conciliatory));
            for e in &r.evidence {
                prop_assert_eq!(&text[e.start..e.end], e.sentence.as_str());
            }
            // Scoring alone equals scoring inside a batch (no state leaks between articles).
            let again = s.score(&a, Some(&cp), None);
            prop_assert_eq!(r, again);
        }
    }
}
