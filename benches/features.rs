//! Feature extraction toward the United States over batches of the shipped sample articles
//! (repeated to a fixed size), and grouping the extractions by sentence, in MB/s of text.

use std::hint::black_box;
use std::sync::Arc;

mod common;

use common::{sample_texts, size_label};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stance::actors::Gazetteer;
use stance::features::lexicon::Lexicon;
use stance::features::{Doc, DocFeatures, Extracted, Extractor};

fn features(c: &mut Criterion) {
    let texts = sample_texts();
    let lexicon = Arc::new(Lexicon::builtin().expect("built-in lexicon"));
    let counterpart = Gazetteer::builtin().resolve("United States");
    let mut group = c.benchmark_group("features");
    let size = 1usize << 20;
    let docs = common::batch(&texts, size, |t| t.as_str());
    let label = size_label(size);
    let bytes: usize = docs.iter().map(String::len).sum();
    group.throughput(Throughput::Bytes(bytes as u64));

    // One extractor for the batch, as one scoring thread has: its word cache is warm
    // after the first pass.
    let mut extractor = Extractor::new(lexicon);
    let mut out = Extracted::default();
    group.bench_with_input(BenchmarkId::new("extract", &label), &docs, |b, docs| {
        b.iter(|| {
            let mut n = 0;
            for d in docs {
                extractor.extract(Doc::text(black_box(d), Some(&counterpart)), None, &mut out);
                n += out.occurrences.len();
            }
            n
        })
    });

    let extracted: Vec<Extracted> = docs
        .iter()
        .map(|d| {
            let mut e = Extracted::default();
            extractor.extract(Doc::text(d, Some(&counterpart)), None, &mut e);
            e
        })
        .collect();
    group.bench_with_input(
        BenchmarkId::new("from_extracted", &label),
        &extracted,
        |b, extracted| {
            b.iter(|| {
                extracted
                    .iter()
                    .map(|e| DocFeatures::from_extracted(black_box(e)).sentences.len())
                    .sum::<usize>()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, features);
criterion_main!(benches);
