//! The PostgreSQL backend: the conformance suite, plus what only a shared server has:
//! several stores (as several processes would have) on one database, migrations run by
//! processes starting together, and a server that cannot be reached.
//!
//! Needs TICKETSTREAM_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test);
//! without it every test says it skipped. Each test creates its own database there and
//! drops it at the end.
#![allow(clippy::unwrap_used)]

mod conformance;

use std::time::Duration;

use conformance::{Harness, conformance_suite};
use shop::{DatabaseUrl, ShopBackend, ShopStore};
use testsupport::TestDatabase;

struct Postgres {
    db: TestDatabase,
}

fn postgres(test: &str) -> Option<Postgres> {
    TestDatabase::create(test).map(|db| Postgres { db })
}

impl Postgres {
    fn backend(&self) -> ShopBackend {
        ShopBackend::postgres(DatabaseUrl::parse(self.db.url()).unwrap())
    }
}

impl Harness for Postgres {
    async fn open(&self, reservation: Duration) -> ShopStore {
        ShopStore::open(self.backend())
            .await
            .unwrap()
            .with_reservation(reservation)
    }

    async fn force_taken(&self, account: &str, event: u64, taken: i64) {
        let event = i64::try_from(event).unwrap();
        let changed = self.db.with_client(|client| {
            client
                .execute(
                    "UPDATE events SET taken = $3
                     WHERE account_id = (SELECT id FROM accounts WHERE name = $1) AND id = $2",
                    &[&account, &event, &taken],
                )
                .unwrap()
        });
        assert_eq!(changed, 1);
    }
}

conformance_suite!(optional postgres(module_path!()));

/// Stores opened at the same moment on a fresh database (processes starting together)
/// all come up; the schema is migrated once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_migrate_once() {
    let Some(h) = postgres("processes_starting_together_migrate_once") else {
        return;
    };
    let opens: Vec<_> = (0..4)
        .map(|_| tokio::spawn(ShopStore::open(h.backend())))
        .collect();
    for open in opens {
        open.await.unwrap().unwrap();
    }
    let versions: Vec<i64> = h.db.with_client(|client| {
        client
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    });
    assert_eq!(versions, [1, 2, 3, 4]);
}

/// Buyers spread over several stores, each with its own pool (as several processes
/// would be), never oversell: the last seats go to exactly as many buyers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_in_several_processes_never_oversell() {
    use conformance::{JAZZ, JAZZ_SEAT, qty, shop, ts};
    let Some(h) = postgres("buyers_in_several_processes_never_oversell") else {
        return;
    };
    let first = shop(&h).await;
    let others = [
        h.open(Duration::from_secs(900)).await,
        h.open(Duration::from_secs(900)).await,
    ];
    let mut buyers = Vec::new();
    for i in 0..30_i64 {
        let session = first.session(Some(&format!("buyer{i}"))).await;
        let store = match i % 3 {
            0 => first.store.clone(),
            n => others[usize::try_from(n - 1).unwrap()].clone(),
        };
        let account = first.account.clone();
        buyers.push(tokio::spawn(async move {
            store
                .set_tickets(&account, &session, JAZZ, qty(&[(JAZZ_SEAT, 1)]), ts(i))
                .await
        }));
    }
    let mut sold = 0;
    for buyer in buyers {
        match buyer.await.unwrap() {
            Ok(_) => sold += 1,
            Err(shop::Error::Rule(shop::ShopRule::SoldOut { .. })) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(sold, 6, "the 6 seats go to exactly 6 buyers");
    assert_eq!(first.available(JAZZ).await, 0);
    first.assert_seats_consistent().await;
    let tracked = first.kinds().await;
    assert_eq!(
        tracked
            .iter()
            .filter(|k| *k == "webshop:add_tickets")
            .count(),
        6
    );
}

/// A server that cannot be reached stops the start with an error that names the URL,
/// without its password.
#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_at_open() {
    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = DatabaseUrl::parse(&format!("postgres://ts:s3cret@127.0.0.1:{port}/shop")).unwrap();
    let err = ShopStore::open(ShopBackend::postgres(url))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("postgres://ts:***@127.0.0.1:{port}/shop")),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
    assert!(err.is_unavailable());
}

/// While the database is gone, every operation fails as unavailable (a server answers
/// 503), and the same store works again once it is back, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_recovers_when_its_database_comes_back() {
    use conformance::shop;
    let Some(h) = postgres("a_store_recovers_when_its_database_comes_back") else {
        return;
    };
    let shop = shop(&h).await;
    shop.store.ping().await.unwrap();
    h.db.take_away();
    let err = shop.store.ping().await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let err = shop.store.events(&shop.account).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    h.db.restore();
    shop.store.ping().await.unwrap();
    assert!(!shop.store.events(&shop.account).await.unwrap().is_empty());
}

/// Several processes starting with `--demo` on a fresh database at the same moment end up
/// with one demo account with one key pair of each kind, and all print the same keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_init_in_several_processes_at_once_sets_up_one_demo() {
    let Some(h) = postgres("demo_init_in_several_processes_at_once") else {
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(h.open(ShopStore::DEFAULT_RESERVATION).await);
    }
    let inits: Vec<_> = stores
        .iter()
        .map(|store| {
            let store = store.clone();
            tokio::spawn(async move { shop::demo_init(&store).await })
        })
        .collect();
    let mut setups = Vec::new();
    for init in inits {
        setups.push(init.await.unwrap().unwrap());
    }
    for setup in &setups[1..] {
        assert_eq!(setup.api.accesskey, setups[0].api.accesskey);
        assert_eq!(setup.widget.accesskey, setups[0].widget.accesskey);
    }
    let demo = conformance::demo();
    for kind in [shop::KeyKind::Api, shop::KeyKind::Widget] {
        assert_eq!(stores[0].keys(&demo, kind).await.unwrap().len(), 1);
    }
    assert_eq!(
        stores[0].events(&demo).await.unwrap().len(),
        setups[0].events.len()
    );
}

/// A database made by the first schema, with an event and orders in it, is migrated at
/// open: the orders get distinct codes they can be found by, and the event reads back
/// without a time (it was imported before catalogs had times).
#[tokio::test]
async fn a_database_of_the_first_schema_is_migrated() {
    let Some(h) = postgres("a_database_of_the_first_schema_is_migrated") else {
        return;
    };
    h.db.with_client(|client| {
        client
            .batch_execute(include_str!("../src/postgres/migrations/0001_shop.sql"))
            .unwrap();
        client
            .batch_execute(
                "CREATE TABLE schema_migrations (
                     version BIGINT PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
                 INSERT INTO schema_migrations (version) VALUES (1);
                 INSERT INTO accounts (name, created_at) VALUES ('old', 0);
                 INSERT INTO events (account_id, id, name, date, capacity)
                     VALUES (1, 7, 'Old show', '2024-01-01', 10);
                 INSERT INTO orders (account_id, session_id, saleschannel_id, status,
                                     created_ms, expires_ms)
                     VALUES (1, 's1', 1, 'confirmed', 0, 0), (1, 's2', 1, 'open', 0, 0);",
            )
            .unwrap();
    });
    let store = h.open(ShopStore::DEFAULT_RESERVATION).await;
    let codes: Vec<(String, String)> = h.db.with_client(|client| {
        client
            .query("SELECT session_id, code FROM orders ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    });
    assert_eq!(codes.len(), 2);
    assert_ne!(codes[0].1, codes[1].1);
    let old = protocol::AccountName::parse("old").unwrap();
    for (session, code) in &codes {
        assert_eq!(code.len(), 12, "{code}");
        let order = store.order_by_code(&old, session, code).await.unwrap();
        assert!(order.is_some(), "order {code} of {session}");
    }
    let events = store.events(&old).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].name.text, "Old show");
    assert_eq!(events[0].time, None);
    assert_eq!(events[0].venue.name, "");
    assert_eq!(events[0].image, None);
    assert_eq!(
        store.organiser(&old).await.unwrap(),
        shop::Organiser::default()
    );
}
