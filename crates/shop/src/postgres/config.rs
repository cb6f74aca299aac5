//! The PostgreSQL store's configuration, parsed at the boundary: the server's URL, whose
//! password is never shown.

use std::fmt;
use std::str::FromStr;

/// Why a database URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a PostgreSQL URL: expected postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE ({0})")]
pub struct DatabaseUrlError(String);

/// A `postgres://` (or `postgresql://`) URL, checked by the client library. `Display` and
/// `Debug` hide the password, so the URL can go into errors and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
}

impl DatabaseUrl {
    pub fn parse(s: &str) -> Result<Self, DatabaseUrlError> {
        let Some(rest) = scheme_rest(s) else {
            return Err(DatabaseUrlError(
                "only the postgres:// and postgresql:// schemes are supported".into(),
            ));
        };
        let config = postgres::Config::from_str(s).map_err(|e| DatabaseUrlError(e.to_string()))?;
        if config.get_hosts().is_empty() || rest.starts_with('/') {
            return Err(DatabaseUrlError("the URL names no host".into()));
        }
        if config.get_dbname().is_none() {
            return Err(DatabaseUrlError("the URL names no database".into()));
        }
        Ok(DatabaseUrl { url: s.to_owned() })
    }

    /// The URL as given, password included: only for handing to a process of our own
    /// (through its environment, never its arguments).
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The client's configuration, with the password: for connecting only.
    pub(crate) fn config(&self) -> postgres::Config {
        postgres::Config::from_str(&self.url)
            .unwrap_or_else(|e| unreachable!("the URL was checked when it was parsed: {e}"))
    }
}

/// What follows the scheme, for the two schemes PostgreSQL URLs use.
fn scheme_rest(s: &str) -> Option<&str> {
    s.strip_prefix("postgres://")
        .or_else(|| s.strip_prefix("postgresql://"))
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatabaseUrl::parse(s)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rest = scheme_rest(&self.url).unwrap_or(&self.url);
        let scheme = &self.url[..self.url.len() - rest.len()];
        // The user information ends at the last '@' before the path.
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let authority = match authority.rfind('@') {
            Some(at) => match authority[..at].split_once(':') {
                Some((user, _)) => format!("{user}:***@{}", &authority[at + 1..]),
                None => authority.to_owned(),
            },
            None => authority.to_owned(),
        };
        // A password can also come as a query parameter.
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let query: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some(("password", _)) => "password=***".to_owned(),
                        _ => pair.to_owned(),
                    })
                    .collect();
                format!("{path}?{}", query.join("&"))
            }
            None => tail.to_owned(),
        };
        write!(f, "{scheme}{authority}{tail}")
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls_are_checked_and_shown_without_their_password() {
        let url = DatabaseUrl::parse("postgres://postgres@127.0.0.1/ts").unwrap();
        assert_eq!(url.to_string(), "postgres://postgres@127.0.0.1/ts");
        assert_eq!(url.config().get_dbname(), Some("ts"));
        let url = DatabaseUrl::parse("postgresql://app:s3cret@db.internal:5433/shop").unwrap();
        assert_eq!(
            url.to_string(),
            "postgresql://app:***@db.internal:5433/shop"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.config().get_password(), Some(&b"s3cret"[..]));
        let url =
            DatabaseUrl::parse("postgres://app@h/shop?password=s3cret&sslmode=disable").unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://app@h/shop?password=***&sslmode=disable"
        );
        for bad in [
            "",
            "127.0.0.1/ts",
            "mysql://h/db",
            "postgres://",
            "postgres:///ts",
            "postgres://h",
            "postgres://h/db?nosuchoption=1",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad:?}");
        }
    }
}
