//! The transactional outbox. A tracked action is written as a row in the same transaction
//! as the shop change it describes, so a committed change always has its item and a
//! rolled-back one never does. The relay (in the server) moves committed rows into the
//! event log and deletes them.

use std::sync::Arc;

use protocol::{AccountName, Action, Ref, Timestamp};
use tokio::sync::{Notify, watch};

use crate::postgres::Leadership;
use crate::storage::{NewOutboxRow, Tx};
use crate::{Error, ShopStore};

/// A committed row waiting for the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Never reused. Not a position: with several writers (PostgreSQL) a row with a
    /// smaller id can commit after one with a larger id.
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
        tx: &mut dyn Tx,
        make: impl FnOnce(Ref) -> Action,
    ) -> Result<(), Error> {
        let Some(reference) = self.reference.clone() else {
            return Ok(());
        };
        let action = make(reference);
        tx.push_outbox(&NewOutboxRow {
            account: self.account.clone(),
            ts_ms: self.now.unix_ms(),
            kind: action.action_type().as_str().to_owned(),
            data: action.data_json(),
        })?;
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
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        self.read(move |tx| tx.outbox_batch(limit)).await
    }

    /// Deletes the rows with these ids, once the log has them; returns how many were
    /// still there.
    pub async fn outbox_delete(&self, ids: Vec<u64>) -> Result<usize, Error> {
        let n = self.transact(move |tx| tx.outbox_delete(&ids)).await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// This process's turn to relay the outbox: only the process that has it appends to
    /// the event log. Keep it for as long as the relay runs; dropping it gives the turn
    /// up (to another process sharing the store).
    pub fn relay_turn(&self) -> RelayTurn {
        self.backend().relay_turn(self.outbox_signal())
    }

    /// How many rows wait for the relay.
    pub async fn outbox_len(&self) -> Result<u64, Error> {
        self.read(|tx| tx.outbox_len()).await
    }
}

/// Whether this process may relay the outbox now (see [`ShopStore::relay_turn`]).
#[derive(Debug)]
pub struct RelayTurn {
    mine: watch::Receiver<bool>,
    /// For PostgreSQL: the lock's session, ended when this is dropped.
    _leadership: Option<Leadership>,
}

impl RelayTurn {
    pub(crate) fn always() -> Self {
        RelayTurn {
            // A turn that never changes: `changed` then waits for ever.
            mine: watch::channel(true).1,
            _leadership: None,
        }
    }

    pub(crate) fn shared(leadership: Leadership) -> Self {
        RelayTurn {
            mine: leadership.mine.clone(),
            _leadership: Some(leadership),
        }
    }

    /// Whether this process has the turn now.
    pub fn is_mine(&self) -> bool {
        *self.mine.borrow()
    }

    /// Returns when the turn was taken or lost (never, for a turn that cannot change).
    pub async fn changed(&mut self) {
        if self.mine.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
