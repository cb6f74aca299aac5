//! The shop: accounts and their keys today; catalog, orders, inventory and the
//! transactional outbox build on the same store.
//!
//! The store is one SQLite file under the data directory. All access goes through
//! [`ShopStore`], which runs the blocking SQLite calls off the async runtime.

mod demo;
mod error;
mod keys;
mod store;

pub use demo::{DEMO_ACCOUNT, DemoEvent, DemoSetup, KeyJson, demo_init};
pub use error::Error;
pub use keys::{KeyKind, KeyPair, Secret, StoredKey};
pub use store::{Account, ShopStore};
