//! The embedded backend: one SQLite file under the data directory.
//!
//! One writer thread owns the only writing connection, so ids are assigned by a single
//! sequencer inside the write transaction, and appends that arrive together share one
//! transaction and one fsync. Readers use a small pool of connections on the blocking
//! pool; WAL lets them read committed snapshots while the writer works.

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
use crate::item::NewItem;
use crate::store::{Bounds, BoxFuture, Scan, Scanned, Store};
use crate::waiters::Waiters;
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
}

impl EmbeddedStore {
    pub(crate) async fn open(
        dir: &Path,
        clock: Arc<dyn Clock>,
        waiters: Arc<Waiters>,
    ) -> Result<Self, Error> {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|source| Error::CreateDir {
                path: dir.clone(),
                source,
            })?;
            let path = dir.join(FILE_NAME);
            let conn = schema::open_writer(&path)?;
            Ok(EmbeddedStore {
                writer: Writer::spawn(conn, clock, waiters)?,
                readers: Arc::new(ReaderPool::new(path)),
            })
        })
        .await?
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
        Box::pin(
            self.readers
                .run(move |conn| reader::scan(conn, &account, &scan)),
        )
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
