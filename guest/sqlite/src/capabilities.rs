//! Transactions, savepoints and prepared statements.
//!
//! SQLite transactions are serializable, which satisfies every isolation
//! level asked for. A read-write transaction starts with `BEGIN IMMEDIATE`
//! (takes the write lock at once, so it cannot fail half-way on a lock
//! upgrade); a read-only one with `BEGIN DEFERRED` and `query_only` on
//! until it ends.

use std::rc::Rc;

use driverbox_guest_sdk::types::QueryResult;
use driverbox_guest_sdk::{Error, Result, Value};

use crate::connection::{param_slots, run_cached, single_statement, Conn, Mode, PreparedSql};
use crate::errors::DbResult;
use crate::sql::quote_ident;
use driverbox_guest_sdk::types::{Prepared, TransactionOptions};
use driverbox_guest_sdk::Capabilities;

fn need_transaction(conn: &Conn, what: &str) -> Result<()> {
    if conn.in_transaction() {
        Ok(())
    } else {
        Err(Error::invalid(format!("{what}: no transaction is open")))
    }
}

/// Begins a transaction; `invalid-input` when one is open already.
pub fn begin_transaction(conn: &mut Conn, options: &TransactionOptions) -> Result<()> {
    if conn.in_transaction() {
        return Err(Error::invalid("a transaction is open already"));
    }
    if options.read_only {
        if conn.mode != Mode::ReadOnly {
            conn.db().execute_batch("PRAGMA query_only = 1").db()?;
            conn.tx_query_only = true;
        }
        if let Err(e) = conn.db().execute_batch("BEGIN DEFERRED").db() {
            conn.sync_transaction_state();
            return Err(e);
        }
        Ok(())
    } else {
        conn.db().execute_batch("BEGIN IMMEDIATE").db()
    }
}

/// Commits; a lock conflict is `transaction-conflict`.
pub fn commit(conn: &mut Conn) -> Result<()> {
    need_transaction(conn, "commit")?;
    let r = conn.db().execute_batch("COMMIT").db();
    conn.sync_transaction_state();
    r
}

/// Rolls back.
pub fn rollback(conn: &mut Conn) -> Result<()> {
    need_transaction(conn, "rollback")?;
    let r = conn.db().execute_batch("ROLLBACK").db();
    conn.sync_transaction_state();
    r
}

/// `SAVEPOINT name` inside an open transaction.
pub fn savepoint(conn: &mut Conn, name: &str) -> Result<()> {
    let q = quote_ident(name)?;
    need_transaction(conn, "savepoint")?;
    conn.db().execute_batch(&format!("SAVEPOINT {q}")).db()
}

/// `ROLLBACK TO SAVEPOINT name`; unknown names are `undefined-object`.
pub fn rollback_to_savepoint(conn: &mut Conn, name: &str) -> Result<()> {
    let q = quote_ident(name)?;
    need_transaction(conn, "rollback-to-savepoint")?;
    conn.db().execute_batch(&format!("ROLLBACK TO SAVEPOINT {q}")).db()
}

/// `RELEASE SAVEPOINT name`.
pub fn release_savepoint(conn: &mut Conn, name: &str) -> Result<()> {
    let q = quote_ident(name)?;
    need_transaction(conn, "release-savepoint")?;
    conn.db().execute_batch(&format!("RELEASE SAVEPOINT {q}")).db()
}

/// Prepares one statement (kept in rusqlite's statement cache) and gives
/// its id, parameter types and result columns. SQLite parameters have no
/// type (values are dynamically typed), so each parameter type is `""`;
/// a column's type is its declared type, `""` for expressions.
pub fn prepare(conn: &mut Conn, sql: &str) -> Result<Prepared> {
    let (text, shape) = single_statement(conn.db(), sql)?;
    let text = text.to_string();
    let (params, columns) = {
        let stmt = conn.db().prepare_cached(&text).db()?;
        (param_slots(&stmt).1, shape.columns())
    };
    let id = conn.prepared.insert(PreparedSql {
        sql: text,
        params,
        shape: Rc::new(shape),
    });
    Ok(Prepared {
        id,
        param_types: vec![String::new(); params],
        columns,
    })
}

/// Runs a prepared statement.
pub fn execute_prepared(conn: &mut Conn, id: u32, params: Vec<Value>) -> Result<QueryResult> {
    let (result, shape) = {
        let p = conn.prepared.get(id)?;
        if params.len() != p.params {
            return Err(Error::invalid(format!(
                "prepared statement {id} takes {} parameter(s), {} given",
                p.params,
                params.len()
            )));
        }
        let db = conn.db();
        let mut stmt = db.prepare_cached(&p.sql).db()?;
        run_cached(db, &mut stmt, &p.sql, p.shape.clone(), false, params)?
    };
    conn.prepared.get_mut(id)?.shape = shape;
    Ok(result)
}

/// Forgets a prepared statement.
pub fn deallocate(conn: &mut Conn, id: u32) -> Result<()> {
    conn.prepared.remove(id).map(|_| ())
}

impl Capabilities for Conn {
    fn begin_transaction(&mut self, options: TransactionOptions) -> Result<()> {
        begin_transaction(self, &options)
    }

    fn commit(&mut self) -> Result<()> {
        commit(self)
    }

    fn rollback(&mut self) -> Result<()> {
        rollback(self)
    }

    fn savepoint(&mut self, name: String) -> Result<()> {
        savepoint(self, &name)
    }

    fn rollback_to_savepoint(&mut self, name: String) -> Result<()> {
        rollback_to_savepoint(self, &name)
    }

    fn release_savepoint(&mut self, name: String) -> Result<()> {
        release_savepoint(self, &name)
    }

    fn in_transaction(&mut self) -> bool {
        Conn::in_transaction(self)
    }

    fn prepare(&mut self, sql: String) -> Result<Prepared> {
        prepare(self, &sql)
    }

    fn execute_prepared(&mut self, id: u32, params: Vec<Value>) -> Result<QueryResult> {
        execute_prepared(self, id, params)
    }

    fn deallocate(&mut self, id: u32) -> Result<()> {
        deallocate(self, id)
    }
}
