//! Protection of the API: a rate limit per access key (429) and a cap on the requests in
//! flight (503), both answered with `Retry-After` so well-behaved clients back off.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use crate::AppConfig;

#[derive(Debug)]
pub(crate) struct Limits {
    per_key: DefaultKeyedRateLimiter<String>,
    in_flight: Arc<Semaphore>,
}

impl Limits {
    pub(crate) fn new(config: &AppConfig) -> Self {
        let rate = NonZeroU32::new(config.api_requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.api_burst).unwrap_or(rate);
        Limits {
            per_key: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            in_flight: Arc::new(Semaphore::new(config.api_max_in_flight.max(1))),
        }
    }

    /// A slot for one request, or 503 when the server already serves as many as it may.
    pub(crate) fn admit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.in_flight)
            .try_acquire_owned()
            .map_err(|_| ApiError::Overloaded { retry_after: 1 })
    }

    /// 429 when this key polls faster than its quota.
    pub(crate) fn check_rate(&self, accesskey: &str) -> Result<(), ApiError> {
        self.per_key
            .check_key(&accesskey.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::TooManyRequests {
                    retry_after: wait.as_secs().max(1),
                }
            })
    }
}
