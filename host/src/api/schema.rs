//! `schema`: SchemaIntrospection.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::error::Result;

pub use crate::bindings::schema::{ColumnInfo, DatabaseInfo, SchemaInfo, TableInfo, TableKind};

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
        call_optional!(self, schema, call_get_databases()).await
    }

    async fn get_schemas(&self) -> Result<Vec<SchemaInfo>> {
        call_optional!(self, schema, call_get_schemas()).await
    }

    async fn get_tables(&self, schema: Option<&str>) -> Result<Vec<TableInfo>> {
        let schema = schema.map(String::from);
        call_optional!(self, schema, call_get_tables(schema.as_deref())).await
    }

    async fn get_columns(&self, schema: Option<&str>, table: &str) -> Result<Vec<ColumnInfo>> {
        let (schema, table) = (schema.map(String::from), table.to_string());
        call_optional!(self, schema, call_get_columns(schema.as_deref(), &table)).await
    }
}
