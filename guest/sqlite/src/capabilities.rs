//! Transactions, savepoints and prepared statements.
//!
//! SQLite transactions are serializable, which satisfies every isolation
//! level asked for. A read-write transaction starts with `BEGIN IMMEDIATE`
//! (takes the write lock at once, so it cannot fail half-way on a lock
//! upgrade); a read-only one with `BEGIN DEFERRED` and `query_only` on
//! until it ends.

use driverbox_guest_sdk::types::{Column, QueryResult};
use driverbox_guest_sdk::{Error, Result, Value};

use crate::connection::{param_slots, run, shape_of, single_statement, Conn, Mode, PreparedSql};
use crate::errors::DbResult;
use crate::exports::driverbox::driver::capabilities::{Guest, Prepared, TransactionOptions};
use crate::sql::quote_ident;
use crate::{with_conn, Driver};

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
        let columns = shape
            .names
            .iter()
            .zip(&shape.decls)
            .map(|(name, decl)| Column {
                name: name.clone(),
                type_name: decl.clone().unwrap_or_default(),
            })
            .collect::<Vec<_>>();
        (param_slots(&stmt).1, columns)
    };
    let id = conn.add_prepared(PreparedSql { sql: text, params });
    Ok(Prepared {
        id,
        param_types: vec![String::new(); params],
        columns,
    })
}

/// Runs a prepared statement.
pub fn execute_prepared(conn: &mut Conn, id: u32, params: Vec<Value>) -> Result<QueryResult> {
    let p = conn
        .prepared
        .get(&id)
        .cloned()
        .ok_or_else(|| Error::invalid(format!("no prepared statement with id {id}")))?;
    if params.len() != p.params {
        return Err(Error::invalid(format!(
            "prepared statement {id} takes {} parameter(s), {} given",
            p.params,
            params.len()
        )));
    }
    let db = conn.db();
    // The columns may have changed with the schema since `prepare`.
    let shape = shape_of(db, &p.sql)?;
    let mut stmt = db.prepare_cached(&p.sql).db()?;
    run(db, &mut stmt, &shape, params)
}

/// Forgets a prepared statement.
pub fn deallocate(conn: &mut Conn, id: u32) -> Result<()> {
    conn.prepared
        .remove(&id)
        .map(|_| ())
        .ok_or_else(|| Error::invalid(format!("no prepared statement with id {id}")))
}

impl Guest for Driver {
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
        with_conn(|c| execute_prepared(c, id, params))
    }
    fn deallocate(id: u32) -> Result<()> {
        with_conn(|c| deallocate(c, id))
    }
}
