//! The catalog of an account: events with their capacity, ticket types and their prices,
//! price types, products, sales channels, delivery and payment scenarios.
//!
//! It is written as a TOML file (see `examples/catalog.toml`), checked here into a
//! [`Catalog`] whose references all resolve, and imported into the shop store.

mod file;
mod model;
pub(crate) mod store;

pub use file::{CatalogError, parse_catalog};
pub use model::{
    Catalog, CatalogEvent, DeliveryScenario, PaymentScenario, PriceType, Product, SalesChannel,
    TicketType, TicketTypePrice,
};
pub use store::{EventInfo, EventOffer, ImportReport, OfferLine};
