//! Features: articles → sparse rows. Role masking, stemmed unigrams and bigrams, negation
//! marks, counterpart-context terms and cue categories become hashed sparse features weighted by
//! sublinear TF × IDF (IDF learned at training time and stored) and L2-normalised; eleven dense
//! lexicon features come first in every row. No I/O.

mod extract;
pub mod lexicon;

pub use extract::{Extracted, Extractor, Names, Occurrence, CONTEXT_WINDOW, DENSE_NAMES, N_DENSE};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Unchecked vectoriser parameters; [`VectoriserParams::check`] validates them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectoriserParams {
    /// A sparse feature is kept when it occurs in at least this many training documents
    /// (default 2).
    pub min_df: usize,
    /// Multiplier of the dense lexicon features relative to the unit-length sparse part
    /// (default 1.0).
    pub dense_scale: f32,
}

impl Default for VectoriserParams {
    fn default() -> Self {
        VectoriserParams {
            min_df: 2,
            dense_scale: 1.0,
        }
    }
}

impl VectoriserParams {
    /// Sets the minimum document frequency (default 2).
    pub fn min_df(mut self, min_df: usize) -> Self {
        self.min_df = min_df;
        self
    }

    /// Sets the weight of the dense lexicon block (default 1.0).
    pub fn dense_scale(mut self, scale: f32) -> Self {
        self.dense_scale = scale;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParams`] when `min_df` is 0 or `dense_scale` is negative or not finite.
    pub fn check(self) -> Result<VectoriserParams> {
        if self.min_df == 0 {
            return Err(Error::InvalidParams("min_df must be at least 1".into()));
        }
        if !(self.dense_scale.is_finite() && self.dense_scale >= 0.0) {
            return Err(Error::InvalidParams(format!(
                "dense_scale must be a finite number >= 0, got {}",
                self.dense_scale
            )));
        }
        Ok(self)
    }
}

/// One document's aggregated sparse features (term frequencies by key) and dense features.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocFeatures {
    /// `(key, summed value)`, sorted by key, keys unique.
    pub tf: Vec<(u64, f32)>,
    /// Dense lexicon features.
    pub dense: [f32; N_DENSE],
}

impl DocFeatures {
    /// Aggregates an extraction's occurrences by key.
    pub fn from_extracted(e: &Extracted) -> Self {
        let mut tf: Vec<(u64, f32)> = e.occurrences.iter().map(|o| (o.key, o.value)).collect();
        tf.sort_unstable_by_key(|p| p.0);
        tf.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1 += b.1;
                true
            } else {
                false
            }
        });
        DocFeatures { tf, dense: e.dense }
    }
}

/// A sparse row: strictly increasing column indices and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Column indices, increasing.
    pub indices: Vec<u32>,
    /// Values, one per index.
    pub values: Vec<f32>,
}

/// A fitted vectoriser: vocabulary (hashed keys with readable names) and IDF weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vectoriser {
    /// The parameters it was fitted with.
    pub params: VectoriserParams,
    /// Feature keys of the sparse columns, in column order.
    keys: Vec<u64>,
    /// Readable names of the sparse columns.
    names: Vec<String>,
    /// IDF of each sparse column.
    idf: Vec<f32>,
    #[serde(skip)]
    index: FxHashMap<u64, u32>,
}

/// Sublinear term frequency: `1 + ln(tf)` for tf ≥ 1, tf itself below (context weights < 1).
#[inline]
pub fn sublinear(tf: f32) -> f32 {
    if tf > 1.0 {
        1.0 + tf.ln()
    } else {
        tf
    }
}

impl Vectoriser {
    /// Learns the vocabulary and IDF from training documents.
    ///
    /// # Errors
    /// [`Error::Training`] when no feature reaches `min_df`.
    pub fn fit(params: VectoriserParams, docs: &[&DocFeatures], names: &Names) -> Result<Vectoriser> {
        let params = params.check()?;
        let mut df: FxHashMap<u64, u32> = FxHashMap::default();
        for d in docs {
            for &(k, _) in &d.tf {
                *df.entry(k).or_insert(0) += 1;
            }
        }
        let mut keys: Vec<u64> = df
            .iter()
            .filter(|(_, &n)| n as usize >= params.min_df)
            .map(|(&k, _)| k)
            .collect();
        if keys.is_empty() {
            return Err(Error::Training(format!(
                "no feature occurs in {} or more documents",
                params.min_df
            )));
        }
        keys.sort_unstable();
        let n = docs.len() as f32;
        let idf = keys
            .iter()
            .map(|k| ((1.0 + n) / (1.0 + df[k] as f32)).ln() + 1.0)
            .collect();
        let names = keys
            .iter()
            .map(|k| names.get(k).cloned().unwrap_or_else(|| format!("#{k:016x}")))
            .collect();
        let mut v = Vectoriser {
            params,
            keys,
            names,
            idf,
            index: FxHashMap::default(),
        };
        v.build_index();
        Ok(v)
    }

    /// Rebuilds the key → column index after deserialising.
    pub fn build_index(&mut self) {
        self.index = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, (i + N_DENSE) as u32))
            .collect();
    }

    /// Checks a deserialised vectoriser's internal consistency.
    ///
    /// # Errors
    /// [`Error::InvalidParams`] when its arrays disagree in length or its params fail.
    pub fn validate(&self) -> Result<()> {
        self.params.clone().check()?;
        if self.keys.len() != self.names.len() || self.keys.len() != self.idf.len() {
            return Err(Error::InvalidParams("vectoriser arrays differ in length".into()));
        }
        Ok(())
    }

    /// Number of columns: dense features first, then the vocabulary.
    pub fn n_features(&self) -> usize {
        N_DENSE + self.keys.len()
    }

    /// The column of a feature key, if in the vocabulary.
    #[inline]
    pub fn column(&self, key: u64) -> Option<u32> {
        self.index.get(&key).copied()
    }

    /// The readable name of a column.
    pub fn name(&self, column: u32) -> &str {
        let c = column as usize;
        if c < N_DENSE {
            DENSE_NAMES[c]
        } else {
            &self.names[c - N_DENSE]
        }
    }

    /// IDF of a sparse column (1 for dense columns).
    #[inline]
    pub fn idf(&self, column: u32) -> f32 {
        let c = column as usize;
        if c < N_DENSE {
            1.0
        } else {
            self.idf[c - N_DENSE]
        }
    }

    /// Turns aggregated document features into a row.
    pub fn transform(&self, doc: &DocFeatures) -> Row {
        let mut cols: Vec<(u32, f32)> = doc
            .tf
            .iter()
            .filter_map(|&(k, tf)| self.column(k).map(|c| (c, sublinear(tf) * self.idf(c))))
            .collect();
        cols.sort_unstable_by_key(|p| p.0);
        let norm = cols.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
        let mut row = Row::default();
        for (i, &d) in doc.dense.iter().enumerate() {
            if d != 0.0 {
                row.indices.push(i as u32);
                row.values.push(d * self.params.dense_scale);
            }
        }
        for (c, v) in cols {
            row.indices.push(c);
            row.values.push(if norm > 0.0 { v / norm } else { 0.0 });
        }
        row
    }
}
