//! The errors of the event log. Callers map them to a status (the server answers 503) and
//! never show their text to integrators.

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
