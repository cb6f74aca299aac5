//! A rate limit per client address on the shop pages, answered with a 429 page and
//! `Retry-After`, so one address cannot flood the shop (and its session table).
//!
//! The client address is the connection's peer. Behind a reverse proxy every request
//! comes from the proxy, so when the peer is one of the configured trusted proxies the
//! address is read from `X-Forwarded-For`: the right-most entry that is not itself a
//! trusted proxy. From any other peer the header is ignored: anyone can write it.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::PageError;
use crate::AppConfig;

/// Above this many tracked addresses, the ones with a full quota again are forgotten.
const TRACKED_ADDRESSES: usize = 100_000;

#[derive(Debug)]
pub(crate) struct PageLimits {
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    trusted: Vec<IpAddr>,
}

impl PageLimits {
    pub(crate) fn new(config: &AppConfig) -> Self {
        let rate = NonZeroU32::new(config.page_requests_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.page_burst).unwrap_or(rate);
        PageLimits {
            per_client: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)),
            trusted: config.trusted_proxies.clone(),
        }
    }

    fn check(&self, client: IpAddr) -> Result<(), PageError> {
        if self.per_client.len() > TRACKED_ADDRESSES {
            self.per_client.retain_recent();
        }
        self.per_client.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            PageError::TooManyRequests {
                retry_after: wait.as_secs().max(1),
            }
        })
    }
}

/// The address a request counts against.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    let entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for entry in entries.into_iter().rev() {
        let entry = entry.trim();
        let Some(addr) = entry
            .parse::<IpAddr>()
            .ok()
            .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        else {
            // An entry that is no address: the last good one is as far as we can trust.
            break;
        };
        client = addr;
        if !trusted.contains(&addr) {
            break;
        }
    }
    client
}

/// The middleware: 429 when the client's address is over its quota.
pub(crate) async fn limit(
    State(limits): State<Arc<PageLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // Without connection info (a router served by something other than `server::run`,
    // which attaches the peer to every request) there is no address to count against.
    if let Some(peer) = peer {
        let client = client_address(peer, request.headers(), &limits.trusted);
        if let Err(too_many) = limits.check(client) {
            return too_many.for_browser(request.headers());
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        let trusted = [proxy, ip("10.0.0.2")];
        let spoofed = headers(&["203.0.113.9"]);
        assert_eq!(
            client_address(ip("198.51.100.7"), &spoofed, &trusted),
            ip("198.51.100.7"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(client_address(proxy, &spoofed, &trusted), ip("203.0.113.9"));
        // The client wrote a fake first entry; the proxies appended the real one.
        let chain = headers(&["1.1.1.1, 203.0.113.9", "10.0.0.2"]);
        assert_eq!(client_address(proxy, &chain, &trusted), ip("203.0.113.9"));
        assert_eq!(client_address(proxy, &headers(&[]), &trusted), proxy);
        assert_eq!(
            client_address(proxy, &headers(&["garbage"]), &trusted),
            proxy
        );
        assert_eq!(
            client_address(proxy, &headers(&["[2001:db8::1]:443"]), &trusted),
            ip("2001:db8::1")
        );
    }
}
