//! Stored functions: SQLite has none (functions are registered by the
//! application at run time, not stored in the database).

use driverbox_guest_sdk::{Error, Result};

use crate::exports::driverbox::driver::function::{FunctionInfo, Guest};
use crate::{with_conn, Driver};

/// Always empty: an SQLite database stores no functions.
pub fn list_functions() -> Vec<FunctionInfo> {
    Vec::new()
}

/// Always `unsupported`.
pub fn get_function_definition(name: &str) -> Error {
    Error::unsupported(format!(
        "get-function-definition ({name}): SQLite databases store no functions or procedures"
    ))
}

impl Guest for Driver {
    fn list_functions(_schema: Option<String>) -> Result<Vec<FunctionInfo>> {
        with_conn(|_| Ok(list_functions()))
    }
    fn get_function_definition(_schema: Option<String>, name: String, _arguments: Option<String>) -> Result<String> {
        Err(get_function_definition(&name))
    }
}
