//! Items as received: the exact JSON the server sent, with its head parsed.

use protocol::Item;
use serde_json::value::RawValue;

/// One eventstream item. `raw` is byte for byte what the server served (an NDJSON sink
/// writes it unchanged); `item` is the same, parsed.
#[derive(Debug, Clone)]
pub struct ReceivedItem {
    pub raw: Box<RawValue>,
    pub item: Item,
}

impl ReceivedItem {
    /// Parses one served item, keeping its bytes.
    pub fn from_raw(raw: Box<RawValue>) -> Result<Self, serde_json::Error> {
        let item = serde_json::from_str(raw.get())?;
        Ok(ReceivedItem { raw, item })
    }
}
