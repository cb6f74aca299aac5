//! What the handlers share: the stores and the configuration.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eventlog::{Clock, EventLog};
use shop::ShopStore;

use crate::metrics::Metrics;

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// How often the retention purge runs.
    pub purge_interval: Duration,
    /// How often expired reservations are released.
    pub expiry_interval: Duration,
    /// Eventstream requests per second one access key may make, sustained.
    pub api_requests_per_second: u32,
    /// Requests one key may make at once above the sustained rate.
    pub api_burst: u32,
    /// Eventstream requests served at once, all keys together (long-polls included,
    /// SSE streams not); more get 503.
    pub api_max_in_flight: usize,
    /// Shop page requests per minute one client address may make, sustained; more get
    /// a 429 page.
    pub page_requests_per_minute: u32,
    /// Requests one client address may make at once above the sustained rate.
    pub page_burst: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client address.
    pub trusted_proxies: Vec<IpAddr>,
    /// Eventstream requests one access key may have in flight; more get 429. Keep it well
    /// below `api_max_in_flight`, so that one key cannot fill the server.
    pub api_max_in_flight_per_key: usize,
    /// SSE streams open at once, all keys together; more get 503.
    pub api_max_streams: usize,
    /// SSE streams one access key may have open; more get 429.
    pub api_max_streams_per_key: usize,
    /// How long a request may take before it is answered 408. Keep it above the longest
    /// long-poll (60 s), so that `wait` is never cut short.
    pub request_timeout: Duration,
    /// How long a client may take to send a request's headers; then its connection is
    /// closed. Also the longest a kept-alive connection may sit idle between requests.
    pub header_read_timeout: Duration,
    /// Where older versions kept the accounts' event images as files,
    /// `<media_dir>/<account>/<file>`: an image the shop store does not hold is served
    /// from there at `/media/<account>/<file>`. `None`: only the store's images.
    pub media_dir: Option<PathBuf>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            purge_interval: Duration::from_secs(30),
            expiry_interval: Duration::from_secs(10),
            api_requests_per_second: 100,
            api_burst: 200,
            api_max_in_flight: 4096,
            page_requests_per_minute: 20 * 60,
            page_burst: 100,
            trusted_proxies: Vec::new(),
            api_max_in_flight_per_key: 64,
            api_max_streams: 1024,
            api_max_streams_per_key: 16,
            request_timeout: Duration::from_secs(90),
            header_read_timeout: Duration::from_secs(30),
            media_dir: None,
        }
    }
}

/// The application state: one shared allocation, so a clone is one reference count
/// (axum clones the state for every handler and middleware a request passes through).
#[derive(Debug, Clone)]
pub struct App(Arc<AppParts>);

/// What [`App`] holds; its fields are reached through `App`.
#[derive(Debug)]
pub struct AppParts {
    pub(crate) shop: ShopStore,
    pub(crate) log: EventLog,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: AppConfig,
    pub(crate) relay: RelayStatus,
    pub(crate) metrics: Arc<Metrics>,
}

/// What the relay does now, for `/readyz`.
#[derive(Debug, Default)]
pub(crate) struct RelayStatus {
    leading: AtomicBool,
}

impl RelayStatus {
    pub(crate) fn set_leading(&self, leading: bool) {
        self.leading.store(leading, Ordering::Relaxed);
    }

    /// Whether this process relays the outbox (the others stand by).
    pub(crate) fn leading(&self) -> bool {
        self.leading.load(Ordering::Relaxed)
    }
}

impl App {
    /// `clock` is the one the event log was opened with; authentication checks request
    /// timestamps against it too.
    pub fn new(shop: ShopStore, log: EventLog, clock: Arc<dyn Clock>, config: AppConfig) -> Self {
        App(Arc::new(AppParts {
            shop,
            log,
            clock,
            config,
            relay: RelayStatus::default(),
            metrics: Arc::default(),
        }))
    }
}

impl std::ops::Deref for App {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}
