//! Items to GA4 Measurement Protocol events (spec section 7). Pure: the sink adds the
//! HTTP, the batching and the purchase deduplication around it.

use protocol::{
    ActionType, OrderAction, OrderState, PageView, ProductsChanged, TicketsChanged, Timestamp,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ReceivedItem;
use crate::sink::analytics::lines::{self, CartLine};
use crate::sink::analytics::page;

/// GA4 drops events older than 72 hours. Items this close to the limit are refused
/// here already: the request takes time, and a refusal is better reported than lost.
const MAX_AGE_MS: i64 = 72 * 3_600_000 - 5 * 60_000;
/// GA4 keeps at most this many characters of a parameter value.
const MAX_VALUE_CHARS: usize = 100;
/// GA4 processes at most this many items per event.
const MAX_ITEMS: usize = 200;

/// What the mapping needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a> {
    pub(super) currency: &'a str,
    pub(super) page_base: &'a reqwest::Url,
}

/// What becomes of one item.
#[derive(Debug)]
pub(super) enum Mapped {
    Event(Box<Ga4Event>),
    /// Nothing to send (a type this version does not know, or an add or remove without
    /// lines); the item counts as delivered.
    Skip,
    /// GA4 would refuse it for good: the reason goes to the dead letters.
    Reject(String),
}

/// One event with what the sink needs besides its JSON.
#[derive(Debug)]
pub(super) struct Ga4Event {
    /// The shopper's `ref`: a request carries the events of one client.
    pub(super) client_id: String,
    /// Set on purchases: the order id, which must reach GA4 once only.
    pub(super) transaction_id: Option<String>,
    pub(super) event: Event,
}

/// An event as GA4 reads it.
#[derive(Debug, Serialize)]
pub(super) struct Event {
    pub(super) name: &'static str,
    pub(super) params: Params,
    /// When the shopper acted, from the item's `ts`.
    pub(super) timestamp_micros: i64,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct Params {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) page_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) page_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) transaction_id: Option<String>,
    /// `value` never travels without `currency`.
    #[serde(flatten)]
    pub(super) amount: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) shipping_tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) payment_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) items: Option<Vec<Ga4Item>>,
}

#[derive(Debug, Serialize)]
pub(super) struct Amount {
    pub(super) currency: String,
    pub(super) value: f64,
}

#[derive(Debug, Serialize)]
pub(super) struct Ga4Item {
    pub(super) item_id: String,
    pub(super) item_name: String,
    pub(super) item_category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) item_variant: Option<String>,
    pub(super) price: f64,
    pub(super) quantity: u32,
}

/// The GA4 event of an item, if any. `now` decides whether the item is too old.
pub(super) fn map_item(item: &ReceivedItem, ctx: Context<'_>, now: Timestamp) -> Mapped {
    if !item.kind().is_known() {
        return Mapped::Skip;
    }
    let age_ms = now.unix_ms() - item.ts().unix_ms();
    if age_ms > MAX_AGE_MS {
        return Mapped::Reject(format!(
            "GA4 refuses events older than 72 hours; this item is {} hours old",
            age_ms / 3_600_000
        ));
    }
    // A consumer whose clock is behind the server's must not send events from the
    // future, which GA4 would drop.
    let timestamp_micros = item.ts().min(now).unix_ms().saturating_mul(1000);
    let result = match item.kind() {
        ActionType::PageView => data::<PageView>(item).map(|pv| Some(page_view(&pv, ctx))),
        ActionType::AddTickets | ActionType::RemoveTickets => {
            data::<TicketsChanged>(item).map(|t| {
                let lines = lines::group(&t.tickets, &[]);
                cart_change(item.kind(), t.reference.as_str(), &lines, ctx)
            })
        }
        ActionType::AddProducts | ActionType::RemoveProducts => {
            data::<ProductsChanged>(item).map(|p| {
                let lines = lines::group(&[], &p.products);
                cart_change(item.kind(), p.reference.as_str(), &lines, ctx)
            })
        }
        kind => data::<OrderAction>(item).map(|o| checkout(kind, &o, ctx)),
    };
    match result {
        Ok(Some((client_id, name, params))) => Mapped::Event(Box::new(Ga4Event {
            client_id,
            transaction_id: params.transaction_id.clone(),
            event: Event {
                name,
                params,
                timestamp_micros,
            },
        })),
        Ok(None) => Mapped::Skip,
        Err(reason) => Mapped::Reject(reason),
    }
}

type Mapping = Option<(String, &'static str, Params)>;

fn data<T: DeserializeOwned>(item: &ReceivedItem) -> Result<T, String> {
    serde_json::from_str(item.data())
        .map_err(|e| format!("data of {} does not match the contract: {e}", item.kind()))
}

fn page_view(pv: &PageView, ctx: Context<'_>) -> (String, &'static str, Params) {
    let params = Params {
        page_title: Some(fit(&page::page_title(&pv.page))),
        page_location: Some(page::page_location(ctx.page_base, &pv.page, &pv.params)),
        ..Params::default()
    };
    (pv.reference.as_str().to_owned(), "page_view", params)
}

/// `add_to_cart` / `remove_from_cart`: the lines of this action and their sum.
fn cart_change(kind: &ActionType, client: &str, lines: &[CartLine], ctx: Context<'_>) -> Mapping {
    if lines.is_empty() {
        return None;
    }
    let name = match kind {
        ActionType::AddTickets | ActionType::AddProducts => "add_to_cart",
        _ => "remove_from_cart",
    };
    let params = Params {
        amount: Some(amount(lines::total(lines), ctx)),
        items: Some(items(lines)),
        ..Params::default()
    };
    Some((client.to_owned(), name, params))
}

/// The checkout steps: the whole order, valued at its `totalamount`.
fn checkout(kind: &ActionType, action: &OrderAction, ctx: Context<'_>) -> Mapping {
    let order: &OrderState = &action.order;
    let name = match kind {
        ActionType::CheckoutStart => "begin_checkout",
        ActionType::CheckoutAddCustomerInfo => "add_customer_info",
        ActionType::CheckoutAddDeliveryInfo => "add_shipping_info",
        ActionType::CheckoutAddPaymentInfo => "add_payment_info",
        ActionType::CheckoutInitiatePayment => "initiate_payment",
        ActionType::CheckoutConfirm => "purchase",
        // Every other known type was matched by the caller.
        _ => return None,
    };
    let lines = lines::group(&order.tickets, &order.products);
    let mut params = Params {
        amount: Some(amount(order.totalamount, ctx)),
        items: Some(items(&lines)),
        ..Params::default()
    };
    match kind {
        ActionType::CheckoutAddDeliveryInfo => {
            params.shipping_tier = order.deliveryscenarioid.map(|id| id.to_string());
        }
        ActionType::CheckoutAddPaymentInfo => {
            params.payment_type = order.paymentscenarioid.map(|id| id.to_string());
        }
        ActionType::CheckoutConfirm => params.transaction_id = Some(order.id.to_string()),
        _ => {}
    }
    Some((action.reference.as_str().to_owned(), name, params))
}

fn amount(value: protocol::Money, ctx: Context<'_>) -> Amount {
    Amount {
        currency: ctx.currency.to_owned(),
        value: lines::money_number(value),
    }
}

fn items(lines: &[CartLine]) -> Vec<Ga4Item> {
    lines
        .iter()
        .take(MAX_ITEMS)
        .map(|line| Ga4Item {
            item_id: fit(&line.sku),
            item_name: fit(&line.name),
            item_category: fit(&line.category),
            item_variant: line.variant.as_deref().map(fit),
            price: lines::money_number(line.unit_price),
            quantity: line.quantity,
        })
        .collect()
}

/// Cuts a value to the characters GA4 keeps, on a character boundary.
fn fit(value: &str) -> String {
    value.chars().take(MAX_VALUE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use protocol::{Action, NumId, Ref};
    use serde_json::Value;

    use super::*;
    use crate::sink::analytics::lines::fixtures::{NOW_MS, item, item_of, order, ticket, voucher};

    fn map(action: &Action) -> (Ga4Event, Value) {
        let base = reqwest::Url::parse("https://webshop.invalid").unwrap();
        let ctx = Context {
            currency: "EUR",
            page_base: &base,
        };
        match map_item(&item(action, 1000), ctx, Timestamp::from_unix_ms(NOW_MS)) {
            Mapped::Event(e) => {
                let json = serde_json::to_value(&e.event).unwrap();
                (*e, json)
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }

    fn r() -> Ref {
        Ref::parse("user12345").unwrap()
    }

    fn every_action() -> Vec<Action> {
        let o = order(
            vec![ticket(1, 580, "20"), ticket(2, 580, "20")],
            vec![voucher(3)],
        );
        let oa = OrderAction {
            order: o.clone(),
            reference: r(),
        };
        let mut params = BTreeMap::new();
        params.insert("event".to_owned(), Some("10003".to_owned()));
        vec![
            Action::PageView(PageView {
                page: "addtickets".into(),
                params,
                orderid: None,
                customerid: None,
                reference: r(),
            }),
            Action::AddTickets(TicketsChanged {
                tickets: o.tickets.clone(),
                order: o.clone(),
                reference: r(),
            }),
            Action::RemoveTickets(TicketsChanged {
                tickets: vec![o.tickets[0].clone()],
                order: o.clone(),
                reference: r(),
            }),
            Action::AddProducts(ProductsChanged {
                products: o.products.clone(),
                order: o.clone(),
                reference: r(),
            }),
            Action::RemoveProducts(ProductsChanged {
                products: o.products.clone(),
                order: o.clone(),
                reference: r(),
            }),
            Action::CheckoutStart(oa.clone()),
            Action::CheckoutAddCustomerInfo(oa.clone()),
            Action::CheckoutAddDeliveryInfo(oa.clone()),
            Action::CheckoutAddPaymentInfo(oa.clone()),
            Action::CheckoutInitiatePayment(oa.clone()),
            Action::CheckoutConfirm(oa),
        ]
    }

    #[test]
    fn every_action_type_has_its_event_name() {
        let names: Vec<&str> = every_action().iter().map(|a| map(a).0.event.name).collect();
        assert_eq!(
            names,
            [
                "page_view",
                "add_to_cart",
                "remove_from_cart",
                "add_to_cart",
                "remove_from_cart",
                "begin_checkout",
                "add_customer_info",
                "add_shipping_info",
                "add_payment_info",
                "initiate_payment",
                "purchase",
            ]
        );
        for name in names {
            assert!(name.len() <= 40);
            assert!(name.starts_with(|c: char| c.is_ascii_alphabetic()));
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        }
    }

    #[test]
    fn client_and_time_come_from_the_item() {
        for action in every_action() {
            let (event, json) = map(&action);
            assert_eq!(event.client_id, "user12345");
            assert_eq!(json["timestamp_micros"], (NOW_MS - 1000) * 1000);
            if json["params"].get("value").is_some() {
                assert_eq!(json["params"]["currency"], "EUR");
            }
        }
    }

    #[test]
    fn add_and_remove_carry_the_lines_of_the_action() {
        let actions = every_action();
        let (_, add) = map(&actions[1]);
        assert_eq!(add["params"]["value"], 43.0);
        let items = add["params"]["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["item_id"], "ticket-580");
        assert_eq!(
            items[0]["item_name"],
            "Dance performance 2 - Tickets - Normal"
        );
        assert_eq!(items[0]["quantity"], 2);
        assert_eq!(items[0]["price"], 21.5);
        let (_, remove) = map(&actions[2]);
        assert_eq!(remove["params"]["value"], 21.5);
        assert_eq!(remove["params"]["items"][0]["quantity"], 1);
    }

    #[test]
    fn checkout_steps_carry_the_whole_order() {
        let actions = every_action();
        for action in &actions[5..] {
            let (_, json) = map(action);
            assert_eq!(json["params"]["value"], 68.0, "{json}");
            assert_eq!(json["params"]["items"].as_array().unwrap().len(), 2);
        }
        let (event, purchase) = map(&actions[10]);
        assert_eq!(purchase["params"]["transaction_id"], "398");
        assert_eq!(event.transaction_id.as_deref(), Some("398"));
        let (_, begin) = map(&actions[5]);
        assert!(begin["params"].get("transaction_id").is_none());
    }

    #[test]
    fn page_view_has_title_and_location_and_no_money() {
        let (_, json) = map(&every_action()[0]);
        assert_eq!(json["params"]["page_title"], "Add tickets");
        assert_eq!(
            json["params"]["page_location"],
            "https://webshop.invalid/addtickets?event=10003"
        );
        assert!(json["params"].get("value").is_none());
        assert!(json["params"].get("currency").is_none());
    }

    #[test]
    fn delivery_and_payment_scenarios_are_named() {
        let mut o = order(vec![ticket(1, 580, "20")], vec![]);
        o.deliveryscenarioid = Some(NumId(2));
        o.paymentscenarioid = Some(NumId(5));
        let oa = OrderAction {
            order: o,
            reference: r(),
        };
        let (_, d) = map(&Action::CheckoutAddDeliveryInfo(oa.clone()));
        assert_eq!(d["params"]["shipping_tier"], "2");
        let (_, p) = map(&Action::CheckoutAddPaymentInfo(oa));
        assert_eq!(p["params"]["payment_type"], "5");
    }

    #[test]
    fn long_names_are_cut_to_100_characters() {
        let mut t = ticket(1, 580, "20");
        t.eventname = "é".repeat(150);
        let (_, json) = map(&Action::AddTickets(TicketsChanged {
            tickets: vec![t.clone()],
            order: order(vec![t], vec![]),
            reference: r(),
        }));
        let name = json["params"]["items"][0]["item_name"].as_str().unwrap();
        assert_eq!(name.chars().count(), 100);
    }

    #[test]
    fn old_unknown_malformed_and_empty_items() {
        let base = reqwest::Url::parse("https://webshop.invalid").unwrap();
        let ctx = Context {
            currency: "EUR",
            page_base: &base,
        };
        let now = Timestamp::from_unix_ms(NOW_MS);
        let action = &every_action()[1];
        let old = item(action, 73 * 3_600_000);
        assert!(matches!(map_item(&old, ctx, now), Mapped::Reject(r) if r.contains("72 hours")));
        let recent = item(action, 71 * 3_600_000);
        assert!(matches!(map_item(&recent, ctx, now), Mapped::Event(_)));

        let unknown = item_of("webshop:wishlist_add", &action.data_json(), 0);
        assert!(matches!(map_item(&unknown, ctx, now), Mapped::Skip));

        let malformed = item_of(action.action_type().as_str(), r#"{"tickets":[]}"#, 0);
        assert!(matches!(map_item(&malformed, ctx, now), Mapped::Reject(_)));

        let empty = Action::RemoveTickets(TicketsChanged {
            tickets: vec![],
            order: order(vec![], vec![]),
            reference: r(),
        });
        assert!(matches!(map_item(&item(&empty, 0), ctx, now), Mapped::Skip));

        let future = item(action, -60_000);
        let Mapped::Event(e) = map_item(&future, ctx, now) else {
            panic!("a future item is sent");
        };
        assert_eq!(e.event.timestamp_micros, NOW_MS * 1000);
    }
}
