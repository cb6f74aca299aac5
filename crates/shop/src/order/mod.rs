//! Orders: the shop rules of a shopping session, each change in one transaction together
//! with the tracked actions it produces.
//!
//! Every public operation here runs through [`ShopStore::in_session`], which opens the
//! transaction, reads the session's current `ref` inside it, and commits the change and
//! its outbox rows together.

mod checkout;
mod expiry;
mod pageview;
mod products;
mod state;
mod tickets;

pub use checkout::{CustomerInfo, PaymentOutcome, PaymentView, Scenario};
pub use products::MAX_PRODUCTS;
pub use state::{OrderStatus, OrderView};
pub use tickets::MAX_TICKETS_PER_PRICE;

use protocol::{AccountName, NumId, Timestamp};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::outbox::Tracker;
use crate::session::WidgetParams;
use crate::store::find_account;
use crate::{Error, ShopStore};

/// What an operation inside a session transaction can see and change.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) account_id: i64,
    pub(crate) session_id: String,
    pub(crate) order_id: Option<i64>,
    pub(crate) params: WidgetParams,
    pub(crate) now: Timestamp,
    pub(crate) reservation_ms: i64,
    pub(crate) tracker: Tracker,
}

impl ShopStore {
    /// Runs `f` in one transaction for the session, then stores the session's order and,
    /// after the commit, wakes the relay if actions were recorded. An error rolls
    /// everything back, the outbox rows included.
    pub(crate) async fn in_session<T, F>(
        &self,
        account: &AccountName,
        session_id: &str,
        now: Timestamp,
        f: F,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &mut Ctx) -> Result<T, Error> + Send + 'static,
    {
        let name = account.clone();
        let session_id = session_id.to_owned();
        let reservation_ms = self.reservation.as_millis() as i64;
        let signal = self.outbox_signal();
        self.with_conn(move |conn| {
            let account_row = find_account(conn, &name)?.ok_or(Error::NoSession)?;
            let tx = conn.transaction()?;
            let session = crate::session::load(&tx, &name, &session_id)?.ok_or(Error::NoSession)?;
            let mut ctx = Ctx {
                account_id: account_row.id,
                session_id,
                order_id: session.order_id.map(|id| id.0 as i64),
                params: session.params,
                now,
                reservation_ms,
                tracker: Tracker::new(name, session.reference, now),
            };
            let out = f(&tx, &mut ctx)?;
            tx.execute(
                "UPDATE sessions SET order_id = ?2, seen_ms = ?3 WHERE id = ?1",
                params![ctx.session_id, ctx.order_id, now.unix_ms()],
            )?;
            tx.commit()?;
            if ctx.tracker.written() > 0 {
                signal.notify_one();
            }
            Ok(out)
        })
        .await
    }
}

/// The session's open order, if it has one.
pub(crate) fn open_order(tx: &Transaction<'_>, ctx: &Ctx) -> Result<Option<i64>, Error> {
    let Some(id) = ctx.order_id else {
        return Ok(None);
    };
    let status: Option<String> = tx
        .query_row(
            "SELECT status FROM orders WHERE id = ?1",
            params![id],
            |row| row.get(0),
        )
        .optional()?;
    Ok((status.as_deref() == Some("open")).then_some(id))
}

/// The session's open order, created when there is none (or the last one was confirmed
/// or expired).
pub(crate) fn ensure_open_order(tx: &Transaction<'_>, ctx: &mut Ctx) -> Result<i64, Error> {
    if let Some(id) = open_order(tx, ctx)? {
        return Ok(id);
    }
    let requested = ctx
        .params
        .get("saleschannelid")
        .and_then(|v| v.as_deref())
        .and_then(|v| v.parse::<i64>().ok());
    let saleschannel: i64 = match requested {
        Some(id) => id,
        None => tx
            .query_row(
                "SELECT default_saleschannel FROM accounts WHERE id = ?1",
                params![ctx.account_id],
                |row| row.get::<_, Option<i64>>(0),
            )?
            .ok_or(Error::Rule(crate::ShopRule::NotOnSale))?,
    };
    tx.execute(
        "INSERT INTO orders (account_id, session_id, saleschannel_id, status, created_ms, expires_ms)
         VALUES (?1, ?2, ?3, 'open', ?4, ?5)",
        params![
            ctx.account_id,
            ctx.session_id,
            saleschannel,
            ctx.now.unix_ms(),
            ctx.now.unix_ms() + ctx.reservation_ms
        ],
    )?;
    let id = tx.last_insert_rowid();
    ctx.order_id = Some(id);
    Ok(id)
}

/// Every change to an open order restarts its reservation.
pub(crate) fn touch_order(tx: &Transaction<'_>, ctx: &Ctx, order: i64) -> Result<(), Error> {
    tx.execute(
        "UPDATE orders SET expires_ms = ?2 WHERE id = ?1",
        params![order, ctx.now.unix_ms() + ctx.reservation_ms],
    )?;
    Ok(())
}

pub(crate) fn num(id: i64) -> NumId {
    NumId(id as u64)
}
