//! `column`: ColumnManagement. Types and defaults are SQL fragments; the
//! host checks with sqlparser that each is exactly one type or one
//! expression before the driver sees it, and the driver quotes identifiers.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::bindings::types::ErrorKind;
use crate::error::{Error, Result};
use crate::sql;

pub use crate::bindings::column::{ColumnChange, ColumnDefinition, DefaultChange};

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
        let (schema, table, column) = (schema.map(String::from), table.to_string(), column.clone());
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
            change.clone(),
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
