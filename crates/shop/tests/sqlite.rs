//! The SQLite backend: the conformance suite, plus what only a file on disk has.
#![allow(clippy::unwrap_used)]

mod conformance;

use std::time::Duration;

use conformance::{Harness, conformance_suite};
use shop::ShopStore;
use tempfile::TempDir;

struct Sqlite {
    dir: TempDir,
}

fn sqlite() -> Sqlite {
    Sqlite {
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Harness for Sqlite {
    async fn open(&self, reservation: Duration) -> ShopStore {
        ShopStore::open(self.dir.path())
            .await
            .unwrap()
            .with_reservation(reservation)
    }

    async fn force_taken(&self, account: &str, event: u64, taken: i64) {
        let conn = rusqlite::Connection::open(self.dir.path().join(ShopStore::FILE_NAME)).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        let changed = conn
            .execute(
                "UPDATE events SET taken = ?3
                 WHERE account_id = (SELECT id FROM accounts WHERE name = ?1) AND id = ?2",
                rusqlite::params![account, i64::try_from(event).unwrap(), taken],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
}

conformance_suite!(sqlite());

#[tokio::test]
async fn one_file_with_durable_settings() {
    let h = sqlite();
    let nested = h.dir.path().join("a/b");
    let store = ShopStore::open(nested.as_path()).await.unwrap();
    shop::demo_init(&store).await.unwrap();
    let file = nested.join(ShopStore::FILE_NAME);
    assert!(file.is_file());
    assert_eq!(store.location(), file.display().to_string());
    let conn = rusqlite::Connection::open(&file).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// A second process opening the store (a CLI command beside a running server) waits
/// for the other's write to end instead of failing with "database is locked": when the
/// schema is up to date and when it still has to be migrated.
#[tokio::test]
async fn opening_beside_a_writer_waits_for_its_commit() {
    let up_to_date = sqlite();
    drop(ShopStore::open(up_to_date.dir.path()).await.unwrap());
    let unmigrated = sqlite();
    let file = unmigrated.dir.path().join(ShopStore::FILE_NAME);
    rusqlite::Connection::open(&file)
        .unwrap()
        .pragma_update(None, "journal_mode", "WAL")
        .unwrap();

    for h in [up_to_date, unmigrated] {
        let writer = rusqlite::Connection::open(h.dir.path().join(ShopStore::FILE_NAME)).unwrap();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            writer.execute_batch("COMMIT").unwrap();
        });
        let store = ShopStore::open(h.dir.path()).await;
        release.join().unwrap();
        let store = store.unwrap();
        assert_eq!(store.outbox_len().await.unwrap(), 0);
    }
}
