//! Reports of hostile input: titles, outlets, ids, addresses, evidence, series names and model
//! cards that carry script, event handlers, `javascript:`/`data:` links, quotes that would end
//! an attribute, and Markdown link and image syntax. The HTML must parse strictly and hold no
//! active content, and every hostile string must reach the reader as the text it is; the
//! Markdown must hold no raw HTML and link only to http(s) and mailto. Regression: a title
//! `T [x](javascript:alert(2)) 1` became `<a href="javascript:alert(2">` in `report.html`.

mod common;

use std::process::Command;

use chrono::NaiveDate;
use proptest::prelude::*;
use pulldown_cmark::{Event, Parser, Tag};
use stance::article::Part;
use stance::report::chart::{self, ChartSpec, Series};
use stance::report::document::{self, ReportMeta};
use stance::report::trend::{Bucket, TrendParams};
use stance::report::{analyse, SeriesAnalysis};
use stance::store::ScoredArticle;
use stance::{Evidence, Label};

const HOSTILE: [&str; 12] = [
    "T [x](javascript:alert(2)) 1",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(3)>",
    "' onmouseover='alert(4)' x='",
    "![i](data:text/html;base64,PHNjcmlwdD4=)",
    "[y](JaVaScRiPt:alert(5))",
    "<a href=\"javascript:alert(6)\">z</a>",
    "**bold** _u_ `code` | pipe \\| <b>",
    "<https://evil.example/> <javascript:alert(7)>",
    "&lt;script&gt;alert(8)&lt;/script&gt; &amp;",
    "line\nbreak\r\n# heading\n- item\n> quote",
    "</td></tr></table><svg onload=alert(9)>",
];

const URLS: [&str; 8] = [
    "javascript:alert(10)",
    "data:text/html,<script>alert(11)</script>",
    " java\tscript:alert(12)",
    "JAVASCRIPT:alert(13)",
    "https://ok.example/a\"onmouseover=\"alert(14)",
    "https://example.org/x?a=1&b=<2>",
    "mailto:desk@example.org",
    "vbscript:msgbox(15)",
];

fn hostile(i: usize) -> &'static str {
    HOSTILE[i % HOSTILE.len()]
}

fn row(i: usize, date: NaiveDate, score: f64) -> ScoredArticle {
    ScoredArticle {
        id: format!("{}#{i}", hostile(i + 5)),
        date,
        title: Some(format!("{} {i}", hostile(i))),
        outlet: Some(hostile(i + 1).to_string()),
        url: Some(URLS[i % URLS.len()].to_string()),
        // Every third story has a copy, so the cluster table lists hostile titles too.
        cluster: format!("c{}", i - i % 2 * usize::from(i.is_multiple_of(3))),
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
            sentence: format!("{} [e](javascript:alert({i}))", hostile(i + 2)),
            start: 0,
            end: 10,
            contribution: score * 3.0,
            terms: vec![],
        }],
    }
}

/// A year, warm to July and cold from August (so the report lists what moved the line, with
/// evidence), every field of every row hostile.
fn hostile_year(name: &str) -> SeriesAnalysis {
    let mut rows = Vec::new();
    for m in 1..=12u32 {
        for k in 0..4usize {
            let i = rows.len();
            let d = NaiveDate::from_ymd_opt(2025, m, 1 + k as u32 * 5).unwrap();
            let level = if m < 8 { 0.5 } else { -0.5 };
            rows.push(row(i, d, level + [0.1, -0.1, 0.2, -0.2][k]));
        }
    }
    let params = TrendParams::default().check().unwrap();
    analyse(name, rows, &params).unwrap()
}

const CARD: &str = "# Card <script>alert(20)</script>\n\n<img src=x onerror=alert(21)>\n\n\
[c](javascript:alert(22)) [d](data:text/html,x) ![p](https://tracker.example/p.png) \
[ok](https://example.org/card) <iframe src=\"javascript:alert(23)\"></iframe>\n\n\
| a | b |\n|---|---|\n| <script>x</script> | [l](javascript:alert(24)) |\n";

fn meta(title: &str, card: &str) -> ReportMeta {
    ReportMeta {
        title: title.into(),
        notes: vec![format!("note {}", hostile(3))],
        model_id: hostile(1).into(),
        model_card: card.into(),
        chart_png: "chart.png".into(),
        chart_svg: "chart.svg".into(),
    }
}

fn chart_svg(a: &SeriesAnalysis) -> String {
    let series = [Series {
        name: a.name.clone(),
        trend: &a.trend,
    }];
    let spec = ChartSpec::new(
        &chart::title(&series, Bucket::Month),
        &TrendParams::default(),
        "",
    );
    chart::svg(&spec, &series).unwrap()
}

/// The Markdown's problems: raw HTML (the report writes none) and links or images to anything
/// but http(s), mailto or the report's own chart files.
fn markdown_problems(md: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut in_card = false;
    for (e, _) in Parser::new(md).into_offset_iter() {
        match e {
            Event::Start(Tag::Heading { .. }) => {}
            Event::Text(t) if t.as_ref() == "Model" => in_card = true,
            // The model card is the model's own Markdown, shown as it is.
            _ if in_card => {}
            Event::Html(h) | Event::InlineHtml(h) => problems.push(format!("raw HTML {h:?}")),
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                let ok = ["http://", "https://", "mailto:"]
                    .iter()
                    .any(|s| dest_url.to_ascii_lowercase().starts_with(s))
                    || ["chart.png", "chart.svg"].contains(&dest_url.as_ref());
                if !ok {
                    problems.push(format!("link to {dest_url:?}"));
                }
            }
            _ => {}
        }
    }
    problems
}

/// Regression: a title `T [x](javascript:alert(2)) 1` became a `javascript:` link. Every
/// hostile title, outlet, id, address, evidence sentence, series name and model card is text.
#[test]
fn hostile_fields_reach_the_reader_as_text_and_never_as_markup() {
    let name = "Cuba → <script>alert(30)</script> \"US\" [n](javascript:alert(31))";
    let a = hostile_year(name);
    assert!(!a.movers.is_empty() && !a.clusters.is_empty());
    let m = meta("Report \"><script>alert(32)</script>", CARD);
    let html = document::html(&m, std::slice::from_ref(&a), &chart_svg(&a));
    common::html::assert_clean(&html, "report.html");
    let reading = common::html::read(&html);
    // What the reader sees is the hostile text itself, escaped and not dropped.
    let seen = |s: &str| reading.text.contains(s);
    for s in [
        "T [x](javascript:alert(2)) 1",
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(3)>",
        "' onmouseover='alert(4)' x='",
        "<a href=\"javascript:alert(6)\">z</a>",
        "<script>alert(30)</script> \"US\"",
        "<script>alert(20)</script>",
    ] {
        assert!(seen(s), "the page does not show {s:?} as text");
    }
    // Safe addresses stay links; the others are text.
    let urls: Vec<&str> = a
        .movers
        .iter()
        .flat_map(|m| &m.stories)
        .filter_map(|st| st.article.url.as_deref())
        .collect();
    assert!(urls
        .iter()
        .any(|u| u.starts_with("mailto:") || u.starts_with("https://example.org")));
    for u in urls {
        let linked = html.contains(&format!("<a href=\"{}\">", u.replace('&', "&amp;")));
        assert_eq!(linked, u == "mailto:desk@example.org", "{u:?}");
    }
    assert!(html.contains("<a href=\"https://example.org/card\">ok</a>"));
    assert!(
        !html.contains("tracker.example"),
        "images from the card are dropped"
    );

    let md = document::markdown(&m, std::slice::from_ref(&a));
    assert_eq!(markdown_problems(&md), Vec::<String>::new());
    let md_text: String = Parser::new(&md)
        .filter_map(|e| match e {
            Event::Text(t) | Event::Code(t) => Some(t.into_string()),
            Event::SoftBreak | Event::HardBreak => Some(" ".into()),
            _ => None,
        })
        .collect();
    for s in ["T [x](javascript:alert(2)) 1", "<script>alert(1)</script>"] {
        assert!(
            md_text.contains(s),
            "the Markdown does not show {s:?} as text"
        );
    }
}

/// The same through the binary: `stance report` of articles with hostile titles, outlets,
/// addresses and text writes a clean page.
#[test]
fn stance_report_of_hostile_articles_writes_a_clean_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for i in 0..48usize {
        let month = i / 4 + 1;
        let text = if month < 7 {
            "Cuba welcomed the talks with the United States and praised the constructive dialogue."
        } else {
            "Cuba condemned the United States and accused it of waging an economic war."
        };
        let rec = serde_json::json!({
            "id": format!("{}-{i}", hostile(i + 4)),
            "date": format!("2025-{month:02}-{:02}", i % 4 * 7 + 1),
            "title": hostile(i),
            "outlet": hostile(i + 1),
            "url": URLS[i % URLS.len()],
            "text": format!("{text} {} Day {i} of talks on topic {}.", hostile(i + 2), i * 7919),
        });
        lines.push_str(&rec.to_string());
        lines.push('\n');
    }
    std::fs::write(dir.path().join("hostile.jsonl"), lines).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_stance"))
        .args([
            "report",
            "hostile.jsonl",
            "--counterpart",
            "United States",
            "--actor",
            "Cuba",
            "--out",
            "rep",
            "--db",
            "s.db",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(dir.path().join("rep/report.html")).unwrap();
    common::html::assert_clean(&html, "report.html");
    let md = std::fs::read_to_string(dir.path().join("rep/report.md")).unwrap();
    assert_eq!(markdown_problems(&md), Vec::<String>::new());
}

fn any_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "<",
        ">",
        "\"",
        "'",
        "&",
        "[",
        "]",
        "(",
        ")",
        "!",
        "*",
        "_",
        "`",
        "|",
        "\\",
        "#",
        "\n",
        "javascript:",
        "data:",
        "JaVaScRiPt:",
        "http://",
        "mailto:",
        "<script>",
        "</script>",
        "onerror=",
        " on",
        "x",
        "é",
        "→",
        "&amp;",
        "&#x3c;",
        "<!--",
        "-->",
        "<![CDATA[",
        "\u{0}",
        "\u{2028}",
        "svg",
        "=",
        " ",
    ]);
    prop::collection::vec(pieces, 0..16).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(common::fuzz_config(64))]

    /// Fuzz: any title, outlet, id, address, evidence, series name, page title and card give a
    /// page that parses strictly with no active content, and Markdown without raw HTML or
    /// unsafe links.
    #[test]
    fn fuzz_report_writers_never_emit_active_content(
        fields in prop::collection::vec(any_text(), 6),
        card in any_text(),
    ) {
        let mut a = hostile_year(&fields[0]);
        for m in &mut a.movers {
            for st in &mut m.stories {
                st.article.title = Some(fields[1].clone());
                st.article.outlet = Some(fields[2].clone());
                st.article.url = Some(fields[3].clone());
                st.article.id = fields[4].clone();
                for e in &mut st.evidence {
                    e.sentence = fields[5].clone();
                }
            }
        }
        for c in &mut a.clusters {
            c.title = fields[1].clone();
            c.outlets = vec![fields[2].clone()];
        }
        let m = meta(&fields[5], &card);
        let html = document::html(&m, std::slice::from_ref(&a), &chart_svg(&a));
        let r = common::html::read(&html);
        prop_assert!(r.problems.is_empty(), "{:?}", r.problems);
        let md = document::markdown(&m, std::slice::from_ref(&a));
        prop_assert_eq!(markdown_problems(&md), Vec::<String>::new());
    }
}
