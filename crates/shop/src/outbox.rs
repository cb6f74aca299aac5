//! The transactional outbox. A tracked action is written as a row in the same transaction
//! as the shop change it describes, so a committed change always has its item and a
//! rolled-back one never does. The relay (in the server) moves committed rows into the
//! event log and deletes them.

use std::sync::Arc;

use protocol::{AccountName, Action, Ref, Timestamp};
use rusqlite::{Transaction, params};
use tokio::sync::Notify;

use crate::{Error, ShopStore};

/// A committed row waiting for the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Ascending in commit order, never reused: the relay's position.
    pub id: u64,
    pub account: AccountName,
    pub ts: Timestamp,
    pub kind: String,
    pub data: String,
}

/// Collects the actions of one transaction. Without a `ref` it writes nothing, and the
/// payload is not even built.
#[derive(Debug)]
pub(crate) struct Tracker {
    account: AccountName,
    reference: Option<Ref>,
    now: Timestamp,
    written: usize,
}

impl Tracker {
    pub(crate) fn new(account: AccountName, reference: Option<Ref>, now: Timestamp) -> Self {
        Tracker {
            account,
            reference,
            now,
            written: 0,
        }
    }

    pub(crate) fn written(&self) -> usize {
        self.written
    }

    /// Writes the action `make` builds, when this session is tracked.
    pub(crate) fn record(
        &mut self,
        tx: &Transaction<'_>,
        make: impl FnOnce(Ref) -> Action,
    ) -> Result<(), Error> {
        let Some(reference) = self.reference.clone() else {
            return Ok(());
        };
        let action = make(reference);
        tx.prepare_cached(
            "INSERT INTO outbox (account, ts_ms, type, data) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            self.account.as_str(),
            self.now.unix_ms(),
            action.action_type().as_str(),
            action.data_json()
        ])?;
        self.written += 1;
        Ok(())
    }
}

impl ShopStore {
    /// Woken after every commit that wrote outbox rows.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.outbox_signal)
    }

    /// The oldest committed rows, in id order.
    pub async fn outbox_batch(&self, limit: usize) -> Result<Vec<OutboxRow>, Error> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, account, ts_ms, type, data FROM outbox ORDER BY id LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![limit as i64], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, account, ts_ms, kind, data) = row?;
                // Rows are written only from validated names.
                let Ok(account) = AccountName::parse(&account) else {
                    continue;
                };
                out.push(OutboxRow {
                    id: id as u64,
                    account,
                    ts: Timestamp::from_unix_ms(ts_ms),
                    kind,
                    data,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Deletes rows up to and including `id`, once the log has them.
    pub async fn outbox_delete_through(&self, id: u64) -> Result<usize, Error> {
        self.with_conn(move |conn| {
            Ok(conn.execute("DELETE FROM outbox WHERE id <= ?1", params![id as i64])?)
        })
        .await
    }

    /// How many rows wait for the relay.
    pub async fn outbox_len(&self) -> Result<u64, Error> {
        self.with_conn(|conn| {
            Ok(conn.query_row("SELECT COUNT(*) FROM outbox", [], |row| {
                row.get::<_, i64>(0)
            })? as u64)
        })
        .await
    }
}
