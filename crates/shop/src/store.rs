//! The shop store handle: a backend (see [`ShopBackend`]) with the shop rules above it.
//! Every operation runs its rules in one backend transaction off the async runtime.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use protocol::AccountName;

use crate::catalog::cache::CatalogCache;
use crate::open::{Backend, ShopBackend};
use crate::storage::{AccountId, Tx};
use crate::{Error, KeyKind, KeyPair, StoredKey};

/// An organiser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: AccountName,
}

/// A handle on the shop store; cheap to clone.
#[derive(Debug, Clone)]
pub struct ShopStore {
    backend: Backend,
    pub(crate) outbox_signal: Arc<tokio::sync::Notify>,
    /// How long an open order holds its seats.
    pub(crate) reservation: Duration,
    pub(crate) catalogs: Arc<CatalogCache>,
}

impl ShopStore {
    /// The SQLite store's file name under its directory.
    pub const FILE_NAME: &'static str = crate::sqlite::FILE_NAME;
    /// Seats of an unconfirmed order are released after this long without a change.
    pub const DEFAULT_RESERVATION: Duration = Duration::from_secs(15 * 60);

    /// Sets how long an open order holds its seats.
    pub fn with_reservation(mut self, reservation: Duration) -> Self {
        self.reservation = reservation;
        self
    }

    /// Opens the store (a data directory means the SQLite store in it) and brings its
    /// schema up to date.
    pub async fn open(backend: impl Into<ShopBackend>) -> Result<Self, Error> {
        let backend = Backend::open(&backend.into()).await?;
        Ok(ShopStore {
            backend,
            outbox_signal: Arc::new(tokio::sync::Notify::new()),
            reservation: Self::DEFAULT_RESERVATION,
            catalogs: Arc::new(CatalogCache::default()),
        })
    }

    /// Where the store is, for messages (a URL has its password hidden).
    pub fn location(&self) -> String {
        self.backend.describe()
    }

    /// Whether the store answers now: for readiness checks.
    pub async fn ping(&self) -> Result<(), Error> {
        self.backend.ping().await
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    pub(crate) async fn transact<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        self.backend.transact(f).await
    }

    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        self.backend.read(f).await
    }

    /// A short read of a few rows by their keys (what a page needs): see
    /// [`Backend::read_quick`].
    pub(crate) async fn read_quick<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        self.backend.read_quick(f).await
    }

    pub async fn create_account(&self, name: &AccountName) -> Result<Account, Error> {
        let name = name.clone();
        self.transact(move |tx| match tx.insert_account(&name, now_unix())? {
            Some(row) => Ok(Account { name: row.name }),
            None => Err(Error::AccountExists(name.clone())),
        })
        .await
    }

    pub async fn account(&self, name: &AccountName) -> Result<Option<Account>, Error> {
        let name = name.clone();
        self.read_quick(move |tx| Ok(tx.account(&name)?.map(|row| Account { name: row.name })))
            .await
    }

    /// Creates the account unless it exists; returns it either way.
    pub async fn ensure_account(&self, name: &AccountName) -> Result<Account, Error> {
        match self.create_account(name).await {
            Err(Error::AccountExists(_)) => self
                .account(name)
                .await?
                .ok_or_else(|| Error::NoSuchAccount(name.clone())),
            other => other,
        }
    }

    /// The account's first key of `kind`, created when it has none. Several processes
    /// doing this at once end up with the same one key.
    pub async fn first_or_create_key(
        &self,
        account: &AccountName,
        kind: KeyKind,
    ) -> Result<KeyPair, Error> {
        let name = account.clone();
        self.transact(move |tx| {
            let account = tx
                .account_for_update(&name)?
                .ok_or_else(|| Error::NoSuchAccount(name.clone()))?
                .id;
            if let Some(pair) = tx.keys(account, kind)?.into_iter().next() {
                return Ok(pair);
            }
            let pair = KeyPair::generate();
            tx.insert_key(account, kind, &pair, now_unix())?;
            Ok(pair)
        })
        .await
    }

    /// Creates a new key pair of `kind` for the account.
    pub async fn create_key(&self, account: &AccountName, kind: KeyKind) -> Result<KeyPair, Error> {
        let name = account.clone();
        self.transact(move |tx| {
            let account = account_id(tx, &name)?;
            let pair = KeyPair::generate();
            tx.insert_key(account, kind, &pair, now_unix())?;
            Ok(pair)
        })
        .await
    }

    /// The account's keys of `kind`, oldest first.
    pub async fn keys(&self, account: &AccountName, kind: KeyKind) -> Result<Vec<KeyPair>, Error> {
        let name = account.clone();
        self.read(move |tx| match tx.account(&name)? {
            Some(row) => tx.keys(row.id, kind),
            None => Ok(Vec::new()),
        })
        .await
    }

    /// Looks a key up by its access key.
    pub async fn find_key(&self, accesskey: &str) -> Result<Option<StoredKey>, Error> {
        let accesskey = accesskey.to_owned();
        self.read_quick(move |tx| tx.find_key(&accesskey)).await
    }
}

/// The id of a named account, which must exist.
pub(crate) fn account_id(tx: &mut dyn Tx, name: &AccountName) -> Result<AccountId, Error> {
    Ok(tx
        .account(name)?
        .ok_or_else(|| Error::NoSuchAccount(name.clone()))?
        .id)
}

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
