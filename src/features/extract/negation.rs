//! Pass 3, scopes: which words lie in the scope of a negator ("not", "never", "refused to"),
//! and which follow a rejecting cue ("rejected dialogue", "suspended talks"). A negated word
//! becomes a negated unit (`not_…`) and flips its valence and cue; a conciliatory word after a
//! rejecting cue turns confrontational. Scopes end at clause punctuation, a clause-opening word
//! or after a few words (see [`crate::text::negation_scopes`]).

use super::words::{F_BREAKER, F_NEGATOR, F_REJECTER};
use super::TokenState;
use crate::text::{self, Token};

/// Pass 3: fills `state.negated` and `state.rejected`, one mark per token, from pass 1's flags.
pub(super) fn mark(tokens: &[Token], state: &mut TokenState) {
    let hot = &state.hot;
    text::negation_scopes(
        tokens,
        |i| [hot[i].has(F_NEGATOR), hot[i].has(F_REJECTER)],
        |i| hot[i].has(F_BREAKER),
        [&mut state.negated, &mut state.rejected],
    );
}

#[cfg(test)]
mod tests {
    use super::super::tests::through_roles;
    use super::*;

    /// The words marked negated and those marked rejected in `text`.
    fn scopes(text: &str) -> (Vec<String>, Vec<String>) {
        let (mut ex, a, _) = through_roles(text);
        mark(&a.tokens, &mut ex.state);
        let words = |marks: &[bool]| -> Vec<String> {
            a.tokens
                .iter()
                .zip(marks)
                .filter(|(_, &m)| m)
                .map(|(t, _)| t.text(text).to_string())
                .collect()
        };
        (words(&ex.state.negated), words(&ex.state.rejected))
    }

    #[test]
    fn negators_mark_the_words_after_them_up_to_a_clause_break() {
        let (negated, rejected) = scopes("Havana did not welcome the offer, but praised talks.");
        assert_eq!(negated, ["welcome", "the", "offer"]);
        assert!(rejected.is_empty(), "{rejected:?}");
    }

    #[test]
    fn lexicon_negators_count_like_not() {
        let (negated, _) = scopes("Cuba refused to join the talks.");
        assert!(negated.iter().any(|w| w == "join"), "{negated:?}");
    }

    #[test]
    fn rejecting_cues_mark_what_they_reject() {
        let (negated, rejected) = scopes("Cuba rejected dialogue and cooperation; it waited.");
        assert!(negated.is_empty(), "{negated:?}");
        assert_eq!(rejected, ["dialogue", "and", "cooperation"]);
    }
}
