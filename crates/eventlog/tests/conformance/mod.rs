//! The conformance suite of the event log: the contract of spec sections 4 and 5 as
//! tests that every backend must pass.
//!
//! A backend's test file implements [`Harness`] (fresh storage, a [`ManualClock`], a way
//! to reopen the same storage) and invokes [`conformance_suite!`], which generates one
//! `#[tokio::test]` per case below.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eventlog::{
    Clock, EventLog, ManualClock, NewItem, ReadPage, ReadRequest, RowItem, RowsAppended,
};
use protocol::{AccountName, ActionType, ItemId, StartAt, Timestamp, item_json};

/// A point in time well after the epoch; every case starts here.
pub(crate) const T0: u64 = 1_700_000_000_000;
pub(crate) const RETENTION: Duration = Duration::from_secs(4 * 3600);
const HOUR: Duration = Duration::from_secs(3600);

const PAGEVIEW: &str = "webshop:pageview";
const ADD_TICKETS: &str = "webshop:add_tickets";

/// What a backend provides to run the suite.
pub(crate) trait Harness: Send + Sync + 'static {
    /// Opens the log over this harness's storage with its clock. Opening again after the
    /// previous log was dropped is a restart.
    fn open(&self, retention: Duration) -> impl Future<Output = EventLog> + Send;
    /// The clock every log of this harness uses; it starts at [`T0`].
    fn clock(&self) -> &ManualClock;
    /// Bytes the storage occupies, when the backend can tell.
    fn storage_bytes(&self) -> Option<u64>;
}

/// Generates one test per case for the harness that `$make` returns. With `optional`,
/// `$make` returns an `Option` and each case returns at once on `None` (a backend whose
/// server is not configured; `$make` says that it skipped).
macro_rules! conformance_suite {
    (optional $make:expr) => {
        conformance_suite!(@cases $make;
            empty_stream_answers_zero,
            ids_ascend_numerically,
            items_are_served_as_appended,
            pages_follow_limit_more_and_next_id,
            a_page_of_thousands_of_items_is_served_whole,
            type_filter_skips_but_advances_next_id,
            filter_matching_nothing_stops_at_the_scan_cap,
            time_start_reads_from_that_millisecond,
            expired_items_are_not_served_before_purge,
            purge_deletes_and_frees_space,
            gap_is_reported_for_deleted_positions,
            restart_keeps_ids_positions_and_deletions,
            clock_stepping_back_grows_seq,
            concurrent_appenders_get_unique_ascending_ids,
            concurrent_reader_never_skips_an_item,
            read_wait_wakes_promptly_on_append,
            read_wait_returns_empty_after_the_timeout,
            read_wait_skips_filtered_items_while_waiting,
            read_wait_answers_at_once_when_items_exist,
            carried_rows_are_recorded_and_never_appended_twice,
            concurrent_appends_of_the_same_rows_carry_each_once,
            accounts_are_separate,
            stats_count_the_items_kept,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(harness) = $make else {
                    return;
                };
                crate::conformance::$case(&harness).await;
            }
        )*
    };
    ($make:expr) => {
        conformance_suite!(optional Some($make));
    };
}
pub(crate) use conformance_suite;

fn account(name: &str) -> AccountName {
    AccountName::parse(name).unwrap()
}

fn new_item(kind: &str, n: usize) -> NewItem {
    NewItem {
        ts: Timestamp::from_unix_ms(i64::try_from(T0).unwrap()),
        kind: kind.to_owned(),
        data: format!(r#"{{"n":{n}}}"#),
    }
}

fn items(kind: &str, count: usize) -> Vec<NewItem> {
    (0..count).map(|n| new_item(kind, n)).collect()
}

/// Items carrying the outbox rows `rows`, one each; item `n` carries `rows[n]`.
fn row_items(kind: &str, rows: &[u64]) -> Vec<RowItem> {
    rows.iter()
        .map(|&row| RowItem {
            row,
            item: new_item(kind, usize::try_from(row).unwrap_or(usize::MAX)),
        })
        .collect()
}

fn request(start: StartAt, limit: usize) -> ReadRequest {
    ReadRequest {
        start,
        types: None,
        limit,
    }
}

fn filtered(start: StartAt, limit: usize, types: &[&str]) -> ReadRequest {
    ReadRequest {
        start,
        types: Some(types.iter().map(|t| ActionType::from(*t)).collect()),
        limit,
    }
}

/// The ids of a page, after checking that its joined form is its items, in order.
fn ids(page: &ReadPage) -> Vec<ItemId> {
    let joined: Vec<u8> = page.joined_items().join(&b',');
    let items: Vec<&str> = page.items.iter().map(|i| i.json_str()).collect();
    assert_eq!(String::from_utf8(joined).unwrap(), items.join(","));
    page.items.iter().map(|i| i.id).collect()
}

fn time(ms: u64) -> StartAt {
    StartAt::Time(Timestamp::from_unix_ms(i64::try_from(ms).unwrap()))
}

/// Every retained id of an account, read page by page.
async fn read_all(log: &EventLog, acct: &AccountName) -> Vec<ItemId> {
    let mut out = Vec::new();
    let mut start = StartAt::Oldest;
    for _ in 0..10_000 {
        let page = log.read(acct, &request(start, 100)).await.unwrap();
        out.extend(ids(&page));
        if !page.more {
            return out;
        }
        assert_ne!(StartAt::Id(page.next_id), start, "next_id did not advance");
        start = StartAt::Id(page.next_id);
    }
    panic!("the stream did not end after 10000 pages");
}

fn assert_strictly_ascending(ids: &[ItemId]) {
    for pair in ids.windows(2) {
        assert!(
            pair[0] < pair[1],
            "ids out of order: {} then {}",
            pair[0],
            pair[1]
        );
    }
}

pub(crate) async fn empty_stream_answers_zero(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("empty");
    let page = log
        .read(&acct, &request(StartAt::Oldest, 10))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_id, ItemId::ZERO);
    assert_eq!(page.next_id.to_string(), "0");
    assert!(!page.more && !page.gap);
    assert_eq!(page.oldest_id, None);
    let page = log
        .read(&acct, &request(StartAt::Id(ItemId::new(5, 2)), 10))
        .await
        .unwrap();
    assert_eq!(page.next_id, ItemId::new(5, 2));
    let page = log.read(&acct, &request(time(T0 + 7), 10)).await.unwrap();
    assert_eq!(page.next_id, ItemId::new(T0 + 7, 0));
    // A position beyond anything a store can hold is simply past the end.
    let far = ItemId::new(u64::MAX, u64::MAX);
    let page = log
        .read(&acct, &request(StartAt::Id(far), 10))
        .await
        .unwrap();
    assert_eq!((page.next_id, page.items.len()), (far, 0));
    assert_eq!(log.oldest_id(&acct).await.unwrap(), None);
    assert_eq!(log.highest_deleted_id(&acct).await.unwrap(), None);
    assert_eq!(
        log.carried(&acct, &[1, 2]).await.unwrap(),
        Vec::<u64>::new()
    );
    assert_eq!(log.append(&acct, Vec::new()).await.unwrap(), Vec::new());
    assert_eq!(
        log.append_rows(&acct, Vec::new()).await.unwrap(),
        RowsAppended::default()
    );
}

pub(crate) async fn ids_ascend_numerically(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("numeric");
    // Crossing from 10 to 11 digits: as text "9999999999-1" > "10000000000-0".
    let mut appended = Vec::new();
    for (ms, count) in [(9_999_999_998, 2), (9_999_999_999, 2), (10_000_000_000, 2)] {
        h.clock().set_ms(ms);
        appended.extend(log.append(&acct, items(PAGEVIEW, count)).await.unwrap());
    }
    let expected = [
        ItemId::new(9_999_999_998, 0),
        ItemId::new(9_999_999_998, 1),
        ItemId::new(9_999_999_999, 0),
        ItemId::new(9_999_999_999, 1),
        ItemId::new(10_000_000_000, 0),
        ItemId::new(10_000_000_000, 1),
    ];
    assert_eq!(appended, expected);
    assert_eq!(read_all(&log, &acct).await, expected);
    let start = StartAt::Id("9999999999-1".parse().unwrap());
    let page = log.read(&acct, &request(start, 10)).await.unwrap();
    assert_eq!(ids(&page), expected[3..]);
    // Seq is numeric too: 10 comes after 9.
    h.clock().set_ms(10_000_000_001);
    let many = log.append(&acct, items(PAGEVIEW, 12)).await.unwrap();
    let start = StartAt::Id(ItemId::new(10_000_000_001, 9));
    let page = log.read(&acct, &request(start, 10)).await.unwrap();
    assert_eq!(ids(&page), many[9..]);
}

pub(crate) async fn items_are_served_as_appended(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("served");
    let batch = vec![
        NewItem {
            ts: Timestamp::from_unix_ms(1_663_069_585_000),
            kind: ADD_TICKETS.into(),
            data: r#"{"ref":"a\"b \u00e9 😀","tickets":[],"order":null}"#.into(),
        },
        NewItem {
            ts: Timestamp::from_unix_ms(1_663_069_586_000),
            kind: "webshop:something_new".into(),
            data: "{}".into(),
        },
    ];
    let got = log.append(&acct, batch.clone()).await.unwrap();
    let page = log
        .read(&acct, &request(StartAt::Oldest, 10))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    for ((stored, new), id) in page.items.iter().zip(&batch).zip(&got) {
        assert_eq!(stored.id, *id);
        assert_eq!(*stored.kind, *new.kind);
        assert_eq!(
            stored.json_str(),
            item_json(*id, new.ts, &new.kind, &new.data)
        );
    }
    assert_eq!(page.oldest_id, Some(got[0]));
    assert_eq!(log.oldest_id(&acct).await.unwrap(), Some(got[0]));
}

pub(crate) async fn pages_follow_limit_more_and_next_id(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("paging");
    let mut appended = Vec::new();
    for count in [10, 10, 5] {
        appended.extend(log.append(&acct, items(PAGEVIEW, count)).await.unwrap());
        h.clock().advance(Duration::from_millis(1));
    }
    let mut start = StartAt::Oldest;
    let mut seen = Vec::new();
    for (expected_len, expected_more) in [(10, true), (10, true), (5, false)] {
        let page = log.read(&acct, &request(start, 10)).await.unwrap();
        assert_eq!(page.items.len(), expected_len);
        assert_eq!(page.more, expected_more);
        assert!(!page.gap);
        assert_eq!(page.oldest_id, Some(appended[0]));
        let last = page.items.last().unwrap().id;
        assert_eq!(page.next_id, last.successor());
        seen.extend(ids(&page));
        start = StartAt::Id(page.next_id);
    }
    assert_eq!(seen, appended);
    // Caught up: nothing scanned, so the answer repeats the requested position.
    let page = log.read(&acct, &request(start, 10)).await.unwrap();
    assert!(page.items.is_empty() && !page.more);
    assert_eq!(StartAt::Id(page.next_id), start);
    // Starting in the middle is inclusive.
    let page = log
        .read(&acct, &request(StartAt::Id(appended[13]), 3))
        .await
        .unwrap();
    assert_eq!(ids(&page), appended[13..16]);
    // A limit of 0 is read as 1, never as "everything".
    let page = log.read(&acct, &request(StartAt::Oldest, 0)).await.unwrap();
    assert_eq!(ids(&page), appended[..1]);
}

/// A page larger than what a backend fetches at once (Redis: 1,000 entries a round trip)
/// is still one page: every item up to the limit, in order, with `more` and `next_id` as
/// at any limit.
pub(crate) async fn a_page_of_thousands_of_items_is_served_whole(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("thousands");
    let appended = log.append(&acct, items(PAGEVIEW, 2_600)).await.unwrap();
    let page = log
        .read(&acct, &request(StartAt::Oldest, 2_500))
        .await
        .unwrap();
    assert_eq!(ids(&page), appended[..2_500]);
    assert!(page.more);
    assert_eq!(page.next_id, appended[2_499].successor());
    let page = log
        .read(&acct, &request(StartAt::Id(page.next_id), 2_500))
        .await
        .unwrap();
    assert_eq!(ids(&page), appended[2_500..]);
    assert!(!page.more);
    // A page that ends exactly at the stream's end: nothing more follows.
    let page = log
        .read(&acct, &request(StartAt::Id(appended[1_600]), 1_000))
        .await
        .unwrap();
    assert_eq!(ids(&page), appended[1_600..]);
    assert!(!page.more);
}

pub(crate) async fn type_filter_skips_but_advances_next_id(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("filter");
    let batch = [PAGEVIEW, ADD_TICKETS, PAGEVIEW, ADD_TICKETS, ADD_TICKETS]
        .iter()
        .enumerate()
        .map(|(n, kind)| new_item(kind, n))
        .collect();
    let got = log.append(&acct, batch).await.unwrap();
    let page = log
        .read(&acct, &filtered(StartAt::Oldest, 2, &[ADD_TICKETS]))
        .await
        .unwrap();
    assert_eq!(ids(&page), [got[1], got[3]]);
    assert!(page.items.iter().all(|i| &*i.kind == ADD_TICKETS));
    assert_eq!(page.next_id, got[3].successor());
    assert!(page.more);
    let page = log
        .read(
            &acct,
            &filtered(StartAt::Id(page.next_id), 2, &[ADD_TICKETS]),
        )
        .await
        .unwrap();
    assert_eq!(ids(&page), [got[4]]);
    assert!(!page.more);
    // Items filtered out still advance the position: the trailing ones are not rescanned.
    let page = log
        .read(&acct, &filtered(StartAt::Oldest, 10, &[PAGEVIEW]))
        .await
        .unwrap();
    assert_eq!(ids(&page), [got[0], got[2]]);
    assert_eq!(page.next_id, got[4].successor());
    assert!(!page.more);
    // Several types, and unknown names that simply match nothing.
    let page = log
        .read(
            &acct,
            &filtered(
                StartAt::Oldest,
                10,
                &[PAGEVIEW, "webshop:nope", ADD_TICKETS],
            ),
        )
        .await
        .unwrap();
    assert_eq!(ids(&page), got);
    let page = log
        .read(&acct, &filtered(StartAt::Oldest, 10, &["webshop:nope"]))
        .await
        .unwrap();
    assert!(page.items.is_empty() && !page.more);
    assert_eq!(page.next_id, got[4].successor());
    let page = log
        .read(&acct, &filtered(StartAt::Oldest, 10, &[]))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_id, got[4].successor());
}

pub(crate) async fn filter_matching_nothing_stops_at_the_scan_cap(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("cap");
    let req = filtered(StartAt::Oldest, 1, &["webshop:nope"]);
    let cap = req.scan_cap();
    assert!((1..=100_000).contains(&cap), "cap {cap}");
    let total = 2 * cap + 5;
    let mut got = Vec::new();
    for chunk in items(PAGEVIEW, total).chunks(1_000) {
        got.extend(log.append(&acct, chunk.to_vec()).await.unwrap());
    }
    let mut req = req;
    for expected_next in [got[cap - 1].successor(), got[2 * cap - 1].successor()] {
        let page = log.read(&acct, &req).await.unwrap();
        assert!(page.items.is_empty());
        assert!(page.more, "stopping at the cap must say more");
        assert_eq!(page.next_id, expected_next);
        req.start = StartAt::Id(page.next_id);
    }
    let page = log.read(&acct, &req).await.unwrap();
    assert!(page.items.is_empty() && !page.more);
    assert_eq!(page.next_id, got[total - 1].successor());
    // The cap never hides a matching item: a match just past a full scan shows up next.
    let late = log
        .append(&acct, vec![new_item(ADD_TICKETS, 0)])
        .await
        .unwrap();
    let mut req = filtered(StartAt::Oldest, 1, &[ADD_TICKETS]);
    for _ in 0..10 {
        let page = log.read(&acct, &req).await.unwrap();
        if !page.items.is_empty() {
            assert_eq!(ids(&page), late);
            return;
        }
        assert!(page.more, "the matching item was skipped");
        req.start = StartAt::Id(page.next_id);
    }
    panic!("the matching item was not found within 10 pages");
}

pub(crate) async fn time_start_reads_from_that_millisecond(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("ts");
    let mut got = Vec::new();
    for offset in [0, 10, 10, 20] {
        h.clock().set_ms(T0 + offset);
        got.extend(log.append(&acct, items(PAGEVIEW, 1)).await.unwrap());
    }
    assert_eq!(got[1], ItemId::new(T0 + 10, 0));
    assert_eq!(got[2], ItemId::new(T0 + 10, 1));
    let page = log.read(&acct, &request(time(T0 + 10), 10)).await.unwrap();
    assert_eq!(ids(&page), got[1..]);
    let page = log.read(&acct, &request(time(T0 + 5), 10)).await.unwrap();
    assert_eq!(ids(&page), got[1..]);
    let page = log.read(&acct, &request(time(T0 + 30), 10)).await.unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_id, ItemId::new(T0 + 30, 0));
    let before_1970 = StartAt::Time(Timestamp::from_unix_ms(-5_000));
    let page = log.read(&acct, &request(before_1970, 10)).await.unwrap();
    assert_eq!(ids(&page), got);
    assert!(!page.gap);
}

pub(crate) async fn expired_items_are_not_served_before_purge(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("expiry");
    let old = log.append(&acct, items(PAGEVIEW, 3)).await.unwrap();
    h.clock().advance(HOUR);
    let young = log.append(&acct, items(PAGEVIEW, 2)).await.unwrap();
    // Exactly at the edge of the window the old items are still retained...
    h.clock().set_ms(T0 + 4 * 3600 * 1000);
    assert_eq!(read_all(&log, &acct).await.len(), 5);
    assert_eq!(log.oldest_id(&acct).await.unwrap(), Some(old[0]));
    // ...one millisecond later they are gone for readers, though no purge ran.
    h.clock().advance(Duration::from_millis(1));
    assert_eq!(read_all(&log, &acct).await, young);
    assert_eq!(log.oldest_id(&acct).await.unwrap(), Some(young[0]));
    assert_eq!(log.highest_deleted_id(&acct).await.unwrap(), Some(old[2]));
    let page = log
        .read(&acct, &request(StartAt::Id(old[1]), 10))
        .await
        .unwrap();
    assert_eq!(ids(&page), young);
    assert!(page.gap);
    assert_eq!(page.oldest_id, Some(young[0]));
    let page = log
        .read(&acct, &request(StartAt::Oldest, 10))
        .await
        .unwrap();
    assert!(!page.gap);
    // Everything expired: nothing is served, and reading from the oldest continues
    // right after the expired items.
    h.clock().advance(HOUR);
    let page = log
        .read(&acct, &request(StartAt::Oldest, 10))
        .await
        .unwrap();
    assert!(page.items.is_empty() && !page.gap);
    assert_eq!(page.oldest_id, None);
    assert_eq!(page.next_id, young[1].successor());
}

pub(crate) async fn purge_deletes_and_frees_space(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("purge");
    let other = account("purge-other");
    let data = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1000));
    let mut old = Vec::new();
    for _ in 0..6 {
        let batch = (0..500)
            .map(|_| NewItem {
                ts: Timestamp::from_unix_ms(0),
                kind: PAGEVIEW.into(),
                data: data.clone(),
            })
            .collect();
        old.extend(log.append(&acct, batch).await.unwrap());
    }
    let other_old = log.append(&other, items(PAGEVIEW, 2)).await.unwrap();
    h.clock().advance(3 * HOUR);
    let young = log.append(&acct, items(PAGEVIEW, 1)).await.unwrap();
    let before = h.storage_bytes();
    // Nothing expired yet: purge deletes nothing.
    assert_eq!(log.purge().await.unwrap().deleted, 0);
    h.clock().advance(HOUR + Duration::from_millis(1));
    let report = log.purge().await.unwrap();
    assert_eq!(report.deleted, 3002);
    assert_eq!(read_all(&log, &acct).await, young);
    assert_eq!(read_all(&log, &other).await, Vec::new());
    assert_eq!(
        log.highest_deleted_id(&acct).await.unwrap(),
        old.last().copied()
    );
    assert_eq!(
        log.highest_deleted_id(&other).await.unwrap(),
        Some(other_old[1])
    );
    assert_eq!(log.purge().await.unwrap().deleted, 0);
    if let (Some(before), Some(after)) = (before, h.storage_bytes()) {
        assert!(
            after * 2 < before,
            "disk space was not given back: {before} bytes before, {after} after"
        );
    }
}

pub(crate) async fn gap_is_reported_for_deleted_positions(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("gap");
    let a = log.append(&acct, items(PAGEVIEW, 5)).await.unwrap();
    h.clock().advance(2 * HOUR);
    let b = log.append(&acct, items(PAGEVIEW, 3)).await.unwrap();
    h.clock().advance(2 * HOUR + Duration::from_millis(1));
    assert_eq!(log.purge().await.unwrap().deleted, 5);
    let deleted = a[4];
    assert_eq!(log.highest_deleted_id(&acct).await.unwrap(), Some(deleted));
    let cases = [
        (StartAt::Oldest, false),
        (StartAt::Id(ItemId::ZERO), true),
        (StartAt::Id(a[0]), true),
        (StartAt::Id(deleted), true),
        (StartAt::Id(deleted.successor()), false),
        (StartAt::Id(b[0]), false),
        (time(T0 - 1000), true),
        (time(T0), true),
        (time(T0 + 1), false),
        (StartAt::Time(Timestamp::from_unix_ms(-1)), true),
    ];
    for (start, gap) in cases {
        let page = log.read(&acct, &request(start, 10)).await.unwrap();
        assert_eq!(page.gap, gap, "{start:?}");
        assert_eq!(page.oldest_id, Some(b[0]), "{start:?}");
        if start != StartAt::Id(b[0]) {
            assert_eq!(ids(&page), b, "{start:?}");
        }
    }
    // Once everything is deleted, a reader that was up to date sees no gap, one behind does.
    h.clock().advance(2 * HOUR);
    assert_eq!(log.purge().await.unwrap().deleted, 3);
    let page = log
        .read(&acct, &request(StartAt::Oldest, 10))
        .await
        .unwrap();
    assert!(page.items.is_empty() && !page.gap);
    assert_eq!(page.oldest_id, None);
    assert_eq!(page.next_id, b[2].successor());
    let page = log
        .read(&acct, &request(StartAt::Id(page.next_id), 10))
        .await
        .unwrap();
    assert!(!page.gap);
    assert_eq!(page.next_id, b[2].successor());
    let page = log
        .read(&acct, &request(StartAt::Id(b[2]), 10))
        .await
        .unwrap();
    assert!(page.gap);
    // The page after the gap starts past the deleted items, where (as read above) there
    // is no gap: the loss is reported once.
    assert_eq!(page.next_id, b[2].successor());
    // A long-poll behind the window answers the gap at once instead of waiting.
    let page = tokio::time::timeout(
        Duration::from_secs(10),
        log.read_wait(
            &acct,
            &request(StartAt::Id(a[0]), 10),
            Duration::from_secs(60),
        ),
    )
    .await
    .expect("a gap is answered without waiting")
    .unwrap();
    assert!(page.gap && page.items.is_empty());
    assert_eq!(page.next_id, b[2].successor());
}

pub(crate) async fn restart_keeps_ids_positions_and_deletions(h: &impl Harness) {
    let acct = account("restart");
    let log = h.open(RETENTION).await;
    let first = log
        .append_rows(&acct, row_items(PAGEVIEW, &[5, 6, 7]))
        .await
        .unwrap()
        .ids;
    drop(log);

    let log = h.open(RETENTION).await;
    assert_eq!(log.carried(&acct, &[5, 6, 7, 8]).await.unwrap(), [5, 6, 7]);
    assert_eq!(read_all(&log, &acct).await, first);
    // Same millisecond after the restart: the sequence continues, no id is reused.
    let second = log
        .append_rows(&acct, row_items(PAGEVIEW, &[8]))
        .await
        .unwrap()
        .ids;
    assert_eq!(second, [first[2].successor()]);
    h.clock().advance(RETENTION + HOUR);
    assert_eq!(log.purge().await.unwrap().deleted, 4);
    // The records of the rows went with their items.
    assert!(log.carried(&acct, &[5, 6, 7, 8]).await.unwrap().is_empty());
    drop(log);

    let log = h.open(RETENTION).await;
    assert!(log.carried(&acct, &[5, 6, 7, 8]).await.unwrap().is_empty());
    assert_eq!(
        log.highest_deleted_id(&acct).await.unwrap(),
        Some(second[0])
    );
    assert_eq!(log.oldest_id(&acct).await.unwrap(), None);
    let page = log
        .read(&acct, &request(StartAt::Id(first[1]), 10))
        .await
        .unwrap();
    assert!(page.gap);
    drop(log);

    // Every item is gone and the clock is now behind the last id: ids still only grow.
    h.clock().set_ms(T0 - 1000);
    let log = h.open(RETENTION).await;
    let third = log.append(&acct, items(PAGEVIEW, 1)).await.unwrap();
    assert_eq!(third, [second[0].successor()]);
    assert_eq!(read_all(&log, &acct).await, third);
}

pub(crate) async fn clock_stepping_back_grows_seq(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("backwards");
    h.clock().set_ms(T0 + 1000);
    let mut got = log.append(&acct, items(PAGEVIEW, 1)).await.unwrap();
    h.clock().set_ms(T0 + 500);
    got.extend(log.append(&acct, items(PAGEVIEW, 2)).await.unwrap());
    h.clock().set_ms(T0 + 1000);
    got.extend(log.append(&acct, items(PAGEVIEW, 1)).await.unwrap());
    h.clock().set_ms(T0 + 1001);
    got.extend(log.append(&acct, items(PAGEVIEW, 1)).await.unwrap());
    assert_eq!(
        got,
        [
            ItemId::new(T0 + 1000, 0),
            ItemId::new(T0 + 1000, 1),
            ItemId::new(T0 + 1000, 2),
            ItemId::new(T0 + 1000, 3),
            ItemId::new(T0 + 1001, 0),
        ]
    );
    assert_eq!(read_all(&log, &acct).await, got);
}

fn batch_size(task: usize, batch: usize) -> usize {
    1 + (task + batch) % 3
}

/// Appends `batches` batches of 1 to 3 items from each of `tasks` tasks while the clock
/// ticks; returns every id each task got.
async fn append_concurrently(
    h: &impl Harness,
    log: &EventLog,
    acct: &AccountName,
    tasks: usize,
    batches: usize,
) -> Vec<Vec<ItemId>> {
    let mut handles = Vec::new();
    for task in 0..tasks {
        let log = log.clone();
        let acct = acct.clone();
        let clock = h.clock().clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for batch in 0..batches {
                if batch % 7 == task % 7 {
                    clock.advance(Duration::from_millis(1));
                }
                let count = batch_size(task, batch);
                let ids = log.append(&acct, items(ADD_TICKETS, count)).await.unwrap();
                assert_eq!(ids.len(), count);
                got.extend(ids);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.push(handle.await.unwrap());
    }
    all
}

pub(crate) async fn concurrent_appenders_get_unique_ascending_ids(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("concurrent");
    let per_task = append_concurrently(h, &log, &acct, 8, 50).await;
    for got in &per_task {
        // One task's appends happen one after another, so its ids ascend.
        assert_strictly_ascending(got);
    }
    let expected: usize = (0..8)
        .flat_map(|task| (0..50).map(move |batch| batch_size(task, batch)))
        .sum();
    let all: BTreeSet<ItemId> = per_task.iter().flatten().copied().collect();
    let total: usize = per_task.iter().map(Vec::len).sum();
    assert_eq!(total, expected);
    assert_eq!(all.len(), total, "an id was handed out twice");
    let read = read_all(&log, &acct).await;
    assert_eq!(read, all.into_iter().collect::<Vec<_>>());
}

pub(crate) async fn concurrent_reader_never_skips_an_item(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("live");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let log = log.clone();
        let acct = acct.clone();
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut seen: Vec<ItemId> = Vec::new();
            let mut cursor = ItemId::ZERO;
            let started = Instant::now();
            loop {
                // Read the flag before reading: a read that starts after every append
                // returned sees them all.
                let finished = done.load(Ordering::SeqCst);
                let page = log
                    .read(&acct, &request(StartAt::Id(cursor), 7))
                    .await
                    .unwrap();
                for item in &page.items {
                    assert!(item.id >= cursor, "{} below cursor {cursor}", item.id);
                    if let Some(prev) = seen.last() {
                        assert!(item.id > *prev, "{} after {prev}", item.id);
                    }
                    seen.push(item.id);
                }
                cursor = page.next_id;
                if finished && !page.more {
                    return seen;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "reader never caught up"
                );
                if page.items.is_empty() {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let per_task = append_concurrently(h, &log, &acct, 4, 100).await;
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let mut appended: Vec<ItemId> = per_task.into_iter().flatten().collect();
    appended.sort();
    // Had an id become visible before a smaller one, the reader's cursor would have
    // passed the smaller one and it would be missing here.
    assert_eq!(seen, appended);
}

pub(crate) async fn read_wait_wakes_promptly_on_append(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("wake");
    let waiter = {
        let log = log.clone();
        let acct = acct.clone();
        tokio::spawn(async move {
            let page = log
                .read_wait(
                    &acct,
                    &request(StartAt::Oldest, 10),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
            (page, Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let appended_at = Instant::now();
    let got = log.append(&acct, items(PAGEVIEW, 2)).await.unwrap();
    let (page, answered_at) = waiter.await.unwrap();
    assert_eq!(ids(&page), got);
    assert_eq!(page.next_id, got[1].successor());
    let latency = answered_at.saturating_duration_since(appended_at);
    assert!(
        latency < Duration::from_millis(500),
        "woke after {latency:?}"
    );
}

pub(crate) async fn read_wait_returns_empty_after_the_timeout(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("quiet");
    // Another account's appends must not end this wait with an empty answer early.
    let noise = {
        let log = log.clone();
        tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                log.append(&account("noisy"), items(PAGEVIEW, 1))
                    .await
                    .unwrap();
            }
        })
    };
    let started = Instant::now();
    let page = log
        .read_wait(
            &acct,
            &request(StartAt::Oldest, 10),
            Duration::from_millis(300),
        )
        .await
        .unwrap();
    let waited = started.elapsed();
    noise.await.unwrap();
    assert!(page.items.is_empty() && !page.more && !page.gap);
    assert_eq!(page.next_id, ItemId::ZERO);
    assert!(
        waited >= Duration::from_millis(300),
        "returned after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "returned after {waited:?}");
}

pub(crate) async fn read_wait_skips_filtered_items_while_waiting(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("waitfilter");
    let before = log.append(&acct, items(ADD_TICKETS, 2)).await.unwrap();
    let waiter = {
        let log = log.clone();
        let acct = acct.clone();
        tokio::spawn(async move {
            let req = filtered(StartAt::Oldest, 10, &[PAGEVIEW]);
            log.read_wait(&acct, &req, Duration::from_secs(10))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let skipped = log.append(&acct, items(ADD_TICKETS, 3)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !waiter.is_finished(),
        "answered with only filtered-out items"
    );
    let wanted = log.append(&acct, items(PAGEVIEW, 1)).await.unwrap();
    let page = waiter.await.unwrap();
    assert_eq!(ids(&page), wanted);
    assert_eq!(page.next_id, wanted[0].successor());
    assert!(before[1] < skipped[0] && skipped[2] < wanted[0]);
}

pub(crate) async fn read_wait_answers_at_once_when_items_exist(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("ready");
    let got = log.append(&acct, items(PAGEVIEW, 3)).await.unwrap();
    let started = Instant::now();
    let page = log
        .read_wait(&acct, &request(StartAt::Oldest, 2), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(ids(&page), got[..2]);
    assert!(page.more);
    assert!(started.elapsed() < Duration::from_secs(2));
    // A gap is answered at once, without waiting for an item; waiting again from its
    // next id finds the next item and no gap.
    h.clock().advance(RETENTION + Duration::from_millis(1));
    let page = log
        .read_wait(
            &acct,
            &request(StartAt::Id(got[0]), 10),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert!(page.gap && page.items.is_empty());
    assert_eq!(page.next_id, got[2].successor());
    let waiter = {
        let log = log.clone();
        let acct = acct.clone();
        let next = page.next_id;
        tokio::spawn(async move {
            log.read_wait(
                &acct,
                &request(StartAt::Id(next), 10),
                Duration::from_secs(10),
            )
            .await
            .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let late = log.append(&acct, items(PAGEVIEW, 1)).await.unwrap();
    let page = waiter.await.unwrap();
    assert_eq!(ids(&page), late);
    assert!(!page.gap);
}

pub(crate) async fn carried_rows_are_recorded_and_never_appended_twice(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("relay");
    assert!(log.carried(&acct, &[1, 2, 3]).await.unwrap().is_empty());
    // Rows need not come in id order (a row that committed late comes after larger ids).
    let first = log
        .append_rows(&acct, row_items(PAGEVIEW, &[3, 1]))
        .await
        .unwrap();
    assert_eq!(first.ids.len(), 2);
    assert!(first.already_carried.is_empty());
    assert_eq!(log.carried(&acct, &[1, 2, 3]).await.unwrap(), [1, 3]);
    assert_eq!(log.carried(&acct, &[3, 2, 1]).await.unwrap(), [3, 1]);
    // Items that carry no row record nothing.
    let plain = log.append(&acct, items(ADD_TICKETS, 1)).await.unwrap();
    assert_eq!(log.carried(&acct, &[1, 2, 3]).await.unwrap(), [1, 3]);

    // Again, with one new row among them: only that one is appended, in the same step.
    let again = log
        .append_rows(&acct, row_items(ADD_TICKETS, &[1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(again.ids, [plain[0].successor()]);
    assert_eq!(again.already_carried, [1, 3]);
    let page = log
        .read(&acct, &request(StartAt::Oldest, 10))
        .await
        .unwrap();
    assert_eq!(
        ids(&page),
        [first.ids.clone(), plain, again.ids.clone()].concat()
    );
    assert_eq!(
        page.items.iter().map(|i| &*i.kind).collect::<Vec<_>>(),
        [PAGEVIEW, PAGEVIEW, ADD_TICKETS, ADD_TICKETS]
    );
    assert!(
        page.items[3].json_str().contains(r#""data":{"n":2}"#),
        "{}",
        page.items[3].json_str()
    );

    // A batch carried entirely appends nothing and uses up no id.
    let nothing = log
        .append_rows(&acct, row_items(PAGEVIEW, &[2, 3]))
        .await
        .unwrap();
    assert!(nothing.ids.is_empty());
    assert_eq!(nothing.already_carried, [2, 3]);
    let next = log.append(&acct, items(PAGEVIEW, 1)).await.unwrap();
    assert_eq!(next, [again.ids[0].successor()]);

    // Row ids are per account, up to the largest an outbox can hand out.
    assert!(
        log.carried(&account("other"), &[1])
            .await
            .unwrap()
            .is_empty()
    );
    let big = u64::try_from(i64::MAX).unwrap();
    log.append_rows(&acct, row_items(PAGEVIEW, &[big]))
        .await
        .unwrap();
    drop(log);
    let log = h.open(RETENTION).await;
    assert_eq!(log.carried(&acct, &[big, 1, 7]).await.unwrap(), [big, 1]);
    assert_eq!(read_all(&log, &acct).await.len(), 6);
}

pub(crate) async fn concurrent_appends_of_the_same_rows_carry_each_once(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let acct = account("racing-relays");
    let rows: Vec<u64> = (1..=50).collect();
    let relays: Vec<_> = (0..4)
        .map(|_| {
            let (log, acct, rows) = (log.clone(), acct.clone(), rows.clone());
            tokio::spawn(async move { log.append_rows(&acct, row_items(PAGEVIEW, &rows)).await })
        })
        .collect();
    let mut appended = 0;
    for relay in relays {
        let done = relay.await.unwrap().unwrap();
        assert_eq!(done.ids.len() + done.already_carried.len(), rows.len());
        appended += done.ids.len();
    }
    assert_eq!(appended, rows.len());
    let all = read_all(&log, &acct).await;
    assert_eq!(all.len(), rows.len());
    assert_eq!(log.carried(&acct, &rows).await.unwrap(), rows);
}

pub(crate) async fn accounts_are_separate(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let (a, b) = (account("alpha"), account("beta"));
    let got_a = log
        .append_rows(&a, row_items(PAGEVIEW, &[1, 2]))
        .await
        .unwrap()
        .ids;
    // The same row ids in another account are that account's own.
    let got_b = log
        .append_rows(&b, row_items(ADD_TICKETS, &[1, 2, 3]))
        .await
        .unwrap()
        .ids;
    // Each account has its own sequence.
    assert_eq!(got_a[0], ItemId::new(h.clock().now_ms(), 0));
    assert_eq!(got_b[0], ItemId::new(h.clock().now_ms(), 0));
    assert_eq!(read_all(&log, &a).await, got_a);
    assert_eq!(read_all(&log, &b).await, got_b);
    assert_eq!(log.carried(&a, &[1, 2, 3]).await.unwrap(), [1, 2]);
    assert_eq!(log.carried(&b, &[1, 2, 3]).await.unwrap(), [1, 2, 3]);
    assert_eq!(log.retention(), RETENTION);
}

pub(crate) async fn stats_count_the_items_kept(h: &impl Harness) {
    let log = h.open(RETENTION).await;
    let before = log.stats().await.unwrap().items.unwrap_or(0);
    log.append(&account("counted"), items(PAGEVIEW, 5))
        .await
        .unwrap();
    log.append(&account("counted-too"), items(PAGEVIEW, 2))
        .await
        .unwrap();
    let stats = log.stats().await.unwrap();
    assert_eq!(stats.items, Some(before + 7));
    h.clock().advance(RETENTION + HOUR);
    log.purge().await.unwrap();
    assert_eq!(log.stats().await.unwrap().items, Some(0));
}

/// Pages of a stream of large items (10 MB of JSON in 100 items, read with the largest
/// limit) stop at `DISK_PAGE_BYTES` of JSON and say there is more; the pages after them
/// go on from where they stopped, so a reader following `next_id` gets every item once,
/// in order. Not a case of the suite: pages from the embedded log's recent-items cache
/// are slices of memory already held and only stop at their limit.
pub(crate) async fn pages_stop_at_the_byte_bound(log: &EventLog) {
    let acct = account("big");
    // 100 items of about 100 kB: 10 MB of JSON, more than two pages' worth.
    let items: Vec<NewItem> = (0..100)
        .map(|n| NewItem {
            ts: Timestamp::from_unix_ms(i64::try_from(T0).unwrap()),
            kind: PAGEVIEW.into(),
            data: format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(100_000 + n)),
        })
        .collect();
    let mut appended = Vec::new();
    for batch in items.chunks(10) {
        let got = log.append(&acct, batch.to_vec()).await.unwrap();
        appended.extend(got.into_iter().zip(batch.iter().cloned()));
    }

    let mut read = Vec::new();
    let mut start = StartAt::Oldest;
    let mut pages = 0;
    loop {
        let page = log.read(&acct, &request(start, 10_000)).await.unwrap();
        pages += 1;
        ids(&page);
        let bytes: usize = page.items.iter().map(|i| i.json.len() + 1).sum();
        let last = page.items.last().map_or(0, |i| i.json.len() + 1);
        if page.more {
            assert!(
                bytes > eventlog::DISK_PAGE_BYTES && bytes - last <= eventlog::DISK_PAGE_BYTES,
                "a page cut short holds {bytes} bytes, its last item {last}"
            );
        } else {
            assert!(bytes < eventlog::DISK_PAGE_BYTES + last, "{bytes} bytes");
        }
        read.extend(page.items.iter().map(|i| (i.id, i.json_str().to_owned())));
        if !page.more {
            break;
        }
        start = StartAt::Id(page.next_id);
    }
    assert_eq!(pages, 3, "10 MB of items in pages of 4 MiB");
    assert_eq!(read.len(), appended.len());
    for ((id, json), (appended_id, item)) in read.iter().zip(&appended) {
        assert_eq!(id, appended_id);
        assert_eq!(
            *json,
            protocol::item_json(*appended_id, item.ts, &item.kind, &item.data)
        );
    }
}
