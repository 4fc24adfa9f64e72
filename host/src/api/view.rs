//! `view`: ViewOperations.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::bindings::Conv;
use crate::error::Result;

use serde::Serialize;

/// A view or materialized view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewInfo {
    pub schema: String,
    pub name: String,
    pub materialized: bool,
    pub comment: Option<String>,
}

/// Views and materialized views.
#[async_trait]
pub trait ViewOperations: Send + Sync {
    async fn list_views(&self, schema: Option<&str>) -> Result<Vec<ViewInfo>>;
    /// The query the view runs.
    async fn get_view_definition(&self, schema: Option<&str>, name: &str) -> Result<String>;
}

#[async_trait]
impl ViewOperations for WasmDriver {
    async fn list_views(&self, schema: Option<&str>) -> Result<Vec<ViewInfo>> {
        let schema = schema.map(String::from);
        call_optional!(self, view, call_list_views(schema.as_deref()))
            .await
            .map(Conv::conv)
    }

    async fn get_view_definition(&self, schema: Option<&str>, name: &str) -> Result<String> {
        let (schema, name) = (schema.map(String::from), name.to_string());
        call_optional!(self, view, call_get_view_definition(schema.as_deref(), &name))
            .await
            .map(Conv::conv)
    }
}
