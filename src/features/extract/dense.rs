//! Pass 8, sentence weights and dense features. When the counterpart is mentioned, what is said
//! in its sentences counts most and an article's unrelated paragraphs (other news, "Read more"
//! links) little; each sentence's weight is its relevance, normalised to sum to 1. Each
//! sentence's raw lexicon sums (pass 5) saturate into its dense features, and the document's
//! are their weighted mean, with whether the counterpart is mentioned at all.

use super::roles::{ROLE_ACTOR, ROLE_CP};
use super::{Extracted, N_DENSE};
use crate::text::Sentence;

/// Relevance of a sentence that mentions the counterpart; of one that mentions the actor or
/// neighbours a counterpart sentence; of any other sentence. Used only when the counterpart
/// is mentioned at all (otherwise every sentence counts alike). A document's features are the
/// relevance-weighted mean of its sentences' unit-length feature vectors, so background
/// sentences move it little.
const RELEVANCE: [f32; 3] = [1.0, 0.7, 0.2];
/// How many times its relevance a title sentence weighs: the headline states the stance most
/// plainly (chosen by cross-validation over the project's training articles; BENCHMARKS.md).
const TITLE_WEIGHT: f32 = 4.0;
/// How many times its relevance the first sentence of the text (the lead) weighs.
const LEAD_WEIGHT: f32 = 2.0;

/// Pass 8a: each sentence's weight in the document, from the roles of its tokens (pass 2) and
/// whether it is in the title (before byte `title_len`) or the text's first sentence.
pub(super) fn sentence_weights(
    sentences: &[Sentence],
    roles: &[u8],
    (mentions, title_len): (usize, usize),
    weights: &mut Vec<f32>,
) {
    let n = sentences.len();
    let mut rel = vec![if mentions > 0 { RELEVANCE[2] } else { 1.0 }; n];
    if mentions > 0 {
        let has = |s: &Sentence, role: u8| roles[s.tokens.clone()].contains(&role);
        for (si, s) in sentences.iter().enumerate() {
            if has(s, ROLE_CP) {
                rel[si] = RELEVANCE[0];
                for nb in [si.wrapping_sub(1), si + 1] {
                    if nb < n && rel[nb] < RELEVANCE[1] {
                        rel[nb] = RELEVANCE[1];
                    }
                }
            } else if has(s, ROLE_ACTOR) && rel[si] < RELEVANCE[1] {
                rel[si] = RELEVANCE[1];
            }
        }
    }
    let title = sentences.iter().take_while(|s| s.start < title_len).count();
    for r in &mut rel[..title] {
        *r *= TITLE_WEIGHT;
    }
    if let Some(lead) = rel.get_mut(title) {
        *lead *= LEAD_WEIGHT;
    }
    let total: f32 = rel.iter().sum();
    weights.clear();
    weights.extend(rel.iter().map(|r| r / total));
}

/// Pass 8b: `out.sentence_dense` from `out.dense_parts`, and `out.dense` as their mean weighted
/// by `out.weights`, with the last feature saying whether the counterpart is mentioned.
pub(super) fn features(out: &mut Extracted) {
    // Saturating transforms: positive and negative sums toward 1, their difference into -1..1.
    let sat = |x: f32, k: f32| x / (x + k);
    let compound = |x: f32| x / (x * x + 15.0).sqrt();
    out.sentence_dense.clear();
    for p in &out.dense_parts {
        let mut d = [0f32; N_DENSE];
        d[0] = sat(p[0], 4.0);
        d[1] = sat(p[1], 4.0);
        d[2] = compound(p[0] - p[1]);
        d[3] = sat(p[3], 2.0);
        d[4] = sat(p[4], 2.0);
        d[5] = compound(p[3] - p[4]);
        d[6] = sat(p[6], 10.0);
        d[7] = sat(p[7], 10.0);
        d[8] = sat(p[8], 5.0);
        d[9] = sat(p[9], 5.0);
        out.sentence_dense.push(d);
    }
    out.dense = [0.0; N_DENSE];
    for (d, a) in out.sentence_dense.iter().zip(&out.weights) {
        for (acc, v) in out.dense.iter_mut().zip(d).take(N_DENSE - 1) {
            *acc += a * v;
        }
    }
    out.dense[N_DENSE - 1] = if out.mentions > 0 { 1.0 } else { 0.0 };
}

#[cfg(test)]
mod tests {
    use super::super::tests::through_roles;
    use super::*;

    fn weights_of(text: &str, title_len: usize) -> Vec<f32> {
        let (ex, a, mentions) = through_roles(text);
        let mut w = Vec::new();
        sentence_weights(&a.sentences, &ex.state.roles, (mentions, title_len), &mut w);
        w
    }

    fn normalised(rel: &[f32]) -> Vec<f32> {
        let total: f32 = rel.iter().sum();
        rel.iter().map(|r| r / total).collect()
    }

    #[test]
    fn counterpart_sentences_weigh_most_then_neighbours_and_the_actor() {
        let w = weights_of(
            "Rain fell. Markets closed. Havana spoke. Washington agreed. Talks went on. \
             Snow fell.",
            0,
        );
        // The first sentence is the lead.
        let rel = [0.2 * LEAD_WEIGHT, 0.2, 0.7, 1.0, 0.7, 0.2];
        assert_eq!(w, normalised(&rel));
    }

    #[test]
    fn without_the_counterpart_every_sentence_counts_alike_but_the_lead() {
        assert_eq!(
            weights_of("Havana spoke. Rain fell.", 0),
            normalised(&[LEAD_WEIGHT, 1.0])
        );
    }

    #[test]
    fn the_title_weighs_most_and_the_lead_next() {
        let text = "CUBA REJECTS US TALKS\n\nHavana spoke. Rain fell. Snow fell.";
        let title_len = "CUBA REJECTS US TALKS\n\n".len();
        let w = weights_of(text, title_len);
        // Title (mentions the counterpart), lead (its neighbour), then background.
        let rel = [TITLE_WEIGHT, 0.7 * LEAD_WEIGHT, 0.2, 0.2];
        assert_eq!(w, normalised(&rel));
    }

    /// The document's dense features are the weighted mean of its sentences', saturated from
    /// the raw sums; the last says the counterpart is mentioned.
    #[test]
    fn dense_features_are_the_weighted_mean_of_the_sentences() {
        let mut out = Extracted {
            dense_parts: vec![[0.0; N_DENSE], [0.0; N_DENSE]],
            weights: vec![0.25, 0.75],
            mentions: 1,
            ..Extracted::default()
        };
        out.dense_parts[0][0] = 4.0; // positive valence: saturates to 4 / (4 + 4)
        out.dense_parts[1][7] = 10.0; // confrontational cues: 10 / (10 + 10)
        features(&mut out);
        assert_eq!(out.sentence_dense[0][0], 0.5);
        assert_eq!(out.sentence_dense[1][7], 0.5);
        assert!((out.sentence_dense[0][2] - 4.0 / 31f32.sqrt()).abs() < 1e-6);
        assert_eq!(out.dense[0], 0.125);
        assert_eq!(out.dense[7], 0.375);
        assert_eq!(out.dense[N_DENSE - 1], 1.0);
    }
}
