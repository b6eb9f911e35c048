//! Near-duplicate detection: MinHash signatures over word shingles, with LSH banding.
//!
//! Parameters, fixed because stored signatures must stay comparable (schema version 3 fixed
//! them; version 2 stores, whose signatures used 128 hash functions, are re-signed on opening):
//! - shingles are [`SHINGLE`] = 5 consecutive words (lowercased letters and digits; a text
//!   shorter than 5 words is one shingle);
//! - the signature holds [`HASHES`] = 128 minima by one-permutation hashing: each shingle is
//!   hashed once, the top 7 bits pick its bin, and each bin keeps its smallest value; empty
//!   bins (texts of fewer than a few hundred shingles) borrow the value of a non-empty bin
//!   chosen by a fixed hash of the bin's number ("optimal densification", Shrivastava 2017).
//!   Like 128 independent hash functions, an estimated Jaccard similarity has a standard error
//!   of at most about 0.045, at one hash per shingle instead of 128;
//! - LSH splits it into [`BANDS`] = 32 bands of 4 rows: a pair with Jaccard 0.5 becomes a
//!   candidate with probability 0.87, one with 0.7 with probability 0.9996, an unrelated pair
//!   (0.02) with probability 5·10⁻⁶;
//! - a candidate whose estimated Jaccard is at least [`THRESHOLD`] = 0.5 is a near-duplicate.
//!
//! Wire reprints with a new headline, dateline or last sentence score 0.8–0.95 on 5-word
//! shingles; distinct articles on the same event score below 0.05.

use crate::hash::{fnv1a, splitmix64, FNV_OFFSET, FNV_PRIME, GOLDEN_GAMMA};

/// Words per shingle.
pub const SHINGLE: usize = 5;
/// Minima per signature.
pub const HASHES: usize = 128;
/// LSH bands (of `HASHES / BANDS` rows each).
pub const BANDS: usize = 32;
/// Estimated Jaccard similarity at or above which two articles are near-duplicates.
pub const THRESHOLD: f64 = 0.5;

const ROWS: usize = HASHES / BANDS;
/// Bits of a shingle hash left for its value once the top bits have chosen its bin.
const VALUE_BITS: u32 = 64 - HASHES.trailing_zeros();
const VALUE_MASK: u64 = (1 << VALUE_BITS) - 1;
const _: () = assert!(HASHES.is_power_of_two());

/// Fills each empty bin (`u64::MAX`) with the value of a non-empty one, chosen by hashing the
/// empty bin's number with an attempt counter until a non-empty bin comes up: two texts whose
/// bins are empty and full alike borrow alike, which keeps the similarity estimate unbiased.
fn densify(mins: &mut [u64]) {
    let full: Vec<bool> = mins.iter().map(|&m| m != u64::MAX).collect();
    if full.iter().all(|&f| f) || !full.iter().any(|&f| f) {
        return;
    }
    for bin in 0..mins.len() {
        if full[bin] {
            continue;
        }
        let mut attempt = 0u64;
        loop {
            let pick =
                (splitmix64(DENSIFY_SEED ^ ((bin as u64) << 32 | attempt)) as usize) % mins.len();
            if full[pick] {
                mins[bin] = mins[pick];
                break;
            }
            attempt += 1;
        }
    }
}

const DENSIFY_SEED: u64 = 0x0044_454e_5349_4659;

/// A MinHash signature: the minimum of each of [`HASHES`] hash functions over the shingles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinHash(pub Vec<u64>);

impl MinHash {
    /// Computes the signature of a text; an empty text gets the all-`u64::MAX` signature,
    /// which is a near-duplicate of nothing.
    pub fn of_text(text: &str) -> MinHash {
        // Each word is hashed once (lowercased on the fly) and a shingle's hash combines its
        // words' hashes, so no string is built per word or shingle.
        let words = word_hashes(text);
        let mut mins = vec![u64::MAX; HASHES];
        if words.is_empty() {
            return MinHash(mins);
        }
        let width = SHINGLE.min(words.len());
        for window in words.windows(width) {
            crate::text::work::step(crate::text::work::Stage::MinHash);
            // Order matters: each earlier word is rotated further before the final mix.
            let h = splitmix64(window.iter().fold(0u64, |h, &w| {
                h.rotate_left(17) ^ w.wrapping_mul(GOLDEN_GAMMA)
            }));
            let (bin, value) = ((h >> VALUE_BITS) as usize, h & VALUE_MASK);
            if value < mins[bin] {
                mins[bin] = value;
            }
        }
        densify(&mut mins);
        MinHash(mins)
    }

    /// True for the signature of a text with no words.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&m| m == u64::MAX)
    }

    /// Estimated Jaccard similarity of the two shingle sets, 0..1 (0 if either is empty).
    pub fn similarity(&self, other: &MinHash) -> f64 {
        if self.is_empty() || other.is_empty() || self.0.len() != other.0.len() {
            return 0.0;
        }
        let same = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        same as f64 / self.0.len() as f64
    }

    /// The LSH band keys, one per band: a hash of the band's number and its rows (two
    /// signatures share a key when they agree on all rows of that band); none for an empty
    /// signature.
    pub fn bands(&self) -> Vec<i64> {
        if self.is_empty() {
            return Vec::new();
        }
        self.0
            .chunks(ROWS)
            .enumerate()
            .map(|(b, rows)| {
                let mut h = fnv1a(FNV_OFFSET, &(b as u64).to_le_bytes());
                for r in rows {
                    h = fnv1a(h, &r.to_le_bytes());
                }
                h as i64
            })
            .collect()
    }

    /// The signature as little-endian bytes, for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Reads a signature written by [`MinHash::to_bytes`]; `None` if the length is wrong.
    pub fn from_bytes(b: &[u8]) -> Option<MinHash> {
        if b.len() != HASHES * 8 {
            return None;
        }
        Some(MinHash(
            b.chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("chunk of 8")))
                .collect(),
        ))
    }
}

/// The hash of every word of `text` (a run of alphanumeric characters), lowercased: FNV-1a
/// over each character's lowercase form, one byte for ASCII, four otherwise. Sixty-four bytes
/// at a time where they are all ASCII: one pass of range tests over eight 64-bit words gives a
/// bit per byte for the letters and digits, and the words are the runs of set bits, found with
/// two bit counts each instead of a branch per separator byte. A block with a non-ASCII byte,
/// and the last bytes, take the general path: a run of ASCII letters and digits eight bytes at
/// a time, a character decoded otherwise. Faster than the general path alone on mostly-ASCII
/// text, and no slower where most blocks fall back (BENCHMARKS.md, Ingest).
fn word_hashes(text: &str) -> Vec<u64> {
    let bytes = text.as_bytes();
    let mut scan = WordScan::new(text.len());
    let mut i = 0;
    while i < bytes.len() {
        crate::text::work::step(crate::text::work::Stage::MinHash);
        let block_end = i + 64;
        if let Some(mask) = bytes.get(i..block_end).and_then(ascii_alnum_mask) {
            scan.block(bytes, i, mask);
            i = block_end;
        } else {
            i = scan.general::<true>(text, i, bytes.len().min(block_end));
        }
    }
    scan.finish()
}

/// [`word_hashes`] by the general path only, with or without its eight-byte runs (the tests
/// check all three agree).
#[cfg(test)]
fn word_hashes_with<const FAST: bool>(text: &str) -> Vec<u64> {
    let mut scan = WordScan::new(text.len());
    scan.general::<FAST>(text, 0, text.len());
    scan.finish()
}

/// A word scan's state: the hashes so far, and the word in progress.
struct WordScan {
    out: Vec<u64>,
    h: u64,
    in_word: bool,
}

impl WordScan {
    fn new(len: usize) -> WordScan {
        WordScan {
            out: Vec::with_capacity(len / 6),
            h: FNV_OFFSET,
            in_word: false,
        }
    }

    /// Ends the word in progress, if any.
    #[inline]
    fn end_word(&mut self) {
        if self.in_word {
            self.out.push(self.h);
            self.h = FNV_OFFSET;
            self.in_word = false;
        }
    }

    /// Scans the 64 ASCII bytes at `bytes[base..]`, whose letters and digits are the set bits
    /// of `mask` (bit k for byte `base + k`). A word may go on from the previous bytes and into
    /// the next.
    #[inline]
    fn block(&mut self, bytes: &[u8], base: usize, mask: u64) {
        if mask & 1 == 0 {
            self.end_word();
        }
        let mut rest = mask;
        while rest != 0 {
            let start = rest.trailing_zeros();
            let end = start + (!(rest >> start)).trailing_zeros();
            self.h = fnv_ascii_lowercase(self.h, bytes, base + start as usize, base + end as usize);
            self.in_word = true;
            if end == 64 {
                break;
            }
            self.end_word();
            rest &= u64::MAX << end;
        }
    }

    /// Scans `text[i..]` by the general path until at least `stop` (a character may end past
    /// it); returns where it stopped.
    #[inline]
    fn general<const FAST: bool>(&mut self, text: &str, mut i: usize, stop: usize) -> usize {
        let bytes = text.as_bytes();
        let (mut h, mut in_word) = (self.h, self.in_word);
        while i < stop {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() {
                if FAST {
                    let (end, _) = crate::text::alnum_run(bytes, i);
                    h = fnv_ascii_lowercase(h, bytes, i, end);
                    i = end;
                } else {
                    h = fnv1a(h, &[b.to_ascii_lowercase()]);
                    i += 1;
                }
                in_word = true;
                continue;
            }
            if b < 0x80 {
                i += 1;
            } else {
                let c = text[i..].chars().next().expect("a character starts here");
                i += c.len_utf8();
                if c.is_alphanumeric() {
                    h = fnv_char(h, c);
                    in_word = true;
                    continue;
                }
            }
            if in_word {
                self.out.push(h);
                h = FNV_OFFSET;
                in_word = false;
            }
        }
        (self.h, self.in_word) = (h, in_word);
        i
    }

    fn finish(mut self) -> Vec<u64> {
        self.end_word();
        self.out
    }
}

/// For 64 bytes, a bit per byte (bit k for byte k) set for the ASCII letters and digits; `None`
/// if any byte is not ASCII.
#[inline]
fn ascii_alnum_mask(block: &[u8]) -> Option<u64> {
    use crate::text::{digit_alpha_bits, HIGH};
    let mut mask = 0u64;
    let mut high = 0u64;
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        high |= x;
        // Meaningless for eight bytes that are not all ASCII, but then the whole mask is dropped.
        let (digit, alpha) = digit_alpha_bits(x);
        // The eight high bits gathered into one byte: each lands on its own bit of the top
        // byte, with no carries between them.
        let bits = (((digit | alpha) >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
        mask |= bits << (8 * k);
    }
    (high & HIGH == 0).then_some(mask)
}

/// FNV-1a continued over the lowercase form of `c`: one byte for ASCII, four otherwise.
fn fnv_char(mut h: u64, c: char) -> u64 {
    for l in c.to_lowercase() {
        h = if l.is_ascii() {
            fnv1a(h, &[l as u8])
        } else {
            fnv1a(h, &(l as u32).to_le_bytes())
        };
    }
    h
}

/// FNV-1a of `bytes[start..end]` (ASCII letters and digits) lowercased, continuing from `h`.
#[inline]
fn fnv_ascii_lowercase(mut h: u64, bytes: &[u8], start: usize, end: usize) -> u64 {
    let n = end - start;
    match bytes.get(start..start + 8) {
        Some(eight) if n <= 8 => {
            // `| 0x20` lowercases a letter and leaves a digit as it is.
            let w = u64::from_le_bytes(eight.try_into().expect("8 bytes")) | 0x2020_2020_2020_2020;
            for k in 0..8 {
                let next = (h ^ ((w >> (8 * k)) & 0xff)).wrapping_mul(FNV_PRIME);
                h = if k < n { next } else { h };
            }
            h
        }
        _ => bytes[start..end]
            .iter()
            .fold(h, |h, &c| fnv1a(h, &[c | 0x20])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The near-duplicate signature's work grows linearly with the text, for every shape of
    /// input the scorer's linear-time test uses.
    #[test]
    fn minhash_work_grows_linearly_with_article_length() {
        use crate::text::work;
        let counts = work::growth(|text, _| {
            std::hint::black_box(MinHash::of_text(text));
        });
        let stage = work::Stage::MinHash as usize;
        assert!(counts.iter().all(|(_, c)| c[0][stage] > 0));
        let over = work::over_linear(&counts);
        assert!(over.is_empty(), "{over:#?}");
    }

    proptest! {
        /// The eight-byte path hashes every word exactly as a byte at a time does: short and long
        /// ASCII runs, runs ending near the end of the text, and non-ASCII letters inside and
        /// between words.
        #[test]
        fn word_hashes_match_the_bytewise_form(
            s in "([A-Za-z0-9]{1,6}|[A-Za-z0-9]{7,20}|[ .,'’\n;:()@\\[`{-]|[ÀéçΣßİ\u{00AD}]){0,40}"
        ) {
            prop_assert_eq!(word_hashes(&s), word_hashes_with::<false>(&s));
        }

        /// The 64-byte blocks find and hash every word as the general path does: texts of
        /// several blocks, all ASCII (every block scanned as one) or with non-ASCII characters
        /// here and there, words of up to 70 bytes (across block ends), runs of separators.
        #[test]
        fn block_scan_matches_the_general_path(
            ascii in "([A-Za-z0-9]{1,8}|[A-Za-z0-9]{9,70}|[ .,'\\n;:()@\\[`{-]{1,3}){0,300}",
            mixed in "([A-Za-z0-9]{1,8}|[A-Za-z0-9]{9,70}|[ .,'\\n;:()@\\[`{-]{1,3}|[a-z ]{60,130}|[ÀéçΣßİ’\u{00AD}]){0,100}"
        ) {
            for s in [ascii, mixed] {
                let general = word_hashes_with::<true>(&s);
                prop_assert_eq!(&word_hashes(&s), &general);
                prop_assert_eq!(general, word_hashes_with::<false>(&s));
            }
        }
    }

    const STORY: &str = "HAVANA — Cuba on Tuesday rejected a United States offer of talks on \
        migration, saying that new sanctions announced last month made any dialogue impossible \
        while Washington kept what officials called an economic war against the island. The \
        foreign ministry said the offer was a public relations exercise and not a serious \
        proposal, and demanded that the sanctions be lifted before any meeting.";

    #[test]
    fn words_are_split_on_anything_not_alphanumeric_and_lowercased() {
        let w = word_hashes("Café, CAFÉ café! São-Paulo 42x ");
        assert_eq!(w.len(), 6);
        assert_eq!(w[0], w[1]);
        assert_eq!(w[1], w[2]);
        assert_ne!(w[3], w[4]);
        assert_eq!(word_hashes("sao"), word_hashes("SAO"));
        assert_ne!(word_hashes("são"), word_hashes("sao"));
        assert!(word_hashes(" ,.; ").is_empty());
    }

    #[test]
    fn identical_texts_have_similarity_one() {
        let a = MinHash::of_text(STORY);
        assert_eq!(a.similarity(&MinHash::of_text(STORY)), 1.0);
    }

    #[test]
    fn a_reprint_with_a_new_dateline_and_one_word_changed_is_a_near_duplicate() {
        let reprint = STORY
            .replace("HAVANA —", "HAVANA, Oct 14 (Island Report) —")
            .replace("impossible", "unthinkable");
        let s = MinHash::of_text(STORY).similarity(&MinHash::of_text(&reprint));
        assert!(s >= THRESHOLD, "{s}");
        let shared = MinHash::of_text(STORY)
            .bands()
            .into_iter()
            .zip(MinHash::of_text(&reprint).bands())
            .filter(|(a, b)| a == b)
            .count();
        assert!(shared > 0);
    }

    #[test]
    fn different_articles_are_not_near_duplicates() {
        let other = "MANILA — The Philippine coast guard said Chinese vessels used water \
            cannon near Scarborough Shoal on Sunday, the third such incident this year.";
        let s = MinHash::of_text(STORY).similarity(&MinHash::of_text(other));
        assert!(s < 0.1, "{s}");
    }

    #[test]
    fn empty_text_matches_nothing() {
        let e = MinHash::of_text("  ... ");
        assert!(e.is_empty());
        assert_eq!(e.similarity(&e), 0.0);
        assert!(e.bands().is_empty());
    }

    #[test]
    fn bytes_round_trip() {
        let a = MinHash::of_text(STORY);
        assert_eq!(MinHash::from_bytes(&a.to_bytes()), Some(a));
    }

    #[test]
    fn estimates_track_exact_jaccard_for_short_and_long_texts() {
        // Texts of pseudo-random words; variants replace every k-th word. The estimate must
        // follow the exact Jaccard of the 5-word shingle sets, whether most bins are filled
        // directly (long texts) or by densification (short ones).
        let vocab: Vec<String> = (0..500).map(|i| format!("w{i}")).collect();
        let mut state = 7u64;
        let mut next = || {
            state = splitmix64(state);
            (state % 500) as usize
        };
        for len in [40usize, 300, 3000] {
            let base: Vec<String> = (0..len).map(|_| vocab[next()].clone()).collect();
            let shingles = |w: &[String]| -> std::collections::HashSet<String> {
                w.windows(SHINGLE).map(|s| s.join(" ")).collect()
            };
            let mut worst: f64 = 0.0;
            for k in [2usize, 4, 8, 16, 40, 100_000] {
                let variant: Vec<String> = base
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        if i % k == k - 1 {
                            format!("x{i}")
                        } else {
                            w.clone()
                        }
                    })
                    .collect();
                let (a, b) = (shingles(&base), shingles(&variant));
                let exact = a.intersection(&b).count() as f64 / a.union(&b).count() as f64;
                let est = MinHash::of_text(&base.join(" "))
                    .similarity(&MinHash::of_text(&variant.join(" ")));
                worst = worst.max((est - exact).abs());
            }
            assert!(worst < 0.12, "{len} words: largest error {worst}");
        }
    }
}
