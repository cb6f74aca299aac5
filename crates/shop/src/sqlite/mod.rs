//! The SQLite backend: one file under the data directory, in WAL mode, migrated at open.
//!
//! One thread owns the only writing connection and commits the write closures that
//! arrive together in one transaction, each closure in a savepoint of its own (group
//! commit, `writer.rs`); reads run on a small pool of read-only connections
//! (`readers.rs`), which WAL lets read the last commit while the writer writes.
//! [`SqliteTx`] works over any `&Connection`, so the rules run unchanged in a savepoint
//! of the writer's transaction or in a reader's snapshot. Every statement is fixed text
//! and is prepared once per connection (the statement cache).
//!
//! A commit reaches the disk as [`ShopSync`] says: `synchronous=FULL` by default, so an
//! answered change survives a power cut; `NORMAL` survives a crash of the process only.
mod accounts;
mod catalog;
mod orders;
mod outbox;
mod readers;
mod sessions;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use protocol::{Money, NumId};

use crate::storage::{db_count, db_id, db_u64, lookup_id};
use rusqlite::Connection;

use crate::storage::Tx;
use crate::{Error, ShopSync};
use readers::Readers;
use writer::Writer;

pub(crate) const FILE_NAME: &str = "shop.sqlite";

/// The schema, in order. A store records how many it has applied in `user_version`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_accounts_and_keys.sql"),
    include_str!("migrations/0002_catalog.sql"),
    include_str!("migrations/0003_orders.sql"),
    include_str!("migrations/0004_integrity.sql"),
    include_str!("migrations/0005_shop_pages.sql"),
    include_str!("migrations/0006_catalog_version.sql"),
    include_str!("migrations/0007_images.sql"),
];

/// Statements kept prepared per connection: more than this backend has (about 70), so
/// none is ever parsed twice on one connection.
const STATEMENT_CACHE: usize = 128;

#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    writer: Arc<Writer>,
    readers: Arc<Readers>,
    path: PathBuf,
}

/// One transaction (or savepoint) of the SQLite backend.
pub(crate) struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl SqliteTx<'_> {
    /// Runs one statement from the connection's statement cache: every statement of this
    /// backend is fixed text, so each is parsed once per connection.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }

    /// The first row of a cached statement, read by `map`.
    fn query_row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.conn.prepare_cached(sql)?.query_row(params, map)
    }

    /// Every row `sql` returns, each read by `map`.
    fn all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, Error> {
        let mut stmt = self.conn.prepare_cached(sql).db()?;
        let rows = stmt.query_map(params, map).db()?;
        rows.collect::<Result<Vec<_>, _>>().db()
    }
}

impl SqliteStore {
    pub(crate) async fn open(dir: &Path, sync: ShopSync) -> Result<Self, Error> {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(&dir, sync)).await?
    }

    fn open_blocking(dir: &Path, sync: ShopSync) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let mut conn = Connection::open(&path).db()?;
        // First, so that every statement below waits for another process's write
        // (a server beside this CLI command) instead of failing at once.
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL").db()?;
        conn.pragma_update(None, "synchronous", sync.pragma())
            .db()?;
        conn.pragma_update(None, "foreign_keys", "ON").db()?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            writer: Arc::new(Writer::start(conn)?),
            readers: Arc::new(Readers::new(&path)),
            path,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in the writer's next group commit; answers once that commit is durable.
    pub(crate) async fn transact<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        self.writer.transact(f).await
    }

    /// Runs `f` over one snapshot on a read connection, on the calling thread. A panic
    /// in `f` is an error, as it is on the blocking pool; its connection is dropped.
    pub(crate) fn read_here<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.readers.run(f)))
            .unwrap_or_else(|_| Err(Error::Store("a shop read panicked".into())))
    }

    /// Runs `f` over one snapshot on a read connection, on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || readers.run(f)).await?
    }
}

/// What every connection of the store, writer or reader, is set up with.
fn configure(conn: &Connection) -> Result<(), Error> {
    conn.busy_timeout(Duration::from_secs(5)).db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Brings the schema up to date. A store already up to date is only read: opening it
/// beside a running server takes no write lock. Otherwise the migration takes the
/// write lock first (`BEGIN IMMEDIATE`, waiting for it like any write): a transaction
/// that read first and then wrote would fail at once with "database is locked" while
/// another connection writes, as SQLite does not wait to upgrade a read.
fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if user_version(conn)? == known {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .db()?;
    let applied = user_version(&tx)?;
    let Ok(start) = usize::try_from(applied) else {
        return Err(Error::Store(format!("invalid schema version {applied}")));
    };
    if applied > known {
        return Err(Error::SchemaTooNew {
            found: applied,
            known,
        });
    }
    for sql in &MIGRATIONS[start..] {
        tx.execute_batch(sql).db()?;
    }
    tx.pragma_update(None, "user_version", known).db()?;
    tx.commit().db()?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<i64, Error> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .db()
}

/// Turns SQLite's errors into the store's, keeping the message.
pub(crate) trait SqlResult<T> {
    fn db(self) -> Result<T, Error>;
}

impl<T> SqlResult<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, Error> {
        self.map_err(|e| Error::Store(e.to_string()))
    }
}

fn conversion(
    idx: usize,
    ty: rusqlite::types::Type,
    e: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, Box::new(e))
}

/// An id column.
fn num(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<NumId> {
    let v: i64 = row.get(idx)?;
    u64::try_from(v)
        .map(NumId)
        .map_err(|e| conversion(idx, rusqlite::types::Type::Integer, e))
}

fn opt_num(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<NumId>> {
    let v: Option<i64> = row.get(idx)?;
    v.map(|v| {
        u64::try_from(v)
            .map(NumId)
            .map_err(|e| conversion(idx, rusqlite::types::Type::Integer, e))
    })
    .transpose()
}

/// Amounts are stored as decimal text, written only from `Money`.
fn money(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Money> {
    let text: String = row.get(idx)?;
    text.parse()
        .map_err(|e| conversion(idx, rusqlite::types::Type::Text, e))
}
