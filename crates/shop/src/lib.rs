//! The shop: accounts and keys, the catalog, sessions, orders with inventory and the
//! checkout rules, and the transactional outbox that captures tracked actions.
//!
//! The store is one SQLite file under the data directory. All access goes through
//! [`ShopStore`], which runs the blocking SQLite calls off the async runtime.

mod catalog;
mod demo;
mod error;
mod keys;
mod order;
mod outbox;
mod session;
mod store;

pub use catalog::{
    Catalog, CatalogError, CatalogEvent, DeliveryScenario, EventInfo, EventOffer, ImportReport,
    OfferLine, PaymentScenario, PriceType, Product, SalesChannel, TicketType, TicketTypePrice,
    parse_catalog,
};
pub use demo::{DEMO_ACCOUNT, DemoEvent, DemoSetup, KeyJson, demo_init};
pub use error::{Error, ShopRule};
pub use keys::{KeyKind, KeyPair, Secret, StoredKey};
pub use order::{
    CustomerInfo, MAX_PRODUCTS, MAX_TICKETS_PER_PRICE, OrderStatus, OrderView, PaymentOutcome,
    PaymentView, Scenario,
};
pub use outbox::OutboxRow;
pub use session::{Session, WidgetParams};
pub use store::{Account, ShopStore};
