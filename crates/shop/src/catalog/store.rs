//! The catalog in the shop store: import (an upsert, so importing the same file twice
//! changes nothing) and the reads the pages need, over the storage contract.

use std::sync::Arc;

use protocol::{AccountName, Money, NumId};

use super::cache::CachedCatalog;
use super::image::{EventImage, MAX_IMAGE_BYTES, image_type};

use super::model::{Catalog, DeliveryScenario, Organiser, PaymentScenario, Product, Text, Venue};
use super::time::EventTime;
use crate::storage::{AccountId, NamedKind, Tx};
use crate::store::account_id;
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
    pub name: Text,
    /// `None` only for an event imported before catalogs gave times.
    pub time: Option<EventTime>,
    pub venue: Venue,
    pub description: Text,
    pub image: Option<String>,
    pub capacity: u32,
    pub available: u32,
}

/// One ticket type at one price type: a row of the add-tickets page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferLine {
    pub tickettypeprice_id: NumId,
    pub tickettype_id: NumId,
    pub tickettype_name: Text,
    pub pricetype_id: NumId,
    pub pricetype_name: Text,
    pub price: Money,
    pub servicecharge: Money,
}

/// What the add-tickets page offers for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOffer {
    pub event: EventInfo,
    pub lines: Vec<OfferLine>,
}

impl ShopStore {
    /// Imports `catalog` for the account in one transaction. Entries the file no longer
    /// lists stay in the store (orders refer to them) but are no longer offered.
    ///
    /// Every image an event names must already be in the store: a catalog with new
    /// images goes through [`ShopStore::import_catalog_with_images`].
    pub async fn import_catalog(
        &self,
        account: &AccountName,
        catalog: Catalog,
    ) -> Result<ImportReport, Error> {
        self.import_catalog_with_images(account, catalog, Vec::new())
            .await
    }

    /// Imports `catalog` and stores `images` (replacing images of the same names) in one
    /// transaction. Every image an event names must be among `images` or already in the
    /// store; each image's name must be a plain image file name
    /// ([`crate::image_type`]) and its size at most [`MAX_IMAGE_BYTES`].
    pub async fn import_catalog_with_images(
        &self,
        account: &AccountName,
        catalog: Catalog,
        images: Vec<EventImage>,
    ) -> Result<ImportReport, Error> {
        for image in &images {
            let problem = if image_type(&image.name).is_none() {
                "is not a plain png, jpg, webp or svg file name"
            } else if image.bytes.len() > MAX_IMAGE_BYTES {
                "is larger than 8 MiB"
            } else {
                continue;
            };
            return Err(Error::BadImage {
                image: image.name.clone(),
                problem,
            });
        }
        let name = account.clone();
        self.transact(move |tx| {
            let account = account_id(tx, &name)?;
            for image in &images {
                tx.put_image(account, &image.name, &image.bytes)?;
            }
            for event in &catalog.events {
                let Some(image) = &event.image else { continue };
                if !images.iter().any(|i| &i.name == image) && tx.image(account, image)?.is_none() {
                    return Err(Error::MissingImage {
                        event: event.id,
                        image: image.clone(),
                    });
                }
            }
            import(tx, account, &catalog)
        })
        .await
    }

    /// An event image of the account, `None` when it has no image of that name.
    pub async fn image(&self, account: &AccountName, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let account = account.clone();
        let name = name.to_owned();
        self.read(move |tx| match tx.account(&account)? {
            Some(row) => tx.image(row.id, &name),
            None => Ok(None),
        })
        .await
    }

    /// The account's events on sale, in catalog order.
    pub async fn events(&self, account: &AccountName) -> Result<Vec<EventInfo>, Error> {
        let name = account.clone();
        self.read(move |tx| match tx.account(&name)? {
            Some(account) => tx.events(account.id),
            None => Ok(Vec::new()),
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
        let catalogs = Arc::clone(&self.catalogs);
        self.read_quick(move |tx| {
            let Some(account) = tx.account(&name)? else {
                return Ok(None);
            };
            let Some(info) = tx.event(account.id, event)? else {
                return Ok(None);
            };
            let catalog = catalogs.get(tx, &account)?;
            Ok(catalog.offers.get(&event).map(|lines| EventOffer {
                event: info,
                lines: lines.clone(),
            }))
        })
        .await
    }

    /// Products on sale, in catalog order.
    pub async fn products(&self, account: &AccountName) -> Result<Vec<Product>, Error> {
        Ok(self
            .cached_catalog(account)
            .await?
            .map(|c| c.products.clone())
            .unwrap_or_default())
    }

    /// Delivery and payment scenarios on offer, in catalog order.
    pub async fn scenarios(
        &self,
        account: &AccountName,
    ) -> Result<(Vec<DeliveryScenario>, Vec<PaymentScenario>), Error> {
        Ok(self
            .cached_catalog(account)
            .await?
            .map(|c| (c.delivery.clone(), c.payment.clone()))
            .unwrap_or_default())
    }

    /// The sales channel an order of this account is made in: `requested` when it is one
    /// of the account's sales channels, the default when nothing is requested, `None`
    /// otherwise.
    pub async fn saleschannel(
        &self,
        account: &AccountName,
        requested: Option<NumId>,
    ) -> Result<Option<NumId>, Error> {
        let name = account.clone();
        self.read_quick(move |tx| {
            let Some(account) = tx.account(&name)? else {
                return Ok(None);
            };
            let id = match requested {
                Some(id) => id,
                None => match tx.default_saleschannel(account.id)? {
                    Some(id) => id,
                    None => return Ok(None),
                },
            };
            Ok(tx.saleschannel_active(account.id, id)?.then_some(id))
        })
        .await
    }

    /// The organiser's name and policies, as the catalog gave them.
    pub async fn organiser(&self, account: &AccountName) -> Result<Organiser, Error> {
        Ok(self
            .cached_catalog(account)
            .await?
            .map(|c| c.organiser.clone())
            .unwrap_or_default())
    }

    /// The hosts the account's return URLs may lead to (`return_hosts` in the catalog).
    pub async fn return_hosts(&self, account: &AccountName) -> Result<Vec<String>, Error> {
        Ok(self
            .cached_catalog(account)
            .await?
            .map(|c| c.return_hosts.clone())
            .unwrap_or_default())
    }

    /// The account's catalog, from the cache while no import changed it; `None` when
    /// the account does not exist.
    async fn cached_catalog(
        &self,
        account: &AccountName,
    ) -> Result<Option<Arc<CachedCatalog>>, Error> {
        let name = account.clone();
        let catalogs = Arc::clone(&self.catalogs);
        self.read_quick(move |tx| match tx.account(&name)? {
            Some(account) => catalogs.get(tx, &account).map(Some),
            None => Ok(None),
        })
        .await
    }
}

fn import(tx: &mut dyn Tx, account: AccountId, catalog: &Catalog) -> Result<ImportReport, Error> {
    tx.bump_catalog_version(account)?;
    tx.deactivate_catalog(account)?;
    tx.set_default_saleschannel(account, catalog.default_saleschannel)?;
    tx.set_return_hosts(account, &catalog.return_hosts)?;
    tx.set_organiser(account, &catalog.organiser)?;
    for (i, c) in catalog.saleschannels.iter().enumerate() {
        tx.upsert_named(account, NamedKind::SalesChannel, c.id, &c.name, i)?;
    }
    for (i, p) in catalog.pricetypes.iter().enumerate() {
        tx.upsert_named(account, NamedKind::PriceType, p.id, &p.name, i)?;
    }
    for (i, d) in catalog.deliveryscenarios.iter().enumerate() {
        tx.upsert_named(account, NamedKind::Delivery, d.id, &d.name, i)?;
    }
    for (i, p) in catalog.paymentscenarios.iter().enumerate() {
        tx.upsert_named(account, NamedKind::Payment, p.id, &p.name, i)?;
    }
    let mut report = ImportReport::default();
    for event in &catalog.events {
        tx.upsert_event(account, event)?;
        report.events += 1;
        for (i, tt) in event.tickettypes.iter().enumerate() {
            tx.upsert_tickettype(account, event.id, tt, i)?;
            report.tickettypes += 1;
            for (j, price) in tt.prices.iter().enumerate() {
                tx.upsert_price(account, tt.id, price, j)?;
                report.prices += 1;
            }
        }
    }
    for (i, p) in catalog.products.iter().enumerate() {
        tx.upsert_product(account, p, i)?;
        report.products += 1;
    }
    Ok(report)
}

/// The event with its prices, when it is on sale. The prices come from `cached` (the
/// catalog at the version `tx` sees) when given, else from the store; the seats always
/// from the store.
pub(crate) fn event_offer(
    tx: &mut dyn Tx,
    account: AccountId,
    event: NumId,
    cached: Option<&CachedCatalog>,
) -> Result<Option<EventOffer>, Error> {
    let Some(info) = tx.event(account, event)? else {
        return Ok(None);
    };
    let lines = match cached.and_then(|c| c.offers.get(&event)) {
        Some(lines) => lines.clone(),
        None => tx.offer_lines(account, event)?,
    };
    Ok(Some(EventOffer { event: info, lines }))
}
