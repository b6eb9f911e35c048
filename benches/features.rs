//! Feature extraction toward the United States over batches of the shipped sample articles
//! (repeated to a fixed size), and grouping the extractions by sentence, in MB/s of text.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stance::actors::Gazetteer;
use stance::features::lexicon::Lexicon;
use stance::features::{DocFeatures, Extracted, Extractor};

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

/// Whole sample articles, repeated in order until they hold at least `size` bytes of text.
fn batch(texts: &[String], size: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for t in texts.iter().cycle() {
        if bytes >= size {
            break;
        }
        bytes += t.len();
        out.push(t.clone());
    }
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

fn features(c: &mut Criterion) {
    let texts = sample_texts();
    let lexicon = Arc::new(Lexicon::builtin().expect("built-in lexicon"));
    let counterpart = Gazetteer::builtin().resolve("United States");
    let mut group = c.benchmark_group("features");
    let size = 1usize << 20;
    let docs = batch(&texts, size);
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
                extractor.extract(black_box(d), Some(&counterpart), None, None, &mut out);
                n += out.occurrences.len();
            }
            n
        })
    });

    let extracted: Vec<Extracted> = docs
        .iter()
        .map(|d| {
            let mut e = Extracted::default();
            extractor.extract(d, Some(&counterpart), None, None, &mut e);
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
