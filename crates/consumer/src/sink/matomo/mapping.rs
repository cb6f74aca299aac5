//! Items to Matomo tracking requests (`?idsite=..&rec=1&...`, the query strings of the
//! bulk tracking API). Pure: one item gives at most one request.

use protocol::{
    ActionType, OrderAction, OrderState, PageView, ProductsChanged, Ref, TicketsChanged, Timestamp,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::ReceivedItem;
use crate::sink::analytics::lines::{self, CartLine};
use crate::sink::analytics::page;

/// Matomo backdates a request by more than 24 hours only with `token_auth`. Items this
/// close to the limit are refused already: the request takes time.
const MAX_AGE_WITHOUT_TOKEN_MS: i64 = 24 * 3_600_000 - 5 * 60_000;
/// Matomo's `user_id` column holds this many characters; a longer `ref` is not sent as
/// `uid` (the visitor id still identifies the shopper).
const MAX_UID_CHARS: usize = 200;

#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a> {
    pub(super) idsite: u32,
    /// Whether a `token_auth` goes with the requests, which lets Matomo take any `cdt`.
    pub(super) authenticated: bool,
    pub(super) page_base: &'a reqwest::Url,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Mapped {
    /// A query string starting with `?`.
    Request(String),
    /// Nothing to send: a type this version does not know.
    Skip,
    /// Matomo would not record it as it happened: the reason goes to the dead letters.
    Reject(String),
}

/// The Matomo request of an item, if any. `now` decides whether the item is too old.
pub(super) fn map_item(item: &ReceivedItem, ctx: Context<'_>, now: Timestamp) -> Mapped {
    if !item.kind().is_known() {
        return Mapped::Skip;
    }
    let age_ms = now.unix_ms() - item.ts().unix_ms();
    if !ctx.authenticated && age_ms > MAX_AGE_WITHOUT_TOKEN_MS {
        return Mapped::Reject(format!(
            "Matomo records times older than 24 hours only with token_auth; this item is {} \
             hours old (configure token_auth and replay the dead letters)",
            age_ms / 3_600_000
        ));
    }
    let cdt = item.ts().min(now);
    let result = match item.kind() {
        ActionType::PageView => data::<PageView>(item).map(|pv| {
            let mut q = Query::new(ctx, &pv.reference, cdt);
            q.pair(
                "action_name",
                &format!("Webshop / {}", page::page_title(&pv.page)),
            );
            q.pair(
                "url",
                &page::page_location(ctx.page_base, &pv.page, &pv.params),
            );
            q.finish()
        }),
        ActionType::AddTickets | ActionType::RemoveTickets => data::<TicketsChanged>(item)
            .map(|t| cart_update(Query::new(ctx, &t.reference, cdt), &t.order)),
        ActionType::AddProducts | ActionType::RemoveProducts => data::<ProductsChanged>(item)
            .map(|p| cart_update(Query::new(ctx, &p.reference, cdt), &p.order)),
        ActionType::CheckoutConfirm => data::<OrderAction>(item).map(|o| {
            let mut q = Query::new(ctx, &o.reference, cdt);
            q.pair("idgoal", "0");
            q.pair("ec_id", &o.order.id.to_string());
            q.pair("revenue", &o.order.totalamount.to_string());
            q.pair("ec_items", &ec_items(&o.order));
            q.finish()
        }),
        kind => data::<OrderAction>(item).map(|o| {
            let step = kind
                .as_str()
                .strip_prefix("webshop:checkout_")
                .unwrap_or(kind.as_str());
            let mut q = Query::new(ctx, &o.reference, cdt);
            q.pair("ca", "1");
            q.pair("e_c", "checkout");
            q.pair("e_a", step);
            q.pair("e_v", &o.order.totalamount.to_string());
            q.finish()
        }),
    };
    match result {
        Ok(request) => Mapped::Request(request),
        Err(reason) => Mapped::Reject(reason),
    }
}

/// Matomo's visitor id (`_id`): 16 hex characters, the start of SHA-256 of the `ref`, so
/// the same shopper is the same visitor without the `ref` itself being the id.
pub(super) fn visitor_id(reference: &Ref) -> String {
    let digest = Sha256::digest(reference.as_str().as_bytes());
    hex::encode(&digest[..8])
}

fn data<T: DeserializeOwned>(item: &ReceivedItem) -> Result<T, String> {
    serde_json::from_str(item.data())
        .map_err(|e| format!("data of {} does not match the contract: {e}", item.kind()))
}

/// A cart update carries the whole cart: Matomo marks items missing from it as removed.
fn cart_update(mut q: Query, order: &OrderState) -> String {
    q.pair("idgoal", "0");
    q.pair("revenue", &order.totalamount.to_string());
    q.pair("ec_items", &ec_items(order));
    q.finish()
}

/// `[[sku, name, category, price, quantity], ...]` for every line of the order.
fn ec_items(order: &OrderState) -> String {
    let lines = lines::group(&order.tickets, &order.products);
    let items: Vec<(&str, &str, &str, f64, u32)> = lines
        .iter()
        .map(|l: &CartLine| {
            (
                l.sku.as_str(),
                l.name.as_str(),
                l.category.as_str(),
                lines::money_number(l.unit_price),
                l.quantity,
            )
        })
        .collect();
    // Strings, numbers and arrays of them always serialize.
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned())
}

/// A tracking request under construction, with the parameters every request has.
struct Query {
    query: form_urlencoded::Serializer<'static, String>,
}

impl Query {
    fn new(ctx: Context<'_>, reference: &Ref, cdt: Timestamp) -> Query {
        let mut query = form_urlencoded::Serializer::for_suffix(String::from("?"), 1);
        query
            .append_pair("idsite", &ctx.idsite.to_string())
            .append_pair("rec", "1")
            .append_pair("apiv", "1")
            .append_pair("_id", &visitor_id(reference));
        if reference.as_str().chars().count() <= MAX_UID_CHARS {
            query.append_pair("uid", reference.as_str());
        }
        query.append_pair("cdt", &(cdt.unix_ms() / 1000).to_string());
        Query { query }
    }

    fn pair(&mut self, name: &str, value: &str) {
        self.query.append_pair(name, value);
    }

    fn finish(mut self) -> String {
        self.query.finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::{BTreeMap, HashMap};

    use protocol::Action;
    use serde_json::Value;

    use super::*;
    use crate::sink::analytics::lines::fixtures::{NOW_MS, item, item_of, order, ticket, voucher};

    fn map_with(action: &Action, age_ms: i64, authenticated: bool) -> Mapped {
        let base = reqwest::Url::parse("https://webshop.invalid").unwrap();
        let ctx = Context {
            idsite: 7,
            authenticated,
            page_base: &base,
        };
        map_item(&item(action, age_ms), ctx, Timestamp::from_unix_ms(NOW_MS))
    }

    fn query(action: &Action) -> HashMap<String, String> {
        let Mapped::Request(q) = map_with(action, 60_000, false) else {
            panic!("expected a request");
        };
        assert!(q.starts_with('?'), "{q}");
        form_urlencoded::parse(&q.as_bytes()[1..])
            .into_owned()
            .collect()
    }

    fn r() -> Ref {
        Ref::parse("user12345").unwrap()
    }

    #[test]
    fn every_request_identifies_site_visitor_and_time() {
        let o = order(vec![ticket(1, 580, "20")], vec![]);
        let q = query(&Action::CheckoutStart(OrderAction {
            order: o,
            reference: r(),
        }));
        assert_eq!(q["idsite"], "7");
        assert_eq!(q["rec"], "1");
        assert_eq!(q["_id"].len(), 16);
        assert!(q["_id"].chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(q["_id"], visitor_id(&r()));
        assert_eq!(q["uid"], "user12345");
        assert_eq!(q["cdt"], ((NOW_MS - 60_000) / 1000).to_string());
        assert_eq!(q["e_c"], "checkout");
        assert_eq!(q["e_a"], "start");
        assert_eq!(q["e_v"], "21.5");
    }

    #[test]
    fn cart_updates_carry_the_whole_cart() {
        let o = order(
            vec![ticket(1, 580, "20"), ticket(2, 580, "20")],
            vec![voucher(3)],
        );
        let q = query(&Action::AddProducts(ProductsChanged {
            products: o.products.clone(),
            order: o.clone(),
            reference: r(),
        }));
        assert_eq!(q["idgoal"], "0");
        assert_eq!(q["revenue"], "68");
        assert!(!q.contains_key("ec_id"));
        let items: Value = serde_json::from_str(&q["ec_items"]).unwrap();
        assert_eq!(
            items,
            serde_json::json!([
                [
                    "ticket-580",
                    "Dance performance 2 - Tickets - Normal",
                    "Dance performance 2",
                    21.5,
                    2
                ],
                ["product-10000", "Gift voucher", "Products", 25.0, 1]
            ])
        );
    }

    #[test]
    fn orders_carry_id_revenue_and_items() {
        let o = order(vec![ticket(1, 580, "20")], vec![voucher(3)]);
        let q = query(&Action::CheckoutConfirm(OrderAction {
            order: o,
            reference: r(),
        }));
        assert_eq!(q["idgoal"], "0");
        assert_eq!(q["ec_id"], "398");
        assert_eq!(q["revenue"], "46.5");
        let items: Value = serde_json::from_str(&q["ec_items"]).unwrap();
        assert_eq!(items.as_array().unwrap().len(), 2);
    }

    #[test]
    fn page_views_have_a_name_and_a_url() {
        let mut params = BTreeMap::new();
        params.insert("event".to_owned(), Some("10003".to_owned()));
        let q = query(&Action::PageView(PageView {
            page: "orderdetail".into(),
            params,
            orderid: None,
            customerid: None,
            reference: r(),
        }));
        assert_eq!(q["action_name"], "Webshop / Order detail");
        assert_eq!(q["url"], "https://webshop.invalid/orderdetail?event=10003");
        assert!(!q.contains_key("idgoal"));
    }

    #[test]
    fn old_items_need_a_token() {
        let action = Action::CheckoutStart(OrderAction {
            order: order(vec![], vec![]),
            reference: r(),
        });
        let day = 24 * 3_600_000;
        assert!(
            matches!(map_with(&action, day + 1, false), Mapped::Reject(r) if r.contains("token_auth"))
        );
        assert!(matches!(
            map_with(&action, day - 3_600_000, false),
            Mapped::Request(_)
        ));
        let Mapped::Request(q) = map_with(&action, 10 * day, true) else {
            panic!("with a token an old item is sent");
        };
        assert!(q.contains(&format!("cdt={}", (NOW_MS - 10 * day) / 1000)));
    }

    #[test]
    fn long_refs_are_no_uid_and_unknown_types_are_skipped() {
        let long = Ref::parse(&"x".repeat(300)).unwrap();
        let q = {
            let Mapped::Request(q) = map_with(
                &Action::CheckoutStart(OrderAction {
                    order: order(vec![], vec![]),
                    reference: long,
                }),
                0,
                false,
            ) else {
                panic!("expected a request");
            };
            q
        };
        assert!(!q.contains("uid="));
        assert!(q.contains("_id="));

        let start = Action::CheckoutStart(OrderAction {
            order: order(vec![], vec![]),
            reference: r(),
        });
        let unknown = item_of("webshop:later", &start.data_json(), 0);
        let base = reqwest::Url::parse("https://webshop.invalid").unwrap();
        let ctx = Context {
            idsite: 1,
            authenticated: false,
            page_base: &base,
        };
        assert_eq!(
            map_item(&unknown, ctx, Timestamp::from_unix_ms(NOW_MS)),
            Mapped::Skip
        );
    }
}
