//! Orders, lines, seats, customers and payments in PostgreSQL, under READ COMMITTED.
//!
//! [`OrderTx::order_for_update`] is `SELECT ... FOR UPDATE`: the order row stays locked
//! until the transaction ends, so two changes to one order queue up. Seats move only by
//! conditional updates (`taken + n <= capacity`, `taken >= n`): a second writer to the same
//! event waits for the first to commit and then evaluates its condition against the row as
//! the first left it, so concurrent buyers in any number of processes cannot oversell.

use postgres::Row;
use protocol::{Money, NumId};

use super::conn::{PgTx, get};
use super::{money, num, opt_num, seats};
use crate::catalog::OfferLine;
use crate::order::{OrderStatus, PaymentStatus};
use crate::storage::{
    AccountId, BareProductLine, BareTicketLine, NewOrder, OrderRow, OrderTx, PaymentRow,
    ProductLine, SeatCount, TicketLine, db_id, lookup_id,
};
use crate::{CustomerInfo, Error};

/// The columns [`order_row`] reads, in its order (a macro, so statements stay literals).
macro_rules! order_columns {
    () => {
        "id, account_id, session_id, saleschannel_id, customer_id, deliveryscenario_id, \
         paymentscenario_id, status, expires_ms, code"
    };
}

fn order_row(row: &Row) -> Result<OrderRow, Error> {
    let text: String = get(row, 7)?;
    Ok(OrderRow {
        id: num(row, 0)?,
        account: AccountId(get(row, 1)?),
        code: get(row, 9)?,
        session_id: get(row, 2)?,
        saleschannel: num(row, 3)?,
        customer: opt_num(row, 4)?,
        delivery: opt_num(row, 5)?,
        payment: opt_num(row, 6)?,
        status: OrderStatus::parse(&text)?,
        expires_ms: get(row, 8)?,
    })
}

fn payment_row(row: &Row) -> Result<PaymentRow, Error> {
    let text: String = get(row, 5)?;
    Ok(PaymentRow {
        token: get(row, 0)?,
        order_id: num(row, 1)?,
        account: AccountId(get(row, 2)?),
        amount: money(row, 3)?,
        contents: get(row, 4)?,
        status: PaymentStatus::parse(&text)
            .ok_or_else(|| Error::Store(format!("unknown payment status {text:?}")))?,
        created_ms: get(row, 6)?,
    })
}

/// The ids of freshly inserted lines, in the order they were written.
fn new_ids(rows: &[Row]) -> Result<Vec<NumId>, Error> {
    let mut ids = rows
        .iter()
        .map(|row| num(row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    // Identity values are taken in insertion order; RETURNING does not promise an order.
    ids.sort_unstable();
    Ok(ids)
}

/// The ids of `ids` that can exist in the store.
fn lookup_ids(ids: &[NumId]) -> Vec<i64> {
    ids.iter().filter_map(|id| lookup_id(*id)).collect()
}

impl OrderTx for PgTx<'_> {
    fn order_for_update(&mut self, id: NumId) -> Result<Option<OrderRow>, Error> {
        let Some(id) = lookup_id(id) else {
            return Ok(None);
        };
        self.query_opt(
            concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE id = $1 FOR UPDATE"
            ),
            &[&id],
        )?
        .as_ref()
        .map(order_row)
        .transpose()
    }

    fn order(&mut self, id: NumId) -> Result<Option<OrderRow>, Error> {
        let Some(id) = lookup_id(id) else {
            return Ok(None);
        };
        self.query_opt(
            concat!("SELECT ", order_columns!(), " FROM orders WHERE id = $1"),
            &[&id],
        )?
        .as_ref()
        .map(order_row)
        .transpose()
    }

    fn order_by_code(&mut self, account: AccountId, code: &str) -> Result<Option<OrderRow>, Error> {
        self.query_opt(
            concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE account_id = $1 AND code = $2"
            ),
            &[&account.0, &code],
        )?
        .as_ref()
        .map(order_row)
        .transpose()
    }

    fn insert_order(&mut self, order: &NewOrder) -> Result<NumId, Error> {
        let row = self.query_one(
            "INSERT INTO orders
               (account_id, code, session_id, saleschannel_id, status, created_ms, expires_ms)
             VALUES ($1, $6, $2, $3, 'open', $4, $5) RETURNING id",
            &[
                &order.account.0,
                &order.session_id,
                &db_id("sales channel", order.saleschannel)?,
                &order.created_ms,
                &order.expires_ms,
                &order.code,
            ],
        )?;
        num(&row, 0)
    }

    fn update_order(&mut self, order: &OrderRow) -> Result<(), Error> {
        let opt = |what, id: Option<NumId>| id.map(|id| db_id(what, id)).transpose();
        self.execute(
            "UPDATE orders SET customer_id = $2, deliveryscenario_id = $3,
               paymentscenario_id = $4, status = $5, expires_ms = $6
             WHERE id = $1",
            &[
                &db_id("order", order.id)?,
                &opt("customer", order.customer)?,
                &opt("delivery scenario", order.delivery)?,
                &opt("payment scenario", order.payment)?,
                &order.status.as_str(),
                &order.expires_ms,
            ],
        )?;
        Ok(())
    }

    fn expired_orders(&mut self, now_ms: i64, limit: u32) -> Result<Vec<NumId>, Error> {
        self.query(
            "SELECT id FROM orders WHERE status = 'open' AND expires_ms < $1
             ORDER BY expires_ms, id LIMIT $2",
            &[&now_ms, &i64::from(limit)],
        )?
        .iter()
        .map(|row| num(row, 0))
        .collect()
    }

    fn ticket_lines(&mut self, account: AccountId, order: NumId) -> Result<Vec<TicketLine>, Error> {
        let Some(order) = lookup_id(order) else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT t.id, t.price, t.servicecharge, t.tickettypeprice_id, t.tickettype_id,
                    tt.name, t.pricetype_id, pt.name, t.event_id, e.name
             FROM order_tickets t
             JOIN tickettypes tt ON tt.account_id = $1 AND tt.id = t.tickettype_id
             JOIN pricetypes pt ON pt.account_id = $1 AND pt.id = t.pricetype_id
             JOIN events e ON e.account_id = $1 AND e.id = t.event_id
             WHERE t.order_id = $2 ORDER BY t.id",
            &[&account.0, &order],
        )?
        .iter()
        .map(|row| {
            Ok(TicketLine {
                id: num(row, 0)?,
                price: money(row, 1)?,
                servicecharge: money(row, 2)?,
                tickettypepriceid: num(row, 3)?,
                tickettypeid: num(row, 4)?,
                tickettypename: get(row, 5)?,
                pricetypeid: num(row, 6)?,
                pricetypename: get(row, 7)?,
                eventid: num(row, 8)?,
                eventname: get(row, 9)?,
            })
        })
        .collect()
    }

    fn insert_ticket_lines(
        &mut self,
        order: NumId,
        event: NumId,
        line: &OfferLine,
        count: u32,
    ) -> Result<Vec<NumId>, Error> {
        let rows = self.query(
            "INSERT INTO order_tickets
               (order_id, event_id, tickettype_id, tickettypeprice_id, pricetype_id, price,
                servicecharge)
             SELECT $1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::bigint, $6::text,
                    $7::text
             FROM generate_series(1::bigint, $8::bigint) RETURNING id",
            &[
                &db_id("order", order)?,
                &db_id("event", event)?,
                &db_id("ticket type", line.tickettype_id)?,
                &db_id("ticket type price", line.tickettypeprice_id)?,
                &db_id("price type", line.pricetype_id)?,
                &line.price.to_string(),
                &line.servicecharge.to_string(),
                &i64::from(count),
            ],
        )?;
        new_ids(&rows)
    }

    fn bare_ticket_lines(&mut self, order: NumId) -> Result<Vec<BareTicketLine>, Error> {
        let Some(order) = lookup_id(order) else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT id, price, servicecharge, tickettypeprice_id, tickettype_id, pricetype_id,
                    event_id
             FROM order_tickets WHERE order_id = $1 ORDER BY id",
            &[&order],
        )?
        .iter()
        .map(|row| {
            Ok(BareTicketLine {
                id: num(row, 0)?,
                price: money(row, 1)?,
                servicecharge: money(row, 2)?,
                tickettypeprice: num(row, 3)?,
                tickettype: num(row, 4)?,
                pricetype: num(row, 5)?,
                event: num(row, 6)?,
            })
        })
        .collect()
    }

    fn bare_product_lines(&mut self, order: NumId) -> Result<Vec<BareProductLine>, Error> {
        let Some(order) = lookup_id(order) else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT id, product_id, price FROM order_products WHERE order_id = $1 ORDER BY id",
            &[&order],
        )?
        .iter()
        .map(|row| {
            Ok(BareProductLine {
                id: num(row, 0)?,
                product: num(row, 1)?,
                price: money(row, 2)?,
            })
        })
        .collect()
    }

    fn delete_ticket_lines(&mut self, order: NumId, ids: &[NumId]) -> Result<u64, Error> {
        self.execute(
            "DELETE FROM order_tickets WHERE order_id = $1 AND id = ANY($2)",
            &[&db_id("order", order)?, &lookup_ids(ids)],
        )
    }

    fn product_lines(
        &mut self,
        account: AccountId,
        order: NumId,
    ) -> Result<Vec<ProductLine>, Error> {
        let Some(order) = lookup_id(order) else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT op.id, op.product_id, op.price, p.producttype, p.name
             FROM order_products op
             JOIN products p ON p.account_id = $1 AND p.id = op.product_id
             WHERE op.order_id = $2 ORDER BY op.id",
            &[&account.0, &order],
        )?
        .iter()
        .map(|row| {
            Ok(ProductLine {
                id: num(row, 0)?,
                productid: num(row, 1)?,
                price: money(row, 2)?,
                producttype: num(row, 3)?,
                productname: get(row, 4)?,
            })
        })
        .collect()
    }

    fn insert_product_lines(
        &mut self,
        order: NumId,
        product: NumId,
        price: Money,
        count: u32,
    ) -> Result<Vec<NumId>, Error> {
        let rows = self.query(
            "INSERT INTO order_products (order_id, product_id, price)
             SELECT $1::bigint, $2::bigint, $3::text FROM generate_series(1::bigint, $4::bigint)
             RETURNING id",
            &[
                &db_id("order", order)?,
                &db_id("product", product)?,
                &price.to_string(),
                &i64::from(count),
            ],
        )?;
        new_ids(&rows)
    }

    fn delete_product_lines(&mut self, order: NumId, ids: &[NumId]) -> Result<u64, Error> {
        self.execute(
            "DELETE FROM order_products WHERE order_id = $1 AND id = ANY($2)",
            &[&db_id("order", order)?, &lookup_ids(ids)],
        )
    }

    fn reserve_seats(
        &mut self,
        account: AccountId,
        event: NumId,
        seats: u32,
    ) -> Result<bool, Error> {
        let Some(event) = lookup_id(event) else {
            return Ok(false);
        };
        let changed = self.execute(
            "UPDATE events SET taken = taken + $3
             WHERE account_id = $1 AND id = $2 AND active AND taken + $3 <= capacity",
            &[&account.0, &event, &i64::from(seats)],
        )?;
        Ok(changed == 1)
    }

    fn release_seats(
        &mut self,
        account: AccountId,
        event: NumId,
        seats: u32,
    ) -> Result<bool, Error> {
        let Some(event) = lookup_id(event) else {
            return Ok(false);
        };
        let changed = self.execute(
            "UPDATE events SET taken = taken - $3
             WHERE account_id = $1 AND id = $2 AND taken >= $3",
            &[&account.0, &event, &i64::from(seats)],
        )?;
        Ok(changed == 1)
    }

    fn seat_counts(&mut self, account: AccountId) -> Result<Vec<SeatCount>, Error> {
        self.query(
            "SELECT e.id, e.capacity, e.taken,
               (SELECT COUNT(*) FROM order_tickets t JOIN orders o ON o.id = t.order_id
                WHERE o.account_id = e.account_id AND t.event_id = e.id
                  AND o.status IN ('open', 'confirmed'))
             FROM events e WHERE e.account_id = $1 ORDER BY e.seq",
            &[&account.0],
        )?
        .iter()
        .map(|row| {
            Ok(SeatCount {
                event: num(row, 0)?,
                capacity: seats(get(row, 1)?)?,
                taken: get(row, 2)?,
                held: get(row, 3)?,
            })
        })
        .collect()
    }

    fn customer(&mut self, id: NumId) -> Result<Option<CustomerInfo>, Error> {
        let Some(id) = lookup_id(id) else {
            return Ok(None);
        };
        self.query_opt("SELECT name, email FROM customers WHERE id = $1", &[&id])?
            .map(|row| {
                Ok(CustomerInfo {
                    name: get(&row, 0)?,
                    email: get(&row, 1)?,
                })
            })
            .transpose()
    }

    fn insert_customer(
        &mut self,
        account: AccountId,
        customer: &CustomerInfo,
    ) -> Result<NumId, Error> {
        let row = self.query_one(
            "INSERT INTO customers (account_id, name, email) VALUES ($1, $2, $3) RETURNING id",
            &[&account.0, &customer.name, &customer.email],
        )?;
        num(&row, 0)
    }

    fn update_customer(&mut self, id: NumId, customer: &CustomerInfo) -> Result<(), Error> {
        self.execute(
            "UPDATE customers SET name = $2, email = $3 WHERE id = $1",
            &[&db_id("customer", id)?, &customer.name, &customer.email],
        )?;
        Ok(())
    }

    fn insert_payment(&mut self, p: &PaymentRow) -> Result<(), Error> {
        self.execute(
            "INSERT INTO payments (token, order_id, amount, contents, status, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &p.token,
                &db_id("order", p.order_id)?,
                &p.amount.to_string(),
                &p.contents,
                &p.status.as_str(),
                &p.created_ms,
            ],
        )?;
        Ok(())
    }

    fn payment(&mut self, token: &str) -> Result<Option<PaymentRow>, Error> {
        self.query_opt(
            "SELECT p.token, p.order_id, o.account_id, p.amount, p.contents, p.status,
                    p.created_ms
             FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.token = $1",
            &[&token],
        )?
        .as_ref()
        .map(payment_row)
        .transpose()
    }

    fn pending_payments(&mut self, order: NumId) -> Result<Vec<PaymentRow>, Error> {
        let Some(order) = lookup_id(order) else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT p.token, p.order_id, o.account_id, p.amount, p.contents, p.status,
                    p.created_ms
             FROM payments p JOIN orders o ON o.id = p.order_id
             WHERE p.order_id = $1 AND p.status = 'pending' ORDER BY p.created_ms",
            &[&order],
        )?
        .iter()
        .map(payment_row)
        .collect()
    }

    fn set_payment_status(&mut self, token: &str, status: PaymentStatus) -> Result<(), Error> {
        self.execute(
            "UPDATE payments SET status = $2 WHERE token = $1",
            &[&token, &status.as_str()],
        )?;
        Ok(())
    }
}
