//! `capabilities`: transactions, savepoints and prepared statements.

use driverbox_guest_sdk::tx::{self, Savepoint};
use driverbox_guest_sdk::types::{Prepared, QueryResult, TransactionOptions, Value};
use driverbox_guest_sdk::{client_error, Capabilities, Error, ErrorKind, Result};

use crate::connection::Connection;
use crate::DIALECT;

/// Starts a transaction; `invalid-input` when one is open.
pub fn begin_transaction(conn: &mut Connection, options: &TransactionOptions) -> Result<()> {
    tx::need_closed(conn.in_transaction())?;
    for sql in tx::begin_statements(&DIALECT, options)? {
        conn.run(&sql)?;
    }
    Ok(())
}

/// Commits. A transaction that failed earlier is rolled back by the
/// server instead, which is reported as an error.
pub fn commit(conn: &mut Connection) -> Result<()> {
    tx::need_open(conn.in_transaction(), "commit")?;
    match conn.run("COMMIT")?.as_deref() {
        Some("ROLLBACK") => Err(client_error(
            ErrorKind::Other,
            "the transaction was aborted by an earlier error and has been rolled back",
        )),
        _ => Ok(()),
    }
}

/// Rolls back.
pub fn rollback(conn: &mut Connection) -> Result<()> {
    tx::need_open(conn.in_transaction(), "rollback")?;
    conn.run("ROLLBACK").map(|_| ())
}

/// Runs a savepoint command; an unknown savepoint (3B001) is `undefined-object`.
pub fn savepoint(conn: &mut Connection, command: Savepoint, name: &str) -> Result<()> {
    let sql = tx::savepoint_sql(&DIALECT, command, name)?;
    tx::need_open(conn.in_transaction(), "savepoint")?;
    match conn.run(&sql) {
        Ok(_) => Ok(()),
        Err(Error::Server(mut e)) => {
            if e.code == "3B001" {
                e.kind = ErrorKind::UndefinedObject;
            }
            Err(Error::Server(e))
        }
        Err(e) => Err(e),
    }
}

/// Prepares a named statement; gives its id, parameter type names and columns.
pub fn prepare(conn: &mut Connection, sql: &str) -> Result<Prepared> {
    let (id, stmt) = conn.prepare(sql)?;
    Ok(Prepared {
        id,
        param_types: stmt.params.iter().map(|p| conn.type_name(p.oid)).collect(),
        columns: stmt.columns.clone(),
    })
}

/// Executes a prepared statement.
pub fn execute_prepared(conn: &mut Connection, id: u32, params: &[Value]) -> Result<QueryResult> {
    Ok(conn.execute_prepared(id, params)?.into_result())
}

impl Capabilities for Connection {
    fn begin_transaction(&mut self, options: TransactionOptions) -> Result<()> {
        begin_transaction(self, &options)
    }

    fn commit(&mut self) -> Result<()> {
        commit(self)
    }

    fn rollback(&mut self) -> Result<()> {
        rollback(self)
    }

    fn savepoint(&mut self, name: String) -> Result<()> {
        savepoint(self, Savepoint::Set, &name)
    }

    fn rollback_to_savepoint(&mut self, name: String) -> Result<()> {
        savepoint(self, Savepoint::RollbackTo, &name)
    }

    fn release_savepoint(&mut self, name: String) -> Result<()> {
        savepoint(self, Savepoint::Release, &name)
    }

    fn in_transaction(&mut self) -> bool {
        Connection::in_transaction(self)
    }

    fn prepare(&mut self, sql: String) -> Result<Prepared> {
        prepare(self, &sql)
    }

    fn execute_prepared(&mut self, id: u32, params: Vec<Value>) -> Result<QueryResult> {
        execute_prepared(self, id, &params)
    }

    fn deallocate(&mut self, id: u32) -> Result<()> {
        Connection::deallocate(self, id)
    }
}
