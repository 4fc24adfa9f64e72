//! `extension`: streams over portals, bulk insert (COPY), pipelined bulk
//! update/delete, and database/schema management.

use driverbox_guest_sdk::batch::BatchReader;
use driverbox_guest_sdk::types::{Batch, Column, Value};
use driverbox_guest_sdk::{Error, Extension, Result};

use crate::connection::{Connection, CopyFormat};
use crate::protocol::copy;
use crate::DIALECT;

/// Opens a stream; gives its columns.
pub fn stream_open(conn: &mut Connection, sql: &str, params: &[Value], batch_size: u32) -> Result<Vec<Column>> {
    if conn.stream_is_open() {
        return Err(Error::invalid("a stream is open already"));
    }
    conn.stream_open(sql, params, batch_size)
}

fn names(columns: &[Column]) -> Vec<&str> {
    columns.iter().map(|c| c.name.as_str()).collect()
}

/// `COPY table (columns) FROM STDIN` with the rows of `data`; gives the
/// rows written.
pub fn bulk_insert(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    columns: &[Column],
    data: &Batch,
) -> Result<u64> {
    let data = BatchReader::new(columns, data)?;
    // Validates the identifiers; its parameter types are the columns' types.
    let insert = DIALECT.insert_sql(schema, table, &names(columns), 1)?;
    conn.ensure_usable()?;
    if data.rows() == 0 {
        return Ok(0);
    }
    let qualified = DIALECT.qualified(schema, table)?;
    let column_list = DIALECT.quote_list(&names(columns))?;
    // Binary COPY when every value has a binary form for its column's type
    // (the types come from describing the matching INSERT); else text.
    let types = conn.param_types(&insert)?;
    if copy::binary_fits(&data, &types) {
        let sql = format!("COPY {qualified} ({column_list}) FROM STDIN (FORMAT binary)");
        return conn.copy_in(&sql, &data, CopyFormat::Binary(&types));
    }
    // A json value bound for an array column must become an array literal.
    let delims: Vec<Option<u8>> = types.iter().map(|t| t.array_delim).collect();
    let sql = format!("COPY {qualified} ({column_list}) FROM STDIN");
    conn.copy_in(&sql, &data, CopyFormat::Text(&delims))
}

/// Updates rows by key (the first `key_count` columns), pipelined in one
/// atomic round trip; gives the number of rows updated.
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
    conn.execute_many(&sql, &data)
}

/// Deletes rows by key, pipelined in one atomic round trip; gives the
/// number of rows deleted.
pub fn bulk_delete(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    columns: &[Column],
    data: &Batch,
) -> Result<u64> {
    let data = BatchReader::new(columns, data)?;
    let sql = DIALECT.delete_sql(schema, table, &names(columns))?;
    conn.execute_many(&sql, &data)
}

/// `CREATE DATABASE "name"`.
pub fn create_database(conn: &mut Connection, name: &str) -> Result<()> {
    conn.run(&format!("CREATE DATABASE {}", DIALECT.quote(name)?))
        .map(|_| ())
}

/// `DROP DATABASE [IF EXISTS] "name"`.
pub fn drop_database(conn: &mut Connection, name: &str, if_exists: bool) -> Result<()> {
    let ie = if if_exists { "IF EXISTS " } else { "" };
    conn.run(&format!("DROP DATABASE {ie}{}", DIALECT.quote(name)?))
        .map(|_| ())
}

/// `CREATE SCHEMA "name"`.
pub fn create_schema(conn: &mut Connection, name: &str) -> Result<()> {
    conn.run(&format!("CREATE SCHEMA {}", DIALECT.quote(name)?)).map(|_| ())
}

/// `DROP SCHEMA [IF EXISTS] "name" [CASCADE]`.
pub fn drop_schema(conn: &mut Connection, name: &str, if_exists: bool, cascade: bool) -> Result<()> {
    let ie = if if_exists { "IF EXISTS " } else { "" };
    let cascade = if cascade { " CASCADE" } else { "" };
    conn.run(&format!("DROP SCHEMA {ie}{}{cascade}", DIALECT.quote(name)?))
        .map(|_| ())
}

impl Extension for Connection {
    fn stream_open(&mut self, sql: String, params: Vec<Value>, batch_size: u32) -> Result<Vec<Column>> {
        stream_open(self, &sql, &params, batch_size)
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
        create_database(self, &name)
    }

    fn drop_database(&mut self, name: String, if_exists: bool) -> Result<()> {
        drop_database(self, &name, if_exists)
    }

    fn create_schema(&mut self, name: String) -> Result<()> {
        create_schema(self, &name)
    }

    fn drop_schema(&mut self, name: String, if_exists: bool, cascade: bool) -> Result<()> {
        drop_schema(self, &name, if_exists, cascade)
    }
}
