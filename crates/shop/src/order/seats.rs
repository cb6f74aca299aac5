//! The seat audit: per event, what `taken` says against what the order lines hold.

use protocol::{AccountName, NumId};

use crate::{Error, ShopStore};

/// One event's seats. `taken` always equals `held` and never exceeds `capacity` unless
/// the store was changed behind the shop's back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatCount {
    pub event: NumId,
    pub capacity: u32,
    /// The event's counter, which reservations raise and releases lower.
    pub taken: i64,
    /// Ticket lines of open and confirmed orders for the event.
    pub held: i64,
}

impl ShopStore {
    /// Every event of the account (on sale or not) with its seat counts.
    pub async fn seat_counts(&self, account: &AccountName) -> Result<Vec<SeatCount>, Error> {
        let name = account.clone();
        self.read(move |tx| match tx.account(&name)? {
            Some(account) => tx.seat_counts(account.id),
            None => Ok(Vec::new()),
        })
        .await
    }
}
