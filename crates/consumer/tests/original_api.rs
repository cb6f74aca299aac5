//! The forwarder against a server that behaves like the original API: `results` is
//! `null` on an empty page, `wait` and `limit` are ignored, and there is no `oldestid` or
//! `gap`. The consumer must notice that `wait` is not honoured and fall back to polling
//! at the interval, and still forward every item, byte for byte and in order.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use common::{client, wait_for};
use consumer::{
    AuthScheme, Backoff, Forwarder, ForwarderConfig, Outcome, ReceivedItem, Sink, SinkError,
};
use protocol::{ItemId, StartAt};
use tokio_util::sync::CancellationToken;

const PAGE: usize = 3;

#[derive(Default)]
struct Original {
    /// `(id, raw item)`, ascending.
    items: Vec<(ItemId, String)>,
    /// Every request's query string and when it came.
    requests: Vec<(String, Instant)>,
}

type Shared = Arc<Mutex<Original>>;

fn item(ms: u64, kind: &str) -> (ItemId, String) {
    // Spacing and key order as an independent server might write them.
    let raw = format!(
        r#"{{"id": "{ms}-0", "ts": "2022-09-13T11:46:25+0000", "type": "{kind}", "data": {{"ref": "u{ms}"}}}}"#
    );
    (ItemId::new(ms, 0), raw)
}

async fn eventstream(
    State(server): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<String, StatusCode> {
    if !headers.contains_key("authorization") {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let query = query.unwrap_or_default();
    let mut server = server.lock().unwrap();
    server.requests.push((query.clone(), Instant::now()));
    let from = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "id")
        .map_or(ItemId::ZERO, |(_, v)| v.parse().unwrap());
    let rest: Vec<&(ItemId, String)> = server.items.iter().filter(|(id, _)| *id >= from).collect();
    let page = &rest[..rest.len().min(PAGE)];
    let results = if page.is_empty() {
        "null".to_owned()
    } else {
        let raws: Vec<&str> = page.iter().map(|(_, raw)| raw.as_str()).collect();
        format!("[{}]", raws.join(", "))
    };
    let nextid = page.last().map_or(from, |(id, _)| id.successor());
    Ok(format!(
        r#"{{"results": {results}, "nextid": "{nextid}", "moreresults": {}}}"#,
        rest.len() > PAGE
    ))
}

async fn start_original(items: Vec<(ItemId, String)>) -> (String, Shared) {
    let server: Shared = Arc::new(Mutex::new(Original {
        items,
        requests: Vec::new(),
    }));
    let url = common::serve_eventstream(get(eventstream), Arc::clone(&server)).await;
    (url, server)
}

/// Keeps what it is sent; fails the first `failures` batches.
#[derive(Clone, Default)]
struct Recorder {
    received: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<u32>>,
}

impl Sink for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(SinkError::Retryable("not yet".into()));
            }
        }
        let mut received = self.received.lock().unwrap();
        received.extend(batch.iter().map(|i| i.raw().to_owned()));
        Ok(Outcome::Accepted)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_from_the_original_api_and_polls_at_the_interval_when_wait_is_ignored() {
    let items: Vec<_> = (1..=7)
        .map(|ms| item(ms, "webshop:add_tickets"))
        .chain([item(8, "webshop:a_type_added_later")])
        .collect();
    let (url, server) = start_original(items.clone()).await;
    let state = tempfile::tempdir().unwrap();
    let sink = Recorder::default();
    *sink.failures.lock().unwrap() = 2;
    let poll_interval = Duration::from_millis(400);
    let config = ForwarderConfig {
        wait: Duration::from_secs(10),
        poll_interval,
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(50),
        },
        ..ForwarderConfig::default()
    };
    let forwarder = Forwarder::new(
        client(&url, AuthScheme::Hmac),
        sink.clone(),
        state.path(),
        config,
    );
    let metrics = forwarder.metrics();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(forwarder.run(shutdown.clone()));

    let expected: Vec<String> = items.iter().map(|(_, raw)| raw.clone()).collect();
    wait_for("every item", || sink.received.lock().unwrap().len() >= 8).await;
    // Empty polls now; then new items arrive and are picked up at the next poll.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server
        .lock()
        .unwrap()
        .items
        .push(item(20, "webshop:pageview"));
    wait_for("the new item", || sink.received.lock().unwrap().len() >= 9).await;
    shutdown.cancel();
    task.await.unwrap().unwrap();

    let received = sink.received.lock().unwrap().clone();
    let mut all = expected;
    all.push(item(20, "webshop:pageview").1);
    assert_eq!(received, all, "every item once, in order, byte for byte");
    assert_eq!(metrics.snapshot().send_failures, 2);
    assert_eq!(metrics.snapshot().forwarded, 9);

    let requests = server.lock().unwrap().requests.clone();
    // The first request asked to wait; an empty page that came back at once showed that
    // the server ignores it, and later requests do not ask any more.
    assert!(requests[0].0.contains("wait=10"), "{requests:?}");
    let last_waiting = requests
        .iter()
        .rposition(|(q, _)| q.contains("wait="))
        .unwrap();
    assert!(
        last_waiting < requests.len() - 2,
        "still asking to wait: {requests:?}"
    );
    // Polls without a full page are spaced by the interval (not a busy loop).
    let polls: Vec<Instant> = requests[last_waiting + 1..].iter().map(|r| r.1).collect();
    for pair in polls.windows(2) {
        assert!(
            pair[1] - pair[0] >= poll_interval - Duration::from_millis(20),
            "polled after {:?}",
            pair[1] - pair[0]
        );
    }
    // The cursor is where the next run starts.
    let cursor = std::fs::read_to_string(state.path().join("recorder.cursor")).unwrap();
    assert!(cursor.contains(r#""nextid":"20-1""#), "{cursor}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_cursor_and_start_applies_only_to_the_first_run() {
    let items: Vec<_> = (1..=5).map(|ms| item(ms, "webshop:pageview")).collect();
    let (url, _server) = start_original(items.clone()).await;
    let state = tempfile::tempdir().unwrap();
    let run = |start: StartAt, sink: Recorder| {
        let config = ForwarderConfig {
            start,
            wait: Duration::ZERO,
            poll_interval: Duration::from_millis(100),
            ..ForwarderConfig::default()
        };
        let forwarder = Forwarder::new(client(&url, AuthScheme::Basic), sink, state.path(), config);
        let shutdown = CancellationToken::new();
        (tokio::spawn(forwarder.run(shutdown.clone())), shutdown)
    };

    let first = Recorder::default();
    let (task, shutdown) = run(StartAt::Id(ItemId::new(3, 0)), first.clone());
    wait_for("items from id 3", || {
        first.received.lock().unwrap().len() >= 3
    })
    .await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(
        *first.received.lock().unwrap(),
        items[2..].iter().map(|i| i.1.clone()).collect::<Vec<_>>()
    );

    // The second run has a cursor: `start` no longer matters, nothing is sent again.
    let second = Recorder::default();
    let (task, shutdown) = run(StartAt::Oldest, second.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert!(second.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn wrong_credentials_fail_the_start_instead_of_retrying_forever() {
    let refuse = get(|| async {
        (
            StatusCode::UNAUTHORIZED,
            r#"{"code":401,"message":"wrong credentials"}"#,
        )
    });
    let url = common::serve_eventstream(refuse, ()).await;
    let state = tempfile::tempdir().unwrap();
    let forwarder = Forwarder::new(
        client(&url, AuthScheme::Basic),
        Recorder::default(),
        state.path(),
        ForwarderConfig::default(),
    );
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        forwarder.run(CancellationToken::new()),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(error.to_string().contains("wrong credentials"), "{error}");
}
