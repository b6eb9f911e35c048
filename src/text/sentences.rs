//! Sentence splitting over tokens: terminal punctuation followed by a sentence opening, except
//! after known abbreviations and initials; paragraph breaks, bullets and short lines
//! (headings such as "Read More:") also end a sentence.

use std::ops::Range;

use super::tokenize::{Token, TokenKind};

/// A sentence: its byte span in the text and the range of its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Byte offset of its first token.
    pub start: usize,
    /// Byte offset one past its last token.
    pub end: usize,
    /// Indices of its tokens in the token list.
    pub tokens: Range<usize>,
}

/// Words after which a full stop does not end the sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "capt", "cpt", "sgt", "maj", "adm",
    "cmdr", "sen", "rep", "gov", "pres", "amb", "st", "ste", "mt", "ft", "jr", "sr", "rev", "hon",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "no",
    "nos", "vs", "v", "inc", "ltd", "co", "corp", "dept", "univ", "approx", "est", "fig", "vol",
    "art", "para", "cf", "al", "op",
];

/// Capitalised words that, after a dotted abbreviation such as "U.S.", start a new sentence.
const OPENERS: &[&str] = &[
    "The",
    "He",
    "She",
    "It",
    "They",
    "We",
    "I",
    "But",
    "In",
    "On",
    "At",
    "A",
    "An",
    "This",
    "That",
    "These",
    "Those",
    "Its",
    "His",
    "Her",
    "Their",
    "Our",
    "There",
    "Meanwhile",
    "However",
    "According",
    "After",
    "Earlier",
    "Later",
    "Last",
    "Officials",
    "Analysts",
];

/// Longest line, in bytes, that counts as a heading when it ends without punctuation.
const HEADING_MAX_BYTES: usize = 80;

fn is_terminator(s: &str) -> bool {
    matches!(s, "." | "!" | "?" | "…" | "。" | "？" | "！")
}

fn is_closer(s: &str) -> bool {
    matches!(s, "\"" | "”" | "’" | "'" | ")" | "]" | "»")
}

fn is_bullet(s: &str) -> bool {
    matches!(s, "-" | "*" | "•" | "·" | "▪" | "–" | "—" | "◦" | "‣" | "●")
}

/// Splits the tokens of `text` into sentences, writing them to `out` (cleared first).
pub fn split_sentences(text: &str, tokens: &[Token], out: &mut Vec<Sentence>) {
    out.clear();
    let n = tokens.len();
    let mut first = 0usize;
    let mut line_start = 0usize;
    let wrapped = is_hard_wrapped(text, tokens);
    let push = |out: &mut Vec<Sentence>, from: usize, to: usize| {
        if to > from {
            out.push(Sentence {
                start: tokens[from].start as usize,
                end: tokens[to - 1].end as usize,
                tokens: from..to,
            });
        }
    };
    let mut i = 0usize;
    while i < n {
        super::work::step(super::work::Stage::Sentences);
        let t = tokens[i];
        if t.newlines_before > 0 {
            if i > first && newline_ends_sentence(text, tokens, i, line_start, wrapped) {
                push(out, first, i);
                first = i;
            }
            line_start = t.start as usize;
        }
        // Only punctuation and dotted words are looked at: no slicing of other tokens.
        let punct = t.kind == TokenKind::Punct;
        let s = if punct { t.text(text) } else { "" };
        if punct && is_terminator(s) {
            let mut j = i + 1;
            while j < n
                && tokens[j].start == tokens[j - 1].end
                && tokens[j].kind == TokenKind::Punct
                && (is_terminator(tokens[j].text(text)) || is_closer(tokens[j].text(text)))
            {
                super::work::step(super::work::Stage::Sentences);
                j += 1;
            }
            let abbreviation = s == "." && i > first && follows_abbreviation(text, tokens[i - 1]);
            let ends = j == n || opens_sentence(text, tokens[j]);
            if !abbreviation && ends {
                push(out, first, j);
                first = j;
                i = j;
                continue;
            }
            if !ends {
                // The run's later marks reach the same `j`, so they fail the same test: skip
                // them, and a run of "!" is read once, not once per mark (regression: 256 KB
                // of "!" took 92 s). After an abbreviation, the next mark is still tried.
                i = j;
                continue;
            }
        } else if t.kind == TokenKind::Word
            && text.as_bytes()[t.end as usize - 1] == b'.'
            && i + 1 < n
        {
            // "... talks with the U.S. The minister said": the abbreviation's dot ends it.
            let next = tokens[i + 1];
            if next.newlines_before == 0 && OPENERS.contains(&next.text(text)) {
                push(out, first, i + 1);
                first = i + 1;
            }
        }
        i += 1;
    }
    push(out, first, n);
}

fn follows_abbreviation(text: &str, prev: Token) -> bool {
    if prev.kind != TokenKind::Word {
        return false;
    }
    let w = prev.text(text);
    let mut chars = w.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return c.is_uppercase(); // an initial: "J. Smith"
    }
    w.len() <= 5 && ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(w))
}

fn opens_sentence(text: &str, t: Token) -> bool {
    if t.newlines_before > 0 {
        return true;
    }
    let s = t.text(text);
    let c = s.chars().next().unwrap_or(' ');
    c.is_uppercase()
        || c.is_numeric()
        || matches!(
            s,
            "\"" | "“" | "'" | "‘" | "(" | "[" | "«" | "-" | "—" | "–"
        )
}

/// Whether the text is hard-wrapped (wire copy broken into lines of fixed width): at least a
/// third of its line breaks that follow no punctuation continue with a lowercase word.
fn is_hard_wrapped(text: &str, tokens: &[Token]) -> bool {
    let (mut breaks, mut lower) = (0usize, 0usize);
    for w in tokens.windows(2) {
        let (prev, t) = (w[0], w[1]);
        if t.newlines_before == 1 && prev.kind != TokenKind::Punct {
            breaks += 1;
            lower += starts_lowercase(text, t) as usize;
        }
    }
    breaks >= 3 && lower * 3 >= breaks
}

fn starts_lowercase(text: &str, t: Token) -> bool {
    text[t.start as usize..]
        .chars()
        .next()
        .is_some_and(char::is_lowercase)
}

/// Whether the line a token starts is indented (a paragraph's first line in wire copy).
fn indented(text: &str, tokens: &[Token], i: usize) -> bool {
    let gap = &text[tokens[i - 1].end as usize..tokens[i].start as usize];
    gap.rsplit('\n')
        .next()
        .is_some_and(|lead| lead.len() >= 2 || lead.contains('\t'))
}

fn newline_ends_sentence(
    text: &str,
    tokens: &[Token],
    i: usize,
    line_start: usize,
    wrapped: bool,
) -> bool {
    let t = tokens[i];
    if t.newlines_before >= 2 {
        return true;
    }
    let prev = tokens[i - 1];
    let ps = prev.text(text);
    if prev.kind == TokenKind::Punct && (is_terminator(ps) || is_closer(ps) || ps == ":") {
        return true;
    }
    if t.kind == TokenKind::Punct && is_bullet(t.text(text)) {
        return true;
    }
    // A line that goes on in lowercase continues its sentence; in hard-wrapped text every
    // line does, unless the next one is indented as a new paragraph.
    if starts_lowercase(text, t) {
        return false;
    }
    if wrapped {
        return indented(text, tokens, i);
    }
    // A short previous line without final punctuation is a heading or a list item.
    (prev.end as usize).saturating_sub(line_start) <= HEADING_MAX_BYTES
}

#[cfg(test)]
mod tests {
    use super::super::tokenize::tokenize;
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        let mut toks = Vec::new();
        tokenize(text, &mut toks);
        let mut out = Vec::new();
        split_sentences(text, &toks, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn abbreviation_then_opener_ends_the_sentence() {
        assert_eq!(
            split("He met the U.S. The talks ended."),
            ["He met the U.S.", "The talks ended."]
        );
        assert_eq!(
            split("Gen. J. Smith spoke on Sept. 3. Then he left."),
            ["Gen. J. Smith spoke on Sept. 3.", "Then he left."]
        );
    }

    #[test]
    fn quotes_close_with_their_sentence() {
        assert_eq!(
            split("\"We refuse.\" The minister left! Why?"),
            ["\"We refuse.\"", "The minister left!", "Why?"]
        );
    }

    #[test]
    fn bullets_and_headings_are_their_own_sentences() {
        let text = "Cuba rejected talks.\nRead More:\n- UK and France Agree\n- Curfew Imposed in Nepal\nHis response came later.";
        assert_eq!(
            split(text),
            [
                "Cuba rejected talks.",
                "Read More:",
                "- UK and France Agree",
                "- Curfew Imposed in Nepal",
                "His response came later."
            ]
        );
    }

    #[test]
    fn wire_copy_wrapped_at_a_fixed_width_keeps_its_sentences() {
        let text = "Lima said on Tuesday it would reopen its border\nwith its northern neighbour after talks\nwith the Ecuadorean foreign minister in\nQuito last week.\n    The two governments also agreed to\nset up a joint commission on fishing\nrights.";
        assert_eq!(
            split(text),
            [
                "Lima said on Tuesday it would reopen its border\nwith its northern neighbour after talks\nwith the Ecuadorean foreign minister in\nQuito last week.",
                "The two governments also agreed to\nset up a joint commission on fishing\nrights."
            ]
        );
    }

    #[test]
    fn hard_wrapped_long_lines_are_joined() {
        let long = "The foreign ministry said on Tuesday that it would continue to pursue dialogue with its neighbours\nand partners across the region.";
        assert_eq!(split(long).len(), 1);
    }

    #[test]
    fn empty_text_has_no_sentences() {
        assert!(split("").is_empty());
        assert!(split("   \n ").is_empty());
    }
}
