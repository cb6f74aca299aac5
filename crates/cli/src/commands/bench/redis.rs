//! The Redis side: the same items in a Redis stream under a temporary key prefix, read with
//! `XRANGE ... COUNT 1000` over 4 connections for the comparison, measured for memory, and
//! deleted afterwards.
//!
//! The stream's key follows the layout in ARCHITECTURE.md ("The Redis layout"); were it to
//! change, `XRANGE` would answer no entries and the run would stop with an error.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use eventlog::{Backend, KeyPrefix, RedisUrl};
use protocol::ItemId;
use redis::ConnectionAddr;
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::read::{CONNECTIONS, PAGE};
use super::resp;

/// A Redis and the key prefix this run owns there.
#[derive(Debug, Clone)]
pub(crate) struct RedisTarget {
    url: RedisUrl,
    /// With its password: for connecting only, never shown.
    secret_url: String,
    pub(crate) prefix: KeyPrefix,
}

impl RedisTarget {
    pub(crate) fn new(secret_url: &str, prefix: KeyPrefix) -> anyhow::Result<RedisTarget> {
        Ok(RedisTarget {
            url: RedisUrl::parse(secret_url).map_err(|e| anyhow!("--redis: {e}"))?,
            secret_url: secret_url.to_owned(),
            prefix,
        })
    }

    pub(crate) fn backend(&self) -> Backend {
        Backend::Redis {
            url: self.url.clone(),
            prefix: self.prefix.clone(),
        }
    }

    /// The `serve` settings that put the event log here (as environment variables, so
    /// that a password is not shown in the process list).
    pub(crate) fn serve_env(&self) -> Vec<(String, String)> {
        vec![
            ("TICKETSTREAM_EVENTLOG".into(), self.secret_url.clone()),
            (
                "TICKETSTREAM_EVENTLOG_PREFIX".into(),
                self.prefix.as_str().to_owned(),
            ),
        ]
    }

    fn stream_key(&self, account: &str) -> String {
        format!("{}:{{{account}}}:stream", self.prefix.as_str())
    }

    async fn connection(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.secret_url.as_str())
            .context("--redis")?
            .get_multiplexed_async_connection()
            .await
            .with_context(|| format!("connecting to {}", self.url))
    }

    /// The newest 1000 entries of `account`'s stream, again and again over 4 connections,
    /// for `duration`; entries per second.
    pub(crate) async fn xrange_tail(
        &self,
        account: &str,
        ids: &[ItemId],
        duration: Duration,
    ) -> anyhow::Result<f64> {
        let first = ids
            .len()
            .checked_sub(PAGE)
            .map(|i| ids[i])
            .ok_or_else(|| anyhow!("the stream holds fewer than {PAGE} items"))?;
        let first = format!("{}-{}", first.ms, first.seq);
        let key = self.stream_key(account);
        let request = resp::command(&[
            b"XRANGE",
            key.as_bytes(),
            first.as_bytes(),
            b"+",
            b"COUNT",
            PAGE.to_string().as_bytes(),
        ]);
        let started = Instant::now();
        let deadline = started + duration;
        let mut set = JoinSet::new();
        for _ in 0..CONNECTIONS {
            let mut connection = RawConnection::open(&self.secret_url).await?;
            let request = request.clone();
            set.spawn(async move {
                let mut entries = 0;
                while Instant::now() < deadline {
                    let n = connection.call(&request).await?;
                    if n != PAGE as u64 {
                        bail!("XRANGE answered {n} entries instead of {PAGE}");
                    }
                    entries += n;
                }
                Ok::<_, anyhow::Error>(entries)
            });
        }
        let mut entries = 0;
        while let Some(done) = set.join_next().await {
            entries += done.context("a Redis reader panicked")??;
        }
        Ok(entries as f64 / started.elapsed().as_secs_f64())
    }

    /// Redis memory per item of `account`'s stream (`MEMORY USAGE`, every node counted).
    pub(crate) async fn bytes_per_item(&self, account: &str, items: usize) -> anyhow::Result<f64> {
        let mut con = self.connection().await?;
        let bytes: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(self.stream_key(account))
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut con)
            .await
            .context("MEMORY USAGE")?;
        let bytes = bytes.ok_or_else(|| anyhow!("the Redis stream is missing"))?;
        Ok(bytes as f64 / items.max(1) as f64)
    }

    /// Deletes every key under the prefix; returns how many there were.
    pub(crate) async fn clean_up(&self) -> anyhow::Result<u64> {
        let mut con = self.connection().await?;
        let pattern = format!("{}:*", glob_escape(self.prefix.as_str()));
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut con)
                .await
                .context("SCAN")?;
            if !keys.is_empty() {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut con)
                    .await
                    .context("UNLINK")?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }
}

/// A prefix as a SCAN pattern that matches only itself.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One plain TCP connection speaking RESP2, authenticated and on the URL's database.
struct RawConnection {
    stream: BufReader<TcpStream>,
    line: Vec<u8>,
}

impl RawConnection {
    async fn open(secret_url: &str) -> anyhow::Result<RawConnection> {
        let client = redis::Client::open(secret_url).context("--redis")?;
        let info = client.get_connection_info();
        let ConnectionAddr::Tcp(host, port) = info.addr() else {
            bail!("--redis: only plain redis://HOST:PORT/DB is measured");
        };
        let tcp = TcpStream::connect((host.as_str(), *port))
            .await
            .with_context(|| format!("connecting to Redis at {host}:{port}"))?;
        tcp.set_nodelay(true)?;
        let mut connection = RawConnection {
            stream: BufReader::with_capacity(256 * 1024, tcp),
            line: Vec::new(),
        };
        let settings = info.redis_settings();
        if let Some(password) = settings.password() {
            let auth = match settings.username() {
                Some(user) => resp::command(&[b"AUTH", user.as_bytes(), password.as_bytes()]),
                None => resp::command(&[b"AUTH", password.as_bytes()]),
            };
            connection.call(&auth).await.context("AUTH")?;
        }
        if settings.db() != 0 {
            let db = settings.db().to_string();
            connection
                .call(&resp::command(&[b"SELECT", db.as_bytes()]))
                .await
                .context("SELECT")?;
        }
        Ok(connection)
    }

    async fn call(&mut self, request: &[u8]) -> anyhow::Result<u64> {
        self.stream.get_mut().write_all(request).await?;
        resp::skip_reply(&mut self.stream, &mut self.line).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_matches_only_itself() {
        assert_eq!(glob_escape("tsbench-1"), "tsbench-1");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
