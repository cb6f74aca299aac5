//! The errors of the event log. Callers map them to a status (the server answers 503) and
//! never show their text to integrators.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot create the event log directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("embedded event log store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    // The Redis errors are shown in the message and not chained as a `source`: their
    // text already ends with the underlying cause, which a chain would print twice.
    /// Opening a Redis event log failed; `url` has its password hidden.
    #[error("cannot connect to the Redis event log at {url}: {error}")]
    RedisConnect { url: String, error: RedisError },
    #[error("Redis event log store: {0}")]
    Redis(RedisError),
    #[error("{what} {value} is out of the range the event log can store")]
    OutOfRange { what: &'static str, value: u64 },
    #[error("the event log store holds an invalid value: {0}")]
    Corrupt(String),
    #[error("cannot start the event log writer thread: {0}")]
    Spawn(std::io::Error),
    #[error("the event log writer has stopped")]
    WriterStopped,
    #[error("an event log storage task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl Error {
    /// The store cannot be reached right now (Redis down, restarting or too slow). The
    /// same call may succeed later without a restart, so a server answers 503.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::RedisConnect { .. } => true,
            Error::Redis(e) => e.is_unavailable(),
            _ => false,
        }
    }

    pub(crate) fn redis(e: ::redis::RedisError) -> Error {
        Error::Redis(RedisError(e))
    }
}

/// An error of the Redis client, kept opaque so the event log's API names no client crate.
pub struct RedisError(::redis::RedisError);

impl RedisError {
    pub(crate) fn new(e: ::redis::RedisError) -> Self {
        RedisError(e)
    }

    fn is_unavailable(&self) -> bool {
        use ::redis::ErrorKind;
        let e = &self.0;
        e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || matches!(
                e.kind(),
                ErrorKind::Server(
                    ::redis::ServerErrorKind::BusyLoading
                        | ::redis::ServerErrorKind::TryAgain
                        | ::redis::ServerErrorKind::MasterDown
                        | ::redis::ServerErrorKind::ClusterDown
                        | ::redis::ServerErrorKind::ReadOnly
                )
            )
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Without a `source`: the client's message already names the cause.
impl std::error::Error for RedisError {}
