//! `extension`: StreamingDriver, BulkOperationsDriver, DatabaseManagementDriver.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::Stream;

use super::traits::DriverCapabilities;
use super::{call_optional, Transaction, TransactionOptions, WasmDriver};
use crate::error::Result;
use crate::pool::Pooled;
use crate::runtime::Capability;
use crate::value::{Column, Value};

/// One row of values.
pub type Row = Vec<Value>;

/// Rows per call into the driver for bulk operations; big inputs are sent
/// in chunks inside one transaction. A driver error about a row counts
/// rows within its chunk.
pub const BULK_CHUNK_ROWS: usize = 10_000;

/// Results as a stream of row batches. The next batch is fetched only when
/// asked for (back-pressure); dropping the stream stops the query and
/// returns a clean connection to the pool.
#[async_trait]
pub trait StreamingDriver: Send + Sync {
    async fn stream_query(&self, sql: &str, params: &[Value], batch_size: u32) -> Result<RowStream>;
}

/// Many rows in one operation; all or nothing.
#[async_trait]
pub trait BulkOperationsDriver: Send + Sync {
    /// Inserts `rows` (values in `columns` order); gives the number inserted.
    async fn bulk_insert(&self, schema: Option<&str>, table: &str, columns: &[String], rows: Vec<Row>) -> Result<u64>;
    /// Each row holds the key values, then the new values; gives the number updated.
    async fn bulk_update(
        &self,
        schema: Option<&str>,
        table: &str,
        key_columns: &[String],
        set_columns: &[String],
        rows: Vec<Row>,
    ) -> Result<u64>;
    /// Deletes the rows whose keys equal one of `keys`; gives the number deleted.
    async fn bulk_delete(
        &self,
        schema: Option<&str>,
        table: &str,
        key_columns: &[String],
        keys: Vec<Row>,
    ) -> Result<u64>;
}

/// Creating and dropping databases and schemas.
#[async_trait]
pub trait DatabaseManagementDriver: Send + Sync {
    async fn create_database(&self, name: &str) -> Result<()>;
    async fn drop_database(&self, name: &str, if_exists: bool) -> Result<()>;
    async fn create_schema(&self, name: &str) -> Result<()>;
    async fn drop_schema(&self, name: &str, if_exists: bool, cascade: bool) -> Result<()>;
}

/// Holds the connection of an open stream; closes the stream if dropped early.
struct StreamState {
    conn: Option<Pooled>,
}

impl Drop for StreamState {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        if !conn.session.stream_open {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move { conn.reset().await });
            }
            Err(_) => conn.discard(),
        }
    }
}

/// Batches of rows from [`StreamingDriver::stream_query`].
pub struct RowStream {
    columns: Vec<Column>,
    inner: Pin<Box<dyn Stream<Item = Result<Vec<Row>>> + Send>>,
}

impl RowStream {
    /// The result's columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }
}

impl Stream for RowStream {
    type Item = Result<Vec<Row>>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

macro_rules! ext_call {
    ($conn:expr, $func:ident ( $($arg:expr),* )) => {
        $conn.call(stringify!($func), super::optional!(extension, $func($($arg),*)))
    };
}

#[async_trait]
impl StreamingDriver for WasmDriver {
    async fn stream_query(&self, sql: &str, params: &[Value], batch_size: u32) -> Result<RowStream> {
        self.require(Capability::Streaming)?;
        let mut conn = self.pool().acquire().await?;
        let (sql, params, batch) = (sql.to_string(), params.to_vec(), batch_size.max(1));
        let columns = ext_call!(conn, call_stream_open(&sql, &params, batch)).await?;
        conn.session.stream_open = true;
        let state = StreamState { conn: Some(conn) };
        let inner = futures::stream::try_unfold(state, |mut state| async move {
            let Some(conn) = state.conn.as_mut() else {
                return Ok(None);
            };
            match ext_call!(conn, call_stream_next()).await? {
                Some(rows) => Ok(Some((rows, state))),
                None => {
                    conn.session.stream_open = false;
                    drop(state.conn.take());
                    Ok(None)
                }
            }
        });
        Ok(RowStream {
            columns,
            inner: Box::pin(inner),
        })
    }
}

impl Transaction {
    /// Inserts rows inside this transaction (one call per chunk).
    pub async fn bulk_insert(
        &mut self,
        schema: Option<&str>,
        table: &str,
        columns: &[String],
        rows: Vec<Row>,
    ) -> Result<u64> {
        let mut total = 0;
        for chunk in chunks(rows) {
            let (schema, table, columns) = (schema.map(String::from), table.to_string(), columns.to_vec());
            total += ext_call!(
                self.pinned()?,
                call_bulk_insert(schema.as_deref(), &table, &columns, &chunk)
            )
            .await?;
        }
        Ok(total)
    }

    /// Updates rows inside this transaction.
    pub async fn bulk_update(
        &mut self,
        schema: Option<&str>,
        table: &str,
        key_columns: &[String],
        set_columns: &[String],
        rows: Vec<Row>,
    ) -> Result<u64> {
        let mut total = 0;
        for chunk in chunks(rows) {
            let (schema, table) = (schema.map(String::from), table.to_string());
            let (keys, sets) = (key_columns.to_vec(), set_columns.to_vec());
            total += ext_call!(
                self.pinned()?,
                call_bulk_update(schema.as_deref(), &table, &keys, &sets, &chunk)
            )
            .await?;
        }
        Ok(total)
    }

    /// Deletes rows inside this transaction.
    pub async fn bulk_delete(
        &mut self,
        schema: Option<&str>,
        table: &str,
        key_columns: &[String],
        keys: Vec<Row>,
    ) -> Result<u64> {
        let mut total = 0;
        for chunk in chunks(keys) {
            let (schema, table, key_cols) = (schema.map(String::from), table.to_string(), key_columns.to_vec());
            total += ext_call!(
                self.pinned()?,
                call_bulk_delete(schema.as_deref(), &table, &key_cols, &chunk)
            )
            .await?;
        }
        Ok(total)
    }
}

fn chunks(rows: Vec<Row>) -> Vec<Vec<Row>> {
    let mut out = Vec::with_capacity(rows.len() / BULK_CHUNK_ROWS + 1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        out.push(rows.by_ref().take(BULK_CHUNK_ROWS).collect());
    }
    out
}

impl WasmDriver {
    /// Pins a connection for a bulk operation: in a transaction when the
    /// rows need several calls, so a failure leaves nothing half-written.
    async fn bulk_begin(&self, capability: Capability, rows: usize) -> Result<(Transaction, bool)> {
        self.require(capability)?;
        let transactional = rows > BULK_CHUNK_ROWS && self.has_capability(Capability::Transactions);
        let tx = if transactional {
            self.transaction(TransactionOptions::default()).await?
        } else {
            self.unmanaged_transaction().await?
        };
        Ok((tx, transactional))
    }
}

/// Commits or rolls back what `bulk_begin` started.
async fn bulk_finish(tx: Transaction, transactional: bool, result: Result<u64>) -> Result<u64> {
    match result {
        Ok(n) if transactional => tx.commit().await.map(|_| n),
        Err(e) if transactional => {
            let _ = tx.rollback().await;
            Err(e)
        }
        other => {
            tx.release().await;
            other
        }
    }
}

#[async_trait]
impl BulkOperationsDriver for WasmDriver {
    async fn bulk_insert(&self, schema: Option<&str>, table: &str, columns: &[String], rows: Vec<Row>) -> Result<u64> {
        let (mut tx, transactional) = self.bulk_begin(Capability::BulkInsert, rows.len()).await?;
        let result = tx.bulk_insert(schema, table, columns, rows).await;
        bulk_finish(tx, transactional, result).await
    }

    async fn bulk_update(
        &self,
        schema: Option<&str>,
        table: &str,
        key_columns: &[String],
        set_columns: &[String],
        rows: Vec<Row>,
    ) -> Result<u64> {
        let (mut tx, transactional) = self.bulk_begin(Capability::BulkUpdate, rows.len()).await?;
        let result = tx.bulk_update(schema, table, key_columns, set_columns, rows).await;
        bulk_finish(tx, transactional, result).await
    }

    async fn bulk_delete(
        &self,
        schema: Option<&str>,
        table: &str,
        key_columns: &[String],
        keys: Vec<Row>,
    ) -> Result<u64> {
        let (mut tx, transactional) = self.bulk_begin(Capability::BulkDelete, keys.len()).await?;
        let result = tx.bulk_delete(schema, table, key_columns, keys).await;
        bulk_finish(tx, transactional, result).await
    }
}

#[async_trait]
impl DatabaseManagementDriver for WasmDriver {
    async fn create_database(&self, name: &str) -> Result<()> {
        self.require(Capability::CreateDatabase)?;
        let name = name.to_string();
        call_optional!(self, extension, call_create_database(&name)).await
    }

    async fn drop_database(&self, name: &str, if_exists: bool) -> Result<()> {
        self.require(Capability::CreateDatabase)?;
        let name = name.to_string();
        call_optional!(self, extension, call_drop_database(&name, if_exists)).await
    }

    async fn create_schema(&self, name: &str) -> Result<()> {
        self.require(Capability::CreateSchema)?;
        let name = name.to_string();
        call_optional!(self, extension, call_create_schema(&name)).await
    }

    async fn drop_schema(&self, name: &str, if_exists: bool, cascade: bool) -> Result<()> {
        self.require(Capability::CreateSchema)?;
        let name = name.to_string();
        call_optional!(self, extension, call_drop_schema(&name, if_exists, cascade)).await
    }
}
