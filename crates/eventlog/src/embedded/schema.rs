//! The SQLite file: its settings and tables. Settings that decide durability and disk
//! reclaim are checked on every open, not only at creation.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::Error;

/// Bumped with every change to the tables below; older files are migrated on open, one
/// version at a time.
const SCHEMA_VERSION: i64 = 3;

/// `accounts` keeps per account what must outlive its items: the last id assigned (ids
/// are never reused, even when retention deleted everything), the highest id deleted
/// (for `gap` after a restart), and how many items it has on disk (for metrics, without
/// counting rows).
///
/// `items` holds each item's JSON after its id (the id is the key, and is put back in
/// front on read), compressed with the dictionary `dict` names (0: stored as is; see
/// `compress.rs`). A page is one ordered range of the key `(account, ms, seq)`. The table
/// is clustered on that key (WITHOUT ROWID), so a row and its key are stored once:
/// compressed items are small enough to stay in their b-tree page.
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
    deleted_seq INTEGER,
    items INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dictionaries (
    id INTEGER PRIMARY KEY,
    bytes BLOB NOT NULL
);
";

/// The columns of `items` (see above).
const ITEMS: &str = "(
    account INTEGER NOT NULL,
    ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    dict INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (account, ms, seq)
) WITHOUT ROWID";

/// The table of `carried` (see above).
const CARRIED: &str = "
CREATE TABLE IF NOT EXISTS carried (
    account INTEGER NOT NULL,
    row INTEGER NOT NULL,
    ms INTEGER NOT NULL,
    PRIMARY KEY (account, row)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS carried_by_time ON carried (account, ms);
";

/// Version 1 kept each item's whole JSON, uncompressed, in a rowid table with a separate
/// index. Its items move over as they are (dictionary 0), without their id.
/// Runs after `CREATE TABLE items_v2 {ITEMS}`.
const FROM_VERSION_1: &str = r#"
INSERT INTO items_v2 (account, ms, seq, type, dict, body)
    SELECT account, ms, seq, type, 0,
           CAST(substr(json, length('{"id":"' || ms || '-' || seq || '"') + 1) AS BLOB)
    FROM items;
DROP TABLE items;
ALTER TABLE items_v2 RENAME TO items;
ALTER TABLE accounts ADD COLUMN items INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET items = (SELECT COUNT(*) FROM items WHERE account = accounts.id);
"#;

/// Version 2 remembered per account the last outbox row relayed (`source_position`);
/// version 3 records every row an append carried, in `carried`, instead. Runs after
/// `CARRIED`. The old mark is dropped: outbox ids need not grow in commit order (they do
/// not with PostgreSQL), so a mark cannot say which rows were relayed.
const FROM_VERSION_2: &str = "
ALTER TABLE accounts DROP COLUMN source_position;
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
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Error::Corrupt(format!(
            "{} has schema version {version}, newer than this program's {SCHEMA_VERSION}",
            path.display()
        )));
    }
    if version == 0 {
        conn.execute_batch(TABLES)?;
        conn.execute_batch(&format!("CREATE TABLE IF NOT EXISTS items {ITEMS};"))?;
        conn.execute_batch(CARRIED)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    } else if version < SCHEMA_VERSION {
        // Every step of an older file in one transaction: it ends at this version or is
        // left as it was.
        let tx = conn.unchecked_transaction()?;
        if version < 2 {
            tx.execute_batch(&format!("CREATE TABLE items_v2 {ITEMS};"))?;
            tx.execute_batch(FROM_VERSION_1)?;
        }
        if version < 3 {
            tx.execute_batch(CARRIED)?;
            tx.execute_batch(FROM_VERSION_2)?;
        }
        tx.execute_batch(TABLES)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
    }
    Ok(conn)
}

pub(super) fn open_reader(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Reads never write: a bug that tried would fail here instead of racing the writer.
    conn.pragma_update(None, "query_only", true)?;
    // The tail live readers ask for is served from the log's own cache, not from here;
    // a small page cache per connection keeps the server's memory bounded (the OS caches
    // the file anyway).
    conn.pragma_update(None, "cache_size", -2 * 1024)?;
    Ok(conn)
}
