//! Pass 6, directed cues: for each cue matched by pass 5, who does it (its agent) and to whom
//! (its patient), as roles toward this scoring, read off the clause around it with patterns
//! over tokens:
//!
//! - active voice: the nearest mention before the cue is its agent, the nearest after it its
//!   patient ("Cuba condemned the United States");
//! - passive voice: a form of "be" just before the cue makes the mention before it the patient,
//!   and "by" and a mention after it the agent ("the United States was condemned by Cuba");
//! - a possessor just before the cue is its agent ("Mexico's attack on the United States").
//!
//! A clause break (`;`, "but", "while") ends the search either way. The units pass turns the
//! roles into terms such as `dir:cue:ASSAULT:other>cp` (a third state attacks the
//! counterpart), which tell the model whose act a conflict word describes.

use super::roles::ROLE_NONE;
use super::words::{Words, F_CLAUSE_BREAK};
use super::TokenState;
use crate::text::{Sentence, Token, TokenKind};

/// Words looked at before a cue for its subject.
const BEFORE: usize = 12;
/// Words looked at after a cue for its object or its passive agent.
const AFTER: usize = 8;

/// Pass 6: fills each cue hit's `agent` and `patient` from the roles of pass 2.
pub(super) fn agents_and_patients(
    words: &Words,
    text: &str,
    (tokens, sentences): (&[Token], &[Sentence]),
    state: &mut TokenState,
) {
    let mut hits = std::mem::take(&mut state.cue_hits);
    let st = &*state;
    let norm = |i: usize| &*words.info(st.hot[i]).norm;
    let breaks = |i: usize| st.hot[i].has(F_CLAUSE_BREAK);
    let mut si = 0;
    for h in &mut hits {
        let (start, end) = (h.start as usize, h.end as usize);
        while sentences[si].tokens.end <= start {
            si += 1;
        }
        let s = &sentences[si].tokens;
        // Before: the nearest mention, and whether a form of "be" stands just before the cue.
        let (mut before, mut before_at, mut passive, mut seen) = (ROLE_NONE, None, false, 0);
        let mut i = start;
        while i > s.start && seen < BEFORE {
            i -= 1;
            if breaks(i) {
                break;
            }
            if st.roles[i] != ROLE_NONE {
                (before, before_at) = (st.roles[i], Some(i));
                break;
            }
            if tokens[i].kind != TokenKind::Punct {
                seen += 1;
                passive |= seen <= 2 && is_be(norm(i));
            }
        }
        // After: "by" and a mention (a passive's agent), else the nearest mention.
        let (mut after, mut by_agent, mut after_by, mut seen) = (ROLE_NONE, None, false, 0);
        let mut i = end;
        while i < s.end && seen < AFTER {
            if breaks(i) {
                break;
            }
            if st.roles[i] != ROLE_NONE {
                if after_by {
                    by_agent = Some(st.roles[i]);
                } else {
                    after = st.roles[i];
                }
                break;
            }
            if tokens[i].kind != TokenKind::Punct {
                seen += 1;
                after_by |= seen <= 3 && norm(i) == "by";
            }
            i += 1;
        }
        // The tokenizer drops a possessive "'s", so a possessor is a mention directly
        // followed by an apostrophe.
        let possessor = before_at.is_some_and(|at| {
            start - at <= 2 && {
                let rest = &text[tokens[at].end as usize..];
                rest.starts_with('\'') || rest.starts_with('\u{2019}')
            }
        });
        (h.agent, h.patient) = match by_agent {
            Some(agent) => (agent, before),
            None if passive && !possessor => (ROLE_NONE, before),
            None => (before, after),
        };
    }
    state.cue_hits = hits;
}

/// A form of "be", which before a participle makes the clause passive.
fn is_be(word: &str) -> bool {
    matches!(
        word,
        "was" | "were" | "is" | "are" | "been" | "being" | "be"
    )
}

#[cfg(test)]
mod tests {
    use super::super::super::lexicon::CATEGORIES;
    use super::super::roles::{ROLE_ACTOR, ROLE_CP, ROLE_OTHER};
    use super::super::tests::through_roles;
    use super::super::{context, negation, polarity, N_DENSE};
    use super::*;

    /// Passes 1–6 toward the United States, actor Cuba: each cue's category, agent and patient.
    fn directed(text: &str) -> Vec<(&'static str, u8, u8)> {
        let (mut ex, a, _) = through_roles(text);
        negation::mark(&a.tokens, &mut ex.state);
        context::weigh(&a.sentences, &a.tokens, &mut ex.state);
        let mut parts = vec![[0.0; N_DENSE]; a.sentences.len()];
        let lexicon = ex.words.lexicon.clone();
        polarity::match_lexicon(&lexicon, &a.sentences, &a.tokens, &mut ex.state, &mut parts);
        agents_and_patients(&ex.words, text, (&a.tokens, &a.sentences), &mut ex.state);
        ex.state
            .cue_hits
            .iter()
            .map(|h| (CATEGORIES[h.ck as usize / 2], h.agent, h.patient))
            .collect()
    }

    #[test]
    fn active_voice_takes_the_subject_as_agent_and_the_object_as_patient() {
        assert_eq!(
            directed("Cuba condemned the United States."),
            [("DISAPPROVE", ROLE_ACTOR, ROLE_CP)]
        );
        assert_eq!(
            directed("The United States condemned Mexico."),
            [("DISAPPROVE", ROLE_CP, ROLE_OTHER)]
        );
        assert_eq!(
            directed("Cuba condemned Mexico."),
            [("DISAPPROVE", ROLE_ACTOR, ROLE_OTHER)]
        );
    }

    #[test]
    fn passive_voice_takes_the_agent_after_by() {
        assert_eq!(
            directed("The United States was condemned by Cuba."),
            [("DISAPPROVE", ROLE_ACTOR, ROLE_CP)]
        );
        // Without "by", only the patient is known.
        assert_eq!(
            directed("The United States was condemned on Monday."),
            [("DISAPPROVE", ROLE_NONE, ROLE_CP)]
        );
    }

    #[test]
    fn a_possessor_is_the_agent_of_a_nominal_cue() {
        assert_eq!(
            directed("Mexico's attack on the United States drew protests."),
            [
                ("ASSAULT", ROLE_OTHER, ROLE_CP),
                ("PROTEST", ROLE_CP, ROLE_NONE)
            ]
        );
    }

    #[test]
    fn support_for_the_counterparts_strike_names_both_acts() {
        // Backing the counterpart's attack on a third state is support toward the counterpart.
        assert_eq!(
            directed("Cuba supported the United States' strikes on Mexico."),
            [
                ("SUPPORT", ROLE_ACTOR, ROLE_CP),
                ("FIGHT", ROLE_CP, ROLE_OTHER)
            ]
        );
    }

    #[test]
    fn a_clause_break_ends_the_search() {
        assert_eq!(
            directed("Cuba waited; officials condemned the United States."),
            [("DISAPPROVE", ROLE_NONE, ROLE_CP)]
        );
    }
}
