//! The webshop pages: signed widgets (`addtickets`, `basket`, `checkout`), public sales
//! flows, the basket, checkout, the built-in test payment provider and the order detail.
//!
//! Pages are server-rendered and work without JavaScript. Every response carries a strict
//! Content-Security-Policy and `Referrer-Policy: no-referrer` (a `ref` in the address
//! must not leak to other sites); the only cookie is the essential session cookie. Entry
//! URLs set the session and redirect to a clean URL, so a `ref` does not stay in the
//! address bar. Every change is a POST with the session's CSRF token, answered with a
//! redirect.

mod admission;
mod checkout;
mod current;
mod entry;
mod error;
mod form;
mod i18n;
mod media;
mod params;
mod psp;
mod query;
mod session;
mod shopping;
mod tickets;
mod views;

pub(crate) use session::now;

/// The page for an address no route knows (outside the API), in the browser's language.
pub(crate) fn not_found(headers: &axum::http::HeaderMap) -> axum::response::Response {
    error::PageError::NotFound(error::Missing::File).for_browser(headers)
}

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::App;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'self'";

pub(crate) fn router(app: App) -> Router {
    let limits = std::sync::Arc::new(admission::PageLimits::new(&app.config));
    let pages = Router::new()
        .route("/widgets/{account}/flow/{flow}", get(entry::flow))
        .route("/widgets/{account}/{widget}", get(entry::widget))
        .route(
            "/widgets/{account}/shop/tickets",
            get(shopping::tickets_page).post(shopping::set_tickets),
        )
        .route("/widgets/{account}/shop/basket", get(shopping::basket_page))
        .route(
            "/widgets/{account}/shop/basket/tickets",
            post(shopping::basket_tickets),
        )
        .route(
            "/widgets/{account}/shop/basket/products",
            post(shopping::basket_products),
        )
        .route(
            "/widgets/{account}/shop/checkout",
            get(checkout::checkout_page).post(checkout::submit),
        )
        .route(
            "/widgets/{account}/shop/checkout/start",
            post(checkout::start),
        )
        .route("/widgets/{account}/shop/language", post(shopping::language))
        .route(
            "/widgets/{account}/psp/{token}",
            get(psp::page).post(psp::finish),
        )
        .route(
            "/widgets/{account}/shop/order/{order}",
            get(psp::order_page),
        )
        .route("/widgets/{account}/shop/return", get(psp::return_page))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            error::localize,
        ))
        .with_state(app.clone())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            limits,
            admission::limit,
        ));
    Router::new()
        .route("/", get(media::home))
        .route("/static/style.css", get(stylesheet))
        .route("/static/favicon.svg", get(media::favicon))
        .route("/favicon.ico", get(media::favicon))
        .route("/media/{account}/{file}", get(media::file))
        .with_state(app)
        .merge(pages)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
}
