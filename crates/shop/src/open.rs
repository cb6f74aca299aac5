//! Choosing and opening a backend. This is the one place that knows every backend; a
//! backend behind a cargo feature is gated here and nowhere else.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::Error;
use crate::outbox::RelayTurn;
use crate::postgres::{DatabaseUrl, PgStore};
use crate::sqlite::SqliteStore;
use crate::storage::Tx;

/// Where the shop store lives, chosen from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShopBackend {
    /// One SQLite file, `shop.sqlite`, under `dir` (created if missing), its commits
    /// synced to disk as `sync` says.
    Sqlite { dir: PathBuf, sync: ShopSync },
    /// A PostgreSQL database shared by several server processes, with a pool of at most
    /// `pool_size` connections in this process.
    Postgres { url: DatabaseUrl, pool_size: u32 },
}

impl ShopBackend {
    /// Connections a process opens to PostgreSQL at most, unless configured otherwise.
    pub const DEFAULT_POOL_SIZE: u32 = 16;

    /// PostgreSQL at `url`, with the default pool.
    pub fn postgres(url: DatabaseUrl) -> Self {
        ShopBackend::Postgres {
            url,
            pool_size: Self::DEFAULT_POOL_SIZE,
        }
    }

    /// The same store, a SQLite one syncing its commits as `sync` says (PostgreSQL
    /// keeps its server's settings).
    pub fn with_sync(self, sync: ShopSync) -> Self {
        match self {
            ShopBackend::Sqlite { dir, .. } => ShopBackend::Sqlite { dir, sync },
            other => other,
        }
    }
}

/// How a SQLite shop store's commit reaches the disk before the change is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShopSync {
    /// `synchronous=FULL`: every commit is synced (one fsync per group commit), so an
    /// answered change survives a crash of the process and of the machine (a power cut).
    #[default]
    Full,
    /// `synchronous=NORMAL` in WAL mode: commits are synced only at checkpoints. An
    /// answered change survives a crash of the process (kill -9), but a power cut or a
    /// crash of the operating system may lose the last commits before it.
    Normal,
}

impl ShopSync {
    /// The name `--shop-sync` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ShopSync::Full => "full",
            ShopSync::Normal => "normal",
        }
    }

    pub(crate) fn pragma(self) -> &'static str {
        match self {
            ShopSync::Full => "FULL",
            ShopSync::Normal => "NORMAL",
        }
    }
}

impl std::str::FromStr for ShopSync {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "full" => Ok(ShopSync::Full),
            "normal" => Ok(ShopSync::Normal),
            other => Err(format!("{other:?} is not a sync mode (full or normal)")),
        }
    }
}

/// A data directory means the embedded SQLite store in it.
impl From<&Path> for ShopBackend {
    fn from(dir: &Path) -> Self {
        dir.to_owned().into()
    }
}

impl From<PathBuf> for ShopBackend {
    fn from(dir: PathBuf) -> Self {
        ShopBackend::Sqlite {
            dir,
            sync: ShopSync::default(),
        }
    }
}

/// An open backend.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Backend {
    pub(crate) async fn open(config: &ShopBackend) -> Result<Self, Error> {
        match config {
            ShopBackend::Sqlite { dir, sync } => {
                Ok(Backend::Sqlite(SqliteStore::open(dir, *sync).await?))
            }
            ShopBackend::Postgres { url, pool_size } => {
                Ok(Backend::Postgres(PgStore::open(url, *pool_size).await?))
            }
        }
    }

    /// Runs `f` in one read-write transaction on the blocking pool; commits when it
    /// returns `Ok`, rolls everything back otherwise. `f` may run more than once: a
    /// backend retries a transaction that lost a conflict with another.
    pub(crate) async fn transact<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        match self {
            Backend::Sqlite(store) => store.transact(f).await,
            Backend::Postgres(store) => store.transact(f).await,
        }
    }

    /// Runs `f` over one consistent snapshot; `f` must only read.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        match self {
            Backend::Sqlite(store) => store.read(f).await,
            Backend::Postgres(store) => store.read(f).await,
        }
    }

    /// Runs `f`, a read of a few rows by their keys, over one consistent snapshot. A
    /// SQLite store answers it on the calling thread: such a read takes a few
    /// microseconds of CPU from pages the operating system holds in memory, less than a
    /// handoff to the blocking pool and back. PostgreSQL answers over the network, so
    /// there it runs on the blocking pool as any read.
    pub(crate) async fn read_quick<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        match self {
            Backend::Sqlite(store) => store.read_here(f),
            Backend::Postgres(store) => store.read(f).await,
        }
    }

    /// Whether the store answers now.
    pub(crate) async fn ping(&self) -> Result<(), Error> {
        match self {
            Backend::Sqlite(store) => store.read(|_| Ok(())).await,
            Backend::Postgres(store) => store.ping().await,
        }
    }

    /// The turn to relay the outbox. A SQLite store belongs to one process, which always
    /// has it; with PostgreSQL one process at a time holds it.
    pub(crate) fn relay_turn(&self, outbox: Arc<Notify>) -> RelayTurn {
        match self {
            Backend::Sqlite(_) => RelayTurn::always(),
            Backend::Postgres(store) => RelayTurn::shared(store.leadership(outbox)),
        }
    }

    /// Where the store is, for messages (a URL with its password hidden).
    pub(crate) fn describe(&self) -> String {
        match self {
            Backend::Sqlite(store) => store.path().display().to_string(),
            Backend::Postgres(store) => store.url().to_string(),
        }
    }
}
