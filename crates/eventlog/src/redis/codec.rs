//! Items in and out of stream entries.
//!
//! An entry has two fields: `t`, the item type (for the type filter), and `j`, the item's
//! JSON after its id. The id itself is the entry id, assigned inside the append script,
//! so the JSON is made once at append with a hole where the id goes, and a read puts the
//! entry id back in front: one copy, never a parse.

use ::redis::Value;
use protocol::{ItemId, item_json};

use crate::error::Error;
use crate::item::NewItem;

/// What `item_json` writes before the id of [`ItemId::ZERO`].
const HEAD_OF_ZERO: &str = r#"{"id":"0""#;

/// The item's JSON after its id.
pub(super) fn json_tail(item: &NewItem) -> Result<String, Error> {
    let json = item_json(ItemId::ZERO, item.ts, &item.kind, &item.data);
    json.strip_prefix(HEAD_OF_ZERO)
        .map(str::to_owned)
        .ok_or_else(|| Error::Corrupt(format!("item JSON does not start with its id: {json}")))
}

/// One stream entry: the item's id, type, and its JSON after the id (a read puts
/// `{"id":"<id>"` back in front).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) id: ItemId,
    pub(super) kind: String,
    pub(super) tail: Vec<u8>,
}

/// The entries of an XRANGE/XREVRANGE reply, oldest first as Redis gave them.
pub(super) fn entries(reply: Value) -> Result<Vec<Entry>, Error> {
    list(reply)?.into_iter().map(entry).collect()
}

/// Only the id of the first entry of a range reply (bounds need no item bodies).
pub(super) fn first_id(reply: Value) -> Result<Option<ItemId>, Error> {
    match list(reply)?.into_iter().next() {
        None => Ok(None),
        Some(entry) => {
            let mut parts = list(entry)?.into_iter();
            parts.next().map(id).transpose()
        }
    }
}

/// An id stored as a string (the meta hash, the append script's answer), if any.
pub(super) fn opt_id(value: Value) -> Result<Option<ItemId>, Error> {
    match value {
        Value::Nil | Value::Boolean(false) => Ok(None),
        other => id(other).map(Some),
    }
}

/// The append script's answer: the first id it assigned (if any) and the positions of
/// the items it left out.
pub(super) fn appended(value: Value) -> Result<(Option<ItemId>, Vec<usize>), Error> {
    let mut parts = list(value)?.into_iter();
    let (Some(first), Some(skipped)) = (parts.next(), parts.next()) else {
        return Err(Error::Corrupt(
            "an append answer without its two parts".into(),
        ));
    };
    let skipped = list(skipped)?
        .into_iter()
        .map(|v| match v {
            Value::Int(n) => {
                usize::try_from(n).map_err(|_| corrupt("a negative position", &Value::Int(n)))
            }
            other => Err(corrupt("not a position", &other)),
        })
        .collect::<Result<_, _>>()?;
    Ok((opt_id(first)?, skipped))
}

fn entry(value: Value) -> Result<Entry, Error> {
    let mut parts = list(value)?.into_iter();
    let (Some(raw_id), Some(fields)) = (parts.next(), parts.next()) else {
        return Err(Error::Corrupt("a stream entry without id or fields".into()));
    };
    let id = id(raw_id)?;
    let (mut kind, mut tail) = (None, None);
    let mut fields = list(fields)?.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        match bytes(&name)? {
            b"t" => kind = Some(text(value)?),
            b"j" => tail = Some(blob(value)?),
            _ => {}
        }
    }
    match (kind, tail) {
        (Some(kind), Some(tail)) => Ok(Entry { id, kind, tail }),
        _ => Err(Error::Corrupt(format!("stream entry {id} lacks t or j"))),
    }
}

fn id(value: Value) -> Result<ItemId, Error> {
    let text = text(value)?;
    text.parse()
        .map_err(|_| Error::Corrupt(format!("not an item id: {text:?}")))
}

fn list(value: Value) -> Result<Vec<Value>, Error> {
    match value {
        Value::Array(values) | Value::Set(values) => Ok(values),
        Value::Nil => Ok(Vec::new()),
        Value::Map(pairs) => Ok(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()),
        other => Err(corrupt("an array", &other)),
    }
}

fn bytes(value: &Value) -> Result<&[u8], Error> {
    match value {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.as_bytes()),
        other => Err(corrupt("a string", other)),
    }
}

/// A string's bytes as sent (pages check them for UTF-8 once, as a whole).
fn blob(value: Value) -> Result<Vec<u8>, Error> {
    match value {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.into_bytes()),
        other => Err(corrupt("a string", &other)),
    }
}

fn text(value: Value) -> Result<String, Error> {
    match value {
        Value::BulkString(b) => {
            String::from_utf8(b).map_err(|_| Error::Corrupt("a stored string is not UTF-8".into()))
        }
        Value::SimpleString(s) => Ok(s),
        Value::Int(n) => Ok(n.to_string()),
        other => Err(corrupt("a string", &other)),
    }
}

fn corrupt(expected: &str, got: &Value) -> Error {
    Error::Corrupt(format!("expected {expected} from Redis, got {got:?}"))
}

#[cfg(test)]
mod tests {
    use protocol::Timestamp;

    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn an_entry_gives_back_the_json_item_json_makes() {
        let item = NewItem {
            ts: Timestamp::from_unix_ms(1_663_069_585_000),
            kind: "webshop:pageview".into(),
            data: r#"{"ref":"a\"b é"}"#.into(),
        };
        let tail = json_tail(&item).unwrap();
        for id in [ItemId::new(1_700_000_000_000, 0), ItemId::new(5, 12)] {
            let reply = Value::Array(vec![Value::Array(vec![
                bulk(&super::super::keys::entry_id(id)),
                Value::Array(vec![bulk("t"), bulk(&item.kind), bulk("j"), bulk(&tail)]),
            ])]);
            let got = entries(reply).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].id, id);
            assert_eq!(got[0].kind, item.kind);
            let json = format!(r#"{{"id":"{id}"{}"#, String::from_utf8_lossy(&got[0].tail));
            assert_eq!(json, item_json(id, item.ts, &item.kind, &item.data));
        }
    }

    #[test]
    fn damaged_entries_are_errors() {
        let no_fields = Value::Array(vec![Value::Array(vec![bulk("1-0")])]);
        assert!(entries(no_fields).is_err());
        let bad_id = Value::Array(vec![Value::Array(vec![
            bulk("x"),
            Value::Array(vec![bulk("t"), bulk("a"), bulk("j"), bulk("}")]),
        ])]);
        assert!(entries(bad_id).is_err());
        let missing = Value::Array(vec![Value::Array(vec![
            bulk("1-0"),
            Value::Array(vec![bulk("t"), bulk("a")]),
        ])]);
        assert!(entries(missing).is_err());
        assert_eq!(opt_id(Value::Nil).unwrap(), None);
        let answer = |first, skipped: Vec<Value>| Value::Array(vec![first, Value::Array(skipped)]);
        assert_eq!(
            appended(answer(bulk("7-2"), vec![Value::Int(1)])).unwrap(),
            (Some(ItemId::new(7, 2)), vec![1])
        );
        assert_eq!(
            appended(answer(Value::Nil, vec![])).unwrap(),
            (None, vec![])
        );
        assert!(appended(answer(Value::Nil, vec![Value::Int(-1)])).is_err());
        assert!(appended(Value::Array(vec![Value::Nil])).is_err());
    }
}
