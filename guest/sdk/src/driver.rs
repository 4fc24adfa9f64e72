//! What a driver implements: one trait per WIT interface. Every method but
//! the few of [`Driver`] that each driver must have has a default body
//! answering `unsupported`, so a driver writes only what its database does.
//!
//! A connection is one value of the driver's type: [`Driver::connect`]
//! makes it, the SDK keeps it for the component instance (the host pools
//! instances, one connection each), and every other method gets it as
//! `&mut self`.

use crate::types::{
    Batch, CollectionInfo, Column, ColumnChange, ColumnDefinition, ColumnInfo, ConnectConfig, ConstraintInfo,
    CountResult, CursorRequest, DatabaseInfo, DriverMetadata, FindOptions, FunctionInfo, Health, IndexInfo, Prepared,
    QueryResult, SchemaInfo, ScriptOutcome, TableInfo, TableStatistics, TransactionOptions, UpdateResult, Value,
    ViewInfo,
};
use crate::{Error, Result};

fn unsupported<T>(what: &str) -> Result<T> {
    Err(Error::unsupported(format!("this driver does not support {what}")))
}

/// Connection, queries, metadata and health: the `base` and `traits`
/// interfaces, which every driver exports.
pub trait Driver: Sized + 'static {
    /// What the driver is and how its URLs look. Called before any connection.
    fn metadata() -> DriverMetadata;

    /// Opens a connection. Errors: `connection`, `timeout`, `tls`,
    /// `authentication`, `undefined-object` (unknown database), server errors.
    fn connect(config: ConnectConfig) -> Result<Self>;

    /// A round trip to the server.
    fn test_connection(&mut self) -> Result<()>;

    /// Runs one statement; gives the rows affected.
    fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64>;

    /// Runs one statement; gives its rows.
    fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<QueryResult>;

    /// Runs any one statement: rows if it has some, rows affected if reported.
    fn execute_query(&mut self, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
        self.query(sql, params)
    }

    /// Runs a script of several statements: a result per statement up to
    /// the first error. The default runs the whole text as one statement.
    fn execute_script(&mut self, sql: &str) -> ScriptOutcome {
        match self.execute_query(sql, Vec::new()) {
            Ok(r) => ScriptOutcome {
                results: vec![r],
                error: None,
            },
            Err(e) => ScriptOutcome {
                results: Vec::new(),
                error: Some(e),
            },
        }
    }

    /// Closes the connection politely (it is dropped afterwards).
    fn close(&mut self) {}

    /// A token another instance can cancel this connection's statement with.
    fn cancel_token(&self) -> Option<Vec<u8>> {
        None
    }

    /// In a fresh instance: asks the server to stop the statement of the
    /// connection that gave `token`.
    fn cancel(config: ConnectConfig, token: Vec<u8>) -> Result<()> {
        let _ = (config, token);
        unsupported("cancel")
    }

    /// Checks the connection end to end.
    fn health_check(&mut self) -> Result<Health>;

    /// Runs before every call on the connection (SQLite re-reads state a
    /// statement may have changed). Does nothing by default.
    fn before_call(&mut self) {}
}

/// The `schema` interface.
pub trait SchemaIntrospection: Driver {
    fn get_databases(&mut self) -> Result<Vec<DatabaseInfo>> {
        unsupported("listing databases")
    }
    fn get_schemas(&mut self) -> Result<Vec<SchemaInfo>> {
        unsupported("listing schemas")
    }
    fn get_tables(&mut self, schema: Option<String>) -> Result<Vec<TableInfo>> {
        let _ = schema;
        unsupported("listing tables")
    }
    fn get_columns(&mut self, schema: Option<String>, table: String) -> Result<Vec<ColumnInfo>> {
        let _ = (schema, table);
        unsupported("listing columns")
    }
}

/// The `table` interface.
pub trait TableOperations: Driver {
    fn get_table_data(
        &mut self,
        schema: Option<String>,
        table: String,
        limit: u64,
        offset: u64,
    ) -> Result<QueryResult> {
        let _ = (schema, table, limit, offset);
        unsupported("reading table data")
    }
    fn get_table_constraints(&mut self, schema: Option<String>, table: String) -> Result<Vec<ConstraintInfo>> {
        let _ = (schema, table);
        unsupported("listing constraints")
    }
    fn get_table_statistics(
        &mut self,
        schema: Option<String>,
        table: String,
        exact_count: bool,
    ) -> Result<TableStatistics> {
        let _ = (schema, table, exact_count);
        unsupported("table statistics")
    }
    fn get_table_indexes(&mut self, schema: Option<String>, table: String) -> Result<Vec<IndexInfo>> {
        let _ = (schema, table);
        unsupported("listing indexes")
    }
}

/// The `column` interface.
pub trait ColumnManagement: Driver {
    fn add_column(&mut self, schema: Option<String>, table: String, column: ColumnDefinition) -> Result<()> {
        let _ = (schema, table, column);
        unsupported("adding columns")
    }
    fn alter_column(
        &mut self,
        schema: Option<String>,
        table: String,
        column: String,
        change: ColumnChange,
    ) -> Result<()> {
        let _ = (schema, table, column, change);
        unsupported("altering columns")
    }
    fn drop_column(&mut self, schema: Option<String>, table: String, column: String, cascade: bool) -> Result<()> {
        let _ = (schema, table, column, cascade);
        unsupported("dropping columns")
    }
}

/// The `view` interface.
pub trait ViewOperations: Driver {
    fn list_views(&mut self, schema: Option<String>) -> Result<Vec<ViewInfo>> {
        let _ = schema;
        unsupported("listing views")
    }
    fn get_view_definition(&mut self, schema: Option<String>, name: String) -> Result<String> {
        let _ = (schema, name);
        unsupported("view definitions")
    }
}

/// The `function` interface.
pub trait FunctionOperations: Driver {
    fn list_functions(&mut self, schema: Option<String>) -> Result<Vec<FunctionInfo>> {
        let _ = schema;
        unsupported("listing functions")
    }
    fn get_function_definition(
        &mut self,
        schema: Option<String>,
        name: String,
        arguments: Option<String>,
    ) -> Result<String> {
        let _ = (schema, name, arguments);
        unsupported("function definitions")
    }
}

/// The `capabilities` interface: transactions and prepared statements.
pub trait Capabilities: Driver {
    fn begin_transaction(&mut self, options: TransactionOptions) -> Result<()> {
        let _ = options;
        unsupported("transactions")
    }
    fn commit(&mut self) -> Result<()> {
        unsupported("transactions")
    }
    fn rollback(&mut self) -> Result<()> {
        unsupported("transactions")
    }
    fn savepoint(&mut self, name: String) -> Result<()> {
        let _ = name;
        unsupported("savepoints")
    }
    fn rollback_to_savepoint(&mut self, name: String) -> Result<()> {
        let _ = name;
        unsupported("savepoints")
    }
    fn release_savepoint(&mut self, name: String) -> Result<()> {
        let _ = name;
        unsupported("savepoints")
    }
    /// Whether a transaction is open (also one opened with SQL).
    fn in_transaction(&mut self) -> bool {
        false
    }
    fn prepare(&mut self, sql: String) -> Result<Prepared> {
        let _ = sql;
        unsupported("prepared statements")
    }
    fn execute_prepared(&mut self, id: u32, params: Vec<Value>) -> Result<QueryResult> {
        let _ = (id, params);
        unsupported("prepared statements")
    }
    fn deallocate(&mut self, id: u32) -> Result<()> {
        let _ = id;
        unsupported("prepared statements")
    }
}

/// The `extension` interface: streams, bulk operations, database management.
pub trait Extension: Driver {
    fn stream_open(&mut self, sql: String, params: Vec<Value>, batch_size: u32) -> Result<Vec<Column>> {
        let _ = (sql, params, batch_size);
        unsupported("streaming")
    }
    fn stream_next(&mut self) -> Result<Option<Batch>> {
        unsupported("streaming")
    }
    fn stream_close(&mut self) -> Result<()> {
        Ok(())
    }
    fn bulk_insert(&mut self, schema: Option<String>, table: String, columns: Vec<Column>, data: Batch) -> Result<u64> {
        let _ = (schema, table, columns, data);
        unsupported("bulk insert")
    }
    fn bulk_update(
        &mut self,
        schema: Option<String>,
        table: String,
        columns: Vec<Column>,
        key_count: u32,
        data: Batch,
    ) -> Result<u64> {
        let _ = (schema, table, columns, key_count, data);
        unsupported("bulk update")
    }
    fn bulk_delete(&mut self, schema: Option<String>, table: String, columns: Vec<Column>, data: Batch) -> Result<u64> {
        let _ = (schema, table, columns, data);
        unsupported("bulk delete")
    }
    fn create_database(&mut self, name: String) -> Result<()> {
        let _ = name;
        unsupported("creating databases")
    }
    fn drop_database(&mut self, name: String, if_exists: bool) -> Result<()> {
        let _ = (name, if_exists);
        unsupported("dropping databases")
    }
    fn create_schema(&mut self, name: String) -> Result<()> {
        let _ = name;
        unsupported("creating schemas")
    }
    fn drop_schema(&mut self, name: String, if_exists: bool, cascade: bool) -> Result<()> {
        let _ = (name, if_exists, cascade);
        unsupported("dropping schemas")
    }
}

/// The `nosql` interface: document stores. Documents are BSON; `Vec<u8>`
/// of several documents holds them back to back.
pub trait NoSqlOperations: Driver {
    fn list_databases(&mut self) -> Result<Vec<DatabaseInfo>> {
        unsupported("listing databases")
    }
    fn list_collections(&mut self, database: Option<String>) -> Result<Vec<CollectionInfo>> {
        let _ = database;
        unsupported("listing collections")
    }
    fn get_collection_data(&mut self, collection: String, limit: u64, offset: u64) -> Result<Vec<u8>> {
        let _ = (collection, limit, offset);
        unsupported("reading collections")
    }
    fn count(&mut self, collection: String, filter: Option<Vec<u8>>) -> Result<CountResult> {
        let _ = (collection, filter);
        unsupported("counting documents")
    }
    fn find(&mut self, collection: String, filter: Vec<u8>, options: FindOptions) -> Result<Vec<u8>> {
        let _ = (collection, filter, options);
        unsupported("find")
    }
    fn insert(&mut self, collection: String, documents: Vec<u8>, ordered: bool) -> Result<u64> {
        let _ = (collection, documents, ordered);
        unsupported("insert")
    }
    fn update(
        &mut self,
        collection: String,
        filter: Vec<u8>,
        update: Vec<u8>,
        many: bool,
        upsert: bool,
    ) -> Result<UpdateResult> {
        let _ = (collection, filter, update, many, upsert);
        unsupported("update")
    }
    fn delete(&mut self, collection: String, filter: Vec<u8>, many: bool) -> Result<u64> {
        let _ = (collection, filter, many);
        unsupported("delete")
    }
    fn aggregate(&mut self, collection: String, pipeline: Vec<u8>) -> Result<Vec<u8>> {
        let _ = (collection, pipeline);
        unsupported("aggregate")
    }
    fn cursor_open(&mut self, collection: String, request: CursorRequest, batch_size: u32) -> Result<()> {
        let _ = (collection, request, batch_size);
        unsupported("cursors")
    }
    fn cursor_next(&mut self) -> Result<Option<Vec<u8>>> {
        unsupported("cursors")
    }
    fn cursor_close(&mut self) -> Result<()> {
        Ok(())
    }
    fn list_indexes(&mut self, collection: String) -> Result<Vec<u8>> {
        let _ = collection;
        unsupported("listing indexes")
    }
    fn create_index(&mut self, collection: String, keys: Vec<u8>, options: Vec<u8>) -> Result<String> {
        let _ = (collection, keys, options);
        unsupported("creating indexes")
    }
    fn drop_index(&mut self, collection: String, name: String) -> Result<()> {
        let _ = (collection, name);
        unsupported("dropping indexes")
    }
    fn collection_stats(&mut self, collection: String) -> Result<Vec<u8>> {
        let _ = collection;
        unsupported("collection statistics")
    }
    fn create_collection(&mut self, name: String, options: Vec<u8>) -> Result<()> {
        let _ = (name, options);
        unsupported("creating collections")
    }
    fn drop_collection(&mut self, name: String) -> Result<()> {
        let _ = name;
        unsupported("dropping collections")
    }
    fn run_command(&mut self, database: Option<String>, command: Vec<u8>) -> Result<Vec<u8>> {
        let _ = (database, command);
        unsupported("database commands")
    }
}
