//! End-to-end tests of `stance score`, `train`, `eval` and `actors` through the built binary.
//! Every test works in its own temporary directory and never touches the network or ../shared
//! (except the one test that reads the shared seed article, which skips when it is absent).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn stance(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stance"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("stance runs")
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn jsonl(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "stance failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// How many line breaks Python's `str.splitlines()` finds in `s`.
fn line_breaks(s: &str) -> usize {
    s.chars()
        .filter(|c| "\n\r\u{b}\u{c}\u{1c}\u{1d}\u{1e}\u{85}\u{2028}\u{2029}".contains(*c))
        .count()
}

fn record(id: &str, text: &str, counterpart: &str) -> String {
    serde_json::json!({"id": id, "text": text, "counterpart": counterpart}).to_string() + "\n"
}

const HAVANA: &str = "Havana's foreign ministry said on Monday that Cuba would not hold any political talks \
with the United States while the embargo stayed in place.\n\
\"There is no dialogue with Washington beyond technical contacts on migration,\" the ministry said, \
rejecting the White House's claim that negotiations were under way.\n\
Cuban officials accused the US administration of waging economic war and of trying to force \
concessions through threats.\n\
Trade between the two countries has been limited for decades.";

#[test]
fn rejection_of_dialogue_scores_confrontational_toward_the_us_by_any_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "havana.txt", HAVANA.as_bytes());
    for name in ["United States", "Washington", "the White House", "USA"] {
        let out = stance(
            &[
                "score",
                "--counterpart",
                name,
                "--format",
                "jsonl",
                f.to_str().unwrap(),
            ],
            dir.path(),
        );
        let r = &jsonl(&out)[0];
        assert_eq!(r["id"], "havana");
        assert_eq!(r["counterpart"], "United States", "{name}");
        assert_eq!(r["label"], "confrontational", "{name}: {r}");
        assert!(r["score"].as_f64().unwrap() < 0.0);
        assert!(r["mentions"].as_u64().unwrap() >= 4, "{r}");
        let top = r["evidence"][0]["sentence"].as_str().unwrap();
        assert!(
            top.contains("dialogue") || top.contains("talks") || top.contains("accused"),
            "{top}"
        );
    }
}

#[test]
fn praise_and_condemnation_in_one_article_split_by_counterpart() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Turkey's foreign ministry praised Qatar for its tireless mediation and thanked Doha for hosting \
the talks. In the same statement Ankara condemned Israel for the deadly strikes and accused the Israeli \
government of sabotaging the truce.";
    let mut input = record("a", text, "Qatar");
    input += &record("b", text, "Israel");
    let f = write(dir.path(), "mixed.jsonl", input.as_bytes());
    let rows = jsonl(&stance(
        &["score", "--actor", "Turkey", f.to_str().unwrap()],
        dir.path(),
    ));
    assert!(
        rows[0]["score"].as_f64().unwrap() > 0.0,
        "toward Qatar: {}",
        rows[0]
    );
    assert!(
        rows[1]["score"].as_f64().unwrap() < 0.0,
        "toward Israel: {}",
        rows[1]
    );
}

#[test]
fn evidence_and_intercept_add_up_to_the_logit() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Seoul welcomed Tokyo's apology. Both sides agreed to resume talks.";
    let f = write(dir.path(), "a.jsonl", record("x", text, "Japan").as_bytes());
    let r = &jsonl(&stance(&["score", f.to_str().unwrap()], dir.path()))[0];
    let p = r["p_conciliatory"].as_f64().unwrap();
    let logit = (p / (1.0 - p)).ln();
    let sum: f64 = r["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["contribution"].as_f64().unwrap())
        .sum::<f64>()
        + r["intercept"].as_f64().unwrap();
    assert!((sum - logit).abs() < 1e-3, "sum {sum} logit {logit}");
    // The score is the expected stance: the probability of a stance times its polarity.
    let p_stance = r["p_stance"].as_f64().unwrap();
    assert!((r["score"].as_f64().unwrap() - p_stance * (2.0 * p - 1.0)).abs() < 1e-9);
}

/// Evidence quotes the text, and web text carries U+0085, U+2028 and U+2029, which line
/// splitters such as Python's `str.splitlines()` also break at: the output stays one record
/// per line by their count too, and the quoted sentences read back as they are in the text.
#[test]
fn unicode_line_separators_in_the_text_stay_inside_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "Cuba welcomed the talks with the United States\u{2028}and praised Washington\u{85} \
                for its approach to dialogue.\u{2029}The US rejected the offer\u{2028} again.";
    let input = record("a\u{2028}1", text, "United States") + &record("b", HAVANA, "United States");
    let f = write(dir.path(), "odd.jsonl", input.as_bytes());
    let out = stance(&["score", f.to_str().unwrap()], dir.path());
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(line_breaks(&stdout), 2, "{stdout}");
    let rows = jsonl(&out);
    assert_eq!(rows[0]["id"], "a\u{2028}1");
    let evidence = rows[0]["evidence"].as_array().unwrap();
    assert!(!evidence.is_empty());
    let mut quoted = String::new();
    for e in evidence {
        let (start, end) = (e["start"].as_u64().unwrap(), e["end"].as_u64().unwrap());
        assert_eq!(e["sentence"], text[start as usize..end as usize]);
        quoted += e["sentence"].as_str().unwrap();
    }
    assert!(
        quoted.contains('\u{85}') || quoted.contains('\u{2028}'),
        "some evidence quotes a separator: {quoted}"
    );
}

#[test]
fn malformed_json_names_file_and_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = record("a", "Cuba thanked Mexico.", "Mexico");
    input += "{\"id\": \"b\", \"text\": \n";
    let f = write(dir.path(), "bad.jsonl", input.as_bytes());
    let out = stance(&["score", f.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.jsonl:2:") && err.contains("malformed JSON"),
        "{err}"
    );
    // The record before the bad line was scored; nothing after it.
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn non_utf8_input_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = record("a", "fine", "Cuba").into_bytes();
    input.extend_from_slice(b"{\"id\":\"b\",\"text\":\"caf\xe9\"}\n");
    let f = write(dir.path(), "latin1.jsonl", &input);
    let out = stance(&["score", f.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("latin1.jsonl:2: not valid UTF-8"));
}

#[test]
fn empty_text_and_unmentioned_counterpart_give_zero_mentions() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = record("empty", "", "Cuba");
    input += &record(
        "elsewhere",
        "Rain is expected across the region on Friday.",
        "Gondor",
    );
    let f = write(dir.path(), "a.jsonl", input.as_bytes());
    let rows = jsonl(&stance(&["score", f.to_str().unwrap()], dir.path()));
    for r in &rows {
        assert_eq!(r["mentions"], 0);
        let s = r["score"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&s));
    }
    assert_eq!(rows[1]["counterpart"], "Gondor");
}

#[test]
fn keeps_input_order_over_many_records_and_reads_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::new();
    for i in 0..1500 {
        let text = if i % 3 == 0 {
            "Moscow threatened Kyiv with new strikes."
        } else {
            "Kyiv and Moscow agreed to swap prisoners."
        };
        input += &record(&format!("r{i}"), &text.repeat(1 + i % 7), "Ukraine");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_stance"))
        .args(["score", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 1500);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["id"], format!("r{i}"));
    }
    let _ = dir;
}

#[test]
fn refuses_missing_truncated_foreign_and_future_models() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.jsonl", record("a", "x", "Cuba").as_bytes());
    let good = String::from_utf8(
        stance(
            &[
                "train",
                "--folds",
                "0",
                "--out",
                "m",
                &small_training_set(dir.path()),
            ],
            dir.path(),
        )
        .stdout,
    )
    .unwrap();
    assert!(good.contains("wrote"), "{good}");
    let model = std::fs::read_to_string(dir.path().join("m/model.json")).unwrap();
    let version = format!("\"format_version\":{}", stance::classifier::FORMAT_VERSION);
    assert!(model.contains(&version));
    let cases = [
        ("missing.json", None, "missing.json"),
        (
            "truncated.json",
            Some(model[..model.len() / 2].to_string()),
            "not a stance model",
        ),
        (
            "foreign.json",
            Some("{\"weights\": [1, 2]}".to_string()),
            "not a stance model",
        ),
        (
            "future.json",
            Some(model.replace(&version, "\"format_version\":99")),
            "format version 99",
        ),
        (
            "older.json",
            Some(model.replace(&version, "\"format_version\":1")),
            "format version 1, but this stance reads version",
        ),
    ];
    for (name, content, expect) in cases {
        if let Some(c) = content {
            write(dir.path(), name, c.as_bytes());
        }
        let out = stance(
            &["score", "--model", name, input.to_str().unwrap()],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{name}: {err}");
    }
}

fn small_training_set(dir: &Path) -> String {
    let conc = [
        "Cuba welcomed the agreement with Mexico and praised its support.",
        "Hanoi thanked Tokyo for aid and agreed to deepen cooperation.",
        "Seoul and Tokyo agreed to resume talks and signed a deal.",
        "Kenya praised Somalia for releasing the detained fishermen.",
        "Ankara welcomed Athens' offer of help after the earthquake.",
        "India and Pakistan agreed to reopen the border crossing.",
        "Brazil pledged aid to Bolivia and praised the new accord.",
        "Chile thanked Peru for its cooperation on the rescue.",
        "Ghana and Togo signed a trade agreement and praised each other.",
        "Norway welcomed Sweden's support for the joint plan.",
    ];
    let conf = [
        "Cuba condemned the sanctions imposed by Washington.",
        "Beijing accused Manila of provocations and threatened retaliation.",
        "Moscow expelled diplomats and condemned the alliance.",
        "Tehran rejected the demands and threatened to retaliate.",
        "Pyongyang fired missiles and denounced Seoul's drills.",
        "Caracas accused Bogota of plotting and closed the border.",
        "Baku condemned Yerevan for shelling border villages.",
        "Addis Ababa rejected Cairo's demands and accused it of threats.",
        "Belgrade protested Pristina's arrests and threatened sanctions.",
        "Rabat recalled its ambassador and condemned Algiers.",
    ];
    let mut s = String::new();
    for (i, t) in conc.iter().enumerate() {
        s += &(serde_json::json!({"id": format!("c{i}"), "text": t, "label": "conciliatory"})
            .to_string()
            + "\n");
    }
    for (i, t) in conf.iter().enumerate() {
        s += &(serde_json::json!({"id": format!("f{i}"), "text": t, "label": "confrontational"})
            .to_string()
            + "\n");
    }
    let neutral = [
        "Chile and Peru published their monthly trade figures.",
        "Rain fell in Hanoi while markets in Tokyo were closed.",
        "Tourists from Kenya visited Mogadishu's old port.",
        "India reported its wheat harvest; buyers in Pakistan were listed.",
        "A football team from Brazil played a friendly in Bolivia.",
        "Weather services in Norway and Sweden forecast snow.",
    ];
    for (i, t) in neutral.iter().enumerate() {
        s += &(serde_json::json!({"id": format!("n{i}"), "text": t, "label": "neutral"})
            .to_string()
            + "\n");
    }
    write(dir, "train.jsonl", s.as_bytes())
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn train_prints_cross_validation_writes_a_card_and_the_model_scores() {
    let dir = tempfile::tempdir().unwrap();
    let train = small_training_set(dir.path());
    let out = stance(
        &[
            "train", "--folds", "2", "--min-df", "1", "--out", "m", &train, "--eval", &train,
        ],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("2-fold cross-validation: accuracy"),
        "{stdout}"
    );
    let card = std::fs::read_to_string(dir.path().join("m/CARD.md")).unwrap();
    assert!(
        card.contains("train.jsonl")
            && card.contains("cross-validation")
            && card.contains("Held-out")
    );
    let input = write(
        dir.path(),
        "a.jsonl",
        record(
            "a",
            "Rabat condemned Algiers and recalled its ambassador.",
            "Algeria",
        )
        .as_bytes(),
    );
    let r = &jsonl(&stance(
        &["score", "--model", "m/model.json", input.to_str().unwrap()],
        dir.path(),
    ))[0];
    assert!(r["p_conciliatory"].as_f64().unwrap() < 0.5, "{r}");
    let ev = stance(
        &["eval", "--json", "--model", "m/model.json", &train],
        dir.path(),
    );
    let v: Value = serde_json::from_slice(&ev.stdout).unwrap();
    assert_eq!(v[0]["metrics"]["n"], 20);
    assert_eq!(v[0]["metrics"]["n_3"], 26);
    assert!(v[0]["metrics"]["macro_f1_3"].as_f64().is_some(), "{v}");
}

/// Training needs all three classes, and says which one is missing.
#[test]
fn training_without_one_class_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let train = small_training_set(dir.path());
    let polar: String = std::fs::read_to_string(&train)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"neutral\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let f = write(dir.path(), "polar.jsonl", polar.as_bytes());
    let out = stance(&["train", "--out", "m", f.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no neutral records"), "{err}");
    assert!(!dir.path().join("m/model.json").exists());
}

/// Labels matter to training and evaluation only: `score` reads a label outside the three
/// (another project's "positive") as none and scores the record; `eval` and `train` stop at it.
#[test]
fn score_ignores_labels_that_eval_and_train_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "t.jsonl",
        b"{\"id\":\"a\",\"text\":\"Cuba thanked Mexico.\",\"label\":\"conciliatory\"}\n{\"id\":\"b\",\"text\":\"Cuba condemned Mexico.\",\"label\":\"positive\"}\n",
    );
    let rows = jsonl(&stance(&["score", f.to_str().unwrap()], dir.path()));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["id"], "b");
    for args in [vec!["eval"], vec!["train", "--out", "m"]] {
        let out = stance(&[&args[..], &[f.to_str().unwrap()]].concat(), dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("t.jsonl:2:"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn train_with_a_bad_line_writes_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.jsonl", b"{\"id\":\"a\",\"text\":\"x\",\"label\":\"conciliatory\"}\n{\"id\":\"b\",\"text\":\"y\",\"label\":\"friendly\"}\n");
    let out = stance(&["train", "--out", "m", f.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("t.jsonl:2:"));
    assert!(!dir.path().join("m/model.json").exists());
}

#[test]
fn actors_shows_what_names_resolve_to() {
    let dir = tempfile::tempdir().unwrap();
    let out = stance(&["actors", "the Kremlin", "Gondor"], dir.path());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("\"the Kremlin\" → Russia") && s.contains("RUS"),
        "{s}"
    );
    assert!(s.contains("matched literally"), "{s}");
}

#[test]
fn tsv_and_text_formats_render() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "a.jsonl",
        record(
            "a\tb\u{1c}c\u{2028}d",
            "Cuba thanked\u{1e} Mexico\u{85} for the\u{2029} aid.",
            "Mexico",
        )
        .as_bytes(),
    );
    let tsv = stance(
        &["score", "--format", "tsv", f.to_str().unwrap()],
        dir.path(),
    );
    let s = String::from_utf8_lossy(&tsv.stdout);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1].split('\t').count(), 8);
    // No line break by Python's `str.splitlines()` count either.
    assert_eq!(line_breaks(&s), 2, "{s}");
    assert!(lines[1].starts_with("a b c d\t"), "{s}");
    let text = stance(
        &["score", "--format", "text", f.to_str().unwrap()],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&text.stdout).contains("→ Mexico"));
}

#[test]
fn seed_article_from_shared_fixtures() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seed_cuba_us.txt");
    if !seed.exists() {
        eprintln!(
            "skipped seed_article_from_shared_fixtures: {} is not present",
            seed.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in ["United States", "Washington"] {
        let out = stance(
            &["score", "--counterpart", name, seed.to_str().unwrap()],
            dir.path(),
        );
        let r = &jsonl(&out)[0];
        assert_eq!(r["label"], "confrontational", "{name}: {r}");
        let ev: Vec<&str> = r["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["sentence"].as_str().unwrap())
            .collect();
        assert!(ev.iter().any(|s| s.contains("dialogue")), "{ev:?}");
    }
}

/// Regression: a reader blocked on a full work queue kept `score` alive after its output pipe
/// closed (`stance score big.jsonl | head`), because the queue's receiver outlived the workers.
#[test]
fn closed_output_pipe_ends_score_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::new();
    for i in 0..20_000 {
        input += &record(
            &format!("r{i}"),
            "Moscow threatened Kyiv with new strikes, officials said.",
            "Ukraine",
        );
    }
    let f = write(dir.path(), "big.jsonl", input.as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_stance"))
        .args(["score", f.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("stance score kept running after its output closed");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

/// Headlines and lengths that a feed sends: a title with an empty text, a title and no text
/// field, a counterpart named only in the title, one sentence, two thousand sentences. Each
/// gets a result with its outcome and its mentions.
#[test]
fn titles_alone_and_long_or_short_articles_each_get_an_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let long: String = (0..2000)
        .map(|i| format!("Officials in Havana met on day {i} to discuss the harvest."))
        .collect::<Vec<_>>()
        .join(" ")
        + " Cuba condemned the United States.";
    let records = [
        serde_json::json!({"id": "title-empty-text", "title": "Cuba condemns US sanctions", "text": "", "actor": "Cuba", "counterpart": "United States"}),
        serde_json::json!({"id": "title-only", "title": "Cuba thanks Washington for aid", "actor": "Cuba", "counterpart": "United States"}),
        serde_json::json!({"id": "title-names-it", "title": "Cuba rejects U.S. talks", "text": "The ministry issued a statement on Tuesday.", "actor": "Cuba", "counterpart": "United States"}),
        serde_json::json!({"id": "one-sentence", "text": "Cuba welcomed the talks with the United States.", "actor": "Cuba", "counterpart": "United States"}),
        serde_json::json!({"id": "long", "text": long, "actor": "Cuba", "counterpart": "United States"}),
        serde_json::json!({"id": "never-named", "title": "Harvest report", "text": "Cuba thanked Mexico.", "actor": "Cuba", "counterpart": "United States"}),
    ];
    let input: String = records.iter().map(|r| r.to_string() + "\n").collect();
    let f = write(dir.path(), "feed.jsonl", input.as_bytes());
    let rows = jsonl(&stance(&["score", f.to_str().unwrap()], dir.path()));
    let by_id = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    let polar = ["conciliatory", "confrontational", "neutral"];
    for (id, mentions) in [
        ("title-empty-text", 1),
        ("title-only", 1),
        ("title-names-it", 1),
        ("one-sentence", 1),
        ("long", 1),
    ] {
        let r = by_id(id);
        assert_eq!(r["mentions"], mentions, "{r}");
        assert!(polar.contains(&r["label"].as_str().unwrap()), "{r}");
    }
    assert_eq!(by_id("title-only")["evidence"][0]["part"], "title");
    assert_eq!(by_id("title-empty-text")["label"], "confrontational");
    let never = by_id("never-named");
    assert_eq!(
        (never["label"].as_str(), never["score"].as_f64()),
        (Some("unmentioned"), Some(0.0))
    );
}

/// `stance actors --date` shows what a name meant then: "Moscow" was the Soviet Union in 1987
/// and is Russia today.
#[test]
fn actors_resolves_a_name_at_a_date() {
    let dir = tempfile::tempdir().unwrap();
    let then = stance(&["actors", "Moscow", "--date", "1987-03-02"], dir.path());
    assert!(String::from_utf8_lossy(&then.stdout).contains("\"Moscow\" → Soviet Union"));
    let now = stance(&["actors", "Moscow"], dir.path());
    assert!(String::from_utf8_lossy(&now.stdout).contains("\"Moscow\" → Russia"));
    let bad = stance(&["actors", "Moscow", "--date", "March"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
}
