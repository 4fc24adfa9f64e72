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

use driverbox_guest_sdk::batch::{column, result_inferring_types, result_rows, BatchBuilder, BatchReader};
use driverbox_guest_sdk::io::native::TcpSocket;
use driverbox_guest_sdk::io::Stream;
use driverbox_guest_sdk::types::{Batch, Column, ConnectConfig, Endpoint, LogicalType, QueryResult, TlsMode};
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
        scheme: "postgres".into(),
        hosts: vec![Endpoint {
            host: host(),
            port: port(),
            port_given: true,
        }],
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
    let socket = TcpSocket::connect(&config.hosts[0].host, config.hosts[0].port)?;
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
    let q = crate::DIALECT.quote(name).unwrap();
    c.run(&format!("DROP SCHEMA IF EXISTS {q} CASCADE")).unwrap();
    c.run(&format!("CREATE SCHEMA {q}")).unwrap();
}

pub fn drop_schema(c: &mut Connection, name: &str) {
    let q = crate::DIALECT.quote(name).unwrap();
    c.run(&format!("DROP SCHEMA IF EXISTS {q} CASCADE")).unwrap();
}

/// Rows of a WIT result as values, like `Outcome::rows`.
pub trait ResultRows {
    fn rows(&self) -> Result<Vec<Vec<Value>>, Error>;
}

impl ResultRows for QueryResult {
    fn rows(&self) -> Result<Vec<Vec<Value>>, Error> {
        result_rows(self)
    }
}

/// Columns named `names`, typed by the first non-NULL value of each in
/// `rows`, and the rows as a batch (bulk input as the host sends it).
pub fn batch_of(names: &[String], rows: &[Vec<Value>]) -> (Vec<Column>, Batch) {
    let mut typed = result_inferring_types(rows).unwrap();
    if typed.columns.is_empty() {
        typed.columns = names.iter().map(|n| column(n.clone(), LogicalType::Null, "")).collect();
        typed.batch = BatchBuilder::new(&typed.columns).finish();
    }
    for (c, n) in typed.columns.iter_mut().zip(names) {
        c.name = n.clone();
    }
    (typed.columns, typed.batch)
}

/// `extension::bulk_insert` with rows of values.
pub fn bulk_insert_rows(
    c: &mut Connection,
    schema: Option<&str>,
    table: &str,
    cols: &[String],
    rows: &[Vec<Value>],
) -> Result<u64, Error> {
    let (columns, batch) = batch_of(cols, rows);
    crate::extension::bulk_insert(c, schema, table, &columns, &batch)
}

/// `extension::bulk_update` with key and value columns and rows of values.
pub fn bulk_update_rows(
    c: &mut Connection,
    schema: Option<&str>,
    table: &str,
    keys: &[String],
    sets: &[String],
    rows: &[Vec<Value>],
) -> Result<u64, Error> {
    let names: Vec<String> = keys.iter().chain(sets).cloned().collect();
    let (columns, batch) = batch_of(&names, rows);
    crate::extension::bulk_update(c, schema, table, &columns, keys.len() as u32, &batch)
}

/// `extension::bulk_delete` with rows of key values.
pub fn bulk_delete_rows(
    c: &mut Connection,
    schema: Option<&str>,
    table: &str,
    keys: &[String],
    rows: &[Vec<Value>],
) -> Result<u64, Error> {
    let (columns, batch) = batch_of(keys, rows);
    crate::extension::bulk_delete(c, schema, table, &columns, &batch)
}

/// The rows of a streamed batch as values.
pub fn batch_rows(columns: &[Column], batch: &Batch) -> Vec<Vec<Value>> {
    let r = BatchReader::new(columns, batch).unwrap();
    (0..r.rows()).map(|i| r.row_values(i)).collect()
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
    let rows = c.query(sql, params).unwrap().rows().unwrap();
    assert_eq!(rows.len(), 1, "{sql}");
    rows[0][0].clone()
}

pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Checks that the session still answers.
pub fn still_usable(c: &mut Connection) {
    assert_eq!(dbg(scalar(c, "select 41 + 1", &[])), dbg(Value::Int(42)));
}
