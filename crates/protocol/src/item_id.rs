//! Item ids: `<ms>-<seq>` (spec section 4), ordered numerically by `(ms, seq)`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The id of an eventstream item. `Ord` is the numeric order the contract requires, which
/// is not the order of the strings (`"9-0" > "10-0"` as text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ItemId {
    pub ms: u64,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an item id: expected `0`, `<ms>` or `<ms>-<seq>` with decimal numbers")]
pub struct ParseItemIdError;

impl ItemId {
    /// The position before every item; written `0`.
    pub const ZERO: ItemId = ItemId { ms: 0, seq: 0 };

    pub const fn new(ms: u64, seq: u64) -> Self {
        ItemId { ms, seq }
    }

    /// The smallest id greater than this one.
    pub fn successor(self) -> ItemId {
        match self.seq.checked_add(1) {
            Some(seq) => ItemId { ms: self.ms, seq },
            None => ItemId {
                ms: self.ms.saturating_add(1),
                seq: 0,
            },
        }
    }

    /// The id a log assigns next, given the last id it assigned and the clock: time moves
    /// the id forward, but a clock that stepped back only grows `seq`.
    pub fn next_after(last: Option<ItemId>, now_ms: u64) -> ItemId {
        match last {
            Some(last) if last.ms >= now_ms => last.successor(),
            _ => ItemId { ms: now_ms, seq: 0 },
        }
    }
}

fn parse_decimal(s: &str) -> Result<u64, ParseItemIdError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseItemIdError);
    }
    s.parse().map_err(|_| ParseItemIdError)
}

impl FromStr for ItemId {
    type Err = ParseItemIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('-') {
            Some((ms, seq)) => Ok(ItemId {
                ms: parse_decimal(ms)?,
                seq: parse_decimal(seq)?,
            }),
            None => Ok(ItemId {
                ms: parse_decimal(s)?,
                seq: 0,
            }),
        }
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == ItemId::ZERO {
            f.write_str("0")
        } else {
            write!(f, "{}-{}", self.ms, self.seq)
        }
    }
}

impl Serialize for ItemId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ItemId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!("0".parse::<ItemId>().unwrap(), ItemId::ZERO);
        assert_eq!(
            "1661358385340".parse::<ItemId>().unwrap(),
            ItemId::new(1661358385340, 0)
        );
        assert_eq!(
            "1661358385340-7".parse::<ItemId>().unwrap(),
            ItemId::new(1661358385340, 7)
        );
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "-",
            "-1",
            "1-",
            "1--2",
            "1-2-3",
            "+1",
            "1-+2",
            " 1",
            "1 ",
            "abc",
            "1.5",
            "0x10",
            "99999999999999999999",
            "1-99999999999999999999",
        ] {
            assert!(bad.parse::<ItemId>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(ItemId::ZERO.to_string(), "0");
        assert_eq!(ItemId::new(1661358385340, 0).to_string(), "1661358385340-0");
        let id = ItemId::new(5, 12);
        assert_eq!(id.to_string().parse::<ItemId>().unwrap(), id);
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""5-12""#);
    }

    #[test]
    fn orders_numerically_not_as_text() {
        let a: ItemId = "9-0".parse().unwrap();
        let b: ItemId = "10-0".parse().unwrap();
        let c: ItemId = "10-2".parse().unwrap();
        let d: ItemId = "10-10".parse().unwrap();
        assert!(a < b && b < c && c < d);
        assert!("9-0" > "10-0", "the text order differs, which is the point");
    }

    #[test]
    fn successor_is_the_next_id() {
        assert_eq!(ItemId::new(7, 3).successor(), ItemId::new(7, 4));
        assert_eq!(ItemId::new(7, u64::MAX).successor(), ItemId::new(8, 0));
        assert!(ItemId::new(7, 3) < ItemId::new(7, 3).successor());
    }

    #[test]
    fn next_after_survives_a_clock_stepping_back() {
        assert_eq!(ItemId::next_after(None, 100), ItemId::new(100, 0));
        let last = ItemId::new(100, 0);
        assert_eq!(ItemId::next_after(Some(last), 100), ItemId::new(100, 1));
        assert_eq!(ItemId::next_after(Some(last), 50), ItemId::new(100, 1));
        assert_eq!(ItemId::next_after(Some(last), 101), ItemId::new(101, 0));
    }
}
