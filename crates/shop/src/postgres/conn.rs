//! Connections and one transaction: a pooled client with its prepared statements, and
//! [`PgTx`], which the storage contract is implemented on.

use std::collections::HashMap;

use postgres::types::{FromSql, ToSql};
use postgres::{Client, Row, Statement, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::postgres::NoTls;
use r2d2_postgres::r2d2::ManageConnection;

use super::error::{Failure, classify};
use crate::Error;

/// A pooled connection: the client and the statements prepared on it, so each statement
/// of a transaction is one round trip after its first use on this connection.
pub(crate) struct PgConn {
    /// Always `Some` until dropped.
    client: Option<Client>,
    statements: HashMap<&'static str, Statement>,
}

impl PgConn {
    pub(super) fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .unwrap_or_else(|| unreachable!("the client is taken only when dropped"))
    }
}

/// Closing a client blocks (it says goodbye to the server), which panics on a thread that
/// drives async tasks, where the last handle on the pool may well be dropped: such a
/// client is closed on a thread of its own.
impl Drop for PgConn {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return drop(client);
        }
        let closing = std::thread::Builder::new()
            .name("postgres-close".into())
            .spawn(move || drop(client));
        if let Err(e) = closing {
            // Leaking one connection (the server ends it) beats a panic in a destructor.
            tracing::warn!(error = %e, "cannot close a PostgreSQL connection");
        }
    }
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgConn({} statements)", self.statements.len())
    }
}

/// Makes [`PgConn`]s: the r2d2_postgres manager, with a statement cache per connection.
#[derive(Debug)]
pub(crate) struct Manager(PostgresConnectionManager<NoTls>);

impl Manager {
    pub(super) fn new(config: postgres::Config) -> Self {
        Manager(PostgresConnectionManager::new(config, NoTls))
    }
}

impl ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: Some(self.0.connect()?),
            statements: HashMap::new(),
        })
    }

    /// Run at every checkout: a connection that PostgreSQL ended (a restart, a dropped
    /// network) is replaced before a transaction fails on it.
    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        self.0.is_valid(conn.client())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        self.0.has_broken(conn.client())
    }
}

/// One transaction of the PostgreSQL backend.
pub(crate) struct PgTx<'c> {
    tx: Transaction<'c>,
    statements: &'c mut HashMap<&'static str, Statement>,
    /// The transaction wrote outbox rows: the relay's leader is told at commit.
    pub(super) wrote_outbox: bool,
    /// A statement lost a deadlock or a serialization conflict: the whole transaction
    /// may be retried, whatever the rules made of the error.
    pub(super) conflict: bool,
}

pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

impl<'c> PgTx<'c> {
    pub(super) fn begin(conn: &'c mut PgConn, read_only: bool) -> Result<Self, Error> {
        let PgConn { client, statements } = conn;
        let client = client
            .as_mut()
            .unwrap_or_else(|| unreachable!("the client is taken only when dropped"));
        let tx = if read_only {
            // One snapshot for every statement; a read-only transaction never conflicts.
            client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
        } else {
            client.transaction()
        };
        Ok(PgTx {
            tx: tx.map_err(|e| classify(&e).into_error())?,
            statements,
            wrote_outbox: false,
            conflict: false,
        })
    }

    pub(super) fn commit(self) -> Result<(), Failure> {
        self.tx.commit().map_err(|e| classify(&e))
    }

    fn fail(&mut self, e: &postgres::Error) -> Error {
        let failure = classify(e);
        if failure.is_conflict() {
            self.conflict = true;
        }
        failure.into_error()
    }

    fn prepared(&mut self, sql: &'static str) -> Result<Statement, Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        match self.tx.prepare(sql) {
            Ok(statement) => {
                self.statements.insert(sql, statement.clone());
                Ok(statement)
            }
            Err(e) => Err(self.fail(&e)),
        }
    }

    pub(super) fn query(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, Error> {
        let statement = self.prepared(sql)?;
        match self.tx.query(&statement, params) {
            Ok(rows) => Ok(rows),
            Err(e) => Err(self.fail(&e)),
        }
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, Error> {
        let statement = self.prepared(sql)?;
        match self.tx.query_opt(&statement, params) {
            Ok(row) => Ok(row),
            Err(e) => Err(self.fail(&e)),
        }
    }

    pub(super) fn query_one(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Row, Error> {
        let statement = self.prepared(sql)?;
        match self.tx.query_one(&statement, params) {
            Ok(row) => Ok(row),
            Err(e) => Err(self.fail(&e)),
        }
    }

    pub(super) fn execute(&mut self, sql: &'static str, params: &Params<'_>) -> Result<u64, Error> {
        let statement = self.prepared(sql)?;
        match self.tx.execute(&statement, params) {
            Ok(n) => Ok(n),
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// A statement without parameters or results, sent as it is (`NOTIFY`).
    pub(super) fn batch(&mut self, sql: &'static str) -> Result<(), Error> {
        match self.tx.batch_execute(sql) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(&e)),
        }
    }
}

/// Column `idx` of `row`.
pub(crate) fn get<'r, T: FromSql<'r>>(row: &'r Row, idx: usize) -> Result<T, Error> {
    row.try_get(idx)
        .map_err(|e| Error::Store(format!("column {idx}: {e}")))
}
