//! Checkout: start, customer, delivery and payment panels, and the built-in test payment
//! provider. Customer details are kept in the store for the order; only the customer's id
//! ever reaches an item.

use protocol::{AccountName, Action, Money, NumId, OrderAction, OrderState, Timestamp};
use rand::RngCore;
use rusqlite::{OptionalExtension, Transaction, params};

use super::state::order_state;
use super::{Ctx, num, open_order, touch_order};
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

/// How the shopper left the test payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    Paid,
    Cancelled,
    Failed,
}

/// A payment at the test provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentView {
    pub token: String,
    pub order_id: NumId,
    pub amount: Money,
    pub status: String,
}

/// The two kinds of scenario an order chooses at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Delivery,
    Payment,
}

impl Scenario {
    fn table(self) -> &'static str {
        match self {
            Scenario::Delivery => "deliveryscenarios",
            Scenario::Payment => "paymentscenarios",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Scenario::Delivery => "deliveryscenario_id",
            Scenario::Payment => "paymentscenario_id",
        }
    }

    /// The `panels` entry that shows this choice.
    fn panel(self) -> &'static str {
        match self {
            Scenario::Delivery => "delivery",
            Scenario::Payment => "payment",
        }
    }

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

    fn missing(self) -> &'static str {
        match self {
            Scenario::Delivery => "choose a delivery option first",
            Scenario::Payment => "choose a payment method first",
        }
    }
}

/// Which checkout step an action records.
#[derive(Debug, Clone, Copy)]
enum Step {
    Start,
    Customer,
    Delivery,
    Payment,
    Initiate,
    Confirm,
}

fn record(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    order: i64,
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
fn basket(tx: &Transaction<'_>, ctx: &Ctx) -> Result<i64, Error> {
    let order = open_order(tx, ctx)?.ok_or(ShopRule::NoOpenOrder)?;
    let lines: i64 = tx.query_row(
        "SELECT (SELECT COUNT(*) FROM order_tickets WHERE order_id = ?1)
              + (SELECT COUNT(*) FROM order_products WHERE order_id = ?1)",
        params![order],
        |row| row.get(0),
    )?;
    if lines == 0 {
        return Err(ShopRule::EmptyBasket.into());
    }
    Ok(order)
}

fn scenario_exists(tx: &Transaction<'_>, ctx: &Ctx, table: &str, id: NumId) -> Result<bool, Error> {
    Ok(tx
        .query_row(
            &format!("SELECT 1 FROM {table} WHERE account_id = ?1 AND id = ?2 AND active = 1"),
            params![ctx.account_id, id.0 as i64],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn first_scenario(tx: &Transaction<'_>, ctx: &Ctx, table: &str) -> Result<Option<i64>, Error> {
    Ok(tx
        .query_row(
            &format!(
                "SELECT id FROM {table} WHERE account_id = ?1 AND active = 1 ORDER BY position LIMIT 1"
            ),
            params![ctx.account_id],
            |row| row.get(0),
        )
        .optional()?)
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
            let order = basket(tx, ctx)?;
            touch_order(tx, ctx, order)?;
            record(tx, ctx, order, Step::Start)
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
            let order = basket(tx, ctx)?;
            let existing: Option<i64> = tx.query_row(
                "SELECT customer_id FROM orders WHERE id = ?1",
                params![order],
                |row| row.get(0),
            )?;
            match existing {
                Some(id) => {
                    tx.execute(
                        "UPDATE customers SET name = ?2, email = ?3 WHERE id = ?1",
                        params![id, customer.name, customer.email],
                    )?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO customers (account_id, name, email) VALUES (?1, ?2, ?3)",
                        params![ctx.account_id, customer.name, customer.email],
                    )?;
                    tx.execute(
                        "UPDATE orders SET customer_id = ?2 WHERE id = ?1",
                        params![order, tx.last_insert_rowid()],
                    )?;
                }
            }
            touch_order(tx, ctx, order)?;
            record(tx, ctx, order, Step::Customer)
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
            let order = basket(tx, ctx)?;
            if !scenario_exists(tx, ctx, kind.table(), scenario)? {
                return Err(ShopRule::InvalidInput(kind.invalid()).into());
            }
            tx.execute(
                &format!("UPDATE orders SET {} = ?2 WHERE id = ?1", kind.column()),
                params![order, scenario.0 as i64],
            )?;
            touch_order(tx, ctx, order)?;
            record(tx, ctx, order, kind.step())
        })
        .await
    }

    /// Sends the shopper to the payment provider (`checkout_initiatepayment`). Panels the
    /// widget hides are filled with the first option; a shown panel must have been
    /// completed. Returns the payment token for the provider's page.
    pub async fn initiate_payment(
        &self,
        account: &AccountName,
        session_id: &str,
        now: Timestamp,
    ) -> Result<String, Error> {
        self.in_session(account, session_id, now, |tx, ctx| {
            let order = basket(tx, ctx)?;
            let panels: Vec<String> = ctx
                .params
                .get("panels")
                .and_then(|p| p.clone())
                .unwrap_or_else(|| "customer,delivery,payment".to_owned())
                .split(',')
                .map(|p| p.trim().to_owned())
                .collect();
            let shown = |panel: &str| panels.iter().any(|p| p == panel);
            let (customer, delivery, payment): (Option<i64>, Option<i64>, Option<i64>) = tx
                .query_row(
                    "SELECT customer_id, deliveryscenario_id, paymentscenario_id FROM orders WHERE id = ?1",
                    params![order],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )?;
            if customer.is_none() && shown("customer") {
                return Err(ShopRule::Incomplete("fill in your name and e-mail address first").into());
            }
            for (value, kind) in [(delivery, Scenario::Delivery), (payment, Scenario::Payment)] {
                if value.is_some() {
                    continue;
                }
                if shown(kind.panel()) {
                    return Err(ShopRule::Incomplete(kind.missing()).into());
                }
                let first = first_scenario(tx, ctx, kind.table())?.ok_or(ShopRule::NotOnSale)?;
                tx.execute(
                    &format!("UPDATE orders SET {} = ?2 WHERE id = ?1", kind.column()),
                    params![order, first],
                )?;
            }
            let state = record(tx, ctx, order, Step::Initiate)?;
            let mut bytes = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let token = hex::encode(bytes);
            tx.execute(
                "INSERT INTO payments (token, order_id, amount, status, created_ms)
                 VALUES (?1, ?2, ?3, 'pending', ?4)",
                params![token, order, state.totalamount.to_string(), ctx.now.unix_ms()],
            )?;
            touch_order(tx, ctx, order)?;
            Ok(token)
        })
        .await
    }

    /// A payment of this account at the test provider.
    pub async fn payment(
        &self,
        account: &AccountName,
        token: &str,
    ) -> Result<Option<PaymentView>, Error> {
        let name = account.clone();
        let token = token.to_owned();
        self.with_conn(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT p.order_id, p.amount, p.status FROM payments p
                     JOIN orders o ON o.id = p.order_id JOIN accounts a ON a.id = o.account_id
                     WHERE p.token = ?1 AND a.name = ?2",
                    params![token, name.as_str()],
                    |row| {
                        Ok(PaymentView {
                            token: token.clone(),
                            order_id: num(row.get(0)?),
                            amount: crate::catalog::store::money(row, 1)?,
                            status: row.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    /// The provider's answer. Paid confirms the order (`checkout_confirm`), in the session
    /// that made it; cancelled and failed leave it open so the shopper can try again.
    /// A reservation that expired meanwhile cannot be paid.
    pub async fn finish_payment(
        &self,
        account: &AccountName,
        token: &str,
        outcome: PaymentOutcome,
        now: Timestamp,
    ) -> Result<PaymentView, Error> {
        let payment = self
            .payment(account, token)
            .await?
            .ok_or(ShopRule::PaymentClosed)?;
        let session_id = self
            .with_conn({
                let order = payment.order_id.0 as i64;
                move |conn| {
                    Ok(conn.query_row(
                        "SELECT session_id FROM orders WHERE id = ?1",
                        params![order],
                        |row| row.get::<_, String>(0),
                    )?)
                }
            })
            .await?;
        let token = token.to_owned();
        self.in_session(account, &session_id, now, move |tx, ctx| {
            let order = payment.order_id.0 as i64;
            let status: String = tx.query_row(
                "SELECT status FROM payments WHERE token = ?1",
                params![token],
                |row| row.get(0),
            )?;
            if status != "pending" {
                return Err(ShopRule::PaymentClosed.into());
            }
            let new_status = match outcome {
                PaymentOutcome::Paid => "paid",
                PaymentOutcome::Cancelled => "cancelled",
                PaymentOutcome::Failed => "failed",
            };
            if outcome == PaymentOutcome::Paid {
                let confirmed = tx.execute(
                    "UPDATE orders SET status = 'confirmed'
                     WHERE id = ?1 AND status = 'open' AND expires_ms >= ?2",
                    params![order, ctx.now.unix_ms()],
                )?;
                if confirmed == 0 {
                    return Err(ShopRule::NoOpenOrder.into());
                }
                record(tx, ctx, order, Step::Confirm)?;
            }
            tx.execute(
                "UPDATE payments SET status = ?2 WHERE token = ?1",
                params![token, new_status],
            )?;
            Ok(PaymentView {
                status: new_status.to_owned(),
                ..payment
            })
        })
        .await
    }
}
