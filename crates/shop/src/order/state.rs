//! The state of an order as the contract writes it (`order` in every item), and the fuller
//! view the pages show.

use protocol::{AccountName, NumId, OrderState};

use crate::storage::{AccountId, CatalogNames, OrderRow, ProductLine, TicketLine, Tx};
use crate::{Error, ShopStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Open,
    Confirmed,
    Expired,
}

impl OrderStatus {
    /// The name the stores keep.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Expired => "expired",
        }
    }

    /// A stored name; anything else is a store that was changed behind the shop's back.
    pub(crate) fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "open" => Ok(OrderStatus::Open),
            "confirmed" => Ok(OrderStatus::Confirmed),
            "expired" => Ok(OrderStatus::Expired),
            other => Err(Error::Store(format!("unknown order status {other:?}"))),
        }
    }
}

/// An order with what the pages need beyond the contract's `order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub state: OrderState,
    /// The public order code (what shoppers see; `state.id` is the eventstream's id).
    pub code: String,
    pub status: OrderStatus,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub expires_ms: i64,
}

impl ShopStore {
    /// The session's current order, if any.
    pub async fn current_order(
        &self,
        account: &AccountName,
        session_id: &str,
    ) -> Result<Option<OrderView>, Error> {
        let Some(session) = self.session(account, session_id).await? else {
            return Ok(None);
        };
        let Some(order) = session.order_id else {
            return Ok(None);
        };
        self.order_of_session(account, session_id, order).await
    }

    /// An order, only when it belongs to this session (order ids are guessable).
    pub async fn order_of_session(
        &self,
        account: &AccountName,
        session_id: &str,
        order: NumId,
    ) -> Result<Option<OrderView>, Error> {
        let name = account.clone();
        let session_id = session_id.to_owned();
        self.read_quick(move |tx| {
            let Some(account) = tx.account(&name)? else {
                return Ok(None);
            };
            session_order(tx, account.id, &session_id, order, None)
        })
        .await
    }

    /// The order with this public code, only when it belongs to this session.
    pub async fn order_by_code(
        &self,
        account: &AccountName,
        session_id: &str,
        code: &str,
    ) -> Result<Option<OrderView>, Error> {
        let name = account.clone();
        let session_id = session_id.to_owned();
        let code = code.to_owned();
        self.read_quick(move |tx| {
            let Some(account) = tx.account(&name)? else {
                return Ok(None);
            };
            let Some(row) = tx
                .order_by_code(account.id, &code)?
                .filter(|o| o.session_id == session_id)
            else {
                return Ok(None);
            };
            order_view(tx, &row).map(Some)
        })
        .await
    }
}

/// The order's view, only when it belongs to this session of the account (order ids are
/// guessable). With `names` (the catalog cache's, read in the same snapshot) the lines
/// are read without joining the catalog.
pub(crate) fn session_order(
    tx: &mut dyn Tx,
    account: AccountId,
    session_id: &str,
    order: NumId,
    names: Option<&CatalogNames>,
) -> Result<Option<OrderView>, Error> {
    let Some(row) = tx
        .order(order)?
        .filter(|o| o.account == account && o.session_id == session_id)
    else {
        return Ok(None);
    };
    let state = order_state(tx, &row, names)?;
    order_view_of(tx, &row, state).map(Some)
}

fn order_view(tx: &mut dyn Tx, order: &OrderRow) -> Result<OrderView, Error> {
    let state = order_state(tx, order, None)?;
    order_view_of(tx, order, state)
}

fn order_view_of(tx: &mut dyn Tx, order: &OrderRow, state: OrderState) -> Result<OrderView, Error> {
    let customer = match order.customer {
        Some(id) => tx.customer(id)?,
        None => None,
    };
    Ok(OrderView {
        state,
        code: order.code.clone(),
        status: order.status,
        customer_name: customer.as_ref().map(|c| c.name.clone()),
        customer_email: customer.map(|c| c.email),
        expires_ms: order.expires_ms,
    })
}

/// The contract's `order`: lines in the order they were added, `totalamount` their sum.
/// With `names` (the catalog as this transaction sees it, from the catalog cache) the
/// lines are read without joining the catalog; when a line's entry is not named there,
/// the store's join is read instead, so the result is the same either way.
pub(crate) fn order_state(
    tx: &mut dyn Tx,
    order: &OrderRow,
    names: Option<&CatalogNames>,
) -> Result<OrderState, Error> {
    if let Some(names) = names {
        let tickets = tx.bare_ticket_lines(order.id)?;
        let products = tx.bare_product_lines(order.id)?;
        let tickets: Option<Vec<_>> = tickets.iter().map(|l| names.ticket_line(l)).collect();
        let products: Option<Vec<_>> = products.iter().map(|l| names.product_line(l)).collect();
        if let (Some(tickets), Some(products)) = (tickets, products) {
            return Ok(state_of(order, tickets, products));
        }
    }
    let tickets = tx.ticket_lines(order.account, order.id)?;
    let products = tx.product_lines(order.account, order.id)?;
    Ok(state_of(order, tickets, products))
}

/// `lines` (an order's state read earlier in this transaction) with the order's fields
/// as `order` has them now: for checkout steps, which change an order's fields (customer,
/// scenarios, status, expiry) and never its lines, so its lines are read once.
pub(crate) fn with_fields(order: &OrderRow, lines: &OrderState) -> OrderState {
    state_of(order, lines.tickets.clone(), lines.products.clone())
}

fn state_of(order: &OrderRow, tickets: Vec<TicketLine>, products: Vec<ProductLine>) -> OrderState {
    let mut state = OrderState {
        id: order.id,
        saleschannelid: order.saleschannel,
        customerid: order.customer,
        deliveryscenarioid: order.delivery,
        paymentscenarioid: order.payment,
        totalamount: protocol::Money::ZERO,
        tickets,
        products,
    };
    state.totalamount = state.computed_total();
    state
}
