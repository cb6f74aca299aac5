//! The catalog file format (TOML) and its checks. Every error names the line and column
//! of the value at fault, so a broken file is fixed in one look.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use protocol::{Money, NumId};
use serde::Deserialize;
use toml::Spanned;

use super::image::{IMAGE_EXTENSIONS, image_type};
use super::model::*;
use super::time::{EventTime, Zone, parse_instant};

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
    organiser: Option<Spanned<String>>,
    terms_url: Option<Spanned<String>>,
    privacy_url: Option<Spanned<String>>,
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
    name_nl: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEvent {
    id: Spanned<u64>,
    name: Spanned<String>,
    name_nl: Option<Spanned<String>>,
    /// Replaced by `start`; read only to say so.
    date: Option<Spanned<String>>,
    start: Spanned<String>,
    end: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    venue: FileVenue,
    description: Option<Spanned<String>>,
    description_nl: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    capacity: u32,
    #[serde(default)]
    tickettypes: Vec<FileTicketType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVenue {
    name: Spanned<String>,
    address: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTicketType {
    id: Spanned<u64>,
    name: Spanned<String>,
    name_nl: Option<Spanned<String>>,
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
    name_nl: Option<Spanned<String>>,
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

    /// A name with its optional Dutch translation (`name_nl`).
    fn text(
        &self,
        name: &Spanned<String>,
        nl: Option<&Spanned<String>>,
    ) -> Result<Text, CatalogError> {
        Ok(Text {
            text: self.name(name)?,
            nl: nl.map(|nl| self.name(nl)).transpose()?,
        })
    }

    /// An optional text; absent or blank is empty.
    fn optional_text(
        &self,
        text: Option<&Spanned<String>>,
        nl: Option<&Spanned<String>>,
    ) -> Result<Text, CatalogError> {
        let text = text.map_or("", |t| t.get_ref().trim()).to_owned();
        if text.is_empty()
            && let Some(nl) = nl
        {
            return Err(self.error(nl.span(), "a translation of a text that is not there"));
        }
        Ok(Text {
            text,
            nl: nl.map(|nl| self.name(nl)).transpose()?,
        })
    }

    fn url(&self, value: Option<&Spanned<String>>) -> Result<Option<String>, CatalogError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let url = value.get_ref().trim();
        let scheme = url.starts_with("https://") || url.starts_with("http://");
        if !scheme || url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(self.error(
                value.span(),
                format!(
                    "{url:?} is not a web address: write it like \"https://example.org/terms\""
                ),
            ));
        }
        Ok(Some(url.to_owned()))
    }

    fn time(&self, event: &FileEvent) -> Result<EventTime, CatalogError> {
        if let Some(date) = &event.date {
            return Err(self.error(
                date.span(),
                "date is no longer read: give start as a date-time with its offset, \
                 like start = \"2026-12-12T20:00:00+01:00\"",
            ));
        }
        let zone = event
            .timezone
            .as_ref()
            .map(|tz| Zone::parse(tz.get_ref().trim()).map_err(|e| self.error(tz.span(), e)))
            .transpose()?;
        let (start, zone) = parse_instant(event.start.get_ref(), zone.as_ref())
            .map_err(|e| self.error(event.start.span(), e))?;
        let end = match &event.end {
            None => None,
            Some(end) => {
                let (instant, _) = parse_instant(end.get_ref(), Some(&zone))
                    .or_else(|_| parse_instant(end.get_ref(), None))
                    .map_err(|e| self.error(end.span(), e))?;
                if instant <= start {
                    return Err(self.error(end.span(), "end must be after start"));
                }
                Some(instant)
            }
        };
        Ok(EventTime { start, end, zone })
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
        make: impl Fn(NumId, Text) -> T,
    ) -> Result<Vec<T>, CatalogError> {
        entries
            .iter()
            .map(|e| {
                Ok(make(
                    NumId(*e.id.get_ref()),
                    self.text(&e.name, e.name_nl.as_ref())?,
                ))
            })
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
                name: src.text(&tt.name, tt.name_nl.as_ref())?,
                prices,
            });
        }
        let image = event
            .image
            .as_ref()
            .map(|image| {
                let file = image.get_ref().trim();
                image_type(file).map(|_| file.to_owned()).ok_or_else(|| {
                    src.error(
                        image.span(),
                        format!(
                            "{file:?} is not an image file name: a name without folders, \
                             ending in {}",
                            IMAGE_EXTENSIONS.join(", ")
                        ),
                    )
                })
            })
            .transpose()?;
        events.push(CatalogEvent {
            id: NumId(*event.id.get_ref()),
            name: src.text(&event.name, event.name_nl.as_ref())?,
            time: src.time(event)?,
            venue: Venue {
                name: src.name(&event.venue.name)?,
                address: src.name(&event.venue.address)?,
            },
            description: src
                .optional_text(event.description.as_ref(), event.description_nl.as_ref())?,
            image,
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
                name: src.text(&p.name, p.name_nl.as_ref())?,
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
        organiser: Organiser {
            name: file
                .organiser
                .as_ref()
                .map(|name| src.name(name))
                .transpose()?,
            terms_url: src.url(file.terms_url.as_ref())?,
            privacy_url: src.url(file.privacy_url.as_ref())?,
        },
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
        assert!(
            catalog
                .products
                .iter()
                .any(|p| p.name.text.contains("voucher"))
        );
        let dance = &catalog.events[0];
        assert_eq!(dance.name.in_lang("nl"), "Dansvoorstelling 2");
        assert_eq!(dance.name.in_lang("en"), "Dance performance 2");
        assert_eq!(dance.time.start.to_string(), "2026-12-12T19:00:00Z");
        assert_eq!(dance.time.zone.name(), "Europe/Brussels");
        assert_eq!(dance.image.as_deref(), Some("dance.svg"));
        assert!(!dance.venue.address.is_empty());
        assert!(catalog.organiser.terms_url.is_some());
        assert!(catalog.organiser.privacy_url.is_some());
        for event in &catalog.events {
            assert!(!event.tickettypes.is_empty(), "{}", event.name.text);
        }
    }

    fn error_of(text: &str) -> CatalogError {
        parse_catalog(text).unwrap_err()
    }

    const CHANNEL: &str = "[[saleschannels]]\nid = 1\nname = \"Web\"\n";
    /// The two lines every event needs besides its id, name and capacity.
    const WHEN: &str = "start = \"2026-12-12T20:00:00+01:00\"\nvenue = { name = \"Hall\", address = \"Street 1\" }\n";

    #[test]
    fn syntax_errors_name_the_line() {
        let e = error_of(&format!(
            "{CHANNEL}\n[[events]]\nid = 5\nname = \"x\"\ncapacity = ten\n"
        ));
        assert_eq!(e.line, 8, "{e}");
        let e = error_of(&format!(
            "{CHANNEL}[[events]]\nid = 5\nname = \"x\"\n{WHEN}"
        ));
        assert!(e.message.contains("capacity"), "{e}");
        let e = error_of(&format!(
            "{CHANNEL}[[events]]\nid = 5\nname = \"x\"\ncapacity = 1\n"
        ));
        assert!(e.message.contains("start"), "{e}");
        let e = error_of(&format!("{CHANNEL}colour = \"red\"\n"));
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn semantic_errors_name_the_line() {
        let text = format!(
            "{CHANNEL}[[pricetypes]]\nid = 7\nname = \"Normal\"\n\n[[events]]\nid = 5\nname = \"Show\"\n{WHEN}capacity = 10\n[[events.tickettypes]]\nid = 9\nname = \"Seat\"\n[[events.tickettypes.prices]]\nid = 11\npricetype = 8\nprice = \"10\"\n"
        );
        let e = error_of(&text);
        assert_eq!(e.line, 19, "{e}");
        assert!(e.message.contains("price type 8"), "{e}");

        let e = error_of(
            &text
                .replace("pricetype = 8", "pricetype = 7")
                .replace("\"10\"", "\"ten\""),
        );
        assert_eq!(e.line, 20, "{e}");
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
            "{CHANNEL}[[events]]\nid = 9223372036854775808\nname = \"x\"\n{WHEN}capacity = 1\n"
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

    #[test]
    fn event_details_are_checked_where_they_are_written() {
        let event = |lines: &str| {
            format!("{CHANNEL}[[events]]\nid = 5\nname = \"Show\"\n{lines}capacity = 1\n")
        };
        let venue = "venue = { name = \"Hall\", address = \"Street 1\" }\n";
        let cases = [
            (
                "date = \"Sat 12 Dec\"\nstart = \"2026-12-12T20:00:00+01:00\"\n",
                "no longer read",
            ),
            ("start = \"12 Dec 2026\"\n", "not a date-time"),
            ("start = \"2026-12-12T20:00\"\n", "no offset"),
            (
                "start = \"2026-12-12T20:00\"\ntimezone = \"Mars/Base\"\n",
                "time zone name",
            ),
            (
                "start = \"2026-12-12T20:00:00+01:00\"\nend = \"2026-12-12T19:00:00+01:00\"\n",
                "after start",
            ),
            (
                "start = \"2026-12-12T20:00:00+01:00\"\nimage = \"../x.png\"\n",
                "image file name",
            ),
            (
                "start = \"2026-12-12T20:00:00+01:00\"\nname_nl = \" \"\n",
                "empty",
            ),
            (
                "start = \"2026-12-12T20:00:00+01:00\"\ndescription_nl = \"Tekst\"\n",
                "not there",
            ),
        ];
        for (lines, message) in cases {
            let e = error_of(&event(&format!("{lines}{venue}")));
            let last = 6 + lines.matches('\n').count();
            assert!(e.line >= 7 && e.line <= last, "{lines}: {e}");
            assert!(e.message.contains(message), "{lines}: {e}");
        }
        let e = error_of(&event("start = \"2026-12-12T20:00:00+01:00\"\n"));
        assert!(e.message.contains("venue"), "{e}");

        let ok = parse_catalog(&event(&format!(
            "start = \"2026-12-12T20:00\"\nend = \"2026-12-12T22:00\"\ntimezone = \"Europe/Brussels\"\n{venue}"
        )))
        .unwrap();
        let time = &ok.events[0].time;
        assert_eq!(time.end.unwrap().to_string(), "2026-12-12T21:00:00Z");
        assert_eq!(
            time.local_start().datetime().to_string(),
            "2026-12-12T20:00:00"
        );

        for bad in ["terms_url = \"ftp://x\"", "privacy_url = \"https://a b\""] {
            let e = error_of(&format!("{bad}\n{CHANNEL}"));
            assert_eq!(e.line, 1, "{bad}: {e}");
            assert!(e.message.contains("web address"), "{e}");
        }
    }
}
