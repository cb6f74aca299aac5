//! The outbox relay across stops and crashes: actions committed by the shop reach the
//! event log exactly once, whether the server stops right after them, while a request is
//! still finishing, was not running when they were committed, or crashed between
//! appending them and deleting them; and a log that keeps failing does not hold up
//! shutdown.
//!
//! With PostgreSQL and Redis (when TICKETSTREAM_TEST_DATABASE_URL and
//! TICKETSTREAM_TEST_REDIS_URL are set; otherwise those tests say they skipped): a row
//! that commits after rows with larger ids were relayed is relayed too, a crash between
//! append and delete repeats nothing, and of several processes one relays while the
//! others stand by, and another takes over when it stops.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eventlog::{
    Backend, Clock, EventLog, KeyPrefix, ManualClock, NewItem, OpenOptions, ReadRequest, RedisUrl,
    RowItem, SystemClock,
};
use protocol::{AccountName, NumId, Ref, StartAt, Timestamp};
use server::{App, AppConfig};
use shop::{DatabaseUrl, ShopBackend, ShopStore};
use testsupport::{TestDatabase, TestRedis};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// Where the shop store and the event log live.
enum Stores {
    /// SQLite and the embedded log in one data directory: one process.
    Local(tempfile::TempDir),
    /// PostgreSQL and Redis, as several processes share them.
    Shared { db: TestDatabase, redis: TestRedis },
}

impl Stores {
    fn local() -> Self {
        Stores::Local(tempfile::tempdir().unwrap())
    }

    /// `None` (the test skips) unless both servers are configured.
    fn shared(test: &str) -> Option<Self> {
        let db = TestDatabase::create(test)?;
        let redis = TestRedis::create(test)?;
        Some(Stores::Shared { db, redis })
    }

    /// A handle on the shop store, as one more process would open it.
    async fn shop(&self) -> ShopStore {
        match self {
            Stores::Local(dir) => ShopStore::open(dir.path()).await.unwrap(),
            Stores::Shared { db, .. } => {
                ShopStore::open(ShopBackend::postgres(DatabaseUrl::parse(db.url()).unwrap()))
                    .await
                    .unwrap()
            }
        }
    }

    /// The shop store with the demo account and catalog.
    async fn demo_shop(&self) -> ShopStore {
        let store = self.shop().await;
        shop::demo_init(&store).await.unwrap();
        store
    }

    fn log_backend(&self) -> Backend {
        match self {
            Stores::Local(dir) => Backend::Embedded {
                dir: dir.path().join("eventlog"),
            },
            Stores::Shared { redis, .. } => Backend::Redis {
                url: RedisUrl::parse(redis.url()).unwrap(),
                prefix: KeyPrefix::parse(redis.prefix()).unwrap(),
            },
        }
    }

    async fn log(&self) -> EventLog {
        EventLog::open(OpenOptions::new(self.log_backend()))
            .await
            .unwrap()
    }
}

/// A shop store with the demo account and catalog in a fresh directory.
async fn demo_store() -> (tempfile::TempDir, ShopStore) {
    let stores = Stores::local();
    let store = stores.demo_shop().await;
    let Stores::Local(dir) = stores else {
        unreachable!()
    };
    (dir, store)
}

/// An outbox row written in a PostgreSQL transaction that stays open until
/// [`commit`](Self::commit): its id is taken now, its row becomes visible then.
struct LateRow {
    id: u64,
    commit: std::sync::mpsc::Sender<()>,
    done: std::thread::JoinHandle<()>,
}

impl LateRow {
    fn begin(db: &TestDatabase, reference: &str) -> LateRow {
        let (url, data) = (db.url().to_owned(), format!(r#"{{"ref":"{reference}"}}"#));
        let (id_tx, id_rx) = std::sync::mpsc::channel();
        let (commit, commit_rx) = std::sync::mpsc::channel::<()>();
        // The blocking client gets a thread of its own, away from the async runtime.
        let done = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut tx = client.transaction().unwrap();
            let row = tx
                .query_one(
                    "INSERT INTO outbox (account, ts_ms, type, data)
                     VALUES ('demo', $1, 'webshop:pageview', $2) RETURNING id",
                    &[&Timestamp::now().unix_ms(), &data],
                )
                .unwrap();
            id_tx.send(row.get::<_, i64>(0)).unwrap();
            commit_rx.recv().unwrap();
            // As the shop does: tell the relaying process at commit.
            tx.batch_execute("NOTIFY ticketstream_outbox").unwrap();
            tx.commit().unwrap();
        });
        let id = u64::try_from(id_rx.recv().unwrap()).unwrap();
        LateRow { id, commit, done }
    }

    fn commit(self) {
        self.commit.send(()).unwrap();
        self.done.join().unwrap();
    }
}

/// Waits up to 20 s for `done`, checking every 20 ms.
async fn wait_for<F, Fut>(done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1000 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("still not done after 20 s");
}

/// Whether the server at `addr` says (on `/readyz`) that it relays the outbox.
async fn relays(addr: SocketAddr) -> bool {
    let body = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.contains("relay: relays the outbox")
}

/// The items [`shop_a_little`] leaves: (type, ref).
fn a_little(reference: &str) -> Vec<(String, String)> {
    ["webshop:pageview", "webshop:add_tickets"]
        .map(|kind| (kind.to_owned(), reference.to_owned()))
        .to_vec()
}

async fn open_log(dir: &Path) -> EventLog {
    EventLog::open(OpenOptions::new(Backend::Embedded {
        dir: dir.join("eventlog"),
    }))
    .await
    .unwrap()
}

/// A server being served: stop it with `stop`; `handle` ends when it has stopped.
struct Serving {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves until the returned sender fires; the handle ends when the server has stopped.
async fn serve(
    store: ShopStore,
    log: EventLog,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let serving = serve_with_clock(store, log, Arc::new(SystemClock)).await;
    (serving.stop, serving.handle)
}

async fn serve_with_clock(store: ShopStore, log: EventLog, clock: Arc<dyn Clock>) -> Serving {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = App::new(store, log, clock, AppConfig::default());
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server::run(listener, app, async move {
        let _ = stopped.await;
    }));
    Serving { addr, stop, handle }
}

async fn all_items(log: &EventLog) -> Vec<(String, String)> {
    let page = log
        .read(
            &AccountName::parse("demo").unwrap(),
            &ReadRequest {
                start: StartAt::Oldest,
                types: None,
                limit: 10_000,
            },
        )
        .await
        .unwrap();
    page.items
        .iter()
        .map(|i| {
            let item: serde_json::Value = serde_json::from_str(i.json_str()).unwrap();
            (
                i.kind.to_string(),
                item["data"]["ref"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A tracked shopper adds tickets: two outbox rows (pageview, add_tickets).
async fn shop_a_little(store: &ShopStore, reference: &str) {
    let demo = AccountName::parse("demo").unwrap();
    let now = Timestamp::now();
    let session = store
        .enter_session(
            &demo,
            None,
            shop::Entry {
                reference: Some(Ref::parse(reference).unwrap()),
                params: BTreeMap::new(),
                settings: shop::WidgetSettings::default(),
                lang: "en".to_owned(),
            },
            now,
        )
        .await
        .unwrap();
    store
        .record_pageview(&session, "addtickets", now)
        .await
        .unwrap();
    store
        .set_tickets(
            &demo,
            &session.id,
            NumId(10003),
            BTreeMap::from([(NumId(580), 1)]),
            now,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn actions_committed_just_before_shutdown_are_in_the_log_when_it_returns() {
    let (dir, store) = demo_store().await;
    let log = open_log(dir.path()).await;
    let (stop, handle) = serve(store.clone(), log.clone()).await;
    shop_a_little(&store, "late").await;
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
    assert_eq!(all_items(&log).await, a_little("late"));
    assert_eq!(store.outbox_len().await.unwrap(), 0);
}

/// The session cookie (`name=value`) a shopper gets on entering the demo's sales flow.
async fn session_cookie(addr: SocketAddr) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(format!(
            "http://{addr}/widgets/demo/flow/saleslink?event=10003&l=en"
        ))
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .expect("entering the shop sets the session cookie");
    let cookie = cookie.to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn actions_committed_while_a_request_is_in_flight_at_shutdown_are_relayed() {
    let (dir, store) = demo_store().await;
    let log = open_log(dir.path()).await;
    let serving = serve_with_clock(store.clone(), log.clone(), Arc::new(SystemClock)).await;
    let cookie = session_cookie(serving.addr).await;

    // A form post whose body is still to come: its handler is running (it asked for the
    // body with 100 Continue) when shutdown starts.
    let mut slow = tokio::net::TcpStream::connect(serving.addr).await.unwrap();
    let body = "q_580=1";
    let head = format!(
        "POST /widgets/demo/shop/tickets HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\n\r\n",
        serving.addr,
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut continued = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut continued))
        .await
        .expect("the handler reads the body")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&continued[..n]).starts_with("HTTP/1.1 100"),
        "{:?}",
        String::from_utf8_lossy(&continued[..n])
    );

    serving.stop.send(()).unwrap();
    // Shutdown is under way; the request is still running, so the server is still
    // serving. What commits now must still reach the log.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !serving.handle.is_finished(),
        "a request is still in flight"
    );
    shop_a_little(&store, "late").await;
    slow.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    slow.read_to_end(&mut answer).await.unwrap();
    serving.handle.await.unwrap().unwrap();

    assert_eq!(all_items(&log).await, a_little("late"));
    assert_eq!(store.outbox_len().await.unwrap(), 0);
}

#[tokio::test]
async fn a_log_that_keeps_failing_does_not_hold_up_shutdown() {
    let (dir, store) = demo_store().await;
    shop_a_little(&store, "stuck").await;
    let clock = ManualClock::new(1_700_000_000_000);
    let mut options = OpenOptions::new(Backend::Embedded {
        dir: dir.path().join("eventlog"),
    });
    options.clock = Arc::new(clock.clone());
    let log = EventLog::open(options).await.unwrap();
    // Beyond the ids the log can store: every append fails, so the relay keeps retrying.
    clock.set_ms(1 << 63);
    let serving = serve_with_clock(store.clone(), log, Arc::new(clock)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    serving.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), serving.handle)
        .await
        .expect("shutdown completes although the log fails")
        .unwrap()
        .unwrap();
    // Nothing is lost: the rows wait in the outbox for the next start.
    assert_eq!(store.outbox_len().await.unwrap(), 2);
}

#[tokio::test]
async fn actions_committed_while_no_server_ran_are_relayed_at_start() {
    let (dir, store) = demo_store().await;
    shop_a_little(&store, "offline").await;
    assert_eq!(store.outbox_len().await.unwrap(), 2);

    let log = open_log(dir.path()).await;
    let (stop, handle) = serve(store.clone(), log.clone()).await;
    for _ in 0..100 {
        if store.outbox_len().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
    assert_eq!(all_items(&log).await.len(), 2);
}

#[tokio::test]
async fn a_crash_between_append_and_delete_neither_loses_nor_repeats() {
    crash_between_append_and_delete(&Stores::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_append_and_delete_repeats_nothing_with_postgres_and_redis() {
    let Some(stores) = Stores::shared("a_crash_between_append_and_delete_repeats_nothing") else {
        return;
    };
    crash_between_append_and_delete(&stores).await;
}

async fn crash_between_append_and_delete(stores: &Stores) {
    let store = stores.demo_shop().await;
    shop_a_little(&store, "first").await;
    shop_a_little(&store, "second").await;
    let rows = store.outbox_batch(100).await.unwrap();
    assert_eq!(rows.len(), 4);

    // What a relay that crashed after its append (of the first two rows) left behind:
    // the items in the log with the record of their rows, the rows still in the outbox.
    let log = stores.log().await;
    let demo = AccountName::parse("demo").unwrap();
    let crashed: Vec<RowItem> = rows[..2]
        .iter()
        .map(|r| RowItem {
            row: r.id,
            item: NewItem {
                ts: r.ts,
                kind: r.kind.clone(),
                data: r.data.clone(),
            },
        })
        .collect();
    log.append_rows(&demo, crashed).await.unwrap();
    assert_eq!(store.outbox_len().await.unwrap(), 4);

    let (stop, handle) = serve(store.clone(), log.clone()).await;
    wait_for(|| async { store.outbox_len().await.unwrap() == 0 }).await;
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
    let refs: Vec<String> = all_items(&log).await.into_iter().map(|(_, r)| r).collect();
    assert_eq!(refs, ["first", "first", "second", "second"]);
    assert_eq!(store.outbox_len().await.unwrap(), 0);
    let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
    assert_eq!(log.carried(&demo, &ids).await.unwrap(), ids);
}

/// PostgreSQL takes outbox ids before commit: here the transaction with the smaller id
/// commits after the relay has carried rows with larger ids. A relay that kept "done up
/// to id N" would skip it for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_commits_after_larger_ids_were_relayed_is_relayed_too() {
    let Some(stores) = Stores::shared("a_row_that_commits_after_larger_ids_were_relayed") else {
        return;
    };
    let Stores::Shared { db, .. } = &stores else {
        unreachable!()
    };
    let store = stores.demo_shop().await;
    let log = stores.log().await;
    let demo = AccountName::parse("demo").unwrap();
    let (stop, handle) = serve(store.clone(), log.clone()).await;

    let late = LateRow::begin(db, "late");
    shop_a_little(&store, "early").await;
    wait_for(|| async { all_items(&log).await.len() == 2 }).await;
    assert_eq!(all_items(&log).await, a_little("early"));
    // The early rows had larger ids, and the relay carried them.
    let early = [late.id + 1, late.id + 2];
    assert_eq!(log.carried(&demo, &early).await.unwrap(), early);
    assert!(log.carried(&demo, &[late.id]).await.unwrap().is_empty());

    late.commit();
    wait_for(|| async { all_items(&log).await.len() == 3 }).await;
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
    let items = all_items(&log).await;
    assert_eq!(items[2], ("webshop:pageview".to_owned(), "late".to_owned()));
    assert_eq!(items.len(), 3);
    assert_eq!(store.outbox_len().await.unwrap(), 0);
}

/// Of two processes on one PostgreSQL and one Redis, one relays and the other stands by,
/// yet the actions committed through either reach the log at once; when the relaying
/// one stops, the other takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_relays_and_another_takes_over_when_it_stops() {
    let Some(stores) = Stores::shared("one_process_relays_and_another_takes_over") else {
        return;
    };
    let (a, b) = (stores.demo_shop().await, stores.shop().await);
    let log = stores.log().await;
    let first = serve_with_clock(a.clone(), stores.log().await, Arc::new(SystemClock)).await;
    let second = serve_with_clock(b.clone(), stores.log().await, Arc::new(SystemClock)).await;
    wait_for(|| async {
        let (x, y) = (relays(first.addr).await, relays(second.addr).await);
        x != y
    })
    .await;
    let (leader, standby) = if relays(first.addr).await {
        (first, second)
    } else {
        (second, first)
    };
    // Committed through either process, relayed by the leader.
    shop_a_little(&a, "via-a").await;
    shop_a_little(&b, "via-b").await;
    wait_for(|| async { all_items(&log).await.len() == 4 }).await;

    leader.stop.send(()).unwrap();
    leader.handle.await.unwrap().unwrap();
    wait_for(|| async { relays(standby.addr).await }).await;
    shop_a_little(&a, "after-a").await;
    shop_a_little(&b, "after-b").await;
    wait_for(|| async { all_items(&log).await.len() == 8 }).await;
    standby.stop.send(()).unwrap();
    standby.handle.await.unwrap().unwrap();

    let mut refs: Vec<String> = all_items(&log).await.into_iter().map(|(_, r)| r).collect();
    refs.sort();
    let mut expected = ["after-a", "after-b", "via-a", "via-b"]
        .into_iter()
        .flat_map(|r| [r.to_owned(), r.to_owned()])
        .collect::<Vec<_>>();
    expected.sort();
    assert_eq!(refs, expected);
    assert_eq!(a.outbox_len().await.unwrap(), 0);
}
