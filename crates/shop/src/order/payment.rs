//! Payments at the built-in test payment provider, bound to the order they pay for.
//!
//! A payment records the order's amount and contents (its lines and chosen scenarios)
//! when it starts. A change to the basket cancels the open payment; starting payment
//! again while one is open for the same contents reuses it (one payment session, one
//! `checkout_initiatepayment`); a confirmation is refused unless the order still has the
//! amount and contents the payment was started for; a repeated confirmation of a paid
//! payment answers as the first one did and records nothing.

use protocol::{AccountName, Money, NumId, OrderState, Timestamp};
use rand::RngCore;

use super::checkout::{Step, basket, record};
use super::state::with_fields;
use super::{Ctx, OrderStatus, touch_order};
use crate::storage::{OrderRow, PaymentRow, Tx};
use crate::{Error, Scenario, ShopRule, ShopStore};

/// How the shopper left the test payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    Paid,
    Cancelled,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Pending,
    Paid,
    Cancelled,
    Failed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(PaymentStatus::Pending),
            "paid" => Some(PaymentStatus::Paid),
            "cancelled" => Some(PaymentStatus::Cancelled),
            "failed" => Some(PaymentStatus::Failed),
            _ => None,
        }
    }
}

impl From<PaymentOutcome> for PaymentStatus {
    fn from(outcome: PaymentOutcome) -> Self {
        match outcome {
            PaymentOutcome::Paid => PaymentStatus::Paid,
            PaymentOutcome::Cancelled => PaymentStatus::Cancelled,
            PaymentOutcome::Failed => PaymentStatus::Failed,
        }
    }
}

/// A payment at the test provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentView {
    pub token: String,
    pub order_id: NumId,
    pub amount: Money,
    pub status: PaymentStatus,
}

impl From<&PaymentRow> for PaymentView {
    fn from(p: &PaymentRow) -> Self {
        PaymentView {
            token: p.token.clone(),
            order_id: p.order_id,
            amount: p.amount,
            status: p.status,
        }
    }
}

/// What a payment is bound to: every line of the order and its scenarios. The amount is
/// kept beside it.
pub(crate) fn contents(state: &OrderState) -> String {
    let ids = |ids: &mut dyn Iterator<Item = NumId>| {
        ids.map(|id| id.to_string()).collect::<Vec<_>>().join(",")
    };
    let scenario = |id: Option<NumId>| id.map_or_else(String::new, |id| id.to_string());
    format!(
        "t:{};p:{};d:{};m:{}",
        ids(&mut state.tickets.iter().map(|t| t.id)),
        ids(&mut state.products.iter().map(|p| p.id)),
        scenario(state.deliveryscenarioid),
        scenario(state.paymentscenarioid),
    )
}

/// Sends the order to the payment provider (`checkout_initiatepayment`). Panels the
/// widget hides are filled with the first option; a shown panel must have been
/// completed. Writes the order's fields, with the caller's changes to them. Returns the
/// payment token for the provider's page: the open payment's when one exists for the
/// order as it is (then nothing is recorded).
pub(crate) fn start_payment(
    tx: &mut dyn Tx,
    ctx: &mut Ctx,
    mut order: OrderRow,
    lines: &OrderState,
) -> Result<String, Error> {
    let panels = ctx.session.settings.panels;
    if order.customer.is_none() && panels.customer {
        return Err(ShopRule::Incomplete("fill in your name and e-mail address first").into());
    }
    for (kind, shown) in [
        (Scenario::Delivery, panels.delivery),
        (Scenario::Payment, panels.payment),
    ] {
        if kind.of(&mut order).is_some() {
            continue;
        }
        if shown {
            return Err(ShopRule::Incomplete(kind.missing()).into());
        }
        let first = tx
            .scenarios(ctx.account, kind)?
            .first()
            .map(|(id, _)| *id)
            .ok_or(ShopRule::NotOnSale)?;
        *kind.of(&mut order) = Some(first);
    }
    touch_order(tx, ctx, &mut order)?;
    let state = with_fields(&order, lines);
    let bound = contents(&state);
    let mut stale = Vec::new();
    for open in tx.pending_payments(order.id)? {
        if open.contents == bound && open.amount == state.totalamount {
            return Ok(open.token);
        }
        stale.push(open.token);
    }
    for token in stale {
        tx.set_payment_status(&token, PaymentStatus::Cancelled)?;
    }
    let state = record(tx, ctx, &order, &state, Step::Initiate)?;
    let token = new_token();
    tx.insert_payment(&PaymentRow {
        token: token.clone(),
        order_id: order.id,
        account: ctx.account,
        amount: state.totalamount,
        contents: bound,
        status: PaymentStatus::Pending,
        created_ms: ctx.now.unix_ms(),
    })?;
    Ok(token)
}

/// Cancels the order's open payments: the basket changed under them.
pub(crate) fn cancel_pending(tx: &mut dyn Tx, order: NumId) -> Result<(), Error> {
    for payment in tx.pending_payments(order)? {
        tx.set_payment_status(&payment.token, PaymentStatus::Cancelled)?;
    }
    Ok(())
}

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl ShopStore {
    /// Sends the shopper to the payment provider (`checkout_initiatepayment`). Panels the
    /// widget hides are filled with the first option; a shown panel must have been
    /// completed. Returns the payment token for the provider's page: the open payment's
    /// when one exists for the order as it is.
    pub async fn initiate_payment(
        &self,
        account: &AccountName,
        session_id: &str,
        now: Timestamp,
    ) -> Result<String, Error> {
        self.in_session(account, session_id, now, |tx, ctx| {
            let (order, lines) = basket(tx, ctx)?;
            start_payment(tx, ctx, order, &lines)
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
        self.read_quick(move |tx| {
            let Some(account) = tx.account(&name)? else {
                return Ok(None);
            };
            Ok(tx
                .payment(&token)?
                .filter(|p| p.account == account.id)
                .as_ref()
                .map(PaymentView::from))
        })
        .await
    }

    /// The provider's answer. Paid confirms the order (`checkout_confirm`), in the session
    /// that made it, when the order is still open, unexpired, and as the payment was
    /// started for; cancelled and failed leave it open so the shopper can try again.
    pub async fn finish_payment(
        &self,
        account: &AccountName,
        token: &str,
        outcome: PaymentOutcome,
        now: Timestamp,
    ) -> Result<PaymentView, Error> {
        let name = account.clone();
        let owned = token.to_owned();
        let session_id = self
            .read(move |tx| {
                let Some(account) = tx.account(&name)? else {
                    return Ok(None);
                };
                let Some(payment) = tx.payment(&owned)?.filter(|p| p.account == account.id) else {
                    return Ok(None);
                };
                Ok(tx.order(payment.order_id)?.map(|o| o.session_id))
            })
            .await?
            .ok_or(ShopRule::PaymentClosed)?;
        let token = token.to_owned();
        self.in_session(account, &session_id, now, move |tx, ctx| {
            let payment_of = |tx: &mut dyn Tx| -> Result<PaymentRow, Error> {
                Ok(tx
                    .payment(&token)?
                    .filter(|p| p.account == ctx.account)
                    .ok_or(ShopRule::PaymentClosed)?)
            };
            // Lock the order first, then read the payment under that lock: a concurrent
            // basket change (which cancels the payment) is either fully before or after.
            let order_id = payment_of(tx)?.order_id;
            let order = tx.order_for_update(order_id)?;
            let mut payment = payment_of(tx)?;
            match (payment.status, outcome) {
                (PaymentStatus::Paid, PaymentOutcome::Paid) => {
                    return Ok(PaymentView::from(&payment));
                }
                (PaymentStatus::Pending, _) => {}
                _ => return Err(ShopRule::PaymentClosed.into()),
            }
            if outcome == PaymentOutcome::Paid {
                let mut order = order
                    .filter(|o| o.status == OrderStatus::Open && o.expires_ms >= ctx.now.unix_ms())
                    .ok_or(ShopRule::NoOpenOrder)?;
                let state = ctx.order_state(tx, &order)?;
                if contents(&state) != payment.contents || state.totalamount != payment.amount {
                    return Err(ShopRule::PaymentMismatch.into());
                }
                order.status = OrderStatus::Confirmed;
                tx.update_order(&order)?;
                record(tx, ctx, &order, &state, Step::Confirm)?;
            }
            payment.status = outcome.into();
            tx.set_payment_status(&token, payment.status)?;
            Ok(PaymentView::from(&payment))
        })
        .await
    }
}
