//! Writing analyses out as text: the Markdown report, the self-contained HTML page, the CSV
//! of periods and the plain-text summary `stance trend` prints. Pure string building.
//!
//! Text from the input (titles, outlets, ids, addresses, evidence, series names) is escaped
//! where it is written: Markdown syntax backslash-escaped in the Markdown; HTML written
//! directly, every such string escaped, links made only to http(s) and mailto addresses. The
//! model card, Markdown from a model file, goes through pulldown-cmark with raw HTML shown as
//! text.

use std::fmt::Write as _;

use super::{Movers, SeriesAnalysis};

/// Everything a report page shows besides the analyses.
#[derive(Debug, Clone)]
pub struct ReportMeta {
    /// Title.
    pub title: String,
    /// Method notes (from [`super::chart::ChartSpec::method_notes`]).
    pub notes: Vec<String>,
    /// Model id.
    pub model_id: String,
    /// The model card (Markdown).
    pub model_card: String,
    /// The PNG chart's file name, relative to the report.
    pub chart_png: String,
    /// The SVG chart's file name, relative to the report.
    pub chart_svg: String,
}

fn fmt_interval(p: &super::trend::Period) -> String {
    match (p.interval, p.thin, p.mean) {
        (Some((lo, hi)), _, _) => format!("[{lo:+.2}, {hi:+.2}]"),
        (None, true, _) => "thin: no interval".into(),
        _ => "—".into(),
    }
}

fn fmt_mean(m: Option<f64>) -> String {
    m.map_or_else(|| "—".into(), |m| format!("{m:+.2}"))
}

fn shift_heading(a: &SeriesAnalysis, m: &Movers) -> String {
    let p = &a.trend.periods[m.shift.period];
    format!(
        "{}: {} {:+.2} (level {:+.2} → {:+.2})",
        p.label,
        if m.shift.delta() < 0.0 {
            "more confrontational,"
        } else {
            "more conciliatory,"
        },
        m.shift.delta(),
        m.shift.before,
        m.shift.after
    )
}

/// Demotes Markdown headings by `levels` so an embedded card nests under a report section.
fn demote(md: &str, levels: usize) -> String {
    md.lines()
        .map(|l| {
            if l.starts_with('#') {
                format!("{}{l}", "#".repeat(levels))
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text for a Markdown table cell or line: Markdown's syntax characters backslash-escaped and
/// line breaks turned into spaces, so a scraped title or outlet is shown as the text it is and
/// never becomes a link, an image, emphasis or raw HTML.
fn md_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '!' | '|' | '&' | '(' | ')' | '#'
            | '~' => {
                o.push('\\');
                o.push(c);
            }
            '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Whether `url` may be a link in a report: `http:`, `https:` or `mailto:` (any case), with
/// nothing in it that could end the address early or hide another scheme (no whitespace,
/// control characters, quotes or angle brackets). Anything else is shown as text.
pub fn is_safe_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let scheme_ok = ["http://", "https://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s));
    scheme_ok
        && !url.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`')
        })
}

/// The Markdown report.
pub fn markdown(meta: &ReportMeta, analyses: &[SeriesAnalysis]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", md_text(&meta.title));
    let _ = writeln!(s, "![Stance trend]({})\n", md_text(&meta.chart_png));
    let _ = writeln!(
        s,
        "Vector version: [{}]({}). Model: {}.\n",
        md_text(&meta.chart_svg),
        md_text(&meta.chart_svg),
        md_text(&meta.model_id)
    );
    for n in &meta.notes {
        let _ = writeln!(s, "- {}", md_text(n));
    }
    s.push('\n');
    for a in analyses {
        let _ = writeln!(s, "## {}\n", md_text(&a.name));
        let _ = writeln!(s, "{}\n", counts_sentence(a));
        if a.unmentioned > 0 {
            let _ = writeln!(s, "{}\n", left_out(a.unmentioned));
        }
        let _ = writeln!(s, "### Per period\n");
        let _ = writeln!(s, "| {} |", PERIOD_COLUMNS.join(" | "));
        let _ = writeln!(s, "|---|---:|---:|---:|---|---:|");
        for row in period_rows(a) {
            let _ = writeln!(s, "| {} |", row.join(" | "));
        }
        s.push('\n');
        let _ = writeln!(s, "### Shifts: what moved the line\n");
        if a.movers.is_empty() {
            let _ = writeln!(s, "{NO_SHIFT}\n");
        }
        for m in &a.movers {
            let _ = writeln!(s, "#### {}\n", shift_heading(a, m));
            if a.from_aggregates {
                let _ = writeln!(s, "{AGGREGATE_STORIES}");
            }
            for st in &m.stories {
                let art = &st.article;
                let link = match art.url.as_deref() {
                    Some(u) if is_safe_url(u) => format!("[{}](<{u}>)", md_text(&art.id)),
                    Some(u) => format!("{} ({})", md_text(&art.id), md_text(u)),
                    None => md_text(&art.id),
                };
                let _ = writeln!(
                    s,
                    "- **{}** — {}{} · {} · story score {:+.2}{}",
                    md_text(art.title.as_deref().unwrap_or(&art.id)),
                    art.outlet
                        .as_deref()
                        .map(|o| format!("{}, ", md_text(o)))
                        .unwrap_or_default(),
                    art.date,
                    link,
                    st.score,
                    copies_note(st.copies)
                );
                for e in &st.evidence {
                    let _ = writeln!(
                        s,
                        "  > {} *({:+.2})*",
                        md_text(e.sentence.trim()),
                        e.contribution
                    );
                }
            }
            s.push('\n');
        }
        let _ = writeln!(s, "### Near-duplicate clusters\n");
        if a.from_aggregates {
            let _ = writeln!(s, "{AGGREGATE_CLUSTERS}\n");
        } else if a.clusters.is_empty() {
            let _ = writeln!(s, "{NO_CLUSTER}\n");
        } else {
            let _ = writeln!(s, "{CLUSTER_NOTE}\n");
            let _ = writeln!(s, "| {} |", CLUSTER_COLUMNS.join(" | "));
            let _ = writeln!(s, "|---|---|---:|---|---:|");
            for c in &a.clusters {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {:+.2} |",
                    c.date,
                    md_text(&c.title),
                    c.copies,
                    md_text(&c.outlets.join(", ")),
                    c.score
                );
            }
            s.push('\n');
        }
    }
    let _ = writeln!(s, "## Model\n");
    if meta.model_card.trim().is_empty() {
        let _ = writeln!(s, "Model {} (no card stored).", md_text(&meta.model_id));
    } else {
        let _ = writeln!(s, "{}", demote(meta.model_card.trim(), 2));
    }
    s
}

const PERIOD_COLUMNS: [&str; 6] = [
    "Period",
    "Articles",
    "Distinct stories",
    "Mean score",
    "95% interval",
    "Rolling mean",
];
const CLUSTER_COLUMNS: [&str; 5] = ["First seen", "Story", "Copies", "Outlets", "Story score"];
const NO_SHIFT: &str = "No change point passed the penalty: the level is steady within the noise.";
const NO_CLUSTER: &str = "None: every article is a distinct story.";
const AGGREGATE_STORIES: &str = "Drawn from period aggregates: the stories behind this shift are not at hand (ingest the scored articles into a store to list them with their evidence).";
const AGGREGATE_CLUSTERS: &str =
    "Not at hand: the period aggregates counted each story once where they were computed.";
const CLUSTER_NOTE: &str =
    "Each cluster counts as one story (the mean of its copies) in every figure above.";

/// The sentence under a series' heading: articles, stories, clusters, change points.
fn counts_sentence(a: &SeriesAnalysis) -> String {
    let (articles, stories) = totals(a);
    let clusters = if a.from_aggregates {
        String::new()
    } else {
        format!(
            "{} near-duplicate cluster{} with copies, ",
            a.clusters.len(),
            if a.clusters.len() == 1 { "" } else { "s" }
        )
    };
    format!(
        "{articles} articles, {stories} distinct stories, {clusters}{} change point{}.",
        a.trend.shifts.len(),
        if a.trend.shifts.len() == 1 { "" } else { "s" }
    )
}

/// Articles and distinct stories over every period of a series.
fn totals(a: &SeriesAnalysis) -> (usize, usize) {
    let p = &a.trend.periods;
    (
        p.iter().map(|p| p.articles).sum(),
        p.iter().map(|p| p.stories).sum(),
    )
}

/// The per-period table's rows: figures only (labels are dates), nothing from input.
fn period_rows(a: &SeriesAnalysis) -> Vec<[String; 6]> {
    a.trend
        .periods
        .iter()
        .map(|p| {
            [
                p.label.clone(),
                p.articles.to_string(),
                p.stories.to_string(),
                fmt_mean(p.mean),
                fmt_interval(p),
                fmt_mean(p.rolling),
            ]
        })
        .collect()
}

fn copies_note(copies: usize) -> String {
    if copies > 1 {
        format!(" · {copies} copies")
    } else {
        String::new()
    }
}

/// Whether a character may not appear in an HTML page or an XML document as it is: control
/// characters (but for tab, line feed, form feed and carriage return) and noncharacters.
pub fn is_forbidden_char(c: char) -> bool {
    let u = c as u32;
    (c.is_control() && !matches!(c, '\t' | '\n' | '\x0C' | '\r'))
        || (0xFDD0..=0xFDEF).contains(&u)
        || u & 0xFFFE == 0xFFFE
}

/// Escapes text for HTML, in element content and in quoted attribute values alike; a character
/// a page may not hold ([`is_forbidden_char`]) becomes U+FFFD.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            c if is_forbidden_char(c) => o.push('\u{fffd}'),
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A link to `url` reading `text` (both escaped), or `text` alone when the address is not one a
/// report may link to (see [`is_safe_url`]).
fn html_link(text: &str, url: &str) -> String {
    if is_safe_url(url) {
        format!("<a href=\"{}\">{}</a>", escape(url), escape(text))
    } else {
        escape(text)
    }
}

/// A table: a header row, then rows of cells already written as HTML.
fn html_table(out: &mut String, header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    out.push_str("<table>\n<tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// A model card (Markdown, from a model file that may come from anywhere) as HTML, through
/// pulldown-cmark with raw HTML shown as text, links kept only to http(s) and mailto
/// addresses (others become their text) and images dropped (a card needs none, and an outside
/// image would be fetched when the page opens). Headings are demoted by `levels`.
fn card_html(md: &str, levels: u8) -> String {
    use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
    let demote = |l: HeadingLevel| {
        HeadingLevel::try_from((l as usize + levels as usize).min(6)).unwrap_or(HeadingLevel::H6)
    };
    // Which open links and images were dropped, so their ends are dropped too.
    let mut dropped: Vec<bool> = Vec::new();
    let mut in_image = 0usize;
    let md: String = md
        .chars()
        .map(|c| if is_forbidden_char(c) { '\u{fffd}' } else { c })
        .collect();
    let events = Parser::new_ext(&md, Options::ENABLE_TABLES).filter_map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Some(Event::Text(h)),
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Some(Event::Start(Tag::Heading {
            level: demote(level),
            id,
            classes,
            attrs,
        })),
        Event::End(TagEnd::Heading(level)) => Some(Event::End(TagEnd::Heading(demote(level)))),
        Event::Start(Tag::Link { dest_url, .. }) if !is_safe_url(&dest_url) => {
            dropped.push(true);
            None
        }
        Event::Start(t @ Tag::Link { .. }) => {
            dropped.push(false);
            Some(Event::Start(t))
        }
        Event::End(TagEnd::Link) => (!dropped.pop().unwrap_or(true)).then_some(e),
        Event::Start(Tag::Image { .. }) => {
            in_image += 1;
            None
        }
        Event::End(TagEnd::Image) => {
            in_image = in_image.saturating_sub(1);
            None
        }
        _ if in_image > 0 => None,
        e => Some(e),
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// The self-contained HTML page: the report with the SVG chart inline. Written as HTML
/// directly, every string from the input (titles, outlets, ids, addresses, evidence, series
/// names) through [`escape`], addresses linked only when [`is_safe_url`]; the model card
/// through [`card_html`].
pub fn html(meta: &ReportMeta, analyses: &[SeriesAnalysis], svg: &str) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{}</h1>", escape(&meta.title));
    let svg = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => "",
    };
    let _ = writeln!(b, "<figure>{svg}</figure>");
    let _ = writeln!(
        b,
        "<p>Vector version: <a href=\"{0}\">{0}</a>. Model: <code>{1}</code>.</p>",
        escape(&meta.chart_svg),
        escape(&meta.model_id)
    );
    if !meta.notes.is_empty() {
        b.push_str("<ul>\n");
        for n in &meta.notes {
            let _ = writeln!(b, "<li>{}</li>", escape(n));
        }
        b.push_str("</ul>\n");
    }
    for a in analyses {
        let _ = writeln!(b, "<h2>{}</h2>", escape(&a.name));
        let _ = writeln!(b, "<p>{}</p>", escape(&counts_sentence(a)));
        if a.unmentioned > 0 {
            let _ = writeln!(b, "<p>{}</p>", escape(&left_out(a.unmentioned)));
        }
        b.push_str("<h3>Per period</h3>\n");
        html_table(
            &mut b,
            &PERIOD_COLUMNS,
            period_rows(a)
                .into_iter()
                .map(|r| r.iter().map(|c| escape(c)).collect()),
        );
        b.push_str("<h3>Shifts: what moved the line</h3>\n");
        if a.movers.is_empty() {
            let _ = writeln!(b, "<p>{}</p>", escape(NO_SHIFT));
        }
        for m in &a.movers {
            let _ = writeln!(b, "<h4>{}</h4>", escape(&shift_heading(a, m)));
            if a.from_aggregates {
                let _ = writeln!(b, "<p>{}</p>", escape(AGGREGATE_STORIES));
                continue;
            }
            b.push_str("<ul>\n");
            for st in &m.stories {
                let art = &st.article;
                let link = match art.url.as_deref() {
                    Some(u) if is_safe_url(u) => html_link(&art.id, u),
                    Some(u) => format!("<code>{}</code> ({})", escape(&art.id), escape(u)),
                    None => format!("<code>{}</code>", escape(&art.id)),
                };
                let _ = write!(
                    b,
                    "<li><strong>{}</strong> — {}{} · {} · story score {:+.2}{}",
                    escape(art.title.as_deref().unwrap_or(&art.id)),
                    art.outlet
                        .as_deref()
                        .map(|o| format!("{}, ", escape(o)))
                        .unwrap_or_default(),
                    art.date,
                    link,
                    st.score,
                    escape(&copies_note(st.copies))
                );
                for e in &st.evidence {
                    let _ = write!(
                        b,
                        "\n<blockquote>{} <em>({:+.2})</em></blockquote>",
                        escape(e.sentence.trim()),
                        e.contribution
                    );
                }
                b.push_str("</li>\n");
            }
            b.push_str("</ul>\n");
        }
        b.push_str("<h3>Near-duplicate clusters</h3>\n");
        if a.from_aggregates {
            let _ = writeln!(b, "<p>{}</p>", escape(AGGREGATE_CLUSTERS));
        } else if a.clusters.is_empty() {
            let _ = writeln!(b, "<p>{}</p>", escape(NO_CLUSTER));
        } else {
            let _ = writeln!(b, "<p>{}</p>", escape(CLUSTER_NOTE));
            html_table(
                &mut b,
                &CLUSTER_COLUMNS,
                a.clusters.iter().map(|c| {
                    vec![
                        c.date.to_string(),
                        escape(&c.title),
                        c.copies.to_string(),
                        escape(&c.outlets.join(", ")),
                        format!("{:+.2}", c.score),
                    ]
                }),
            );
        }
    }
    b.push_str("<h2>Model</h2>\n");
    if meta.model_card.trim().is_empty() {
        let _ = writeln!(
            b,
            "<p>Model <code>{}</code> (no card stored).</p>",
            escape(&meta.model_id)
        );
    } else {
        b.push_str(&card_html(meta.model_card.trim(), 2));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n\
body {{ font-family: DejaVu Sans, Helvetica, Arial, sans-serif; max-width: 1320px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }}\n\
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }}\n\
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}\n\
th {{ background: #f2f2f2; }}\n\
blockquote {{ margin: 0.2em 0 0.4em 2em; color: #444; border-left: 3px solid #ccc; padding-left: 0.8em; }}\n\
figure {{ margin: 1em 0; }} figure svg {{ max-width: 100%; height: auto; }}\n\
code {{ background: #f4f4f4; padding: 0 0.2em; }}\n\
</style>\n</head>\n<body>\n{}</body>\n</html>\n",
        escape(&meta.title),
        b
    )
}

/// The periods of every analysis as CSV, with the method notes as leading `#` lines.
pub fn csv(notes: &[String], analyses: &[SeriesAnalysis]) -> String {
    let mut s = String::new();
    for n in notes {
        let _ = writeln!(s, "# {n}");
    }
    s.push_str(
        "series,period,start,articles,stories,mean,ci_low,ci_high,thin,rolling_mean,change_point\n",
    );
    let q = |t: &str| {
        if t.contains([',', '"', '\n']) {
            format!("\"{}\"", t.replace('"', "\"\""))
        } else {
            t.to_string()
        }
    };
    let num = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.4}"));
    for a in analyses {
        for (i, p) in a.trend.periods.iter().enumerate() {
            let shift = a.trend.shifts.iter().find(|sh| sh.period == i);
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{}",
                q(&a.name),
                p.label,
                p.start,
                p.articles,
                p.stories,
                num(p.mean),
                num(p.interval.map(|iv| iv.0)),
                num(p.interval.map(|iv| iv.1)),
                p.thin,
                num(p.rolling),
                shift.map_or_else(String::new, |sh| format!("{:+.4}", sh.delta()))
            );
        }
    }
    s
}

/// The sentence that says how many articles a series left out as unmentioned.
fn left_out(n: usize) -> String {
    format!(
        "Left out: {n} article{} that never name{} the counterpart (no stance toward it; in no mean, interval or change point).",
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" }
    )
}

/// The plain-text summary `stance trend` prints: per series, the shifts and what moved them.
pub fn text_summary(analyses: &[SeriesAnalysis]) -> String {
    let mut s = String::new();
    for a in analyses {
        let (articles, stories) = totals(a);
        let _ = writeln!(
            s,
            "{}: {} articles, {} distinct stories, {} periods, {} change point(s){}",
            a.name,
            articles,
            stories,
            a.trend.periods.len(),
            a.trend.shifts.len(),
            if a.from_aggregates {
                " (from period aggregates)"
            } else {
                ""
            }
        );
        if a.unmentioned > 0 {
            let _ = writeln!(s, "  {}", left_out(a.unmentioned));
        }
        for c in &a.clusters {
            let _ = writeln!(
                s,
                "  near-duplicates: \"{}\" ({}) counted once, {} copies",
                c.title, c.date, c.copies
            );
        }
        for m in &a.movers {
            let _ = writeln!(s, "  shift at {}", shift_heading(a, m));
            for st in &m.stories {
                let art = &st.article;
                let _ = writeln!(
                    s,
                    "    {:+.2}  {}  {}{}{}",
                    st.score,
                    art.date,
                    art.title.as_deref().unwrap_or(&art.id),
                    art.outlet
                        .as_deref()
                        .map(|o| format!(" ({o})"))
                        .unwrap_or_default(),
                    if st.copies > 1 {
                        format!(" [{} copies]", st.copies)
                    } else {
                        String::new()
                    }
                );
                for e in &st.evidence {
                    let _ = writeln!(
                        s,
                        "           {:+.2}  \"{}\"",
                        e.contribution,
                        e.sentence.trim()
                    );
                }
            }
        }
    }
    s
}
