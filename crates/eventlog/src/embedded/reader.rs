//! Reads: a pool of connections used on tokio's blocking threads, each read one snapshot
//! (one read transaction), so the bounds, the gap and the items of a page agree.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use protocol::{AccountName, ItemId};
use rusqlite::{Connection, OptionalExtension, params};

use super::buffers::Buffers;
use super::cache::{CachedItem, EDGE_IDS, Edge};
use super::compress::{Decompressor, Dictionaries};
use super::convert::{bound_to_sql, from_sql, id_from_sql, opt_id_from_sql};
use super::schema;
use crate::error::Error;
use crate::item::{DISK_PAGE_BYTES, Kinds, LogStats, PageCollector};
use crate::store::{Bounds, Scan, Scanned};

/// Idle connections kept for reuse; more are opened when more reads run at once.
const MAX_IDLE: usize = 4;
/// Room for the item that crosses [`DISK_PAGE_BYTES`] without growing the buffer.
const PAGE_SLACK: usize = 64 << 10;
/// The JSON of an item as a page's buffer is first sized for.
const ITEM_GUESS: usize = 1024;

/// A reading connection, its decompression context and the pool of page buffers.
#[derive(Debug)]
pub(super) struct ReaderConn {
    conn: Connection,
    unzip: Decompressor,
    buffers: Arc<Buffers>,
}

#[derive(Debug)]
pub(super) struct ReaderPool {
    path: PathBuf,
    dictionaries: Arc<Dictionaries>,
    buffers: Arc<Buffers>,
    idle: Mutex<Vec<ReaderConn>>,
}

impl ReaderPool {
    pub(super) fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub(super) fn new(path: PathBuf, dictionaries: Arc<Dictionaries>) -> Self {
        ReaderPool {
            path,
            dictionaries,
            buffers: Arc::default(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with a connection on the blocking pool: SQLite calls must never block the
    /// runtime's worker threads.
    pub(super) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut ReaderConn) -> Result<T, Error> + Send + 'static,
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

    fn take(&self) -> Result<ReaderConn, Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => Ok(ReaderConn {
                conn: schema::open_reader(&self.path)?,
                unzip: Decompressor::new(Arc::clone(&self.dictionaries)),
                buffers: Arc::clone(&self.buffers),
            }),
        }
    }

    fn give_back(&self, conn: ReaderConn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

/// Those of `rows` recorded in `carried` for the account, in the order given.
pub(super) fn carried(
    rc: &mut ReaderConn,
    account: &AccountName,
    rows: &[u64],
) -> Result<Vec<u64>, Error> {
    in_snapshot(rc, |tx| {
        let id: Option<i64> = tx
            .prepare_cached("SELECT id FROM accounts WHERE name = ?1")?
            .query_row([account.as_str()], |r| r.get(0))
            .optional()?;
        let Some(id) = id else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        let mut stmt =
            tx.prepare_cached("SELECT 1 FROM carried WHERE account = ?1 AND row = ?2")?;
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
    })
}

/// Reads nothing: whether a connection can be had and answers.
pub(super) fn ping(rc: &mut ReaderConn) -> Result<(), Error> {
    rc.conn.query_row("SELECT 1", [], |_| Ok(()))?;
    Ok(())
}

/// Items on disk in all accounts, and the bytes of the file and its WAL.
pub(super) fn stats(rc: &mut ReaderConn, path: &std::path::Path) -> Result<LogStats, Error> {
    let items: i64 =
        rc.conn
            .query_row("SELECT COALESCE(SUM(items), 0) FROM accounts", [], |r| {
                r.get(0)
            })?;
    let wal = path.with_extension("sqlite-wal");
    let bytes = [path, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    Ok(LogStats {
        items: Some(from_sql(items)?),
        bytes: Some(bytes),
    })
}

/// Runs `f` in one read transaction: one snapshot for all it reads.
fn in_snapshot<T>(
    rc: &mut ReaderConn,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let tx = rc.conn.transaction()?;
    let result = f(&tx)?;
    tx.finish()?;
    Ok(result)
}

pub(super) fn bounds(
    rc: &mut ReaderConn,
    account: &AccountName,
    horizon: ItemId,
) -> Result<Bounds, Error> {
    in_snapshot(rc, |tx| match account_row(tx, account)? {
        Some(row) => bounds_in(tx, row, horizon),
        None => Ok(Bounds::default()),
    })
}

/// The newest items of `account`, oldest first, up to about `max_bytes` of JSON: what
/// the cache is warmed with at open.
pub(super) fn newest(
    conn: &Connection,
    unzip: &mut Decompressor,
    account: &AccountName,
    max_bytes: usize,
) -> Result<Vec<CachedItem>, Error> {
    let Some(row) = account_row(conn, account)? else {
        return Ok(Vec::new());
    };
    let mut kinds = Kinds::default();
    let mut items = Vec::new();
    let mut bytes = 0;
    let mut stmt = conn.prepare(
        "SELECT ms, seq, type, dict, body FROM items WHERE account = ?1
         ORDER BY ms DESC, seq DESC",
    )?;
    let mut rows = stmt.query([row.id])?;
    while bytes < max_bytes {
        let Some(r) = rows.next()? else {
            break;
        };
        let id = id_from_sql(r.get(0)?, r.get(1)?)?;
        let kind = kinds.get(r.get_ref(2)?.as_str().map_err(corrupt)?);
        let mut json = format!(r#"{{"id":"{id}""#).into_bytes();
        unzip.decompress_into(
            conn,
            r.get(3)?,
            r.get_ref(4)?.as_bytes().map_err(corrupt)?,
            &mut json,
        )?;
        let json = String::from_utf8(json)
            .map_err(|_| Error::Corrupt("a stored item is not UTF-8".into()))?;
        bytes += json.len();
        items.push(CachedItem {
            id,
            kind,
            json: bytes::Bytes::from(json),
        });
    }
    items.reverse();
    Ok(items)
}

/// The first ids at or after `horizon` and the newest before it, for the cache.
pub(super) fn edge(
    rc: &mut ReaderConn,
    account: &AccountName,
    horizon: ItemId,
) -> Result<Edge, Error> {
    in_snapshot(rc, |tx| {
        let (h_ms, h_seq) = bound_to_sql(horizon);
        let mut edge = Edge {
            horizon,
            expired: None,
            ids: VecDeque::new(),
            complete: true,
        };
        let Some(row) = account_row(tx, account)? else {
            return Ok(edge);
        };
        edge.expired = newest_expired(tx, row, horizon)?;
        let mut stmt = tx.prepare_cached(
            "SELECT ms, seq FROM items WHERE account = ?1 AND (ms, seq) >= (?2, ?3)
             ORDER BY ms, seq LIMIT ?4",
        )?;
        let mut rows = stmt.query(params![row.id, h_ms, h_seq, EDGE_IDS as i64])?;
        while let Some(r) = rows.next()? {
            edge.ids.push_back(id_from_sql(r.get(0)?, r.get(1)?)?);
        }
        edge.complete = edge.ids.len() < EDGE_IDS;
        Ok(edge)
    })
}

pub(super) fn scan(
    rc: &mut ReaderConn,
    account: &AccountName,
    scan: &Scan,
) -> Result<Scanned, Error> {
    let ReaderConn {
        conn,
        unzip,
        buffers,
    } = rc;
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
    let mut arena = buffers.take();
    arena.reserve(limit.saturating_mul(ITEM_GUESS).min(DISK_PAGE_BYTES) + PAGE_SLACK);
    let mut page = PageCollector::with_arena(arena);
    let mut kinds = Kinds::default();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT ms, seq, type, dict, body FROM items
             WHERE account = ?1 AND (ms, seq) >= (?2, ?3) ORDER BY ms, seq",
        )?;
        let mut rows = stmt.query(params![row.id, from_ms, from_seq])?;
        let mut scanned = 0;
        while let Some(r) = rows.next()? {
            if page.is_full(limit, scanned, cap) {
                // This row exists, so a next page has something to scan.
                out.more = true;
                break;
            }
            scanned += 1;
            let id = id_from_sql(r.get(0)?, r.get(1)?)?;
            out.last_scanned = Some(id);
            let kind = r.get_ref(2)?.as_str().map_err(corrupt)?;
            if scan.request.wants(kind) {
                let dict: i64 = r.get(3)?;
                let body = r.get_ref(4)?.as_bytes().map_err(corrupt)?;
                page.push_owned(id, kinds.get(kind), |json| {
                    unzip.decompress_into(&tx, dict, body, json)
                })?;
            }
        }
    }
    page.finish_into_with(&mut out, |arena| buffers.wrap(arena))?;
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
    let expired = newest_expired(conn, row, horizon)?;
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

/// The newest item below `horizon`, expired but maybe not purged yet.
fn newest_expired(
    conn: &Connection,
    row: AccountRow,
    horizon: ItemId,
) -> Result<Option<ItemId>, Error> {
    let (h_ms, h_seq) = bound_to_sql(horizon);
    first_id(
        conn,
        "SELECT ms, seq FROM items WHERE account = ?1 AND (ms, seq) < (?2, ?3)
         ORDER BY ms DESC, seq DESC LIMIT 1",
        row.id,
        h_ms,
        h_seq,
    )
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
    Error::Corrupt(format!("an item column has the wrong type: {e}"))
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
            "SELECT ms, seq, type, dict, body FROM items WHERE account = ?1 AND (ms, seq) >= (?2, ?3) ORDER BY ms, seq",
            "SELECT ms, seq FROM items WHERE account = ?1 AND (ms, seq) >= (?2, ?3) ORDER BY ms, seq LIMIT 512",
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
                plan.contains("USING PRIMARY KEY (account=? AND"),
                "{sql}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
        }
    }
}
