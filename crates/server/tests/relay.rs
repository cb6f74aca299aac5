//! The outbox relay across stops and crashes: actions committed by the shop reach the
//! event log exactly once, whether the server stops right after them, while a request is
//! still finishing, was not running when they were committed, or crashed between
//! appending them and deleting them; and a log that keeps failing does not hold up
//! shutdown.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eventlog::{
    Backend, Clock, EventLog, ManualClock, NewItem, OpenOptions, ReadRequest, SystemClock,
};
use protocol::{AccountName, NumId, Ref, StartAt, Timestamp};
use server::{App, AppConfig};
use shop::ShopStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// A shop store with the demo account and catalog in a fresh directory.
async fn demo_store() -> (tempfile::TempDir, ShopStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ShopStore::open(dir.path()).await.unwrap();
    shop::demo_init(&store).await.unwrap();
    (dir, store)
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
    let (dir, store) = demo_store().await;
    shop_a_little(&store, "first").await;
    shop_a_little(&store, "second").await;
    let rows = store.outbox_batch(100).await.unwrap();
    assert_eq!(rows.len(), 4);

    // What a relay that crashed after its append (of the first two rows) left behind:
    // the items in the log with their position, the rows still in the outbox.
    let log = open_log(dir.path()).await;
    let crashed: Vec<NewItem> = rows[..2]
        .iter()
        .map(|r| NewItem {
            ts: r.ts,
            kind: r.kind.clone(),
            data: r.data.clone(),
        })
        .collect();
    let demo = AccountName::parse("demo").unwrap();
    log.append(&demo, crashed, Some(rows[1].id)).await.unwrap();
    assert_eq!(store.outbox_len().await.unwrap(), 4);

    let (stop, handle) = serve(store.clone(), log.clone()).await;
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
    let refs: Vec<String> = all_items(&log).await.into_iter().map(|(_, r)| r).collect();
    assert_eq!(refs, ["first", "first", "second", "second"]);
    assert_eq!(store.outbox_len().await.unwrap(), 0);
    assert_eq!(log.source_position(&demo).await.unwrap(), Some(rows[3].id));
}
