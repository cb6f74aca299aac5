//! Reads: a pool of connections used on tokio's blocking threads, each read one snapshot
//! (one read transaction), so the bounds, the gap and the items of a page agree.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use protocol::{AccountName, ItemId};
use rusqlite::{Connection, OptionalExtension, params};

use super::convert::{bound_to_sql, id_from_sql, opt_id_from_sql};
use super::schema;
use crate::error::Error;
use crate::item::StoredItem;
use crate::store::{Bounds, Scan, Scanned};

/// Idle connections kept for reuse; more are opened when more reads run at once.
const MAX_IDLE: usize = 8;

#[derive(Debug)]
pub(super) struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    pub(super) fn new(path: PathBuf) -> Self {
        ReaderPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with a connection on the blocking pool: SQLite calls must never block the
    /// runtime's worker threads.
    pub(super) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.take()?;
            let result = f(&mut conn);
            pool.give_back(conn);
            result
        })
        .await?
    }

    fn take(&self) -> Result<Connection, Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => schema::open_reader(&self.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

/// Those of `rows` recorded in `carried` for the account, in the order given.
pub(super) fn carried(
    conn: &mut Connection,
    account: &AccountName,
    rows: &[u64],
) -> Result<Vec<u64>, Error> {
    let tx = conn.transaction()?;
    let id: Option<i64> = tx
        .prepare_cached("SELECT id FROM accounts WHERE name = ?1")?
        .query_row([account.as_str()], |r| r.get(0))
        .optional()?;
    let Some(id) = id else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    let mut stmt = tx.prepare_cached("SELECT 1 FROM carried WHERE account = ?1 AND row = ?2")?;
    for row in rows {
        // A row id beyond what the table can hold was never recorded.
        let Ok(sql_row) = i64::try_from(*row) else {
            continue;
        };
        if stmt.exists(params![id, sql_row])? {
            found.push(*row);
        }
    }
    Ok(found)
}

/// Reads nothing: whether a connection can be had and answers.
pub(super) fn ping(conn: &mut Connection) -> Result<(), Error> {
    conn.query_row("SELECT 1", [], |_| Ok(()))?;
    Ok(())
}

pub(super) fn bounds(
    conn: &mut Connection,
    account: &AccountName,
    horizon: ItemId,
) -> Result<Bounds, Error> {
    let tx = conn.transaction()?;
    let bounds = match account_row(&tx, account)? {
        Some(row) => bounds_in(&tx, row, horizon)?,
        None => Bounds::default(),
    };
    tx.finish()?;
    Ok(bounds)
}

pub(super) fn scan(
    conn: &mut Connection,
    account: &AccountName,
    scan: &Scan,
) -> Result<Scanned, Error> {
    // A deferred transaction: its snapshot starts at the first SELECT and holds for all.
    let tx = conn.transaction()?;
    let Some(row) = account_row(&tx, account)? else {
        return Ok(Scanned::default());
    };
    let bounds = bounds_in(&tx, row, scan.horizon)?;
    let limit = scan.request.limit.max(1);
    let cap = scan.request.scan_cap();
    let (from_ms, from_seq) = bound_to_sql(scan.from);
    let mut out = Scanned {
        bounds,
        ..Scanned::default()
    };
    {
        let mut stmt = tx.prepare_cached(
            "SELECT ms, seq, type, json FROM items WHERE account = ?1 AND (ms, seq) >= (?2, ?3)
             ORDER BY ms, seq",
        )?;
        let mut rows = stmt.query(params![row.id, from_ms, from_seq])?;
        let mut scanned = 0;
        while let Some(r) = rows.next()? {
            if out.items.len() == limit || scanned == cap {
                // This row exists, so a next page has something to scan.
                out.more = true;
                break;
            }
            scanned += 1;
            let id = id_from_sql(r.get(0)?, r.get(1)?)?;
            out.last_scanned = Some(id);
            let kind = r.get_ref(2)?.as_str().map_err(corrupt)?;
            if scan.request.wants(kind) {
                let json = r.get_ref(3)?.as_str().map_err(corrupt)?;
                out.items.push(StoredItem {
                    id,
                    kind: kind.to_owned(),
                    json: Arc::from(json),
                });
            }
        }
    }
    tx.finish()?;
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
struct AccountRow {
    id: i64,
    deleted: Option<ItemId>,
}

fn account_row(conn: &Connection, account: &AccountName) -> Result<Option<AccountRow>, Error> {
    let row: Option<(i64, Option<i64>, Option<i64>)> = conn
        .prepare_cached("SELECT id, deleted_ms, deleted_seq FROM accounts WHERE name = ?1")?
        .query_row([account.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    row.map(|(id, ms, seq)| {
        Ok(AccountRow {
            id,
            deleted: opt_id_from_sql(ms, seq)?,
        })
    })
    .transpose()
}

/// Items below the horizon that purge has not reached yet already count as deleted: they
/// are not served, so a reader positioned at them has a gap.
fn bounds_in(conn: &Connection, row: AccountRow, horizon: ItemId) -> Result<Bounds, Error> {
    let (h_ms, h_seq) = bound_to_sql(horizon);
    let expired = first_id(
        conn,
        "SELECT ms, seq FROM items WHERE account = ?1 AND (ms, seq) < (?2, ?3)
         ORDER BY ms DESC, seq DESC LIMIT 1",
        row.id,
        h_ms,
        h_seq,
    )?;
    let oldest = first_id(
        conn,
        "SELECT ms, seq FROM items WHERE account = ?1 AND (ms, seq) >= (?2, ?3)
         ORDER BY ms, seq LIMIT 1",
        row.id,
        h_ms,
        h_seq,
    )?;
    Ok(Bounds {
        oldest,
        highest_deleted: row.deleted.max(expired),
    })
}

fn first_id(
    conn: &Connection,
    sql: &str,
    account: i64,
    ms: i64,
    seq: i64,
) -> Result<Option<ItemId>, Error> {
    let found: Option<(i64, i64)> = conn
        .prepare_cached(sql)?
        .query_row(params![account, ms, seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    found.map(|(ms, seq)| id_from_sql(ms, seq)).transpose()
}

fn corrupt(e: rusqlite::types::FromSqlError) -> Error {
    Error::Corrupt(format!("an item column is not text: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every read is a range of the id index: a full scan would make reads slow as the
    /// window fills.
    #[test]
    fn reads_search_the_id_index() {
        let dir = tempfile::tempdir().unwrap();
        let conn = schema::open_writer(&dir.path().join("t.sqlite")).unwrap();
        for sql in [
            "SELECT ms, seq, type, json FROM items WHERE account = ?1 AND (ms, seq) >= (?2, ?3) ORDER BY ms, seq",
            "SELECT ms, seq FROM items WHERE account = ?1 AND (ms, seq) < (?2, ?3) ORDER BY ms DESC, seq DESC LIMIT 1",
            "SELECT ms, seq FROM items WHERE account = ?1 AND (ms, seq) >= (?2, ?3) ORDER BY ms, seq LIMIT 1",
            "DELETE FROM items WHERE account = ?1 AND (ms, seq) <= (?2, ?3)",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params![1, 2, 3], |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("; ");
            eprintln!("{sql}\n  -> {plan}");
            assert!(
                plan.contains("INDEX items_by_id (account=? AND"),
                "{sql}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
        }
    }
}
