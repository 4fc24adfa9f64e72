//! `base`: ConnectionDriver and QueryDriver.

use async_trait::async_trait;

use super::WasmDriver;
use crate::error::Result;
use crate::value::{QueryResult, Value};

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
}

#[async_trait]
impl ConnectionDriver for WasmDriver {
    async fn test_connection(&self) -> Result<()> {
        self.run("test_connection", |e, s| Box::pin(e.base.call_test_connection(s)))
            .await
    }

    async fn close(&self) {
        for mut conn in self.pool().close_idle() {
            let _ = conn
                .call("close", |e, s| {
                    Box::pin(async move { e.base.call_close(s).await.map(Ok) })
                })
                .await;
        }
    }
}

#[async_trait]
impl QueryDriver for WasmDriver {
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        let (owned, params) = (sql.to_string(), params.to_vec());
        self.run_sql("execute", sql, move |e, s| {
            Box::pin(async move { e.base.call_execute(s, &owned, &params).await })
        })
        .await
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let (owned, params) = (sql.to_string(), params.to_vec());
        self.run_sql("query", sql, move |e, s| {
            Box::pin(async move { e.base.call_query(s, &owned, &params).await })
        })
        .await
    }

    async fn execute_query(&self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let (owned, params) = (sql.to_string(), params.to_vec());
        self.run_sql("execute_query", sql, move |e, s| {
            Box::pin(async move { e.base.call_execute_query(s, &owned, &params).await })
        })
        .await
    }
}
