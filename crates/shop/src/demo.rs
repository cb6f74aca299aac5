//! `demo init`: an account `demo` with one API key pair, one widget key pair and the
//! example catalog, created once and found again on every later run.

use protocol::AccountName;
use serde::Serialize;

use crate::{Error, KeyKind, KeyPair, ShopStore};

/// What `demo init --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSetup {
    pub account: String,
    pub api: KeyJson,
    pub widget: KeyJson,
    pub events: Vec<DemoEvent>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyJson {
    pub accesskey: String,
    pub secretkey: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoEvent {
    pub id: String,
    pub name: String,
}

impl From<&KeyPair> for KeyJson {
    fn from(pair: &KeyPair) -> Self {
        KeyJson {
            accesskey: pair.accesskey.clone(),
            secretkey: pair.secretkey.expose().to_owned(),
        }
    }
}

pub const DEMO_ACCOUNT: &str = "demo";

/// The demo catalog: the example catalog of the repository.
pub(crate) const DEMO_CATALOG: &str = include_str!("../../../examples/catalog.toml");

/// The demo catalog's images, as (file name, bytes), imported with it.
pub const DEMO_MEDIA: &[(&str, &[u8])] =
    &[("dance.svg", include_bytes!("../../../examples/dance.svg"))];

/// [`DEMO_MEDIA`] as the import takes them.
pub fn demo_images() -> Vec<crate::EventImage> {
    DEMO_MEDIA
        .iter()
        .map(|(name, bytes)| crate::EventImage {
            name: (*name).to_owned(),
            bytes: bytes.to_vec(),
        })
        .collect()
}

/// Idempotent: running it twice gives the same account and keys.
pub async fn demo_init(store: &ShopStore) -> Result<DemoSetup, Error> {
    let name = AccountName::parse(DEMO_ACCOUNT)
        .unwrap_or_else(|e| unreachable!("the demo account name is valid: {e}"));
    store.ensure_account(&name).await?;
    let catalog = crate::parse_catalog(DEMO_CATALOG)
        .unwrap_or_else(|e| unreachable!("the demo catalog is checked by a test: {e}"));
    let images = demo_images();
    store
        .import_catalog_with_images(&name, catalog, images)
        .await?;
    let events = store
        .events(&name)
        .await?
        .into_iter()
        .map(|e| DemoEvent {
            id: e.id.to_string(),
            name: e.name.text,
        })
        .collect();
    let api = store.first_or_create_key(&name, KeyKind::Api).await?;
    let widget = store.first_or_create_key(&name, KeyKind::Widget).await?;
    Ok(DemoSetup {
        account: name.to_string(),
        api: KeyJson::from(&api),
        widget: KeyJson::from(&widget),
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn demo_init_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShopStore::open(dir.path()).await.unwrap();
        let first = demo_init(&store).await.unwrap();
        let second = demo_init(&store).await.unwrap();
        assert_eq!(first.account, "demo");
        assert_eq!(first.api.accesskey, second.api.accesskey);
        assert_eq!(first.widget.secretkey, second.widget.secretkey);
        assert_ne!(first.api.accesskey, first.widget.accesskey);
        assert!(first.events.len() >= 3);
        assert_eq!(first.events.len(), second.events.len());
        assert!(first.events.iter().any(|e| e.name == "Dance performance 2"));
        let demo = AccountName::parse("demo").unwrap();
        assert_eq!(store.keys(&demo, KeyKind::Api).await.unwrap().len(), 1);
        assert_eq!(store.keys(&demo, KeyKind::Widget).await.unwrap().len(), 1);
    }
}
