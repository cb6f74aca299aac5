//! Tests only: what tests of the scale-out stores share. Each test gets a PostgreSQL
//! database ([`TestDatabase`]) and a Redis key prefix ([`TestRedis`]) of its own, cleaned
//! up when the test ends, also when it panics, so that test runs never interfere; a test
//! that stops Redis starts its own server ([`PrivateRedis`]). When the variable that
//! names a server is unset, the helper prints that the test was skipped and returns
//! `None`.

mod postgres;
mod redis;

pub use self::postgres::{DATABASE_ENV, TestDatabase};
pub use self::redis::{PrivateRedis, REDIS_ENV, TestRedis};

/// A port on 127.0.0.1 that was free a moment ago: bound, then let go.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}
