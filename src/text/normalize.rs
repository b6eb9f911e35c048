//! Normalised word forms: Unicode compatibility decomposition with diacritics removed,
//! lowercase, and typographic apostrophes folded to `'`.

use std::borrow::Cow;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Returns the normalised form of one token's text.
///
/// ASCII without capitals is returned as is (no allocation); anything else is NFKD-decomposed,
/// stripped of combining marks (`Díaz` → `diaz`, `Élysée` → `elysee`), lowercased, and its
/// apostrophes folded (`’` → `'`).
///
/// # Examples
/// ```
/// assert_eq!(stance::text::normalize_word("Díaz-Canel’s"), "diaz-canel's");
/// ```
pub fn normalize_word(word: &str) -> Cow<'_, str> {
    if word
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        return Cow::Borrowed(word);
    }
    let mut s = String::with_capacity(word.len());
    normalize_into(word, &mut s);
    Cow::Owned(s)
}

/// Appends the normalised form of `word` to `out`.
pub fn normalize_into(word: &str, out: &mut String) {
    if word.is_ascii() {
        out.extend(word.bytes().map(|b| b.to_ascii_lowercase() as char));
        return;
    }
    for c in word.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            '’' | 'ʼ' | '‘' | '`' => out.push('\''),
            '\u{00AD}' => {}
            _ => out.extend(c.to_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_case_accents_and_apostrophes() {
        assert_eq!(normalize_word("Élysée"), "elysee");
        assert_eq!(normalize_word("DON’T"), "don't");
        assert_eq!(normalize_word("ﬁne"), "fine");
        assert!(matches!(normalize_word("plain"), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn normalising_twice_changes_nothing(s in "\\PC{0,40}") {
            let once = normalize_word(&s).into_owned();
            prop_assert_eq!(normalize_word(&once).into_owned(), once);
        }
    }
}
