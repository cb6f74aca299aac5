//! The append-only, per-account event log behind the eventstream (spec sections 4 and 5).
//!
//! [`EventLog`] is a cheap handle over a private storage backend chosen by [`Backend`]. It
//! assigns item ids (`<ms>-<seq>`, strictly ascending per account, never reused), serves
//! pages in id order with the `nextid`/`moreresults`/`oldestid`/`gap` answers of the
//! contract, wakes long-polling readers when an append commits, and enforces retention:
//! nothing older than the window is served, and `purge` deletes it from disk.
//!
//! Every backend must pass the conformance suite in `tests/conformance`.

mod clock;
mod embedded;
mod error;
mod item;
mod log;
mod open;
mod page;
mod redis;
mod store;
mod waiters;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::Error;
pub use error::RedisError;
pub use item::{
    DISK_PAGE_BYTES, LogStats, NewItem, PurgeReport, ReadPage, ReadRequest, RowItem, RowsAppended,
    StoredItem,
};
pub use log::EventLog;
pub use open::{Backend, DEFAULT_CACHE_BYTES, DEFAULT_RETENTION, OpenOptions};
pub use redis::{KeyPrefix, RedisConfigError, RedisUrl};
