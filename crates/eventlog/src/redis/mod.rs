//! The Redis Streams backend, for several server processes sharing one event log.
//!
//! One stream per account, its entry ids being the item ids. Appends and retention are
//! Lua scripts, so each is atomic and ids stay strictly ascending whichever process
//! appends; reads are MULTI/EXEC snapshots. All commands of a process share one
//! reconnecting multiplexed connection, and one pub/sub connection hears the appends of
//! the other processes (see `wake`). The layout is in ARCHITECTURE.md.

mod codec;
mod config;
mod keys;
mod read;
mod wake;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Script, Value};
use protocol::{AccountName, ItemId};

pub use config::{KeyPrefix, RedisConfigError, RedisUrl};

use crate::clock::Clock;
use crate::error::{Error, RedisError};
use crate::item::{LogStats, NewItem};
use crate::store::{Bounds, BoxFuture, Scan, Scanned, Store};
use crate::waiters::Waiters;
use keys::{Keys, entry_id};
use wake::Listener;

/// Lua numbers are doubles: the append script does its id arithmetic exactly only below
/// 2^53 ms, some 285,000 years after 1970.
const MAX_SCRIPT_MS: u64 = (1 << 53) - 1;
/// A Redis that does not answer within this is treated as down (the caller gets an
/// "unavailable" error); generous, since a purge may trim many entries in one call.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Accounts purged per round trip.
const PURGE_PIPELINE: usize = 256;
/// Outbox rows asked about per round trip.
const CARRIED_CHUNK: usize = 1000;

#[derive(Debug)]
pub(crate) struct RedisStore {
    conn: ConnectionManager,
    keys: Keys,
    append: Script,
    purge: Script,
    clock: Arc<dyn Clock>,
    waiters: Arc<Waiters>,
    /// Accounts this process already added to the accounts set.
    registered: Mutex<HashSet<AccountName>>,
    _listener: Listener,
}

impl RedisStore {
    pub(crate) async fn open(
        url: &RedisUrl,
        prefix: &KeyPrefix,
        clock: Arc<dyn Clock>,
        waiters: Arc<Waiters>,
    ) -> Result<Self, Error> {
        let connect_error = |e: ::redis::RedisError| Error::RedisConnect {
            url: url.to_string(),
            error: RedisError::new(e),
        };
        let client = Client::open(url.secret()).map_err(connect_error)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let mut conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(connect_error)?;
        check_version(&mut conn).await.map_err(|e| match e {
            Error::Redis(error) => Error::RedisConnect {
                url: url.to_string(),
                error,
            },
            other => other,
        })?;
        let keys = Keys::new(prefix.clone());
        let listener = Listener::start(client, keys.appended_channel(), Arc::clone(&waiters))
            .await
            .map_err(connect_error)?;
        Ok(RedisStore {
            conn,
            keys,
            append: Script::new(include_str!("append.lua")),
            purge: Script::new(include_str!("purge.lua")),
            clock,
            waiters,
            registered: Mutex::new(HashSet::new()),
            _listener: listener,
        })
    }

    /// Adds the account to the set retention visits. Outside the append script on
    /// purpose: in Redis Cluster the set and the account's stream live in different
    /// slots. Registering first means an account with items is always in the set.
    async fn register(&self, account: &AccountName) -> Result<(), Error> {
        let known = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(account);
        if known {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let _: Value = ::redis::cmd("SADD")
            .arg(self.keys.accounts())
            .arg(account.as_str())
            .query_async(&mut conn)
            .await
            .map_err(Error::redis)?;
        self.registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(account.clone());
        Ok(())
    }

    async fn append_batch(
        &self,
        account: AccountName,
        items: Vec<NewItem>,
        rows: Vec<u64>,
    ) -> Result<Vec<Option<ItemId>>, Error> {
        let now = self.clock.now_ms();
        if now > MAX_SCRIPT_MS {
            return Err(Error::OutOfRange {
                what: "clock time",
                value: now,
            });
        }
        let with_rows = !rows.is_empty();
        if with_rows && rows.len() != items.len() {
            return Err(Error::Corrupt(format!(
                "{} outbox rows for {} items",
                rows.len(),
                items.len()
            )));
        }
        self.register(&account).await?;
        let keys = self.keys.account(&account);
        let mut call = self.append.prepare_invoke();
        call.key(&keys.stream)
            .key(&keys.meta)
            .key(&keys.carried)
            .arg(now)
            .arg(self.keys.appended_channel())
            .arg(account.as_str())
            .arg(items.len())
            .arg(if with_rows { "1" } else { "0" });
        for (i, item) in items.iter().enumerate() {
            call.arg(&item.kind).arg(codec::json_tail(item)?);
            if let Some(row) = rows.get(i) {
                call.arg(row.to_string());
            }
        }
        let mut conn = self.conn.clone();
        let reply: Value = call.invoke_async(&mut conn).await.map_err(Error::redis)?;
        let (first, skipped) = codec::appended(reply)?;
        // The script gives the items it appended consecutive sequence numbers in one
        // millisecond, in order, skipping the positions it reports.
        let mut next = first;
        let mut ids = Vec::with_capacity(items.len());
        for i in 0..items.len() {
            if skipped.contains(&i) {
                ids.push(None);
                continue;
            }
            let Some(id) = next else {
                return Err(Error::Corrupt(
                    "the append script appended fewer items than it reported".into(),
                ));
            };
            ids.push(Some(id));
            next = Some(ItemId::new(id.ms, id.seq + 1));
        }
        if let Some(last) = ids.iter().rev().find_map(|id| *id) {
            // Readers of this process need not wait for the announcement to come back.
            self.waiters.notify(&account, last);
        }
        Ok(ids)
    }

    async fn purge_all(&self, horizon: ItemId) -> Result<u64, Error> {
        // Nothing lies below the zero id, and the script's interval needs one that does.
        if horizon == ItemId::ZERO {
            return Ok(0);
        }
        let mut conn = self.conn.clone();
        let accounts = self.accounts(&mut conn).await?;
        let horizon = entry_id(horizon);
        let mut deleted = 0;
        for chunk in accounts.chunks(PURGE_PIPELINE) {
            let mut pipe = ::redis::pipe();
            // EVALSHA in a pipeline does not load the script on NOSCRIPT: load it first.
            pipe.load_script(&self.purge).ignore();
            for account in chunk {
                let keys = self.keys.account(account);
                pipe.invoke_script(
                    self.purge
                        .key(&keys.stream)
                        .key(&keys.meta)
                        .key(&keys.carried)
                        .arg(&horizon),
                );
            }
            let counts: Vec<u64> = pipe.query_async(&mut conn).await.map_err(Error::redis)?;
            deleted += counts.iter().sum::<u64>();
        }
        Ok(deleted)
    }
}

impl RedisStore {
    /// Every account ever appended to.
    async fn accounts(&self, conn: &mut ConnectionManager) -> Result<Vec<AccountName>, Error> {
        let names: Vec<String> = ::redis::cmd("SMEMBERS")
            .arg(self.keys.accounts())
            .query_async(conn)
            .await
            .map_err(Error::redis)?;
        names
            .iter()
            .map(|name| {
                AccountName::parse(name).map_err(|_| {
                    Error::Corrupt(format!("not an account name in the accounts set: {name}"))
                })
            })
            .collect()
    }

    /// The entries of every account's stream (XLEN is O(1)); the memory they take is
    /// Redis's to report.
    async fn count_items(&self) -> Result<LogStats, Error> {
        let mut conn = self.conn.clone();
        let accounts = self.accounts(&mut conn).await?;
        let mut items = 0;
        for chunk in accounts.chunks(PURGE_PIPELINE) {
            let mut pipe = ::redis::pipe();
            for account in chunk {
                pipe.cmd("XLEN").arg(self.keys.account(account).stream);
            }
            let counts: Vec<u64> = pipe.query_async(&mut conn).await.map_err(Error::redis)?;
            items += counts.iter().sum::<u64>();
        }
        Ok(LogStats {
            items: Some(items),
            bytes: None,
        })
    }
}

/// `XTRIM MINID` and exclusive range ends need Redis 6.2: refuse older servers at start
/// instead of failing on the first append.
async fn check_version(conn: &mut ConnectionManager) -> Result<(), Error> {
    let info: String = match ::redis::cmd("INFO").arg("server").query_async(conn).await {
        Ok(info) => info,
        // A server that refuses INFO (an ACL, say) is given the benefit of the doubt.
        Err(e) if matches!(e.kind(), ::redis::ErrorKind::Server(_)) => return Ok(()),
        Err(e) => return Err(Error::redis(e)),
    };
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("")
        .trim();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (6, 2) {
        return Err(Error::Redis(RedisError::new(::redis::RedisError::from((
            ::redis::ErrorKind::Client,
            "the event log needs Redis 6.2 or newer",
            format!("this server is {version:?}"),
        )))));
    }
    Ok(())
}

impl Store for RedisStore {
    fn append(
        &self,
        account: AccountName,
        items: Vec<NewItem>,
        rows: Vec<u64>,
    ) -> BoxFuture<'_, Result<Vec<Option<ItemId>>, Error>> {
        Box::pin(self.append_batch(account, items, rows))
    }

    fn carried(
        &self,
        account: AccountName,
        rows: Vec<u64>,
    ) -> BoxFuture<'_, Result<Vec<u64>, Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let mut found = Vec::new();
            // ZMSCORE (Redis 6.2) answers a score or nil per row, in the order asked.
            for chunk in rows.chunks(CARRIED_CHUNK) {
                let scores: Vec<Option<f64>> = ::redis::cmd("ZMSCORE")
                    .arg(self.keys.account(&account).carried)
                    .arg(chunk)
                    .query_async(&mut conn)
                    .await
                    .map_err(Error::redis)?;
                found.extend(
                    chunk
                        .iter()
                        .zip(scores)
                        .filter_map(|(row, score)| score.map(|_| *row)),
                );
            }
            Ok(found)
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let _: Value = ::redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(Error::redis)?;
            Ok(())
        })
    }

    fn scan(&self, account: AccountName, scan: Scan) -> BoxFuture<'_, Result<Scanned, Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            read::scan(&mut conn, &self.keys.account(&account), &scan).await
        })
    }

    fn bounds(
        &self,
        account: AccountName,
        horizon: ItemId,
    ) -> BoxFuture<'_, Result<Bounds, Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            read::bounds(&mut conn, &self.keys.account(&account), horizon).await
        })
    }

    fn stats(&self) -> BoxFuture<'_, Result<LogStats, Error>> {
        Box::pin(self.count_items())
    }

    fn purge(&self, horizon: ItemId) -> BoxFuture<'_, Result<u64, Error>> {
        Box::pin(self.purge_all(horizon))
    }
}
