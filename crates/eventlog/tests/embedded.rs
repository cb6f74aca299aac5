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
}

fn embedded() -> Embedded {
    Embedded {
        dir: tempfile::tempdir().unwrap(),
        clock: ManualClock::new(T0),
    }
}

impl Embedded {
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Harness for Embedded {
    async fn open(&self, retention: Duration) -> EventLog {
        open_at(&self.data_dir(), &self.clock, retention).await
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
    EventLog::open(OpenOptions {
        backend: Backend::Embedded {
            dir: dir.to_owned(),
        },
        retention,
        clock: Arc::new(clock.clone()),
    })
    .await
    .unwrap()
}

conformance_suite!(embedded());

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
