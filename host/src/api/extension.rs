//! `extension`: StreamingDriver, BulkOperationsDriver, DatabaseManagementDriver.
//!
//! Streams and bulk input are columnar across the boundary: a stream gives
//! Arrow record batches ([`StreamingDriver::stream_arrow`]) or, as a view,
//! rows of values ([`StreamingDriver::stream_query`]); bulk input is a
//! record batch ([`BulkOperationsDriver::bulk_insert_arrow`]) or rows,
//! which the host lays out as columns.

use std::pin::Pin;
use std::task::{Context, Poll};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use futures::{Stream, StreamExt};

use super::traits::DriverCapabilities;
use super::{call_optional, optional, Transaction, TransactionOptions, WasmDriver};
use crate::bindings::v0_2::{batch_in, batch_out, params as wit_params, types as w};
use crate::bindings::Conv;
use crate::error::{Error, ErrorKind, Result};
use crate::pool::Pooled;
use crate::runtime::Capability;
use crate::value::{Column, LogicalType, Value};

/// One row of values.
pub type Row = Vec<Value>;

/// Rows per call into the driver for bulk operations; big inputs are sent
/// in chunks inside one transaction. A driver error about a row counts
/// rows within its chunk.
pub const BULK_CHUNK_ROWS: usize = 10_000;

/// Results as a stream of batches. The next batch is fetched only when
/// asked for (back-pressure); dropping the stream stops the query and
/// returns a clean connection to the pool.
#[async_trait]
pub trait StreamingDriver: Send + Sync {
    /// Batches of rows of values.
    async fn stream_query(&self, sql: &str, params: &[Value], batch_size: u32) -> Result<RowStream>;
    /// Batches as Arrow record batches, built from the driver's columns.
    async fn stream_arrow(&self, sql: &str, params: &[Value], batch_size: u32) -> Result<ArrowStream>;
}

/// Many rows in one operation; all or nothing.
#[async_trait]
pub trait BulkOperationsDriver: Send + Sync {
    /// Inserts `rows` (values in `columns` order); gives the number inserted.
    async fn bulk_insert(&self, schema: Option<&str>, table: &str, columns: &[String], rows: Vec<Row>) -> Result<u64>;
    /// Inserts the rows of a record batch (its field names are the
    /// columns); gives the number inserted.
    async fn bulk_insert_arrow(&self, schema: Option<&str>, table: &str, data: &RecordBatch) -> Result<u64>;
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

type BatchStream = Pin<Box<dyn Stream<Item = Result<w::Batch>> + Send>>;

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

/// Record batches from [`StreamingDriver::stream_arrow`].
pub struct ArrowStream {
    columns: Vec<Column>,
    schema: SchemaRef,
    inner: Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send>>,
}

impl ArrowStream {
    /// The result's columns with the database's types.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The schema of every batch. A driver that sends a batch of another
    /// shape (SQLite values of mixed types in a column declared with one)
    /// ends the stream with an error naming the column.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Stream for ArrowStream {
    type Item = Result<RecordBatch>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

macro_rules! ext_call {
    ($conn:expr, $func:ident ( $($arg:expr),* )) => {
        $conn.call(stringify!($func), optional!(extension, $func($($arg),*)))
    };
}

impl WasmDriver {
    /// Opens a stream on a pinned connection: its columns and its batches.
    async fn open_stream(&self, sql: &str, params: &[Value], batch_size: u32) -> Result<(Vec<Column>, BatchStream)> {
        self.require(Capability::Streaming)?;
        let mut conn = self.pool().acquire().await?;
        let (sql, params, batch) = (sql.to_string(), wit_params(params), batch_size.max(1));
        let columns = ext_call!(conn, call_stream_open(&sql, &params, batch)).await;
        self.deliver_notices(&mut conn);
        let columns: Vec<Column> = columns?.conv();
        conn.session.stream_open = true;
        let state = StreamState { conn: Some(conn) };
        let driver = self.clone();
        let inner = futures::stream::try_unfold((state, driver), |(mut state, driver)| async move {
            let Some(conn) = state.conn.as_mut() else {
                return Ok(None);
            };
            let next = ext_call!(conn, call_stream_next()).await;
            driver.deliver_notices(conn);
            match next? {
                Some(batch) => Ok(Some((batch, (state, driver)))),
                None => {
                    conn.session.stream_open = false;
                    drop(state.conn.take());
                    Ok(None)
                }
            }
        });
        Ok((columns, Box::pin(inner)))
    }
}

#[async_trait]
impl StreamingDriver for WasmDriver {
    async fn stream_query(&self, sql: &str, params: &[Value], batch_size: u32) -> Result<RowStream> {
        let (columns, batches) = self.open_stream(sql, params, batch_size).await?;
        let (driver, cols) = (self.clone(), columns.clone());
        let rows = batches.map(move |b| {
            crate::batch::to_rows(&cols, &batch_in(b?))
                .map_err(|m| Error::client(&driver.name(), ErrorKind::Protocol, m))
        });
        Ok(RowStream {
            columns,
            inner: Box::pin(super::read_ahead(self.name(), rows)),
        })
    }

    async fn stream_arrow(&self, sql: &str, params: &[Value], batch_size: u32) -> Result<ArrowStream> {
        let (columns, batches) = self.open_stream(sql, params, batch_size).await?;
        let schema = crate::arrow::schema(&columns);
        let (driver, cols, expected) = (self.clone(), columns.clone(), schema.clone());
        let record_batches = batches.map(move |b| {
            let protocol = |m: String| Error::client(&driver.name(), ErrorKind::Protocol, m);
            let rb = crate::arrow::record_batch(&cols, batch_in(b?)).map_err(protocol)?;
            let got_schema = rb.schema();
            let changed = expected.fields().iter().zip(got_schema.fields()).find(|(a, b)| a != b);
            if let Some((declared, got)) = changed {
                return Err(Error::client(
                    &driver.name(),
                    ErrorKind::Data,
                    format!(
                        "column \"{}\" is {} in the stream's schema but a later batch holds {} \
                         (its values differ in type; cast the column in the query to give it one type)",
                        declared.name(),
                        declared.data_type(),
                        got.data_type()
                    ),
                ));
            }
            Ok(rb)
        });
        Ok(ArrowStream {
            columns,
            schema,
            inner: Box::pin(super::read_ahead(self.name(), record_batches)),
        })
    }
}

/// Bulk input of one call: the columns and a batch of at most
/// [`BULK_CHUNK_ROWS`] rows.
type Chunk = (Vec<w::Column>, w::Batch);

/// Rows as chunks of columns for the driver, every row checked to have
/// one value per column, each column typed by its values.
fn row_chunks(names: &[String], rows: &[Row]) -> std::result::Result<Vec<Chunk>, String> {
    let columns: Vec<Column> = names.iter().map(|n| Column::new(n, LogicalType::Null, "")).collect();
    rows.chunks(BULK_CHUNK_ROWS)
        .enumerate()
        .map(|(i, chunk)| {
            let (columns, batch) = crate::batch::from_rows(&columns, chunk).map_err(|m| {
                if i == 0 {
                    m
                } else {
                    format!("chunk {}: {m}", i + 1)
                }
            })?;
            Ok((columns.conv(), batch_out(batch)))
        })
        .collect()
}

/// A record batch as chunks of columns for the driver.
fn arrow_chunks(data: &RecordBatch) -> std::result::Result<Vec<Chunk>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.num_rows() {
        let len = BULK_CHUNK_ROWS.min(data.num_rows() - at);
        let (columns, batch) = crate::arrow::from_record_batch(&data.slice(at, len))?;
        out.push((columns.conv(), batch_out(batch)));
        at += len;
    }
    Ok(out)
}

impl Transaction {
    fn bad_input(&self, message: String) -> Error {
        Error::client(&self.driver_name(), ErrorKind::InvalidInput, message)
    }

    async fn bulk_chunks(&mut self, schema: Option<&str>, table: &str, chunks: Vec<Chunk>, op: BulkOp) -> Result<u64> {
        let mut total = 0;
        for (columns, batch) in chunks {
            let (schema, table) = (schema.map(String::from), table.to_string());
            let conn = self.pinned()?;
            total += match op {
                BulkOp::Insert => {
                    ext_call!(conn, call_bulk_insert(schema.as_deref(), &table, &columns, &batch)).await?
                }
                BulkOp::Update(keys) => {
                    ext_call!(
                        conn,
                        call_bulk_update(schema.as_deref(), &table, &columns, keys, &batch)
                    )
                    .await?
                }
                BulkOp::Delete => {
                    ext_call!(conn, call_bulk_delete(schema.as_deref(), &table, &columns, &batch)).await?
                }
            };
        }
        Ok(total)
    }

    /// Inserts rows inside this transaction (one call per chunk).
    pub async fn bulk_insert(
        &mut self,
        schema: Option<&str>,
        table: &str,
        columns: &[String],
        rows: Vec<Row>,
    ) -> Result<u64> {
        let chunks = row_chunks(columns, &rows).map_err(|m| self.bad_input(m))?;
        self.bulk_chunks(schema, table, chunks, BulkOp::Insert).await
    }

    /// Inserts the rows of a record batch inside this transaction.
    pub async fn bulk_insert_arrow(&mut self, schema: Option<&str>, table: &str, data: &RecordBatch) -> Result<u64> {
        let chunks = arrow_chunks(data).map_err(|m| self.bad_input(m))?;
        self.bulk_chunks(schema, table, chunks, BulkOp::Insert).await
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
        let names: Vec<String> = key_columns.iter().chain(set_columns).cloned().collect();
        let chunks = row_chunks(&names, &rows).map_err(|m| self.bad_input(m))?;
        let keys = u32::try_from(key_columns.len()).unwrap_or(u32::MAX);
        self.bulk_chunks(schema, table, chunks, BulkOp::Update(keys)).await
    }

    /// Deletes rows inside this transaction.
    pub async fn bulk_delete(
        &mut self,
        schema: Option<&str>,
        table: &str,
        key_columns: &[String],
        keys: Vec<Row>,
    ) -> Result<u64> {
        let chunks = row_chunks(key_columns, &keys).map_err(|m| self.bad_input(m))?;
        self.bulk_chunks(schema, table, chunks, BulkOp::Delete).await
    }
}

#[derive(Clone, Copy)]
enum BulkOp {
    Insert,
    /// With the number of key columns.
    Update(u32),
    Delete,
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

    async fn bulk_insert_arrow(&self, schema: Option<&str>, table: &str, data: &RecordBatch) -> Result<u64> {
        let (mut tx, transactional) = self.bulk_begin(Capability::BulkInsert, data.num_rows()).await?;
        let result = tx.bulk_insert_arrow(schema, table, data).await;
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
