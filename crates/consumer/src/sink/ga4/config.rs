//! `ga4:measurement_id=G-...,api_secret=...[,endpoint=URL][,currency=EUR][,debug=true]`
//! `[,state_dir=DIR][,page_base=URL]`, read into typed settings.

use std::fmt;
use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::sink::analytics::spec::Pairs;

const KEYS: &[&str] = &[
    "measurement_id",
    "api_secret",
    "endpoint",
    "currency",
    "debug",
    "state_dir",
    "page_base",
];

pub(super) const COLLECT_URL: &str = "https://www.google-analytics.com/mp/collect";
pub(super) const DEBUG_URL: &str = "https://www.google-analytics.com/debug/mp/collect";
/// Where page URLs point when no `page_base` is configured: a host that cannot exist
/// (RFC 2606), so that nobody mistakes it for a real page.
const DEFAULT_PAGE_BASE: &str = "https://webshop.invalid";
/// Leaves room in the 100 characters of `page_location` for the page and its event.
const MAX_PAGE_BASE_CHARS: usize = 60;

/// The settings of a GA4 sink. The API secret is never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Ga4Config {
    pub(super) measurement_id: String,
    pub(super) api_secret: String,
    pub(super) endpoint: Url,
    pub(super) currency: String,
    pub(super) debug: bool,
    pub(super) state_dir: Option<PathBuf>,
    pub(super) page_base: Url,
}

impl Ga4Config {
    /// Reads the text after `ga4:`.
    pub fn parse(spec: &str) -> Result<Ga4Config, String> {
        let pairs = Pairs::parse("ga4", spec, KEYS)?;
        let measurement_id = pairs.require("measurement_id")?;
        if !measurement_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "ga4: measurement_id `{measurement_id}` is not a measurement id (G-XXXXXXXXXX)"
            ));
        }
        let api_secret = pairs.require("api_secret")?;
        let debug = pairs.flag("debug")?;
        let endpoint = match pairs.url("endpoint")? {
            Some(url) => url,
            None => Url::parse(if debug { DEBUG_URL } else { COLLECT_URL })
                .map_err(|e| format!("ga4: built-in endpoint: {e}"))?,
        };
        let currency = match pairs.get("currency") {
            None => "EUR".to_owned(),
            Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                c.to_ascii_uppercase()
            }
            Some(c) => {
                return Err(format!(
                    "ga4: currency `{c}` is not a three-letter ISO 4217 code such as EUR"
                ));
            }
        };
        let page_base = match pairs.url("page_base")? {
            Some(url) => url,
            None => Url::parse(DEFAULT_PAGE_BASE).map_err(|e| format!("ga4: page_base: {e}"))?,
        };
        if page_base.as_str().chars().count() > MAX_PAGE_BASE_CHARS {
            return Err(format!(
                "ga4: page_base is longer than {MAX_PAGE_BASE_CHARS} characters; GA4 keeps \
                 only 100 of page_location"
            ));
        }
        Ok(Ga4Config {
            measurement_id: measurement_id.to_owned(),
            api_secret: api_secret.to_owned(),
            endpoint,
            currency,
            debug,
            state_dir: pairs.get("state_dir").map(PathBuf::from),
            page_base,
        })
    }

    /// Remembers the transaction ids of purchases sent in a file in `dir`, so that a
    /// restarted consumer does not send a purchase again. Overrides `state_dir=`.
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Ga4Config {
        self.state_dir = Some(dir.into());
        self
    }

    pub fn measurement_id(&self) -> &str {
        &self.measurement_id
    }

    /// Whether requests go to a validation endpoint, which records nothing.
    pub fn debug(&self) -> bool {
        self.debug
    }

    pub fn state_dir(&self) -> Option<&Path> {
        self.state_dir.as_deref()
    }

    /// The collection URL with the measurement id and the secret in its query, as GA4
    /// expects them.
    pub(super) fn request_url(&self) -> Url {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("measurement_id", &self.measurement_id)
            .append_pair("api_secret", &self.api_secret);
        url
    }
}

impl fmt::Debug for Ga4Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ga4Config")
            .field("measurement_id", &self.measurement_id)
            .field("api_secret", &"<redacted>")
            .field("endpoint", &self.endpoint.as_str())
            .field("currency", &self.currency)
            .field("debug", &self.debug)
            .field("state_dir", &self.state_dir)
            .field("page_base", &self.page_base.as_str())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn defaults() {
        let c = Ga4Config::parse("measurement_id=G-ABC123,api_secret=s3cr3t").unwrap();
        assert_eq!(c.measurement_id(), "G-ABC123");
        assert_eq!(c.endpoint.as_str(), COLLECT_URL);
        assert_eq!(c.currency, "EUR");
        assert!(!c.debug());
        assert_eq!(c.state_dir(), None);
        assert_eq!(
            c.request_url().as_str(),
            "https://www.google-analytics.com/mp/collect?measurement_id=G-ABC123&api_secret=s3cr3t"
        );
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn every_key() {
        let c = Ga4Config::parse(
            "measurement_id=G-X,api_secret=k,endpoint=http://127.0.0.1:9/c?x=1,currency=usd,\
             debug=true,state_dir=/tmp/st,page_base=https://tickets.example/w",
        )
        .unwrap();
        assert_eq!(
            c.request_url().as_str(),
            "http://127.0.0.1:9/c?x=1&measurement_id=G-X&api_secret=k"
        );
        assert_eq!(c.currency, "USD");
        assert!(c.debug());
        assert_eq!(c.state_dir(), Some(Path::new("/tmp/st")));
        assert_eq!(c.page_base.as_str(), "https://tickets.example/w");
        let c = c.with_state_dir("/var/lib/x");
        assert_eq!(c.state_dir(), Some(Path::new("/var/lib/x")));
    }

    #[test]
    fn debug_uses_the_validation_endpoint() {
        let c = Ga4Config::parse("measurement_id=G-X,api_secret=k,debug=true").unwrap();
        assert_eq!(c.endpoint.as_str(), DEBUG_URL);
    }

    #[test]
    fn clear_errors() {
        for (spec, needle) in [
            ("api_secret=k", "missing `measurement_id=...`"),
            ("measurement_id=G-X", "missing `api_secret=...`"),
            (
                "measurement_id=G-X,api_secret=k,secret=2",
                "unknown key `secret`",
            ),
            (
                "measurement_id=G-X,api_secret=k,currency=EURO",
                "three-letter",
            ),
            ("measurement_id=G X,api_secret=k", "not a measurement id"),
            ("measurement_id=G-X,api_secret=k,endpoint=nope", "not a URL"),
            (
                "measurement_id=G-X,api_secret=k,debug=sure",
                "true or false",
            ),
            ("", "missing `measurement_id=...`"),
        ] {
            let err = Ga4Config::parse(spec).unwrap_err();
            assert!(err.contains(needle), "{spec}: {err}");
            assert!(err.starts_with("ga4: "), "{err}");
        }
    }
}
