//! `stance ingest`, `trend` and `report` end to end: the built binary in a temp dir, with a
//! small model trained there first. Asserts structure, never exact scores.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stance::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_stance");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("STANCE_DB")
        .output()
        .expect("the stance binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const WARM: [&str; 6] = [
    "{A} welcomed the talks with {C} and praised the constructive dialogue.",
    "{A} agreed to cooperate with {C} and signed an agreement on flights.",
    "{A} thanked {C} for the aid and said relations were improving.",
    "{A} and {C} held cordial meetings and pledged further cooperation.",
    "{A} eased restrictions and offered support to {C} after the storm.",
    "{A} expressed hope for better relations with {C} and accepted the proposal.",
];
const COLD: [&str; 6] = [
    "{A} condemned {C} and accused it of waging an economic war.",
    "{A} rejected the offer from {C} and threatened countermeasures.",
    "{A} expelled a diplomat from {C} and denounced its hostile sanctions.",
    "{A} protested against {C} and demanded an end to the aggression.",
    "{A} warned {C} of retaliation and criticised its provocations.",
    "{A} accused {C} of subversion and suspended all talks.",
];

/// Statements that name both states and take no stance: the neutral class of the small model.
const PLAIN: [&str; 6] = [
    "{A} and {C} published their monthly shipping figures.",
    "Rain fell in {A} while markets in {C} were closed for a holiday.",
    "Tourists from {C} visited the old town of {A} this week.",
    "{A} reported its grain harvest; buyers in {C} were listed.",
    "A football team from {A} played a friendly match in {C}.",
    "Weather services in {A} and {C} forecast a mild winter.",
];

/// One synthetic article. The closing clause lists topics in an order that depends on `i`,
/// so articles built on the same template share well under half of their 5-word shingles and
/// are not near-duplicates whatever the MinHash's hash functions (a regression: with only a
/// day number to tell them apart they sat at Jaccard ≈ 0.45, next to the 0.5 threshold).
fn fill(t: &str, i: usize) -> String {
    const TOPICS: [&str; 12] = [
        "harbours",
        "customs",
        "fisheries",
        "energy",
        "railways",
        "vaccines",
        "grain",
        "tourism",
        "cables",
        "ports",
        "visas",
        "banking",
    ];
    let topics: Vec<&str> = (0..8).map(|k| TOPICS[(i * 7 + k * 5) % 12]).collect();
    format!(
        "{} Officials spoke on day {i} in the capital about {}.",
        t.replace("{A}", "Cuba").replace("{C}", "the United States"),
        topics.join(" ")
    )
}

/// Trains a small model in `dir` and returns its path.
fn train(dir: &Path) -> PathBuf {
    let mut lines = Vec::new();
    for i in 0..90 {
        let (t, label) = match i % 3 {
            0 => (WARM[i % 6], "conciliatory"),
            1 => (COLD[i % 6], "confrontational"),
            _ => (PLAIN[i % 6], "neutral"),
        };
        lines.push(
            serde_json::json!({"id": format!("t{i}"), "text": fill(t, i), "label": label})
                .to_string(),
        );
    }
    std::fs::write(dir.join("train.jsonl"), lines.join("\n")).unwrap();
    let o = run(
        dir,
        &["train", "train.jsonl", "--folds", "0", "--out", "model"],
    );
    assert!(o.status.success(), "training failed: {:?}", text(&o));
    dir.join("model").join("model.json")
}

/// A year of articles: warm for six months, cold for six, plus three reprints of one story.
fn articles(dir: &Path, name: &str) -> PathBuf {
    let mut lines = Vec::new();
    for m in 1..=12 {
        for k in 0..3 {
            let t = if m <= 6 {
                WARM[(m + k) % 6]
            } else {
                COLD[(m + k) % 6]
            };
            let i = m * 10 + k;
            lines.push(
                serde_json::json!({
                    "id": format!("a{m}-{k}"), "date": format!("2025-{m:02}-{:02}", 3 + k * 7),
                    "title": format!("Story {i}"), "outlet": "Wire", "text": fill(t, i),
                })
                .to_string(),
            );
        }
    }
    let wire =
        "Cuba rejected the United States offer of talks on Tuesday, saying new sanctions made \
        any dialogue impossible while Washington waged what officials called an economic war.";
    for (k, outlet) in ["Caribe Press", "Meridian", "Gulf Post"].iter().enumerate() {
        lines.push(
            serde_json::json!({
                "id": format!("wire-{k}"), "date": "2025-10-14", "outlet": outlet,
                "title": "Cuba rejects US offer of talks",
                "text": if k == 0 { wire.to_string() } else { format!("{wire} Reported by {outlet}.") },
            })
            .to_string(),
        );
    }
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

struct Env {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    model: String,
}

impl Env {
    /// `stance ingest cuba.jsonl` toward the United States, actor Cuba, with the test model.
    fn ingest_cuba(&self) -> [&str; 8] {
        self.cuba("ingest")
    }

    /// `stance COMMAND cuba.jsonl` toward the United States, actor Cuba, with the test model.
    fn cuba<'a>(&'a self, command: &'a str) -> [&'a str; 8] {
        [
            command,
            "cuba.jsonl",
            "--counterpart",
            "United States",
            "--actor",
            "Cuba",
            "--model",
            &self.model,
        ]
    }
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let model = train(&dir).to_string_lossy().into_owned();
    articles(&dir, "cuba.jsonl");
    Env {
        _tmp: tmp,
        dir,
        model,
    }
}

fn counts(db: &Path) -> stance::store::Counts {
    Store::open(db).unwrap().counts().unwrap()
}

#[test]
fn ingest_is_idempotent_and_reports_per_file() {
    let e = env();
    let args = e.ingest_cuba();
    let o = run(&e.dir, &args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("cuba.jsonl: 39 new, 0 already present, 0 skipped, 2 near-duplicates"),
        "{out}"
    );
    let before = counts(&e.dir.join("stance.db"));
    assert_eq!(
        (before.articles, before.scores, before.clusters),
        (39, 39, 37)
    );
    let o = run(&e.dir, &args);
    assert!(
        text(&o).0.contains("0 new, 39 already present"),
        "{:?}",
        text(&o)
    );
    assert_eq!(counts(&e.dir.join("stance.db")), before);
}

#[test]
fn a_bad_line_rolls_back_its_file_and_names_the_line() {
    let e = env();
    let good = std::fs::read_to_string(e.dir.join("cuba.jsonl")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(20, "{\"id\": \"broken\", \"text\": ");
    std::fs::write(e.dir.join("bad.jsonl"), lines.join("\n")).unwrap();
    let first = "{\"id\":\"x1\",\"date\":\"2025-01-01\",\"text\":\"Cuba welcomed the talks.\"}\n";
    std::fs::write(e.dir.join("first.jsonl"), first).unwrap();
    let o = run(
        &e.dir,
        &[
            "ingest",
            "first.jsonl",
            "bad.jsonl",
            "--counterpart",
            "United States",
            "--model",
            &e.model,
        ],
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.jsonl:21"), "{err}");
    assert!(err.contains("nothing from this file was stored"), "{err}");
    // The earlier file is kept, the bad one left no trace.
    assert_eq!(counts(&e.dir.join("stance.db")).articles, 1);
}

/// `ingest` stores no label, so one outside the three does not stop its file.
#[test]
fn ingest_ignores_labels() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("l.jsonl");
    std::fs::write(
        &f,
        "{\"id\":\"a\",\"date\":\"2025-01-07\",\"text\":\"Cuba thanked the United States.\",\"label\":\"positive\"}\n",
    )
    .unwrap();
    let db = dir.path().join("s.db");
    let o = run(
        dir.path(),
        &[
            "ingest",
            "--db",
            db.to_str().unwrap(),
            "--counterpart",
            "United States",
            f.to_str().unwrap(),
        ],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("1 new"), "{out}");
}

#[test]
fn undated_articles_are_reported_and_skipped() {
    let e = env();
    let body = "{\"id\":\"d1\",\"date\":\"2025-02-02\",\"text\":\"Cuba welcomed talks.\"}\n\
                {\"id\":\"nodate\",\"text\":\"Cuba condemned sanctions.\"}\n\
                {\"id\":\"baddate\",\"date\":\"next spring\",\"text\":\"Cuba rejected talks.\"}\n";
    std::fs::write(e.dir.join("u.jsonl"), body).unwrap();
    let o = run(
        &e.dir,
        &[
            "ingest",
            "u.jsonl",
            "--counterpart",
            "Cuba",
            "--model",
            &e.model,
            "--db",
            "x.db",
        ],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("1 new, 0 already present, 2 skipped"), "{out}");
    assert!(
        err.contains("skipped 2 articles without a usable date: nodate, baddate"),
        "{err}"
    );
}

#[test]
fn trend_writes_png_svg_and_csv_and_prints_the_shifts() {
    let e = env();
    let o = run(&e.dir, &e.ingest_cuba());
    assert!(o.status.success());
    let o = run(
        &e.dir,
        &[
            "trend",
            "--counterpart",
            "united states",
            "--out",
            "t.png",
            "--csv",
            "t.csv",
            "--min-articles",
            "2",
        ],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("Cuba → United States"), "{out}");
    assert!(out.contains("counted once, 3 copies"), "{out}");
    let img = image::open(e.dir.join("t.png")).unwrap();
    assert_eq!((img.width(), img.height()), (1400, 820));
    let csv = std::fs::read_to_string(e.dir.join("t.csv")).unwrap();
    assert_eq!(
        csv.lines()
            .filter(|l| l.starts_with("Cuba → United States,2025-"))
            .count(),
        12
    );
    assert!(csv.contains(",2025-10,2025-10-01,6,4,"), "{csv}");

    let o = run(
        &e.dir,
        &[
            "trend",
            "--counterpart",
            "United States",
            "--by",
            "week",
            "--out",
            "t.svg",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let svg = std::fs::read_to_string(e.dir.join("t.svg")).unwrap();
    assert!(svg.contains("Date (week)") && svg.contains("2025-W"));
}

/// Runs a command that must fail with exit code 2 and a message containing `needle`.
fn fails(dir: &Path, args: &[&str], needle: &str) {
    let o = run(dir, args);
    let err = text(&o).1;
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
}

#[test]
fn bad_requests_exit_2_with_a_clear_message_and_no_file() {
    let e = env();
    let trend = |extra: &[&'static str]| {
        let mut v = vec!["trend", "--counterpart"];
        v.extend_from_slice(extra);
        v
    };
    fails(
        &e.dir,
        &trend(&["Cuba", "--out", "x.png"]),
        "no store at stance.db",
    );
    let ingest = e.ingest_cuba();
    assert!(run(&e.dir, &ingest).status.success());
    fails(
        &e.dir,
        &trend(&["Atlantis", "--out", "x.png"]),
        "the store has: Cuba → United States (39 articles",
    );
    fails(
        &e.dir,
        &trend(&["United States", "--from", "2030-01-01", "--out", "x.png"]),
        "no articles",
    );
    fails(
        &e.dir,
        &trend(&[
            "United States",
            "--from",
            "2025-05-01",
            "--to",
            "2025-01-01",
            "--out",
            "x.png",
        ]),
        "is after --to",
    );
    fails(
        &e.dir,
        &trend(&["United States", "--out", "missing/dir/x.png"]),
        "missing/dir",
    );
    fails(
        &e.dir,
        &trend(&["United States", "--out", "x.jpg"]),
        ".png or .svg",
    );
    assert!(!e.dir.join("x.png").exists() && !e.dir.join("x.jpg").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&e.dir)
        .unwrap()
        .filter_map(|f| f.ok())
        .filter(|f| f.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn report_ingests_then_writes_a_complete_directory() {
    let e = env();
    let o = Command::new(BIN)
        .args(e.cuba("report"))
        .args(["--out", "rep"])
        .current_dir(&e.dir)
        .env("STANCE_DB", e.dir.join("env.db"))
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("39 new"), "{out}");
    assert!(e.dir.join("env.db").exists(), "STANCE_DB was not used");
    for f in [
        "report.md",
        "report.html",
        "chart.svg",
        "chart.png",
        "periods.csv",
    ] {
        assert!(e.dir.join("rep").join(f).is_file(), "{f} missing");
    }
    let md = std::fs::read_to_string(e.dir.join("rep/report.md")).unwrap();
    assert!(md.contains("![Stance trend](chart.png)"));
    assert!(md.contains("| Period | Articles | Distinct stories | Mean score | 95% interval |"));
    assert!(md.contains("### Near-duplicate clusters"));
    assert!(
        md.contains("| 2025-10-14 | Cuba rejects US offer of talks | 3 |"),
        "{md}"
    );
    assert!(md.contains("## Model"));
    let html = std::fs::read_to_string(e.dir.join("rep/report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("</html>"));

    // A failing report (unknown counterpart) leaves the earlier directory untouched.
    let before = std::fs::read_to_string(e.dir.join("rep/report.md")).unwrap();
    let o = Command::new(BIN)
        .args(["report", "--counterpart", "Atlantis", "--out", "rep"])
        .current_dir(&e.dir)
        .env("STANCE_DB", e.dir.join("env.db"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(e.dir.join("rep/report.md")).unwrap(),
        before
    );
}

/// Regression: this test killed after a fixed 300 ms and checked the store only if the kill
/// had landed, so it might test nothing. Now `ingest` reads a small file first and the kill
/// comes when it reports that file stored, that is while the big file is being scored and
/// written; a kill that comes too late is retried, and the test asserts one landed.
#[test]
fn killing_ingest_midway_then_rerunning_gives_the_clean_store() {
    use std::io::BufRead;
    let e = env();
    let mut lines = Vec::new();
    for i in 0..1500 {
        let t = if i % 3 == 0 { COLD[i % 6] } else { WARM[i % 6] };
        lines.push(
            serde_json::json!({
                "id": format!("k{i}"), "date": format!("2025-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
                "text": format!("{} Unique words w{i} x{} y{}.", fill(t, i), i * 7, i * 13),
            })
            .to_string(),
        );
    }
    std::fs::write(e.dir.join("big.jsonl"), lines.join("\n")).unwrap();
    std::fs::write(e.dir.join("small.jsonl"), lines[..3].join("\n")).unwrap();
    let args = [
        "ingest",
        "small.jsonl",
        "big.jsonl",
        "--counterpart",
        "Cuba",
        "--model",
        &e.model,
    ];
    let killed = e.dir.join("killed.db");
    let mut landed = false;
    for _ in 0..10 {
        let _ = std::fs::remove_file(&killed);
        let mut child = Command::new(BIN)
            .args(args)
            .args(["--db", "killed.db"])
            .current_dir(&e.dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.starts_with("small.jsonl: 3 new"), "{line}");
        let running = child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Whatever the kill interrupted, each file's transaction is all or nothing.
        let n = counts(&killed).articles;
        assert!(n == 3 || n == 1500, "{n} articles after a kill");
        if running && n == 3 {
            landed = true;
            break;
        }
    }
    assert!(landed, "no kill landed while big.jsonl was being ingested");
    let o = run(&e.dir, &[&args[..], &["--db", "killed.db"]].concat());
    assert!(o.status.success(), "{:?}", text(&o));
    let o = run(&e.dir, &[&args[..], &["--db", "clean.db"]].concat());
    assert!(o.status.success(), "{:?}", text(&o));
    let sel = stance::store::Selection {
        counterpart: "Cuba".into(),
        ..Default::default()
    };
    let a = Store::open(&killed).unwrap().scored(&sel).unwrap();
    let b = Store::open(&e.dir.join("clean.db"))
        .unwrap()
        .scored(&sel)
        .unwrap();
    assert_eq!(a.len(), 1500);
    assert_eq!(a, b);
}
