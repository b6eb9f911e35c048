//! `stance score`: score articles toward a counterpart, one result per article, in input order.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use stance::article::{
    evidence_json, read_path_with, write_json_line, Part, ScoreRow, TableFormat, TableWriter,
    SCORE_COLUMNS,
};
use stance::classifier::score_map_in_order;
use stance::{Article, Label, Score};

use super::common::{load_model, ColumnArgs};

/// Output formats of `stance score`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// One JSON object a line (the contract other tools read).
    Jsonl,
    /// Tab-separated: id, counterpart, score, p_conciliatory, p_stance, label, mentions, top
    /// sentence.
    Tsv,
    /// Readable summary with the evidence sentences and terms.
    Text,
    /// CSV with a header: the JSONL's fields as columns, the evidence as its JSON array.
    Csv,
    /// Parquet with the CSV's columns (binary: redirect it to a file).
    Parquet,
}

/// Arguments of `stance score`.
#[derive(clap::Args)]
pub struct ScoreArgs {
    /// Model file (default: the model built into stance).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Counterpart to score toward (per-record "counterpart" fields override it).
    #[arg(long, value_parser = super::common::name_arg)]
    counterpart: Option<String>,
    /// Actor whose stance it is (per-record "actor" fields override it).
    #[arg(long, value_parser = super::common::name_arg)]
    actor: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    #[command(flatten)]
    columns: ColumnArgs,
    /// Articles: .jsonl (one object a line), .csv or .parquet (one article a row) or .txt (one
    /// article); `-` or none reads JSONL from stdin.
    files: Vec<PathBuf>,
}

/// Runs `stance score`.
pub fn run(args: ScoreArgs) -> Result<()> {
    let classifier = load_model(args.model.as_deref())?;
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files
    };
    let columns = args.columns.columns();
    let table = match args.format {
        Format::Csv => Some(TableFormat::Csv),
        Format::Parquet => Some(TableFormat::Parquet),
        _ => None,
    };
    if let Some(format) = table {
        let (counterpart, actor) = (args.counterpart.as_deref(), args.actor.as_deref());
        return score_table(&classifier, &files, &columns, counterpart, actor, format);
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 20, stdout.lock());
    if matches!(args.format, Format::Tsv) {
        writeln!(
            out,
            "id\tcounterpart\tscore\tp_conciliatory\tp_stance\tlabel\tmentions\ttop_evidence"
        )?;
    }
    for path in &files {
        let reader = read_path_with(path, &columns)
            .with_context(|| format!("reading {}", path.display()))?
            .ignoring_labels();
        let format = args.format;
        score_map_in_order(
            &classifier,
            reader,
            args.counterpart.as_deref(),
            args.actor.as_deref(),
            |a, s| {
                let line = render(format, a, s);
                // Rendered: its thirty-odd blocks are freed here, on the scoring thread.
                s.evidence = Vec::new();
                line
            },
            |_, _, _, line| {
                out.write_all(line.as_bytes())
                    .map_err(|e| stance::Error::io("<stdout>", e))
            },
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Scores the files into one CSV or Parquet table on standard output.
fn score_table(
    classifier: &stance::Classifier,
    files: &[PathBuf],
    columns: &stance::article::Columns,
    counterpart: Option<&str>,
    actor: Option<&str>,
    format: TableFormat,
) -> Result<()> {
    if format == TableFormat::Parquet && io::stdout().is_terminal() {
        bail!("--format parquet writes binary data: redirect standard output to a file");
    }
    let stdout = Path::new("<stdout>");
    let out = io::BufWriter::with_capacity(1 << 20, io::stdout());
    let mut table = TableWriter::new(format, &SCORE_COLUMNS, out, stdout)?;
    for path in files {
        let reader = read_path_with(path, columns)
            .with_context(|| format!("reading {}", path.display()))?
            .ignoring_labels();
        score_map_in_order(
            classifier,
            reader,
            counterpart,
            actor,
            // The evidence is written as JSON on the scoring threads.
            |_, s| evidence_json(&std::mem::take(&mut s.evidence)),
            |_, _, score, evidence| table.push(&ScoreRow { score, evidence }.cells()),
        )?;
    }
    let mut out = table.finish()?;
    out.flush()?;
    Ok(())
}

fn render(format: Format, article: &Article, s: &Score) -> String {
    match format {
        Format::Jsonl => {
            let mut line = Vec::with_capacity(4096);
            write_json_line(&mut line, s).expect("scores serialise");
            String::from_utf8(line).expect("JSON is UTF-8")
        }
        Format::Tsv => {
            let top = s
                .evidence
                .first()
                .map_or(String::new(), |e| one_line(&e.sentence));
            format!(
                "{}\t{}\t{:.4}\t{:.4}\t{:.4}\t{}\t{}\t{}\n",
                one_line(&s.id),
                one_line(s.counterpart.as_deref().unwrap_or("")),
                s.score,
                s.p_conciliatory,
                s.p_stance,
                s.label,
                s.mentions,
                top
            )
        }
        Format::Csv | Format::Parquet => unreachable!("tables are written by score_table"),
        Format::Text => {
            let mut t = format!(
                "{}{} → {}: {} (score {:+.2}, p_conciliatory {:.2}, p_stance {:.2}, {} mention{})\n",
                article.id,
                s.actor
                    .as_ref()
                    .map_or(String::new(), |a| format!(" ({a})")),
                s.counterpart.as_deref().unwrap_or("(no counterpart)"),
                s.label,
                s.score,
                s.p_conciliatory,
                s.p_stance,
                s.mentions,
                if s.mentions == 1 { "" } else { "s" }
            );
            if s.label == Label::Unmentioned {
                t.push_str("  (the text never names the counterpart: no stance toward it; the evidence below is the polarity of the text as a whole)\n");
            }
            for e in &s.evidence {
                let title = if e.part == Part::Title {
                    "[title] "
                } else {
                    ""
                };
                t.push_str(&format!(
                    "  {:+.2}  {title}{}\n",
                    e.contribution,
                    one_line(&e.sentence)
                ));
                let terms: Vec<String> = e
                    .terms
                    .iter()
                    .map(|c| format!("{} {:+.2}", c.term, c.contribution))
                    .collect();
                t.push_str(&format!("         terms: {}\n", terms.join(", ")));
            }
            t.push('\n');
            t
        }
    }
}

/// `s` with every run of white space or control characters made one space: a TSV field holds no
/// tab, and no line break by any splitter's count (control characters include U+001C–U+001E and
/// U+0085, which Python's `str.splitlines()` breaks at and Unicode does not call white space).
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
