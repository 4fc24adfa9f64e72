//! `schema`: databases, schemas, tables and columns from the catalogs.

use driverbox_guest_sdk::types::Value;
use driverbox_guest_sdk::{client_error, ErrorKind, Result};

use crate::connection::Connection;
use crate::DIALECT;
use driverbox_guest_sdk::types::{ColumnInfo, DatabaseInfo, SchemaInfo, TableInfo, TableKind};
use driverbox_guest_sdk::SchemaIntrospection;

/// A relation found in `pg_class`.
#[derive(Debug, Clone)]
pub struct Relation {
    /// `pg_class.oid`.
    pub oid: i64,
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// `relkind`: `r`, `v`, `m`, `f`, `p`, `i`, `S` ...
    pub kind: String,
}

impl Relation {
    /// `"schema"."name"`.
    pub fn quoted(&self) -> Result<String> {
        DIALECT.qualified(Some(&self.schema), &self.name)
    }
}

/// Finds a relation by name (in `schema`, else through the search path);
/// `undefined-object` when there is none of one of `kinds`.
pub fn resolve_relation(conn: &mut Connection, schema: Option<&str>, name: &str, kinds: &str) -> Result<Relation> {
    let qualified = DIALECT.qualified(schema, name)?;
    let found = conn.query_first(
        "select c.oid, n.nspname, c.relname, c.relkind \
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
         where c.oid = to_regclass($1)",
        &[Value::Text(qualified.clone())],
        |c| {
            Ok(Relation {
                oid: c.i64(0)?,
                schema: c.str(1)?,
                name: c.str(2)?,
                kind: c.str(3)?,
            })
        },
    )?;
    let missing = || {
        client_error(
            ErrorKind::UndefinedObject,
            format!("relation {qualified} does not exist"),
        )
    };
    let rel = found.ok_or_else(missing)?;
    if !kinds.contains(rel.kind.as_str()) {
        return Err(missing());
    }
    Ok(rel)
}

/// A schema argument as a parameter (NULL → `current_schema()` in the SQL).
pub(crate) fn schema_param(schema: Option<&str>) -> Result<Value> {
    match schema {
        Some(s) => {
            DIALECT.validate(s)?;
            Ok(Value::Text(s.to_string()))
        }
        None => Ok(Value::Null),
    }
}

/// Databases that are not templates, with owner, encoding and (when this
/// user may connect to them) size.
pub fn get_databases(conn: &mut Connection) -> Result<Vec<DatabaseInfo>> {
    conn.query_map(
        "select d.datname, pg_catalog.pg_get_userbyid(d.datdba), \
         pg_catalog.pg_encoding_to_char(d.encoding), \
         case when has_database_privilege(d.oid, 'CONNECT') \
              then pg_catalog.pg_database_size(d.oid) end \
         from pg_catalog.pg_database d where not d.datistemplate order by d.datname",
        &[],
        |c| {
            Ok(DatabaseInfo {
                name: c.str(0)?,
                owner: c.opt_str(1)?,
                encoding: c.opt_str(2)?,
                size_bytes: c.opt_i64(3)?.map(|v| v.max(0) as u64),
            })
        },
    )
}

/// User schemas and `public`: no `pg_*` (catalog, toast, temp) nor
/// `information_schema`.
pub fn get_schemas(conn: &mut Connection) -> Result<Vec<SchemaInfo>> {
    conn.query_map(
        "select n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) \
         from pg_catalog.pg_namespace n \
         where n.nspname !~ '^pg_' and n.nspname <> 'information_schema' \
         order by n.nspname",
        &[],
        |c| {
            Ok(SchemaInfo {
                name: c.str(0)?,
                owner: c.opt_str(1)?,
            })
        },
    )
}

fn table_kind(relkind: &str) -> TableKind {
    match relkind {
        "v" => TableKind::View,
        "m" => TableKind::MaterializedView,
        "f" => TableKind::ForeignTable,
        "p" => TableKind::PartitionedTable,
        _ => TableKind::Table,
    }
}

/// Tables, views, materialized views, foreign and partitioned tables of a
/// schema (default: `current_schema()`), by name.
pub fn get_tables(conn: &mut Connection, schema: Option<&str>) -> Result<Vec<TableInfo>> {
    conn.query_map(
        "select n.nspname, c.relname, c.relkind, \
         pg_catalog.obj_description(c.oid, 'pg_class') \
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = coalesce($1, current_schema()) \
           and c.relkind in ('r', 'v', 'm', 'f', 'p') \
         order by n.nspname, c.relname",
        &[schema_param(schema)?],
        |c| {
            Ok(TableInfo {
                schema: c.str(0)?,
                name: c.str(1)?,
                kind: table_kind(&c.str(2)?),
                comment: c.opt_str(3)?,
            })
        },
    )
}

/// Columns of a table in order: type as `format_type` writes it,
/// nullability, default, primary-key membership, comment.
pub fn get_columns(conn: &mut Connection, schema: Option<&str>, table: &str) -> Result<Vec<ColumnInfo>> {
    let rel = resolve_relation(conn, schema, table, "rvmfp")?;
    conn.query_map(
        "select a.attname, \
           row_number() over (order by a.attnum), \
           pg_catalog.format_type(a.atttypid, a.atttypmod), \
           not a.attnotnull, \
           pg_catalog.pg_get_expr(d.adbin, d.adrelid), \
           exists (select 1 from pg_catalog.pg_index i \
                   where i.indrelid = a.attrelid and i.indisprimary and a.attnum = any(i.indkey)), \
           pg_catalog.col_description(a.attrelid, a.attnum) \
         from pg_catalog.pg_attribute a \
         left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum \
         where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped \
         order by a.attnum",
        &[Value::Int(rel.oid)],
        |c| {
            Ok(ColumnInfo {
                name: c.str(0)?,
                ordinal: c.i64(1)? as u32,
                data_type: c.str(2)?,
                nullable: c.bool(3)?,
                default: c.opt_str(4)?,
                primary_key: c.bool(5)?,
                comment: c.opt_str(6)?,
            })
        },
    )
}

impl SchemaIntrospection for Connection {
    fn get_databases(&mut self) -> Result<Vec<DatabaseInfo>> {
        get_databases(self)
    }

    fn get_schemas(&mut self) -> Result<Vec<SchemaInfo>> {
        get_schemas(self)
    }

    fn get_tables(&mut self, schema: Option<String>) -> Result<Vec<TableInfo>> {
        get_tables(self, schema.as_deref())
    }

    fn get_columns(&mut self, schema: Option<String>, table: String) -> Result<Vec<ColumnInfo>> {
        get_columns(self, schema.as_deref(), &table)
    }
}
