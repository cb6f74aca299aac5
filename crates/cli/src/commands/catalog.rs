//! `catalog import` and `widget-url`.

use std::path::Path;

use anyhow::{Context, bail};
use shop::{KeyKind, ShopBackend};

use super::admin::open_shop;
use crate::cli::{CatalogCommand, WidgetUrlArgs};

pub(crate) async fn catalog(
    backend: &ShopBackend,
    data_dir: &Path,
    cmd: CatalogCommand,
) -> anyhow::Result<()> {
    match cmd {
        CatalogCommand::Import { file, account } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let catalog = shop::parse_catalog(&text)
                .with_context(|| format!("{} is not a valid catalog", file.display()))?;
            copy_images(&file, &catalog, &account, data_dir)?;
            let shop = open_shop(backend).await?;
            let report = shop.import_catalog(&account, catalog).await?;
            println!(
                "imported {} events, {} ticket types, {} prices, {} products into {account}",
                report.events, report.tickettypes, report.prices, report.products
            );
        }
    }
    Ok(())
}

/// Copies the catalog's event images from the catalog file's folder into the account's
/// media folder, before anything is imported: a missing image stops the import.
fn copy_images(
    file: &Path,
    catalog: &shop::Catalog,
    account: &protocol::AccountName,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let from = file.parent().unwrap_or_else(|| Path::new("."));
    let to = super::admin::media_dir(data_dir).join(account.as_str());
    for event in &catalog.events {
        let Some(image) = &event.image else { continue };
        let source = from.join(image);
        if !source.is_file() {
            bail!(
                "{}: event {} names image {image:?}, which is not a file in {}",
                file.display(),
                event.id,
                from.display()
            );
        }
        std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
        std::fs::copy(&source, to.join(image))
            .with_context(|| format!("copying {} into {}", source.display(), to.display()))?;
    }
    Ok(())
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
