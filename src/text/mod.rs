//! Text analysis: `&str` → tokens with byte spans, sentences, normalised word forms, stems and
//! negation scope. Works on one text at a time; never sees vectors, models or files.
//!
//! Tokens keep byte offsets into the original text, so evidence can quote the text exactly;
//! normalisation (Unicode NFKD with diacritics removed, lowercasing, apostrophe folding) is
//! applied to each token's form, never to the text itself.

mod normalize;
mod sentences;
mod stem;
mod tokenize;
pub(crate) mod work;

pub use normalize::{normalize_into, normalize_word};
pub use sentences::{split_sentences, Sentence};
pub use stem::StemCache;
pub(crate) use tokenize::{alnum_run, digit_alpha_bits, HIGH};
pub use tokenize::{tokenize, Token, TokenKind};

/// A text cut into tokens and sentences.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Tokens in text order.
    pub tokens: Vec<Token>,
    /// Sentences in text order; together they cover every token exactly once.
    pub sentences: Vec<Sentence>,
}

/// Tokenizes `text` and splits it into sentences.
///
/// # Examples
/// ```
/// let a = stance::text::analyze("Talks with the U.S. resumed. Mr. Lee said so.");
/// assert_eq!(a.sentences.len(), 2);
/// ```
pub fn analyze(text: &str) -> Analysis {
    let mut a = Analysis::default();
    analyze_into(text, &mut a);
    a
}

/// Like [`analyze`], reusing the buffers of `out`.
pub fn analyze_into(text: &str, out: &mut Analysis) {
    tokenize(text, &mut out.tokens);
    split_sentences(text, &out.tokens, &mut out.sentences);
}

/// Words that open a negation scope (compared with the normalised form).
const NEGATORS: &[&str] = &[
    "not", "no", "never", "cannot", "nor", "neither", "without", "none", "nobody", "nothing",
    "nowhere", "hardly", "barely", "scarcely", "lack", "lacks", "lacked", "absent",
];

/// Words that close a negation scope: what follows them is a new clause.
const SCOPE_BREAKERS: &[&str] = &[
    "but", "however", "although", "though", "yet", "while", "whereas", "instead", "which", "who",
    "because", "since", "unless", "said", "says",
];

/// Longest negation scope, in words after the negator.
pub const MAX_NEGATION_SCOPE: usize = 6;

/// True when the normalised word opens a negation scope (`not`, `never`, `didn't`, ...).
pub fn is_negator(norm: &str) -> bool {
    norm.ends_with("n't") || NEGATORS.contains(&norm)
}

/// True when the normalised word closes a negation scope (`but`, `while`, `said`, ...).
pub fn is_scope_breaker(norm: &str) -> bool {
    SCOPE_BREAKERS.contains(&norm)
}

/// Marks each token that lies in the scope of a negator: the words after `not`, `no`,
/// `never`, `n't`, ... (and any token for which `extra_negator(i)` holds, e.g. "refused to")
/// up to the next clause punctuation, clause-opening word, or [`MAX_NEGATION_SCOPE`] words.
/// `negator(i)` and `breaker(i)` say whether token `i` is a negator or a scope breaker; use
/// [`is_negator`] and [`is_scope_breaker`] on its normalised form, or cached answers.
pub fn negation_scope(
    tokens: &[Token],
    negator: impl Fn(usize) -> bool,
    breaker: impl Fn(usize) -> bool,
    out: &mut Vec<bool>,
) {
    negation_scopes(tokens, |i| [negator(i)], breaker, [out]);
}

/// [`negation_scope`] for `K` kinds of scope opener at once, in one pass over the tokens:
/// `opens(i)` says which kinds token `i` opens a scope of, and `out[k]` gets the marks of kind
/// `k`. All kinds share the breakers.
pub fn negation_scopes<const K: usize>(
    tokens: &[Token],
    opens: impl Fn(usize) -> [bool; K],
    breaker: impl Fn(usize) -> bool,
    mut out: [&mut Vec<bool>; K],
) {
    for o in &mut out {
        o.clear();
        o.resize(tokens.len(), false);
    }
    let mut left = [0usize; K];
    for (i, t) in tokens.iter().enumerate() {
        work::step(work::Stage::Negation);
        match t.kind {
            TokenKind::Punct => {
                left = [0; K];
                continue;
            }
            TokenKind::Word | TokenKind::Number => {}
        }
        if left.iter().any(|&l| l > 0) && breaker(i) {
            left = [0; K];
        }
        let opened = opens(i);
        for k in 0..K {
            if left[k] > 0 {
                out[k][i] = true;
                left[k] -= 1;
            }
            if opened[k] {
                left[k] = MAX_NEGATION_SCOPE;
            }
        }
    }
}

/// Tokens of a text with their normalised forms (a helper for tests across modules).
#[cfg(test)]
pub(crate) fn tokens_and_norms(text: &str) -> (Vec<Token>, Vec<String>) {
    let mut toks = Vec::new();
    tokenize(text, &mut toks);
    let norms = toks
        .iter()
        .map(|t| normalize_word(t.text(text)).into_owned())
        .collect();
    (toks, norms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(text: &str) -> Vec<String> {
        let (toks, norms) = tokens_and_norms(text);
        let refs: Vec<&str> = norms.iter().map(String::as_str).collect();
        let mut neg = Vec::new();
        negation_scope(
            &toks,
            |i| is_negator(refs[i]),
            |i| is_scope_breaker(refs[i]),
            &mut neg,
        );
        norms
            .iter()
            .zip(neg)
            .filter(|(_, n)| *n)
            .map(|(w, _)| w.clone())
            .collect()
    }

    #[test]
    fn negation_covers_the_following_clause_words() {
        assert_eq!(
            scope("Havana did not reject the offer, officials said."),
            ["reject", "the", "offer"]
        );
        assert_eq!(
            scope("There is no dialogue with Washington"),
            ["dialogue", "with", "washington"]
        );
        assert_eq!(scope("It never agreed but later signed"), ["agreed"]);
        assert_eq!(
            scope("has not entered any political or diplomatic talks"),
            ["entered", "any", "political", "or", "diplomatic", "talks"]
        );
        assert_eq!(scope("They didn't condemn it"), ["condemn", "it"]);
    }

    /// Two kinds of scope found in one pass are the scopes found one kind at a time, where
    /// they overlap, nest and share a breaker.
    #[test]
    fn scopes_of_two_kinds_in_one_pass_match_one_at_a_time() {
        let text = "Havana rejected talks and did not attend; it refused dialogue but never \
            suspended not the visits, while officials rejected no offer of talks at all today";
        let (toks, norms) = tokens_and_norms(text);
        let rejects = |i: usize| matches!(norms[i].as_str(), "rejected" | "suspended" | "refused");
        let negates = |i: usize| is_negator(&norms[i]);
        let breaks = |i: usize| is_scope_breaker(&norms[i]);
        let (mut neg, mut rej) = (Vec::new(), Vec::new());
        negation_scopes(
            &toks,
            |i| [negates(i), rejects(i)],
            breaks,
            [&mut neg, &mut rej],
        );
        let (mut neg1, mut rej1) = (Vec::new(), Vec::new());
        negation_scope(&toks, negates, breaks, &mut neg1);
        negation_scope(&toks, rejects, breaks, &mut rej1);
        assert_eq!(neg, neg1);
        assert_eq!(rej, rej1);
        assert!(neg.iter().any(|&n| n) && rej.iter().any(|&r| r));
        assert_ne!(neg, rej);
    }

    #[test]
    fn analyze_splits_sentences_around_abbreviations() {
        let text =
            "The U.S. and Mr. Díaz-Canel met on Jan. 5 in Havana. \"We agree,\" he said. Next?";
        let a = analyze(text);
        let s: Vec<&str> = a.sentences.iter().map(|s| &text[s.start..s.end]).collect();
        assert_eq!(
            s,
            [
                "The U.S. and Mr. Díaz-Canel met on Jan. 5 in Havana.",
                "\"We agree,\" he said.",
                "Next?"
            ]
        );
    }
}
