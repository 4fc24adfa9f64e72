//! `nosql`: NoSQLOperations. Documents, filters, sorts and pipelines are
//! BSON; across the boundary several documents travel back to back in one
//! buffer, which the host splits and checks (each document's length prefix
//! and terminator) before handing them out.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::Stream;
use serde::Serialize;

use super::schema::DatabaseInfo;
use super::{call_optional, optional, WasmDriver};
use crate::bindings::Conv;
use crate::error::{Error, ErrorKind, Result};
use crate::pool::Pooled;
use crate::runtime::Capability;

/// One BSON document.
pub type Document = Vec<u8>;

/// A collection of the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionInfo {
    pub name: String,
    /// `collection`, `view`, `timeseries`.
    pub kind: String,
}

/// Projection, sort and paging of a find.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FindOptions {
    pub projection: Option<Document>,
    pub sort: Option<Document>,
    pub limit: Option<u64>,
    pub skip: Option<u64>,
}

/// A document count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CountResult {
    pub count: u64,
    /// The count comes from collection metadata, not from a scan.
    pub estimated: bool,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateResult {
    pub matched: u64,
    pub modified: u64,
    /// `{_id: …}` of the document an upsert inserted.
    pub upserted_id: Option<Document>,
}

/// What a document stream reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorRequest {
    Find { filter: Document, options: FindOptions },
    Aggregate { pipeline: Vec<Document> },
}

/// Splits BSON documents that lie back to back, checking each one's length
/// prefix (at least 5, within the buffer) and its terminating zero byte.
pub fn split_documents(buf: &[u8]) -> std::result::Result<Vec<Document>, String> {
    let mut docs = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let head: [u8; 4] = buf
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("truncated BSON document at byte {at}"))?;
        let len = i32::from_le_bytes(head);
        let end = usize::try_from(len)
            .ok()
            .filter(|l| *l >= 5)
            .and_then(|l| at.checked_add(l))
            .filter(|end| *end <= buf.len())
            .ok_or_else(|| format!("BSON document at byte {at} has a bad length {len}"))?;
        if buf[end - 1] != 0 {
            return Err(format!("BSON document at byte {at} is not terminated"));
        }
        docs.push(buf[at..end].to_vec());
        at = end;
    }
    Ok(docs)
}

/// Documents back to back, checked first as [`split_documents`] checks them.
pub fn join_documents(docs: &[Document]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(docs.iter().map(Vec::len).sum());
    for d in docs {
        if split_documents(d)?.len() != 1 {
            return Err("each document must be exactly one BSON document".into());
        }
        out.extend_from_slice(d);
    }
    Ok(out)
}

/// Document stores.
#[async_trait]
pub trait NoSqlOperations: Send + Sync {
    /// The databases of the server.
    async fn list_databases(&self) -> Result<Vec<DatabaseInfo>>;
    /// Collections of `database` (`None`: the connection's).
    async fn list_collections(&self, database: Option<&str>) -> Result<Vec<CollectionInfo>>;
    /// A page of documents in `_id` order.
    async fn get_collection_data(&self, collection: &str, limit: u64, offset: u64) -> Result<Vec<Document>>;
    /// With a filter an exact count; without, possibly an estimate (said so).
    async fn get_collection_count(&self, collection: &str, filter: Option<Document>) -> Result<CountResult>;
    async fn find(&self, collection: &str, filter: Document, options: FindOptions) -> Result<Vec<Document>>;
    /// Inserts in order; `ordered` stops at the first failure. Gives the number inserted.
    async fn insert(&self, collection: &str, documents: Vec<Document>, ordered: bool) -> Result<u64>;
    async fn update(
        &self,
        collection: &str,
        filter: Document,
        update: Document,
        many: bool,
        upsert: bool,
    ) -> Result<UpdateResult>;
    /// Gives the number deleted.
    async fn delete(&self, collection: &str, filter: Document, many: bool) -> Result<u64>;
    async fn aggregate(&self, collection: &str, pipeline: Vec<Document>) -> Result<Vec<Document>>;
    /// A find or aggregate read in batches as they are asked for;
    /// dropping the stream closes the cursor.
    async fn stream_documents(
        &self,
        collection: &str,
        request: CursorRequest,
        batch_size: u32,
    ) -> Result<DocumentStream>;
    /// Index specifications, one document each.
    async fn list_indexes(&self, collection: &str) -> Result<Vec<Document>>;
    /// Gives the index name.
    async fn create_index(&self, collection: &str, keys: Document, options: Document) -> Result<String>;
    async fn drop_index(&self, collection: &str, name: &str) -> Result<()>;
    /// The server's statistics of a collection.
    async fn collection_stats(&self, collection: &str) -> Result<Document>;
    async fn create_collection(&self, name: &str, options: Document) -> Result<()>;
    async fn drop_collection(&self, name: &str) -> Result<()>;
    /// Runs a database command as is.
    async fn run_command(&self, database: Option<&str>, command: Document) -> Result<Document>;
}

/// Batches of documents from [`NoSqlOperations::stream_documents`].
pub struct DocumentStream {
    inner: Pin<Box<dyn Stream<Item = Result<Vec<Document>>> + Send>>,
}

impl Stream for DocumentStream {
    type Item = Result<Vec<Document>>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Holds the connection of an open cursor; closes it if dropped early.
struct CursorState {
    conn: Option<Pooled>,
}

impl Drop for CursorState {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        if !conn.session.cursor_open {
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

impl WasmDriver {
    fn documents(&self, buf: Vec<u8>) -> Result<Vec<Document>> {
        split_documents(&buf).map_err(|m| Error::client(&self.name(), ErrorKind::Protocol, m))
    }

    fn joined(&self, docs: &[Document]) -> Result<Vec<u8>> {
        join_documents(docs).map_err(|m| Error::client(&self.name(), ErrorKind::InvalidInput, m))
    }
}

#[async_trait]
impl NoSqlOperations for WasmDriver {
    async fn list_databases(&self) -> Result<Vec<DatabaseInfo>> {
        let dbs = call_optional!(self, nosql, call_list_databases()).await?;
        Ok(dbs.conv())
    }

    async fn list_collections(&self, database: Option<&str>) -> Result<Vec<CollectionInfo>> {
        let database = database.map(String::from);
        let list = call_optional!(self, nosql, call_list_collections(database.as_deref())).await?;
        Ok(list.conv())
    }

    async fn get_collection_data(&self, collection: &str, limit: u64, offset: u64) -> Result<Vec<Document>> {
        let collection = collection.to_string();
        let buf = call_optional!(self, nosql, call_get_collection_data(&collection, limit, offset)).await?;
        self.documents(buf)
    }

    async fn get_collection_count(&self, collection: &str, filter: Option<Document>) -> Result<CountResult> {
        let collection = collection.to_string();
        let r = call_optional!(self, nosql, call_count(&collection, filter.as_ref())).await?;
        Ok(r.conv())
    }

    async fn find(&self, collection: &str, filter: Document, options: FindOptions) -> Result<Vec<Document>> {
        let collection = collection.to_string();
        let options = options.conv();
        let buf = call_optional!(self, nosql, call_find(&collection, &filter, &options)).await?;
        self.documents(buf)
    }

    async fn insert(&self, collection: &str, documents: Vec<Document>, ordered: bool) -> Result<u64> {
        let (collection, docs) = (collection.to_string(), self.joined(&documents)?);
        call_optional!(self, nosql, call_insert(&collection, &docs, ordered)).await
    }

    async fn update(
        &self,
        collection: &str,
        filter: Document,
        update: Document,
        many: bool,
        upsert: bool,
    ) -> Result<UpdateResult> {
        let collection = collection.to_string();
        let r = call_optional!(self, nosql, call_update(&collection, &filter, &update, many, upsert)).await?;
        Ok(r.conv())
    }

    async fn delete(&self, collection: &str, filter: Document, many: bool) -> Result<u64> {
        let collection = collection.to_string();
        call_optional!(self, nosql, call_delete(&collection, &filter, many)).await
    }

    async fn aggregate(&self, collection: &str, pipeline: Vec<Document>) -> Result<Vec<Document>> {
        let (collection, pipeline) = (collection.to_string(), self.joined(&pipeline)?);
        let buf = call_optional!(self, nosql, call_aggregate(&collection, &pipeline)).await?;
        self.documents(buf)
    }

    async fn stream_documents(
        &self,
        collection: &str,
        request: CursorRequest,
        batch_size: u32,
    ) -> Result<DocumentStream> {
        self.require(Capability::NoSql)?;
        let request = match request {
            CursorRequest::Find { filter, options } => {
                crate::bindings::v0_2::types::CursorRequest::Find((filter, options.conv()))
            }
            CursorRequest::Aggregate { pipeline } => {
                crate::bindings::v0_2::types::CursorRequest::Aggregate(self.joined(&pipeline)?)
            }
        };
        let mut conn = self.pool().acquire().await?;
        let collection = collection.to_string();
        let batch = batch_size.max(1);
        conn.call(
            "cursor_open",
            optional!(nosql, call_cursor_open(&collection, &request, batch)),
        )
        .await?;
        conn.session.cursor_open = true;
        let driver = self.clone();
        let state = CursorState { conn: Some(conn) };
        let inner = futures::stream::try_unfold((state, driver), |(mut state, driver)| async move {
            let Some(conn) = state.conn.as_mut() else {
                return Ok(None);
            };
            match conn.call("cursor_next", optional!(nosql, call_cursor_next())).await? {
                Some(buf) => {
                    let docs = driver.documents(buf)?;
                    Ok(Some((docs, (state, driver))))
                }
                None => {
                    conn.session.cursor_open = false;
                    drop(state.conn.take());
                    Ok(None)
                }
            }
        });
        Ok(DocumentStream {
            inner: Box::pin(super::read_ahead(self.name(), inner)),
        })
    }

    async fn list_indexes(&self, collection: &str) -> Result<Vec<Document>> {
        let collection = collection.to_string();
        let buf = call_optional!(self, nosql, call_list_indexes(&collection)).await?;
        self.documents(buf)
    }

    async fn create_index(&self, collection: &str, keys: Document, options: Document) -> Result<String> {
        let collection = collection.to_string();
        call_optional!(self, nosql, call_create_index(&collection, &keys, &options)).await
    }

    async fn drop_index(&self, collection: &str, name: &str) -> Result<()> {
        let (collection, name) = (collection.to_string(), name.to_string());
        call_optional!(self, nosql, call_drop_index(&collection, &name)).await
    }

    async fn collection_stats(&self, collection: &str) -> Result<Document> {
        let collection = collection.to_string();
        call_optional!(self, nosql, call_collection_stats(&collection)).await
    }

    async fn create_collection(&self, name: &str, options: Document) -> Result<()> {
        let name = name.to_string();
        call_optional!(self, nosql, call_create_collection(&name, &options)).await
    }

    async fn drop_collection(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        call_optional!(self, nosql, call_drop_collection(&name)).await
    }

    async fn run_command(&self, database: Option<&str>, command: Document) -> Result<Document> {
        let database = database.map(String::from);
        call_optional!(self, nosql, call_run_command(database.as_deref(), &command)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &[u8]) -> Vec<u8> {
        let mut d = ((body.len() + 5) as i32).to_le_bytes().to_vec();
        d.extend_from_slice(body);
        d.push(0);
        d
    }

    #[test]
    fn splits_and_checks_documents() {
        let (a, b) = (doc(b""), doc(b"\x10x\x00\x01\x00\x00\x00"));
        let joined = [a.clone(), b.clone()].concat();
        assert_eq!(split_documents(&joined).unwrap(), vec![a.clone(), b]);
        assert_eq!(split_documents(&[]).unwrap(), Vec::<Document>::new());
        assert!(split_documents(&joined[..joined.len() - 1]).is_err());
        assert!(split_documents(&[4, 0, 0, 0, 0]).is_err(), "length below 5");
        assert!(
            split_documents(&[255, 255, 255, 127, 0]).is_err(),
            "length past the end"
        );
        assert!(split_documents(&[5, 0, 0, 0, 1]).is_err(), "no terminator");
        assert!(join_documents(&[a.clone(), [a.clone(), a].concat()]).is_err());
    }
}
