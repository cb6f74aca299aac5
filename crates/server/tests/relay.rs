//! The outbox relay across stops and crashes: actions committed by the shop reach the
//! event log exactly once, whether the server stops right after them, was not running
//! when they were committed, or crashed between appending them and deleting them.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use eventlog::{Backend, EventLog, NewItem, OpenOptions, ReadRequest, SystemClock};
use protocol::{AccountName, NumId, Ref, StartAt, Timestamp};
use server::{App, AppConfig};
use shop::ShopStore;
use tokio::sync::oneshot;

async fn open_log(dir: &Path) -> EventLog {
    EventLog::open(OpenOptions::new(Backend::Embedded {
        dir: dir.join("eventlog"),
    }))
    .await
    .unwrap()
}

/// Serves until the returned sender fires; the handle ends when the server has stopped.
async fn serve(
    store: ShopStore,
    log: EventLog,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = App::new(store, log, Arc::new(SystemClock), AppConfig::default());
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server::run(listener, app, async move {
        let _ = stopped.await;
    }));
    (stop, handle)
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
            let item: serde_json::Value = serde_json::from_str(&i.json).unwrap();
            (
                i.kind.clone(),
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
    let dir = tempfile::tempdir().unwrap();
    let store = ShopStore::open(dir.path()).await.unwrap();
    shop::demo_init(&store).await.unwrap();
    let log = open_log(dir.path()).await;
    let (stop, handle) = serve(store.clone(), log.clone()).await;
    shop_a_little(&store, "late").await;
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
    assert_eq!(
        all_items(&log).await,
        [
            ("webshop:pageview".to_owned(), "late".to_owned()),
            ("webshop:add_tickets".to_owned(), "late".to_owned())
        ]
    );
    assert_eq!(store.outbox_len().await.unwrap(), 0);
}

#[tokio::test]
async fn actions_committed_while_no_server_ran_are_relayed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = ShopStore::open(dir.path()).await.unwrap();
    shop::demo_init(&store).await.unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    let store = ShopStore::open(dir.path()).await.unwrap();
    shop::demo_init(&store).await.unwrap();
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
