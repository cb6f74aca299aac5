//! Choosing tickets and the basket.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use protocol::NumId;
use shop::{Flow, MAX_PRODUCTS, OrderStatus};

use super::error::PageError;
use super::form::{ProductForm, ShopForm, TicketsForm, back_with, redirect, then_to};
use super::session::{Shopper, now, shopper};
use super::views::{BasketPage, ProductRow, TicketGroup, TicketRow, TicketsPage};
use crate::App;

/// `?event=` and `?msg=` of the pages.
pub(crate) type PageQuery = Query<HashMap<String, String>>;

/// The session's order: `Ok(None)` when there is none or it is open-and-absent, the open
/// order's view, or (as `Err`) the redirect to a paid order's detail page: once an order
/// is paid, going back to a page of it shows that order, never an empty basket.
pub(crate) async fn open_order_or_paid(
    app: &App,
    shopper: &Shopper,
) -> Result<Result<Option<shop::OrderView>, Response>, PageError> {
    let order = app
        .shop
        .current_order(&shopper.account, &shopper.session.id)
        .await?;
    Ok(match order {
        Some(o) if o.status == OrderStatus::Confirmed => Err(redirect(format!(
            "{}/shop/order/{}",
            shopper.base, o.state.id
        ))),
        Some(o) if o.status == OrderStatus::Open => Ok(Some(o)),
        _ => Ok(None),
    })
}

/// The add-tickets page of one event (`pageview` `addtickets`).
pub(crate) async fn tickets_page(
    State(app): State<App>,
    Path(account): Path<String>,
    Query(query): PageQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let shopper = shopper(&app, &account, &headers).await?;
    let event =
        match query.get("event") {
            Some(e) => Some(e.parse::<NumId>().map_err(|_| {
                PageError::BadRequest("parameter event must be a numeric id".into())
            })?),
            None => shopper.session.settings.event,
        }
        .ok_or_else(|| PageError::BadRequest("parameter event is required".into()))?;
    let order = match open_order_or_paid(&app, &shopper).await? {
        Ok(order) => order,
        Err(to_paid_order) => return Ok(to_paid_order),
    };
    let offer = app
        .shop
        .event_offer(&shopper.account, event)
        .await?
        .ok_or(PageError::NotFound("this event is not on sale"))?;
    app.shop
        .record_pageview(&shopper.session, "addtickets", now(&app))
        .await?;
    let t = shopper.texts();
    let page = TicketsPage {
        t,
        base: &shopper.base,
        csrf: &shopper.session.csrf,
        event_id: event,
        event_name: &offer.event.name,
        event_date: &offer.event.date,
        available: offer.event.available,
        rows: TicketRow::for_offer(&offer, order.as_ref().map(|o| &o.state)),
        message: t.message(query.get("msg").map(String::as_str)),
        has_order: order
            .as_ref()
            .is_some_and(|o| !o.state.tickets.is_empty() || !o.state.products.is_empty()),
        returnurl: shopper.session.settings.return_url(),
    };
    Ok(Html(page.render()?).into_response())
}

/// The session's order while it is open.
async fn open_order(app: &App, shopper: &Shopper) -> Result<Option<shop::OrderView>, PageError> {
    Ok(app
        .shop
        .current_order(&shopper.account, &shopper.session.id)
        .await?
        .filter(|o| o.status == OrderStatus::Open))
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
        let held = open_order(&app, &shopper).await?.map_or(0, |o| {
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
    if order.tickets.is_empty() && order.products.is_empty() {
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

/// The basket (`pageview` `summary`): tickets per event, products, total, checkout.
pub(crate) async fn basket_page(
    State(app): State<App>,
    Path(account): Path<String>,
    Query(query): PageQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let shopper = shopper(&app, &account, &headers).await?;
    let order = match open_order_or_paid(&app, &shopper).await? {
        Ok(order) => order.map(|o| o.state),
        Err(to_paid_order) => return Ok(to_paid_order),
    };
    app.shop
        .record_pageview(&shopper.session, "summary", now(&app))
        .await?;
    let settings = &shopper.session.settings;

    let mut groups = Vec::new();
    if let Some(order) = &order {
        let mut events: Vec<NumId> = Vec::new();
        for ticket in &order.tickets {
            if !events.contains(&ticket.eventid) {
                events.push(ticket.eventid);
            }
        }
        for event in events {
            if let Some(offer) = app.shop.event_offer(&shopper.account, event).await? {
                groups.push(TicketGroup {
                    event_id: event,
                    event_name: offer.event.name.clone(),
                    rows: TicketRow::for_offer(&offer, Some(order)),
                });
            }
        }
    }
    let products = app
        .shop
        .products(&shopper.account)
        .await?
        .into_iter()
        .map(|p| {
            let qty = order.as_ref().map_or(0, |o| {
                o.products.iter().filter(|l| l.productid == p.id).count()
            });
            (p, qty)
        })
        .filter(|(p, qty)| *qty > 0 || settings.offers_product(p.id))
        .map(|(p, qty)| ProductRow {
            product_id: p.id,
            name: p.name,
            price: p.price,
            qty,
            max: MAX_PRODUCTS,
        })
        .collect();
    let t = shopper.texts();
    let page = BasketPage {
        t,
        base: &shopper.base,
        csrf: &shopper.session.csrf,
        groups,
        products,
        total: order
            .as_ref()
            .map_or(protocol::Money::ZERO, |o| o.totalamount),
        empty: order
            .as_ref()
            .is_none_or(|o| o.tickets.is_empty() && o.products.is_empty()),
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
