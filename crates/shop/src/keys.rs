//! Key pairs. API keys read the eventstream; widget keys sign widget URLs. They are
//! separate kinds so that a key handed to a web designer cannot read tracking data.

use std::fmt;

use protocol::AccountName;
use rand::RngCore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Api,
    Widget,
}

impl KeyKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyKind::Api => "api",
            KeyKind::Widget => "widget",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "api" => Some(KeyKind::Api),
            "widget" => Some(KeyKind::Widget),
            _ => None,
        }
    }
}

/// A secret key. Its `Debug` is redacted so it cannot end up in a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    /// The secret itself: for signing and for showing to the operator who asked for it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// An access key with its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub accesskey: String,
    pub secretkey: Secret,
}

impl KeyPair {
    /// 96 bits of access key and 192 bits of secret, hex, as the original product's keys.
    pub(crate) fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let mut access = [0u8; 12];
        let mut secret = [0u8; 24];
        rng.fill_bytes(&mut access);
        rng.fill_bytes(&mut secret);
        KeyPair {
            accesskey: hex::encode(access),
            secretkey: Secret(hex::encode(secret)),
        }
    }
}

/// A key as found by its access key, with the account it belongs to.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub account: AccountName,
    pub kind: KeyKind,
    pub pair: KeyPair,
}
