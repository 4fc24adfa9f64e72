//! Column DDL: `ADD COLUMN`, `RENAME COLUMN`, `DROP COLUMN`, and the
//! table rebuild SQLite needs for any other column change.
//!
//! Every statement is built here with quoted identifiers and run through
//! the one-statement guard, so a type or default fragment can never carry
//! a second statement.

use driverbox_guest_sdk::{client_error, Error, ErrorKind, Result};
use rusqlite::Connection;

use crate::connection::{atomically, prepare_single, Conn};
use crate::ddl::{ColumnEdit, CreateTable};
use crate::errors::DbResult;
use crate::schema::{raw_columns, resolve_table, rowid_alias, rowid_name, TableRef};
use crate::sql::{check_fragment, check_ident, qualified, quote_ident, quote_literal, quote_unchecked};
use driverbox_guest_sdk::types::{ColumnChange, ColumnDefinition, DefaultChange};
use driverbox_guest_sdk::ColumnManagement;

/// Runs one statement built by the driver.
fn exec(db: &Connection, sql: &str) -> Result<()> {
    let (mut stmt, _) = prepare_single(db, sql)?;
    stmt.raw_execute().db()?;
    Ok(())
}

fn table_only(t: &TableRef) -> Result<()> {
    if t.kind != "table" {
        return Err(Error::invalid(format!("{} is a {}, not a table", t.name, t.kind)));
    }
    Ok(())
}

fn find_column(db: &Connection, t: &TableRef, column: &str) -> Result<String> {
    raw_columns(db, t)?
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(column))
        .map(|c| c.name)
        .ok_or_else(|| {
            client_error(
                ErrorKind::UndefinedObject,
                format!("no such column: {}.{column}", t.name),
            )
        })
}

/// `ALTER TABLE ... ADD COLUMN name type [NOT NULL] [DEFAULT expr]`.
pub fn add_column(db: &Connection, schema: Option<&str>, table: &str, col: &ColumnDefinition) -> Result<()> {
    let name = quote_ident(&col.name)?;
    check_fragment("data type", &col.data_type)?;
    if let Some(d) = &col.default {
        check_fragment("default", d)?;
    }
    let t = resolve_table(db, schema, table)?;
    table_only(&t)?;
    let mut sql = format!("ALTER TABLE {} ADD COLUMN {name} {}", t.qualified(), col.data_type);
    if !col.nullable {
        sql.push_str(" NOT NULL");
    }
    if let Some(d) = &col.default {
        sql.push_str(" DEFAULT ");
        sql.push_str(d);
    }
    exec(db, &sql)
}

/// Renames and/or changes a column, all in one transaction. Renaming is
/// `RENAME COLUMN`; a type, nullability or default change rebuilds the
/// table (see [`rebuild_table`]).
pub fn alter_column(
    db: &Connection,
    schema: Option<&str>,
    table: &str,
    column: &str,
    change: &ColumnChange,
) -> Result<()> {
    check_ident("column", column)?;
    let rename = match &change.rename_to {
        Some(n) => Some(quote_ident(n)?),
        None => None,
    };
    if let Some(t) = &change.data_type {
        check_fragment("data type", t)?;
    }
    if let Some(u) = &change.using {
        check_fragment("conversion expression", u)?;
    }
    if let Some(DefaultChange::Set(d)) = &change.default {
        check_fragment("default", d)?;
    }
    let t = resolve_table(db, schema, table)?;
    table_only(&t)?;
    let current = find_column(db, &t, column)?;
    let edit = ColumnEdit {
        data_type: change.data_type.clone(),
        nullable: change.nullable,
        default: change.default.as_ref().map(|d| match d {
            DefaultChange::Set(s) => Some(s.clone()),
            DefaultChange::Drop => None,
        }),
    };
    let rebuild = edit.data_type.is_some() || edit.nullable.is_some() || edit.default.is_some();
    if change.using.is_some() && change.data_type.is_none() {
        return Err(Error::invalid("a conversion expression (using) needs a new data type"));
    }
    if !rebuild && rename.is_none() {
        return Ok(());
    }
    let rename_sql = rename.map(|new| {
        format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {new}",
            t.qualified(),
            quote_unchecked(&current)
        )
    });
    if rebuild {
        rebuild_table(db, &t, &current, &edit, change.using.as_deref(), rename_sql.as_deref())
    } else {
        rename_sql.map_or(Ok(()), |sql| exec(db, &sql))
    }
}

fn scalar_i64(db: &Connection, sql: &str) -> Result<i64> {
    db.query_row(sql, [], |r| r.get(0)).db()
}

/// Changes one column's definition by rebuilding the table, following
/// SQLite's documented procedure ("Making Other Kinds Of Table Schema
/// Changes", lang_altertable.html):
///
/// 1. foreign keys off (only possible outside a transaction);
/// 2. begin;
/// 3. remember the table's indexes and triggers;
/// 4. create the new table from the stored `CREATE TABLE` with the column
///    rewritten;
/// 5. copy the rows (rowids kept);
/// 6. drop the old table;
/// 7. rename the new one, with `legacy_alter_table` on so views and
///    triggers that name the table are neither rewritten nor re-checked
///    against the half-built schema;
/// 8. recreate indexes and triggers;
/// 9. views name the table, so they keep working;
/// 10. `foreign_key_check`;
/// 11. commit;
/// 12. foreign keys back on.
///
/// `AUTOINCREMENT` counters are kept. `then` (a column rename) runs last,
/// in the same transaction.
///
/// Inside an open transaction with foreign keys on, the old table cannot
/// be dropped without firing `ON DELETE` actions, so that case is refused.
pub fn rebuild_table(
    db: &Connection,
    t: &TableRef,
    column: &str,
    edit: &ColumnEdit,
    using: Option<&str>,
    then: Option<&str>,
) -> Result<()> {
    let fk_on = scalar_i64(db, "PRAGMA foreign_keys")? != 0;
    let in_tx = !db.is_autocommit();
    if in_tx && fk_on {
        return Err(client_error(
            ErrorKind::InvalidInput,
            "changing a column's type, nullability or default rebuilds the table, which cannot be \
             done inside an open transaction while foreign keys are on: commit first",
        ));
    }
    let sql = crate::table::object_sql(db, &t.schema, &t.name)?
        .ok_or_else(|| Error::invalid(format!("{} has no stored definition", t.name)))?;
    let create = CreateTable::parse(&sql)
        .ok_or_else(|| Error::unsupported(format!("cannot read the definition of {}", t.name)))?;
    let tmp = temp_name(db, t)?;
    let new_sql = create
        .rewrite_column(&qualified(&t.schema, &tmp), column, edit)
        .ok_or_else(|| {
            client_error(
                ErrorKind::UndefinedObject,
                format!("no such column: {}.{column}", t.name),
            )
        })?;

    let cols = raw_columns(db, t)?;
    // Generated columns are computed, not copied.
    let copied: Vec<&str> = cols.iter().filter(|c| c.hidden == 0).map(|c| c.name.as_str()).collect();
    let mut targets: Vec<String> = copied.iter().map(|c| quote_unchecked(c)).collect();
    let mut sources: Vec<String> = copied
        .iter()
        .map(|c| match using {
            Some(u) if c.eq_ignore_ascii_case(column) => format!("({u})"),
            _ => quote_unchecked(c),
        })
        .collect();
    if t.has_rowid() && rowid_alias(t, &cols).is_none() {
        if let Some(r) = rowid_name(&cols) {
            targets.insert(0, r.to_string());
            sources.insert(0, r.to_string());
        }
    }

    let schema_q = quote_unchecked(&t.schema);
    let dependents: Vec<String> = crate::connection::query_strings(
        db,
        &format!(
            "SELECT sql FROM {schema_q}.sqlite_schema WHERE tbl_name = ?1 COLLATE NOCASE \
             AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type = 'trigger', rowid"
        ),
        &[&t.name],
    )?;
    let sequence: Option<i64> = sequence_of(db, t)?;

    if fk_on {
        db.execute_batch("PRAGMA foreign_keys = OFF").db()?;
    }
    let legacy = scalar_i64(db, "PRAGMA legacy_alter_table")?;
    let result = atomically(db, || {
        exec(db, &new_sql)?;
        exec(
            db,
            &format!(
                "INSERT INTO {} ({}) SELECT {} FROM {}",
                qualified(&t.schema, &tmp),
                targets.join(", "),
                sources.join(", "),
                t.qualified()
            ),
        )?;
        exec(db, &format!("DROP TABLE {}", t.qualified()))?;
        db.execute_batch("PRAGMA legacy_alter_table = ON").db()?;
        let renamed = exec(
            db,
            &format!(
                "ALTER TABLE {} RENAME TO {}",
                qualified(&t.schema, &tmp),
                quote_unchecked(&t.name)
            ),
        );
        db.execute_batch(&format!("PRAGMA legacy_alter_table = {legacy}"))
            .db()?;
        renamed?;
        for ddl in &dependents {
            // Stored statements are unqualified and belong to this schema.
            let ddl = qualify_create(ddl, &t.schema);
            exec(db, &ddl)?;
        }
        if let Some(seq) = sequence {
            db.execute(
                &format!("UPDATE {schema_q}.sqlite_sequence SET seq = max(seq, ?1) WHERE name = ?2"),
                rusqlite::params![seq, t.name],
            )
            .db()?;
        }
        if let Some(sql) = then {
            exec(db, sql)?;
        }
        if fk_on {
            let broken: i64 = scalar_i64(
                db,
                &format!(
                    "SELECT count(*) FROM pragma_foreign_key_check(NULL, {})",
                    quote_literal(&t.schema)
                ),
            )?;
            if broken > 0 {
                return Err(client_error(
                    ErrorKind::ForeignKeyViolation,
                    format!(
                        "the new definition of {} breaks {broken} foreign key reference(s)",
                        t.name
                    ),
                ));
            }
        }
        Ok(())
    });
    if fk_on {
        let _ = db.execute_batch("PRAGMA foreign_keys = ON");
    }
    result
}

/// The `AUTOINCREMENT` counter of a table, if it has one.
fn sequence_of(db: &Connection, t: &TableRef) -> Result<Option<i64>> {
    let schema_q = quote_unchecked(&t.schema);
    let has: i64 = scalar_i64(
        db,
        &format!("SELECT count(*) FROM {schema_q}.sqlite_schema WHERE name = 'sqlite_sequence'"),
    )?;
    if has == 0 {
        return Ok(None);
    }
    let mut stmt = db
        .prepare(&format!("SELECT seq FROM {schema_q}.sqlite_sequence WHERE name = ?1"))
        .db()?;
    let mut rows = stmt.query([&t.name]).db()?;
    Ok(match rows.next().db()? {
        Some(r) => r.get(0).db()?,
        None => None,
    })
}

/// A table name not in use, for the rebuilt copy.
fn temp_name(db: &Connection, t: &TableRef) -> Result<String> {
    for i in 0..1000 {
        let name = if i == 0 {
            format!("driverbox_new_{}", t.name)
        } else {
            format!("driverbox_new_{}_{i}", t.name)
        };
        let taken: i64 = db
            .query_row(
                &format!(
                    "SELECT count(*) FROM {}.sqlite_schema WHERE name = ?1 COLLATE NOCASE",
                    quote_unchecked(&t.schema)
                ),
                [&name],
                |r| r.get(0),
            )
            .db()?;
        if taken == 0 {
            return Ok(name);
        }
    }
    Err(client_error(ErrorKind::Other, "no free name for the rebuilt table"))
}

/// Puts `"schema".` before the object name of a stored `CREATE INDEX` or
/// `CREATE TRIGGER` (SQLite stores them unqualified), so they are recreated
/// in the table's schema.
fn qualify_create(sql: &str, schema: &str) -> String {
    if schema.eq_ignore_ascii_case("main") {
        return sql.to_string();
    }
    let tokens = crate::sql::tokenize(sql);
    let mut i = 0;
    while i < tokens.len() && !(tokens[i].is_kw("INDEX") || tokens[i].is_kw("TRIGGER")) {
        i += 1;
    }
    i += 1;
    if tokens.get(i).is_some_and(|t| t.is_kw("IF")) {
        i += 3;
    }
    match tokens.get(i) {
        Some(name) if !tokens.get(i + 1).is_some_and(|t| t.is_punct(".")) => format!(
            "{}{}.{}",
            sql.get(..name.start).unwrap_or(""),
            quote_unchecked(schema),
            sql.get(name.start..).unwrap_or("")
        ),
        _ => sql.to_string(),
    }
}

/// `ALTER TABLE ... DROP COLUMN` (SQLite 3.35+). With `cascade`, the
/// indexes that use the column are dropped first, in the same transaction;
/// SQLite still refuses columns in a key, a foreign key, a check, a view
/// or a trigger.
pub fn drop_column(db: &Connection, schema: Option<&str>, table: &str, column: &str, cascade: bool) -> Result<()> {
    check_ident("column", column)?;
    let t = resolve_table(db, schema, table)?;
    table_only(&t)?;
    let current = find_column(db, &t, column)?;
    let drop = format!(
        "ALTER TABLE {} DROP COLUMN {}",
        t.qualified(),
        quote_unchecked(&current)
    );
    if !cascade {
        return exec(db, &drop);
    }
    atomically(db, || {
        let indexes = crate::connection::query_strings(
            db,
            "SELECT DISTINCT il.name FROM pragma_index_list(?1, ?2) AS il, \
             pragma_index_xinfo(il.name, ?2) AS ix \
             WHERE il.origin = 'c' AND ix.name = ?3 COLLATE NOCASE",
            &[&t.name, &t.schema, &current],
        )?;
        for idx in indexes {
            exec(db, &format!("DROP INDEX {}", qualified(&t.schema, &idx)))?;
        }
        exec(db, &drop)
    })
}

impl ColumnManagement for Conn {
    fn add_column(&mut self, schema: Option<String>, table: String, column: ColumnDefinition) -> Result<()> {
        add_column(self.db(), schema.as_deref(), &table, &column)
    }

    fn alter_column(
        &mut self,
        schema: Option<String>,
        table: String,
        column: String,
        change: ColumnChange,
    ) -> Result<()> {
        alter_column(self.db(), schema.as_deref(), &table, &column, &change)
    }

    fn drop_column(&mut self, schema: Option<String>, table: String, column: String, cascade: bool) -> Result<()> {
        drop_column(self.db(), schema.as_deref(), &table, &column, cascade)
    }
}
