//! `column`: ColumnManagement. Types and defaults are SQL fragments; the
//! host checks with sqlparser that each is exactly one type or one
//! expression before the driver sees it, and the driver quotes identifiers.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::bindings::v0_2::types as w;
use crate::bindings::Conv;
use crate::error::{Error, ErrorKind, Result};
use crate::sql;

use serde::Serialize;

/// A column to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDefinition {
    pub name: String,
    /// The type, as SQL.
    pub data_type: String,
    pub nullable: bool,
    /// Default expression, SQL.
    pub default: Option<String>,
}

/// A change of a column's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DefaultChange {
    Set(String),
    Drop,
}

/// What to change in a column; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ColumnChange {
    pub rename_to: Option<String>,
    pub data_type: Option<String>,
    /// Conversion expression for a type change (PostgreSQL `USING`).
    pub using: Option<String>,
    pub nullable: Option<bool>,
    pub default: Option<DefaultChange>,
}

/// Adding, changing and dropping columns.
#[async_trait]
pub trait ColumnManagement: Send + Sync {
    async fn add_column(&self, schema: Option<&str>, table: &str, column: &ColumnDefinition) -> Result<()>;
    /// All changes in one transaction.
    async fn alter_column(&self, schema: Option<&str>, table: &str, column: &str, change: &ColumnChange) -> Result<()>;
    async fn drop_column(&self, schema: Option<&str>, table: &str, column: &str, cascade: bool) -> Result<()>;
}

impl WasmDriver {
    fn check_fragments(&self, data_type: Option<&str>, expressions: &[Option<&str>]) -> Result<()> {
        let dialect = sql::dialect(&self.info().dialect);
        let refuse = |m: String| Error::client(&self.name(), ErrorKind::InvalidInput, m);
        if let Some(t) = data_type {
            sql::check_data_type(&*dialect, t).map_err(refuse)?;
        }
        for e in expressions.iter().flatten() {
            sql::check_expression(&*dialect, e).map_err(refuse)?;
        }
        Ok(())
    }
}

#[async_trait]
impl ColumnManagement for WasmDriver {
    async fn add_column(&self, schema: Option<&str>, table: &str, column: &ColumnDefinition) -> Result<()> {
        self.check_fragments(Some(&column.data_type), &[column.default.as_deref()])?;
        let (schema, table, column): (_, _, w::ColumnDefinition) =
            (schema.map(String::from), table.to_string(), column.clone().conv());
        call_optional!(self, column, call_add_column(schema.as_deref(), &table, &column)).await
    }

    async fn alter_column(&self, schema: Option<&str>, table: &str, column: &str, change: &ColumnChange) -> Result<()> {
        let default = match &change.default {
            Some(DefaultChange::Set(d)) => Some(d.as_str()),
            _ => None,
        };
        self.check_fragments(change.data_type.as_deref(), &[default, change.using.as_deref()])?;
        let (schema, table, column, change) = (
            schema.map(String::from),
            table.to_string(),
            column.to_string(),
            Conv::<w::ColumnChange>::conv(change.clone()),
        );
        call_optional!(
            self,
            column,
            call_alter_column(schema.as_deref(), &table, &column, &change)
        )
        .await
    }

    async fn drop_column(&self, schema: Option<&str>, table: &str, column: &str, cascade: bool) -> Result<()> {
        let (schema, table, column) = (schema.map(String::from), table.to_string(), column.to_string());
        call_optional!(
            self,
            column,
            call_drop_column(schema.as_deref(), &table, &column, cascade)
        )
        .await
    }
}
