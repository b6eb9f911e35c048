//! Opening a store: the connection's settings (busy timeout, foreign keys, page size, cache),
//! the write-ahead log, waiting while another command ingests a new store's first file, and the
//! migration to the current schema; and switching a new store's first file to a rollback
//! journal.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::{schema, Store};
use crate::error::{Error, Result};

/// How long a connection waits for a lock held by another process before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    ///
    /// # Errors
    /// [`Error::OpenStore`] when the file cannot be opened or created; [`Error::StoreFile`]
    /// when it is not a database, cannot be set up (write-ahead log, still busy with another
    /// command's first ingest), or was written by a newer schema ([`Error::NewerSchema`]).
    pub fn open(path: &Path) -> Result<Store> {
        let mut conn = Connection::open(path).map_err(|source| Error::OpenStore {
            path: path.to_path_buf(),
            source,
        })?;
        set_up(&mut conn).map_err(|e| Error::StoreFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        Ok(Store { conn })
    }
}

/// Sets an open store's connection up: busy timeout, foreign keys, page size, the
/// write-ahead log (waiting while another command ingests a new store's first file), cache,
/// and the migration to the current schema.
fn set_up(conn: &mut Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // 8 KiB pages for a new store (an existing one keeps its own): an article's text takes
    // half as many overflow pages, and ingest is faster for it (BENCHMARKS.md, Ingest).
    conn.pragma_update(None, "page_size", 8 * 1024)?;
    // A store whose first file is being ingested by another connection is in the
    // rollback-journal mode until that file commits (see `rollback_journal_if_alone`).
    // Asked for the log meanwhile, SQLite answers that mode, or busy at once (leaving the
    // mode needs a lock the writer holds): both mean wait, as for a lock.
    let waited = std::time::Instant::now();
    loop {
        let mode = match set_journal_mode(conn, "WAL") {
            Ok(mode) => mode,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                FIRST_FILE_JOURNAL.to_string()
            }
            Err(e) => return Err(e.into()),
        };
        if mode.eq_ignore_ascii_case("wal") {
            break;
        }
        if !mode.eq_ignore_ascii_case(FIRST_FILE_JOURNAL) {
            return Err(Error::JournalMode { mode });
        }
        if waited.elapsed() > BUSY_TIMEOUT {
            return Err(Error::StoreBusy {
                seconds: BUSY_TIMEOUT.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A 16 MiB page cache instead of SQLite's 2 MiB: a large ingest then spills far fewer
    // pages to the log before it commits (BENCHMARKS.md, Ingest).
    conn.pragma_update(None, "cache_size", -16 * 1024)?;
    schema::migrate(conn)
}

/// Switches a store that holds no article yet, and that no other connection has open, from
/// the write-ahead log to a rollback journal for its first file; true if it did.
///
/// Through the log, every page of a large first file is written twice: into the log while the
/// transaction grows, then into the database when it commits. Through a rollback journal a
/// new page is written once, and the journal holds only the few pages that existed before, so
/// a large first ingest is faster (BENCHMARKS.md, Ingest). A failed or killed ingest
/// still leaves the store as it was (the journal rolls the file back when the store is next
/// opened). The price: while that first file is ingested, other commands opening the store
/// wait for it (`Store::open`, up to [`BUSY_TIMEOUT`]), where through the log they would have
/// read the empty store. Once a store holds articles, or when another connection is open,
/// nothing changes: readers never block the writer.
pub(super) fn rollback_journal_if_alone(conn: &Connection) -> Result<bool> {
    let empty: bool = conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM articles)", [], |r| {
        r.get(0)
    })?;
    if !empty {
        return Ok(false);
    }
    // Leaving the log needs the only connection: ask without waiting for others to close.
    conn.busy_timeout(Duration::ZERO)?;
    let mode = set_journal_mode(conn, FIRST_FILE_JOURNAL);
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(matches!(mode, Ok(m) if m.eq_ignore_ascii_case(FIRST_FILE_JOURNAL)))
}

/// The journal mode of a store while its first file is ingested, alone.
const FIRST_FILE_JOURNAL: &str = "truncate";

/// Sets the journal mode; SQLite answers with the mode in force afterwards.
pub(super) fn set_journal_mode(conn: &Connection, mode: &str) -> rusqlite::Result<String> {
    conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0))
}
