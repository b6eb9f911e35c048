//! One document's features before vectorising: per sentence its relevance weight and its term
//! frequencies by feature key, and the document's dense lexicon features.

use super::extract::{Extracted, N_DENSE};

/// Sorts `(key, value)` pairs by key and merges equal keys by adding their values.
pub fn sum_by_key<K: Ord + Copy, V: std::ops::AddAssign + Copy>(pairs: &mut Vec<(K, V)>) {
    pairs.sort_unstable_by_key(|p| p.0);
    pairs.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });
}

/// One document's features before vectorising: per sentence, its weight and its term
/// frequencies by key; and the document's dense features.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocFeatures {
    /// Per sentence: `(weight, [(key, summed value)])`, keys sorted and unique.
    pub sentences: Vec<(f32, Vec<(u64, f32)>)>,
    /// Dense lexicon features.
    pub dense: [f32; N_DENSE],
}

impl DocFeatures {
    /// Groups an extraction's occurrences by sentence and key.
    pub fn from_extracted(e: &Extracted) -> Self {
        let mut sentences: Vec<(f32, Vec<(u64, f32)>)> =
            e.weights.iter().map(|&w| (w, Vec::new())).collect();
        for o in &e.occurrences {
            sentences[o.sentence as usize].1.push((o.key, o.value));
        }
        for (_, tf) in &mut sentences {
            sum_by_key(tf);
        }
        DocFeatures {
            sentences,
            dense: e.dense,
        }
    }

    /// The effective number of sentences (`1 / Σ weight²`), see [`effective_sentences`].
    pub fn effective_sentences(&self) -> f64 {
        let w: Vec<f32> = self.sentences.iter().map(|s| s.0).collect();
        effective_sentences(&w)
    }

    /// Distinct keys of the document, sorted.
    pub fn keys(&self) -> Vec<u64> {
        let mut k: Vec<u64> = self
            .sentences
            .iter()
            .flat_map(|(_, tf)| tf.iter().map(|p| p.0))
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    }
}

/// The effective number of sentences of weights summing to 1: `1 / Σ w²` (1 for one sentence,
/// n for n equal weights; 1 for no sentence at all).
pub fn effective_sentences(weights: &[f32]) -> f64 {
    let s: f64 = weights.iter().map(|&w| w as f64 * w as f64).sum();
    if s > 0.0 {
        1.0 / s
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_sentences_counts_equal_weights() {
        assert_eq!(effective_sentences(&[1.0]), 1.0);
        assert!((effective_sentences(&[0.25; 4]) - 4.0).abs() < 1e-9);
        assert_eq!(effective_sentences(&[]), 1.0);
    }
}
