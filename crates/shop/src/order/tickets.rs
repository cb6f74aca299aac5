//! Tickets in the basket. Seats move only by what this transaction did to the order's
//! lines: the lines actually deleted are given back and the seats for new lines are taken
//! first, each through a conditional update that keeps `taken` between 0 and the
//! capacity, so no interleaving of shoppers oversells an event and no forged request can
//! drive the count astray.

use std::collections::BTreeMap;

use protocol::{AccountName, Action, NumId, OrderState, TicketLine, TicketsChanged, Timestamp};

use super::payment::cancel_pending;
use super::{Ctx, ensure_open_order, open_order, touch_order};
use crate::catalog::OfferLine;
use crate::catalog::store::event_offer;
use crate::storage::Tx;
use crate::{Error, ShopRule, ShopStore};

/// At most this many tickets of one price in one order.
pub const MAX_TICKETS_PER_PRICE: u32 = 50;
/// At most this many tickets in one order, over all events.
pub const MAX_TICKETS_PER_ORDER: u32 = 100;

/// Wanted quantities per ticket type price: one entry per price by construction.
pub type Quantities = BTreeMap<NumId, u32>;

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
        wanted: Quantities,
        now: Timestamp,
    ) -> Result<OrderState, Error> {
        self.in_session(account, session_id, now, move |tx, ctx| {
            set_tickets(tx, ctx, event, &wanted)
        })
        .await
    }
}

fn count(n: usize) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| Error::Store(format!("{n} lines do not fit a count")))
}

fn set_tickets(
    tx: &mut dyn Tx,
    ctx: &mut Ctx,
    event: NumId,
    wanted: &Quantities,
) -> Result<OrderState, Error> {
    let offer = event_offer(tx, ctx.account, event, ctx.catalog())?.ok_or(ShopRule::NotOnSale)?;
    let mut lines: Vec<(&OfferLine, u32)> = Vec::with_capacity(wanted.len());
    for (price, qty) in wanted {
        let line = offer
            .lines
            .iter()
            .find(|l| l.tickettypeprice_id == *price)
            .ok_or(ShopRule::NotOnSale)?;
        // The price's count after this change is exactly `qty`.
        if *qty > MAX_TICKETS_PER_PRICE {
            return Err(ShopRule::TooManyOfOnePrice {
                max: MAX_TICKETS_PER_PRICE,
            }
            .into());
        }
        lines.push((line, *qty));
    }
    let mut order = match open_order(tx, ctx)? {
        Some(order) => order,
        // Nothing to remove from a missing order, and nothing to add: no order needed.
        None if wanted.values().all(|qty| *qty == 0) => {
            return Err(ShopRule::EmptyBasket.into());
        }
        None => ensure_open_order(tx, ctx)?,
    };
    let current = ctx.order_state(tx, &order)?.tickets;

    let mut removed: Vec<TicketLine> = Vec::new();
    let mut to_add: Vec<(&OfferLine, u32)> = Vec::new();
    for (line, qty) in lines {
        let have: Vec<&TicketLine> = current
            .iter()
            .filter(|t| t.eventid == event && t.tickettypepriceid == line.tickettypeprice_id)
            .collect();
        let held = count(have.len())?;
        if qty < held {
            let keep = usize::try_from(qty).unwrap_or(usize::MAX);
            removed.extend(have.iter().skip(keep).map(|t| (*t).clone()));
        } else if qty > held {
            to_add.push((line, qty - held));
        }
    }
    let adding: u32 = to_add.iter().map(|(_, n)| n).sum();
    let after = count(current.len())? - count(removed.len())? + adding;
    if after > MAX_TICKETS_PER_ORDER {
        return Err(ShopRule::TooManyTickets {
            max: MAX_TICKETS_PER_ORDER,
        }
        .into());
    }

    let changed = !removed.is_empty() || adding > 0;
    // The order's state after the last change made here (the reservation's restart below
    // changes no field of it).
    let mut after = None;
    if !removed.is_empty() {
        let ids: Vec<NumId> = removed.iter().map(|t| t.id).collect();
        let deleted = tx.delete_ticket_lines(order.id, &ids)?;
        if deleted != u64::try_from(ids.len()).unwrap_or(u64::MAX) {
            return Err(Error::Store(format!(
                "order {} lost lines while locked: {deleted} of {} deleted",
                order.id,
                ids.len()
            )));
        }
        let released = u32::try_from(deleted).unwrap_or(u32::MAX);
        if !tx.release_seats(ctx.account, event, released)? {
            return Err(Error::Store(format!(
                "event {event} counts fewer seats than order {} holds",
                order.id
            )));
        }
        let order_after = ctx.order_state(tx, &order)?;
        ctx.tracker.record(tx, |reference| {
            Action::RemoveTickets(TicketsChanged {
                tickets: removed,
                order: order_after.clone(),
                reference,
            })
        })?;
        after = Some(order_after);
    }

    if adding > 0 {
        if !tx.reserve_seats(ctx.account, event, adding)? {
            let available = tx.event(ctx.account, event)?.map_or(0, |e| e.available);
            return Err(ShopRule::SoldOut { available }.into());
        }
        let mut new_ids = Vec::new();
        for (line, n) in &to_add {
            new_ids.extend(tx.insert_ticket_lines(order.id, event, line, *n)?);
        }
        if count(new_ids.len())? != adding {
            return Err(Error::Store(format!(
                "{} of {adding} ticket lines were written",
                new_ids.len()
            )));
        }
        let order_after = ctx.order_state(tx, &order)?;
        let added: Vec<TicketLine> = order_after
            .tickets
            .iter()
            .filter(|t| new_ids.contains(&t.id))
            .cloned()
            .collect();
        ctx.tracker.record(tx, |reference| {
            Action::AddTickets(TicketsChanged {
                tickets: added,
                order: order_after.clone(),
                reference,
            })
        })?;
        after = Some(order_after);
    }
    if changed {
        cancel_pending(tx, order.id)?;
    }
    touch_order(tx, ctx, &mut order)?;
    match after {
        Some(state) => Ok(state),
        None => ctx.order_state(tx, &order),
    }
}
