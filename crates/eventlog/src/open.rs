//! Choosing and opening a backend. This is the one place that knows every backend; a
//! backend behind a cargo feature is gated here and nowhere else.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::embedded::EmbeddedStore;
use crate::error::Error;
use crate::redis::{KeyPrefix, RedisStore, RedisUrl};
use crate::store::Store;
use crate::waiters::Waiters;

/// The retention of the contract: items are kept 4 hours (spec section 2).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(4 * 3600);

/// Where the items live, chosen from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file, `eventlog.sqlite`, under `dir` (created if missing).
    Embedded { dir: PathBuf },
    /// Redis Streams (6.2 or newer) at `url`, for several processes sharing one log.
    /// Every key and channel name starts with `prefix`, so deployments (and tests) can
    /// share one Redis.
    Redis { url: RedisUrl, prefix: KeyPrefix },
}

/// The default bound of the embedded log's recent-items cache: the JSON of some 80,000
/// items of 800 bytes, minutes of a busy shop's tail.
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub backend: Backend,
    pub retention: Duration,
    pub clock: Arc<dyn Clock>,
    /// The most item JSON the embedded log keeps in memory for live readers.
    pub cache_bytes: usize,
}

impl OpenOptions {
    /// The defaults of a deployment: 4 h retention, the wall clock, a 64 MiB cache.
    pub fn new(backend: Backend) -> Self {
        OpenOptions {
            backend,
            retention: DEFAULT_RETENTION,
            clock: Arc::new(SystemClock),
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

pub(crate) async fn open_store(
    opts: &OpenOptions,
    waiters: Arc<Waiters>,
) -> Result<Arc<dyn Store>, Error> {
    let clock = Arc::clone(&opts.clock);
    match &opts.backend {
        Backend::Embedded { dir } => Ok(Arc::new(
            EmbeddedStore::open(dir, clock, waiters, opts.cache_bytes).await?,
        )),
        Backend::Redis { url, prefix } => Ok(Arc::new(
            RedisStore::open(url, prefix, clock, waiters).await?,
        )),
    }
}
