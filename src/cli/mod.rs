//! Command-line front end: one file per subcommand. Each turns arguments into a checked
//! configuration, calls the library and prints; errors are reported once, here.

mod actors;
mod aggregates;
mod common;
mod eval;
mod export;
mod ingest;
mod report;
mod score;
mod train;
mod trend;

use clap::{Parser, Subcommand};

/// Scores how conciliatory or confrontational news articles are toward a named counterpart.
#[derive(Parser)]
#[command(name = "stance", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score articles toward a counterpart and print one result per article, in input order.
    Score(score::ScoreArgs),
    /// Train a model on labelled JSONL, print cross-validated metrics, write the model.
    Train(train::TrainArgs),
    /// Evaluate a model on labelled JSONL files.
    Eval(eval::EvalArgs),
    /// Show what actor names resolve to in the gazetteer.
    Actors(actors::ActorsArgs),
    /// Score articles and keep them in the store.
    Ingest(ingest::IngestArgs),
    /// Draw the stance trend toward a counterpart from the store.
    Trend(trend::TrendArgs),
    /// Write a Markdown and HTML report (ingesting any files given first).
    Report(report::ReportArgs),
    /// Write the store's articles, scores and clusters as CSV or Parquet tables.
    Export(export::ExportArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Score(a) => score::run(a),
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Actors(a) => actors::run(a),
        Command::Ingest(a) => ingest::run(a),
        Command::Trend(a) => trend::run(a),
        Command::Report(a) => report::run(a),
        Command::Export(a) => export::run(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) if common::is_broken_pipe(&e) => 0,
        Err(e) => {
            let mut msg = format!("stance: {e}");
            for cause in e.chain().skip(1) {
                let c = cause.to_string();
                if !msg.contains(&c) {
                    msg.push_str(": ");
                    msg.push_str(&c);
                }
            }
            eprintln!("{msg}");
            2
        }
    }
}
