//! `base`: connect, queries, close.

use driverbox_guest_sdk::io::Stream;
use driverbox_guest_sdk::types::{ConnectConfig, QueryResult, Value};
use driverbox_guest_sdk::Result;

use crate::connection::Connection;
use crate::exports::driverbox::driver::base as wit;
use crate::{set_connection, with_conn, Driver};

/// Runs one statement and gives its rows (a script of several statements
/// without parameters gives the last result with rows).
pub fn query(conn: &mut Connection, sql: &str, params: &[Value]) -> Result<QueryResult> {
    Ok(conn.query(sql, params)?.into_result())
}

/// Runs one statement and gives the rows it affected.
pub fn execute(conn: &mut Connection, sql: &str, params: &[Value]) -> Result<u64> {
    conn.execute(sql, params)
}

impl wit::Guest for Driver {
    fn connect(config: ConnectConfig) -> Result<()> {
        set_connection(None);
        let stream = Stream::connect(&config.host, config.port, false)?;
        let conn = Connection::startup(stream, &config)?;
        set_connection(Some(conn));
        Ok(())
    }

    fn test_connection() -> Result<()> {
        with_conn(|c| c.ping())
    }

    fn execute(sql: String, params: Vec<Value>) -> Result<u64> {
        with_conn(|c| execute(c, &sql, &params))
    }

    fn query(sql: String, params: Vec<Value>) -> Result<QueryResult> {
        with_conn(|c| query(c, &sql, &params))
    }

    fn execute_query(sql: String, params: Vec<Value>) -> Result<QueryResult> {
        with_conn(|c| query(c, &sql, &params))
    }

    fn close() {
        set_connection(None);
    }

    fn cancel_token() -> Option<Vec<u8>> {
        let (pid, key) = with_conn(|c| Ok(c.backend_key())).ok().flatten()?;
        Some([pid.to_be_bytes(), key.to_be_bytes()].concat())
    }

    fn cancel(config: ConnectConfig, token: Vec<u8>) -> Result<()> {
        let (pid, key) = match token.as_slice() {
            [a, b, c, d, e, f, g, h] => (
                i32::from_be_bytes([*a, *b, *c, *d]),
                i32::from_be_bytes([*e, *f, *g, *h]),
            ),
            _ => {
                return Err(driverbox_guest_sdk::Error::invalid(
                    "a PostgreSQL cancel token is 8 bytes",
                ))
            }
        };
        let stream = Stream::connect(&config.host, config.port, false)?;
        Connection::cancel(stream, &config, pid, key)
    }
}
