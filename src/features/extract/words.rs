//! Pass 1, tokens → word records: each distinct word is analysed once (normalised form, stem,
//! lexicon entries it starts, actor aliases it may start, negator and clause-break flags, the
//! columns of its unigrams) and kept in a table keyed by a hash of its bytes; each token of an
//! article gets a copy of its word's compact record.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::super::keys::{mix, stem_hash, NEG_SALT, SALT_UNI};
use super::super::lexicon::{CandidateSpan, Lexicon, ModifierKind};
use super::super::ColumnIndex;
use super::{Columns, TokenState, NO_COLUMN};
use crate::actors::{AliasWord, Gazetteer};
use crate::text::{self, StemCache, Token, TokenKind};

/// Words cached before the word table is cleared between articles.
const MAX_WORDS: usize = 400_000;

/// Index of REJECT and REDUCE in [`CATEGORIES`](super::super::lexicon::CATEGORIES).
const CAT_REJECT: u8 = 11;
const CAT_REDUCE: u8 = 15;

/// A negator: `not`, `never`, `n't`, or the first word of a multi-word negator ("refused to").
pub(super) const F_NEGATOR: u8 = 1;
/// A single-word REJECT or REDUCE cue, which turns conciliatory words after it confrontational.
pub(super) const F_REJECTER: u8 = 2;
/// A word that closes a negation scope (`but`, `said`).
pub(super) const F_BREAKER: u8 = 4;
/// Punctuation or a word that ends a clause for counterpart context (`;`, `but`, `while`).
pub(super) const F_CLAUSE_BREAK: u8 = 8;
/// A word that may start an actor alias.
pub(super) const F_ACTOR_START: u8 = 16;
/// A word that starts some lexicon entry.
pub(super) const F_LEXICON: u8 = 32;
/// A word that occurs in some actor alias.
pub(super) const F_ALIAS_TOKEN: u8 = 64;

/// What is kept of a distinct word and read only now and then: its forms.
#[derive(Debug, Clone)]
pub(super) struct WordInfo {
    pub(super) norm: Box<str>,
    pub(super) stem: Box<str>,
    /// What actor mention finding needs of it: the aliases it can start (read for words
    /// flagged [`F_ACTOR_START`]) and its forms' numbers.
    pub(super) alias: AliasWord,
}

/// What every occurrence of a word needs, in 24 bytes: copied per token, so the passes over an
/// article read one compact array instead of chasing each word's [`WordInfo`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Hot {
    /// The word's stem hash; for a hyphen, the hyphen's hash; 0 for other tokens.
    pub(super) unit: u64,
    /// Index into the word table.
    pub(super) id: u32,
    /// `F_*` bits.
    pub(super) flags: u8,
    /// The lexicon entries starting with the word.
    pub(super) lex: CandidateSpan,
    /// Columns of its unit's features, resolved once per word (see [`UnitColumns`]).
    pub(super) columns: UnitColumns,
}

const _: () = assert!(std::mem::size_of::<Hot>() == 24);

impl Hot {
    /// Whether the word has flag `f`.
    #[inline]
    pub(super) fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// The columns of a unit's unigram features, plain and negated ([`NO_COLUMN`] without a
/// vocabulary or outside it). Its counterpart-context features are looked up where they occur:
/// only words near a mention have them, and a smaller per-word record makes every word faster.
#[derive(Debug, Clone, Copy)]
pub(super) struct UnitColumns([u32; 2]);

impl UnitColumns {
    pub(super) const NONE: UnitColumns = UnitColumns([NO_COLUMN; 2]);

    pub(super) fn resolve(columns: Option<&ColumnIndex>, base: u64) -> UnitColumns {
        let negated = mix(base, NEG_SALT);
        UnitColumns([
            column_of(columns, mix(base, SALT_UNI)),
            column_of(columns, mix(negated, SALT_UNI)),
        ])
    }

    #[inline]
    pub(super) fn unigram(self, negated: bool) -> u32 {
        self.0[negated as usize]
    }
}

/// The column of `key` in `columns`; [`NO_COLUMN`] without a vocabulary or outside it.
#[inline]
pub(super) fn column_of(columns: Option<&ColumnIndex>, key: u64) -> u32 {
    columns.and_then(|c| c.get(key)).unwrap_or(NO_COLUMN)
}

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

/// [`raw_hash`] of `text[start..end]`, and the token's first (up to) 8 bytes as a zero-padded
/// little-endian word. A short token not at the very end of the text is read with one 8-byte
/// load, masked to its length: no branch on its length, which varies from word to word and
/// would be mispredicted.
#[inline]
fn token_hash(text: &[u8], start: usize, end: usize) -> (u64, u64) {
    let n = end - start;
    match text.get(start..start + 8) {
        Some(eight) if n >= 1 => {
            let w = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
            if n <= 8 {
                let head = w & (u64::MAX >> (64 - 8 * n));
                (short_hash(head, n), head)
            } else {
                // A longer token's head is its first 8 bytes, as loaded.
                (raw_hash(&text[start..end]), w)
            }
        }
        _ => {
            let b = &text[start..end];
            let mut w = [0u8; 8];
            let k = n.min(8);
            w[..k].copy_from_slice(&b[..k]);
            (raw_hash(b), u64::from_le_bytes(w))
        }
    }
}

/// A word in the table: its record, and what tells a hit from another word with the same
/// hash: its length, its first 8 bytes, its last 8 (which with the first cover a word of up to
/// 16 bytes, so most words are compared in two loads) and, for a longer word, where its bytes
/// past the eighth are kept in [`Words::tails`].
#[derive(Debug, Clone, Copy)]
struct Cached {
    hot: Hot,
    head: u64,
    last: u64,
    len: u32,
    tail: u32,
}

/// The last 8 bytes of `text[..end]`, as a little-endian word (`end` ≥ 8).
#[inline]
fn last8(text: &[u8], end: usize) -> u64 {
    u64::from_le_bytes(text[end - 8..end].try_into().expect("8 bytes"))
}

/// The word table: every distinct word seen (up to [`MAX_WORDS`]), analysed once.
pub(super) struct Words {
    pub(super) lexicon: Arc<Lexicon>,
    pub(super) gazetteer: &'static Gazetteer,
    stemmer: StemCache,
    /// Keyed by a 64-bit hash of the token's text; a hit counts only when the token's bytes
    /// are the word's (length and first 8 bytes in the entry, the rest in `tails`), so two
    /// words that share a hash never share a record: the later one replaces the earlier.
    table: FxHashMap<u64, Cached>,
    /// The bytes past the eighth of every cached word longer than 16 bytes, end to end.
    tails: Vec<u8>,
    words: Vec<WordInfo>,
    /// The hash bits used as the key (all but in tests, which force collisions with fewer).
    #[cfg(test)]
    key_mask: u64,
}

/// Bytes of long words' tails kept before the word table is cleared (64 MiB).
const MAX_TAIL_BYTES: usize = 64 << 20;

impl Words {
    /// An empty table over a lexicon and the built-in gazetteer.
    pub(super) fn new(lexicon: Arc<Lexicon>) -> Words {
        Words {
            lexicon,
            gazetteer: Gazetteer::builtin(),
            stemmer: StemCache::new(),
            table: FxHashMap::default(),
            tails: Vec::new(),
            words: Vec::new(),
            #[cfg(test)]
            key_mask: u64::MAX,
        }
    }

    /// Forgets every word (their columns are to be resolved again, or the table is full).
    pub(super) fn clear(&mut self) {
        self.table.clear();
        self.tails.clear();
        self.words.clear();
    }

    /// Forgets every word once the table holds more than [`MAX_WORDS`], bounding its memory.
    pub(super) fn clear_if_full(&mut self) {
        if self.words.len() > MAX_WORDS || self.tails.len() > MAX_TAIL_BYTES {
            self.clear();
        }
    }

    /// The forms of the word a [`Hot`] record belongs to.
    #[inline]
    pub(super) fn info(&self, h: Hot) -> &WordInfo {
        &self.words[h.id as usize]
    }

    /// Pass 1: each token's [`Hot`] record into `state.hot`, and the tokens flagged
    /// [`F_ACTOR_START`] into `state.alias_starts`.
    pub(super) fn tokens(
        &mut self,
        text: &str,
        tokens: &[Token],
        columns: &Columns,
        state: &mut TokenState,
    ) {
        state.hot.clear();
        // Every token is written and those flagged kept, with no branch on a flag set on few
        // tokens (a mispredicted branch costs more than the stores).
        state.alias_starts.clear();
        state.alias_starts.resize(tokens.len(), 0);
        let mut n_starts = 0;
        for (i, t) in tokens.iter().enumerate() {
            let h = self.word(text, t, columns);
            state.hot.push(h);
            state.alias_starts[n_starts] = i as u32;
            n_starts += h.has(F_ACTOR_START) as usize;
        }
        state.alias_starts.truncate(n_starts);
    }

    /// The [`Hot`] of a token, from the word table, else analysed now.
    #[inline]
    fn word(&mut self, text: &str, t: &Token, columns: &Columns) -> Hot {
        // Hashed from the bytes: the text is sliced as a `str` only for a new word.
        let (start, end) = (t.start as usize, t.end as usize);
        let (key, head) = token_hash(text.as_bytes(), start, end);
        #[cfg(test)]
        let key = key & self.key_mask;
        if let Some(c) = self.table.get(&key) {
            let n = end - start;
            let b = text.as_bytes();
            let same = c.head == head
                && c.len as usize == n
                && (n <= 8
                    || c.last == last8(b, end)
                        && (n <= 16 || {
                            let tail = c.tail as usize;
                            self.tails.get(tail..tail + n - 8) == Some(&b[start + 8..end])
                        }));
            if same {
                return c.hot;
            }
        }
        self.analyse(key, head, t.text(text), t.kind, columns)
    }

    /// Analyses a word seen for the first time and adds it to the table.
    fn analyse(
        &mut self,
        key: u64,
        head: u64,
        raw: &str,
        kind: TokenKind,
        columns: &Columns,
    ) -> Hot {
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
            TokenKind::Word => stem_hash(&stem),
            TokenKind::Punct if &*norm == "-" => stem_hash("-"),
            _ => 0,
        };
        let unit_columns = match kind {
            TokenKind::Word => UnitColumns::resolve(columns.index.as_ref(), unit),
            TokenKind::Number => columns.number,
            TokenKind::Punct => UnitColumns::NONE,
        };
        let hot = Hot {
            unit,
            columns: unit_columns,
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
        let (b, n) = (raw.as_bytes(), raw.len());
        let tail = self.tails.len() as u32;
        if n > 16 {
            self.tails.extend_from_slice(&b[8..]);
        }
        let last = if n > 8 { last8(b, n) } else { 0 };
        self.table.insert(
            key,
            Cached {
                hot,
                head,
                last,
                len: n as u32,
                tail,
            },
        );
        hot
    }
}

/// Whether a token ends a clause for counterpart context: `;`, `:`, brackets, and contrast
/// words.
fn breaks_clause(kind: TokenKind, norm: &str) -> bool {
    match kind {
        TokenKind::Punct => matches!(norm, ";" | ":" | "(" | ")"),
        _ => matches!(
            norm,
            "while" | "whereas" | "but" | "however" | "although" | "though" | "meanwhile"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::analyze;

    /// Distinct tokens rarely share a hash (a shared one costs a second analysis, never a wrong
    /// record): every string of up to 8 bytes over a small alphabet (where the short-token
    /// paths differ), and some longer ones, hash apart.
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
            assert_eq!(
                token_hash(s.as_bytes(), 0, n),
                token_hash(padded.as_bytes(), 0, n)
            );
            assert_eq!(token_hash(s.as_bytes(), 0, n).0, raw_hash(s.as_bytes()));
        }
    }

    /// Pass 1 gives every occurrence of a word the same record, flags what later passes ask
    /// about, and lists the tokens that may start an alias.
    #[test]
    fn tokens_share_their_words_record_and_carry_its_flags() {
        let lexicon = Arc::new(Lexicon::builtin().unwrap());
        let mut words = Words::new(lexicon);
        let columns = Columns::resolve(None);
        let mut state = TokenState::default();
        let text = "Cuba did not reject talks; talks resumed but Cuba waited.";
        let a = analyze(text);
        words.tokens(text, &a.tokens, &columns, &mut state);
        let at = |w: &str| a.tokens.iter().position(|t| t.text(text) == w).unwrap();
        let hot = &state.hot;
        assert_eq!(hot.len(), a.tokens.len());
        let talks: Vec<u32> = a
            .tokens
            .iter()
            .zip(hot)
            .filter(|(t, _)| t.text(text) == "talks")
            .map(|(_, h)| h.id)
            .collect();
        assert_eq!(talks.len(), 2);
        assert_eq!(talks[0], talks[1], "one record per distinct word");
        assert!(hot[at("not")].has(F_NEGATOR));
        assert!(hot[at("reject")].has(F_REJECTER) && hot[at("reject")].has(F_LEXICON));
        assert!(hot[at(";")].has(F_CLAUSE_BREAK) && hot[at("but")].has(F_CLAUSE_BREAK));
        assert!(hot[at("but")].has(F_BREAKER));
        assert_eq!(words.info(hot[at("resumed")]).stem.as_ref(), "resum");
        let starts: Vec<&str> = state
            .alias_starts
            .iter()
            .map(|&i| a.tokens[i as usize].text(text))
            .collect();
        assert_eq!(starts, ["Cuba", "Cuba"]);
    }

    /// Regression: the word cache keyed words by a 64-bit hash without comparing them, so a
    /// collision would silently give one word another's features. With every word forced onto
    /// one key, each token still gets its own word's record (the same as without collisions).
    #[test]
    fn colliding_hashes_never_share_a_record() {
        let lexicon = Arc::new(Lexicon::builtin().unwrap());
        let columns = Columns::resolve(None);
        let text = "Cuba did not reject talks; talks resumed but Cuba waited. \
                    Unconditionally-negotiated agreements, unconditionally-negotiated accords. \
                    abcdefghXjklmnopqr abcdefghYjklmnopqr abcdefghXjklmnopqr.";
        let a = analyze(text);
        let records = |mask: u64| {
            let mut words = Words::new(lexicon.clone());
            words.key_mask = mask;
            let mut state = TokenState::default();
            words.tokens(text, &a.tokens, &columns, &mut state);
            let out: Vec<_> = state
                .hot
                .iter()
                .map(|h| {
                    let info = words.info(*h);
                    (
                        h.unit,
                        h.flags,
                        info.norm.to_string(),
                        info.stem.to_string(),
                    )
                })
                .collect();
            (out, state.alias_starts.clone())
        };
        let plain = records(u64::MAX);
        assert_eq!(records(0), plain);
        // Two distinct keys for every word: long words that differ only past byte 8 collide.
        assert_eq!(records(1), plain);
        for (t, r) in a.tokens.iter().zip(&plain.0) {
            assert_eq!(r.2, crate::text::normalize_word(t.text(text)), "{r:?}");
        }
    }
}
