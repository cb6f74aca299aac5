//! The one writing connection of the SQLite store, owned by a thread of its own, and its
//! group commit.
//!
//! Write closures queue on a channel. The thread takes every closure waiting, opens one
//! transaction (`BEGIN IMMEDIATE`) and runs each closure in a savepoint of its own: a
//! closure that fails rolls back to its savepoint, so its writes vanish and the others'
//! stay. Then the batch commits once, with one fsync for all of it, and only then is each
//! caller answered: nobody hears `Ok` before the commit that holds their change is
//! durable. A commit that fails answers every closure of the batch with its error, and
//! nothing of the batch was written.
//!
//! Closures run one after the other on this thread, so a later closure of a batch sees
//! what an earlier one wrote, exactly as if each had committed alone: the batch changes
//! when things become durable, not what any closure reads.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::SqliteTx;
use crate::Error;
use crate::storage::Tx;

/// At most this many closures share one commit, so that one commit's answers do not wait
/// for an unbounded queue.
const MAX_BATCH: usize = 512;

/// A write waiting for the writer thread.
trait Job: Send {
    /// Runs the closure inside its savepoint; `true` when it returned `Ok`.
    fn run(&mut self, tx: &mut dyn Tx) -> bool;
    /// Answers the caller once the batch's fate is known: `Err` holds the reason the
    /// batch did not commit.
    fn answer(self: Box<Self>, batch: Result<(), &str>);
}

struct Pending<T, F> {
    f: Option<F>,
    out: Option<Result<T, Error>>,
    reply: oneshot::Sender<Result<T, Error>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&mut dyn Tx) -> Result<T, Error> + Send,
{
    fn run(&mut self, tx: &mut dyn Tx) -> bool {
        let Some(f) = self.f.take() else {
            return false;
        };
        // A panicking closure must not take the writer (and every later write) with it;
        // its savepoint is rolled back like any failed closure's.
        let out = catch_unwind(AssertUnwindSafe(|| f(tx)))
            .unwrap_or_else(|_| Err(Error::Store("a shop transaction panicked".into())));
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn answer(self: Box<Self>, batch: Result<(), &str>) {
        let out = match (self.out, batch) {
            (Some(Ok(_)), Err(why)) | (None, Err(why)) => Err(Error::Store(why.to_owned())),
            (Some(out), _) => out,
            (None, Ok(())) => Err(Error::Store("the change was never run".into())),
        };
        // The caller may have gone away (its request was dropped); the change stands.
        let _ = self.reply.send(out);
    }
}

/// The handle on the writer thread; the thread ends when the last handle is dropped.
#[derive(Debug)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the thread that owns `conn`, the store's only writing connection.
    pub(super) fn start(conn: Connection) -> Result<Writer, Error> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("shop-writer".into())
            .spawn(move || serve(&conn, &queue))
            .map_err(|e| Error::Store(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` in the next batch; answers after that batch committed (or did not).
    pub(super) async fn transact<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            f: Some(f),
            out: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Store("the writer thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Store("the writer thread stopped before answering".into()))?
    }
}

fn serve(conn: &Connection, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = commit(conn, &mut batch);
        if outcome.is_err() && !conn.is_autocommit() {
            let _ = exec(conn, "ROLLBACK");
        }
        for job in batch {
            job.answer(outcome.as_ref().map(|_| ()).map_err(String::as_str));
        }
    }
}

/// Runs the batch, each job in its own savepoint, and commits it.
fn commit(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    exec(conn, "BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        exec(conn, "SAVEPOINT job")?;
        let ok = job.run(&mut SqliteTx { conn });
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (a full disk, an I/O error): the
            // batch is gone, including what earlier closures wrote.
            return Err("the transaction was rolled back by the store".into());
        }
        if !ok {
            exec(conn, "ROLLBACK TO job")?;
        }
        exec(conn, "RELEASE job")?;
    }
    exec(conn, "COMMIT")
}

fn exec(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute([]))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use protocol::AccountName;

    use super::super::SqliteStore;
    use crate::{Error, ShopSync};

    fn name(i: usize) -> AccountName {
        AccountName::parse(&format!("acct{i}")).unwrap()
    }

    /// Writes queued behind a slow one share the next batch; the failing ones among them
    /// leave nothing behind and the others commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_closure_rolls_back_only_its_own_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), ShopSync::Full).await.unwrap();
        let slow = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .transact(|_| {
                        std::thread::sleep(Duration::from_millis(200));
                        Ok(())
                    })
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let writes: Vec<_> = (0..40)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .transact(move |tx| {
                            tx.insert_account(&name(i), 0)?;
                            if i % 2 == 1 {
                                return Err(Error::Store(format!("refused {i}")));
                            }
                            Ok(i)
                        })
                        .await
                })
            })
            .collect();
        slow.await.unwrap().unwrap();
        for (i, write) in writes.into_iter().enumerate() {
            match write.await.unwrap() {
                Ok(n) => assert!(i % 2 == 0 && n == i),
                Err(e) => assert!(i % 2 == 1 && e.to_string().contains("refused"), "{e}"),
            }
        }
        for i in 0..40 {
            let stored = store
                .read(move |tx| Ok(tx.account(&name(i))?.is_some()))
                .await
                .unwrap();
            assert_eq!(stored, i % 2 == 0, "account {i}");
        }
    }

    /// Nobody hears `Ok` before the commit holding their change: the moment a write is
    /// answered, a connection of its own (outside the store) finds the change. Answering
    /// before the commit fails this: the check would run while the commit is under way.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_is_committed_by_the_time_it_is_answered() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), ShopSync::Full).await.unwrap();
        let path = store.path().to_owned();
        let writes: Vec<_> = (0..64)
            .map(|i| {
                let store = store.clone();
                let path = path.clone();
                tokio::spawn(async move {
                    // Opened and warmed before the write, so the check right after the
                    // answer takes microseconds, less than a commit.
                    let conn = rusqlite::Connection::open(&path).unwrap();
                    let count = |conn: &rusqlite::Connection| -> i64 {
                        conn.prepare_cached("SELECT COUNT(*) FROM accounts WHERE name = ?1")
                            .unwrap()
                            .query_row([name(i).as_str()], |row| row.get(0))
                            .unwrap()
                    };
                    assert_eq!(count(&conn), 0);
                    store
                        .transact(move |tx| tx.insert_account(&name(i), 0))
                        .await
                        .unwrap();
                    (i, count(&conn))
                })
            })
            .collect();
        for write in writes {
            let (i, found) = write.await.unwrap();
            assert_eq!(found, 1, "write {i} was answered before its commit");
        }
    }

    #[tokio::test]
    async fn a_panicking_closure_fails_alone_and_the_store_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), ShopSync::Normal)
            .await
            .unwrap();
        let panicked = store
            .transact(|tx| -> Result<(), Error> {
                tx.insert_account(&name(1), 0)?;
                panic!("a rule went wrong")
            })
            .await;
        assert!(panicked.is_err());
        store
            .transact(|tx| tx.insert_account(&name(2), 0))
            .await
            .unwrap();
        let (one, two) = store
            .read(|tx| Ok((tx.account(&name(1))?, tx.account(&name(2))?)))
            .await
            .unwrap();
        assert!(one.is_none() && two.is_some());

        // A read on the calling thread that panics is an error too, and reads go on.
        let read = store.read_here(|_| -> Result<(), Error> { panic!("a read went wrong") });
        assert!(read.is_err());
        assert!(
            store
                .read_here(|tx| tx.account(&name(2)))
                .unwrap()
                .is_some()
        );
    }
}
