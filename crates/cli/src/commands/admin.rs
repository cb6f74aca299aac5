//! Accounts, keys and the demo setup. These commands print secrets on purpose (that is
//! what they are for) to stdout only; nothing here logs them.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use shop::{KeyJson, KeyKind, ShopBackend, ShopStore};

use crate::cli::{AccountCommand, DemoCommand, KeysCommand};

/// Opens the shop store; an error says where it was looked for (a PostgreSQL URL without
/// its password).
pub(crate) async fn open_shop(backend: &ShopBackend) -> anyhow::Result<ShopStore> {
    let opened = ShopStore::open(backend.clone()).await;
    match backend {
        ShopBackend::Sqlite { dir, .. } => {
            opened.with_context(|| format!("opening the shop store in {}", dir.display()))
        }
        // The error names the URL itself.
        ShopBackend::Postgres { .. } => Ok(opened?),
    }
}

pub(crate) async fn account(backend: &ShopBackend, cmd: AccountCommand) -> anyhow::Result<()> {
    let shop = open_shop(backend).await?;
    match cmd {
        AccountCommand::Create { name } => {
            shop.create_account(&name).await?;
            println!("created account {name}");
        }
    }
    Ok(())
}

pub(crate) async fn keys(backend: &ShopBackend, cmd: KeysCommand) -> anyhow::Result<()> {
    let shop = open_shop(backend).await?;
    match cmd {
        KeysCommand::Create {
            account,
            widget,
            json,
        } => {
            let kind = if widget {
                KeyKind::Widget
            } else {
                KeyKind::Api
            };
            let pair = shop.create_key(&account, kind).await?;
            if json {
                print_json(&KeyJson::from(&pair))?;
            } else {
                println!("accesskey: {}", pair.accesskey);
                println!("secretkey: {}", pair.secretkey.expose());
            }
        }
    }
    Ok(())
}

pub(crate) async fn demo(backend: &ShopBackend, cmd: DemoCommand) -> anyhow::Result<()> {
    let shop = open_shop(backend).await?;
    match cmd {
        DemoCommand::Init { json } => {
            let setup = shop::demo_init(&shop).await?;
            if json {
                print_json(&setup)?;
            } else {
                println!("account:          {}", setup.account);
                println!("API accesskey:    {}", setup.api.accesskey);
                println!("API secretkey:    {}", setup.api.secretkey);
                println!("widget accesskey: {}", setup.widget.accesskey);
                println!("widget secretkey: {}", setup.widget.secretkey);
                for event in &setup.events {
                    println!("event {}: {}", event.id, event.name);
                }
            }
        }
    }
    Ok(())
}

/// Where older versions kept the accounts' event images as files,
/// `<data-dir>/media/<account>/`: the server still serves an image from there when the
/// store has none of that name (until the catalog is imported again).
pub(crate) fn media_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("media")
}

/// One JSON object on one line of stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
