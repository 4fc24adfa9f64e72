//! `base`: connect, queries, scripts, cancel; and `traits`: metadata and
//! health, which every driver exports (`Driver`).

use driverbox_guest_sdk::io::Stream;
use driverbox_guest_sdk::types::{ConnectConfig, DriverMetadata, Health, QueryResult, ScriptOutcome, Value};
use driverbox_guest_sdk::{Driver, Error, Result};

use crate::connection::Connection;

/// Runs one statement and gives its rows (a script of several statements
/// without parameters gives the last result with rows).
pub fn query(conn: &mut Connection, sql: &str, params: &[Value]) -> Result<QueryResult> {
    Ok(conn.query(sql, params)?.into_result())
}

/// Which server of a host list a session may use (libpq's
/// `target_session_attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAttrs {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

impl SessionAttrs {
    /// From the `target_session_attrs` option (default `any`).
    pub fn from_config(config: &ConnectConfig) -> Result<SessionAttrs> {
        let value = config
            .options
            .iter()
            .find(|(k, _)| k == "target_session_attrs")
            .map_or("any", |(_, v)| v.as_str());
        Ok(match value {
            "any" => SessionAttrs::Any,
            "read-write" => SessionAttrs::ReadWrite,
            "read-only" => SessionAttrs::ReadOnly,
            "primary" => SessionAttrs::Primary,
            "standby" => SessionAttrs::Standby,
            "prefer-standby" => SessionAttrs::PreferStandby,
            other => {
                return Err(Error::invalid(format!(
                "target_session_attrs={other}: expected any, read-write, read-only, primary, standby or prefer-standby"
            )))
            }
        })
    }

    /// Whether `conn` is acceptable (from the settings the server reports
    /// at startup: `in_hot_standby`, `default_transaction_read_only`).
    fn accepts(self, conn: &Connection) -> bool {
        let on = |name| conn.server_param(name) == Some("on");
        let standby = on("in_hot_standby");
        let read_only = standby || on("default_transaction_read_only");
        match self {
            SessionAttrs::Any | SessionAttrs::PreferStandby => true,
            SessionAttrs::ReadWrite => !read_only,
            SessionAttrs::ReadOnly => read_only,
            SessionAttrs::Primary => !standby,
            SessionAttrs::Standby => standby,
        }
    }
}

/// Opens a session on the first of `config.hosts` that answers and fits
/// `target_session_attrs`, trying them in order as libpq does
/// (`prefer-standby`: a standby first, else any); the error of the last
/// one when none does.
pub fn connect(config: &ConnectConfig) -> Result<Connection> {
    let attrs = SessionAttrs::from_config(config)?;
    let passes: &[SessionAttrs] = match attrs {
        SessionAttrs::PreferStandby => &[SessionAttrs::Standby, SessionAttrs::Any],
        _ => std::slice::from_ref(&attrs),
    };
    let mut last = None;
    for pass in passes {
        for endpoint in &config.hosts {
            match Stream::connect(&endpoint.host, endpoint.port, false).and_then(|s| Connection::startup(s, config)) {
                Ok(conn) if pass.accepts(&conn) => return Ok(conn),
                Ok(mut conn) => {
                    conn.terminate();
                    last = Some(Error::connection(format!(
                        "{}:{} does not fit target_session_attrs",
                        endpoint.host, endpoint.port
                    )));
                }
                // A server that answered and refused (wrong password,
                // unknown database) is final, as in libpq.
                Err(e @ Error::Server(_)) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::invalid("the connection settings name no host")))
}

/// The 8-byte cancel token: backend process id and secret key.
pub fn cancel_token(conn: &Connection) -> Option<Vec<u8>> {
    let (pid, key) = conn.backend_key()?;
    Some([pid.to_be_bytes(), key.to_be_bytes()].concat())
}

/// Sends a CancelRequest for `token` to the first host.
pub fn cancel(config: &ConnectConfig, token: &[u8]) -> Result<()> {
    let (pid, key) = match token {
        [a, b, c, d, e, f, g, h] => (
            i32::from_be_bytes([*a, *b, *c, *d]),
            i32::from_be_bytes([*e, *f, *g, *h]),
        ),
        _ => return Err(Error::invalid("a PostgreSQL cancel token is 8 bytes")),
    };
    let endpoint = config
        .hosts
        .first()
        .ok_or_else(|| Error::invalid("the connection settings name no host"))?;
    let stream = Stream::connect(&endpoint.host, endpoint.port, false)?;
    Connection::cancel(stream, config, pid, key)
}

impl Driver for Connection {
    fn metadata() -> DriverMetadata {
        crate::traits::metadata()
    }

    fn connect(config: ConnectConfig) -> Result<Self> {
        connect(&config)
    }

    fn test_connection(&mut self) -> Result<()> {
        self.ping()
    }

    fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        Connection::execute(self, sql, &params)
    }

    fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
        query(self, sql, &params)
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
