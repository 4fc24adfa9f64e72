//! Views: listing and their `SELECT`. SQLite has no materialized views.

use driverbox_guest_sdk::{client_error, ErrorKind, Result};
use rusqlite::Connection;

use crate::ddl::view_select;
use crate::schema::{resolve_schema, resolve_table};
use crate::sql::quote_unchecked;
use driverbox_guest_sdk::types::ViewInfo;
use driverbox_guest_sdk::ViewOperations;

use crate::connection::Conn;

/// Views of one schema (`main` by default), by name.
pub fn list_views(db: &Connection, schema: Option<&str>) -> Result<Vec<ViewInfo>> {
    let schema = resolve_schema(db, schema)?;
    let sql = format!(
        "SELECT name FROM {}.sqlite_schema WHERE type = 'view' ORDER BY name",
        quote_unchecked(&schema)
    );
    let names = crate::connection::query_strings(db, &sql, &[])?;
    Ok(names
        .into_iter()
        .map(|name| ViewInfo {
            schema: schema.clone(),
            name,
            materialized: false,
            comment: None,
        })
        .collect())
}

/// The `SELECT` part of the stored `CREATE VIEW`.
pub fn get_view_definition(db: &Connection, schema: Option<&str>, name: &str) -> Result<String> {
    let t = resolve_table(db, schema, name)?;
    let not_a_view = || client_error(ErrorKind::UndefinedObject, format!("no such view: {name}"));
    if t.kind != "view" {
        return Err(not_a_view());
    }
    let sql = crate::table::object_sql(db, &t.schema, &t.name)?.ok_or_else(not_a_view)?;
    view_select(&sql).ok_or_else(|| {
        client_error(
            ErrorKind::Other,
            format!("cannot find the SELECT in the definition of {name}"),
        )
    })
}

impl ViewOperations for Conn {
    fn list_views(&mut self, schema: Option<String>) -> Result<Vec<ViewInfo>> {
        list_views(self.db(), schema.as_deref())
    }

    fn get_view_definition(&mut self, schema: Option<String>, name: String) -> Result<String> {
        get_view_definition(self.db(), schema.as_deref(), &name)
    }
}
