//! `view`: views and materialized views.

use driverbox_guest_sdk::types::Value;
use driverbox_guest_sdk::{Error, Result};

use crate::connection::Connection;
use crate::schema::{resolve_relation, schema_param};
use driverbox_guest_sdk::types::ViewInfo;
use driverbox_guest_sdk::ViewOperations;

/// Views and materialized views of a schema (default `current_schema()`).
pub fn list_views(conn: &mut Connection, schema: Option<&str>) -> Result<Vec<ViewInfo>> {
    conn.query_map(
        "select n.nspname, c.relname, c.relkind = 'm', \
         pg_catalog.obj_description(c.oid, 'pg_class') \
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = coalesce($1, current_schema()) and c.relkind in ('v', 'm') \
         order by n.nspname, c.relname",
        &[schema_param(schema)?],
        |c| {
            Ok(ViewInfo {
                schema: c.str(0)?,
                name: c.str(1)?,
                materialized: c.bool(2)?,
                comment: c.opt_str(3)?,
            })
        },
    )
}

/// The `SELECT` a view runs (`pg_get_viewdef`, pretty-printed).
pub fn get_view_definition(conn: &mut Connection, schema: Option<&str>, name: &str) -> Result<String> {
    let rel = resolve_relation(conn, schema, name, "vm")?;
    conn.query_first(
        "select pg_catalog.pg_get_viewdef($1::oid, true)",
        &[Value::Int(rel.oid)],
        |c| c.str(0),
    )?
    .ok_or_else(|| Error::protocol("no view definition returned"))
}

impl ViewOperations for Connection {
    fn list_views(&mut self, schema: Option<String>) -> Result<Vec<ViewInfo>> {
        list_views(self, schema.as_deref())
    }

    fn get_view_definition(&mut self, schema: Option<String>, name: String) -> Result<String> {
        get_view_definition(self, schema.as_deref(), &name)
    }
}
