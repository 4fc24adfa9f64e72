//! `function`: FunctionOperations.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::error::Result;

pub use crate::bindings::function::{FunctionInfo, RoutineKind};

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
        call_optional!(self, function, call_list_functions(schema.as_deref())).await
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
    }
}
