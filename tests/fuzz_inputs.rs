//! Fuzz harnesses over what stance reads from outside: article files (JSONL, Python's JSON,
//! `.txt`), model files, and names looked up in the gazetteer. Each runs
//! [`common::fuzz_config`]'s cases: a CI-sized run in `cargo test`, a long run with
//! `PROPTEST_CASES` set (README, Development). None may panic; what they read is either the
//! input or an error naming the file and line.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use stance::actors::Gazetteer;
use stance::classifier::{train, FileMetrics, ModelCard, TrainParams};
use stance::{Article, Classifier, Label};

/// A record as the harness writes it, before any mutation.
#[derive(Debug, Clone)]
struct Record {
    id: String,
    text: String,
    title: Option<String>,
    date: serde_json::Value,
}

fn record() -> impl Strategy<Value = Record> {
    let date = prop_oneof![
        (1000i32..=9999, 1u32..=12, 1u32..=28)
            .prop_map(|(y, m, d)| serde_json::json!(format!("{y:04}-{m:02}-{d:02}"))),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        Just(serde_json::json!("+262142-12-05")),
        Just(serde_json::Value::Null),
    ];
    (
        "[a-z0-9]{1,8}",
        "\\PC{0,60}",
        proptest::option::of("\\PC{0,20}"),
        date,
    )
        .prop_map(|(id, text, title, date)| Record {
            id,
            text,
            title,
            date,
        })
}

/// What is done to one line of a JSONL file.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    /// Cut after this many bytes (anywhere, even inside a character).
    Truncate(usize),
    /// This byte put in at this offset.
    Insert(usize, u8),
    /// A token of Python's JSON (or near it) put in at this offset.
    Python(usize, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => Just(Mutation::None),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        1 => (
            any::<usize>(),
            proptest::sample::select(vec![
                "NaN", "Infinity", "-Infinity", "\\ud83d", "\\udc00", "\\u0000", "\u{feff}",
                "\"", "\\", "\n", "{", "}",
            ])
        )
            .prop_map(|(at, t)| Mutation::Python(at, t)),
    ]
}

fn line_of(r: &Record, m: &Mutation) -> Vec<u8> {
    let mut v = serde_json::json!({"id": r.id, "text": r.text, "date": r.date});
    if let Some(t) = &r.title {
        v["title"] = serde_json::json!(t);
    }
    let mut b = v.to_string().into_bytes();
    match *m {
        Mutation::None => {}
        Mutation::Truncate(n) => b.truncate(n % (b.len() + 1)),
        Mutation::Insert(at, byte) => b.insert(at % (b.len() + 1), byte),
        Mutation::Python(at, t) => {
            let at = at % (b.len() + 1);
            b.splice(at..at, t.bytes());
        }
    }
    b
}

/// The line number an error message names after `path:`, if any.
fn line_named(message: &str, path: &str) -> Option<usize> {
    let rest = message.strip_prefix(path)?.strip_prefix(':')?;
    rest.split(':').next()?.parse().ok()
}

/// A record's expected date: a date in the years 1000-9999 as given, none for null.
fn plain_date(d: &serde_json::Value) -> Option<Option<String>> {
    match d {
        serde_json::Value::Null => Some(None),
        serde_json::Value::String(s)
            if s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() =>
        {
            Some(Some(s.clone()))
        }
        _ => None,
    }
}

proptest! {
    #![proptest_config(common::fuzz_config(64))]

    /// JSONL files of mutated records: the reader yields the records before the first bad
    /// line exactly as written, then at most one error, which names the file and a line that
    /// exists; it never panics.
    #[test]
    fn jsonl_reader_gives_records_or_an_error_naming_the_line(
        lines in proptest::collection::vec((record(), mutation()), 0..12),
        crlf in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.jsonl");
        let mut f = std::fs::File::create(&path).unwrap();
        // Records after a mutation that put in a line break are on later lines than their index.
        let mut split = lines.len();
        for (i, (r, m)) in lines.iter().enumerate() {
            let bytes = line_of(r, m);
            if bytes.contains(&b'\n') {
                split = split.min(i);
            }
            f.write_all(&bytes).unwrap();
            f.write_all(if crlf { b"\r\n" } else { b"\n" }).unwrap();
        }
        drop(f);
        let shown = path.display().to_string();
        let total_lines = std::fs::read(&path).unwrap().iter().filter(|&&b| b == b'\n').count();
        let mut errors = 0;
        let mut last_line = 0;
        for item in stance::article::read_path(&path).unwrap() {
            match item {
                Ok((line, a)) => {
                    prop_assert_eq!(errors, 0, "a record after an error");
                    prop_assert!(line > last_line && line <= total_lines, "line {}", line);
                    last_line = line;
                    // An untouched line whose date reads as given comes back as written.
                    if let Some((r, Mutation::None)) = lines[..split].get(line - 1) {
                        if let Some(date) = plain_date(&r.date) {
                            prop_assert_eq!(&a.id, &r.id);
                            prop_assert_eq!(&a.text, &r.text);
                            // A blank title is read as none.
                            let title = r.title.clone().filter(|t| !t.trim().is_empty());
                            prop_assert_eq!(&a.title, &title);
                            prop_assert_eq!(a.date.clone(), date);
                        }
                    }
                }
                Err(e) => {
                    errors += 1;
                    let message = e.to_string();
                    let n = line_named(&message, &shown);
                    prop_assert!(
                        n.is_some_and(|n| n > last_line && n <= total_lines.max(1)),
                        "{}", message
                    );
                }
            }
        }
        prop_assert!(errors <= 1);
    }

    /// A `.txt` file is one article whose text is the file, or, when it is not UTF-8, an
    /// error naming the line of the first bad byte.
    #[test]
    fn txt_reader_gives_the_file_or_an_error_naming_the_line(
        bytes in proptest::collection::vec(
            prop_oneof![4 => 0x20u8..0x7f, 1 => Just(b'\n'), 1 => any::<u8>()], 0..400),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("story.txt");
        std::fs::write(&path, &bytes).unwrap();
        let got: Vec<_> = match stance::article::read_path(&path) {
            Ok(r) => r.collect(),
            Err(e) => vec![Err(e)],
        };
        prop_assert_eq!(got.len(), 1);
        match (&got[0], std::str::from_utf8(&bytes)) {
            (Ok((1, a)), Ok(text)) => {
                prop_assert_eq!(a.text.as_str(), text);
                prop_assert_eq!(a.id.as_str(), "story");
            }
            (Err(e), Err(u)) => {
                let line = 1 + bytes[..u.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
                let message = e.to_string();
                prop_assert_eq!(line_named(&message, &path.display().to_string()), Some(line));
            }
            (got, utf8) => prop_assert!(false, "{:?} for {:?}", got, utf8.is_ok()),
        }
    }
}

/// A small model trained here once: loading the shipped one (11 MB) per case would be slow.
fn small_model() -> &'static [u8] {
    static MODEL: OnceLock<Vec<u8>> = OnceLock::new();
    MODEL.get_or_init(|| {
        let texts = [
            (
                "Cuba welcomed talks with the United States and praised the dialogue.",
                Label::Conciliatory,
            ),
            (
                "Cuba signed an agreement with the United States on flights.",
                Label::Conciliatory,
            ),
            (
                "Cuba condemned the United States and accused it of aggression.",
                Label::Confrontational,
            ),
            (
                "Cuba rejected the United States offer and threatened retaliation.",
                Label::Confrontational,
            ),
            (
                "Rain fell in Cuba while markets in the United States were closed.",
                Label::Neutral,
            ),
            (
                "Tourists from the United States visited Cuba this week.",
                Label::Neutral,
            ),
        ];
        let records: Vec<Article> = (0..36)
            .map(|i| {
                let (t, label) = texts[i % texts.len()];
                Article {
                    id: format!("r{i}"),
                    text: format!("{t} Officials met on day {i}."),
                    counterpart: Some("United States".into()),
                    label: Some(label),
                    ..Article::default()
                }
            })
            .collect();
        let sources = vec![0; records.len()];
        let params = TrainParams {
            folds: 0,
            ..TrainParams::default()
        };
        let c = train(
            &records,
            &sources,
            params,
            ModelCard::default(),
            &mut |_| {},
        )
        .expect("the small model trains");
        c.with_evaluation(vec![FileMetrics {
            path: "dev.jsonl".into(),
            sha256: "0123456789abcdef".into(),
            n: 10,
            accuracy: 0.5,
            macro_f1: 0.5,
            roc_auc: 0.5,
            n_3: 12,
            macro_f1_3: Some(0.4),
        }])
        .to_bytes()
    })
}

/// Loads model bytes from a file; if they load, shows the card and scores an article. Never
/// panics (the property the harness checks).
fn load_and_use(dir: &Path, bytes: &[u8]) -> bool {
    let path = dir.join("model.json");
    std::fs::write(&path, bytes).unwrap();
    match Classifier::load(&path) {
        Ok(c) => {
            let _ = c.card_markdown();
            let _ = c.card_json();
            let a = Article {
                id: "x".into(),
                text: "Cuba welcomed talks with the United States.".into(),
                ..Article::default()
            };
            let _ = c.score(&a, Some("United States"), Some("Cuba"));
            true
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

/// Every leaf of a JSON value, as a path of keys and indices.
fn leaves(
    v: &serde_json::Value,
    path: &mut Vec<serde_json::Value>,
    out: &mut Vec<Vec<serde_json::Value>>,
) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                path.push(serde_json::json!(k));
                leaves(x, path, out);
                path.pop();
            }
        }
        // Long arrays (weights, keys): their first, last and middle elements only.
        serde_json::Value::Array(a) if !a.is_empty() => {
            let picks = [0, a.len() / 2, a.len() - 1];
            for i in picks {
                path.push(serde_json::json!(i));
                leaves(&a[i], path, out);
                path.pop();
            }
            if out.len() < 1 << 16 {
                out.push(path.clone());
            }
        }
        _ => out.push(path.clone()),
    }
}

/// The value at `path`, if an earlier edit has not replaced what held it.
fn at_path<'a>(
    v: &'a mut serde_json::Value,
    path: &[serde_json::Value],
) -> Option<&'a mut serde_json::Value> {
    let pointer: String = path
        .iter()
        .map(|k| match k {
            serde_json::Value::String(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
            k => format!("/{k}"),
        })
        .collect();
    v.pointer_mut(&pointer)
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        Just(serde_json::json!(1e308)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(0)),
        Just(serde_json::json!(u64::MAX)),
        "\\PC{0,24}".prop_map(serde_json::Value::from),
        Just(serde_json::json!("aaaaaaaaaaaaaaa€bbb")),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        proptest::collection::vec(any::<i32>(), 0..4).prop_map(|v| serde_json::json!(v)),
    ]
}

/// Regression: a model whose card gives an evaluation file's `sha256` with a multi-byte
/// character across byte 16 made `stance ingest --model` panic (the hash was cut at byte 16
/// for the card). It loads, its card shows, and ingest stores with it.
#[test]
fn a_card_hash_with_a_character_across_byte_16_loads_and_ingests() {
    let dir = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(small_model()).unwrap();
    v["card"]["evaluation"][0]["sha256"] = serde_json::json!("aaaaaaaaaaaaaaa€bbb");
    let bytes = serde_json::to_vec(&v).unwrap();
    assert!(load_and_use(dir.path(), &bytes));
    let c = Classifier::load(&dir.path().join("model.json")).unwrap();
    assert!(c.card_markdown().contains("`aaaaaaaaaaaaaaa€`"));
    std::fs::write(
        dir.path().join("a.jsonl"),
        "{\"id\":\"a\",\"date\":\"2025-01-02\",\"text\":\"Cuba welcomed talks with the United States.\"}\n",
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stance"))
        .args([
            "ingest",
            "a.jsonl",
            "--db",
            "s.db",
            "--counterpart",
            "United States",
        ])
        .args(["--model", "model.json"])
        .current_dir(dir.path())
        .env_remove("STANCE_DB")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

proptest! {
    #![proptest_config(common::fuzz_config(48))]

    /// A model file with any of its values replaced (a hand-edited or corrupted card, weights,
    /// parameters, the format fields), or cut short, or with a byte changed, either loads and
    /// then shows its card and scores, or is refused with an error: never a panic.
    #[test]
    fn a_crafted_model_file_loads_or_is_refused(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), json_value()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        flip in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(small_model()).unwrap();
        let mut paths = Vec::new();
        leaves(&v, &mut Vec::new(), &mut paths);
        for (at, value) in &edits {
            let path = at.get(&paths).clone();
            if let Some(x) = at_path(&mut v, &path) {
                *x = value.clone();
            }
        }
        let mut bytes = serde_json::to_vec(&v).unwrap();
        if let Some(at) = cut {
            bytes.truncate(at.index(bytes.len()));
        }
        if let Some((at, b)) = flip {
            let i = at.index(bytes.len().max(1));
            if let Some(x) = bytes.get_mut(i) {
                *x = b;
            }
        }
        load_and_use(dir.path(), &bytes);
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,30}",
        proptest::sample::select(vec![
            "United States",
            "the United States of America",
            "U.S.",
            "Moscow[..1991-12-25]",
            "Gondor [GON]",
            "Hungary & Romania",
            "A and B",
            "A/B",
            " & ",
            "/",
            ";",
            "and",
            "the",
            "[",
            "]",
            "[..]",
            "Côte d'Ivoire",
            "ＵＳＡ",
            "İstanbul",
            "\u{0}",
            "\u{feff}US",
        ])
        .prop_map(String::from),
        ("[A-Za-z]{1,8}", "[ &/;.-]{0,3}", "[A-Za-z]{1,8}")
            .prop_map(|(a, s, b)| format!("{a}{s}{b}")),
    ]
}

proptest! {
    #![proptest_config(common::fuzz_config(128))]

    /// Any name is resolved against the built-in gazetteer, at any date, and scoring a text
    /// made of names toward it finds mentions within the text: no panic, a finite score.
    #[test]
    fn any_name_resolves_and_scores(
        counterpart in name(),
        words in proptest::collection::vec(name(), 0..8),
        year in proptest::option::of(1000i32..=9999),
    ) {
        let g = Gazetteer::builtin();
        let date = year.and_then(|y| chrono::NaiveDate::from_ymd_opt(y, 6, 1));
        let r = g.resolve_at(&counterpart, date);
        for &e in &r.entities {
            prop_assert!((e as usize) < g.entities().len());
        }
        let _ = g.lookup_at(&counterpart, date);
        static BUILTIN: OnceLock<Classifier> = OnceLock::new();
        let c = BUILTIN.get_or_init(|| Classifier::builtin().unwrap());
        let a = Article {
            id: "g".into(),
            text: words.join(" "),
            date: date.map(|d| d.to_string()),
            ..Article::default()
        };
        if counterpart.trim().is_empty() {
            return Ok(());
        }
        let s = c.score(&a, Some(&counterpart), None);
        prop_assert!(s.score.is_finite() && (-1.0..=1.0).contains(&s.score), "{}", s.score);
        for e in &s.evidence {
            prop_assert!(e.start <= e.end);
        }
    }

    /// A gazetteer file of random rows parses or is refused naming its line; once parsed,
    /// every entity's id looks up to that entity and random names resolve without a panic.
    #[test]
    fn a_random_gazetteer_parses_or_names_the_line(
        rows in proptest::collection::vec(
            ("[A-Z]{1,4}", "(country|org|\\PC{0,5})", "\\PC{0,12}",
             proptest::collection::vec(name(), 0..4)),
            0..8),
        probes in proptest::collection::vec(name(), 0..6),
    ) {
        let mut text = String::from("id\tkind\tname\taliases\n");
        for (id, kind, n, aliases) in &rows {
            text.push_str(&format!("{id}\t{kind}\t{n}\t{}\n", aliases.join("|")));
        }
        match Gazetteer::parse(&text, "fuzz.tsv") {
            Ok(g) => {
                for (i, e) in g.entities().iter().enumerate() {
                    prop_assert_eq!(g.lookup(&e.id), Some(i as u32));
                }
                for p in &probes {
                    let _ = g.resolve(p);
                    let _ = g.lookup(p);
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("fuzz.tsv"), "{}", e),
        }
    }
}
