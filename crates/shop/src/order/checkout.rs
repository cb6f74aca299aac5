//! Checkout: start, customer, delivery and payment panels. Customer details are kept in
//! the store for the order; only the customer's id ever reaches an item.

use protocol::{AccountName, Action, NumId, OrderAction, OrderState, Timestamp};

use super::state::order_state;
use super::{Ctx, open_order, touch_order};
use crate::storage::{OrderRow, Tx};
use crate::{Error, ShopRule, ShopStore};

/// What the customer panel asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerInfo {
    pub name: String,
    pub email: String,
}

impl CustomerInfo {
    /// Trims and checks the fields; the page shows the error next to the form.
    pub fn parse(name: &str, email: &str) -> Result<Self, ShopRule> {
        let name = name.trim();
        let email = email.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ShopRule::InvalidInput(
                "enter a name of at most 200 characters",
            ));
        }
        let valid_email = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if !valid_email {
            return Err(ShopRule::InvalidInput("enter a valid e-mail address"));
        }
        Ok(CustomerInfo {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }
}

/// The two kinds of scenario an order chooses at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Delivery,
    Payment,
}

impl Scenario {
    fn step(self) -> Step {
        match self {
            Scenario::Delivery => Step::Delivery,
            Scenario::Payment => Step::Payment,
        }
    }

    fn invalid(self) -> &'static str {
        match self {
            Scenario::Delivery => "choose one of the delivery options",
            Scenario::Payment => "choose one of the payment methods",
        }
    }

    pub(crate) fn missing(self) -> &'static str {
        match self {
            Scenario::Delivery => "choose a delivery option first",
            Scenario::Payment => "choose a payment method first",
        }
    }

    /// The order's choice of this kind.
    pub(crate) fn of(self, order: &mut OrderRow) -> &mut Option<NumId> {
        match self {
            Scenario::Delivery => &mut order.delivery,
            Scenario::Payment => &mut order.payment,
        }
    }
}

/// Which checkout step an action records.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    Start,
    Customer,
    Delivery,
    Payment,
    Initiate,
    Confirm,
}

/// Records `step` with the order as it is now; returns that state.
pub(crate) fn record(
    tx: &mut dyn Tx,
    ctx: &mut Ctx,
    order: &OrderRow,
    step: Step,
) -> Result<OrderState, Error> {
    let state = order_state(tx, order)?;
    let snapshot = state.clone();
    ctx.tracker.record(tx, move |reference| {
        let a = OrderAction {
            order: snapshot,
            reference,
        };
        match step {
            Step::Start => Action::CheckoutStart(a),
            Step::Customer => Action::CheckoutAddCustomerInfo(a),
            Step::Delivery => Action::CheckoutAddDeliveryInfo(a),
            Step::Payment => Action::CheckoutAddPaymentInfo(a),
            Step::Initiate => Action::CheckoutInitiatePayment(a),
            Step::Confirm => Action::CheckoutConfirm(a),
        }
    })?;
    Ok(state)
}

/// The session's open order with at least one line.
pub(crate) fn basket(tx: &mut dyn Tx, ctx: &Ctx) -> Result<OrderRow, Error> {
    let order = open_order(tx, ctx)?.ok_or(ShopRule::NoOpenOrder)?;
    let state = order_state(tx, &order)?;
    if state.tickets.is_empty() && state.products.is_empty() {
        return Err(ShopRule::EmptyBasket.into());
    }
    Ok(order)
}

impl ShopStore {
    /// The shopper starts checkout (`checkout_start`).
    pub async fn start_checkout(
        &self,
        account: &AccountName,
        session_id: &str,
        now: Timestamp,
    ) -> Result<OrderState, Error> {
        self.in_session(account, session_id, now, |tx, ctx| {
            let mut order = basket(tx, ctx)?;
            touch_order(tx, ctx, &mut order)?;
            record(tx, ctx, &order, Step::Start)
        })
        .await
    }

    /// The customer panel (`checkout_addcustomerinfo`); `order.customerid` is set after it.
    pub async fn set_customer(
        &self,
        account: &AccountName,
        session_id: &str,
        customer: CustomerInfo,
        now: Timestamp,
    ) -> Result<OrderState, Error> {
        self.in_session(account, session_id, now, move |tx, ctx| {
            let mut order = basket(tx, ctx)?;
            match order.customer {
                Some(id) => tx.update_customer(id, &customer)?,
                None => order.customer = Some(tx.insert_customer(ctx.account, &customer)?),
            }
            touch_order(tx, ctx, &mut order)?;
            record(tx, ctx, &order, Step::Customer)
        })
        .await
    }

    /// The delivery or payment panel (`checkout_adddeliveryinfo`,
    /// `checkout_addpaymentinfo`): sets the order's scenario of that kind.
    pub async fn set_scenario(
        &self,
        account: &AccountName,
        session_id: &str,
        kind: Scenario,
        scenario: NumId,
        now: Timestamp,
    ) -> Result<OrderState, Error> {
        self.in_session(account, session_id, now, move |tx, ctx| {
            let mut order = basket(tx, ctx)?;
            let offered = tx
                .scenarios(ctx.account, kind)?
                .iter()
                .any(|(id, _)| *id == scenario);
            if !offered {
                return Err(ShopRule::InvalidInput(kind.invalid()).into());
            }
            *kind.of(&mut order) = Some(scenario);
            touch_order(tx, ctx, &mut order)?;
            record(tx, ctx, &order, kind.step())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_info_is_checked() {
        assert!(CustomerInfo::parse("Ann", "ann@example.org").is_ok());
        for (name, email) in [
            ("", "a@b.co"),
            ("Ann", "nope"),
            ("Ann", "a@b"),
            ("Ann", "a b@c.de"),
            ("Ann", "@c.de"),
        ] {
            assert!(
                CustomerInfo::parse(name, email).is_err(),
                "{name:?} {email:?}"
            );
        }
    }
}
