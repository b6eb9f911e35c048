//! The classifier: analyser + vectoriser + model as one versioned artifact, and the only place
//! features and model meet. The model file and its checks, the scorer and its evidence, scoring
//! streams on all cores, training with cross-validation and the model card each have a file.

mod card;
mod format;
mod scorer;
mod stream;
mod train;

pub use card::{file_sha256, CvReport, FileMetrics, MeanSd, ModelCard, TrainingFile};
pub use format::{builtin_data_sha256, Analyser, BUILTIN_MODEL, FORMAT_NAME, FORMAT_VERSION};
pub use scorer::{Scorer, EVIDENCE_AGAINST, EVIDENCE_SENTENCES, EVIDENCE_TERMS};
pub use stream::{score_in_order, score_map_in_order};
pub use train::{evaluate, train, Evaluation, FoldMetrics, Progress, TrainParams};

use std::path::Path;
use std::sync::Arc;

use crate::actors::Gazetteer;
use crate::article::{Article, Score};
use crate::error::{Error, Result};
use crate::features::lexicon::Lexicon;
use crate::hash::sha256_hex;
use format::ModelFile;

/// A trained classifier, ready to score.
#[derive(Debug, Clone)]
pub struct Classifier {
    file: Arc<ModelFile>,
    lexicon: Arc<Lexicon>,
    id: String,
    /// Per column, its IDF and the weights of the two models side by side (one memory access
    /// while scoring).
    columns: Arc<Vec<Column>>,
}

/// Threads to use for parallel work (scoring streams, training): the machine's cores.
fn worker_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(1)
}

/// What scoring reads of one column.
#[derive(Debug, Clone, Copy)]
struct Column {
    /// IDF (1 for dense columns).
    idf: f32,
    /// The polarity model's weight, oriented toward conciliatory.
    polarity: f32,
    /// The relevance model's weight.
    relevance: f32,
}

/// Per column of a model file: its IDF and the two weights.
fn column_table(file: &ModelFile) -> Arc<Vec<Column>> {
    let v = &file.vectoriser;
    let sign = file.polarity_sign() as f32;
    Arc::new(
        (0..v.n_features())
            .map(|c| Column {
                idf: v.idf(c as u32),
                polarity: sign * file.polarity.weights[c],
                relevance: file.relevance.weights[c],
            })
            .collect(),
    )
}

/// A model's id: the first 16 hex digits of its file's SHA-256.
fn model_id(bytes: &[u8]) -> String {
    sha256_hex(bytes)[..16].to_string()
}

impl Classifier {
    /// A classifier of a checked model file whose id is known.
    fn assemble(file: ModelFile, lexicon: Arc<Lexicon>, id: String) -> Classifier {
        Classifier {
            columns: column_table(&file),
            file: Arc::new(file),
            lexicon,
            id,
        }
    }

    /// A classifier of a model file made in this process (trained, or given a new card): its id
    /// is that of the file it serialises to.
    fn from_file(file: ModelFile, lexicon: Arc<Lexicon>) -> Classifier {
        let id = model_id(&serde_json::to_vec(&file).expect("model serialises"));
        Classifier::assemble(file, lexicon, id)
    }

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
                source: None,
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
        // another thread while the file parses, which takes longer. A bad file is still hashed:
        // the price of an error, not of a load.
        std::thread::scope(|scope| {
            let side = scope.spawn(|| {
                Gazetteer::builtin();
                let id = model_id(bytes);
                (id, Lexicon::builtin())
            });
            let file = ModelFile::parse(bytes, path);
            let (id, lexicon) = side
                .join()
                .expect("hashing and building the built-in lexicon and gazetteer do not panic");
            Ok(Classifier::assemble(file?, Arc::new(lexicon?), id))
        })
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
        card::card_markdown(
            &self.file.card,
            &self.file.params,
            self.file.stance_threshold,
            &self.id,
        )
    }

    /// The probability of taking a stance below which an article is labelled neutral.
    pub fn stance_threshold(&self) -> f64 {
        self.file.stance_threshold
    }

    /// Creates per-thread scoring state.
    pub fn scorer(&self) -> Scorer<'_> {
        Scorer::new(self)
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

impl Classifier {
    /// Adds evaluation results to the card (used by `stance train --eval`).
    pub fn with_evaluation(self, evaluation: Vec<FileMetrics>) -> Classifier {
        let mut file = (*self.file).clone();
        file.card.evaluation = evaluation;
        Classifier::from_file(file, self.lexicon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_model_loads_and_matches_the_shipped_data() {
        let c = Classifier::builtin()
            .expect("the shipped model loads with the shipped gazetteer and lexicon");
        assert!(c.card().records_used > 1000);
    }
}
