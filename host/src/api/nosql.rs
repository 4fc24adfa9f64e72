//! `nosql`: NoSQLOperations. Documents, filters and pipelines are BSON bytes.

use async_trait::async_trait;

use super::{call_optional, WasmDriver};
use crate::error::Result;

pub use crate::bindings::nosql::{CollectionInfo, FindOptions, UpdateResult};

/// A BSON document.
pub type Document = Vec<u8>;

/// Document stores.
#[async_trait]
pub trait NoSqlOperations: Send + Sync {
    async fn list_collections(&self, database: Option<&str>) -> Result<Vec<CollectionInfo>>;
    async fn get_collection_data(&self, collection: &str, limit: u64, offset: u64) -> Result<Vec<Document>>;
    async fn get_collection_count(&self, collection: &str, filter: Option<Document>) -> Result<u64>;
    async fn find(&self, collection: &str, filter: Document, options: FindOptions) -> Result<Vec<Document>>;
    async fn insert(&self, collection: &str, documents: Vec<Document>) -> Result<u64>;
    async fn update(
        &self,
        collection: &str,
        filter: Document,
        update: Document,
        many: bool,
        upsert: bool,
    ) -> Result<UpdateResult>;
    async fn delete(&self, collection: &str, filter: Document, many: bool) -> Result<u64>;
    async fn aggregate(&self, collection: &str, pipeline: Vec<Document>) -> Result<Vec<Document>>;
}

#[async_trait]
impl NoSqlOperations for WasmDriver {
    async fn list_collections(&self, database: Option<&str>) -> Result<Vec<CollectionInfo>> {
        let database = database.map(String::from);
        call_optional!(self, nosql, call_list_collections(database.as_deref())).await
    }

    async fn get_collection_data(&self, collection: &str, limit: u64, offset: u64) -> Result<Vec<Document>> {
        let collection = collection.to_string();
        call_optional!(self, nosql, call_get_collection_data(&collection, limit, offset)).await
    }

    async fn get_collection_count(&self, collection: &str, filter: Option<Document>) -> Result<u64> {
        let collection = collection.to_string();
        call_optional!(self, nosql, call_get_collection_count(&collection, filter.as_ref())).await
    }

    async fn find(&self, collection: &str, filter: Document, options: FindOptions) -> Result<Vec<Document>> {
        let collection = collection.to_string();
        call_optional!(self, nosql, call_find(&collection, &filter, &options)).await
    }

    async fn insert(&self, collection: &str, documents: Vec<Document>) -> Result<u64> {
        let collection = collection.to_string();
        call_optional!(self, nosql, call_insert(&collection, &documents)).await
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
        call_optional!(self, nosql, call_update(&collection, &filter, &update, many, upsert)).await
    }

    async fn delete(&self, collection: &str, filter: Document, many: bool) -> Result<u64> {
        let collection = collection.to_string();
        call_optional!(self, nosql, call_delete(&collection, &filter, many)).await
    }

    async fn aggregate(&self, collection: &str, pipeline: Vec<Document>) -> Result<Vec<Document>> {
        let collection = collection.to_string();
        call_optional!(self, nosql, call_aggregate(&collection, &pipeline)).await
    }
}
