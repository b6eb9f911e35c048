//! Scoring one article: features resolved to the model's columns while they are extracted,
//! each sentence's unit-length TF-IDF vector built in a small table, the two models' logits
//! summed per sentence (polarity: conciliatory or confrontational; relevance: whether the
//! article takes a stance at all), the label, and the evidence: the sentences and terms that
//! moved the polarity logit most. An article that never names its counterpart is not scored.

use chrono::NaiveDate;
use rustc_hash::FxHashMap;

use super::Classifier;
use crate::actors::{ActorRef, Gazetteer};
use crate::article::{Article, Evidence, Label, Score, TermContribution};
use crate::features::{sublinear, Doc, Extracted, Extractor, NO_COLUMN, N_DENSE};
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
    /// Names resolved for a date (their aliases may mean another actor at another date).
    resolved: FxHashMap<(String, Option<NaiveDate>), Option<ActorRef>>,
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

    /// A name resolved for an article of `date`; `None` for no name, or one that names nothing
    /// (only a bracketed code).
    fn resolve(&mut self, name: Option<&str>, date: Option<NaiveDate>) -> Option<ActorRef> {
        let key = (name?.to_string(), date);
        if let Some(r) = self.resolved.get(&key) {
            return r.clone();
        }
        let r = Some(Gazetteer::builtin().resolve_at(&key.0, date)).filter(|r| !r.is_empty());
        if self.resolved.len() > 10_000 {
            self.resolved.clear();
        }
        self.resolved.insert(key, r.clone());
        r
    }

    /// Scores one article toward its counterpart, with evidence.
    pub fn score(
        &mut self,
        article: &Article,
        counterpart: Option<&str>,
        actor: Option<&str>,
    ) -> Score {
        let date = article.date();
        let cp = self.resolve(article.counterpart.as_deref().or(counterpart), date);
        let act = self.resolve(article.actor.as_deref().or(actor), date);
        let c = self.classifier;
        let file = &*c.file;
        let vec = &file.vectoriser;
        let columns = &*c.columns;
        let doc = Doc {
            title: article.title.as_deref(),
            text: &article.text,
            counterpart: cp.as_ref(),
            actor: act.as_ref(),
            date,
        };
        self.extractor.extract(doc, None, &mut self.extracted);
        let ex = &self.extracted;

        // Per sentence: term frequencies by column, its unit-length TF-IDF vector, scaled by
        // the sentence's weight — exactly as `Vectoriser::transform` builds the row. Both models
        // read the same row; the evidence explains the polarity model's logit.
        let n_sent = ex.analysis.sentences.len();
        let mut sent_total = vec![0f64; n_sent];
        // Per sentence, its terms' contributions and its dense features' contributions. Terms
        // are named from these only for the sentences chosen as evidence.
        self.term_contrib.clear();
        self.ranges.clear();
        self.ranges.resize(n_sent, (0, 0));
        self.dense_contrib.clear();
        self.dense_contrib.resize(n_sent, [0.0; N_DENSE]);
        let intercept = file.polarity_sign() * file.polarity.intercept;
        let mut logit = intercept;
        let mut unattributed = intercept;
        let mut relevance = file.relevance.intercept;
        let mut start = 0;
        while start < ex.occurrences.len() {
            let sentence = ex.occurrences[start].sentence;
            let mut end = start;
            while end < ex.occurrences.len() && ex.occurrences[end].sentence == sentence {
                crate::text::work::step(crate::text::work::Stage::Score);
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
                let v = sublinear(*tf) * columns[*c1 as usize - 1].idf;
                *x = v;
                norm2 += v * v;
            }
            let first = self.term_contrib.len();
            if norm2 > 0.0 {
                let scale = ex.weights[sentence as usize] / norm2.sqrt();
                for &slot in &terms.touched {
                    crate::text::work::step(crate::text::work::Stage::Score);
                    let (c1, _, x) = terms.slots[slot as usize];
                    let column = columns[c1 as usize - 1];
                    let value = (x * scale) as f64;
                    let contribution = column.polarity as f64 * value;
                    relevance += column.relevance as f64 * value;
                    sent_total[sentence as usize] += contribution;
                    self.term_contrib.push((c1 - 1, contribution));
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
                    let value = scale * (*a as f64) * v as f64;
                    let contribution = columns[k].polarity as f64 * value;
                    relevance += columns[k].relevance as f64 * value;
                    sent_total[s] += contribution;
                    self.dense_contrib[s][k] = contribution;
                    logit += contribution;
                }
            }
        }
        // Whether the counterpart is mentioned belongs to no sentence.
        let mentioned = ex.dense[N_DENSE - 1] as f64 * scale;
        logit += mentioned * columns[N_DENSE - 1].polarity as f64;
        unattributed += mentioned * columns[N_DENSE - 1].polarity as f64;
        relevance += mentioned * columns[N_DENSE - 1].relevance as f64;
        let p = sigmoid(logit);
        // No stance toward a counterpart the article never names: its polarity is that of the
        // text as a whole, and says nothing about the counterpart.
        let unmentioned = cp.is_some() && ex.mentions == 0;
        let p_stance = if unmentioned { 0.0 } else { sigmoid(relevance) };
        let label = if unmentioned {
            Label::Unmentioned
        } else if p_stance < file.stance_threshold {
            Label::Neutral
        } else if p >= 0.5 {
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
            crate::text::work::step(crate::text::work::Stage::Score);
            best_first(&mut terms, EVIDENCE_TERMS, |a, b| {
                b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0))
            });
            let sent = &ex.analysis.sentences[s];
            let (part, start, end) = ex.locate(sent);
            evidence.push(Evidence {
                part,
                sentence: ex.sentence_text(sent).to_string(),
                start,
                end,
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
            // An unmentioned article's is 0 exactly (not -0: it has no sign).
            score: if unmentioned {
                0.0
            } else {
                p_stance * (2.0 * p - 1.0)
            },
            p_conciliatory: p,
            p_stance,
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
    use crate::article::Part;
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
    /// gives the probabilities of the plain path: features by key, `Vectoriser::transform`, a
    /// dot product with each model's weights; with a title, and toward a counterpart the
    /// gazetteer does not know (whose terms have domain copies).
    #[test]
    fn scorer_agrees_with_the_vectoriser_row() {
        let c = Classifier::builtin().unwrap();
        let file = &*c.file;
        let vec = &file.vectoriser;
        let cases = [
            (None, "Havana rejected talks with Washington. The U.S. did not welcome the move; Cuba said it would never negotiate.", "United States"),
            (Some("CUBA AND U.S. AGREE"), "The United States and Cuba agreed to restore ties, praising 3 rounds of talks. Officials welcomed the deal.", "United States"),
            (None, "Nothing here names the counterpart. Ministers met in Geneva.", "United States"),
            (Some("Gondor thanks Arnor"), "Gondor praised Arnor for its help and signed a trade pact.", "Gondor"),
        ];
        let mut plain = Extractor::new(c.lexicon.clone());
        let mut resolving = Extractor::new(c.lexicon.clone()).with_columns(vec.column_index());
        let mut scorer = c.scorer();
        for (title, text, cp_name) in cases {
            let cp = Gazetteer::builtin().resolve(cp_name);
            let doc = Doc {
                title,
                ..Doc::text(text, Some(&cp))
            };
            let (mut a, mut b) = (Extracted::default(), Extracted::default());
            plain.extract(doc, None, &mut a);
            resolving.extract(doc, None, &mut b);
            assert_eq!(a.occurrences.len(), b.occurrences.len());
            for (x, y) in a.occurrences.iter().zip(&b.occurrences) {
                assert_eq!(x.key, y.key);
                assert_eq!(x.column, NO_COLUMN);
                assert_eq!(y.column, vec.column(y.key).unwrap_or(NO_COLUMN));
            }
            let row = vec.transform(&DocFeatures::from_extracted(&a));
            let logit = |m: &crate::model::LogisticRegression| m.logit(&row.indices, &row.values);
            let p = sigmoid(file.polarity_sign() * logit(&file.polarity));
            let q = sigmoid(logit(&file.relevance));
            let mut art = article(text);
            art.title = title.map(str::to_string);
            let r = scorer.score(&art, Some(cp_name), None);
            assert!(
                (r.p_conciliatory - p).abs() < 1e-6,
                "{text}: {} vs {p}",
                r.p_conciliatory
            );
            if r.label != Label::Unmentioned {
                assert!(
                    (r.p_stance - q).abs() < 1e-6,
                    "{text}: {} vs {q}",
                    r.p_stance
                );
            }
        }
    }

    #[test]
    fn an_article_that_never_names_the_counterpart_is_unmentioned() {
        let c = Classifier::builtin().unwrap();
        let r = c.score(
            &article("Cuba thanked Mexico."),
            Some("United States"),
            Some("Cuba"),
        );
        assert_eq!(r.label, Label::Unmentioned);
        assert_eq!((r.mentions, r.score, r.p_stance), (0, 0.0, 0.0));
        // Named only in the title, it is mentioned.
        let mut a = article("Officials spoke on Monday.");
        a.title = Some("Cuba thanks the United States".into());
        let r = c.score(&a, Some("United States"), Some("Cuba"));
        assert_eq!(r.mentions, 1);
        assert_ne!(r.label, Label::Unmentioned);
    }

    #[test]
    fn the_title_is_scored_and_cited_as_evidence() {
        let c = Classifier::builtin().unwrap();
        let mut a =
            article("The ministry issued a statement on Tuesday. It was read on the radio.");
        a.title = Some("Cuba rejects US talks, accuses Washington of aggression".into());
        let r = c.score(&a, Some("United States"), Some("Cuba"));
        assert_eq!(r.label, Label::Confrontational, "{r:?}");
        let top = &r.evidence[0];
        assert_eq!(top.part, Part::Title);
        assert_eq!(top.sentence, a.title.as_deref().unwrap());
        assert_eq!((top.start, top.end), (0, top.sentence.len()));
    }

    /// The polarity logit, from a score's `p_conciliatory`.
    fn logit_of(p: f64) -> f64 {
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
        let logit = logit_of(r.p_conciliatory);
        assert!(
            (sum - logit).abs() < 1e-9 * (1.0 + logit.abs()),
            "{sum} vs {logit}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Scores are finite and in range; each evidence sentence slices back out of the title or
        /// the text at its offsets; the evidence adds up to the logit whenever every sentence
        /// fits in it (up to two sentences, title included); scoring again gives the same result.
        #[test]
        fn scores_are_finite_in_range_and_evidence_adds_up(
            sentences in proptest::collection::vec("\\PC{0,120}", 0..4),
            title in proptest::option::of("[A-Za-z ]{1,40}"),
            cp in "[A-Za-z ]{0,12}",
        ) {
            let c = Classifier::builtin().unwrap();
            let mut s = c.scorer();
            let text: String = sentences.iter().map(|t| t.replace(['.', '!', '?', '\n', '\r'], " ")).collect::<Vec<_>>().join(". ");
            let mut a = article(&text);
            a.title = title.clone();
            let r = s.score(&a, Some(&cp), None);
            prop_assert!(r.score.is_finite() && (-1.0..=1.0).contains(&r.score));
            prop_assert!((0.0..=1.0).contains(&r.p_conciliatory));
            prop_assert!((0.0..=1.0).contains(&r.p_stance));
            for e in &r.evidence {
                let source = match e.part {
                    Part::Title => a.title.as_deref().unwrap_or_default(),
                    Part::Text => &text,
                };
                prop_assert_eq!(&source[e.start..e.end], e.sentence.as_str());
            }
            let title_sentences = title.as_deref().map_or(0, |t| crate::text::analyze(t).sentences.len());
            let sentences = crate::text::analyze(&text).sentences.len() + title_sentences;
            if sentences <= EVIDENCE_AGAINST.min(EVIDENCE_SENTENCES) {
                let sum = r.intercept + r.evidence.iter().map(|e| e.contribution).sum::<f64>();
                let logit = logit_of(r.p_conciliatory);
                prop_assert!((sum - logit).abs() < 1e-9 * (1.0 + logit.abs()), "{} vs {}", sum, logit);
            }
            // Scoring alone equals scoring inside a batch (no state leaks between articles).
            let again = s.score(&a, Some(&cp), None);
            prop_assert_eq!(r, again);
        }
    }

    /// Linear time, pinned as work: for every shape of input in [`work::shapes`], each scoring
    /// stage's inner-loop steps on an article 4 and 16 times as long are at most 4 and 16 times
    /// (plus a tenth and a constant) those on the first. Regressions: a run of "!" was re-read
    /// once per mark, an unknown counterpart's mentions were each compared with all found before.
    #[test]
    fn work_grows_linearly_with_article_length() {
        use crate::text::work;
        let c = Classifier::builtin().unwrap();
        let mut scorer = c.scorer();
        let counts = work::growth(|text, cp| {
            let s = scorer.score(&article(text), Some(cp), Some("Cuba"));
            assert!(s.score.is_finite());
        });
        // The counters count: every shape has tokenizer steps, prose has scorer steps.
        let (tokenize, score) = (work::Stage::Tokenize as usize, work::Stage::Score as usize);
        assert!(counts.iter().all(|(_, c)| c[0][tokenize] > 0));
        assert!(counts[0].1[0][score] > 0, "{:?}", counts[0]);
        let over = work::over_linear(&counts);
        assert!(over.is_empty(), "{over:#?}");
    }
}
