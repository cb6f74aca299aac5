//! The outbox in PostgreSQL. Identity ids are never reused but are taken before commit,
//! so a row with a smaller id can become visible after one with a larger id: the relay
//! deletes the rows it carried by id, never "through" an id. A transaction that wrote
//! rows sends `NOTIFY` at commit, which wakes the relaying process wherever it runs.

use protocol::{AccountName, Timestamp};

use super::conn::{PgTx, get};
use crate::storage::{NewOutboxRow, OutboxTx, db_u64};
use crate::{Error, OutboxRow};

impl OutboxTx for PgTx<'_> {
    fn push_outbox(&mut self, row: &NewOutboxRow) -> Result<(), Error> {
        self.execute(
            "INSERT INTO outbox (account, ts_ms, type, data) VALUES ($1, $2, $3, $4)",
            &[&row.account.as_str(), &row.ts_ms, &row.kind, &row.data],
        )?;
        self.wrote_outbox = true;
        Ok(())
    }

    fn outbox_batch(&mut self, limit: u32) -> Result<Vec<OutboxRow>, Error> {
        let rows = self.query(
            "SELECT id, account, ts_ms, type, data FROM outbox ORDER BY id LIMIT $1",
            &[&i64::from(limit)],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let account: String = get(row, 1)?;
            // Rows are written only from validated names.
            let Ok(account) = AccountName::parse(&account) else {
                continue;
            };
            out.push(OutboxRow {
                id: db_u64(get(row, 0)?)?,
                account,
                ts: Timestamp::from_unix_ms(get(row, 2)?),
                kind: get(row, 3)?,
                data: get(row, 4)?,
            });
        }
        Ok(out)
    }

    fn outbox_delete(&mut self, ids: &[u64]) -> Result<u64, Error> {
        // Ids above i64::MAX cannot exist.
        let ids: Vec<i64> = ids
            .iter()
            .filter_map(|id| i64::try_from(*id).ok())
            .collect();
        self.execute("DELETE FROM outbox WHERE id = ANY($1)", &[&ids])
    }

    fn outbox_len(&mut self) -> Result<u64, Error> {
        let row = self.query_one("SELECT COUNT(*) FROM outbox", &[])?;
        db_u64(get(&row, 0)?)
    }
}
