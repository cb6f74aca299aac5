//! From a scan to the page of spec section 5: where a request starts, its `nextid` and
//! whether it has a `gap`. Kept apart from the backends so they cannot disagree.

use protocol::{ItemId, StartAt};

use crate::item::ReadPage;
use crate::store::Scanned;

/// The position a request gave, if any. A `ts` start is the first id of its millisecond;
/// a time before 1970 starts from the beginning.
pub(crate) fn requested_position(start: StartAt) -> Option<ItemId> {
    match start {
        StartAt::Oldest => None,
        StartAt::Id(id) => Some(id),
        StartAt::Time(ts) => Some(ItemId::new(u64::try_from(ts.unix_ms()).unwrap_or(0), 0)),
    }
}

/// The first id to scan: the requested position, but never an expired item.
pub(crate) fn scan_from(position: Option<ItemId>, horizon: ItemId) -> ItemId {
    position.unwrap_or(ItemId::ZERO).max(horizon)
}

pub(crate) fn assemble(position: Option<ItemId>, scanned: Scanned) -> ReadPage {
    let deleted = scanned.bounds.highest_deleted;
    // A position at or below the highest deleted id means items this reader asked for are
    // gone. Reading from the oldest asks for nothing in particular, so it has no gap.
    let gap = matches!((position, deleted), (Some(p), Some(d)) if p <= d);
    let next_id = match (scanned.last_scanned, position) {
        (Some(last), _) => last.successor(),
        // Nothing scanned from a position nothing passed: ask again from there.
        (None, Some(p)) if !gap => p,
        // Nothing scanned from the oldest, or from a position retention passed: continue
        // right after what was deleted, so the next poll (with this id) neither reports
        // a false gap nor the same loss again.
        (None, _) => deleted.map_or(ItemId::ZERO, ItemId::successor),
    };
    ReadPage {
        items: scanned.items,
        joined: scanned.joined,
        next_id,
        more: scanned.more,
        oldest_id: scanned.bounds.oldest,
        gap,
    }
}

#[cfg(test)]
mod tests {
    use protocol::Timestamp;

    use super::*;
    use crate::store::Bounds;

    fn deleted(id: Option<ItemId>) -> Scanned {
        Scanned {
            bounds: Bounds {
                oldest: None,
                highest_deleted: id,
            },
            ..Scanned::default()
        }
    }

    #[test]
    fn positions() {
        assert_eq!(requested_position(StartAt::Oldest), None);
        let ts = Timestamp::from_unix_ms(-5);
        assert_eq!(requested_position(StartAt::Time(ts)), Some(ItemId::ZERO));
        let ts = Timestamp::from_unix_ms(42);
        assert_eq!(
            requested_position(StartAt::Time(ts)),
            Some(ItemId::new(42, 0))
        );
        assert_eq!(scan_from(None, ItemId::new(7, 0)), ItemId::new(7, 0));
        assert_eq!(
            scan_from(Some(ItemId::new(9, 1)), ItemId::new(7, 0)),
            ItemId::new(9, 1)
        );
    }

    #[test]
    fn next_id_and_gap_when_nothing_was_scanned() {
        let page = assemble(None, deleted(None));
        assert_eq!((page.next_id, page.gap), (ItemId::ZERO, false));
        let d = Some(ItemId::new(10, 3));
        let page = assemble(None, deleted(d));
        assert_eq!((page.next_id, page.gap), (ItemId::new(10, 4), false));
        // Behind the window with nothing retained: the gap is reported and the next
        // position lies past it, so it is reported once.
        let page = assemble(Some(ItemId::new(10, 3)), deleted(d));
        assert_eq!((page.next_id, page.gap), (ItemId::new(10, 4), true));
        let page = assemble(Some(ItemId::new(2, 0)), deleted(d));
        assert_eq!((page.next_id, page.gap), (ItemId::new(10, 4), true));
        let page = assemble(Some(ItemId::new(10, 4)), deleted(d));
        assert_eq!((page.next_id, page.gap), (ItemId::new(10, 4), false));
    }
}
