//! Pass 2, role masking: finds the actors an article mentions (gazetteer aliases, then the
//! literal names of a counterpart or actor the gazetteer does not know) and marks every token
//! of a mention with its role toward this scoring: the counterpart, the actor, or another
//! actor. Later passes turn each mention into one placeholder unit.
//!
//! A literal name the user gave wins over gazetteer mentions it overlaps ("the Trump
//! administration" holds the literal "Trump"); the entities named inside an unknown name
//! ("Chilean" in "28 Chilean officials") stand for it only where none of its literals occur;
//! and aliases are read with the meaning the article's date gives them.

use chrono::NaiveDate;

use super::words::{Words, F_ALIAS_TOKEN};
use super::TokenState;
use crate::actors::{find_literal_mentions, ActorRef, AliasWord, Who};

/// A token outside any mention.
pub(super) const ROLE_NONE: u8 = 0;
/// A token of a counterpart mention.
pub(super) const ROLE_CP: u8 = 1;
/// A token of an actor mention.
pub(super) const ROLE_ACTOR: u8 = 2;
/// A token of a mention of any other actor.
pub(super) const ROLE_OTHER: u8 = 3;

/// The feature name of a role's placeholder.
pub(super) fn role_name(role: u8) -> &'static str {
    match role {
        ROLE_CP => "__counterpart__",
        ROLE_ACTOR => "__actor__",
        _ => "__other__",
    }
}

/// Pass 2: fills `state.mentions` (sorted, without overlaps), `state.roles` (one per token) and
/// `state.cp_mentions` (the counterpart's mentions as token spans) from pass 1's records;
/// returns how often the counterpart is mentioned. A mention of an entity that is both
/// counterpart and actor counts as the counterpart.
pub(super) fn mark(
    words: &Words,
    n_tokens: usize,
    (counterpart, actor): (Option<&ActorRef>, Option<&ActorRef>),
    date: Option<NaiveDate>,
    state: &mut TokenState,
) -> usize {
    let hot = &state.hot;
    words.gazetteer.find_mentions(
        n_tokens,
        state.alias_starts.iter().filter_map(|&i| {
            let i = i as usize;
            Some((i, words.info(hot[i]).alias.starts?))
        }),
        |i| {
            // Read from the word table only for a word in some alias (few, and frequent).
            if hot[i].has(F_ALIAS_TOKEN) {
                words.info(hot[i]).alias
            } else {
                AliasWord::default()
            }
        },
        date,
        &mut state.mentions,
    );
    let mut literals: Vec<Vec<String>> = Vec::new();
    let cp_literals = counterpart.map_or(0, |c| c.literals.len());
    if let Some(c) = counterpart {
        literals.extend(c.literals.iter().cloned());
    }
    if let Some(a) = actor {
        literals.extend(a.literals.iter().cloned());
    }
    let norm = |i: usize| &*words.info(hot[i]).norm;
    find_literal_mentions(&literals, n_tokens, norm, &mut state.mentions);
    let literal_found = |cp: bool| {
        state
            .mentions
            .iter()
            .any(|m| matches!(m.who, Who::Literal(l) if ((l as usize) < cp_literals) == cp))
    };
    let cp_fallback = counterpart.is_some_and(|c| !c.fallback.is_empty() && !literal_found(true));
    let actor_fallback = actor.is_some_and(|a| !a.fallback.is_empty() && !literal_found(false));
    state.roles.clear();
    state.roles.resize(n_tokens, ROLE_NONE);
    state.cp_mentions.clear();
    for m in &state.mentions {
        let is_cp = counterpart.is_some_and(|c| match m.who {
            Who::Entity(e) => c.entities.contains(&e) || cp_fallback && c.fallback.contains(&e),
            Who::Literal(l) => (l as usize) < cp_literals,
        });
        let is_actor = !is_cp
            && actor.is_some_and(|a| match m.who {
                Who::Entity(e) => {
                    a.entities.contains(&e) || actor_fallback && a.fallback.contains(&e)
                }
                Who::Literal(l) => (l as usize) >= cp_literals,
            });
        let role = if is_cp {
            state.cp_mentions.push((m.start, m.end));
            ROLE_CP
        } else if is_actor {
            ROLE_ACTOR
        } else {
            ROLE_OTHER
        };
        for r in &mut state.roles[m.start..m.end] {
            *r = role;
        }
    }
    state.cp_mentions.len()
}

#[cfg(test)]
mod tests {
    use super::super::tests::through_roles;
    use super::*;

    /// Each token's role, by the token's text.
    fn roles_of(text: &str) -> Vec<(String, u8)> {
        let (ex, a, _) = through_roles(text);
        a.tokens
            .iter()
            .zip(&ex.state.roles)
            .map(|(t, &r)| (t.text(text).to_string(), r))
            .collect()
    }

    #[test]
    fn mentions_are_masked_by_their_role_toward_this_scoring() {
        let text = "Havana told the White House that Moscow and the US would talk.";
        let (ex, _, mentions) = through_roles(text);
        assert_eq!(mentions, 2, "the White House and the US");
        assert_eq!(ex.state.cp_mentions.len(), 2);
        let masked: Vec<(String, u8)> = roles_of(text)
            .into_iter()
            .filter(|(_, r)| *r != ROLE_NONE)
            .collect();
        // An alias's optional leading "the" stays outside the mention.
        let want = [
            ("Havana", ROLE_ACTOR),
            ("White", ROLE_CP),
            ("House", ROLE_CP),
            ("Moscow", ROLE_OTHER),
            ("US", ROLE_CP),
        ];
        let want: Vec<(String, u8)> = want.iter().map(|(w, r)| (w.to_string(), *r)).collect();
        assert_eq!(masked, want);
    }

    #[test]
    fn a_name_the_gazetteer_does_not_know_is_matched_literally() {
        let cp = crate::actors::Gazetteer::builtin().resolve("Zorblax Collective");
        assert!(cp.entities.is_empty() && !cp.literals.is_empty());
        let (roles, n) = toward(
            "Officials met the zorblax collective again.",
            "Zorblax Collective",
            None,
        );
        assert_eq!(n, 1);
        assert_eq!(roles, [0, 0, 0, ROLE_CP, ROLE_CP, 0, 0]);
    }

    /// Marks `text` toward a counterpart given by name, with no actor, on `date`.
    fn toward(text: &str, cp: &str, date: Option<&str>) -> (Vec<u8>, usize) {
        let lexicon = std::sync::Arc::new(crate::features::lexicon::Lexicon::builtin().unwrap());
        let mut ex = super::super::Extractor::new(lexicon);
        let date = date.and_then(crate::article::parse_date);
        let cp = crate::actors::Gazetteer::builtin().resolve_at(cp, date);
        let a = crate::text::analyze(text);
        ex.words.tokens(text, &a.tokens, &ex.columns, &mut ex.state);
        let n = mark(
            &ex.words,
            a.tokens.len(),
            (Some(&cp), None),
            date,
            &mut ex.state,
        );
        (ex.state.roles.clone(), n)
    }

    #[test]
    fn a_literal_name_takes_its_tokens_from_the_gazetteer() {
        // "the Trump administration" is a gazetteer alias of the United States; the user asked
        // about Trump, so its tokens are his.
        let (roles, n) = toward("The Trump administration said so.", "Trump", None);
        assert_eq!(n, 1);
        assert_eq!(roles[1], ROLE_CP);
        assert_eq!(roles[2], ROLE_NONE, "the alias it overlapped is gone whole");
    }

    #[test]
    fn a_description_counts_the_states_inside_it_only_where_it_is_not_found() {
        let (roles, n) = toward(
            "Chilean police arrested 28 officials.",
            "28 Chilean officials",
            None,
        );
        assert_eq!(
            (n, roles[0]),
            (1, ROLE_CP),
            "Chilean stands for the description"
        );
        let text = "28 Chilean officials met Chilean police.";
        let (roles, n) = toward(text, "28 Chilean officials", None);
        assert_eq!(n, 1, "the description itself is found");
        assert_eq!(roles[4], ROLE_OTHER);
    }

    #[test]
    fn dated_aliases_follow_the_articles_date() {
        let text = "Washington handed Moscow a draft treaty.";
        assert_eq!(toward(text, "Soviet Union", Some("1987-03-02")).1, 1);
        assert_eq!(toward(text, "Soviet Union", Some("2001-03-02")).1, 0);
        assert_eq!(toward(text, "Russia", Some("2001-03-02")).1, 1);
    }
}
