//! Webshop sessions: what the essential session cookie points at. A session belongs to one
//! account, holds the shopper's current order, the CSRF token of its forms, the effective
//! widget parameters, and the `ref` when the integrator passed one (the consent to track).

use std::collections::BTreeMap;

use protocol::{AccountName, NumId, Ref, Timestamp};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::find_account;
use crate::{Error, ShopStore};

/// Effective widget parameters, as `pageview.params` carries them.
pub type WidgetParams = BTreeMap<String, Option<String>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub account: AccountName,
    pub reference: Option<Ref>,
    pub order_id: Option<NumId>,
    pub csrf: String,
    pub params: WidgetParams,
    /// The page language (`l`), which is not a tracked parameter.
    pub lang: String,
}

/// Sessions unused for this long are deleted.
pub(crate) const SESSION_IDLE_MS: i64 = 24 * 3600 * 1000;

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl ShopStore {
    /// Enters a widget or sales flow. An existing session of the same account is kept (its
    /// order stays); a new `ref` replaces the old one; without `ref` the session keeps
    /// the one it has. Otherwise a new session is made.
    pub async fn enter_session(
        &self,
        account: &AccountName,
        existing: Option<String>,
        reference: Option<Ref>,
        params: WidgetParams,
        lang: &str,
        now: Timestamp,
    ) -> Result<Session, Error> {
        let lang = lang.to_owned();
        let name = account.clone();
        self.with_conn(move |conn| {
            let account_row = find_account(conn, &name)?.ok_or(Error::NoSuchAccount(name.clone()))?;
            let params_json = serde_json::to_string(&params)
                .unwrap_or_else(|e| unreachable!("string maps always serialize: {e}"));
            if let Some(id) = existing {
                let updated = conn.execute(
                    "UPDATE sessions SET ref = COALESCE(?3, ref), params = ?4, seen_ms = ?5, lang = ?6
                     WHERE id = ?1 AND account_id = ?2",
                    params![
                        id,
                        account_row.id,
                        reference.as_ref().map(Ref::as_str),
                        params_json,
                        now.unix_ms(),
                        lang
                    ],
                )?;
                if updated == 1 {
                    return load(conn, &name, &id)?.ok_or(Error::NoSession);
                }
            }
            let id = random_token();
            conn.execute(
                "INSERT INTO sessions (id, account_id, ref, order_id, csrf, params, lang, created_ms, seen_ms)
                 VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7, ?7)",
                params![
                    id,
                    account_row.id,
                    reference.as_ref().map(Ref::as_str),
                    random_token(),
                    params_json,
                    lang,
                    now.unix_ms()
                ],
            )?;
            load(conn, &name, &id)?.ok_or(Error::NoSession)
        })
        .await
    }

    /// The session behind a cookie, if it exists for this account.
    pub async fn session(&self, account: &AccountName, id: &str) -> Result<Option<Session>, Error> {
        let name = account.clone();
        let id = id.to_owned();
        self.with_conn(move |conn| load(conn, &name, &id)).await
    }

    /// Deletes sessions idle for longer than [`SESSION_IDLE_MS`].
    pub async fn purge_sessions(&self, now: Timestamp) -> Result<usize, Error> {
        self.with_conn(move |conn| {
            Ok(conn.execute(
                "DELETE FROM sessions WHERE seen_ms < ?1",
                params![now.unix_ms() - SESSION_IDLE_MS],
            )?)
        })
        .await
    }
}

pub(crate) fn load(
    conn: &Connection,
    account: &AccountName,
    id: &str,
) -> Result<Option<Session>, Error> {
    let row = conn
        .query_row(
            "SELECT s.ref, s.order_id, s.csrf, s.params, s.lang FROM sessions s
             JOIN accounts a ON a.id = s.account_id WHERE s.id = ?1 AND a.name = ?2",
            params![id, account.as_str()],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((reference, order_id, csrf, params, lang)) = row else {
        return Ok(None);
    };
    Ok(Some(Session {
        id: id.to_owned(),
        account: account.clone(),
        // Stored only after Ref::parse, so this holds; a row that fails is untracked.
        reference: reference.and_then(|r| Ref::parse(&r).ok()),
        order_id: order_id.map(|id| NumId(id as u64)),
        csrf,
        params: serde_json::from_str(&params).unwrap_or_default(),
        lang,
    }))
}
