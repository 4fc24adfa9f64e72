//! `base`: connect, queries, scripts, cancel; and `traits`: metadata and
//! health, which every driver exports (`Driver`).

use driverbox_guest_sdk::types::{ConnectConfig, DriverMetadata, Health, QueryResult, ScriptOutcome, Value};
use driverbox_guest_sdk::{Driver, Error, Result};

use crate::connection::Connection;

/// The cancel token: the server's connection id (4 bytes, little-endian).
pub fn cancel_token(conn: &Connection) -> Option<Vec<u8>> {
    Some(conn.connection_id().to_le_bytes().to_vec())
}

/// `KILL QUERY id` on a fresh connection with the same settings.
pub fn cancel(config: &ConnectConfig, token: &[u8]) -> Result<()> {
    let id = match token {
        [a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
        _ => return Err(Error::invalid("a MySQL cancel token is 4 bytes")),
    };
    let mut conn = Connection::connect(config)?;
    let result = conn.run(&format!("KILL QUERY {id}"));
    conn.terminate();
    result.map(|_| ())
}

impl Driver for Connection {
    fn metadata() -> DriverMetadata {
        crate::traits::metadata()
    }

    fn connect(config: ConnectConfig) -> Result<Self> {
        Connection::connect(&config)
    }

    fn test_connection(&mut self) -> Result<()> {
        self.ping()
    }

    fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        Connection::execute(self, sql, &params)
    }

    fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
        Connection::query(self, sql, &params)
    }

    fn execute_script(&mut self, sql: &str) -> ScriptOutcome {
        Connection::execute_script(self, sql)
    }

    fn close(&mut self) {
        self.terminate();
    }

    fn cancel_token(&self) -> Option<Vec<u8>> {
        cancel_token(self)
    }

    fn cancel(config: ConnectConfig, token: Vec<u8>) -> Result<()> {
        cancel(&config, &token)
    }

    fn health_check(&mut self) -> Result<Health> {
        crate::traits::health_check(self)
    }
}
