//! The catalog in the shop store: import (an upsert, so importing the same file twice
//! changes nothing) and the reads the pages need.

use protocol::{AccountName, Money, NumId};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::model::{Catalog, DeliveryScenario, PaymentScenario, Product};
use crate::store::find_account;
use crate::{Error, ShopStore};

/// What an import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportReport {
    pub events: usize,
    pub tickettypes: usize,
    pub prices: usize,
    pub products: usize,
}

/// An event as shoppers see it, with the seats still available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInfo {
    pub id: NumId,
    pub name: String,
    pub date: String,
    pub capacity: u32,
    pub available: u32,
}

/// One ticket type at one price type: a row of the add-tickets page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferLine {
    pub tickettypeprice_id: NumId,
    pub tickettype_id: NumId,
    pub tickettype_name: String,
    pub pricetype_id: NumId,
    pub pricetype_name: String,
    pub price: Money,
    pub servicecharge: Money,
}

/// What the add-tickets page offers for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOffer {
    pub event: EventInfo,
    pub lines: Vec<OfferLine>,
}

const TABLES: [&str; 8] = [
    "saleschannels",
    "pricetypes",
    "events",
    "tickettypes",
    "tickettypeprices",
    "products",
    "deliveryscenarios",
    "paymentscenarios",
];

impl ShopStore {
    /// Imports `catalog` for the account in one transaction. Entries the file no longer
    /// lists stay in the store (orders refer to them) but are no longer offered.
    pub async fn import_catalog(
        &self,
        account: &AccountName,
        catalog: Catalog,
    ) -> Result<ImportReport, Error> {
        let name = account.clone();
        self.with_conn(move |conn| {
            let account = find_account(conn, &name)?.ok_or(Error::NoSuchAccount(name))?;
            let tx = conn.transaction()?;
            let report = import(&tx, account.id, &catalog)?;
            tx.commit()?;
            Ok(report)
        })
        .await
    }

    /// The account's events on sale, in catalog order.
    pub async fn events(&self, account: &AccountName) -> Result<Vec<EventInfo>, Error> {
        let name = account.clone();
        self.with_conn(move |conn| {
            let Some(account) = find_account(conn, &name)? else {
                return Ok(Vec::new());
            };
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, date, capacity, taken FROM events
                 WHERE account_id = ?1 AND active = 1 ORDER BY rowid",
            )?;
            let rows = stmt.query_map(params![account.id], event_info)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The event with its ticket prices, or `None` when it is not on sale.
    pub async fn event_offer(
        &self,
        account: &AccountName,
        event: NumId,
    ) -> Result<Option<EventOffer>, Error> {
        let name = account.clone();
        self.with_conn(move |conn| {
            let Some(account) = find_account(conn, &name)? else {
                return Ok(None);
            };
            event_offer(conn, account.id, event)
        })
        .await
    }

    /// Products on sale, in catalog order.
    pub async fn products(&self, account: &AccountName) -> Result<Vec<Product>, Error> {
        let name = account.clone();
        self.with_conn(move |conn| {
            let Some(account) = find_account(conn, &name)? else {
                return Ok(Vec::new());
            };
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, producttype, price FROM products
                 WHERE account_id = ?1 AND active = 1 ORDER BY position",
            )?;
            let rows = stmt.query_map(params![account.id], |row| {
                Ok(Product {
                    id: NumId(row.get(0)?),
                    name: row.get(1)?,
                    producttype: NumId(row.get(2)?),
                    price: money(row, 3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Delivery and payment scenarios on offer, in catalog order.
    pub async fn scenarios(
        &self,
        account: &AccountName,
    ) -> Result<(Vec<DeliveryScenario>, Vec<PaymentScenario>), Error> {
        let name = account.clone();
        self.with_conn(move |conn| {
            let Some(account) = find_account(conn, &name)? else {
                return Ok((Vec::new(), Vec::new()));
            };
            let delivery = named(conn, "deliveryscenarios", account.id)?
                .into_iter()
                .map(|(id, name)| DeliveryScenario { id, name })
                .collect();
            let payment = named(conn, "paymentscenarios", account.id)?
                .into_iter()
                .map(|(id, name)| PaymentScenario { id, name })
                .collect();
            Ok((delivery, payment))
        })
        .await
    }

    /// The account's default sales channel, and whether `requested` (when given) is one
    /// of its sales channels.
    pub async fn saleschannel(
        &self,
        account: &AccountName,
        requested: Option<NumId>,
    ) -> Result<Option<NumId>, Error> {
        let name = account.clone();
        self.with_conn(move |conn| {
            let Some(account) = find_account(conn, &name)? else {
                return Ok(None);
            };
            let id = match requested {
                Some(id) => id.0 as i64,
                None => match conn.query_row(
                    "SELECT default_saleschannel FROM accounts WHERE id = ?1",
                    params![account.id],
                    |row| row.get::<_, Option<i64>>(0),
                )? {
                    Some(id) => id,
                    None => return Ok(None),
                },
            };
            let exists = conn
                .query_row(
                    "SELECT 1 FROM saleschannels WHERE account_id = ?1 AND id = ?2 AND active = 1",
                    params![account.id, id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            Ok(exists.then_some(NumId(id as u64)))
        })
        .await
    }
}

fn import(tx: &Transaction<'_>, account: i64, catalog: &Catalog) -> Result<ImportReport, Error> {
    for table in TABLES {
        tx.execute(
            &format!("UPDATE {table} SET active = 0 WHERE account_id = ?1"),
            params![account],
        )?;
    }
    tx.execute(
        "UPDATE accounts SET default_saleschannel = ?2 WHERE id = ?1",
        params![account, catalog.default_saleschannel.0 as i64],
    )?;
    for (i, c) in catalog.saleschannels.iter().enumerate() {
        upsert_named(tx, "saleschannels", account, c.id, &c.name, i)?;
    }
    for (i, p) in catalog.pricetypes.iter().enumerate() {
        upsert_named(tx, "pricetypes", account, p.id, &p.name, i)?;
    }
    for (i, d) in catalog.deliveryscenarios.iter().enumerate() {
        upsert_named(tx, "deliveryscenarios", account, d.id, &d.name, i)?;
    }
    for (i, p) in catalog.paymentscenarios.iter().enumerate() {
        upsert_named(tx, "paymentscenarios", account, p.id, &p.name, i)?;
    }
    let mut report = ImportReport::default();
    for event in &catalog.events {
        tx.execute(
            "INSERT INTO events (account_id, id, name, date, capacity, active)
             VALUES (?1, ?2, ?3, ?4, ?5, 1)
             ON CONFLICT (account_id, id) DO UPDATE SET
               name = excluded.name, date = excluded.date, capacity = excluded.capacity, active = 1",
            params![account, event.id.0 as i64, event.name, event.date, event.capacity],
        )?;
        report.events += 1;
        for (i, tt) in event.tickettypes.iter().enumerate() {
            tx.execute(
                "INSERT INTO tickettypes (account_id, id, event_id, name, position, active)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT (account_id, id) DO UPDATE SET
                   event_id = excluded.event_id, name = excluded.name,
                   position = excluded.position, active = 1",
                params![
                    account,
                    tt.id.0 as i64,
                    event.id.0 as i64,
                    tt.name,
                    i as i64
                ],
            )?;
            report.tickettypes += 1;
            for (j, price) in tt.prices.iter().enumerate() {
                tx.execute(
                    "INSERT INTO tickettypeprices
                       (account_id, id, tickettype_id, pricetype_id, price, servicecharge, position, active)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)
                     ON CONFLICT (account_id, id) DO UPDATE SET
                       tickettype_id = excluded.tickettype_id, pricetype_id = excluded.pricetype_id,
                       price = excluded.price, servicecharge = excluded.servicecharge,
                       position = excluded.position, active = 1",
                    params![
                        account,
                        price.id.0 as i64,
                        tt.id.0 as i64,
                        price.pricetype.0 as i64,
                        price.price.to_string(),
                        price.servicecharge.to_string(),
                        j as i64
                    ],
                )?;
                report.prices += 1;
            }
        }
    }
    for (i, p) in catalog.products.iter().enumerate() {
        tx.execute(
            "INSERT INTO products (account_id, id, name, producttype, price, position, active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
             ON CONFLICT (account_id, id) DO UPDATE SET
               name = excluded.name, producttype = excluded.producttype,
               price = excluded.price, position = excluded.position, active = 1",
            params![
                account,
                p.id.0 as i64,
                p.name,
                p.producttype.0 as i64,
                p.price.to_string(),
                i as i64
            ],
        )?;
        report.products += 1;
    }
    Ok(report)
}

fn upsert_named(
    tx: &Transaction<'_>,
    table: &str,
    account: i64,
    id: NumId,
    name: &str,
    position: usize,
) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO {table} (account_id, id, name, position, active) VALUES (?1, ?2, ?3, ?4, 1)
         ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,
           position = excluded.position, active = 1"
    );
    tx.execute(&sql, params![account, id.0 as i64, name, position as i64])?;
    Ok(())
}

fn named(conn: &Connection, table: &str, account: i64) -> Result<Vec<(NumId, String)>, Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, name FROM {table} WHERE account_id = ?1 AND active = 1 ORDER BY position"
    ))?;
    let rows = stmt.query_map(params![account], |row| {
        Ok((NumId(row.get(0)?), row.get(1)?))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(crate) fn event_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventInfo> {
    let capacity: u32 = row.get(3)?;
    let taken: u32 = row.get(4)?;
    Ok(EventInfo {
        id: NumId(row.get(0)?),
        name: row.get(1)?,
        date: row.get(2)?,
        capacity,
        available: capacity.saturating_sub(taken),
    })
}

pub(crate) fn event_offer(
    conn: &Connection,
    account: i64,
    event: NumId,
) -> Result<Option<EventOffer>, Error> {
    let info = conn
        .query_row(
            "SELECT id, name, date, capacity, taken FROM events
             WHERE account_id = ?1 AND id = ?2 AND active = 1",
            params![account, event.0 as i64],
            event_info,
        )
        .optional()?;
    let Some(info) = info else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, t.id, t.name, pt.id, pt.name, p.price, p.servicecharge
         FROM tickettypes t
         JOIN tickettypeprices p ON p.account_id = t.account_id AND p.tickettype_id = t.id AND p.active = 1
         JOIN pricetypes pt ON pt.account_id = p.account_id AND pt.id = p.pricetype_id
         WHERE t.account_id = ?1 AND t.event_id = ?2 AND t.active = 1
         ORDER BY t.position, p.position",
    )?;
    let lines = stmt
        .query_map(params![account, event.0 as i64], |row| {
            Ok(OfferLine {
                tickettypeprice_id: NumId(row.get(0)?),
                tickettype_id: NumId(row.get(1)?),
                tickettype_name: row.get(2)?,
                pricetype_id: NumId(row.get(3)?),
                pricetype_name: row.get(4)?,
                price: money(row, 5)?,
                servicecharge: money(row, 6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(EventOffer { event: info, lines }))
}

/// Amounts are stored as decimal text, written only from `Money`.
pub(crate) fn money(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Money> {
    let text: String = row.get(idx)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_catalog;

    const EXAMPLE: &str = include_str!("../../../../examples/catalog.toml");

    #[tokio::test]
    async fn importing_twice_updates_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShopStore::open(dir.path()).await.unwrap();
        let club = AccountName::parse("club").unwrap();
        store.create_account(&club).await.unwrap();
        let catalog = parse_catalog(EXAMPLE).unwrap();
        let first = store.import_catalog(&club, catalog.clone()).await.unwrap();
        let second = store.import_catalog(&club, catalog.clone()).await.unwrap();
        assert_eq!(first, second);
        let events = store.events(&club).await.unwrap();
        assert_eq!(events.len(), catalog.events.len());

        let offer = store
            .event_offer(&club, NumId(10003))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(offer.event.name, "Dance performance 2");
        assert_eq!(offer.event.available, 200);
        assert_eq!(offer.lines.len(), 2);
        assert_eq!(offer.lines[0].pricetype_name, "Normal");
        assert_eq!(offer.lines[1].price.to_string(), "12.5");

        // A changed file: renamed event, one product dropped.
        let mut changed = catalog.clone();
        changed.events[0].name = "Dance performance 2 (extra night)".into();
        changed.products.truncate(1);
        store.import_catalog(&club, changed).await.unwrap();
        let events = store.events(&club).await.unwrap();
        assert_eq!(events.len(), catalog.events.len());
        assert_eq!(events[0].name, "Dance performance 2 (extra night)");
        assert_eq!(store.products(&club).await.unwrap().len(), 1);

        let (delivery, payment) = store.scenarios(&club).await.unwrap();
        assert_eq!((delivery.len(), payment.len()), (2, 2));
        assert_eq!(
            store.saleschannel(&club, None).await.unwrap(),
            Some(NumId(10000))
        );
        assert_eq!(
            store.saleschannel(&club, Some(NumId(10001))).await.unwrap(),
            Some(NumId(10001))
        );
        assert_eq!(
            store.saleschannel(&club, Some(NumId(9))).await.unwrap(),
            None
        );
        assert!(store.event_offer(&club, NumId(1)).await.unwrap().is_none());
    }
}
