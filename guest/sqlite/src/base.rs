//! Connection and queries.

use driverbox_guest_sdk::types::{ConnectConfig, QueryResult};
use driverbox_guest_sdk::{Result, Value};
use rusqlite::Connection;

use crate::connection::{prepare_single, run, run_discarding, run_script};
use crate::errors::DbResult;
use crate::exports::driverbox::driver::base::Guest;
use crate::{set_conn, with_conn, Driver};

/// `SELECT 1`.
pub fn test_connection(db: &Connection) -> Result<()> {
    db.query_row("SELECT 1", [], |_| Ok(())).db()
}

/// One statement; its rows are read and dropped; gives the rows changed.
pub fn execute(db: &Connection, sql: &str, params: Vec<Value>) -> Result<u64> {
    let (mut stmt, shape) = prepare_single(db, sql)?;
    run_discarding(db, &mut stmt, &shape, params)
}

/// One statement and its rows.
pub fn query(db: &Connection, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
    let (mut stmt, shape) = prepare_single(db, sql)?;
    run(db, &mut stmt, &shape, params)
}

/// Any statement, or a script of several (see [`run_script`]).
pub fn execute_query(db: &Connection, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
    run_script(db, sql, params)
}

impl Guest for Driver {
    fn connect(config: ConnectConfig) -> Result<()> {
        set_conn(None);
        let conn = crate::connection::open(&config)?;
        crate::log_debug(&format!("sqlite: opened {} (mode {})", conn.path, conn.mode.as_str()));
        set_conn(Some(conn));
        Ok(())
    }
    fn test_connection() -> Result<()> {
        with_conn(|c| test_connection(c.db()))
    }
    fn execute(sql: String, params: Vec<Value>) -> Result<u64> {
        with_conn(|c| execute(c.db(), &sql, params))
    }
    fn query(sql: String, params: Vec<Value>) -> Result<QueryResult> {
        with_conn(|c| query(c.db(), &sql, params))
    }
    fn execute_query(sql: String, params: Vec<Value>) -> Result<QueryResult> {
        with_conn(|c| execute_query(c.db(), &sql, params))
    }
    fn close() {
        set_conn(None);
    }
    /// A running statement cannot be interrupted from another instance:
    /// the host's deadline stops it.
    fn cancel_token() -> Option<Vec<u8>> {
        None
    }
    fn cancel(_config: ConnectConfig, _token: Vec<u8>) -> Result<()> {
        Err(driverbox_guest_sdk::Error::unsupported(
            "sqlite: a statement cannot be canceled from outside",
        ))
    }
}
