//! Order lines as analytics tools count them: one entry per thing sold with a quantity,
//! where the webshop has one line per ticket or product. Shared by the GA4 items and the
//! Matomo `ec_items`.

use protocol::{Money, NumId, ProductLine, TicketLine};

/// Identical order lines, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::sink) struct CartLine {
    /// `ticket-<tickettypepriceid>` or `product-<productid>`: ticket price rows and
    /// products are numbered apart, so the prefix keeps them from colliding.
    pub(in crate::sink) sku: String,
    /// Tickets: event name, ticket type and price type; products: the product name.
    pub(in crate::sink) name: String,
    /// Tickets: the event name; products: `Products`.
    pub(in crate::sink) category: String,
    /// Tickets: ticket type and price type; products: none.
    pub(in crate::sink) variant: Option<String>,
    /// The price of one unit, service charge included, so that the lines add up to the
    /// order's `totalamount`.
    pub(in crate::sink) unit_price: Money,
    pub(in crate::sink) quantity: u32,
}

impl CartLine {
    pub(in crate::sink) fn amount(&self) -> Money {
        self.unit_price * self.quantity
    }
}

/// Groups ticket lines by `tickettypepriceid` and product lines by `productid`, in the
/// order each first appears. Lines of one group sold at different unit prices (which the
/// contract does not forbid) stay separate entries with the same sku, so that prices
/// and amounts stay exact.
pub(in crate::sink) fn group(tickets: &[TicketLine], products: &[ProductLine]) -> Vec<CartLine> {
    let mut lines: Vec<(Key, CartLine)> = Vec::new();
    let mut add =
        |key: Key, make: &dyn Fn() -> CartLine| match lines.iter_mut().find(|(k, _)| *k == key) {
            Some((_, line)) => line.quantity = line.quantity.saturating_add(1),
            None => lines.push((key, make())),
        };
    for t in tickets {
        let unit_price = t.price + t.servicecharge;
        add(Key::Ticket(t.tickettypepriceid, unit_price), &|| {
            let variant = format!("{} - {}", t.tickettypename, t.pricetypename);
            CartLine {
                sku: format!("ticket-{}", t.tickettypepriceid),
                name: format!("{} - {variant}", t.eventname),
                category: t.eventname.clone(),
                variant: Some(variant),
                unit_price,
                quantity: 1,
            }
        });
    }
    for p in products {
        add(Key::Product(p.productid, p.price), &|| CartLine {
            sku: format!("product-{}", p.productid),
            name: p.productname.clone(),
            category: "Products".to_owned(),
            variant: None,
            unit_price: p.price,
            quantity: 1,
        });
    }
    lines.into_iter().map(|(_, line)| line).collect()
}

/// What the lines cost together.
pub(in crate::sink) fn total(lines: &[CartLine]) -> Money {
    lines.iter().map(CartLine::amount).sum()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Ticket(NumId, Money),
    Product(NumId, Money),
}

/// An amount as a JSON number. Amounts are exact decimals; the nearest double prints
/// back as the same decimal for any amount with up to 15 significant digits.
pub(in crate::sink) fn money_number(amount: Money) -> f64 {
    amount.to_string().parse().unwrap_or(0.0)
}

#[cfg(test)]
pub(in crate::sink) mod fixtures {
    //! Order lines and items for the mapping tests of both sinks.
    #![allow(clippy::unwrap_used)]

    use protocol::{Action, ItemId, Money, NumId, OrderState, ProductLine, TicketLine, Timestamp};
    use serde_json::value::RawValue;

    use crate::ReceivedItem;

    /// The sinks' clock in the mapping tests.
    pub(in crate::sink) const NOW_MS: i64 = 1_700_000_000_000;

    /// The item of `action`, `age_ms` before [`NOW_MS`].
    pub(in crate::sink) fn item(action: &Action, age_ms: i64) -> ReceivedItem {
        item_of(action.action_type().as_str(), &action.data_json(), age_ms)
    }

    pub(in crate::sink) fn item_of(kind: &str, data: &str, age_ms: i64) -> ReceivedItem {
        let ts = Timestamp::from_unix_ms(NOW_MS - age_ms);
        let json = protocol::item_json(ItemId::new(1, 0), ts, kind, data);
        ReceivedItem::from_raw(RawValue::from_string(json).unwrap()).unwrap()
    }

    pub(in crate::sink) fn ticket(id: u64, ttp: u64, price: &str) -> TicketLine {
        TicketLine {
            id: NumId(id),
            price: price.parse().unwrap(),
            servicecharge: "1.5".parse().unwrap(),
            tickettypepriceid: NumId(ttp),
            tickettypeid: NumId(92),
            tickettypename: "Tickets".into(),
            pricetypeid: NumId(10000),
            pricetypename: "Normal".into(),
            eventid: NumId(10003),
            eventname: "Dance performance 2".into(),
        }
    }

    pub(in crate::sink) fn voucher(id: u64) -> ProductLine {
        ProductLine {
            id: NumId(id),
            productid: NumId(10000),
            price: "25".parse().unwrap(),
            producttype: NumId(26002),
            productname: "Gift voucher".into(),
        }
    }

    pub(in crate::sink) fn order(
        tickets: Vec<TicketLine>,
        products: Vec<ProductLine>,
    ) -> OrderState {
        let mut order = OrderState {
            id: NumId(398),
            saleschannelid: NumId(10000),
            customerid: None,
            deliveryscenarioid: None,
            paymentscenarioid: None,
            totalamount: Money::ZERO,
            tickets,
            products,
        };
        order.totalamount = order.computed_total();
        order
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::fixtures::{order, ticket, voucher};
    use super::*;

    #[test]
    fn groups_by_price_row_and_product_and_adds_up_to_the_order_total() {
        let o = order(
            vec![
                ticket(1, 580, "20"),
                ticket(2, 581, "12.5"),
                ticket(3, 580, "20"),
            ],
            vec![voucher(7), voucher(8)],
        );
        let lines = group(&o.tickets, &o.products);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].sku, "ticket-580");
        assert_eq!(lines[0].quantity, 2);
        assert_eq!(lines[0].unit_price.to_string(), "21.5");
        assert_eq!(lines[0].name, "Dance performance 2 - Tickets - Normal");
        assert_eq!(lines[0].category, "Dance performance 2");
        assert_eq!(lines[1].sku, "ticket-581");
        assert_eq!(lines[1].quantity, 1);
        assert_eq!(lines[2].sku, "product-10000");
        assert_eq!(lines[2].quantity, 2);
        assert_eq!(lines[2].variant, None);
        assert_eq!(total(&lines), o.totalamount);
    }

    #[test]
    fn a_price_row_sold_at_two_prices_stays_exact() {
        let lines = group(&[ticket(1, 580, "20"), ticket(2, 580, "10")], &[]);
        assert_eq!(lines.len(), 2);
        assert!(
            lines
                .iter()
                .all(|l| l.sku == "ticket-580" && l.quantity == 1)
        );
        assert_eq!(total(&lines).to_string(), "33");
    }

    #[test]
    fn amounts_become_the_same_decimal_number() {
        for text in ["20", "12.5", "0.1", "0.07", "1234567.89"] {
            let n = money_number(text.parse().unwrap());
            assert_eq!(n.to_string(), text);
        }
    }
}
