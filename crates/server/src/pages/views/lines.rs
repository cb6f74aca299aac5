//! An order as a shopper reads it: events with their date and venue beside the lines
//! bought, lines grouped per price with their service charge and subtotal, and totals
//! that add up to exactly what is paid. Names come from the catalog in the shopper's
//! language; a line whose catalog entry is gone keeps the name it was sold under.

use protocol::{Money, NumId, OrderState, TicketLine};
use shop::{EventInfo, EventOffer, MAX_TICKETS_PER_ORDER, MAX_TICKETS_PER_PRICE, Product};

use crate::pages::i18n::{EventDate, Texts, money};

/// The catalog entries a page needs to show an order in the shopper's language.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) events: Vec<EventOffer>,
    pub(crate) products: Vec<Product>,
}

impl Catalog {
    pub(crate) fn event(&self, id: NumId) -> Option<&EventOffer> {
        self.events.iter().find(|e| e.event.id == id)
    }

    /// "Stalls · Reduced", translated when the catalog has it.
    pub(crate) fn ticket_label(&self, line: &TicketLine, lang: &str) -> String {
        let offered = self.event(line.eventid).and_then(|offer| {
            offer
                .lines
                .iter()
                .find(|l| l.tickettypeprice_id == line.tickettypepriceid)
        });
        match offered {
            Some(l) => format!(
                "{} · {}",
                l.tickettype_name.in_lang(lang),
                l.pricetype_name.in_lang(lang)
            ),
            None => format!("{} · {}", line.tickettypename, line.pricetypename),
        }
    }

    fn product_name(&self, id: NumId, sold_as: &str, lang: &str) -> String {
        self.products
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| sold_as.to_owned(), |p| p.name.in_lang(lang).to_owned())
    }

    /// The event's card: from the catalog, or just the name a line carries.
    pub(crate) fn card(&self, id: NumId, name: &str, t: &Texts) -> EventCard {
        match self.event(id) {
            Some(offer) => EventCard::new(&offer.event, t),
            None => EventCard {
                name: name.to_owned(),
                date: None,
                venue_name: String::new(),
                venue_address: String::new(),
            },
        }
    }
}

/// An event's name, date and venue: shown beside whatever is bought for it.
#[derive(Debug, Clone)]
pub(crate) struct EventCard {
    pub(crate) name: String,
    pub(crate) date: Option<EventDate>,
    pub(crate) venue_name: String,
    pub(crate) venue_address: String,
}

impl EventCard {
    pub(crate) fn new(event: &EventInfo, t: &Texts) -> EventCard {
        EventCard {
            name: event.name.in_lang(t.lang).to_owned(),
            date: event.time.as_ref().map(|time| EventDate::new(time, t)),
            venue_name: event.venue.name.clone(),
            venue_address: event.venue.address.clone(),
        }
    }
}

/// The top of an event's tickets page.
#[derive(Debug)]
pub(crate) struct Hero {
    pub(crate) card: EventCard,
    pub(crate) description: String,
    /// The image's address among the account's files.
    pub(crate) image: Option<String>,
}

impl Hero {
    pub(crate) fn new(event: &EventInfo, account: &str, t: &Texts) -> Hero {
        Hero {
            card: EventCard::new(event, t),
            description: event.description.in_lang(t.lang).to_owned(),
            image: event
                .image
                .as_ref()
                .map(|file| format!("/media/{account}/{file}")),
        }
    }
}

/// One price of an event with the quantity the order holds: a quantity input.
#[derive(Debug)]
pub(crate) struct TicketRow {
    pub(crate) price_id: NumId,
    pub(crate) label: String,
    pub(crate) unit: String,
    pub(crate) service: Option<String>,
    pub(crate) qty: usize,
    /// The most this input may ask for: the per-price cap, the seats left and the room
    /// left in the order, on top of what is held.
    pub(crate) max: u32,
    pub(crate) subtotal: String,
}

impl TicketRow {
    /// Every price of the event, with the quantity the order holds.
    pub(crate) fn for_offer(
        offer: &EventOffer,
        order: Option<&OrderState>,
        t: &Texts,
    ) -> Vec<TicketRow> {
        let in_order = order.map_or(0, |o| o.tickets.len());
        let room = u32::try_from(in_order)
            .ok()
            .map_or(0, |n| MAX_TICKETS_PER_ORDER.saturating_sub(n));
        offer
            .lines
            .iter()
            .map(|line| {
                let qty = order.map_or(0, |o| {
                    o.tickets
                        .iter()
                        .filter(|t| t.tickettypepriceid == line.tickettypeprice_id)
                        .count()
                });
                let held = u32::try_from(qty).unwrap_or(u32::MAX);
                let max = MAX_TICKETS_PER_PRICE
                    .min(held.saturating_add(offer.event.available))
                    .min(held.saturating_add(room))
                    .max(held);
                TicketRow {
                    price_id: line.tickettypeprice_id,
                    label: format!(
                        "{} · {}",
                        line.tickettype_name.in_lang(t.lang),
                        line.pricetype_name.in_lang(t.lang)
                    ),
                    unit: money(line.price, t),
                    service: (line.servicecharge > Money::ZERO)
                        .then(|| money(line.servicecharge, t)),
                    qty,
                    max,
                    subtotal: money((line.price + line.servicecharge) * held, t),
                }
            })
            .collect()
    }
}

/// The tickets of one event in the basket.
#[derive(Debug)]
pub(crate) struct TicketGroup {
    pub(crate) event_id: NumId,
    pub(crate) card: EventCard,
    pub(crate) rows: Vec<TicketRow>,
}

/// Several tickets or products sold at one price.
#[derive(Debug)]
pub(crate) struct SummaryLine {
    pub(crate) label: String,
    pub(crate) qty: u32,
    pub(crate) unit: String,
    pub(crate) service: Option<String>,
    pub(crate) subtotal: String,
}

#[derive(Debug)]
pub(crate) struct SummaryGroup {
    pub(crate) card: EventCard,
    pub(crate) lines: Vec<SummaryLine>,
}

/// An order, event by event, with its total.
#[derive(Debug)]
pub(crate) struct Summary {
    pub(crate) events: Vec<SummaryGroup>,
    pub(crate) products: Vec<SummaryLine>,
    /// The service charges included in the total, when there are any.
    pub(crate) service: Option<String>,
    pub(crate) total: String,
}

/// Lines of the same price id sold at the same amounts counted together, in order of
/// appearance; each group keeps its first line (for its names).
fn grouped<L>(
    items: impl Iterator<Item = (NumId, L, Money, Money)>,
) -> Vec<(L, Money, Money, u32)> {
    let mut out: Vec<(NumId, L, Money, Money, u32)> = Vec::new();
    for (key, line, price, service) in items {
        match out
            .iter_mut()
            .find(|(k, _, p, s, _)| *k == key && *p == price && *s == service)
        {
            Some(group) => group.4 += 1,
            None => out.push((key, line, price, service, 1)),
        }
    }
    out.into_iter()
        .map(|(_, line, price, service, n)| (line, price, service, n))
        .collect()
}

impl Summary {
    pub(crate) fn new(order: &OrderState, catalog: &Catalog, t: &Texts) -> Summary {
        let mut events: Vec<NumId> = Vec::new();
        for ticket in &order.tickets {
            if !events.contains(&ticket.eventid) {
                events.push(ticket.eventid);
            }
        }
        let groups = events
            .into_iter()
            .map(|event| {
                let tickets: Vec<&TicketLine> = order
                    .tickets
                    .iter()
                    .filter(|l| l.eventid == event)
                    .collect();
                let name = tickets.first().map_or("", |l| l.eventname.as_str());
                let lines = grouped(
                    tickets
                        .iter()
                        .map(|l| (l.tickettypepriceid, *l, l.price, l.servicecharge)),
                )
                .into_iter()
                .map(|(line, price, service, qty)| SummaryLine {
                    label: catalog.ticket_label(line, t.lang),
                    qty,
                    unit: money(price, t),
                    service: (service > Money::ZERO).then(|| money(service, t)),
                    subtotal: money((price + service) * qty, t),
                })
                .collect();
                SummaryGroup {
                    card: catalog.card(event, name, t),
                    lines,
                }
            })
            .collect();
        let products = grouped(
            order
                .products
                .iter()
                .map(|p| (p.productid, p, p.price, Money::ZERO)),
        )
        .into_iter()
        .map(|(line, price, _, qty)| SummaryLine {
            label: catalog.product_name(line.productid, &line.productname, t.lang),
            qty,
            unit: money(price, t),
            service: None,
            subtotal: money(price * qty, t),
        })
        .collect();
        let service: Money = order.tickets.iter().map(|l| l.servicecharge).sum();
        Summary {
            events: groups,
            products,
            service: (service > Money::ZERO).then(|| money(service, t)),
            total: money(order.totalamount, t),
        }
    }
}

/// The basket's totals: tickets, service charges and extras, and what is paid.
#[derive(Debug)]
pub(crate) struct BasketTotals {
    pub(crate) lines: Vec<TotalLine>,
    pub(crate) total: String,
}

#[derive(Debug)]
pub(crate) struct TotalLine {
    pub(crate) label: &'static str,
    pub(crate) amount: String,
}

impl BasketTotals {
    pub(crate) fn new(order: &OrderState, t: &Texts) -> BasketTotals {
        let tickets: Money = order.tickets.iter().map(|l| l.price).sum();
        let service: Money = order.tickets.iter().map(|l| l.servicecharge).sum();
        let products: Money = order.products.iter().map(|p| p.price).sum();
        let mut lines = vec![TotalLine {
            label: t.tickets,
            amount: money(tickets, t),
        }];
        if service > Money::ZERO {
            lines.push(TotalLine {
                label: t.service_charges,
                amount: money(service, t),
            });
        }
        if !order.products.is_empty() {
            lines.push(TotalLine {
                label: t.products,
                amount: money(products, t),
            });
        }
        BasketTotals {
            lines,
            total: money(order.totalamount, t),
        }
    }
}

#[cfg(test)]
mod tests {
    use protocol::{ProductLine, TicketLine};

    use super::*;
    use crate::pages::i18n::Texts;

    fn ticket(id: u64, price: &str, service: &str, pricetype: u64) -> TicketLine {
        TicketLine {
            id: NumId(id),
            price: price.parse().unwrap(),
            servicecharge: service.parse().unwrap(),
            tickettypepriceid: NumId(500 + pricetype),
            tickettypeid: NumId(9),
            tickettypename: "Stalls".into(),
            pricetypeid: NumId(pricetype),
            pricetypename: format!("P{pricetype}"),
            eventid: NumId(1),
            eventname: "Concert".into(),
        }
    }

    #[test]
    fn a_summary_counts_lines_per_price_and_adds_up_to_the_total() {
        let mut order = OrderState {
            id: NumId(7),
            saleschannelid: NumId(1),
            customerid: None,
            deliveryscenarioid: None,
            paymentscenarioid: None,
            totalamount: Money::ZERO,
            tickets: vec![
                ticket(1, "32", "1.5", 1),
                ticket(2, "32", "1.5", 1),
                ticket(3, "24", "1.5", 2),
            ],
            products: vec![ProductLine {
                id: NumId(4),
                productid: NumId(10),
                price: "5".parse().unwrap(),
                producttype: NumId(1),
                productname: "Booklet".into(),
            }],
        };
        order.totalamount = order.computed_total();
        let t = Texts::for_lang(Some("en"));
        let summary = Summary::new(&order, &Catalog::default(), t);
        let lines = &summary.events[0].lines;
        let shown: Vec<(&str, u32, &str)> = lines
            .iter()
            .map(|l| (l.label.as_str(), l.qty, l.subtotal.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("Stalls · P1", 2, "€\u{a0}67.00"),
                ("Stalls · P2", 1, "€\u{a0}25.50")
            ]
        );
        assert_eq!(lines[0].service.as_deref(), Some("€\u{a0}1.50"));
        assert_eq!(summary.products[0].subtotal, "€\u{a0}5.00");
        // 67 + 25.50 + 5 is what is paid.
        assert_eq!(summary.total, "€\u{a0}97.50");
        assert_eq!(summary.service.as_deref(), Some("€\u{a0}4.50"));
        assert_eq!(summary.events[0].card.name, "Concert");
        let totals = BasketTotals::new(&order, t);
        let amounts: Vec<&str> = totals.lines.iter().map(|l| l.amount.as_str()).collect();
        assert_eq!(amounts, ["€\u{a0}88.00", "€\u{a0}4.50", "€\u{a0}5.00"]);
    }
}
