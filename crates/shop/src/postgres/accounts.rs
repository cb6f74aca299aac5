//! Accounts and keys in PostgreSQL.

use protocol::AccountName;

use super::conn::{PgTx, get};
use crate::storage::{AccountId, AccountRow, AccountTx};
use crate::{Error, KeyKind, KeyPair, Secret, StoredKey};

fn row(id: Option<postgres::Row>, name: &AccountName) -> Result<Option<AccountRow>, Error> {
    id.map(|row| {
        Ok(AccountRow {
            id: AccountId(get(&row, 0)?),
            name: name.clone(),
            catalog_version: get(&row, 1)?,
        })
    })
    .transpose()
}

impl AccountTx for PgTx<'_> {
    fn account(&mut self, name: &AccountName) -> Result<Option<AccountRow>, Error> {
        let found = self.query_opt(
            "SELECT id, catalog_version FROM accounts WHERE name = $1",
            &[&name.as_str()],
        )?;
        row(found, name)
    }

    fn account_for_update(&mut self, name: &AccountName) -> Result<Option<AccountRow>, Error> {
        let found = self.query_opt(
            "SELECT id, catalog_version FROM accounts WHERE name = $1 FOR UPDATE",
            &[&name.as_str()],
        )?;
        row(found, name)
    }

    fn insert_account(
        &mut self,
        name: &AccountName,
        now_s: i64,
    ) -> Result<Option<AccountRow>, Error> {
        let inserted = self.query_opt(
            "INSERT INTO accounts (name, created_at) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING RETURNING id, catalog_version",
            &[&name.as_str(), &now_s],
        )?;
        row(inserted, name)
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
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &pair.accesskey,
                &account.0,
                &kind.as_str(),
                &pair.secretkey.expose(),
                &now_s,
            ],
        )?;
        Ok(())
    }

    fn keys(&mut self, account: AccountId, kind: KeyKind) -> Result<Vec<KeyPair>, Error> {
        self.query(
            "SELECT accesskey, secretkey FROM keys WHERE account_id = $1 AND kind = $2
             ORDER BY created_at, seq",
            &[&account.0, &kind.as_str()],
        )?
        .iter()
        .map(|row| {
            Ok(KeyPair {
                accesskey: get(row, 0)?,
                secretkey: Secret::new(get(row, 1)?),
            })
        })
        .collect()
    }

    fn find_key(&mut self, accesskey: &str) -> Result<Option<StoredKey>, Error> {
        let Some(row) = self.query_opt(
            "SELECT a.name, k.kind, k.secretkey FROM keys k
             JOIN accounts a ON a.id = k.account_id WHERE k.accesskey = $1",
            &[&accesskey],
        )?
        else {
            return Ok(None);
        };
        let (account, kind, secret): (String, String, String) =
            (get(&row, 0)?, get(&row, 1)?, get(&row, 2)?);
        // Rows are written only through this module, so these parse; a row that does not
        // is treated as no key rather than trusted.
        Ok((|| {
            Some(StoredKey {
                account: AccountName::parse(&account).ok()?,
                kind: KeyKind::parse(&kind)?,
                pair: KeyPair {
                    accesskey: accesskey.to_owned(),
                    secretkey: Secret::new(secret),
                },
            })
        })())
    }
}
