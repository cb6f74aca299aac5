//! Read-only connections for [`ShopStore::read`](crate::ShopStore): WAL lets any number
//! of readers see the last commit while the writer thread writes, so reads neither wait
//! for the writer nor take its time. A read borrows an idle connection (or opens one),
//! runs its closure in one deferred transaction (one consistent snapshot) on the blocking
//! pool, and gives the connection back.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use super::{SqlResult, SqliteTx, configure};
use crate::Error;
use crate::storage::Tx;

/// Idle read connections kept open; more are opened while more reads run at once, and
/// closed again afterwards.
const MAX_IDLE: usize = 8;

#[derive(Debug)]
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(super) fn new(path: &Path) -> Self {
        Readers {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` over one snapshot, on the calling (blocking) thread.
    pub(super) fn run<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let conn = match self.lock().pop() {
            Some(conn) => conn,
            None => self.open()?,
        };
        let out = snapshot(&conn, f);
        // A connection whose snapshot could not be ended is not reused.
        if conn.is_autocommit() {
            let mut idle = self.lock();
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // The list is only pushed to and popped from: a panic cannot leave it torn.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open(&self) -> Result<Connection, Error> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .db()?;
        configure(&conn)?;
        Ok(conn)
    }
}

fn snapshot<T>(
    conn: &Connection,
    f: impl FnOnce(&mut dyn Tx) -> Result<T, Error>,
) -> Result<T, Error> {
    conn.prepare_cached("BEGIN").db()?.execute([]).db()?;
    let out = f(&mut SqliteTx { conn });
    // Nothing was written: ending the snapshot either way is the same. SQLite may have
    // ended it already, after an error.
    let ended = if conn.is_autocommit() {
        Ok(())
    } else {
        conn.prepare_cached("ROLLBACK")
            .and_then(|mut stmt| stmt.execute([]))
            .map(|_| ())
            .db()
    };
    match out {
        Ok(value) => ended.map(|()| value),
        Err(e) => Err(e),
    }
}
