//! The essential session cookie and the CSRF check of forms.

use axum::http::{HeaderMap, HeaderValue, header};
use protocol::{AccountName, NumId, Timestamp, constant_time_eq};
use shop::{OrderView, Session, ShopCatalog};

use super::error::{Missing, PageError};
use super::i18n::Texts;
use super::views::{Frame, Step, Switch};
use crate::App;

pub(crate) const COOKIE: &str = "ts_session";

/// The shopper behind a request: the account of the URL and the session of the cookie,
/// with the session's current order and the shop's catalog, all read in one snapshot
/// (`ShopStore::visit`) when the request came in.
#[derive(Debug)]
pub(crate) struct Shopper {
    pub(crate) account: AccountName,
    pub(crate) session: Session,
    /// The session's current order, whatever its status.
    pub(crate) order: Option<OrderView>,
    pub(crate) catalog: ShopCatalog,
    /// `/widgets/{account}`: where this account's pages live.
    pub(crate) base: String,
}

impl Shopper {
    pub(crate) fn texts(&self) -> &'static Texts {
        Texts::for_lang(Some(&self.session.lang))
    }

    /// The frame of a page of this shopper: the organiser, the language switch back to
    /// `here` (a path of this account's pages) and, for a page of the purchase, the step.
    pub(crate) async fn frame(
        &self,
        title: impl Into<String>,
        step: Option<Step>,
        here: String,
    ) -> Result<Frame, PageError> {
        let organiser = self.catalog.organiser().name.clone();
        let frame = Frame::new(self.texts(), title)
            .organiser(organiser)
            .switch(Switch {
                base: self.base.clone(),
                csrf: self.session.csrf.clone(),
                back: here,
            });
        Ok(match step {
            Some(step) => frame.at(step),
            None => frame,
        })
    }

    /// Refuses a form whose token is not this session's.
    pub(crate) fn check_csrf(&self, token: Option<&str>) -> Result<(), PageError> {
        let ok =
            token.is_some_and(|t| constant_time_eq(t.as_bytes(), self.session.csrf.as_bytes()));
        if ok {
            Ok(())
        } else {
            Err(PageError::FormExpired)
        }
    }
}

pub(crate) fn account_name(raw: &str) -> Result<AccountName, PageError> {
    AccountName::parse(raw).map_err(|_| PageError::NotFound(Missing::Shop))
}

pub(crate) fn base_path(account: &AccountName) -> String {
    format!("/widgets/{account}")
}

/// The session id in the request's cookie, if any.
pub(crate) fn cookie_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value: HttpOnly, SameSite=Lax, scoped to the account's pages, Secure
/// when the request came over HTTPS (directly or through a proxy that says so).
pub(crate) fn set_cookie(account: &AccountName, session: &str, headers: &HeaderMap) -> HeaderValue {
    let https = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let secure = if https { "; Secure" } else { "" };
    let value =
        format!("{COOKIE}={session}; Path=/widgets/{account}; HttpOnly; SameSite=Lax{secure}");
    // Built only from hex and a validated account name.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The shopper of a request to a page inside a session.
pub(crate) async fn shopper(
    app: &App,
    account: &str,
    headers: &HeaderMap,
) -> Result<Shopper, PageError> {
    shopper_at(app, account, headers, None).await
}

/// The shopper of a request to a page that shows `event` (its seats are read with the
/// rest).
pub(crate) async fn shopper_at(
    app: &App,
    account: &str,
    headers: &HeaderMap,
    event: Option<NumId>,
) -> Result<Shopper, PageError> {
    let account = account_name(account)?;
    let id = cookie_session(headers).ok_or(PageError::NoSession)?;
    let visit = app
        .shop
        .visit(&account, &id, event)
        .await?
        .ok_or(PageError::NoSession)?;
    let base = base_path(&account);
    Ok(Shopper {
        account,
        session: visit.session,
        order: visit.order,
        catalog: visit.catalog,
        base,
    })
}

pub(crate) fn now(app: &App) -> Timestamp {
    Timestamp::from_unix_ms(i64::try_from(app.clock.now_ms()).unwrap_or(i64::MAX))
}
