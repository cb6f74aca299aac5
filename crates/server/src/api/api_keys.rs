//! API keys as the eventstream checks them, kept in memory for a few seconds.
//!
//! Every eventstream request names its key; asking the shop store each time put a
//! database round trip (and its lock) on the hottest path of the server. Only keys that
//! exist are kept: a new key works at once, and there is no revocation to wait for.
//! Entries expire so that a key's account, were it ever changed, is read again soon.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use shop::StoredKey;

use crate::App;

/// How long a key read from the store is used without asking again.
const FRESH_FOR: Duration = Duration::from_secs(10);
/// Keys kept at most; past this the cache starts over (only real keys get in).
const MAX_KEYS: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct ApiKeys {
    known: Mutex<HashMap<String, (Instant, StoredKey)>>,
}

impl ApiKeys {
    /// The stored key `accesskey` names, if any.
    pub(crate) async fn find(
        &self,
        app: &App,
        accesskey: &str,
    ) -> Result<Option<StoredKey>, shop::Error> {
        if let Some(key) = self.fresh(accesskey) {
            return Ok(Some(key));
        }
        let found = app.shop.find_key(accesskey).await?;
        if let Some(key) = &found {
            let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            if known.len() >= MAX_KEYS {
                known.clear();
            }
            known.insert(accesskey.to_owned(), (Instant::now(), key.clone()));
        }
        Ok(found)
    }

    fn fresh(&self, accesskey: &str) -> Option<StoredKey> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .get(accesskey)
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, key)| key.clone())
    }
}
