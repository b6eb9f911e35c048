//! Writing analyses out as text: the Markdown report, the self-contained HTML page, the CSV
//! of periods and the plain-text summary `stance trend` prints. Pure string building.

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

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown report.
pub fn markdown(meta: &ReportMeta, analyses: &[SeriesAnalysis]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", meta.title);
    let _ = writeln!(s, "![Stance trend]({})\n", meta.chart_png);
    let _ = writeln!(
        s,
        "Vector version: [{}]({}). Model: `{}`.\n",
        meta.chart_svg, meta.chart_svg, meta.model_id
    );
    for n in &meta.notes {
        let _ = writeln!(s, "- {n}");
    }
    s.push('\n');
    for a in analyses {
        let total_articles: usize = a.trend.periods.iter().map(|p| p.articles).sum();
        let _ = writeln!(s, "## {}\n", a.name);
        let _ = writeln!(
            s,
            "{} articles, {} distinct stories, {} near-duplicate cluster{} with copies, {} change point{}.\n",
            total_articles,
            a.trend.stories.len(),
            a.clusters.len(),
            if a.clusters.len() == 1 { "" } else { "s" },
            a.trend.shifts.len(),
            if a.trend.shifts.len() == 1 { "" } else { "s" }
        );
        if a.unmentioned > 0 {
            let _ = writeln!(s, "{}\n", left_out(a.unmentioned));
        }
        let _ = writeln!(s, "### Per period\n");
        let _ = writeln!(
            s,
            "| Period | Articles | Distinct stories | Mean score | 95% interval | Rolling mean |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---|---:|");
        for p in &a.trend.periods {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                p.label,
                p.articles,
                p.stories,
                fmt_mean(p.mean),
                fmt_interval(p),
                fmt_mean(p.rolling)
            );
        }
        s.push('\n');
        let _ = writeln!(s, "### Shifts: what moved the line\n");
        if a.movers.is_empty() {
            let _ = writeln!(
                s,
                "No change point passed the penalty: the level is steady within the noise.\n"
            );
        }
        for m in &a.movers {
            let _ = writeln!(s, "#### {}\n", shift_heading(a, m));
            for st in &m.stories {
                let art = &st.article;
                let _ = writeln!(
                    s,
                    "- **{}** — {}{} · {} · story score {:+.2}{}",
                    md_cell(art.title.as_deref().unwrap_or(&art.id)),
                    art.outlet
                        .as_deref()
                        .map(|o| format!("{o}, "))
                        .unwrap_or_default(),
                    art.date,
                    art.url
                        .as_deref()
                        .map_or_else(|| format!("`{}`", art.id), |u| format!("[{}]({u})", art.id)),
                    st.score,
                    if st.copies > 1 {
                        format!(" · {} copies", st.copies)
                    } else {
                        String::new()
                    }
                );
                for e in &st.evidence {
                    let _ = writeln!(
                        s,
                        "  > {} *({:+.2})*",
                        md_cell(e.sentence.trim()),
                        e.contribution
                    );
                }
            }
            s.push('\n');
        }
        let _ = writeln!(s, "### Near-duplicate clusters\n");
        if a.clusters.is_empty() {
            let _ = writeln!(s, "None: every article is a distinct story.\n");
        } else {
            let _ = writeln!(s, "Each cluster counts as one story (the mean of its copies) in every figure above.\n");
            let _ = writeln!(s, "| First seen | Story | Copies | Outlets | Story score |");
            let _ = writeln!(s, "|---|---|---:|---|---:|");
            for c in &a.clusters {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {:+.2} |",
                    c.date,
                    md_cell(&c.title),
                    c.copies,
                    md_cell(&c.outlets.join(", ")),
                    c.score
                );
            }
            s.push('\n');
        }
    }
    let _ = writeln!(s, "## Model\n");
    if meta.model_card.trim().is_empty() {
        let _ = writeln!(s, "Model `{}` (no card stored).", meta.model_id);
    } else {
        let _ = writeln!(s, "{}", demote(meta.model_card.trim(), 2));
    }
    s
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
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

/// A small Markdown-to-HTML rendering, enough for a report: headings, paragraphs, lists,
/// block quotes, tables, images, links, bold, italics and code spans.
pub fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    let mut in_list = false;
    let mut in_table = false;
    let mut para: Vec<String> = Vec::new();
    let flush = |out: &mut String, para: &mut Vec<String>| {
        if !para.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", para.join(" "));
            para.clear();
        }
    };
    for line in md.lines() {
        let t = line.trim_end();
        let is_item = t.starts_with("- ") || t.starts_with("* ");
        let is_quote = t.trim_start().starts_with("> ");
        if in_list && !is_item && !is_quote {
            out.push_str("</ul>\n");
            in_list = false;
        }
        if in_table && !t.starts_with('|') {
            out.push_str("</table>\n");
            in_table = false;
        }
        if t.is_empty() {
            flush(&mut out, &mut para);
        } else if let Some(h) = heading(t) {
            flush(&mut out, &mut para);
            let _ = writeln!(out, "<h{0}>{1}</h{0}>", h.0, inline(h.1));
        } else if is_item {
            flush(&mut out, &mut para);
            if !in_list {
                out.push_str("<ul>\n");
                in_list = true;
            }
            let _ = writeln!(out, "<li>{}</li>", inline(&t[2..]));
        } else if is_quote {
            let _ = writeln!(
                out,
                "<blockquote>{}</blockquote>",
                inline(&t.trim_start()[2..])
            );
        } else if t.starts_with('|') {
            flush(&mut out, &mut para);
            let cells: Vec<&str> = t.trim_matches('|').split(" | ").map(str::trim).collect();
            if cells
                .iter()
                .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | '|' | ' ')))
            {
                continue;
            }
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                out.push_str("<table>\n");
                in_table = true;
            }
            out.push_str("<tr>");
            for c in cells {
                let _ = write!(out, "<{tag}>{}</{tag}>", inline(&c.replace("\\|", "|")));
            }
            out.push_str("</tr>\n");
        } else {
            para.push(inline(t));
        }
    }
    flush(&mut out, &mut para);
    if in_list {
        out.push_str("</ul>\n");
    }
    if in_table {
        out.push_str("</table>\n");
    }
    out
}

fn heading(t: &str) -> Option<(usize, &str)> {
    let n = t.chars().take_while(|&c| c == '#').count();
    (1..=6)
        .contains(&n)
        .then(|| t[n..].strip_prefix(' '))
        .flatten()
        .map(|rest| (n, rest))
}

/// Inline Markdown: images, links, `code`, **bold**, *italic*; everything else escaped.
fn inline(t: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    'outer: while i < t.len() {
        let r = &t[i..];
        if r.starts_with("![") || r.starts_with('[') {
            let start = if r.starts_with('!') { 2 } else { 1 };
            if let Some(close) = r.find("](") {
                if let Some(end) = r[close + 2..].find(')') {
                    let text = &r[start..close];
                    let url = &r[close + 2..close + 2 + end];
                    if start == 2 {
                        let _ = write!(
                            out,
                            "<img alt=\"{}\" src=\"{}\">",
                            escape(text),
                            escape(url)
                        );
                    } else {
                        let _ = write!(out, "<a href=\"{}\">{}</a>", escape(url), inline(text));
                    }
                    i += close + 2 + end + 1;
                    continue;
                }
            }
        }
        for (mark, open, close) in [
            ("**", "<strong>", "</strong>"),
            ("`", "<code>", "</code>"),
            ("*", "<em>", "</em>"),
        ] {
            if let Some(body) = r.strip_prefix(mark) {
                if let Some(end) = body.find(mark).filter(|&e| e > 0) {
                    let body = &body[..end];
                    let inner = if mark == "`" {
                        escape(body)
                    } else {
                        inline(body)
                    };
                    let _ = write!(out, "{open}{inner}{close}");
                    i += 2 * mark.len() + end;
                    continue 'outer;
                }
            }
        }
        let c = r.chars().next().expect("non-empty");
        out.push_str(&escape(c.encode_utf8(&mut [0; 4])));
        i += c.len_utf8();
    }
    out
}

/// The self-contained HTML page: the report with the SVG chart inline.
pub fn html(meta: &ReportMeta, analyses: &[SeriesAnalysis], svg: &str) -> String {
    let md = markdown(meta, analyses);
    let body = markdown_to_html(&md);
    // Replace the PNG reference with the inline SVG so the page needs no other file.
    let img = format!(
        "<p><img alt=\"Stance trend\" src=\"{}\"></p>",
        escape(&meta.chart_png)
    );
    let svg = svg.trim_start_matches(|c| c != '<');
    let svg = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    };
    let body = body.replacen(&img, &format!("<figure>{svg}</figure>"), 1);
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
        body
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
        let articles: usize = a.trend.periods.iter().map(|p| p.articles).sum();
        let _ = writeln!(
            s,
            "{}: {} articles, {} distinct stories, {} periods, {} change point(s)",
            a.name,
            articles,
            a.trend.stories.len(),
            a.trend.periods.len(),
            a.trend.shifts.len()
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
