//! `view`: views and their definitions, from `information_schema.views`.

use driverbox_guest_sdk::types::{Value, ViewInfo};
use driverbox_guest_sdk::{client_error, ErrorKind, Result, ViewOperations};

use crate::connection::Connection;
use crate::schema::Cells;
use crate::table::unquote_simple;
use crate::DIALECT;

pub fn list_views(conn: &mut Connection, schema: Option<&str>) -> Result<Vec<ViewInfo>> {
    let schema = conn.schema_or_current(schema)?;
    let rows = conn.rows(
        "SELECT table_schema, table_name FROM information_schema.views WHERE table_schema = ? ORDER BY table_name",
        &[Value::Text(schema)],
    )?;
    Ok(rows
        .iter()
        .map(|r| ViewInfo {
            schema: Cells(r).str(0),
            name: Cells(r).str(1),
            materialized: false,
            comment: None,
        })
        .collect())
}

/// The view's `SELECT` as the server stores it, less the view's own
/// schema qualifying its names and with plain names unquoted.
pub fn get_view_definition(conn: &mut Connection, schema: Option<&str>, name: &str) -> Result<String> {
    let schema = conn.schema_or_current(schema)?;
    let rows = conn.rows(
        "SELECT view_definition FROM information_schema.views WHERE table_schema = ? AND table_name = ?",
        &[Value::Text(schema.clone()), Value::Text(name.into())],
    )?;
    let own = format!("{}.", DIALECT.quote_unchecked(&schema));
    let def = rows.first().and_then(|r| Cells(r).opt_str(0));
    def.map(|d| unquote_simple(&d.replace(&own, ""))).ok_or_else(|| {
        client_error(
            ErrorKind::UndefinedObject,
            format!("view `{schema}`.`{name}` does not exist"),
        )
    })
}

impl ViewOperations for Connection {
    fn list_views(&mut self, schema: Option<String>) -> Result<Vec<ViewInfo>> {
        list_views(self, schema.as_deref())
    }
    fn get_view_definition(&mut self, schema: Option<String>, name: String) -> Result<String> {
        get_view_definition(self, schema.as_deref(), &name)
    }
}
