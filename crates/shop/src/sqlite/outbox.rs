//! The outbox in SQLite. `AUTOINCREMENT` ids are never reused; with one writer at a time
//! they even ascend in commit order, but the relay does not rely on that (PostgreSQL's
//! do not).

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

    fn outbox_delete(&mut self, ids: &[u64]) -> Result<u64, Error> {
        // Ids above i64::MAX cannot exist.
        let mut ids: Vec<i64> = ids
            .iter()
            .filter_map(|id| i64::try_from(*id).ok())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        // A run of consecutive ids is one range: no other id lies between them. A relay's
        // batch is usually one run, so this is usually one statement.
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM outbox WHERE id BETWEEN ?1 AND ?2")
            .db()?;
        let mut deleted = 0u64;
        for run in ids.chunk_by(|a, b| a.checked_add(1) == Some(*b)) {
            let (Some(first), Some(last)) = (run.first(), run.last()) else {
                continue;
            };
            let n = stmt.execute(params![first, last]).db()?;
            deleted += u64::try_from(n).map_err(|_| Error::Store(format!("deleted {n} rows")))?;
        }
        Ok(deleted)
    }

    fn outbox_len(&mut self) -> Result<u64, Error> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |row| row.get(0))
            .db()?;
        db_u64(n)
    }
}
