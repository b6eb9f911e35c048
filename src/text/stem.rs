//! English stemming (Snowball/Porter2 via rust-stemmers) behind a cache: news repeats a small
//! vocabulary, so each distinct word is stemmed once per cache.

use std::collections::HashMap;

use rust_stemmers::{Algorithm, Stemmer};

/// Most distinct words kept before the cache is cleared (bounds memory on endless input).
const MAX_CACHED: usize = 200_000;

/// A stemmer with a memo of the words it has seen.
pub struct StemCache {
    stemmer: Stemmer,
    memo: HashMap<Box<str>, Box<str>>,
}

impl Default for StemCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for StemCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StemCache")
            .field("cached", &self.memo.len())
            .finish()
    }
}

impl StemCache {
    /// Creates an English stemmer with an empty cache.
    pub fn new() -> Self {
        StemCache {
            stemmer: Stemmer::create(Algorithm::English),
            memo: HashMap::new(),
        }
    }

    /// Stems a normalised (lowercase) word.
    ///
    /// # Examples
    /// ```
    /// let mut s = stance::text::StemCache::new();
    /// assert_eq!(s.stem("rejected"), "reject");
    /// ```
    pub fn stem(&mut self, word: &str) -> &str {
        if !self.memo.contains_key(word) {
            if self.memo.len() >= MAX_CACHED {
                self.memo.clear();
            }
            let stem: Box<str> = self.stemmer.stem(word).into();
            self.memo.insert(word.into(), stem);
        }
        &self.memo[word]
    }
}
