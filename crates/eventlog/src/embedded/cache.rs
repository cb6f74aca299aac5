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

/// Chunks smaller than this are joined with later ones (see [`Cache::appended`]), so a
/// page is a few large slices and not hundreds of small ones.
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
        let chunk = chunk_of(items);
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
        // The new items become a chunk of their own, which then takes in the small
        // chunks before it that are no larger than itself, binary-counter style: an item
        // is copied a few times at most (not once per later append, as when every append
        // went into the last chunk), and an account's tail has a few small chunks at most.
        let mut chunk = chunk_of(appended.items);
        let mut start = first;
        while tail
            .chunks
            .back()
            .is_some_and(|c| c.body.len() < MERGE_BELOW && c.body.len() <= chunk.body.len())
        {
            let Some(last) = tail.chunks.pop_back() else {
                break;
            };
            state.bytes -= last.body.len();
            if let Some(taken) = last.first() {
                start = taken;
                // Its name in the eviction queue goes with it. The chunk is the account's
                // newest, so its name is among the newest: found from the back.
                if let Some(at) = state
                    .order
                    .iter()
                    .rposition(|(a, f)| *f == taken && *a == appended.account)
                {
                    state.order.remove(at);
                }
            }
            chunk = joined(last, chunk);
        }
        let chunk = Arc::new(chunk);
        state.bytes += chunk.body.len();
        // The eviction queue names each chunk once, by its start, in the order of each
        // account's chunks: the account's newest chunk is named last.
        state.order.push_back((appended.account, start));
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

/// The chunk of `earlier`'s items followed by `later`'s.
fn joined(earlier: Arc<Chunk>, later: Chunk) -> Chunk {
    // A reader may still hold the earlier chunk (a page being built): then copy it.
    let Chunk { body, entries } = Arc::try_unwrap(earlier).unwrap_or_else(|shared| Chunk {
        body: shared.body.clone(),
        entries: shared.entries.clone(),
    });
    let mut joined = Vec::with_capacity(body.len() + 1 + later.body.len());
    joined.extend_from_slice(&body);
    let offset = if joined.is_empty() {
        0
    } else {
        joined.push(b',');
        as_u32(joined.len())
    };
    joined.extend_from_slice(&later.body);
    let mut all = entries;
    all.reserve(later.entries.len());
    all.extend(
        later
            .entries
            .into_iter()
            .map(|(id, kind, start, end)| (id, kind, start + offset, end + offset)),
    );
    Chunk {
        body: Bytes::from(joined),
        entries: all,
    }
}

/// A chunk of `items`.
fn chunk_of(items: Vec<CachedItem>) -> Chunk {
    let size: usize = items.iter().map(|i| i.json.len() + 1).sum();
    let mut body = Vec::with_capacity(size);
    let mut entries = Vec::with_capacity(items.len());
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
            if page.is_full(limit, scanned, cap) {
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
    // A chunk grows past MERGE_BELOW only by joining one no larger than itself, and an
    // append is bounded by a transaction far below 4 GiB.
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: u64, size: usize) -> CachedItem {
        CachedItem {
            id: ItemId::new(1_000 + n, 0),
            kind: Arc::from("webshop:pageview"),
            json: Bytes::from(format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(size))),
        }
    }

    /// Appends `items` after `previous`; returns the new last id.
    fn append(
        cache: &Cache,
        account: &AccountName,
        previous: Option<ItemId>,
        items: Vec<CachedItem>,
    ) -> Option<ItemId> {
        let last = items.last().map(|i| i.id).or(previous);
        cache.appended(Appended {
            account: account.clone(),
            previous,
            items,
        });
        last
    }

    /// Appends of every size, one item or many, leave each account's items in order,
    /// each entry naming exactly its item's bytes, in few chunks.
    #[test]
    fn appends_keep_every_item_addressable_in_few_chunks() {
        let cache = Cache::new(usize::MAX);
        let account = AccountName::parse("demo").unwrap();
        let mut all = Vec::new();
        let mut previous = None;
        let mut n = 0;
        for round in 0..600u64 {
            let count = if round % 50 == 49 { 40 } else { 1 };
            let items: Vec<CachedItem> = (0..count)
                .map(|_| {
                    n += 1;
                    item(n, 300 + (n as usize % 7) * 100)
                })
                .collect();
            all.extend(items.iter().map(|i| (i.id, i.json.clone())));
            previous = append(&cache, &account, previous, items);
        }
        let state = cache.lock();
        let tail = &state.accounts[&account];
        let found: Vec<(ItemId, Bytes)> = tail
            .chunks
            .iter()
            .flat_map(|c| {
                c.entries
                    .iter()
                    .map(|(id, _, start, end)| (*id, c.body.slice(*start as usize..*end as usize)))
            })
            .collect();
        assert_eq!(found, all);
        for chunk in &tail.chunks {
            let joined: Vec<&[u8]> = chunk
                .entries
                .iter()
                .map(|(_, _, s, e)| &chunk.body[*s as usize..*e as usize])
                .collect();
            assert_eq!(chunk.body, joined.join(&b","[..]));
        }
        let bytes: usize = tail.chunks.iter().map(|c| c.body.len()).sum();
        assert_eq!(state.bytes, bytes);
        // Full chunks of about MERGE_BELOW, and a binary counter's worth of small ones.
        let full = bytes / MERGE_BELOW + 1;
        assert!(
            tail.chunks.len() <= full + 12,
            "{} chunks for {bytes} bytes",
            tail.chunks.len()
        );
    }

    /// Chunks that were joined leave no names behind in the eviction queue, also when
    /// several accounts append in turn.
    #[test]
    fn the_eviction_queue_names_each_chunk_once() {
        let cache = Cache::new(usize::MAX);
        let accounts = [
            AccountName::parse("one").unwrap(),
            AccountName::parse("two").unwrap(),
        ];
        let mut previous = [None, None];
        for n in 0..5_000u64 {
            let which = usize::from(n % 3 == 0);
            previous[which] = append(
                &cache,
                &accounts[which],
                previous[which],
                vec![item(n, 800)],
            );
        }
        let state = cache.lock();
        let mut names: Vec<(AccountName, ItemId)> = state.order.iter().cloned().collect();
        let mut starts: Vec<(AccountName, ItemId)> = accounts
            .iter()
            .flat_map(|a| {
                state.accounts[a]
                    .chunks
                    .iter()
                    .filter_map(|c| c.first())
                    .map(|first| (a.clone(), first))
            })
            .collect();
        names.sort();
        starts.sort();
        assert_eq!(names, starts);
    }

    /// Eviction still finds every chunk's start in its queue after chunks were joined.
    #[test]
    fn eviction_keeps_the_budget_after_joins() {
        let budget = 2 * MERGE_BELOW;
        let cache = Cache::new(budget);
        let account = AccountName::parse("demo").unwrap();
        let mut previous = None;
        for n in 0..3_000u64 {
            previous = append(&cache, &account, previous, vec![item(n, 500)]);
        }
        let state = cache.lock();
        assert!(state.bytes <= budget, "{} bytes cached", state.bytes);
        let tail = &state.accounts[&account];
        let first = tail.chunks.front().and_then(|c| c.first()).unwrap();
        assert_eq!(tail.covered_from, first);
        assert_eq!(
            tail.chunks
                .back()
                .and_then(|c| c.entries.last())
                .map(|e| e.0),
            previous
        );
    }
}
