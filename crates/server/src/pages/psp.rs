//! The built-in test payment provider, the order detail page the shopper comes back to,
//! and the way back to the integrator's site.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use protocol::NumId;
use shop::{OnCompletion, OrderStatus, PaymentOutcome, PaymentStatus};

use super::error::PageError;
use super::form::{OutcomeForm, ShopForm, back_with, redirect};
use super::i18n::Texts;
use super::session::{Shopper, now, shopper};
use super::views::{OrderPage, PspPage, SummaryLine};
use crate::App;

fn valid_token(token: &str) -> Result<(), PageError> {
    if token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(PageError::NotFound("there is no such payment"))
    }
}

/// The provider's page: pay, cancel, or fail.
pub(crate) async fn page(
    State(app): State<App>,
    Path((account, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    valid_token(&token)?;
    let shopper = shopper(&app, &account, &headers).await?;
    let payment = app
        .shop
        .payment(&shopper.account, &token)
        .await?
        .ok_or(PageError::NotFound("there is no such payment"))?;
    if payment.status == PaymentStatus::Paid {
        return Ok(after_paid(&shopper, payment.order_id));
    }
    let page = PspPage {
        t: shopper.texts(),
        base: &shopper.base,
        csrf: &shopper.session.csrf,
        token: &token,
        order_id: payment.order_id,
        amount: payment.amount,
    };
    Ok(Html(page.render()?).into_response())
}

/// Where a paid order leads: its detail page, or the integrator's site with
/// `oncompletion=return` when the return URL may be followed.
fn after_paid(shopper: &Shopper, order: NumId) -> Response {
    let settings = &shopper.session.settings;
    if settings.on_completion == OnCompletion::Return && settings.return_url().is_some() {
        redirect(format!("{}/shop/return", shopper.base))
    } else {
        redirect(format!("{}/shop/order/{order}", shopper.base))
    }
}

/// The provider's answer. Paid confirms the order (`checkout_confirm`) and shows the
/// order detail (or returns to the site, with `oncompletion=return`); a repeated "Pay"
/// leads there again.
pub(crate) async fn finish(
    State(app): State<App>,
    Path((_account, token)): Path<(String, String)>,
    ShopForm { shopper, form }: ShopForm<OutcomeForm>,
) -> Result<Response, PageError> {
    valid_token(&token)?;
    let outcome = form.0;
    let checkout = format!("{}/shop/checkout", shopper.base);
    let payment = match app
        .shop
        .finish_payment(&shopper.account, &token, outcome, now(&app))
        .await
    {
        Ok(payment) => payment,
        Err(e) => return back_with(&format!("{}/shop/basket", shopper.base), e),
    };
    match outcome {
        PaymentOutcome::Paid => Ok(after_paid(&shopper, payment.order_id)),
        PaymentOutcome::Cancelled => Ok(redirect(format!("{checkout}?msg=cancelled"))),
        PaymentOutcome::Failed => Ok(redirect(format!("{checkout}?msg=failed"))),
    }
}

/// The order detail page (`pageview` `orderdetail`).
pub(crate) async fn order_page(
    State(app): State<App>,
    Path((account, order)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let shopper = shopper(&app, &account, &headers).await?;
    let order: NumId = order
        .parse()
        .map_err(|_| PageError::NotFound("there is no such order"))?;
    let view = app
        .shop
        .order_of_session(&shopper.account, &shopper.session.id, order)
        .await?
        .ok_or(PageError::NotFound("there is no such order"))?;
    app.shop
        .record_pageview(&shopper.session, "orderdetail", now(&app))
        .await?;
    let page = OrderPage {
        t: shopper.texts(),
        order_id: order,
        confirmed: view.status == OrderStatus::Confirmed,
        lines: SummaryLine::for_order(&view.state),
        total: view.state.totalamount,
        customer_name: view.customer_name.as_deref(),
        returnurl: shopper.session.settings.return_url(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "return.html")]
struct ReturnPage<'a> {
    t: &'static Texts,
    url: &'a str,
}

/// Back to the integrator's `returnurl`. A page of our own origin does it, because the
/// Content-Security-Policy lets forms submit only to this shop.
pub(crate) async fn return_page(
    State(app): State<App>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let shopper = shopper(&app, &account, &headers).await?;
    let url = shopper
        .session
        .settings
        .return_url()
        .ok_or(PageError::NotFound("this shop has no website to return to"))?;
    let page = ReturnPage {
        t: shopper.texts(),
        url,
    };
    Ok(Html(page.render()?).into_response())
}
