//! Checkout: start, customer, delivery and payment panels, and the one form that submits
//! them all and goes on to the payment. Customer details are kept in the store for the
//! order; only the customer's id ever reaches an item.

use protocol::{AccountName, Action, NumId, OrderAction, OrderState, Timestamp};

use super::payment::start_payment;
use super::state::with_fields;
use super::{Ctx, open_order, restart_reservation, touch_order};
use crate::storage::{OrderRow, Tx};
use crate::{Error, ShopRule, ShopStore};

/// What the customer panel asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerInfo {
    pub name: String,
    pub email: String,
}

/// What is wrong with one field of the checkout form, for the page to say next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    NameMissing,
    NameTooLong,
    EmailInvalid,
    DeliveryMissing,
    PaymentMissing,
}

/// The longest name the customer panel takes, in characters.
pub const MAX_NAME_CHARS: usize = 200;

impl CustomerInfo {
    /// Trims and checks the fields; the page shows the error next to the form.
    pub fn parse(name: &str, email: &str) -> Result<Self, ShopRule> {
        Self::check(name, email).map_err(|errors| {
            ShopRule::InvalidInput(match errors.first() {
                Some(FieldError::EmailInvalid) => "enter a valid e-mail address",
                _ => "enter a name of at most 200 characters",
            })
        })
    }

    /// Trims and checks the fields; every field that is not right, in form order.
    pub fn check(name: &str, email: &str) -> Result<Self, Vec<FieldError>> {
        let name = name.trim();
        let email = email.trim();
        let mut errors = Vec::new();
        if name.is_empty() {
            errors.push(FieldError::NameMissing);
        } else if name.chars().count() > MAX_NAME_CHARS {
            errors.push(FieldError::NameTooLong);
        }
        let valid_email = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if !valid_email {
            errors.push(FieldError::EmailInvalid);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CustomerInfo {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }
}

/// One submission of the checkout form: the panels it showed, filled in. A panel the
/// widget hides is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutDetails {
    pub customer: Option<CustomerInfo>,
    pub delivery: Option<NumId>,
    pub payment: Option<NumId>,
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

/// Records `step` with the order as it is now (its fields from `order`, its lines from
/// `lines`, as [`basket`] read them); returns that state.
pub(crate) fn record(
    tx: &mut dyn Tx,
    ctx: &mut Ctx,
    order: &OrderRow,
    lines: &OrderState,
    step: Step,
) -> Result<OrderState, Error> {
    let state = with_fields(order, lines);
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

/// The session's open order with at least one line, and its state: checkout steps
/// change the order's fields, never its lines, so they take the lines from here.
pub(crate) fn basket(tx: &mut dyn Tx, ctx: &Ctx) -> Result<(OrderRow, OrderState), Error> {
    let order = open_order(tx, ctx)?.ok_or(ShopRule::NoOpenOrder)?;
    let state = ctx.order_state(tx, &order)?;
    if state.tickets.is_empty() && state.products.is_empty() {
        return Err(ShopRule::EmptyBasket.into());
    }
    Ok((order, state))
}

/// Stores the customer details on the order: its customer row is updated, or one is
/// made for it.
fn save_customer(
    tx: &mut dyn Tx,
    ctx: &Ctx,
    order: &mut OrderRow,
    customer: &CustomerInfo,
) -> Result<(), Error> {
    match order.customer {
        Some(id) => tx.update_customer(id, customer),
        None => {
            order.customer = Some(tx.insert_customer(ctx.account, customer)?);
            Ok(())
        }
    }
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
            let (mut order, lines) = basket(tx, ctx)?;
            touch_order(tx, ctx, &mut order)?;
            record(tx, ctx, &order, &lines, Step::Start)
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
            let (mut order, lines) = basket(tx, ctx)?;
            save_customer(tx, ctx, &mut order, &customer)?;
            touch_order(tx, ctx, &mut order)?;
            record(tx, ctx, &order, &lines, Step::Customer)
        })
        .await
    }

    /// The checkout form: records each panel whose value is new (`checkout_addcustomerinfo`,
    /// `checkout_adddeliveryinfo`, `checkout_addpaymentinfo`, in that order) and starts the
    /// payment (`checkout_initiatepayment`), all in one transaction. Submitting the same
    /// details again records no panel and leads to the open payment when there is one.
    /// Returns the payment token.
    pub async fn submit_checkout(
        &self,
        account: &AccountName,
        session_id: &str,
        details: CheckoutDetails,
        now: Timestamp,
    ) -> Result<String, Error> {
        self.in_session(account, session_id, now, move |tx, ctx| {
            let (mut order, lines) = basket(tx, ctx)?;
            if let Some(customer) = &details.customer {
                let known = match order.customer {
                    Some(id) => tx.customer(id)?,
                    None => None,
                };
                if known.as_ref() != Some(customer) {
                    save_customer(tx, ctx, &mut order, customer)?;
                    restart_reservation(ctx, &mut order);
                    record(tx, ctx, &order, &lines, Step::Customer)?;
                }
            }
            for (kind, choice) in [
                (Scenario::Delivery, details.delivery),
                (Scenario::Payment, details.payment),
            ] {
                let Some(choice) = choice else { continue };
                if *kind.of(&mut order) == Some(choice) {
                    continue;
                }
                choose(tx, ctx, &mut order, &lines, kind, choice)?;
            }
            // Writes the order's fields, those chosen above included.
            start_payment(tx, ctx, order, &lines)
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
            let (mut order, lines) = basket(tx, ctx)?;
            let state = choose(tx, ctx, &mut order, &lines, kind, scenario)?;
            tx.update_order(&order)?;
            Ok(state)
        })
        .await
    }
}

/// Sets the order's scenario of `kind` to one on offer and records the panel; the caller
/// writes the order's fields.
fn choose(
    tx: &mut dyn Tx,
    ctx: &mut Ctx,
    order: &mut OrderRow,
    lines: &OrderState,
    kind: Scenario,
    scenario: NumId,
) -> Result<OrderState, Error> {
    let offered = tx
        .scenarios(ctx.account, kind)?
        .iter()
        .any(|(id, _)| *id == scenario);
    if !offered {
        return Err(ShopRule::InvalidInput(kind.invalid()).into());
    }
    *kind.of(order) = Some(scenario);
    restart_reservation(ctx, order);
    record(tx, ctx, order, lines, kind.step())
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
            ("Ann", "a@b@c.de"),
            (&"x".repeat(201), "a@b.co"),
        ] {
            assert!(
                CustomerInfo::parse(name, email).is_err(),
                "{name:?} {email:?}"
            );
        }
        assert_eq!(
            CustomerInfo::check(" ", "nope"),
            Err(vec![FieldError::NameMissing, FieldError::EmailInvalid])
        );
        assert_eq!(
            CustomerInfo::check(" Ann ", " ann@example.org ").unwrap(),
            CustomerInfo {
                name: "Ann".into(),
                email: "ann@example.org".into()
            }
        );
    }
}
