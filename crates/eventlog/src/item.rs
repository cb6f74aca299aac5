//! What goes into the log and what comes out of it.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use protocol::{ItemId, StartAt, Timestamp, TypeFilter};

use crate::error::Error;
use crate::store::Scanned;

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
    /// The item `type`; items of a type share one allocation.
    pub kind: Arc<str>,
    /// The full item JSON (`protocol::item_json`), made once at append so that pages
    /// splice these bytes without parsing them again. Always UTF-8.
    pub json: Bytes,
}

impl StoredItem {
    /// The JSON as text.
    pub fn json_str(&self) -> &str {
        // Made from a `str`, or checked when read back from storage.
        std::str::from_utf8(&self.json).unwrap_or_default()
    }
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

/// A page the embedded log reads from its file, or the Redis log from Redis, stops once it
/// holds this much JSON, with `more` set as at its limit: what one request takes in
/// memory is bounded whatever the size of its items. Pages served from the embedded
/// log's recent-items cache are slices of buffers already in memory and only stop at
/// their limit.
pub const DISK_PAGE_BYTES: usize = 4 << 20;

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
    /// The items' JSON joined by commas, in as few buffers as the storage allows (slices
    /// of the cache's buffers, not copies).
    pub(crate) joined: Vec<Bytes>,
}

impl ReadPage {
    /// The items' JSON joined by commas, as a few buffers to write one after the other
    /// with a comma between each two: the `results` of a page without any copy.
    pub fn joined_items(&self) -> &[Bytes] {
        &self.joined
    }
}

/// Builds the items of a page and their joined form together.
///
/// Items that lie side by side in one buffer (a cache chunk, or the buffer a disk read
/// decompressed into), separated by one comma, become one slice of it.
#[derive(Debug, Default)]
pub(crate) struct PageCollector {
    items: Vec<StoredItem>,
    runs: Vec<Bytes>,
    /// The run being extended: its buffer and the range so far.
    open: Option<(Bytes, usize, usize)>,
    /// Items read from storage are written here first, joined by commas.
    arena: Vec<u8>,
    owned: Vec<(ItemId, Arc<str>, usize, usize)>,
}

impl PageCollector {
    /// A collector that writes items read from storage into `arena` (emptied first).
    pub(crate) fn with_arena(mut arena: Vec<u8>) -> Self {
        arena.clear();
        PageCollector {
            arena,
            ..PageCollector::default()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len() + self.owned.len()
    }

    /// The page is done, with `scanned` entries scanned so far: it holds `limit` items, or
    /// the scan reached its `cap`, or the items read from storage hold [`DISK_PAGE_BYTES`]
    /// of JSON. A reader that stops here with an entry left to scan sets `more`.
    pub(crate) fn is_full(&self, limit: usize, scanned: usize, cap: usize) -> bool {
        self.len() == limit || scanned == cap || self.arena.len() >= DISK_PAGE_BYTES
    }

    /// An item found at `buf[start..end]`.
    pub(crate) fn push(
        &mut self,
        id: ItemId,
        kind: &Arc<str>,
        buf: &Bytes,
        start: usize,
        end: usize,
    ) {
        self.items.push(StoredItem {
            id,
            kind: Arc::clone(kind),
            json: buf.slice(start..end),
        });
        match &mut self.open {
            Some((open, _, open_end))
                if open.as_ptr() == buf.as_ptr() && *open_end + 1 == start =>
            {
                *open_end = end;
            }
            _ => {
                self.close_run();
                self.open = Some((buf.clone(), start, end));
            }
        }
    }

    fn close_run(&mut self) {
        if let Some((buf, start, end)) = self.open.take() {
            self.runs.push(buf.slice(start..end));
        }
    }

    /// An item read from storage: `write_rest` appends its JSON after the id.
    pub(crate) fn push_owned(
        &mut self,
        id: ItemId,
        kind: Arc<str>,
        write_rest: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if !self.arena.is_empty() {
            self.arena.push(b',');
        }
        let start = self.arena.len();
        // Writing to a Vec cannot fail.
        let _ = write!(self.arena, r#"{{"id":"{id}""#);
        write_rest(&mut self.arena)?;
        self.owned.push((id, kind, start, self.arena.len()));
        Ok(())
    }

    /// Hands the items over, after checking that those read from storage are text
    /// (storage could hand back damaged bytes).
    pub(crate) fn finish_into(self, out: &mut Scanned) -> Result<(), Error> {
        self.finish_into_with(out, Bytes::from)
    }

    /// As [`finish_into`](Self::finish_into), with `share` making the shared bytes of
    /// the arena (given back whether used or not).
    pub(crate) fn finish_into_with(
        mut self,
        out: &mut Scanned,
        share: impl FnOnce(Vec<u8>) -> Bytes,
    ) -> Result<(), Error> {
        let arena = share(std::mem::take(&mut self.arena));
        if !self.owned.is_empty() {
            if std::str::from_utf8(&arena).is_err() {
                return Err(Error::Corrupt("a stored item is not UTF-8".into()));
            }
            for (id, kind, start, end) in std::mem::take(&mut self.owned) {
                self.push(id, &kind, &arena, start, end);
            }
        }
        self.finish_shared(out);
        Ok(())
    }

    /// Hands the items over when all of them came from shared buffers ([`push`](Self::push)).
    pub(crate) fn finish_shared(mut self, out: &mut Scanned) {
        debug_assert!(
            self.owned.is_empty(),
            "items read from storage need finish_into"
        );
        self.close_run();
        out.items = self.items;
        out.joined = self.runs;
    }
}

/// Hands out one shared `Arc<str>` per item type seen (a page has few types).
#[derive(Debug, Default)]
pub(crate) struct Kinds(Vec<Arc<str>>);

impl Kinds {
    pub(crate) fn get(&mut self, kind: &str) -> Arc<str> {
        if let Some(k) = self.0.iter().find(|k| ***k == *kind) {
            return Arc::clone(k);
        }
        let k: Arc<str> = Arc::from(kind);
        self.0.push(Arc::clone(&k));
        k
    }
}

/// How much the log keeps, for metrics; `None` where a backend cannot tell cheaply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Items stored, expired ones that retention has not deleted yet included.
    pub items: Option<u64>,
    /// Bytes of storage they take.
    pub bytes: Option<u64>,
}

/// What one retention run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub deleted: u64,
}
