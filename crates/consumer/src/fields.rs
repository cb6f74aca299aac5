//! What every item must have (`id`, `ts`, `type` and `data`, other keys ignored, none
//! twice), read in the same pass that finds where the item lies in its page.
//!
//! Every value is taken as raw JSON borrowed from the text: `data`, most of an item's
//! bytes, is scanned once and never copied, and the text of the first key and of the
//! last value tell where the item's braces are (see `ReceivedItem::locate`), so a page
//! needs no second pass to cut out each item's bytes.

use std::fmt;
use std::str::FromStr;

use protocol::{ActionType, ItemId, Timestamp};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// An item's fields, borrowed from the text it was parsed from.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    pub(crate) id: ItemId,
    pub(crate) ts: Timestamp,
    pub(crate) kind: ActionType,
    /// The JSON text of `data`.
    pub(crate) data: &'a str,
    /// The first key, without its quotes; `None` when it has escapes, and so is not a
    /// part of the text.
    pub(crate) first_key: Option<&'a str>,
    /// The JSON text of the last value.
    pub(crate) last_value: &'a str,
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an eventstream item")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let (mut id, mut ts, mut kind, mut data) = (None, None, None, None);
        let mut first_key: Option<Option<&'de str>> = None;
        let mut last_value = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            first_key.get_or_insert(match key {
                Key::Borrowed(key) => Some(key),
                Key::Escaped(_) => None,
            });
            last_value = Some(value.get());
            match key.as_str() {
                "id" => set(&mut id, "id", parse_string::<ItemId, A::Error>(value)?)?,
                "ts" => set(&mut ts, "ts", parse_string::<Timestamp, A::Error>(value)?)?,
                "type" => set(&mut kind, "type", parse_string::<Kind, A::Error>(value)?.0)?,
                "data" => set(&mut data, "data", value.get())?,
                _ => {}
            }
        }
        Ok(Fields {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            ts: ts.ok_or_else(|| de::Error::missing_field("ts"))?,
            kind: kind.ok_or_else(|| de::Error::missing_field("type"))?,
            data: data.ok_or_else(|| de::Error::missing_field("data"))?,
            first_key: first_key.flatten(),
            last_value: last_value.unwrap_or_default(),
        })
    }
}

fn set<T, E: de::Error>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), E> {
    match slot.replace(value) {
        Some(_) => Err(E::duplicate_field(name)),
        None => Ok(()),
    }
}

/// A JSON string value as a `T`: read straight from the text when it has no escapes.
fn parse_string<T, E>(raw: &RawValue) -> Result<T, E>
where
    T: FromStr + for<'a> Deserialize<'a>,
    T::Err: fmt::Display,
    E: de::Error,
{
    let text = raw.get();
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => inner.parse().map_err(E::custom),
        _ => serde_json::from_str(text).map_err(E::custom),
    }
}

/// `type`, which takes any string.
struct Kind(ActionType);

impl FromStr for Kind {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Kind(ActionType::from(s)))
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ActionType::deserialize(deserializer).map(Kind)
    }
}

/// A key: borrowed from the text unless it has escapes.
enum Key<'a> {
    Borrowed(&'a str),
    Escaped(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Escaped(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(Key::Escaped(key.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn reads_the_fields_and_where_the_item_starts_and_ends() {
        let text = r#"{ "id":"5-1","ts":"2022-09-13T11:46:25","type":"webshop:pageview","data":{"ref":"x"},"extra":[1] }"#;
        let fields: Fields<'_> = serde_json::from_str(text).unwrap();
        assert_eq!(fields.id, ItemId::new(5, 1));
        assert_eq!(fields.kind, ActionType::PageView);
        assert_eq!(fields.data, r#"{"ref":"x"}"#);
        assert_eq!(fields.first_key, Some("id"));
        assert_eq!(fields.last_value, "[1]");
    }

    #[test]
    fn reads_escaped_values_and_keys() {
        let text = r#"{"\u0069d":"5-1","ts":"2022-09-13T11:46:25","type":"webshop:\u0070ageview","data":0}"#;
        let fields: Fields<'_> = serde_json::from_str(text).unwrap();
        assert_eq!(fields.id, ItemId::new(5, 1));
        assert_eq!(fields.kind, ActionType::PageView);
        assert_eq!(fields.first_key, None);
    }

    #[test]
    fn refuses_what_an_item_cannot_be() {
        for bad in [
            r#"{"id":"5-1","ts":"2022-09-13T11:46:25","type":"t"}"#,
            r#"{"id":"5-1","ts":"2022-09-13T11:46:25","type":"t","data":0,"id":"6-0"}"#,
            r#"{"id":"x","ts":"2022-09-13T11:46:25","type":"t","data":0}"#,
            r#"{"id":"5-1","ts":"yesterday","type":"t","data":0}"#,
            r#"{"id":5,"ts":"2022-09-13T11:46:25","type":"t","data":0}"#,
            r#"[1]"#,
        ] {
            assert!(serde_json::from_str::<Fields<'_>>(bad).is_err(), "{bad}");
        }
    }
}
