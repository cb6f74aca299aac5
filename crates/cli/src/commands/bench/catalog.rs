//! The bench catalog: the demo catalog with every event's capacity raised, so that no run,
//! however long, measures sold-out pages instead of purchases.

use anyhow::Context as _;

/// The demo catalog, as `demo init` imports it.
const DEMO_CATALOG: &str = include_str!("../../../../../examples/catalog.toml");

/// Seats per event in the bench catalog (the catalog's limit is a `u32`).
pub(crate) const BENCH_CAPACITY: i64 = 1_000_000_000;

/// The demo catalog as TOML text, every event's capacity set to [`BENCH_CAPACITY`].
pub(crate) fn bench_catalog() -> anyhow::Result<String> {
    raise_capacities(DEMO_CATALOG, BENCH_CAPACITY)
}

fn raise_capacities(text: &str, capacity: i64) -> anyhow::Result<String> {
    let mut catalog: toml::Table = text.parse().context("the demo catalog is not TOML")?;
    let events = catalog
        .get_mut("events")
        .and_then(toml::Value::as_array_mut)
        .context("the demo catalog has no [[events]]")?;
    for event in events {
        let event = event
            .as_table_mut()
            .context("an [[events]] entry is not a table")?;
        event.insert("capacity".to_owned(), toml::Value::Integer(capacity));
    }
    toml::to_string(&catalog).context("writing the bench catalog")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_event_gets_the_bench_capacity_and_nothing_else_changes() {
        let text = bench_catalog().unwrap();
        let raised: toml::Table = text.parse().unwrap();
        let demo: toml::Table = DEMO_CATALOG.parse().unwrap();
        let events = raised["events"].as_array().unwrap();
        assert_eq!(events.len(), demo["events"].as_array().unwrap().len());
        for (event, original) in events.iter().zip(demo["events"].as_array().unwrap()) {
            assert_eq!(event["capacity"].as_integer(), Some(BENCH_CAPACITY));
            assert_eq!(event["id"], original["id"]);
            assert_eq!(event["tickettypes"], original["tickettypes"]);
        }
        assert_eq!(raised["products"], demo["products"]);
        // And the shop accepts it.
        shop::parse_catalog(&text).unwrap();
    }

    #[test]
    fn a_catalog_without_events_is_refused() {
        assert!(raise_capacities("default_saleschannel = 1\n", 10).is_err());
    }
}
