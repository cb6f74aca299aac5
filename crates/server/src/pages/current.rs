//! The session's order as the pages need it: which order it is (open, expired, or paid,
//! which sends the shopper to its detail page), the catalog entries to show it in the
//! shopper's language, and until when its seats are held.

use axum::response::Response;
use protocol::{NumId, OrderState};
use shop::{OrderStatus, OrderView};

use super::error::PageError;
use super::form::redirect;
use super::i18n::format::clock;
use super::session::Shopper;
use super::views::Catalog;
use crate::App;

/// The session's last order, unless it is paid: then (as `Err`) the redirect to its
/// detail page, because once an order is paid, going back to a page of it shows that
/// order, never an empty basket. An expired order is returned as it is, so the page can
/// say that the reservation ran out.
pub(crate) fn unpaid_order(shopper: &Shopper) -> Result<Option<OrderView>, Box<Response>> {
    match shopper.order.clone() {
        Some(o) if o.status == OrderStatus::Confirmed => Err(Box::new(redirect(format!(
            "{}/shop/order/{}",
            shopper.base, o.code
        )))),
        other => Ok(other),
    }
}

/// The order while it is open.
pub(crate) fn open(order: Option<OrderView>) -> Option<OrderView> {
    order.filter(|o| o.status == OrderStatus::Open)
}

/// Whether an order holds anything.
pub(crate) fn holds_anything(order: &OrderState) -> bool {
    !order.tickets.is_empty() || !order.products.is_empty()
}

/// The events of an order, in order of appearance.
pub(crate) fn events_of(order: &OrderState) -> Vec<NumId> {
    let mut events = Vec::new();
    for ticket in &order.tickets {
        if !events.contains(&ticket.eventid) {
            events.push(ticket.eventid);
        }
    }
    events
}

/// The catalog entries of `events` and the products, in the shop's current catalog: as
/// the shopper's visit read them, and from the store for an event it did not read.
pub(crate) async fn catalog(
    app: &App,
    shopper: &Shopper,
    events: &[NumId],
) -> Result<Catalog, PageError> {
    let mut catalog = Catalog {
        products: shopper.catalog.products().to_vec(),
        ..Catalog::default()
    };
    for event in events {
        let offer = match shopper.catalog.offer(*event) {
            Some(offer) => Some(offer),
            None => app.shop.event_offer(&shopper.account, *event).await?,
        };
        catalog.events.extend(offer);
    }
    Ok(catalog)
}

/// "20:31": when the open order's seats are released, on the clock of its first event's
/// venue (where most of its shoppers are), or UTC when the catalog gives no zone.
pub(crate) fn held_until(order: &OrderView, catalog: &Catalog) -> Option<String> {
    if order.status != OrderStatus::Open || !holds_anything(&order.state) {
        return None;
    }
    let until = jiff::Timestamp::from_millisecond(order.expires_ms).ok()?;
    let zone = events_of(&order.state)
        .first()
        .and_then(|id| catalog.event(*id))
        .and_then(|offer| offer.event.time.as_ref())
        .map(|time| time.zone.clone());
    Some(match zone {
        Some(zone) => clock(&zone.at(until)),
        None => format!("{} UTC", clock(&until.to_zoned(jiff::tz::TimeZone::UTC))),
    })
}
