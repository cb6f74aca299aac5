//! The single writer: a thread that owns the writing connection and takes commands from a
//! channel. Being alone, it is the sequencer of spec section 4: it reads each account's
//! last id, assigns the next ones and commits them in one transaction, so an id becomes
//! visible together with every smaller one. After each commit it wakes the readers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use bytes::Bytes;
use protocol::{AccountName, ItemId, item_json};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use super::cache::{Appended, Cache, CachedItem};
use super::compress::{self, Compressor, Dictionaries};
use super::convert::{bound_to_sql, id_from_sql, opt_id_from_sql, to_sql};
use crate::clock::Clock;
use crate::error::Error;
use crate::item::NewItem;
use crate::waiters::Waiters;

/// Appends waiting together are committed together, up to these sizes, so one fsync
/// serves them all without one transaction growing without bound.
const MAX_GROUP_JOBS: usize = 256;
const MAX_GROUP_ITEMS: usize = 50_000;

/// Items sampled to train a dictionary: zstd wants some hundred times the dictionary's
/// size in samples, or as many items as make a good picture of what a shop sends.
const SAMPLE_ITEMS: usize = 4_000;
const SAMPLE_BYTES: usize = 8 * 1024 * 1024;
/// A new dictionary is trained after this many items, so it follows a changing catalog.
const RETRAIN_AFTER: u64 = 2_000_000;
/// Item types get one shared name each, up to this many distinct ones.
const MAX_KINDS: usize = 1_024;

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

/// What the writer thread owns besides its connection.
struct Context {
    clock: Arc<dyn Clock>,
    waiters: Arc<Waiters>,
    cache: Arc<Cache>,
    dictionaries: Arc<Dictionaries>,
    codec: Codec,
}

/// Turning items into stored rows: the compressor, and the samples and training of the
/// next dictionary.
struct Codec {
    compressor: Compressor,
    kinds: HashMap<String, Arc<str>>,
    samples: Vec<Vec<u8>>,
    sample_bytes: usize,
    /// Items appended since the current dictionary (or since the start, without one).
    since_dictionary: u64,
    /// A dictionary being trained on another thread.
    training: Option<Receiver<Option<Vec<u8>>>>,
}

impl Writer {
    pub(super) fn spawn(
        conn: Connection,
        clock: Arc<dyn Clock>,
        waiters: Arc<Waiters>,
        cache: Arc<Cache>,
        dictionaries: Arc<Dictionaries>,
    ) -> Result<Writer, Error> {
        let compressor = Compressor::load(&conn)?;
        let mut context = Context {
            clock,
            waiters,
            cache,
            dictionaries,
            codec: Codec {
                compressor,
                kinds: HashMap::new(),
                samples: Vec::new(),
                sample_bytes: 0,
                since_dictionary: 0,
                training: None,
            },
        };
        let (commands, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("eventlog-writer".into())
            .spawn(move || run(conn, &mut context, &rx))
            .map_err(Error::Spawn)?;
        Ok(Writer { commands })
    }

    pub(super) fn send(&self, command: Command) -> Result<(), Error> {
        self.commands
            .send(command)
            .map_err(|_| Error::WriterStopped)
    }
}

fn run(mut conn: Connection, cx: &mut Context, rx: &Receiver<Command>) {
    while let Ok(first) = rx.recv() {
        cx.codec.install_trained(&conn);
        let job = match first {
            Command::Append(job) => job,
            other => {
                execute(&mut conn, cx, other);
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
        commit_group(&mut conn, cx, group);
        cx.codec.train_if_ready();
        if let Some(other) = after {
            execute(&mut conn, cx, other);
        }
    }
}

fn execute(conn: &mut Connection, cx: &mut Context, command: Command) {
    // A caller that gave up (its future was dropped) no longer listens; that is fine.
    match command {
        Command::Append(job) => commit_group(conn, cx, vec![job]),
        Command::Purge {
            horizon,
            max_rows,
            reply,
        } => {
            let purged = purge_chunk(conn, horizon, max_rows).map(|(deleted, accounts)| {
                for (account, last) in accounts {
                    cx.cache.purged(&account, last);
                }
                deleted
            });
            let _ = reply.send(purged);
        }
        Command::Compact { reply } => {
            let current = cx.codec.compressor.current_id();
            let result = drop_unused_dictionaries(conn, current).and_then(|kept| {
                cx.dictionaries.retain(|id| kept.contains(&id));
                compact(conn)
            });
            let _ = reply.send(result);
        }
    }
}

impl Codec {
    fn kind(&mut self, kind: &str) -> Arc<str> {
        if let Some(k) = self.kinds.get(kind) {
            return Arc::clone(k);
        }
        let k: Arc<str> = Arc::from(kind);
        if self.kinds.len() < MAX_KINDS {
            self.kinds.insert(kind.to_owned(), Arc::clone(&k));
        }
        k
    }

    fn wants_samples(&self) -> bool {
        self.training.is_none()
            && self.samples.len() < SAMPLE_ITEMS
            && self.sample_bytes < SAMPLE_BYTES
            && (!self.compressor.has_dictionary() || self.since_dictionary >= RETRAIN_AFTER)
    }

    /// The stored form of an item's JSON after its id.
    fn store(&mut self, rest: &[u8]) -> (i64, Vec<u8>) {
        self.since_dictionary += 1;
        if self.wants_samples() {
            self.samples.push(rest.to_vec());
            self.sample_bytes += rest.len();
        }
        self.compressor.compress(rest)
    }

    /// Starts training on another thread once enough samples are in, so appends are
    /// not held up meanwhile.
    fn train_if_ready(&mut self) {
        if self.training.is_some()
            || (self.samples.len() < SAMPLE_ITEMS && self.sample_bytes < SAMPLE_BYTES)
        {
            return;
        }
        let samples = std::mem::take(&mut self.samples);
        self.sample_bytes = 0;
        let (done, trained) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("eventlog-train".into())
            .spawn(move || {
                let _ = done.send(compress::train(&samples));
            });
        match spawned {
            Ok(_) => self.training = Some(trained),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start training a dictionary; items stay as they are")
            }
        }
    }

    /// Stores a dictionary the training thread finished and compresses with it from now on.
    fn install_trained(&mut self, conn: &Connection) {
        let Some(training) = &self.training else {
            return;
        };
        let dict = match training.try_recv() {
            Ok(dict) => dict,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => None,
        };
        self.training = None;
        let Some(dict) = dict else {
            // Too few or too alike: gather more and try again.
            return;
        };
        let stored = conn
            .prepare_cached("INSERT INTO dictionaries (bytes) VALUES (?1)")
            .and_then(|mut insert| insert.insert([&dict]));
        match stored {
            Ok(id) => {
                tracing::info!(
                    dictionary = id,
                    bytes = dict.len(),
                    "items are compressed with a newly trained dictionary"
                );
                self.compressor.use_dictionary(id, &dict);
                self.since_dictionary = 0;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot store a trained dictionary; items stay as they are")
            }
        }
    }
}

fn commit_group(conn: &mut Connection, cx: &mut Context, group: Vec<AppendJob>) {
    let now_ms = cx.clock.now_ms();
    match append_group(conn, now_ms, &mut cx.codec, &group) {
        Ok(results) => {
            for (job, result) in group.into_iter().zip(results) {
                reply(cx, job, result);
            }
        }
        Err(e) if group.len() == 1 => {
            // A job alone already had its own transaction.
            if let Some(job) = group.into_iter().next() {
                reply(cx, job, Err(e));
            }
        }
        Err(_) => {
            // The shared transaction failed as a whole (at commit, say). Retry each job
            // alone so every caller gets its own answer and one bad job fails no other.
            for job in group {
                let now_ms = cx.clock.now_ms();
                let result = append_group(conn, now_ms, &mut cx.codec, std::slice::from_ref(&job))
                    .and_then(|mut r| r.pop().unwrap_or(Err(Error::WriterStopped)));
                reply(cx, job, result);
            }
        }
    }
}

/// What one job committed.
struct Committed {
    /// The account's last id before this job.
    previous: Option<ItemId>,
    /// The items appended, in order, with consecutive ids after `previous`.
    items: Vec<CachedItem>,
    /// Per item of the job, its id, or `None` when its outbox row was already carried.
    assigned: Assigned,
}

/// Puts the committed items in the cache, wakes the account's readers, then answers the
/// caller: whoever is woken finds the items in the cache.
fn reply(cx: &Context, job: AppendJob, result: Result<Committed, Error>) {
    let result = result.map(|committed| {
        if let Some(last) = committed.items.last().map(|i| i.id) {
            cx.cache.appended(Appended {
                account: job.account.clone(),
                previous: committed.previous,
                items: committed.items,
            });
            cx.waiters.notify(&job.account, last);
        }
        committed.assigned
    });
    let _ = job.reply.send(result);
}

/// One transaction for all jobs; each job in its own savepoint so a failing one is rolled
/// back alone. The outer error means nothing was committed.
fn append_group(
    conn: &mut Connection,
    now_ms: u64,
    codec: &mut Codec,
    group: &[AppendJob],
) -> Result<Vec<Result<Committed, Error>>, Error> {
    // IMMEDIATE takes the write lock up front: should a second process open the same file,
    // the last id read below is still the last one when the new ids commit.
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // One job alone (the relay is usually the only appender) needs no savepoint: if it
    // fails, the transaction is rolled back, and its error is the group's.
    if let [job] = group {
        let committed = append_one(&tx, now_ms, codec, job)?;
        tx.commit()?;
        return Ok(vec![Ok(committed)]);
    }
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        let sp = tx.savepoint()?;
        match append_one(&sp, now_ms, codec, job) {
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

fn append_one(
    conn: &Connection,
    now_ms: u64,
    codec: &mut Codec,
    job: &AppendJob,
) -> Result<Committed, Error> {
    let name = job.account.as_str();
    conn.prepare_cached("INSERT INTO accounts (name) VALUES (?1) ON CONFLICT (name) DO NOTHING")?
        .execute([name])?;
    let (account, last_ms, last_seq): (i64, Option<i64>, Option<i64>) = conn
        .prepare_cached("SELECT id, last_ms, last_seq FROM accounts WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let previous = opt_id_from_sql(last_ms, last_seq)?;
    let mut last = previous;
    let mut insert = conn.prepare_cached(
        "INSERT INTO items (account, ms, seq, type, dict, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut items = Vec::with_capacity(job.items.len());
    let mut assigned = Vec::with_capacity(job.items.len());
    for (i, item) in job.items.iter().enumerate() {
        let id = ItemId::next_after(last, now_ms);
        if let Some(row) = job.rows.get(i) {
            // The record and the check in one statement: a row already carried inserts
            // nothing, and its item is left out (taking no id).
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
                assigned.push(None);
                continue;
            }
        }
        // The one serialization of this item: stored (without its id, which is the key)
        // and cached as it is.
        let json = item_json(id, item.ts, &item.kind, &item.data);
        // It starts with `{"id":"<ms>-<seq>"`, and an id holds no comma.
        let rest = json
            .find(',')
            .filter(|_| json.starts_with(r#"{"id":""#))
            .map(|comma| &json[comma..])
            .ok_or_else(|| {
                Error::Corrupt(format!("item JSON does not start with its id: {json}"))
            })?;
        let (dict, body) = codec.store(rest.as_bytes());
        insert.execute(params![
            account,
            to_sql("item id time", id.ms)?,
            to_sql("item id sequence", id.seq)?,
            item.kind,
            dict,
            body
        ])?;
        items.push(CachedItem {
            id,
            kind: codec.kind(&item.kind),
            json: Bytes::from(json),
        });
        assigned.push(Some(id));
        last = Some(id);
    }
    if let Some(id) = items.last().map(|i| i.id) {
        conn.prepare_cached(
            "UPDATE accounts SET last_ms = ?2, last_seq = ?3, items = items + ?4 WHERE id = ?1",
        )?
        .execute(params![
            account,
            to_sql("item id time", id.ms)?,
            to_sql("item id sequence", id.seq)?,
            to_sql("item count", items.len() as u64)?
        ])?;
    }
    Ok(Committed {
        previous,
        items,
        assigned,
    })
}

/// Deletes up to `max_rows` expired items; returns how many, and per account the
/// highest id deleted.
fn purge_chunk(
    conn: &mut Connection,
    horizon: ItemId,
    max_rows: u64,
) -> Result<(u64, Vec<(AccountName, ItemId)>), Error> {
    let (h_ms, h_seq) = bound_to_sql(horizon);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let accounts: Vec<(i64, String)> = tx
        .prepare_cached("SELECT id, name FROM accounts")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut budget = max_rows;
    let mut purged = Vec::new();
    for (account, name) in accounts {
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
        tx.prepare_cached("UPDATE accounts SET items = MAX(items - ?2, 0) WHERE id = ?1")?
            .execute(params![account, deleted as i64])?;
        budget = budget.saturating_sub(u64::try_from(deleted).unwrap_or(u64::MAX));
        let name = AccountName::parse(&name)
            .map_err(|_| Error::Corrupt(format!("not an account name: {name:?}")))?;
        purged.push((name, id_from_sql(last_ms, last_seq)?));
    }
    tx.commit()?;
    Ok((max_rows - budget, purged))
}

/// Deletes the dictionaries no item needs any more, except the current one; returns the
/// ids kept. An old dictionary's items are the oldest of each account, so while it is
/// still needed the search ends early.
fn drop_unused_dictionaries(conn: &Connection, current: Option<i64>) -> Result<Vec<i64>, Error> {
    let all: Vec<i64> = conn
        .prepare_cached("SELECT id FROM dictionaries")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut kept = Vec::with_capacity(all.len());
    for id in all {
        let used = Some(id) == current
            || conn
                .prepare_cached("SELECT 1 FROM items WHERE dict = ?1 LIMIT 1")?
                .exists([id])?;
        if used {
            kept.push(id);
        } else {
            conn.prepare_cached("DELETE FROM dictionaries WHERE id = ?1")?
                .execute([id])?;
        }
    }
    Ok(kept)
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
