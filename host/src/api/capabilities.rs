//! `capabilities`: TransactionDriver and PreparedStatementDriver.
//!
//! A transaction pins one pooled connection until commit or rollback; a
//! dropped [`Transaction`] handle rolls back, and a transaction opened by id
//! and left unused past `PoolConfig::transaction_idle_timeout` is rolled
//! back by a watchdog. A prepared statement lives in the host and is
//! prepared on each connection the first time it runs there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;

use super::{Shared, WasmDriver};
use crate::bindings::v0_2::{params as wit_params, types as w};
use crate::bindings::{Conv, Exports};
use crate::error::{Error, ErrorKind, Result};
use crate::pool::Pooled;
use crate::runtime::instance::CallFuture;
use crate::runtime::HostState;
use crate::runtime::{Capability, Instance};
use crate::value::{Column, QueryResult, Value};
use wasmtime::Store;

/// SQL isolation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

/// How to begin a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TransactionOptions {
    /// `None`: the database's default.
    pub isolation: Option<IsolationLevel>,
    pub read_only: bool,
    /// PostgreSQL's `DEFERRABLE` (with serializable read-only).
    pub deferrable: bool,
}

/// Names a transaction opened with [`TransactionDriver::begin_transaction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TransactionId(pub u64);

/// Names a prepared statement; valid on every connection of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StatementId(pub u64);

/// A statement prepared through the driver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreparedStatement {
    pub id: StatementId,
    pub sql: String,
    /// The database's type name of each parameter.
    pub param_types: Vec<String>,
    /// The columns it returns.
    pub columns: Vec<Column>,
}

struct TxSlot {
    tx: Arc<tokio::sync::Mutex<Option<Transaction>>>,
    last_used: Mutex<Instant>,
}

/// Prepared statements and id-addressed transactions of one pool.
#[derive(Default)]
pub(crate) struct Sessions {
    next_id: AtomicU64,
    statements: Mutex<HashMap<u64, Arc<PreparedStatement>>>,
    transactions: Mutex<HashMap<u64, Arc<TxSlot>>>,
}

impl Sessions {
    fn next(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Transactions addressed by id.
#[async_trait]
pub trait TransactionDriver: Send + Sync {
    /// Opens a transaction on a connection that stays pinned to it.
    async fn begin_transaction(&self, options: TransactionOptions) -> Result<TransactionId>;
    async fn commit_transaction(&self, id: TransactionId) -> Result<()>;
    async fn rollback_transaction(&self, id: TransactionId) -> Result<()>;
    async fn execute_in_transaction(&self, id: TransactionId, sql: &str, params: &[Value]) -> Result<u64>;
    async fn query_in_transaction(&self, id: TransactionId, sql: &str, params: &[Value]) -> Result<QueryResult>;
    async fn savepoint(&self, id: TransactionId, name: &str) -> Result<()>;
    async fn rollback_to_savepoint(&self, id: TransactionId, name: &str) -> Result<()>;
    async fn release_savepoint(&self, id: TransactionId, name: &str) -> Result<()>;
}

/// Statements prepared once, run many times from any pooled connection.
#[async_trait]
pub trait PreparedStatementDriver: Send + Sync {
    async fn prepare(&self, sql: &str) -> Result<PreparedStatement>;
    async fn execute_prepared(&self, id: StatementId, params: &[Value]) -> Result<QueryResult>;
    async fn deallocate(&self, id: StatementId) -> Result<()>;
}

/// Calls a function of the `capabilities` interface on `conn`.
macro_rules! cap_call {
    ($conn:expr, $func:ident ( $($arg:expr),* )) => {
        $conn.call(stringify!($func), super::optional!(capabilities, $func($($arg),*)))
    };
}

use super::base_call;

/// An open transaction holding its connection. Dropping it rolls back.
pub struct Transaction {
    driver: WasmDriver,
    conn: Option<Pooled>,
    id: TransactionId,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Transaction {
    /// This transaction's id.
    pub fn id(&self) -> TransactionId {
        self.id
    }

    fn finished(&self) -> Error {
        Error::client(
            &self.driver.name(),
            ErrorKind::InvalidInput,
            "the transaction is finished",
        )
    }

    fn conn(&mut self) -> Result<&mut Pooled> {
        let finished = self.finished();
        self.conn.as_mut().ok_or(finished)
    }

    /// The name of the driver this transaction runs on.
    pub(crate) fn driver_name(&self) -> std::sync::Arc<str> {
        self.driver.name()
    }

    /// The pinned connection, for other interfaces' calls.
    pub(crate) fn pinned(&mut self) -> Result<&mut Pooled> {
        self.conn()
    }

    /// Returns the connection to the pool without commit or rollback
    /// (for a pinned connection that holds no transaction).
    pub(crate) async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.reset().await;
        }
    }

    /// Runs a call on the pinned connection, handing its notices on.
    async fn call<R: Send>(
        &mut self,
        call: &'static str,
        f: impl for<'a> FnOnce(&'a Exports, &'a mut Store<HostState>) -> CallFuture<'a, R> + Send,
    ) -> Result<R> {
        let driver = self.driver.clone();
        let conn = self.conn()?;
        let r = conn.call(call, f).await;
        driver.deliver_notices(conn);
        r
    }

    /// Runs a statement inside the transaction; gives the rows affected.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let (sql, params) = (sql.to_string(), wit_params(params));
        self.call("execute", base_call!(base, call_execute(&sql, &params)))
            .await
    }

    /// Runs a query inside the transaction.
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let (sql, params) = (sql.to_string(), wit_params(params));
        let r = self.call("query", base_call!(base, call_query(&sql, &params))).await?;
        super::base::rows_result(&self.driver, r)
    }

    /// Runs any statement inside the transaction.
    pub async fn execute_query(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let (sql, params) = (sql.to_string(), wit_params(params));
        let r = self
            .call("execute_query", base_call!(base, call_execute_query(&sql, &params)))
            .await?;
        super::base::rows_result(&self.driver, r)
    }

    /// Runs a query inside the transaction, as Arrow.
    pub async fn query_arrow(&mut self, sql: &str, params: &[Value]) -> Result<super::ArrowResult> {
        let (sql, params) = (sql.to_string(), wit_params(params));
        let r = self.call("query", base_call!(base, call_query(&sql, &params))).await?;
        super::base::arrow_result(&self.driver, r)
    }

    /// Runs a prepared statement inside the transaction.
    pub async fn execute_prepared(&mut self, id: StatementId, params: &[Value]) -> Result<QueryResult> {
        let stmt = self.driver.statement(id)?;
        let driver = self.driver.clone();
        execute_prepared_on(&driver, self.conn()?, &stmt, params.to_vec()).await
    }

    /// Sets a savepoint.
    pub async fn savepoint(&mut self, name: &str) -> Result<()> {
        let name = name.to_string();
        cap_call!(self.conn()?, call_savepoint(&name)).await
    }

    /// Rolls back to a savepoint; the transaction goes on.
    pub async fn rollback_to_savepoint(&mut self, name: &str) -> Result<()> {
        let name = name.to_string();
        cap_call!(self.conn()?, call_rollback_to_savepoint(&name)).await
    }

    /// Forgets a savepoint, keeping its changes.
    pub async fn release_savepoint(&mut self, name: &str) -> Result<()> {
        let name = name.to_string();
        cap_call!(self.conn()?, call_release_savepoint(&name)).await
    }

    /// Commits and returns the connection to the pool.
    pub async fn commit(mut self) -> Result<()> {
        let mut conn = self.conn.take().ok_or_else(|| self.finished())?;
        let result = cap_call!(conn, call_commit()).await;
        conn.reset().await;
        result
    }

    /// Rolls back and returns the connection to the pool.
    pub async fn rollback(mut self) -> Result<()> {
        let mut conn = self.conn.take().ok_or_else(|| self.finished())?;
        let result = cap_call!(conn, call_rollback()).await;
        conn.reset().await;
        result
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                tracing::debug!(
                    driver = &*self.driver.name(),
                    id = self.id.0,
                    "rolling back a dropped transaction"
                );
                handle.spawn(async move { conn.reset().await });
            }
            Err(_) => conn.discard(),
        }
    }
}

/// Prepares `stmt` on `conn` unless it is there, then runs it.
pub(crate) async fn execute_prepared_on(
    driver: &WasmDriver,
    conn: &mut Instance,
    stmt: &PreparedStatement,
    params: Vec<Value>,
) -> Result<QueryResult> {
    drop_stale_statements(driver, conn).await;
    let guest_id = match conn.session.statements.get(&stmt.id.0) {
        Some(id) => *id,
        None => {
            let sql = stmt.sql.clone();
            let prepared = cap_call!(conn, call_prepare(&sql)).await?;
            conn.session.statements.insert(stmt.id.0, prepared.id);
            prepared.id
        }
    };
    let params = wit_params(&params);
    let r = cap_call!(conn, call_execute_prepared(guest_id, &params)).await;
    driver.deliver_notices(conn);
    super::base::rows_result(driver, r?)
}

/// Deallocates, on this connection, statements the pool no longer knows.
async fn drop_stale_statements(driver: &WasmDriver, conn: &mut Instance) {
    let stale: Vec<(u64, u32)> = {
        let known = driver.sessions().statements.lock().expect("lock");
        conn.session
            .statements
            .iter()
            .filter(|(id, _)| !known.contains_key(id))
            .map(|(a, b)| (*a, *b))
            .collect()
    };
    for (host_id, guest_id) in stale {
        conn.session.statements.remove(&host_id);
        let _ = cap_call!(conn, call_deallocate(guest_id)).await;
    }
}

/// One operation's hold on an id-addressed transaction.
struct TxGuard {
    slot: Arc<TxSlot>,
    guard: tokio::sync::OwnedMutexGuard<Option<Transaction>>,
}

impl TxGuard {
    fn tx(&mut self) -> &mut Transaction {
        self.guard.as_mut().expect("checked when locked")
    }
}

impl Drop for TxGuard {
    fn drop(&mut self) {
        *self.slot.last_used.lock().expect("lock") = Instant::now();
    }
}

impl WasmDriver {
    pub(crate) fn sessions(&self) -> &Sessions {
        &self.shared.sessions
    }

    fn statement(&self, id: StatementId) -> Result<Arc<PreparedStatement>> {
        self.sessions()
            .statements
            .lock()
            .expect("lock")
            .get(&id.0)
            .cloned()
            .ok_or_else(|| {
                Error::client(
                    &self.name(),
                    ErrorKind::InvalidInput,
                    format!("no prepared statement {}", id.0),
                )
            })
    }

    /// Opens a transaction on a pinned connection; dropping the handle rolls back.
    pub async fn transaction(&self, options: TransactionOptions) -> Result<Transaction> {
        self.require(Capability::Transactions)?;
        let mut conn = self.pool().acquire().await?;
        let options: w::TransactionOptions = options.conv();
        cap_call!(conn, call_begin_transaction(options)).await?;
        Ok(Transaction {
            driver: self.clone(),
            conn: Some(conn),
            id: TransactionId(self.sessions().next()),
        })
    }

    /// A pinned connection without BEGIN, for work that needs one
    /// connection but no transaction; finish it with `release`.
    pub(crate) async fn unmanaged_transaction(&self) -> Result<Transaction> {
        Ok(Transaction {
            driver: self.clone(),
            conn: Some(self.pool().acquire().await?),
            id: TransactionId(self.sessions().next()),
        })
    }

    /// Locks transaction `id` for one operation.
    async fn lock_transaction(&self, id: TransactionId) -> Result<TxGuard> {
        let slot = self.sessions().transactions.lock().expect("lock").get(&id.0).cloned();
        let gone = || {
            Error::client(
                &self.name(),
                ErrorKind::InvalidInput,
                format!(
                    "no open transaction {} (finished, or rolled back after being idle)",
                    id.0
                ),
            )
        };
        let slot = slot.ok_or_else(gone)?;
        *slot.last_used.lock().expect("lock") = Instant::now();
        let guard = slot.tx.clone().lock_owned().await;
        if guard.is_none() {
            return Err(gone());
        }
        Ok(TxGuard { slot, guard })
    }

    /// Takes transaction `id` out of the registry, to finish it.
    async fn take_transaction(&self, id: TransactionId) -> Result<Transaction> {
        let mut g = self.lock_transaction(id).await?;
        self.sessions().transactions.lock().expect("lock").remove(&id.0);
        Ok(g.guard.take().expect("checked when locked"))
    }
}

/// Rolls back transaction `id` once it has been idle for the pool's time-out.
async fn watchdog(shared: Weak<Shared>, id: u64) {
    loop {
        let Some(shared) = shared.upgrade() else { return };
        let timeout = shared.pool.config().transaction_idle_timeout;
        let Some(slot) = shared.sessions.transactions.lock().expect("lock").get(&id).cloned() else {
            return;
        };
        let idle = slot.last_used.lock().expect("lock").elapsed();
        if idle < timeout {
            drop((shared, slot));
            tokio::time::sleep(timeout - idle).await;
            continue;
        }
        let mut guard = slot.tx.clone().lock_owned().await;
        if slot.last_used.lock().expect("lock").elapsed() < timeout {
            continue;
        }
        shared.sessions.transactions.lock().expect("lock").remove(&id);
        if let Some(tx) = guard.take() {
            tracing::warn!(
                driver = &*shared.slot.load().name,
                id,
                "rolling back a transaction idle for {timeout:?}"
            );
            let _ = tx.rollback().await;
        }
        return;
    }
}

#[async_trait]
impl TransactionDriver for WasmDriver {
    async fn begin_transaction(&self, options: TransactionOptions) -> Result<TransactionId> {
        let tx = self.transaction(options).await?;
        let id = tx.id();
        let slot = Arc::new(TxSlot {
            tx: Arc::new(tokio::sync::Mutex::new(Some(tx))),
            last_used: Mutex::new(Instant::now()),
        });
        self.sessions().transactions.lock().expect("lock").insert(id.0, slot);
        tokio::spawn(watchdog(Arc::downgrade(&self.shared), id.0));
        Ok(id)
    }

    async fn commit_transaction(&self, id: TransactionId) -> Result<()> {
        self.take_transaction(id).await?.commit().await
    }

    async fn rollback_transaction(&self, id: TransactionId) -> Result<()> {
        self.take_transaction(id).await?.rollback().await
    }

    async fn execute_in_transaction(&self, id: TransactionId, sql: &str, params: &[Value]) -> Result<u64> {
        self.lock_transaction(id).await?.tx().execute(sql, params).await
    }

    async fn query_in_transaction(&self, id: TransactionId, sql: &str, params: &[Value]) -> Result<QueryResult> {
        self.lock_transaction(id).await?.tx().query(sql, params).await
    }

    async fn savepoint(&self, id: TransactionId, name: &str) -> Result<()> {
        self.lock_transaction(id).await?.tx().savepoint(name).await
    }

    async fn rollback_to_savepoint(&self, id: TransactionId, name: &str) -> Result<()> {
        self.lock_transaction(id).await?.tx().rollback_to_savepoint(name).await
    }

    async fn release_savepoint(&self, id: TransactionId, name: &str) -> Result<()> {
        self.lock_transaction(id).await?.tx().release_savepoint(name).await
    }
}

#[async_trait]
impl PreparedStatementDriver for WasmDriver {
    async fn prepare(&self, sql: &str) -> Result<PreparedStatement> {
        self.require(Capability::PreparedStatements)?;
        let mut conn = self.pool().acquire().await?;
        let owned = sql.to_string();
        let prepared = cap_call!(conn, call_prepare(&owned)).await?;
        let stmt = PreparedStatement {
            id: StatementId(self.sessions().next()),
            sql: sql.to_string(),
            param_types: prepared.param_types,
            columns: prepared.columns.conv(),
        };
        conn.session.statements.insert(stmt.id.0, prepared.id);
        self.sessions()
            .statements
            .lock()
            .expect("lock")
            .insert(stmt.id.0, Arc::new(stmt.clone()));
        Ok(stmt)
    }

    async fn execute_prepared(&self, id: StatementId, params: &[Value]) -> Result<QueryResult> {
        let stmt = self.statement(id)?;
        let mut conn = self.pool().acquire().await?;
        let result = execute_prepared_on(self, &mut conn, &stmt, params.to_vec()).await;
        if crate::sql::may_leave_transaction_open(&stmt.sql) {
            conn.reset().await;
        }
        result
    }

    async fn deallocate(&self, id: StatementId) -> Result<()> {
        self.statement(id)?;
        self.sessions().statements.lock().expect("lock").remove(&id.0);
        Ok(())
    }
}
