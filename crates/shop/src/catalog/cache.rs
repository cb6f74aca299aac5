//! The catalog kept in memory per account, so a page does not read the same prices,
//! products and names from the store on every request.
//!
//! Every catalog import bumps the account's `catalog_version` in the same transaction
//! (`AccountTx::bump_catalog_version`), and every read of the account gives the version
//! it sees. A cached catalog is used only while its version is the one the reading
//! transaction sees, so an import by any process (`catalog import` beside a running
//! server, or another server on the same PostgreSQL database) is seen by the next
//! request. Seats are not cached: they change with every order and are read fresh.
//!
//! A miss (once per import and process) reads the whole catalog, in the snapshot that
//! asked for it.
//!
//! The cache is used only from committed snapshots (reads): a write transaction may see
//! a catalog that its commit never makes real (SQLite's group commit runs several
//! closures in one transaction), so writes read the store directly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use protocol::NumId;

use super::model::{DeliveryScenario, Organiser, PaymentScenario, Product};
use super::store::OfferLine;
use crate::storage::{AccountId, AccountRow, CatalogNames, Tx};
use crate::{Error, Scenario};

/// An account's catalog at one version, seats left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CachedCatalog {
    pub(crate) version: i64,
    pub(crate) organiser: Organiser,
    pub(crate) return_hosts: Vec<String>,
    pub(crate) products: Vec<Product>,
    pub(crate) delivery: Vec<DeliveryScenario>,
    pub(crate) payment: Vec<PaymentScenario>,
    /// The prices of every event on sale.
    pub(crate) offers: HashMap<NumId, Vec<OfferLine>>,
    /// Every entry's name, on sale or not, for order lines read in the same snapshot.
    pub(crate) names: CatalogNames,
}

/// Cached catalogs by account.
#[derive(Debug, Default)]
pub(crate) struct CatalogCache {
    accounts: Mutex<HashMap<i64, Arc<CachedCatalog>>>,
}

impl CatalogCache {
    /// The account's catalog as `tx`, a committed snapshot, sees it: from the cache when
    /// its version is the one `tx` sees, else read from the store and kept.
    pub(crate) fn get(
        &self,
        tx: &mut dyn Tx,
        account: &AccountRow,
    ) -> Result<Arc<CachedCatalog>, Error> {
        if let Some(cached) = self.lock().get(&account.id.0)
            && cached.version == account.catalog_version
        {
            return Ok(Arc::clone(cached));
        }
        let loaded = Arc::new(load(tx, account.id, account.catalog_version)?);
        let mut accounts = self.lock();
        let newer = accounts
            .get(&account.id.0)
            .is_none_or(|c| c.version <= loaded.version);
        if newer {
            accounts.insert(account.id.0, Arc::clone(&loaded));
        }
        Ok(loaded)
    }

    /// The account's catalog when the cache holds the version `account` was read at;
    /// never reads or fills. For write transactions, which may see changes of the same
    /// group commit that are not committed yet: a version is only ever cached from a
    /// committed snapshot, and versions only grow, so a version that matches is that
    /// catalog, and one made by an uncommitted import never matches.
    pub(crate) fn peek(&self, account: &AccountRow) -> Option<Arc<CachedCatalog>> {
        self.lock()
            .get(&account.id.0)
            .filter(|cached| cached.version == account.catalog_version)
            .map(Arc::clone)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<CachedCatalog>>> {
        // Entries are replaced whole: a panic cannot leave one torn.
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn load(tx: &mut dyn Tx, account: AccountId, version: i64) -> Result<CachedCatalog, Error> {
    let mut offers = HashMap::new();
    for event in tx.events(account)? {
        offers.insert(event.id, tx.offer_lines(account, event.id)?);
    }
    Ok(CachedCatalog {
        version,
        organiser: tx.organiser(account)?,
        return_hosts: tx.return_hosts(account)?,
        products: tx.products(account)?,
        delivery: tx
            .scenarios(account, Scenario::Delivery)?
            .into_iter()
            .map(|(id, name)| DeliveryScenario { id, name })
            .collect(),
        payment: tx
            .scenarios(account, Scenario::Payment)?
            .into_iter()
            .map(|(id, name)| PaymentScenario { id, name })
            .collect(),
        offers,
        names: tx.catalog_names(account)?,
    })
}
