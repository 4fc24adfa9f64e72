//! `column`: add, alter and drop columns. Identifiers are quoted here;
//! types and defaults are SQL fragments the host checked. Statements go
//! through the extended protocol, whose Parse refuses several statements.

use driverbox_guest_sdk::{Error, Result};

use crate::connection::Connection;
use crate::DIALECT;
use driverbox_guest_sdk::types::{ColumnChange, ColumnDefinition, DefaultChange};
use driverbox_guest_sdk::ColumnManagement;

/// `ALTER TABLE ... ADD COLUMN`.
pub fn add_column(conn: &mut Connection, schema: Option<&str>, table: &str, column: &ColumnDefinition) -> Result<()> {
    let mut sql = format!(
        "ALTER TABLE {} ADD COLUMN {} {}",
        DIALECT.qualified(schema, table)?,
        DIALECT.quote(&column.name)?,
        column.data_type
    );
    if !column.nullable {
        sql.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        sql.push_str(" DEFAULT ");
        sql.push_str(default);
    }
    conn.run(&sql).map(|_| ())
}

/// The statements for a change, in the order they run (rename last).
pub fn alter_statements(schema: Option<&str>, table: &str, column: &str, change: &ColumnChange) -> Result<Vec<String>> {
    let t = DIALECT.qualified(schema, table)?;
    let col = DIALECT.quote(column)?;
    let mut stmts = Vec::new();
    match (&change.data_type, &change.using) {
        (Some(ty), using) => {
            let mut s = format!("ALTER TABLE {t} ALTER COLUMN {col} TYPE {ty}");
            if let Some(u) = using {
                s.push_str(" USING ");
                s.push_str(u);
            }
            stmts.push(s);
        }
        (None, Some(_)) => return Err(Error::invalid("`using` needs a new data type")),
        (None, None) => {}
    }
    if let Some(nullable) = change.nullable {
        let what = if nullable { "DROP NOT NULL" } else { "SET NOT NULL" };
        stmts.push(format!("ALTER TABLE {t} ALTER COLUMN {col} {what}"));
    }
    match &change.default {
        Some(DefaultChange::Set(expr)) => stmts.push(format!("ALTER TABLE {t} ALTER COLUMN {col} SET DEFAULT {expr}")),
        Some(DefaultChange::Drop) => stmts.push(format!("ALTER TABLE {t} ALTER COLUMN {col} DROP DEFAULT")),
        None => {}
    }
    if let Some(new_name) = &change.rename_to {
        stmts.push(format!(
            "ALTER TABLE {t} RENAME COLUMN {col} TO {}",
            DIALECT.quote(new_name)?
        ));
    }
    Ok(stmts)
}

/// Runs `stmts` atomically: in a new transaction, or under a savepoint
/// when one is open already.
pub fn run_atomically(conn: &mut Connection, stmts: &[String]) -> Result<()> {
    if stmts.len() <= 1 {
        for s in stmts {
            conn.run(s)?;
        }
        return Ok(());
    }
    let (begin, commit, undo): (&str, &str, &[&str]) = if conn.in_transaction() {
        (
            "SAVEPOINT dbx_alter_column",
            "RELEASE SAVEPOINT dbx_alter_column",
            &[
                "ROLLBACK TO SAVEPOINT dbx_alter_column",
                "RELEASE SAVEPOINT dbx_alter_column",
            ],
        )
    } else {
        ("BEGIN", "COMMIT", &["ROLLBACK"])
    };
    conn.run(begin)?;
    for s in stmts {
        if let Err(e) = conn.run(s) {
            for u in undo {
                if conn.is_broken() {
                    break;
                }
                let _ = conn.run(u);
            }
            return Err(e);
        }
    }
    conn.run(commit).map(|_| ())
}

/// Applies `change` to a column, all in one transaction.
pub fn alter_column(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    column: &str,
    change: &ColumnChange,
) -> Result<()> {
    let stmts = alter_statements(schema, table, column, change)?;
    run_atomically(conn, &stmts)
}

/// `ALTER TABLE ... DROP COLUMN [CASCADE]`.
pub fn drop_column(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    column: &str,
    cascade: bool,
) -> Result<()> {
    let sql = format!(
        "ALTER TABLE {} DROP COLUMN {}{}",
        DIALECT.qualified(schema, table)?,
        DIALECT.quote(column)?,
        if cascade { " CASCADE" } else { "" }
    );
    conn.run(&sql).map(|_| ())
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

    fn drop_column(&mut self, schema: Option<String>, table: String, column: String, cascade: bool) -> Result<()> {
        drop_column(self, schema.as_deref(), &table, &column, cascade)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_alter_statements() {
        let change = ColumnChange {
            rename_to: Some("new \"name\"".into()),
            data_type: Some("bigint".into()),
            using: Some("x::bigint".into()),
            nullable: Some(false),
            default: Some(DefaultChange::Set("0".into())),
        };
        let stmts = alter_statements(Some("s"), "t", "x", &change).unwrap();
        assert_eq!(
            stmts,
            vec![
                "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"x\" TYPE bigint USING x::bigint",
                "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"x\" SET NOT NULL",
                "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"x\" SET DEFAULT 0",
                "ALTER TABLE \"s\".\"t\" RENAME COLUMN \"x\" TO \"new \"\"name\"\"\"",
            ]
        );
        let bad = ColumnChange {
            rename_to: None,
            data_type: None,
            using: Some("x".into()),
            nullable: None,
            default: None,
        };
        assert!(alter_statements(None, "t", "x", &bad).is_err());
        let empty = ColumnChange { using: None, ..bad };
        assert!(alter_statements(None, "t", "x", &empty).unwrap().is_empty());
        assert!(alter_statements(None, "", "x", &empty).is_err());
    }
}
