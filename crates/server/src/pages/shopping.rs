//! Choosing tickets, the basket, and the language switch.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use protocol::NumId;
use shop::{Flow, MAX_PRODUCTS, OrderStatus};

use super::current::{self, catalog, events_of, held_until, holds_anything, unpaid_order};
use super::error::{Missing, PageError};
use super::form::{LanguageForm, ProductForm, ShopForm, TicketsForm, back_with, redirect, then_to};
use super::i18n::money;
use super::session::{now, shopper, shopper_at};
use super::views::{
    BasketPage, BasketTotals, Hero, InBasket, ProductRow, Step, TicketGroup, TicketRow, TicketsPage,
};
use crate::App;

/// `?event=` and `?msg=` of the pages.
pub(crate) type PageQuery = Query<HashMap<String, String>>;

/// The add-tickets page of one event (`pageview` `addtickets`).
pub(crate) async fn tickets_page(
    State(app): State<App>,
    Path(account): Path<String>,
    Query(query): PageQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let asked = query
        .get("event")
        .map(|e| {
            e.parse::<NumId>()
                .map_err(|_| PageError::BadRequest("parameter event must be a numeric id".into()))
        })
        .transpose()?;
    let shopper = shopper_at(&app, &account, &headers, asked).await?;
    let event = asked
        .or(shopper.session.settings.event)
        .ok_or_else(|| PageError::BadRequest("parameter event is required".into()))?;
    let order = match unpaid_order(&shopper) {
        Ok(order) => current::open(order),
        Err(to_paid_order) => return Ok(*to_paid_order),
    };
    // The visit read this event (asked for, or the session's own).
    let offer = shopper
        .catalog
        .offer(event)
        .ok_or(PageError::NotFound(Missing::Event))?;
    app.shop
        .record_pageview(&shopper.session, "addtickets", now(&app))
        .await?;
    let t = shopper.texts();
    let state = order.as_ref().map(|o| &o.state);
    let held_here = state.map_or(0, |s| {
        s.tickets.iter().filter(|l| l.eventid == event).count()
    });
    let here = format!("{}/shop/tickets?event={event}", shopper.base);
    let page = TicketsPage {
        frame: shopper
            .frame(offer.event.name.in_lang(t.lang), Some(Step::Tickets), here)
            .await?,
        base: &shopper.base,
        csrf: &shopper.session.csrf,
        event_id: event,
        hero: Hero::new(&offer.event, shopper.account.as_str(), t),
        available: offer.event.available,
        sold_out: offer.event.available == 0 && held_here == 0,
        rows: TicketRow::for_offer(&offer, state, t),
        message: t.message(query.get("msg").map(String::as_str)),
        in_basket: state.filter(|s| holds_anything(s)).map(|s| InBasket {
            count: s.tickets.len() + s.products.len(),
            total: money(s.totalamount, t),
        }),
        returnurl: shopper.session.settings.return_url(),
    };
    Ok(Html(page.render()?).into_response())
}

/// Sets the ticket quantities, then continues as the widget's `flow` says.
pub(crate) async fn set_tickets(
    State(app): State<App>,
    ShopForm { shopper, form }: ShopForm<TicketsForm>,
) -> Result<Response, PageError> {
    let TicketsForm { event, wanted } = form;
    let back = format!("{}/shop/tickets?event={event}", shopper.base);
    let settings = &shopper.session.settings;
    if !settings.reserve_more {
        let held = current::open(shopper.order.clone()).map_or(0, |o| {
            o.state
                .tickets
                .iter()
                .filter(|t| t.eventid == event)
                .count()
        });
        let asked: u64 = wanted.values().map(|n| u64::from(*n)).sum();
        if held > 0 && asked > u64::try_from(held).unwrap_or(u64::MAX) {
            return Ok(redirect(format!("{back}&msg=noedit")));
        }
    }
    let order = match app
        .shop
        .set_tickets(
            &shopper.account,
            &shopper.session.id,
            event,
            wanted,
            now(&app),
        )
        .await
    {
        Ok(order) => order,
        Err(e) => return back_with(&back, e),
    };
    if !holds_anything(&order) {
        return Ok(redirect(back));
    }
    let basket = format!("{}/shop/basket", shopper.base);
    match settings.flow {
        Flow::Checkout => {
            if let Err(e) = app
                .shop
                .start_checkout(&shopper.account, &shopper.session.id, now(&app))
                .await
            {
                return back_with(&basket, e);
            }
            Ok(redirect(format!("{}/shop/checkout", shopper.base)))
        }
        Flow::Return if settings.return_url().is_some() => {
            Ok(redirect(format!("{}/shop/return", shopper.base)))
        }
        Flow::Return | Flow::Basket | Flow::BasketWithCheckout => Ok(redirect(basket)),
    }
}

/// The basket (`pageview` `summary`): tickets per event with their date and venue,
/// products, totals, checkout; or, when the reservation ran out, the way back.
pub(crate) async fn basket_page(
    State(app): State<App>,
    Path(account): Path<String>,
    Query(query): PageQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let shopper = shopper(&app, &account, &headers).await?;
    let order = match unpaid_order(&shopper) {
        Ok(order) => order,
        Err(to_paid_order) => return Ok(*to_paid_order),
    };
    app.shop
        .record_pageview(&shopper.session, "summary", now(&app))
        .await?;
    let settings = &shopper.session.settings;
    let t = shopper.texts();
    let expired = order
        .as_ref()
        .is_some_and(|o| o.status == OrderStatus::Expired);
    let state = order
        .as_ref()
        .filter(|o| o.status == OrderStatus::Open)
        .map(|o| &o.state);
    let events = state.map(events_of).unwrap_or_default();
    let catalog = catalog(&app, &shopper, &events).await?;

    let groups = events
        .iter()
        .filter_map(|event| catalog.event(*event))
        .map(|offer| TicketGroup {
            event_id: offer.event.id,
            card: super::views::EventCard::new(&offer.event, t),
            rows: TicketRow::for_offer(offer, state, t),
        })
        .collect();
    let products = catalog
        .products
        .iter()
        .map(|p| {
            let qty = state.map_or(0, |o| {
                o.products.iter().filter(|l| l.productid == p.id).count()
            });
            (p, qty)
        })
        .filter(|(p, qty)| *qty > 0 || settings.offers_product(p.id))
        .map(|(p, qty)| ProductRow {
            product_id: p.id,
            name: p.name.in_lang(t.lang).to_owned(),
            unit: money(p.price, t),
            qty,
            max: MAX_PRODUCTS,
        })
        .collect();
    // The expired order's event, else the entry's: where to choose tickets again.
    let tickets_event = order
        .as_ref()
        .and_then(|o| events_of(&o.state).first().copied())
        .or(settings.event);
    let here = format!("{}/shop/basket", shopper.base);
    let page = BasketPage {
        frame: shopper.frame(t.basket, Some(Step::Basket), here).await?,
        base: &shopper.base,
        csrf: &shopper.session.csrf,
        groups,
        products,
        totals: state
            .filter(|o| holds_anything(o))
            .map(|o| BasketTotals::new(o, t)),
        empty: state.is_none_or(|o| !holds_anything(o)),
        expired,
        tickets_url: tickets_event
            .map(|event| format!("{}/shop/tickets?event={event}", shopper.base)),
        held_until: order.as_ref().and_then(|o| held_until(o, &catalog)),
        edit: settings.edit,
        message: t.message(query.get("msg").map(String::as_str)),
        returnurl: settings.return_url(),
    };
    Ok(Html(page.render()?).into_response())
}

/// Changes ticket quantities from the basket (when the widget allows editing).
pub(crate) async fn basket_tickets(
    State(app): State<App>,
    ShopForm { shopper, form }: ShopForm<TicketsForm>,
) -> Result<Response, PageError> {
    let basket = format!("{}/shop/basket", shopper.base);
    if !shopper.session.settings.edit {
        return Ok(redirect(format!("{basket}?msg=noedit")));
    }
    let result = app
        .shop
        .set_tickets(
            &shopper.account,
            &shopper.session.id,
            form.event,
            form.wanted,
            now(&app),
        )
        .await;
    then_to(result, basket)
}

/// Adds or removes products from the basket.
pub(crate) async fn basket_products(
    State(app): State<App>,
    ShopForm { shopper, form }: ShopForm<ProductForm>,
) -> Result<Response, PageError> {
    let basket = format!("{}/shop/basket", shopper.base);
    let result = app
        .shop
        .set_products(
            &shopper.account,
            &shopper.session.id,
            form.product,
            form.qty,
            now(&app),
        )
        .await;
    then_to(result, basket)
}

/// The language switch: the session's language changes (the basket stays) and the
/// shopper goes back to the page they were on.
pub(crate) async fn language(
    State(app): State<App>,
    ShopForm { shopper, form }: ShopForm<LanguageForm>,
) -> Result<Response, PageError> {
    app.shop
        .set_language(&shopper.account, &shopper.session.id, form.lang, now(&app))
        .await?;
    let back = form
        .back
        .filter(|back| safe_back(&shopper.base, back))
        .unwrap_or_else(|| format!("{}/shop/basket", shopper.base));
    Ok(redirect(back))
}

/// Whether `back` is a page of this account's shop: the language switch never sends a
/// shopper anywhere else.
fn safe_back(base: &str, back: &str) -> bool {
    back.len() <= 512
        && back
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
        && !back.contains("//")
        && !back.contains("..")
        && back
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.?=&".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_only_goes_back_into_the_shop() {
        let base = "/widgets/demo";
        for ok in [
            "/widgets/demo/shop/basket",
            "/widgets/demo/shop/tickets?event=10003",
            "/widgets/demo/psp/0123abcd",
        ] {
            assert!(safe_back(base, ok), "{ok}");
        }
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/widgets/demo//evil.example",
            "/widgets/other/shop/basket",
            "/widgets/demox/shop",
            "/widgets/demo/../other",
            "/widgets/demo/shop\\x",
            "",
        ] {
            assert!(!safe_back(base, bad), "{bad}");
        }
    }
}
