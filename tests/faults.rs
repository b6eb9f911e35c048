//! Faults around the store, through the built binary: `ingest` killed with SIGKILL at random
//! moments and rerun, a store directory it may not write, a disk that fills up, and two
//! ingests and a trend racing on one store. Afterwards the store passes SQLite's
//! `integrity_check` and holds, row for row, what a clean run writes: nothing lost, nothing
//! twice.
//!
//! The kill loop runs at CI size (300 articles, 5 kills); `STANCE_FAULT_ARTICLES` and
//! `STANCE_FAULT_KILLS` set the full size (README, Development: 5,000 and 20).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::types::Value;
use stance::rng::SplitMix64;

const BIN: &str = env!("CARGO_BIN_EXE_stance");

fn stance(dir: &Path, args: &[&str]) -> Command {
    stance_at(Path::new(BIN), dir, args)
}

/// `stance` run from the binary at `bin`.
fn stance_at(bin: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(args).current_dir(dir).env_remove("STANCE_DB");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    stance(dir, args).output().expect("stance runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const OPENINGS: [&str; 6] = [
    "Cuba welcomed talks with the United States and praised the dialogue on",
    "Cuba condemned the United States and accused it of economic war over",
    "Cuba signed an agreement with the United States on",
    "Cuba rejected the United States offer and threatened countermeasures on",
    "Rain fell in Havana while markets in the United States reported figures on",
    "Cuba expelled a diplomat of the United States after a dispute over",
];
const TOPICS: [&str; 10] = [
    "harbours",
    "customs",
    "fisheries",
    "energy",
    "railways",
    "vaccines",
    "grain",
    "tourism",
    "cables",
    "visas",
];

/// Writes `n` articles into `files` JSONL files in `dir` and returns their names. Every
/// thirteenth article reprints an earlier one under a new id (a near-duplicate), every
/// nineteenth has no date (skipped and reported).
fn write_articles(dir: &Path, prefix: &str, n: usize, files: usize) -> Vec<String> {
    let per = n.div_ceil(files);
    let mut names = Vec::new();
    for f in 0..files {
        let mut lines = Vec::new();
        for i in f * per..((f + 1) * per).min(n) {
            let body = |k: usize| {
                let topics: Vec<&str> = (0..6).map(|j| TOPICS[(k * 7 + j * 3) % 10]).collect();
                format!(
                    "{} {}. Officials said on day {k} that w{k} x{} y{} would follow.",
                    OPENINGS[k % 6],
                    topics.join(" and "),
                    k * 7,
                    k * 13
                )
            };
            let text = if i % 13 == 12 {
                format!("{} Reprinted.", body(i - 5))
            } else {
                body(i)
            };
            let mut v = serde_json::json!({
                "id": format!("{prefix}{i}"), "title": format!("Story {i}"), "outlet": "Wire",
                "text": text,
            });
            if i % 19 != 18 {
                v["date"] = serde_json::json!(format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1));
            }
            lines.push(v.to_string());
        }
        let name = format!("{prefix}{f:03}.jsonl");
        std::fs::write(dir.join(&name), lines.join("\n") + "\n").unwrap();
        names.push(name);
    }
    names
}

fn ingest_args<'a>(files: &'a [String], db: &'a str) -> Vec<&'a str> {
    let mut args = vec!["ingest"];
    args.extend(files.iter().map(String::as_str));
    args.extend([
        "--db",
        db,
        "--counterpart",
        "United States",
        "--actor",
        "Cuba",
    ]);
    args
}

/// Every row of the store's tables, sorted, without the times rows were added.
fn dump(db: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut out = Vec::new();
    for (table, columns) in [
        ("schema_version", "version"),
        ("models", "id, hash, card, card_json"),
        (
            "articles",
            "id, date, title, outlet, url, content_hash, text, source, minhash, cluster",
        ),
        ("scores", "*"),
        ("minhash_bands", "*"),
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT {columns} FROM {table}"))
            .unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap()
            .map(|r| format!("{table}: {:?}", r.unwrap()))
            .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Articles stored per source file.
fn per_file(db: &Path) -> Vec<(String, usize)> {
    if !db.exists() {
        return Vec::new();
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let Ok(mut stmt) = conn.prepare("SELECT source, count(*) FROM articles GROUP BY source") else {
        return Vec::new(); // killed before the schema was committed
    };
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// Kill -9 loop: an ingest of many files is killed at a random moment (uniform over a clean
/// run's duration) and rerun, and the rerun killed again, until a rerun completes; then the
/// store must equal a clean single run row for row, and the next round starts from an empty
/// store, until `kills` kills have landed while `ingest` ran. After every kill the store is
/// whole: its integrity check passes and each file's articles are all there or none.
#[test]
fn killed_ingests_rerun_to_the_clean_store() {
    let n = env_or("STANCE_FAULT_ARTICLES", 300);
    let kills = env_or("STANCE_FAULT_KILLS", 5);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let files = write_articles(dir, "k", n, 10);
    let started = Instant::now();
    let o = run(dir, &ingest_args(&files, "clean.db"));
    assert!(o.status.success(), "{}", stderr(&o));
    let clean_time = started.elapsed();
    let clean = dump(&dir.join("clean.db"));
    let full = per_file(&dir.join("clean.db"));

    let mut rng = SplitMix64::new(env_or("STANCE_FAULT_SEED", 17) as u64);
    let killed = dir.join("killed.db");
    let (mut landed, mut rounds, mut partial) = (0, 0, 0);
    while landed < kills {
        rounds += 1;
        assert!(
            rounds <= 10 * kills,
            "{landed} of {kills} kills landed in {rounds} rounds"
        );
        for f in [
            "killed.db",
            "killed.db-wal",
            "killed.db-shm",
            "killed.db-journal",
        ] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        loop {
            let mut child = stance(dir, &ingest_args(&files, "killed.db"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let wait = clean_time.as_micros() as usize;
            std::thread::sleep(Duration::from_micros(rng.below(wait.max(1)) as u64));
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "a rerun failed: {status}");
                break; // this rerun completed
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            landed += 1;
            if killed.exists() {
                assert_eq!(integrity(&killed), "ok", "after kill {landed}");
            }
            let now = per_file(&killed);
            for (source, count) in &now {
                assert!(
                    full.contains(&(source.clone(), *count)),
                    "{source}: {count} articles after kill {landed}"
                );
            }
            partial += usize::from(!now.is_empty() && now.len() < full.len());
        }
        assert_eq!(integrity(&killed), "ok");
        let after = dump(&killed);
        assert_eq!(after.len(), clean.len());
        assert!(
            after == clean,
            "round {rounds}: the store after its kills differs from a clean run"
        );
    }
    eprintln!(
        "{n} articles: {landed} kills landed during ingest in {rounds} rounds ({partial} left some files but not all stored), clean run {clean_time:?}"
    );
}

/// Writes `files` into a store first, so the faults below hit a store that already holds
/// articles (written through its write-ahead log).
fn store_with_one_file(dir: &Path) -> (Vec<String>, Vec<String>) {
    let first = write_articles(dir, "a", 30, 1);
    let o = run(dir, &ingest_args(&first, "s.db"));
    assert!(o.status.success(), "{}", stderr(&o));
    let more = write_articles(dir, "b", 400, 2);
    (first, more)
}

/// A store directory `ingest` may not write to: a clear error (exit 2) and the store as it
/// was. Run as root (which writes anywhere), `ingest` runs as the user nobody.
#[test]
fn a_read_only_store_directory_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (_, more) = store_with_one_file(dir);
    let db = dir.join("s.db");
    let before = dump(&db);
    let root = unsafe { libc::geteuid() } == 0;
    let set = |mode: u32| {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            let m = if p.is_dir() {
                mode | 0o111
            } else {
                mode & 0o444
            };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o111)).unwrap();
    };
    set(0o555);
    let mut c = stance(dir, &ingest_args(&more, "s.db"));
    // Nobody may not reach the built binary (a clone in a private temporary directory): a
    // copy of it, in a directory anyone may read, is what runs.
    let exe = tempfile::tempdir().unwrap();
    if root {
        // Root writes through any mode bits: run as nobody, who may read but not write here.
        let parent_ok = tmp.path().parent().is_some_and(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
        });
        if !parent_ok {
            eprintln!(
                "skipped: running as root and the temp dir's parent is not searchable by others"
            );
            set(0o755);
            return;
        }
        let copy = exe.path().join("stance");
        std::fs::copy(BIN, &copy).unwrap();
        std::fs::set_permissions(exe.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        c = stance_at(&copy, dir, &ingest_args(&more, "s.db"));
        c.uid(65534).gid(65534);
    }
    let o = c.output().unwrap();
    set(0o755);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("stance: ") && !err.contains("panicked"),
        "{err}"
    );
    // Root's nobody opens the store and fails at its first write (a readonly database);
    // elsewhere SQLite may already refuse to open it. Either way the message names the store.
    assert!(err.contains("s.db"), "{err}");
    assert_eq!(integrity(&db), "ok");
    assert!(dump(&db) == before, "the store changed");
}

/// A disk that fills up while `ingest` writes (the process may write files only up to a
/// size, as `ulimit -f` sets; the signal that would kill it is ignored, so writes fail with
/// EFBIG as on a full disk): a clear error (exit 2), the store as it was, and a later ingest
/// with room to write stores everything as a clean run does.
#[test]
fn a_full_disk_is_a_clear_error_and_leaves_the_store_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (first, more) = store_with_one_file(dir);
    let db = dir.join("s.db");
    let before = dump(&db);
    let limit = std::fs::metadata(&db).unwrap().len() + 64 * 1024;
    let mut c = stance(dir, &ingest_args(&more, "s.db"));
    unsafe {
        c.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let r = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = c.output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("stance: ") && !err.contains("panicked"),
        "{err}"
    );
    assert!(err.contains("s.db") && err.contains("disk"), "{err}");
    assert_eq!(integrity(&db), "ok");
    assert!(dump(&db) == before, "the store changed");

    let o = run(dir, &ingest_args(&more, "s.db"));
    assert!(o.status.success(), "{}", stderr(&o));
    let all: Vec<String> = first.iter().chain(&more).cloned().collect();
    let o = run(dir, &ingest_args(&all, "clean.db"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dump(&db) == dump(&dir.join("clean.db")));
}

/// Two ingests of different files and a trend, started together on one store: all three
/// succeed (a writer waits for the other), and the store holds every article of both files
/// with its score, as one ingest of everything writes them (near-duplicate clusters aside,
/// which depend on which file came first).
#[test]
fn two_ingests_and_a_trend_racing_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (first, more) = store_with_one_file(dir);
    let one = [more[0].clone()];
    let two = [more[1].clone()];
    let trend = [
        "trend",
        "--db",
        "s.db",
        "--counterpart",
        "United States",
        "--out",
        "t.svg",
        "--min-articles",
        "1",
    ];
    let children: Vec<_> = [
        ingest_args(&one, "s.db"),
        ingest_args(&two, "s.db"),
        trend.to_vec(),
    ]
    .iter()
    .map(|args| {
        stance(dir, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    })
    .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let db = dir.join("s.db");
    assert_eq!(integrity(&db), "ok");
    let all: Vec<String> = first.iter().chain(&more).cloned().collect();
    let o = run(dir, &ingest_args(&all, "clean.db"));
    assert!(o.status.success(), "{}", stderr(&o));
    // Row for row but the cluster (the last column of an article row): compare the rest.
    let without_clusters = |rows: Vec<String>| -> Vec<String> {
        rows.into_iter()
            .map(|r| match r.strip_prefix("articles: ") {
                Some(a) => a[..a.rfind(", ").unwrap()].to_string(),
                None => r,
            })
            .collect()
    };
    let (got, want) = (
        without_clusters(dump(&db)),
        without_clusters(dump(&dir.join("clean.db"))),
    );
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "the raced store differs from one ingest of everything"
    );
}
