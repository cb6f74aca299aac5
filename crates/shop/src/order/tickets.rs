//! Tickets in the basket. Seats are reserved with a conditional update that can never
//! raise `taken` above `capacity`, so no interleaving of shoppers oversells an event.

use protocol::{AccountName, Action, NumId, OrderState, TicketsChanged, Timestamp};
use rusqlite::{Transaction, params};

use super::state::{order_state, ticket_lines};
use super::{Ctx, ensure_open_order, open_order, touch_order};
use crate::catalog::store::event_offer;
use crate::{Error, ShopRule, ShopStore};

/// At most this many tickets of one price in one order.
pub const MAX_TICKETS_PER_PRICE: u32 = 50;

impl ShopStore {
    /// Sets how many tickets of each listed price of `event` the session's order holds
    /// (prices not listed keep theirs). Fewer than before removes the newest lines, more
    /// adds lines; the removal is recorded as `remove_tickets` and the addition as
    /// `add_tickets`, each listing exactly its lines.
    pub async fn set_tickets(
        &self,
        account: &AccountName,
        session_id: &str,
        event: NumId,
        wanted: Vec<(NumId, u32)>,
        now: Timestamp,
    ) -> Result<OrderState, Error> {
        self.in_session(account, session_id, now, move |tx, ctx| {
            set_tickets(tx, ctx, event, &wanted)
        })
        .await
    }
}

fn set_tickets(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    event: NumId,
    wanted: &[(NumId, u32)],
) -> Result<OrderState, Error> {
    let offer = event_offer(tx, ctx.account_id, event)?.ok_or(ShopRule::NotOnSale)?;
    for (price, qty) in wanted {
        if !offer.lines.iter().any(|l| l.tickettypeprice_id == *price) {
            return Err(ShopRule::NotOnSale.into());
        }
        if *qty > MAX_TICKETS_PER_PRICE {
            return Err(ShopRule::InvalidInput("at most 50 tickets of one price per order").into());
        }
    }
    let order = match open_order(tx, ctx)? {
        Some(order) => order,
        // Nothing to remove from a missing order, and nothing to add: no order needed.
        None if wanted.iter().all(|(_, qty)| *qty == 0) => {
            return Err(ShopRule::EmptyBasket.into());
        }
        None => ensure_open_order(tx, ctx)?,
    };
    let current: Vec<_> = ticket_lines(tx, ctx.account_id, "t.order_id = ?2", order)?
        .into_iter()
        .filter(|t| t.eventid == event)
        .collect();

    let mut removed = Vec::new();
    let mut to_add = Vec::new();
    for (price, qty) in wanted {
        let have: Vec<_> = current
            .iter()
            .filter(|t| t.tickettypepriceid == *price)
            .collect();
        let qty = *qty as usize;
        if qty < have.len() {
            removed.extend(have[qty..].iter().map(|t| (*t).clone()));
        } else if qty > have.len() {
            let line = offer
                .lines
                .iter()
                .find(|l| l.tickettypeprice_id == *price)
                .ok_or(ShopRule::NotOnSale)?;
            to_add.push((line.clone(), qty - have.len()));
        }
    }

    if !removed.is_empty() {
        for line in &removed {
            tx.execute(
                "DELETE FROM order_tickets WHERE id = ?1",
                params![line.id.0 as i64],
            )?;
        }
        tx.execute(
            "UPDATE events SET taken = taken - ?3 WHERE account_id = ?1 AND id = ?2",
            params![ctx.account_id, event.0 as i64, removed.len() as i64],
        )?;
        let order_after = order_state(tx, order)?;
        ctx.tracker.record(tx, |reference| {
            Action::RemoveTickets(TicketsChanged {
                tickets: removed,
                order: order_after,
                reference,
            })
        })?;
    }

    let adding: usize = to_add.iter().map(|(_, n)| n).sum();
    if adding > 0 {
        let reserved = tx.execute(
            "UPDATE events SET taken = taken + ?3
             WHERE account_id = ?1 AND id = ?2 AND active = 1 AND taken + ?3 <= capacity",
            params![ctx.account_id, event.0 as i64, adding as i64],
        )?;
        if reserved == 0 {
            let available: i64 = tx.query_row(
                "SELECT capacity - taken FROM events WHERE account_id = ?1 AND id = ?2",
                params![ctx.account_id, event.0 as i64],
                |row| row.get(0),
            )?;
            return Err(ShopRule::SoldOut {
                available: available.max(0) as u32,
            }
            .into());
        }
        let mut first_new = None;
        for (line, n) in &to_add {
            for _ in 0..*n {
                tx.prepare_cached(
                    "INSERT INTO order_tickets
                       (order_id, event_id, tickettype_id, tickettypeprice_id, pricetype_id, price, servicecharge)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    order,
                    event.0 as i64,
                    line.tickettype_id.0 as i64,
                    line.tickettypeprice_id.0 as i64,
                    line.pricetype_id.0 as i64,
                    line.price.to_string(),
                    line.servicecharge.to_string()
                ])?;
                first_new.get_or_insert(tx.last_insert_rowid());
            }
        }
        let first_new = first_new.unwrap_or(i64::MAX);
        let added: Vec<_> = ticket_lines(tx, ctx.account_id, "t.order_id = ?2", order)?
            .into_iter()
            .filter(|t| t.id.0 as i64 >= first_new)
            .collect();
        let order_after = order_state(tx, order)?;
        ctx.tracker.record(tx, |reference| {
            Action::AddTickets(TicketsChanged {
                tickets: added,
                order: order_after,
                reference,
            })
        })?;
    }
    touch_order(tx, ctx, order)?;
    order_state(tx, order)
}
