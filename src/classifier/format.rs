//! The model file: its format name and version, the analyser it records, and parsing with
//! checks (the version, the parameters, the arrays' lengths, the data the model was trained
//! with). A file that is not a model of this version is parsed again as plain JSON to say why.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::card::ModelCard;
use super::train::TrainParams;
use crate::actors::BUILTIN_GAZETTEER;
use crate::error::{BoxedError, Error, Result};
use crate::features::lexicon::{BUILTIN_CUES, BUILTIN_MODIFIERS, BUILTIN_VALENCE};
use crate::features::Vectoriser;
use crate::hash::hex;
use crate::model::LogisticRegression;

/// Version of the model file format this build reads and writes.
pub const FORMAT_VERSION: u32 = 2;
/// Value of the `format` field that marks a stance model file.
pub const FORMAT_NAME: &str = "stance-model";
/// The default model compiled into the library (`models/default/model.json`).
pub const BUILTIN_MODEL: &[u8] = include_bytes!("../../models/default/model.json");
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

/// The saved artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelFile {
    pub(super) format: String,
    pub(super) format_version: u32,
    pub(super) analyser: Analyser,
    pub(super) params: TrainParams,
    pub(super) vectoriser: Vectoriser,
    /// Conciliatory against confrontational, fitted on the polar records.
    pub(super) polarity: LogisticRegression,
    /// Takes a stance (either polar label) against neutral, fitted on every record, over the
    /// same columns.
    pub(super) relevance: LogisticRegression,
    /// The relevance probability below which an article is labelled neutral.
    pub(super) stance_threshold: f64,
    pub(super) card: ModelCard,
}

impl ModelFile {
    /// +1 when the polarity model predicts the conciliatory class, -1 when the confrontational.
    pub(super) fn polarity_sign(&self) -> f64 {
        if self.polarity.positive == Some(crate::article::Label::Confrontational) {
            -1.0
        } else {
            1.0
        }
    }

    /// Parses and checks a model file, and builds its column index.
    pub(super) fn parse(bytes: &[u8], path: &Path) -> Result<ModelFile> {
        let bad = |(message, source): Problem| Error::BadModel {
            path: path.to_path_buf(),
            message,
            source,
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
        file.vectoriser
            .validate()
            .map_err(|e| bad(("inconsistent vectoriser".into(), Some(Box::new(e)))))?;
        for (head, m) in [("polarity", &file.polarity), ("relevance", &file.relevance)] {
            if m.weights.len() != file.vectoriser.n_features() {
                let message = format!(
                    "{} {head} weights for {} features",
                    m.weights.len(),
                    file.vectoriser.n_features()
                );
                return Err(bad((message, None)));
            }
        }
        if file.polarity.positive.is_none() {
            return Err(bad((
                "the polarity model names no class it predicts".into(),
                None,
            )));
        }
        if !(0.0..=1.0).contains(&file.stance_threshold) {
            let message = format!(
                "stance_threshold {} is not a probability",
                file.stance_threshold
            );
            return Err(bad((message, None)));
        }
        let Analyser::English { data_sha256, .. } = &file.analyser;
        if *data_sha256 != builtin_data_sha256() {
            return Err(bad((
                "trained with a different gazetteer or lexicon than this build ships; retrain it with `stance train`".into(),
                None,
            )));
        }
        file.vectoriser.build_index();
        Ok(file)
    }

    /// Parses a model file that did not parse as one of this version, and says why not.
    fn diagnose(bytes: &[u8]) -> std::result::Result<ModelFile, Problem> {
        let json = |message: &str, e: serde_json::Error| -> Problem {
            (message.to_string(), Some(Box::new(e)))
        };
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| json("not a stance model (invalid JSON)", e))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err((
                "not a stance model (no \"format\": \"stance-model\")".into(),
                None,
            ));
        }
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == FORMAT_VERSION as u64 => {}
            Some(v) => {
                return Err((format!(
                    "format version {v}, but this stance reads version {FORMAT_VERSION}; retrain the model"
                ), None))
            }
            None => return Err(("missing format_version".into(), None)),
        }
        serde_json::from_value(value).map_err(|e| json("malformed model", e))
    }
}

/// What is wrong with a model file, and the error that showed it.
type Problem = (String, Option<BoxedError>);
