//! The trend chart and report documents: structure of the SVG, size of the PNG, the Markdown
//! and HTML sections, and the aggregation seen through [`stance::report::analyse`].

use chrono::NaiveDate;
use stance::article::Part;
use stance::report::chart::{self, ChartSpec, Series};
use stance::report::document::{self, ReportMeta};
use stance::report::trend::{Bucket, TrendParams};
use stance::report::{analyse, SeriesAnalysis};
use stance::store::ScoredArticle;
use stance::{Evidence, Label};

fn row(id: &str, date: NaiveDate, cluster: &str, score: f64) -> ScoredArticle {
    ScoredArticle {
        id: id.into(),
        date,
        title: Some(format!("Headline {id}")),
        outlet: Some(format!("Outlet {}", id.len())),
        url: None,
        cluster: cluster.into(),
        counterpart: "United States".into(),
        actor: Some("Cuba".into()),
        model_id: "m1".into(),
        score,
        p_conciliatory: (score + 1.0) / 2.0,
        label: if score > 0.0 {
            Label::Conciliatory
        } else {
            Label::Confrontational
        },
        evidence: vec![Evidence {
            part: Part::Text,
            sentence: format!("Evidence sentence of {id}."),
            start: 0,
            end: 10,
            contribution: score * 3.0,
            terms: vec![],
        }],
    }
}

/// A year of months: warm until July, cold from August, a thin April, a 4-copy cluster in
/// October.
fn synthetic_year() -> SeriesAnalysis {
    let mut rows = Vec::new();
    for m in 1..=12u32 {
        let n = if m == 4 { 1 } else { 4 };
        for k in 0..n {
            let d = NaiveDate::from_ymd_opt(2025, m, 3 + k * 5).unwrap();
            let level = if m < 8 { 0.5 } else { -0.5 };
            let id = format!("m{m}-{k}");
            rows.push(row(&id, d, &id, level + [0.1, -0.1, 0.2, -0.2][k as usize]));
        }
    }
    for c in 0..3 {
        let d = NaiveDate::from_ymd_opt(2025, 10, 20).unwrap();
        rows.push(row(&format!("copy{c}"), d, "m10-3", -0.9));
    }
    let params = TrendParams::default().check().unwrap();
    analyse("Cuba → United States", rows, &params).unwrap()
}

fn spec(a: &SeriesAnalysis) -> ChartSpec {
    let series = [Series {
        name: a.name.clone(),
        trend: &a.trend,
    }];
    ChartSpec::new(
        &chart::title(&series, Bucket::Month),
        &TrendParams::default(),
        "Model: m1.",
    )
}

#[test]
fn analysis_counts_the_cluster_once_and_finds_the_shift() {
    let a = synthetic_year();
    let oct = &a.trend.periods[9];
    assert_eq!((oct.articles, oct.stories), (7, 4));
    // Story m10-3: mean(-0.7, -0.9, -0.9, -0.9) = -0.85; October = (-0.4 - 0.6 - 0.3 - 0.85) / 4.
    assert!(
        (oct.mean.unwrap() - (-0.5375)).abs() < 1e-9,
        "{:?}",
        oct.mean
    );
    assert!(a.trend.periods[3].thin);
    assert_eq!(a.trend.shifts.len(), 1);
    assert_eq!(a.trend.periods[a.trend.shifts[0].period].label, "2025-08");
    assert_eq!(a.clusters.len(), 1);
    assert_eq!(a.clusters[0].copies, 4);
    let m = &a.movers[0];
    assert!(!m.stories.is_empty());
    assert!(m.stories.iter().all(|s| s.score < 0.0));
    assert!(m.stories[0].evidence.iter().all(|e| e.contribution < 0.0));
}

#[test]
fn svg_has_title_axes_legend_and_notes_as_text() {
    let a = synthetic_year();
    let svg = chart::svg(
        &spec(&a),
        &[Series {
            name: a.name.clone(),
            trend: &a.trend,
        }],
    )
    .unwrap();
    for needle in [
        "<svg",
        "Stance over time by month: Cuba → United States",
        "Stance score (+ conciliatory / − confrontational)",
        "Articles",
        "Date (month)",
        "95% bootstrap interval",
        "mean per month",
        "rolling mean (3 periods)",
        "change point",
        "fewer than 3 stories",
        "distinct stories",
        "2025-01",
        "2025-08 -1.0",
        "fixed seed 42",
        "+1.00",
        "-1.00",
    ] {
        assert!(svg.contains(needle), "the SVG lacks {needle:?}");
    }
}

#[test]
fn png_decodes_with_the_requested_size_and_is_not_blank() {
    let a = synthetic_year();
    let mut s = spec(&a);
    s.size = (900, 600);
    let bytes = chart::png(
        &s,
        &[Series {
            name: a.name.clone(),
            trend: &a.trend,
        }],
    )
    .unwrap();
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (900, 600));
    let non_white = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(non_white > 900 * 600 / 50, "{non_white} drawn pixels");
    // Text is rendered: the title row holds dark pixels.
    let dark_in_title = (0..900)
        .flat_map(|x| (0..30).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100))
        .count();
    assert!(dark_in_title > 100, "{dark_in_title}");
}

#[test]
fn two_series_share_one_chart() {
    let a = synthetic_year();
    let mut b = synthetic_year();
    b.name = "United States → Cuba".into();
    let series = [
        Series {
            name: a.name.clone(),
            trend: &a.trend,
        },
        Series {
            name: b.name.clone(),
            trend: &b.trend,
        },
    ];
    let svg = chart::svg(&spec(&a), &series).unwrap();
    assert!(svg.contains("United States → Cuba: distinct stories"));
    assert!(svg.contains("Cuba → United States: distinct stories"));
}

#[test]
fn markdown_and_html_have_every_section() {
    let a = synthetic_year();
    let meta = ReportMeta {
        title: "Report <test>".into(),
        notes: spec(&a).method_notes(),
        model_id: "m1".into(),
        model_card: "# Model card\n\nTrained on things.".into(),
        chart_png: "chart.png".into(),
        chart_svg: "chart.svg".into(),
    };
    let md = document::markdown(&meta, std::slice::from_ref(&a));
    for needle in [
        "![Stance trend](chart.png)",
        "| Period | Articles | Distinct stories | Mean score | 95% interval |",
        "| 2025-04 | 1 | 1 | +0.60 | thin: no interval |",
        "| 2025-10 | 7 | 4 | -0.54 |",
        "### Shifts: what moved the line",
        "#### 2025-08: more confrontational",
        "> Evidence sentence of",
        "| 2025-10-18 | Headline m10-3 | 4 |",
        "### Model card",
    ] {
        assert!(md.contains(needle), "the Markdown lacks {needle:?}\n{md}");
    }
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>chart</text></svg>";
    let html = document::html(&meta, std::slice::from_ref(&a), svg);
    assert!(html.contains("<figure><svg"));
    assert!(
        !html.contains("src=\"chart.png\""),
        "the page must not need the PNG"
    );
    assert!(html.contains("<title>Report &lt;test&gt;</title>"));
    assert!(html.contains("<th>Period</th>"));
    assert!(html.contains("<blockquote>"));
    let csv = document::csv(&meta.notes, &[a]);
    assert!(csv.starts_with("# Mean of distinct stories"));
    assert!(csv.contains("\nseries,period,start,articles,stories,mean,ci_low,ci_high,thin,rolling_mean,change_point\n"));
    assert!(csv.contains("Cuba → United States,2025-04,2025-04-01,1,1,0.6000,,,true,"));
}

/// Articles that never name the counterpart take no part in the trend: thirty unmentioned
/// stories in January leave every period's mean, interval and the shifts as they were, and the
/// report says how many were left out.
#[test]
fn unmentioned_articles_are_counted_and_left_out_of_the_trend() {
    let plain = synthetic_year();
    let mut rows = plain.articles.clone();
    for k in 0..30u32 {
        let d = NaiveDate::from_ymd_opt(2025, 1, 1 + k % 28).unwrap();
        let mut r = row(&format!("sport{k}"), d, &format!("sport{k}"), -0.9);
        r.label = Label::Unmentioned;
        rows.push(r);
    }
    rows.sort_by_key(|r| r.date);
    let a = analyse(
        "Cuba → United States",
        rows,
        &TrendParams::default().check().unwrap(),
    )
    .unwrap();
    assert_eq!(a.unmentioned, 30);
    assert_eq!(a.articles.len(), plain.articles.len());
    for (p, q) in a.trend.periods.iter().zip(&plain.trend.periods) {
        assert_eq!(
            (p.articles, p.stories, p.mean),
            (q.articles, q.stories, q.mean)
        );
        assert_eq!((p.interval, p.rolling), (q.interval, q.rolling));
    }
    assert_eq!(a.trend.shifts.len(), plain.trend.shifts.len());
    let summary = document::text_summary(std::slice::from_ref(&a));
    assert!(
        summary.contains("Left out: 30 articles that never name the counterpart"),
        "{summary}"
    );
}
