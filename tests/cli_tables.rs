//! End-to-end tests of CSV and Parquet through the built binary: articles read from tables score
//! as the same articles in JSONL; `score --format csv|parquet` writes the JSONL's fields;
//! `ingest` takes tables with renamed columns and `export` writes the store back out; bad rows
//! name their file and row. Every test works in its own temporary directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use stance::article::{Cell, ColumnType, TableFormat, TableWriter};

fn stance(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stance"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("stance runs")
}

fn ok(out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "stance failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn fails(out: Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// The repository's dated sample articles, each as (id, date, title, text).
fn samples() -> Vec<[String; 4]> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples");
    let mut out = Vec::new();
    for name in ["cuba_us.jsonl", "us_cuba.jsonl"] {
        for line in std::fs::read_to_string(root.join(name)).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            out.push([field("id"), field("date"), field("title"), field("text")]);
        }
    }
    out
}

/// Writes the samples as JSONL, CSV and Parquet (the last two with `body` and `published` for
/// the text and the date).
fn sample_files(dir: &Path) -> [PathBuf; 3] {
    let rows = samples();
    let jsonl = dir.join("in.jsonl");
    let mut s = String::new();
    for [id, date, title, text] in &rows {
        s.push_str(
            &serde_json::json!({"id": id, "date": date, "title": title, "text": text}).to_string(),
        );
        s.push('\n');
    }
    std::fs::write(&jsonl, s).unwrap();
    let columns = [
        ("id", ColumnType::Text),
        ("published", ColumnType::Text),
        ("title", ColumnType::Text),
        ("body", ColumnType::Text),
    ];
    let mut paths = vec![jsonl];
    for (format, name) in [
        (TableFormat::Csv, "in.csv"),
        (TableFormat::Parquet, "in.parquet"),
    ] {
        let path = dir.join(name);
        let mut w =
            TableWriter::new(format, &columns, File::create(&path).unwrap(), &path).unwrap();
        for r in &rows {
            w.push(&r.each_ref().map(|c| Cell::Text(c))).unwrap();
        }
        w.finish().unwrap();
        paths.push(path);
    }
    paths.try_into().unwrap()
}

const RENAMED: [&str; 4] = ["--text-col", "body", "--date-col", "published"];

#[test]
fn tables_score_as_the_same_articles_in_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let [jsonl, csv, parquet] = sample_files(dir.path());
    let score = |path: &Path, extra: &[&str]| {
        let mut args = vec!["score", "--counterpart", "United States"];
        args.extend_from_slice(extra);
        args.push(path.to_str().unwrap());
        ok(stance(&args, dir.path()))
    };
    let want = score(&jsonl, &[]);
    assert!(want.len() > 10_000);
    assert_eq!(score(&csv, &RENAMED), want);
    assert_eq!(score(&parquet, &RENAMED), want);
    // Without the flags, the text column is not found.
    let err = fails(stance(&["score", csv.to_str().unwrap()], dir.path()));
    assert!(
        err.contains("in.csv: column `text`: no such column (the file has: id, published, title, body); name the column to read with --text-col"),
        "{err}"
    );
}

#[test]
fn score_writes_csv_and_parquet_with_the_jsonl_fields() {
    let dir = tempfile::tempdir().unwrap();
    let [jsonl, ..] = sample_files(dir.path());
    let run = |format: &str| {
        ok(stance(
            &[
                "score",
                "--counterpart",
                "US",
                "--actor",
                "Cuba",
                "--format",
                format,
                jsonl.to_str().unwrap(),
            ],
            dir.path(),
        ))
    };
    let text = String::from_utf8(run("jsonl")).unwrap();
    let lines: Vec<(&str, serde_json::Value)> = text
        .lines()
        .map(|l| (l, serde_json::from_str(l).unwrap()))
        .collect();
    let csv = run("csv");
    let mut reader = csv::Reader::from_reader(&csv[..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "counterpart",
            "actor",
            "score",
            "p_conciliatory",
            "p_stance",
            "label",
            "mentions",
            "intercept",
            "evidence"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), lines.len());
    for (row, (raw, line)) in rows.iter().zip(&lines) {
        assert_eq!(&row[0], line["id"].as_str().unwrap());
        assert_eq!(row[2], *"Cuba");
        // The same digits as the JSON's.
        assert!(raw.contains(&format!(",\"score\":{},", &row[3])), "{raw}");
        let evidence: serde_json::Value = serde_json::from_str(&row[9]).unwrap();
        assert_eq!(evidence, line["evidence"]);
    }
    let path = dir.path().join("out.parquet");
    std::fs::write(&path, run("parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let n: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(n, lines.len());
}

#[test]
fn ingest_reads_tables_and_export_writes_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let [jsonl, csv, parquet] = sample_files(dir.path());
    let mut args = vec![
        "ingest",
        "--db",
        "s.db",
        "--counterpart",
        "United States",
        "--actor",
        "Cuba",
    ];
    args.extend_from_slice(&RENAMED);
    args.push(csv.to_str().unwrap());
    let out = String::from_utf8(ok(stance(&args, dir.path()))).unwrap();
    assert!(out.contains(" new, 0 already present"), "{out}");
    *args.last_mut().unwrap() = parquet.to_str().unwrap();
    let out = String::from_utf8(ok(stance(&args, dir.path()))).unwrap();
    assert!(out.contains(": 0 new, "), "{out}");
    for format in ["csv", "parquet"] {
        let out = String::from_utf8(ok(stance(
            &[
                "export", "--db", "s.db", "--format", format, "--out", format,
            ],
            dir.path(),
        )))
        .unwrap();
        assert!(
            out.contains(&format!("articles.{format}: {} rows", samples().len())),
            "{out}"
        );
    }
    // The exported articles read back as articles, and score as the originals.
    let score = |path: &str| {
        ok(stance(
            &[
                "score",
                "--counterpart",
                "United States",
                "--actor",
                "Cuba",
                path,
            ],
            dir.path(),
        ))
    };
    let mut a = String::from_utf8(score("csv/articles.csv"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect::<Vec<_>>();
    let b = String::from_utf8(score(jsonl.to_str().unwrap())).unwrap();
    let mut b: Vec<String> = b.lines().map(String::from).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(score("parquet/articles.parquet"), score("csv/articles.csv"));
}

#[test]
fn bad_rows_name_their_file_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "ragged.csv",
            b"id,text\na,\"one\r\ntwo\"\r\nb,x,y\r\n",
            "ragged.csv:4: the record has 3 fields; the header has 2",
        ),
        (
            "bytes.csv",
            b"id,text\na,caf\xe9\n",
            "bytes.csv:2: column `text`: not valid UTF-8 (byte 4 of the field)",
        ),
        ("noid.csv", b"id,text\n,x\n", "noid.csv:2: missing `id`"),
        ("junk.parquet", b"id,text\na,x\n", "junk.parquet: Parquet"),
    ];
    for (name, content, want) in cases {
        std::fs::write(dir.path().join(name), content).unwrap();
        let err = fails(stance(&["score", "--counterpart", "US", name], dir.path()));
        assert!(err.contains(want), "{name}: {err}");
    }
    // An empty CSV has no articles.
    std::fs::write(dir.path().join("empty.csv"), b"").unwrap();
    assert!(ok(stance(
        &["score", "--counterpart", "US", "empty.csv"],
        dir.path()
    ))
    .is_empty());
}
