//! Black-box tests of the eventstream API (spec section 5): a real server on port 0 with a
//! temporary data dir, spoken to over HTTP. Items are appended through the event log.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use eventlog::{Backend, Clock, EventLog, ManualClock, NewItem, OpenOptions};
use protocol::{AccountName, HmacAuthorization, ItemId, Timestamp, item_json};
use reqwest::StatusCode;
use serde_json::Value;
use server::{App, AppConfig};
use shop::{KeyKind, KeyPair, ShopStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

const RETENTION: Duration = Duration::from_secs(4 * 3600);

struct TestApp {
    base: String,
    shop: ShopStore,
    log: EventLog,
    clock: ManualClock,
    account: AccountName,
    key: KeyPair,
    other_key: KeyPair,
    widget_key: KeyPair,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn spawn_app() -> TestApp {
    spawn_app_with(AppConfig::default()).await
}

async fn spawn_app_with(config: AppConfig) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let shop = ShopStore::open(dir.path()).await.unwrap();
    let account = AccountName::parse("club").unwrap();
    let other = AccountName::parse("other").unwrap();
    shop.create_account(&account).await.unwrap();
    shop.create_account(&other).await.unwrap();
    let key = shop.create_key(&account, KeyKind::Api).await.unwrap();
    let other_key = shop.create_key(&other, KeyKind::Api).await.unwrap();
    let widget_key = shop.create_key(&account, KeyKind::Widget).await.unwrap();

    // The clock starts at real time so HMAC timestamps signed now are fresh; tests that
    // need retention move it.
    let clock = ManualClock::new(now_ms());
    let mut options = OpenOptions::new(Backend::Embedded {
        dir: dir.path().join("eventlog"),
    });
    options.retention = RETENTION;
    options.clock = Arc::new(clock.clone());
    let log = EventLog::open(options).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = App::new(shop.clone(), log.clone(), Arc::new(clock.clone()), config);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::run(listener, app, async move {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        shop,
        log,
        clock,
        account,
        key,
        other_key,
        widget_key,
        http: reqwest::Client::new(),
        stop: Some(stop),
        server: Some(server),
        _dir: dir,
    }
}

impl TestApp {
    fn url(&self, query: &str) -> String {
        format!("{}/api/1/club/eventstream{query}", self.base)
    }

    async fn get(&self, query: &str) -> (StatusCode, Value) {
        self.get_as(&self.key, "club", query).await
    }

    async fn get_as(&self, key: &KeyPair, account: &str, query: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}/api/1/{account}/eventstream{query}", self.base))
            .basic_auth(&key.accesskey, Some(key.secretkey.expose()))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn get_hmac(&self, secret: &str, ts: &str) -> (StatusCode, Value) {
        let header = HmacAuthorization::header_value(&self.key.accesskey, "club", ts, secret);
        let response = self.get_with_authorization("club", &header).await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// Reads `account`'s eventstream with this `Authorization` header.
    async fn get_with_authorization(&self, account: &str, header: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/1/{account}/eventstream", self.base))
            .header("Authorization", header)
            .send()
            .await
            .unwrap()
    }

    /// Appends `n` items of `kind` and returns their ids.
    async fn append(&self, kind: &str, n: usize) -> Vec<ItemId> {
        let items = (0..n)
            .map(|i| NewItem {
                ts: Timestamp::from_unix_ms(self.clock.now_ms() as i64),
                kind: kind.to_owned(),
                data: format!(r#"{{"n":{i},"ref":"user1"}}"#),
            })
            .collect();
        self.log.append(&self.account, items).await.unwrap()
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.server.take().unwrap().await.unwrap().unwrap();
    }
}

fn ids(page: &Value) -> Vec<ItemId> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn hmac_ts(offset_secs: i64) -> String {
    let ms = now_ms() as i64 + offset_secs * 1000;
    Timestamp::from_unix_ms(ms).to_string()
}

#[tokio::test]
async fn an_empty_stream_answers_exactly_as_specified() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url(""))
        .basic_auth(&app.key.accesskey, Some(app.key.secretkey.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"results":[],"nextid":"0","moreresults":false,"oldestid":null,"gap":false}"#
    );
    app.stop().await;
}

#[tokio::test]
async fn items_are_served_as_stored_bytes() {
    let app = spawn_app().await;
    let appended = app.append("webshop:pageview", 1).await;
    let body = app
        .http
        .get(app.url(""))
        .basic_auth(&app.key.accesskey, Some(app.key.secretkey.expose()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ts = Timestamp::from_unix_ms(app.clock.now_ms() as i64);
    let item = item_json(
        appended[0],
        ts,
        "webshop:pageview",
        r#"{"n":0,"ref":"user1"}"#,
    );
    assert_eq!(
        body,
        format!(
            r#"{{"results":[{item}],"nextid":"{}","moreresults":false,"oldestid":"{}","gap":false}}"#,
            appended[0].successor(),
            appended[0]
        )
    );
    app.stop().await;
}

#[tokio::test]
async fn basic_auth_rejects_missing_and_wrong_credentials() {
    let app = spawn_app().await;

    let response = app.http.get(app.url("")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 401);
    assert!(body["message"].as_str().unwrap().contains("credentials"));

    // Wrong secrets and unknown keys: see unknown_keys_and_wrong_secrets_get_the_same_401.
    for header in [
        "Basic !!!",
        "Basic Zm9v",
        "Bearer abc",
        "TM-HMAC-SHA256 key=x",
    ] {
        let response = app.get_with_authorization("club", header).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
    app.stop().await;
}

#[tokio::test]
async fn hmac_auth_accepts_fresh_signatures_and_rejects_stale_future_and_wrong_ones() {
    let app = spawn_app().await;
    let secret = app.key.secretkey.expose().to_owned();

    for offset in [0, -29 * 60, 4 * 60] {
        let (status, body) = app.get_hmac(&secret, &hmac_ts(offset)).await;
        assert_eq!(status, StatusCode::OK, "offset {offset}: {body}");
    }
    let (status, body) = app.get_hmac(&secret, &hmac_ts(-31 * 60)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"].as_str().unwrap().contains("old"), "{body}");

    let (status, body) = app.get_hmac(&secret, &hmac_ts(6 * 60)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["message"].as_str().unwrap().contains("future"),
        "{body}"
    );

    let (status, _) = app.get_hmac(&"0".repeat(48), &hmac_ts(0)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = app.get_hmac(&secret, "yesterday").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Signed for another account's name: the signature covers the account.
    let header = HmacAuthorization::header_value(&app.key.accesskey, "other", &hmac_ts(0), &secret);
    let response = app.get_with_authorization("club", &header).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn authorization_scheme_names_are_case_insensitive() {
    let app = spawn_app().await;
    let secret = app.key.secretkey.expose();
    let basic = base64_encode(&format!("{}:{secret}", app.key.accesskey));
    let hmac = HmacAuthorization::header_value(&app.key.accesskey, "club", &hmac_ts(0), secret);
    for header in [
        format!("basic {basic}"),
        format!("BASIC {basic}"),
        hmac.replacen("TM-HMAC-SHA256", "tm-hmac-sha256", 1),
        hmac.replacen("TM-HMAC-SHA256", "Tm-Hmac-Sha256", 1),
    ] {
        let response = app.get_with_authorization("club", &header).await;
        assert_eq!(response.status(), StatusCode::OK, "{header}");
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_keys_and_wrong_secrets_get_the_same_401() {
    let app = spawn_app().await;
    let wrong_secret = KeyPair {
        accesskey: app.key.accesskey.clone(),
        secretkey: shop::Secret::new("0".repeat(48)),
    };
    let unknown = KeyPair {
        accesskey: "f".repeat(24),
        secretkey: app.key.secretkey.clone(),
    };
    let mut bodies = Vec::new();
    for key in [&wrong_secret, &unknown, &app.widget_key] {
        let (status, body) = app.get_as(key, "club", "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        bodies.push(body);
        for secret in [wrong_secret.secretkey.expose(), key.secretkey.expose()] {
            let header =
                HmacAuthorization::header_value(&key.accesskey, "club", &hmac_ts(0), secret);
            let response = app.get_with_authorization("club", &header).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            bodies.push(response.json().await.unwrap());
        }
    }
    assert_eq!(bodies[0]["code"], 401);
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:#?}");
    app.stop().await;
}

#[tokio::test]
async fn keys_of_another_account_get_the_same_403_whether_or_not_the_account_exists() {
    let app = spawn_app().await;
    let (status, existing) = app.get_as(&app.other_key, "club", "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(existing["code"], 403);
    let (status, missing) = app.get_as(&app.key, "nosuchaccount", "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(existing, missing);

    // The same through HMAC.
    let header = HmacAuthorization::header_value(
        &app.key.accesskey,
        "other",
        &hmac_ts(0),
        app.key.secretkey.expose(),
    );
    let response = app.get_with_authorization("other", &header).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn malformed_parameters_get_400_naming_the_parameter() {
    let app = spawn_app().await;
    app.append("webshop:pageview", 3).await;
    let cases: [(&str, &str); 15] = [
        ("?id=abc", "`id`"),
        ("?id=1-", "`id`"),
        ("?id=-5", "`id`"),
        ("?ts=yesterday", "`ts`"),
        ("?ts=2022-09-26T09:00:00%2B99", "`ts`"),
        ("?id=0&ts=2022-09-26T09:00:00", "`id` and `ts`"),
        ("?limit=0", "`limit`"),
        ("?limit=10001", "`limit`"),
        ("?limit=ten", "`limit`"),
        ("?wait=61", "`wait`"),
        ("?wait=-1", "`wait`"),
        ("?wait=1.5", "`wait`"),
        ("?eventtypes=a,,b", "`eventtypes`"),
        (
            &format!("?eventtypes={}", ["x:y"; 65].join(",")),
            "at most 64",
        ),
        ("?id=1&id=2", "query string"),
    ];
    for (query, needle) in cases {
        let (status, body) = app.get(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], 400);
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(needle), "{query}: {message}");
    }
    app.stop().await;
}

#[tokio::test]
async fn paging_follows_nextid_until_moreresults_is_false() {
    let app = spawn_app().await;
    let mut appended = Vec::new();
    for _ in 0..5 {
        appended.extend(app.append("webshop:pageview", 5).await);
        app.clock.advance(Duration::from_millis(1));
    }
    let mut seen = Vec::new();
    let mut query = "?limit=10".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = app.get(&query).await;
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 10);
        if let Some(last) = page_ids.last() {
            assert_eq!(page["nextid"], last.successor().to_string());
        }
        assert_eq!(page["oldestid"], appended[0].to_string());
        assert_eq!(page["gap"], false);
        seen.extend(page_ids);
        if page["moreresults"] == false {
            break;
        }
        query = format!("?limit=10&id={}", page["nextid"].as_str().unwrap());
    }
    assert_eq!(seen, appended);
    assert!(pages >= 3, "25 items with limit 10 take at least 3 pages");

    // Reading from an id inside the stream, in the <ms> form too.
    let (_, page) = app.get(&format!("?id={}", appended[7])).await;
    assert_eq!(ids(&page), appended[7..]);
    let (_, page) = app.get(&format!("?id={}", appended[5].ms)).await;
    assert_eq!(ids(&page)[0].ms, appended[5].ms);
    app.stop().await;
}

#[tokio::test]
async fn eventtypes_filter_and_nextid_advances_past_filtered_items() {
    let app = spawn_app().await;
    let views = app.append("webshop:pageview", 2).await;
    let adds = app.append("webshop:add_tickets", 1).await;
    let more_views = app.append("webshop:pageview", 2).await;

    let (_, page) = app.get("?eventtypes=webshop:add_tickets").await;
    assert_eq!(ids(&page), adds);
    // Scanned to the end: nextid is past the pageviews that were filtered out.
    assert_eq!(page["nextid"], more_views[1].successor().to_string());
    assert_eq!(page["moreresults"], false);

    let (_, page) = app
        .get("?eventtypes=webshop:add_tickets,webshop:pageview")
        .await;
    assert_eq!(ids(&page).len(), 5);

    let (_, page) = app.get("?eventtypes=webshop:unknown_type").await;
    assert_eq!(ids(&page), Vec::<ItemId>::new());
    assert_eq!(page["nextid"], more_views[1].successor().to_string());

    let (_, page) = app.get("?eventtypes=webshop:pageview&limit=2").await;
    assert_eq!(ids(&page), views);
    assert_eq!(page["moreresults"], true);
    app.stop().await;
}

#[tokio::test]
async fn ts_reads_from_the_first_item_at_or_after_the_instant() {
    let app = spawn_app().await;
    let early = app.append("webshop:pageview", 1).await;
    app.clock.advance(Duration::from_secs(10));
    let late = app.append("webshop:pageview", 1).await;
    let between = Timestamp::from_unix_ms(early[0].ms as i64 + 5000).to_string();
    // `+` unescaped arrives as a space and is read as `+`.
    for suffix in ["", "Z", "%2B0000", "%2B00:00", "+0000", "+00:00"] {
        let (status, page) = app.get(&format!("?ts={between}{suffix}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ids(&page), late, "suffix {suffix}");
    }
    app.stop().await;
}

#[tokio::test]
async fn gap_is_reported_after_retention_deleted_unread_items() {
    let app = spawn_app().await;
    let old = app.append("webshop:pageview", 3).await;
    app.clock.advance(RETENTION + Duration::from_secs(60));
    let fresh = app.append("webshop:pageview", 2).await;

    // Expired items are not served, even before the purge runs.
    let (_, page) = app.get(&format!("?id={}", old[0])).await;
    assert_eq!(ids(&page), fresh);
    assert_eq!(page["gap"], true);
    assert_eq!(page["oldestid"], fresh[0].to_string());

    app.log.purge().await.unwrap();
    let (_, page) = app.get(&format!("?id={}", old[1])).await;
    assert_eq!(page["gap"], true);
    // A reader that had read everything old has missed nothing.
    let (_, page) = app.get(&format!("?id={}", old[2].successor())).await;
    assert_eq!(page["gap"], false);
    assert_eq!(ids(&page), fresh);
    // Reading from the oldest retained item is never a gap.
    let (_, page) = app.get("").await;
    assert_eq!(page["gap"], false);
    assert_eq!(ids(&page), fresh);
    app.stop().await;
}

#[tokio::test]
async fn a_long_poll_wakes_up_on_append() {
    let app = Arc::new(spawn_app().await);
    let (_, page) = app.get("").await;
    let next = page["nextid"].as_str().unwrap().to_owned();

    let reader = {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let started = Instant::now();
            let (status, page) = app.get(&format!("?id={next}&wait=30")).await;
            (status, page, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!reader.is_finished(), "the request should be waiting");
    let appended = app.append("webshop:checkout_start", 1).await;
    let (status, page, elapsed) = reader.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), appended);
    // Woken by the append, not by the 30 s timeout.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");

    // With nothing appended, the wait ends empty.
    let next = page["nextid"].as_str().unwrap();
    let started = Instant::now();
    let (status, page) = app.get(&format!("?id={next}&wait=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), Vec::<ItemId>::new());
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(page["nextid"], next);
}

#[tokio::test]
async fn shutdown_answers_waiting_long_polls_at_once() {
    let app = spawn_app().await;
    let http = app.http.clone();
    let url = app.url("?wait=60");
    let key = app.key.clone();
    let reader = tokio::spawn(async move {
        http.get(url)
            .basic_auth(&key.accesskey, Some(key.secretkey.expose()))
            .send()
            .await
            .unwrap()
            .status()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    app.stop().await;
    assert_eq!(reader.await.unwrap(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn health_and_unknown_routes() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .http
        .get(format!("{}/api/1/club/nothing", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 404);
    app.stop().await;
}

/// One Server-Sent Event: its `id:`, `event:` and `data:` fields.
#[derive(Debug, Default)]
struct SseEvent {
    id: String,
    event: String,
    data: String,
}

/// Reads events off an SSE response, skipping heartbeat comments.
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    fn new(response: reqwest::Response) -> Self {
        SseReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next event; panics when none arrives within 10 s (the heartbeat comes every 15 s,
    /// so an event that waits for it fails here).
    async fn next_event(&mut self) -> SseEvent {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        event.id = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event.event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        event.data = v.to_owned();
                    }
                }
                if !event.event.is_empty() || !event.data.is_empty() {
                    return event;
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no event within 10 s; so far: {:?}", self.buffer))
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

impl TestApp {
    /// Opens the SSE stream of `club` with `query`, as `key`, with extra headers.
    async fn sse(&self, query: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.sse_as(&self.key, "club", query, headers).await
    }

    async fn sse_as(
        &self,
        key: &KeyPair,
        account: &str,
        query: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .get(format!("{}/api/1/{account}/eventstream{query}", self.base))
            .basic_auth(&key.accesskey, Some(key.secretkey.expose()))
            .header("accept", "text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn server_sent_events_stream_items_and_resume_after_last_event_id() {
    let app = spawn_app().await;
    let first = app.append("webshop:pageview", 1).await;
    let response = app.sse("", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut events = SseReader::new(response);
    let event = events.next_event().await;
    assert_eq!(event.id, first[0].to_string());
    assert_eq!(event.event, "webshop:pageview");
    let item: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(item["id"], first[0].to_string());

    // Live: an append arrives on the open stream.
    let second = app.append("webshop:add_tickets", 1).await;
    let event = events.next_event().await;
    assert_eq!(event.id, second[0].to_string());
    assert_eq!(event.event, "webshop:add_tickets");
    drop(events);

    // Reconnecting with Last-Event-ID resumes after it.
    let last = first[0].to_string();
    let response = app.sse("", &[("last-event-id", &last)]).await;
    let event = SseReader::new(response).next_event().await;
    assert_eq!(event.id, second[0].to_string());

    let bad = app.sse("", &[("last-event-id", "yesterday")]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // An empty Last-Event-ID is a client that has seen nothing yet: from the start.
    let response = app.sse("", &[("last-event-id", "")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let event = SseReader::new(response).next_event().await;
    assert_eq!(event.id, first[0].to_string());
}

#[tokio::test]
async fn a_gap_is_reported_once_and_nextid_moves_past_it() {
    let app = spawn_app().await;
    let old = app.append("webshop:pageview", 3).await;
    app.clock.advance(RETENTION + Duration::from_secs(60));

    let (status, page) = app.get(&format!("?id={}", old[0])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["gap"], true);
    assert_eq!(ids(&page), Vec::<ItemId>::new());
    assert_eq!(page["oldestid"], Value::Null);
    // Past the deleted items, so that the next poll does not report the same loss.
    assert_eq!(page["nextid"], old[2].successor().to_string());
    let next = page["nextid"].as_str().unwrap().to_owned();
    let (_, page) = app.get(&format!("?id={next}")).await;
    assert_eq!(page["gap"], false);
    assert_eq!(page["nextid"], next);

    // A long-poll behind the window is told of the gap without waiting for an item.
    let page = tokio::time::timeout(
        Duration::from_secs(20),
        app.get(&format!("?id={}&wait=60", old[1])),
    )
    .await
    .expect("the gap is answered at once, not after `wait`")
    .1;
    assert_eq!(page["gap"], true);
    assert_eq!(page["nextid"], next);
    app.stop().await;
}

#[tokio::test]
async fn server_sent_events_announce_a_gap_once_at_once() {
    let app = spawn_app().await;
    let old = app.append("webshop:pageview", 2).await;
    app.clock.advance(RETENTION + Duration::from_secs(60));

    let response = app.sse(&format!("?id={}", old[0]), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = SseReader::new(response);
    // At once: well before the first 15 s heartbeat.
    let gap = events.next_event().await;
    assert_eq!(gap.event, "gap");
    let data: Value = serde_json::from_str(&gap.data).unwrap();
    assert_eq!(data["requested"], old[0].to_string());
    assert_eq!(data["oldestid"], Value::Null, "{}", gap.data);

    // Once: the next event is the next item, not the same gap again.
    let fresh = app.append("webshop:add_tickets", 1).await;
    let event = events.next_event().await;
    assert_eq!(
        (event.event.as_str(), event.id),
        ("webshop:add_tickets", fresh[0].to_string())
    );
}

#[tokio::test]
async fn a_key_that_polls_too_fast_gets_429_with_retry_after() {
    let app = spawn_app_with(AppConfig {
        api_requests_per_second: 1,
        api_burst: 3,
        ..AppConfig::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = app
            .http
            .get(app.url(""))
            .basic_auth(&app.key.accesskey, Some(app.key.secretkey.expose()))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry >= 1);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], 429);
        }
    }
    assert_eq!(statuses[..3], [StatusCode::OK; 3]);
    assert!(
        statuses[3..].contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Another key has its own quota.
    let (status, _) = app.get_as(&app.other_key, "other", "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn requests_beyond_the_in_flight_cap_get_503_with_retry_after() {
    let app = Arc::new(
        spawn_app_with(AppConfig {
            api_max_in_flight: 1,
            ..AppConfig::default()
        })
        .await,
    );
    let waiting = {
        let app = Arc::clone(&app);
        tokio::spawn(async move { app.get("?wait=3").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = app
        .http
        .get(app.url(""))
        .basic_auth(&app.key.accesskey, Some(app.key.secretkey.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, _) = waiting.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get("").await;
    assert_eq!(status, StatusCode::OK, "the slot is free again");
}

impl TestApp {
    /// Starts a read of `account`'s eventstream as `key` in its own task; it ends with the
    /// answer's status.
    fn spawn_get(
        &self,
        key: &KeyPair,
        account: &str,
        query: &str,
    ) -> tokio::task::JoinHandle<StatusCode> {
        let request = self
            .http
            .get(format!("{}/api/1/{account}/eventstream{query}", self.base))
            .basic_auth(&key.accesskey, Some(key.secretkey.expose()));
        tokio::spawn(async move { request.send().await.unwrap().status() })
    }
}

#[tokio::test]
async fn one_keys_open_streams_do_not_lock_out_another_account() {
    // The audit's setup: one key opens 20 streams against a cap of 20 requests in flight.
    let app = spawn_app_with(AppConfig {
        api_max_in_flight: 20,
        ..AppConfig::default()
    })
    .await;
    let per_key = AppConfig::default().api_max_streams_per_key;
    let mut open = Vec::new();
    let mut refused = 0;
    for _ in 0..20 {
        let response = app.sse("", &[]).await;
        match response.status() {
            StatusCode::OK => open.push(response),
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(response.headers()["retry-after"], "1");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["code"], 429);
                refused += 1;
            }
            other => panic!("stream answered {other}"),
        }
    }

    // Another account reads and streams as usual, and so does the key itself.
    let (status, _) = app.get_as(&app.other_key, "other", "").await;
    assert_eq!(status, StatusCode::OK);
    let stream = app.sse_as(&app.other_key, "other", "", &[]).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let (status, _) = app.get("").await;
    assert_eq!(status, StatusCode::OK);
    // The key has its share of streams, and no more.
    assert_eq!((open.len(), refused), (per_key, 20 - per_key));

    // A closed stream gives its slot back.
    drop(open.pop());
    let mut reopened = None;
    for _ in 0..500 {
        let response = app.sse("", &[]).await;
        if response.status() == StatusCode::OK {
            reopened = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reopened.is_some(),
        "the slot of a closed stream is not given back"
    );
    drop((open, reopened, stream));
    app.stop().await;
}

#[tokio::test]
async fn a_key_at_its_in_flight_limit_gets_429_and_other_keys_are_served() {
    let app = spawn_app_with(AppConfig {
        api_max_in_flight: 4,
        api_max_in_flight_per_key: 2,
        ..AppConfig::default()
    })
    .await;
    // Four long-polls of one key: two are admitted and wait, two are refused at once.
    let polls: Vec<_> = (0..4)
        .map(|_| app.spawn_get(&app.key, "club", "?wait=60"))
        .collect();
    let (refused_tx, mut refused) = tokio::sync::mpsc::unbounded_channel();
    let mut waiting = Vec::new();
    for poll in polls {
        let refused_tx = refused_tx.clone();
        waiting.push(tokio::spawn(async move {
            let status = poll.await.unwrap();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let _ = refused_tx.send(());
            }
            status
        }));
    }
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), refused.recv())
            .await
            .expect("a key beyond its in-flight cap is refused at once");
    }
    // The key's two long-polls fill only its own share: another account is served.
    let (status, _) = app.get_as(&app.other_key, "other", "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.get("").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body["message"].as_str().unwrap().contains("in flight"),
        "{body}"
    );

    // Shutdown answers the waiting long-polls.
    app.stop().await;
    let mut statuses = Vec::new();
    for poll in waiting {
        statuses.push(poll.await.unwrap());
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected() {
    let app = spawn_app_with(AppConfig {
        header_read_timeout: Duration::from_secs(1),
        ..AppConfig::default()
    })
    .await;
    let addr = app.base.strip_prefix("http://").unwrap();
    let (mut read, mut write) = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap()
        .into_split();
    write
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    let closed = async move {
        let mut buffer = [0u8; 1024];
        while let Ok(n) = read.read(&mut buffer).await {
            if n == 0 {
                break;
            }
        }
    };
    // One more header line every 2 s, never the blank line that ends the headers.
    let trickle = async move {
        for i in 0..10 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let line = format!("X-Slow-{i}: 1\r\n");
            if write.write_all(line.as_bytes()).await.is_err() {
                // Closed: the read side ends the wait.
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = closed => {}
        () = trickle => panic!("the connection is still open after 20 s of trickled headers"),
    }
    app.stop().await;
}

/// Asserts a JSON error `{"code","message"}` with this status; returns the response's
/// headers.
async fn assert_json_error(
    response: reqwest::Response,
    status: StatusCode,
) -> reqwest::header::HeaderMap {
    assert_eq!(response.status(), status);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json", "{status}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], status.as_u16(), "{body}");
    assert!(!body["message"].as_str().unwrap().is_empty(), "{body}");
    headers
}

#[tokio::test]
async fn errors_no_handler_writes_are_json_too() {
    let app = spawn_app_with(AppConfig {
        request_timeout: Duration::from_secs(1),
        ..AppConfig::default()
    })
    .await;
    let authed = |request: reqwest::RequestBuilder| {
        request.basic_auth(&app.key.accesskey, Some(app.key.secretkey.expose()))
    };

    let response = authed(app.http.post(app.url(""))).send().await.unwrap();
    let headers = assert_json_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
    assert!(headers["allow"].to_str().unwrap().contains("GET"));

    // A long-poll longer than the request timeout.
    let response = authed(app.http.get(app.url("?wait=10")))
        .send()
        .await
        .unwrap();
    assert_json_error(response, StatusCode::REQUEST_TIMEOUT).await;

    let response = authed(app.http.get(app.url("")))
        .body(vec![b'x'; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_json_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    let long = format!("?eventtypes={}", "x".repeat(9000));
    let response = authed(app.http.get(app.url(&long))).send().await.unwrap();
    assert_json_error(response, StatusCode::URI_TOO_LONG).await;

    let response = authed(app.http.get(app.url("")))
        .header("x-large", "y".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_json_error(response, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;
    let mut many = authed(app.http.get(app.url("")));
    for i in 0..70 {
        many = many.header(format!("x-field-{i}"), "1");
    }
    let response = many.send().await.unwrap();
    assert_json_error(response, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;
    app.stop().await;
}

/// Everything the server logs in this test binary from the first call on, at every
/// level, spans included: a global subscriber writing into a buffer. The HTTP client's
/// own logs (it knows the URLs it requests) are left out.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let filter = "trace,reqwest=off,hyper_util::client=off";
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_ansi(false)
            .with_writer(move || LogBuffer(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("only captured_logs sets the subscriber of this test binary");
        logs
    })
    .clone()
}

struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_ref_is_never_logged_at_any_level() {
    const REF: &str = "canary-ref-7Q3ZK";
    let logs = captured_logs();
    let app = spawn_app().await;
    let demo = shop::demo_init(&app.shop).await.unwrap();
    let event = demo.events[0].id.clone();
    let shopper = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();

    // A tracked shopper enters through the sales flow and through a signed widget; both
    // pages are followed through their redirects.
    let flow = format!(
        "{}/widgets/demo/flow/saleslink?event={event}&l=en&ref={REF}",
        app.base
    );
    let widget = protocol::widget_url(
        &app.base,
        &demo.account,
        "addtickets",
        &[("event".to_owned(), event)],
        &demo.widget.accesskey,
        &demo.widget.secretkey,
        Some(REF),
    );
    for url in [flow, widget] {
        let response = shopper.get(&url).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
    }
    // And a ref where it does not belong, in an API query.
    let demo_key = KeyPair {
        accesskey: demo.api.accesskey.clone(),
        secretkey: shop::Secret::new(demo.api.secretkey.clone()),
    };
    let (status, _) = app.get_as(&demo_key, "demo", &format!("?ref={REF}")).await;
    assert_eq!(status, StatusCode::OK);

    // The ref went the whole way: session, outbox, relay, event log, API.
    let mut tracked = false;
    for _ in 0..50 {
        let (_, page) = app.get_as(&demo_key, "demo", "?wait=1").await;
        if page.to_string().contains(REF) {
            tracked = true;
            break;
        }
    }
    assert!(tracked, "the tracked visit never reached the eventstream");
    app.stop().await;

    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        logs.contains("/widgets/demo/flow/saleslink"),
        "the requests were logged: the capture works"
    );
    assert!(!logs.contains(REF), "the ref was logged");
}
