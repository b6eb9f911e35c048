//! Aggregating a synthetic year of daily scored articles: stories, bootstrap intervals,
//! rolling mean and change points, by day, week and month.

use chrono::{Duration, NaiveDate};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stance::report::trend::{trend, Bucket, Observation, TrendParams};

/// 365 days × `per_day` articles, a level shift at mid-year and one reprint in ten.
fn year(per_day: usize) -> Vec<Observation> {
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let mut state = 42u64;
    let mut noise = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 33) % 1000) as f64 / 1000.0 - 0.5
    };
    let mut out = Vec::new();
    for d in 0..365 {
        let date = start + Duration::days(d);
        let level = if d < 180 { 0.4 } else { -0.3 };
        for k in 0..per_day {
            let id = format!("{d}-{k}");
            let cluster = if k % 10 == 9 {
                format!("{d}-0")
            } else {
                id.clone()
            };
            out.push(Observation {
                id,
                date,
                cluster,
                score: (level + noise()).clamp(-1.0, 1.0),
            });
        }
    }
    out
}

fn aggregate(c: &mut Criterion) {
    let mut group = c.benchmark_group("report_trend");
    group.sample_size(20);
    for per_day in [5usize, 50] {
        let obs = year(per_day);
        group.throughput(Throughput::Elements(obs.len() as u64));
        for bucket in [Bucket::Day, Bucket::Week, Bucket::Month] {
            let params = TrendParams::default().bucket(bucket).check().unwrap();
            let id = BenchmarkId::new(bucket.as_str(), format!("{}_articles", obs.len()));
            group.bench_with_input(id, &obs, |b, obs| b.iter(|| trend(obs, &params)));
        }
    }
    group.finish();
}

criterion_group!(benches, aggregate);
criterion_main!(benches);
