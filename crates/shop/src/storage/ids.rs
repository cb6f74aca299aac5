//! Ids and counts as the signed 64-bit integers both SQL backends store, converted with
//! checks in both directions: no `as` casts between ids and database integers.

use protocol::NumId;

use crate::Error;

/// An id for a statement parameter. Ids come from the catalog (checked to fit at import)
/// or from the store itself, so a failure here is a caller's bug, reported as such.
pub(crate) fn db_id(what: &'static str, id: NumId) -> Result<i64, Error> {
    i64::try_from(id.0).map_err(|_| Error::OutOfRange { what, value: id.0 })
}

/// An id to look up: one that cannot be stored cannot be found.
pub(crate) fn lookup_id(id: NumId) -> Option<i64> {
    i64::try_from(id.0).ok()
}

/// A count or position for a statement parameter.
pub(crate) fn db_count(what: &'static str, n: usize) -> Result<i64, Error> {
    i64::try_from(n).map_err(|_| Error::OutOfRange {
        what,
        value: u64::try_from(n).unwrap_or(u64::MAX),
    })
}

/// A stored integer that must not be negative (an id, a count).
pub(crate) fn db_u64(v: i64) -> Result<u64, Error> {
    u64::try_from(v).map_err(|_| Error::Store(format!("negative count {v}")))
}
