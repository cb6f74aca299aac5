//! Eventstream items: an action with its `id`, `ts` and `type` (spec section 3).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{ActionType, ItemId, Timestamp};

/// An item as served. `data` stays raw JSON: readers pick what they need, and unknown
/// types pass through untouched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    pub ts: Timestamp,
    #[serde(rename = "type")]
    pub kind: ActionType,
    pub data: Box<RawValue>,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.ts == other.ts
            && self.kind == other.kind
            && self.data.get() == other.data.get()
    }
}

/// The JSON text of an item, composed from its parts. The log calls this once, when the
/// item is appended and its id is known; pages then splice these bytes without parsing
/// them again. `data` must already be valid JSON.
pub fn item_json(id: ItemId, ts: Timestamp, kind: &str, data: &str) -> String {
    use std::fmt::Write;
    // The id, `ts` and the punctuation take under 80 bytes: one allocation.
    let mut out = String::with_capacity(80 + kind.len() + data.len());
    // Writing to a String cannot fail.
    let _ = write!(out, r#"{{"id":"{id}","ts":"{ts}","type":"#);
    if kind
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        // Type names are plain ASCII: nothing to escape.
        out.push('"');
        out.push_str(kind);
        out.push('"');
    } else {
        let quoted = serde_json::to_string(kind)
            .unwrap_or_else(|e| unreachable!("a string always serializes: {e}"));
        out.push_str(&quoted);
    }
    out.push_str(r#","data":"#);
    out.push_str(data);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_json_equals_serialized_item() {
        let id = ItemId::new(1661358385340, 0);
        let ts: Timestamp = "2022-09-13T11:46:25".parse().unwrap();
        let data = r#"{"page":"addtickets","ref":"a\"b"}"#;
        let text = item_json(id, ts, "webshop:pageview", data);
        assert_eq!(
            text,
            r#"{"id":"1661358385340-0","ts":"2022-09-13T11:46:25","type":"webshop:pageview","data":{"page":"addtickets","ref":"a\"b"}}"#
        );
        let item: Item = serde_json::from_str(&text).unwrap();
        assert_eq!(item.id, id);
        assert_eq!(item.kind, ActionType::PageView);
        assert_eq!(serde_json::to_string(&item).unwrap(), text);
    }

    #[test]
    fn a_type_that_needs_escapes_is_escaped() {
        let id = ItemId::new(1, 0);
        let ts = Timestamp::from_unix_ms(0);
        for kind in ["webshop:a\"b", "webshop:a\\b", "webshop:\u{1}", "webshop:é"] {
            let text = item_json(id, ts, kind, "{}");
            let item: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(item["type"], kind);
        }
    }

    #[test]
    fn reads_items_of_the_original_api() {
        let text = r#"{"id":"1661358385340-0","ts":"2022-09-13T11:46:25+0000","type":"webshop:something_new","data":{}}"#;
        let item: Item = serde_json::from_str(text).unwrap();
        assert_eq!(item.kind, ActionType::Other("webshop:something_new".into()));
        assert_eq!(item.ts.to_string(), "2022-09-13T11:46:25");
    }
}
