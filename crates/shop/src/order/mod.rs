//! Orders: the shop rules of a shopping session, each change in one transaction together
//! with the tracked actions it produces. The rules are plain Rust over the storage
//! contract ([`Tx`]); no backend appears here.
//!
//! Every public operation runs through [`ShopStore::in_session`], which opens the
//! transaction, reads the session (and so its current `ref`) inside it, and commits the
//! change and its outbox rows together.

mod checkout;
mod code;
mod expiry;
mod pageview;
mod payment;
mod products;
mod seats;
mod state;
mod tickets;

pub use checkout::{CheckoutDetails, CustomerInfo, FieldError, MAX_NAME_CHARS, Scenario};
pub use code::plausible_code;
pub use expiry::ExpiryReport;
pub use payment::{PaymentOutcome, PaymentStatus, PaymentView};
pub use products::MAX_PRODUCTS;
pub use seats::SeatCount;
use state::order_state;
pub(crate) use state::session_order;
pub use state::{OrderStatus, OrderView};
pub use tickets::{MAX_TICKETS_PER_ORDER, MAX_TICKETS_PER_PRICE, Quantities};

use std::sync::Arc;

use protocol::{AccountName, NumId, OrderState, Timestamp};

use crate::catalog::cache::CachedCatalog;
use crate::outbox::Tracker;
use crate::session::{SEEN_RESOLUTION, load_row, ms};
use crate::storage::{AccountId, NewOrder, OrderRow, SessionRow, Tx};
use crate::{Error, ShopRule, ShopStore};

/// What an operation inside a session transaction can see and change.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) account: AccountId,
    pub(crate) session: SessionRow,
    pub(crate) now: Timestamp,
    pub(crate) reservation_ms: i64,
    pub(crate) tracker: Tracker,
    /// The account's catalog as this transaction sees it, when the catalog cache holds
    /// that version: order lines are then named from it. See
    /// [`CatalogCache::peek`](crate::catalog::cache::CatalogCache::peek).
    catalog: Option<Arc<CachedCatalog>>,
}

impl Ctx {
    /// The account's catalog as this transaction sees it, when the cache holds it.
    pub(crate) fn catalog(&self) -> Option<&CachedCatalog> {
        self.catalog.as_deref()
    }

    /// The contract's `order` for `order` as it is now in this transaction.
    pub(crate) fn order_state(
        &self,
        tx: &mut dyn Tx,
        order: &OrderRow,
    ) -> Result<OrderState, Error> {
        order_state(tx, order, self.catalog().map(|c| &c.names))
    }
}

impl ShopStore {
    /// Runs `f` in one transaction for the session, then stores the session's order and,
    /// after the commit, wakes the relay if actions were recorded. An error rolls
    /// everything back, the outbox rows included. `f` may run more than once (a backend
    /// retries a transaction that lost a conflict), each time on a fresh context.
    pub(crate) async fn in_session<T, F>(
        &self,
        account: &AccountName,
        session_id: &str,
        now: Timestamp,
        f: F,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx, &mut Ctx) -> Result<T, Error> + Send + 'static,
    {
        let name = account.clone();
        let session_id = session_id.to_owned();
        let reservation_ms = ms(self.reservation);
        let signal = self.outbox_signal();
        let catalogs = Arc::clone(&self.catalogs);
        let (out, written) = self
            .transact(move |tx| {
                let (account, session) =
                    load_row(tx, &name, &session_id)?.ok_or(Error::NoSession)?;
                let reference = session.reference.clone();
                let (order_before, seen_ms) = (session.order_id, session.seen_ms);
                let mut ctx = Ctx {
                    account: account.id,
                    session,
                    now,
                    reservation_ms,
                    tracker: Tracker::new(name.clone(), reference, now),
                    catalog: catalogs.peek(&account),
                };
                let out = f(tx, &mut ctx)?;
                let seen_long_ago = now.unix_ms().saturating_sub(seen_ms) >= ms(SEEN_RESOLUTION);
                if ctx.session.order_id != order_before || seen_long_ago {
                    tx.set_session_order(&ctx.session.id, ctx.session.order_id, now.unix_ms())?;
                }
                Ok((out, ctx.tracker.written()))
            })
            .await?;
        if written > 0 {
            signal.notify_one();
        }
        Ok(out)
    }
}

/// Whether the order is still open (neither confirmed nor expired).
pub(crate) fn is_open(tx: &mut dyn Tx, order: NumId) -> Result<bool, Error> {
    Ok(tx
        .order(order)?
        .is_some_and(|o| o.status == OrderStatus::Open))
}

/// The session's open order, if it has one, locked for this transaction.
pub(crate) fn open_order(tx: &mut dyn Tx, ctx: &Ctx) -> Result<Option<OrderRow>, Error> {
    let Some(id) = ctx.session.order_id else {
        return Ok(None);
    };
    Ok(tx
        .order_for_update(id)?
        .filter(|o| o.status == OrderStatus::Open && o.account == ctx.account))
}

/// The session's open order, created when there is none (or the last one was confirmed
/// or expired).
pub(crate) fn ensure_open_order(tx: &mut dyn Tx, ctx: &mut Ctx) -> Result<OrderRow, Error> {
    if let Some(order) = open_order(tx, ctx)? {
        return Ok(order);
    }
    let saleschannel = match ctx.session.settings.saleschannel {
        Some(id) => id,
        None => tx
            .default_saleschannel(ctx.account)?
            .ok_or(ShopRule::NotOnSale)?,
    };
    let expires_ms = ctx.now.unix_ms().saturating_add(ctx.reservation_ms);
    let code = code::new_code(tx, ctx.account)?;
    let id = tx.insert_order(&NewOrder {
        account: ctx.account,
        code,
        session_id: ctx.session.id.clone(),
        saleschannel,
        created_ms: ctx.now.unix_ms(),
        expires_ms,
    })?;
    ctx.session.order_id = Some(id);
    tx.order_for_update(id)?
        .ok_or_else(|| Error::Store(format!("order {id} vanished after its insert")))
}

/// Every change to an open order restarts its reservation; writes the order's fields.
pub(crate) fn touch_order(tx: &mut dyn Tx, ctx: &Ctx, order: &mut OrderRow) -> Result<(), Error> {
    restart_reservation(ctx, order);
    tx.update_order(order)
}

/// [`touch_order`] without the write, for a transaction that makes several changes to
/// the order and writes its fields once, after the last.
pub(crate) fn restart_reservation(ctx: &Ctx, order: &mut OrderRow) {
    order.expires_ms = ctx.now.unix_ms().saturating_add(ctx.reservation_ms);
}
