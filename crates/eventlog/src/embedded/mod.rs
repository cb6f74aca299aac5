//! The embedded backend: one SQLite file under the data directory.
//!
//! One writer thread owns the only writing connection, so ids are assigned by a single
//! sequencer inside the write transaction, and appends that arrive together share one
//! transaction and one fsync. Items are stored compressed (`compress`). After each
//! commit the writer puts the items in the recent-items cache (`cache`), which answers
//! the reads of live readers from memory; other reads use a small pool of connections on
//! the blocking pool, where WAL lets them read committed snapshots while the writer works.
//!
//! One process owns the file (the server takes a lock on its data directory): the cache
//! knows only the appends of its own writer.

mod buffers;
mod cache;
mod compress;
mod convert;
mod reader;
mod schema;
mod writer;

use std::path::Path;
use std::sync::Arc;

use protocol::{AccountName, ItemId};
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::error::Error;
use crate::item::{LogStats, NewItem};
use crate::store::{Bounds, BoxFuture, Scan, Scanned, Store};
use crate::waiters::Waiters;
use cache::{Cache, Lookup};
use compress::Dictionaries;
use convert::opt_id_from_sql;
use reader::ReaderPool;
use writer::{Command, Writer};

/// The file name under the configured directory.
pub(crate) const FILE_NAME: &str = "eventlog.sqlite";

/// Rows deleted per purge transaction, so that appends are not held up for long while a
/// large backlog expires.
const PURGE_CHUNK: u64 = 20_000;

#[derive(Debug)]
pub(crate) struct EmbeddedStore {
    writer: Writer,
    readers: Arc<ReaderPool>,
    cache: Arc<Cache>,
}

impl EmbeddedStore {
    /// `cache_bytes` bounds the recent-items cache (the JSON it holds).
    pub(crate) async fn open(
        dir: &Path,
        clock: Arc<dyn Clock>,
        waiters: Arc<Waiters>,
        cache_bytes: usize,
    ) -> Result<Self, Error> {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|source| Error::CreateDir {
                path: dir.clone(),
                source,
            })?;
            let path = dir.join(FILE_NAME);
            let conn = schema::open_writer(&path)?;
            let cache = Arc::new(Cache::new(cache_bytes));
            let dictionaries = Arc::new(Dictionaries::default());
            let accounts = know_accounts(&conn, &cache)?;
            warm_cache(&conn, &cache, &dictionaries, &accounts)?;
            Ok(EmbeddedStore {
                writer: Writer::spawn(
                    conn,
                    clock,
                    waiters,
                    Arc::clone(&cache),
                    Arc::clone(&dictionaries),
                )?,
                readers: Arc::new(ReaderPool::new(path, dictionaries)),
                cache,
            })
        })
        .await?
    }

    async fn scan_account(&self, account: AccountName, scan: Scan) -> Result<Scanned, Error> {
        match self.cache.lookup(&account, &scan) {
            Lookup::Unknown => return Ok(Scanned::default()),
            Lookup::Hit(page) => return Ok(page),
            Lookup::Miss {
                generation,
                edge_only: true,
            } => {
                // The items are in memory, only the bounds are not: learn them, then
                // answer from memory.
                let (name, horizon) = (account.clone(), scan.horizon);
                let edge = self
                    .readers
                    .run(move |conn| reader::edge(conn, &name, horizon))
                    .await?;
                self.cache.set_edge(&account, generation, edge);
                if let Lookup::Hit(page) = self.cache.lookup(&account, &scan) {
                    return Ok(page);
                }
            }
            Lookup::Miss { .. } => {}
        }
        self.readers
            .run(move |conn| reader::scan(conn, &account, &scan))
            .await
    }

    async fn call<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.writer.send(command(tx))?;
        rx.await.map_err(|_| Error::WriterStopped)?
    }
}

impl Store for EmbeddedStore {
    fn append(
        &self,
        account: AccountName,
        items: Vec<NewItem>,
        rows: Vec<u64>,
    ) -> BoxFuture<'_, Result<Vec<Option<ItemId>>, Error>> {
        Box::pin(async move {
            self.call(|reply| {
                Command::Append(writer::AppendJob {
                    account,
                    items,
                    rows,
                    reply,
                })
            })
            .await
        })
    }

    fn carried(
        &self,
        account: AccountName,
        rows: Vec<u64>,
    ) -> BoxFuture<'_, Result<Vec<u64>, Error>> {
        Box::pin(
            self.readers
                .run(move |conn| reader::carried(conn, &account, &rows)),
        )
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.readers.run(reader::ping))
    }

    fn scan(&self, account: AccountName, scan: Scan) -> BoxFuture<'_, Result<Scanned, Error>> {
        Box::pin(self.scan_account(account, scan))
    }

    fn bounds(
        &self,
        account: AccountName,
        horizon: ItemId,
    ) -> BoxFuture<'_, Result<Bounds, Error>> {
        Box::pin(
            self.readers
                .run(move |conn| reader::bounds(conn, &account, horizon)),
        )
    }

    fn stats(&self) -> BoxFuture<'_, Result<LogStats, Error>> {
        let path = self.readers.path().to_owned();
        Box::pin(self.readers.run(move |conn| reader::stats(conn, &path)))
    }

    fn purge(&self, horizon: ItemId) -> BoxFuture<'_, Result<u64, Error>> {
        Box::pin(async move {
            let mut deleted = 0;
            loop {
                let chunk = self
                    .call(|reply| Command::Purge {
                        horizon,
                        max_rows: PURGE_CHUNK,
                        reply,
                    })
                    .await?;
                deleted += chunk;
                if chunk < PURGE_CHUNK {
                    break;
                }
            }
            if deleted > 0 {
                self.call(|reply| Command::Compact { reply }).await?;
            }
            Ok(deleted)
        })
    }
}

/// Tells the cache every account the file holds, with its last and highest deleted id;
/// returns them.
fn know_accounts(conn: &rusqlite::Connection, cache: &Cache) -> Result<Vec<AccountName>, Error> {
    let mut accounts = Vec::new();
    let mut stmt =
        conn.prepare("SELECT name, last_ms, last_seq, deleted_ms, deleted_seq FROM accounts")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let account = AccountName::parse(&name)
            .map_err(|_| Error::Corrupt(format!("not an account name: {name:?}")))?;
        let last = opt_id_from_sql(r.get(1)?, r.get(2)?)?;
        let deleted = opt_id_from_sql(r.get(3)?, r.get(4)?)?;
        cache.know(account.clone(), last, deleted);
        accounts.push(account);
    }
    Ok(accounts)
}

/// Fills half the cache with the newest items, shared out between the accounts.
fn warm_cache(
    conn: &rusqlite::Connection,
    cache: &Cache,
    dictionaries: &Arc<Dictionaries>,
    accounts: &[AccountName],
) -> Result<(), Error> {
    if accounts.is_empty() {
        return Ok(());
    }
    let share = cache.budget() / 2 / accounts.len();
    let mut unzip = compress::Decompressor::new(Arc::clone(dictionaries));
    for account in accounts {
        cache.warm(account, reader::newest(conn, &mut unzip, account, share)?);
    }
    Ok(())
}
