//! What a feed can send, through the built binary: empty names, dates far outside any
//! archive, and the like. Each is a clear error (exit 2, file and line where there is one),
//! never a panic, and leaves the store as it was.

use std::path::Path;
use std::process::{Command, Output};

fn stance(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stance"))
        .args(args)
        .current_dir(dir)
        .env_remove("STANCE_DB")
        .output()
        .expect("stance runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const ARTICLE: &str =
    r#"{"id":"a","date":"2025-01-02","text":"Cuba welcomed talks with the United States."}"#;

/// Regression: `--counterpart ""` was accepted and scored every article toward nothing.
#[test]
fn empty_or_blank_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.jsonl"), format!("{ARTICLE}\n")).unwrap();
    for name in ["", "   ", "\t"] {
        for args in [
            vec!["score", "a.jsonl", "--counterpart", name],
            vec!["score", "a.jsonl", "--counterpart", "Cuba", "--actor", name],
            vec!["ingest", "a.jsonl", "--db", "s.db", "--counterpart", name],
            vec![
                "ingest",
                "a.jsonl",
                "--db",
                "s.db",
                "--counterpart",
                "Cuba",
                "--actor",
                name,
            ],
            vec![
                "trend",
                "--db",
                "s.db",
                "--counterpart",
                name,
                "--out",
                "t.svg",
            ],
            vec![
                "report",
                "--db",
                "s.db",
                "--counterpart",
                name,
                "--out",
                "rep",
            ],
        ] {
            let o = stance(&args, dir.path());
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert!(
                stderr(&o).contains("must not be empty or only whitespace"),
                "{args:?}: {}",
                stderr(&o)
            );
            assert!(!stderr(&o).contains("panicked"));
        }
    }
    assert!(!dir.path().join("s.db").exists());
}

/// Regression: an article dated `+262142-12-05` was ingested and `trend` then panicked. It is
/// now an error naming the file and line, and the file's articles are not stored.
#[test]
fn a_date_outside_the_years_stops_ingest_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = format!("{ARTICLE}\n");
    std::fs::write(dir.path().join("good.jsonl"), &good).unwrap();
    let o = stance(
        &[
            "ingest",
            "good.jsonl",
            "--db",
            "s.db",
            "--counterpart",
            "United States",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for date in ["+262142-12-05", "0001-01-01", "-0044-03-15", "00000101"] {
        let date = if date.starts_with('"') {
            date.to_string()
        } else {
            format!("\"{date}\"")
        };
        let bad = format!(
            "{{\"id\":\"b\",\"date\":\"2025-02-03\",\"text\":\"Cuba and the United States.\"}}\n{{\"id\":\"c\",\"date\":{date},\"text\":\"Cuba.\"}}\n"
        );
        std::fs::write(dir.path().join("bad.jsonl"), bad).unwrap();
        let o = stance(
            &[
                "ingest",
                "bad.jsonl",
                "--db",
                "s.db",
                "--counterpart",
                "United States",
            ],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(2), "{date}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("bad.jsonl:2:"),
            "{date}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("year outside 1000-9999"),
            "{date}: {}",
            stderr(&o)
        );
        let o = stance(
            &[
                "trend",
                "--db",
                "s.db",
                "--counterpart",
                "United States",
                "--out",
                "t.svg",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains(": 1 articles"),
            "the rolled-back file left rows: {out}"
        );
    }
    // Dates past either end of the years are refused as --from/--to too.
    let o = stance(
        &[
            "trend",
            "--db",
            "s.db",
            "--counterpart",
            "United States",
            "--out",
            "t.svg",
            "--from",
            "+262142-12-05",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    let o = stance(
        &[
            "trend",
            "--db",
            "s.db",
            "--counterpart",
            "United States",
            "--out",
            "t.svg",
            "--by",
            "day",
            "--from",
            "1000-01-01",
            "--to",
            "9999-12-31",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("more than 100000 periods"),
        "{}",
        stderr(&o)
    );
    // A store written before dates were checked may hold one: `trend` says so, no panic.
    let conn = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
    conn.execute("UPDATE articles SET date = '+262142-12-05'", [])
        .unwrap();
    drop(conn);
    let o = stance(
        &[
            "trend",
            "--db",
            "s.db",
            "--counterpart",
            "United States",
            "--out",
            "t.svg",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("outside the years"), "{}", stderr(&o));
}
