//! The shop: accounts and keys, the catalog, sessions, orders with inventory and the
//! checkout rules, and the transactional outbox that captures tracked actions.
//!
//! All access goes through [`ShopStore`]. Its rules (`order/`, `catalog/`, `session/`)
//! are written once over a private storage contract (`storage`), which a backend
//! implements; [`ShopBackend`] picks the backend (the SQLite file under the data
//! directory, or PostgreSQL for several server processes) and `open.rs` is the one place
//! that knows them all.

mod catalog;
mod demo;
mod error;
mod keys;
mod open;
mod order;
mod outbox;
mod postgres;
mod session;
mod sqlite;
mod storage;
mod store;
mod visit;

pub use catalog::{
    Catalog, CatalogError, CatalogEvent, DeliveryScenario, EventImage, EventInfo, EventOffer,
    EventTime, IMAGE_EXTENSIONS, ImportReport, MAX_IMAGE_BYTES, OfferLine, Organiser,
    PaymentScenario, PriceType, Product, SalesChannel, Text, TicketType, TicketTypePrice, Venue,
    Zone, image_type, parse_catalog,
};
pub use demo::{DEMO_ACCOUNT, DEMO_MEDIA, DemoEvent, DemoSetup, KeyJson, demo_images, demo_init};
pub use error::{Error, ShopRule};
pub use keys::{KeyKind, KeyPair, Secret, StoredKey};
pub use open::{ShopBackend, ShopSync};
pub use order::{
    CheckoutDetails, CustomerInfo, ExpiryReport, FieldError, MAX_NAME_CHARS, MAX_PRODUCTS,
    MAX_TICKETS_PER_ORDER, MAX_TICKETS_PER_PRICE, OrderStatus, OrderView, PaymentOutcome,
    PaymentStatus, PaymentView, Quantities, Scenario, SeatCount, plausible_code,
};
pub use outbox::{OutboxRow, RelayTurn};
pub use postgres::{DatabaseUrl, DatabaseUrlError};
pub use session::{
    Entry, Flow, ORDERLESS_SESSION_IDLE, OnCompletion, Panels, ReturnUrl, SEEN_RESOLUTION,
    SESSION_IDLE, Session, WidgetParams, WidgetSettings,
};
pub use store::{Account, ShopStore};
pub use visit::{ShopCatalog, Visit};
