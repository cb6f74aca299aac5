//! The catalog of an account: events with their capacity, time, venue and description,
//! ticket types and their prices, price types, products, sales channels, delivery and
//! payment scenarios, and the organiser's name and policies.
//!
//! It is written as a TOML file (see `examples/catalog.toml`), checked here into a
//! [`Catalog`] whose references all resolve, and imported into the shop store.

pub(crate) mod cache;
mod file;
mod image;
mod model;
pub(crate) mod store;
mod time;

pub use file::{CatalogError, parse_catalog};
pub use image::{EventImage, IMAGE_EXTENSIONS, MAX_IMAGE_BYTES, image_type};
pub use model::{
    Catalog, CatalogEvent, DeliveryScenario, Organiser, PaymentScenario, PriceType, Product,
    SalesChannel, Text, TicketType, TicketTypePrice, Venue,
};
pub use store::{EventInfo, EventOffer, ImportReport, OfferLine};
pub use time::{EventTime, Zone};
