//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use driverbox_guest_sdk::types::{ConnectConfig, QueryResult, TlsMode};
use driverbox_guest_sdk::{Error, ErrorKind, Value};
use driverbox_sqlite::connection::{open, Conn};

/// A connect config for `path` with the given options.
pub fn config(path: &str, options: &[(&str, &str)]) -> ConnectConfig {
    ConnectConfig {
        host: String::new(),
        port: 0,
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
    r.rows.iter().map(|row| row.iter().map(v).collect()).collect()
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
