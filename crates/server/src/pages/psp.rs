//! The built-in test payment provider, the order detail page the shopper comes back to
//! (with a printable ticket per seat), and the way back to the integrator's site.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use protocol::NumId;
use shop::{OnCompletion, OrderStatus, OrderView, PaymentOutcome, PaymentStatus, plausible_code};

use super::current::{catalog, events_of};
use super::error::{Missing, PageError};
use super::form::{OutcomeForm, ShopForm, back_with, redirect};
use super::i18n::money;
use super::session::{Shopper, now, shopper};
use super::tickets::printed_tickets;
use super::views::{Frame, OrderPage, PspPage, ReturnPage, Step, Summary};
use crate::App;

fn valid_token(token: &str) -> Result<(), PageError> {
    if token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(PageError::NotFound(Missing::Payment))
    }
}

/// The session's order `id` (payments name orders by id).
async fn order_by_id(app: &App, shopper: &Shopper, id: NumId) -> Result<OrderView, PageError> {
    app.shop
        .order_of_session(&shopper.account, &shopper.session.id, id)
        .await?
        .ok_or(PageError::NotFound(Missing::Payment))
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
        .ok_or(PageError::NotFound(Missing::Payment))?;
    let order = order_by_id(&app, &shopper, payment.order_id).await?;
    if payment.status == PaymentStatus::Paid {
        return Ok(after_paid(&shopper, &order.code));
    }
    let t = shopper.texts();
    let catalog = catalog(&app, &shopper, &events_of(&order.state)).await?;
    let here = format!("{}/psp/{token}", shopper.base);
    let page = PspPage {
        frame: shopper
            .frame(t.psp_title, Some(Step::Payment), here)
            .await?,
        base: &shopper.base,
        csrf: &shopper.session.csrf,
        token: &token,
        order_code: order.code.clone(),
        amount: money(payment.amount, t),
        summary: Summary::new(&order.state, &catalog, t),
    };
    Ok(Html(page.render()?).into_response())
}

/// Where a paid order leads: its detail page, or the integrator's site with
/// `oncompletion=return` when the return URL may be followed.
fn after_paid(shopper: &Shopper, code: &str) -> Response {
    let settings = &shopper.session.settings;
    if settings.on_completion == OnCompletion::Return && settings.return_url().is_some() {
        redirect(format!("{}/shop/return", shopper.base))
    } else {
        redirect(format!("{}/shop/order/{code}", shopper.base))
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
        PaymentOutcome::Paid => {
            let order = order_by_id(&app, &shopper, payment.order_id).await?;
            Ok(after_paid(&shopper, &order.code))
        }
        PaymentOutcome::Cancelled => Ok(redirect(format!("{checkout}?msg=cancelled"))),
        PaymentOutcome::Failed => Ok(redirect(format!("{checkout}?msg=failed"))),
    }
}

/// The order detail page (`pageview` `orderdetail`): what was bought, how the tickets
/// arrive, how it was paid, and the tickets themselves.
pub(crate) async fn order_page(
    State(app): State<App>,
    Path((account, code)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let shopper = shopper(&app, &account, &headers).await?;
    if !plausible_code(&code) {
        return Err(PageError::NotFound(Missing::Order));
    }
    let view = app
        .shop
        .order_by_code(&shopper.account, &shopper.session.id, &code)
        .await?
        .ok_or(PageError::NotFound(Missing::Order))?;
    app.shop
        .record_pageview(&shopper.session, "orderdetail", now(&app))
        .await?;
    let t = shopper.texts();
    let catalog = catalog(&app, &shopper, &events_of(&view.state)).await?;
    let (deliveries, payments) = app.shop.scenarios(&shopper.account).await?;
    let name_of = |found: Option<&shop::Text>| {
        found.map_or_else(|| "—".to_owned(), |name| name.in_lang(t.lang).to_owned())
    };
    let delivery = name_of(
        deliveries
            .iter()
            .find(|d| Some(d.id) == view.state.deliveryscenarioid)
            .map(|d| &d.name),
    );
    let payment = name_of(
        payments
            .iter()
            .find(|p| Some(p.id) == view.state.paymentscenarioid)
            .map(|p| &p.name),
    );
    let confirmed = view.status == OrderStatus::Confirmed;
    let here = format!("{}/shop/order/{code}", shopper.base);
    let step = confirmed.then_some(Step::Done);
    let title = format!("{} {}", t.order, view.code);
    let page = OrderPage {
        frame: shopper.frame(title, step, here).await?,
        code: &view.code,
        confirmed,
        expired: view.status == OrderStatus::Expired,
        summary: Summary::new(&view.state, &catalog, t),
        delivery,
        email: view.customer_email.as_deref(),
        customer_name: view.customer_name.as_deref(),
        payment,
        tickets: printed_tickets(&view, &catalog, t),
        returnurl: shopper.session.settings.return_url(),
    };
    Ok(Html(page.render()?).into_response())
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
        .ok_or(PageError::NotFound(Missing::ReturnSite))?;
    let t = shopper.texts();
    let page = ReturnPage {
        frame: Frame::new(t, t.back_to_site),
        url,
    };
    Ok(Html(page.render()?).into_response())
}
