//! The two signature schemes: `TM-HMAC-SHA256` request authentication for the API
//! (spec section 5) and widget URL signatures (spec section 6).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|e| unreachable!("HMAC accepts any key length: {e}"));
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Compares secrets and signatures in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// `sign = hex HMAC-SHA256(key = secretkey, msg = accesskey + accountname + ts)`.
pub fn tm_hmac_sign(accesskey: &str, account: &str, ts: &str, secretkey: &str) -> String {
    let message = format!("{accesskey}{account}{ts}");
    hmac_hex(secretkey, message.as_bytes())
}

/// A parsed `Authorization: TM-HMAC-SHA256 key=... ts=... sign=...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacAuthorization {
    pub key: String,
    /// As sent: the signature covers these exact characters.
    pub ts: String,
    pub sign: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseAuthorizationError {
    #[error("not a TM-HMAC-SHA256 authorization")]
    NotHmac,
    #[error("TM-HMAC-SHA256 authorization must have key=, ts= and sign=, each once")]
    Malformed,
}

impl HmacAuthorization {
    pub const SCHEME: &'static str = "TM-HMAC-SHA256";

    /// Parses a whole header value. The scheme name is case-insensitive (RFC 7235).
    pub fn parse(header: &str) -> Result<Self, ParseAuthorizationError> {
        let rest = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(Self::SCHEME))
            .map(|(_, rest)| rest)
            .ok_or(ParseAuthorizationError::NotHmac)?;
        let (mut key, mut ts, mut sign) = (None, None, None);
        for part in rest.split_ascii_whitespace() {
            let (name, value) = part
                .split_once('=')
                .ok_or(ParseAuthorizationError::Malformed)?;
            let slot = match name {
                "key" => &mut key,
                "ts" => &mut ts,
                "sign" => &mut sign,
                _ => return Err(ParseAuthorizationError::Malformed),
            };
            if slot.replace(value.to_owned()).is_some() || value.is_empty() {
                return Err(ParseAuthorizationError::Malformed);
            }
        }
        match (key, ts, sign) {
            (Some(key), Some(ts), Some(sign)) => Ok(HmacAuthorization { key, ts, sign }),
            _ => Err(ParseAuthorizationError::Malformed),
        }
    }

    pub fn header_value(accesskey: &str, account: &str, ts: &str, secretkey: &str) -> String {
        let sign = tm_hmac_sign(accesskey, account, ts, secretkey);
        format!("{} key={accesskey} ts={ts} sign={sign}", Self::SCHEME)
    }

    /// Whether `sign` is right for this secret, compared in constant time.
    pub fn verify(&self, account: &str, secretkey: &str) -> bool {
        let expected = tm_hmac_sign(&self.key, account, &self.ts, secretkey);
        constant_time_eq(
            expected.as_bytes(),
            self.sign.to_ascii_lowercase().as_bytes(),
        )
    }
}

/// Widget parameters that the signature does not cover.
pub const WIDGET_UNSIGNED_PARAMS: [&str; 5] = ["accesskey", "signature", "l", "ordercode", "ref"];

fn widget_message<'a>(
    account: &str,
    accesskey: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    include_ref: bool,
) -> String {
    let mut signed: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(name, _)| {
            !WIDGET_UNSIGNED_PARAMS.contains(name) || (include_ref && *name == "ref")
        })
        .collect();
    signed.sort_unstable();
    let mut message = format!("{accesskey}{account}");
    for (name, value) in signed {
        message.push_str(name);
        message.push_str(value);
    }
    message
}

/// `SIG = hex HMAC-SHA256(key = secretkey, msg = accesskey + account + name1 + value1 + ...)`
/// over the parameters sorted by name, raw (not URL-encoded), without the unsigned ones.
pub fn widget_signature<'a>(
    account: &str,
    accesskey: &str,
    secretkey: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    hmac_hex(
        secretkey,
        widget_message(account, accesskey, params, false).as_bytes(),
    )
}

/// Checks a widget signature. Some client libraries sign every parameter they are given,
/// so a signature that also covers `ref` is accepted too.
pub fn widget_signature_valid<'a>(
    account: &str,
    accesskey: &str,
    secretkey: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    given: &str,
) -> bool {
    let given = given.to_ascii_lowercase();
    let plain = widget_signature(account, accesskey, secretkey, params.clone());
    let with_ref = hmac_hex(
        secretkey,
        widget_message(account, accesskey, params, true).as_bytes(),
    );
    // Evaluate both comparisons so the time taken does not tell which one matched.
    let a = constant_time_eq(plain.as_bytes(), given.as_bytes());
    let b = constant_time_eq(with_ref.as_bytes(), given.as_bytes());
    a | b
}

#[cfg(test)]
mod tests {
    use super::*;

    const AK: &str = "142dda885ec6024f934a40c1";
    const SK: &str = "abd2e5893bd447dc7331af1db8df42fdc62fc5c8f9f04784";

    #[test]
    fn tm_hmac_test_vector() {
        assert_eq!(
            tm_hmac_sign(AK, "club", "2014-09-23T17:23:00", SK),
            "8e38c9bb2df760e7a9acfa06702eddc4578e47b72893821d647b630144919bf6"
        );
    }

    #[test]
    fn authorization_header_round_trip() {
        let header = HmacAuthorization::header_value(AK, "club", "2014-09-23T17:23:00", SK);
        assert_eq!(
            header,
            "TM-HMAC-SHA256 key=142dda885ec6024f934a40c1 ts=2014-09-23T17:23:00 sign=8e38c9bb2df760e7a9acfa06702eddc4578e47b72893821d647b630144919bf6"
        );
        let auth = HmacAuthorization::parse(&header).unwrap();
        assert_eq!(auth.key, AK);
        let lowercase = header.replacen("TM-HMAC-SHA256", "tm-hmac-sha256", 1);
        assert_eq!(HmacAuthorization::parse(&lowercase).unwrap(), auth);
        assert!(auth.verify("club", SK));
        assert!(!auth.verify("club", "wrong"));
        assert!(!auth.verify("other", SK));
    }

    #[test]
    fn malformed_authorization_headers() {
        assert_eq!(
            HmacAuthorization::parse("Basic abc"),
            Err(ParseAuthorizationError::NotHmac)
        );
        assert_eq!(
            HmacAuthorization::parse("TM-HMAC-SHA256x key=a ts=b sign=c"),
            Err(ParseAuthorizationError::NotHmac)
        );
        for bad in [
            "TM-HMAC-SHA256 ",
            "TM-HMAC-SHA256 key=a ts=b",
            "TM-HMAC-SHA256 key=a ts=b sign=c key=d",
            "TM-HMAC-SHA256 key=a ts=b sign=",
            "TM-HMAC-SHA256 key=a ts=b sign=c extra=1",
            "TM-HMAC-SHA256 key=a ts=b signc",
        ] {
            assert_eq!(
                HmacAuthorization::parse(bad),
                Err(ParseAuthorizationError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn widget_test_vectors() {
        let params = [
            ("event", "123"),
            ("skinid", "25"),
            ("returnurl", "http://www.ticketmatic.com"),
            ("l", "fr"),
        ];
        let expected = "ae727e02cea8c27322a24af487af950b4d8d26978e57151bfed7e356dd593c00";
        assert_eq!(widget_signature("club", AK, SK, params), expected);
        assert!(widget_signature_valid("club", AK, SK, params, expected));

        // Appending ref to a signed link keeps it valid.
        let with_ref = [
            ("event", "123"),
            ("skinid", "25"),
            ("returnurl", "http://www.ticketmatic.com"),
            ("l", "fr"),
            ("ref", "user1234"),
        ];
        assert_eq!(widget_signature("club", AK, SK, with_ref), expected);
        assert!(widget_signature_valid("club", AK, SK, with_ref, expected));

        // A signature that also covers ref is accepted too.
        let signed_ref = hmac_hex(
            SK,
            format!("{AK}clubevent123refuser1234returnurlhttp://www.ticketmatic.comskinid25")
                .as_bytes(),
        );
        assert!(widget_signature_valid(
            "club",
            AK,
            SK,
            with_ref,
            &signed_ref
        ));

        // Tampering breaks it.
        let tampered = [
            ("event", "124"),
            ("skinid", "25"),
            ("returnurl", "http://www.ticketmatic.com"),
        ];
        assert!(!widget_signature_valid("club", AK, SK, tampered, expected));
        assert!(!widget_signature_valid("other", AK, SK, params, expected));
    }

    #[test]
    fn widget_payload_vector() {
        assert_eq!(
            hmac_hex(
                "qsdfghjklm",
                b"azertyuiopmyaccountnameevent123returnurlhttp://www.ticketmatic.comskinid25"
            ),
            "0978f4fb9341ad17f6ed82bb1db0acbc2748b9042f39f10457eaded938fef2b8"
        );
        assert_eq!(
            widget_message(
                "myaccountname",
                "azertyuiop",
                [
                    ("skinid", "25"),
                    ("returnurl", "http://www.ticketmatic.com"),
                    ("event", "123")
                ],
                false
            ),
            "azertyuiopmyaccountnameevent123returnurlhttp://www.ticketmatic.comskinid25"
        );
    }
}
