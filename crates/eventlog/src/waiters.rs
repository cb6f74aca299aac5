//! Waking long-polling readers: one `watch` channel per account carries the last id
//! appended, so a reader that subscribed before reading cannot miss an append.
//!
//! The backend feeds it: the embedded writer after each commit, the Redis backend after
//! its own appends and for every append another process announces.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use protocol::{AccountName, ItemId};
use tokio::sync::watch;

#[derive(Debug, Default)]
pub(crate) struct Waiters {
    channels: Mutex<HashMap<AccountName, watch::Sender<ItemId>>>,
}

impl Waiters {
    pub(crate) fn subscribe(&self, account: &AccountName) -> watch::Receiver<ItemId> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        match channels.get(account) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = watch::channel(ItemId::ZERO);
                channels.insert(account.clone(), tx);
                rx
            }
        }
    }

    /// Called after the append committed. An account nobody ever waited on has no channel
    /// and costs nothing.
    pub(crate) fn notify(&self, account: &AccountName, last: ItemId) {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = channels.get(account) {
            tx.send_replace(last);
        }
    }

    /// Wakes every reader, so each reads again: used when appends may have gone unheard
    /// (the notification channel from other processes was down for a while).
    pub(crate) fn notify_all(&self) {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        for tx in channels.values() {
            tx.send_modify(|_| {});
        }
    }
}
