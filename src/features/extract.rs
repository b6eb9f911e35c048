//! Per-article feature extraction: tokens → role-masked units (counterpart, actor, other
//! actors as placeholders; words as stems, negated words marked) → hashed n-gram, context and
//! cue-category occurrences, each tied to its sentence, plus dense lexicon features with their
//! per-sentence parts so every contribution can be traced back to a sentence.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::lexicon::{CandidateSpan, Lexicon, ModifierKind, CATEGORIES};
use super::ColumnIndex;
use crate::actors::{find_literal_mentions, ActorRef, AliasWord, Gazetteer, Mention, Who};
use crate::text::{self, Analysis, StemCache, Token, TokenKind};

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

/// Words a negated polar word keeps of its valence, with the sign flipped.
const NEGATED_VALENCE: f32 = -0.6;
/// Share of a negated cue's strength kept, with the sign flipped ("did not reject").
const NEGATED_CUE: f32 = -0.5;
/// Words counted on each side of a counterpart mention.
pub const CONTEXT_WINDOW: usize = 8;
/// Words counted as near (full weight); farther words in the window count half.
const CONTEXT_NEAR: usize = 3;
/// Words cached before the word table is cleared between articles.
const MAX_WORDS: usize = 400_000;

/// [`Occurrence::column`] of a feature outside the vocabulary, or when none is attached.
pub const NO_COLUMN: u32 = u32::MAX;

/// [`Occurrence::column`] of a bigram while its article is extracted. Bigram columns are looked
/// up together once all the article's units are emitted: back to back, the lookups' cache misses
/// overlap, where looked up amid each word's other work each miss was waited for in turn.
const PENDING: u32 = u32::MAX - 1;

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
    /// The text's sentences.
    pub analysis: Analysis,
}

/// What is kept of a distinct word and read only now and then: its forms.
#[derive(Debug, Clone)]
struct WordInfo {
    norm: Box<str>,
    stem: Box<str>,
    /// What actor mention finding needs of it: the aliases it can start (read for words
    /// flagged [`F_ACTOR_START`]) and its forms' numbers.
    alias: AliasWord,
}

/// What every occurrence of a word needs, in 24 bytes: copied per token, so the passes over an
/// article read one compact array instead of chasing each word's [`WordInfo`].
#[derive(Debug, Clone, Copy)]
struct Hot {
    /// The word's stem hash; for a hyphen, the hyphen's hash; 0 for other tokens.
    unit: u64,
    /// Index into the word table.
    id: u32,
    /// `F_*` bits.
    flags: u8,
    /// The lexicon entries starting with the word.
    lex: CandidateSpan,
    /// Columns of its unit's features, resolved once per word (see [`UnitColumns`]).
    columns: UnitColumns,
}

const _: () = assert!(std::mem::size_of::<Hot>() == 24);

/// The columns of a unit's unigram features, plain and negated ([`NO_COLUMN`] without a
/// vocabulary or outside it). Its counterpart-context features are looked up where they occur:
/// only words near a mention have them, and a smaller per-word record makes every word faster.
#[derive(Debug, Clone, Copy)]
struct UnitColumns([u32; 2]);

impl UnitColumns {
    const NONE: UnitColumns = UnitColumns([NO_COLUMN; 2]);

    fn resolve(columns: Option<&ColumnIndex>, base: u64) -> UnitColumns {
        let negated = mix(base, NEG_SALT);
        UnitColumns([
            column_of(columns, mix(base, SALT_UNI)),
            column_of(columns, mix(negated, SALT_UNI)),
        ])
    }

    #[inline]
    fn unigram(self, negated: bool) -> u32 {
        self.0[negated as usize]
    }
}

/// The column of `key` in `columns`; [`NO_COLUMN`] without a vocabulary or outside it.
#[inline]
fn column_of(columns: Option<&ColumnIndex>, key: u64) -> u32 {
    columns.and_then(|c| c.get(key)).unwrap_or(NO_COLUMN)
}

const F_NEGATOR: u8 = 1;
const F_REJECTER: u8 = 2;
const F_BREAKER: u8 = 4;
const F_CLAUSE_BREAK: u8 = 8;
const F_ACTOR_START: u8 = 16;
const F_LEXICON: u8 = 32;
const F_ALIAS_TOKEN: u8 = 64;

/// Role of a unit in the masked stream.
const UNIT_CP: u64 = 0x0c0f_fee0_0000_0001;
const UNIT_ACTOR: u64 = 0x0c0f_fee0_0000_0002;
const UNIT_OTHER: u64 = 0x0c0f_fee0_0000_0003;
const UNIT_NUM: u64 = 0x0c0f_fee0_0000_0004;
const NEG_SALT: u64 = 0x5bd1_e995_1234_5678;
const SALT_UNI: u64 = 0x1111_2222_3333_4444;
const SALT_BI: u64 = 0x5555_6666_7777_8888;
const SALT_CTX: u64 = 0x9999_aaaa_bbbb_cccc;
const SALT_CUE: u64 = 0xdddd_eeee_ffff_0001;
const SALT_CUE_CTX: u64 = 0x1234_5678_9abc_def0;

pub use super::{mix, stem_hash as hash_str};

/// A fast 64-bit hash of a token's bytes: its length and every byte go into one or more 64-bit
/// words, which are mixed. A token of up to 8 bytes (most words) is one zero-padded
/// little-endian word and one mix. Only ever compared within one run (the word cache), never
/// stored.
#[inline]
fn raw_hash(b: &[u8]) -> u64 {
    let n = b.len();
    if n <= 8 {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(b);
        return short_hash(u64::from_le_bytes(w), n);
    }
    let mut h = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ v).wrapping_mul(0xff51_afd7_ed55_8ccd).rotate_left(31);
    }
    let mut last = 0u64;
    for (i, &x) in chunks.remainder().iter().enumerate() {
        last |= (x as u64) << (8 * i);
    }
    mix(h ^ last, 0x2545_f491_4f6c_dd1d)
}

/// [`raw_hash`] of a token of `n` ≤ 8 bytes, given them as a zero-padded little-endian word.
#[inline]
fn short_hash(word: u64, n: usize) -> u64 {
    mix(
        word ^ (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        0x2545_f491_4f6c_dd1d,
    )
}

/// [`raw_hash`] of `text[start..end]`. A short token not at the very end of the text is read
/// with one 8-byte load, masked to its length: no branch on its length, which varies from
/// word to word and would be mispredicted.
#[inline]
fn token_hash(text: &[u8], start: usize, end: usize) -> u64 {
    let n = end - start;
    match text.get(start..start + 8) {
        Some(eight) if (1..=8).contains(&n) => {
            let w = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
            short_hash(w & (u64::MAX >> (64 - 8 * n)), n)
        }
        _ => raw_hash(&text[start..end]),
    }
}

/// Extracts features from articles; holds a per-thread word cache and scratch buffers.
pub struct Extractor {
    lexicon: Arc<Lexicon>,
    gazetteer: &'static Gazetteer,
    stemmer: StemCache,
    /// Word cache keyed by a 64-bit hash of the token's text: no key comparison on lookup
    /// (two distinct words sharing a hash among the ≤400,000 cached has odds below 1e-8).
    table: FxHashMap<u64, Hot>,
    words: Vec<WordInfo>,
    /// Per token of the current article, its word's [`Hot`].
    tok: Vec<Hot>,
    mentions: Vec<Mention>,
    /// The tokens of the current article flagged [`F_ACTOR_START`].
    alias_starts: Vec<u32>,
    negated: Vec<bool>,
    rejected: Vec<bool>,
    roles: Vec<u8>,
    /// Per token of the current article: its counterpart-context weight, its unit's hash.
    ctx: Vec<f32>,
    stems: Vec<u64>,
    /// The vocabulary columns are resolved against, if any.
    columns: Option<ColumnIndex>,
    /// Columns of the fixed units: counterpart, actor, other actor, number.
    fixed: [UnitColumns; 4],
    /// Columns of the cue features, by `2 × category + negated`: plain, then in context.
    cue_columns: Vec<[u32; 2]>,
}

/// Readable names of the hashed features seen, filled only when asked for (training).
pub type Names = FxHashMap<u64, String>;

/// Index of REJECT and REDUCE in [`CATEGORIES`].
const CAT_REJECT: u8 = 11;
const CAT_REDUCE: u8 = 15;
/// Relevance of a sentence that mentions the counterpart; of one that mentions the actor or
/// neighbours a counterpart sentence; of any other sentence. Used only when the counterpart
/// is mentioned at all (otherwise every sentence counts alike). A document's features are the
/// relevance-weighted mean of its sentences' unit-length feature vectors.
const RELEVANCE: [f32; 3] = [1.0, 0.7, 0.4];

const ROLE_NONE: u8 = 0;
const ROLE_CP: u8 = 1;
const ROLE_ACTOR: u8 = 2;
const ROLE_OTHER: u8 = 3;

impl Extractor {
    /// Creates an extractor over a lexicon and the built-in gazetteer.
    pub fn new(lexicon: Arc<Lexicon>) -> Self {
        Extractor {
            lexicon,
            gazetteer: Gazetteer::builtin(),
            stemmer: StemCache::new(),
            table: FxHashMap::default(),
            words: Vec::new(),
            tok: Vec::new(),
            mentions: Vec::new(),
            alias_starts: Vec::new(),
            negated: Vec::new(),
            rejected: Vec::new(),
            roles: Vec::new(),
            ctx: Vec::new(),
            stems: Vec::new(),
            columns: None,
            fixed: [UnitColumns::NONE; 4],
            cue_columns: vec![[NO_COLUMN; 2]; 2 * CATEGORIES.len()],
        }
    }

    /// Resolves every occurrence's [`Occurrence::column`] in `columns` while extracting, the
    /// columns of a word's unigrams once per distinct word.
    pub fn with_columns(mut self, columns: ColumnIndex) -> Self {
        let c = Some(&columns);
        self.fixed =
            [UNIT_CP, UNIT_ACTOR, UNIT_OTHER, UNIT_NUM].map(|u| UnitColumns::resolve(c, u));
        for (ck, slot) in self.cue_columns.iter_mut().enumerate() {
            *slot = [
                column_of(c, mix(ck as u64, SALT_CUE)),
                column_of(c, mix(ck as u64, SALT_CUE_CTX)),
            ];
        }
        self.table.clear();
        self.words.clear();
        self.columns = Some(columns);
        self
    }

    /// The gazetteer used to find actors.
    pub fn gazetteer(&self) -> &'static Gazetteer {
        self.gazetteer
    }

    /// The [`Hot`] of a token, from the word table, else analysed now.
    #[inline]
    fn word(&mut self, text: &str, t: &Token) -> Hot {
        // Hashed from the bytes: the text is sliced as a `str` only for a new word.
        let key = token_hash(text.as_bytes(), t.start as usize, t.end as usize);
        match self.table.get(&key) {
            Some(&h) => h,
            None => self.analyse(key, t.text(text), t.kind),
        }
    }

    /// Analyses a word seen for the first time and adds it to the table.
    fn analyse(&mut self, key: u64, raw: &str, kind: TokenKind) -> Hot {
        let norm: Box<str> = text::normalize_word(raw).into();
        let stem: Box<str> = match kind {
            TokenKind::Word => self.stemmer.stem(&norm).into(),
            _ => norm.clone(),
        };
        let (lex, span) = if kind == TokenKind::Word {
            (
                self.lexicon.starting_with(&stem),
                self.lexicon.candidate_span(&stem),
            )
        } else {
            (&[][..], CandidateSpan::default())
        };
        let negator = kind == TokenKind::Word
            && (text::is_negator(&norm)
                || lex.iter().any(|&i| {
                    // "refused to", "failed to": a multi-word negator makes its first word one
                    matches!(
                        self.lexicon.entry_at(i).modifier,
                        Some((ModifierKind::Negator, _))
                    )
                }));
        // "rejected dialogue", "suspended talks": a single-word REJECT or REDUCE cue turns the
        // conciliatory words after it confrontational (but leaves hostile words hostile).
        let rejecter = kind == TokenKind::Word
            && lex.iter().any(|&i| {
                let e = self.lexicon.entry_at(i);
                e.stems.len() == 1
                    && matches!(e.cue, Some((c, _)) if c == CAT_REJECT || c == CAT_REDUCE)
            });
        let flag = |on: bool, f: u8| if on { f } else { 0 };
        let alias = self.gazetteer.alias_word(raw, &norm);
        let unit = match kind {
            TokenKind::Word => hash_str(&stem),
            TokenKind::Punct if &*norm == "-" => hash_str("-"),
            _ => 0,
        };
        let columns = match kind {
            TokenKind::Word => UnitColumns::resolve(self.columns.as_ref(), unit),
            TokenKind::Number => self.fixed[3],
            TokenKind::Punct => UnitColumns::NONE,
        };
        let hot = Hot {
            unit,
            columns,
            id: self.words.len() as u32,
            lex: span,
            flags: flag(negator, F_NEGATOR)
                | flag(rejecter, F_REJECTER)
                | flag(text::is_scope_breaker(&norm), F_BREAKER)
                | flag(breaks_clause(kind, &norm), F_CLAUSE_BREAK)
                | flag(
                    alias.starts.is_some() && kind != TokenKind::Punct,
                    F_ACTOR_START,
                )
                | flag(alias.in_alias(), F_ALIAS_TOKEN)
                | flag(!lex.is_empty(), F_LEXICON),
        };
        self.words.push(WordInfo { norm, stem, alias });
        self.table.insert(key, hot);
        hot
    }

    /// Extracts the features of `text` toward `counterpart` (and `actor`), into `out`.
    /// With `names`, records a readable name for every feature key produced.
    pub fn extract(
        &mut self,
        text: &str,
        counterpart: Option<&ActorRef>,
        actor: Option<&ActorRef>,
        mut names: Option<&mut Names>,
        out: &mut Extracted,
    ) {
        if self.words.len() > MAX_WORDS {
            self.table.clear();
            self.words.clear();
        }
        text::analyze_into(text, &mut out.analysis);
        out.occurrences.clear();
        out.dense = [0.0; N_DENSE];
        out.dense_parts.clear();
        out.dense_parts
            .resize(out.analysis.sentences.len(), [0.0; N_DENSE]);
        out.mentions = 0;
        let tokens = &out.analysis.tokens;
        self.tok.clear();
        // Every token is written and those flagged kept, with no branch on a flag set on 7 % of
        // tokens: median user CPU on 177 MB 4.21 s against 4.29 s with the branch.
        self.alias_starts.clear();
        self.alias_starts.resize(tokens.len(), 0);
        let mut n_starts = 0;
        for (i, t) in tokens.iter().enumerate() {
            let h = self.word(text, t);
            self.tok.push(h);
            self.alias_starts[n_starts] = i as u32;
            n_starts += (h.flags & F_ACTOR_START != 0) as usize;
        }
        self.alias_starts.truncate(n_starts);
        let words = &self.words;
        let tok = &self.tok;
        let has = |i: usize, f: u8| tok[i].flags & f != 0;
        let norm = |i: usize| &*words[tok[i].id as usize].norm;

        // Actors: gazetteer mentions, then the user's literal names.
        self.gazetteer.find_mentions(
            tokens.len(),
            self.alias_starts.iter().filter_map(|&i| {
                let i = i as usize;
                Some((i, words[tok[i].id as usize].alias.starts?))
            }),
            |i| {
                // Read from the word table only for a word in some alias (few, and frequent).
                if has(i, F_ALIAS_TOKEN) {
                    words[tok[i].id as usize].alias
                } else {
                    AliasWord::default()
                }
            },
            &mut self.mentions,
        );
        let mut literals: Vec<Vec<String>> = Vec::new();
        let cp_literals = counterpart.map_or(0, |c| c.literals.len());
        if let Some(c) = counterpart {
            literals.extend(c.literals.iter().cloned());
        }
        if let Some(a) = actor {
            literals.extend(a.literals.iter().cloned());
        }
        find_literal_mentions(&literals, tokens.len(), norm, &mut self.mentions);
        self.roles.clear();
        self.roles.resize(tokens.len(), ROLE_NONE);
        let mut cp_mentions: Vec<(usize, usize)> = Vec::new();
        for m in &self.mentions {
            let is_cp = counterpart.is_some_and(|c| match m.who {
                Who::Entity(e) => c.entities.contains(&e),
                Who::Literal(l) => (l as usize) < cp_literals,
            });
            let is_actor = !is_cp
                && actor.is_some_and(|a| match m.who {
                    Who::Entity(e) => a.entities.contains(&e),
                    Who::Literal(l) => (l as usize) >= cp_literals,
                });
            let role = if is_cp {
                cp_mentions.push((m.start, m.end));
                ROLE_CP
            } else if is_actor {
                ROLE_ACTOR
            } else {
                ROLE_OTHER
            };
            for r in &mut self.roles[m.start..m.end] {
                *r = role;
            }
        }
        out.mentions = cp_mentions.len();

        text::negation_scopes(
            tokens,
            |i| [has(i, F_NEGATOR), has(i, F_REJECTER)],
            |i| has(i, F_BREAKER),
            [&mut self.negated, &mut self.rejected],
        );

        // Context weights: distance to the nearest counterpart mention in the same sentence,
        // not crossing a clause break (semicolon, contrast word).
        self.ctx.clear();
        self.ctx.resize(tokens.len(), 0.0);
        let ctx = &mut self.ctx;
        for s in &out.analysis.sentences {
            for &(ms, me) in cp_mentions.iter().filter(|(ms, _)| s.tokens.contains(ms)) {
                let mut d = 0;
                let mut i = ms;
                while i > s.tokens.start && d < CONTEXT_WINDOW {
                    i -= 1;
                    if has(i, F_CLAUSE_BREAK) {
                        break;
                    }
                    if tokens[i].kind != TokenKind::Punct {
                        d += 1;
                        ctx[i] = ctx[i].max(if d <= CONTEXT_NEAR { 1.0 } else { 0.5 });
                    }
                }
                let mut d = 0;
                let mut i = me;
                while i < s.tokens.end && d < CONTEXT_WINDOW {
                    if has(i, F_CLAUSE_BREAK) {
                        break;
                    }
                    if tokens[i].kind != TokenKind::Punct && self.roles[i] != ROLE_CP {
                        d += 1;
                        ctx[i] = ctx[i].max(if d <= CONTEXT_NEAR { 1.0 } else { 0.5 });
                    }
                    i += 1;
                }
            }
        }

        // Units: one per word, number or mention; punctuation breaks n-grams.
        let lex = &*self.lexicon;
        let columns = self.columns.as_ref();
        self.stems.clear();
        self.stems.extend(tok.iter().map(|h| h.unit));
        let stems = &self.stems;
        for (si, s) in out.analysis.sentences.iter().enumerate() {
            let si32 = si as u32;
            let mut prev: Option<u64> = None;
            let mut hedge = 1.0f32;
            let mut after_contrast = false;
            let mut boost = 1.0f32;
            let mut skip_until = s.tokens.start;
            let mut i = s.tokens.start;
            while i < s.tokens.end {
                let t = tokens[i];
                let role = self.roles[i];
                if role != ROLE_NONE {
                    // A whole mention becomes one placeholder unit.
                    let mut j = i + 1;
                    while j < s.tokens.end
                        && self.roles[j] == role
                        && !self.mentions.iter().any(|m| m.start == j)
                    {
                        j += 1;
                    }
                    let (unit, fixed) = match role {
                        ROLE_CP => (UNIT_CP, 0),
                        ROLE_ACTOR => (UNIT_ACTOR, 1),
                        _ => (UNIT_OTHER, 2),
                    };
                    emit_unit(
                        &mut out.occurrences,
                        &mut names,
                        columns,
                        (unit, self.fixed[fixed].unigram(false)),
                        &mut prev,
                        si32,
                        || role_name(role).to_string(),
                    );
                    i = j;
                    continue;
                }
                if t.kind == TokenKind::Punct {
                    prev = None;
                    i += 1;
                    continue;
                }
                let h = tok[i];
                let neg = self.negated[i];
                let base = if t.kind == TokenKind::Number {
                    UNIT_NUM
                } else {
                    h.unit
                };
                let unit = if neg { mix(base, NEG_SALT) } else { base };
                let unit_name = || {
                    let b = if t.kind == TokenKind::Number {
                        "__num__"
                    } else {
                        &*words[h.id as usize].stem
                    };
                    if neg {
                        format!("not_{b}")
                    } else {
                        b.to_string()
                    }
                };
                emit_unit(
                    &mut out.occurrences,
                    &mut names,
                    columns,
                    (unit, h.columns.unigram(neg)),
                    &mut prev,
                    si32,
                    unit_name,
                );
                if ctx[i] > 0.0 {
                    push_named(
                        &mut out.occurrences,
                        &mut names,
                        {
                            let key = mix(unit, SALT_CTX);
                            (key, column_of(columns, key))
                        },
                        ctx[i],
                        si32,
                        || format!("cp~{}", unit_name()),
                    );
                }
                // Lexicon: the longest entry starting here.
                if i >= skip_until && h.flags & F_LEXICON != 0 {
                    if let Some((e, end)) = lex.match_span(h.lex, stems, i) {
                        let e = lex.entry_at(e);
                        // Tokens inside a matched phrase ("will not tolerate") are not
                        // matched again, and its inner negator does not flip it.
                        skip_until = end;
                        if let Some((kind, f)) = e.modifier {
                            match kind {
                                ModifierKind::Intensifier | ModifierKind::Diminisher => boost = f,
                                ModifierKind::Hedge => hedge = hedge.min(f),
                                ModifierKind::Contrast => after_contrast = true,
                                ModifierKind::Negator => {}
                            }
                        }
                        let scale = boost * hedge * if after_contrast { 1.25 } else { 1.0 };
                        if e.valence != 0.0 {
                            let mut v = e.valence * scale * if neg { NEGATED_VALENCE } else { 1.0 };
                            if v > 0.0 && self.rejected[i] {
                                v *= NEGATED_VALENCE;
                            }
                            let part = &mut out.dense_parts[si];
                            add_signed(part, 0, 1, v);
                            part[2] += v;
                            if ctx[i] > 0.0 {
                                add_signed(part, 3, 4, v * ctx[i]);
                                part[5] += v * ctx[i];
                            }
                        }
                        if let Some((cat, weight)) = e.cue {
                            let mut c = weight * scale * if neg { NEGATED_CUE } else { 1.0 };
                            if c > 0.0 && self.rejected[i] {
                                c *= NEGATED_CUE;
                            }
                            let part = &mut out.dense_parts[si];
                            add_signed(part, 6, 7, c);
                            let ck = (cat as u64) * 2 + neg as u64;
                            let cue_columns = self.cue_columns[ck as usize];
                            push_named(
                                &mut out.occurrences,
                                &mut names,
                                (mix(ck, SALT_CUE), cue_columns[0]),
                                1.0,
                                si32,
                                || cue_name(cat, neg, false),
                            );
                            if ctx[i] > 0.0 {
                                add_signed(part, 8, 9, c * ctx[i]);
                                push_named(
                                    &mut out.occurrences,
                                    &mut names,
                                    (mix(ck, SALT_CUE_CTX), cue_columns[1]),
                                    ctx[i],
                                    si32,
                                    || cue_name(cat, neg, true),
                                );
                            }
                        }
                        if e.modifier.is_none() {
                            boost = 1.0;
                        }
                    }
                }
                i += 1;
            }
        }
        if let Some(c) = columns {
            for o in &mut out.occurrences {
                if o.column == PENDING {
                    o.column = c.get_bigram(o.key).unwrap_or(NO_COLUMN);
                }
            }
        }
        // Sentence relevance: when the counterpart is mentioned, what is said in its sentences
        // counts most; an article's unrelated paragraphs (other news, "Read more" links) little.
        let n = out.analysis.sentences.len();
        let mut rel = vec![if out.mentions > 0 { RELEVANCE[2] } else { 1.0 }; n];
        if out.mentions > 0 {
            let has =
                |s: &crate::text::Sentence, role: u8| self.roles[s.tokens.clone()].contains(&role);
            for (si, s) in out.analysis.sentences.iter().enumerate() {
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
        let total: f32 = rel.iter().sum();
        out.weights.clear();
        out.weights.extend(rel.iter().map(|r| r / total));
        // Dense features per sentence from its own sums, then their weighted mean.
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
        for (d, a) in out.sentence_dense.iter().zip(&out.weights) {
            for (acc, v) in out.dense.iter_mut().zip(d).take(N_DENSE - 1) {
                *acc += a * v;
            }
        }
        out.dense[N_DENSE - 1] = if out.mentions > 0 { 1.0 } else { 0.0 };
    }
}

/// Adds a signed amount to a sentence's positive slot, or its magnitude to the negative slot.
#[inline]
fn add_signed(part: &mut [f32; N_DENSE], positive: usize, negative: usize, v: f32) {
    if v > 0.0 {
        part[positive] += v;
    } else {
        part[negative] -= v;
    }
}

fn breaks_clause(kind: TokenKind, norm: &str) -> bool {
    match kind {
        TokenKind::Punct => matches!(norm, ";" | ":" | "(" | ")"),
        _ => matches!(
            norm,
            "while" | "whereas" | "but" | "however" | "although" | "though" | "meanwhile"
        ),
    }
}

fn role_name(role: u8) -> &'static str {
    match role {
        ROLE_CP => "__counterpart__",
        ROLE_ACTOR => "__actor__",
        _ => "__other__",
    }
}

fn cue_name(cat: u8, neg: bool, ctx: bool) -> String {
    format!(
        "{}cue:{}{}",
        if ctx { "cp~" } else { "" },
        CATEGORIES[cat as usize],
        if neg { ":negated" } else { "" }
    )
}

/// Records one feature occurrence (its key and column) and, when names are collected, the
/// feature's name.
#[inline]
fn push_named(
    occ: &mut Vec<Occurrence>,
    names: &mut Option<&mut Names>,
    (key, column): (u64, u32),
    value: f32,
    sentence: u32,
    name: impl FnOnce() -> String,
) {
    occ.push(Occurrence {
        key,
        value,
        sentence,
        column,
    });
    if let Some(n) = names.as_deref_mut() {
        n.entry(key).or_insert_with(name);
    }
}

/// Emits a unit's unigram (whose column is known) and its bigram with the previous unit.
#[inline]
#[allow(clippy::too_many_arguments)]
fn emit_unit(
    occ: &mut Vec<Occurrence>,
    names: &mut Option<&mut Names>,
    columns: Option<&ColumnIndex>,
    (unit, unigram_column): (u64, u32),
    prev: &mut Option<u64>,
    sentence: u32,
    name: impl Fn() -> String,
) {
    let uni = mix(unit, SALT_UNI);
    occ.push(Occurrence {
        key: uni,
        value: 1.0,
        sentence,
        column: unigram_column,
    });
    if let Some(n) = names.as_deref_mut() {
        n.entry(uni).or_insert_with(&name);
        n.entry(unit).or_insert_with(&name); // unit names, to name bigrams below
    }
    if let Some(p) = *prev {
        let bi = mix(mix(p, SALT_BI), unit);
        occ.push(Occurrence {
            key: bi,
            value: 1.0,
            sentence,
            // Resolved for the whole article at once (see `PENDING`).
            column: if columns.is_some() {
                PENDING
            } else {
                NO_COLUMN
            },
        });
        if let Some(n) = names.as_deref_mut() {
            if !n.contains_key(&bi) {
                let a = n.get(&p).cloned().unwrap_or_default();
                n.insert(bi, format!("{a} {}", name()));
            }
        }
    }
    *prev = Some(unit);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word cache trusts the token hash alone, so distinct tokens must not share one: every
    /// string of up to 8 bytes over a small alphabet (where the short-token paths differ), and
    /// some longer ones, hash apart.
    #[test]
    fn token_hashes_are_distinct_for_short_and_long_tokens() {
        let alphabet = [b'a', b'b', b'.', 0xc3];
        let mut seen = rustc_hash::FxHashSet::default();
        let mut total = 0;
        for n in 0..=8u32 {
            for code in 0..4usize.pow(n) {
                let mut c = code;
                let bytes: Vec<u8> = (0..n)
                    .map(|_| {
                        let b = alphabet[c % 4];
                        c /= 4;
                        b
                    })
                    .collect();
                // Lossy on purpose: 0xc3 alone is not UTF-8; distinct byte strings may become the
                // same string, so count distinct strings.
                let s = String::from_utf8_lossy(&bytes).into_owned();
                if seen.insert(s.clone()) {
                    total += 1;
                }
            }
        }
        let long = (0..2000).map(|i| format!("longer-token-{i:05}-x"));
        seen.extend(long);
        let hashes: rustc_hash::FxHashSet<u64> =
            seen.iter().map(|s| raw_hash(s.as_bytes())).collect();
        assert!(total > 50_000, "{total}");
        assert_eq!(hashes.len(), seen.len());
        // Read in place, a token hashes the same at the end of a text as anywhere else.
        for s in &seen {
            let padded = format!("{s} and more text");
            let n = s.len();
            assert_eq!(token_hash(s.as_bytes(), 0, n), raw_hash(s.as_bytes()));
            assert_eq!(token_hash(padded.as_bytes(), 0, n), raw_hash(s.as_bytes()));
        }
    }
}
