//! The typed rows that cross the storage contract.

use protocol::{AccountName, Money, NumId, Ref};

pub(crate) use protocol::{ProductLine, TicketLine};

use crate::order::{OrderStatus, PaymentStatus};
use crate::session::{WidgetParams, WidgetSettings};

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
    pub(crate) params: WidgetParams,
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
