//! A page as read, and parsing it: one pass over the body checks it is a page, reads
//! each item's fields and finds where each item lies, so items are ranges of the page's
//! text, not copies.

use std::sync::Arc;

use protocol::ItemId;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::ReceivedItem;
use crate::client::ClientError;
use crate::fields::Fields;
use crate::item::span_in;

/// A page as read, with its items' bytes kept.
#[derive(Debug, Clone)]
pub struct Page {
    pub results: Vec<ReceivedItem>,
    pub nextid: ItemId,
    pub moreresults: bool,
    /// Our server's `oldestid`: `None` when the stream is empty or the server is the
    /// original API.
    pub oldestid: Option<ItemId>,
    /// Our server's `gap`: items at or after the requested position were deleted before
    /// this reader saw them.
    pub gap: bool,
    /// Whether the page carried our server's extensions (`oldestid`), which tells that
    /// `wait` and `limit` are honoured.
    pub extended: bool,
}

/// The page as sent, with its items as `T`; `oldestid` is `Some(None)` when present but
/// `null`.
#[derive(Deserialize)]
struct WirePage<T> {
    results: Option<Vec<T>>,
    nextid: ItemId,
    #[serde(default)]
    moreresults: bool,
    #[serde(default, deserialize_with = "present")]
    oldestid: Option<Option<ItemId>>,
    #[serde(default)]
    gap: bool,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<ItemId>>, D::Error> {
    Option::<ItemId>::deserialize(d).map(Some)
}

impl<T> WirePage<T> {
    fn page_with(&self, results: Vec<ReceivedItem>) -> Page {
        Page {
            results,
            nextid: self.nextid,
            moreresults: self.moreresults,
            oldestid: self.oldestid.flatten(),
            gap: self.gap,
            extended: self.oldestid.is_some(),
        }
    }
}

/// Parses a page body, keeping each item's bytes. The items share the body: given a
/// `Vec<u8>`, it is not copied.
pub fn parse_page(body: impl Into<Vec<u8>>) -> Result<Page, ClientError> {
    let text = String::from_utf8(body.into())
        .map_err(|e| ClientError::Malformed(format!("not UTF-8: {e}")))?;
    let text = Arc::new(text);
    let malformed = |e: serde_json::Error| ClientError::Malformed(e.to_string());
    let mut wire: WirePage<Fields<'_>> = serde_json::from_str(&text).map_err(malformed)?;
    let mut results = Vec::new();
    for fields in wire.results.take().into_iter().flatten() {
        match ReceivedItem::locate(&text, fields) {
            Some(item) => results.push(item),
            // An item whose first key has escapes: cut out every item the slow way.
            None => return parse_page_by_items(&text),
        }
    }
    Ok(wire.page_with(results))
}

/// Parses the page, then each item on its own: two passes over the items.
fn parse_page_by_items(text: &Arc<String>) -> Result<Page, ClientError> {
    let wire: WirePage<&RawValue> =
        serde_json::from_str(text).map_err(|e| ClientError::Malformed(e.to_string()))?;
    let results = wire
        .results
        .iter()
        .flatten()
        .map(|raw| ReceivedItem::parse_within(text, span_in(text, raw.get())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClientError::Malformed(format!("an item: {e}")))?;
    Ok(wire.page_with(results))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ITEM: &str = r#"{"id":"1661358385340-0","ts":"2022-09-13T11:46:25","type":"webshop:checkout_start","data":{"order":{"id":"398"},  "ref":"u1"}}"#;

    #[test]
    fn keeps_item_bytes_and_reads_our_extensions() {
        let body = format!(
            r#"{{"results":[{ITEM}],"nextid":"1661358385340-1","moreresults":true,"oldestid":"1661358385340-0","gap":false}}"#
        );
        let page = parse_page(body.as_bytes()).unwrap();
        assert_eq!(page.results.len(), 1);
        assert_eq!(page.results[0].raw(), ITEM);
        assert_eq!(page.results[0].id(), ItemId::new(1661358385340, 0));
        assert_eq!(page.nextid, ItemId::new(1661358385340, 1));
        assert!(page.moreresults && page.extended && !page.gap);
        assert_eq!(page.oldestid, Some(ItemId::new(1661358385340, 0)));
    }

    #[test]
    fn reads_the_original_apis_empty_page() {
        let page =
            parse_page(br#"{"results":null,"nextid":"1661358385340-1","moreresults":false}"#)
                .unwrap();
        assert!(page.results.is_empty());
        assert!(!page.extended && !page.gap);
        let ours = parse_page(
            br#"{"results":[],"nextid":"0","moreresults":false,"oldestid":null,"gap":false}"#,
        )
        .unwrap();
        assert!(ours.extended);
        assert_eq!(ours.oldestid, None);
    }

    #[test]
    fn finds_each_item_however_the_page_is_spaced() {
        let items = [
            ITEM,
            r#"{ "id" : "1661358385340-1" , "ts":"2022-09-13T11:46:25+0000","type":"webshop:pageview","data":[] , "more":{"a":"}"} }"#,
            r#"{"id":"1661358385341-0","data":"{\"x\":1}","type":"webshop:pageview","ts":"2022-09-13T11:46:26"}"#,
        ];
        let body = format!(
            "{{ \"results\" : [\n  {} \n] , \"nextid\":\"1661358385341-1\"}}",
            items.join(" ,\n  ")
        );
        let page = parse_page(body).unwrap();
        let raws: Vec<&str> = page.results.iter().map(ReceivedItem::raw).collect();
        assert_eq!(raws, items);
        assert_eq!(page.results[1].data(), "[]");
        assert_eq!(page.results[2].data(), r#""{\"x\":1}""#);
    }

    #[test]
    fn an_escaped_first_key_is_found_the_slow_way() {
        let escaped =
            r#"{"\u0069d":"1661358385340-1","ts":"2022-09-13T11:46:25","type":"t","data":{}}"#;
        let body = format!(r#"{{"results":[{ITEM},{escaped}],"nextid":"1661358385340-2"}}"#);
        let page = parse_page(body).unwrap();
        let raws: Vec<&str> = page.results.iter().map(ReceivedItem::raw).collect();
        assert_eq!(raws, [ITEM, escaped]);
        assert_eq!(page.results[1].id(), ItemId::new(1661358385340, 1));
    }

    #[test]
    fn what_is_not_a_page_is_malformed() {
        for bad in [
            &b"{\"results\":[1],\"nextid\":\"0\"}"[..],
            b"{\"results\":[],\"nextid\":\"x\"}",
            b"{\"results\":[]}",
            b"<html>",
            b"{\"results\":[],\"nextid\":\"0\"}\xff",
        ] {
            assert!(
                matches!(parse_page(bad), Err(ClientError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
