//! Sessions in PostgreSQL. Parameters and settings are stored as JSON text.

use protocol::{NumId, Ref};

use super::conn::{PgTx, get};
use crate::Error;
use crate::storage::{AccountId, SessionRow, SessionTx, db_id, db_u64};

fn json(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Store(format!("session data: {e}")))
}

fn opt_id(what: &'static str, id: Option<NumId>) -> Result<Option<i64>, Error> {
    id.map(|id| db_id(what, id)).transpose()
}

impl SessionTx for PgTx<'_> {
    fn session(&mut self, account: AccountId, id: &str) -> Result<Option<SessionRow>, Error> {
        let Some(row) = self.query_opt(
            "SELECT ref, order_id, csrf, params, settings, lang, seen_ms FROM sessions
             WHERE id = $1 AND account_id = $2",
            &[&id, &account.0],
        )?
        else {
            return Ok(None);
        };
        let reference: Option<String> = get(&row, 0)?;
        let order_id: Option<i64> = get(&row, 1)?;
        let params: String = get(&row, 3)?;
        let settings: String = get(&row, 4)?;
        Ok(Some(SessionRow {
            id: id.to_owned(),
            account,
            // Stored only after Ref::parse, so this holds; a row that fails is untracked.
            reference: reference.and_then(|r| Ref::parse(&r).ok()),
            order_id: order_id.map(db_u64).transpose()?.map(NumId),
            csrf: get(&row, 2)?,
            params,
            settings: serde_json::from_str(&settings).unwrap_or_default(),
            lang: get(&row, 5)?,
            seen_ms: get(&row, 6)?,
        }))
    }

    fn insert_session(&mut self, s: &SessionRow, now_ms: i64) -> Result<(), Error> {
        self.execute(
            "INSERT INTO sessions
               (id, account_id, ref, order_id, csrf, params, settings, lang, created_ms, seen_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            &[
                &s.id,
                &s.account.0,
                &s.reference.as_ref().map(Ref::as_str),
                &opt_id("order", s.order_id)?,
                &s.csrf,
                &s.params,
                &json(&s.settings)?,
                &s.lang,
                &now_ms,
            ],
        )?;
        Ok(())
    }

    fn update_session(&mut self, s: &SessionRow, now_ms: i64) -> Result<(), Error> {
        self.execute(
            "UPDATE sessions SET ref = $3, order_id = $4, params = $5, settings = $6,
               lang = $7, seen_ms = $8
             WHERE id = $1 AND account_id = $2",
            &[
                &s.id,
                &s.account.0,
                &s.reference.as_ref().map(Ref::as_str),
                &opt_id("order", s.order_id)?,
                &s.params,
                &json(&s.settings)?,
                &s.lang,
                &now_ms,
            ],
        )?;
        Ok(())
    }

    fn set_session_order(
        &mut self,
        session: &str,
        order: Option<NumId>,
        now_ms: i64,
    ) -> Result<(), Error> {
        self.execute(
            "UPDATE sessions SET order_id = $2, seen_ms = $3 WHERE id = $1",
            &[&session, &opt_id("order", order)?, &now_ms],
        )?;
        Ok(())
    }

    fn purge_sessions(&mut self, orderless_before_ms: i64, before_ms: i64) -> Result<u64, Error> {
        let orderless = self.execute(
            "DELETE FROM sessions WHERE order_id IS NULL AND seen_ms < $1",
            &[&orderless_before_ms],
        )?;
        let idle = self.execute("DELETE FROM sessions WHERE seen_ms < $1", &[&before_ms])?;
        Ok(orderless.saturating_add(idle))
    }
}
