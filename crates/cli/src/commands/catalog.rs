//! `catalog import` and `widget-url`.

use std::path::Path;

use anyhow::{Context, bail};
use shop::{KeyKind, ShopBackend};

use super::admin::open_shop;
use crate::cli::{CatalogCommand, WidgetUrlArgs};

pub(crate) async fn catalog(backend: &ShopBackend, cmd: CatalogCommand) -> anyhow::Result<()> {
    match cmd {
        CatalogCommand::Import { file, account } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let catalog = shop::parse_catalog(&text)
                .with_context(|| format!("{} is not a valid catalog", file.display()))?;
            let images = read_images(&file, &catalog)?;
            let shop = open_shop(backend).await?;
            let report = shop
                .import_catalog_with_images(&account, catalog, images)
                .await?;
            println!(
                "imported {} events, {} ticket types, {} prices, {} products into {account}",
                report.events, report.tickettypes, report.prices, report.products
            );
        }
    }
    Ok(())
}

/// Reads the catalog's event images from the catalog file's folder, before anything is
/// imported: a missing or oversized image stops the import. They go into the shop store
/// with the catalog, so every process that shares the store serves them.
fn read_images(file: &Path, catalog: &shop::Catalog) -> anyhow::Result<Vec<shop::EventImage>> {
    let from = file.parent().unwrap_or_else(|| Path::new("."));
    let mut images: Vec<shop::EventImage> = Vec::new();
    for event in &catalog.events {
        let Some(image) = &event.image else { continue };
        if images.iter().any(|i| &i.name == image) {
            continue;
        }
        let source = from.join(image);
        let size = std::fs::metadata(&source)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let Some(size) = size else {
            bail!(
                "{}: event {} names image {image:?}, which is not a file in {}",
                file.display(),
                event.id,
                from.display()
            );
        };
        if size > shop::MAX_IMAGE_BYTES as u64 {
            bail!(
                "{}: image {image:?} of event {} is {size} bytes; at most {} MiB are taken",
                file.display(),
                event.id,
                shop::MAX_IMAGE_BYTES / (1024 * 1024)
            );
        }
        let bytes =
            std::fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
        images.push(shop::EventImage {
            name: image.clone(),
            bytes,
        });
    }
    Ok(images)
}

pub(crate) async fn widget_url(backend: &ShopBackend, args: WidgetUrlArgs) -> anyhow::Result<()> {
    let shop = open_shop(backend).await?;
    let keys = shop.keys(&args.account, KeyKind::Widget).await?;
    let key = match &args.accesskey {
        Some(ak) => keys.into_iter().find(|k| &k.accesskey == ak),
        None => keys.into_iter().next(),
    };
    let Some(key) = key else {
        bail!(
            "account {} has no such widget key: create one with `ticketstream keys create --account {} --widget`",
            args.account,
            args.account
        );
    };
    let url = protocol::widget_url(
        &args.url,
        args.account.as_str(),
        &args.widget,
        &args.params,
        &key.accesskey,
        key.secretkey.expose(),
        args.reference.as_deref(),
    );
    println!("{url}");
    Ok(())
}
