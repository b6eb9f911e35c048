//! Fuzz harness of the store: random sequences of ingests (committed or dropped), rescoring
//! under other models and trends over random articles, checked after every step against a
//! plain in-memory model of what the store should hold, and with SQLite's `integrity_check`.
//! CI-sized in `cargo test`; `PROPTEST_CASES` sets a long run (README, Development).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use stance::article::Part;
use stance::report::trend::TrendParams;
use stance::store::{ModelInfo, Selection, Store};
use stance::{Article, Evidence, Label, Score};

const IDS: usize = 10;
const COUNTERPARTS: [&str; 2] = ["United States", "Cuba"];
const ACTORS: [Option<&str>; 2] = [None, Some("Cuba")];

/// One article offered to the store: which of the pool's ids, which of its two texts (a second
/// text under a stored id is a conflict), whether it has a date, toward whom, and its score.
#[derive(Debug, Clone)]
struct Item {
    id: usize,
    version: u8,
    dated: bool,
    counterpart: usize,
    actor: usize,
    score: f64,
}

#[derive(Debug, Clone)]
enum Op {
    /// One file of articles under a model, committed or dropped (as a failed file is).
    Ingest {
        model: usize,
        items: Vec<Item>,
        commit: bool,
    },
    /// Every stored article again under a model, toward one counterpart.
    Rescore {
        model: usize,
        counterpart: usize,
        score: f64,
    },
    /// A trend over what one model scored toward one counterpart.
    Trend { model: usize, counterpart: usize },
}

fn item() -> impl Strategy<Value = Item> {
    (
        0..IDS,
        prop_oneof![9 => Just(0u8), 1 => Just(1u8)],
        prop::bool::weighted(0.9),
        0..COUNTERPARTS.len(),
        0..ACTORS.len(),
        -1.0f64..=1.0,
    )
        .prop_map(|(id, version, dated, counterpart, actor, score)| Item {
            id,
            version,
            dated,
            counterpart,
            actor,
            score,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, prop::collection::vec(item(), 0..8), prop::bool::weighted(0.8))
            .prop_map(|(model, items, commit)| Op::Ingest { model, items, commit }),
        1 => (0..3usize, 0..COUNTERPARTS.len(), -1.0f64..=1.0)
            .prop_map(|(model, counterpart, score)| Op::Rescore { model, counterpart, score }),
        1 => (0..3usize, 0..COUNTERPARTS.len())
            .prop_map(|(model, counterpart)| Op::Trend { model, counterpart }),
    ]
}

fn model_id(m: usize) -> String {
    format!("model{m}")
}

fn date_of(id: usize) -> String {
    let d = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
        + chrono::Duration::days(11 * id as i64);
    d.to_string()
}

/// The article of an item. Texts differ enough that no two are near-duplicates, except where
/// ids 0 and 1 share one story (a reprint, which joins the cluster of the first stored).
fn article_of(it: &Item) -> Article {
    let story = if it.id == 1 { 0 } else { it.id };
    let text = format!(
        "Story {story} tells of talks on harbour {} and grain {} with words w{} x{} y{}{}.",
        story * 7,
        story * 13,
        story * 31,
        story * 37,
        story * 41,
        if it.version == 1 { " Corrected" } else { "" },
    );
    Article {
        id: format!("a{}", it.id),
        title: Some("Title".into()),
        date: it.dated.then(|| date_of(it.id)),
        text,
        ..Article::default()
    }
}

fn score_of(it: &Item) -> Score {
    Score {
        id: format!("a{}", it.id),
        counterpart: Some(COUNTERPARTS[it.counterpart].into()),
        actor: ACTORS[it.actor].map(String::from),
        score: it.score,
        p_conciliatory: (it.score + 1.0) / 2.0,
        p_stance: 1.0,
        label: if it.score > 0.0 {
            Label::Conciliatory
        } else {
            Label::Confrontational
        },
        mentions: 1,
        intercept: 0.0,
        evidence: vec![Evidence {
            part: Part::Text,
            sentence: "A sentence.".into(),
            start: 0,
            end: 11,
            contribution: it.score,
            terms: vec![],
        }],
    }
}

/// What the store should hold.
#[derive(Debug, Clone, Default)]
struct Model {
    /// Stored articles: id -> the version of its text stored first.
    articles: BTreeMap<usize, u8>,
    /// (id, counterpart, actor, model) -> score; the first score stored is kept.
    scores: BTreeMap<(usize, usize, usize, usize), f64>,
    /// Models of committed files.
    models: BTreeSet<usize>,
}

impl Model {
    fn add(&mut self, model: usize, it: &Item) {
        if !it.dated {
            return;
        }
        match self.articles.get(&it.id) {
            Some(&v) if v != it.version => return,
            Some(_) => {}
            None => {
                self.articles.insert(it.id, it.version);
            }
        }
        self.scores
            .entry((it.id, it.counterpart, it.actor, model))
            .or_insert(it.score);
    }

    /// What `scored` should give for one model and counterpart: (id, actor, score), sorted.
    fn scored(&self, model: usize, counterpart: usize) -> Vec<(String, Option<String>, f64)> {
        let mut v: Vec<_> = self
            .scores
            .iter()
            .filter(|((_, c, _, m), _)| *c == counterpart && *m == model)
            .map(|(&(id, _, a, _), &s)| (format!("a{id}"), ACTORS[a].map(String::from), s))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        v
    }
}

fn ingest(store: &mut Store, model: usize, items: &[Item], commit: bool) {
    let info = ModelInfo::new(&model_id(model), "# card", "{}");
    let mut file = store.begin(&info, "fuzz.jsonl").unwrap();
    for it in items {
        file.add(&article_of(it), &score_of(it)).unwrap();
    }
    if commit {
        file.commit().unwrap();
    }
}

fn check(store: &Store, path: &std::path::Path, want: &Model) -> Result<(), TestCaseError> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    prop_assert_eq!(ok, "ok");
    let counts = store.counts().unwrap();
    prop_assert_eq!(counts.articles, want.articles.len());
    prop_assert_eq!(counts.scores, want.scores.len());
    prop_assert_eq!(counts.models, want.models.len());
    for model in 0..3 {
        for (counterpart, name) in COUNTERPARTS.iter().enumerate() {
            let sel = Selection {
                counterpart: name.to_lowercase(),
                model: Some(model_id(model)),
                ..Selection::default()
            };
            let got = store.scored(&sel).unwrap();
            for a in &got {
                let id: usize = a.id[1..].parse().unwrap();
                prop_assert_eq!(a.date.to_string(), date_of(id));
                // A cluster is named by a stored article: itself or the one it reprints.
                prop_assert!(
                    a.cluster == a.id
                        || (a.id == "a1" && a.cluster == "a0")
                        || (a.id == "a0" && a.cluster == "a1"),
                    "{} in {}",
                    a.id,
                    a.cluster
                );
            }
            let mut got: Vec<_> = got.into_iter().map(|a| (a.id, a.actor, a.score)).collect();
            got.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            prop_assert_eq!(got, want.scored(model, counterpart));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::fuzz_config(32))]

    /// After every step of a random sequence, the store passes its integrity check and its
    /// counts and scored articles are the in-memory model's; trends over it never panic.
    #[test]
    fn the_store_agrees_with_a_plain_model_after_every_step(
        ops in prop::collection::vec(op(), 1..12)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path).unwrap();
        let mut want = Model::default();
        for op in &ops {
            match op {
                Op::Ingest { model, items, commit } => {
                    ingest(&mut store, *model, items, *commit);
                    if *commit {
                        for it in items {
                            want.add(*model, it);
                        }
                        want.models.insert(*model);
                    }
                }
                Op::Rescore { model, counterpart, score } => {
                    let items: Vec<Item> = want
                        .articles
                        .iter()
                        .map(|(&id, &version)| Item {
                            id,
                            version,
                            dated: true,
                            counterpart: *counterpart,
                            actor: 0,
                            score: *score,
                        })
                        .collect();
                    ingest(&mut store, *model, &items, true);
                    for it in &items {
                        want.add(*model, it);
                    }
                    want.models.insert(*model);
                }
                Op::Trend { model, counterpart } => {
                    let sel = Selection {
                        counterpart: COUNTERPARTS[*counterpart].into(),
                        model: Some(model_id(*model)),
                        ..Selection::default()
                    };
                    let articles = store.scored(&sel).unwrap();
                    let n = articles.len();
                    let params = TrendParams::default().min_stories(1).check().unwrap();
                    match stance::report::analyse("fuzz", articles, &params) {
                        Ok(a) => prop_assert!(n == 0 || !a.trend.stories.is_empty()),
                        Err(e) => prop_assert!(n == 0, "{}", e),
                    }
                }
            }
            check(&store, &path, &want)?;
        }
    }
}
