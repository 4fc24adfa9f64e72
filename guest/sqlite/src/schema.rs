//! Introspection: databases, schemas, tables and columns.
//!
//! SQLite's "schemas" are the attached databases: `main`, `temp` (once
//! used) and whatever `ATTACH` added. `schema: none` means `main` for
//! listings; for a named table it means SQLite's own lookup order
//! (`temp`, `main`, then attached databases).

use driverbox_guest_sdk::{client_error, ErrorKind, Result};
use rusqlite::Connection;

use crate::errors::DbResult;
use crate::sql::{check_ident, quote_unchecked};
use driverbox_guest_sdk::types::{ColumnInfo, DatabaseInfo, SchemaInfo, TableInfo, TableKind};
use driverbox_guest_sdk::SchemaIntrospection;

use crate::connection::Conn;

/// A table or view found in the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRef {
    /// The schema (attached database) it lives in.
    pub schema: String,
    /// Its name as stored.
    pub name: String,
    /// `table`, `view`, `virtual` or `shadow`.
    pub kind: String,
    /// Declared `WITHOUT ROWID`.
    pub without_rowid: bool,
}

impl TableRef {
    /// `"schema"."name"`.
    pub fn qualified(&self) -> String {
        crate::sql::qualified(&self.schema, &self.name)
    }

    /// Whether rows have a rowid (ordinary tables only).
    pub fn has_rowid(&self) -> bool {
        self.kind == "table" && !self.without_rowid
    }
}

/// Names of the attached databases, in `database_list` order.
pub fn schema_names(db: &Connection) -> Result<Vec<String>> {
    crate::connection::query_strings(db, "SELECT name FROM pragma_database_list ORDER BY seq", &[])
}

/// Checks a schema name the caller gave and gives it as SQLite spells it.
pub fn resolve_schema(db: &Connection, schema: Option<&str>) -> Result<String> {
    let Some(schema) = schema else {
        return Ok("main".to_string());
    };
    check_ident("schema", schema)?;
    schema_names(db)?
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(schema))
        .ok_or_else(|| client_error(ErrorKind::UndefinedObject, format!("no such schema: {schema}")))
}

/// Finds a table or view by name (SQLite names are case-insensitive).
/// Unknown names are `undefined-object`.
pub fn resolve_table(db: &Connection, schema: Option<&str>, table: &str) -> Result<TableRef> {
    check_ident("table", table)?;
    let wanted = match schema {
        Some(s) => Some(resolve_schema(db, Some(s))?),
        None => None,
    };
    let order = schema_names(db)?;
    let mut stmt = db
        .prepare("SELECT schema, name, type, wr FROM pragma_table_list WHERE name = ?1 COLLATE NOCASE")
        .db()?;
    let found = stmt
        .query_map([table], |r| {
            Ok(TableRef {
                schema: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                without_rowid: r.get::<_, i64>(3)? != 0,
            })
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    // SQLite looks in temp first, then main, then attached databases.
    let rank = |s: &str| match s {
        "temp" => 0,
        "main" => 1,
        other => 2 + order.iter().position(|o| o == other).unwrap_or(usize::MAX - 2),
    };
    found
        .into_iter()
        .filter(|t| wanted.as_deref().is_none_or(|w| w == t.schema))
        .min_by_key(|t| rank(&t.schema))
        .ok_or_else(|| {
            let name = match &wanted {
                Some(s) => format!("{s}.{table}"),
                None => table.to_string(),
            };
            client_error(ErrorKind::UndefinedObject, format!("no such table: {name}"))
        })
}

/// One entry per attached database, with its size.
pub fn get_databases(db: &Connection) -> Result<Vec<DatabaseInfo>> {
    let encoding: Option<String> = db.query_row("PRAGMA encoding", [], |r| r.get(0)).ok();
    let mut out = Vec::new();
    for name in schema_names(db)? {
        let q = quote_unchecked(&name);
        let pages: i64 = db.query_row(&format!("PRAGMA {q}.page_count"), [], |r| r.get(0)).db()?;
        let size: i64 = db.query_row(&format!("PRAGMA {q}.page_size"), [], |r| r.get(0)).db()?;
        out.push(DatabaseInfo {
            name,
            owner: None,
            encoding: encoding.clone(),
            size_bytes: u64::try_from(pages.saturating_mul(size)).ok(),
        });
    }
    Ok(out)
}

/// The same names as schemas.
pub fn get_schemas(db: &Connection) -> Result<Vec<SchemaInfo>> {
    Ok(schema_names(db)?
        .into_iter()
        .map(|name| SchemaInfo { name, owner: None })
        .collect())
}

/// Tables and views of one schema (`main` by default), by name. SQLite's
/// internal tables (`sqlite_*`) and the shadow tables of virtual tables
/// are left out.
pub fn get_tables(db: &Connection, schema: Option<&str>) -> Result<Vec<TableInfo>> {
    let schema = resolve_schema(db, schema)?;
    let mut stmt = db
        .prepare(
            "SELECT name, type FROM pragma_table_list WHERE schema = ?1 \
             AND type IN ('table', 'view', 'virtual') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             ORDER BY name",
        )
        .db()?;
    let rows = stmt
        .query_map([&schema], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .db()?;
    let mut out = Vec::new();
    for row in rows {
        let (name, kind) = row.db()?;
        out.push(TableInfo {
            schema: schema.clone(),
            name,
            kind: if kind == "view" {
                TableKind::View
            } else {
                TableKind::Table
            },
            comment: None,
        });
    }
    Ok(out)
}

/// A column as `PRAGMA table_xinfo` describes it.
#[derive(Clone, Debug)]
pub struct RawColumn {
    /// Name.
    pub name: String,
    /// Declared type (may be empty).
    pub decl: String,
    /// `NOT NULL` declared.
    pub not_null: bool,
    /// Default expression text.
    pub default: Option<String>,
    /// Position in the primary key (1-based), 0 when not in it.
    pub pk: i64,
    /// 0 normal, 1 hidden (virtual tables), 2/3 generated.
    pub hidden: i64,
}

/// The columns of a resolved table, hidden virtual-table columns left out.
pub fn raw_columns(db: &Connection, t: &TableRef) -> Result<Vec<RawColumn>> {
    let mut stmt = db
        .prepare(
            "SELECT name, type, \"notnull\", dflt_value, pk, hidden \
             FROM pragma_table_xinfo(?1, ?2) ORDER BY cid",
        )
        .db()?;
    let rows = stmt
        .query_map([&t.name, &t.schema], |r| {
            Ok(RawColumn {
                name: r.get(0)?,
                // Declared types are case-insensitive: given upper-cased.
                decl: r.get::<_, Option<String>>(1)?.unwrap_or_default().to_ascii_uppercase(),
                not_null: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                pk: r.get(4)?,
                hidden: r.get(5)?,
            })
        })
        .db()?;
    let mut out = Vec::new();
    for r in rows {
        let c = r.db()?;
        if c.hidden != 1 {
            out.push(c);
        }
    }
    Ok(out)
}

/// Primary-key column names in key order.
pub fn primary_key(cols: &[RawColumn]) -> Vec<String> {
    let mut pk: Vec<&RawColumn> = cols.iter().filter(|c| c.pk > 0).collect();
    pk.sort_by_key(|c| c.pk);
    pk.into_iter().map(|c| c.name.clone()).collect()
}

/// Whether the table's only key column is an `INTEGER PRIMARY KEY`, i.e.
/// an alias of the rowid.
pub fn rowid_alias(t: &TableRef, cols: &[RawColumn]) -> Option<String> {
    let pk: Vec<&RawColumn> = cols.iter().filter(|c| c.pk > 0).collect();
    match pk.as_slice() {
        [c] if t.has_rowid() && c.decl.eq_ignore_ascii_case("INTEGER") => Some(c.name.clone()),
        _ => None,
    }
}

/// A name for the rowid that no column shadows (`rowid`, `_rowid_`, `oid`).
pub fn rowid_name(cols: &[RawColumn]) -> Option<&'static str> {
    ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|n| !cols.iter().any(|c| c.name.eq_ignore_ascii_case(n)))
}

/// Columns in table order; an unknown table is `undefined-object`.
pub fn get_columns(db: &Connection, schema: Option<&str>, table: &str) -> Result<Vec<ColumnInfo>> {
    let t = resolve_table(db, schema, table)?;
    let cols = raw_columns(db, &t)?;
    let alias = rowid_alias(&t, &cols);
    Ok(cols
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            // INTEGER PRIMARY KEY and WITHOUT ROWID keys can never be NULL;
            // other keys of rowid tables can (an old SQLite quirk).
            let key_not_null = c.pk > 0 && (t.without_rowid || alias.as_deref() == Some(c.name.as_str()));
            ColumnInfo {
                ordinal: u32::try_from(i + 1).unwrap_or(u32::MAX),
                data_type: c.decl,
                nullable: !c.not_null && !key_not_null,
                default: c.default,
                primary_key: c.pk > 0,
                comment: None,
                name: c.name,
            }
        })
        .collect())
}

impl SchemaIntrospection for Conn {
    fn get_databases(&mut self) -> Result<Vec<DatabaseInfo>> {
        get_databases(self.db())
    }

    fn get_schemas(&mut self) -> Result<Vec<SchemaInfo>> {
        get_schemas(self.db())
    }

    fn get_tables(&mut self, schema: Option<String>) -> Result<Vec<TableInfo>> {
        get_tables(self.db(), schema.as_deref())
    }

    fn get_columns(&mut self, schema: Option<String>, table: String) -> Result<Vec<ColumnInfo>> {
        get_columns(self.db(), schema.as_deref(), &table)
    }
}
