//! Reservations that run out: an open order unchanged for the reservation time releases
//! its seats. Not a shopper's action, so nothing is tracked. Each order expires in its
//! own transaction, so one that cannot be released does not hold up the others.

use std::collections::BTreeMap;

use protocol::{NumId, Timestamp};

use super::OrderStatus;
use crate::storage::Tx;
use crate::{Error, ShopStore};

/// How many orders one run looks at; the next run takes the rest.
const BATCH: u32 = 1000;

/// What one expiry run did.
#[derive(Debug, Default)]
pub struct ExpiryReport {
    /// Orders expired and their seats released.
    pub expired: usize,
    /// Orders that could not be expired, with why; they are tried again next run.
    pub failed: Vec<(NumId, Error)>,
}

impl ShopStore {
    /// Expires open orders whose reservation ended before `now` and releases their seats.
    pub async fn expire_orders(&self, now: Timestamp) -> Result<ExpiryReport, Error> {
        let now_ms = now.unix_ms();
        let due = self
            .read(move |tx| tx.expired_orders(now_ms, BATCH))
            .await?;
        let mut report = ExpiryReport::default();
        for order in due {
            match self.transact(move |tx| expire_one(tx, order, now_ms)).await {
                Ok(true) => report.expired += 1,
                Ok(false) => {}
                Err(e) => report.failed.push((order, e)),
            }
        }
        Ok(report)
    }
}

/// Expires the order if it is still open and due; `false` when something else got to it
/// first (a payment, a change that renewed the reservation).
fn expire_one(tx: &mut dyn Tx, id: NumId, now_ms: i64) -> Result<bool, Error> {
    let Some(mut order) = tx.order_for_update(id)? else {
        return Ok(false);
    };
    if order.status != OrderStatus::Open || order.expires_ms >= now_ms {
        return Ok(false);
    }
    let mut per_event: BTreeMap<NumId, u32> = BTreeMap::new();
    for line in tx.ticket_lines(order.account, id)? {
        *per_event.entry(line.eventid).or_default() += 1;
    }
    for (event, seats) in per_event {
        if !tx.release_seats(order.account, event, seats)? {
            return Err(Error::Store(format!(
                "event {event} counts fewer seats than order {id} holds"
            )));
        }
    }
    order.status = OrderStatus::Expired;
    tx.update_order(&order)?;
    Ok(true)
}
