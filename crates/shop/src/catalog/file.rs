//! The catalog file format (TOML) and its checks. Every error names the line and column
//! of the value at fault, so a broken file is fixed in one look.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use protocol::{Money, NumId};
use serde::Deserialize;
use toml::Spanned;

use super::model::*;

/// A problem in a catalog file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CatalogError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCatalog {
    default_saleschannel: Option<Spanned<u64>>,
    #[serde(default)]
    return_hosts: Vec<Spanned<String>>,
    #[serde(default)]
    saleschannels: Vec<FileNamed>,
    #[serde(default)]
    pricetypes: Vec<FileNamed>,
    #[serde(default)]
    events: Vec<FileEvent>,
    #[serde(default)]
    products: Vec<FileProduct>,
    #[serde(default)]
    deliveryscenarios: Vec<FileNamed>,
    #[serde(default)]
    paymentscenarios: Vec<FileNamed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNamed {
    id: Spanned<u64>,
    name: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEvent {
    id: Spanned<u64>,
    name: Spanned<String>,
    #[serde(default)]
    date: String,
    capacity: u32,
    #[serde(default)]
    tickettypes: Vec<FileTicketType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTicketType {
    id: Spanned<u64>,
    name: Spanned<String>,
    #[serde(default)]
    prices: Vec<FilePrice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePrice {
    id: Spanned<u64>,
    pricetype: Spanned<u64>,
    price: Spanned<String>,
    servicecharge: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProduct {
    id: Spanned<u64>,
    name: Spanned<String>,
    producttype: u64,
    price: Spanned<String>,
}

/// Ids are stored as signed 64-bit integers.
const MAX_ID: u64 = i64::MAX.unsigned_abs();

/// A host name as it appears in a URL: lowercase letters, digits, `-` and `.`, with an
/// optional `:port`.
fn valid_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

/// Turns byte offsets into line and column for error messages.
struct Source<'a>(&'a str);

impl Source<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> CatalogError {
        let before = &self.0[..span.start.min(self.0.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        CatalogError {
            line,
            column,
            message: message.into(),
        }
    }

    fn unique<'v>(
        &self,
        kind: &str,
        ids: impl IntoIterator<Item = &'v Spanned<u64>>,
    ) -> Result<HashSet<u64>, CatalogError> {
        let mut seen = HashSet::new();
        for id in ids {
            if *id.get_ref() > MAX_ID {
                return Err(self.error(
                    id.span(),
                    format!("{kind} id {} is too large: at most {MAX_ID}", id.get_ref()),
                ));
            }
            if !seen.insert(*id.get_ref()) {
                return Err(self.error(id.span(), format!("duplicate {kind} id {}", id.get_ref())));
            }
        }
        Ok(seen)
    }

    fn name(&self, name: &Spanned<String>) -> Result<String, CatalogError> {
        let trimmed = name.get_ref().trim();
        if trimmed.is_empty() {
            return Err(self.error(name.span(), "name must not be empty"));
        }
        Ok(trimmed.to_owned())
    }

    fn money(&self, value: &Spanned<String>) -> Result<Money, CatalogError> {
        let money: Money = value.get_ref().parse().map_err(|_| {
            self.error(
                value.span(),
                format!(
                    "{:?} is not an amount: write it as a decimal string like \"12.50\"",
                    value.get_ref()
                ),
            )
        })?;
        if money < Money::ZERO {
            return Err(self.error(value.span(), "amounts must not be negative"));
        }
        Ok(money)
    }

    fn named<T>(
        &self,
        entries: &[FileNamed],
        make: impl Fn(NumId, String) -> T,
    ) -> Result<Vec<T>, CatalogError> {
        entries
            .iter()
            .map(|e| Ok(make(NumId(*e.id.get_ref()), self.name(&e.name)?)))
            .collect()
    }
}

/// Parses and checks a catalog file.
pub fn parse_catalog(text: &str) -> Result<Catalog, CatalogError> {
    let src = Source(text);
    let file: FileCatalog = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        src.error(span, e.message().to_owned())
    })?;

    let channels = src.unique("sales channel", file.saleschannels.iter().map(|c| &c.id))?;
    let pricetypes = src.unique("price type", file.pricetypes.iter().map(|p| &p.id))?;
    src.unique("event", file.events.iter().map(|e| &e.id))?;
    src.unique(
        "ticket type",
        file.events
            .iter()
            .flat_map(|e| e.tickettypes.iter().map(|t| &t.id)),
    )?;
    src.unique(
        "ticket type price",
        file.events.iter().flat_map(|e| {
            e.tickettypes
                .iter()
                .flat_map(|t| t.prices.iter().map(|p| &p.id))
        }),
    )?;
    src.unique("product", file.products.iter().map(|p| &p.id))?;
    src.unique(
        "delivery scenario",
        file.deliveryscenarios.iter().map(|d| &d.id),
    )?;
    src.unique(
        "payment scenario",
        file.paymentscenarios.iter().map(|p| &p.id),
    )?;

    let Some(first_channel) = file.saleschannels.first() else {
        return Err(src.error(
            0..0,
            "the catalog needs at least one [[saleschannels]] entry",
        ));
    };
    let default_saleschannel = match &file.default_saleschannel {
        Some(id) if !channels.contains(id.get_ref()) => {
            return Err(src.error(
                id.span(),
                format!(
                    "default_saleschannel {} is not one of the [[saleschannels]]",
                    id.get_ref()
                ),
            ));
        }
        Some(id) => NumId(*id.get_ref()),
        None => NumId(*first_channel.id.get_ref()),
    };

    let mut return_hosts = Vec::with_capacity(file.return_hosts.len());
    for host in &file.return_hosts {
        let value = host.get_ref().trim();
        if !valid_host(value) {
            return Err(src.error(
                host.span(),
                format!(
                    "{value:?} is not a host name: write it like \"shop.example\" (lowercase, no scheme or path)"
                ),
            ));
        }
        return_hosts.push(value.to_owned());
    }

    let mut events = Vec::with_capacity(file.events.len());
    for event in &file.events {
        let mut tickettypes = Vec::with_capacity(event.tickettypes.len());
        for tt in &event.tickettypes {
            let mut prices = Vec::with_capacity(tt.prices.len());
            let mut used_pricetypes = HashSet::new();
            for price in &tt.prices {
                let pt = *price.pricetype.get_ref();
                if !pricetypes.contains(&pt) {
                    return Err(src.error(
                        price.pricetype.span(),
                        format!("price type {pt} is not one of the [[pricetypes]]"),
                    ));
                }
                if !used_pricetypes.insert(pt) {
                    return Err(src.error(
                        price.pricetype.span(),
                        format!(
                            "ticket type {} has two prices for price type {pt}",
                            tt.id.get_ref()
                        ),
                    ));
                }
                prices.push(TicketTypePrice {
                    id: NumId(*price.id.get_ref()),
                    pricetype: NumId(pt),
                    price: src.money(&price.price)?,
                    servicecharge: match &price.servicecharge {
                        Some(s) => src.money(s)?,
                        None => Money::ZERO,
                    },
                });
            }
            tickettypes.push(TicketType {
                id: NumId(*tt.id.get_ref()),
                name: src.name(&tt.name)?,
                prices,
            });
        }
        events.push(CatalogEvent {
            id: NumId(*event.id.get_ref()),
            name: src.name(&event.name)?,
            date: event.date.trim().to_owned(),
            capacity: event.capacity,
            tickettypes,
        });
    }

    let products = file
        .products
        .iter()
        .map(|p| {
            if p.producttype > MAX_ID {
                return Err(src.error(
                    p.id.span(),
                    format!(
                        "producttype {} is too large: at most {MAX_ID}",
                        p.producttype
                    ),
                ));
            }
            Ok(Product {
                id: NumId(*p.id.get_ref()),
                name: src.name(&p.name)?,
                producttype: NumId(p.producttype),
                price: src.money(&p.price)?,
            })
        })
        .collect::<Result<_, CatalogError>>()?;

    Ok(Catalog {
        default_saleschannel,
        saleschannels: src.named(&file.saleschannels, |id, name| SalesChannel { id, name })?,
        pricetypes: src.named(&file.pricetypes, |id, name| PriceType { id, name })?,
        events,
        products,
        deliveryscenarios: src.named(&file.deliveryscenarios, |id, name| DeliveryScenario {
            id,
            name,
        })?,
        paymentscenarios: src.named(&file.paymentscenarios, |id, name| PaymentScenario {
            id,
            name,
        })?,
        return_hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../../examples/catalog.toml");

    #[test]
    fn the_example_catalog_parses() {
        let catalog = parse_catalog(EXAMPLE).unwrap();
        assert!(catalog.events.len() >= 3);
        assert!(catalog.events.iter().any(|e| e.capacity <= 10));
        assert_eq!(catalog.pricetypes.len(), 2);
        assert_eq!(catalog.deliveryscenarios.len(), 2);
        assert_eq!(catalog.paymentscenarios.len(), 2);
        assert!(catalog.products.iter().any(|p| p.name.contains("voucher")));
        for event in &catalog.events {
            assert!(!event.tickettypes.is_empty(), "{}", event.name);
        }
    }

    fn error_of(text: &str) -> CatalogError {
        parse_catalog(text).unwrap_err()
    }

    const CHANNEL: &str = "[[saleschannels]]\nid = 1\nname = \"Web\"\n";

    #[test]
    fn syntax_errors_name_the_line() {
        let e = error_of(&format!(
            "{CHANNEL}\n[[events]]\nid = 5\nname = \"x\"\ncapacity = ten\n"
        ));
        assert_eq!(e.line, 8, "{e}");
        let e = error_of(&format!("{CHANNEL}[[events]]\nid = 5\nname = \"x\"\n"));
        assert!(e.message.contains("capacity"), "{e}");
        let e = error_of(&format!("{CHANNEL}colour = \"red\"\n"));
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn semantic_errors_name_the_line() {
        let text = format!(
            "{CHANNEL}[[pricetypes]]\nid = 7\nname = \"Normal\"\n\n[[events]]\nid = 5\nname = \"Show\"\ncapacity = 10\n[[events.tickettypes]]\nid = 9\nname = \"Seat\"\n[[events.tickettypes.prices]]\nid = 11\npricetype = 8\nprice = \"10\"\n"
        );
        let e = error_of(&text);
        assert_eq!(e.line, 17, "{e}");
        assert!(e.message.contains("price type 8"), "{e}");

        let e = error_of(
            &text
                .replace("pricetype = 8", "pricetype = 7")
                .replace("\"10\"", "\"ten\""),
        );
        assert_eq!(e.line, 18, "{e}");
        assert!(e.message.contains("not an amount"), "{e}");

        let e = error_of(&format!(
            "{CHANNEL}[[saleschannels]]\nid = 1\nname = \"Box office\"\n"
        ));
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("duplicate sales channel id 1"), "{e}");

        let e = error_of("default_saleschannel = 3\n[[saleschannels]]\nid = 1\nname = \"Web\"\n");
        assert_eq!(e.line, 1, "{e}");

        let e = error_of("[[pricetypes]]\nid = 1\nname = \"Normal\"\n");
        assert!(e.message.contains("saleschannels"), "{e}");

        let e = error_of(&format!(
            "{CHANNEL}[[products]]\nid = 1\nname = \"  \"\nproducttype = 2\nprice = \"5\"\n"
        ));
        assert_eq!(e.line, 6, "{e}");

        let e = error_of(&format!(
            "{CHANNEL}[[events]]\nid = 9223372036854775808\nname = \"x\"\ncapacity = 1\n"
        ));
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("too large"), "{e}");

        for bad in [
            "https://shop.example",
            "Shop.Example",
            "shop.example/x",
            "",
            "a..b",
        ] {
            let e = error_of(&format!("return_hosts = [{bad:?}]\n{CHANNEL}"));
            assert_eq!(e.line, 1, "{bad}: {e}");
        }
        let ok = parse_catalog(&format!(
            "return_hosts = [\"shop.example\", \"localhost:8080\"]\n{CHANNEL}"
        ))
        .unwrap();
        assert_eq!(ok.return_hosts, ["shop.example", "localhost:8080"]);
    }
}
