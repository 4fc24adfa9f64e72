//! Connection and queries (`base`), metadata and health (`traits`): the
//! SDK's `Driver`.

use driverbox_guest_sdk::types::{ConnectConfig, DriverMetadata, Health, QueryResult, ScriptOutcome};
use driverbox_guest_sdk::{Driver, Result, Value};
use rusqlite::Connection;

use crate::connection::{run_script, script_result, Conn};
use crate::errors::DbResult;

/// `SELECT 1`.
pub fn test_connection(db: &Connection) -> Result<()> {
    db.query_row("SELECT 1", [], |_| Ok(())).db()
}

/// One statement; its rows are read and dropped; gives the rows changed.
pub fn execute(conn: &mut Conn, sql: &str, params: Vec<Value>) -> Result<u64> {
    Ok(conn.run_adhoc(sql, params, false)?.rows_affected.unwrap_or(0))
}

/// One statement and its rows.
pub fn query(conn: &mut Conn, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
    conn.run_adhoc(sql, params, true)
}

/// Any statement, or a script of several: the last result with columns.
pub fn execute_query(db: &Connection, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
    script_result(run_script(db, sql, params))
}

impl Driver for Conn {
    fn metadata() -> DriverMetadata {
        crate::traits::metadata()
    }
    fn connect(config: ConnectConfig) -> Result<Self> {
        let conn = crate::connection::open(&config)?;
        driverbox_guest_sdk::debug!("sqlite: opened {} (mode {})", conn.path, conn.mode.as_str());
        Ok(conn)
    }
    fn test_connection(&mut self) -> Result<()> {
        test_connection(self.db())
    }
    fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        execute(self, sql, params)
    }
    fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
        query(self, sql, params)
    }
    fn execute_query(&mut self, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
        execute_query(self.db(), sql, params)
    }
    fn execute_script(&mut self, sql: &str) -> ScriptOutcome {
        run_script(self.db(), sql, Vec::new())
    }
    fn health_check(&mut self) -> Result<Health> {
        crate::traits::health_check(self)
    }
    /// A read-only transaction's `query_only` is switched off once the
    /// transaction ended, however it ended.
    fn before_call(&mut self) {
        self.sync_transaction_state();
    }
}
