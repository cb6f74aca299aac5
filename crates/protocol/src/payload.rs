//! The `data` of each action type, serializing to exactly the JSON of spec section 3:
//! ids and amounts as strings, `null` for a missing reference, keys in the spec's order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ActionType, Money, NumId, Ref};

/// One ticket line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLine {
    pub id: NumId,
    pub price: Money,
    pub servicecharge: Money,
    pub tickettypepriceid: NumId,
    pub tickettypeid: NumId,
    pub tickettypename: String,
    pub pricetypeid: NumId,
    pub pricetypename: String,
    pub eventid: NumId,
    pub eventname: String,
}

/// One product line of an order (a gift voucher, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductLine {
    pub id: NumId,
    pub productid: NumId,
    pub price: Money,
    pub producttype: NumId,
    pub productname: String,
}

/// The state of an order after an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    pub id: NumId,
    pub saleschannelid: NumId,
    pub customerid: Option<NumId>,
    pub deliveryscenarioid: Option<NumId>,
    pub paymentscenarioid: Option<NumId>,
    pub totalamount: Money,
    pub tickets: Vec<TicketLine>,
    pub products: Vec<ProductLine>,
}

impl OrderState {
    /// `totalamount` as the contract defines it: every ticket's price and service charge
    /// plus every product's price.
    pub fn computed_total(&self) -> Money {
        let tickets: Money = self.tickets.iter().map(|t| t.price + t.servicecharge).sum();
        let products: Money = self.products.iter().map(|p| p.price).sum();
        tickets + products
    }
}

/// `webshop:pageview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageView {
    pub page: String,
    /// The effective widget parameters, without `accesskey`, `signature`, `l` and `ref`.
    pub params: BTreeMap<String, Option<String>>,
    pub orderid: Option<NumId>,
    pub customerid: Option<NumId>,
    #[serde(rename = "ref")]
    pub reference: Ref,
}

/// `webshop:add_tickets` and `webshop:remove_tickets`: `tickets` lists exactly the lines
/// this action added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketsChanged {
    pub tickets: Vec<TicketLine>,
    pub order: OrderState,
    #[serde(rename = "ref")]
    pub reference: Ref,
}

/// `webshop:add_products` and `webshop:remove_products`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductsChanged {
    pub products: Vec<ProductLine>,
    pub order: OrderState,
    #[serde(rename = "ref")]
    pub reference: Ref,
}

/// The checkout actions, which carry only the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAction {
    pub order: OrderState,
    #[serde(rename = "ref")]
    pub reference: Ref,
}

/// An action with its payload: what the webshop captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    PageView(PageView),
    AddTickets(TicketsChanged),
    RemoveTickets(TicketsChanged),
    AddProducts(ProductsChanged),
    RemoveProducts(ProductsChanged),
    CheckoutStart(OrderAction),
    CheckoutAddCustomerInfo(OrderAction),
    CheckoutAddDeliveryInfo(OrderAction),
    CheckoutAddPaymentInfo(OrderAction),
    CheckoutInitiatePayment(OrderAction),
    CheckoutConfirm(OrderAction),
}

impl Action {
    pub fn action_type(&self) -> ActionType {
        match self {
            Action::PageView(_) => ActionType::PageView,
            Action::AddTickets(_) => ActionType::AddTickets,
            Action::RemoveTickets(_) => ActionType::RemoveTickets,
            Action::AddProducts(_) => ActionType::AddProducts,
            Action::RemoveProducts(_) => ActionType::RemoveProducts,
            Action::CheckoutStart(_) => ActionType::CheckoutStart,
            Action::CheckoutAddCustomerInfo(_) => ActionType::CheckoutAddCustomerInfo,
            Action::CheckoutAddDeliveryInfo(_) => ActionType::CheckoutAddDeliveryInfo,
            Action::CheckoutAddPaymentInfo(_) => ActionType::CheckoutAddPaymentInfo,
            Action::CheckoutInitiatePayment(_) => ActionType::CheckoutInitiatePayment,
            Action::CheckoutConfirm(_) => ActionType::CheckoutConfirm,
        }
    }

    /// The `data` object as JSON text, serialized once.
    pub fn data_json(&self) -> String {
        let result = match self {
            Action::PageView(p) => serde_json::to_string(p),
            Action::AddTickets(t) | Action::RemoveTickets(t) => serde_json::to_string(t),
            Action::AddProducts(p) | Action::RemoveProducts(p) => serde_json::to_string(p),
            Action::CheckoutStart(o)
            | Action::CheckoutAddCustomerInfo(o)
            | Action::CheckoutAddDeliveryInfo(o)
            | Action::CheckoutAddPaymentInfo(o)
            | Action::CheckoutInitiatePayment(o)
            | Action::CheckoutConfirm(o) => serde_json::to_string(o),
        };
        // These types hold only strings, numbers and maps with string keys, which
        // serde_json always serializes.
        result.unwrap_or_else(|e| unreachable!("payload serialization cannot fail: {e}"))
    }

    pub fn reference(&self) -> &Ref {
        match self {
            Action::PageView(p) => &p.reference,
            Action::AddTickets(t) | Action::RemoveTickets(t) => &t.reference,
            Action::AddProducts(p) | Action::RemoveProducts(p) => &p.reference,
            Action::CheckoutStart(o)
            | Action::CheckoutAddCustomerInfo(o)
            | Action::CheckoutAddDeliveryInfo(o)
            | Action::CheckoutAddPaymentInfo(o)
            | Action::CheckoutInitiatePayment(o)
            | Action::CheckoutConfirm(o) => &o.reference,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(id: u64) -> TicketLine {
        TicketLine {
            id: NumId(id),
            price: "20".parse().unwrap(),
            servicecharge: Money::ZERO,
            tickettypepriceid: NumId(580),
            tickettypeid: NumId(92),
            tickettypename: "Tickets".into(),
            pricetypeid: NumId(10000),
            pricetypename: "Normal".into(),
            eventid: NumId(10003),
            eventname: "Dance performance 2".into(),
        }
    }

    fn order(tickets: Vec<TicketLine>) -> OrderState {
        let mut order = OrderState {
            id: NumId(398),
            saleschannelid: NumId(10000),
            customerid: None,
            deliveryscenarioid: None,
            paymentscenarioid: None,
            totalamount: Money::ZERO,
            tickets,
            products: vec![],
        };
        order.totalamount = order.computed_total();
        order
    }

    /// The complete item of spec section 3, `data` part, byte for byte.
    #[test]
    fn add_tickets_matches_the_spec_example() {
        let action = Action::AddTickets(TicketsChanged {
            tickets: vec![ticket(10634)],
            order: order(vec![ticket(10634)]),
            reference: Ref::parse("user12345").unwrap(),
        });
        let t = r#"{"id":"10634","price":"20","servicecharge":"0","tickettypepriceid":"580","tickettypeid":"92","tickettypename":"Tickets","pricetypeid":"10000","pricetypename":"Normal","eventid":"10003","eventname":"Dance performance 2"}"#;
        let expected = format!(
            r#"{{"tickets":[{t}],"order":{{"id":"398","saleschannelid":"10000","customerid":null,"deliveryscenarioid":null,"paymentscenarioid":null,"totalamount":"20","tickets":[{t}],"products":[]}},"ref":"user12345"}}"#
        );
        assert_eq!(action.data_json(), expected);
        assert_eq!(action.action_type().as_str(), "webshop:add_tickets");
    }

    #[test]
    fn pageview_and_products_shapes() {
        let mut params = BTreeMap::new();
        params.insert("event".to_owned(), Some("10003".to_owned()));
        params.insert("promocode".to_owned(), None);
        let pv = Action::PageView(PageView {
            page: "summary".into(),
            params,
            orderid: Some(NumId(400)),
            customerid: None,
            reference: Ref::parse("user23456").unwrap(),
        });
        assert_eq!(
            pv.data_json(),
            r#"{"page":"summary","params":{"event":"10003","promocode":null},"orderid":"400","customerid":null,"ref":"user23456"}"#
        );

        let voucher = ProductLine {
            id: NumId(10001),
            productid: NumId(10000),
            price: "100".parse().unwrap(),
            producttype: NumId(26002),
            productname: "Gift voucher".into(),
        };
        let mut o = order(vec![ticket(1), ticket(2)]);
        o.products.push(voucher.clone());
        o.totalamount = o.computed_total();
        assert_eq!(o.totalamount.to_string(), "140");
        let ap = Action::AddProducts(ProductsChanged {
            products: vec![voucher],
            order: o,
            reference: Ref::parse("r").unwrap(),
        });
        let json: serde_json::Value = serde_json::from_str(&ap.data_json()).unwrap();
        assert_eq!(json["products"][0]["producttype"], "26002");
        assert_eq!(json["order"]["totalamount"], "140");
        assert_eq!(json["ref"], "r");
    }

    #[test]
    fn payloads_round_trip() {
        let a = TicketsChanged {
            tickets: vec![ticket(5)],
            order: order(vec![ticket(5)]),
            reference: Ref::parse("x").unwrap(),
        };
        let back: TicketsChanged =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }
}
