//! The forwarder catching up a backlog from a server with ticketstream's extensions
//! (`limit` and `wait` honoured, `oldestid` sent): the NDJSON sink gets the largest pages,
//! the next page is read while the sink writes the last one, and none of that moves a
//! cursor past an item the sink has not accepted.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::routing::get;
use common::{client, wait_for};
use consumer::{
    AuthScheme, Cursor, Forwarder, ForwarderConfig, NdjsonSink, Outcome, ReceivedItem, Sink,
    SinkError,
};
use protocol::ItemId;
use tokio_util::sync::CancellationToken;

/// The page size when a request gives no `limit`.
const DEFAULT_LIMIT: usize = 3;

#[derive(Default)]
struct Ours {
    /// `(id, raw item)`, ascending.
    items: Vec<(ItemId, String)>,
    /// Every request's query string, in order.
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Ours>>;

fn item(ms: u64) -> (ItemId, String) {
    let raw = format!(
        r#"{{"id":"{ms}-0","ts":"2026-11-28T09:00:00","type":"webshop:pageview","data":{{"page":"addtickets","ref":"u{ms}"}}}}"#
    );
    (ItemId::new(ms, 0), raw)
}

fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn eventstream(State(server): State<Shared>, RawQuery(query): RawQuery) -> String {
    let query = query.unwrap_or_default();
    let mut server = server.lock().unwrap();
    server.requests.push(query.clone());
    let from = param(&query, "id").map_or(ItemId::ZERO, |id| id.parse().unwrap());
    let limit = param(&query, "limit").map_or(DEFAULT_LIMIT, |l| l.parse().unwrap());
    let rest: Vec<&(ItemId, String)> = server.items.iter().filter(|(id, _)| *id >= from).collect();
    let page = &rest[..rest.len().min(limit)];
    let raws: Vec<&str> = page.iter().map(|(_, raw)| raw.as_str()).collect();
    let nextid = page.last().map_or(from, |(id, _)| id.successor());
    let oldestid = server
        .items
        .first()
        .map_or("null".to_owned(), |(id, _)| format!(r#""{id}""#));
    format!(
        r#"{{"results":[{}],"nextid":"{nextid}","moreresults":{},"oldestid":{oldestid},"gap":false}}"#,
        raws.join(","),
        rest.len() > limit
    )
}

/// Forwards from the server at `url` to `sink` until `done`, then stops the forwarder.
async fn forward_until<S: Sink + 'static>(
    url: &str,
    sink: S,
    state: &std::path::Path,
    limit: Option<usize>,
    done: impl FnMut() -> bool,
) {
    let forwarder = Forwarder::new(client(url, AuthScheme::Basic), sink, state, config(limit));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(forwarder.run(shutdown.clone()));
    wait_for("the items", done).await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

async fn start_ours(items: Vec<(ItemId, String)>) -> (String, Shared) {
    let server: Shared = Arc::new(Mutex::new(Ours {
        items,
        requests: Vec::new(),
    }));
    let url = common::serve_eventstream(get(eventstream), Arc::clone(&server)).await;
    (url, server)
}

fn config(limit: Option<usize>) -> ForwarderConfig {
    ForwarderConfig {
        limit,
        wait: Duration::from_secs(1),
        poll_interval: Duration::from_millis(100),
        ..ForwarderConfig::default()
    }
}

/// Keeps what it is sent, and what it saw while each batch was in its hands.
#[derive(Clone, Default)]
struct Watcher {
    received: Arc<Mutex<Vec<String>>>,
    /// Problems seen during a send: the test fails on any.
    problems: Arc<Mutex<Vec<String>>>,
    /// With a server and a state directory: checks the cursor and waits for the read
    /// ahead during every send.
    watch: Option<(Shared, std::path::PathBuf)>,
}

impl Sink for Watcher {
    fn name(&self) -> &str {
        "watcher"
    }

    async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        if let Some((server, state)) = &self.watch {
            let first = batch[0].id();
            let next = batch[batch.len() - 1].id().successor();
            // The cursor does not cover this batch yet: it has not been accepted.
            if let Ok(text) = std::fs::read_to_string(state.join("watcher.cursor")) {
                let cursor: Cursor = serde_json::from_str(&text).unwrap();
                if cursor.nextid > first {
                    self.problems
                        .lock()
                        .unwrap()
                        .push(format!("batch from {first}: the cursor is {text}"));
                }
            }
            // The page after this one is asked for while this one is still being sent.
            let asked_ahead = || {
                let server = server.lock().unwrap();
                let more = server.items.iter().any(|(id, _)| *id >= next);
                !more
                    || server
                        .requests
                        .iter()
                        .any(|q| param(q, "id") == Some(next.to_string()))
            };
            let deadline = Instant::now() + Duration::from_secs(3);
            while !asked_ahead() {
                if Instant::now() > deadline {
                    self.problems.lock().unwrap().push(format!(
                        "batch from {first}: the next page was not read ahead"
                    ));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let mut received = self.received.lock().unwrap();
        received.extend(batch.iter().map(|i| i.raw().to_owned()));
        Ok(Outcome::Accepted)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_page_is_read_while_the_sink_writes_and_the_cursor_waits_for_the_sink() {
    let items: Vec<_> = (1..=20).map(item).collect();
    let (url, server) = start_ours(items.clone()).await;
    let state = tempfile::tempdir().unwrap();
    let sink = Watcher {
        watch: Some((Arc::clone(&server), state.path().to_owned())),
        ..Watcher::default()
    };
    forward_until(&url, sink.clone(), state.path(), Some(4), || {
        sink.received.lock().unwrap().len() >= 20
    })
    .await;

    assert_eq!(*sink.problems.lock().unwrap(), Vec::<String>::new());
    let expected: Vec<String> = items.into_iter().map(|(_, raw)| raw).collect();
    assert_eq!(
        *sink.received.lock().unwrap(),
        expected,
        "every item once, in order, byte for byte"
    );
    let cursor = std::fs::read_to_string(state.path().join("watcher.cursor")).unwrap();
    assert!(cursor.contains(r#""nextid":"20-1""#), "{cursor}");
    // Each page was asked for once, in order: reading ahead does not read twice. (Long
    // polls at the end, from 20-1, may follow.)
    let requests = server.lock().unwrap().requests.clone();
    let asked: Vec<Option<String>> = requests.iter().map(|q| param(q, "id")).collect();
    let pages = [None, Some("4-1"), Some("8-1"), Some("12-1"), Some("16-1")]
        .map(|id| id.map(str::to_owned));
    assert_eq!(asked[..pages.len()], pages, "{requests:?}");
    assert!(
        asked[pages.len()..]
            .iter()
            .all(|id| id.as_deref() == Some("20-1")),
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ndjson_sink_gets_the_largest_pages_once_the_server_shows_it_honours_limit() {
    let items: Vec<_> = (1..=12).map(item).collect();
    let (url, server) = start_ours(items.clone()).await;
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("items.ndjson");
    let sink = NdjsonSink::open("file", &file).unwrap();
    let expected: String = items.iter().map(|(_, raw)| format!("{raw}\n")).collect();
    forward_until(&url, sink, state.path(), None, || {
        std::fs::read_to_string(&file).is_ok_and(|text| text.len() >= expected.len())
    })
    .await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);

    let requests = server.lock().unwrap().requests.clone();
    // The first read cannot know the server: it leaves the page size to it.
    assert_eq!(param(&requests[0], "limit"), None, "{requests:?}");
    assert!(
        requests[1..]
            .iter()
            .all(|q| param(q, "limit").as_deref() == Some("10000")),
        "{requests:?}"
    );

    // A sink without a preference leaves the page size to the server.
    let state = tempfile::tempdir().unwrap();
    let watcher = Watcher::default();
    let asked_before = requests.len();
    forward_until(&url, watcher.clone(), state.path(), None, || {
        watcher.received.lock().unwrap().len() >= 12
    })
    .await;
    let requests = server.lock().unwrap().requests.clone();
    assert!(
        requests[asked_before..]
            .iter()
            .all(|q| param(q, "limit").is_none()),
        "{requests:?}"
    );
}

/// Records the size of each batch; prefers large ones. Its first send returns only once
/// the server was asked for `hold_until`, so pages pile up meanwhile.
#[derive(Clone)]
struct Grouped {
    server: Shared,
    hold_until: String,
    batches: Arc<Mutex<Vec<Vec<String>>>>,
}

impl Sink for Grouped {
    fn name(&self) -> &str {
        "grouped"
    }

    fn preferred_batch_size(&self) -> Option<usize> {
        Some(1000)
    }

    async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        if self.batches.lock().unwrap().is_empty() {
            let asked = || {
                let server = self.server.lock().unwrap();
                server
                    .requests
                    .iter()
                    .any(|q| param(q, "id").as_deref() == Some(self.hold_until.as_str()))
            };
            wait_for("the read-ahead", asked).await;
        }
        let lines = batch.iter().map(|i| i.raw().to_owned()).collect();
        self.batches.lock().unwrap().push(lines);
        Ok(Outcome::Accepted)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_that_arrived_while_the_sink_was_busy_go_to_it_as_one_batch() {
    let items: Vec<_> = (1..=40).map(item).collect();
    let (url, server) = start_ours(items.clone()).await;
    let state = tempfile::tempdir().unwrap();
    // Pages of 4: the first is 1..=4; the read-ahead then holds the pages from 4-1, 8-1
    // and 12-1 before it asks for the one from 16-1.
    let sink = Grouped {
        server: Arc::clone(&server),
        hold_until: "16-1".into(),
        batches: Arc::default(),
    };
    forward_until(&url, sink.clone(), state.path(), Some(4), || {
        sink.batches
            .lock()
            .unwrap()
            .iter()
            .map(Vec::len)
            .sum::<usize>()
            >= 40
    })
    .await;

    let batches = sink.batches.lock().unwrap().clone();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes[0], 4, "{sizes:?}");
    assert!(
        sizes[1] >= 12,
        "the waiting pages went one by one: {sizes:?}"
    );
    let expected: Vec<String> = items.into_iter().map(|(_, raw)| raw).collect();
    assert_eq!(batches.concat(), expected, "every item once, in order");
    let cursor = std::fs::read_to_string(state.path().join("grouped.cursor")).unwrap();
    assert!(cursor.contains(r#""nextid":"40-1""#), "{cursor}");
}
