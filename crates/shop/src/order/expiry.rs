//! Reservations that run out: an open order unchanged for the reservation time releases
//! its seats. Not a shopper's action, so nothing is tracked.

use protocol::Timestamp;
use rusqlite::params;

use crate::{Error, ShopStore};

impl ShopStore {
    /// Expires open orders whose reservation ended before `now` and releases their seats.
    /// Returns how many orders expired.
    pub async fn expire_orders(&self, now: Timestamp) -> Result<usize, Error> {
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            let expired: Vec<i64> = {
                let mut stmt =
                    tx.prepare("SELECT id FROM orders WHERE status = 'open' AND expires_ms < ?1")?;
                stmt.query_map(params![now.unix_ms()], |row| row.get(0))?
                    .collect::<Result<_, _>>()?
            };
            for order in &expired {
                tx.execute(
                    "UPDATE events SET taken = taken - (
                         SELECT COUNT(*) FROM order_tickets t
                         WHERE t.order_id = ?1 AND t.event_id = events.id)
                     WHERE (account_id, id) IN (
                         SELECT o.account_id, t.event_id FROM order_tickets t
                         JOIN orders o ON o.id = t.order_id WHERE t.order_id = ?1)",
                    params![order],
                )?;
                tx.execute(
                    "UPDATE orders SET status = 'expired' WHERE id = ?1",
                    params![order],
                )?;
            }
            tx.commit()?;
            Ok(expired.len())
        })
        .await
    }
}
