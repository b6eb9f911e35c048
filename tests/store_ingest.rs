//! The store: round-trip, idempotence, new models, atomicity, near-duplicates and
//! concurrent access, on temporary databases.

use std::path::Path;

use proptest::prelude::*;
use stance::article::Part;
use stance::store::{Added, ModelInfo, Selection, Store};
use stance::{Article, Evidence, Label, Score};

fn article(id: &str, date: &str, text: &str) -> Article {
    Article {
        id: id.into(),
        text: text.into(),
        title: Some(format!("Title of {id}")),
        date: Some(date.into()),
        outlet: Some("Test Wire".into()),
        url: Some(format!("https://example.org/{id}")),
        ..Article::default()
    }
}

fn score(id: &str, s: f64) -> Score {
    Score {
        id: id.into(),
        counterpart: Some("United States".into()),
        actor: Some("Cuba".into()),
        score: s,
        p_conciliatory: (s + 1.0) / 2.0,
        p_stance: 1.0,
        label: if s > 0.0 {
            Label::Conciliatory
        } else {
            Label::Confrontational
        },
        mentions: 2,
        intercept: 0.1,
        evidence: vec![Evidence {
            part: Part::Text,
            sentence: format!("Sentence of {id}."),
            start: 0,
            end: 10,
            contribution: s * 2.0,
            terms: vec![],
        }],
    }
}

fn text(n: usize) -> String {
    format!(
        "Story number {n} about {} with its own words {} and more {} words to make shingles",
        n * 7,
        n * 13,
        n * 31
    )
}

fn model(id: &str) -> ModelInfo {
    ModelInfo::new(id, &format!("# Model {id}"), "{}")
}

fn ingest(
    store: &mut Store,
    m: &ModelInfo,
    rows: &[(Article, Score)],
) -> stance::store::IngestStats {
    let mut f = store.begin(m, "test.jsonl").unwrap();
    for (a, s) in rows {
        f.add(a, s).unwrap();
    }
    f.commit().unwrap()
}

fn sel() -> Selection {
    Selection {
        counterpart: "united states".into(),
        ..Selection::default()
    }
}

fn rows(n: usize) -> Vec<(Article, Score)> {
    (0..n)
        .map(|i| {
            let id = format!("a{i}");
            (
                article(&id, &format!("2025-01-{:02}", i % 28 + 1), &text(i)),
                score(&id, (i as f64 / n as f64) * 2.0 - 1.0),
            )
        })
        .collect()
}

fn db(dir: &Path) -> std::path::PathBuf {
    dir.join("stance.db")
}

#[test]
fn round_trips_articles_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db(dir.path())).unwrap();
    let input = rows(5);
    ingest(&mut store, &model("m1"), &input);
    let out = store.scored(&sel()).unwrap();
    assert_eq!(out.len(), 5);
    let a0 = out.iter().find(|r| r.id == "a0").unwrap();
    assert_eq!(a0.title.as_deref(), Some("Title of a0"));
    assert_eq!(a0.outlet.as_deref(), Some("Test Wire"));
    assert_eq!(a0.counterpart, "United States");
    assert_eq!(a0.actor.as_deref(), Some("Cuba"));
    assert_eq!(a0.model_id, "m1");
    assert_eq!(a0.score, input[0].1.score);
    assert_eq!(a0.evidence, input[0].1.evidence);
    assert_eq!(a0.cluster, "a0");
    let models = store.models().unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!(models[0].card_markdown, "# Model m1");
}

#[test]
fn ingesting_twice_adds_nothing_and_a_new_model_adds_only_scores() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db(dir.path())).unwrap();
    let input = rows(4);
    let first = ingest(&mut store, &model("m1"), &input);
    assert_eq!((first.new, first.present, first.new_scores), (4, 0, 4));
    let before = store.counts().unwrap();
    let again = ingest(&mut store, &model("m1"), &input);
    assert_eq!((again.new, again.present, again.new_scores), (0, 4, 0));
    assert_eq!(store.counts().unwrap(), before);

    let other = ingest(&mut store, &model("m2"), &input);
    assert_eq!((other.new, other.present, other.new_scores), (0, 4, 4));
    let c = store.counts().unwrap();
    assert_eq!((c.articles, c.scores, c.models), (4, 8, 2));
    // Without a model named, the latest model's scores are read.
    assert!(store
        .scored(&sel())
        .unwrap()
        .iter()
        .all(|r| r.model_id == "m2"));
    let m1 = Selection {
        model: Some("m1".into()),
        ..sel()
    };
    assert_eq!(store.scored(&m1).unwrap().len(), 4);
}

#[test]
fn an_uncommitted_file_leaves_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db(dir.path())).unwrap();
    ingest(&mut store, &model("m1"), &rows(3));
    let before = store.counts().unwrap();
    {
        let mut f = store.begin(&model("m2"), "bad.jsonl").unwrap();
        for (a, s) in rows(10) {
            f.add(&a, &s).unwrap();
        }
        // Dropped without commit: what a bad line or a kill does.
    }
    assert_eq!(store.counts().unwrap(), before);
    drop(store);
    assert_eq!(
        Store::open(&db(dir.path())).unwrap().counts().unwrap(),
        before
    );
}

#[test]
fn skips_undated_counterpartless_and_conflicting_articles() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db(dir.path())).unwrap();
    let mut f = store.begin(&model("m1"), "t.jsonl").unwrap();
    let mut undated = article("u", "2025-01-01", "x y z");
    undated.date = Some("sometime in March".into());
    assert_eq!(f.add(&undated, &score("u", 0.1)).unwrap(), Added::Undated);
    let mut nobody = score("n", 0.1);
    nobody.counterpart = None;
    assert_eq!(
        f.add(&article("n", "2025-01-01", "a b c"), &nobody)
            .unwrap(),
        Added::NoCounterpart
    );
    f.add(&article("c", "2025-01-01", "first text"), &score("c", 0.1))
        .unwrap();
    assert_eq!(
        f.add(&article("c", "2025-01-01", "other text"), &score("c", 0.1))
            .unwrap(),
        Added::Conflict
    );
    let stats = f.commit().unwrap();
    assert_eq!(stats.undated, ["u"]);
    assert_eq!(stats.no_counterpart, ["n"]);
    assert_eq!(stats.conflicts, ["c"]);
    assert_eq!(store.counts().unwrap().articles, 1);
}

#[test]
fn reprints_join_the_cluster_of_the_original() {
    let wire = "HAVANA — Cuba on Tuesday rejected a United States offer of talks on migration, \
        saying that new sanctions announced last month made any dialogue impossible while \
        Washington kept what officials called an economic war against the island. The foreign \
        ministry said the offer was a public relations exercise and not a serious proposal.";
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db(dir.path())).unwrap();
    let rows = vec![
        (article("orig", "2025-10-14", wire), score("orig", -0.9)),
        (
            article(
                "copy1",
                "2025-10-14",
                &wire.replace("HAVANA —", "HAVANA (Meridian) —"),
            ),
            score("copy1", -0.8),
        ),
        (
            article(
                "copy2",
                "2025-10-15",
                &format!("{wire} The ministry gave no date."),
            ),
            score("copy2", -0.7),
        ),
        (
            article("other", "2025-10-16", &text(3)),
            score("other", 0.5),
        ),
    ];
    let stats = ingest(&mut store, &model("m1"), &rows);
    assert_eq!(stats.near_duplicates, 2);
    let out = store.scored(&sel()).unwrap();
    let cluster = |id: &str| out.iter().find(|r| r.id == id).unwrap().cluster.clone();
    assert_eq!(cluster("copy1"), "orig");
    assert_eq!(cluster("copy2"), "orig");
    assert_eq!(cluster("other"), "other");
    assert_eq!(store.cluster_size("orig").unwrap(), 3);
    assert_eq!(store.counts().unwrap().clusters, 2);
}

#[test]
fn selection_matches_names_case_insensitively_and_filters_dates() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db(dir.path())).unwrap();
    ingest(&mut store, &model("m1"), &rows(20));
    let s = Selection {
        actor: Some("CUBA".into()),
        from: chrono::NaiveDate::from_ymd_opt(2025, 1, 5),
        to: chrono::NaiveDate::from_ymd_opt(2025, 1, 9),
        ..sel()
    };
    let out = store.scored(&s).unwrap();
    assert_eq!(out.len(), 5);
    let none = Selection {
        counterpart: "Atlantis".into(),
        ..sel()
    };
    assert!(store.scored(&none).unwrap().is_empty());
    let pairs = store.pairs().unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].articles, 20);
}

#[test]
fn two_readers_and_a_writer_at_once_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(dir.path());
    Store::open(&path).unwrap();
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut store = Store::open(&path).unwrap();
            for batch in 0..20 {
                let rows: Vec<_> = (0..25)
                    .map(|i| {
                        let n = batch * 25 + i;
                        let id = format!("w{n}");
                        (article(&id, "2025-02-01", &text(n)), score(&id, 0.2))
                    })
                    .collect();
                ingest(&mut store, &model("m1"), &rows);
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = Store::open(&path).unwrap();
                let mut last = 0;
                for _ in 0..50 {
                    let n = store.scored(&sel()).unwrap().len();
                    assert!(n >= last, "a reader saw the store shrink");
                    assert_eq!(n % 25, 0, "a reader saw a half-committed batch");
                    last = n;
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(Store::open(&path).unwrap().counts().unwrap().articles, 500);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn scores_round_trip_exactly(
        s in -1.0f64..=1.0,
        id in "[a-z0-9]{1,12}",
        body in "[a-zA-Z ,.]{0,200}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&db(dir.path())).unwrap();
        ingest(&mut store, &model("m"), &[(article(&id, "2025-06-30", &body), score(&id, s))]);
        let out = store.scored(&sel()).unwrap();
        prop_assert_eq!(out.len(), 1);
        prop_assert_eq!(out[0].score, s);
        prop_assert_eq!(&out[0].id, &id);
    }
}

/// The journal mode of the store at `path`, read through a connection of its own.
fn journal_mode(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_stores_first_file_skips_the_log_and_leaves_it_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(dir.path());
    let rows: Vec<_> = (0..30)
        .map(|n| {
            let id = format!("a{n}");
            (article(&id, "2025-03-01", &text(n)), score(&id, 0.3))
        })
        .collect();

    // Alone with a new store: its first file goes through a rollback journal, and a file
    // dropped without committing leaves nothing, and the log back on reopening.
    {
        let mut store = Store::open(&path).unwrap();
        let mut file = store.begin(&model("m1"), "first.jsonl").unwrap();
        assert_eq!(file.journal_mode().unwrap(), "truncate");
        file.add(&rows[0].0, &rows[0].1).unwrap();
        drop(file);
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.counts().unwrap().articles, 0);
    assert_eq!(journal_mode(&path), "wal");

    // Committed, the first file leaves the store in the log's mode; the next file, with
    // articles stored, goes through the log.
    let mut file = store.begin(&model("m1"), "first.jsonl").unwrap();
    assert_eq!(file.journal_mode().unwrap(), "truncate");
    for (a, s) in &rows[..20] {
        file.add(a, s).unwrap();
    }
    file.commit().unwrap();
    assert_eq!(journal_mode(&path), "wal");
    let mut file = store.begin(&model("m1"), "second.jsonl").unwrap();
    assert_eq!(file.journal_mode().unwrap(), "wal");
    for (a, s) in &rows[20..] {
        file.add(a, s).unwrap();
    }
    file.commit().unwrap();
    assert_eq!(store.counts().unwrap().articles, 30);

    // A new store that a reader has open keeps the log, so the reader reads while it is
    // written.
    let other = db(&dir.path().join("other"));
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    let mut writer = Store::open(&other).unwrap();
    let reader = Store::open(&other).unwrap();
    let mut file = writer.begin(&model("m1"), "first.jsonl").unwrap();
    assert_eq!(file.journal_mode().unwrap(), "wal");
    file.add(&rows[0].0, &rows[0].1).unwrap();
    assert_eq!(reader.counts().unwrap().articles, 0);
    file.commit().unwrap();
    assert_eq!(reader.counts().unwrap().articles, 1);
}

#[test]
fn opening_a_store_during_its_first_file_waits_for_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(dir.path());
    let (began, wait_began) = std::sync::mpsc::channel();
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut store = Store::open(&path).unwrap();
            let mut file = store.begin(&model("m1"), "first.jsonl").unwrap();
            assert_eq!(file.journal_mode().unwrap(), "truncate");
            file.add(&article("a1", "2025-03-01", &text(1)), &score("a1", 0.3))
                .unwrap();
            began.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            file.commit().unwrap();
        })
    };
    wait_began.recv().unwrap();
    // Opened while the first file is written: it waits for the commit, then reads it.
    let reader = Store::open(&path).unwrap();
    assert_eq!(reader.counts().unwrap().articles, 1);
    writer.join().unwrap();
    assert_eq!(journal_mode(&path), "wal");
}
