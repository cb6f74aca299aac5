//! Choosing and opening a backend. This is the one place that knows every backend; a
//! backend behind a cargo feature is gated here and nowhere else.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::sqlite::SqliteStore;
use crate::storage::Tx;

/// Where the shop store lives, chosen from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShopBackend {
    /// One SQLite file, `shop.sqlite`, under `dir` (created if missing).
    Sqlite { dir: PathBuf },
}

/// A data directory means the embedded SQLite store in it.
impl From<&Path> for ShopBackend {
    fn from(dir: &Path) -> Self {
        ShopBackend::Sqlite {
            dir: dir.to_owned(),
        }
    }
}

impl From<PathBuf> for ShopBackend {
    fn from(dir: PathBuf) -> Self {
        ShopBackend::Sqlite { dir }
    }
}

/// An open backend.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqliteStore),
}

impl Backend {
    pub(crate) async fn open(config: &ShopBackend) -> Result<Self, Error> {
        match config {
            ShopBackend::Sqlite { dir } => Ok(Backend::Sqlite(SqliteStore::open(dir).await?)),
        }
    }

    /// Runs `f` in one read-write transaction on the blocking pool; commits when it
    /// returns `Ok`, rolls everything back otherwise.
    pub(crate) async fn transact<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        match self {
            Backend::Sqlite(store) => store.transact(f).await,
        }
    }

    /// Runs `f` over one consistent snapshot; `f` must only read.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        match self {
            Backend::Sqlite(store) => store.read(f).await,
        }
    }

    /// Where the store is, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Backend::Sqlite(store) => store.path().display().to_string(),
        }
    }
}
