//! Pass 4, counterpart context: how much each word counts as said about the counterpart, by its
//! distance in words from the nearest counterpart mention in the same sentence, not crossing a
//! clause break (`;`, a contrast word such as "but"). Words near a mention become context
//! terms (`cp~…`) and feed the counterpart's own lexicon features.

use super::roles::ROLE_CP;
use super::words::F_CLAUSE_BREAK;
use super::TokenState;
use crate::text::{Sentence, Token, TokenKind};

/// Words counted on each side of a counterpart mention.
pub const CONTEXT_WINDOW: usize = 8;
/// Words counted as near (full weight); farther words in the window count half.
const CONTEXT_NEAR: usize = 3;
/// Tokens looked at on each side of a mention at most.
const MAX_TOKENS: usize = 4 * CONTEXT_WINDOW;

/// Pass 4: fills `state.ctx`, one weight per token (0 outside every counterpart's context),
/// from the mentions of pass 2 and the clause breaks of pass 1.
pub(super) fn weigh(sentences: &[Sentence], tokens: &[Token], state: &mut TokenState) {
    let hot = &state.hot;
    weights(
        sentences,
        tokens,
        &state.cp_mentions,
        &state.roles,
        |i| hot[i].has(F_CLAUSE_BREAK),
        &mut state.ctx,
    );
}

/// The context weight of each token: 1 for the [`CONTEXT_NEAR`] words nearest a counterpart
/// mention (`cp_mentions`, token spans) on either side, 0.5 for the rest of the
/// [`CONTEXT_WINDOW`] words, 0 beyond, or beyond a token for which `breaks_clause` holds.
/// Punctuation and the counterpart's own tokens are not words here.
fn weights(
    sentences: &[Sentence],
    tokens: &[Token],
    cp_mentions: &[(usize, usize)],
    roles: &[u8],
    breaks_clause: impl Fn(usize) -> bool,
    ctx: &mut Vec<f32>,
) {
    ctx.clear();
    ctx.resize(tokens.len(), 0.0);
    // Mentions come in text order: one walk over the sentences finds each one's sentence.
    let mut sentence = sentences.iter().peekable();
    for &(ms, me) in cp_mentions {
        while sentence.next_if(|s| s.tokens.end <= ms).is_some() {}
        let Some(s) = sentence.peek() else { break };
        if !s.tokens.contains(&ms) {
            continue;
        }
        // Each side looks at a bounded number of tokens, so a run of mentions with punctuation
        // between them costs each mention no more than its own window.
        let (mut d, mut i) = (0, ms);
        while i > s.tokens.start.max(ms.saturating_sub(MAX_TOKENS)) && d < CONTEXT_WINDOW {
            i -= 1;
            crate::text::work::step(crate::text::work::Stage::Context);
            if breaks_clause(i) {
                break;
            }
            if tokens[i].kind != TokenKind::Punct {
                d += 1;
                ctx[i] = ctx[i].max(if d <= CONTEXT_NEAR { 1.0 } else { 0.5 });
            }
        }
        let (mut d, mut i) = (0, me);
        while i < s.tokens.end.min(me + MAX_TOKENS) && d < CONTEXT_WINDOW {
            crate::text::work::step(crate::text::work::Stage::Context);
            if breaks_clause(i) {
                break;
            }
            if tokens[i].kind != TokenKind::Punct && roles[i] != ROLE_CP {
                d += 1;
                ctx[i] = ctx[i].max(if d <= CONTEXT_NEAR { 1.0 } else { 0.5 });
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::through_roles;
    use super::*;
    use crate::text::analyze;

    /// Context weights of `text`'s tokens around a counterpart mention spanning `mention`,
    /// with `breaks` as the only clause breaks.
    fn around(text: &str, mention: (usize, usize), breaks: &[usize]) -> Vec<f32> {
        let a = analyze(text);
        let mut roles = vec![0; a.tokens.len()];
        roles[mention.0..mention.1].fill(ROLE_CP);
        let mut ctx = Vec::new();
        weights(
            &a.sentences,
            &a.tokens,
            &[mention],
            &roles,
            |i| breaks.contains(&i),
            &mut ctx,
        );
        ctx
    }

    #[test]
    fn near_words_weigh_one_and_far_ones_half_within_the_window() {
        // Twelve words, the mention at token 5.
        let text = "a b c d e US f g h i j k l m";
        let ctx = around(text, (5, 6), &[]);
        assert_eq!(
            ctx,
            [0.5, 0.5, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
        );
        let far = "a b c d e f g h i j US";
        let ctx = around(far, (10, 11), &[]);
        assert_eq!(ctx[..2], [0.0, 0.0], "beyond eight words: {ctx:?}");
        assert_eq!(ctx[2], 0.5);
    }

    #[test]
    fn a_clause_break_or_a_sentence_end_stops_the_context() {
        let ctx = around("a b ; US c d", (3, 4), &[2]);
        assert_eq!(ctx, [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
        let ctx = around("Talks failed. US officials left.", (3, 4), &[]);
        assert_eq!(&ctx[..3], [0.0, 0.0, 0.0], "{ctx:?}");
        assert_eq!(
            &ctx[4..],
            [1.0, 1.0, 0.0],
            "the full stop is no word: {ctx:?}"
        );
    }

    /// Through the passes: "but" breaks the clause, and words about the actor alone get none.
    #[test]
    fn contrast_words_end_the_counterpart_clause() {
        let text = "Washington praised the deal but Havana doubted it.";
        let (mut ex, a, _) = through_roles(text);
        weigh(&a.sentences, &a.tokens, &mut ex.state);
        let near: Vec<&str> = a
            .tokens
            .iter()
            .zip(&ex.state.ctx)
            .filter(|(_, &w)| w > 0.0)
            .map(|(t, _)| t.text(text))
            .collect();
        assert_eq!(near, ["praised", "the", "deal"]);
    }
}
