//! Reads: the bounds of a stream and a range scan, the first round trip in one MULTI/EXEC
//! so the page's `oldestid`, `gap` and first items come from one snapshot.
//!
//! Further round trips, for pages of more than 1,000 entries or when a type filter skips
//! many items, continue right after the last entry scanned. That stays correct without a
//! snapshot: ids become visible only in ascending order (each append is one script) and
//! retention only removes entries below the horizon, which the scan has passed.

use ::redis::Value;
use ::redis::aio::ConnectionManager;
use protocol::ItemId;

use super::codec::{self, Entry};
use super::keys::{AccountKeys, entry_id};
use crate::error::Error;
use crate::item::{Kinds, PageCollector};
use crate::store::{Bounds, Scan, Scanned};

/// Entries fetched per round trip at most. Each is a few hundred bytes to a few kB, so
/// this keeps one reply to a few MB; a page of the default 1,000 items is one round trip.
const CHUNK: usize = 1_000;

pub(super) async fn bounds(
    conn: &mut ConnectionManager,
    keys: &AccountKeys,
    horizon: ItemId,
) -> Result<Bounds, Error> {
    let (bounds, _) = snapshot(conn, keys, horizon, None).await?;
    Ok(bounds)
}

pub(super) async fn scan(
    conn: &mut ConnectionManager,
    keys: &AccountKeys,
    scan: &Scan,
) -> Result<Scanned, Error> {
    let limit = scan.request.limit.max(1);
    let cap = scan.request.scan_cap();
    // Without a filter every entry scanned is an item.
    let wanted = if scan.request.types.is_some() {
        cap
    } else {
        limit.min(cap)
    };
    let mut out = Scanned::default();
    let mut page = PageCollector::default();
    let mut kinds = Kinds::default();
    let mut scanned = 0;
    let mut first = true;
    loop {
        // One more entry than could be used, so that a full page knows whether another
        // entry follows (`more`).
        let count = if page.is_full(limit, scanned, cap) {
            1
        } else {
            (wanted - scanned).min(CHUNK) + 1
        };
        let entries = if first {
            first = false;
            let (bounds, entries) =
                snapshot(conn, keys, scan.horizon, Some((scan.from, count))).await?;
            out.bounds = bounds;
            entries
        } else {
            let after = out.last_scanned.map_or_else(
                || entry_id(scan.from),
                |last| format!("({}", entry_id(last)),
            );
            range(conn, &keys.stream, &after, count).await?
        };
        let fetched = entries.len();
        for item in entries {
            if page.is_full(limit, scanned, cap) {
                out.more = true;
                page.finish_into(&mut out)?;
                return Ok(out);
            }
            scanned += 1;
            out.last_scanned = Some(item.id);
            if scan.request.wants(&item.kind) {
                page.push_owned(item.id, kinds.get(&item.kind), |json| {
                    json.extend_from_slice(&item.tail);
                    Ok(())
                })?;
            }
        }
        if fetched < count {
            page.finish_into(&mut out)?;
            return Ok(out);
        }
    }
}

/// The bounds and, when asked, the first `count` entries from `from` on, in one
/// transaction.
///
/// The highest expired id (below the horizon, not trimmed yet) is found with
/// `XREVRANGE (horizon - COUNT 1` only when an entry below the horizon exists: Redis
/// answers that command by walking the whole stream backwards when nothing lies below
/// its end, which made every read of a large stream take a second. Whether anything
/// does is a forward seek (`XRANGE - (horizon COUNT 1`), cheap at any size, and is true
/// only between the horizon passing items and the next purge.
async fn snapshot(
    conn: &mut ConnectionManager,
    keys: &AccountKeys,
    horizon: ItemId,
    range: Option<(ItemId, usize)>,
) -> Result<(Bounds, Vec<Entry>), Error> {
    let mut pipe = ::redis::pipe();
    pipe.atomic();
    pipe.cmd("HGET").arg(&keys.meta).arg("deleted");
    let horizon_id = entry_id(horizon);
    // Nothing lies below the zero id, and Redis refuses an interval that ends before it.
    let may_have_expired = horizon != ItemId::ZERO;
    if may_have_expired {
        pipe.cmd("XRANGE")
            .arg(&keys.stream)
            .arg("-")
            .arg(format!("({horizon_id}"))
            .arg("COUNT")
            .arg(1);
    }
    pipe.cmd("XRANGE")
        .arg(&keys.stream)
        .arg(&horizon_id)
        .arg("+")
        .arg("COUNT")
        .arg(1);
    if let Some((from, count)) = range {
        pipe.cmd("XRANGE")
            .arg(&keys.stream)
            .arg(entry_id(from))
            .arg("+")
            .arg("COUNT")
            .arg(count);
    }
    let replies: Vec<Value> = pipe.query_async(conn).await.map_err(Error::redis)?;
    let mut replies = replies.into_iter();
    let mut next = || {
        replies
            .next()
            .ok_or_else(|| Error::Corrupt("a Redis transaction answered too little".into()))
    };
    let deleted = codec::opt_id(next()?)?;
    let some_expired = may_have_expired && codec::first_id(next()?)?.is_some();
    let oldest = codec::first_id(next()?)?;
    let entries = match range {
        Some(_) => codec::entries(next()?)?,
        None => Vec::new(),
    };
    // Items below the horizon that retention has not trimmed yet already count as
    // deleted: they are not served, so a reader positioned at them has a gap.
    let expired = if some_expired {
        highest_expired(conn, keys, &horizon_id).await?
    } else {
        None
    };
    let bounds = Bounds {
        oldest,
        highest_deleted: deleted.max(expired),
    };
    Ok((bounds, entries))
}

/// The highest id below the horizon, or what a purge recorded after trimming it since
/// the snapshot: ids below the horizon only ever go away, and a trim records the
/// highest id it removed, so the larger of the two is the snapshot's answer.
async fn highest_expired(
    conn: &mut ConnectionManager,
    keys: &AccountKeys,
    horizon_id: &str,
) -> Result<Option<ItemId>, Error> {
    let mut pipe = ::redis::pipe();
    pipe.atomic();
    pipe.cmd("HGET").arg(&keys.meta).arg("deleted");
    pipe.cmd("XREVRANGE")
        .arg(&keys.stream)
        .arg(format!("({horizon_id}"))
        .arg("-")
        .arg("COUNT")
        .arg(1);
    let (deleted, below): (Value, Value) = pipe.query_async(conn).await.map_err(Error::redis)?;
    Ok(codec::opt_id(deleted)?.max(codec::first_id(below)?))
}

async fn range(
    conn: &mut ConnectionManager,
    stream: &str,
    start: &str,
    count: usize,
) -> Result<Vec<Entry>, Error> {
    let reply: Value = ::redis::cmd("XRANGE")
        .arg(stream)
        .arg(start)
        .arg("+")
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await
        .map_err(Error::redis)?;
    codec::entries(reply)
}
