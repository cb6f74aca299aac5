//! The pages' one error type: an HTML page with the right status in the shopper's
//! language and a way forward, never a stack trace. Server faults are logged here, once.
//!
//! A handler's error first renders in English (it may not know the shopper); the
//! [`localize`] middleware then renders it again in the session's language (or the entry
//! URL's `l`), with a link back into the shop when there is a session to go back to.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use protocol::AccountName;

use super::i18n::{Texts, rule_key};
use super::session::{base_path, cookie_session};
use super::views::{ErrorPage, Frame};
use crate::App;

/// What the shopper looked for and is not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    Shop,
    Widget,
    Flow,
    Event,
    Payment,
    Order,
    ReturnSite,
    File,
}

#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum PageError {
    /// A request the shop cannot read (a forged form, a broken link); the detail names
    /// the parameter or field, in English, for whoever debugs the link.
    #[error("{0}")]
    BadRequest(String),
    /// A body that is not a form where a page takes one (415).
    #[error("{0}")]
    NotAForm(String),
    /// A form larger than a page takes (413).
    #[error("{0}")]
    TooLarge(String),
    /// A shop rule the shopper ran into where no page could show it as a message.
    #[error("{0}")]
    Rule(shop::ShopRule),
    #[error(
        "this widget link is not signed correctly: ask the website that sent you here for a new link"
    )]
    BadSignature,
    #[error("this form has expired or did not come from this shop: reload the page and try again")]
    FormExpired,
    #[error("not found: {0:?}")]
    NotFound(Missing),
    #[error("your session has expired: please start again from the original link")]
    NoSession,
    #[error("too many requests from your address: please wait a moment and try again")]
    TooManyRequests { retry_after: u64 },
    /// A store cannot be reached for now; nothing was changed. The detail goes to the log.
    #[error(
        "the shop is briefly unavailable and nothing was changed: please try again in a moment"
    )]
    Unavailable(String),
    #[error("something went wrong on our side; please try again")]
    Internal(String),
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) | PageError::Rule(_) => StatusCode::BAD_REQUEST,
            PageError::NotAForm(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PageError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            PageError::BadSignature | PageError::FormExpired | PageError::NoSession => {
                StatusCode::FORBIDDEN
            }
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message in the shopper's language, and a detail in English when it helps.
    fn words(&self, t: &'static Texts) -> (&'static str, Option<String>) {
        match self {
            PageError::BadRequest(detail)
            | PageError::NotAForm(detail)
            | PageError::TooLarge(detail) => (t.err_bad_request, Some(detail.clone())),
            PageError::Rule(rule) => (
                t.message(Some(rule_key(rule))).unwrap_or(t.err_bad_request),
                None,
            ),
            PageError::BadSignature => (t.err_bad_signature, None),
            PageError::FormExpired => (t.err_form_expired, None),
            PageError::NotFound(missing) => (
                match missing {
                    Missing::Shop => t.err_no_shop,
                    Missing::Widget => t.err_no_widget,
                    Missing::Flow => t.err_no_flow,
                    Missing::Event => t.err_event_not_on_sale,
                    Missing::Payment => t.err_no_payment,
                    Missing::Order => t.err_no_order,
                    Missing::ReturnSite => t.err_no_return,
                    Missing::File => t.err_no_page,
                },
                None,
            ),
            PageError::NoSession => (t.err_no_session, None),
            PageError::TooManyRequests { .. } => (t.err_too_many, None),
            PageError::Unavailable(_) => (t.err_unavailable, None),
            PageError::Internal(_) => (t.err_internal, None),
        }
    }

    /// The error page in `t`'s language, with a link back to the shop when given.
    fn render(
        &self,
        t: &'static Texts,
        organiser: Option<String>,
        way_back: Option<String>,
    ) -> Response {
        let status = self.status();
        let (message, detail) = self.words(t);
        let status_text = format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error")
        );
        let page = ErrorPage {
            frame: Frame::new(t, status_text.clone()).organiser(organiser),
            status: &status_text,
            message,
            detail: detail.as_deref(),
            way_back,
        };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        };
        let retry_after = match self {
            PageError::TooManyRequests { retry_after } => Some(*retry_after),
            // Reconnecting takes about a second.
            PageError::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after
            && let Ok(seconds) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        response
    }
}

impl PageError {
    /// The error page in the language the browser prefers, for answers given before (or
    /// without) a session: the rate limit's 429, and addresses no route knows.
    pub(crate) fn for_browser(self, headers: &HeaderMap) -> Response {
        let accepted = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        self.render(Texts::for_lang(Texts::accepted(accepted)), None, None)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match &self {
            PageError::Internal(detail) => tracing::error!(error = %detail, "page failed"),
            PageError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "page failed: store unavailable");
            }
            _ => {}
        }
        let mut response = self.render(Texts::for_lang(None), None, None);
        response.extensions_mut().insert(self);
        response
    }
}

/// The language an entry URL asks for (`l=`), read without decoding: only `en` and `nl`
/// mean anything.
fn lang_hint(query: Option<&str>) -> Option<&'static str> {
    let query = query?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("l="))
        .map(|l| Texts::for_lang(Some(l)).lang)
}

/// The account of a `/widgets/{account}/...` path.
fn account_of(path: &str) -> Option<AccountName> {
    let rest = path.strip_prefix("/widgets/")?;
    AccountName::parse(rest.split('/').next()?).ok()
}

/// Renders an error page again in the shopper's language with a way back into the shop.
pub(crate) async fn localize(State(app): State<App>, request: Request, next: Next) -> Response {
    let hint = lang_hint(request.uri().query());
    let account = account_of(request.uri().path());
    let cookie = cookie_session(request.headers());
    let accepted = Texts::accepted(
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut response = next.run(request).await;
    let Some(error) = response.extensions_mut().remove::<PageError>() else {
        return response;
    };
    let Some(account) = account else {
        return response;
    };
    let session = match cookie {
        Some(id) => app.shop.session(&account, &id).await.ok().flatten(),
        None => None,
    };
    let lang = hint
        .or(session.as_ref().map(|s| s.lang.as_str()))
        .or(accepted);
    let t = Texts::for_lang(lang);
    let base = base_path(&account);
    let way_back = session.map(|s| match s.settings.event {
        Some(event) => format!("{base}/shop/tickets?event={event}"),
        None => format!("{base}/shop/basket"),
    });
    let organiser = app.shop.organiser(&account).await.ok().and_then(|o| o.name);
    let mut localized = error.render(t, organiser, way_back);
    for name in [header::RETRY_AFTER, header::SET_COOKIE] {
        if let Some(value) = response.headers().get(&name) {
            localized.headers_mut().insert(name, value.clone());
        }
    }
    localized
}

impl From<shop::Error> for PageError {
    fn from(e: shop::Error) -> Self {
        match e {
            shop::Error::NoSession => PageError::NoSession,
            shop::Error::Rule(rule) => PageError::Rule(rule),
            other if other.is_unavailable() => PageError::Unavailable(other.to_string()),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(format!("template: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_and_account_come_from_the_address() {
        assert_eq!(lang_hint(Some("event=1&l=nl")), Some("nl"));
        assert_eq!(lang_hint(Some("l=fr")), Some("en"));
        assert_eq!(lang_hint(Some("event=1")), None);
        assert_eq!(lang_hint(None), None);
        assert_eq!(
            account_of("/widgets/demo/shop/basket").map(|a| a.to_string()),
            Some("demo".to_owned())
        );
        assert_eq!(account_of("/widgets/BAD!/x"), None);
        assert_eq!(account_of("/static/style.css"), None);
    }
}
