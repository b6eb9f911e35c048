//! Pass 6, directed cues: for each cue matched by pass 5, who does it (its agent) and to whom
//! (its patient), as roles toward this scoring, read off the clause around it with patterns
//! over tokens:
//!
//! - active voice: the nearest mention before the cue is its agent, the nearest after it its
//!   patient ("Cuba condemned the United States");
//! - passive voice: a form of "be" just before the cue makes the mention before it the patient,
//!   and "by" and a mention after it the agent ("the United States was condemned by Cuba");
//! - a possessor just before the cue is its agent ("Mexico's attack on the United States");
//! - inside a quotation attributed to a speaker (`"…," Cuba's foreign ministry said`, or
//!   `Cuba said: "…"`), the search stays inside the quotation, and a cue with no agent there is
//!   the speaker's ("We reject these measures").
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
    let quotes = if hits.is_empty() {
        Vec::new()
    } else {
        attributed_quotes(text, tokens, &st.roles, norm)
    };
    let mut quote = quotes.iter().peekable();
    let mut si = 0;
    for h in &mut hits {
        let (start, end) = (h.start as usize, h.end as usize);
        while sentences[si].tokens.end <= start {
            crate::text::work::step(crate::text::work::Stage::Directed);
            si += 1;
        }
        while quote.next_if(|q| q.inside.end <= start).is_some() {}
        let inside = quote.peek().filter(|q| q.inside.start <= start);
        let mut s = sentences[si].tokens.clone();
        if let Some(q) = inside {
            s = s.start.max(q.inside.start)..s.end.min(q.inside.end);
        }
        // Before: the nearest mention, and whether a form of "be" stands just before the cue.
        let (mut before, mut before_at, mut passive, mut seen) = (ROLE_NONE, None, false, 0);
        let mut i = start;
        while i > s.start && seen < BEFORE {
            i -= 1;
            crate::text::work::step(crate::text::work::Stage::Directed);
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
            crate::text::work::step(crate::text::work::Stage::Directed);
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
        if let Some(q) = inside {
            if h.agent == ROLE_NONE && !passive {
                h.agent = q.speaker;
            }
        }
    }
    state.cue_hits = hits;
}

/// Tokens a quotation may span: a longer one is taken for quote marks that do not pair.
const QUOTE_TOKENS: usize = 300;
/// Tokens looked at beside a quotation for its attribution ("Cuba's foreign ministry said").
const ATTRIBUTION: usize = 8;

/// A quotation with its attribution.
struct Quote {
    /// The tokens between its quote marks.
    inside: std::ops::Range<usize>,
    /// The role of the speaker named in the attribution (none when it names no one known).
    speaker: u8,
}

/// The article's quotations that an attribution names a speaker for, in order. Quote marks
/// pair within a paragraph: a curly one opens or closes, a straight one toggles. The
/// attribution is a verb of saying in the clause just after the closing mark (`"…," X said`,
/// `"…," said X`) or just before the opening one (`X said: "…"`); see [`attribution`].
fn attributed_quotes<'t>(
    text: &str,
    tokens: &[Token],
    roles: &[u8],
    norm: impl Fn(usize) -> &'t str,
) -> Vec<Quote> {
    let mut quotes = Vec::new();
    let mut open: Option<usize> = None;
    for (i, t) in tokens.iter().enumerate() {
        crate::text::work::step(crate::text::work::Stage::Directed);
        if t.newlines_before >= 2 {
            open = None;
        }
        if t.kind != TokenKind::Punct {
            continue;
        }
        let mark = t.text(text);
        let (opens, closes) = match mark {
            "\u{201C}" => (true, false),
            "\u{201D}" => (false, true),
            "\"" => (open.is_none(), open.is_some()),
            _ => (false, false),
        };
        if closes {
            if let Some(o) = open.take() {
                if i - o <= QUOTE_TOKENS {
                    if let Some(speaker) = attribution(text, tokens, roles, &norm, o, i) {
                        quotes.push(Quote {
                            inside: o + 1..i,
                            speaker,
                        });
                    }
                }
            }
        } else if opens {
            open = Some(i);
        }
    }
    quotes
}

/// The speaker's role when the quotation between the marks at `open` and `close` is
/// attributed (none when the attribution names no mention), `None` when it is not.
///
/// After the quotation: it ends with a comma or mark of its own (or a comma follows it), and
/// the clause after it holds a verb of saying; the speaker is a mention before the verb, or
/// after it when the verb comes first (`"…," said Cuba's foreign minister`), not the one it
/// addresses (`"…," she told the United Nations`). Before it: a comma or colon stands just
/// before the opening mark, and the speaker is a mention before the verb.
fn attribution<'t>(
    text: &str,
    tokens: &[Token],
    roles: &[u8],
    norm: &impl Fn(usize) -> &'t str,
    open: usize,
    close: usize,
) -> Option<u8> {
    let punct = |i: usize, marks: &[&str]| {
        tokens[i].kind == TokenKind::Punct && marks.contains(&tokens[i].text(text))
    };
    const ENDS: &[&str] = &[".", "!", "?", ",", ";", ":", "\"", "\u{201C}", "\u{201D}"];
    let last = tokens.len().min(close + 1 + ATTRIBUTION);
    let mut i = close + 1;
    let comma_after = i < last && punct(i, &[","]);
    if (comma_after || (close > open + 1 && punct(close - 1, &[",", "?", "!", "."])))
        && (i >= tokens.len() || tokens[i].newlines_before < 2)
    {
        i += comma_after as usize;
        let first = i;
        let mut speaker = None;
        while i < last && !punct(i, ENDS) && (i == first || tokens[i].newlines_before < 2) {
            crate::text::work::step(crate::text::work::Stage::Directed);
            if is_saying(norm(i)) {
                if speaker.is_none() && i == first {
                    // "said X": the first mention after the verb, before the clause ends.
                    speaker = (i + 1..last)
                        .take_while(|&j| !punct(j, ENDS) && tokens[j].newlines_before < 2)
                        .map(|j| roles[j])
                        .find(|&r| r != ROLE_NONE);
                }
                return Some(speaker.unwrap_or(ROLE_NONE));
            }
            if speaker.is_none() && roles[i] != ROLE_NONE {
                speaker = Some(roles[i]);
            }
            i += 1;
        }
    }
    if open == 0 || tokens[open].newlines_before >= 2 || !punct(open - 1, &[",", ":"]) {
        return None;
    }
    // Before: back from the comma or colon to the verb, then on back to the speaker.
    let mut says = false;
    let mut i = open - 1;
    while i > 0 && i + ATTRIBUTION > open && tokens[i].newlines_before < 2 {
        i -= 1;
        crate::text::work::step(crate::text::work::Stage::Directed);
        if punct(i, ENDS) {
            break;
        }
        if says && roles[i] != ROLE_NONE {
            return Some(roles[i]);
        }
        says |= is_saying(norm(i));
    }
    says.then_some(ROLE_NONE)
}

/// A verb of saying, which makes the words it is next to a quotation's attribution.
fn is_saying(word: &str) -> bool {
    matches!(
        word,
        "said"
            | "says"
            | "say"
            | "saying"
            | "told"
            | "tells"
            | "added"
            | "adds"
            | "stated"
            | "declared"
            | "announced"
            | "warned"
            | "insisted"
            | "stressed"
            | "wrote"
            | "asked"
            | "replied"
            | "according"
    )
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

    #[test]
    fn a_quotation_is_its_speakers() {
        // After the quotation, the speaker before the verb or just after it.
        assert_eq!(
            directed("\"We reject these measures,\" Cuba's foreign ministry said."),
            [("REJECT", ROLE_ACTOR, ROLE_NONE)]
        );
        assert_eq!(
            directed("\u{201C}We condemn the United States,\u{201D} said Cuba's minister."),
            [("DISAPPROVE", ROLE_ACTOR, ROLE_CP)]
        );
        // Before it, after a colon; the speaker is not the quotation's patient.
        assert_eq!(
            directed("Cuba said: \"We condemn the United States.\""),
            [("DISAPPROVE", ROLE_ACTOR, ROLE_CP)]
        );
        // The one addressed is not the speaker.
        assert_eq!(
            directed("\"We reject this,\" the minister told the United States."),
            [("REJECT", ROLE_NONE, ROLE_NONE)]
        );
        // A quotation over two sentences is one.
        assert_eq!(
            directed("\"We waited. Now we reject it,\" Cuba said."),
            [("REJECT", ROLE_ACTOR, ROLE_NONE)]
        );
    }

    #[test]
    fn the_search_stays_outside_a_quotation_it_is_not_in_and_inside_one_it_is() {
        // Without the quotation's bounds the speaker after it was taken for the patient.
        assert_eq!(
            directed("\"Nobody should condemn it,\" the United States said."),
            [("DISAPPROVE", ROLE_CP, ROLE_NONE)]
        );
        // A phrase in quote marks with no attribution changes nothing.
        assert_eq!(
            directed("Cuba condemned what it called \"piracy\" by the United States."),
            directed("Cuba condemned what it called piracy by the United States.")
        );
        // Unpaired marks across a paragraph break pair with nothing.
        assert_eq!(
            directed("He said \"no.\n\nCuba condemned the United States, \" he said."),
            [("DISAPPROVE", ROLE_ACTOR, ROLE_CP)]
        );
    }
}
