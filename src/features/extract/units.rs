//! Pass 6, units: the role-masked stream of units becomes feature occurrences, in text order,
//! each tied to its sentence. A unit is a word's stem (marked `not_` in a negation scope), a
//! number, or one placeholder per actor mention (`__counterpart__`, `__actor__`, `__other__`);
//! punctuation breaks the stream. Each unit gives its unigram and its bigram with the unit
//! before it, a context term (`cp~…`) when it is near a counterpart mention, and the cue term
//! (`cue:CATEGORY`, and `cp~cue:…` near the counterpart) matched at it by pass 5, with its
//! directed terms from pass 6: the category and, coarser, the polarity, each with the roles of
//! its agent and patient (`dir:cue:SANCTION:actor>cp`, `dir:conflict:actor>cp`).

use super::super::keys::{
    mix, NEG_SALT, SALT_BI, SALT_CTX, SALT_CUE, SALT_CUE_CTX, SALT_DIR, SALT_DIR_POLARITY,
    SALT_DOMAIN, SALT_UNI, UNIT_ACTOR, UNIT_CP, UNIT_NUM, UNIT_OTHER,
};
use super::super::lexicon::CATEGORIES;
use super::super::ColumnIndex;
use super::roles::{role_name, ROLE_ACTOR, ROLE_CP, ROLE_NONE, ROLE_OTHER};
use super::words::{column_of, Words};
use super::{Columns, Names, Occurrence, TokenState, NO_COLUMN};
use crate::text::{Sentence, Token, TokenKind};

/// [`Occurrence::column`] of a bigram while its article is extracted. Bigram columns are looked
/// up together once all the article's units are emitted: back to back, the lookups' cache misses
/// overlap, where looked up amid each word's other work each miss was waited for in turn.
const PENDING: u32 = u32::MAX - 1;

/// Pass 6: appends the article's occurrences to `occ` from the earlier passes' results, with
/// their columns when `columns` has a vocabulary; with `names`, records each feature's name.
pub(super) fn emit(
    words: &Words,
    columns: &Columns,
    state: &TokenState,
    (tokens, sentences): (&[Token], &[Sentence]),
    mut names: Option<&mut Names>,
    occ: &mut Vec<Occurrence>,
) {
    let index = columns.index.as_ref();
    let st = state;
    let mut hits = st.cue_hits.iter().copied().peekable();
    // The mention at or after the current token (mentions are sorted and do not overlap).
    let mut mention = 0;
    for (si, s) in sentences.iter().enumerate() {
        let si32 = si as u32;
        let mut prev: Option<u64> = None;
        let mut i = s.tokens.start;
        while i < s.tokens.end {
            crate::text::work::step(crate::text::work::Stage::Units);
            let t = tokens[i];
            let role = st.roles[i];
            if role != ROLE_NONE {
                // A whole mention (within the sentence) becomes one placeholder unit.
                while st.mentions.get(mention).is_some_and(|m| m.end <= i) {
                    crate::text::work::step(crate::text::work::Stage::Units);
                    mention += 1;
                }
                let j = st
                    .mentions
                    .get(mention)
                    .map_or(i + 1, |m| m.end.min(s.tokens.end))
                    .max(i + 1);
                let (unit, fixed) = match role {
                    ROLE_CP => (UNIT_CP, 0),
                    ROLE_ACTOR => (UNIT_ACTOR, 1),
                    _ => (UNIT_OTHER, 2),
                };
                emit_unit(
                    occ,
                    &mut names,
                    index,
                    (unit, columns.roles[fixed].unigram(false)),
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
            let h = st.hot[i];
            let neg = st.negated[i];
            let ctx = st.ctx[i];
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
                    &*words.info(h).stem
                };
                if neg {
                    format!("not_{b}")
                } else {
                    b.to_string()
                }
            };
            emit_unit(
                occ,
                &mut names,
                index,
                (unit, h.columns.unigram(neg)),
                &mut prev,
                si32,
                unit_name,
            );
            if ctx > 0.0 {
                let key = mix(unit, SALT_CTX);
                push_named(
                    occ,
                    &mut names,
                    (key, column_of(index, key)),
                    ctx,
                    si32,
                    || format!("cp~{}", unit_name()),
                );
            }
            if let Some(hit) = hits.next_if(|h| h.start as usize == i) {
                let ck = hit.ck;
                let (cat, negated) = (ck / 2, ck % 2 == 1);
                let cue_columns = columns.cues[ck as usize];
                let ck = ck as u64;
                push_named(
                    occ,
                    &mut names,
                    (mix(ck, SALT_CUE), cue_columns[0]),
                    1.0,
                    si32,
                    || cue_name(cat, negated, false),
                );
                if ctx > 0.0 {
                    push_named(
                        occ,
                        &mut names,
                        (mix(ck, SALT_CUE_CTX), cue_columns[1]),
                        ctx,
                        si32,
                        || cue_name(cat, negated, true),
                    );
                }
                // The cue's category, then its polarity, with the roles of agent and patient.
                let roles = (hit.agent as u64) * 4 + hit.patient as u64;
                let polarity = if hit.conciliatory { "coop" } else { "conflict" };
                for (key, what) in [
                    (mix(mix(ck, SALT_DIR), roles), None),
                    (
                        mix(mix(hit.conciliatory as u64, SALT_DIR_POLARITY), roles),
                        Some(polarity),
                    ),
                ] {
                    push_named(
                        occ,
                        &mut names,
                        (key, column_of(index, key)),
                        1.0,
                        si32,
                        || {
                            let what =
                                what.map_or_else(|| cue_name(cat, negated, false), str::to_string);
                            let (a, p) = (role_short(hit.agent), role_short(hit.patient));
                            format!("dir:{what}:{a}>{p}")
                        },
                    );
                }
            }
            i += 1;
        }
    }
    if let Some(c) = index {
        for o in occ.iter_mut() {
            if o.column == PENDING {
                o.column = c.get_bigram(o.key).unwrap_or(NO_COLUMN);
            }
        }
    }
}

/// After emitting toward a counterpart the gazetteer does not know (a person, a group, a state
/// of fiction): each occurrence is followed by a copy under its own key, so such texts learn
/// weights of their own beside the shared ones (the shared term and its copy sum in the score).
pub(super) fn add_domain_copies(
    columns: &Columns,
    mut names: Option<&mut Names>,
    occ: &mut Vec<Occurrence>,
) {
    let index = columns.index.as_ref();
    let shared = std::mem::take(occ);
    occ.reserve(2 * shared.len());
    for o in shared {
        occ.push(o);
        let key = mix(o.key, SALT_DOMAIN);
        occ.push(Occurrence {
            key,
            column: column_of(index, key),
            ..o
        });
        if let Some(n) = names.as_deref_mut() {
            if !n.contains_key(&key) {
                let name = format!("lit:{}", n.get(&o.key).map_or("", String::as_str));
                n.insert(key, name);
            }
        }
    }
}

/// A role's short name in directed terms.
fn role_short(role: u8) -> &'static str {
    match role {
        ROLE_CP => "cp",
        ROLE_ACTOR => "actor",
        ROLE_OTHER => "other",
        _ => "none",
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
    use super::super::tests::through_roles;
    use super::super::{context, directed, negation, polarity};
    use super::*;

    /// Passes 1–6 on `text` with names collected: each occurrence's name, value and sentence.
    fn occurrences(text: &str) -> Vec<(String, f32, u32)> {
        let (mut ex, a, _) = through_roles(text);
        negation::mark(&a.tokens, &mut ex.state);
        context::weigh(&a.sentences, &a.tokens, &mut ex.state);
        let mut parts = vec![[0.0; super::super::N_DENSE]; a.sentences.len()];
        let lexicon = ex.words.lexicon.clone();
        polarity::match_lexicon(&lexicon, &a.sentences, &a.tokens, &mut ex.state, &mut parts);
        directed::agents_and_patients(&ex.words, text, (&a.tokens, &a.sentences), &mut ex.state);
        let (mut names, mut occ) = (Names::default(), Vec::new());
        let parts = (&a.tokens[..], &a.sentences[..]);
        emit(
            &ex.words,
            &ex.columns,
            &ex.state,
            parts,
            Some(&mut names),
            &mut occ,
        );
        assert!(
            occ.iter().all(|o| o.column == NO_COLUMN),
            "no vocabulary, no columns"
        );
        occ.iter()
            .map(|o| (names[&o.key].clone(), o.value, o.sentence))
            .collect()
    }

    /// A word's features come together, in this order: its unigram, its bigram with the unit
    /// before, its context term, its cue terms. (The scorer sums a sentence's terms in the order
    /// they come, so the order is part of the output.)
    #[test]
    fn each_word_gives_unigram_bigram_context_and_cue_terms_in_text_order() {
        let got = occurrences("The United States did not welcome the talks. Rain fell.");
        let names: Vec<&str> = got.iter().map(|o| o.0.as_str()).collect();
        let welcome = names.iter().position(|&n| n == "not_welcom").unwrap();
        assert_eq!(
            names[welcome..welcome + 7],
            [
                "not_welcom",
                "not not_welcom",
                "cp~not_welcom",
                "cue:SUPPORT:negated",
                "cp~cue:SUPPORT:negated",
                "dir:cue:SUPPORT:negated:cp>none",
                "dir:conflict:cp>none",
            ]
        );
        // The mention is one placeholder unit, in the bigrams on both sides.
        assert!(names.contains(&"__counterpart__"));
        assert!(names.contains(&"the __counterpart__"));
        assert!(names.contains(&"__counterpart__ did"));
        assert!(!names
            .iter()
            .any(|n| n.contains("unit") || n.contains("state")));
        // Context weighs 1 for the three words nearest the mention, 0.5 beyond.
        let value = |name: &str| got.iter().find(|o| o.0 == name).unwrap().1;
        assert_eq!((value("cp~did"), value("cp~not_the")), (1.0, 0.5));
        // Punctuation breaks the bigrams, and the second sentence is sentence 1.
        assert!(!names.contains(&"not_talk rain"));
        assert_eq!(got.iter().find(|o| o.0 == "rain").unwrap().2, 1);
        assert!(got
            .iter()
            .filter(|o| o.2 == 1)
            .all(|o| !o.0.starts_with("cp~")));
    }
}
