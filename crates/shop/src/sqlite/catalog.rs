//! The catalog in SQLite. Every statement is fixed text: a kind of entry picks one of
//! several complete statements, never a table name spliced in.

use std::collections::HashMap;

use protocol::NumId;
use rusqlite::{OptionalExtension, params};

use super::{SqlResult, SqliteTx, conversion, db_count, db_id, lookup_id, money, num};
use crate::catalog::{
    CatalogEvent, EventInfo, EventTime, OfferLine, Organiser, Product, Text, TicketType,
    TicketTypePrice, Venue, Zone,
};
use crate::storage::{AccountId, CatalogNames, CatalogTx, NamedKind};
use crate::{Error, Scenario};

const DEACTIVATE: [&str; 8] = [
    "UPDATE saleschannels SET active = 0 WHERE account_id = ?1",
    "UPDATE pricetypes SET active = 0 WHERE account_id = ?1",
    "UPDATE events SET active = 0 WHERE account_id = ?1",
    "UPDATE tickettypes SET active = 0 WHERE account_id = ?1",
    "UPDATE tickettypeprices SET active = 0 WHERE account_id = ?1",
    "UPDATE products SET active = 0 WHERE account_id = ?1",
    "UPDATE deliveryscenarios SET active = 0 WHERE account_id = ?1",
    "UPDATE paymentscenarios SET active = 0 WHERE account_id = ?1",
];

fn upsert_named_sql(kind: NamedKind) -> &'static str {
    match kind {
        NamedKind::SalesChannel => {
            "INSERT INTO saleschannels (account_id, id, name, name_nl, position, active)
             VALUES (?1, ?2, ?3, ?4, ?5, 1)
             ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,
               name_nl = excluded.name_nl, position = excluded.position, active = 1"
        }
        NamedKind::PriceType => {
            "INSERT INTO pricetypes (account_id, id, name, name_nl, position, active)
             VALUES (?1, ?2, ?3, ?4, ?5, 1)
             ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,
               name_nl = excluded.name_nl, position = excluded.position, active = 1"
        }
        NamedKind::Delivery => {
            "INSERT INTO deliveryscenarios (account_id, id, name, name_nl, position, active)
             VALUES (?1, ?2, ?3, ?4, ?5, 1)
             ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,
               name_nl = excluded.name_nl, position = excluded.position, active = 1"
        }
        NamedKind::Payment => {
            "INSERT INTO paymentscenarios (account_id, id, name, name_nl, position, active)
             VALUES (?1, ?2, ?3, ?4, ?5, 1)
             ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,
               name_nl = excluded.name_nl, position = excluded.position, active = 1"
        }
    }
}

fn scenarios_sql(kind: Scenario) -> &'static str {
    match kind {
        Scenario::Delivery => {
            "SELECT id, name, name_nl FROM deliveryscenarios WHERE account_id = ?1 AND active = 1
             ORDER BY position"
        }
        Scenario::Payment => {
            "SELECT id, name, name_nl FROM paymentscenarios WHERE account_id = ?1 AND active = 1
             ORDER BY position"
        }
    }
}

/// The columns [`event_info`] reads, in its order (a macro, so statements stay literals).
macro_rules! event_columns {
    () => {
        "id, name, name_nl, capacity, taken, start_ms, end_ms, timezone, venue_name, \
         venue_address, description, description_nl, image"
    };
}

fn text(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Text> {
    Ok(Text {
        text: row.get(idx)?,
        nl: row.get(idx + 1)?,
    })
}

fn instant(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<jiff::Timestamp>> {
    let ms: Option<i64> = row.get(idx)?;
    ms.map(|ms| {
        jiff::Timestamp::from_millisecond(ms)
            .map_err(|e| conversion(idx, rusqlite::types::Type::Integer, e))
    })
    .transpose()
}

fn event_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventInfo> {
    let capacity: u32 = row.get(3)?;
    let taken: u32 = row.get(4)?;
    let time = match instant(row, 5)? {
        Some(start) => {
            let zone: String = row.get(7)?;
            let zone = Zone::parse(&zone)
                .map_err(|e| conversion(7, rusqlite::types::Type::Text, Error::Store(e)))?;
            Some(EventTime {
                start,
                end: instant(row, 6)?,
                zone,
            })
        }
        None => None,
    };
    Ok(EventInfo {
        id: num(row, 0)?,
        name: text(row, 1)?,
        time,
        venue: Venue {
            name: row.get(8)?,
            address: row.get(9)?,
        },
        description: text(row, 10)?,
        image: row.get(12)?,
        capacity,
        available: capacity.saturating_sub(taken),
    })
}

impl CatalogTx for SqliteTx<'_> {
    fn put_image(&mut self, account: AccountId, name: &str, bytes: &[u8]) -> Result<(), Error> {
        self.execute(
            "INSERT INTO images (account_id, name, bytes) VALUES (?1, ?2, ?3)
             ON CONFLICT (account_id, name) DO UPDATE SET bytes = excluded.bytes",
            params![account.0, name, bytes],
        )
        .db()?;
        Ok(())
    }

    fn image(&mut self, account: AccountId, name: &str) -> Result<Option<Vec<u8>>, Error> {
        self.query_row(
            "SELECT bytes FROM images WHERE account_id = ?1 AND name = ?2",
            params![account.0, name],
            |row| row.get(0),
        )
        .optional()
        .db()
    }

    fn deactivate_catalog(&mut self, account: AccountId) -> Result<(), Error> {
        for sql in DEACTIVATE {
            self.execute(sql, params![account.0]).db()?;
        }
        Ok(())
    }

    fn bump_catalog_version(&mut self, account: AccountId) -> Result<(), Error> {
        self.execute(
            "UPDATE accounts SET catalog_version = catalog_version + 1 WHERE id = ?1",
            params![account.0],
        )
        .db()?;
        Ok(())
    }

    fn set_default_saleschannel(&mut self, account: AccountId, id: NumId) -> Result<(), Error> {
        self.execute(
            "UPDATE accounts SET default_saleschannel = ?2 WHERE id = ?1",
            params![account.0, db_id("sales channel", id)?],
        )
        .db()?;
        Ok(())
    }

    fn set_return_hosts(&mut self, account: AccountId, hosts: &[String]) -> Result<(), Error> {
        self.execute(
            "DELETE FROM return_hosts WHERE account_id = ?1",
            params![account.0],
        )
        .db()?;
        for host in hosts {
            self.execute(
                "INSERT INTO return_hosts (account_id, host) VALUES (?1, ?2)
                     ON CONFLICT DO NOTHING",
                params![account.0, host],
            )
            .db()?;
        }
        Ok(())
    }

    fn set_organiser(&mut self, account: AccountId, organiser: &Organiser) -> Result<(), Error> {
        self.execute(
            "UPDATE accounts SET organiser_name = ?2, terms_url = ?3, privacy_url = ?4
                 WHERE id = ?1",
            params![
                account.0,
                organiser.name,
                organiser.terms_url,
                organiser.privacy_url
            ],
        )
        .db()?;
        Ok(())
    }

    fn upsert_named(
        &mut self,
        account: AccountId,
        kind: NamedKind,
        id: NumId,
        name: &Text,
        position: usize,
    ) -> Result<(), Error> {
        self.execute(
            upsert_named_sql(kind),
            params![
                account.0,
                db_id("catalog", id)?,
                name.text,
                name.nl,
                db_count("position", position)?
            ],
        )
        .db()?;
        Ok(())
    }

    fn upsert_event(&mut self, account: AccountId, event: &CatalogEvent) -> Result<(), Error> {
        let time = &event.time;
        self.execute(
            "INSERT INTO events (account_id, id, name, name_nl, capacity, start_ms, end_ms,
                   timezone, venue_name, venue_address, description, description_nl, image,
                   active)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1)
                 ON CONFLICT (account_id, id) DO UPDATE SET
                   name = excluded.name, name_nl = excluded.name_nl,
                   capacity = excluded.capacity, start_ms = excluded.start_ms,
                   end_ms = excluded.end_ms, timezone = excluded.timezone,
                   venue_name = excluded.venue_name, venue_address = excluded.venue_address,
                   description = excluded.description, description_nl = excluded.description_nl,
                   image = excluded.image, active = 1",
            params![
                account.0,
                db_id("event", event.id)?,
                event.name.text,
                event.name.nl,
                event.capacity,
                time.start.as_millisecond(),
                time.end.map(jiff::Timestamp::as_millisecond),
                time.zone.name(),
                event.venue.name,
                event.venue.address,
                event.description.text,
                event.description.nl,
                event.image
            ],
        )
        .db()?;
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
            "INSERT INTO tickettypes (account_id, id, event_id, name, name_nl, position,
                   active)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
                 ON CONFLICT (account_id, id) DO UPDATE SET
                   event_id = excluded.event_id, name = excluded.name,
                   name_nl = excluded.name_nl, position = excluded.position, active = 1",
            params![
                account.0,
                db_id("ticket type", tickettype.id)?,
                db_id("event", event)?,
                tickettype.name.text,
                tickettype.name.nl,
                db_count("position", position)?
            ],
        )
        .db()?;
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
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)
                 ON CONFLICT (account_id, id) DO UPDATE SET
                   tickettype_id = excluded.tickettype_id, pricetype_id = excluded.pricetype_id,
                   price = excluded.price, servicecharge = excluded.servicecharge,
                   position = excluded.position, active = 1",
            params![
                account.0,
                db_id("ticket type price", price.id)?,
                db_id("ticket type", tickettype)?,
                db_id("price type", price.pricetype)?,
                price.price.to_string(),
                price.servicecharge.to_string(),
                db_count("position", position)?
            ],
        )
        .db()?;
        Ok(())
    }

    fn upsert_product(
        &mut self,
        account: AccountId,
        product: &Product,
        position: usize,
    ) -> Result<(), Error> {
        self.execute(
            "INSERT INTO products (account_id, id, name, name_nl, producttype, price, position,
                   active)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)
                 ON CONFLICT (account_id, id) DO UPDATE SET
                   name = excluded.name, name_nl = excluded.name_nl,
                   producttype = excluded.producttype, price = excluded.price,
                   position = excluded.position, active = 1",
            params![
                account.0,
                db_id("product", product.id)?,
                product.name.text,
                product.name.nl,
                db_id("product type", product.producttype)?,
                product.price.to_string(),
                db_count("position", position)?
            ],
        )
        .db()?;
        Ok(())
    }

    fn default_saleschannel(&mut self, account: AccountId) -> Result<Option<NumId>, Error> {
        let id: Option<i64> = self
            .query_row(
                "SELECT default_saleschannel FROM accounts WHERE id = ?1",
                params![account.0],
                |row| row.get(0),
            )
            .optional()
            .db()?
            .flatten();
        id.map(|id| {
            u64::try_from(id)
                .map(NumId)
                .map_err(|_| Error::Store(format!("invalid sales channel id {id}")))
        })
        .transpose()
    }

    fn saleschannel_active(&mut self, account: AccountId, id: NumId) -> Result<bool, Error> {
        let Some(id) = lookup_id(id) else {
            return Ok(false);
        };
        Ok(self
            .query_row(
                "SELECT 1 FROM saleschannels WHERE account_id = ?1 AND id = ?2 AND active = 1",
                params![account.0, id],
                |_| Ok(()),
            )
            .optional()
            .db()?
            .is_some())
    }

    fn return_hosts(&mut self, account: AccountId) -> Result<Vec<String>, Error> {
        self.all(
            "SELECT host FROM return_hosts WHERE account_id = ?1 ORDER BY host",
            params![account.0],
            |row| row.get(0),
        )
    }

    fn organiser(&mut self, account: AccountId) -> Result<Organiser, Error> {
        Ok(self
            .query_row(
                "SELECT organiser_name, terms_url, privacy_url FROM accounts WHERE id = ?1",
                params![account.0],
                |row| {
                    Ok(Organiser {
                        name: row.get(0)?,
                        terms_url: row.get(1)?,
                        privacy_url: row.get(2)?,
                    })
                },
            )
            .optional()
            .db()?
            .unwrap_or_default())
    }

    fn events(&mut self, account: AccountId) -> Result<Vec<EventInfo>, Error> {
        self.all(
            concat!(
                "SELECT ",
                event_columns!(),
                " FROM events WHERE account_id = ?1 AND active = 1 ORDER BY rowid"
            ),
            params![account.0],
            event_info,
        )
    }

    fn event(&mut self, account: AccountId, id: NumId) -> Result<Option<EventInfo>, Error> {
        let Some(id) = lookup_id(id) else {
            return Ok(None);
        };
        self.conn
            .prepare_cached(concat!(
                "SELECT ",
                event_columns!(),
                " FROM events WHERE account_id = ?1 AND id = ?2 AND active = 1"
            ))
            .db()?
            .query_row(params![account.0, id], event_info)
            .optional()
            .db()
    }

    fn offer_lines(&mut self, account: AccountId, event: NumId) -> Result<Vec<OfferLine>, Error> {
        let Some(event) = lookup_id(event) else {
            return Ok(Vec::new());
        };
        self.all(
            "SELECT p.id, t.id, t.name, t.name_nl, pt.id, pt.name, pt.name_nl, p.price,
                        p.servicecharge
                 FROM tickettypes t
                 JOIN tickettypeprices p ON p.account_id = t.account_id
                   AND p.tickettype_id = t.id AND p.active = 1
                 JOIN pricetypes pt ON pt.account_id = p.account_id AND pt.id = p.pricetype_id
                 WHERE t.account_id = ?1 AND t.event_id = ?2 AND t.active = 1
                 ORDER BY t.position, p.position",
            params![account.0, event],
            |row| {
                Ok(OfferLine {
                    tickettypeprice_id: num(row, 0)?,
                    tickettype_id: num(row, 1)?,
                    tickettype_name: text(row, 2)?,
                    pricetype_id: num(row, 4)?,
                    pricetype_name: text(row, 5)?,
                    price: money(row, 7)?,
                    servicecharge: money(row, 8)?,
                })
            },
        )
    }

    fn products(&mut self, account: AccountId) -> Result<Vec<Product>, Error> {
        self.all(
            "SELECT id, name, name_nl, producttype, price FROM products
                 WHERE account_id = ?1 AND active = 1 ORDER BY position",
            params![account.0],
            |row| {
                Ok(Product {
                    id: num(row, 0)?,
                    name: text(row, 1)?,
                    producttype: num(row, 3)?,
                    price: money(row, 4)?,
                })
            },
        )
    }

    fn catalog_names(&mut self, account: AccountId) -> Result<CatalogNames, Error> {
        let names = |sql| -> Result<HashMap<NumId, String>, Error> {
            Ok(self
                .all(sql, params![account.0], |row| {
                    Ok((num(row, 0)?, row.get(1)?))
                })?
                .into_iter()
                .collect())
        };
        Ok(CatalogNames {
            events: names("SELECT id, name FROM events WHERE account_id = ?1")?,
            tickettypes: names("SELECT id, name FROM tickettypes WHERE account_id = ?1")?,
            pricetypes: names("SELECT id, name FROM pricetypes WHERE account_id = ?1")?,
            products: self
                .all(
                    "SELECT id, producttype, name FROM products WHERE account_id = ?1",
                    params![account.0],
                    |row| Ok((num(row, 0)?, (num(row, 1)?, row.get(2)?))),
                )?
                .into_iter()
                .collect(),
        })
    }

    fn scenarios(
        &mut self,
        account: AccountId,
        kind: Scenario,
    ) -> Result<Vec<(NumId, Text)>, Error> {
        self.all(scenarios_sql(kind), params![account.0], |row| {
            Ok((num(row, 0)?, text(row, 1)?))
        })
    }
}
