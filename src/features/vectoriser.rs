//! The vectoriser: a vocabulary of feature keys with readable names and IDF weights, learned at
//! training time and stored in the model, and the rows it makes of document features. Each
//! sentence's TF-IDF vector is L2-normalised and the row is their weighted mean, after the dense
//! lexicon features. Also the key → column lookup an extractor uses while it extracts.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::document::{sum_by_key, DocFeatures};
use super::extract::{Names, DENSE_NAMES, N_DENSE};
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

/// Rows in compressed sparse row form: row `r`'s columns are `indices[indptr[r]..indptr[r + 1]]`
/// (increasing) and its values the same range of `values`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsrRows {
    /// Rows and columns.
    pub shape: (usize, usize),
    /// Where each row starts in `indices` and `values`, then their length.
    pub indptr: Vec<usize>,
    /// Column indices.
    pub indices: Vec<u32>,
    /// Values, one per index.
    pub values: Vec<f32>,
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
    pub(super) keys: Vec<u64>,
    /// Readable names of the sparse columns.
    pub(super) names: Vec<String>,
    /// IDF of each sparse column.
    pub(super) idf: Vec<f32>,
    #[serde(skip)]
    index: ColumnIndex,
}

/// A fitted vectoriser's feature key → column lookup, cheap to share between threads (an
/// [`Extractor`](super::Extractor) given one resolves columns while it extracts).
#[derive(Debug, Clone, Default)]
pub struct ColumnIndex(Arc<ColumnMaps>);

/// The vocabulary split in two maps: bigrams, looked up at nearly every word, and the rest,
/// looked up once per distinct word. Each map is half the size or less of one map of all keys,
/// so more of the bigram map stays in a core's cache.
#[derive(Debug, Default)]
struct ColumnMaps {
    bigrams: FxHashMap<u64, u32>,
    rest: FxHashMap<u64, u32>,
    /// Whether `rest` may hold bigrams: some key's name is missing (left empty, or `#` and the
    /// key in hex), so it could not be told apart by its space.
    rest_may_hold_bigrams: bool,
}

impl ColumnIndex {
    /// The column of a feature key, if in the vocabulary.
    #[inline]
    pub fn get(&self, key: u64) -> Option<u32> {
        let m = &*self.0;
        m.rest.get(&key).or_else(|| m.bigrams.get(&key)).copied()
    }

    /// The column of a bigram's key, if in the vocabulary. When every name says which keys are
    /// bigrams, only the bigram map is asked: a bigram missing there is in neither map, and
    /// asking the other map as well cost a second cache miss per missing bigram (a measurable
    /// share of scoring's CPU, BENCHMARKS.md). The answer is [`ColumnIndex::get`]'s for any key
    /// made as a bigram's, unless that 64-bit key equals another feature's, which no corpus is
    /// expected to produce (tens of millions of distinct bigrams against some 10⁵ other keys:
    /// odds near 10⁻⁷).
    #[inline]
    pub fn get_bigram(&self, key: u64) -> Option<u32> {
        let m = &*self.0;
        match m.bigrams.get(&key) {
            Some(&c) => Some(c),
            None if m.rest_may_hold_bigrams => m.rest.get(&key).copied(),
            None => None,
        }
    }
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
    pub fn fit(
        params: VectoriserParams,
        docs: &[&DocFeatures],
        names: &Names,
    ) -> Result<Vectoriser> {
        let params = params.check()?;
        let mut df: FxHashMap<u64, u32> = FxHashMap::default();
        for d in docs {
            for k in d.keys() {
                *df.entry(k).or_insert(0) += 1;
            }
        }
        let mut kept: Vec<(u64, u32)> = df
            .into_iter()
            .filter(|&(_, n)| n as usize >= params.min_df)
            .collect();
        kept.sort_unstable();
        Vectoriser::from_frequencies(params, &kept, docs.len(), Some(names))
    }

    /// A vectoriser from the document frequency of each kept key (sorted by key) among
    /// `n_docs` documents. Without `names`, column names are left empty (for models that are
    /// never shown, such as cross-validation folds).
    ///
    /// # Errors
    /// [`Error::Training`] when no key is kept.
    pub(crate) fn from_frequencies(
        params: VectoriserParams,
        kept: &[(u64, u32)],
        n_docs: usize,
        names: Option<&Names>,
    ) -> Result<Vectoriser> {
        if kept.is_empty() {
            return Err(Error::Training(format!(
                "no feature occurs in {} or more documents",
                params.min_df
            )));
        }
        let n = n_docs as f32;
        let keys = kept.iter().map(|p| p.0).collect();
        let idf = kept
            .iter()
            .map(|&(_, df)| ((1.0 + n) / (1.0 + df as f32)).ln() + 1.0)
            .collect();
        let names = kept
            .iter()
            .map(|(k, _)| match names {
                Some(names) => names
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| format!("#{k:016x}")),
                None => String::new(),
            })
            .collect();
        let mut v = Vectoriser {
            params,
            keys,
            names,
            idf,
            index: ColumnIndex::default(),
        };
        v.build_index();
        Ok(v)
    }

    /// Rebuilds the key → column index after deserialising.
    pub fn build_index(&mut self) {
        // Units are single tokens; only a bigram's name has a space.
        let is_bigram = |name: &String| name.contains(' ');
        let n_bigrams = self.names.iter().filter(|n| is_bigram(n)).count();
        let mut maps = ColumnMaps {
            bigrams: FxHashMap::with_capacity_and_hasher(n_bigrams, Default::default()),
            rest: FxHashMap::with_capacity_and_hasher(
                self.names.len() - n_bigrams,
                Default::default(),
            ),
            rest_may_hold_bigrams: false,
        };
        // `fit` makes the keys strictly increasing; a repeated key (from elsewhere) keeps its
        // last column, in one map.
        let unique = self.keys.windows(2).all(|w| w[0] < w[1]);
        for (i, (&k, name)) in self.keys.iter().zip(&self.names).enumerate() {
            if !unique {
                maps.bigrams.remove(&k);
                maps.rest.remove(&k);
            }
            maps.rest_may_hold_bigrams |= name.is_empty() || name.starts_with('#');
            let map = if is_bigram(name) {
                &mut maps.bigrams
            } else {
                &mut maps.rest
            };
            map.insert(k, (i + N_DENSE) as u32);
        }
        self.index = ColumnIndex(Arc::new(maps));
    }

    /// The key → column lookup, to share with extractors.
    pub fn column_index(&self) -> ColumnIndex {
        self.index.clone()
    }

    /// Checks a deserialised vectoriser's internal consistency.
    ///
    /// # Errors
    /// [`Error::InvalidParams`] when its arrays disagree in length or its params fail.
    pub fn validate(&self) -> Result<()> {
        self.params.clone().check()?;
        if self.keys.len() != self.names.len() || self.keys.len() != self.idf.len() {
            return Err(Error::InvalidParams(
                "vectoriser arrays differ in length".into(),
            ));
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
        self.index.get(key)
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

    /// Turns document features into a row: the weighted mean of each sentence's
    /// unit-length TF-IDF vector, after the dense features.
    pub fn transform(&self, doc: &DocFeatures) -> Row {
        let mut acc: Vec<(u32, f32)> = Vec::new();
        let mut cols: Vec<(u32, f32)> = Vec::new();
        for (weight, tf) in &doc.sentences {
            cols.clear();
            cols.extend(
                tf.iter().filter_map(|&(k, tf)| {
                    self.column(k).map(|c| (c, sublinear(tf) * self.idf(c)))
                }),
            );
            let norm = cols.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
            if norm > 0.0 {
                acc.extend(cols.iter().map(|&(c, v)| (c, weight * v / norm)));
            }
        }
        sum_by_key(&mut acc);
        let mut row = Row::default();
        for (i, &d) in doc.dense.iter().enumerate() {
            if d != 0.0 {
                row.indices.push(i as u32);
                row.values.push(d * self.params.dense_scale);
            }
        }
        for (c, v) in acc {
            row.indices.push(c);
            row.values.push(v);
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::mix;

    /// The index keeps bigrams apart from the rest, by name. `get` finds every key; the bigram
    /// lookup finds bigrams, and any key when some name is missing; neither finds an absent key.
    /// Keys in `fit`'s order (strictly increasing) and in any order agree.
    #[test]
    fn column_lookups_find_keys_in_their_maps() {
        let mut kept: Vec<(u64, u32)> = (0..1000u64).map(|i| (mix(i, 0x77), 2)).collect();
        let mut names = Names::default();
        for (i, &(k, _)) in kept.iter().enumerate() {
            let name = match i % 3 {
                0 => format!("w{i} x{i}"),
                1 => format!("w{i}"),
                _ => format!("cp~w{i}"),
            };
            names.insert(k, name);
        }
        let mut partly = names.clone();
        partly.remove(&kept[1].0);
        let sorted = {
            let mut s = kept.clone();
            s.sort_unstable();
            s
        };
        let unsorted = kept.clone();
        for kept in [&sorted, &unsorted] {
            for (names, named) in [(Some(&names), true), (Some(&partly), false), (None, false)] {
                let v = Vectoriser::from_frequencies(VectoriserParams::default(), kept, 10, names)
                    .expect("keys kept");
                let index = v.column_index();
                for (i, &(k, _)) in kept.iter().enumerate() {
                    let want = Some((i + N_DENSE) as u32);
                    assert_eq!(index.get(k), want);
                    assert_eq!(v.column(k), want);
                    let is_bigram =
                        names.is_some_and(|n| n.get(&k).is_some_and(|n| n.contains(' ')));
                    let found = if named && !is_bigram { None } else { want };
                    assert_eq!(index.get_bigram(k), found, "key {i}");
                }
                for i in 0..1000u64 {
                    let absent = mix(i, 0x78);
                    assert_eq!(index.get(absent), None);
                    assert_eq!(index.get_bigram(absent), None);
                }
            }
        }
        // A repeated key (not made by `fit`) keeps its last column.
        let k = kept[0].0;
        kept.push((k, 3));
        let v = Vectoriser::from_frequencies(VectoriserParams::default(), &kept, 10, Some(&names))
            .expect("keys kept");
        let last = Some((kept.len() - 1 + N_DENSE) as u32);
        assert_eq!((v.column(k), v.column_index().get_bigram(k)), (last, last));
    }
}
