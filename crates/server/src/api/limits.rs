//! Protection of the API, admitted fairly between access keys:
//!
//! - before authentication, a global cap on requests being served (503), so a flood of
//!   requests cannot queue unbounded work;
//! - after it, a rate limit per key (429) and a cap per key on requests in flight (429),
//!   so one key's long-polls cannot fill the global cap;
//! - an SSE stream leaves the request pool once admitted and holds a stream slot instead,
//!   capped per key (429) and globally (503): streams live for hours and must not starve
//!   short requests.
//!
//! Every refusal carries `Retry-After` so well-behaved clients back off.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use super::key_slots::{KeySlot, KeySlots};
use crate::AppConfig;

#[derive(Debug)]
pub(crate) struct Limits {
    per_key_rate: DefaultKeyedRateLimiter<String>,
    requests: Arc<Semaphore>,
    key_requests: Arc<KeySlots>,
    streams: Arc<Semaphore>,
    key_streams: Arc<KeySlots>,
}

/// A request that got a global slot and is not yet authenticated.
#[derive(Debug)]
pub(crate) struct Entry(OwnedSemaphorePermit);

/// What an admitted request or stream holds until it ends.
#[derive(Debug)]
pub(crate) struct Admission {
    _global: OwnedSemaphorePermit,
    _key: KeySlot,
}

impl Limits {
    pub(crate) fn new(config: &AppConfig) -> Self {
        let rate = NonZeroU32::new(config.api_requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.api_burst).unwrap_or(rate);
        Limits {
            per_key_rate: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            requests: Arc::new(Semaphore::new(config.api_max_in_flight.max(1))),
            key_requests: KeySlots::new(config.api_max_in_flight_per_key),
            streams: Arc::new(Semaphore::new(config.api_max_streams.max(1))),
            key_streams: KeySlots::new(config.api_max_streams_per_key),
        }
    }

    /// A global slot for one request, or 503 when the server already serves as many as
    /// it may.
    pub(crate) fn enter(&self) -> Result<Entry, ApiError> {
        Arc::clone(&self.requests)
            .try_acquire_owned()
            .map(Entry)
            .map_err(|_| ApiError::Overloaded { retry_after: 1 })
    }

    /// 429 when this key polls faster than its quota.
    pub(crate) fn check_rate(&self, accesskey: &str) -> Result<(), ApiError> {
        self.per_key_rate
            .check_key(&accesskey.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::TooManyRequests {
                    retry_after: wait.as_secs().max(1),
                }
            })
    }

    /// Admits an authenticated request of `accesskey`: it keeps its global slot and takes
    /// one of its key's, or gets 429 when the key has as many requests in flight as it may.
    pub(crate) fn admit_request(
        &self,
        entry: Entry,
        accesskey: &str,
    ) -> Result<Admission, ApiError> {
        let key = key_slot(&self.key_requests, accesskey, "requests in flight")?;
        Ok(Admission {
            _global: entry.0,
            _key: key,
        })
    }

    /// Admits an SSE stream of `accesskey`: it gives its request slot back and takes a
    /// stream slot of its key (429 when the key has as many streams open as it may) and a
    /// global one (503).
    pub(crate) fn admit_stream(
        &self,
        entry: Entry,
        accesskey: &str,
    ) -> Result<Admission, ApiError> {
        drop(entry);
        let key = key_slot(&self.key_streams, accesskey, "event streams open")?;
        let global = Arc::clone(&self.streams)
            .try_acquire_owned()
            .map_err(|_| ApiError::Overloaded { retry_after: 1 })?;
        Ok(Admission {
            _global: global,
            _key: key,
        })
    }
}

/// A slot of `accesskey` in `slots`, or 429 naming `what` the key has too many of.
fn key_slot(
    slots: &Arc<KeySlots>,
    accesskey: &str,
    what: &'static str,
) -> Result<KeySlot, ApiError> {
    slots.try_take(accesskey).ok_or(ApiError::KeyBusy {
        what,
        cap: slots.cap(),
    })
}
