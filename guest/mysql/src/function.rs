//! `function`: stored functions and procedures, from
//! `information_schema.routines`/`parameters`, with `SHOW CREATE` for
//! the definition.

use driverbox_guest_sdk::types::{FunctionInfo, RoutineKind, Value};
use driverbox_guest_sdk::{client_error, ErrorKind, FunctionOperations, Result};

use crate::connection::Connection;
use crate::schema::Cells;
use crate::DIALECT;

pub fn list_functions(conn: &mut Connection, schema: Option<&str>) -> Result<Vec<FunctionInfo>> {
    let schema = conn.schema_or_current(schema)?;
    let rows = conn.rows(
        "SELECT r.routine_schema, r.routine_name, r.routine_type, r.dtd_identifier, r.external_language, \
           (SELECT GROUP_CONCAT(CONCAT_WS(' ', IF(r.routine_type = 'PROCEDURE', p.parameter_mode, NULL), \
              p.parameter_name, p.dtd_identifier) ORDER BY p.ordinal_position SEPARATOR ', ') \
            FROM information_schema.parameters p WHERE p.specific_schema = r.routine_schema \
              AND p.specific_name = r.specific_name AND p.routine_type = r.routine_type AND p.ordinal_position > 0) \
         FROM information_schema.routines r WHERE r.routine_schema = ? ORDER BY r.routine_name, r.routine_type",
        &[Value::Text(schema)],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let c = Cells(r);
            let procedure = c.str(2) == "PROCEDURE";
            FunctionInfo {
                schema: c.str(0),
                name: c.str(1),
                kind: if procedure {
                    RoutineKind::Procedure
                } else {
                    RoutineKind::Function
                },
                arguments: c.str(5),
                return_type: if procedure { None } else { c.non_empty(3) },
                language: c.non_empty(4).unwrap_or_else(|| "SQL".into()),
            }
        })
        .collect())
}

/// `SHOW CREATE FUNCTION` (or `PROCEDURE`): the whole `CREATE` statement.
pub fn get_function_definition(conn: &mut Connection, schema: Option<&str>, name: &str) -> Result<String> {
    let schema = conn.schema_or_current(schema)?;
    let rows = conn.rows(
        "SELECT routine_type FROM information_schema.routines WHERE routine_schema = ? AND routine_name = ? \
         ORDER BY routine_type",
        &[Value::Text(schema.clone()), Value::Text(name.into())],
    )?;
    let Some(kind) = rows.first().map(|r| Cells(r).str(0)) else {
        return Err(client_error(
            ErrorKind::UndefinedObject,
            format!("function `{schema}`.`{name}` does not exist"),
        ));
    };
    let kind = if kind == "PROCEDURE" { "PROCEDURE" } else { "FUNCTION" };
    let sql = format!("SHOW CREATE {kind} {}", DIALECT.qualified(Some(&schema), name)?);
    let rows = conn.rows(&sql, &[])?;
    rows.first().and_then(|r| Cells(r).opt_str(2)).ok_or_else(|| {
        client_error(
            ErrorKind::Permission,
            format!("the server shows no definition of `{schema}`.`{name}` (needs privileges on the routine)"),
        )
    })
}

impl FunctionOperations for Connection {
    fn list_functions(&mut self, schema: Option<String>) -> Result<Vec<FunctionInfo>> {
        list_functions(self, schema.as_deref())
    }
    fn get_function_definition(
        &mut self,
        schema: Option<String>,
        name: String,
        _arguments: Option<String>,
    ) -> Result<String> {
        get_function_definition(self, schema.as_deref(), &name)
    }
}
