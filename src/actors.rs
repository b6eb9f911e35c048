//! The actor gazetteer (states, observers, organisations, armed groups with their aliases) and
//! mention finding: which tokens of a text name which actor. Names the gazetteer does not know
//! are matched literally (case-insensitive, whole words).
//!
//! Matching rules: aliases are tokenized like article text and matched on whole tokens; an
//! alias written only in capitals, digits and dots (`US`, `U.S.`, `DPRK`) matches case-sensitively,
//! any other alias on normalised forms (case and accents folded); a leading "the" in an alias
//! is optional in the text; where aliases overlap the longest wins.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::text::{normalize_word, tokenize, Token, TokenKind};

/// The gazetteer shipped in `data/gazetteer.tsv`, compiled into the library.
pub const BUILTIN_GAZETTEER: &str = include_str!("../data/gazetteer.tsv");

/// One known actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entity {
    /// Short code: ISO 3166-1 alpha-3 for states, an acronym for organisations.
    pub id: String,
    /// `state`, `observer`, `partial`, `organisation` or `group`.
    pub kind: String,
    /// Canonical English name.
    pub name: String,
    /// Every alias, as written in the gazetteer.
    pub aliases: Vec<String>,
}

/// Phrases that contain an alias but name no actor; matching them first keeps "Latin
/// America" from counting as a mention of the United States.
const NOT_ACTORS: &[&str] = &[
    "Latin America",
    "Latin American",
    "Latin Americans",
    "South America",
    "South American",
    "South Americans",
    "North America",
    "North American",
    "Central America",
    "Central American",
    "African American",
    "African Americans",
    "Asian American",
    "Asian Americans",
    "Native American",
    "Native Americans",
    "Pan-American",
    "Americas",
    "Indian Ocean",
    "Gulf of Guinea",
    "Washington Post",
    "Washington state",
    "Georgia state",
    "New York Times",
];

/// Entity index of a [`NOT_ACTORS`] phrase.
const NO_ENTITY: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Pattern {
    /// Normalised token forms (or exact forms when `exact`).
    tokens: Vec<String>,
    exact: bool,
    entity: u32,
}

/// Known actors and an index of their aliases by first token.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    entities: Vec<Entity>,
    /// First token (normalised) → its list in `lists`.
    index: FxHashMap<String, AliasList>,
    /// Per first token, the patterns starting with it, longest first.
    lists: Vec<Vec<Pattern>>,
}

/// The aliases starting with one normalised word, as found by
/// [`Gazetteer::aliases_starting`]: a caller that meets the same word often (a per-word
/// cache) keeps this instead of looking the word up at every occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AliasList(u32);

/// Where an actor is named in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mention {
    /// First token of the mention.
    pub start: usize,
    /// One past its last token.
    pub end: usize,
    /// What was mentioned.
    pub who: Who,
}

/// The actor a mention refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    /// A gazetteer entity, by index.
    Entity(u32),
    /// A literal name given by the user, by its index in [`ActorRef::literals`].
    Literal(u32),
}

/// A counterpart or actor named by the user, resolved against the gazetteer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActorRef {
    /// The name shown in output: the canonical name(s) of known entities, else the name given.
    pub display: String,
    /// Gazetteer entities it stands for (a name like "Hungary & Romania" stands for two).
    pub entities: Vec<u32>,
    /// Token patterns (normalised) of parts the gazetteer does not know, matched literally.
    pub literals: Vec<Vec<String>>,
}

fn is_exact_alias(alias: &str) -> bool {
    alias.chars().any(|c| c.is_ascii_uppercase())
        && alias.chars().all(|c| {
            c.is_ascii_uppercase()
                || c.is_ascii_digit()
                || c == '.'
                || c == ' '
                || c == '&'
                || c == '-'
        })
}

/// Token forms of a name: normalised words, numbers and punctuation, without a leading "the".
fn name_tokens(name: &str, exact: bool) -> Vec<String> {
    let mut toks: Vec<Token> = Vec::new();
    tokenize(name, &mut toks);
    let mut out: Vec<String> = toks
        .iter()
        .map(|t| {
            let s = t.text(name);
            if exact {
                s.to_string()
            } else {
                normalize_word(s).into_owned()
            }
        })
        .collect();
    if out.len() > 1 && out[0].eq_ignore_ascii_case("the") {
        out.remove(0);
    }
    out
}

impl Gazetteer {
    /// The gazetteer compiled into the library (parsed once).
    pub fn builtin() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| {
            Gazetteer::parse(BUILTIN_GAZETTEER, "data/gazetteer.tsv")
                .expect("the built-in gazetteer is checked by a unit test")
        })
    }

    /// Parses a gazetteer in the `id<TAB>kind<TAB>name<TAB>alias|alias|...` format
    /// (`#` comments, one header line).
    ///
    /// # Errors
    /// [`Error::BadData`] naming `origin` and the line for a row without four columns,
    /// a duplicate id, or an empty name.
    pub fn parse(text: &str, origin: &str) -> Result<Gazetteer> {
        let mut g = Gazetteer::default();
        let mut header_seen = false;
        let mut ids = FxHashMap::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |message: String| Error::BadData {
                path: origin.to_string(),
                line: n + 1,
                message,
            };
            let cols: Vec<&str> = line.split('\t').collect();
            if !header_seen {
                header_seen = true;
                if cols.first() == Some(&"id") {
                    continue;
                }
            }
            if cols.len() != 4 {
                return Err(bad(format!(
                    "expected 4 tab-separated columns, found {}",
                    cols.len()
                )));
            }
            let (id, kind, name) = (cols[0].trim(), cols[1].trim(), cols[2].trim());
            if id.is_empty() || name.is_empty() {
                return Err(bad("empty id or name".into()));
            }
            if ids.insert(id.to_string(), ()).is_some() {
                return Err(bad(format!("duplicate id {id}")));
            }
            let mut aliases: Vec<String> = vec![name.to_string()];
            for a in cols[3].split('|').map(str::trim).filter(|a| !a.is_empty()) {
                if !aliases.iter().any(|x| x == a) {
                    aliases.push(a.to_string());
                }
            }
            let entity = g.entities.len() as u32;
            for a in &aliases {
                g.add_pattern(a, entity);
            }
            g.entities.push(Entity {
                id: id.to_string(),
                kind: kind.to_string(),
                name: name.to_string(),
                aliases,
            });
        }
        for phrase in NOT_ACTORS {
            g.add_pattern(phrase, NO_ENTITY);
        }
        for list in &mut g.lists {
            list.sort_by_key(|p| std::cmp::Reverse(p.tokens.len()));
        }
        Ok(g)
    }

    fn add_pattern(&mut self, alias: &str, entity: u32) {
        let exact = is_exact_alias(alias);
        let tokens = name_tokens(alias, exact);
        if tokens.is_empty() {
            return;
        }
        let key = normalize_word(&tokens[0]).into_owned();
        let next = AliasList(self.lists.len() as u32);
        let at = *self.index.entry(key).or_insert(next);
        if at == next {
            self.lists.push(Vec::new());
        }
        let list = &mut self.lists[at.0 as usize];
        if !list.iter().any(|p| p.tokens == tokens && p.exact == exact) {
            list.push(Pattern {
                tokens,
                exact,
                entity,
            });
        }
    }

    /// All entities, in file order.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// The entity at an index from [`Who::Entity`].
    pub fn entity(&self, index: u32) -> &Entity {
        &self.entities[index as usize]
    }

    /// Finds the entity a whole name stands for: its id, canonical name or any alias
    /// (case-insensitive, accents folded, leading "the" optional).
    pub fn lookup(&self, name: &str) -> Option<u32> {
        let name = name.trim();
        if let Some(i) = self.entities.iter().position(|e| e.id == name) {
            return Some(i as u32);
        }
        let toks = name_tokens(name, false);
        let first = toks.first()?;
        let exact = name_tokens(name, true);
        self.index.get(first.as_str()).and_then(|&at| {
            self.lists[at.0 as usize]
                .iter()
                .find(|p| {
                    if p.entity == NO_ENTITY {
                        false
                    } else if p.exact {
                        p.tokens == exact
                    } else {
                        p.tokens == toks
                    }
                })
                .map(|p| p.entity)
        })
    }

    /// Resolves a user-given actor or counterpart name.
    ///
    /// Bracketed codes are dropped (`Gondor [GON]` → `Gondor`); a name the gazetteer knows
    /// resolves to its entity; a compound (`Hungary & Romania`, `A and B`, `A/B`) resolves part
    /// by part; anything unknown becomes a literal pattern matched as whole words.
    pub fn resolve(&self, name: &str) -> ActorRef {
        let cleaned = strip_brackets(name);
        let cleaned = cleaned.trim();
        let mut r = ActorRef::default();
        if cleaned.is_empty() {
            return r;
        }
        let parts: Vec<&str> = match self.lookup(cleaned) {
            Some(_) => vec![cleaned],
            None => {
                let split: Vec<&str> = cleaned
                    .split(['&', '/', ';'])
                    .flat_map(|p| p.split(" and "))
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect();
                if split.len() > 1 {
                    split
                } else {
                    vec![cleaned]
                }
            }
        };
        let mut shown = Vec::new();
        for p in parts {
            match self.lookup(p) {
                Some(e) => {
                    if !r.entities.contains(&e) {
                        r.entities.push(e);
                        shown.push(self.entity(e).name.clone());
                    }
                }
                None => {
                    let toks = name_tokens(p, false);
                    if !toks.is_empty() {
                        r.literals.push(toks);
                        shown.push(p.to_string());
                    }
                }
            }
        }
        r.display = shown.join(" & ");
        r
    }

    /// The aliases starting with this normalised word, if any.
    pub fn aliases_starting(&self, norm: &str) -> Option<AliasList> {
        self.index.get(norm).copied()
    }

    /// Finds every gazetteer mention in a tokenized text, left to right, longest alias first,
    /// without overlaps. `norm(i)` is the normalised form of `tokens[i]`; `starting(i)` is
    /// [`Gazetteer::aliases_starting`] of that form (which a caller may have cached per word).
    pub fn find_mentions<'a>(
        &self,
        text: &str,
        tokens: &[Token],
        norm: impl Fn(usize) -> &'a str,
        starting: impl Fn(usize) -> Option<AliasList>,
        out: &mut Vec<Mention>,
    ) {
        out.clear();
        let mut i = 0;
        while i < tokens.len() {
            if tokens[i].kind != TokenKind::Punct {
                if let Some(at) = starting(i) {
                    if let Some(p) = self.lists[at.0 as usize]
                        .iter()
                        .find(|p| pattern_matches(p, text, tokens, &norm, i))
                    {
                        if p.entity != NO_ENTITY {
                            out.push(Mention {
                                start: i,
                                end: i + p.tokens.len(),
                                who: Who::Entity(p.entity),
                            });
                        }
                        i += p.tokens.len();
                        continue;
                    }
                }
            }
            i += 1;
        }
    }
}

fn pattern_matches<'a>(
    p: &Pattern,
    text: &str,
    tokens: &[Token],
    norm: &impl Fn(usize) -> &'a str,
    at: usize,
) -> bool {
    if at + p.tokens.len() > tokens.len() {
        return false;
    }
    p.tokens.iter().enumerate().all(|(k, want)| {
        if p.exact {
            same(tokens[at + k].text(text), want)
        } else {
            same(norm(at + k), want)
        }
    })
}

/// String equality that rules most pairs out on length and first byte, inline, before
/// comparing the bytes.
#[inline]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// Finds literal (normalised, whole-token) occurrences of `patterns` and merges them into
/// `mentions`, keeping gazetteer mentions where they overlap. Returns how many were added.
pub fn find_literal_mentions<'a>(
    patterns: &[Vec<String>],
    n_tokens: usize,
    norm: impl Fn(usize) -> &'a str,
    mentions: &mut Vec<Mention>,
) -> usize {
    if patterns.is_empty() {
        return 0;
    }
    let mut added = 0;
    for (li, pat) in patterns.iter().enumerate() {
        if pat.is_empty() || pat.len() > n_tokens {
            continue;
        }
        for at in 0..=n_tokens - pat.len() {
            if pat.iter().enumerate().all(|(k, w)| norm(at + k) == w) {
                let end = at + pat.len();
                if mentions.iter().any(|m| m.start < end && at < m.end) {
                    continue;
                }
                mentions.push(Mention {
                    start: at,
                    end,
                    who: Who::Literal(li as u32),
                });
                added += 1;
            }
        }
    }
    if added > 0 {
        mentions.sort_by_key(|m| m.start);
    }
    added
}

fn strip_brackets(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0;
    for c in name.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "# test\nid\tkind\tname\taliases\nUSA\tstate\tUnited States\tUS|U.S.|America|American|Washington|the White House\nCUB\tstate\tCuba\tCuban|Havana\nGIN\tstate\tGuinea\tGuinean\nPNG\tstate\tPapua New Guinea\tPNG\n";

    fn mentions(g: &Gazetteer, text: &str) -> Vec<(String, String)> {
        let (toks, norms) = crate::text::tokens_and_norms(text);
        let refs: Vec<&str> = norms.iter().map(String::as_str).collect();
        let mut m = Vec::new();
        g.find_mentions(
            text,
            &toks,
            |i| refs[i],
            |i| g.aliases_starting(refs[i]),
            &mut m,
        );
        m.iter()
            .map(|m| {
                let span = &text[toks[m.start].start as usize..toks[m.end - 1].end as usize];
                let Who::Entity(e) = m.who else {
                    unreachable!()
                };
                (span.to_string(), g.entity(e).id.clone())
            })
            .collect()
    }

    #[test]
    fn finds_aliases_case_rules_and_longest_match() {
        let g = Gazetteer::parse(SMALL, "t").unwrap();
        assert!(mentions(&g, "Latin America and South American states").is_empty());
        let got = mentions(&g, "Havana told the White House and the U.S. that us Cubans in Papua New Guinea and US allies agree");
        let ids: Vec<&str> = got
            .iter()
            .map(|(s, id)| if s.is_empty() { "" } else { id.as_str() })
            .collect();
        assert_eq!(ids, ["CUB", "USA", "USA", "PNG", "USA"]);
        assert_eq!(got[3].0, "Papua New Guinea");
    }

    #[test]
    fn resolves_names_compounds_and_literals() {
        let g = Gazetteer::parse(SMALL, "t").unwrap();
        assert_eq!(g.resolve("Washington").display, "United States");
        assert_eq!(g.resolve("the white house").entities, vec![0]);
        let r = g.resolve("Cuba & United States");
        assert_eq!(r.entities, vec![1, 0]);
        let r = g.resolve("Gondor [GON]");
        assert_eq!(r.display, "Gondor");
        assert_eq!(r.literals, vec![vec!["gondor".to_string()]]);
    }

    #[test]
    fn literal_names_match_whole_words_only() {
        let text = "Gondor warned Gondorians; gondor replied.";
        let (_, norms) = crate::text::tokens_and_norms(text);
        let refs: Vec<&str> = norms.iter().map(String::as_str).collect();
        let mut m = Vec::new();
        assert_eq!(
            find_literal_mentions(&[vec!["gondor".into()]], refs.len(), |i| refs[i], &mut m),
            2
        );
    }

    #[test]
    fn rejects_rows_without_four_columns() {
        let err = Gazetteer::parse("id\tkind\tname\taliases\nUSA\tstate\n", "g.tsv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "g.tsv:2: expected 4 tab-separated columns, found 2"
        );
    }

    #[test]
    fn builtin_gazetteer_parses_and_knows_the_metonyms() {
        let g = Gazetteer::builtin();
        assert!(g.entities().iter().filter(|e| e.kind == "state").count() >= 193);
        for (alias, name) in [
            ("Washington", "United States"),
            ("the Kremlin", "Russia"),
            ("DPRK", "North Korea"),
            ("Downing Street", "United Kingdom"),
            ("Havana", "Cuba"),
            ("Beijing", "China"),
        ] {
            assert_eq!(g.resolve(alias).display, name, "{alias}");
        }
    }
}
