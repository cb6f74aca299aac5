//! The checkout form, the test payment provider and the order page: the end of a
//! journey. The form's panels are recorded when their values are new, in one request
//! with the payment's start; a cancelled or failed payment returns to the checkout, from
//! where the shopper sends the form again as it stands (only a new
//! `checkout_initiatepayment`).

use protocol::ActionType;
use rand::Rng;
use reqwest::Url;

use super::html::{Form, Page};
use super::journey::{required, with_value};
use super::plan::{Outcome, Plan, Stage};
use super::shopper::{Loaded, Shopper, Stop, Submitted};

/// The form of the checkout page.
const FORM: &str = "checkout-details";

/// From the checkout page at `url` to the paid order. `Ok` means the order was paid.
pub(crate) async fn finish(s: &mut Shopper, plan: &Plan, url: Url) -> Result<(), Stop> {
    let mut page = checkout_page(s, url).await?;
    if plan.abandons_at(Stage::Checkout) {
        return Err(Stop::Abandoned);
    }
    let form = required(s, &page, FORM)?;
    if plan.bad_email && form.value("email").is_some() {
        let fields = filled(s, &form, "not an e-mail address");
        page = refused(s, &form, fields).await?;
    }
    if plan.abandons_at(Stage::Details) {
        return Err(Stop::Abandoned);
    }
    let email = format!("shopper{}@example.test", s.number);
    let form = required(s, &page, FORM)?;
    let mut fields = Some(filled(s, &form, &email));
    for &outcome in &plan.payments {
        page = match pay(s, plan, &page, fields.take(), outcome).await? {
            Some(page) => page,
            None => return Ok(()),
        };
    }
    // Out of attempts without paying: the shopper gives up.
    Err(Stop::Abandoned)
}

/// The checkout page; when the shop sends the shopper away instead (an empty basket), the
/// shopper follows and gives up.
async fn checkout_page(s: &mut Shopper, url: Url) -> Result<Page, Stop> {
    match s.get(url, true).await? {
        Loaded::Page(page) => Ok(page),
        Loaded::Redirect(to) => {
            s.page(to).await?;
            Err(Stop::Abandoned)
        }
    }
}

/// The form with a name, `email` and a random choice in every radio panel it shows.
fn filled(s: &mut Shopper, form: &Form, email: &str) -> Vec<(String, String)> {
    let mut fields = form.fields();
    if form.value("name").is_some() {
        fields = with_value(fields, "name", &format!("Shopper {}", s.number));
        fields = with_value(fields, "email", email);
    }
    for panel in ["deliveryscenario", "paymentscenario"] {
        let choices = form.choices(panel);
        if choices.is_empty() {
            continue;
        }
        let choice = choices[s.rng.gen_range(0..choices.len())].to_owned();
        fields = with_value(fields, panel, &choice);
    }
    fields
}

/// Sends a form the shop must refuse (an invalid e-mail address): the page comes back
/// with the error, and nothing is recorded.
async fn refused(
    s: &mut Shopper,
    form: &Form,
    fields: Vec<(String, String)>,
) -> Result<Page, Stop> {
    match s.submit_form(form, &fields, &[]).await? {
        Submitted::Invalid(page) => Ok(page),
        Submitted::Redirect(sent) => Err(s.fail(
            &[],
            format!("an invalid e-mail address led to {}", sent.location.path()),
        )),
    }
}

/// One payment attempt from the checkout `page`. Returns the checkout page to try again
/// from, or `None` once the order is paid and its page shown.
async fn pay(
    s: &mut Shopper,
    plan: &Plan,
    page: &Page,
    fields: Option<Vec<(String, String)>>,
    outcome: Outcome,
) -> Result<Option<Page>, Stop> {
    let form = required(s, page, FORM)?;
    // The first time, the filled-in panels are new; later the form is sent as it stands
    // (its fields hold what the order has), so only the payment starts again.
    let (fields, mut actions) = match fields {
        Some(fields) => {
            let mut panels = Vec::new();
            if form.value("name").is_some() {
                panels.push(ActionType::CheckoutAddCustomerInfo);
            }
            if !form.choices("deliveryscenario").is_empty() {
                panels.push(ActionType::CheckoutAddDeliveryInfo);
            }
            if !form.choices("paymentscenario").is_empty() {
                panels.push(ActionType::CheckoutAddPaymentInfo);
            }
            (fields, panels)
        }
        None => (form.fields(), Vec::new()),
    };
    actions.push(ActionType::CheckoutInitiatePayment);
    let sent = match s.submit_form(&form, &fields, &actions).await? {
        Submitted::Redirect(sent) => sent,
        Submitted::Invalid(_) => {
            return Err(s.fail(&actions, "the checkout form was refused".to_owned()));
        }
    };
    if sent.refused {
        // The reservation ran out meanwhile: the shopper reads the message and leaves.
        s.page(sent.location).await?;
        return Err(Stop::Abandoned);
    }
    for action in actions {
        s.tally.acknowledge(action);
    }

    let provider = match s.get(sent.location, false).await? {
        Loaded::Page(page) => page,
        Loaded::Redirect(to) => {
            return Err(s.fail(
                &[],
                format!("the payment provider redirected to {}", to.path()),
            ));
        }
    };
    if plan.abandons_at(Stage::Provider) {
        return Err(Stop::Abandoned);
    }
    let form = provider
        .forms_by_class("psp")
        .into_iter()
        .find(|f| f.value("outcome") == Some(outcome.as_str()))
        .cloned();
    let Some(form) = form else {
        return Err(s.fail(
            &[],
            format!("the provider offers no {:?}", outcome.as_str()),
        ));
    };
    let confirm: &[ActionType] = match outcome {
        Outcome::Paid => &[ActionType::CheckoutConfirm],
        Outcome::Cancelled | Outcome::Failed => &[],
    };
    let sent = s.submit(&form, &form.fields(), confirm).await?;
    match outcome {
        Outcome::Paid if sent.refused => {
            // The reservation ran out before the payment: back to the basket, and away.
            s.page(sent.location).await?;
            Err(Stop::Abandoned)
        }
        Outcome::Paid => {
            s.tally.acknowledge(ActionType::CheckoutConfirm);
            if sent.location.path().contains("/shop/order/") {
                s.tally.orders_confirmed += 1;
                s.page(sent.location).await?;
            } else {
                // `oncompletion=return`: a page that records nothing.
                s.get(sent.location, false).await?;
            }
            Ok(None)
        }
        Outcome::Cancelled | Outcome::Failed => checkout_page(s, sent.location).await.map(Some),
    }
}
