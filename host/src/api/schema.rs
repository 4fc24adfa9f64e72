//! `schema`: SchemaIntrospection.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::bindings::Conv;
use crate::error::Result;

use serde::Serialize;

/// A database on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseInfo {
    pub name: String,
    pub owner: Option<String>,
    pub encoding: Option<String>,
    pub size_bytes: Option<u64>,
}

/// A schema (namespace) of the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaInfo {
    pub name: String,
    pub owner: Option<String>,
}

/// What kind of relation a table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableKind {
    Table,
    View,
    MaterializedView,
    ForeignTable,
    PartitionedTable,
}

/// A table, view or the like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableInfo {
    pub schema: String,
    pub name: String,
    pub kind: TableKind,
    pub comment: Option<String>,
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    /// 1-based position in the table.
    pub ordinal: u32,
    /// Full type as the database writes it, e.g. `character varying(20)`.
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub primary_key: bool,
    pub comment: Option<String>,
}

/// Databases, schemas, tables and columns. `schema: None` means the
/// connection's default schema.
#[async_trait]
pub trait SchemaIntrospection: Send + Sync {
    async fn get_databases(&self) -> Result<Vec<DatabaseInfo>>;
    async fn get_schemas(&self) -> Result<Vec<SchemaInfo>>;
    async fn get_tables(&self, schema: Option<&str>) -> Result<Vec<TableInfo>>;
    async fn get_columns(&self, schema: Option<&str>, table: &str) -> Result<Vec<ColumnInfo>>;
}

#[async_trait]
impl SchemaIntrospection for WasmDriver {
    async fn get_databases(&self) -> Result<Vec<DatabaseInfo>> {
        call_optional!(self, schema, call_get_databases()).await.map(Conv::conv)
    }

    async fn get_schemas(&self) -> Result<Vec<SchemaInfo>> {
        call_optional!(self, schema, call_get_schemas()).await.map(Conv::conv)
    }

    async fn get_tables(&self, schema: Option<&str>) -> Result<Vec<TableInfo>> {
        let schema = schema.map(String::from);
        call_optional!(self, schema, call_get_tables(schema.as_deref()))
            .await
            .map(Conv::conv)
    }

    async fn get_columns(&self, schema: Option<&str>, table: &str) -> Result<Vec<ColumnInfo>> {
        let (schema, table) = (schema.map(String::from), table.to_string());
        call_optional!(self, schema, call_get_columns(schema.as_deref(), &table))
            .await
            .map(Conv::conv)
    }
}
