//! The project's cue lexicon: valence of general English words, CAMEO/PLOVER event cues with
//! Goldstein-like strengths, and modifiers (negators, intensifiers, diminishers, hedges,
//! contrast words). Entries are stemmed like article text and matched as consecutive stems.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::text::{normalize_word, tokenize, StemCache, TokenKind};

/// `data/lexicon/valence.tsv`: `term<TAB>valence` (−4..4).
pub const BUILTIN_VALENCE: &str = include_str!("../../data/lexicon/valence.tsv");
/// `data/lexicon/cues.tsv`: `term<TAB>category<TAB>weight` (−10..10).
pub const BUILTIN_CUES: &str = include_str!("../../data/lexicon/cues.tsv");
/// `data/lexicon/modifiers.tsv`: `term<TAB>kind<TAB>factor`.
pub const BUILTIN_MODIFIERS: &str = include_str!("../../data/lexicon/modifiers.tsv");

/// PLOVER event types used as cue categories; the first eight are conciliatory.
pub const CATEGORIES: [&str; 20] = [
    "AGREE",
    "CONSULT",
    "SUPPORT",
    "CONCEDE",
    "COOPERATE",
    "AID",
    "RETREAT",
    "REQUEST",
    "DEMAND",
    "DISAPPROVE",
    "ACCUSE",
    "REJECT",
    "THREATEN",
    "PROTEST",
    "SANCTION",
    "REDUCE",
    "MOBILIZE",
    "COERCE",
    "ASSAULT",
    "FIGHT",
];

/// How a modifier changes the words around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModifierKind {
    /// Opens a negation scope.
    Negator,
    /// Strengthens the next polar word.
    Intensifier,
    /// Weakens the next polar word.
    Diminisher,
    /// Weakens the rest of its sentence (reported, uncertain).
    Hedge,
    /// What follows outweighs what came before in the sentence.
    Contrast,
}

/// One lexicon entry: a stem sequence and what it carries.
#[derive(Debug, Clone, Default)]
pub struct LexEntry {
    /// Stems to match, in order.
    pub stems: Vec<Box<str>>,
    /// Their hashes ([`super::stem_hash`]), compared when matching.
    pub hashes: Vec<u64>,
    /// General polarity, −4..4 (0 when absent).
    pub valence: f32,
    /// Event cue: index into [`CATEGORIES`] and strength −10..10.
    pub cue: Option<(u8, f32)>,
    /// Modifier role and factor.
    pub modifier: Option<(ModifierKind, f32)>,
}

/// Where a first stem's candidate entries are in the lexicon: 3 bytes, unaligned, so that a
/// per-word record holding one stays small.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, packed)]
pub struct CandidateSpan {
    start: u16,
    len: u8,
}

/// A candidate entry for a first stem.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    entry: u32,
    /// Number of stems.
    len: u32,
    /// Hash of the second stem (0 for one-word entries).
    second: u64,
}

/// The lexicon, indexed by first stem.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    entries: Vec<LexEntry>,
    by_first: FxHashMap<Box<str>, Vec<u32>>,
    /// Per first stem, its candidates' span in `candidates`.
    first_spans: FxHashMap<Box<str>, CandidateSpan>,
    /// Every first stem's entries, longest first, back to back, each with what rules most of
    /// them out without reading the entry: its length and second stem.
    candidates: Vec<Candidate>,
    /// Every entry's stem hashes, back to back (matching reads one array, not each entry).
    flat: Vec<u64>,
    /// Per entry, where its hashes start in `flat` and how many there are.
    spans: Vec<(u32, u32)>,
    /// Hash of "-", skipped between the words of an entry.
    hyphen: u64,
}

impl Lexicon {
    /// The lexicon shipped in `data/lexicon/`, compiled into the library.
    ///
    /// # Errors
    /// [`Error::BadData`] when a shipped file is malformed (checked by a unit test).
    pub fn builtin() -> Result<Lexicon> {
        Lexicon::parse(BUILTIN_VALENCE, BUILTIN_CUES, BUILTIN_MODIFIERS)
    }

    /// Parses the three lexicon files.
    ///
    /// # Errors
    /// [`Error::BadData`] with file and line for a wrong column count, a number that does not
    /// parse or lies outside its range, an unknown category or modifier kind.
    pub fn parse(valence: &str, cues: &str, modifiers: &str) -> Result<Lexicon> {
        let mut lex = Lexicon::default();
        let mut stemmer = StemCache::new();
        let mut slot: FxHashMap<Vec<Box<str>>, u32> = FxHashMap::default();
        for_rows(valence, "data/lexicon/valence.tsv", 2, |cols, bad| {
            let v: f32 = number(cols[1], -4.0, 4.0)
                .ok_or_else(|| bad(format!("valence {:?} is not a number in -4..4", cols[1])))?;
            lex.entry(&mut stemmer, &mut slot, cols[0]).valence = v;
            Ok(())
        })?;
        for_rows(cues, "data/lexicon/cues.tsv", 3, |cols, bad| {
            let cat = CATEGORIES
                .iter()
                .position(|c| *c == cols[1])
                .ok_or_else(|| bad(format!("unknown category {:?}", cols[1])))?;
            let w = number(cols[2], -10.0, 10.0)
                .ok_or_else(|| bad(format!("weight {:?} is not a number in -10..10", cols[2])))?;
            lex.entry(&mut stemmer, &mut slot, cols[0]).cue = Some((cat as u8, w));
            Ok(())
        })?;
        for_rows(modifiers, "data/lexicon/modifiers.tsv", 3, |cols, bad| {
            let kind = match cols[1] {
                "negator" => ModifierKind::Negator,
                "intensifier" => ModifierKind::Intensifier,
                "diminisher" => ModifierKind::Diminisher,
                "hedge" => ModifierKind::Hedge,
                "contrast" => ModifierKind::Contrast,
                k => return Err(bad(format!("unknown modifier kind {k:?}"))),
            };
            let f = number(cols[2], -2.0, 3.0)
                .ok_or_else(|| bad(format!("factor {:?} is not a number in -2..3", cols[2])))?;
            lex.entry(&mut stemmer, &mut slot, cols[0]).modifier = Some((kind, f));
            Ok(())
        })?;
        for e in &lex.entries {
            lex.spans
                .push((lex.flat.len() as u32, e.hashes.len() as u32));
            lex.flat.extend_from_slice(&e.hashes);
        }
        lex.hyphen = super::stem_hash("-");
        for list in lex.by_first.values_mut() {
            list.sort_by_key(|&i| std::cmp::Reverse(lex.entries[i as usize].stems.len()));
        }
        for (first, list) in &lex.by_first {
            let (Ok(start), Ok(len)) = (
                u16::try_from(lex.candidates.len()),
                u8::try_from(list.len()),
            ) else {
                return Err(Error::BadData {
                    path: "data/lexicon".into(),
                    line: 0,
                    message: format!("too many entries (or too many starting with {first:?})"),
                });
            };
            lex.first_spans
                .insert(first.clone(), CandidateSpan { start, len });
            lex.candidates.extend(list.iter().map(|&entry| {
                let hashes = &lex.entries[entry as usize].hashes;
                Candidate {
                    entry,
                    len: hashes.len() as u32,
                    second: hashes.get(1).copied().unwrap_or(0),
                }
            }));
        }
        Ok(lex)
    }

    fn entry(
        &mut self,
        stemmer: &mut StemCache,
        slot: &mut FxHashMap<Vec<Box<str>>, u32>,
        term: &str,
    ) -> &mut LexEntry {
        let stems = term_stems(stemmer, term);
        let i = *slot.entry(stems.clone()).or_insert_with(|| {
            let i = self.entries.len() as u32;
            if let Some(first) = stems.first() {
                self.by_first.entry(first.clone()).or_default().push(i);
            }
            self.entries.push(LexEntry {
                hashes: stems.iter().map(|s| super::stem_hash(s)).collect(),
                stems,
                ..LexEntry::default()
            });
            i
        });
        &mut self.entries[i as usize]
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the lexicon has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry at an index returned by [`Lexicon::match_at`].
    pub fn entry_at(&self, i: u32) -> &LexEntry {
        &self.entries[i as usize]
    }

    /// Candidate entries whose first stem is `stem`, longest first.
    pub fn starting_with(&self, stem: &str) -> &[u32] {
        self.by_first.get(stem).map_or(&[], Vec::as_slice)
    }

    /// Where the candidate entries starting with `stem` are: 3 bytes, to keep per word.
    pub fn candidate_span(&self, stem: &str) -> CandidateSpan {
        self.first_spans.get(stem).copied().unwrap_or_default()
    }

    /// [`Lexicon::match_at`] for the candidates of a [`Lexicon::candidate_span`] (those of the
    /// stem at `at`): most candidates are ruled out by their second stem, or matched by being one
    /// word long, without reading the entry.
    #[inline]
    pub fn match_span(
        &self,
        span: CandidateSpan,
        stems: &[u64],
        at: usize,
    ) -> Option<(u32, usize)> {
        let start = span.start as usize;
        let candidates = &self.candidates[start..start + span.len as usize];
        let mut next = at + 1;
        while next < stems.len() && stems[next] == self.hyphen {
            next += 1;
        }
        let second = stems.get(next).copied();
        candidates.iter().find_map(|c| match c.len {
            1 => Some((c.entry, at + 1)),
            _ if second != Some(c.second) => None,
            2 => Some((c.entry, next + 1)),
            _ => self.match_at(&[c.entry], stems, at),
        })
    }

    /// The longest entry matching the tokens at `at`, given as stem hashes
    /// ([`super::stem_hash`]; 0 for punctuation). Hyphens between words are skipped, so
    /// "de-escalate" matches the entry "de escalate". Returns the entry and the index one past
    /// its last token.
    pub fn match_at(&self, candidates: &[u32], stems: &[u64], at: usize) -> Option<(u32, usize)> {
        candidates.iter().copied().find_map(|i| {
            let (start, len) = self.spans[i as usize];
            let want = &self.flat[start as usize..(start + len) as usize];
            let mut j = at;
            for (k, &w) in want.iter().enumerate() {
                if k > 0 {
                    while j < stems.len() && stems[j] == self.hyphen {
                        j += 1;
                    }
                }
                if j >= stems.len() || stems[j] != w {
                    return None;
                }
                j += 1;
            }
            Some((i, j))
        })
    }
}

/// Stems of a lexicon term, tokenized and normalised like article text.
fn term_stems(stemmer: &mut StemCache, term: &str) -> Vec<Box<str>> {
    let mut toks = Vec::new();
    tokenize(term, &mut toks);
    toks.iter()
        .filter(|t| t.kind != TokenKind::Punct)
        .map(|t| stemmer.stem(&normalize_word(t.text(term))).into())
        .collect()
}

fn number(s: &str, lo: f32, hi: f32) -> Option<f32> {
    s.trim()
        .parse::<f32>()
        .ok()
        .filter(|v| v.is_finite() && *v >= lo && *v <= hi)
}

fn for_rows(
    text: &str,
    origin: &str,
    ncols: usize,
    mut row: impl FnMut(&[&str], &dyn Fn(String) -> Error) -> Result<()>,
) -> Result<()> {
    let mut header = true;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if std::mem::take(&mut header) && line.starts_with("term\t") {
            continue;
        }
        let bad = |message: String| Error::BadData {
            path: origin.to_string(),
            line: n + 1,
            message,
        };
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        if cols.len() != ncols || cols[0].is_empty() {
            return Err(bad(format!(
                "expected {ncols} tab-separated columns, found {}",
                cols.len()
            )));
        }
        row(&cols, &bad)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(stems: &[&str]) -> Vec<u64> {
        stems
            .iter()
            .map(|s| crate::features::stem_hash(s))
            .collect()
    }

    #[test]
    fn builtin_lexicon_parses_and_stems_entries() {
        let lex = Lexicon::builtin().unwrap();
        assert!(lex.len() > 2000, "{}", lex.len());
        let mut s = StemCache::new();
        let reject = s.stem("rejected").to_string();
        let (i, _) = lex
            .match_at(lex.starting_with(&reject), &hashes(&[&reject]), 0)
            .unwrap();
        let e = lex.entry_at(i);
        assert!(e.valence < 0.0 || e.cue.is_some_and(|(_, w)| w < 0.0));
    }

    #[test]
    fn multiword_entries_win_over_their_first_word() {
        let lex = Lexicon::parse(
            "term\tvalence\ncut\t-1\n",
            "term\tcategory\tweight\ncut ties\tREDUCE\t-5\n",
            "",
        )
        .unwrap();
        let stems = hashes(&["cut", "tie"]);
        let (i, end) = lex.match_at(lex.starting_with("cut"), &stems, 0).unwrap();
        assert_eq!(lex.entry_at(i).cue, Some((15, -5.0)));
        assert_eq!(end, 2);
    }

    #[test]
    fn hyphenated_words_match_spaced_entries() {
        let lex = Lexicon::parse("term\tvalence\nde escalate\t2\n", "", "").unwrap();
        let stems = hashes(&["de", "-", "escal"]);
        let (_, end) = lex.match_at(lex.starting_with("de"), &stems, 0).unwrap();
        assert_eq!(end, 3);
    }

    /// The per-word fast matcher finds what the general one finds, on stem sequences made of
    /// lexicon stems, hyphens and other words.
    #[test]
    fn span_matching_agrees_with_general_matching() {
        let lex = Lexicon::builtin().unwrap();
        let mut words: Vec<&str> = lex
            .entries
            .iter()
            .flat_map(|e| e.stems.iter().map(|s| &**s))
            .collect();
        words.sort_unstable();
        words.dedup();
        words.extend(["-", "zzz", "the"]);
        let mut rng = crate::rng::SplitMix64::new(0x2545_f491_4f6c_dd1d);
        let mut next = |n| rng.below(n);
        let mut matched = 0;
        for _ in 0..20_000 {
            // Start with an entry's stems, half the time followed by noise or cut short.
            let e = &lex.entries[next(lex.entries.len())];
            let mut seq: Vec<&str> = e.stems.iter().map(|s| &**s).collect();
            if next(2) == 0 {
                seq.truncate(1 + next(seq.len()));
                seq.insert(1.min(seq.len()), words[next(words.len())]);
            }
            if next(4) == 0 && seq.len() > 1 {
                seq.insert(1, "-");
            }
            let stems = hashes(&seq);
            let general = lex.match_at(lex.starting_with(seq[0]), &stems, 0);
            let fast = lex.match_span(lex.candidate_span(seq[0]), &stems, 0);
            assert_eq!(general, fast, "{seq:?}");
            matched += general.is_some() as usize;
        }
        assert!(matched > 10_000, "{matched}");
    }

    #[test]
    fn rejects_out_of_range_values_with_file_and_line() {
        let err = Lexicon::parse("term\tvalence\ngood\t9\n", "", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "data/lexicon/valence.tsv:2: valence \"9\" is not a number in -4..4"
        );
    }
}
