//! A shopper's way from the sales-flow link to the checkout: the add-tickets page, the
//! basket and its detours. Every form is submitted the way a browser would submit it
//! (with the page's CSRF token) and every redirect is followed to the page it names.

use protocol::ActionType;
use rand::Rng;
use reqwest::Url;

use super::checkout;
use super::html::{Form, Page};
use super::plan::{Plan, Stage};
use super::refs;
use super::shopper::{Loaded, Shopper, Stop};
use super::tickets;

/// The whole journey. `Ok` means the order was paid.
pub(crate) async fn walk(s: &mut Shopper, plan: &Plan, events: &[u64]) -> Result<(), Stop> {
    let landing = enter(s, plan.event).await?;
    let mut sent_to =
        add_tickets(s, landing, plan.tickets, plan.abandons_at(Stage::Tickets)).await?;
    if sent_to.is_none() {
        // Sold out: a shopper who came for this event may settle for the next one.
        if let Some(other) = next_event(events, plan.event) {
            let url = s.url(&format!("shop/tickets?event={other}"))?;
            sent_to = add_tickets(s, url, plan.tickets, false).await?;
        }
    }
    let basket_url = sent_to.ok_or(Stop::SoldOut)?;
    let checkout_url = basket(s, plan, basket_url).await?;
    checkout::finish(s, plan, checkout_url).await
}

fn next_event(events: &[u64], event: u64) -> Option<u64> {
    let at = events.iter().position(|&e| e == event)?;
    let other = events[(at + 1) % events.len()];
    (other != event).then_some(other)
}

/// The public sales-flow link, with the ref when tracked. It only sets the session
/// cookie and redirects (no action), so the ref leaves the address.
async fn enter(s: &mut Shopper, event: u64) -> Result<Url, Stop> {
    let mut query = format!("event={event}&l=en");
    if let Some(reference) = &s.reference {
        query.push_str("&ref=");
        query.push_str(&refs::query_value(reference));
    }
    let url = s.url(&format!("flow/saleslink?{query}"))?;
    match s.get(url, false).await? {
        Loaded::Redirect(to) => Ok(to),
        Loaded::Page(_) => Err(s.fail(
            &[],
            "GET flow/saleslink: a page instead of a redirect".to_owned(),
        )),
    }
}

/// Adds `want` tickets on the add-tickets page at `url`, fewer when fewer seats are
/// left. Returns where the shop sent the shopper after adding, or `None` when the event
/// is sold out.
async fn add_tickets(
    s: &mut Shopper,
    url: Url,
    want: u32,
    walk_away: bool,
) -> Result<Option<Url>, Stop> {
    let mut url = url;
    // A refusal (someone else took the last seats) shows the page again, with the seats
    // that are left: try again with at most that many, a few times.
    for _ in 0..3 {
        let page = s.page(url).await?;
        if walk_away {
            return Err(Stop::Abandoned);
        }
        let available: u32 = page
            .text_of("available")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if available == 0 {
            return Ok(None);
        }
        let form = required(s, &page, "tickets-form")?;
        let Some(change) = tickets::add(&form, want.min(available), &mut s.rng) else {
            return Ok(None);
        };
        let actions = change.actions();
        let sent = s.submit(&form, &change.fields, &actions).await?;
        if sent.refused {
            url = sent.location;
            continue;
        }
        for action in actions {
            s.tally.acknowledge(action);
        }
        return Ok(Some(sent.location));
    }
    Ok(None)
}

/// The basket and its detours; ends by starting the checkout. Returns the checkout page's
/// address.
async fn basket(s: &mut Shopper, plan: &Plan, url: Url) -> Result<Url, Stop> {
    let mut page = s.page(url).await?;
    if let Some((event, n)) = plan.more {
        let url = s.url(&format!("shop/tickets?event={event}"))?;
        let back = match add_tickets(s, url, n, false).await? {
            Some(to) => to,
            None => s.url("shop/basket")?,
        };
        page = s.page(back).await?;
    }
    if plan.change_tickets {
        page = edit_tickets(s, page).await?;
    }
    if plan.products > 0 {
        let (after, product) = set_product(s, page, None, plan.products).await?;
        page = after;
        if plan.remove_products {
            let fewer = s.rng.gen_range(0..plan.products);
            page = set_product(s, page, product, fewer).await?.0;
        }
    }
    if plan.abandons_at(Stage::Basket) {
        if plan.empty_basket {
            empty(s, page).await?;
        }
        return Err(Stop::Abandoned);
    }
    if page.text_of("empty-basket").is_some() {
        // The reservation ran out meanwhile: nothing left to buy.
        return Err(Stop::Abandoned);
    }
    let form = required(s, &page, "checkout-form")?;
    let sent = s
        .submit(&form, &form.fields(), &[ActionType::CheckoutStart])
        .await?;
    if sent.refused {
        s.page(sent.location).await?;
        return Err(Stop::Abandoned);
    }
    s.tally.acknowledge(ActionType::CheckoutStart);
    Ok(sent.location)
}

/// Changes a quantity of one event in the basket.
async fn edit_tickets(s: &mut Shopper, page: Page) -> Result<Page, Stop> {
    let forms = page.forms_by_class("edit-tickets");
    if forms.is_empty() {
        return Ok(page);
    }
    let form = forms[s.rng.gen_range(0..forms.len())].clone();
    let Some(change) = tickets::edit(&form, &mut s.rng) else {
        return Ok(page);
    };
    let actions = change.actions();
    let sent = s.submit(&form, &change.fields, &actions).await?;
    if !sent.refused {
        for action in actions {
            s.tally.acknowledge(action);
        }
    }
    s.page(sent.location).await
}

/// Sets the quantity of `product` (a random one when `None`). Returns the basket after it
/// and the product.
async fn set_product(
    s: &mut Shopper,
    page: Page,
    product: Option<String>,
    qty: u32,
) -> Result<(Page, Option<String>), Stop> {
    let forms = page.forms_by_class("set-product");
    let form = match &product {
        Some(id) => forms.into_iter().find(|f| f.value("product") == Some(id)),
        None if forms.is_empty() => None,
        None => Some(forms[s.rng.gen_range(0..forms.len())]),
    };
    let Some(form) = form.cloned() else {
        return Ok((page, product));
    };
    let current: u32 = form
        .value("qty")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let possible: &[ActionType] = if qty > current {
        &[ActionType::AddProducts]
    } else if qty < current {
        &[ActionType::RemoveProducts]
    } else {
        &[]
    };
    let fields = with_value(form.fields(), "qty", &qty.to_string());
    let sent = s.submit(&form, &fields, possible).await?;
    if !sent.refused {
        for action in possible {
            s.tally.acknowledge(action.clone());
        }
    }
    let product = form.value("product").map(str::to_owned);
    Ok((s.page(sent.location).await?, product))
}

/// Sets every ticket quantity of the basket to 0, one event at a time.
async fn empty(s: &mut Shopper, mut page: Page) -> Result<(), Stop> {
    // Each round clears one event; the bound only guards against a page that never changes.
    for _ in 0..8 {
        let held = page.forms_by_class("edit-tickets").into_iter().find(|f| {
            f.inputs
                .iter()
                .any(|i| i.name.starts_with("q_") && i.value.trim() != "0")
        });
        let Some(form) = held.cloned() else {
            return Ok(());
        };
        let change = tickets::clear(&form);
        let actions = change.actions();
        let sent = s.submit(&form, &change.fields, &actions).await?;
        if sent.refused {
            return Ok(());
        }
        for action in actions {
            s.tally.acknowledge(action);
        }
        page = s.page(sent.location).await?;
    }
    Ok(())
}

/// The form with this id, or an error: the page is not what the shop should show.
pub(crate) fn required(s: &mut Shopper, page: &Page, id: &str) -> Result<Form, Stop> {
    page.form_by_id(id)
        .cloned()
        .ok_or_else(|| s.fail(&[], format!("the page has no form #{id}")))
}

/// `fields` with `name` set to `value` (added when missing).
pub(crate) fn with_value(
    mut fields: Vec<(String, String)>,
    name: &str,
    value: &str,
) -> Vec<(String, String)> {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_owned(), value.to_owned()));
    fields
}
