//! SQLite stores signed 64-bit integers; ids and positions are unsigned. Values we write
//! are checked, values we read back are checked too (a negative one means a damaged file).

use protocol::ItemId;

use crate::error::Error;

pub(super) fn to_sql(what: &'static str, value: u64) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error::OutOfRange { what, value })
}

pub(super) fn from_sql(value: i64) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| Error::Corrupt(format!("negative stored number {value}")))
}

pub(super) fn id_from_sql(ms: i64, seq: i64) -> Result<ItemId, Error> {
    Ok(ItemId::new(from_sql(ms)?, from_sql(seq)?))
}

pub(super) fn opt_id_from_sql(ms: Option<i64>, seq: Option<i64>) -> Result<Option<ItemId>, Error> {
    match (ms, seq) {
        (Some(ms), Some(seq)) => Ok(Some(id_from_sql(ms, seq)?)),
        _ => Ok(None),
    }
}

/// A position to query from. Ids beyond what SQLite can hold are beyond every stored id,
/// so they saturate instead of failing: a reader may ask for any id it likes.
pub(super) fn bound_to_sql(id: ItemId) -> (i64, i64) {
    match i64::try_from(id.ms) {
        Ok(ms) => (ms, i64::try_from(id.seq).unwrap_or(i64::MAX)),
        Err(_) => (i64::MAX, i64::MAX),
    }
}
