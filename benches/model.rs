//! Scoring a batch of the shipped sample articles (repeated to a fixed size) with the built-in
//! model, on one thread and on all cores, in MB/s of text; and fitting the logistic regression
//! (L-BFGS) on a fixed-seed synthetic sparse matrix.

use std::hint::black_box;

mod common;

use common::{sample_articles, size_label};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::Array1;
use stance::model::{LogisticParams, SparseRecords};
use stance::{Classifier, Label};

fn score(c: &mut Criterion) {
    let classifier = Classifier::builtin().expect("this build carries a built-in model");
    let articles = sample_articles();
    let mut group = c.benchmark_group("model");
    let size = 1usize << 20;
    let docs = common::batch(&articles, size, |a| a.text.as_str());
    let label = size_label(size);
    let bytes: usize = docs.iter().map(|a| a.text.len()).sum();
    group.throughput(Throughput::Bytes(bytes as u64));

    // The articles' own counterpart and actor fields take precedence, as in `stance score`.
    let mut scorer = classifier.scorer();
    group.bench_with_input(BenchmarkId::new("score", &label), &docs, |b, docs| {
        b.iter(|| {
            docs.iter()
                .map(|a| {
                    scorer
                        .score(black_box(a), Some("United States"), None)
                        .score
                })
                .sum::<f64>()
        })
    });

    group.bench_with_input(
        BenchmarkId::new("score_in_order", &label),
        &docs,
        |b, docs| {
            b.iter_batched(
                || docs.iter().cloned().enumerate().collect::<Vec<_>>(),
                |records| {
                    let mut sum = 0.0;
                    stance::classifier::score_in_order(
                        &classifier,
                        records.into_iter().map(Ok),
                        Some("United States"),
                        None,
                        |_, _, s| {
                            sum += s.score;
                            Ok(())
                        },
                    )
                    .expect("scoring");
                    sum
                },
                BatchSize::LargeInput,
            )
        },
    );
    group.finish();
}

/// A row as column indices (increasing) and values.
type SparseRow = (Vec<u32>, Vec<f32>);

/// `n` unit-length rows of `nnz` distinct columns out of `ncols`, labelled by the sign of
/// their product with a hidden weight vector plus a little noise; fixed seed.
fn synthetic(n: usize, ncols: usize, nnz: usize) -> (Vec<SparseRow>, Array1<Label>) {
    let mut rng = stance::rng::SplitMix64::new(0x5eed);
    let mut next = move || rng.next_u64();
    let mut uniform = move || (next() % 1_000_000) as f64 / 1_000_000.0;
    let hidden: Vec<f64> = (0..ncols).map(|_| 2.0 * uniform() - 1.0).collect();
    let mut rows = Vec::with_capacity(n);
    let mut targets = Vec::with_capacity(n);
    for _ in 0..n {
        let mut indices: Vec<u32> = Vec::with_capacity(nnz);
        while indices.len() < nnz {
            let c = (uniform() * ncols as f64) as u32;
            if !indices.contains(&c) {
                indices.push(c);
            }
        }
        indices.sort_unstable();
        let raw: Vec<f64> = indices.iter().map(|_| 0.1 + 0.9 * uniform()).collect();
        let norm = raw.iter().map(|v| v * v).sum::<f64>().sqrt();
        let values: Vec<f32> = raw.iter().map(|v| (v / norm) as f32).collect();
        let logit: f64 = indices
            .iter()
            .zip(&values)
            .map(|(&c, &v)| hidden[c as usize] * v as f64)
            .sum::<f64>()
            + 0.1 * (uniform() - 0.5);
        targets.push(if logit > 0.0 {
            Label::Conciliatory
        } else {
            Label::Confrontational
        });
        rows.push((indices, values));
    }
    (rows, Array1::from(targets))
}

fn fit(c: &mut Criterion) {
    let (n, ncols, nnz) = (2_000usize, 20_000usize, 30usize);
    let (rows, targets) = synthetic(n, ncols, nnz);
    let records = SparseRecords::from_rows(rows.iter().map(|(i, v)| (&i[..], &v[..])), ncols)
        .expect("synthetic rows");
    let data = DatasetBase::new(records, targets);
    let params = LogisticParams::default();
    let mut group = c.benchmark_group("model_fit");
    group.sample_size(10);
    group.throughput(Throughput::Elements((n * nnz) as u64));
    group.bench_with_input(
        BenchmarkId::new("lbfgs", format!("{n}x{ncols}_{nnz}nnz")),
        &data,
        |b, data| b.iter(|| params.fit(black_box(data)).expect("fit").iterations),
    );
    group.finish();
}

criterion_group!(benches, score, fit);
criterion_main!(benches);
