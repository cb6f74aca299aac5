//! One struct per template: what each page prints.

use askama::Template;
use protocol::NumId;

use super::frame::Frame;
use super::lines::{BasketTotals, EventCard, Hero, Summary, TicketGroup, TicketRow};
use super::qr::QrCode;

/// What the basket holds, shown beside the tickets of an event.
#[derive(Debug)]
pub(crate) struct InBasket {
    pub(crate) count: usize,
    pub(crate) total: String,
}

#[derive(Template)]
#[template(path = "tickets.html")]
pub(crate) struct TicketsPage<'a> {
    pub(crate) frame: Frame,
    pub(crate) base: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) event_id: NumId,
    pub(crate) hero: Hero,
    pub(crate) available: u32,
    /// The event has no seats left and the order holds none of them: nothing to sell.
    pub(crate) sold_out: bool,
    pub(crate) rows: Vec<TicketRow>,
    pub(crate) message: Option<&'static str>,
    pub(crate) in_basket: Option<InBasket>,
    pub(crate) returnurl: Option<&'a str>,
}

#[derive(Debug)]
pub(crate) struct ProductRow {
    pub(crate) product_id: NumId,
    pub(crate) name: String,
    pub(crate) unit: String,
    pub(crate) qty: usize,
    pub(crate) max: u32,
}

#[derive(Template)]
#[template(path = "basket.html")]
pub(crate) struct BasketPage<'a> {
    pub(crate) frame: Frame,
    pub(crate) base: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) groups: Vec<TicketGroup>,
    pub(crate) products: Vec<ProductRow>,
    pub(crate) totals: Option<BasketTotals>,
    pub(crate) empty: bool,
    /// The last order ran out of time; the shopper is told so.
    pub(crate) expired: bool,
    /// Where to choose tickets again.
    pub(crate) tickets_url: Option<String>,
    pub(crate) held_until: Option<String>,
    pub(crate) edit: bool,
    pub(crate) message: Option<&'static str>,
    pub(crate) returnurl: Option<&'a str>,
}

/// A radio choice of the checkout panels.
#[derive(Debug)]
pub(crate) struct Choice {
    pub(crate) id: NumId,
    pub(crate) name: String,
    pub(crate) selected: bool,
}

/// An error of the checkout form in the summary above it, linking to its field.
#[derive(Debug)]
pub(crate) struct FieldMessage {
    pub(crate) field: &'static str,
    pub(crate) text: &'static str,
}

#[derive(Template)]
#[template(path = "checkout.html")]
pub(crate) struct CheckoutPage<'a> {
    pub(crate) frame: Frame,
    pub(crate) base: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) summary: Summary,
    pub(crate) held_until: Option<String>,
    pub(crate) message: Option<&'static str>,
    pub(crate) errors: Vec<FieldMessage>,
    pub(crate) show_customer: bool,
    pub(crate) name: String,
    pub(crate) name_error: Option<&'static str>,
    pub(crate) max_name: usize,
    pub(crate) email: String,
    pub(crate) email_error: Option<&'static str>,
    pub(crate) show_delivery: bool,
    pub(crate) deliveries: Vec<Choice>,
    pub(crate) delivery_error: Option<&'static str>,
    pub(crate) show_payment: bool,
    pub(crate) payments: Vec<Choice>,
    pub(crate) payment_error: Option<&'static str>,
    pub(crate) terms_url: Option<String>,
    pub(crate) privacy_url: Option<String>,
}

#[derive(Template)]
#[template(path = "psp.html")]
pub(crate) struct PspPage<'a> {
    pub(crate) frame: Frame,
    pub(crate) base: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) token: &'a str,
    pub(crate) order_code: String,
    pub(crate) amount: String,
    pub(crate) summary: Summary,
}

/// One printable ticket of a paid order.
#[derive(Debug)]
pub(crate) struct PrintedTicket {
    pub(crate) number: usize,
    pub(crate) count: usize,
    pub(crate) card: EventCard,
    pub(crate) label: String,
    pub(crate) price: String,
    pub(crate) code: String,
    pub(crate) qr: QrCode,
}

#[derive(Template)]
#[template(path = "order.html")]
pub(crate) struct OrderPage<'a> {
    pub(crate) frame: Frame,
    pub(crate) code: &'a str,
    pub(crate) confirmed: bool,
    pub(crate) expired: bool,
    pub(crate) summary: Summary,
    pub(crate) delivery: String,
    pub(crate) email: Option<&'a str>,
    pub(crate) customer_name: Option<&'a str>,
    pub(crate) payment: String,
    pub(crate) tickets: Vec<PrintedTicket>,
    pub(crate) returnurl: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage<'a> {
    pub(crate) frame: Frame,
    pub(crate) status: &'a str,
    pub(crate) message: &'a str,
    pub(crate) detail: Option<&'a str>,
    pub(crate) way_back: Option<String>,
}

#[derive(Template)]
#[template(path = "return.html")]
pub(crate) struct ReturnPage<'a> {
    pub(crate) frame: Frame,
    pub(crate) url: &'a str,
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    pub(crate) frame: Frame,
}
