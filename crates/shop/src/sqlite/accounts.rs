//! Accounts and keys in SQLite.

use protocol::AccountName;
use rusqlite::{OptionalExtension, params};

use super::{SqlResult, SqliteTx};
use crate::storage::{AccountId, AccountRow, AccountTx};
use crate::{Error, KeyKind, KeyPair, Secret, StoredKey};

impl AccountTx for SqliteTx<'_> {
    fn account(&mut self, name: &AccountName) -> Result<Option<AccountRow>, Error> {
        let row = self
            .query_row(
                "SELECT id, catalog_version FROM accounts WHERE name = ?1",
                params![name.as_str()],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
            )
            .optional()
            .db()?;
        Ok(row.map(|(id, catalog_version)| AccountRow {
            id: AccountId(id),
            name: name.clone(),
            catalog_version,
        }))
    }

    fn account_for_update(&mut self, name: &AccountName) -> Result<Option<AccountRow>, Error> {
        // The transaction already holds SQLite's write lock (BEGIN IMMEDIATE).
        self.account(name)
    }

    fn insert_account(
        &mut self,
        name: &AccountName,
        now_s: i64,
    ) -> Result<Option<AccountRow>, Error> {
        let inserted = self
            .execute(
                "INSERT INTO accounts (name, created_at) VALUES (?1, ?2)
                 ON CONFLICT (name) DO NOTHING",
                params![name.as_str(), now_s],
            )
            .db()?;
        if inserted == 0 {
            return Ok(None);
        }
        Ok(Some(AccountRow {
            id: AccountId(self.conn.last_insert_rowid()),
            name: name.clone(),
            catalog_version: 0,
        }))
    }

    fn insert_key(
        &mut self,
        account: AccountId,
        kind: KeyKind,
        pair: &KeyPair,
        now_s: i64,
    ) -> Result<(), Error> {
        self.execute(
            "INSERT INTO keys (accesskey, account_id, kind, secretkey, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                pair.accesskey,
                account.0,
                kind.as_str(),
                pair.secretkey.expose(),
                now_s
            ],
        )
        .db()?;
        Ok(())
    }

    fn keys(&mut self, account: AccountId, kind: KeyKind) -> Result<Vec<KeyPair>, Error> {
        self.all(
            "SELECT accesskey, secretkey FROM keys WHERE account_id = ?1 AND kind = ?2
                 ORDER BY created_at, rowid",
            params![account.0, kind.as_str()],
            |row| {
                Ok(KeyPair {
                    accesskey: row.get(0)?,
                    secretkey: Secret::new(row.get(1)?),
                })
            },
        )
    }

    fn find_key(&mut self, accesskey: &str) -> Result<Option<StoredKey>, Error> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT a.name, k.kind, k.secretkey FROM keys k
                 JOIN accounts a ON a.id = k.account_id WHERE k.accesskey = ?1",
            )
            .db()?
            .query_row(params![accesskey], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .optional()
            .db()?;
        Ok(row.and_then(|(account, kind, secret)| {
            // Rows are written only through this module, so these parse; a row that
            // does not is treated as no key rather than trusted.
            Some(StoredKey {
                account: AccountName::parse(&account).ok()?,
                kind: KeyKind::parse(&kind)?,
                pair: KeyPair {
                    accesskey: accesskey.to_owned(),
                    secretkey: Secret::new(secret),
                },
            })
        }))
    }
}
