//! Streaming, bulk operations and database management.
//!
//! A stream keeps its SQLite statement stepping between calls. The
//! statement borrows the connection, and its rows borrow the statement:
//! both are kept as `'static` borrows in [`Stream`], which is sound
//! because the connection lives in the instance's [`Conn`] until that is
//! dropped, and `Conn::drop` drops the stream first; [`Stream`]'s own
//! `Drop` drops the rows before the statement.

use std::ptr::NonNull;

use driverbox_guest_sdk::types::{Column, Row};
use driverbox_guest_sdk::{Error, Result, Value};
use rusqlite::{Connection, Rows, Statement};

use crate::connection::{atomically, bind, prepare_single, Conn, Shape};
use crate::errors::DbResult;
use crate::exports::driverbox::driver::extension::Guest;
use crate::schema::resolve_table;
use crate::sql::quote_ident;
use crate::values::column_list;
use crate::{with_conn, Driver};

/// An open streamed query.
pub struct Stream {
    /// The stepping cursor; `None` once finished. Borrows `*stmt`.
    rows: Option<Rows<'static>>,
    /// The statement, boxed so it does not move; freed in `Drop`.
    stmt: NonNull<Statement<'static>>,
    shape: Shape,
    batch: usize,
    /// The first row, read at open to learn expression column types.
    first: Option<Row>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.rows = None;
        // SAFETY: `stmt` comes from `Box::leak` in `stream_open` and is
        // freed only here, after the rows that borrowed it.
        unsafe { drop(Box::from_raw(self.stmt.as_ptr())) }
    }
}

impl Stream {
    fn finished(&self) -> bool {
        self.rows.is_none() && self.first.is_none()
    }
}

/// Opens a stream; a finished stream that was not closed is replaced,
/// an unfinished one is `invalid-input`.
pub fn stream_open(conn: &mut Conn, sql: &str, params: Vec<Value>, batch_size: u32) -> Result<Vec<Column>> {
    if conn.stream.as_ref().is_some_and(|s| !s.finished()) {
        return Err(Error::invalid("a stream is open already: close it first"));
    }
    conn.stream = None;
    // SAFETY: the statement is kept only in `conn.stream`, which
    // `Conn::drop` drops before the connection.
    let db: &'static Connection = unsafe { conn.db_static() };
    let (mut stmt, shape) = prepare_single(db, sql)?;
    bind(&mut stmt, params)?;
    let ptr = NonNull::from(Box::leak(Box::new(stmt)));
    let mut stream = Stream {
        rows: None,
        stmt: ptr,
        shape: shape.clone(),
        batch: usize::try_from(batch_size.max(1)).unwrap_or(1),
        first: None,
    };
    // SAFETY: the boxed statement stays put until `Stream::drop`, which
    // drops these rows first; nothing else uses the statement meanwhile.
    let stmt_ref: &'static mut Statement<'static> = unsafe { &mut *ptr.as_ptr() };
    stream.rows = Some(stmt_ref.raw_query());
    let mut classes = vec![None; shape.names.len()];
    let first = match stream.rows.as_mut() {
        Some(rows) => match rows.next().db()? {
            Some(row) => Some(shape.read(row, &mut classes)?),
            None => None,
        },
        None => None,
    };
    if first.is_none() {
        stream.rows = None;
    }
    stream.first = first;
    conn.stream = Some(stream);
    Ok(column_list(&shape.names, &shape.decls, &classes))
}

/// Up to batch-size rows; `None` at the end. An error ends the stream.
pub fn stream_next(conn: &mut Conn) -> Result<Option<Vec<Row>>> {
    let stream = conn
        .stream
        .as_mut()
        .ok_or_else(|| Error::invalid("no stream is open"))?;
    let mut out = Vec::with_capacity(stream.batch.min(1024));
    if let Some(first) = stream.first.take() {
        out.push(first);
    }
    let mut failed = None;
    while out.len() < stream.batch {
        let Some(rows) = stream.rows.as_mut() else { break };
        match rows.next().db() {
            Ok(Some(row)) => match stream.shape.read(row, &mut []) {
                Ok(values) => out.push(values),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            },
            Ok(None) => stream.rows = None,
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    if let Some(e) = failed {
        conn.stream = None;
        return Err(e);
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// Stops the stream (finalizing its statement). Fine without one.
pub fn stream_close(conn: &mut Conn) {
    conn.stream = None;
}

fn quoted_columns(what: &str, cols: &[String]) -> Result<Vec<String>> {
    if cols.is_empty() {
        return Err(Error::invalid(format!("{what}: no columns given")));
    }
    cols.iter().map(|c| quote_ident(c)).collect()
}

fn check_width(rows: &[Row], width: usize) -> Result<()> {
    match rows.iter().position(|r| r.len() != width) {
        Some(i) => Err(Error::invalid(format!(
            "row {i} has {} value(s), {width} expected",
            rows[i].len()
        ))),
        None => Ok(()),
    }
}

/// Runs `sql` once per row, all or nothing (a transaction, or a savepoint
/// inside an open one). Gives the rows changed.
fn run_rows(db: &Connection, sql: &str, rows: Vec<Row>) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    atomically(db, || {
        let (mut stmt, _) = prepare_single(db, sql)?;
        let mut total = 0u64;
        for (i, row) in rows.into_iter().enumerate() {
            let done = bind(&mut stmt, row).and_then(|_| stmt.raw_execute().db());
            total += done.map_err(|e| at_row(e, i + 1))? as u64;
        }
        Ok(total)
    })
}

/// Names the failing row (1-based in the batch): the server error's
/// `context`, or a prefix of a client error's message.
fn at_row(e: Error, row: usize) -> Error {
    match e {
        Error::Server(mut s) => {
            s.context = Some(format!("row {row}"));
            Error::Server(s)
        }
        Error::Client(mut c) => {
            c.message = format!("row {row}: {}", c.message);
            Error::Client(c)
        }
    }
}

/// One prepared `INSERT` for all rows, in one transaction.
pub fn bulk_insert(
    db: &Connection,
    schema: Option<&str>,
    table: &str,
    columns: &[String],
    rows: Vec<Row>,
) -> Result<u64> {
    let cols = quoted_columns("bulk-insert", columns)?;
    check_width(&rows, cols.len())?;
    let t = resolve_table(db, schema, table)?;
    let marks = vec!["?"; cols.len()].join(", ");
    let sql = format!("INSERT INTO {} ({}) VALUES ({marks})", t.qualified(), cols.join(", "));
    run_rows(db, &sql, rows)
}

/// One prepared `UPDATE ... WHERE key = ...` for all rows (key values
/// first, then the new values), in one transaction.
pub fn bulk_update(
    db: &Connection,
    schema: Option<&str>,
    table: &str,
    key_columns: &[String],
    set_columns: &[String],
    rows: Vec<Row>,
) -> Result<u64> {
    let keys = quoted_columns("bulk-update keys", key_columns)?;
    let sets = quoted_columns("bulk-update values", set_columns)?;
    check_width(&rows, keys.len() + sets.len())?;
    let t = resolve_table(db, schema, table)?;
    let set_sql: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", keys.len() + i + 1))
        .collect();
    let where_sql: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE {} SET {} WHERE {}",
        t.qualified(),
        set_sql.join(", "),
        where_sql.join(" AND ")
    );
    run_rows(db, &sql, rows)
}

/// One prepared `DELETE ... WHERE key = ...` for all keys, in one transaction.
pub fn bulk_delete(
    db: &Connection,
    schema: Option<&str>,
    table: &str,
    key_columns: &[String],
    keys: Vec<Row>,
) -> Result<u64> {
    let cols = quoted_columns("bulk-delete keys", key_columns)?;
    check_width(&keys, cols.len())?;
    let t = resolve_table(db, schema, table)?;
    let where_sql: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    let sql = format!("DELETE FROM {} WHERE {}", t.qualified(), where_sql.join(" AND "));
    run_rows(db, &sql, keys)
}

fn unsupported(op: &str, why: &str) -> Error {
    Error::unsupported(format!("{op}: {why}"))
}

const ONE_FILE: &str = "an SQLite database is one file, opened by the connection URL";
const NO_SCHEMAS: &str = "SQLite has no schemas to create or drop (attached databases are not managed by the driver)";

impl Guest for Driver {
    fn stream_open(sql: String, params: Vec<Value>, batch_size: u32) -> Result<Vec<Column>> {
        with_conn(|c| stream_open(c, &sql, params, batch_size))
    }
    fn stream_next() -> Result<Option<Vec<Row>>> {
        with_conn(stream_next)
    }
    fn stream_close() -> Result<()> {
        // Never fails, connected or not.
        let _ = with_conn(|c| {
            stream_close(c);
            Ok(())
        });
        Ok(())
    }
    fn bulk_insert(schema: Option<String>, table: String, columns: Vec<String>, rows: Vec<Row>) -> Result<u64> {
        with_conn(|c| bulk_insert(c.db(), schema.as_deref(), &table, &columns, rows))
    }
    fn bulk_update(
        schema: Option<String>,
        table: String,
        key_columns: Vec<String>,
        set_columns: Vec<String>,
        rows: Vec<Row>,
    ) -> Result<u64> {
        with_conn(|c| bulk_update(c.db(), schema.as_deref(), &table, &key_columns, &set_columns, rows))
    }
    fn bulk_delete(schema: Option<String>, table: String, key_columns: Vec<String>, keys: Vec<Row>) -> Result<u64> {
        with_conn(|c| bulk_delete(c.db(), schema.as_deref(), &table, &key_columns, keys))
    }
    fn create_database(_name: String) -> Result<()> {
        Err(unsupported("create-database", ONE_FILE))
    }
    fn drop_database(_name: String, _if_exists: bool) -> Result<()> {
        Err(unsupported("drop-database", ONE_FILE))
    }
    fn create_schema(_name: String) -> Result<()> {
        Err(unsupported("create-schema", NO_SCHEMAS))
    }
    fn drop_schema(_name: String, _if_exists: bool, _cascade: bool) -> Result<()> {
        Err(unsupported("drop-schema", NO_SCHEMAS))
    }
}
