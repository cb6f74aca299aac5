//! The checkout panels, the test payment provider and the order page: the end of a
//! journey. A cancelled or failed payment returns to the checkout, from where the shopper
//! may pay again (a new `checkout_initiatepayment`).

use protocol::ActionType;
use rand::Rng;
use reqwest::Url;

use super::html::Page;
use super::journey::{required, with_value};
use super::plan::{Outcome, Plan, Stage};
use super::shopper::{Loaded, Shopper, Stop};

/// From the checkout page at `url` to the paid order. `Ok` means the order was paid.
pub(crate) async fn finish(s: &mut Shopper, plan: &Plan, url: Url) -> Result<(), Stop> {
    let mut page = checkout_page(s, url).await?;
    if plan.abandons_at(Stage::Checkout) {
        return Err(Stop::Abandoned);
    }
    if page.form_by_id("customer-form").is_some() {
        if plan.bad_email {
            page = customer(s, &page, "not an e-mail address").await?;
        }
        let email = format!("shopper{}@example.test", s.number);
        page = customer(s, &page, &email).await?;
    }
    if plan.abandons_at(Stage::Customer) {
        return Err(Stop::Abandoned);
    }
    if page.form_by_id("delivery-form").is_some() {
        page = choose(
            s,
            &page,
            "delivery-form",
            "deliveryscenario",
            ActionType::CheckoutAddDeliveryInfo,
        )
        .await?;
    }
    if plan.abandons_at(Stage::Delivery) {
        return Err(Stop::Abandoned);
    }
    if page.form_by_id("payment-form").is_some() {
        page = choose(
            s,
            &page,
            "payment-form",
            "paymentscenario",
            ActionType::CheckoutAddPaymentInfo,
        )
        .await?;
    }
    if plan.abandons_at(Stage::Payment) {
        return Err(Stop::Abandoned);
    }
    for &outcome in &plan.payments {
        page = match pay(s, plan, &page, outcome).await? {
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

/// Submits the customer panel; an invalid address is refused (nothing recorded).
async fn customer(s: &mut Shopper, page: &Page, email: &str) -> Result<Page, Stop> {
    let form = required(s, page, "customer-form")?;
    let name = format!("Shopper {}", s.number);
    let fields = with_value(form.fields(), "name", &name);
    let fields = with_value(fields, "email", email);
    let action = ActionType::CheckoutAddCustomerInfo;
    let sent = s
        .submit(&form, &fields, std::slice::from_ref(&action))
        .await?;
    if !sent.refused {
        s.tally.acknowledge(action);
    }
    checkout_page(s, sent.location).await
}

/// Picks one option of a radio panel (delivery or payment) and submits it.
async fn choose(
    s: &mut Shopper,
    page: &Page,
    id: &str,
    name: &str,
    action: ActionType,
) -> Result<Page, Stop> {
    let form = required(s, page, id)?;
    let choices = form.choices(name);
    if choices.is_empty() {
        return Err(s.fail(&[], format!("form #{id} offers no {name}")));
    }
    let choice = choices[s.rng.gen_range(0..choices.len())].to_owned();
    let fields = with_value(form.fields(), name, &choice);
    let sent = s
        .submit(&form, &fields, std::slice::from_ref(&action))
        .await?;
    if !sent.refused {
        s.tally.acknowledge(action);
    }
    checkout_page(s, sent.location).await
}

/// One payment attempt from the checkout `page`. Returns the checkout page to try again
/// from, or `None` once the order is paid and its page shown.
async fn pay(
    s: &mut Shopper,
    plan: &Plan,
    page: &Page,
    outcome: Outcome,
) -> Result<Option<Page>, Stop> {
    let form = required(s, page, "pay-form")?;
    let initiate = ActionType::CheckoutInitiatePayment;
    let sent = s
        .submit(&form, &form.fields(), std::slice::from_ref(&initiate))
        .await?;
    if sent.refused {
        // A panel is missing after all: the shopper reads the message and leaves.
        checkout_page(s, sent.location).await?;
        return Err(Stop::Abandoned);
    }
    s.tally.acknowledge(initiate);

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
