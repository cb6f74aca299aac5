//! The outbox in SQLite. `AUTOINCREMENT` ids ascend in commit order (one writer at a time)
//! and are never reused, so they are the relay's position.

use protocol::{AccountName, Timestamp};
use rusqlite::params;

use super::{SqlResult, SqliteTx, db_u64};
use crate::storage::{NewOutboxRow, OutboxTx};
use crate::{Error, OutboxRow};

impl OutboxTx for SqliteTx<'_> {
    fn push_outbox(&mut self, row: &NewOutboxRow) -> Result<(), Error> {
        self.conn
            .prepare_cached(
                "INSERT INTO outbox (account, ts_ms, type, data) VALUES (?1, ?2, ?3, ?4)",
            )
            .db()?
            .execute(params![row.account.as_str(), row.ts_ms, row.kind, row.data])
            .db()?;
        Ok(())
    }

    fn outbox_batch(&mut self, limit: u32) -> Result<Vec<OutboxRow>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, account, ts_ms, type, data FROM outbox ORDER BY id LIMIT ?1",
            )
            .db()?;
        let rows = stmt
            .query_map(params![limit], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })
            .db()?;
        let mut out = Vec::new();
        for row in rows {
            let (id, account, ts_ms, kind, data) = row.db()?;
            // Rows are written only from validated names.
            let Ok(account) = AccountName::parse(&account) else {
                continue;
            };
            out.push(OutboxRow {
                id: db_u64(id)?,
                account,
                ts: Timestamp::from_unix_ms(ts_ms),
                kind,
                data,
            });
        }
        Ok(out)
    }

    fn outbox_delete_through(&mut self, id: u64) -> Result<u64, Error> {
        // Ids above i64::MAX cannot exist: deleting through one deletes everything.
        let id = i64::try_from(id).unwrap_or(i64::MAX);
        let n = self
            .conn
            .execute("DELETE FROM outbox WHERE id <= ?1", params![id])
            .db()?;
        u64::try_from(n).map_err(|_| Error::Store(format!("deleted {n} rows")))
    }

    fn outbox_len(&mut self) -> Result<u64, Error> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |row| row.get(0))
            .db()?;
        db_u64(n)
    }
}
