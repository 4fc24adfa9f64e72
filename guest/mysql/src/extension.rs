//! `extension`: streams, bulk insert (multi-row INSERT batches), bulk
//! update/delete (one prepared statement, executed per row), and
//! database management (MySQL's schemas are its databases).

use driverbox_guest_sdk::batch::BatchReader;
use driverbox_guest_sdk::types::{Batch, Column, Value};
use driverbox_guest_sdk::{Extension, Result};

use crate::connection::Connection;
use crate::protocol::params::cell_param;
use crate::DIALECT;

/// Placeholders per statement at most (the binary protocol's u16 count).
const MAX_PARAMS: usize = 65_535;
/// Parameter bytes per INSERT at most, well under the default
/// `max_allowed_packet` (16 MiB on MariaDB 10.11, 64 MiB on MySQL 8).
const MAX_CHUNK_BYTES: usize = 4 << 20;

fn names(columns: &[Column]) -> Vec<&str> {
    columns.iter().map(|c| c.name.as_str()).collect()
}

/// Runs `f` in a transaction unless one is open already (then the
/// caller's transaction decides); rolls back on error.
fn atomically<T>(conn: &mut Connection, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
    if conn.in_transaction() {
        return f(conn);
    }
    conn.run("START TRANSACTION")?;
    match f(conn) {
        Ok(v) => {
            conn.run("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            if !e.breaks_session() {
                let _ = conn.run("ROLLBACK");
            }
            Err(e)
        }
    }
}

/// Inserts the rows of `data` with multi-row INSERTs (as many rows per
/// statement as fit 65 535 parameters and 4 MiB), all or nothing. The
/// statements stay prepared on the connection for the next chunk.
pub fn bulk_insert(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    columns: &[Column],
    data: &Batch,
) -> Result<u64> {
    let data = BatchReader::new(columns, data)?;
    let cols = names(columns);
    // Validates the identifiers before anything is sent.
    DIALECT.insert_sql(schema, table, &cols, 1)?;
    if data.rows() == 0 {
        return Ok(0);
    }
    let per_row = cols.len();
    let max_rows = (MAX_PARAMS / per_row).max(1);
    let key = format!("{schema:?}.{table:?}{cols:?}");
    atomically(conn, |conn| {
        let mut total = 0;
        let mut row = 0;
        while row < data.rows() {
            let mut params = Vec::new();
            let mut bytes = 0;
            let mut n = 0;
            while row + n < data.rows() && n < max_rows && (n == 0 || bytes < MAX_CHUNK_BYTES) {
                for col in 0..per_row {
                    let p = cell_param(data.cell(row + n, col))?;
                    bytes += p.bin_len() + 2;
                    params.push(p);
                }
                n += 1;
            }
            let stmt = conn.bulk_stmt(&format!("{key}x{n}"), || DIALECT.insert_sql(schema, table, &cols, n))?;
            let results = conn.execute_params(&stmt, params)?;
            total += results.last().and_then(|r| r.rows_affected).unwrap_or(0);
            row += n;
        }
        Ok(total)
    })
}

/// Runs one statement per row of `data` (its parameters the row's values).
fn per_row(conn: &mut Connection, sql: &str, data: &BatchReader<'_>) -> Result<u64> {
    atomically(conn, |conn| {
        let stmt = conn.prepare_stmt(sql)?;
        let mut total = 0;
        for row in 0..data.rows() {
            let params = (0..data.columns().len())
                .map(|col| cell_param(data.cell(row, col)))
                .collect::<Result<Vec<_>>>()?;
            let results = conn.execute_params(&stmt, params)?;
            total += results.last().and_then(|r| r.rows_affected).unwrap_or(0);
        }
        conn.close_stmt(stmt.id)?;
        Ok(total)
    })
}

/// Updates rows by key (the first `key_count` columns), all or nothing;
/// gives the rows matched.
pub fn bulk_update(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    columns: &[Column],
    key_count: u32,
    data: &Batch,
) -> Result<u64> {
    let data = BatchReader::new(columns, data)?;
    let all = names(columns);
    let k = (key_count as usize).min(all.len());
    let sql = DIALECT.update_sql(schema, table, &all[..k], &all[k..])?;
    // update_sql numbers keys first; with `?` the values come first in the text.
    let reorder: Vec<usize> = (k..all.len()).chain(0..k).collect();
    atomically(conn, |conn| {
        let stmt = conn.prepare_stmt(&sql)?;
        let mut total = 0;
        for row in 0..data.rows() {
            let params = reorder
                .iter()
                .map(|&col| cell_param(data.cell(row, col)))
                .collect::<Result<Vec<_>>>()?;
            let results = conn.execute_params(&stmt, params)?;
            total += results.last().and_then(|r| r.rows_affected).unwrap_or(0);
        }
        conn.close_stmt(stmt.id)?;
        Ok(total)
    })
}

/// Deletes rows by key, all or nothing; gives the rows deleted.
pub fn bulk_delete(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    columns: &[Column],
    data: &Batch,
) -> Result<u64> {
    let data = BatchReader::new(columns, data)?;
    let sql = DIALECT.delete_sql(schema, table, &names(columns))?;
    per_row(conn, &sql, &data)
}

impl Extension for Connection {
    fn stream_open(&mut self, sql: String, params: Vec<Value>, batch_size: u32) -> Result<Vec<Column>> {
        Connection::stream_open(self, &sql, &params, batch_size)
    }
    fn stream_next(&mut self) -> Result<Option<Batch>> {
        Connection::stream_next(self)
    }
    fn stream_close(&mut self) -> Result<()> {
        Connection::stream_close(self)
    }
    fn bulk_insert(&mut self, schema: Option<String>, table: String, columns: Vec<Column>, data: Batch) -> Result<u64> {
        bulk_insert(self, schema.as_deref(), &table, &columns, &data)
    }
    fn bulk_update(
        &mut self,
        schema: Option<String>,
        table: String,
        columns: Vec<Column>,
        key_count: u32,
        data: Batch,
    ) -> Result<u64> {
        bulk_update(self, schema.as_deref(), &table, &columns, key_count, &data)
    }
    fn bulk_delete(&mut self, schema: Option<String>, table: String, columns: Vec<Column>, data: Batch) -> Result<u64> {
        bulk_delete(self, schema.as_deref(), &table, &columns, &data)
    }
    fn create_database(&mut self, name: String) -> Result<()> {
        self.run(&format!("CREATE DATABASE {}", DIALECT.quote(&name)?))
            .map(|_| ())
    }
    fn drop_database(&mut self, name: String, if_exists: bool) -> Result<()> {
        let ie = if if_exists { "IF EXISTS " } else { "" };
        self.run(&format!("DROP DATABASE {ie}{}", DIALECT.quote(&name)?))
            .map(|_| ())
    }
    /// A schema is a database in MySQL.
    fn create_schema(&mut self, name: String) -> Result<()> {
        self.create_database(name)
    }
    /// A schema is a database in MySQL; dropping one drops its tables (`cascade` is implied).
    fn drop_schema(&mut self, name: String, if_exists: bool, _cascade: bool) -> Result<()> {
        self.drop_database(name, if_exists)
    }
}
