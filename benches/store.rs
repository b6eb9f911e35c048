//! Ingesting synthetic scored articles into a fresh store (one transaction), in MB/s of text.

mod common;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use stance::article::Part;
use stance::store::{ModelInfo, Store};
use stance::{Article, Evidence, Label, Score};

/// Deterministic articles of ~120 words with distinct vocabulary, so MinHash bands rarely collide.
fn corpus(n: usize) -> Vec<(Article, Score)> {
    let mut rng = stance::rng::SplitMix64::new(0x5eed);
    let mut next = move || rng.next_u64();
    (0..n)
        .map(|i| {
            let text: Vec<String> = (0..120).map(|_| format!("w{}", next() % 5000)).collect();
            let id = format!("a{i}");
            let article = Article {
                id: id.clone(),
                text: text.join(" "),
                title: Some(format!("Headline {i}")),
                date: Some(format!("2025-{:02}-{:02}", i % 12 + 1, i % 28 + 1)),
                outlet: Some("Bench Wire".into()),
                ..Article::default()
            };
            let score = Score {
                id,
                counterpart: Some("United States".into()),
                actor: Some("Cuba".into()),
                score: (next() % 2000) as f64 / 1000.0 - 1.0,
                p_conciliatory: 0.5,
                p_stance: 0.25,
                label: Label::Neutral,
                mentions: 1,
                intercept: 0.0,
                evidence: vec![Evidence {
                    part: Part::Text,
                    sentence: "A sentence that moved the score.".into(),
                    start: 0,
                    end: 33,
                    contribution: 0.5,
                    terms: vec![],
                }],
            };
            (article, score)
        })
        .collect()
}

fn ingest(c: &mut Criterion) {
    let model = ModelInfo::new("bench", "# bench", "{}");
    let mut group = c.benchmark_group("store_ingest");
    group.sample_size(10);
    for n in [1_000usize, 5_000] {
        let rows = corpus(n);
        let bytes: usize = rows.iter().map(|(a, _)| a.text.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::new("articles", n), &rows, |b, rows| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let store = Store::open(&dir.path().join("bench.db")).unwrap();
                    (dir, store)
                },
                |(dir, mut store)| {
                    let mut file = store.begin(&model, "bench.jsonl").unwrap();
                    for (a, s) in rows {
                        file.add(a, s).unwrap();
                    }
                    file.commit().unwrap();
                    (dir, store)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
