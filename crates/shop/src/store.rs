//! The shop store: one SQLite file, migrated at open, used from async code through
//! `spawn_blocking` so that SQLite's blocking calls never stall the runtime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use protocol::AccountName;
use rusqlite::{Connection, OptionalExtension, params};

use crate::{Error, KeyKind, KeyPair, Secret, StoredKey};

/// The schema, in order. A store records how many it has applied in `user_version`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_accounts_and_keys.sql"),
    include_str!("../migrations/0002_catalog.sql"),
    include_str!("../migrations/0003_orders.sql"),
];

/// An organiser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub name: AccountName,
}

/// A handle on the shop store; cheap to clone.
#[derive(Debug, Clone)]
pub struct ShopStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    pub(crate) outbox_signal: Arc<tokio::sync::Notify>,
    /// How long an open order holds its seats.
    pub(crate) reservation: Duration,
}

impl ShopStore {
    pub const FILE_NAME: &'static str = "shop.sqlite";
    /// Seats of an unconfirmed order are released after this long without a change.
    pub const DEFAULT_RESERVATION: Duration = Duration::from_secs(15 * 60);

    /// Sets how long an open order holds its seats.
    pub fn with_reservation(mut self, reservation: Duration) -> Self {
        self.reservation = reservation;
        self
    }

    /// Opens (creating if needed) the store in `data_dir` and brings its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Self, Error> {
        let dir = data_dir.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(&dir)).await?
    }

    fn open_blocking(data_dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(data_dir).map_err(|source| Error::CreateDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join(Self::FILE_NAME);
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(ShopStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
            outbox_signal: Arc::new(tokio::sync::Notify::new()),
            reservation: Self::DEFAULT_RESERVATION,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn with_conn<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave SQLite half-written (the
            // transaction rolls back), so a poisoned lock is still safe to use.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await?
    }

    pub async fn create_account(&self, name: &AccountName) -> Result<Account, Error> {
        let name = name.clone();
        self.with_conn(move |conn| {
            let exists = find_account(conn, &name)?.is_some();
            if exists {
                return Err(Error::AccountExists(name));
            }
            conn.execute(
                "INSERT INTO accounts (name, created_at) VALUES (?1, ?2)",
                params![name.as_str(), now_unix()],
            )?;
            Ok(Account {
                id: conn.last_insert_rowid(),
                name,
            })
        })
        .await
    }

    pub async fn account(&self, name: &AccountName) -> Result<Option<Account>, Error> {
        let name = name.clone();
        self.with_conn(move |conn| find_account(conn, &name)).await
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

    /// Creates a new key pair of `kind` for the account.
    pub async fn create_key(&self, account: &AccountName, kind: KeyKind) -> Result<KeyPair, Error> {
        let name = account.clone();
        self.with_conn(move |conn| {
            let account = find_account(conn, &name)?.ok_or(Error::NoSuchAccount(name))?;
            let pair = KeyPair::generate();
            conn.execute(
                "INSERT INTO keys (accesskey, account_id, kind, secretkey, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    pair.accesskey,
                    account.id,
                    kind.as_str(),
                    pair.secretkey.expose(),
                    now_unix()
                ],
            )?;
            Ok(pair)
        })
        .await
    }

    /// The account's keys of `kind`, oldest first.
    pub async fn keys(&self, account: &AccountName, kind: KeyKind) -> Result<Vec<KeyPair>, Error> {
        let name = account.clone();
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT k.accesskey, k.secretkey FROM keys k JOIN accounts a ON a.id = k.account_id
                 WHERE a.name = ?1 AND k.kind = ?2 ORDER BY k.created_at, k.rowid",
            )?;
            let rows = stmt.query_map(params![name.as_str(), kind.as_str()], |row| {
                Ok(KeyPair {
                    accesskey: row.get(0)?,
                    secretkey: Secret::new(row.get(1)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Looks a key up by its access key.
    pub async fn find_key(&self, accesskey: &str) -> Result<Option<StoredKey>, Error> {
        let accesskey = accesskey.to_owned();
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT a.name, k.kind, k.secretkey FROM keys k JOIN accounts a ON a.id = k.account_id
                 WHERE k.accesskey = ?1",
            )?;
            let row = stmt
                .query_row(params![accesskey], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .optional()?;
            Ok(row.and_then(|(account, kind, secret)| {
                // Rows are written only through this module, so these parse; a row that
                // does not is treated as no key rather than trusted.
                Some(StoredKey {
                    account: AccountName::parse(&account).ok()?,
                    kind: KeyKind::parse(&kind)?,
                    pair: KeyPair {
                        accesskey,
                        secretkey: Secret::new(secret),
                    },
                })
            }))
        })
        .await
    }
}

pub(crate) fn find_account(
    conn: &Connection,
    name: &AccountName,
) -> Result<Option<Account>, Error> {
    let mut stmt = conn.prepare_cached("SELECT id FROM accounts WHERE name = ?1")?;
    let id = stmt
        .query_row(params![name.as_str()], |row| row.get::<_, i64>(0))
        .optional()?;
    Ok(id.map(|id| Account {
        id,
        name: name.clone(),
    }))
}

fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn.transaction()?;
    let applied: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if applied > known {
        return Err(Error::SchemaTooNew {
            found: applied,
            known,
        });
    }
    for sql in &MIGRATIONS[applied as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> AccountName {
        AccountName::parse(s).unwrap()
    }

    #[tokio::test]
    async fn accounts_are_unique_and_keys_are_separate_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShopStore::open(dir.path()).await.unwrap();
        store.create_account(&name("club")).await.unwrap();
        assert!(matches!(
            store.create_account(&name("club")).await,
            Err(Error::AccountExists(_))
        ));
        assert!(matches!(
            store.create_key(&name("nope"), KeyKind::Api).await,
            Err(Error::NoSuchAccount(_))
        ));

        let api = store.create_key(&name("club"), KeyKind::Api).await.unwrap();
        let widget = store
            .create_key(&name("club"), KeyKind::Widget)
            .await
            .unwrap();
        assert_eq!(api.accesskey.len(), 24);
        assert_eq!(api.secretkey.expose().len(), 48);
        assert_ne!(api.accesskey, widget.accesskey);

        let found = store.find_key(&api.accesskey).await.unwrap().unwrap();
        assert_eq!(found.account, name("club"));
        assert_eq!(found.kind, KeyKind::Api);
        assert_eq!(found.pair, api);
        let found = store.find_key(&widget.accesskey).await.unwrap().unwrap();
        assert_eq!(found.kind, KeyKind::Widget);
        assert!(store.find_key("unknown").await.unwrap().is_none());
        assert_eq!(
            store.keys(&name("club"), KeyKind::Api).await.unwrap(),
            vec![api]
        );
    }

    #[tokio::test]
    async fn reopening_keeps_everything_and_does_not_migrate_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShopStore::open(dir.path()).await.unwrap();
        store.create_account(&name("club")).await.unwrap();
        let key = store.create_key(&name("club"), KeyKind::Api).await.unwrap();
        drop(store);
        let store = ShopStore::open(dir.path()).await.unwrap();
        assert!(store.account(&name("club")).await.unwrap().is_some());
        assert!(store.find_key(&key.accesskey).await.unwrap().is_some());
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let pair = KeyPair::generate();
        let shown = format!("{pair:?}");
        assert!(!shown.contains(pair.secretkey.expose()));
        assert!(shown.contains(&pair.accesskey));
    }
}
