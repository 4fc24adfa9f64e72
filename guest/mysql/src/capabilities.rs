//! `capabilities`: transactions, savepoints and prepared statements.

use driverbox_guest_sdk::tx::{self, Savepoint};
use driverbox_guest_sdk::types::{Prepared, QueryResult, TransactionOptions, Value};
use driverbox_guest_sdk::{Capabilities, Error, ErrorKind, Result};

use crate::connection::Connection;
use crate::protocol::column::ColumnDef;
use crate::DIALECT;

/// Starts a transaction; `invalid-input` when one is open.
pub fn begin_transaction(conn: &mut Connection, options: &TransactionOptions) -> Result<()> {
    tx::need_closed(conn.in_transaction())?;
    for sql in tx::begin_statements(&DIALECT, options)? {
        conn.run(&sql)?;
    }
    Ok(())
}

/// Runs a savepoint command; an unknown savepoint (1305, SQLSTATE 42000)
/// is `undefined-object`.
pub fn savepoint(conn: &mut Connection, command: Savepoint, name: &str) -> Result<()> {
    let sql = tx::savepoint_sql(&DIALECT, command, name)?;
    tx::need_open(conn.in_transaction(), "savepoint")?;
    match conn.run(&sql) {
        Ok(_) => Ok(()),
        Err(Error::Server(mut e)) => {
            if e.vendor_code == Some(1305) {
                e.kind = ErrorKind::UndefinedObject;
            }
            Err(Error::Server(e))
        }
        Err(e) => Err(e),
    }
}

/// Prepares a statement on the server; gives its id, parameter types and columns.
pub fn prepare(conn: &mut Connection, sql: &str) -> Result<Prepared> {
    let stmt = conn.prepare_stmt(sql)?;
    let prepared = Prepared {
        id: 0,
        param_types: stmt.param_defs.iter().map(ColumnDef::type_name).collect(),
        columns: stmt.columns.iter().map(ColumnDef::to_column).collect(),
    };
    let id = conn.prepared.insert(stmt);
    Ok(Prepared { id, ..prepared })
}

/// Executes prepared statement `id`.
pub fn execute_prepared(conn: &mut Connection, id: u32, params: &[Value]) -> Result<QueryResult> {
    let stmt = conn.prepared.get(id)?.clone();
    let results = conn.execute_stmt(&stmt, params)?;
    Ok(Connection::pick(results))
}

/// Closes prepared statement `id` on the server.
pub fn deallocate(conn: &mut Connection, id: u32) -> Result<()> {
    let stmt = conn.prepared.remove(id)?;
    conn.close_stmt(stmt.id)
}

impl Capabilities for Connection {
    fn begin_transaction(&mut self, options: TransactionOptions) -> Result<()> {
        begin_transaction(self, &options)
    }
    fn commit(&mut self) -> Result<()> {
        tx::need_open(self.in_transaction(), "commit")?;
        self.run("COMMIT").map(|_| ())
    }
    fn rollback(&mut self) -> Result<()> {
        tx::need_open(self.in_transaction(), "rollback")?;
        self.run("ROLLBACK").map(|_| ())
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
        deallocate(self, id)
    }
}
