//! Webshop sessions: what the essential session cookie points at. A session belongs to one
//! account, holds the shopper's current order, the CSRF token of its forms, the widget
//! settings (and the raw parameters for `pageview.params`), and the `ref` when the
//! integrator passed one (the consent to track).

mod settings;

pub use settings::{Flow, OnCompletion, Panels, ReturnUrl, WidgetParams, WidgetSettings};

use std::time::Duration;

use protocol::{AccountName, NumId, Ref, Timestamp};
use rand::RngCore;

use crate::storage::{AccountRow, SessionRow, Tx};
use crate::{Error, ShopStore};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub account: AccountName,
    pub reference: Option<Ref>,
    pub order_id: Option<NumId>,
    pub csrf: String,
    /// The raw parameters as stored (JSON), read only for `pageview.params`: a page of an
    /// untracked session never parses them.
    params_json: String,
    pub settings: WidgetSettings,
    /// The page language (`l`), which is not a tracked parameter.
    pub lang: String,
}

impl Session {
    /// The raw widget parameters the session was entered with, for `pageview.params`
    /// (empty when the stored text cannot be read).
    pub fn params(&self) -> WidgetParams {
        serde_json::from_str(&self.params_json).unwrap_or_default()
    }
}

/// The stored form of a session's raw parameters.
fn params_json(params: &WidgetParams) -> Result<String, Error> {
    serde_json::to_string(params).map_err(|e| Error::Store(format!("session data: {e}")))
}

/// What an entry URL brings into a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub reference: Option<Ref>,
    pub params: WidgetParams,
    pub settings: WidgetSettings,
    pub lang: String,
}

/// Sessions unused for this long are deleted.
pub const SESSION_IDLE: Duration = Duration::from_secs(24 * 3600);
/// Sessions that never got an order are deleted after this long unused, so that
/// link-following without shopping does not pile up sessions.
pub const ORDERLESS_SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// A shop change marks its session seen only when the last mark is at least this old
/// (or when it changes the session's order): writing the time on every change rewrote
/// the session row and both of its `seen_ms` indexes for every ticket added. So a
/// session may be purged up to this much sooner than its last change says, next to
/// idle times of half an hour and a day.
pub const SEEN_RESOLUTION: Duration = Duration::from_secs(60);

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A duration in whole milliseconds, as the stores keep times (saturating).
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl ShopStore {
    /// Enters a widget or sales flow. An existing session of the same account is kept with
    /// its open order (a confirmed or expired one is let go, so the new visit starts a new
    /// basket); a new `ref` replaces the old one; without `ref` the session keeps the one
    /// it has. Otherwise a new session is made.
    pub async fn enter_session(
        &self,
        account: &AccountName,
        existing: Option<String>,
        entry: Entry,
        now: Timestamp,
    ) -> Result<Session, Error> {
        let name = account.clone();
        self.transact(move |tx| {
            let account = tx
                .account(&name)?
                .ok_or_else(|| Error::NoSuchAccount(name.clone()))?;
            if let Some(id) = &existing
                && let Some(mut row) = tx.session(account.id, id)?
            {
                if entry.reference.is_some() {
                    row.reference = entry.reference.clone();
                }
                row.params = params_json(&entry.params)?;
                row.settings = entry.settings.clone();
                row.lang = entry.lang.clone();
                if let Some(order) = row.order_id
                    && !crate::order::is_open(tx, order)?
                {
                    row.order_id = None;
                }
                tx.update_session(&row, now.unix_ms())?;
                return Ok(session(row, name.clone()));
            }
            let row = SessionRow {
                id: random_token(),
                account: account.id,
                reference: entry.reference.clone(),
                order_id: None,
                csrf: random_token(),
                params: params_json(&entry.params)?,
                settings: entry.settings.clone(),
                lang: entry.lang.clone(),
                seen_ms: now.unix_ms(),
            };
            tx.insert_session(&row, now.unix_ms())?;
            Ok(session(row, name.clone()))
        })
        .await
    }

    /// Sets the session's page language (`en`, `nl`); its basket stays as it is.
    pub async fn set_language(
        &self,
        account: &AccountName,
        id: &str,
        lang: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let name = account.clone();
        let id = id.to_owned();
        let lang = lang.to_owned();
        self.transact(move |tx| {
            let (_, mut row) = load_row(tx, &name, &id)?.ok_or(Error::NoSession)?;
            row.lang.clone_from(&lang);
            tx.update_session(&row, now.unix_ms())
        })
        .await
    }

    /// The session behind a cookie, if it exists for this account.
    pub async fn session(&self, account: &AccountName, id: &str) -> Result<Option<Session>, Error> {
        let name = account.clone();
        let id = id.to_owned();
        self.read_quick(move |tx| load(tx, &name, &id)).await
    }

    /// Deletes sessions idle for longer than [`SESSION_IDLE`], and those that never got an
    /// order idle for longer than [`ORDERLESS_SESSION_IDLE`].
    pub async fn purge_sessions(&self, now: Timestamp) -> Result<usize, Error> {
        let now = now.unix_ms();
        let deleted = self
            .transact(move |tx| {
                tx.purge_sessions(
                    now.saturating_sub(ms(ORDERLESS_SESSION_IDLE)),
                    now.saturating_sub(ms(SESSION_IDLE)),
                )
            })
            .await?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }
}

pub(crate) fn session(row: SessionRow, account: AccountName) -> Session {
    Session {
        id: row.id,
        account,
        reference: row.reference,
        order_id: row.order_id,
        csrf: row.csrf,
        params_json: row.params,
        settings: row.settings,
        lang: row.lang,
    }
}

pub(crate) fn load(
    tx: &mut dyn Tx,
    account: &AccountName,
    id: &str,
) -> Result<Option<Session>, Error> {
    let Some(row) = tx.account(account)? else {
        return Ok(None);
    };
    Ok(tx.session(row.id, id)?.map(|s| session(s, account.clone())))
}

/// The session row in a transaction, with its account.
pub(crate) fn load_row(
    tx: &mut dyn Tx,
    account: &AccountName,
    id: &str,
) -> Result<Option<(AccountRow, SessionRow)>, Error> {
    let Some(row) = tx.account(account)? else {
        return Ok(None);
    };
    Ok(tx.session(row.id, id)?.map(|s| (row, s)))
}
