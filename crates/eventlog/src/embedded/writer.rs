//! The single writer: a thread that owns the writing connection and takes commands from a
//! channel. Being alone, it is the sequencer of spec section 4: it reads each account's
//! last id, assigns the next ones and commits them in one transaction, so an id becomes
//! visible together with every smaller one. After each commit it wakes the readers.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use protocol::{AccountName, ItemId, item_json};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use super::convert::{bound_to_sql, opt_id_from_sql, to_sql};
use crate::clock::Clock;
use crate::error::Error;
use crate::item::NewItem;
use crate::waiters::Waiters;

/// Appends waiting together are committed together, up to these sizes, so one fsync
/// serves them all without one transaction growing without bound.
const MAX_GROUP_JOBS: usize = 256;
const MAX_GROUP_ITEMS: usize = 50_000;

type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// Per item of a job: its id, or `None` when its outbox row was already carried.
type Assigned = Vec<Option<ItemId>>;

#[derive(Debug)]
pub(super) struct AppendJob {
    pub(super) account: AccountName,
    pub(super) items: Vec<NewItem>,
    /// Empty, or the outbox row each item carries.
    pub(super) rows: Vec<u64>,
    pub(super) reply: Reply<Assigned>,
}

#[derive(Debug)]
pub(super) enum Command {
    Append(AppendJob),
    /// Delete at most `max_rows` items below `horizon`; replies with how many went.
    Purge {
        horizon: ItemId,
        max_rows: u64,
        reply: Reply<u64>,
    },
    /// Give freed pages back to the file system and empty the WAL.
    Compact {
        reply: Reply<()>,
    },
}

/// The handle to the writer thread; the thread ends when this is dropped.
#[derive(Debug)]
pub(super) struct Writer {
    commands: Sender<Command>,
}

impl Writer {
    pub(super) fn spawn(
        conn: Connection,
        clock: Arc<dyn Clock>,
        waiters: Arc<Waiters>,
    ) -> Result<Writer, Error> {
        let (commands, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("eventlog-writer".into())
            .spawn(move || run(conn, &*clock, &waiters, &rx))
            .map_err(Error::Spawn)?;
        Ok(Writer { commands })
    }

    pub(super) fn send(&self, command: Command) -> Result<(), Error> {
        self.commands
            .send(command)
            .map_err(|_| Error::WriterStopped)
    }
}

fn run(mut conn: Connection, clock: &dyn Clock, waiters: &Waiters, rx: &Receiver<Command>) {
    while let Ok(first) = rx.recv() {
        let job = match first {
            Command::Append(job) => job,
            other => {
                execute(&mut conn, clock, waiters, other);
                continue;
            }
        };
        // Take every append already waiting into the same transaction (group commit).
        let mut group = vec![job];
        let mut items = group[0].items.len();
        let mut after = None;
        while group.len() < MAX_GROUP_JOBS && items < MAX_GROUP_ITEMS {
            match rx.try_recv() {
                Ok(Command::Append(job)) => {
                    items += job.items.len();
                    group.push(job);
                }
                Ok(other) => {
                    after = Some(other);
                    break;
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        commit_group(&mut conn, clock, waiters, group);
        if let Some(other) = after {
            execute(&mut conn, clock, waiters, other);
        }
    }
}

fn execute(conn: &mut Connection, clock: &dyn Clock, waiters: &Waiters, command: Command) {
    // A caller that gave up (its future was dropped) no longer listens; that is fine.
    match command {
        Command::Append(job) => commit_group(conn, clock, waiters, vec![job]),
        Command::Purge {
            horizon,
            max_rows,
            reply,
        } => {
            let _ = reply.send(purge_chunk(conn, horizon, max_rows));
        }
        Command::Compact { reply } => {
            let _ = reply.send(compact(conn));
        }
    }
}

fn commit_group(
    conn: &mut Connection,
    clock: &dyn Clock,
    waiters: &Waiters,
    group: Vec<AppendJob>,
) {
    match append_group(conn, clock.now_ms(), &group) {
        Ok(results) => {
            for (job, result) in group.into_iter().zip(results) {
                reply(waiters, job, result);
            }
        }
        Err(_) => {
            // The shared transaction failed as a whole (at commit, say). Retry each job
            // alone so every caller gets its own answer and one bad job fails no other.
            for job in group {
                let result = append_group(conn, clock.now_ms(), std::slice::from_ref(&job))
                    .and_then(|mut r| r.pop().unwrap_or(Err(Error::WriterStopped)));
                reply(waiters, job, result);
            }
        }
    }
}

/// Wakes the account's readers once its items are committed, then answers the caller.
fn reply(waiters: &Waiters, job: AppendJob, result: Result<Assigned, Error>) {
    if let Ok(Some(last)) = result
        .as_ref()
        .map(|ids| ids.iter().rev().find_map(|id| *id))
    {
        waiters.notify(&job.account, last);
    }
    let _ = job.reply.send(result);
}

/// One transaction for all jobs; each job in its own savepoint so a failing one is rolled
/// back alone. The outer error means nothing was committed.
fn append_group(
    conn: &mut Connection,
    now_ms: u64,
    group: &[AppendJob],
) -> Result<Vec<Result<Assigned, Error>>, Error> {
    // IMMEDIATE takes the write lock up front: should a second process open the same file,
    // the last id read below is still the last one when the new ids commit.
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        let sp = tx.savepoint()?;
        match append_one(&sp, now_ms, job) {
            Ok(ids) => {
                sp.commit()?;
                results.push(Ok(ids));
            }
            // Dropping the savepoint rolls this job back.
            Err(e) => results.push(Err(e)),
        }
    }
    tx.commit()?;
    Ok(results)
}

fn append_one(conn: &Connection, now_ms: u64, job: &AppendJob) -> Result<Assigned, Error> {
    let name = job.account.as_str();
    conn.prepare_cached("INSERT INTO accounts (name) VALUES (?1) ON CONFLICT (name) DO NOTHING")?
        .execute([name])?;
    let (account, last_ms, last_seq): (i64, Option<i64>, Option<i64>) = conn
        .prepare_cached("SELECT id, last_ms, last_seq FROM accounts WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let mut last = opt_id_from_sql(last_ms, last_seq)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO items (account, ms, seq, type, json) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut ids = Vec::with_capacity(job.items.len());
    for (i, item) in job.items.iter().enumerate() {
        let id = ItemId::next_after(last, now_ms);
        if let Some(row) = job.rows.get(i) {
            // The record and the check in one statement: a row already carried inserts
            // nothing, and its item is left out.
            let recorded = conn
                .prepare_cached(
                    "INSERT INTO carried (account, row, ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (account, row) DO NOTHING",
                )?
                .execute(params![
                    account,
                    to_sql("outbox row", *row)?,
                    to_sql("item id time", id.ms)?
                ])?;
            if recorded == 0 {
                ids.push(None);
                continue;
            }
        }
        let json = item_json(id, item.ts, &item.kind, &item.data);
        insert.execute(params![
            account,
            to_sql("item id time", id.ms)?,
            to_sql("item id sequence", id.seq)?,
            item.kind,
            json
        ])?;
        ids.push(Some(id));
        last = Some(id);
    }
    if let Some(id) = last {
        conn.prepare_cached("UPDATE accounts SET last_ms = ?2, last_seq = ?3 WHERE id = ?1")?
            .execute(params![
                account,
                to_sql("item id time", id.ms)?,
                to_sql("item id sequence", id.seq)?
            ])?;
    }
    Ok(ids)
}

fn purge_chunk(conn: &mut Connection, horizon: ItemId, max_rows: u64) -> Result<u64, Error> {
    let (h_ms, h_seq) = bound_to_sql(horizon);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let accounts: Vec<i64> = tx
        .prepare_cached("SELECT id FROM accounts")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut budget = max_rows;
    for account in accounts {
        if budget == 0 {
            break;
        }
        // The last row this chunk deletes: the budget-th expired one, or the newest
        // expired one when fewer are left.
        let nth: Option<(i64, i64)> = tx
            .prepare_cached(
                "SELECT ms, seq FROM items WHERE account = ?1 AND (ms, seq) < (?2, ?3)
                 ORDER BY ms, seq LIMIT 1 OFFSET ?4",
            )?
            .query_row(
                params![account, h_ms, h_seq, to_sql("purge chunk", budget - 1)?],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let last = match nth {
            Some(last) => Some(last),
            None => tx
                .prepare_cached(
                    "SELECT ms, seq FROM items WHERE account = ?1 AND (ms, seq) < (?2, ?3)
                     ORDER BY ms DESC, seq DESC LIMIT 1",
                )?
                .query_row(params![account, h_ms, h_seq], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?,
        };
        let Some((last_ms, last_seq)) = last else {
            continue;
        };
        let deleted = tx
            .prepare_cached("DELETE FROM items WHERE account = ?1 AND (ms, seq) <= (?2, ?3)")?
            .execute(params![account, last_ms, last_seq])?;
        // The records of the rows those items carried go with them. Every item of
        // millisecond `last_ms` is below the horizon, so none of these is still needed.
        tx.prepare_cached("DELETE FROM carried WHERE account = ?1 AND ms <= ?2")?
            .execute(params![account, last_ms])?;
        // Remembered so that a reader behind the window is told `gap`, also after a
        // restart and after every item is gone.
        tx.prepare_cached(
            "UPDATE accounts SET deleted_ms = ?2, deleted_seq = ?3
             WHERE id = ?1 AND (deleted_ms IS NULL OR (deleted_ms, deleted_seq) < (?2, ?3))",
        )?
        .execute(params![account, last_ms, last_seq])?;
        budget = budget.saturating_sub(u64::try_from(deleted).unwrap_or(u64::MAX));
    }
    tx.commit()?;
    Ok(max_rows - budget)
}

fn compact(conn: &mut Connection) -> Result<(), Error> {
    // Step the pragma to completion: each step may free only part of the free list.
    let mut vacuum = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut rows = vacuum.query([])?;
    while rows.next()?.is_some() {}
    drop(rows);
    drop(vacuum);
    // In WAL mode the file only shrinks when the WAL is checkpointed; TRUNCATE also
    // empties the WAL. A reader holding an old snapshot may delay it: the next run does it.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}
