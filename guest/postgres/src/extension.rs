//! `extension`: streams over portals, bulk insert (COPY), pipelined bulk
//! update/delete, and database/schema management.

use driverbox_guest_sdk::types::{Column, Row, Value};
use driverbox_guest_sdk::{Error, Result};

use crate::connection::{Connection, CopyFormat};
use crate::exports::driverbox::driver::extension as wit;
use crate::protocol::{copy, ident};
use crate::{with_conn, Driver};

/// Opens a stream; gives its columns.
pub fn stream_open(conn: &mut Connection, sql: &str, params: &[Value], batch_size: u32) -> Result<Vec<Column>> {
    if conn.stream_is_open() {
        return Err(Error::invalid("a stream is open already"));
    }
    conn.stream_open(sql, params, batch_size)
}

fn check_widths(rows: &[Row], width: usize) -> Result<()> {
    match rows.iter().position(|r| r.len() != width) {
        Some(i) => Err(Error::invalid(format!(
            "row {} has {} values, expected {width}",
            i + 1,
            rows[i].len()
        ))),
        None => Ok(()),
    }
}

/// `COPY table (columns) FROM STDIN` with `rows`; gives the rows written.
pub fn bulk_insert(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    columns: &[String],
    rows: &[Row],
) -> Result<u64> {
    let qualified = ident::qualified(schema, table)?;
    if columns.is_empty() {
        return Err(Error::invalid("bulk insert needs at least one column"));
    }
    let column_list = ident::quote_list(columns)?;
    check_widths(rows, columns.len())?;
    conn.ensure_usable()?;
    if rows.is_empty() {
        return Ok(0);
    }
    // Binary COPY when every value has a binary form for its column's type
    // (the types come from describing the matching INSERT); else text.
    let insert = format!(
        "INSERT INTO {qualified} ({column_list}) VALUES ({})",
        placeholders(columns.len())
    );
    let types = conn.param_types(&insert)?;
    if copy::binary_fits(rows, &types) {
        let sql = format!("COPY {qualified} ({column_list}) FROM STDIN (FORMAT binary)");
        return conn.copy_in(&sql, rows, CopyFormat::Binary(&types));
    }
    // A json value bound for an array column must become an array literal.
    let delims: Vec<Option<u8>> = types.iter().map(|t| t.array_delim).collect();
    let sql = format!("COPY {qualified} ({column_list}) FROM STDIN");
    conn.copy_in(&sql, rows, CopyFormat::Text(&delims))
}

/// `$1, $2, ... $n`.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `"a" = $first, "b" = $first+1 ...`, joined by `sep`.
fn equalities(columns: &[String], first: usize, sep: &str) -> Result<String> {
    Ok(columns
        .iter()
        .enumerate()
        .map(|(i, c)| Ok(format!("{} = ${}", ident::quote(c)?, first + i)))
        .collect::<Result<Vec<_>>>()?
        .join(sep))
}

/// The `UPDATE` run once per row: keys are `$1..$k`, new values follow.
pub fn update_sql(schema: Option<&str>, table: &str, key_columns: &[String], set_columns: &[String]) -> Result<String> {
    if key_columns.is_empty() || set_columns.is_empty() {
        return Err(Error::invalid("bulk update needs key columns and columns to set"));
    }
    let sets = equalities(set_columns, key_columns.len() + 1, ", ")?;
    let keys = equalities(key_columns, 1, " AND ")?;
    Ok(format!(
        "UPDATE {} SET {sets} WHERE {keys}",
        ident::qualified(schema, table)?
    ))
}

/// The `DELETE` run once per key.
pub fn delete_sql(schema: Option<&str>, table: &str, key_columns: &[String]) -> Result<String> {
    if key_columns.is_empty() {
        return Err(Error::invalid("bulk delete needs key columns"));
    }
    let cols = ident::quote_list(key_columns)?;
    let params = placeholders(key_columns.len());
    let condition = if key_columns.len() == 1 {
        format!("{cols} = {params}")
    } else {
        format!("({cols}) = ({params})")
    };
    Ok(format!(
        "DELETE FROM {} WHERE {condition}",
        ident::qualified(schema, table)?
    ))
}

/// Updates rows by key, pipelined in one atomic round trip; gives the
/// number of rows updated.
pub fn bulk_update(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    key_columns: &[String],
    set_columns: &[String],
    rows: &[Row],
) -> Result<u64> {
    let sql = update_sql(schema, table, key_columns, set_columns)?;
    check_widths(rows, key_columns.len() + set_columns.len())?;
    conn.execute_many(&sql, rows)
}

/// Deletes rows by key, pipelined in one atomic round trip; gives the
/// number of rows deleted.
pub fn bulk_delete(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    key_columns: &[String],
    keys: &[Row],
) -> Result<u64> {
    let sql = delete_sql(schema, table, key_columns)?;
    check_widths(keys, key_columns.len())?;
    conn.execute_many(&sql, keys)
}

/// `CREATE DATABASE "name"`.
pub fn create_database(conn: &mut Connection, name: &str) -> Result<()> {
    conn.run(&format!("CREATE DATABASE {}", ident::quote(name)?))
        .map(|_| ())
}

/// `DROP DATABASE [IF EXISTS] "name"`.
pub fn drop_database(conn: &mut Connection, name: &str, if_exists: bool) -> Result<()> {
    let ie = if if_exists { "IF EXISTS " } else { "" };
    conn.run(&format!("DROP DATABASE {ie}{}", ident::quote(name)?))
        .map(|_| ())
}

/// `CREATE SCHEMA "name"`.
pub fn create_schema(conn: &mut Connection, name: &str) -> Result<()> {
    conn.run(&format!("CREATE SCHEMA {}", ident::quote(name)?)).map(|_| ())
}

/// `DROP SCHEMA [IF EXISTS] "name" [CASCADE]`.
pub fn drop_schema(conn: &mut Connection, name: &str, if_exists: bool, cascade: bool) -> Result<()> {
    let ie = if if_exists { "IF EXISTS " } else { "" };
    let cascade = if cascade { " CASCADE" } else { "" };
    conn.run(&format!("DROP SCHEMA {ie}{}{cascade}", ident::quote(name)?))
        .map(|_| ())
}

impl wit::Guest for Driver {
    fn stream_open(sql: String, params: Vec<Value>, batch_size: u32) -> Result<Vec<Column>> {
        with_conn(|c| stream_open(c, &sql, &params, batch_size))
    }

    fn stream_next() -> Result<Option<Vec<Row>>> {
        with_conn(|c| c.stream_next())
    }

    fn stream_close() -> Result<()> {
        with_conn(|c| c.stream_close())
    }

    fn bulk_insert(schema: Option<String>, table: String, columns: Vec<String>, rows: Vec<Row>) -> Result<u64> {
        with_conn(|c| bulk_insert(c, schema.as_deref(), &table, &columns, &rows))
    }

    fn bulk_update(
        schema: Option<String>,
        table: String,
        key_columns: Vec<String>,
        set_columns: Vec<String>,
        rows: Vec<Row>,
    ) -> Result<u64> {
        with_conn(|c| bulk_update(c, schema.as_deref(), &table, &key_columns, &set_columns, &rows))
    }

    fn bulk_delete(schema: Option<String>, table: String, key_columns: Vec<String>, keys: Vec<Row>) -> Result<u64> {
        with_conn(|c| bulk_delete(c, schema.as_deref(), &table, &key_columns, &keys))
    }

    fn create_database(name: String) -> Result<()> {
        with_conn(|c| create_database(c, &name))
    }

    fn drop_database(name: String, if_exists: bool) -> Result<()> {
        with_conn(|c| drop_database(c, &name, if_exists))
    }

    fn create_schema(name: String) -> Result<()> {
        with_conn(|c| create_schema(c, &name))
    }

    fn drop_schema(name: String, if_exists: bool, cascade: bool) -> Result<()> {
        with_conn(|c| drop_schema(c, &name, if_exists, cascade))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_bulk_statements() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            update_sql(Some("s"), "t", &s(&["id"]), &s(&["a", "b"])).unwrap(),
            "UPDATE \"s\".\"t\" SET \"a\" = $2, \"b\" = $3 WHERE \"id\" = $1"
        );
        assert_eq!(
            delete_sql(None, "t", &s(&["a", "b"])).unwrap(),
            "DELETE FROM \"t\" WHERE (\"a\", \"b\") = ($1, $2)"
        );
        assert_eq!(
            delete_sql(None, "t", &s(&["a"])).unwrap(),
            "DELETE FROM \"t\" WHERE \"a\" = $1"
        );
        assert!(update_sql(None, "t", &[], &s(&["a"])).is_err());
        assert!(delete_sql(None, "t", &s(&[""])).is_err());
    }
}
