//! Native integration tests against a real PostgreSQL (default
//! 127.0.0.1:5432, user `postgres`, trust auth, database `test`; override
//! with `DRIVERBOX_PG_HOST`, `DRIVERBOX_PG_PORT`, `DRIVERBOX_PG_DATABASE`).
//! They drive [`Connection`] and the per-interface functions over a plain
//! TCP socket. Each test works in a schema of its own and drops it.
//! Without a reachable server the tests print a note and pass.

mod auth;
mod bench;
mod bulk;
mod catalog;
mod errors;
mod hostile;
mod idents;
mod streams;
mod transactions;
mod values;

use driverbox_guest_sdk::io::native::TcpSocket;
use driverbox_guest_sdk::io::Stream;
use driverbox_guest_sdk::types::{ConnectConfig, TlsMode};
use driverbox_guest_sdk::{Error, ErrorKind, Value};

use crate::connection::Connection;

pub fn host() -> String {
    std::env::var("DRIVERBOX_PG_HOST").unwrap_or_else(|_| "127.0.0.1".into())
}

pub fn port() -> u16 {
    std::env::var("DRIVERBOX_PG_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5432)
}

pub fn config() -> ConnectConfig {
    ConnectConfig {
        host: host(),
        port: port(),
        user: Some("postgres".into()),
        password: None,
        database: Some(std::env::var("DRIVERBOX_PG_DATABASE").unwrap_or_else(|_| "test".into())),
        tls: TlsMode::Disable,
        application_name: Some("driverbox-postgres-tests".into()),
        options: vec![],
    }
}

/// Opens a session with `config`, or `Err` with the driver's error.
pub fn open(config: &ConnectConfig) -> Result<Connection, Error> {
    let socket = TcpSocket::connect(&config.host, config.port)?;
    Connection::startup(Stream::new(Box::new(socket)), config)
}

/// A session on the test server, or `None` (with a note) when there is none.
pub fn connect() -> Option<Connection> {
    if TcpSocket::connect(&host(), port()).is_err() {
        eprintln!("note: no PostgreSQL at {}:{}, test skipped", host(), port());
        return None;
    }
    Some(open(&config()).expect("connect to the test server"))
}

/// A fresh schema `name` (dropped first if it is there).
pub fn fresh_schema(c: &mut Connection, name: &str) {
    let q = crate::protocol::ident::quote(name).unwrap();
    c.run(&format!("DROP SCHEMA IF EXISTS {q} CASCADE")).unwrap();
    c.run(&format!("CREATE SCHEMA {q}")).unwrap();
}

pub fn drop_schema(c: &mut Connection, name: &str) {
    let q = crate::protocol::ident::quote(name).unwrap();
    c.run(&format!("DROP SCHEMA IF EXISTS {q} CASCADE")).unwrap();
}

/// Values compared through their Debug form (exact for floats, NaN == NaN).
pub fn dbg<T: std::fmt::Debug>(v: T) -> String {
    format!("{v:?}")
}

pub fn kind(e: &Error) -> ErrorKind {
    e.kind()
}

pub fn server(e: &Error) -> &driverbox_guest_sdk::types::ServerError {
    match e {
        Error::Server(s) => s,
        Error::Client(c) => panic!("expected a server error, got client error {c:?}"),
    }
}

/// The single value of a one-row, one-column query.
pub fn scalar(c: &mut Connection, sql: &str, params: &[Value]) -> Value {
    let out = c.query(sql, params).unwrap();
    assert_eq!(out.rows.len(), 1, "{sql}");
    out.rows[0][0].clone()
}

pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Checks that the session still answers.
pub fn still_usable(c: &mut Connection) {
    assert_eq!(dbg(scalar(c, "select 41 + 1", &[])), dbg(Value::Int(42)));
}
