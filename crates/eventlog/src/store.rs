//! The private contract between [`EventLog`](crate::EventLog) and a storage backend.
//!
//! A backend stores items and answers range scans in one consistent snapshot; everything
//! the contract derives from those answers (positions, `nextid`, `gap`, waking readers)
//! lives in the handle, so every backend behaves the same.
//!
//! A backend is opened with the handle's [`Waiters`](crate::waiters::Waiters): it
//! reports there every append it learns has committed, its own and, for a backend shared
//! by several processes, those of the others. That is how long-polls wake.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use protocol::{AccountName, ItemId};

use crate::error::Error;
use crate::item::{LogStats, NewItem, ReadRequest, StoredItem};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A range scan of one account's items.
#[derive(Debug, Clone)]
pub(crate) struct Scan {
    /// Items with an id below this have expired: they are neither served nor counted as
    /// retained, and count as deleted.
    pub(crate) horizon: ItemId,
    /// The first id to scan, inclusive; never below `horizon`.
    pub(crate) from: ItemId,
    /// The request, for its type filter, limit and scan cap.
    pub(crate) request: ReadRequest,
}

/// What a scan saw, all in one snapshot.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scanned {
    pub(crate) items: Vec<StoredItem>,
    /// The items' JSON joined by commas (see [`ReadPage::joined_items`](crate::ReadPage)).
    pub(crate) joined: Vec<bytes::Bytes>,
    /// The last item scanned, whether or not it passed the filter.
    pub(crate) last_scanned: Option<ItemId>,
    /// The scan stopped at the limit or the cap and another item follows.
    pub(crate) more: bool,
    pub(crate) bounds: Bounds,
}

/// The retained range of one account's stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bounds {
    /// The oldest item at or above the horizon.
    pub(crate) oldest: Option<ItemId>,
    /// The highest id deleted by retention or expired below the horizon.
    pub(crate) highest_deleted: Option<ItemId>,
}

pub(crate) trait Store: Send + Sync + Debug {
    /// Appends atomically, assigning ids in the write transaction (so an id becomes
    /// visible only with every smaller one). `rows` is empty, or names for each item the
    /// outbox row it carries: then an item whose row an earlier append carried is left
    /// out (`None` in its place), and the others' rows are recorded in the same
    /// transaction, kept as long as their items are. Never called without items.
    fn append(
        &self,
        account: AccountName,
        items: Vec<NewItem>,
        rows: Vec<u64>,
    ) -> BoxFuture<'_, Result<Vec<Option<ItemId>>, Error>>;

    /// Those of `rows` that an append recorded as carried.
    fn carried(
        &self,
        account: AccountName,
        rows: Vec<u64>,
    ) -> BoxFuture<'_, Result<Vec<u64>, Error>>;

    /// Whether the store answers now.
    fn ping(&self) -> BoxFuture<'_, Result<(), Error>>;

    fn scan(&self, account: AccountName, scan: Scan) -> BoxFuture<'_, Result<Scanned, Error>>;

    fn bounds(&self, account: AccountName, horizon: ItemId)
    -> BoxFuture<'_, Result<Bounds, Error>>;

    fn stats(&self) -> BoxFuture<'_, Result<LogStats, Error>>;

    /// Deletes every item below `horizon` in every account, records the highest deleted
    /// id per account, and gives the space back. Returns the number of items deleted.
    fn purge(&self, horizon: ItemId) -> BoxFuture<'_, Result<u64, Error>>;
}
