//! Orders, lines, seats, customers and payments in SQLite. Every transaction of this
//! backend is `BEGIN IMMEDIATE`, which holds the database's write lock from its start:
//! that is SQLite's row lock for [`OrderTx::order_for_update`].

use protocol::{Money, NumId};
use rusqlite::{OptionalExtension, params};

use super::{SqlResult, SqliteTx, db_id, db_u64, lookup_id, money, num, opt_num};
use crate::catalog::OfferLine;
use crate::order::{OrderStatus, PaymentStatus};
use crate::storage::{
    AccountId, BareProductLine, BareTicketLine, NewOrder, OrderRow, OrderTx, PaymentRow,
    ProductLine, SeatCount, TicketLine,
};
use crate::{CustomerInfo, Error};

/// The columns [`order_row`] reads, in its order.
macro_rules! order_columns {
    () => {
        "id, account_id, session_id, saleschannel_id, customer_id, deliveryscenario_id, \
         paymentscenario_id, status, expires_ms, code"
    };
}

fn order_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(OrderRow, String)> {
    Ok((
        OrderRow {
            id: num(row, 0)?,
            account: AccountId(row.get(1)?),
            code: row.get(9)?,
            session_id: row.get(2)?,
            saleschannel: num(row, 3)?,
            customer: opt_num(row, 4)?,
            delivery: opt_num(row, 5)?,
            payment: opt_num(row, 6)?,
            status: OrderStatus::Open,
            expires_ms: row.get(8)?,
        },
        row.get(7)?,
    ))
}

fn with_order_status((mut order, text): (OrderRow, String)) -> Result<OrderRow, Error> {
    order.status = OrderStatus::parse(&text)?;
    Ok(order)
}

fn payment_status(text: &str) -> Result<PaymentStatus, Error> {
    PaymentStatus::parse(text)
        .ok_or_else(|| Error::Store(format!("unknown payment status {text:?}")))
}

fn payment_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(PaymentRow, String)> {
    let status: String = row.get(5)?;
    Ok((
        PaymentRow {
            token: row.get(0)?,
            order_id: num(row, 1)?,
            account: AccountId(row.get(2)?),
            amount: money(row, 3)?,
            contents: row.get(4)?,
            status: PaymentStatus::Pending,
            created_ms: row.get(6)?,
        },
        status,
    ))
}

fn with_status((mut row, text): (PaymentRow, String)) -> Result<PaymentRow, Error> {
    row.status = payment_status(&text)?;
    Ok(row)
}

/// Deletes each of `ids` that is a line of `order`, with one of two fixed statements.
fn delete_lines(tx: &SqliteTx<'_>, sql: &str, order: NumId, ids: &[NumId]) -> Result<u64, Error> {
    let order = db_id("order", order)?;
    let mut stmt = tx.conn.prepare_cached(sql).db()?;
    let mut deleted = 0u64;
    for id in ids {
        let Some(id) = lookup_id(*id) else { continue };
        let n = stmt.execute(params![id, order]).db()?;
        deleted += u64::try_from(n).map_err(|_| Error::Store(format!("deleted {n} rows")))?;
    }
    Ok(deleted)
}

impl OrderTx for SqliteTx<'_> {
    fn order_for_update(&mut self, id: NumId) -> Result<Option<OrderRow>, Error> {
        // The transaction already holds SQLite's write lock (BEGIN IMMEDIATE).
        self.order(id)
    }

    fn order(&mut self, id: NumId) -> Result<Option<OrderRow>, Error> {
        let Some(id) = lookup_id(id) else {
            return Ok(None);
        };
        let row = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE id = ?1"
            ))
            .db()?
            .query_row(params![id], order_row)
            .optional()
            .db()?;
        row.map(with_order_status).transpose()
    }

    fn order_by_code(&mut self, account: AccountId, code: &str) -> Result<Option<OrderRow>, Error> {
        let row = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE account_id = ?1 AND code = ?2"
            ))
            .db()?
            .query_row(params![account.0, code], order_row)
            .optional()
            .db()?;
        row.map(with_order_status).transpose()
    }

    fn insert_order(&mut self, order: &NewOrder) -> Result<NumId, Error> {
        self.execute(
            "INSERT INTO orders
                   (account_id, code, session_id, saleschannel_id, status, created_ms,
                    expires_ms)
                 VALUES (?1, ?6, ?2, ?3, 'open', ?4, ?5)",
            params![
                order.account.0,
                order.session_id,
                db_id("sales channel", order.saleschannel)?,
                order.created_ms,
                order.expires_ms,
                order.code
            ],
        )
        .db()?;
        Ok(NumId(db_u64(self.conn.last_insert_rowid())?))
    }

    fn update_order(&mut self, order: &OrderRow) -> Result<(), Error> {
        let opt = |what, id: Option<NumId>| id.map(|id| db_id(what, id)).transpose();
        self.execute(
            "UPDATE orders SET customer_id = ?2, deliveryscenario_id = ?3,
                   paymentscenario_id = ?4, status = ?5, expires_ms = ?6
                 WHERE id = ?1",
            params![
                db_id("order", order.id)?,
                opt("customer", order.customer)?,
                opt("delivery scenario", order.delivery)?,
                opt("payment scenario", order.payment)?,
                order.status.as_str(),
                order.expires_ms
            ],
        )
        .db()?;
        Ok(())
    }

    fn expired_orders(&mut self, now_ms: i64, limit: u32) -> Result<Vec<NumId>, Error> {
        self.all(
            "SELECT id FROM orders WHERE status = 'open' AND expires_ms < ?1
                 ORDER BY expires_ms, id LIMIT ?2",
            params![now_ms, limit],
            |row| num(row, 0),
        )
    }

    fn ticket_lines(&mut self, account: AccountId, order: NumId) -> Result<Vec<TicketLine>, Error> {
        let Some(order) = lookup_id(order) else {
            return Ok(Vec::new());
        };
        self.all(
            "SELECT t.id, t.price, t.servicecharge, t.tickettypeprice_id, t.tickettype_id,
                        tt.name, t.pricetype_id, pt.name, t.event_id, e.name
                 FROM order_tickets t
                 JOIN tickettypes tt ON tt.account_id = ?1 AND tt.id = t.tickettype_id
                 JOIN pricetypes pt ON pt.account_id = ?1 AND pt.id = t.pricetype_id
                 JOIN events e ON e.account_id = ?1 AND e.id = t.event_id
                 WHERE t.order_id = ?2 ORDER BY t.id",
            params![account.0, order],
            |row| {
                Ok(TicketLine {
                    id: num(row, 0)?,
                    price: money(row, 1)?,
                    servicecharge: money(row, 2)?,
                    tickettypepriceid: num(row, 3)?,
                    tickettypeid: num(row, 4)?,
                    tickettypename: row.get(5)?,
                    pricetypeid: num(row, 6)?,
                    pricetypename: row.get(7)?,
                    eventid: num(row, 8)?,
                    eventname: row.get(9)?,
                })
            },
        )
    }

    fn insert_ticket_lines(
        &mut self,
        order: NumId,
        event: NumId,
        line: &OfferLine,
        count: u32,
    ) -> Result<Vec<NumId>, Error> {
        let values = (
            db_id("order", order)?,
            db_id("event", event)?,
            db_id("ticket type", line.tickettype_id)?,
            db_id("ticket type price", line.tickettypeprice_id)?,
            db_id("price type", line.pricetype_id)?,
            line.price.to_string(),
            line.servicecharge.to_string(),
        );
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO order_tickets
                   (order_id, event_id, tickettype_id, tickettypeprice_id, pricetype_id, price,
                    servicecharge)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .db()?;
        let mut ids = Vec::new();
        for _ in 0..count {
            stmt.execute(params![
                values.0, values.1, values.2, values.3, values.4, values.5, values.6
            ])
            .db()?;
            ids.push(NumId(db_u64(self.conn.last_insert_rowid())?));
        }
        Ok(ids)
    }

    fn bare_ticket_lines(&mut self, order: NumId) -> Result<Vec<BareTicketLine>, Error> {
        let Some(order) = lookup_id(order) else {
            return Ok(Vec::new());
        };
        self.all(
            "SELECT id, price, servicecharge, tickettypeprice_id, tickettype_id, pricetype_id,
                    event_id
                 FROM order_tickets WHERE order_id = ?1 ORDER BY id",
            params![order],
            |row| {
                Ok(BareTicketLine {
                    id: num(row, 0)?,
                    price: money(row, 1)?,
                    servicecharge: money(row, 2)?,
                    tickettypeprice: num(row, 3)?,
                    tickettype: num(row, 4)?,
                    pricetype: num(row, 5)?,
                    event: num(row, 6)?,
                })
            },
        )
    }

    fn bare_product_lines(&mut self, order: NumId) -> Result<Vec<BareProductLine>, Error> {
        let Some(order) = lookup_id(order) else {
            return Ok(Vec::new());
        };
        self.all(
            "SELECT id, product_id, price FROM order_products WHERE order_id = ?1 ORDER BY id",
            params![order],
            |row| {
                Ok(BareProductLine {
                    id: num(row, 0)?,
                    product: num(row, 1)?,
                    price: money(row, 2)?,
                })
            },
        )
    }

    fn delete_ticket_lines(&mut self, order: NumId, ids: &[NumId]) -> Result<u64, Error> {
        delete_lines(
            self,
            "DELETE FROM order_tickets WHERE id = ?1 AND order_id = ?2",
            order,
            ids,
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
        self.all(
            "SELECT op.id, op.product_id, op.price, p.producttype, p.name
                 FROM order_products op
                 JOIN products p ON p.account_id = ?1 AND p.id = op.product_id
                 WHERE op.order_id = ?2 ORDER BY op.id",
            params![account.0, order],
            |row| {
                Ok(ProductLine {
                    id: num(row, 0)?,
                    productid: num(row, 1)?,
                    price: money(row, 2)?,
                    producttype: num(row, 3)?,
                    productname: row.get(4)?,
                })
            },
        )
    }

    fn insert_product_lines(
        &mut self,
        order: NumId,
        product: NumId,
        price: Money,
        count: u32,
    ) -> Result<Vec<NumId>, Error> {
        let (order, product, price) = (
            db_id("order", order)?,
            db_id("product", product)?,
            price.to_string(),
        );
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO order_products (order_id, product_id, price) VALUES (?1, ?2, ?3)",
            )
            .db()?;
        let mut ids = Vec::new();
        for _ in 0..count {
            stmt.execute(params![order, product, price]).db()?;
            ids.push(NumId(db_u64(self.conn.last_insert_rowid())?));
        }
        Ok(ids)
    }

    fn delete_product_lines(&mut self, order: NumId, ids: &[NumId]) -> Result<u64, Error> {
        delete_lines(
            self,
            "DELETE FROM order_products WHERE id = ?1 AND order_id = ?2",
            order,
            ids,
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
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE events SET taken = taken + ?3
                 WHERE account_id = ?1 AND id = ?2 AND active = 1 AND taken + ?3 <= capacity",
            )
            .db()?
            .execute(params![account.0, event, seats])
            .db()?;
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
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE events SET taken = taken - ?3
                 WHERE account_id = ?1 AND id = ?2 AND taken >= ?3",
            )
            .db()?
            .execute(params![account.0, event, seats])
            .db()?;
        Ok(changed == 1)
    }

    fn seat_counts(&mut self, account: AccountId) -> Result<Vec<SeatCount>, Error> {
        self.all(
            "SELECT e.id, e.capacity, e.taken,
                   (SELECT COUNT(*) FROM order_tickets t JOIN orders o ON o.id = t.order_id
                    WHERE o.account_id = e.account_id AND t.event_id = e.id
                      AND o.status IN ('open', 'confirmed'))
                 FROM events e WHERE e.account_id = ?1 ORDER BY e.rowid",
            params![account.0],
            |row| {
                Ok(SeatCount {
                    event: num(row, 0)?,
                    capacity: row.get(1)?,
                    taken: row.get(2)?,
                    held: row.get(3)?,
                })
            },
        )
    }

    fn customer(&mut self, id: NumId) -> Result<Option<CustomerInfo>, Error> {
        let Some(id) = lookup_id(id) else {
            return Ok(None);
        };
        self.query_row(
            "SELECT name, email FROM customers WHERE id = ?1",
            params![id],
            |row| {
                Ok(CustomerInfo {
                    name: row.get(0)?,
                    email: row.get(1)?,
                })
            },
        )
        .optional()
        .db()
    }

    fn insert_customer(
        &mut self,
        account: AccountId,
        customer: &CustomerInfo,
    ) -> Result<NumId, Error> {
        self.execute(
            "INSERT INTO customers (account_id, name, email) VALUES (?1, ?2, ?3)",
            params![account.0, customer.name, customer.email],
        )
        .db()?;
        Ok(NumId(db_u64(self.conn.last_insert_rowid())?))
    }

    fn update_customer(&mut self, id: NumId, customer: &CustomerInfo) -> Result<(), Error> {
        self.execute(
            "UPDATE customers SET name = ?2, email = ?3 WHERE id = ?1",
            params![db_id("customer", id)?, customer.name, customer.email],
        )
        .db()?;
        Ok(())
    }

    fn insert_payment(&mut self, p: &PaymentRow) -> Result<(), Error> {
        self.execute(
            "INSERT INTO payments (token, order_id, amount, contents, status, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                p.token,
                db_id("order", p.order_id)?,
                p.amount.to_string(),
                p.contents,
                p.status.as_str(),
                p.created_ms
            ],
        )
        .db()?;
        Ok(())
    }

    fn payment(&mut self, token: &str) -> Result<Option<PaymentRow>, Error> {
        self.conn
            .prepare_cached(
                "SELECT p.token, p.order_id, o.account_id, p.amount, p.contents, p.status,
                        p.created_ms
                 FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.token = ?1",
            )
            .db()?
            .query_row(params![token], payment_row)
            .optional()
            .db()?
            .map(with_status)
            .transpose()
    }

    fn pending_payments(&mut self, order: NumId) -> Result<Vec<PaymentRow>, Error> {
        let Some(order) = lookup_id(order) else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT p.token, p.order_id, o.account_id, p.amount, p.contents, p.status,
                        p.created_ms
                 FROM payments p JOIN orders o ON o.id = p.order_id
                 WHERE p.order_id = ?1 AND p.status = 'pending' ORDER BY p.created_ms",
            )
            .db()?;
        let rows = stmt.query_map(params![order], payment_row).db()?;
        rows.collect::<Result<Vec<_>, _>>()
            .db()?
            .into_iter()
            .map(with_status)
            .collect()
    }

    fn set_payment_status(&mut self, token: &str, status: PaymentStatus) -> Result<(), Error> {
        self.execute(
            "UPDATE payments SET status = ?2 WHERE token = ?1",
            params![token, status.as_str()],
        )
        .db()?;
        Ok(())
    }
}
