//! Sessions in SQLite. Parameters and settings are stored as JSON text.

use protocol::{NumId, Ref};
use rusqlite::{OptionalExtension, params};

use super::{SqlResult, SqliteTx, db_id, opt_num};
use crate::Error;
use crate::storage::{AccountId, SessionRow, SessionTx};

fn json(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Store(format!("session data: {e}")))
}

impl SessionTx for SqliteTx<'_> {
    fn session(&mut self, account: AccountId, id: &str) -> Result<Option<SessionRow>, Error> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT ref, order_id, csrf, params, settings, lang, seen_ms FROM sessions
                 WHERE id = ?1 AND account_id = ?2",
            )
            .db()?
            .query_row(params![id, account.0], |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    opt_num(row, 1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, i64>(6)?,
                ))
            })
            .optional()
            .db()?;
        let Some((reference, order_id, csrf, params, settings, lang, seen_ms)) = row else {
            return Ok(None);
        };
        Ok(Some(SessionRow {
            id: id.to_owned(),
            account,
            // Stored only after Ref::parse, so this holds; a row that fails is untracked.
            reference: reference.and_then(|r| Ref::parse(&r).ok()),
            order_id,
            csrf,
            params,
            settings: serde_json::from_str(&settings).unwrap_or_default(),
            lang,
            seen_ms,
        }))
    }

    fn insert_session(&mut self, s: &SessionRow, now_ms: i64) -> Result<(), Error> {
        let order = s.order_id.map(|id| db_id("order", id)).transpose()?;
        self.execute(
            "INSERT INTO sessions
                   (id, account_id, ref, order_id, csrf, params, settings, lang, created_ms,
                    seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            params![
                s.id,
                s.account.0,
                s.reference.as_ref().map(Ref::as_str),
                order,
                s.csrf,
                s.params,
                json(&s.settings)?,
                s.lang,
                now_ms
            ],
        )
        .db()?;
        Ok(())
    }

    fn update_session(&mut self, s: &SessionRow, now_ms: i64) -> Result<(), Error> {
        let order = s.order_id.map(|id| db_id("order", id)).transpose()?;
        self.execute(
            "UPDATE sessions SET ref = ?3, order_id = ?4, params = ?5, settings = ?6,
                   lang = ?7, seen_ms = ?8
                 WHERE id = ?1 AND account_id = ?2",
            params![
                s.id,
                s.account.0,
                s.reference.as_ref().map(Ref::as_str),
                order,
                s.params,
                json(&s.settings)?,
                s.lang,
                now_ms
            ],
        )
        .db()?;
        Ok(())
    }

    fn set_session_order(
        &mut self,
        session: &str,
        order: Option<NumId>,
        now_ms: i64,
    ) -> Result<(), Error> {
        let order = order.map(|id| db_id("order", id)).transpose()?;
        self.conn
            .prepare_cached("UPDATE sessions SET order_id = ?2, seen_ms = ?3 WHERE id = ?1")
            .db()?
            .execute(params![session, order, now_ms])
            .db()?;
        Ok(())
    }

    fn purge_sessions(&mut self, orderless_before_ms: i64, before_ms: i64) -> Result<u64, Error> {
        let orderless = self
            .execute(
                "DELETE FROM sessions WHERE order_id IS NULL AND seen_ms < ?1",
                params![orderless_before_ms],
            )
            .db()?;
        let idle = self
            .execute(
                "DELETE FROM sessions WHERE seen_ms < ?1",
                params![before_ms],
            )
            .db()?;
        Ok(u64::try_from(orderless + idle).unwrap_or(u64::MAX))
    }
}
