//! Counts of inner-loop steps per stage, kept only in the library's own tests: the linear-time
//! tests read them to pin the work each stage does on an article 1, 4 and 16 times as long
//! (work, not time, so they hold on any machine). In every other build [`step`] is empty and
//! inlined away. Touches nothing else.

/// The stages counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Characters and tokens of the tokenizer.
    Tokenize,
    /// Tokens and punctuation runs of the sentence splitter.
    Sentences,
    /// Token positions tried by mention finding (gazetteer aliases and literal names).
    Mentions,
    /// Tokens of negation scopes.
    Negation,
    /// Tokens looked at around counterpart mentions.
    Context,
    /// Tokens and lexicon entries tried by lexicon matching.
    Polarity,
    /// Tokens looked at around cues for their agent and patient.
    Directed,
    /// Tokens and occurrences of feature emission.
    Units,
    /// Occurrences, terms and sentences of scoring and evidence selection.
    Score,
    /// Shingles of the near-duplicate signature.
    MinHash,
}

/// How many stages there are.
#[cfg(test)]
pub(crate) const STAGES: usize = Stage::MinHash as usize + 1;

/// The stages' names, in order.
#[cfg(test)]
const NAMES: [&str; STAGES] = [
    "tokenize",
    "sentences",
    "mentions",
    "negation",
    "context",
    "polarity",
    "directed",
    "units",
    "score",
    "minhash",
];

#[cfg(test)]
thread_local! {
    static STEPS: std::cell::RefCell<[u64; STAGES]> = const { std::cell::RefCell::new([0; STAGES]) };
}

/// Counts one step of `stage` on this thread (tests only).
#[inline(always)]
pub(crate) fn step(stage: Stage) {
    #[cfg(test)]
    STEPS.with(|s| s.borrow_mut()[stage as usize] += 1);
    #[cfg(not(test))]
    let _ = stage;
}

/// Counts `n` steps of `stage` on this thread (tests only).
#[inline(always)]
pub(crate) fn steps(stage: Stage, n: usize) {
    #[cfg(test)]
    STEPS.with(|s| s.borrow_mut()[stage as usize] += n as u64);
    #[cfg(not(test))]
    let _ = (stage, n);
}

/// The steps counted on this thread since the last call, by stage, and resets them.
#[cfg(test)]
pub(crate) fn take() -> [u64; STAGES] {
    STEPS.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

/// Inputs of every shape a feed sends, at least `n` bytes each, with the counterpart to score
/// them toward: prose, no sentence end, a run of one mark, an unknown counterpart named again
/// and again, known names, negators and cues between commas, punctuation, non-Latin text, one
/// long token, hyphen chains. The run of marks ends in a lowercase word, which opens no
/// sentence, so no mark of the run ends one.
#[cfg(test)]
pub(crate) fn shapes(n: usize) -> Vec<(&'static str, String, &'static str)> {
    let units: [(&str, &str, &str, &str); 10] = [
        ("prose", "HAVANA, Jan 7 \u{2014} Cuba said on Tuesday it would send a delegation to Washington for talks with the United States. \"A useful step,\" the minister said, while cautioning that it expected results.\n\n", "", "United States"),
        ("no sentence end", "the United States and Cuba did not agree to talks while officials said ", "", "United States"),
        ("one run of marks", "!", "x", "United States"),
        ("unknown name", "Gondor met Arnor. ", "", "Gondor"),
        ("known names", "United States Cuba Washington Havana ", "", "United States"),
        ("cues and commas", "agreed , , , , rejected , , , not welcomed ; , ", "", "United States"),
        ("punctuation", ".;:!?-,\"'()", "", "United States"),
        ("non-Latin", "Куба и США договорились. 古巴 美国 ", "", "United States"),
        ("one token", "x", "", "United States"),
        ("hyphens", "anti-US-pro-Cuba-non-aligned-", "", "United States"),
    ];
    units
        .iter()
        .map(|&(name, unit, tail, cp)| {
            let mut t = String::with_capacity(n + unit.len() + tail.len());
            while t.len() < n {
                t.push_str(unit);
            }
            t.push_str(tail);
            (name, t, cp)
        })
        .collect()
}

/// Runs `run(text, counterpart)` on every [`shapes`] input at 12 KiB and 4 and 16 times that,
/// and gives each shape's steps by stage at the three sizes.
#[cfg(test)]
pub(crate) fn growth(mut run: impl FnMut(&str, &str)) -> Vec<(&'static str, [[u64; STAGES]; 3])> {
    let base = 12 << 10;
    let mut out: Vec<(&'static str, [[u64; STAGES]; 3])> = Vec::new();
    for (size, k) in [1, 4, 16].into_iter().enumerate() {
        for (i, (name, text, cp)) in shapes(base * k).into_iter().enumerate() {
            take();
            run(&text, cp);
            if size == 0 {
                out.push((name, [[0; STAGES]; 3]));
            }
            out[i].1[size] = take();
        }
    }
    out
}

/// The shapes and stages of [`growth`]'s counts whose steps at 4 and 16 times the size exceed
/// 4 and 16 times those at the first size, plus a tenth and 1,000 (a constant start-up).
#[cfg(test)]
pub(crate) fn over_linear(counts: &[(&'static str, [[u64; STAGES]; 3])]) -> Vec<String> {
    let mut over = Vec::new();
    for (name, c) in counts {
        for (size, k) in [(1, 4u64), (2, 16)] {
            for stage in 0..STAGES {
                let (a, b) = (c[0][stage], c[size][stage]);
                if b > k * a + k * a / 10 + 1000 {
                    over.push(format!(
                        "{name}: {} took {b} steps at {k}x, {a} at 1x",
                        NAMES[stage]
                    ));
                }
            }
        }
    }
    over
}
