//! `base`: ConnectionDriver and QueryDriver, results as rows or as Arrow
//! record batches, scripts, and server notices.

use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use async_trait::async_trait;
use serde::Serialize;

use super::{base_call, WasmDriver};
use crate::bindings::v0_2::{batch_in, params as wit_params, types as w};
use crate::bindings::Conv;
use crate::error::{Error, ErrorKind, GuestError, Result};
use crate::value::{Column, QueryResult, Value};

/// A message the server sent for the user, not an error: PostgreSQL's
/// NOTICE and WARNING, MySQL's warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// `NOTICE`, `WARNING`, `INFO` … as the server names it.
    pub severity: String,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

/// The outcome of a script: a result per statement that ran, and the
/// error that stopped it.
#[derive(Debug)]
pub struct ScriptOutcome {
    pub results: Vec<QueryResult>,
    pub error: Option<Error>,
}

/// Where a pool's notices go.
pub(crate) type NoticeSink = Mutex<Option<Arc<dyn Fn(&Notice) + Send + Sync>>>;

/// A result as Arrow: the columns the driver sent, as one record batch.
#[derive(Debug, Clone)]
pub struct ArrowResult {
    /// The rows, as one record batch (its schema names the columns).
    pub batch: RecordBatch,
    /// The result's columns with the database's types.
    pub columns: Vec<Column>,
    /// Rows inserted, updated or deleted, when the statement reports it.
    pub rows_affected: Option<u64>,
}

/// Connections: check and close.
#[async_trait]
pub trait ConnectionDriver: Send + Sync {
    /// One round trip to the server on a pooled connection.
    async fn test_connection(&self) -> Result<()>;
    /// Closes the idle connections politely; used ones close when returned.
    async fn close(&self);
}

/// Running SQL.
#[async_trait]
pub trait QueryDriver: Send + Sync {
    /// Runs one statement that returns no rows; gives the rows affected.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64>;
    /// Runs one statement and returns its rows.
    async fn query(&self, sql: &str, params: &[Value]) -> Result<QueryResult>;
    /// Runs any one statement: rows if it has some, rows affected if reported.
    async fn execute_query(&self, sql: &str, params: &[Value]) -> Result<QueryResult>;
    /// Runs one statement and returns its rows as an Arrow record batch,
    /// built from the driver's columns without copying them again.
    async fn query_arrow(&self, sql: &str, params: &[Value]) -> Result<ArrowResult>;
    /// Runs a script of several statements (no parameters): a result per
    /// statement, up to the first error, which is returned beside them.
    async fn execute_script(&self, sql: &str) -> Result<ScriptOutcome>;
}

/// A driver's result in the host's types (rows checked first).
pub(crate) fn rows_result(driver: &WasmDriver, r: w::QueryResult) -> Result<QueryResult> {
    let columns: Vec<Column> = r.columns.conv();
    let rows = crate::batch::to_rows(&columns, &batch_in(r.batch))
        .map_err(|m| Error::client(&driver.name(), ErrorKind::Protocol, m))?;
    Ok(QueryResult {
        columns,
        rows,
        rows_affected: r.rows_affected,
    })
}

pub(crate) fn arrow_result(driver: &WasmDriver, r: w::QueryResult) -> Result<ArrowResult> {
    let columns: Vec<Column> = r.columns.conv();
    let batch = crate::arrow::record_batch(&columns, batch_in(r.batch))
        .map_err(|m| Error::client(&driver.name(), ErrorKind::Protocol, m))?;
    Ok(ArrowResult {
        batch,
        columns,
        rows_affected: r.rows_affected,
    })
}

#[async_trait]
impl ConnectionDriver for WasmDriver {
    async fn test_connection(&self) -> Result<()> {
        self.run("test_connection", base_call!(base, call_test_connection()))
            .await
    }

    async fn close(&self) {
        for mut conn in self.pool().close_idle() {
            let _ = conn
                .call("close", |e, s| {
                    Box::pin(async move { super::required!(e, base.call_close(s)).map(Ok) })
                })
                .await;
        }
    }
}

#[async_trait]
impl QueryDriver for WasmDriver {
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        let (owned, params) = (sql.to_string(), wit_params(params));
        self.run_sql("execute", sql, base_call!(base, call_execute(&owned, &params)))
            .await
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let (owned, params) = (sql.to_string(), wit_params(params));
        let r = self
            .run_sql("query", sql, base_call!(base, call_query(&owned, &params)))
            .await?;
        rows_result(self, r)
    }

    async fn execute_query(&self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let (owned, params) = (sql.to_string(), wit_params(params));
        let r = self
            .run_sql(
                "execute_query",
                sql,
                base_call!(base, call_execute_query(&owned, &params)),
            )
            .await?;
        rows_result(self, r)
    }

    async fn query_arrow(&self, sql: &str, params: &[Value]) -> Result<ArrowResult> {
        let (owned, params) = (sql.to_string(), wit_params(params));
        let r = self
            .run_sql("query", sql, base_call!(base, call_query(&owned, &params)))
            .await?;
        arrow_result(self, r)
    }

    async fn execute_script(&self, sql: &str) -> Result<ScriptOutcome> {
        let owned = sql.to_string();
        let outcome = self
            .run_sql("execute_script", sql, |e, s| {
                Box::pin(async move { super::required!(e, base.call_execute_script(s, &owned)).map(Ok) })
            })
            .await?;
        let mut results = Vec::with_capacity(outcome.results.len());
        for r in outcome.results {
            results.push(rows_result(self, r)?);
        }
        let error = outcome
            .error
            .map(|e| crate::error::from_guest(&self.name(), Conv::<GuestError>::conv(e)));
        Ok(ScriptOutcome { results, error })
    }
}

impl WasmDriver {
    /// Sends the server's notices (PostgreSQL NOTICE/WARNING, MySQL
    /// warnings) of every later call on this pool to `f`, on the task that
    /// made the call. Without a handler they go to the `tracing` log at
    /// info level.
    pub fn on_notice(&self, f: impl Fn(&Notice) + Send + Sync + 'static) {
        *self.shared.notices.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }

    /// Hands the notices a call produced to the handler.
    pub(crate) fn deliver_notices(&self, conn: &mut crate::runtime::Instance) {
        let notices = conn.take_notices();
        if notices.is_empty() {
            return;
        }
        let handler = self.shared.notices.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for n in &notices {
            match &handler {
                Some(f) => f(n),
                None => tracing::info!(driver = &*self.name(), code = %n.code, "{}: {}", n.severity, n.message),
            }
        }
    }
}
