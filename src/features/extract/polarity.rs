//! Pass 5, lexicon matching: at each word outside a mention, the longest cue-lexicon entry
//! starting there. Modifiers (intensifiers, diminishers, hedges, contrast words) scale what
//! follows in the sentence; a matched entry's valence and cue strength, flipped in a negation
//! scope and turned confrontational after a rejecting cue, add to its sentence's raw sums (the
//! parts of the dense lexicon features, split by whether the word is counterpart context), and
//! a matched cue's category is recorded for the units pass to emit as a cue term.

use super::super::lexicon::{Lexicon, ModifierKind};
use super::roles::ROLE_NONE;
use super::words::F_LEXICON;
use super::{CueHit, TokenState, N_DENSE};
use crate::text::{Sentence, Token, TokenKind};

/// Share of a negated polar word's valence kept, with the sign flipped.
const NEGATED_VALENCE: f32 = -0.6;
/// Share of a negated cue's strength kept, with the sign flipped ("did not reject").
const NEGATED_CUE: f32 = -0.5;
/// Weight of what follows a contrast word in its sentence ("…, but").
const AFTER_CONTRAST: f32 = 1.25;

/// Pass 5: adds each sentence's valence and cue sums to `dense_parts` (slots 0–9 of
/// [`super::DENSE_NAMES`] before saturation) and fills `state.stems` and `state.cue_hits`.
pub(super) fn match_lexicon(
    lex: &Lexicon,
    sentences: &[Sentence],
    tokens: &[Token],
    state: &mut TokenState,
    dense_parts: &mut [[f32; N_DENSE]],
) {
    state.stems.clear();
    state.stems.extend(state.hot.iter().map(|h| h.unit));
    let mut hits = std::mem::take(&mut state.cue_hits);
    hits.clear();
    let st = &*state;
    for (si, s) in sentences.iter().enumerate() {
        let mut hedge = 1.0f32;
        let mut after_contrast = false;
        let mut boost = 1.0f32;
        let mut skip_until = s.tokens.start;
        for i in s.tokens.clone() {
            crate::text::work::step(crate::text::work::Stage::Polarity);
            // Mentions are placeholders, never lexicon words; punctuation matches nothing.
            if st.roles[i] != ROLE_NONE || tokens[i].kind == TokenKind::Punct {
                continue;
            }
            let h = st.hot[i];
            if i < skip_until || !h.has(F_LEXICON) {
                continue;
            }
            let Some((e, end)) = lex.match_span(h.lex, &st.stems, i) else {
                continue;
            };
            let e = lex.entry_at(e);
            // Tokens inside a matched phrase ("will not tolerate") are not matched again, and
            // its inner negator does not flip it.
            skip_until = end;
            if let Some((kind, f)) = e.modifier {
                match kind {
                    ModifierKind::Intensifier | ModifierKind::Diminisher => boost = f,
                    ModifierKind::Hedge => hedge = hedge.min(f),
                    ModifierKind::Contrast => after_contrast = true,
                    ModifierKind::Negator => {}
                }
            }
            let scale = boost * hedge * if after_contrast { AFTER_CONTRAST } else { 1.0 };
            let (neg, ctx) = (st.negated[i], st.ctx[i]);
            if e.valence != 0.0 {
                let mut v = e.valence * scale * if neg { NEGATED_VALENCE } else { 1.0 };
                if v > 0.0 && st.rejected[i] {
                    v *= NEGATED_VALENCE;
                }
                let part = &mut dense_parts[si];
                add_signed(part, 0, 1, v);
                part[2] += v;
                if ctx > 0.0 {
                    add_signed(part, 3, 4, v * ctx);
                    part[5] += v * ctx;
                }
            }
            if let Some((cat, weight)) = e.cue {
                let mut c = weight * scale * if neg { NEGATED_CUE } else { 1.0 };
                if c > 0.0 && st.rejected[i] {
                    c *= NEGATED_CUE;
                }
                let part = &mut dense_parts[si];
                add_signed(part, 6, 7, c);
                if ctx > 0.0 {
                    add_signed(part, 8, 9, c * ctx);
                }
                hits.push(CueHit {
                    start: i as u32,
                    end: end as u32,
                    ck: cat * 2 + neg as u8,
                    conciliatory: c > 0.0,
                    ..CueHit::default()
                });
            }
            if e.modifier.is_none() {
                boost = 1.0;
            }
        }
    }
    state.cue_hits = hits;
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

#[cfg(test)]
mod tests {
    use super::super::super::lexicon::CATEGORIES;
    use super::super::tests::through_roles;
    use super::super::{context, negation};
    use super::*;

    /// Passes 1–5 on one sentence: its raw sums and the cues matched (category, negated).
    fn polarity(text: &str) -> ([f32; N_DENSE], Vec<(&'static str, bool)>) {
        let (mut ex, a, _) = through_roles(text);
        negation::mark(&a.tokens, &mut ex.state);
        context::weigh(&a.sentences, &a.tokens, &mut ex.state);
        let mut parts = vec![[0.0; N_DENSE]; a.sentences.len()];
        let lexicon = ex.words.lexicon.clone();
        match_lexicon(&lexicon, &a.sentences, &a.tokens, &mut ex.state, &mut parts);
        let cues = ex
            .state
            .cue_hits
            .iter()
            .map(|h| (CATEGORIES[h.ck as usize / 2], h.ck % 2 == 1))
            .collect();
        (parts[0], cues)
    }

    #[test]
    fn a_negated_cue_flips_its_sign_and_is_marked_negated() {
        let (plain, cues) = polarity("The United States rejected the proposal.");
        assert_eq!(cues, [("REJECT", false)]);
        assert!(
            plain[7] > 0.0 && plain[6] == 0.0,
            "confrontational: {plain:?}"
        );
        assert!(plain[9] > 0.0, "near the counterpart: {plain:?}");
        let (negated, cues) = polarity("The United States did not reject the proposal.");
        assert_eq!(cues, [("REJECT", true)]);
        assert!(
            negated[6] > 0.0 && negated[7] == 0.0,
            "flipped: {negated:?}"
        );
        assert!((negated[6] + plain[7] * NEGATED_CUE).abs() < 1e-6);
    }

    #[test]
    fn valence_is_summed_and_flipped_by_negation() {
        let (good, _) = polarity("Officials were pleased.");
        assert!(
            good[0] > 0.0 && good[1] == 0.0 && good[2] == good[0],
            "{good:?}"
        );
        assert_eq!(good[3..6], [0.0; 3], "no counterpart nearby");
        let (not_good, _) = polarity("Officials were not pleased.");
        assert!(not_good[1] > 0.0 && not_good[0] == 0.0, "{not_good:?}");
    }

    #[test]
    fn conciliatory_words_after_a_rejecting_cue_turn_confrontational() {
        let (rejected, cues) = polarity("Havana rejected the aid.");
        let (alone, _) = polarity("Havana rejected it.");
        assert_eq!(cues, [("REJECT", false), ("AID", false)]);
        // "aid" (valence 1, AID 5) adds to the negative sums, not the positive ones.
        assert_eq!((rejected[0], rejected[6]), (alone[0], alone[6]));
        assert!(
            rejected[1] > alone[1] && rejected[7] > alone[7],
            "{rejected:?}"
        );
    }
}
