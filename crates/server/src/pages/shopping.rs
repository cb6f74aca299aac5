//! Choosing tickets and the basket.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use protocol::NumId;
use shop::{MAX_PRODUCTS, OrderStatus};

use super::error::PageError;
use super::form::{back_with, form_shopper, redirect, then_to};
use super::params;
use super::session::{Shopper, now, shopper};
use super::views::{BasketPage, ProductRow, TicketGroup, TicketRow, TicketsPage};
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
    let shopper = shopper(&app, &account, &headers).await?;
    let event = query
        .get("event")
        .map(String::as_str)
        .or_else(|| params::get(&shopper.session.params, "event"))
        .and_then(|e| e.parse::<NumId>().ok())
        .ok_or_else(|| PageError::BadRequest("parameter event is required".into()))?;
    let offer = app
        .shop
        .event_offer(&shopper.account, event)
        .await?
        .ok_or(PageError::NotFound("this event is not on sale"))?;
    app.shop
        .record_pageview(&shopper.session, "addtickets", now(&app))
        .await?;
    let order = open_order(&app, &shopper).await?;
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
        returnurl: params::get(&shopper.session.params, "returnurl"),
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
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (shopper, fields) = form_shopper(&app, &account, &headers, fields).await?;
    let event = fields.id("event")?;
    let wanted = fields.ticket_quantities()?;
    let back = format!("{}/shop/tickets?event={event}", shopper.base);
    let params = &shopper.session.params;
    if !params::is_yes(params, "reservemoretickets") {
        let held = open_order(&app, &shopper).await?.map_or(0, |o| {
            o.state
                .tickets
                .iter()
                .filter(|t| t.eventid == event)
                .count()
        });
        let asked: u32 = wanted.iter().map(|(_, n)| n).sum();
        if held > 0 && asked as usize > held {
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
    match params::get(params, "flow") {
        Some("checkout") => {
            if let Err(e) = app
                .shop
                .start_checkout(&shopper.account, &shopper.session.id, now(&app))
                .await
            {
                return back_with(&basket, e);
            }
            Ok(redirect(format!("{}/shop/checkout", shopper.base)))
        }
        Some("return") => match params::get(params, "returnurl") {
            Some(_) => Ok(redirect(format!("{}/shop/return", shopper.base))),
            None => Ok(redirect(basket)),
        },
        _ => Ok(redirect(basket)),
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
    app.shop
        .record_pageview(&shopper.session, "summary", now(&app))
        .await?;
    let order = open_order(&app, &shopper).await?.map(|o| o.state);
    let params = &shopper.session.params;

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
    let offered = params::extra_products(params);
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
        .filter(|(p, qty)| *qty > 0 || offered.as_ref().is_none_or(|ids| ids.contains(&p.id)))
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
        edit: params::is_yes(params, "edit"),
        message: t.message(query.get("msg").map(String::as_str)),
        returnurl: params::get(params, "returnurl"),
    };
    Ok(Html(page.render()?).into_response())
}

/// Changes ticket quantities from the basket (when the widget allows editing).
pub(crate) async fn basket_tickets(
    State(app): State<App>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (shopper, fields) = form_shopper(&app, &account, &headers, fields).await?;
    let basket = format!("{}/shop/basket", shopper.base);
    if !params::is_yes(&shopper.session.params, "edit") {
        return Ok(redirect(format!("{basket}?msg=noedit")));
    }
    let event = fields.id("event")?;
    let wanted = fields.ticket_quantities()?;
    let result = app
        .shop
        .set_tickets(
            &shopper.account,
            &shopper.session.id,
            event,
            wanted,
            now(&app),
        )
        .await;
    then_to(result, basket)
}

/// Adds or removes products from the basket.
pub(crate) async fn basket_products(
    State(app): State<App>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (shopper, fields) = form_shopper(&app, &account, &headers, fields).await?;
    let product = fields.id("product")?;
    let qty = fields.quantity("qty")?;
    let basket = format!("{}/shop/basket", shopper.base);
    let result = app
        .shop
        .set_products(
            &shopper.account,
            &shopper.session.id,
            product,
            qty,
            now(&app),
        )
        .await;
    then_to(result, basket)
}
