//! Errors of the shop store. They name no storage crate: a backend's failure arrives as
//! [`Error::Store`] with the backend's message.

use protocol::AccountName;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("account {0} already exists")]
    AccountExists(AccountName),
    #[error("account {0} does not exist; create it with `ticketstream account create {0}`")]
    NoSuchAccount(AccountName),
    #[error("the session has expired or does not exist")]
    NoSession,
    #[error(transparent)]
    Rule(#[from] ShopRule),
    #[error("shop store: {0}")]
    Store(String),
    /// Opening the store failed because its server could not be reached; `url` has its
    /// password hidden.
    #[error("cannot connect to the shop store at {url}: {detail}")]
    Connect { url: String, detail: String },
    /// The store's server cannot be reached right now (down, restarting, or no
    /// connection free in time). The same call may succeed later without a restart.
    #[error("the shop store is unavailable: {0}")]
    Unavailable(String),
    /// Concurrent transactions kept conflicting (deadlocks or serialization failures)
    /// however often the change was retried.
    #[error("the shop store is too busy: {0}")]
    Conflict(String),
    #[error("shop store: {what} {value} does not fit the store's integers")]
    OutOfRange { what: &'static str, value: u64 },
    #[error("shop store: cannot create {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "shop store: the store was written by a newer ticketstream (schema {found}, this one knows up to {known})"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// An event of an imported catalog names an image the import was not given and the
    /// store does not hold.
    #[error("event {event} names image {image:?}, which was not given with the catalog")]
    MissingImage {
        event: protocol::NumId,
        image: String,
    },
    /// An image given with a catalog that cannot be one (its name or its size).
    #[error("image {image:?} {problem}")]
    BadImage {
        image: String,
        problem: &'static str,
    },
    #[error("shop store: background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl Error {
    /// The store cannot serve this right now, but may in a moment without a restart: a
    /// server answers 503 with `Retry-After` rather than 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Connect { .. } | Error::Unavailable(_) | Error::Conflict(_)
        )
    }
}

/// A shop rule the shopper's request broke: shown to the shopper, never a server fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopRule {
    #[error("only {available} seats are left for this event")]
    SoldOut { available: u32 },
    #[error("this is not on sale")]
    NotOnSale,
    #[error("the basket is empty")]
    EmptyBasket,
    #[error("there is no open order: it was completed or its reservation expired")]
    NoOpenOrder,
    #[error("{0}")]
    Incomplete(&'static str),
    #[error("{0}")]
    InvalidInput(&'static str),
    #[error("at most {max} tickets of one price per order")]
    TooManyOfOnePrice { max: u32 },
    #[error("at most {max} tickets per order")]
    TooManyTickets { max: u32 },
    #[error("at most {max} of one product per order")]
    TooManyOfOneProduct { max: u32 },
    #[error("this payment is no longer pending")]
    PaymentClosed,
    #[error("the order changed after this payment started: pay again for the order as it is")]
    PaymentMismatch,
}
