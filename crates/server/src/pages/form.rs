//! Submitted forms and the redirect that answers them.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::NumId;

use super::error::PageError;
use super::i18n::rule_key;
use super::session::{Shopper, shopper};
use crate::App;

/// The fields of a submitted form, in the order sent.
#[derive(Debug)]
pub(crate) struct Fields(pub(crate) Vec<(String, String)>);

impl Fields {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn id(&self, name: &str) -> Result<NumId, PageError> {
        self.get(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| PageError::BadRequest(format!("form field {name} must be a numeric id")))
    }

    pub(crate) fn quantity(&self, name: &str) -> Result<u32, PageError> {
        let raw = self.get(name).unwrap_or("0").trim();
        if raw.is_empty() {
            return Ok(0);
        }
        raw.parse::<u32>()
            .map_err(|_| PageError::BadRequest(format!("form field {name} must be a whole number")))
    }

    /// The `q_<tickettypepriceid>` quantities of a tickets form.
    pub(crate) fn ticket_quantities(&self) -> Result<Vec<(NumId, u32)>, PageError> {
        self.0
            .iter()
            .filter_map(|(name, _)| name.strip_prefix("q_").map(|id| (name, id)))
            .map(|(name, id)| {
                let id = id
                    .parse()
                    .map_err(|_| PageError::BadRequest(format!("form field {name} is unknown")))?;
                Ok((id, self.quantity(name)?))
            })
            .collect()
    }
}

/// `303 See Other` to a page of this shop.
pub(crate) fn redirect(location: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Back to `page` with the message for a shop rule the shopper ran into; other errors
/// become an error page.
pub(crate) fn back_with(page: &str, error: shop::Error) -> Result<Response, PageError> {
    match error {
        shop::Error::Rule(rule) => {
            let sep = if page.contains('?') { '&' } else { '?' };
            Ok(redirect(format!("{page}{sep}msg={}", rule_key(&rule))))
        }
        other => Err(other.into()),
    }
}

/// After a change: on to `page`, or back to it with the message of the rule it broke.
pub(crate) fn then_to<T>(
    result: Result<T, shop::Error>,
    page: String,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(redirect(page)),
        Err(e) => back_with(&page, e),
    }
}

/// The shopper of a form submission, after checking its CSRF token.
pub(crate) async fn form_shopper(
    app: &App,
    account: &str,
    headers: &HeaderMap,
    fields: Vec<(String, String)>,
) -> Result<(Shopper, Fields), PageError> {
    let shopper = shopper(app, account, headers).await?;
    let fields = Fields(fields);
    shopper.check_csrf(fields.get("csrf"))?;
    Ok((shopper, fields))
}
