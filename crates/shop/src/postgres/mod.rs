//! The PostgreSQL backend, for several server processes sharing one shop store.
//!
//! The storage contract is synchronous, so this backend uses the blocking `postgres`
//! client from an r2d2 pool, on tokio's blocking pool exactly as the SQLite backend does:
//! the rules are written once. Transactions run under READ COMMITTED; the contract's row
//! lock and conditional seat updates keep inventory exact across processes (see
//! `orders.rs`). A transaction that loses a deadlock or a serialization conflict is rolled
//! back and run again, a bounded number of times.
//!
//! The schema is migrated at open from `migrations/`, under an advisory lock, so
//! processes starting together do not race. The relay's leadership is another advisory
//! lock, held on a connection of its own (see `leader.rs`).

mod accounts;
mod catalog;
mod config;
mod conn;
mod error;
mod leader;
mod orders;
mod outbox;
mod sessions;

use std::time::Duration;

use postgres::Row;
use protocol::{Money, NumId};
use r2d2_postgres::postgres::NoTls;
use r2d2_postgres::r2d2::Pool;
use rand::Rng;

pub use config::{DatabaseUrl, DatabaseUrlError};
pub(crate) use leader::Leadership;

use crate::Error;
use crate::storage::{Tx, db_u64};
use conn::{Manager, PgConn, PgTx, get};
use error::{classify, describe};

/// The schema, in order. A store records the versions it applied in `schema_migrations`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_shop.sql"),
    include_str!("migrations/0002_shop_pages.sql"),
    include_str!("migrations/0003_catalog_version.sql"),
    include_str!("migrations/0004_images.sql"),
];

/// Advisory lock keys (per database): ASCII "tsmigrat" and "tsrelay!" as integers, so
/// that they are recognisable in `pg_locks`.
const MIGRATION_LOCK: i64 = 0x7473_6d69_6772_6174;
const RELAY_LOCK: i64 = 0x7473_7265_6c61_7921;
/// The channel a transaction that wrote outbox rows notifies at commit.
const OUTBOX_CHANNEL_LISTEN: &str = "LISTEN ticketstream_outbox";
const OUTBOX_CHANNEL_NOTIFY: &str = "NOTIFY ticketstream_outbox";

/// How often a transaction is tried when it keeps losing conflicts.
const ATTEMPTS: u32 = 5;
/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a request waits for a free connection (or for a new one to be made).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections kept open while idle.
const MIN_IDLE: u32 = 2;

#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pool: Pool<Manager>,
    url: DatabaseUrl,
}

impl PgStore {
    pub(crate) async fn open(url: &DatabaseUrl, pool_size: u32) -> Result<Self, Error> {
        let url = url.clone();
        tokio::task::spawn_blocking(move || Self::open_blocking(url, pool_size)).await?
    }

    fn open_blocking(url: DatabaseUrl, pool_size: u32) -> Result<Self, Error> {
        let config = connection_config(&url);
        let mut client = config.connect(NoTls).map_err(|e| Error::Connect {
            url: url.to_string(),
            detail: describe(&e),
        })?;
        migrate(&mut client)?;
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(MIN_IDLE.min(pool_size.max(1))))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .test_on_check_out(true)
            .build_unchecked(Manager::new(config));
        Ok(PgStore { pool, url })
    }

    pub(crate) fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub(crate) async fn transact<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.run(false, &f)).await?
    }

    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.run(true, &f)).await?
    }

    /// Whether the server answers now.
    pub(crate) async fn ping(&self) -> Result<(), Error> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = store.checkout()?;
            conn.client()
                .simple_query("SELECT 1")
                .map(|_| ())
                .map_err(|e| classify(&e).into_error())
        })
        .await?
    }

    /// The relay's leadership: who holds it appends the outbox to the event log.
    pub(crate) fn leadership(&self, outbox: std::sync::Arc<tokio::sync::Notify>) -> Leadership {
        Leadership::start(connection_config(&self.url), outbox)
    }

    fn checkout(&self) -> Result<r2d2_postgres::r2d2::PooledConnection<Manager>, Error> {
        self.pool
            .get()
            .map_err(|e| Error::Unavailable(format!("no connection to {} in time: {e}", self.url)))
    }

    /// Runs `f` in a transaction, again after a conflict, up to [`ATTEMPTS`] times.
    fn run<T>(
        &self,
        read_only: bool,
        f: &dyn Fn(&mut dyn Tx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut attempt = 1;
        loop {
            let mut conn = self.checkout()?;
            match attempt_once(&mut conn, read_only, f) {
                Ok(out) => return Ok(out),
                Err((true, e)) if attempt < ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "shop transaction conflicted; retrying");
                    // Back off a little, with jitter, so the transactions that collided
                    // do not collide again at once.
                    let pause = 2u64.pow(attempt) + rand::thread_rng().gen_range(0..5);
                    std::thread::sleep(Duration::from_millis(pause));
                    attempt += 1;
                }
                Err((_, e)) => return Err(e),
            }
        }
    }
}

/// One try: `Err((conflict, error))`, where `conflict` says whether trying again may work.
fn attempt_once<T>(
    conn: &mut PgConn,
    read_only: bool,
    f: &dyn Fn(&mut dyn Tx) -> Result<T, Error>,
) -> Result<T, (bool, Error)> {
    let mut tx = PgTx::begin(conn, read_only).map_err(|e| (false, e))?;
    let out = match f(&mut tx) {
        Ok(out) => out,
        // Dropping the transaction rolls it back.
        Err(e) => return Err((tx.conflict, e)),
    };
    if tx.wrote_outbox
        && let Err(e) = tx.batch(OUTBOX_CHANNEL_NOTIFY)
    {
        return Err((tx.conflict, e));
    }
    tx.commit()
        .map_err(|failure| (failure.is_conflict(), failure.into_error()))?;
    Ok(out)
}

/// The URL's settings plus ours: a bounded connect time, keepalives so that a vanished
/// server is noticed, and a name that shows in `pg_stat_activity`.
fn connection_config(url: &DatabaseUrl) -> postgres::Config {
    let mut config = url.config();
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30));
    if config.get_application_name().is_none() {
        config.application_name("ticketstream");
    }
    config
}

fn migrate(client: &mut postgres::Client) -> Result<(), Error> {
    let fail = |e: postgres::Error| Error::Store(format!("migrating the schema: {}", describe(&e)));
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let mut tx = client.transaction().map_err(fail)?;
    // Held until commit: a process starting at the same moment waits here, then finds
    // the schema up to date.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(fail)?;
    // Without this, every start logs PostgreSQL's notice that the table exists.
    tx.batch_execute(
        "SET LOCAL client_min_messages = warning;
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .map_err(fail)?;
    let applied: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(fail)?
        .try_get(0)
        .map_err(fail)?;
    if applied > known {
        return Err(Error::SchemaTooNew {
            found: applied,
            known,
        });
    }
    let start = usize::try_from(applied)
        .map_err(|_| Error::Store(format!("invalid schema version {applied}")))?;
    for (version, sql) in (applied + 1..).zip(&MIGRATIONS[start..]) {
        tx.batch_execute(sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .map_err(fail)?;
    }
    tx.commit().map_err(fail)
}

/// An id column.
fn num(row: &Row, idx: usize) -> Result<NumId, Error> {
    Ok(NumId(db_u64(get(row, idx)?)?))
}

fn opt_num(row: &Row, idx: usize) -> Result<Option<NumId>, Error> {
    let v: Option<i64> = get(row, idx)?;
    Ok(v.map(db_u64).transpose()?.map(NumId))
}

/// Amounts are stored as decimal text, written only from `Money`.
fn money(row: &Row, idx: usize) -> Result<Money, Error> {
    let text: String = get(row, idx)?;
    text.parse()
        .map_err(|e| Error::Store(format!("column {idx}: not an amount: {e}")))
}

/// A capacity or seat count, stored as BIGINT, used as `u32`.
fn seats(v: i64) -> Result<u32, Error> {
    u32::try_from(v).map_err(|_| Error::Store(format!("seat count {v} out of range")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Barrier};

    use protocol::AccountName;

    use super::*;
    use crate::{ShopBackend, ShopStore};

    /// A database of its own with the demo set up: the store, the backend under it, and
    /// the demo account. `None` (the test skips) without a test server.
    async fn demo_database(
        test: &str,
    ) -> Option<(testsupport::TestDatabase, ShopStore, PgStore, AccountName)> {
        let db = testsupport::TestDatabase::create(test)?;
        let url = DatabaseUrl::parse(db.url()).unwrap();
        let store = ShopStore::open(ShopBackend::postgres(url.clone()))
            .await
            .unwrap();
        crate::demo_init(&store).await.unwrap();
        let pg = PgStore::open(&url, 4).await.unwrap();
        Some((db, store, pg, AccountName::parse("demo").unwrap()))
    }

    /// Two transactions that take two seat rows in opposite orders deadlock; PostgreSQL
    /// aborts one, which is run again, and both changes commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deadlocked_transaction_is_run_again() {
        let Some((_db, store, pg, demo)) =
            demo_database("a_deadlocked_transaction_is_run_again").await
        else {
            return;
        };
        let before = store.seat_counts(&demo).await.unwrap();

        let attempts = Arc::new(AtomicU32::new(0));
        let both_hold_one = Arc::new(Barrier::new(2));
        let take = |first: u64, second: u64| {
            let (attempts, barrier, demo) = (
                Arc::clone(&attempts),
                Arc::clone(&both_hold_one),
                demo.clone(),
            );
            pg.transact(move |tx| {
                let account = tx.account(&demo)?.unwrap().id;
                let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                assert!(tx.reserve_seats(account, NumId(first), 1)?);
                // Only the first two attempts meet here; a retry goes straight on.
                if attempt < 2 {
                    barrier.wait();
                }
                assert!(tx.reserve_seats(account, NumId(second), 1)?);
                Ok(())
            })
        };
        let (a, b) = tokio::join!(take(10003, 10004), take(10004, 10003));
        a.unwrap();
        b.unwrap();
        assert!(
            attempts.load(Ordering::SeqCst) >= 3,
            "one of them ran again"
        );

        let after = store.seat_counts(&demo).await.unwrap();
        for (b, a) in before.iter().zip(&after) {
            let expected = if [10003, 10004].contains(&a.event.0) {
                2
            } else {
                0
            };
            assert_eq!(a.taken - b.taken, expected, "{a:?}");
        }
    }

    /// Two new orders given the same code: the index refuses the second, whose
    /// transaction runs again and picks another code.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_order_code_taken_meanwhile_is_picked_again() {
        let Some((_db, _store, pg, demo)) =
            demo_database("an_order_code_taken_meanwhile_is_picked_again").await
        else {
            return;
        };
        let name = demo.clone();
        let insert = move |code: String, tx: &mut dyn Tx| {
            let account = tx.account(&name)?.unwrap().id;
            let saleschannel = tx.default_saleschannel(account)?.unwrap();
            tx.insert_order(&crate::storage::NewOrder {
                account,
                code,
                session_id: "s".into(),
                saleschannel,
                created_ms: 0,
                expires_ms: 1,
            })
        };
        let first = {
            let insert = insert.clone();
            pg.transact(move |tx| insert("SAME-CODE1".into(), tx))
                .await
                .unwrap()
        };
        let attempts = Arc::new(AtomicU32::new(0));
        let second = {
            let attempts = Arc::clone(&attempts);
            pg.transact(move |tx| {
                // As if the rules drew the taken code first, then another.
                let code = match attempts.fetch_add(1, Ordering::SeqCst) {
                    0 => "SAME-CODE1",
                    _ => "OTHER-CODE",
                };
                insert(code.into(), tx)
            })
            .await
            .unwrap()
        };
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        let account = demo.clone();
        let codes = pg
            .read(move |tx| {
                let id = tx.account(&account)?.unwrap().id;
                Ok([
                    tx.order_by_code(id, "SAME-CODE1")?.map(|o| o.id),
                    tx.order_by_code(id, "OTHER-CODE")?.map(|o| o.id),
                ])
            })
            .await
            .unwrap();
        assert_eq!(codes, [Some(first), Some(second)]);
    }
}
