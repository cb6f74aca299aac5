//! The embedded backend: the conformance suite, plus what only a file on disk has.
#![allow(clippy::unwrap_used)]

mod conformance;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use conformance::{Harness, RETENTION, T0, conformance_suite};
use eventlog::{Backend, EventLog, ManualClock, NewItem, OpenOptions, RowItem};
use protocol::{AccountName, StartAt, Timestamp};
use tempfile::TempDir;

struct Embedded {
    dir: TempDir,
    clock: ManualClock,
    cache_bytes: usize,
}

fn embedded() -> Embedded {
    with_cache(eventlog::DEFAULT_CACHE_BYTES)
}

fn with_cache(cache_bytes: usize) -> Embedded {
    Embedded {
        dir: tempfile::tempdir().unwrap(),
        clock: ManualClock::new(T0),
        cache_bytes,
    }
}

impl Embedded {
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Harness for Embedded {
    async fn open(&self, retention: Duration) -> EventLog {
        open_with(&self.data_dir(), &self.clock, retention, self.cache_bytes).await
    }

    fn clock(&self) -> &ManualClock {
        &self.clock
    }

    fn storage_bytes(&self) -> Option<u64> {
        let files = ["eventlog.sqlite", "eventlog.sqlite-wal"];
        Some(
            files
                .iter()
                .filter_map(|f| std::fs::metadata(self.data_dir().join(f)).ok())
                .map(|m| m.len())
                .sum(),
        )
    }
}

async fn open_at(dir: &Path, clock: &ManualClock, retention: Duration) -> EventLog {
    open_with(dir, clock, retention, eventlog::DEFAULT_CACHE_BYTES).await
}

async fn open_with(
    dir: &Path,
    clock: &ManualClock,
    retention: Duration,
    cache_bytes: usize,
) -> EventLog {
    EventLog::open(OpenOptions {
        backend: Backend::Embedded {
            dir: dir.to_owned(),
        },
        retention,
        clock: Arc::new(clock.clone()),
        cache_bytes,
    })
    .await
    .unwrap()
}

// Live readers are served by the recent-items cache...
conformance_suite!(embedded());

/// ... others from the file: the same contract without any cache ...
mod uncached {
    use super::*;
    conformance_suite!(with_cache(0));
}

/// ... and with a cache so small that pages start in the file and end in memory.
mod small_cache {
    use super::*;
    conformance_suite!(with_cache(2_000));
}

#[tokio::test]
async fn creates_its_directory_and_one_file_with_durable_settings() {
    let h = embedded();
    let nested = h.dir.path().join("a/b/c");
    let log = open_at(&nested, &h.clock, RETENTION).await;
    let acct = AccountName::parse("demo").unwrap();
    let item = NewItem {
        ts: Timestamp::from_unix_ms(0),
        kind: "webshop:pageview".into(),
        data: "{}".into(),
    };
    log.append(&acct, vec![item]).await.unwrap();
    let file = nested.join("eventlog.sqlite");
    assert!(file.is_file());
    let conn = rusqlite::Connection::open(&file).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let auto_vacuum: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .unwrap();
    assert_eq!(auto_vacuum, 2, "auto_vacuum must be INCREMENTAL");
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page_size, 8192);
}

/// Appends in a child process that then aborts; what its appends returned must be there.
const CRASH_DIR: &str = "EVENTLOG_TEST_CRASH_DIR";

#[tokio::test]
async fn crash_child() {
    // Only does something when started by `appends_survive_a_crash`.
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let clock = ManualClock::new(T0);
    let log = open_at(Path::new(&dir), &clock, RETENTION).await;
    let acct = AccountName::parse("crash").unwrap();
    for n in 0..20u64 {
        let item = NewItem {
            ts: Timestamp::from_unix_ms(0),
            kind: "webshop:pageview".into(),
            data: format!(r#"{{"n":{n}}}"#),
        };
        let rows = [2 * n, 2 * n + 1].map(|row| RowItem {
            row,
            item: item.clone(),
        });
        let ids = log.append_rows(&acct, rows.to_vec()).await.unwrap().ids;
        println!("appended {} {}", ids[0], ids[1]);
    }
    std::process::abort();
}

#[tokio::test]
async fn appends_survive_a_crash() {
    let h = embedded();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR, h.data_dir())
        .output()
        .unwrap();
    assert!(!output.status.success(), "the child was meant to abort");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let returned: Vec<String> = stdout
        .lines()
        // The test harness may print its own text before ours on the same line.
        .filter_map(|l| l.split_once("appended ").map(|(_, ids)| ids))
        .flat_map(|l| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert_eq!(returned.len(), 40, "child output: {stdout}");
    let log = h.open(RETENTION).await;
    let acct = AccountName::parse("crash").unwrap();
    let page = log
        .read(
            &acct,
            &eventlog::ReadRequest {
                start: StartAt::Oldest,
                types: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let stored: Vec<String> = page.items.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(stored, returned);
    // The record of the rows they carried survived with them.
    let rows: Vec<u64> = (0..40).collect();
    assert_eq!(log.carried(&acct, &rows).await.unwrap(), rows);
}

fn shop_item(n: usize) -> NewItem {
    NewItem {
        ts: Timestamp::from_unix_ms(1_700_000_000_000),
        kind: "webshop:pageview".into(),
        data: format!(
            r#"{{"page":"addtickets","params":{{"edit":"yes","event":"{}","flow":"basketwithcheckout","returnurl":null,"saleschannelid":"10000"}},"orderid":null,"customerid":null,"ref":"shopper-{}"}}"#,
            10_000 + n % 5,
            n * 7_919 % 10_007
        ),
    }
}

fn all_items() -> eventlog::ReadRequest {
    eventlog::ReadRequest {
        start: StartAt::Oldest,
        types: None,
        limit: 10_000,
    }
}

/// Once the log has trained a dictionary on its own items, it stores them compressed,
/// and reads them back byte for byte from the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_are_stored_compressed_with_a_trained_dictionary() {
    let h = with_cache(0);
    let log = h.open(RETENTION).await;
    let acct = AccountName::parse("zip").unwrap();
    let mut appended = Vec::new();
    let file = h.data_dir().join("eventlog.sqlite");
    let compressed = |file: &Path| -> i64 {
        let conn = rusqlite::Connection::open(file).unwrap();
        conn.query_row("SELECT COUNT(*) FROM items WHERE dict > 0", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    // The first dictionary is trained from the first few thousand items, on another
    // thread; the batches after it are compressed.
    for batch in 0..200 {
        let items: Vec<NewItem> = (0..500).map(|i| shop_item(batch * 500 + i)).collect();
        let ids = log.append(&acct, items.clone()).await.unwrap();
        appended.extend(ids.into_iter().zip(items));
        if batch >= 10 && compressed(&file) > 0 {
            break;
        }
        if batch >= 8 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(compressed(&file) > 0, "no item was compressed");

    let page = log.read(&acct, &all_items()).await.unwrap();
    assert_eq!(page.items.len(), appended.len().min(10_000));
    for (stored, (id, item)) in page.items.iter().zip(&appended) {
        assert_eq!(stored.id, *id);
        assert_eq!(
            stored.json_str(),
            protocol::item_json(*id, item.ts, &item.kind, &item.data)
        );
    }
    let conn = rusqlite::Connection::open(&file).unwrap();
    let (raw, zipped): (f64, f64) = conn
        .query_row(
            "SELECT (SELECT AVG(length(body)) FROM items WHERE dict = 0),
                    (SELECT AVG(length(body)) FROM items WHERE dict > 0)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(zipped * 4.0 < raw, "{zipped} bytes compressed of {raw}");
    let dictionaries: i64 = conn
        .query_row("SELECT COUNT(*) FROM dictionaries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dictionaries, 1);
}

/// A page read from the file stops at `DISK_PAGE_BYTES` of JSON, whatever its limit (the
/// recent-items cache is off here: its pages are slices of memory already held).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_read_from_the_file_stops_at_its_byte_bound() {
    let h = with_cache(0);
    let log = h.open(RETENTION).await;
    conformance::pages_stop_at_the_byte_bound(&log).await;
}

/// The schema version a file was left at.
fn user_version(file: &Path) -> i64 {
    let conn = rusqlite::Connection::open(file).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// The columns of a table of a file.
fn columns(file: &Path, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(file).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")
        .unwrap();
    stmt.query_map([table], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// After a migration: the old item reads back as it was, ids go on after it, and outbox
/// rows are recorded as carried (the old relay position is gone with its column).
async fn check_migrated(h: &Embedded, json: &str, id: protocol::ItemId) {
    let file = h.data_dir().join("eventlog.sqlite");
    let log = h.open(RETENTION).await;
    let acct = AccountName::parse("old").unwrap();
    let page = log.read(&acct, &all_items()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].json_str(), json);
    let next = log.append(&acct, vec![shop_item(2)]).await.unwrap();
    assert_eq!(next, [id.successor()]);
    // Row 9 was the old relay position; rows are now recorded one by one.
    assert!(log.carried(&acct, &[9]).await.unwrap().is_empty());
    let rows = vec![RowItem {
        row: 9,
        item: shop_item(3),
    }];
    let carried = log.append_rows(&acct, rows.clone()).await.unwrap();
    assert_eq!(carried.ids, [id.successor().successor()]);
    assert_eq!(
        log.append_rows(&acct, rows).await.unwrap().already_carried,
        [9]
    );
    assert_eq!(log.carried(&acct, &[9]).await.unwrap(), [9]);
    assert_eq!(log.stats().await.unwrap().items, Some(3));
    assert_eq!(user_version(&file), 3);
    assert!(!columns(&file, "accounts").contains(&"source_position".to_owned()));
    // Opening it again changes nothing.
    drop(log);
    let log = h.open(RETENTION).await;
    assert_eq!(log.read(&acct, &all_items()).await.unwrap().items.len(), 3);
    assert_eq!(log.carried(&acct, &[9]).await.unwrap(), [9]);
}

/// A file of the first version (whole JSON, uncompressed) is migrated on open, through
/// every version since, and its items read back as they were.
#[tokio::test]
async fn a_version_1_file_is_migrated() {
    let h = embedded();
    std::fs::create_dir_all(h.data_dir()).unwrap();
    let item = shop_item(1);
    let id = protocol::ItemId::new(T0, 3);
    let json = protocol::item_json(id, item.ts, &item.kind, &item.data);
    {
        let conn = rusqlite::Connection::open(h.data_dir().join("eventlog.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                 last_ms INTEGER, last_seq INTEGER, deleted_ms INTEGER, deleted_seq INTEGER,
                 source_position INTEGER);
             CREATE TABLE items (account INTEGER NOT NULL, ms INTEGER NOT NULL,
                 seq INTEGER NOT NULL, type TEXT NOT NULL, json TEXT NOT NULL);
             CREATE UNIQUE INDEX items_by_id ON items (account, ms, seq);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO accounts (id, name, last_ms, last_seq, source_position)
             VALUES (1, 'old', ?1, 3, 9)",
            [T0 as i64],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO items (account, ms, seq, type, json) VALUES (1, ?1, 3, ?2, ?3)",
            rusqlite::params![T0 as i64, item.kind, json],
        )
        .unwrap();
    }
    check_migrated(&h, &json, id).await;
}

/// A file of the second version (compressed items, the relay's position per account) is
/// migrated on open to record carried rows instead.
#[tokio::test]
async fn a_version_2_file_is_migrated() {
    let h = embedded();
    std::fs::create_dir_all(h.data_dir()).unwrap();
    let item = shop_item(1);
    let id = protocol::ItemId::new(T0, 3);
    let json = protocol::item_json(id, item.ts, &item.kind, &item.data);
    let head = format!(r#"{{"id":"{id}""#);
    let body = json.strip_prefix(&head).unwrap().as_bytes().to_vec();
    {
        let conn = rusqlite::Connection::open(h.data_dir().join("eventlog.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                 last_ms INTEGER, last_seq INTEGER, deleted_ms INTEGER, deleted_seq INTEGER,
                 source_position INTEGER, items INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE dictionaries (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);
             CREATE TABLE items (account INTEGER NOT NULL, ms INTEGER NOT NULL,
                 seq INTEGER NOT NULL, type TEXT NOT NULL, dict INTEGER NOT NULL,
                 body BLOB NOT NULL, PRIMARY KEY (account, ms, seq)) WITHOUT ROWID;
             PRAGMA user_version = 2;",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO accounts (id, name, last_ms, last_seq, source_position, items)
             VALUES (1, 'old', ?1, 3, 9, 1)",
            [T0 as i64],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO items (account, ms, seq, type, dict, body) VALUES (1, ?1, 3, ?2, 0, ?3)",
            rusqlite::params![T0 as i64, item.kind, body],
        )
        .unwrap();
    }
    check_migrated(&h, &json, id).await;
}
