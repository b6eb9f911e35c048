//! Text analysis over the shipped sample articles, concatenated to fixed sizes: tokenizing,
//! tokens + sentences, normalising every token and stemming every word, in MB/s of text.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stance::text::{self, Analysis, StemCache, Token, TokenKind};

/// Bodies of the committed sample articles (`data/samples/*.jsonl`), in file-name order.
fn sample_texts() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("data/samples")
        .map(|e| e.expect("data/samples entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .flat_map(|f| stance::article::read_path(f).expect("sample file"))
        .map(|r| r.expect("sample article").1.text)
        .collect();
    assert!(!texts.is_empty(), "no sample articles in {}", dir.display());
    texts
}

/// The sample texts, separated by blank lines and repeated, cut to at most `size` bytes (at a
/// character boundary).
fn text_of_size(texts: &[String], size: usize) -> String {
    let mut out = String::with_capacity(size + 4096);
    for t in texts.iter().cycle() {
        if out.len() >= size {
            break;
        }
        out.push_str(t);
        out.push_str("\n\n");
    }
    let mut end = size;
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// `65536` → `64KiB`, `1048576` → `1MiB`.
fn size_label(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{}MiB", bytes >> 20)
    } else {
        format!("{}KiB", bytes >> 10)
    }
}

fn analysis(c: &mut Criterion) {
    let texts = sample_texts();
    let mut group = c.benchmark_group("text");
    for size in [64usize << 10, 1 << 20] {
        let text = text_of_size(&texts, size);
        let label = size_label(size);
        group.throughput(Throughput::Bytes(text.len() as u64));

        let mut tokens: Vec<Token> = Vec::new();
        group.bench_with_input(BenchmarkId::new("tokenize", &label), &text, |b, text| {
            b.iter(|| {
                text::tokenize(black_box(text), &mut tokens);
                tokens.len()
            })
        });

        let mut out = Analysis::default();
        group.bench_with_input(
            BenchmarkId::new("analyze_into", &label),
            &text,
            |b, text| {
                b.iter(|| {
                    text::analyze_into(black_box(text), &mut out);
                    out.sentences.len()
                })
            },
        );

        text::tokenize(&text, &mut tokens);
        group.bench_with_input(
            BenchmarkId::new("normalize_word", &label),
            &text,
            |b, text| {
                b.iter(|| {
                    tokens
                        .iter()
                        .map(|t| text::normalize_word(black_box(t.text(text))).len())
                        .sum::<usize>()
                })
            },
        );

        let words: Vec<String> = tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| text::normalize_word(t.text(&text)).into_owned())
            .collect();
        let mut stems = StemCache::new();
        for w in &words {
            stems.stem(w);
        }
        group.bench_with_input(BenchmarkId::new("stem_warm", &label), &words, |b, words| {
            b.iter(|| {
                words
                    .iter()
                    .map(|w| stems.stem(black_box(w)).len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, analysis);
criterion_main!(benches);
