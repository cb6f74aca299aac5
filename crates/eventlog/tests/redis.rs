//! The Redis Streams backend: the conformance suite, plus what only a shared server has:
//! several processes (here: several handles, each with its own connections) on one log,
//! and a server that is unreachable or restarts.
//!
//! Needs TICKETSTREAM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0); without it every
//! test says it skipped. Each test uses its own key prefix and deletes its keys at the end.
#![allow(clippy::unwrap_used)]

mod conformance;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use conformance::{Harness, RETENTION, T0, conformance_suite};
use eventlog::{
    Backend, EventLog, KeyPrefix, ManualClock, NewItem, OpenOptions, ReadRequest, RedisUrl, RowItem,
};
use protocol::{AccountName, ActionType, ItemId, StartAt, Timestamp};
use testsupport::{PrivateRedis, TestRedis};

const URL_VAR: &str = testsupport::REDIS_ENV;

struct RedisHarness {
    /// The test's own key prefix, whose keys go when the harness is dropped.
    redis: TestRedis,
    url: RedisUrl,
    prefix: KeyPrefix,
    clock: ManualClock,
    client: redis::Client,
}

fn redis_harness() -> Option<RedisHarness> {
    let redis = TestRedis::create("an event log test")?;
    Some(RedisHarness {
        client: redis::Client::open(redis.url()).unwrap(),
        url: RedisUrl::parse(redis.url()).unwrap(),
        prefix: KeyPrefix::parse(redis.prefix()).unwrap(),
        clock: ManualClock::new(T0),
        redis,
    })
}

impl RedisHarness {
    fn backend(&self) -> Backend {
        Backend::Redis {
            url: self.url.clone(),
            prefix: self.prefix.clone(),
        }
    }

    fn keys(&self) -> Vec<String> {
        self.redis.keys()
    }
}

impl Harness for RedisHarness {
    async fn open(&self, retention: Duration) -> EventLog {
        EventLog::open(OpenOptions {
            backend: self.backend(),
            retention,
            clock: Arc::new(self.clock.clone()),
            cache_bytes: eventlog::DEFAULT_CACHE_BYTES,
        })
        .await
        .unwrap()
    }

    fn clock(&self) -> &ManualClock {
        &self.clock
    }

    fn storage_bytes(&self) -> Option<u64> {
        let mut conn = self.client.get_connection().unwrap();
        let mut total = 0;
        for key in self.keys() {
            let bytes: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .arg("SAMPLES")
                .arg(0)
                .query(&mut conn)
                .unwrap();
            total += bytes.unwrap_or(0);
        }
        Some(total)
    }
}

conformance_suite!(optional redis_harness());

fn account(name: &str) -> AccountName {
    AccountName::parse(name).unwrap()
}

fn items(count: usize) -> Vec<NewItem> {
    (0..count)
        .map(|n| NewItem {
            ts: Timestamp::from_unix_ms(1_700_000_000_000),
            kind: "webshop:pageview".into(),
            data: format!(r#"{{"n":{n}}}"#),
        })
        .collect()
}

fn from_oldest(limit: usize) -> ReadRequest {
    ReadRequest {
        start: StartAt::Oldest,
        types: None,
        limit,
    }
}

/// A long-poll on one process is woken by an append made through another: only the
/// announcement over Redis can wake it, since the two handles share nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_through_one_process_wakes_a_long_poll_on_another() {
    let Some(h) = redis_harness() else { return };
    let (writer, reader) = (h.open(RETENTION).await, h.open(RETENTION).await);
    let acct = account("crossproc");
    let poll = tokio::spawn(async move {
        reader
            .read_wait(&acct, &from_oldest(10), Duration::from_secs(30))
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!poll.is_finished(), "answered before anything was appended");
    let got = writer
        .append(&account("crossproc"), items(2))
        .await
        .unwrap();
    // A long-poll that timed out answers with no items; these arrived by a wake-up.
    let page = tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .expect("the long-poll was not woken by the other process's append")
        .unwrap();
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), got);
}

/// Two processes appending to one account at once: every id unique, each process's ids
/// ascending, and the stream holds them all in id order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_appending_at_once_never_share_an_id() {
    let Some(h) = redis_harness() else { return };
    let acct = account("shared");
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let log = h.open(RETENTION).await;
        let clock = h.clock.clone();
        let acct = acct.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for batch in 0..60 {
                if batch % 5 == 0 {
                    clock.advance(Duration::from_millis(1));
                }
                got.extend(log.append(&acct, items(1 + batch % 3)).await.unwrap());
            }
            got
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let got = task.await.unwrap();
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
        all.extend(got);
    }
    let unique: BTreeSet<ItemId> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "an id was handed out twice");
    let log = h.open(RETENTION).await;
    let page = log.read(&acct, &from_oldest(1000)).await.unwrap();
    let read: Vec<ItemId> = page.items.iter().map(|i| i.id).collect();
    assert_eq!(read, unique.into_iter().collect::<Vec<_>>());
}

/// The layout operators and ARCHITECTURE.md rely on: one stream, one meta hash and one
/// set of carried outbox rows per account, sharing the account as hash tag, and the set
/// retention visits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_follow_the_documented_layout() {
    let Some(h) = redis_harness() else { return };
    let log = h.open(RETENTION).await;
    let got = log
        .append_rows(
            &account("layout"),
            items(2)
                .into_iter()
                .zip([5, 9])
                .map(|(item, row)| RowItem { row, item })
                .collect(),
        )
        .await
        .unwrap()
        .ids;
    let p = h.prefix.as_str();
    let mut keys = h.keys();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("{p}:accounts"),
            format!("{p}:{{layout}}:carried"),
            format!("{p}:{{layout}}:meta"),
            format!("{p}:{{layout}}:stream"),
        ]
    );
    let mut conn = h.client.get_connection().unwrap();
    let kind: String = redis::cmd("TYPE")
        .arg(format!("{p}:{{layout}}:stream"))
        .query(&mut conn)
        .unwrap();
    assert_eq!(kind, "stream");
    let meta: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(format!("{p}:{{layout}}:meta"))
        .query(&mut conn)
        .unwrap();
    let meta: std::collections::BTreeMap<_, _> = meta.into_iter().collect();
    assert_eq!(meta.get("last"), Some(&got[1].to_string()));
    assert_eq!(meta.len(), 1, "{meta:?}");
    // The rows, scored by the time of their items' ids, so retention can drop them.
    let carried: Vec<(String, u64)> = redis::cmd("ZRANGE")
        .arg(format!("{p}:{{layout}}:carried"))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut conn)
        .unwrap();
    assert_eq!(
        carried,
        [("5".to_owned(), got[0].ms), ("9".to_owned(), got[1].ms)]
    );
    let ids: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(format!("{p}:{{layout}}:stream"))
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .unwrap();
    let ids: Vec<String> = ids.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [got[0].to_string(), got[1].to_string()]);
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_error_at_start() {
    // Port 1 (tcpmux) has no Redis anywhere this runs; the password must not show.
    let url = RedisUrl::parse("redis://:hunter2@127.0.0.1:1/0").unwrap();
    let err = EventLog::open(OpenOptions::new(Backend::Redis {
        url,
        prefix: KeyPrefix::default(),
    }))
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("cannot connect to the Redis event log at redis://:***@127.0.0.1:1/0"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    assert!(err.is_unavailable());
}

/// A type filter that skips many items reads the stream in several round trips of at
/// most 1,000 entries; across their boundaries no item is missed or served twice, and
/// `more` and `next_id` are those of one long scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_read_across_several_round_trips_misses_nothing() {
    let Some(h) = redis_harness() else { return };
    let log = h.open(RETENTION).await;
    let acct = account("chunks");
    let wanted_at = [10, 1_005, 1_200, 2_400];
    let batch: Vec<NewItem> = (0..2_500)
        .map(|n| NewItem {
            ts: Timestamp::from_unix_ms(1_700_000_000_000),
            kind: if wanted_at.contains(&n) {
                "webshop:add_tickets"
            } else {
                "webshop:pageview"
            }
            .into(),
            data: format!(r#"{{"n":{n}}}"#),
        })
        .collect();
    let got = log.append(&acct, batch).await.unwrap();
    let mut req = ReadRequest {
        start: StartAt::Oldest,
        types: Some(std::iter::once(ActionType::from("webshop:add_tickets")).collect()),
        limit: 150,
    };
    assert_eq!(req.scan_cap(), 1_500);
    let page = log.read(&acct, &req).await.unwrap();
    let ids: Vec<ItemId> = page.items.iter().map(|i| i.id).collect();
    assert_eq!(ids, [got[10], got[1_005], got[1_200]]);
    assert!(page.more, "the scan stopped at its cap with items left");
    assert_eq!(page.next_id, got[1_499].successor());
    req.start = StartAt::Id(page.next_id);
    let page = log.read(&acct, &req).await.unwrap();
    let ids: Vec<ItemId> = page.items.iter().map(|i| i.id).collect();
    assert_eq!(ids, [got[2_400]]);
    assert!(!page.more);
    assert_eq!(page.next_id, got[2_499].successor());

    // A page that fills up exactly on the last entry of a round trip asks for one more
    // entry to tell `more`.
    let acct = account("fill");
    let batch: Vec<NewItem> = (0..1_001)
        .map(|n| NewItem {
            ts: Timestamp::from_unix_ms(1_700_000_000_000),
            kind: if n >= 851 {
                "webshop:add_tickets"
            } else {
                "webshop:pageview"
            }
            .into(),
            data: "{}".into(),
        })
        .collect();
    let got = log.append(&acct, batch).await.unwrap();
    req.start = StartAt::Oldest;
    let page = log.read(&acct, &req).await.unwrap();
    assert_eq!(page.items.len(), 150);
    assert_eq!(page.items[0].id, got[851]);
    assert!(!page.more);
    assert_eq!(page.next_id, got[1_000].successor());
    log.append(&acct, items(1)).await.unwrap();
    let page = log.read(&acct, &req).await.unwrap();
    assert_eq!(page.items.len(), 150);
    assert!(page.more);
    assert_eq!(page.next_id, got[1_000].successor());
}

/// A page read from Redis stops at `DISK_PAGE_BYTES` of JSON, whatever its limit, as a
/// page the embedded log reads from its file does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_read_from_redis_stops_at_its_byte_bound() {
    let Some(h) = redis_harness() else { return };
    let log = h.open(RETENTION).await;
    conformance::pages_stop_at_the_byte_bound(&log).await;
}

/// While Redis is down, reads and appends fail as "unavailable" (the API answers 503);
/// once it is back, the same handles work again without reopening, ids continue, and
/// long-polls are woken across processes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_recovers_when_redis_comes_back() {
    // A private server, since this test stops it; run only where Redis tests run.
    if std::env::var(URL_VAR).is_err() {
        eprintln!("skipped: {URL_VAR} not set");
        return;
    }
    let Some(mut server) = PrivateRedis::start() else {
        return;
    };
    let clock = ManualClock::new(T0);
    let open = || async {
        EventLog::open(OpenOptions {
            backend: Backend::Redis {
                url: RedisUrl::parse(&server.url()).unwrap(),
                prefix: KeyPrefix::default(),
            },
            retention: RETENTION,
            clock: Arc::new(clock.clone()),
            cache_bytes: eventlog::DEFAULT_CACHE_BYTES,
        })
        .await
        .unwrap()
    };
    let (writer, reader) = (open().await, open().await);
    let acct = account("outage");
    let before = writer.append(&acct, items(2)).await.unwrap();

    server.kill();
    let err = writer.append(&acct, items(1)).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let err = reader.read(&acct, &from_oldest(10)).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");

    server.restart();
    let mut after = None;
    for _ in 0..100 {
        match writer.append(&acct, items(1)).await {
            Ok(ids) => {
                after = Some(ids);
                break;
            }
            Err(e) => {
                assert!(e.is_unavailable(), "{e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let after = after.expect("appends did not work again within 10 s");
    assert_eq!(after, [before[1].successor()]);

    let next = after[0].successor();
    let poll = tokio::spawn(async move {
        let req = ReadRequest {
            start: StartAt::Id(next),
            types: None,
            limit: 10,
        };
        reader
            .read_wait(&account("outage"), &req, Duration::from_secs(30))
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let late = writer.append(&acct, items(1)).await.unwrap();
    let page = tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .expect("the long-poll was not woken after Redis came back")
        .unwrap()
        .unwrap();
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), late);
}

/// Sizing a deployment's Redis: what one retained item of a typical size costs in
/// memory. Prints the figure; fails if items started to cost much more than their JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_per_item_stays_close_to_its_json() {
    let Some(h) = redis_harness() else { return };
    let log = h.open(RETENTION).await;
    let acct = account("sizing");
    let item = NewItem {
        ts: Timestamp::from_unix_ms(1_700_000_000_000),
        kind: "webshop:add_tickets".into(),
        // Realistic text: catalog names and keys repeat, the ref and order ids do not.
        data: format!(
            r#"{{"ref":"shopper-{{n}}","order":{{"id":"1000123","tickets":[{{"event":"10003","name":"Dance performance 2","price":"25.00","rank":"Balcony","seat":null}}],"total":"25.00"}},"pad":"{}"}}"#,
            "x".repeat(540)
        ),
    };
    let json_len = protocol::item_json(ItemId::new(T0, 0), item.ts, &item.kind, &item.data).len();
    const COUNT: usize = 10_000;
    for chunk in 0..COUNT / 1_000 {
        let batch = (0..1_000)
            .map(|n| NewItem {
                data: item.data.replace("{n}", &(chunk * 1_000 + n).to_string()),
                ..item.clone()
            })
            .collect();
        log.append(&acct, batch).await.unwrap();
        h.clock.advance(Duration::from_millis(3));
    }
    let bytes = h.storage_bytes().unwrap();
    let per_item = bytes / u64::try_from(COUNT).unwrap();
    println!(
        "{COUNT} items of {json_len} bytes of JSON: {bytes} bytes in Redis, {per_item} per item"
    );
    assert!(json_len > 750, "{json_len}");
    assert!(
        per_item < u64::try_from(json_len).unwrap() * 5 / 4,
        "{per_item} bytes per item of {json_len} bytes"
    );
}
