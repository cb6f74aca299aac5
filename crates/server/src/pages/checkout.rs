//! Checkout: one form with the customer, delivery and payment panels the widget's
//! `panels` shows, and one button that records them and goes on to the payment. A field
//! that is not right sends the page back with what the shopper typed, the field marked
//! and what is wrong said next to it; nothing is recorded then.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use protocol::NumId;
use shop::{CheckoutDetails, CustomerInfo, FieldError, MAX_NAME_CHARS, OrderView, Text};

use super::current::{self, catalog, events_of, held_until, holds_anything, unpaid_order};
use super::error::PageError;
use super::form::{CheckoutForm, NoFields, ShopForm, back_with, redirect};
use super::session::{Shopper, now, shopper};
use super::shopping::PageQuery;
use super::views::{CheckoutPage, Choice, FieldMessage, Step, Summary};
use crate::App;

/// `checkout_start`, from the basket's checkout button.
pub(crate) async fn start(
    State(app): State<App>,
    ShopForm { shopper, .. }: ShopForm<NoFields>,
) -> Result<Response, PageError> {
    match app
        .shop
        .start_checkout(&shopper.account, &shopper.session.id, now(&app))
        .await
    {
        Ok(_) => Ok(redirect(format!("{}/shop/checkout", shopper.base))),
        Err(e) => back_with(&format!("{}/shop/basket", shopper.base), e),
    }
}

/// What the form shows in its fields: the order's details, or what was just typed.
#[derive(Debug, Default)]
struct Filled {
    name: String,
    email: String,
    delivery: Option<NumId>,
    payment: Option<NumId>,
    errors: Vec<FieldError>,
}

impl Filled {
    fn of_order(order: &OrderView) -> Filled {
        Filled {
            name: order.customer_name.clone().unwrap_or_default(),
            email: order.customer_email.clone().unwrap_or_default(),
            delivery: order.state.deliveryscenarioid,
            payment: order.state.paymentscenarioid,
            errors: Vec::new(),
        }
    }

    fn error(&self, which: &[FieldError]) -> Option<FieldError> {
        self.errors.iter().copied().find(|e| which.contains(e))
    }
}

/// The open order with something in it, or where to go instead.
async fn basket_order(shopper: &Shopper) -> Result<Result<OrderView, Response>, PageError> {
    let order = match unpaid_order(shopper) {
        Ok(order) => order,
        Err(to_paid_order) => return Ok(Err(*to_paid_order)),
    };
    let expired = order
        .as_ref()
        .is_some_and(|o| o.status == shop::OrderStatus::Expired);
    match current::open(order).filter(|o| holds_anything(&o.state)) {
        Some(order) => Ok(Ok(order)),
        None if expired => Ok(Err(redirect(format!(
            "{}/shop/basket?msg=expired",
            shopper.base
        )))),
        None => Ok(Err(redirect(format!(
            "{}/shop/basket?msg=empty",
            shopper.base
        )))),
    }
}

/// The checkout page (`pageview` `checkout`).
pub(crate) async fn checkout_page(
    State(app): State<App>,
    Path(account): Path<String>,
    Query(query): PageQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let shopper = shopper(&app, &account, &headers).await?;
    let order = match basket_order(&shopper).await? {
        Ok(order) => order,
        Err(elsewhere) => return Ok(elsewhere),
    };
    app.shop
        .record_pageview(&shopper.session, "checkout", now(&app))
        .await?;
    let message = shopper
        .texts()
        .message(query.get("msg").map(String::as_str));
    let html = render(&app, &shopper, &order, Filled::of_order(&order), message).await?;
    Ok(Html(html).into_response())
}

fn choices(offered: Vec<(NumId, Text)>, chosen: Option<NumId>, lang: &str) -> Vec<Choice> {
    offered
        .into_iter()
        .map(|(id, name)| Choice {
            selected: chosen == Some(id),
            id,
            name: name.in_lang(lang).to_owned(),
        })
        .collect()
}

async fn render(
    app: &App,
    shopper: &Shopper,
    order: &OrderView,
    filled: Filled,
    message: Option<&'static str>,
) -> Result<String, PageError> {
    let t = shopper.texts();
    let panels = shopper.session.settings.panels;
    let organiser = shopper.catalog.organiser();
    let catalog = catalog(app, shopper, &events_of(&order.state)).await?;
    let name_error = filled.error(&[FieldError::NameMissing, FieldError::NameTooLong]);
    let email_error = filled.error(&[FieldError::EmailInvalid]);
    let delivery_error = filled.error(&[FieldError::DeliveryMissing]);
    let payment_error = filled.error(&[FieldError::PaymentMissing]);
    let errors = [
        ("name", name_error),
        ("email", email_error),
        ("delivery", delivery_error),
        ("payment", payment_error),
    ]
    .into_iter()
    .filter_map(|(field, error)| {
        error.map(|e| FieldMessage {
            field,
            text: t.field_error(e),
        })
    })
    .collect();
    let here = format!("{}/shop/checkout", shopper.base);
    let page = CheckoutPage {
        frame: shopper
            .frame(t.step_details, Some(Step::Details), here)
            .await?,
        base: &shopper.base,
        csrf: &shopper.session.csrf,
        summary: Summary::new(&order.state, &catalog, t),
        held_until: held_until(order, &catalog),
        message,
        errors,
        show_customer: panels.customer,
        name: filled.name,
        name_error: name_error.map(|e| t.field_error(e)),
        max_name: MAX_NAME_CHARS,
        email: filled.email,
        email_error: email_error.map(|e| t.field_error(e)),
        show_delivery: panels.delivery,
        deliveries: choices(
            shopper
                .catalog
                .deliveries()
                .iter()
                .map(|d| (d.id, d.name.clone()))
                .collect(),
            filled.delivery,
            t.lang,
        ),
        delivery_error: delivery_error.map(|e| t.field_error(e)),
        show_payment: panels.payment,
        payments: choices(
            shopper
                .catalog
                .payments()
                .iter()
                .map(|p| (p.id, p.name.clone()))
                .collect(),
            filled.payment,
            t.lang,
        ),
        payment_error: payment_error.map(|e| t.field_error(e)),
        terms_url: organiser.terms_url.clone(),
        privacy_url: organiser.privacy_url.clone(),
    };
    Ok(page.render()?)
}

/// The checkout form: every shown panel checked, then recorded and on to the payment
/// provider in one step. Submitted again unchanged, it leads to the same open payment.
pub(crate) async fn submit(
    State(app): State<App>,
    ShopForm { shopper, form }: ShopForm<CheckoutForm>,
) -> Result<Response, PageError> {
    let back = format!("{}/shop/checkout", shopper.base);
    let order = match basket_order(&shopper).await? {
        Ok(order) => order,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let panels = shopper.session.settings.panels;
    let (deliveries, payments) = (shopper.catalog.deliveries(), shopper.catalog.payments());
    let mut filled = Filled {
        name: form.name.unwrap_or_default(),
        email: form.email.unwrap_or_default(),
        delivery: form.delivery,
        payment: form.payment,
        errors: Vec::new(),
    };
    let mut customer = None;
    if panels.customer {
        match CustomerInfo::check(&filled.name, &filled.email) {
            Ok(info) => customer = Some(info),
            Err(errors) => filled.errors.extend(errors),
        }
    }
    let delivery = filled
        .delivery
        .filter(|id| deliveries.iter().any(|d| d.id == *id));
    if panels.delivery && delivery.is_none() {
        filled.errors.push(FieldError::DeliveryMissing);
    }
    let payment = filled
        .payment
        .filter(|id| payments.iter().any(|p| p.id == *id));
    if panels.payment && payment.is_none() {
        filled.errors.push(FieldError::PaymentMissing);
    }
    if !filled.errors.is_empty() {
        let html = render(&app, &shopper, &order, filled, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    }
    let details = CheckoutDetails {
        customer,
        delivery: delivery.filter(|_| panels.delivery),
        payment: payment.filter(|_| panels.payment),
    };
    match app
        .shop
        .submit_checkout(&shopper.account, &shopper.session.id, details, now(&app))
        .await
    {
        Ok(token) => Ok(redirect(format!("{}/psp/{token}", shopper.base))),
        Err(e) => back_with(&back, e),
    }
}
