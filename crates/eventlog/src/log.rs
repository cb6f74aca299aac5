//! [`EventLog`]: the handle the relay, the eventstream API and the retention task share.

use std::sync::Arc;
use std::time::Duration;

use protocol::{AccountName, ItemId, StartAt};

use crate::clock::Clock;
use crate::error::Error;
use crate::item::{LogStats, NewItem, PurgeReport, ReadPage, ReadRequest, RowItem, RowsAppended};
use crate::open::{OpenOptions, open_store};
use crate::page;
use crate::store::{Scan, Store};
use crate::waiters::Waiters;

/// The event log of every account. Cheap to clone; clones share one store.
#[derive(Debug, Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    retention: Duration,
    clock: Arc<dyn Clock>,
    waiters: Arc<Waiters>,
}

impl EventLog {
    pub async fn open(opts: OpenOptions) -> Result<EventLog, Error> {
        let waiters = Arc::new(Waiters::default());
        let store = open_store(&opts, Arc::clone(&waiters)).await?;
        Ok(EventLog {
            inner: Arc::new(Inner {
                store,
                retention: opts.retention,
                clock: opts.clock,
                waiters,
            }),
        })
    }

    /// Appends a batch atomically (one transaction, one fsync: group commit), assigns ids,
    /// returns them; the backend wakes waiters after commit, in every process.
    pub async fn append(
        &self,
        account: &AccountName,
        items: Vec<NewItem>,
    ) -> Result<Vec<ItemId>, Error> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let ids = self
            .inner
            .store
            .append(account.clone(), items, Vec::new())
            .await?;
        ids.into_iter()
            .map(|id| id.ok_or_else(|| Error::Corrupt("a plain append left an item out".into())))
            .collect()
    }

    /// Appends items made from outbox rows, atomically, recording with them which rows
    /// they carry. A row an earlier append already carried is left out, in the same
    /// atomic step: whatever happened before (a relay that stopped between appending and
    /// deleting its rows, two relays at once), no row becomes two items. The record of a
    /// row is kept as long as its item (the retention window).
    pub async fn append_rows(
        &self,
        account: &AccountName,
        rows: Vec<RowItem>,
    ) -> Result<RowsAppended, Error> {
        if rows.is_empty() {
            return Ok(RowsAppended::default());
        }
        let (ids, items): (Vec<u64>, Vec<NewItem>) =
            rows.into_iter().map(|r| (r.row, r.item)).unzip();
        let assigned = self
            .inner
            .store
            .append(account.clone(), items, ids.clone())
            .await?;
        let mut out = RowsAppended::default();
        for (row, id) in ids.into_iter().zip(assigned) {
            match id {
                Some(id) => out.ids.push(id),
                None => out.already_carried.push(row),
            }
        }
        Ok(out)
    }

    /// Those of `rows` that an append carried (and retention has not forgotten yet), in
    /// the order given.
    pub async fn carried(&self, account: &AccountName, rows: &[u64]) -> Result<Vec<u64>, Error> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        self.inner
            .store
            .carried(account.clone(), rows.to_vec())
            .await
    }

    /// Whether the store answers now: for readiness checks.
    pub async fn ping(&self) -> Result<(), Error> {
        self.inner.store.ping().await
    }

    /// One page, oldest first, from one consistent snapshot.
    pub async fn read(&self, account: &AccountName, req: &ReadRequest) -> Result<ReadPage, Error> {
        let horizon = self.horizon();
        let position = page::requested_position(req.start);
        let scan = Scan {
            horizon,
            from: page::scan_from(position, horizon),
            request: req.clone(),
        };
        let scanned = self.inner.store.scan(account.clone(), scan).await?;
        Ok(page::assemble(position, scanned))
    }

    /// Long-poll: like [`read`](Self::read), but when the page has no items, no `more` and
    /// no `gap`, waits up to `wait` for an append to this account and reads again from
    /// the page's `next_id` (so items the filter skipped are not scanned twice), until an
    /// item passes or the time is up. A gap is answered at once: the reader should learn
    /// of its loss now, not when the next item arrives.
    pub async fn read_wait(
        &self,
        account: &AccountName,
        req: &ReadRequest,
        wait: Duration,
    ) -> Result<ReadPage, Error> {
        // Subscribing before the first read means an append that commits between that
        // read and the wait below still wakes us.
        let mut appended = self.inner.waiters.subscribe(account);
        let deadline = tokio::time::Instant::now() + wait;
        let mut page = self.read(account, req).await?;
        while page.items.is_empty() && !page.more && !page.gap {
            match tokio::time::timeout_at(deadline, appended.changed()).await {
                Ok(Ok(())) => {}
                // Timed out, or the channel closed (cannot happen while `self` lives).
                Ok(Err(_)) | Err(_) => break,
            }
            let again = ReadRequest {
                start: StartAt::Id(page.next_id),
                ..req.clone()
            };
            page = self.read(account, &again).await?;
        }
        Ok(page)
    }

    /// The oldest retained id, or `None` when nothing is retained.
    pub async fn oldest_id(&self, account: &AccountName) -> Result<Option<ItemId>, Error> {
        let bounds = self
            .inner
            .store
            .bounds(account.clone(), self.horizon())
            .await?;
        Ok(bounds.oldest)
    }

    /// The highest id retention deleted (or that expired and awaits deletion).
    pub async fn highest_deleted_id(&self, account: &AccountName) -> Result<Option<ItemId>, Error> {
        let bounds = self
            .inner
            .store
            .bounds(account.clone(), self.horizon())
            .await?;
        Ok(bounds.highest_deleted)
    }

    /// Deletes every item older than the retention window (by the time in its id) and
    /// gives the disk space back.
    pub async fn purge(&self) -> Result<PurgeReport, Error> {
        let deleted = self.inner.store.purge(self.horizon()).await?;
        Ok(PurgeReport { deleted })
    }

    /// How many items and bytes the log keeps.
    pub async fn stats(&self) -> Result<LogStats, Error> {
        self.inner.store.stats().await
    }

    pub fn retention(&self) -> Duration {
        self.inner.retention
    }

    /// The first id still inside the retention window.
    fn horizon(&self) -> ItemId {
        let retention_ms = u64::try_from(self.inner.retention.as_millis()).unwrap_or(u64::MAX);
        ItemId::new(self.inner.clock.now_ms().saturating_sub(retention_ms), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handle_can_be_shared_across_tasks() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<EventLog>();
    }
}
