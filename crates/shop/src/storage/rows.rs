//! The typed rows that cross the storage contract.

use std::collections::HashMap;

use protocol::{AccountName, Money, NumId, Ref};

pub(crate) use protocol::{ProductLine, TicketLine};

use crate::order::{OrderStatus, PaymentStatus};
use crate::session::WidgetSettings;

/// An account's key in the store. Never leaves the crate: outside, accounts are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AccountId(pub(crate) i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountRow {
    pub(crate) id: AccountId,
    pub(crate) name: AccountName,
    /// Bumped by every catalog import (see `catalog/cache.rs`).
    pub(crate) catalog_version: i64,
}

/// The catalog entries that are only an id, a name and a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamedKind {
    SalesChannel,
    PriceType,
    Delivery,
    Payment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRow {
    pub(crate) id: String,
    pub(crate) account: AccountId,
    pub(crate) reference: Option<Ref>,
    pub(crate) order_id: Option<NumId>,
    pub(crate) csrf: String,
    /// The raw widget parameters as JSON text (see `Session::params`).
    pub(crate) params: String,
    pub(crate) settings: WidgetSettings,
    pub(crate) lang: String,
    /// When the session was last marked seen (see [`SEEN_RESOLUTION`]).
    ///
    /// [`SEEN_RESOLUTION`]: crate::session::SEEN_RESOLUTION
    pub(crate) seen_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderRow {
    pub(crate) id: NumId,
    pub(crate) account: AccountId,
    /// The public order code shoppers see (random, unique per account); `id` stays the
    /// eventstream's `order.id`.
    pub(crate) code: String,
    pub(crate) session_id: String,
    pub(crate) saleschannel: NumId,
    pub(crate) customer: Option<NumId>,
    pub(crate) delivery: Option<NumId>,
    pub(crate) payment: Option<NumId>,
    pub(crate) status: OrderStatus,
    pub(crate) expires_ms: i64,
}

/// A ticket line as its order keeps it: the catalog's names left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BareTicketLine {
    pub(crate) id: NumId,
    pub(crate) price: Money,
    pub(crate) servicecharge: Money,
    pub(crate) tickettypeprice: NumId,
    pub(crate) tickettype: NumId,
    pub(crate) pricetype: NumId,
    pub(crate) event: NumId,
}

/// A product line as its order keeps it: the catalog's name and type left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BareProductLine {
    pub(crate) id: NumId,
    pub(crate) product: NumId,
    pub(crate) price: Money,
}

/// The names order lines show, of every catalog entry of an account, on sale or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CatalogNames {
    pub(crate) events: HashMap<NumId, String>,
    pub(crate) tickettypes: HashMap<NumId, String>,
    pub(crate) pricetypes: HashMap<NumId, String>,
    /// Each product's type and name.
    pub(crate) products: HashMap<NumId, (NumId, String)>,
}

impl CatalogNames {
    /// The line with its names, as the store's join gives it; `None` when one of its
    /// catalog entries is not named here.
    pub(crate) fn ticket_line(&self, line: &BareTicketLine) -> Option<TicketLine> {
        Some(TicketLine {
            id: line.id,
            price: line.price,
            servicecharge: line.servicecharge,
            tickettypepriceid: line.tickettypeprice,
            tickettypeid: line.tickettype,
            tickettypename: self.tickettypes.get(&line.tickettype)?.clone(),
            pricetypeid: line.pricetype,
            pricetypename: self.pricetypes.get(&line.pricetype)?.clone(),
            eventid: line.event,
            eventname: self.events.get(&line.event)?.clone(),
        })
    }

    /// The line with its product's type and name; `None` when the product is not named
    /// here.
    pub(crate) fn product_line(&self, line: &BareProductLine) -> Option<ProductLine> {
        let (producttype, name) = self.products.get(&line.product)?;
        Some(ProductLine {
            id: line.id,
            productid: line.product,
            price: line.price,
            producttype: *producttype,
            productname: name.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewOrder {
    pub(crate) account: AccountId,
    pub(crate) code: String,
    pub(crate) session_id: String,
    pub(crate) saleschannel: NumId,
    pub(crate) created_ms: i64,
    pub(crate) expires_ms: i64,
}

/// A payment at the test provider, bound to what the order held when it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PaymentRow {
    pub(crate) token: String,
    pub(crate) order_id: NumId,
    pub(crate) account: AccountId,
    pub(crate) amount: Money,
    /// The order's lines when the payment started (see `order::payment::contents`).
    pub(crate) contents: String,
    pub(crate) status: PaymentStatus,
    pub(crate) created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewOutboxRow {
    pub(crate) account: AccountName,
    pub(crate) ts_ms: i64,
    pub(crate) kind: String,
    pub(crate) data: String,
}

pub(crate) use crate::order::SeatCount;
