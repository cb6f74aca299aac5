//! The checked catalog: every id is unique within its kind and every reference resolves.

use protocol::{Money, NumId};

use super::time::EventTime;

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
    pub organiser: Organiser,
}

/// Who sells the tickets: the name the pages show above every step, and where the
/// organiser's terms and privacy notice are (absolute `http(s)` URLs, linked from the
/// checkout).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organiser {
    pub name: Option<String>,
    pub terms_url: Option<String>,
    pub privacy_url: Option<String>,
}

/// A name or text as shoppers read it: the catalog's own (for names, also what the
/// eventstream carries) and an optional Dutch translation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    pub nl: Option<String>,
}

impl Text {
    pub fn new(text: impl Into<String>) -> Self {
        Text {
            text: text.into(),
            nl: None,
        }
    }

    /// The text in `lang` (`nl` or anything else), falling back to the catalog's own.
    pub fn in_lang(&self, lang: &str) -> &str {
        match (&self.nl, lang) {
            (Some(nl), "nl") => nl,
            _ => &self.text,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesChannel {
    pub id: NumId,
    pub name: Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceType {
    pub id: NumId,
    pub name: Text,
}

/// Where an event takes place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Venue {
    pub name: String,
    /// One line, as it is printed on a ticket.
    pub address: String,
}

/// A show that sells tickets, with the number of seats it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEvent {
    pub id: NumId,
    pub name: Text,
    pub time: EventTime,
    pub venue: Venue,
    /// A short description; empty when the catalog gives none.
    pub description: Text,
    /// A file name among the account's own static files (`image = "poster.jpg"`).
    pub image: Option<String>,
    pub capacity: u32,
    pub tickettypes: Vec<TicketType>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketType {
    pub id: NumId,
    pub name: Text,
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
    pub name: Text,
    pub producttype: NumId,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryScenario {
    pub id: NumId,
    pub name: Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentScenario {
    pub id: NumId,
    pub name: Text,
}
