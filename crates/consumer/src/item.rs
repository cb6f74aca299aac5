//! Items as received: the exact JSON the server sent, with its head parsed.
//!
//! The items of a page share the page's text: a page of 10,000 items is one allocation,
//! not 20,000, and an item's bytes are never copied between the socket and a sink.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use protocol::{ActionType, ItemId, Timestamp};
use serde_json::value::RawValue;

use crate::fields::Fields;

/// One eventstream item: byte for byte what the server served (an NDJSON sink writes it
/// unchanged), with its `id`, `ts` and `type` parsed and its `data` located.
#[derive(Clone)]
pub struct ReceivedItem {
    /// The text this item is a part of: its page (as read from the socket, not copied
    /// again, hence a `String`), or the item alone.
    text: Arc<String>,
    raw: Range<usize>,
    data: Range<usize>,
    id: ItemId,
    ts: Timestamp,
    kind: ActionType,
}

impl ReceivedItem {
    /// Parses one served item, keeping its bytes.
    pub fn from_raw(raw: Box<RawValue>) -> Result<Self, serde_json::Error> {
        let text = Arc::new(String::from(Box::<str>::from(raw)));
        let whole = 0..text.len();
        ReceivedItem::parse_within(&text, whole)
    }

    /// Parses the item at `raw` in `text` (a page), which must be one JSON value.
    pub(crate) fn parse_within(
        text: &Arc<String>,
        raw: Range<usize>,
    ) -> Result<Self, serde_json::Error> {
        let fields: Fields<'_> = serde_json::from_str(&text[raw.clone()])?;
        Ok(ReceivedItem::of(text, raw, fields))
    }

    /// The item whose fields were read from `text` (a page, in the pass that checked it
    /// is JSON): it lies from the brace before its first key to the brace after its
    /// last value. `None` when its first key has escapes, and so cannot tell where it
    /// is.
    pub(crate) fn locate(text: &Arc<String>, fields: Fields<'_>) -> Option<Self> {
        let key = span_in(text, fields.first_key?);
        // The key's opening quote, then whitespace, then the brace.
        let before = text[..key.start.checked_sub(1)?].trim_end_matches(is_json_space);
        let start = before.len().checked_sub(1)?;
        let value = span_in(text, fields.last_value);
        let after = text[value.end..].trim_start_matches(is_json_space);
        let end = text.len() - after.len() + 1;
        let braces = (text.as_bytes()[start], after.as_bytes().first().copied());
        (braces == (b'{', Some(b'}'))).then(|| ReceivedItem::of(text, start..end, fields))
    }

    fn of(text: &Arc<String>, raw: Range<usize>, fields: Fields<'_>) -> Self {
        ReceivedItem {
            data: span_in(text, fields.data),
            text: Arc::clone(text),
            raw,
            id: fields.id,
            ts: fields.ts,
            kind: fields.kind,
        }
    }

    /// The item's JSON, exactly as served.
    pub fn raw(&self) -> &str {
        &self.text[self.raw.clone()]
    }

    pub fn id(&self) -> ItemId {
        self.id
    }

    pub fn ts(&self) -> Timestamp {
        self.ts
    }

    /// The item's `type`.
    pub fn kind(&self) -> &ActionType {
        &self.kind
    }

    /// The JSON text of the item's `data`, as served.
    pub fn data(&self) -> &str {
        &self.text[self.data.clone()]
    }
}

impl fmt::Debug for ReceivedItem {
    /// The item, not the whole page it shares.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedItem")
            .field("id", &self.id)
            .field("ts", &self.ts)
            .field("kind", &self.kind)
            .field("raw", &self.raw())
            .finish()
    }
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Where `part`, a slice of `whole`, lies in it.
pub(crate) fn span_in(whole: &str, part: &str) -> Range<usize> {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    debug_assert!(
        start
            .checked_add(part.len())
            .is_some_and(|end| end <= whole.len())
    );
    start..start + part.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_item_of_a_page_keeps_its_bytes_and_locates_its_data() {
        let item = r#"{"id":"5-1", "ts":"2022-09-13T11:46:25","type":"webshop:pageview","data": {"ref":"x"} ,"extra":1}"#;
        let page = Arc::new(format!("[{item},0]"));
        let received = ReceivedItem::parse_within(&page, 1..1 + item.len()).unwrap();
        assert_eq!(received.raw(), item);
        assert_eq!(received.data(), r#"{"ref":"x"}"#);
        assert_eq!(received.id(), ItemId::new(5, 1));
        assert_eq!(received.kind(), &ActionType::PageView);
        assert_eq!(received.ts(), "2022-09-13T11:46:25".parse().unwrap());
        assert!(!format!("{received:?}").contains(",0]"));
    }

    #[test]
    fn an_item_without_a_required_field_is_refused() {
        let raw =
            RawValue::from_string(r#"{"id":"5-1","ts":"2022-09-13T11:46:25","type":"t"}"#.into());
        assert!(ReceivedItem::from_raw(raw.unwrap()).is_err());
    }
}
