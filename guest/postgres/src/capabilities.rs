//! `capabilities`: transactions, savepoints and prepared statements.

use driverbox_guest_sdk::types::{QueryResult, Value};
use driverbox_guest_sdk::{client_error, Error, ErrorKind, Result};

use crate::connection::Connection;
use crate::exports::driverbox::driver::capabilities::{self as wit, IsolationLevel, Prepared, TransactionOptions};
use crate::protocol::ident;
use crate::{with_conn, Driver};

/// The `BEGIN` statement for `options`.
pub fn begin_sql(options: &TransactionOptions) -> String {
    let mut sql = String::from("BEGIN");
    if let Some(level) = options.isolation {
        sql.push_str(match level {
            IsolationLevel::ReadUncommitted => " ISOLATION LEVEL READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => " ISOLATION LEVEL READ COMMITTED",
            IsolationLevel::RepeatableRead => " ISOLATION LEVEL REPEATABLE READ",
            IsolationLevel::Serializable => " ISOLATION LEVEL SERIALIZABLE",
        });
    }
    if options.read_only {
        sql.push_str(" READ ONLY");
    }
    if options.deferrable {
        sql.push_str(" DEFERRABLE");
    }
    sql
}

/// Starts a transaction; `invalid-input` when one is open.
pub fn begin_transaction(conn: &mut Connection, options: &TransactionOptions) -> Result<()> {
    if conn.in_transaction() {
        return Err(Error::invalid("a transaction is open already"));
    }
    conn.run(&begin_sql(options)).map(|_| ())
}

fn require_transaction(conn: &Connection) -> Result<()> {
    if conn.in_transaction() {
        Ok(())
    } else {
        Err(Error::invalid("no transaction is open"))
    }
}

/// Commits. A transaction that failed earlier is rolled back by the
/// server instead, which is reported as an error.
pub fn commit(conn: &mut Connection) -> Result<()> {
    require_transaction(conn)?;
    match conn.run("COMMIT")?.as_deref() {
        Some("ROLLBACK") => Err(client_error(
            ErrorKind::Other,
            "the transaction was aborted by an earlier error and has been rolled back",
        )),
        _ => Ok(()),
    }
}

/// Rolls back.
pub fn rollback(conn: &mut Connection) -> Result<()> {
    require_transaction(conn)?;
    conn.run("ROLLBACK").map(|_| ())
}

/// Runs a savepoint command; an unknown savepoint (3B001) is `undefined-object`.
fn savepoint_command(conn: &mut Connection, command: &str, name: &str) -> Result<()> {
    let quoted = ident::quote(name)?;
    require_transaction(conn)?;
    match conn.run(&format!("{command} {quoted}")) {
        Ok(_) => Ok(()),
        Err(Error::Server(mut e)) => {
            if e.code == "3B001" {
                e.kind = ErrorKind::UndefinedObject;
            }
            Err(Error::Server(e))
        }
        Err(e) => Err(e),
    }
}

/// `SAVEPOINT name`.
pub fn savepoint(conn: &mut Connection, name: &str) -> Result<()> {
    savepoint_command(conn, "SAVEPOINT", name)
}

/// `ROLLBACK TO SAVEPOINT name`.
pub fn rollback_to_savepoint(conn: &mut Connection, name: &str) -> Result<()> {
    savepoint_command(conn, "ROLLBACK TO SAVEPOINT", name)
}

/// `RELEASE SAVEPOINT name`.
pub fn release_savepoint(conn: &mut Connection, name: &str) -> Result<()> {
    savepoint_command(conn, "RELEASE SAVEPOINT", name)
}

/// Prepares a named statement; gives its id, parameter type names and columns.
pub fn prepare(conn: &mut Connection, sql: &str) -> Result<Prepared> {
    let (id, stmt) = conn.prepare(sql)?;
    Ok(Prepared {
        id,
        param_types: stmt.params.iter().map(|p| conn.type_name(p.oid)).collect(),
        columns: stmt.columns.clone(),
    })
}

/// Executes a prepared statement.
pub fn execute_prepared(conn: &mut Connection, id: u32, params: &[Value]) -> Result<QueryResult> {
    Ok(conn.execute_prepared(id, params)?.into_result())
}

impl wit::Guest for Driver {
    fn begin_transaction(options: TransactionOptions) -> Result<()> {
        with_conn(|c| begin_transaction(c, &options))
    }

    fn commit() -> Result<()> {
        with_conn(commit)
    }

    fn rollback() -> Result<()> {
        with_conn(rollback)
    }

    fn savepoint(name: String) -> Result<()> {
        with_conn(|c| savepoint(c, &name))
    }

    fn rollback_to_savepoint(name: String) -> Result<()> {
        with_conn(|c| rollback_to_savepoint(c, &name))
    }

    fn release_savepoint(name: String) -> Result<()> {
        with_conn(|c| release_savepoint(c, &name))
    }

    fn in_transaction() -> bool {
        with_conn(|c| Ok(c.in_transaction())).unwrap_or(false)
    }

    fn prepare(sql: String) -> Result<Prepared> {
        with_conn(|c| prepare(c, &sql))
    }

    fn execute_prepared(id: u32, params: Vec<Value>) -> Result<QueryResult> {
        with_conn(|c| execute_prepared(c, id, &params))
    }

    fn deallocate(id: u32) -> Result<()> {
        with_conn(|c| c.deallocate(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_statements() {
        let o = |isolation, read_only, deferrable| TransactionOptions {
            isolation,
            read_only,
            deferrable,
        };
        assert_eq!(begin_sql(&o(None, false, false)), "BEGIN");
        assert_eq!(
            begin_sql(&o(Some(IsolationLevel::Serializable), true, true)),
            "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE"
        );
    }
}
