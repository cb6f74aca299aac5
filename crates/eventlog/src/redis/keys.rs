//! The names of everything the backend keeps in Redis. The layout is described in
//! ARCHITECTURE.md ("The Redis layout"); this is the one place that spells it.

use protocol::{AccountName, ItemId};

use super::config::KeyPrefix;

#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: KeyPrefix,
}

/// The keys of one account. The account name is the hash tag (`{...}`), so in Redis
/// Cluster both live in the same slot and one script can update them atomically.
#[derive(Debug, Clone)]
pub(super) struct AccountKeys {
    /// The stream: one entry per item, its entry id being the item id.
    pub(super) stream: String,
    /// A hash: `last` (the last id assigned) and `deleted` (the highest id retention
    /// removed).
    pub(super) meta: String,
    /// A sorted set: the outbox rows appended items carry, scored by the ms of the
    /// item's id, so retention drops a record with its item.
    pub(super) carried: String,
}

impl Keys {
    pub(super) fn new(prefix: KeyPrefix) -> Self {
        Keys { prefix }
    }

    pub(super) fn account(&self, account: &AccountName) -> AccountKeys {
        let (p, a) = (self.prefix.as_str(), account.as_str());
        AccountKeys {
            stream: format!("{p}:{{{a}}}:stream"),
            meta: format!("{p}:{{{a}}}:meta"),
            carried: format!("{p}:{{{a}}}:carried"),
        }
    }

    /// A set of every account that was ever appended to, for retention to visit.
    pub(super) fn accounts(&self) -> String {
        format!("{}:accounts", self.prefix.as_str())
    }

    /// The pub/sub channel the append script announces `<account> <last id>` on.
    pub(super) fn appended_channel(&self) -> String {
        format!("{}:appended", self.prefix.as_str())
    }
}

/// An id as a stream entry id: always `<ms>-<seq>` (the contract writes the zero id `0`).
pub(super) fn entry_id(id: ItemId) -> String {
    format!("{}-{}", id.ms, id.seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accounts_keys_share_one_hash_tag() {
        let keys = Keys::new(KeyPrefix::parse("ts").unwrap());
        let k = keys.account(&AccountName::parse("demo").unwrap());
        assert_eq!(k.stream, "ts:{demo}:stream");
        assert_eq!(k.meta, "ts:{demo}:meta");
        assert_eq!(k.carried, "ts:{demo}:carried");
        assert_eq!(keys.accounts(), "ts:accounts");
        assert_eq!(keys.appended_channel(), "ts:appended");
        assert_eq!(entry_id(ItemId::ZERO), "0-0");
        assert_eq!(entry_id(ItemId::new(17, 3)), "17-3");
    }
}
