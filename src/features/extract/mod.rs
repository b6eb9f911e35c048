//! Per-article feature extraction, in passes over the article's tokens, one file each:
//!
//! 1. `words.rs`: tokens → word records (stem, lexicon entries, flags, unigram columns), each
//!    distinct word analysed once;
//! 2. `roles.rs`: actor mentions → the role of each token (counterpart, actor, other actor);
//! 3. `negation.rs`: the scopes of negators ("not") and of rejecting cues ("rejected");
//! 4. `context.rs`: each word's weight as context of a counterpart mention;
//! 5. `polarity.rs`: lexicon matches → each sentence's valence and cue sums, and the cue
//!    categories matched;
//! 6. `directed.rs`: for each cue, the roles of who does it and to whom (agent, patient);
//! 7. `units.rs`: role-masked stemmed unigrams and bigrams, context terms, cue terms and
//!    directed cue terms → hashed feature occurrences, each tied to its sentence, in text
//!    order (with a second, domain copy of each toward a counterpart the gazetteer does not
//!    know);
//! 8. `dense.rs`: each sentence's relevance weight and the dense lexicon features.
//!
//! An article's title is extracted with it, as its first paragraph. Every contribution can so
//! be traced back to a sentence of the title or the text. No I/O.

mod context;
mod dense;
mod directed;
mod negation;
mod polarity;
mod roles;
mod units;
mod words;

pub use context::CONTEXT_WINDOW;

use std::sync::Arc;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;

use super::keys::{mix, SALT_CUE, SALT_CUE_CTX, UNIT_ACTOR, UNIT_CP, UNIT_NUM, UNIT_OTHER};
use super::lexicon::{Lexicon, CATEGORIES};
use super::ColumnIndex;
use crate::actors::{ActorRef, Gazetteer, Mention};
use crate::article::Part;
use crate::text::{self, Analysis, Sentence};
use words::{column_of, Hot, UnitColumns, Words};

/// Number of dense lexicon features at the start of every row.
pub const N_DENSE: usize = 11;

/// Names of the dense features, in column order.
pub const DENSE_NAMES: [&str; N_DENSE] = [
    "lexicon:text_positive",
    "lexicon:text_negative",
    "lexicon:text_compound",
    "lexicon:counterpart_positive",
    "lexicon:counterpart_negative",
    "lexicon:counterpart_compound",
    "cues:text_conciliatory",
    "cues:text_confrontational",
    "cues:counterpart_conciliatory",
    "cues:counterpart_confrontational",
    "counterpart:mentioned",
];

/// [`Occurrence::column`] of a feature outside the vocabulary, or when none is attached.
pub const NO_COLUMN: u32 = u32::MAX;

/// One feature occurrence: hashed key, value, and the sentence it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Occurrence {
    /// Hash of the feature's name.
    pub key: u64,
    /// Its value (1 for a plain n-gram, less for far context words).
    pub value: f32,
    /// Index of the sentence it occurred in.
    pub sentence: u32,
    /// Its column in the vocabulary given by [`Extractor::with_columns`]; [`NO_COLUMN`] when
    /// not in it or when the extractor has none.
    pub column: u32,
}

/// Everything extracted from one article toward one counterpart.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// Sparse feature occurrences, in text order.
    pub occurrences: Vec<Occurrence>,
    /// Dense lexicon feature values of the document: the weighted mean of `sentence_dense`.
    pub dense: [f32; N_DENSE],
    /// Per sentence, the raw lexicon sums its dense features are computed from.
    pub dense_parts: Vec<[f32; N_DENSE]>,
    /// Per sentence, its dense features.
    pub sentence_dense: Vec<[f32; N_DENSE]>,
    /// Per sentence, its weight in the document (relevance, summing to 1).
    pub weights: Vec<f32>,
    /// How often the counterpart was found.
    pub mentions: usize,
    /// The analysed text: the title, a blank line and the text, or the text alone.
    pub analysed: String,
    /// Bytes of `analysed` before the text: the title and its separator (0 without a title).
    pub title_len: usize,
    /// The sentences of `analysed`.
    pub analysis: Analysis,
}

impl Extracted {
    /// Where a sentence lies, and its byte span in the title or the text.
    pub fn locate(&self, s: &Sentence) -> (Part, usize, usize) {
        if s.start < self.title_len {
            (Part::Title, s.start, s.end)
        } else {
            (Part::Text, s.start - self.title_len, s.end - self.title_len)
        }
    }

    /// A sentence's text.
    pub fn sentence_text(&self, s: &Sentence) -> &str {
        &self.analysed[s.start..s.end]
    }
}

/// What one extraction reads: an article's text and title, and toward whom and when it is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Doc<'a> {
    /// The headline, extracted as the text's first paragraph.
    pub title: Option<&'a str>,
    /// The body.
    pub text: &'a str,
    /// Whom the stance is toward.
    pub counterpart: Option<&'a ActorRef>,
    /// Whose stance it is.
    pub actor: Option<&'a ActorRef>,
    /// The article's date: aliases take the meaning it gives them ("Moscow" before 1992).
    pub date: Option<NaiveDate>,
}

impl<'a> Doc<'a> {
    /// A text alone, toward `counterpart`.
    pub fn text(text: &'a str, counterpart: Option<&'a ActorRef>) -> Doc<'a> {
        Doc {
            text,
            counterpart,
            ..Doc::default()
        }
    }
}

/// Readable names of the hashed features seen, filled only when asked for (training).
pub type Names = FxHashMap<u64, String>;

/// The vocabulary's columns that can be resolved before any text is seen.
#[derive(Debug, Clone)]
struct Columns {
    /// The vocabulary columns are resolved against, if any.
    index: Option<ColumnIndex>,
    /// Columns of the role placeholders: counterpart, actor, other actor.
    roles: [UnitColumns; 3],
    /// Columns of a number's unigrams.
    number: UnitColumns,
    /// Columns of the cue features, by `2 × category + negated`: plain, then in context.
    cues: Vec<[u32; 2]>,
}

impl Columns {
    /// The columns in `index`; all [`NO_COLUMN`] without one.
    fn resolve(index: Option<ColumnIndex>) -> Columns {
        let c = index.as_ref();
        let [cp, actor, other, number] =
            [UNIT_CP, UNIT_ACTOR, UNIT_OTHER, UNIT_NUM].map(|u| UnitColumns::resolve(c, u));
        let cues = (0..2 * CATEGORIES.len() as u64)
            .map(|ck| {
                [
                    column_of(c, mix(ck, SALT_CUE)),
                    column_of(c, mix(ck, SALT_CUE_CTX)),
                ]
            })
            .collect();
        Columns {
            roles: [cp, actor, other],
            number,
            cues,
            index,
        }
    }
}

/// What the passes know of each token of the article being extracted; the buffers are reused
/// from article to article.
#[derive(Debug, Default)]
struct TokenState {
    /// Pass 1: each token's word record.
    hot: Vec<Hot>,
    /// Pass 1: the tokens that may start an actor alias.
    alias_starts: Vec<u32>,
    /// Pass 2: the actor mentions found.
    mentions: Vec<Mention>,
    /// Pass 2: each token's role (`roles::ROLE_*`).
    roles: Vec<u8>,
    /// Pass 2: the token spans of the counterpart's mentions.
    cp_mentions: Vec<(usize, usize)>,
    /// Pass 3: whether each token is in a negation scope.
    negated: Vec<bool>,
    /// Pass 3: whether each token follows a rejecting cue ("rejected dialogue").
    rejected: Vec<bool>,
    /// Pass 4: each token's weight as counterpart context (0 outside any context).
    ctx: Vec<f32>,
    /// Pass 5: each token's unit hash, as lexicon matching compares them.
    stems: Vec<u64>,
    /// Pass 5: the cues matched, in text order.
    cue_hits: Vec<CueHit>,
}

/// A cue matched by pass 5 and read by passes 6 and 7.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CueHit {
    /// Its first token.
    start: u32,
    /// One past its last token.
    end: u32,
    /// `2 × category + negated`.
    ck: u8,
    /// Whether its signed strength is conciliatory.
    conciliatory: bool,
    /// Pass 6: the roles of its agent and patient (`roles::ROLE_*`).
    agent: u8,
    patient: u8,
}

/// Extracts features from articles; holds a per-thread word cache and scratch buffers.
pub struct Extractor {
    words: Words,
    columns: Columns,
    state: TokenState,
}

impl Extractor {
    /// Creates an extractor over a lexicon and the built-in gazetteer.
    pub fn new(lexicon: Arc<Lexicon>) -> Self {
        Extractor {
            words: Words::new(lexicon),
            columns: Columns::resolve(None),
            state: TokenState::default(),
        }
    }

    /// Resolves every occurrence's [`Occurrence::column`] in `columns` while extracting, the
    /// columns of a word's unigrams once per distinct word.
    pub fn with_columns(mut self, columns: ColumnIndex) -> Self {
        self.columns = Columns::resolve(Some(columns));
        self.words.clear();
        self
    }

    /// The gazetteer used to find actors.
    pub fn gazetteer(&self) -> &'static Gazetteer {
        self.words.gazetteer
    }

    /// Extracts the features of a document into `out`. With `names`, records a readable name
    /// for every feature key produced.
    pub fn extract(&mut self, doc: Doc<'_>, mut names: Option<&mut Names>, out: &mut Extracted) {
        self.words.clear_if_full();
        out.analysed.clear();
        out.title_len = 0;
        // Offsets in the title are the title's own, so it is copied as given.
        if let Some(title) = doc.title.filter(|t| !t.trim().is_empty()) {
            out.analysed.push_str(title);
            out.analysed.push_str("\n\n");
            out.title_len = out.analysed.len();
        }
        out.analysed.push_str(doc.text);
        let text = out.analysed.as_str();
        text::analyze_into(text, &mut out.analysis);
        let (tokens, sentences) = (&out.analysis.tokens, &out.analysis.sentences);
        let state = &mut self.state;
        self.words.tokens(text, tokens, &self.columns, state);
        let (counterpart, actor) = (doc.counterpart, doc.actor);
        out.mentions = roles::mark(
            &self.words,
            tokens.len(),
            (counterpart, actor),
            doc.date,
            state,
        );
        negation::mark(tokens, state);
        context::weigh(sentences, tokens, state);
        out.dense_parts.clear();
        out.dense_parts.resize(sentences.len(), [0.0; N_DENSE]);
        polarity::match_lexicon(
            &self.words.lexicon,
            sentences,
            tokens,
            state,
            &mut out.dense_parts,
        );
        directed::agents_and_patients(&self.words, text, (tokens, sentences), state);
        out.occurrences.clear();
        units::emit(
            &self.words,
            &self.columns,
            state,
            (tokens, sentences),
            names.as_deref_mut(),
            &mut out.occurrences,
        );
        if counterpart.is_some_and(|c| c.entities.is_empty()) {
            units::add_domain_copies(&self.columns, names, &mut out.occurrences);
        }
        dense::sentence_weights(
            sentences,
            &state.roles,
            (out.mentions, out.title_len),
            &mut out.weights,
        );
        dense::features(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An extractor with the built-in lexicon, and the analysis of `text` with passes 1 and 2
    /// run toward the United States, actor Cuba: what every later pass starts from.
    pub(super) fn through_roles(text: &str) -> (Extractor, Analysis, usize) {
        let lexicon = Arc::new(Lexicon::builtin().unwrap());
        let mut ex = Extractor::new(lexicon);
        let g = Gazetteer::builtin();
        let (cp, actor) = (g.resolve("United States"), g.resolve("Cuba"));
        let analysis = text::analyze(text);
        ex.words
            .tokens(text, &analysis.tokens, &ex.columns, &mut ex.state);
        let mentions = roles::mark(
            &ex.words,
            analysis.tokens.len(),
            (Some(&cp), Some(&actor)),
            None,
            &mut ex.state,
        );
        (ex, analysis, mentions)
    }
}
