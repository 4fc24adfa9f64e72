//! `function`: functions, procedures, aggregates and window functions.

use driverbox_guest_sdk::types::Value;
use driverbox_guest_sdk::{client_error, Error, ErrorKind, Result};

use crate::connection::{Cells, Connection};
use crate::schema::schema_param;
use crate::DIALECT;
use driverbox_guest_sdk::types::{FunctionInfo, RoutineKind};
use driverbox_guest_sdk::FunctionOperations;

fn routine_kind(prokind: &str) -> RoutineKind {
    match prokind {
        "p" => RoutineKind::Procedure,
        "a" => RoutineKind::Aggregate,
        "w" => RoutineKind::Window,
        _ => RoutineKind::Function,
    }
}

/// Routines of a schema (default `current_schema()`), by name then arguments.
pub fn list_functions(conn: &mut Connection, schema: Option<&str>) -> Result<Vec<FunctionInfo>> {
    conn.query_map(
        "select n.nspname, p.proname, p.prokind, \
           pg_catalog.pg_get_function_arguments(p.oid), \
           case when p.prokind = 'p' then null \
                else pg_catalog.pg_get_function_result(p.oid) end, \
           l.lanname \
         from pg_catalog.pg_proc p \
         join pg_catalog.pg_namespace n on n.oid = p.pronamespace \
         join pg_catalog.pg_language l on l.oid = p.prolang \
         where n.nspname = coalesce($1, current_schema()) \
         order by p.proname, 4",
        &[schema_param(schema)?],
        |c| {
            Ok(FunctionInfo {
                schema: c.str(0)?,
                name: c.str(1)?,
                kind: routine_kind(&c.str(2)?),
                arguments: c.opt_str(3)?.unwrap_or_default(),
                return_type: c.opt_str(4)?,
                language: c.str(5)?,
            })
        },
    )
}

/// Whitespace-insensitive, case-insensitive form of an argument list.
fn normalize_args(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" ,", ",")
        .to_lowercase()
}

struct Candidate {
    oid: i64,
    kind: String,
    identity: String,
    arguments: String,
}

/// The full `CREATE` statement of a routine. `arguments` picks an overload
/// (as `pg_get_function_arguments` or `..._identity_arguments` write it,
/// or as a list of types).
pub fn get_function_definition(
    conn: &mut Connection,
    schema: Option<&str>,
    name: &str,
    arguments: Option<&str>,
) -> Result<String> {
    DIALECT.validate(name)?;
    let mut candidates = conn.query_map(
        "select p.oid, p.prokind, pg_catalog.pg_get_function_identity_arguments(p.oid), \
           pg_catalog.pg_get_function_arguments(p.oid) \
         from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace \
         where n.nspname = coalesce($1, current_schema()) and p.proname = $2 \
         order by 3",
        &[schema_param(schema)?, Value::Text(name.to_string())],
        |c| {
            Ok(Candidate {
                oid: c.i64(0)?,
                kind: c.str(1)?,
                identity: c.opt_str(2)?.unwrap_or_default(),
                arguments: c.opt_str(3)?.unwrap_or_default(),
            })
        },
    )?;
    let undefined = || {
        client_error(
            ErrorKind::UndefinedObject,
            match arguments {
                Some(a) => format!("function {name}({a}) does not exist"),
                None => format!("function {name} does not exist"),
            },
        )
    };
    let chosen = match arguments {
        None => match candidates.len() {
            0 => return Err(undefined()),
            1 => candidates.remove(0),
            _ => {
                let list = candidates
                    .iter()
                    .map(|c| format!("{name}({})", c.identity))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(Error::invalid(format!(
                    "{name} is overloaded, pass the arguments of one of: {list}"
                )));
            }
        },
        Some(args) => {
            let want = normalize_args(args);
            match candidates
                .iter()
                .position(|c| normalize_args(&c.identity) == want || normalize_args(&c.arguments) == want)
            {
                Some(i) => candidates.remove(i),
                None => {
                    // A plain type list: let the server resolve it.
                    let signature = format!("{}({args})", DIALECT.qualified(schema, name)?);
                    let found = conn.query_first(
                        "select p.oid, p.prokind from pg_catalog.pg_proc p \
                         where p.oid = to_regprocedure($1)",
                        &[Value::Text(signature)],
                        |c| Ok((c.i64(0)?, c.str(1)?)),
                    );
                    let (oid, kind) = match found {
                        Ok(row) => row.ok_or_else(undefined)?,
                        Err(Error::Server(_)) => return Err(undefined()),
                        Err(e) => return Err(e),
                    };
                    if !candidates.iter().any(|cand| cand.oid == oid) && schema.is_some() {
                        return Err(undefined());
                    }
                    Candidate {
                        oid,
                        kind,
                        identity: String::new(),
                        arguments: String::new(),
                    }
                }
            }
        }
    };
    if chosen.kind == "a" {
        return aggregate_definition(conn, chosen.oid);
    }
    conn.query_first(
        "select pg_catalog.pg_get_functiondef($1::oid)",
        &[Value::Int(chosen.oid)],
        |c| c.str(0),
    )?
    .ok_or_else(undefined)
}

/// `CREATE AGGREGATE` rebuilt from `pg_aggregate` (plain aggregates;
/// ordered-set and hypothetical-set ones are `unsupported`).
fn aggregate_definition(conn: &mut Connection, oid: i64) -> Result<String> {
    let out = conn.query(
        "select a.aggkind, p.oid::regproc::text, \
           pg_catalog.pg_get_function_identity_arguments(p.oid), \
           a.aggtransfn::regproc::text, pg_catalog.format_type(a.aggtranstype, null), \
           nullif(a.aggfinalfn::oid, 0)::regproc::text, \
           quote_literal(a.agginitval), \
           nullif(a.aggcombinefn::oid, 0)::regproc::text, \
           nullif(a.aggsortop, 0)::regoperator::text, \
           nullif(a.aggserialfn::oid, 0)::regproc::text, \
           nullif(a.aggdeserialfn::oid, 0)::regproc::text, \
           p.proparallel \
         from pg_catalog.pg_aggregate a join pg_catalog.pg_proc p on p.oid = a.aggfnoid \
         where a.aggfnoid = $1::oid",
        &[Value::Int(oid)],
    )?;
    let rows = out.rows()?;
    let row = rows
        .first()
        .ok_or_else(|| client_error(ErrorKind::UndefinedObject, "aggregate not found"))?;
    let c = Cells(row);
    if c.str(0)? != "n" {
        return Err(Error::unsupported(
            "definitions of ordered-set and hypothetical-set aggregates are not supported",
        ));
    }
    let mut parts = vec![format!("SFUNC = {}", c.str(3)?), format!("STYPE = {}", c.str(4)?)];
    let optional = [
        (5, "FINALFUNC"),
        (6, "INITCOND"),
        (7, "COMBINEFUNC"),
        (8, "SORTOP"),
        (9, "SERIALFUNC"),
        (10, "DESERIALFUNC"),
    ];
    for (i, key) in optional {
        if let Some(v) = c.opt_str(i)? {
            let v = if key == "SORTOP" {
                // `>(integer,integer)` → `>`
                v.split('(').next().unwrap_or(&v).to_string()
            } else {
                v
            };
            parts.push(format!("{key} = {v}"));
        }
    }
    match c.str(11)?.as_str() {
        "s" => parts.push("PARALLEL = SAFE".into()),
        "r" => parts.push("PARALLEL = RESTRICTED".into()),
        _ => {}
    }
    Ok(format!(
        "CREATE OR REPLACE AGGREGATE {}({}) (\n    {}\n)",
        c.str(1)?,
        c.str(2)?,
        parts.join(",\n    ")
    ))
}

impl FunctionOperations for Connection {
    fn list_functions(&mut self, schema: Option<String>) -> Result<Vec<FunctionInfo>> {
        list_functions(self, schema.as_deref())
    }

    fn get_function_definition(
        &mut self,
        schema: Option<String>,
        name: String,
        arguments: Option<String>,
    ) -> Result<String> {
        get_function_definition(self, schema.as_deref(), &name, arguments.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_arguments() {
        assert_eq!(normalize_args("a  Integer ,\n b text"), "a integer, b text");
    }
}
