//! What the Redis backend is configured with, parsed at the boundary: the server's URL
//! (whose password is never shown) and the key prefix that keeps deployments sharing one
//! Redis, and concurrent test runs, apart.

use std::fmt;
use std::str::FromStr;

/// Why a Redis setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisConfigError {
    #[error("not a Redis URL: expected redis://HOST:PORT/DB ({0})")]
    Url(String),
    #[error(
        "not a key prefix: 1 to {max} printable ASCII characters without spaces, '{{' or '}}'",
        max = KeyPrefix::MAX_LEN
    )]
    Prefix,
}

/// A `redis://[user[:password]@]host[:port][/db]` URL, checked by the client library.
/// `Display` and `Debug` hide the password, so the URL can go into errors and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    url: String,
}

impl RedisUrl {
    pub fn parse(s: &str) -> Result<Self, RedisConfigError> {
        if !s.starts_with("redis://") {
            return Err(RedisConfigError::Url(
                "only the redis:// scheme is supported".into(),
            ));
        }
        // Parses host, port, database and credentials without connecting.
        ::redis::Client::open(s).map_err(|e| RedisConfigError::Url(e.to_string()))?;
        Ok(RedisUrl { url: s.to_owned() })
    }

    /// The URL with its password, for connecting only.
    pub(crate) fn secret(&self) -> &str {
        &self.url
    }
}

impl FromStr for RedisUrl {
    type Err = RedisConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RedisUrl::parse(s)
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rest = &self.url["redis://".len()..];
        // The user information ends at the last '@' before the path.
        let authority_end = rest.find('/').unwrap_or(rest.len());
        match rest[..authority_end].rfind('@') {
            Some(at) => {
                let user = rest[..at].split_once(':').map_or(&rest[..at], |(u, _)| u);
                write!(f, "redis://{user}:***@{}", &rest[at + 1..])
            }
            None => f.write_str(&self.url),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// The first part of every key and channel name the backend uses.
///
/// Braces are refused because Redis Cluster reads the first `{...}` of a key as its hash
/// tag; the backend puts the account name there, so all keys of an account share a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    pub const DEFAULT: &'static str = "ticketstream";
    const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Self, RedisConfigError> {
        let valid = (1..=Self::MAX_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}');
        if valid {
            Ok(KeyPrefix(s.to_owned()))
        } else {
            Err(RedisConfigError::Prefix)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        KeyPrefix(Self::DEFAULT.to_owned())
    }
}

impl FromStr for KeyPrefix {
    type Err = RedisConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyPrefix::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let url = RedisUrl::parse("redis://127.0.0.1:6379/2").unwrap();
        assert_eq!(url.to_string(), "redis://127.0.0.1:6379/2");
        assert_eq!(url.secret(), "redis://127.0.0.1:6379/2");
        let url = RedisUrl::parse("redis://app:s3cret@cache.internal:6380/1").unwrap();
        assert_eq!(url.to_string(), "redis://app:***@cache.internal:6380/1");
        assert!(!format!("{url:?}").contains("s3cret"));
        let url = RedisUrl::parse("redis://:s3cret@cache").unwrap();
        assert_eq!(url.to_string(), "redis://:***@cache");
        for bad in [
            "",
            "127.0.0.1:6379",
            "http://x",
            "redis://",
            "redis://h/notadb",
        ] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(KeyPrefix::default().as_str(), "ticketstream");
        assert!(KeyPrefix::parse("ts-test:42").is_ok());
        for bad in ["", "a b", "a{b", "a}b", &"x".repeat(65), "é"] {
            assert!(KeyPrefix::parse(bad).is_err(), "{bad:?}");
        }
    }
}
