//! Errors of the shop store.

use protocol::AccountName;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("account {0} already exists")]
    AccountExists(AccountName),
    #[error("account {0} does not exist; create it with `ticketstream account create {0}`")]
    NoSuchAccount(AccountName),
    #[error("shop store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("shop store: cannot create {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "shop store: the store was written by a newer ticketstream (schema {found}, this one knows up to {known})"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("shop store: background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
