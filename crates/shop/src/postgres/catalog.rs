//! The catalog in PostgreSQL. Every statement is fixed text: a kind of entry picks one of
//! several complete statements, never a table name spliced in.

use postgres::Row;
use protocol::NumId;

use super::conn::{PgTx, get};
use super::{money, num, seats};
use crate::catalog::{CatalogEvent, EventInfo, OfferLine, Product, TicketType, TicketTypePrice};
use crate::storage::{AccountId, CatalogTx, NamedKind, db_count, db_id, db_u64, lookup_id};
use crate::{Error, Scenario};

const DEACTIVATE: [&str; 8] = [
    "UPDATE saleschannels SET active = false WHERE account_id = $1",
    "UPDATE pricetypes SET active = false WHERE account_id = $1",
    "UPDATE events SET active = false WHERE account_id = $1",
    "UPDATE tickettypes SET active = false WHERE account_id = $1",
    "UPDATE tickettypeprices SET active = false WHERE account_id = $1",
    "UPDATE products SET active = false WHERE account_id = $1",
    "UPDATE deliveryscenarios SET active = false WHERE account_id = $1",
    "UPDATE paymentscenarios SET active = false WHERE account_id = $1",
];

fn upsert_named_sql(kind: NamedKind) -> &'static str {
    match kind {
        NamedKind::SalesChannel => {
            "INSERT INTO saleschannels (account_id, id, name, position, active)
             VALUES ($1, $2, $3, $4, true)
             ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,
               position = excluded.position, active = true"
        }
        NamedKind::PriceType => {
            "INSERT INTO pricetypes (account_id, id, name, position, active)
             VALUES ($1, $2, $3, $4, true)
             ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,
               position = excluded.position, active = true"
        }
        NamedKind::Delivery => {
            "INSERT INTO deliveryscenarios (account_id, id, name, position, active)
             VALUES ($1, $2, $3, $4, true)
             ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,
               position = excluded.position, active = true"
        }
        NamedKind::Payment => {
            "INSERT INTO paymentscenarios (account_id, id, name, position, active)
             VALUES ($1, $2, $3, $4, true)
             ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,
               position = excluded.position, active = true"
        }
    }
}

fn scenarios_sql(kind: Scenario) -> &'static str {
    match kind {
        Scenario::Delivery => {
            "SELECT id, name FROM deliveryscenarios WHERE account_id = $1 AND active
             ORDER BY position"
        }
        Scenario::Payment => {
            "SELECT id, name FROM paymentscenarios WHERE account_id = $1 AND active
             ORDER BY position"
        }
    }
}

fn event_info(row: &Row) -> Result<EventInfo, Error> {
    let capacity = seats(get(row, 3)?)?;
    let taken = seats(get(row, 4)?)?;
    Ok(EventInfo {
        id: num(row, 0)?,
        name: get(row, 1)?,
        date: get(row, 2)?,
        capacity,
        available: capacity.saturating_sub(taken),
    })
}

impl CatalogTx for PgTx<'_> {
    fn deactivate_catalog(&mut self, account: AccountId) -> Result<(), Error> {
        for sql in DEACTIVATE {
            self.execute(sql, &[&account.0])?;
        }
        Ok(())
    }

    fn set_default_saleschannel(&mut self, account: AccountId, id: NumId) -> Result<(), Error> {
        self.execute(
            "UPDATE accounts SET default_saleschannel = $2 WHERE id = $1",
            &[&account.0, &db_id("sales channel", id)?],
        )?;
        Ok(())
    }

    fn set_return_hosts(&mut self, account: AccountId, hosts: &[String]) -> Result<(), Error> {
        self.execute(
            "DELETE FROM return_hosts WHERE account_id = $1",
            &[&account.0],
        )?;
        for host in hosts {
            self.execute(
                "INSERT INTO return_hosts (account_id, host) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&account.0, host],
            )?;
        }
        Ok(())
    }

    fn upsert_named(
        &mut self,
        account: AccountId,
        kind: NamedKind,
        id: NumId,
        name: &str,
        position: usize,
    ) -> Result<(), Error> {
        self.execute(
            upsert_named_sql(kind),
            &[
                &account.0,
                &db_id("catalog", id)?,
                &name,
                &db_count("position", position)?,
            ],
        )?;
        Ok(())
    }

    fn upsert_event(&mut self, account: AccountId, event: &CatalogEvent) -> Result<(), Error> {
        self.execute(
            "INSERT INTO events (account_id, id, name, date, capacity, active)
             VALUES ($1, $2, $3, $4, $5, true)
             ON CONFLICT (account_id, id) DO UPDATE SET
               name = excluded.name, date = excluded.date, capacity = excluded.capacity,
               active = true",
            &[
                &account.0,
                &db_id("event", event.id)?,
                &event.name,
                &event.date,
                &i64::from(event.capacity),
            ],
        )?;
        Ok(())
    }

    fn upsert_tickettype(
        &mut self,
        account: AccountId,
        event: NumId,
        tickettype: &TicketType,
        position: usize,
    ) -> Result<(), Error> {
        self.execute(
            "INSERT INTO tickettypes (account_id, id, event_id, name, position, active)
             VALUES ($1, $2, $3, $4, $5, true)
             ON CONFLICT (account_id, id) DO UPDATE SET
               event_id = excluded.event_id, name = excluded.name,
               position = excluded.position, active = true",
            &[
                &account.0,
                &db_id("ticket type", tickettype.id)?,
                &db_id("event", event)?,
                &tickettype.name,
                &db_count("position", position)?,
            ],
        )?;
        Ok(())
    }

    fn upsert_price(
        &mut self,
        account: AccountId,
        tickettype: NumId,
        price: &TicketTypePrice,
        position: usize,
    ) -> Result<(), Error> {
        self.execute(
            "INSERT INTO tickettypeprices
               (account_id, id, tickettype_id, pricetype_id, price, servicecharge, position,
                active)
             VALUES ($1, $2, $3, $4, $5, $6, $7, true)
             ON CONFLICT (account_id, id) DO UPDATE SET
               tickettype_id = excluded.tickettype_id, pricetype_id = excluded.pricetype_id,
               price = excluded.price, servicecharge = excluded.servicecharge,
               position = excluded.position, active = true",
            &[
                &account.0,
                &db_id("ticket type price", price.id)?,
                &db_id("ticket type", tickettype)?,
                &db_id("price type", price.pricetype)?,
                &price.price.to_string(),
                &price.servicecharge.to_string(),
                &db_count("position", position)?,
            ],
        )?;
        Ok(())
    }

    fn upsert_product(
        &mut self,
        account: AccountId,
        product: &Product,
        position: usize,
    ) -> Result<(), Error> {
        self.execute(
            "INSERT INTO products (account_id, id, name, producttype, price, position, active)
             VALUES ($1, $2, $3, $4, $5, $6, true)
             ON CONFLICT (account_id, id) DO UPDATE SET
               name = excluded.name, producttype = excluded.producttype,
               price = excluded.price, position = excluded.position, active = true",
            &[
                &account.0,
                &db_id("product", product.id)?,
                &product.name,
                &db_id("product type", product.producttype)?,
                &product.price.to_string(),
                &db_count("position", position)?,
            ],
        )?;
        Ok(())
    }

    fn default_saleschannel(&mut self, account: AccountId) -> Result<Option<NumId>, Error> {
        let Some(row) = self.query_opt(
            "SELECT default_saleschannel FROM accounts WHERE id = $1",
            &[&account.0],
        )?
        else {
            return Ok(None);
        };
        let id: Option<i64> = get(&row, 0)?;
        Ok(id.map(db_u64).transpose()?.map(NumId))
    }

    fn saleschannel_active(&mut self, account: AccountId, id: NumId) -> Result<bool, Error> {
        let Some(id) = lookup_id(id) else {
            return Ok(false);
        };
        Ok(self
            .query_opt(
                "SELECT 1 FROM saleschannels WHERE account_id = $1 AND id = $2 AND active",
                &[&account.0, &id],
            )?
            .is_some())
    }

    fn return_hosts(&mut self, account: AccountId) -> Result<Vec<String>, Error> {
        self.query(
            "SELECT host FROM return_hosts WHERE account_id = $1 ORDER BY host",
            &[&account.0],
        )?
        .iter()
        .map(|row| get(row, 0))
        .collect()
    }

    fn events(&mut self, account: AccountId) -> Result<Vec<EventInfo>, Error> {
        self.query(
            "SELECT id, name, date, capacity, taken FROM events
             WHERE account_id = $1 AND active ORDER BY seq",
            &[&account.0],
        )?
        .iter()
        .map(event_info)
        .collect()
    }

    fn event(&mut self, account: AccountId, id: NumId) -> Result<Option<EventInfo>, Error> {
        let Some(id) = lookup_id(id) else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT id, name, date, capacity, taken FROM events
             WHERE account_id = $1 AND id = $2 AND active",
            &[&account.0, &id],
        )?
        .as_ref()
        .map(event_info)
        .transpose()
    }

    fn offer_lines(&mut self, account: AccountId, event: NumId) -> Result<Vec<OfferLine>, Error> {
        let Some(event) = lookup_id(event) else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT p.id, t.id, t.name, pt.id, pt.name, p.price, p.servicecharge
             FROM tickettypes t
             JOIN tickettypeprices p ON p.account_id = t.account_id
               AND p.tickettype_id = t.id AND p.active
             JOIN pricetypes pt ON pt.account_id = p.account_id AND pt.id = p.pricetype_id
             WHERE t.account_id = $1 AND t.event_id = $2 AND t.active
             ORDER BY t.position, p.position",
            &[&account.0, &event],
        )?
        .iter()
        .map(|row| {
            Ok(OfferLine {
                tickettypeprice_id: num(row, 0)?,
                tickettype_id: num(row, 1)?,
                tickettype_name: get(row, 2)?,
                pricetype_id: num(row, 3)?,
                pricetype_name: get(row, 4)?,
                price: money(row, 5)?,
                servicecharge: money(row, 6)?,
            })
        })
        .collect()
    }

    fn products(&mut self, account: AccountId) -> Result<Vec<Product>, Error> {
        self.query(
            "SELECT id, name, producttype, price FROM products
             WHERE account_id = $1 AND active ORDER BY position",
            &[&account.0],
        )?
        .iter()
        .map(|row| {
            Ok(Product {
                id: num(row, 0)?,
                name: get(row, 1)?,
                producttype: num(row, 2)?,
                price: money(row, 3)?,
            })
        })
        .collect()
    }

    fn scenarios(
        &mut self,
        account: AccountId,
        kind: Scenario,
    ) -> Result<Vec<(NumId, String)>, Error> {
        self.query(scenarios_sql(kind), &[&account.0])?
            .iter()
            .map(|row| Ok((num(row, 0)?, get(row, 1)?)))
            .collect()
    }
}
