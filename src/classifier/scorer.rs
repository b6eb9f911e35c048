//! Scoring one article: features resolved to the model's columns while they are extracted,
//! each sentence's unit-length TF-IDF vector built in a small table, the logit summed per
//! sentence, the label (with the neutral band narrowed by the document's effective number of
//! sentences), and the evidence: the sentences and terms that moved the score most.

use rustc_hash::FxHashMap;

use super::Classifier;
use crate::actors::{ActorRef, Gazetteer};
use crate::article::{Article, Evidence, Label, Score, TermContribution};
use crate::features::{effective_sentences, sublinear, Extracted, Extractor, NO_COLUMN, N_DENSE};
use crate::model::sigmoid;

/// Most evidence sentences reported per article that push toward its score.
pub const EVIDENCE_SENTENCES: usize = 3;
/// Most evidence sentences reported that push against it (after those that push toward it).
pub const EVIDENCE_AGAINST: usize = 2;
/// Terms reported per evidence sentence.
pub const EVIDENCE_TERMS: usize = 5;

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

impl<'c> Scorer<'c> {
    /// Fresh scoring state for `classifier`.
    pub(super) fn new(classifier: &'c Classifier) -> Scorer<'c> {
        Scorer {
            classifier,
            extractor: Extractor::new(classifier.lexicon.clone())
                .with_columns(classifier.file.vectoriser.column_index()),
            extracted: Extracted::default(),
            terms: SentenceTerms::default(),
            term_contrib: Vec::new(),
            ranges: Vec::new(),
            dense_contrib: Vec::new(),
            resolved: FxHashMap::default(),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::DocFeatures;
    use proptest::prelude::*;

    fn article(text: &str) -> Article {
        Article {
            id: "t".into(),
            text: text.into(),
            ..Article::default()
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

    /// The logit of the model's positive class, from a score's `p_conciliatory`.
    fn logit_of(c: &Classifier, p_conciliatory: f64) -> f64 {
        let p = if c.file.model.positive == Label::Conciliatory {
            p_conciliatory
        } else {
            1.0 - p_conciliatory
        };
        (p / (1.0 - p)).ln()
    }

    /// The evidence's contributions plus `intercept` (the model's, with whether the counterpart
    /// is mentioned) add up to the logit when every sentence is shown.
    #[test]
    fn evidence_and_intercept_add_up_to_the_logit() {
        let c = Classifier::builtin().unwrap();
        let text = "Havana rejected talks with Washington. The US offered aid to Cuba. \
                    Officials in Havana accused the United States of economic war.";
        let r = c.score(&article(text), Some("United States"), Some("Cuba"));
        assert_eq!(r.evidence.len(), 3, "every sentence shown: {r:?}");
        let sum = r.intercept + r.evidence.iter().map(|e| e.contribution).sum::<f64>();
        let logit = logit_of(&c, r.p_conciliatory);
        assert!(
            (sum - logit).abs() < 1e-9 * (1.0 + logit.abs()),
            "{sum} vs {logit}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Scores are finite and in range, evidence quotes the text, the evidence adds up to
        /// the logit whenever every sentence fits in it (texts of up to two sentences), and
        /// scoring again gives the same result.
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
            let sentences = crate::text::analyze(&text).sentences.len();
            if sentences <= EVIDENCE_AGAINST.min(EVIDENCE_SENTENCES) {
                let sum = r.intercept + r.evidence.iter().map(|e| e.contribution).sum::<f64>();
                let logit = logit_of(&c, r.p_conciliatory);
                prop_assert!((sum - logit).abs() < 1e-9 * (1.0 + logit.abs()), "{} vs {}", sum, logit);
            }
            // Scoring alone equals scoring inside a batch (no state leaks between articles).
            let again = s.score(&a, Some(&cp), None);
            prop_assert_eq!(r, again);
        }
    }
}
