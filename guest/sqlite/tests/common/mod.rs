//! Helpers shared by the integration tests.
#![allow(dead_code)]
// The WIT error variant is large by design; it crosses the boundary as is.
#![allow(clippy::result_large_err)]

use std::path::Path;

use driverbox_guest_sdk::types::{Batch, Column, ConnectConfig, LogicalType, QueryResult, TlsMode};
use driverbox_guest_sdk::{Error, ErrorKind, Value};
use driverbox_sqlite::connection::{open, Conn};

/// A connect config for `path` with the given options.
pub fn config(path: &str, options: &[(&str, &str)]) -> ConnectConfig {
    ConnectConfig {
        scheme: "sqlite".into(),
        hosts: Vec::new(),
        user: None,
        password: None,
        database: Some(path.to_string()),
        tls: TlsMode::Disable,
        application_name: None,
        options: options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

/// Opens `path` (a file in a temp dir) read-write-create.
pub fn open_path(path: &Path) -> Conn {
    open(&config(path.to_str().unwrap(), &[])).unwrap()
}

/// A fresh database file in a new temp dir (keep the dir alive).
pub fn fresh() -> (tempfile::TempDir, Conn) {
    let dir = tempfile::tempdir().unwrap();
    let conn = open_path(&dir.path().join("test.db"));
    (dir, conn)
}

/// Runs a script.
pub fn script(conn: &Conn, sql: &str) {
    conn.db().execute_batch(sql).unwrap();
}

/// Debug text of a value (WIT values have no `PartialEq`).
pub fn v(value: &Value) -> String {
    format!("{value:?}").trim_start_matches("Value::").to_string()
}

/// Debug text of every row.
pub fn rows(r: &QueryResult) -> Vec<Vec<String>> {
    values(r).iter().map(|row| row.iter().map(v).collect()).collect()
}

/// Every row as values.
pub fn values(r: &QueryResult) -> Vec<Vec<Value>> {
    driverbox_guest_sdk::batch::result_rows(r).unwrap()
}

/// Columns named `names`, typed by the first non-NULL value of each in
/// `rows`, and the rows as a batch (bulk input as the host sends it).
pub fn batch_of(names: &[&str], rows: &[Vec<Value>]) -> (Vec<Column>, Batch) {
    let mut typed = driverbox_guest_sdk::batch::result_inferring_types(rows).unwrap();
    if typed.columns.is_empty() {
        typed.columns = names
            .iter()
            .map(|n| driverbox_guest_sdk::batch::column(n.to_string(), LogicalType::Null, ""))
            .collect();
        typed.batch = driverbox_guest_sdk::batch::BatchBuilder::new(&typed.columns).finish();
    }
    for (c, n) in typed.columns.iter_mut().zip(names) {
        c.name = n.to_string();
    }
    (typed.columns, typed.batch)
}

/// The kind of an error.
pub fn kind(e: &Error) -> ErrorKind {
    e.kind()
}

/// The message of an error.
pub fn message(e: &Error) -> String {
    match e {
        Error::Server(s) => s.message.clone(),
        Error::Client(c) => c.message.clone(),
    }
}

/// The server error's code.
pub fn code(e: &Error) -> String {
    match e {
        Error::Server(s) => s.code.clone(),
        Error::Client(_) => panic!("expected a server error, got {e:?}"),
    }
}

/// A single integer from a query.
pub fn count(conn: &Conn, sql: &str) -> i64 {
    conn.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `extension::bulk_insert` with column names and rows of values.
pub fn bulk_insert(
    db: &rusqlite::Connection,
    schema: Option<&str>,
    table: &str,
    cols: &[String],
    rows: Vec<Vec<Value>>,
) -> Result<u64, Error> {
    let names: Vec<&str> = cols.iter().map(String::as_str).collect();
    let (columns, batch) = batch_of(&names, &rows);
    driverbox_sqlite::extension::bulk_insert(db, schema, table, &columns, &batch)
}

/// `extension::bulk_update` with key and value column names and rows of values.
pub fn bulk_update(
    db: &rusqlite::Connection,
    schema: Option<&str>,
    table: &str,
    keys: &[String],
    sets: &[String],
    rows: Vec<Vec<Value>>,
) -> Result<u64, Error> {
    let names: Vec<&str> = keys.iter().chain(sets).map(String::as_str).collect();
    let (columns, batch) = batch_of(&names, &rows);
    driverbox_sqlite::extension::bulk_update(db, schema, table, &columns, keys.len() as u32, &batch)
}

/// `extension::bulk_delete` with key column names and rows of key values.
pub fn bulk_delete(
    db: &rusqlite::Connection,
    schema: Option<&str>,
    table: &str,
    keys: &[String],
    rows: Vec<Vec<Value>>,
) -> Result<u64, Error> {
    let names: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (columns, batch) = batch_of(&names, &rows);
    driverbox_sqlite::extension::bulk_delete(db, schema, table, &columns, &batch)
}

/// The rows of a streamed batch as values.
pub fn batch_values(columns: &[Column], batch: &Batch) -> Vec<Vec<Value>> {
    let r = driverbox_guest_sdk::batch::BatchReader::new(columns, batch).unwrap();
    (0..r.rows()).map(|i| r.row_values(i)).collect()
}
