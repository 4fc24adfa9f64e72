//! `table`: TableOperations.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::error::Result;
use crate::value::QueryResult;

pub use crate::bindings::table::{ConstraintInfo, ConstraintKind, ForeignKeyTarget, IndexInfo, TableStatistics};

/// Table contents and structure.
#[async_trait]
pub trait TableOperations: Send + Sync {
    /// A page of rows in a stable order (primary key, else physical order).
    async fn get_table_data(&self, schema: Option<&str>, table: &str, limit: u64, offset: u64) -> Result<QueryResult>;
    /// Primary key, foreign keys, unique, check and exclusion constraints.
    async fn get_table_constraints(&self, schema: Option<&str>, table: &str) -> Result<Vec<ConstraintInfo>>;
    /// Sizes and row counts; `exact_count` also counts the rows (slow on big tables).
    async fn get_table_statistics(
        &self,
        schema: Option<&str>,
        table: &str,
        exact_count: bool,
    ) -> Result<TableStatistics>;
    /// Indexes with their columns or expressions.
    async fn get_table_indexes(&self, schema: Option<&str>, table: &str) -> Result<Vec<IndexInfo>>;
}

#[async_trait]
impl TableOperations for WasmDriver {
    async fn get_table_data(&self, schema: Option<&str>, table: &str, limit: u64, offset: u64) -> Result<QueryResult> {
        let (schema, table) = (schema.map(String::from), table.to_string());
        call_optional!(
            self,
            table,
            call_get_table_data(schema.as_deref(), &table, limit, offset)
        )
        .await
    }

    async fn get_table_constraints(&self, schema: Option<&str>, table: &str) -> Result<Vec<ConstraintInfo>> {
        let (schema, table) = (schema.map(String::from), table.to_string());
        call_optional!(self, table, call_get_table_constraints(schema.as_deref(), &table)).await
    }

    async fn get_table_statistics(
        &self,
        schema: Option<&str>,
        table: &str,
        exact_count: bool,
    ) -> Result<TableStatistics> {
        let (schema, table) = (schema.map(String::from), table.to_string());
        call_optional!(
            self,
            table,
            call_get_table_statistics(schema.as_deref(), &table, exact_count)
        )
        .await
    }

    async fn get_table_indexes(&self, schema: Option<&str>, table: &str) -> Result<Vec<IndexInfo>> {
        let (schema, table) = (schema.map(String::from), table.to_string());
        call_optional!(self, table, call_get_table_indexes(schema.as_deref(), &table)).await
    }
}
