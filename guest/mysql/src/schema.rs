//! `schema`: databases, schemas (in MySQL the same thing: a schema is a
//! database), tables and columns, from `information_schema`.

use driverbox_guest_sdk::batch::result_rows;
use driverbox_guest_sdk::types::{ColumnInfo, DatabaseInfo, SchemaInfo, TableInfo, TableKind, Value};
use driverbox_guest_sdk::{Error, ErrorKind, Result, SchemaIntrospection};

use crate::connection::Connection;

/// Typed access to the cells of one catalog row.
pub struct Cells<'a>(pub &'a [Value]);

impl Cells<'_> {
    pub fn opt_str(&self, i: usize) -> Option<String> {
        match self.0.get(i)? {
            Value::Text(s) | Value::Decimal(s) | Value::Json(s) => Some(s.clone()),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::Int(n) => Some(n.to_string()),
            _ => None,
        }
    }
    pub fn str(&self, i: usize) -> String {
        self.opt_str(i).unwrap_or_default()
    }
    /// A non-empty string (MySQL writes an empty comment for none).
    pub fn non_empty(&self, i: usize) -> Option<String> {
        self.opt_str(i).filter(|s| !s.is_empty())
    }
    pub fn opt_u64(&self, i: usize) -> Option<u64> {
        match self.0.get(i)? {
            Value::Int(n) => u64::try_from(*n).ok(),
            Value::Decimal(s) | Value::Text(s) => s.parse().ok(),
            _ => None,
        }
    }
}

impl Connection {
    /// Rows of a catalog query as values.
    pub fn rows(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        let r = self.query(sql, params)?;
        result_rows(&r)
    }

    /// The schema a call names, else the session's current database.
    pub fn schema_or_current(&mut self, schema: Option<&str>) -> Result<String> {
        if let Some(s) = schema {
            return Ok(s.to_string());
        }
        let rows = self.rows("SELECT DATABASE()", &[])?;
        match rows.first().and_then(|r| Cells(r).opt_str(0)) {
            Some(db) => Ok(db),
            None => Err(Error::invalid(
                "no database selected: name a schema or put a database in the URL",
            )),
        }
    }
}

/// Whether table or view `schema.name` exists; `undefined-object` if not.
pub fn need_table(conn: &mut Connection, schema: &str, name: &str) -> Result<()> {
    let rows = conn.rows(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        &[Value::Text(schema.into()), Value::Text(name.into())],
    )?;
    if rows.is_empty() {
        return Err(driverbox_guest_sdk::client_error(
            ErrorKind::UndefinedObject,
            format!("table `{schema}`.`{name}` does not exist"),
        ));
    }
    Ok(())
}

pub fn get_databases(conn: &mut Connection) -> Result<Vec<DatabaseInfo>> {
    let rows = conn.rows(
        "SELECT s.schema_name, s.default_character_set_name, \
           (SELECT SUM(t.data_length + t.index_length) FROM information_schema.tables t \
            WHERE t.table_schema = s.schema_name) \
         FROM information_schema.schemata s ORDER BY s.schema_name",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let c = Cells(r);
            DatabaseInfo {
                name: c.str(0),
                owner: None,
                encoding: c.opt_str(1),
                size_bytes: c.opt_u64(2),
            }
        })
        .collect())
}

pub fn get_tables(conn: &mut Connection, schema: Option<&str>) -> Result<Vec<TableInfo>> {
    let schema = conn.schema_or_current(schema)?;
    let rows = conn.rows(
        "SELECT table_schema, table_name, table_type, table_comment FROM information_schema.tables \
         WHERE table_schema = ? ORDER BY table_name",
        &[Value::Text(schema)],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let c = Cells(r);
            let kind = match c.str(2).as_str() {
                "VIEW" | "SYSTEM VIEW" => TableKind::View,
                _ => TableKind::Table,
            };
            TableInfo {
                schema: c.str(0),
                name: c.str(1),
                kind,
                // MySQL writes `VIEW` as the comment of every view.
                comment: c.non_empty(3).filter(|s| kind != TableKind::View || s != "VIEW"),
            }
        })
        .collect())
}

pub fn get_columns(conn: &mut Connection, schema: Option<&str>, table: &str) -> Result<Vec<ColumnInfo>> {
    let schema = conn.schema_or_current(schema)?;
    need_table(conn, &schema, table)?;
    let rows = conn.rows(
        "SELECT column_name, ordinal_position, column_type, is_nullable, column_default, column_key, \
           column_comment, extra \
         FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        &[Value::Text(schema), Value::Text(table.into())],
    )?;
    let mariadb = conn.is_mariadb();
    Ok(rows
        .iter()
        .map(|r| {
            let c = Cells(r);
            ColumnInfo {
                name: c.str(0),
                ordinal: c.opt_u64(1).unwrap_or(0) as u32,
                data_type: c.str(2),
                nullable: c.str(3) == "YES",
                default: default_expr(mariadb, c.opt_str(4), &c.str(7)),
                primary_key: c.str(5) == "PRI",
                comment: c.non_empty(6),
            }
        })
        .collect())
}

/// A column default as an SQL expression. MariaDB writes it so (literals
/// quoted, `NULL` for none); MySQL writes literals bare and marks
/// expressions with `DEFAULT_GENERATED` in `extra`.
pub fn default_expr(mariadb: bool, raw: Option<String>, extra: &str) -> Option<String> {
    let raw = raw?;
    if mariadb {
        return (raw != "NULL").then_some(raw);
    }
    if extra.contains("DEFAULT_GENERATED") {
        Some(raw)
    } else {
        Some(driverbox_guest_sdk::sql::quote_literal(&raw))
    }
}

impl SchemaIntrospection for Connection {
    fn get_databases(&mut self) -> Result<Vec<DatabaseInfo>> {
        get_databases(self)
    }
    /// The same list as the databases: a MySQL schema is a database.
    fn get_schemas(&mut self) -> Result<Vec<SchemaInfo>> {
        Ok(get_databases(self)?
            .into_iter()
            .map(|d| SchemaInfo {
                name: d.name,
                owner: None,
            })
            .collect())
    }
    fn get_tables(&mut self, schema: Option<String>) -> Result<Vec<TableInfo>> {
        get_tables(self, schema.as_deref())
    }
    fn get_columns(&mut self, schema: Option<String>, table: String) -> Result<Vec<ColumnInfo>> {
        get_columns(self, schema.as_deref(), &table)
    }
}
