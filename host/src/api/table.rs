//! `table`: TableOperations.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::bindings::Conv;
use crate::error::Result;
use crate::value::QueryResult;

use serde::Serialize;

/// What a constraint enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintKind {
    PrimaryKey,
    ForeignKey,
    Unique,
    Check,
    Exclusion,
}

/// What a foreign key points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKeyTarget {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    /// `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL`, `SET DEFAULT`.
    pub on_update: String,
    pub on_delete: String,
}

/// A constraint of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConstraintInfo {
    pub name: String,
    pub kind: ConstraintKind,
    pub columns: Vec<String>,
    pub references: Option<ForeignKeyTarget>,
    /// The check expression, or the full definition for others.
    pub definition: Option<String>,
}

/// Sizes and row counts of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableStatistics {
    pub estimated_rows: Option<u64>,
    /// Only when asked for: counting can be slow.
    pub exact_rows: Option<u64>,
    pub table_size_bytes: Option<u64>,
    pub index_size_bytes: Option<u64>,
    pub total_size_bytes: Option<u64>,
    /// Microseconds since the Unix epoch.
    pub last_vacuum: Option<i64>,
    pub last_analyze: Option<i64>,
}

/// An index of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexInfo {
    pub name: String,
    /// Column names, or expressions as text.
    pub columns: Vec<String>,
    pub unique: bool,
    pub primary: bool,
    /// Access method, e.g. `btree`.
    pub method: Option<String>,
    /// Predicate of a partial index.
    pub predicate: Option<String>,
    pub definition: Option<String>,
}

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
        let r = call_optional!(
            self,
            table,
            call_get_table_data(schema.as_deref(), &table, limit, offset)
        )
        .await?;
        super::base::rows_result(self, r)
    }

    async fn get_table_constraints(&self, schema: Option<&str>, table: &str) -> Result<Vec<ConstraintInfo>> {
        let (schema, table) = (schema.map(String::from), table.to_string());
        call_optional!(self, table, call_get_table_constraints(schema.as_deref(), &table))
            .await
            .map(Conv::conv)
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
        .map(Conv::conv)
    }

    async fn get_table_indexes(&self, schema: Option<&str>, table: &str) -> Result<Vec<IndexInfo>> {
        let (schema, table) = (schema.map(String::from), table.to_string());
        call_optional!(self, table, call_get_table_indexes(schema.as_deref(), &table))
            .await
            .map(Conv::conv)
    }
}
