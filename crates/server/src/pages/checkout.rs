//! Checkout: the customer, delivery and payment panels the widget's `panels` shows, and
//! the step to the payment provider.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use protocol::NumId;
use shop::{CustomerInfo, Scenario, ShopRule};

use super::error::PageError;
use super::form::{
    CustomerForm, DeliveryForm, NoFields, PaymentForm, ShopForm, back_with, redirect, then_to,
};
use super::session::{Shopper, now, shopper};
use super::shopping::{PageQuery, open_order_or_paid};
use super::views::{CheckoutPage, Choice, SummaryLine};
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

/// The checkout page (`pageview` `checkout`).
pub(crate) async fn checkout_page(
    State(app): State<App>,
    Path(account): Path<String>,
    Query(query): PageQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let shopper = shopper(&app, &account, &headers).await?;
    let order = match open_order_or_paid(&app, &shopper).await? {
        Ok(order) => order,
        Err(to_paid_order) => return Ok(to_paid_order),
    };
    let Some(order) = order.filter(|o| !o.state.tickets.is_empty() || !o.state.products.is_empty())
    else {
        return Ok(redirect(format!("{}/shop/basket?msg=empty", shopper.base)));
    };
    app.shop
        .record_pageview(&shopper.session, "checkout", now(&app))
        .await?;
    let panels = shopper.session.settings.panels;
    let (deliveries, payments) = app.shop.scenarios(&shopper.account).await?;
    let state = &order.state;
    let customer_done = state.customerid.is_some();
    let delivery_done = state.deliveryscenarioid.is_some();
    let payment_done = state.paymentscenarioid.is_some();
    let t = shopper.texts();
    let page = CheckoutPage {
        t,
        base: &shopper.base,
        csrf: &shopper.session.csrf,
        lines: SummaryLine::for_order(state),
        total: state.totalamount,
        message: t.message(query.get("msg").map(String::as_str)),
        show_customer: panels.customer,
        customer_done,
        customer_name: order.customer_name.as_deref().unwrap_or(""),
        customer_email: order.customer_email.as_deref().unwrap_or(""),
        show_delivery: panels.delivery,
        delivery_done,
        deliveries: deliveries
            .into_iter()
            .map(|d| Choice {
                selected: state.deliveryscenarioid == Some(d.id),
                id: d.id,
                name: d.name,
            })
            .collect(),
        show_payment: panels.payment,
        payment_done,
        payments: payments
            .into_iter()
            .map(|p| Choice {
                selected: state.paymentscenarioid == Some(p.id),
                id: p.id,
                name: p.name,
            })
            .collect(),
        can_pay: (!panels.customer || customer_done)
            && (!panels.delivery || delivery_done)
            && (!panels.payment || payment_done),
    };
    Ok(Html(page.render()?).into_response())
}

/// The customer panel (`checkout_addcustomerinfo`).
pub(crate) async fn customer(
    State(app): State<App>,
    ShopForm { shopper, form }: ShopForm<CustomerForm>,
) -> Result<Response, PageError> {
    let back = format!("{}/shop/checkout", shopper.base);
    let info = match CustomerInfo::parse(&form.name, &form.email) {
        Ok(info) => info,
        Err(rule) => return back_with(&back, rule.into()),
    };
    let result = app
        .shop
        .set_customer(&shopper.account, &shopper.session.id, info, now(&app))
        .await;
    then_to(result, back)
}

/// The delivery panel (`checkout_adddeliveryinfo`).
pub(crate) async fn delivery(
    State(app): State<App>,
    ShopForm { shopper, form }: ShopForm<DeliveryForm>,
) -> Result<Response, PageError> {
    scenario(&app, &shopper, Scenario::Delivery, form.0).await
}

/// The payment panel (`checkout_addpaymentinfo`).
pub(crate) async fn payment(
    State(app): State<App>,
    ShopForm { shopper, form }: ShopForm<PaymentForm>,
) -> Result<Response, PageError> {
    scenario(&app, &shopper, Scenario::Payment, form.0).await
}

async fn scenario(
    app: &App,
    shopper: &Shopper,
    kind: Scenario,
    choice: Option<NumId>,
) -> Result<Response, PageError> {
    let back = format!("{}/shop/checkout", shopper.base);
    let Some(id) = choice else {
        return back_with(
            &back,
            ShopRule::InvalidInput("choose one of the options").into(),
        );
    };
    let result = app
        .shop
        .set_scenario(&shopper.account, &shopper.session.id, kind, id, now(app))
        .await;
    then_to(result, back)
}

/// To the payment provider (`checkout_initiatepayment`). Pressed twice, it leads to the
/// same open payment.
pub(crate) async fn pay(
    State(app): State<App>,
    ShopForm { shopper, .. }: ShopForm<NoFields>,
) -> Result<Response, PageError> {
    let back = format!("{}/shop/checkout", shopper.base);
    match app
        .shop
        .initiate_payment(&shopper.account, &shopper.session.id, now(&app))
        .await
    {
        Ok(token) => Ok(redirect(format!("{}/psp/{token}", shopper.base))),
        Err(e) => back_with(&back, e),
    }
}
