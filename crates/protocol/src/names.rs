//! Names that arrive from outside and must be valid before anything uses them: account
//! short names (they appear in URLs and signatures) and the integrator's `ref`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An account's short name, as in `/api/1/{account}/eventstream`: 1 to 64 characters of
/// lowercase ASCII letters, digits, `-` and `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid account name {0:?}: use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
)]
pub struct InvalidName(pub String);

impl AccountName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Self, InvalidName> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(AccountName(s.to_owned()))
        } else {
            Err(InvalidName(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AccountName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountName::parse(s)
    }
}

/// The integrator's opaque `ref` (spec section 2): any UTF-8 up to 512 bytes, kept
/// byte-for-byte. It is never interpreted; its presence is the shopper's consent.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ref(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRef {
    #[error("ref is {0} bytes long; at most 512 are allowed")]
    TooLong(usize),
    #[error("ref is not valid UTF-8")]
    NotUtf8,
    #[error("ref is empty")]
    Empty,
}

impl Ref {
    pub const MAX_BYTES: usize = 512;

    pub fn parse(s: &str) -> Result<Self, InvalidRef> {
        if s.is_empty() {
            Err(InvalidRef::Empty)
        } else if s.len() > Self::MAX_BYTES {
            Err(InvalidRef::TooLong(s.len()))
        } else {
            Ok(Ref(s.to_owned()))
        }
    }

    /// From the raw bytes of a percent-decoded query value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidRef> {
        let s = std::str::from_utf8(bytes).map_err(|_| InvalidRef::NotUtf8)?;
        Ref::parse(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A ref is the shopper's identifier at the integrator: keep it out of logs.
impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ref({} bytes)", self.0.len())
    }
}

impl Serialize for Ref {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Ref {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ref::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names() {
        for ok in ["demo", "club", "a", "my-theatre_2", "0day"] {
            assert_eq!(AccountName::parse(ok).unwrap().as_str(), ok);
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            "Demo",
            "-x",
            "_x",
            "a b",
            "a/b",
            "a.b",
            "é",
            long.as_str(),
        ] {
            assert!(AccountName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refs_are_kept_unaltered_up_to_512_bytes() {
        let hostile = "<script>alert('x')</script>\"&amp;";
        assert_eq!(Ref::parse(hostile).unwrap().as_str(), hostile);
        let emoji = "😀".repeat(128); // 512 bytes
        assert_eq!(Ref::parse(&emoji).unwrap().as_str(), emoji);
        let too_long = format!("{emoji}x");
        assert_eq!(Ref::parse(&too_long), Err(InvalidRef::TooLong(513)));
        assert_eq!(Ref::from_bytes(&[0xff, 0x41]), Err(InvalidRef::NotUtf8));
        assert_eq!(Ref::parse(""), Err(InvalidRef::Empty));
        assert_eq!(
            serde_json::to_string(&Ref::parse("a\"b").unwrap()).unwrap(),
            r#""a\"b""#
        );
    }

    #[test]
    fn refs_do_not_leak_into_debug_output() {
        let r = Ref::parse("user-secret-id").unwrap();
        assert!(!format!("{r:?}").contains("secret"));
    }
}
