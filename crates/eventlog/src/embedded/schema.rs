//! The SQLite file: its settings and tables. Settings that decide durability and disk
//! reclaim are checked on every open, not only at creation.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::Error;

/// Bumped with every change to the tables below. Version 2 added `carried`; a file of
/// version 1 gets it at open (its `accounts.source_position`, no longer used, stays).
const SCHEMA_VERSION: i64 = 2;

/// `accounts` keeps per account what must outlive its items: the last id assigned (ids
/// are never reused, even when retention deleted everything) and the highest id deleted
/// (for `gap` after a restart).
///
/// `items` holds the item as served in `json`; a page is one ordered range of the index
/// on `(account, ms, seq)`. It is a rowid table on purpose: a WITHOUT ROWID table keeps
/// rows in index pages, where anything over about a quarter of a page spills into
/// overflow pages, and items of 1-2 kB then took several times their size on disk.
///
/// `carried` records which outbox row each relayed item carried, written in the append's
/// transaction, so the relay never appends a row twice; `ms` is the time in the item's
/// id, and retention deletes a record with its item.
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    last_ms INTEGER,
    last_seq INTEGER,
    deleted_ms INTEGER,
    deleted_seq INTEGER
);
CREATE TABLE IF NOT EXISTS items (
    account INTEGER NOT NULL,
    ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS items_by_id ON items (account, ms, seq);
CREATE TABLE IF NOT EXISTS carried (
    account INTEGER NOT NULL,
    row INTEGER NOT NULL,
    ms INTEGER NOT NULL,
    PRIMARY KEY (account, row)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS carried_by_time ON carried (account, ms);
";

/// A writer waits this long for a lock another process holds before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Items are a few hundred bytes to a few kB of JSON; with larger pages most of them fit
/// in their b-tree page instead of spilling into overflow pages. Set when the file is made.
const PAGE_SIZE: i64 = 8192;

/// `auto_vacuum` value of INCREMENTAL.
const AUTO_VACUUM_INCREMENTAL: i64 = 2;

pub(super) fn open_writer(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Purged pages must go back to the file system, which needs incremental auto-vacuum.
    // It can only be chosen before the first table exists; a file made without it is
    // converted once by VACUUM.
    let pages: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
    if pages == 0 {
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    }
    let auto_vacuum: i64 = conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
    if auto_vacuum != AUTO_VACUUM_INCREMENTAL {
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        conn.execute_batch("VACUUM")?;
    }
    // WAL lets readers work during writes; FULL syncs the WAL at every commit, so an
    // append that returned Ok survives a crash (NORMAL would not, with WAL).
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Corrupt(format!(
            "cannot switch {} to WAL (journal_mode is {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(TABLES)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Error::Corrupt(format!(
            "{} has schema version {version}, newer than this program's {SCHEMA_VERSION}",
            path.display()
        )));
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(conn)
}

pub(super) fn open_reader(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Reads never write: a bug that tried would fail here instead of racing the writer.
    conn.pragma_update(None, "query_only", true)?;
    // Live readers ask for the tail again and again: map the file and keep a larger cache
    // so those pages come from memory.
    conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
    conn.pragma_update(None, "cache_size", -16 * 1024)?;
    Ok(conn)
}
