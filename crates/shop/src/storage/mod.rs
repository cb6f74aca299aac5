//! The private contract between the shop rules and a storage backend.
//!
//! The rules (`order/`, `catalog/import.rs`, `session.rs`, ...) are plain Rust over the
//! typed rows below and never name a backend. A backend implements [`Tx`]: the reads and
//! writes one transaction may do. The handle ([`Backend`](crate::open::Backend)) runs a
//! whole rule closure in one transaction on tokio's blocking pool and commits it only
//! when the closure returns `Ok`, so a refused change leaves nothing behind, outbox rows
//! included.
//!
//! The contract holds for any backend with concurrent writers: seats are taken and
//! given back only through the conditional updates [`OrderTx::reserve_seats`] and
//! [`OrderTx::release_seats`], and [`OrderTx::order_for_update`] locks the order row for
//! the rest of the transaction, so two transactions never change one order's lines at
//! the same time. Nothing here relies on a single writer.
//!
//! A backend may run a closure more than once: PostgreSQL retries a transaction that
//! lost a deadlock or a serialization conflict. The rules therefore have no effects
//! outside the transaction they are given.

mod ids;
mod rows;

pub(crate) use ids::*;
pub(crate) use rows::*;

use protocol::{AccountName, Money, NumId};

use crate::catalog::{
    CatalogEvent, EventInfo, OfferLine, Organiser, Product, Text, TicketType, TicketTypePrice,
};
use crate::{CustomerInfo, Error, KeyKind, KeyPair, PaymentStatus, Scenario, StoredKey};

/// Everything one transaction may do. Object-safe and synchronous: a backend with an
/// async driver runs the closure on the blocking pool with a blocking client.
pub(crate) trait Tx: AccountTx + CatalogTx + SessionTx + OrderTx + OutboxTx {}

impl<T: AccountTx + CatalogTx + SessionTx + OrderTx + OutboxTx> Tx for T {}

/// Accounts and their keys.
pub(crate) trait AccountTx {
    fn account(&mut self, name: &AccountName) -> Result<Option<AccountRow>, Error>;
    /// The account, locked against other writers until this transaction ends: for changes
    /// that must see each other, such as "create a key unless there is one".
    fn account_for_update(&mut self, name: &AccountName) -> Result<Option<AccountRow>, Error>;
    /// `None` when an account of that name exists.
    fn insert_account(
        &mut self,
        name: &AccountName,
        now_s: i64,
    ) -> Result<Option<AccountRow>, Error>;
    fn insert_key(
        &mut self,
        account: AccountId,
        kind: KeyKind,
        pair: &KeyPair,
        now_s: i64,
    ) -> Result<(), Error>;
    /// The account's keys of `kind`, oldest first.
    fn keys(&mut self, account: AccountId, kind: KeyKind) -> Result<Vec<KeyPair>, Error>;
    fn find_key(&mut self, accesskey: &str) -> Result<Option<StoredKey>, Error>;
}

/// The catalog: imports and the reads the shop needs. Reads see active entries only.
pub(crate) trait CatalogTx {
    /// Marks every catalog entry of the account inactive (an import then reactivates what
    /// it lists).
    fn deactivate_catalog(&mut self, account: AccountId) -> Result<(), Error>;
    /// Raises the account's `catalog_version`: every import does, in its transaction, so
    /// that cached copies of the catalog are read again.
    fn bump_catalog_version(&mut self, account: AccountId) -> Result<(), Error>;
    fn set_default_saleschannel(&mut self, account: AccountId, id: NumId) -> Result<(), Error>;
    fn set_return_hosts(&mut self, account: AccountId, hosts: &[String]) -> Result<(), Error>;
    /// Replaces the organiser's name and policy URLs (absent fields become absent).
    fn set_organiser(&mut self, account: AccountId, organiser: &Organiser) -> Result<(), Error>;
    fn upsert_named(
        &mut self,
        account: AccountId,
        kind: NamedKind,
        id: NumId,
        name: &Text,
        position: usize,
    ) -> Result<(), Error>;
    fn upsert_event(&mut self, account: AccountId, event: &CatalogEvent) -> Result<(), Error>;
    fn upsert_tickettype(
        &mut self,
        account: AccountId,
        event: NumId,
        tickettype: &TicketType,
        position: usize,
    ) -> Result<(), Error>;
    fn upsert_price(
        &mut self,
        account: AccountId,
        tickettype: NumId,
        price: &TicketTypePrice,
        position: usize,
    ) -> Result<(), Error>;
    fn upsert_product(
        &mut self,
        account: AccountId,
        product: &Product,
        position: usize,
    ) -> Result<(), Error>;

    /// Stores an event image under its file name, replacing one of that name.
    fn put_image(&mut self, account: AccountId, name: &str, bytes: &[u8]) -> Result<(), Error>;
    /// An event image's bytes, as the last import stored them.
    fn image(&mut self, account: AccountId, name: &str) -> Result<Option<Vec<u8>>, Error>;

    fn default_saleschannel(&mut self, account: AccountId) -> Result<Option<NumId>, Error>;
    fn saleschannel_active(&mut self, account: AccountId, id: NumId) -> Result<bool, Error>;
    fn return_hosts(&mut self, account: AccountId) -> Result<Vec<String>, Error>;
    /// The organiser as the last import gave it; all `None` before any import.
    fn organiser(&mut self, account: AccountId) -> Result<Organiser, Error>;
    /// Events on sale, in catalog order.
    fn events(&mut self, account: AccountId) -> Result<Vec<EventInfo>, Error>;
    fn event(&mut self, account: AccountId, id: NumId) -> Result<Option<EventInfo>, Error>;
    /// The event's prices on sale, by ticket type position, then price position.
    fn offer_lines(&mut self, account: AccountId, event: NumId) -> Result<Vec<OfferLine>, Error>;
    /// Products on sale, in catalog order.
    fn products(&mut self, account: AccountId) -> Result<Vec<Product>, Error>;
    /// The names of all the account's events, ticket types, price types and products,
    /// on sale or not: what order lines show.
    fn catalog_names(&mut self, account: AccountId) -> Result<CatalogNames, Error>;
    /// Delivery or payment scenarios on offer, in catalog order.
    fn scenarios(
        &mut self,
        account: AccountId,
        kind: Scenario,
    ) -> Result<Vec<(NumId, Text)>, Error>;
}

/// Webshop sessions.
pub(crate) trait SessionTx {
    fn session(&mut self, account: AccountId, id: &str) -> Result<Option<SessionRow>, Error>;
    fn insert_session(&mut self, session: &SessionRow, now_ms: i64) -> Result<(), Error>;
    /// Writes the entry fields (`ref`, parameters, settings, language, order) of an
    /// existing session and marks it seen.
    fn update_session(&mut self, session: &SessionRow, now_ms: i64) -> Result<(), Error>;
    /// Sets the session's current order and marks it seen: what a shop change writes
    /// to its session when it changes the order or the last mark is old (see
    /// [`SEEN_RESOLUTION`](crate::session::SEEN_RESOLUTION)).
    fn set_session_order(
        &mut self,
        session: &str,
        order: Option<NumId>,
        now_ms: i64,
    ) -> Result<(), Error>;
    /// Deletes sessions without an order unseen since `orderless_before_ms` and all
    /// sessions unseen since `before_ms`; returns how many.
    fn purge_sessions(&mut self, orderless_before_ms: i64, before_ms: i64) -> Result<u64, Error>;
}

/// Orders, their lines, seats, customers and payments.
pub(crate) trait OrderTx {
    /// The order, locked against other writers until this transaction ends. Rules that
    /// change an order (or its lines, seats or payments) read it through this first.
    fn order_for_update(&mut self, id: NumId) -> Result<Option<OrderRow>, Error>;
    /// The order, without a lock: for reads.
    fn order(&mut self, id: NumId) -> Result<Option<OrderRow>, Error>;
    /// The account's order with this public code, without a lock: for reads.
    fn order_by_code(&mut self, account: AccountId, code: &str) -> Result<Option<OrderRow>, Error>;
    fn insert_order(&mut self, order: &NewOrder) -> Result<NumId, Error>;
    /// Writes the changeable fields: customer, scenarios, status and expiry.
    fn update_order(&mut self, order: &OrderRow) -> Result<(), Error>;
    /// Open orders whose reservation ended before `now_ms`, oldest first.
    fn expired_orders(&mut self, now_ms: i64, limit: u32) -> Result<Vec<NumId>, Error>;

    /// The order's ticket lines with their catalog names, in the order they were added.
    fn ticket_lines(&mut self, account: AccountId, order: NumId) -> Result<Vec<TicketLine>, Error>;
    /// Adds `count` lines of `line` for `event`; returns their ids.
    fn insert_ticket_lines(
        &mut self,
        order: NumId,
        event: NumId,
        line: &OfferLine,
        count: u32,
    ) -> Result<Vec<NumId>, Error>;
    /// Deletes those of `ids` that are lines of `order`; returns how many were deleted.
    fn delete_ticket_lines(&mut self, order: NumId, ids: &[NumId]) -> Result<u64, Error>;
    /// The order's ticket lines without names (see [`CatalogNames`]), in the order they
    /// were added.
    fn bare_ticket_lines(&mut self, order: NumId) -> Result<Vec<BareTicketLine>, Error>;
    /// The order's product lines without names, in the order they were added.
    fn bare_product_lines(&mut self, order: NumId) -> Result<Vec<BareProductLine>, Error>;
    fn product_lines(
        &mut self,
        account: AccountId,
        order: NumId,
    ) -> Result<Vec<ProductLine>, Error>;
    fn insert_product_lines(
        &mut self,
        order: NumId,
        product: NumId,
        price: Money,
        count: u32,
    ) -> Result<Vec<NumId>, Error>;
    fn delete_product_lines(&mut self, order: NumId, ids: &[NumId]) -> Result<u64, Error>;

    /// Raises the event's `taken` by `seats` only when the event is on sale and the result
    /// stays at or below its capacity; `false` (and nothing changed) otherwise.
    fn reserve_seats(
        &mut self,
        account: AccountId,
        event: NumId,
        seats: u32,
    ) -> Result<bool, Error>;
    /// Lowers `taken` by `seats` only when the result stays at or above 0.
    fn release_seats(
        &mut self,
        account: AccountId,
        event: NumId,
        seats: u32,
    ) -> Result<bool, Error>;
    /// Per event: capacity, `taken`, and the seats order lines of open and confirmed
    /// orders hold. For audits and tests; the two counts are equal when all is well.
    fn seat_counts(&mut self, account: AccountId) -> Result<Vec<SeatCount>, Error>;

    fn customer(&mut self, id: NumId) -> Result<Option<CustomerInfo>, Error>;
    fn insert_customer(
        &mut self,
        account: AccountId,
        customer: &CustomerInfo,
    ) -> Result<NumId, Error>;
    fn update_customer(&mut self, id: NumId, customer: &CustomerInfo) -> Result<(), Error>;

    fn insert_payment(&mut self, payment: &PaymentRow) -> Result<(), Error>;
    fn payment(&mut self, token: &str) -> Result<Option<PaymentRow>, Error>;
    fn pending_payments(&mut self, order: NumId) -> Result<Vec<PaymentRow>, Error>;
    fn set_payment_status(&mut self, token: &str, status: PaymentStatus) -> Result<(), Error>;
}

/// The transactional outbox.
pub(crate) trait OutboxTx {
    /// Writes a row; a backend shared by several processes also tells the others, at
    /// commit, that the outbox has rows.
    fn push_outbox(&mut self, row: &NewOutboxRow) -> Result<(), Error>;
    /// The oldest committed rows, in id order. With several writers, a row with a smaller
    /// id may commit after this read: ids are not a position.
    fn outbox_batch(&mut self, limit: u32) -> Result<Vec<crate::OutboxRow>, Error>;
    /// Deletes the rows with these ids (those that exist); returns how many.
    fn outbox_delete(&mut self, ids: &[u64]) -> Result<u64, Error>;
    fn outbox_len(&mut self) -> Result<u64, Error>;
}
