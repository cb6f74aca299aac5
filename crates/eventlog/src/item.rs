//! What goes into the log and what comes out of it.

use std::sync::Arc;

use protocol::{ItemId, StartAt, Timestamp, TypeFilter};

/// An action to append; the log gives it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub ts: Timestamp,
    /// The item `type`, e.g. `webshop:pageview`.
    pub kind: String,
    /// The JSON text of `data`, already valid: it is spliced, not checked.
    pub data: String,
}

/// An item made from one row of the shop's outbox: `row` is that row's id, which the log
/// records with the item so that the row is never appended twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowItem {
    pub row: u64,
    pub item: NewItem,
}

/// What an append of outbox rows did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowsAppended {
    /// The ids of the items appended, in the order of their rows.
    pub ids: Vec<ItemId>,
    /// Rows left out because an earlier append already carried them (a relay stopped
    /// between appending and deleting them, or another relay got there first).
    pub already_carried: Vec<u64>,
}

/// An item as stored and served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub id: ItemId,
    pub kind: String,
    /// The full item JSON (`protocol::item_json`), made once at append so that pages
    /// splice these bytes without parsing them again.
    pub json: Arc<str>,
}

/// One page request: where to start, which types, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    pub start: StartAt,
    /// `None`: every type. Unknown names match nothing.
    pub types: Option<TypeFilter>,
    /// Items to return at most; 0 is read as 1.
    pub limit: usize,
}

impl ReadRequest {
    const MIN_SCAN: usize = 1_000;
    const MAX_SCAN: usize = 100_000;

    /// How many items one request may scan, matching or not: a filter that matches
    /// nothing must not make one request walk 4 hours of items.
    pub fn scan_cap(&self) -> usize {
        let limit = self.limit.max(1);
        limit
            .saturating_mul(10)
            .clamp(Self::MIN_SCAN, Self::MAX_SCAN)
            .max(limit)
    }

    pub(crate) fn wants(&self, kind: &str) -> bool {
        self.types.as_ref().is_none_or(|types| types.contains(kind))
    }
}

/// One page of a stream, with the answers spec section 5 needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPage {
    /// Oldest first.
    pub items: Vec<StoredItem>,
    /// Where the next request starts: the successor of the last item scanned (filtered out
    /// or not); else, after a gap, the successor of the last deleted item; else the
    /// requested start.
    pub next_id: ItemId,
    /// The page stopped because of the limit or the scan cap and more items follow.
    pub more: bool,
    /// The oldest retained id, `None` for an empty stream.
    pub oldest_id: Option<ItemId>,
    /// Items at or after the requested position were deleted by retention.
    pub gap: bool,
}

/// What one retention run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub deleted: u64,
}
