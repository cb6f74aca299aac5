//! The SQLite backend: one file under the data directory, in WAL mode with
//! `synchronous=FULL`, migrated at open.
//!
//! Today one connection serves every transaction, each `BEGIN IMMEDIATE` so writers queue
//! instead of failing on a lock upgrade. [`SqliteTx`] works over any `&Connection`, so a
//! later step can hand it a savepoint (a writer thread committing several transactions'
//! closures at once) or a read connection from a pool without touching the rules.

mod accounts;
mod catalog;
mod orders;
mod outbox;
mod sessions;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::{Money, NumId};

use crate::storage::{db_count, db_id, db_u64, lookup_id};
use rusqlite::{Connection, TransactionBehavior};

use crate::Error;
use crate::storage::Tx;

pub(crate) const FILE_NAME: &str = "shop.sqlite";

/// The schema, in order. A store records how many it has applied in `user_version`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_accounts_and_keys.sql"),
    include_str!("migrations/0002_catalog.sql"),
    include_str!("migrations/0003_orders.sql"),
    include_str!("migrations/0004_integrity.sql"),
    include_str!("migrations/0005_shop_pages.sql"),
];

/// Statements kept prepared per connection: more than this backend has (about 70), so
/// none is ever parsed twice on one connection.
const STATEMENT_CACHE: usize = 128;

#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
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
    pub(crate) async fn open(dir: &Path) -> Result<Self, Error> {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(&dir)).await?
    }

    fn open_blocking(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let mut conn = Connection::open(&path).db()?;
        conn.pragma_update(None, "journal_mode", "WAL").db()?;
        conn.pragma_update(None, "synchronous", "FULL").db()?;
        conn.pragma_update(None, "foreign_keys", "ON").db()?;
        conn.busy_timeout(Duration::from_secs(5)).db()?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) async fn transact<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        self.run(TransactionBehavior::Immediate, true, f).await
    }

    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        self.run(TransactionBehavior::Deferred, false, f).await
    }

    async fn run<T, F>(&self, behavior: TransactionBehavior, commit: bool, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave SQLite half-written (the
            // transaction rolls back when dropped), so a poisoned lock is still safe.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            let tx = guard.transaction_with_behavior(behavior).db()?;
            let out = f(&mut SqliteTx { conn: &tx })?;
            if commit {
                tx.commit().db()?;
            }
            Ok(out)
        })
        .await?
    }
}

fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let tx = conn.transaction().db()?;
    let applied: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .db()?;
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
