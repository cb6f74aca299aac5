//! The checked catalog: every id is unique within its kind and every reference resolves.

use protocol::{Money, NumId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    pub default_saleschannel: NumId,
    pub saleschannels: Vec<SalesChannel>,
    pub pricetypes: Vec<PriceType>,
    pub events: Vec<CatalogEvent>,
    pub products: Vec<Product>,
    pub deliveryscenarios: Vec<DeliveryScenario>,
    pub paymentscenarios: Vec<PaymentScenario>,
    /// Hosts a widget's `returnurl` may lead to even in an unsigned sales-flow URL,
    /// lowercase.
    pub return_hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesChannel {
    pub id: NumId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceType {
    pub id: NumId,
    pub name: String,
}

/// A show that sells tickets, with the number of seats it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEvent {
    pub id: NumId,
    pub name: String,
    /// Free text shown to shoppers, e.g. "Sat 12 Dec 2026, 20:00".
    pub date: String,
    pub capacity: u32,
    pub tickettypes: Vec<TicketType>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketType {
    pub id: NumId,
    pub name: String,
    pub prices: Vec<TicketTypePrice>,
}

/// What one ticket of a ticket type costs at one price type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketTypePrice {
    pub id: NumId,
    pub pricetype: NumId,
    pub price: Money,
    pub servicecharge: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: NumId,
    pub name: String,
    pub producttype: NumId,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryScenario {
    pub id: NumId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentScenario {
    pub id: NumId,
    pub name: String,
}
