//! The recent-items cache: the tail of every account's stream, as the JSON pages splice,
//! so live readers never touch SQLite.
//!
//! The writer fills it after each commit, in id order, so for every account it holds
//! every item from some id (`covered_from`) up to the last one committed: a read that
//! starts there is answered from memory in full. Items are kept in chunks, each the
//! items of one or more appends joined by commas in one buffer, so a page is a few
//! slices of those buffers (no copy). Memory is bounded: past the budget the oldest
//! chunks of all accounts go first, and reads before them go to disk.
//!
//! Beside the items it keeps what a page's bounds need (`gap`, `oldestid`): the highest
//! id retention deleted, and the first ids at or after the horizon as last read from
//! disk (`Edge`), so that the hot path does not ask SQLite for them either.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use protocol::{AccountName, ItemId};

use crate::item::PageCollector;
use crate::store::{Bounds, Scan, Scanned};

/// Chunks smaller than this take the next append's items in (by copying them into a
/// new buffer), so a page is a few large slices and not hundreds of small ones.
const MERGE_BELOW: usize = 128 * 1024;
/// Ids kept per account of those at or after the horizon: as the horizon moves on, the
/// oldest retained id is the first of them still at or after it.
pub(super) const EDGE_IDS: usize = 512;

/// One item of the cache.
#[derive(Debug, Clone)]
pub(super) struct CachedItem {
    pub(super) id: ItemId,
    pub(super) kind: Arc<str>,
    pub(super) json: Bytes,
}

#[derive(Debug)]
struct Chunk {
    /// The items' JSON, joined by commas.
    body: Bytes,
    /// Per item: id, type, and its range in `body`.
    entries: Vec<(ItemId, Arc<str>, u32, u32)>,
}

impl Chunk {
    fn first(&self) -> Option<ItemId> {
        self.entries.first().map(|e| e.0)
    }
}

/// The first retained ids as read from disk at some horizon.
#[derive(Debug, Clone)]
pub(super) struct Edge {
    /// The horizon the ids were read at; a read with an earlier horizon (the clock
    /// stepped back) cannot use them.
    pub(super) horizon: ItemId,
    /// The newest item below `horizon` then, if any.
    pub(super) expired: Option<ItemId>,
    /// The first ids at or after `horizon`, ascending; appends add to them while
    /// `complete`.
    pub(super) ids: VecDeque<ItemId>,
    /// `ids` holds every item at or after `horizon` (fewer than [`EDGE_IDS`] existed).
    pub(super) complete: bool,
}

impl Edge {
    /// The bounds at `horizon`, or `None` when the edge cannot tell.
    fn bounds(&mut self, horizon: ItemId, deleted: Option<ItemId>) -> Option<Bounds> {
        if horizon < self.horizon {
            return None;
        }
        while let Some(&first) = self.ids.front() {
            if first >= horizon {
                break;
            }
            self.expired = self.expired.max(Some(first));
            self.ids.pop_front();
        }
        self.horizon = horizon;
        let oldest = match self.ids.front() {
            Some(&id) => Some(id),
            None if self.complete => None,
            None => return None,
        };
        Some(Bounds {
            oldest,
            highest_deleted: deleted.max(self.expired),
        })
    }
}

#[derive(Debug)]
struct AccountTail {
    /// Bumped by every change the writer makes, so a reader that refreshed the edge from
    /// disk can tell whether the writer changed anything meanwhile.
    generation: u64,
    deleted: Option<ItemId>,
    /// Every item with an id at or after this is in `chunks`.
    covered_from: ItemId,
    chunks: VecDeque<Arc<Chunk>>,
    edge: Option<Edge>,
}

#[derive(Debug)]
struct State {
    accounts: HashMap<AccountName, AccountTail>,
    /// Every chunk in append order, by account and first id: eviction takes the front.
    order: VecDeque<(AccountName, ItemId)>,
    bytes: usize,
}

/// The cache shared by the writer (which fills it) and the readers.
#[derive(Debug)]
pub(super) struct Cache {
    state: Mutex<State>,
    budget: usize,
}

/// What a reader found in the cache.
pub(super) enum Lookup {
    /// The account has never had an item.
    Unknown,
    /// The whole page, from memory.
    Hit(Scanned),
    /// Disk is needed; `generation` is the account's as the cache saw it.
    Miss { generation: u64, edge_only: bool },
}

/// What the writer committed for one account, for the cache.
#[derive(Debug)]
pub(super) struct Appended {
    pub(super) account: AccountName,
    /// The last id before this append, as the log had it.
    pub(super) previous: Option<ItemId>,
    pub(super) items: Vec<CachedItem>,
}

impl Cache {
    pub(super) fn new(budget: usize) -> Self {
        Cache {
            state: Mutex::new(State {
                accounts: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
            budget,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called at open for every account the file knows: nothing of it is cached yet, so
    /// the cache covers only what comes after its last id.
    pub(super) fn know(&self, account: AccountName, last: Option<ItemId>, deleted: Option<ItemId>) {
        let covered_from = last.map_or(ItemId::ZERO, ItemId::successor);
        self.lock().accounts.insert(
            account,
            AccountTail {
                generation: 0,
                deleted,
                covered_from,
                chunks: VecDeque::new(),
                edge: None,
            },
        );
    }

    /// The byte budget, for the warm-up at open.
    pub(super) fn budget(&self) -> usize {
        self.budget
    }

    /// Called at open with the newest items of a known account, oldest first, so that
    /// after a restart the live readers' tail is in memory again.
    pub(super) fn warm(&self, account: &AccountName, items: Vec<CachedItem>) {
        let Some(first) = items.first().map(|i| i.id) else {
            return;
        };
        let mut state = self.lock();
        let state = &mut *state;
        let Some(tail) = state.accounts.get_mut(account) else {
            return;
        };
        if !tail.chunks.is_empty() {
            return;
        }
        let chunk = chunk_of(Vec::new(), Vec::new(), items);
        state.bytes += chunk.body.len();
        tail.covered_from = first;
        tail.chunks.push_back(Arc::new(chunk));
        state.order.push_back((account.clone(), first));
        self.evict(state);
    }

    /// Called by the writer after a commit, before anyone is told of it.
    pub(super) fn appended(&self, appended: Appended) {
        let Some(first) = appended.items.first().map(|i| i.id) else {
            return;
        };
        let mut state = self.lock();
        let state = &mut *state;
        let tail = state
            .accounts
            .entry(appended.account.clone())
            .or_insert_with(|| AccountTail {
                generation: 0,
                deleted: None,
                // A brand-new account: every item it has is in the cache from now on.
                covered_from: appended.previous.map_or(ItemId::ZERO, ItemId::successor),
                chunks: VecDeque::new(),
                edge: None,
            });
        tail.generation += 1;
        if let Some(edge) = tail.edge.as_mut().filter(|e| e.complete) {
            edge.ids.extend(appended.items.iter().map(|i| i.id));
            if edge.ids.len() > EDGE_IDS {
                edge.ids.truncate(EDGE_IDS);
                edge.complete = false;
            }
        }
        let merge = tail
            .chunks
            .back()
            .filter(|c| c.body.len() < MERGE_BELOW)
            .cloned();
        let (body, entries) = match &merge {
            Some(last) => {
                tail.chunks.pop_back();
                state.bytes -= last.body.len();
                (last.body.to_vec(), last.entries.clone())
            }
            None => (Vec::new(), Vec::new()),
        };
        let chunk = Arc::new(chunk_of(body, entries, appended.items));
        state.bytes += chunk.body.len();
        if merge.is_none() {
            state.order.push_back((appended.account, first));
        }
        tail.chunks.push_back(chunk);
        self.evict(state);
    }

    /// Drops the oldest chunks until the cache is within its budget.
    fn evict(&self, state: &mut State) {
        while state.bytes > self.budget {
            let Some((account, first)) = state.order.pop_front() else {
                break;
            };
            let Some(tail) = state.accounts.get_mut(&account) else {
                continue;
            };
            if tail.chunks.front().and_then(|c| c.first()) != Some(first) {
                continue;
            }
            if let Some(chunk) = tail.chunks.pop_front() {
                state.bytes -= chunk.body.len();
                tail.covered_from = match tail.chunks.front().and_then(|c| c.first()) {
                    Some(next) => next,
                    None => chunk.entries.last().map_or(first, |e| e.0.successor()),
                };
            }
        }
    }

    /// Called by the writer after retention deleted items up to `deleted` in `account`.
    pub(super) fn purged(&self, account: &AccountName, deleted: ItemId) {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(tail) = state.accounts.get_mut(account) else {
            return;
        };
        tail.generation += 1;
        tail.deleted = tail.deleted.max(Some(deleted));
        // Chunks wholly deleted would never be served again.
        while let Some(chunk) = tail.chunks.front() {
            if chunk.entries.last().is_some_and(|e| e.0 <= deleted) {
                state.bytes -= chunk.body.len();
                tail.chunks.pop_front();
            } else {
                break;
            }
        }
        tail.covered_from = tail.covered_from.max(deleted.successor());
        // The queue's entries of chunks now gone: drop those at its front, so that the
        // queue does not outgrow the cache while eviction has nothing to do.
        while let Some((account, first)) = state.order.front() {
            let gone = state.accounts.get(account).is_none_or(|t| {
                t.chunks
                    .front()
                    .and_then(|c| c.first())
                    .is_none_or(|f| f > *first)
            });
            if !gone {
                break;
            }
            state.order.pop_front();
        }
    }

    /// The page of `scan`, if the cache has all of it.
    pub(super) fn lookup(&self, account: &AccountName, scan: &Scan) -> Lookup {
        let mut state = self.lock();
        let Some(tail) = state.accounts.get_mut(account) else {
            return Lookup::Unknown;
        };
        let bounds = tail
            .edge
            .as_mut()
            .and_then(|edge| edge.bounds(scan.horizon, tail.deleted));
        let in_memory = scan.from >= tail.covered_from;
        let Some(bounds) = bounds.filter(|_| in_memory) else {
            return Lookup::Miss {
                generation: tail.generation,
                edge_only: in_memory,
            };
        };
        // The chunks that may hold the page; the page itself is built after unlocking.
        let start = tail
            .chunks
            .partition_point(|c| c.entries.last().is_some_and(|e| e.0 < scan.from));
        let chunks: Vec<Arc<Chunk>> = tail.chunks.range(start..).cloned().collect();
        drop(state);
        Lookup::Hit(page_from(&chunks, scan, bounds))
    }

    /// Stores an edge read from disk, unless the writer changed the account meanwhile.
    pub(super) fn set_edge(&self, account: &AccountName, generation: u64, edge: Edge) {
        let mut state = self.lock();
        if let Some(tail) = state
            .accounts
            .get_mut(account)
            .filter(|t| t.generation == generation)
        {
            tail.edge = Some(edge);
        }
    }
}

/// A chunk of the items of `body` and `entries` followed by `items`.
fn chunk_of(
    mut body: Vec<u8>,
    mut entries: Vec<(ItemId, Arc<str>, u32, u32)>,
    items: Vec<CachedItem>,
) -> Chunk {
    let added: usize = items.iter().map(|i| i.json.len() + 1).sum();
    body.reserve(added);
    for item in items {
        if !body.is_empty() {
            body.push(b',');
        }
        let start = as_u32(body.len());
        body.extend_from_slice(&item.json);
        entries.push((item.id, item.kind, start, as_u32(body.len())));
    }
    Chunk {
        body: Bytes::from(body),
        entries,
    }
}

fn page_from(chunks: &[Arc<Chunk>], scan: &Scan, bounds: Bounds) -> Scanned {
    let limit = scan.request.limit.max(1);
    let cap = scan.request.scan_cap();
    let mut page = PageCollector::default();
    let mut out = Scanned {
        bounds,
        ..Scanned::default()
    };
    let mut scanned = 0;
    'chunks: for chunk in chunks {
        let from = chunk.entries.partition_point(|e| e.0 < scan.from);
        for (id, kind, start, end) in &chunk.entries[from..] {
            if page.len() == limit || scanned == cap {
                out.more = true;
                break 'chunks;
            }
            scanned += 1;
            out.last_scanned = Some(*id);
            if scan.request.wants(kind) {
                page.push(*id, kind, &chunk.body, *start as usize, *end as usize);
            }
        }
    }
    page.finish_shared(&mut out);
    out
}

fn as_u32(n: usize) -> u32 {
    // A chunk grows past MERGE_BELOW only by one append, which a transaction bounds far
    // below 4 GiB.
    u32::try_from(n).unwrap_or(u32::MAX)
}
