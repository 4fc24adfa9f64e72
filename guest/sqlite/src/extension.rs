//! Streaming, bulk operations and database management.
//!
//! A stream keeps its SQLite statement stepping between calls. The
//! statement borrows the connection, and its rows borrow the statement:
//! both are kept as `'static` borrows in [`Stream`], which is sound
//! because the connection lives in the instance's [`Conn`] until that is
//! dropped, and `Conn::drop` drops the stream first; [`Stream`]'s own
//! `Drop` drops the rows before the statement.

use std::ptr::NonNull;

use driverbox_guest_sdk::batch::{BatchBuilder, BatchReader};
use driverbox_guest_sdk::types::{Batch, Column, LogicalType};
use driverbox_guest_sdk::{Error, Extension, Result, Value};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, Rows, Statement};

use crate::connection::{atomically, bind, bind_cells, prepare_single, Conn, Shape};
use crate::errors::DbResult;
use crate::schema::resolve_table;
use crate::sql::quote_ident;
use crate::values::{class_logical_type, owned, push, storage_class};

/// An open streamed query.
pub struct Stream {
    /// The stepping cursor; `None` once finished. Borrows `*stmt`.
    rows: Option<Rows<'static>>,
    /// The statement, boxed so it does not move; freed in `Drop`.
    stmt: NonNull<Statement<'static>>,
    shape: Shape,
    columns: Vec<Column>,
    batch: usize,
    /// The first batch, read at open to learn the columns' types.
    first: Option<Batch>,
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
///
/// The first batch is read here, and the declared columns are what it
/// holds (as ADBC's SQLite driver infers types from its first batch): an
/// expression column takes the storage class of its first non-NULL value,
/// and a column whose values differ in class is `dynamic`. A later batch
/// whose values differ from that carries the column as `dynamic`, which
/// row consumers take as it is and Arrow consumers refuse (a stream's
/// schema is fixed).
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
    let batch = usize::try_from(batch_size.max(1)).unwrap_or(1);
    // SAFETY: the boxed statement stays put until `Stream::drop` (the
    // stream is built before anything can fail, so it frees it), which
    // drops these rows first; nothing else uses the statement meanwhile.
    let stmt_ref: &'static mut Statement<'static> = unsafe { &mut *ptr.as_ptr() };
    let mut stream = Stream {
        rows: Some(stmt_ref.raw_query()),
        stmt: ptr,
        columns: shape.columns(),
        shape,
        batch,
        first: None,
    };
    let mut buffered: Vec<Vec<SqlValue>> = Vec::new();
    while buffered.len() < batch {
        let Some(rows) = stream.rows.as_mut() else { break };
        match rows.next().db()? {
            Some(row) => {
                let values = (0..stream.columns.len())
                    .map(|i| row.get_ref(i).map(owned))
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .db()?;
                buffered.push(values);
            }
            None => stream.rows = None,
        }
    }
    for (i, c) in stream.columns.iter_mut().enumerate() {
        let first_value = buffered.iter().map(|r| &r[i]).find(|v| !matches!(v, SqlValue::Null));
        if let (LogicalType::Dynamic, Some(v)) = (c.logical_type, first_value) {
            let class = storage_class(&ValueRef::from(v));
            c.logical_type = class_logical_type(class);
            c.database_type = class.to_string();
        }
    }
    if !buffered.is_empty() {
        let mut out = BatchBuilder::new(&stream.columns);
        for row in &buffered {
            for (i, v) in row.iter().enumerate() {
                push(ValueRef::from(v), stream.shape.kinds[i], out.column(i))?;
            }
            out.end_row();
        }
        for (c, built) in stream.columns.iter_mut().zip(out.columns_mut()) {
            if built.is_dynamic() {
                c.logical_type = LogicalType::Dynamic;
            }
        }
        stream.first = Some(out.finish());
    }
    let columns = stream.columns.clone();
    conn.stream = Some(stream);
    Ok(columns)
}

/// Up to batch-size rows; `None` at the end. An error ends the stream.
pub fn stream_next(conn: &mut Conn) -> Result<Option<Batch>> {
    let stream = conn
        .stream
        .as_mut()
        .ok_or_else(|| Error::invalid("no stream is open"))?;
    if let Some(first) = stream.first.take() {
        return Ok(Some(first));
    }
    let mut out = BatchBuilder::new(&stream.columns);
    let result = fill_batch(stream, &mut out);
    if let Err(e) = result {
        conn.stream = None;
        return Err(e);
    }
    Ok(if out.rows() == 0 { None } else { Some(out.finish()) })
}

fn fill_batch(stream: &mut Stream, out: &mut BatchBuilder) -> Result<()> {
    while (out.rows() as usize) < stream.batch {
        let Some(rows) = stream.rows.as_mut() else { break };
        match rows.next().db()? {
            Some(row) => stream.shape.read(row, out)?,
            None => stream.rows = None,
        }
    }
    Ok(())
}

/// Stops the stream (finalizing its statement). Fine without one.
pub fn stream_close(conn: &mut Conn) {
    conn.stream = None;
}

fn quoted_columns(what: &str, cols: &[&str]) -> Result<Vec<String>> {
    if cols.is_empty() {
        return Err(Error::invalid(format!("{what}: no columns given")));
    }
    cols.iter().map(|c| quote_ident(c)).collect()
}

fn names(columns: &[Column]) -> Vec<&str> {
    columns.iter().map(|c| c.name.as_str()).collect()
}

/// Runs `sql` once per row of `data`, all or nothing (a transaction, or a
/// savepoint inside an open one). Gives the rows changed.
fn run_rows(db: &Connection, sql: &str, data: &BatchReader<'_>) -> Result<u64> {
    if data.rows() == 0 {
        return Ok(0);
    }
    atomically(db, || {
        let (mut stmt, _) = prepare_single(db, sql)?;
        let width = data.columns().len();
        let mut cells = Vec::with_capacity(width);
        let mut total = 0u64;
        for i in 0..data.rows() {
            cells.clear();
            cells.extend((0..width).map(|c| data.cell(i, c)));
            let done = bind_cells(&mut stmt, &cells).and_then(|_| stmt.raw_execute().db());
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
    columns: &[Column],
    data: &Batch,
) -> Result<u64> {
    let data = BatchReader::new(columns, data)?;
    let cols = quoted_columns("bulk-insert", &names(columns))?;
    let t = resolve_table(db, schema, table)?;
    let marks = vec!["?"; cols.len()].join(", ");
    let sql = format!("INSERT INTO {} ({}) VALUES ({marks})", t.qualified(), cols.join(", "));
    run_rows(db, &sql, &data)
}

/// One prepared `UPDATE ... WHERE key = ...` for all rows (the first
/// `key_count` columns are the key), in one transaction.
pub fn bulk_update(
    db: &Connection,
    schema: Option<&str>,
    table: &str,
    columns: &[Column],
    key_count: u32,
    data: &Batch,
) -> Result<u64> {
    let data = BatchReader::new(columns, data)?;
    let all = names(columns);
    let k = (key_count as usize).min(all.len());
    let keys = quoted_columns("bulk-update keys", &all[..k])?;
    let sets = quoted_columns("bulk-update values", &all[k..])?;
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
    run_rows(db, &sql, &data)
}

/// One prepared `DELETE ... WHERE key = ...` for all keys, in one transaction.
pub fn bulk_delete(
    db: &Connection,
    schema: Option<&str>,
    table: &str,
    columns: &[Column],
    data: &Batch,
) -> Result<u64> {
    let data = BatchReader::new(columns, data)?;
    let cols = quoted_columns("bulk-delete keys", &names(columns))?;
    let t = resolve_table(db, schema, table)?;
    let where_sql: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    let sql = format!("DELETE FROM {} WHERE {}", t.qualified(), where_sql.join(" AND "));
    run_rows(db, &sql, &data)
}

fn unsupported(op: &str, why: &str) -> Error {
    Error::unsupported(format!("{op}: {why}"))
}

const ONE_FILE: &str = "an SQLite database is one file, opened by the connection URL";
const NO_SCHEMAS: &str = "SQLite has no schemas to create or drop (attached databases are not managed by the driver)";

impl Extension for Conn {
    fn stream_open(&mut self, sql: String, params: Vec<Value>, batch_size: u32) -> Result<Vec<Column>> {
        stream_open(self, &sql, params, batch_size)
    }
    fn stream_next(&mut self) -> Result<Option<Batch>> {
        stream_next(self)
    }
    fn stream_close(&mut self) -> Result<()> {
        stream_close(self);
        Ok(())
    }
    fn bulk_insert(&mut self, schema: Option<String>, table: String, columns: Vec<Column>, data: Batch) -> Result<u64> {
        bulk_insert(self.db(), schema.as_deref(), &table, &columns, &data)
    }
    fn bulk_update(
        &mut self,
        schema: Option<String>,
        table: String,
        columns: Vec<Column>,
        key_count: u32,
        data: Batch,
    ) -> Result<u64> {
        bulk_update(self.db(), schema.as_deref(), &table, &columns, key_count, &data)
    }
    fn bulk_delete(&mut self, schema: Option<String>, table: String, columns: Vec<Column>, data: Batch) -> Result<u64> {
        bulk_delete(self.db(), schema.as_deref(), &table, &columns, &data)
    }
    fn create_database(&mut self, _name: String) -> Result<()> {
        Err(unsupported("create-database", ONE_FILE))
    }
    fn drop_database(&mut self, _name: String, _if_exists: bool) -> Result<()> {
        Err(unsupported("drop-database", ONE_FILE))
    }
    fn create_schema(&mut self, _name: String) -> Result<()> {
        Err(unsupported("create-schema", NO_SCHEMAS))
    }
    fn drop_schema(&mut self, _name: String, _if_exists: bool, _cascade: bool) -> Result<()> {
        Err(unsupported("drop-schema", NO_SCHEMAS))
    }
}
