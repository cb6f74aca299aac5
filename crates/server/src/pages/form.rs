//! Submitted forms: the one extractor every shop POST goes through, and the redirect that
//! answers them.
//!
//! [`ShopForm`] resolves the shopper from the session cookie, checks the form's CSRF
//! token (so no handler can forget to) and parses the body into the handler's typed form.
//! A body with a repeated field, a field the form does not have, or a number written any
//! other way than plain digits without leading zeros is refused with a 400 page before
//! anything changes.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::NumId;
use shop::{PaymentOutcome, Quantities};

use super::error::{Missing, PageError};
use super::i18n::rule_key;
use super::session::{Shopper, shopper};
use crate::App;

/// No shop form is anywhere near this large.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// A checked form submission: who sent it, and what it says.
#[derive(Debug)]
pub(crate) struct ShopForm<F> {
    pub(crate) shopper: Shopper,
    pub(crate) form: F,
}

/// A form's fields, as one handler expects them.
pub(crate) trait FormBody: Sized {
    /// Takes this form's fields; whatever is left afterwards is refused as unknown.
    fn parse(fields: &mut Fields) -> Result<Self, PageError>;
}

impl<F: FormBody + Send> FromRequest<App> for ShopForm<F> {
    type Rejection = PageError;

    async fn from_request(req: Request, app: &App) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let path = RawPathParams::from_request_parts(&mut parts, app)
            .await
            .map_err(|_| PageError::NotFound(Missing::Shop))?;
        let account = path
            .iter()
            .find(|(name, _)| *name == "account")
            .map(|(_, value)| value.to_owned())
            .ok_or(PageError::NotFound(Missing::Shop))?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(PageError::NotAForm(
                "this page takes a form (application/x-www-form-urlencoded)".into(),
            ));
        }
        let shopper = shopper(app, &account, &parts.headers).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                PageError::TooLarge(format!(
                    "the form is too large (at most {} KiB)",
                    MAX_FORM_BYTES / 1024
                ))
            })?;
        let mut fields = Fields::parse(&bytes)?;
        shopper.check_csrf(fields.take("csrf").as_deref())?;
        let form = F::parse(&mut fields)?;
        fields.finish()?;
        Ok(ShopForm { shopper, form })
    }
}

/// The fields of a submitted form, each name at most once.
#[derive(Debug)]
pub(crate) struct Fields(BTreeMap<String, String>);

/// A number as a form writes it: digits, no sign, no spaces, no leading zero.
fn canonical(raw: &str) -> Option<u64> {
    let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = raw.len() > 1 && raw.starts_with('0');
    if !digits || leading_zero {
        return None;
    }
    raw.parse().ok()
}

impl Fields {
    fn parse(body: &[u8]) -> Result<Self, PageError> {
        let mut fields = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if fields.contains_key(name.as_ref()) {
                return Err(PageError::BadRequest(format!(
                    "form field {name} is given twice"
                )));
            }
            fields.insert(name.into_owned(), value.into_owned());
        }
        Ok(Fields(fields))
    }

    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    fn finish(self) -> Result<(), PageError> {
        match self.0.into_keys().next() {
            Some(name) => Err(PageError::BadRequest(format!(
                "form field {name} is unknown"
            ))),
            None => Ok(()),
        }
    }

    /// A required id.
    pub(crate) fn id(&mut self, name: &str) -> Result<NumId, PageError> {
        self.optional_id(name)?
            .ok_or_else(|| PageError::BadRequest(format!("form field {name} is missing")))
    }

    /// An id that may be missing (a radio choice left empty).
    pub(crate) fn optional_id(&mut self, name: &str) -> Result<Option<NumId>, PageError> {
        self.take(name)
            .map(|raw| {
                canonical(&raw).map(NumId).ok_or_else(|| {
                    PageError::BadRequest(format!("form field {name} must be a numeric id"))
                })
            })
            .transpose()
    }

    /// A required quantity; an empty input (a cleared number field) is 0.
    pub(crate) fn quantity(&mut self, name: &str) -> Result<u32, PageError> {
        let raw = self
            .take(name)
            .ok_or_else(|| PageError::BadRequest(format!("form field {name} is missing")))?;
        quantity(name, &raw)
    }

    /// Every `q_<tickettypepriceid>` quantity of a tickets form.
    pub(crate) fn ticket_quantities(&mut self) -> Result<Quantities, PageError> {
        let names: Vec<String> = self
            .0
            .keys()
            .filter(|n| n.starts_with("q_"))
            .cloned()
            .collect();
        let mut wanted = Quantities::new();
        for name in names {
            let id = name
                .strip_prefix("q_")
                .and_then(canonical)
                .ok_or_else(|| PageError::BadRequest(format!("form field {name} is unknown")))?;
            let raw = self.take(&name).unwrap_or_default();
            // Distinct names with canonical ids are distinct ids.
            wanted.insert(NumId(id), quantity(&name, &raw)?);
        }
        Ok(wanted)
    }
}

fn quantity(name: &str, raw: &str) -> Result<u32, PageError> {
    if raw.is_empty() {
        return Ok(0);
    }
    canonical(raw)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| PageError::BadRequest(format!("form field {name} must be a whole number")))
}

/// A form with no fields but its token.
#[derive(Debug)]
pub(crate) struct NoFields;

impl FormBody for NoFields {
    fn parse(_: &mut Fields) -> Result<Self, PageError> {
        Ok(NoFields)
    }
}

/// Ticket quantities of one event.
#[derive(Debug)]
pub(crate) struct TicketsForm {
    pub(crate) event: NumId,
    pub(crate) wanted: Quantities,
}

impl FormBody for TicketsForm {
    fn parse(fields: &mut Fields) -> Result<Self, PageError> {
        Ok(TicketsForm {
            event: fields.id("event")?,
            wanted: fields.ticket_quantities()?,
        })
    }
}

/// The quantity of one product.
#[derive(Debug)]
pub(crate) struct ProductForm {
    pub(crate) product: NumId,
    pub(crate) qty: u32,
}

impl FormBody for ProductForm {
    fn parse(fields: &mut Fields) -> Result<Self, PageError> {
        Ok(ProductForm {
            product: fields.id("product")?,
            qty: fields.quantity("qty")?,
        })
    }
}

/// The checkout form: the fields of the panels it shows. The page checks the values, so
/// that it can say what is wrong next to each field.
#[derive(Debug)]
pub(crate) struct CheckoutForm {
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) delivery: Option<NumId>,
    pub(crate) payment: Option<NumId>,
}

impl FormBody for CheckoutForm {
    fn parse(fields: &mut Fields) -> Result<Self, PageError> {
        Ok(CheckoutForm {
            name: fields.take("name"),
            email: fields.take("email"),
            delivery: fields.optional_id("deliveryscenario")?,
            payment: fields.optional_id("paymentscenario")?,
        })
    }
}

/// The language switch: the language, and the page to go back to.
#[derive(Debug)]
pub(crate) struct LanguageForm {
    pub(crate) lang: &'static str,
    pub(crate) back: Option<String>,
}

impl FormBody for LanguageForm {
    fn parse(fields: &mut Fields) -> Result<Self, PageError> {
        let lang = match fields.take("lang").as_deref() {
            Some("en") => "en",
            Some("nl") => "nl",
            _ => {
                return Err(PageError::BadRequest(
                    "form field lang must be en or nl".into(),
                ));
            }
        };
        Ok(LanguageForm {
            lang,
            back: fields.take("back"),
        })
    }
}

/// The test provider's answer.
#[derive(Debug)]
pub(crate) struct OutcomeForm(pub(crate) PaymentOutcome);

impl FormBody for OutcomeForm {
    fn parse(fields: &mut Fields) -> Result<Self, PageError> {
        let outcome = match fields.take("outcome").as_deref() {
            Some("paid") => PaymentOutcome::Paid,
            Some("cancelled") => PaymentOutcome::Cancelled,
            Some("failed") => PaymentOutcome::Failed,
            _ => {
                return Err(PageError::BadRequest(
                    "form field outcome must be paid, cancelled or failed".into(),
                ));
            }
        };
        Ok(OutcomeForm(outcome))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tickets(body: &str) -> Result<TicketsForm, PageError> {
        let mut fields = Fields::parse(body.as_bytes())?;
        let form = TicketsForm::parse(&mut fields)?;
        fields.finish()?;
        Ok(form)
    }

    #[test]
    fn numbers_must_be_canonical() {
        for ok in ["0", "5", "50", "4294967295"] {
            assert!(canonical(ok).is_some(), "{ok}");
        }
        for bad in ["", "05", "+5", " 5", "5 ", "-1", "0x5", "5.0", "١"] {
            assert_eq!(canonical(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_tickets_form_lists_each_price_once() {
        let form = tickets("event=10003&q_580=2&q_581=").unwrap();
        assert_eq!(form.event, NumId(10003));
        assert_eq!(
            form.wanted.into_iter().collect::<Vec<_>>(),
            [(NumId(580), 2), (NumId(581), 0)]
        );
        for forged in [
            "event=10003&q_580=0&q_580=0",
            "event=10003&q_0580=1",
            "event=10003&q_580=+5",
            "event=10003&q_580=%205",
            "event=10003&q_580=05",
            "event=10003&q_580=99999999999",
            "event=10003&q_580=1&colour=red",
            "event=010003&q_580=1",
            "event=10003&event=10004&q_580=1",
            "q_580=1",
            "event=10003&q_=1",
        ] {
            assert!(
                matches!(tickets(forged), Err(PageError::BadRequest(_))),
                "{forged}"
            );
        }
    }
}
