//! The actor gazetteer (states, observers, organisations, armed groups with their aliases) and
//! mention finding: which tokens of a text name which actor. Names the gazetteer does not know
//! are matched literally (case-insensitive, whole words).
//!
//! Matching rules: aliases are tokenized like article text and matched on whole tokens; an
//! alias written only in capitals, digits and dots (`US`, `U.S.`, `DPRK`) matches case-sensitively,
//! any other alias on normalised forms (case and accents folded); a leading "the" in an alias
//! is optional in the text; where aliases overlap the longest wins. An alias may hold only
//! between two dates (`Moscow[..1991-12-25]` is the Soviet Union, `Moscow[1991-12-26..]`
//! Russia): an article is matched with the meanings its date gives, an undated one with
//! today's.

use std::sync::OnceLock;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::text::{normalize_word, tokenize, Token};

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
    valid: Validity,
}

/// The dates between which an alias means its entity (both ends included; open when `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Validity {
    /// First day it holds.
    pub from: Option<NaiveDate>,
    /// Last day it holds.
    pub to: Option<NaiveDate>,
}

impl Validity {
    /// Whether it holds on `date`; an undated text is read as of today, so only an alias
    /// whose meaning has ended fails it.
    #[inline]
    pub fn holds(&self, date: Option<NaiveDate>) -> bool {
        match date {
            Some(d) => self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t),
            None => self.to.is_none(),
        }
    }

    /// Whether it holds at any date.
    pub fn is_always(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }
}

impl std::fmt::Display for Validity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        write!(f, "[{}..{}]", d(self.from), d(self.to))
    }
}

/// Splits `Moscow[..1991-12-25]` into the alias and its validity.
fn dated_alias(alias: &str) -> std::result::Result<(&str, Validity), String> {
    let Some(open) = alias.find('[') else {
        return Ok((alias, Validity::default()));
    };
    let range = alias[open + 1..]
        .strip_suffix(']')
        .and_then(|r| r.split_once(".."))
        .ok_or_else(|| format!("alias {alias:?}: expected a date range like [1990-10-03..]"))?;
    let day = |s: &str| -> std::result::Result<Option<NaiveDate>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("alias {alias:?}: {s:?} is not a date (YYYY-MM-DD)"))
    };
    let valid = Validity {
        from: day(range.0)?,
        to: day(range.1)?,
    };
    if valid.is_always() || valid.from.zip(valid.to).is_some_and(|(f, t)| f > t) {
        return Err(format!("alias {alias:?}: empty or open date range"));
    }
    Ok((alias[..open].trim_end(), valid))
}

/// Known actors and an index of their aliases by first token.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    entities: Vec<Entity>,
    /// First token (normalised) → its list in `lists`.
    index: FxHashMap<String, usize>,
    /// Per first token, the patterns starting with it, longest first.
    lists: Vec<Vec<Pattern>>,
    /// What mention finding reads; built from `lists` once they are complete.
    matcher: Matcher,
}

/// The patterns as mention finding reads them: tokens as numbers, and for each word that can
/// start a mention only the patterns that word can start.
#[derive(Debug, Clone, Default)]
struct Matcher {
    /// Every token form of every pattern (normalised, or as written for exact ones) → its
    /// number, from 1 (0 stands for a form in no pattern).
    forms: FxHashMap<String, u32>,
    /// Candidate lists, each longest pattern first.
    lists: Vec<Vec<Probe>>,
    /// A normalised first word → its list of inexact patterns (only where there are some).
    inexact: FxHashMap<String, AliasList>,
    /// An exact first word ("US", "WHO") → its list: the exact patterns starting with it and
    /// the inexact ones starting with its normalised form, in their order in `lists`.
    exact: FxHashMap<String, AliasList>,
}

/// A pattern as mention finding reads it.
#[derive(Debug, Clone)]
struct Probe {
    /// The number of each token's form ([`Matcher::forms`]).
    forms: Box<[u32]>,
    exact: bool,
    entity: u32,
    valid: Validity,
}

/// The aliases one word can start, as found by [`Gazetteer::alias_word`]: a caller that meets
/// the same word often (a per-word cache) keeps this instead of looking the word up at every
/// occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AliasList(u32);

/// What mention finding needs of one word ([`Gazetteer::alias_word`]), kept per word by a
/// caller that meets the same word often.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AliasWord {
    /// The aliases it can start.
    pub starts: Option<AliasList>,
    /// The numbers of its normalised form and of its form as written, 0 for a form in no alias:
    /// inexact patterns compare the first, exact ones the second.
    forms: [u32; 2],
}

impl AliasWord {
    /// Whether the word is a token of any alias (else it cannot be part of a mention).
    pub fn in_alias(&self) -> bool {
        self.forms != [0, 0]
    }
}

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
    /// Token patterns (normalised) of parts the gazetteer does not know, matched literally:
    /// each part whole, and for a longer name its last capitalised word that is not an alias
    /// ("Vladimir Putin" from "Russian President Vladimir Putin").
    pub literals: Vec<Vec<String>>,
    /// Entities named inside a part the gazetteer does not know ("Chilean" in "28 Chilean
    /// government officials"): they count as mentions only in a text where no literal does.
    pub fallback: Vec<u32>,
}

impl ActorRef {
    /// Whether it names anything that could be found in a text.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty() && self.literals.is_empty() && self.fallback.is_empty()
    }
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
            // The name is an alias too, unless the list gives it with dates ("Germany" means
            // Germany only from reunification).
            let listed: Vec<&str> = cols[3]
                .split('|')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .collect();
            let mut aliases: Vec<String> = Vec::new();
            if !listed.iter().any(|a| a.split('[').next() == Some(name)) {
                aliases.push(name.to_string());
            }
            for a in listed {
                if !aliases.iter().any(|x| x == a) {
                    aliases.push(a.to_string());
                }
            }
            let entity = g.entities.len() as u32;
            for a in &aliases {
                let (alias, valid) = dated_alias(a).map_err(bad)?;
                g.add_pattern(alias, entity, valid);
            }
            g.entities.push(Entity {
                id: id.to_string(),
                kind: kind.to_string(),
                name: name.to_string(),
                aliases,
            });
        }
        for phrase in NOT_ACTORS {
            g.add_pattern(phrase, NO_ENTITY, Validity::default());
        }
        for list in &mut g.lists {
            list.sort_by_key(|p| std::cmp::Reverse(p.tokens.len()));
        }
        g.matcher = Matcher::new(&g.lists);
        Ok(g)
    }

    fn add_pattern(&mut self, alias: &str, entity: u32, valid: Validity) {
        let exact = is_exact_alias(alias);
        let tokens = name_tokens(alias, exact);
        if tokens.is_empty() {
            return;
        }
        let key = normalize_word(&tokens[0]).into_owned();
        let next = self.lists.len();
        let at = *self.index.entry(key).or_insert(next);
        if at == next {
            self.lists.push(Vec::new());
        }
        let list = &mut self.lists[at];
        if !list
            .iter()
            .any(|p| p.tokens == tokens && p.exact == exact && p.valid == valid)
        {
            list.push(Pattern {
                tokens,
                exact,
                entity,
                valid,
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

    /// Finds the entity a whole name stands for today: its id, canonical name or any alias
    /// (case-insensitive, accents folded, leading "the" optional).
    pub fn lookup(&self, name: &str) -> Option<u32> {
        self.lookup_at(name, None)
    }

    /// Finds the entity a whole name stands for on `date` (today when `None`).
    pub fn lookup_at(&self, name: &str, date: Option<NaiveDate>) -> Option<u32> {
        let name = name.trim();
        if let Some(i) = self.entities.iter().position(|e| e.id == name) {
            return Some(i as u32);
        }
        let toks = name_tokens(name, false);
        let first = toks.first()?;
        let exact = name_tokens(name, true);
        self.index.get(first.as_str()).and_then(|&at| {
            self.lists[at]
                .iter()
                .find(|p| {
                    p.entity != NO_ENTITY
                        && p.valid.holds(date)
                        && if p.exact {
                            p.tokens == exact
                        } else {
                            p.tokens == toks
                        }
                })
                .map(|p| p.entity)
        })
    }

    /// Resolves a user-given actor or counterpart name as of today; see
    /// [`Gazetteer::resolve_at`].
    pub fn resolve(&self, name: &str) -> ActorRef {
        self.resolve_at(name, None)
    }

    /// Resolves a user-given actor or counterpart name for an article of `date`.
    ///
    /// Bracketed codes are dropped (`Gondor [GON]` → `Gondor`); a name the gazetteer knows
    /// resolves to its entity; a compound (`Hungary & Romania`, `A and B`, `A/B`) resolves part
    /// by part; anything unknown becomes a literal pattern matched as whole words (plus the
    /// last capitalised word of a longer name, a person's surname), and the gazetteer entities
    /// named inside it become its fallback.
    pub fn resolve_at(&self, name: &str, date: Option<NaiveDate>) -> ActorRef {
        let cleaned = strip_brackets(name);
        let cleaned = cleaned.trim();
        let mut r = ActorRef::default();
        if cleaned.is_empty() {
            return r;
        }
        let parts: Vec<&str> = match self.lookup_at(cleaned, date) {
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
            match self.lookup_at(p, date) {
                Some(e) => {
                    if !r.entities.contains(&e) {
                        r.entities.push(e);
                        shown.push(self.entity(e).name.clone());
                    }
                }
                None => {
                    let toks = name_tokens(p, false);
                    if toks.is_empty() {
                        continue;
                    }
                    r.literals.push(toks);
                    shown.push(p.to_string());
                    let inner = self.mentions_in_name(p, date);
                    for (e, _) in &inner {
                        if !r.fallback.contains(e) {
                            r.fallback.push(*e);
                        }
                    }
                    if let Some(head) = surname(p, &inner) {
                        if !r.literals.contains(&head) {
                            r.literals.push(head);
                        }
                    }
                }
            }
        }
        r.display = shown.join(" & ");
        r
    }

    /// The gazetteer mentions inside a name: entity and the tokens it covers.
    fn mentions_in_name(
        &self,
        name: &str,
        date: Option<NaiveDate>,
    ) -> Vec<(u32, std::ops::Range<usize>)> {
        self.mentions_in(name, date)
            .into_iter()
            .filter_map(|m| match m.who {
                Who::Entity(e) => Some((e, m.start..m.end)),
                Who::Literal(_) => None,
            })
            .collect()
    }

    /// The gazetteer mentions in a short text of `date`, each word looked up afresh (feature
    /// extraction caches what it looks up; this is for names and tests).
    fn mentions_in(&self, text: &str, date: Option<NaiveDate>) -> Vec<Mention> {
        let mut toks: Vec<Token> = Vec::new();
        tokenize(text, &mut toks);
        let words: Vec<AliasWord> = toks
            .iter()
            .map(|t| {
                let raw = t.text(text);
                self.alias_word(raw, &normalize_word(raw))
            })
            .collect();
        let starts = toks.iter().enumerate().filter_map(|(i, t)| {
            (t.kind != crate::text::TokenKind::Punct).then_some((i, words[i].starts?))
        });
        let mut found = Vec::new();
        self.find_mentions(toks.len(), starts, |i| words[i], date, &mut found);
        found
    }

    /// What mention finding needs of a word: `raw` as written in the text, `norm` its
    /// normalised form ([`normalize_word`]).
    pub fn alias_word(&self, raw: &str, norm: &str) -> AliasWord {
        let m = &self.matcher;
        let form = |f: &str| m.forms.get(f).copied().unwrap_or(0);
        AliasWord {
            starts: m.exact.get(raw).or_else(|| m.inexact.get(norm)).copied(),
            forms: [form(norm), form(raw)],
        }
    }

    /// Finds every gazetteer mention in a text of `n_tokens` tokens, left to right, longest
    /// alias first, without overlaps. `starts` are the tokens that can start one, in text
    /// order: every word (not punctuation) whose [`Gazetteer::alias_word`] has `starts`, with
    /// them; `word(i)` is [`Gazetteer::alias_word`] of token `i` (which a caller may have
    /// cached per word); `date` is the text's, for aliases that hold only between dates.
    pub fn find_mentions(
        &self,
        n_tokens: usize,
        starts: impl IntoIterator<Item = (usize, AliasList)>,
        word: impl Fn(usize) -> AliasWord,
        date: Option<NaiveDate>,
        out: &mut Vec<Mention>,
    ) {
        out.clear();
        // Tokens before `free` belong to the mention found last.
        let mut free = 0;
        for (i, at) in starts {
            crate::text::work::step(crate::text::work::Stage::Mentions);
            if i < free {
                continue;
            }
            let found = self.matcher.lists[at.0 as usize].iter().find(|p| {
                i + p.forms.len() <= n_tokens
                    && p.valid.holds(date)
                    && p.forms
                        .iter()
                        .enumerate()
                        .all(|(k, &f)| word(i + k).forms[p.exact as usize] == f)
            });
            if let Some(p) = found {
                if p.entity != NO_ENTITY {
                    out.push(Mention {
                        start: i,
                        end: i + p.forms.len(),
                        who: Who::Entity(p.entity),
                    });
                }
                free = i + p.forms.len();
            }
        }
    }
}

impl Matcher {
    /// Numbers the patterns' token forms and splits each first word's list by what a word of
    /// the text can match: an exact pattern only where the word is written as its first token.
    fn new(lists: &[Vec<Pattern>]) -> Matcher {
        let mut m = Matcher::default();
        for p in lists.iter().flatten() {
            for t in &p.tokens {
                let next = m.forms.len() as u32 + 1;
                m.forms.entry(t.clone()).or_insert(next);
            }
        }
        let probes = |m: &Matcher, list: &[Pattern], keep: &dyn Fn(&Pattern) -> bool| {
            list.iter()
                .filter(|p| keep(p))
                .map(|p| Probe {
                    forms: p.tokens.iter().map(|t| m.forms[t.as_str()]).collect(),
                    exact: p.exact,
                    entity: p.entity,
                    valid: p.valid,
                })
                .collect::<Vec<Probe>>()
        };
        for list in lists {
            let inexact = probes(&m, list, &|p| !p.exact);
            if !inexact.is_empty() {
                let key = normalize_word(&list[0].tokens[0]).into_owned();
                m.inexact.insert(key, AliasList(m.lists.len() as u32));
                m.lists.push(inexact);
            }
            for p in list.iter().filter(|p| p.exact) {
                let first = &p.tokens[0];
                if m.exact.contains_key(first.as_str()) {
                    continue;
                }
                let starting = probes(&m, list, &|q| !q.exact || q.tokens[0] == *first);
                m.exact
                    .insert(first.clone(), AliasList(m.lists.len() as u32));
                m.lists.push(starting);
            }
        }
        m
    }
}

/// Finds literal (normalised, whole-token) occurrences of `patterns` and merges them into
/// `mentions` (sorted by start). A literal is a name the user gave, so where it overlaps
/// gazetteer mentions ("the Trump administration" for the literal "Trump") it replaces them.
/// Returns how many were added.
pub fn find_literal_mentions<'a>(
    patterns: &[Vec<String>],
    n_tokens: usize,
    norm: impl Fn(usize) -> &'a str,
    mentions: &mut Vec<Mention>,
) -> usize {
    let mut found: Vec<Mention> = Vec::new();
    // Tokens inside a literal found already: an overlap is looked up per token, not per
    // mention found (regression: 2 MB naming an unknown counterpart 116,000 times took 14 s).
    let mut taken: Vec<bool> = Vec::new();
    for (li, pat) in patterns.iter().enumerate() {
        if pat.is_empty() || pat.len() > n_tokens {
            continue;
        }
        // First pattern first, longest match wins among literals: skip overlaps.
        let mut at = 0;
        while at + pat.len() <= n_tokens {
            crate::text::work::step(crate::text::work::Stage::Mentions);
            if pat.iter().enumerate().all(|(k, w)| norm(at + k) == w) {
                let end = at + pat.len();
                if taken.is_empty() {
                    taken.resize(n_tokens, false);
                }
                crate::text::work::steps(crate::text::work::Stage::Mentions, end - at);
                if !taken[at..end].contains(&true) {
                    found.push(Mention {
                        start: at,
                        end,
                        who: Who::Literal(li as u32),
                    });
                    taken[at..end].fill(true);
                }
                at = end;
            } else {
                at += 1;
            }
        }
    }
    if found.is_empty() {
        return 0;
    }
    found.sort_by_key(|m| m.start);
    let added = found.len();
    let gazetteer = std::mem::take(mentions);
    // Both lists are sorted and each is free of overlaps: one merge keeps every literal and
    // each gazetteer mention no literal overlaps.
    let mut lit = found.iter().peekable();
    for m in gazetteer {
        while let Some(l) = lit.next_if(|l| l.start < m.start) {
            mentions.push(*l);
        }
        let overlapped = mentions.last().is_some_and(|l| l.end > m.start)
            || lit.peek().is_some_and(|l| l.start < m.end);
        if !overlapped {
            mentions.push(m);
        }
    }
    mentions.extend(lit);
    added
}

/// A longer name's last capitalised word outside any alias ("Thomas Whelan" → "whelan"),
/// looked for before a comma or " of " ("DuBose Porter, chairman of ..." → "porter").
fn surname(name: &str, inner: &[(u32, std::ops::Range<usize>)]) -> Option<Vec<String>> {
    let mut toks: Vec<Token> = Vec::new();
    tokenize(name, &mut toks);
    let stop = toks
        .iter()
        .position(|t| matches!(t.text(name), "," | "of" | "(" | "-" | "--"))
        .unwrap_or(toks.len());
    if stop < 2 {
        return None;
    }
    (0..stop)
        .rev()
        .find(|&i| {
            let w = toks[i].text(name);
            toks[i].kind == crate::text::TokenKind::Word
                && w.chars().count() >= 3
                && w.chars().next().is_some_and(char::is_uppercase)
                && !inner.iter().any(|m| m.1.contains(&i))
        })
        .map(|i| vec![normalize_word(toks[i].text(name)).into_owned()])
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
        let toks = crate::text::tokens_and_norms(text).0;
        mentions_with(g, text)
            .iter()
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

    /// Mention finding as the gazetteer's rules state it: at each word, the first pattern of its
    /// normalised form's list (longest first) whose tokens equal the text's, normalised or, for
    /// an exact pattern, as written.
    fn mentions_by_strings(g: &Gazetteer, text: &str) -> Vec<Mention> {
        let (toks, norms) = crate::text::tokens_and_norms(text);
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let found = (toks[i].kind != crate::text::TokenKind::Punct)
                .then(|| g.index.get(&norms[i]))
                .flatten()
                .and_then(|&at| {
                    g.lists[at].iter().find(|p| {
                        i + p.tokens.len() <= toks.len()
                            && p.valid.holds(None)
                            && p.tokens.iter().enumerate().all(|(k, want)| {
                                let got = if p.exact {
                                    toks[i + k].text(text)
                                } else {
                                    &norms[i + k]
                                };
                                got == want
                            })
                    })
                });
            match found {
                Some(p) => {
                    if p.entity != NO_ENTITY {
                        out.push(Mention {
                            start: i,
                            end: i + p.tokens.len(),
                            who: Who::Entity(p.entity),
                        });
                    }
                    i += p.tokens.len();
                }
                None => i += 1,
            }
        }
        out
    }

    /// The matcher compares numbered forms and gives each word only the patterns it can start;
    /// on texts strung together from alias tokens in every casing, it finds what the string rules
    /// find.
    #[test]
    fn numbered_matching_agrees_with_the_string_rules() {
        let g = Gazetteer::builtin();
        let mut words: Vec<String> = g
            .lists
            .iter()
            .flatten()
            .flat_map(|p| p.tokens.iter().cloned())
            .collect();
        words.sort();
        words.dedup();
        let extra = [
            "the", "said", "and", "us", "Us", "is", "IS", "who", "a", "A", "of", ".",
        ];
        words.extend(extra.iter().map(|w| w.to_string()));
        let mut rng = crate::rng::SplitMix64::new(0x2545_f491_4f6c_dd1d);
        let mut next = |n| rng.below(n);
        let mut found = 0;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..40 {
                let w = &words[next(words.len())];
                let w = match next(4) {
                    0 => w.to_uppercase(),
                    1 => {
                        let mut c = w.chars();
                        c.next()
                            .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
                    }
                    _ => w.clone(),
                };
                text.push_str(&w);
                text.push(' ');
            }
            let got = mentions_with(g, &text);
            assert_eq!(got, mentions_by_strings(g, &text), "{text}");
            found += got.len();
        }
        assert!(found > 10_000, "{found}");
    }

    fn mentions_with(g: &Gazetteer, text: &str) -> Vec<Mention> {
        g.mentions_in(text, None)
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

    fn day(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    }

    #[test]
    fn dated_aliases_take_the_meaning_of_the_articles_date() {
        let g = Gazetteer::builtin();
        let at = |name: &str, date: &str| g.resolve_at(name, day(date)).display;
        assert_eq!(at("Moscow", "1987-03-02"), "Soviet Union");
        assert_eq!(at("Moscow", "1991-12-25"), "Soviet Union");
        assert_eq!(at("Moscow", "1991-12-26"), "Russia");
        assert_eq!(g.resolve("the Kremlin").display, "Russia");
        assert_eq!(at("Bonn", "1987-03-02"), "West Germany");
        assert_eq!(at("Germany", "1990-10-02"), "West Germany");
        assert_eq!(at("Germany", "1990-10-03"), "Germany");
        assert_eq!(at("Prague", "1980-01-01"), "Czechoslovakia");
        assert_eq!(at("Belgrade", "1985-01-01"), "Yugoslavia");
        for (name, id) in [("USSR", "SUN"), ("East German", "DDR"), ("Yugoslav", "YUG")] {
            let r = g.resolve(name);
            assert_eq!(g.entity(r.entities[0]).id, id, "{name}");
        }
        // Undated text is read as of today: an alias whose meaning ended means nothing.
        assert!(g.resolve("Bonn").entities.is_empty());
        // In a 1987 text "Moscow" is a mention of the Soviet Union, not of Russia.
        let text = "Washington presented Moscow with a draft treaty.";
        let found = |date| {
            g.mentions_in(text, date)
                .iter()
                .map(|m| match m.who {
                    Who::Entity(e) => g.entity(e).name.clone(),
                    Who::Literal(_) => unreachable!(),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(found(day("1987-06-01")), ["United States", "Soviet Union"]);
        assert_eq!(found(day("2020-06-01")), ["United States", "Russia"]);
        assert_eq!(found(None), ["United States", "Russia"]);
    }

    #[test]
    fn rejects_malformed_date_ranges() {
        for bad in [
            "Moscow[1990]",
            "Moscow[..]",
            "Moscow[1992-01-01..1990-01-01]",
            "Moscow[x..]",
        ] {
            let text = format!("id\tkind\tname\taliases\nSUN\tformer\tSoviet Union\t{bad}\n");
            let err = Gazetteer::parse(&text, "g.tsv").unwrap_err().to_string();
            assert!(err.starts_with("g.tsv:2: alias"), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_names_match_their_surname_and_fall_back_to_the_states_inside() {
        let g = Gazetteer::builtin();
        let r = g.resolve("Russian President Vladimir Putin");
        assert_eq!(
            r.literals,
            [
                vec!["russian", "president", "vladimir", "putin"],
                vec!["putin"]
            ]
        );
        assert_eq!(r.fallback.len(), 1);
        assert_eq!(g.entity(r.fallback[0]).name, "Russia");
        let r = g.resolve("DuBose Porter, chairman of the Democratic Party of Georgia");
        assert!(r.literals.contains(&vec!["porter".to_string()]));
        let r = g.resolve("28 Chilean government officials");
        assert_eq!(r.literals.len(), 1, "no surname in a description");
        assert_eq!(g.entity(r.fallback[0]).name, "Chile");
    }

    #[test]
    fn a_literal_name_wins_over_the_gazetteer_mentions_it_overlaps() {
        let text = "The Trump administration and the U.S. Congress met Trump.";
        let (toks, norms) = crate::text::tokens_and_norms(text);
        let refs: Vec<&str> = norms.iter().map(String::as_str).collect();
        let mut m = mentions_with(Gazetteer::builtin(), text);
        let gazetteer_before = m.len();
        assert!(gazetteer_before >= 2, "{m:?}");
        let added = find_literal_mentions(&[vec!["trump".into()]], toks.len(), |i| refs[i], &mut m);
        assert_eq!(added, 2);
        assert!(
            m.windows(2).all(|w| w[0].end <= w[1].start),
            "sorted, no overlap: {m:?}"
        );
        let literal_at = |i| m.iter().any(|x| x.start == i && x.who == Who::Literal(0));
        assert!(literal_at(1) && literal_at(toks.len() - 2));
        assert!(
            m.iter().any(|x| matches!(x.who, Who::Entity(_))),
            "U.S. kept"
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
