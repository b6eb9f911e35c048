//! Splits text into word, number and punctuation tokens with byte spans.

use super::work::{self, Stage};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Letters, possibly with inner apostrophes (`don't`) or dotted initials (`U.S.`).
    Word,
    /// Digits, possibly with inner `.`/`,` (`3.5`, `1,000`), or digits mixed with letters (`G7`).
    Number,
    /// One punctuation or symbol character.
    Punct,
}

/// A token: a byte span of the text and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
    /// Word, number or punctuation.
    pub kind: TokenKind,
    /// Line breaks between the previous token and this one (capped at 2).
    pub newlines_before: u8,
}

impl Token {
    /// The token's text, sliced from the text it came from.
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start as usize..self.end as usize]
    }
}

/// Byte classes for the ASCII fast paths: letters, digits, punctuation that is always a token
/// of its own, and bytes that may continue a word or number in the general path.
const ALPHA: u8 = 1;
const DIGIT: u8 = 2;
const PUNCT: u8 = 4;
/// `'`, `.` and `,` after a word or number, and any non-ASCII byte: only the general path knows.
const JOINER: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() {
            ALPHA
        } else if c.is_ascii_digit() {
            DIGIT
        } else if c == b'\'' || c == b'.' || c == b',' {
            PUNCT | JOINER
        } else if c.is_ascii_punctuation() {
            PUNCT
        } else if c >= 0x80 {
            JOINER
        } else {
            0 // whitespace and control characters
        };
        b += 1;
    }
    t
};

/// Where the (maybe empty) run of ASCII letters and digits starting at `bytes[i]` ends, and
/// the classes ([`ALPHA`], [`DIGIT`]) seen in it. Eight bytes at a time while they are all
/// ASCII: each byte's class comes from range tests on the whole 64-bit word, and the run's end
/// from the first byte outside them, with no branch per byte (a word's end, at an
/// unpredictable length, is otherwise one mispredicted branch per token).
#[inline]
pub(crate) fn alnum_run(bytes: &[u8], i: usize) -> (usize, u8) {
    let mut j = i;
    let mut seen = 0u8;
    while let Some(chunk) = bytes.get(j..j + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if x & HIGH != 0 {
            break;
        }
        let (digit, alpha) = digit_alpha_bits(x);
        let stop = !(digit | alpha) & HIGH;
        let n = (stop.trailing_zeros() / 8) as usize; // 8 when all eight belong
        let run = if n == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * n)) - 1
        };
        seen |= (u8::from(digit & run != 0) * DIGIT) | (u8::from(alpha & run != 0) * ALPHA);
        j += n;
        if n < 8 {
            return (j, seen);
        }
    }
    // The last few bytes, or a non-ASCII byte ahead: one byte at a time.
    while j < bytes.len() && CLASS[bytes[j] as usize] & (ALPHA | DIGIT) != 0 {
        seen |= CLASS[bytes[j] as usize];
        j += 1;
    }
    (j, seen)
}

/// The high bit of every byte of a 64-bit word.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// For eight ASCII bytes (`x & HIGH == 0`, little-endian), the high bit of each byte that is a
/// digit, and of each that is a letter. Range tests on the whole word: neither sum carries
/// across bytes, since every byte stays below 0x100.
#[inline]
pub(crate) fn digit_alpha_bits(x: u64) -> (u64, u64) {
    let in_range = |v: u64, lo: u8, hi: u8| {
        (v + ONES * u64::from(0x80 - lo)) & !(v + ONES * u64::from(0x7f - hi)) & HIGH
    };
    (
        in_range(x, b'0', b'9'),
        in_range(x | (ONES * 0x20), b'a', b'z'),
    )
}

/// Pushes a token over `span`, carrying the line breaks seen since the previous one.
#[inline]
fn push_token(
    out: &mut Vec<Token>,
    newlines: &mut u8,
    span: std::ops::Range<usize>,
    kind: TokenKind,
) {
    out.push(Token {
        start: span.start as u32,
        end: span.end as u32,
        kind,
        newlines_before: *newlines,
    });
    *newlines = 0;
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '‘')
}

/// Tokenizes `text` into `out` (cleared first).
///
/// Possessive `'s` is dropped (it carries no stance and would split `Cuba's rejection` into
/// a non-adjacent bigram); other inner apostrophes stay in the word. Dotted abbreviations
/// made of single letters (`U.S.`, `U.K.`, `e.g.`) are one token including the final dot.
pub fn tokenize(text: &str, out: &mut Vec<Token>) {
    tokenize_with::<true>(text, out);
}

/// [`tokenize`], with or without the ASCII fast paths (the tests check both agree).
fn tokenize_with<const FAST: bool>(text: &str, out: &mut Vec<Token>) {
    out.clear();
    let bytes = text.as_bytes();
    let len = text.len();
    let mut i = 0usize;
    let mut newlines: u8 = 0;
    let char_at = |i: usize| -> Option<char> {
        if i >= len {
            None
        } else if bytes[i] < 0x80 {
            Some(bytes[i] as char)
        } else {
            text[i..].chars().next()
        }
    };
    while i < len {
        work::step(Stage::Tokenize);
        let b = bytes[i];
        // Fast path for ASCII whitespace.
        if b == b'\n' {
            newlines = newlines.saturating_add(1).min(2);
            i += 1;
            continue;
        }
        if b == b' ' || b == b'\t' || b == b'\r' {
            i += 1;
            continue;
        }
        // Fast path: a run of ASCII letters and digits ended by a byte that cannot join it
        // (space, most punctuation, end of text) is a token exactly as the general path makes it.
        let class = if FAST { CLASS[b as usize] } else { 0 };
        if class & (ALPHA | DIGIT) != 0 {
            let (j, rest) = alnum_run(bytes, i + 1);
            let seen = class | rest;
            if j == len || CLASS[bytes[j] as usize] & JOINER == 0 {
                // "3rd" is a number (it starts with a digit), "G7" a word.
                let kind = if seen & DIGIT != 0 && (seen & ALPHA == 0 || class & DIGIT != 0) {
                    TokenKind::Number
                } else {
                    TokenKind::Word
                };
                push_token(out, &mut newlines, i..j, kind);
                i = j;
                continue;
            }
        } else if class & PUNCT != 0 {
            push_token(out, &mut newlines, i..i + 1, TokenKind::Punct);
            i += 1;
            continue;
        }
        let c = char_at(i).expect("i < len");
        let clen = c.len_utf8();
        if c.is_whitespace() {
            if c == '\u{2028}' || c == '\u{2029}' {
                newlines = 2;
            }
            i += clen;
            continue;
        }
        if c.is_alphanumeric() {
            let start = i;
            let mut j = i + clen;
            let mut has_digit = c.is_numeric();
            let mut has_alpha = c.is_alphabetic();
            // A dotted abbreviation: single letters separated by dots ("U.S.", "e.g.").
            let mut dotted = false;
            while j < len {
                work::step(Stage::Tokenize);
                // Fast path: a run of ASCII letters and digits.
                let b = bytes[j];
                if b.is_ascii_alphabetic() {
                    has_alpha = true;
                    j += 1;
                    continue;
                }
                if b.is_ascii_digit() {
                    has_digit = true;
                    j += 1;
                    continue;
                }
                let d = char_at(j).expect("j < len");
                let dlen = d.len_utf8();
                if d.is_alphanumeric() || d == '\u{00AD}' {
                    has_digit |= d.is_numeric();
                    has_alpha |= d.is_alphabetic();
                    j += dlen;
                    continue;
                }
                let next = char_at(j + dlen);
                if is_apostrophe(d) {
                    // Possessive 's / s' ends the word; the apostrophe and s are skipped.
                    if matches!(next, Some('s') | Some('S'))
                        && !char_at(j + dlen + 1).is_some_and(char::is_alphanumeric)
                    {
                        break;
                    }
                    if next.is_some_and(char::is_alphabetic) {
                        j += dlen;
                        continue;
                    }
                    break;
                }
                if d == '.' {
                    let word_len = j - start;
                    let single_letter_run = (word_len == 1 || dotted)
                        && text[start..j]
                            .chars()
                            .last()
                            .is_some_and(char::is_alphabetic);
                    if single_letter_run
                        && next.is_some_and(char::is_alphabetic)
                        && !char_at(j + 1 + next.map_or(0, char::len_utf8))
                            .is_some_and(char::is_alphanumeric)
                    {
                        dotted = true;
                        j += 1;
                        continue;
                    }
                    if dotted {
                        // The abbreviation's final dot belongs to it.
                        j += 1;
                        break;
                    }
                }
                if (d == '.' || d == ',')
                    && has_digit
                    && !has_alpha
                    && next.is_some_and(|n| n.is_ascii_digit())
                {
                    j += 1;
                    continue;
                }
                break;
            }
            // "3.5", "1,000", "3rd" are numbers; "G7" is a word.
            let kind = if has_digit
                && (!has_alpha || text[start..j].starts_with(|c: char| c.is_numeric()))
            {
                TokenKind::Number
            } else {
                TokenKind::Word
            };
            push_token(out, &mut newlines, start..j, kind);
            i = j;
            // Skip a possessive suffix.
            if let Some(a) = char_at(i) {
                if is_apostrophe(a) {
                    let after = i + a.len_utf8();
                    match char_at(after) {
                        Some('s') | Some('S')
                            if !char_at(after + 1).is_some_and(char::is_alphanumeric) =>
                        {
                            i = after + 1;
                        }
                        Some(n) if !n.is_alphanumeric() => i = after,
                        None => i = after,
                        _ => {}
                    }
                }
            }
            continue;
        }
        // Combining marks or other non-spacing characters attach to nothing: skip them.
        if matches!(unicode_class(c), CharClass::Ignorable) {
            i += clen;
            continue;
        }
        push_token(out, &mut newlines, i..(i + clen), TokenKind::Punct);
        i += clen;
    }
}

enum CharClass {
    Ignorable,
    Other,
}

fn unicode_class(c: char) -> CharClass {
    match c {
        '\u{200B}'..='\u{200F}' | '\u{FEFF}' | '\u{0300}'..='\u{036F}' | '\u{00AD}' => {
            CharClass::Ignorable
        }
        _ if c.is_control() => CharClass::Ignorable,
        _ => CharClass::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(text: &str) -> Vec<&str> {
        let mut v = Vec::new();
        tokenize(text, &mut v);
        v.iter().map(|t| t.text(text)).collect()
    }

    #[test]
    fn keeps_dotted_abbreviations_and_drops_possessives() {
        assert_eq!(
            words("The U.S. said Cuba's stance"),
            ["The", "U.S.", "said", "Cuba", "stance"]
        );
        assert_eq!(
            words("the US-led talks"),
            ["the", "US", "-", "led", "talks"]
        );
        assert_eq!(
            words("Washington’s offer, don't"),
            ["Washington", "offer", ",", "don't"]
        );
        assert_eq!(words("Côte d'Ivoire"), ["Côte", "d'Ivoire"]);
    }

    #[test]
    fn numbers_keep_inner_separators() {
        assert_eq!(
            words("1,000 troops and 3.5%. G7"),
            ["1,000", "troops", "and", "3.5", "%", ".", "G7"]
        );
    }

    #[test]
    fn sentence_final_abbreviation_keeps_its_dot() {
        assert_eq!(words("with the U.S. The"), ["with", "the", "U.S.", "The"]);
        assert_eq!(
            words("a U.N.-backed plan"),
            ["a", "U.N.", "-", "backed", "plan"]
        );
    }

    proptest! {
        #[test]
        fn fast_paths_tokenize_as_the_general_path(
            s in "([A-Za-z0-9]{1,6}|[A-Za-z0-9@\\[`{/:]{7,20}|[ .,'’\n;:()-]|[ÀéçΣ\u{00AD}\u{200B}]|'s ){0,40}"
        ) {
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            tokenize_with::<true>(&s, &mut fast);
            tokenize_with::<false>(&s, &mut general);
            prop_assert_eq!(fast, general);
        }

        #[test]
        fn spans_slice_back_to_the_text(s in "\\PC{0,200}") {
            let mut v = Vec::new();
            tokenize(&s, &mut v);
            let mut last = 0u32;
            for t in &v {
                prop_assert!(t.start >= last && t.end > t.start);
                prop_assert!(s.is_char_boundary(t.start as usize) && s.is_char_boundary(t.end as usize));
                prop_assert!(!t.text(&s).trim().is_empty());
                last = t.end;
            }
        }
    }
}
