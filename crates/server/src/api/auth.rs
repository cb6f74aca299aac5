//! API authentication (spec section 5): HTTP Basic with `accesskey:secretkey`, or
//! `TM-HMAC-SHA256` with a signed timestamp. Secrets are compared in constant time and
//! never logged.

use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::Engine;
use protocol::{AccountName, HmacAuthorization, Timestamp, constant_time_eq};
use shop::{KeyKind, StoredKey};

use super::api_keys::ApiKeys;
use super::error::ApiError;
use crate::App;

/// How old a signed timestamp may be.
const MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// How far ahead of our clock a signed timestamp may be.
const MAX_SKEW_AHEAD: Duration = Duration::from_secs(5 * 60);

/// One answer for an unknown key, a widget key, a wrong secret and a wrong signature, so
/// the answer does not tell which access keys exist.
const BAD_CREDENTIALS: &str = "unknown access key, or wrong secret key or signature";

/// Who a request is: the account it may read and the access key it used.
#[derive(Debug)]
pub(crate) struct Authorized {
    pub(crate) account: AccountName,
    pub(crate) accesskey: String,
}

/// The credentials of an `Authorization` header, before they are checked.
enum Credentials {
    Basic { accesskey: String, secret: String },
    Hmac(HmacAuthorization),
}

/// Checks the request's credentials and that their key may read `path_account`.
pub(crate) async fn authorize(
    app: &App,
    keys: &ApiKeys,
    headers: &HeaderMap,
    path_account: &str,
) -> Result<Authorized, ApiError> {
    let key = match credentials(headers)? {
        Credentials::Basic { accesskey, secret } => {
            let key = api_key(app, keys, &accesskey).await?;
            if !constant_time_eq(key.pair.secretkey.expose().as_bytes(), secret.as_bytes()) {
                return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
            }
            key
        }
        Credentials::Hmac(auth) => {
            check_freshness(app, &auth.ts)?;
            let key = api_key(app, keys, &auth.key).await?;
            if !auth.verify(path_account, key.pair.secretkey.expose()) {
                return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
            }
            key
        }
    };

    // The same answer whether or not the account exists, so keys cannot probe for names.
    if key.account.as_str() != path_account {
        return Err(ApiError::Forbidden(
            "this key may not read this account's eventstream",
        ));
    }
    Ok(Authorized {
        account: key.account,
        accesskey: key.pair.accesskey,
    })
}

/// Parses the `Authorization` header. Scheme names are case-insensitive (RFC 7235).
fn credentials(headers: &HeaderMap) -> Result<Credentials, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "credentials required: use HTTP Basic with accesskey:secretkey, or TM-HMAC-SHA256",
        ))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("Basic") {
        let (accesskey, secret) = decode_basic(rest)?;
        Ok(Credentials::Basic { accesskey, secret })
    } else if scheme.eq_ignore_ascii_case(HmacAuthorization::SCHEME) {
        let auth = HmacAuthorization::parse(value).map_err(|_| {
            ApiError::Unauthorized(
                "malformed TM-HMAC-SHA256 authorization: expected key=<accesskey> ts=<YYYY-MM-DDTHH:MM:SS> sign=<hex>",
            )
        })?;
        Ok(Credentials::Hmac(auth))
    } else {
        Err(ApiError::Unauthorized(
            "unsupported authorization scheme: use Basic or TM-HMAC-SHA256",
        ))
    }
}

fn decode_basic(encoded: &str) -> Result<(String, String), ApiError> {
    const MALFORMED: ApiError = ApiError::Unauthorized(
        "malformed Basic credentials: expected base64 of accesskey:secretkey",
    );
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| MALFORMED)?;
    let text = String::from_utf8(bytes).map_err(|_| MALFORMED)?;
    let (accesskey, secret) = text.split_once(':').ok_or(MALFORMED)?;
    Ok((accesskey.to_owned(), secret.to_owned()))
}

async fn api_key(app: &App, keys: &ApiKeys, accesskey: &str) -> Result<StoredKey, ApiError> {
    match keys.find(app, accesskey).await? {
        // Widget keys sign widget URLs; they are no credential for tracking data.
        Some(key) if key.kind == KeyKind::Api => Ok(key),
        _ => Err(ApiError::Unauthorized(BAD_CREDENTIALS)),
    }
}

fn check_freshness(app: &App, ts: &str) -> Result<(), ApiError> {
    let signed: Timestamp = ts.parse().map_err(|_| {
        ApiError::Unauthorized("TM-HMAC-SHA256 ts must be YYYY-MM-DDTHH:MM:SS in UTC")
    })?;
    let now = i64::try_from(app.clock.now_ms()).unwrap_or(i64::MAX);
    let signed = signed.unix_ms();
    if signed < now.saturating_sub(MAX_AGE.as_millis() as i64) {
        return Err(ApiError::Unauthorized(
            "TM-HMAC-SHA256 ts is more than 30 minutes old: sign with the current time",
        ));
    }
    if signed > now.saturating_add(MAX_SKEW_AHEAD.as_millis() as i64) {
        return Err(ApiError::Unauthorized(
            "TM-HMAC-SHA256 ts is more than 5 minutes in the future: check the client's clock",
        ));
    }
    Ok(())
}
