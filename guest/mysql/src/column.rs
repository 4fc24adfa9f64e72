//! `column`: add, alter and drop columns with `ALTER TABLE`.
//!
//! MySQL changes a column's type or nullability only by restating the
//! whole column (`MODIFY COLUMN`), so those changes read the current
//! definition from `information_schema` and keep what is not changed.

use driverbox_guest_sdk::types::{ColumnChange, ColumnDefinition, DefaultChange, Value};
use driverbox_guest_sdk::{client_error, ColumnManagement, Error, ErrorKind, Result};

use crate::connection::Connection;
use crate::schema::{default_expr, need_table, Cells};
use crate::DIALECT;

fn null_sql(nullable: bool) -> &'static str {
    if nullable {
        " NULL"
    } else {
        " NOT NULL"
    }
}

pub fn add_column(conn: &mut Connection, schema: Option<&str>, table: &str, col: &ColumnDefinition) -> Result<()> {
    let mut sql = format!(
        "ALTER TABLE {} ADD COLUMN {} {}{}",
        DIALECT.qualified(schema, table)?,
        DIALECT.quote(&col.name)?,
        col.data_type,
        null_sql(col.nullable)
    );
    if let Some(d) = &col.default {
        sql.push_str(" DEFAULT ");
        sql.push_str(d);
    }
    conn.run(&sql).map(|_| ())
}

/// The current type, nullability and default of a column.
fn current(conn: &mut Connection, schema: &str, table: &str, column: &str) -> Result<(String, bool, Option<String>)> {
    need_table(conn, schema, table)?;
    let rows = conn.rows(
        "SELECT column_type, is_nullable, column_default, extra FROM information_schema.columns \
         WHERE table_schema = ? AND table_name = ? AND column_name = ?",
        &[
            Value::Text(schema.into()),
            Value::Text(table.into()),
            Value::Text(column.into()),
        ],
    )?;
    let row = rows.first().ok_or_else(|| {
        client_error(
            ErrorKind::UndefinedObject,
            format!("column `{column}` of `{schema}`.`{table}` does not exist"),
        )
    })?;
    let c = Cells(row);
    let mariadb = conn.is_mariadb();
    Ok((
        c.str(0),
        c.str(1) == "YES",
        default_expr(mariadb, c.opt_str(2), &c.str(3)),
    ))
}

pub fn alter_column(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    column: &str,
    change: &ColumnChange,
) -> Result<()> {
    if change.using.is_some() {
        return Err(Error::unsupported(
            "MySQL has no USING clause for a type change; convert the values with UPDATE first",
        ));
    }
    let schema = conn.schema_or_current(schema)?;
    let qualified = DIALECT.qualified(Some(&schema), table)?;
    let mut name = column.to_string();
    DIALECT.validate(column)?;
    if let Some(to) = &change.rename_to {
        DIALECT.validate(to)?;
    }
    if change.data_type.is_some() || change.nullable.is_some() {
        let (ty, nullable, default) = current(conn, &schema, table, column)?;
        let ty = change.data_type.clone().unwrap_or(ty);
        let nullable = change.nullable.unwrap_or(nullable);
        let default = match &change.default {
            Some(DefaultChange::Set(d)) => Some(d.clone()),
            Some(DefaultChange::Drop) => None,
            None => default,
        };
        let new_name = change.rename_to.clone().unwrap_or_else(|| name.clone());
        let mut sql = format!(
            "ALTER TABLE {qualified} CHANGE COLUMN {} {} {ty}{}",
            DIALECT.quote(&name)?,
            DIALECT.quote(&new_name)?,
            null_sql(nullable)
        );
        if let Some(d) = default {
            sql.push_str(" DEFAULT ");
            sql.push_str(&d);
        }
        return conn.run(&sql).map(|_| ());
    }
    if let Some(to) = &change.rename_to {
        conn.run(&format!(
            "ALTER TABLE {qualified} RENAME COLUMN {} TO {}",
            DIALECT.quote(&name)?,
            DIALECT.quote(to)?
        ))?;
        name = to.clone();
    }
    match &change.default {
        Some(DefaultChange::Set(d)) => {
            conn.run(&format!(
                "ALTER TABLE {qualified} ALTER COLUMN {} SET DEFAULT {d}",
                DIALECT.quote(&name)?
            ))?;
        }
        Some(DefaultChange::Drop) => {
            conn.run(&format!(
                "ALTER TABLE {qualified} ALTER COLUMN {} DROP DEFAULT",
                DIALECT.quote(&name)?
            ))?;
        }
        None => {}
    }
    Ok(())
}

/// `ALTER TABLE … DROP COLUMN`; MySQL drops the indexes on the column
/// itself, so `cascade` changes nothing.
pub fn drop_column(conn: &mut Connection, schema: Option<&str>, table: &str, column: &str) -> Result<()> {
    conn.run(&format!(
        "ALTER TABLE {} DROP COLUMN {}",
        DIALECT.qualified(schema, table)?,
        DIALECT.quote(column)?
    ))
    .map(|_| ())
}

impl ColumnManagement for Connection {
    fn add_column(&mut self, schema: Option<String>, table: String, column: ColumnDefinition) -> Result<()> {
        add_column(self, schema.as_deref(), &table, &column)
    }
    fn alter_column(
        &mut self,
        schema: Option<String>,
        table: String,
        column: String,
        change: ColumnChange,
    ) -> Result<()> {
        alter_column(self, schema.as_deref(), &table, &column, &change)
    }
    fn drop_column(&mut self, schema: Option<String>, table: String, column: String, _cascade: bool) -> Result<()> {
        drop_column(self, schema.as_deref(), &table, &column)
    }
}
