//! PostgreSQL's errors, sorted into what the caller can do about them: retry the
//! transaction (a deadlock or serialization conflict), wait for the server (unreachable,
//! restarting, no connection free in time), or nothing (a bug, a broken schema).

use postgres::error::SqlState;

use crate::Error;

/// The unique index of order codes per account (migration 0002).
const ORDER_CODES: &str = "orders_by_code";

/// A failure with its kind decided.
#[derive(Debug)]
pub(crate) enum Failure {
    Conflict(String),
    Unavailable(String),
    Other(String),
}

impl Failure {
    pub(crate) fn is_conflict(&self) -> bool {
        matches!(self, Failure::Conflict(_))
    }

    pub(crate) fn into_error(self) -> Error {
        match self {
            Failure::Conflict(m) => Error::Conflict(m),
            Failure::Unavailable(m) => Error::Unavailable(m),
            Failure::Other(m) => Error::Store(m),
        }
    }
}

/// The error with its causes: the client's own text often stops at "error connecting to
/// server" and leaves the reason ("Connection refused") to its source.
pub(crate) fn describe(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

pub(crate) fn classify(e: &postgres::Error) -> Failure {
    let message = describe(e);
    if let Some(code) = e.code() {
        if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            return Failure::Conflict(message);
        }
        // Two transactions gave new orders the same random code: run the loser again,
        // and the rules pick another code.
        if *code == SqlState::UNIQUE_VIOLATION
            && e.as_db_error().and_then(|db| db.constraint()) == Some(ORDER_CODES)
        {
            return Failure::Conflict(message);
        }
        // Class 08: connection exceptions; 57P01-57P03: the server is shutting down or
        // starting; 3D000: the database is gone (renamed or dropped while we run).
        let code = code.code();
        if code.starts_with("08") || code.starts_with("57P") || code == "3D000" {
            return Failure::Unavailable(message);
        }
        return Failure::Other(message);
    }
    // No SQLSTATE: the connection itself failed (closed, reset, timed out).
    if e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()) {
        return Failure::Unavailable(message);
    }
    Failure::Other(message)
}
