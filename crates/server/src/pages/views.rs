//! The pages' templates and the display rows they show. Templates are compiled and
//! HTML-escape every value; these types hold only what a page prints.

use askama::Template;
use protocol::{Money, NumId, OrderState};
use shop::{EventOffer, MAX_TICKETS_PER_PRICE};

use super::i18n::Texts;

/// One price row of an event: a quantity input.
#[derive(Debug)]
pub(crate) struct TicketRow {
    pub(crate) price_id: NumId,
    pub(crate) tickettype: String,
    pub(crate) pricetype: String,
    pub(crate) price: Money,
    pub(crate) servicecharge: Option<Money>,
    pub(crate) qty: usize,
    pub(crate) max: u32,
}

impl TicketRow {
    /// Every price of the event, with the quantity the order holds.
    pub(crate) fn for_offer(offer: &EventOffer, order: Option<&OrderState>) -> Vec<TicketRow> {
        offer
            .lines
            .iter()
            .map(|line| TicketRow {
                price_id: line.tickettypeprice_id,
                tickettype: line.tickettype_name.clone(),
                pricetype: line.pricetype_name.clone(),
                price: line.price,
                servicecharge: (line.servicecharge > Money::ZERO).then_some(line.servicecharge),
                qty: order.map_or(0, |o| {
                    o.tickets
                        .iter()
                        .filter(|t| t.tickettypepriceid == line.tickettypeprice_id)
                        .count()
                }),
                max: MAX_TICKETS_PER_PRICE,
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "tickets.html")]
pub(crate) struct TicketsPage<'a> {
    pub(crate) t: &'static Texts,
    pub(crate) base: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) event_id: NumId,
    pub(crate) event_name: &'a str,
    pub(crate) event_date: &'a str,
    pub(crate) available: u32,
    pub(crate) rows: Vec<TicketRow>,
    pub(crate) message: Option<&'static str>,
    pub(crate) has_order: bool,
    pub(crate) returnurl: Option<&'a str>,
}

#[derive(Debug)]
pub(crate) struct TicketGroup {
    pub(crate) event_id: NumId,
    pub(crate) event_name: String,
    pub(crate) rows: Vec<TicketRow>,
}

#[derive(Debug)]
pub(crate) struct ProductRow {
    pub(crate) product_id: NumId,
    pub(crate) name: String,
    pub(crate) price: Money,
    pub(crate) qty: usize,
    pub(crate) max: u32,
}

#[derive(Template)]
#[template(path = "basket.html")]
pub(crate) struct BasketPage<'a> {
    pub(crate) t: &'static Texts,
    pub(crate) base: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) groups: Vec<TicketGroup>,
    pub(crate) products: Vec<ProductRow>,
    pub(crate) total: Money,
    pub(crate) empty: bool,
    pub(crate) edit: bool,
    pub(crate) message: Option<&'static str>,
    pub(crate) returnurl: Option<&'a str>,
}

/// A line of an order summary.
#[derive(Debug)]
pub(crate) struct SummaryLine {
    pub(crate) label: String,
    pub(crate) amount: Money,
}

impl SummaryLine {
    /// Tickets grouped by price, then products grouped by product, in order of appearance.
    pub(crate) fn for_order(order: &OrderState) -> Vec<SummaryLine> {
        let mut lines: Vec<(String, u32, Money)> = Vec::new();
        let mut add = |label: String, amount: Money| match lines.iter_mut().find(|l| l.0 == label) {
            Some(line) => {
                line.1 += 1;
                line.2 = line.2 + amount;
            }
            None => lines.push((label, 1, amount)),
        };
        for t in &order.tickets {
            add(
                format!(
                    "{}: {} · {}",
                    t.eventname, t.tickettypename, t.pricetypename
                ),
                t.price + t.servicecharge,
            );
        }
        for p in &order.products {
            add(p.productname.clone(), p.price);
        }
        lines
            .into_iter()
            .map(|(label, n, amount)| SummaryLine {
                label: format!("{n} × {label}"),
                amount,
            })
            .collect()
    }
}

/// A radio choice of the checkout panels.
#[derive(Debug)]
pub(crate) struct Choice {
    pub(crate) id: NumId,
    pub(crate) name: String,
    pub(crate) selected: bool,
}

#[derive(Template)]
#[template(path = "checkout.html")]
pub(crate) struct CheckoutPage<'a> {
    pub(crate) t: &'static Texts,
    pub(crate) base: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) lines: Vec<SummaryLine>,
    pub(crate) total: Money,
    pub(crate) message: Option<&'static str>,
    pub(crate) show_customer: bool,
    pub(crate) customer_done: bool,
    pub(crate) customer_name: &'a str,
    pub(crate) customer_email: &'a str,
    pub(crate) show_delivery: bool,
    pub(crate) delivery_done: bool,
    pub(crate) deliveries: Vec<Choice>,
    pub(crate) show_payment: bool,
    pub(crate) payment_done: bool,
    pub(crate) payments: Vec<Choice>,
    pub(crate) can_pay: bool,
}

#[derive(Template)]
#[template(path = "psp.html")]
pub(crate) struct PspPage<'a> {
    pub(crate) t: &'static Texts,
    pub(crate) base: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) token: &'a str,
    pub(crate) order_id: NumId,
    pub(crate) amount: Money,
}

#[derive(Template)]
#[template(path = "order.html")]
pub(crate) struct OrderPage<'a> {
    pub(crate) t: &'static Texts,
    pub(crate) order_id: NumId,
    pub(crate) confirmed: bool,
    pub(crate) lines: Vec<SummaryLine>,
    pub(crate) total: Money,
    pub(crate) customer_name: Option<&'a str>,
    pub(crate) returnurl: Option<&'a str>,
}
