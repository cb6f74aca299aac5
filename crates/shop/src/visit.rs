//! A page's view of the shopper's visit, read in one snapshot: the session, its current
//! order, and the catalog with fresh seats for the events the page shows. One handoff to
//! the blocking pool, instead of one for each thing a page needs.

use std::sync::Arc;

use protocol::{AccountName, NumId};

use crate::catalog::cache::CachedCatalog;
use crate::catalog::{
    DeliveryScenario, EventInfo, EventOffer, Organiser, PaymentScenario, Product,
};
use crate::order::{OrderView, session_order};
use crate::session::{Session, session};
use crate::{Error, ShopStore};

/// What a page knows of the shopper: their session, its current order (whatever its
/// status), and the shop's catalog.
#[derive(Debug, Clone)]
pub struct Visit {
    pub session: Session,
    pub order: Option<OrderView>,
    pub catalog: ShopCatalog,
}

/// The account's catalog as one snapshot saw it: names and prices from the catalog
/// cache, seats read fresh for the events the visit was read for.
#[derive(Debug, Clone)]
pub struct ShopCatalog {
    cached: Arc<CachedCatalog>,
    events: Vec<EventInfo>,
}

impl ShopCatalog {
    /// The organiser's name and policies.
    pub fn organiser(&self) -> &Organiser {
        &self.cached.organiser
    }

    /// Products on sale, in catalog order.
    pub fn products(&self) -> &[Product] {
        &self.cached.products
    }

    /// Delivery scenarios on offer, in catalog order.
    pub fn deliveries(&self) -> &[DeliveryScenario] {
        &self.cached.delivery
    }

    /// Payment scenarios on offer, in catalog order.
    pub fn payments(&self) -> &[PaymentScenario] {
        &self.cached.payment
    }

    /// The event with its prices and seats, when it is on sale and the visit was read
    /// for it (the event asked for, the session's entry event, the order's events).
    pub fn offer(&self, event: NumId) -> Option<EventOffer> {
        let info = self.events.iter().find(|e| e.id == event)?;
        let lines = self.cached.offers.get(&event)?;
        Some(EventOffer {
            event: info.clone(),
            lines: lines.clone(),
        })
    }
}

impl ShopStore {
    /// The session behind a cookie with its current order and the catalog, read in one
    /// snapshot; seats are read for `event`, the session's entry event and the order's
    /// events. `None` when the session does not exist for this account.
    pub async fn visit(
        &self,
        account: &AccountName,
        session_id: &str,
        event: Option<NumId>,
    ) -> Result<Option<Visit>, Error> {
        let name = account.clone();
        let session_id = session_id.to_owned();
        let catalogs = Arc::clone(&self.catalogs);
        self.read_quick(move |tx| {
            let Some(account) = tx.account(&name)? else {
                return Ok(None);
            };
            let Some(row) = tx.session(account.id, &session_id)? else {
                return Ok(None);
            };
            let cached = catalogs.get(tx, &account)?;
            let order = match row.order_id {
                Some(id) => session_order(tx, account.id, &session_id, id, Some(&cached.names))?,
                None => None,
            };
            let mut wanted: Vec<NumId> = event.into_iter().chain(row.settings.event).collect();
            if let Some(order) = &order {
                wanted.extend(order.state.tickets.iter().map(|t| t.eventid));
            }
            wanted.sort_unstable();
            wanted.dedup();
            let mut events = Vec::with_capacity(wanted.len());
            for id in wanted {
                events.extend(tx.event(account.id, id)?);
            }
            Ok(Some(Visit {
                session: session(row, name.clone()),
                order,
                catalog: ShopCatalog { cached, events },
            }))
        })
        .await
    }
}
