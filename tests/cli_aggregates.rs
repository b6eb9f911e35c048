//! `stance trend --aggregates` and `stance report --aggregates`: series drawn from period
//! aggregates computed elsewhere (as the Dask recipe writes them), in a temp dir. The figures
//! are checked against values worked out by hand from the table.

use std::path::Path;
use std::process::{Command, Output};

use stance::article::{Cell, ColumnType, TableFormat, TableWriter};

const BIN: &str = env!("CARGO_BIN_EXE_stance");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("STANCE_DB")
        .output()
        .expect("the stance binary runs")
}

const HEADER: &str =
    "counterpart,actor,model_id,period,articles,stories,mean_score,sd_score,unmentioned";

/// Cuba → United States: three warm months (five stories each, mean +0.5, sd 0.1), three cold
/// ones (mean −0.5), then a thin month of one story; and rows of another series that must be
/// left out.
fn table(model: &str) -> String {
    let mut s = format!("{HEADER}\n");
    for (m, mean) in [
        (1, 0.5),
        (2, 0.5),
        (3, 0.5),
        (4, -0.5),
        (5, -0.5),
        (6, -0.5),
    ] {
        s.push_str(&format!(
            "United States,Cuba,{model},2025-{m:02},6,5,{mean},0.1,1\n"
        ));
    }
    s.push_str(&format!("United States,Cuba,{model},2025-07,1,1,0.2,,0\n"));
    s.push_str(&format!(
        "Cuba,United States,{model},2025-01,4,4,-0.9,0.05,0\n"
    ));
    s
}

/// The data rows of a `--csv` file: `series,period,start,articles,stories,mean,ci_low,ci_high,
/// thin,rolling_mean,change_point`.
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("series,"))
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn trend_from_aggregates_gives_the_hand_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("agg.csv"), table("m1")).unwrap();
    let o = run(
        d,
        &[
            "trend",
            "--aggregates",
            "agg.csv",
            "--counterpart",
            "united states",
            "--actor",
            "cuba",
            "--out",
            "t.svg",
            "--csv",
            "t.csv",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("Cuba → United States: 37 articles, 31 distinct stories, 7 periods, 1 change point(s) (from period aggregates)"),
        "{out}"
    );
    assert!(out.contains("Left out: 6 articles"), "{out}");
    // After the shift: (15 · −0.5 + 0.2) / 16 = −0.45625; before: +0.5.
    assert!(
        out.contains("shift at 2025-04: more confrontational, -0.96 (level +0.50 → -0.46)"),
        "{out}"
    );
    let csv = std::fs::read_to_string(d.join("t.csv")).unwrap();
    assert!(
        csv.contains("normal interval") && csv.contains("Model: m1."),
        "{csv}"
    );
    let r = rows(&csv);
    assert_eq!(r.len(), 7);
    // Interval: 0.5 ± 1.959964 · sqrt(0.1² · 4/5) / sqrt(5) = 0.5 ± 0.078399.
    assert_eq!(
        r[0][1..].join(","),
        "2025-01,2025-01-01,6,5,0.5000,0.4216,0.5784,false,0.5000,"
    );
    assert_eq!(r[3][5..8].join(","), "-0.5000,-0.5784,-0.4216");
    assert!(r[3][10].starts_with("-0.956"), "{:?}", r[3]);
    // Rolling mean over three periods at April: (5·0.5 + 5·0.5 − 5·0.5) / 15.
    assert_eq!(r[3][9], "0.1667");
    // The thin month: its mean, no interval.
    assert_eq!(r[6][3..9].join(","), "1,1,0.2000,,,true");
    let svg = std::fs::read_to_string(d.join("t.svg")).unwrap();
    assert!(
        svg.contains("normal interval"),
        "the chart's notes say how the band was made"
    );

    // The same table as Parquet draws the same periods.
    let cols = [
        ("counterpart", ColumnType::Text),
        ("actor", ColumnType::Text),
        ("model_id", ColumnType::Text),
        ("period", ColumnType::Text),
        ("articles", ColumnType::Integer),
        ("stories", ColumnType::Integer),
        ("mean_score", ColumnType::Float),
        ("sd_score", ColumnType::Float),
        ("unmentioned", ColumnType::Integer),
    ];
    let path = d.join("agg.parquet");
    let file = std::fs::File::create(&path).unwrap();
    let mut w = TableWriter::new(TableFormat::Parquet, &cols, file, &path).unwrap();
    for line in table("m1").lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let int = |s: &str| Cell::Integer(s.parse().unwrap());
        let float = |s: &str| s.parse().map_or(Cell::Null, Cell::Float);
        w.push(&[
            Cell::Text(f[0]),
            Cell::Text(f[1]),
            Cell::Text(f[2]),
            Cell::Text(f[3]),
            int(f[4]),
            int(f[5]),
            float(f[6]),
            float(f[7]),
            int(f[8]),
        ])
        .unwrap();
    }
    w.finish().unwrap();
    let o = run(
        d,
        &[
            "trend",
            "--aggregates",
            "agg.parquet",
            "--counterpart",
            "United States",
            "--actor",
            "Cuba",
            "--out",
            "p.png",
            "--csv",
            "p.csv",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(rows(&std::fs::read_to_string(d.join("p.csv")).unwrap()), r);
}

#[test]
fn report_from_aggregates_says_what_it_cannot_show() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let builtin = stance::Classifier::builtin().unwrap();
    std::fs::write(d.join("agg.csv"), table(builtin.id())).unwrap();
    let o = run(
        d,
        &[
            "report",
            "--aggregates",
            "agg.csv",
            "--counterpart",
            "United States",
            "--actor",
            "Cuba",
            "--out",
            "rep",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(d.join("rep/report.md")).unwrap();
    assert!(
        md.contains("37 articles, 31 distinct stories, 1 change point."),
        "{md}"
    );
    assert!(
        md.contains("the stories behind this shift are not at hand"),
        "{md}"
    );
    assert!(
        md.contains("counted each story once where they were computed"),
        "{md}"
    );
    // The aggregates name the built-in model: its card closes the report.
    let card = builtin.card_markdown();
    let trained = card.lines().find(|l| l.starts_with("- Trained: ")).unwrap();
    assert!(md.contains(trained), "{md}");
    for f in ["report.html", "chart.svg", "chart.png", "periods.csv"] {
        assert!(d.join("rep").join(f).is_file(), "{f}");
    }
    // Article files and aggregates do not mix.
    std::fs::write(d.join("a.jsonl"), "").unwrap();
    let o = run(
        d,
        &[
            "report",
            "a.jsonl",
            "--aggregates",
            "agg.csv",
            "--counterpart",
            "United States",
            "--out",
            "rep2",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!d.join("rep2").exists());
}

#[test]
fn bad_aggregates_name_the_file_and_row_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = "United States,Cuba,m1,2025-01,6,5,0.5,0.1,0";
    let cases: [(&str, &str, &str); 10] = [
        (
            "United States,Cuba,m1,0999-12,6,5,0.5,0.1,0",
            "bad.csv:3: period \"0999-12\" is outside the years 1000-9999",
            "",
        ),
        (
            "United States,Cuba,m1,2025-W03,6,5,0.5,0.1,0",
            "bad.csv:3: period \"2025-W03\" is not a month (YYYY-MM)",
            "",
        ),
        (
            "United States,Cuba,m1,2025-02,4,5,0.5,0.1,0",
            "bad.csv:3: 5 stories but 4 articles",
            "",
        ),
        (
            "United States,Cuba,m1,2025-02,6,5,1.5,0.1,0",
            "bad.csv:3: `mean_score` 1.5 is outside [-1, 1]",
            "",
        ),
        (
            "United States,Cuba,m1,2025-02,6,5,0.5,,0",
            "bad.csv:3: `sd_score` is empty for 5 stories",
            "",
        ),
        (
            "United States,Cuba,m1,2025-02,6,2.5,0.5,0.1,0",
            "bad.csv:3: `stories` is \"2.5\", not a count",
            "",
        ),
        (
            "United States,Cuba,m1,2025-02,6,5,0.5,-0.1,0",
            "bad.csv:3: `sd_score` -0.1 is negative",
            "",
        ),
        (
            "United States,Cuba,m1,2025-02,6,5,0.5,0.1",
            "bad.csv:3: the record has 8 fields; the header has 9",
            "",
        ),
        (
            "United States,Cuba,m2,2025-02,6,5,0.5,0.1,0",
            "several models (m1, m2): choose one with --model-id",
            "",
        ),
        (
            "United States,Cuba,m1,2025-02,6,5,0.5,0.1,0",
            "no aggregates for Cuba → Russia; the files have: Cuba → United States",
            "Russia",
        ),
    ];
    for (bad, needle, counterpart) in cases {
        std::fs::write(d.join("bad.csv"), format!("{HEADER}\n{good}\n{bad}\n")).unwrap();
        let counterpart = if counterpart.is_empty() {
            "United States"
        } else {
            counterpart
        };
        let o = run(
            d,
            &[
                "trend",
                "--aggregates",
                "bad.csv",
                "--counterpart",
                counterpart,
                "--actor",
                "Cuba",
                "--out",
                "t.svg",
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains(needle), "{bad}: {err}");
        assert!(!d.join("t.svg").exists(), "{bad}");
    }
    // A required column missing; the store and aggregates at once.
    std::fs::write(
        d.join("bad.csv"),
        "period,articles,stories,mean_score\n2025-01,1,1,0.1\n",
    )
    .unwrap();
    for (args, needle) in [
        (
            vec!["--aggregates", "bad.csv"],
            "column `sd_score`: missing (the file has: period, articles, stories, mean_score)",
        ),
        (
            vec!["--aggregates", "bad.csv", "--db", "x.db"],
            "cannot be used with",
        ),
        (vec!["--aggregates", "none.csv"], "none.csv"),
    ] {
        let mut a = vec!["trend", "--counterpart", "United States", "--out", "t.svg"];
        a.extend(args);
        let o = run(d, &a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
    }
    // Weekly aggregates need --by week.
    std::fs::write(
        d.join("w.csv"),
        "period,articles,stories,mean_score,sd_score\n2025-W02,3,3,0.1,0.2\n2025-W05,3,3,-0.1,0.2\n",
    )
    .unwrap();
    let o = run(
        d,
        &[
            "trend",
            "--aggregates",
            "w.csv",
            "--counterpart",
            "Cuba",
            "--by",
            "week",
            "--out",
            "w.svg",
            "--csv",
            "w.csv.out",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(d.join("w.csv.out")).unwrap();
    assert_eq!(rows(&csv).len(), 4, "{csv}");
    assert!(
        csv.contains("→ Cuba,2025-W02,2025-01-06,3,3,0.1000"),
        "{csv}"
    );
}
