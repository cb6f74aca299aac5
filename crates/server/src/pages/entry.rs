//! Entering the shop: a signed widget URL or a public sales-flow URL. The entry checks
//! the signature and the parameters, opens (or continues) the session with its `ref`, sets
//! the cookie and redirects to the page, so the `ref` leaves the address bar.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::{AccountName, NumId, widget_signature_valid};
use shop::{Entry, KeyKind, WidgetSettings};

use super::error::{Missing, PageError};
use super::params;
use super::query::QueryParams;
use super::session::{account_name, base_path, cookie_session, now, set_cookie};
use crate::App;

/// Where an entry leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Landing {
    Tickets,
    Basket,
    Checkout,
}

/// `GET /widgets/{account}/{widget}?...&accesskey=AK&signature=SIG`
pub(crate) async fn widget(
    State(app): State<App>,
    Path((account, widget)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let landing = match widget.as_str() {
        "addtickets" => Landing::Tickets,
        "basket" => Landing::Basket,
        "checkout" => Landing::Checkout,
        _ => return Err(PageError::NotFound(Missing::Widget)),
    };
    let account = account_name(&account)?;
    let query = QueryParams::parse(query.as_deref())?;
    verify_signature(&app, &account, &query).await?;
    let how = Entering {
        flow_default: "checkout",
        landing,
        signed: true,
    };
    enter(&app, account, &query, how, &headers).await
}

/// `GET /widgets/{account}/flow/{flow}?event=...`: the public link to a whole sales flow.
pub(crate) async fn flow(
    State(app): State<App>,
    Path((account, flow)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let account = account_name(&account)?;
    if flow.is_empty()
        || flow.len() > 64
        || !flow
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(PageError::NotFound(Missing::Flow));
    }
    let query = QueryParams::parse(query.as_deref())?;
    let how = Entering {
        flow_default: "basketwithcheckout",
        landing: Landing::Tickets,
        signed: false,
    };
    enter(&app, account, &query, how, &headers).await
}

async fn verify_signature(
    app: &App,
    account: &AccountName,
    query: &QueryParams,
) -> Result<(), PageError> {
    let (Some(accesskey), Some(signature)) = (query.get("accesskey"), query.get("signature"))
    else {
        return Err(PageError::BadSignature);
    };
    let key = app.shop.find_key(accesskey).await?;
    let Some(key) = key.filter(|k| k.kind == KeyKind::Widget && &k.account == account) else {
        return Err(PageError::BadSignature);
    };
    let reference = query.reference().map(|r| ("ref", r.as_str()));
    let params = query
        .pairs()
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(reference);
    if widget_signature_valid(
        account.as_str(),
        accesskey,
        key.pair.secretkey.expose(),
        params,
        signature,
    ) {
        Ok(())
    } else {
        Err(PageError::BadSignature)
    }
}

/// How an entry came in.
#[derive(Debug, Clone, Copy)]
struct Entering {
    /// The `flow` when the URL names none.
    flow_default: &'static str,
    landing: Landing,
    /// The URL carried a valid widget signature, so its parameters are the integrator's.
    signed: bool,
}

/// Whether the shop may send shoppers to the entry's return URL: one from a signed widget
/// URL, or one whose host the account lists in its catalog's `return_hosts`.
async fn allow_return(
    app: &App,
    account: &AccountName,
    settings: &mut WidgetSettings,
    signed: bool,
) -> Result<(), PageError> {
    let Some(ret) = settings.return_url.as_mut() else {
        return Ok(());
    };
    let host = params::return_host(&ret.url)?;
    ret.followable = signed || app.shop.return_hosts(account).await?.contains(&host);
    if !ret.followable {
        tracing::warn!(
            %account,
            %host,
            "returnurl ignored: an unsigned URL named a host the catalog's return_hosts does not list"
        );
    }
    Ok(())
}

async fn enter(
    app: &App,
    account: AccountName,
    query: &QueryParams,
    how: Entering,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let landing = how.landing;
    if app.shop.account(&account).await?.is_none() {
        return Err(PageError::NotFound(Missing::Shop));
    }
    let requested_channel = match query.get("saleschannelid") {
        Some(v) => Some(v.parse::<NumId>().map_err(|_| {
            PageError::BadRequest("parameter saleschannelid must be a numeric id".into())
        })?),
        None => None,
    };
    let saleschannel = app.shop.saleschannel(&account, requested_channel).await?;
    if requested_channel.is_some() && saleschannel.is_none() {
        return Err(PageError::BadRequest(
            "parameter saleschannelid is not a sales channel of this shop".into(),
        ));
    }
    let parsed = params::parse(query, how.flow_default, saleschannel)?;
    let mut settings = parsed.settings;
    allow_return(app, &account, &mut settings, how.signed).await?;
    let event = settings.event;
    if let Some(event) = event {
        if app.shop.event_offer(&account, event).await?.is_none() {
            return Err(PageError::NotFound(Missing::Event));
        }
    } else if landing == Landing::Tickets {
        return Err(PageError::BadRequest("parameter event is required".into()));
    }
    let session = app
        .shop
        .enter_session(
            &account,
            cookie_session(headers),
            Entry {
                reference: query.reference().cloned(),
                params: parsed.params,
                settings,
                lang: query.get("l").unwrap_or("en").to_owned(),
            },
            now(app),
        )
        .await?;
    let base = base_path(&account);
    let location = match (landing, event) {
        (Landing::Tickets, Some(event)) => format!("{base}/shop/tickets?event={event}"),
        (Landing::Checkout, _) => format!("{base}/shop/checkout"),
        _ => format!("{base}/shop/basket"),
    };
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&account, &session.id, headers),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
