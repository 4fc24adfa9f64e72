//! `function`: FunctionOperations.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::bindings::Conv;
use crate::error::Result;

use serde::Serialize;

/// What kind of routine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoutineKind {
    Function,
    Procedure,
    Aggregate,
    Window,
}

/// A stored function or procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionInfo {
    pub schema: String,
    pub name: String,
    pub kind: RoutineKind,
    /// Argument list as the database writes it, e.g. `a integer, b text`.
    pub arguments: String,
    pub return_type: Option<String>,
    pub language: String,
}

/// Stored functions and procedures.
#[async_trait]
pub trait FunctionOperations: Send + Sync {
    async fn list_functions(&self, schema: Option<&str>) -> Result<Vec<FunctionInfo>>;
    /// The full `CREATE` statement; `arguments` picks one overload.
    async fn get_function_definition(
        &self,
        schema: Option<&str>,
        name: &str,
        arguments: Option<&str>,
    ) -> Result<String>;
}

#[async_trait]
impl FunctionOperations for WasmDriver {
    async fn list_functions(&self, schema: Option<&str>) -> Result<Vec<FunctionInfo>> {
        let schema = schema.map(String::from);
        call_optional!(self, function, call_list_functions(schema.as_deref()))
            .await
            .map(Conv::conv)
    }

    async fn get_function_definition(
        &self,
        schema: Option<&str>,
        name: &str,
        arguments: Option<&str>,
    ) -> Result<String> {
        let (schema, name, arguments) = (schema.map(String::from), name.to_string(), arguments.map(String::from));
        call_optional!(
            self,
            function,
            call_get_function_definition(schema.as_deref(), &name, arguments.as_deref())
        )
        .await
        .map(Conv::conv)
    }
}
