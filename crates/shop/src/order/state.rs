//! The state of an order as the contract writes it (`order` in every item), and the fuller
//! view the pages show.

use protocol::{AccountName, NumId, OrderState, ProductLine, TicketLine};
use rusqlite::{Connection, OptionalExtension, params};

use super::num;
use crate::catalog::store::money;
use crate::{Error, ShopStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Open,
    Confirmed,
    Expired,
}

/// An order with what the pages need beyond the contract's `order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub state: OrderState,
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
        self.with_conn(move |conn| {
            let belongs = conn
                .query_row(
                    "SELECT 1 FROM orders o JOIN accounts a ON a.id = o.account_id
                     WHERE o.id = ?1 AND o.session_id = ?2 AND a.name = ?3",
                    params![order.0 as i64, session_id, name.as_str()],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !belongs {
                return Ok(None);
            }
            order_view(conn, order.0 as i64).map(Some)
        })
        .await
    }
}

pub(crate) fn order_view(conn: &Connection, order: i64) -> Result<OrderView, Error> {
    let (status, expires_ms, customer_name, customer_email) = conn.query_row(
        "SELECT o.status, o.expires_ms, c.name, c.email
         FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id = ?1",
        params![order],
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        },
    )?;
    let status = match status.as_str() {
        "confirmed" => OrderStatus::Confirmed,
        "expired" => OrderStatus::Expired,
        _ => OrderStatus::Open,
    };
    Ok(OrderView {
        state: order_state(conn, order)?,
        status,
        customer_name,
        customer_email,
        expires_ms,
    })
}

/// The contract's `order`: lines in the order they were added, `totalamount` their sum.
pub(crate) fn order_state(conn: &Connection, order: i64) -> Result<OrderState, Error> {
    let (account, saleschannel, customer, delivery, payment) = conn.query_row(
        "SELECT account_id, saleschannel_id, customer_id, deliveryscenario_id, paymentscenario_id
         FROM orders WHERE id = ?1",
        params![order],
        |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<i64>>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<i64>>(4)?,
            ))
        },
    )?;
    let tickets = ticket_lines(conn, account, "t.order_id = ?2", order)?;
    let mut stmt = conn.prepare_cached(
        "SELECT op.id, op.product_id, op.price, p.producttype, p.name
         FROM order_products op
         JOIN products p ON p.account_id = ?1 AND p.id = op.product_id
         WHERE op.order_id = ?2 ORDER BY op.id",
    )?;
    let products = stmt
        .query_map(params![account, order], |row| {
            Ok(ProductLine {
                id: num(row.get(0)?),
                productid: num(row.get(1)?),
                price: money(row, 2)?,
                producttype: num(row.get(3)?),
                productname: row.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut state = OrderState {
        id: num(order),
        saleschannelid: num(saleschannel),
        customerid: customer.map(num),
        deliveryscenarioid: delivery.map(num),
        paymentscenarioid: payment.map(num),
        totalamount: protocol::Money::ZERO,
        tickets,
        products,
    };
    state.totalamount = state.computed_total();
    Ok(state)
}

/// Ticket lines matching `filter` (which may use `?2`), with their catalog names.
pub(crate) fn ticket_lines(
    conn: &Connection,
    account: i64,
    filter: &str,
    arg: i64,
) -> Result<Vec<TicketLine>, Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT t.id, t.price, t.servicecharge, t.tickettypeprice_id, t.tickettype_id, tt.name,
                t.pricetype_id, pt.name, t.event_id, e.name
         FROM order_tickets t
         JOIN tickettypes tt ON tt.account_id = ?1 AND tt.id = t.tickettype_id
         JOIN pricetypes pt ON pt.account_id = ?1 AND pt.id = t.pricetype_id
         JOIN events e ON e.account_id = ?1 AND e.id = t.event_id
         WHERE {filter} ORDER BY t.id"
    ))?;
    let lines = stmt
        .query_map(params![account, arg], |row| {
            Ok(TicketLine {
                id: num(row.get(0)?),
                price: money(row, 1)?,
                servicecharge: money(row, 2)?,
                tickettypepriceid: num(row.get(3)?),
                tickettypeid: num(row.get(4)?),
                tickettypename: row.get(5)?,
                pricetypeid: num(row.get(6)?),
                pricetypename: row.get(7)?,
                eventid: num(row.get(8)?),
                eventname: row.get(9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(lines)
}
