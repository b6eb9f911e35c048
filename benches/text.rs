//! Text analysis over the shipped sample articles, concatenated to fixed sizes: tokenizing,
//! tokens + sentences, normalising every token and stemming every word, in MB/s of text.

use std::hint::black_box;

mod common;

use common::{sample_texts, size_label};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stance::text::{self, Analysis, StemCache, Token, TokenKind};

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
