//! `driverbox:driver@0.1.0`, frozen: its generated bindings and an adapter
//! that gives a 0.1 driver the 0.2 calls the host makes. The differences,
//! converted here at the edge: 0.1 results are rows of values (0.2:
//! columns), bulk input is rows, a connect config has one host, a server
//! error has no vendor code, metadata has no URL parameter table (the host
//! supplies the legacy one), and `nosql` is smaller.

// The contract's `error` is a large variant (a server error carries twelve
// fields); the adapter passes it through as is rather than boxing it.
#![allow(clippy::result_large_err)]

use wasmtime::component::InstancePre;
use wasmtime::Store;

use super::v0_2::types as w;
use super::{enumeration, record, Conv, Present};
use crate::runtime::HostState;

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "host",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "driverbox:driver/transport.socket": crate::imports::transport::Socket,
    },
});

pub(crate) use self::driverbox::driver::{log, transport, types};
use self::exports::driverbox::driver as x;
use types as o;

type Call<T> = wasmtime::Result<Result<T, w::Error>>;
type S<'a> = &'a mut Store<HostState>;

/// A 0.1 result as 0.2's: `Ok` values through `f`, errors converted.
fn lift<A, B>(r: wasmtime::Result<Result<A, o::Error>>, f: impl FnOnce(A) -> Result<B, w::Error>) -> Call<B> {
    Ok(match r? {
        Ok(v) => f(v),
        Err(e) => Err(e.conv()),
    })
}

fn unsupported<T>(what: &str) -> Call<T> {
    Ok(Err(w::Error::Client(w::ClientError {
        kind: w::ErrorKind::Unsupported,
        message: format!("{what} needs a driver built for contract 0.2 (this one speaks 0.1)"),
    })))
}

fn invalid(message: String) -> w::Error {
    w::Error::Client(w::ClientError {
        kind: w::ErrorKind::InvalidInput,
        message,
    })
}

fn protocol(message: String) -> w::Error {
    w::Error::Client(w::ClientError {
        kind: w::ErrorKind::Protocol,
        message,
    })
}

// ----------------------------------------------------------------------
// Types
// ----------------------------------------------------------------------

record! {
    o::Interval => w::Interval { months, days, microseconds }
    w::Interval => o::Interval { months, days, microseconds }
    o::Interval => crate::value::Interval { months, days, microseconds }
    crate::value::Interval => o::Interval { months, days, microseconds }
    x::schema::DatabaseInfo => w::DatabaseInfo { name, owner, encoding, size_bytes }
    x::schema::SchemaInfo => w::SchemaInfo { name, owner }
    x::schema::TableInfo => w::TableInfo { schema, name, kind, comment }
    x::schema::ColumnInfo => w::ColumnInfo { name, ordinal, data_type, nullable, default, primary_key, comment }
    x::table::ForeignKeyTarget => w::ForeignKeyTarget { schema, table, columns, on_update, on_delete }
    x::table::ConstraintInfo => w::ConstraintInfo { name, kind, columns, references, definition }
    x::table::TableStatistics => w::TableStatistics {
        estimated_rows, exact_rows, table_size_bytes, index_size_bytes, total_size_bytes, last_vacuum, last_analyze
    }
    x::table::IndexInfo => w::IndexInfo { name, columns, unique, primary, method, predicate, definition }
    x::view::ViewInfo => w::ViewInfo { schema, name, materialized, comment }
    x::function::FunctionInfo => w::FunctionInfo { schema, name, kind, arguments, return_type, language }
    x::traits::Health => w::Health { server_version, details }
    x::nosql::CollectionInfo => w::CollectionInfo { name, kind }
    w::TransactionOptions => x::capabilities::TransactionOptions { isolation, read_only, deferrable }
    w::ColumnDefinition => x::column::ColumnDefinition { name, data_type, nullable, default }
    w::ColumnChange => x::column::ColumnChange { rename_to, data_type, using, nullable, default }
}

enumeration! {
    o::ErrorKind => w::ErrorKind {
        UniqueViolation, ForeignKeyViolation, NotNullViolation, CheckViolation, Syntax, UndefinedObject,
        DuplicateObject, Data, Permission, Authentication, TransactionConflict, Connection, Tls, Timeout, Protocol,
        InvalidInput, Unsupported, Other
    }
    w::TlsMode => o::TlsMode { Disable, Prefer, Require, VerifyCa, VerifyFull }
    w::IsolationLevel => x::capabilities::IsolationLevel { ReadUncommitted, ReadCommitted, RepeatableRead, Serializable }
    x::schema::TableKind => w::TableKind { Table, View, MaterializedView, ForeignTable, PartitionedTable }
    x::table::ConstraintKind => w::ConstraintKind { PrimaryKey, ForeignKey, Unique, Check, Exclusion }
    x::function::RoutineKind => w::RoutineKind { Function, Procedure, Aggregate, Window }
}

impl Conv<x::column::DefaultChange> for w::DefaultChange {
    fn conv(self) -> x::column::DefaultChange {
        match self {
            w::DefaultChange::Set(s) => x::column::DefaultChange::Set(s),
            w::DefaultChange::Drop => x::column::DefaultChange::Drop,
        }
    }
}

impl Conv<w::Error> for o::Error {
    fn conv(self) -> w::Error {
        match self {
            o::Error::Server(e) => w::Error::Server(w::ServerError {
                kind: e.kind.conv(),
                code: e.code,
                vendor_code: None,
                message: e.message,
                detail: e.detail,
                hint: e.hint,
                position: e.position,
                schema_name: e.schema_name,
                table_name: e.table_name,
                column_name: e.column_name,
                constraint_name: e.constraint_name,
                context: e.context,
            }),
            o::Error::Client(e) => w::Error::Client(w::ClientError {
                kind: e.kind.conv(),
                message: e.message,
            }),
        }
    }
}

impl Conv<o::Error> for crate::error::GuestError {
    /// A host-raised error for a 0.1 driver (0.1 has no `canceled` kind:
    /// it reads as `other`).
    fn conv(self) -> o::Error {
        let kind = |k: crate::error::ErrorKind| -> o::ErrorKind {
            use crate::error::ErrorKind as K;
            match k {
                K::UniqueViolation => o::ErrorKind::UniqueViolation,
                K::ForeignKeyViolation => o::ErrorKind::ForeignKeyViolation,
                K::NotNullViolation => o::ErrorKind::NotNullViolation,
                K::CheckViolation => o::ErrorKind::CheckViolation,
                K::Syntax => o::ErrorKind::Syntax,
                K::UndefinedObject => o::ErrorKind::UndefinedObject,
                K::DuplicateObject => o::ErrorKind::DuplicateObject,
                K::Data => o::ErrorKind::Data,
                K::Permission => o::ErrorKind::Permission,
                K::Authentication => o::ErrorKind::Authentication,
                K::TransactionConflict => o::ErrorKind::TransactionConflict,
                K::Connection => o::ErrorKind::Connection,
                K::Tls => o::ErrorKind::Tls,
                K::Timeout => o::ErrorKind::Timeout,
                K::Protocol => o::ErrorKind::Protocol,
                K::InvalidInput => o::ErrorKind::InvalidInput,
                K::Unsupported => o::ErrorKind::Unsupported,
                K::Canceled | K::Other => o::ErrorKind::Other,
                // `ErrorKind` is `#[non_exhaustive]` (in driverbox-core):
                // a kind added there reads as `other` until mapped here.
                _ => o::ErrorKind::Other,
            }
        };
        match self {
            crate::error::GuestError::Server(e) => o::Error::Server(o::ServerError {
                kind: kind(e.kind),
                code: e.code,
                message: e.message,
                detail: e.detail,
                hint: e.hint,
                position: e.position,
                schema_name: e.schema_name,
                table_name: e.table_name,
                column_name: e.column_name,
                constraint_name: e.constraint_name,
                context: e.context,
            }),
            crate::error::GuestError::Client { kind: k, message } => {
                o::Error::Client(o::ClientError { kind: kind(k), message })
            }
        }
    }
}

impl Conv<o::Value> for w::Value {
    fn conv(self) -> o::Value {
        match self {
            w::Value::Null => o::Value::Null,
            w::Value::Boolean(b) => o::Value::Boolean(b),
            w::Value::Int(i) => o::Value::Int(i),
            w::Value::Float(f) => o::Value::Float(f),
            w::Value::Decimal(s) => o::Value::Decimal(s),
            w::Value::Text(s) => o::Value::Text(s),
            w::Value::Bytes(b) => o::Value::Bytes(b),
            w::Value::Date(d) => o::Value::Date(d),
            w::Value::Time(t) => o::Value::Time(t),
            w::Value::Timestamp(t) => o::Value::Timestamp(t),
            w::Value::Timestamptz(t) => o::Value::Timestamptz(t),
            w::Value::Interval(i) => o::Value::Interval(i.conv()),
            w::Value::Uuid(u) => o::Value::Uuid(u),
            w::Value::Json(s) => o::Value::Json(s),
            w::Value::Document(d) => o::Value::Document(d),
        }
    }
}

impl Conv<crate::value::Value> for o::Value {
    fn conv(self) -> crate::value::Value {
        use crate::value::Value as V;
        match self {
            o::Value::Null => V::Null,
            o::Value::Boolean(b) => V::Boolean(b),
            o::Value::Int(i) => V::Int(i),
            o::Value::Float(f) => V::Float(f),
            o::Value::Decimal(s) => V::Decimal(s),
            o::Value::Text(s) => V::Text(s),
            o::Value::Bytes(b) => V::Bytes(b),
            o::Value::Date(d) => V::Date(d),
            o::Value::Time(t) => V::Time(t),
            o::Value::Timestamp(t) => V::Timestamp(t),
            o::Value::Timestamptz(t) => V::Timestamptz(t),
            o::Value::Interval(i) => V::Interval(i.conv()),
            o::Value::Uuid(u) => V::Uuid(u),
            o::Value::Json(s) => V::Json(s),
            o::Value::Document(d) => V::Document(d),
        }
    }
}

impl Conv<o::Value> for crate::value::Value {
    fn conv(self) -> o::Value {
        use crate::value::Value as V;
        match self {
            V::Null => o::Value::Null,
            V::Boolean(b) => o::Value::Boolean(b),
            V::Int(i) => o::Value::Int(i),
            V::Float(f) => o::Value::Float(f),
            V::Decimal(s) => o::Value::Decimal(s),
            V::Text(s) => o::Value::Text(s),
            V::Bytes(b) => o::Value::Bytes(b),
            V::Date(d) => o::Value::Date(d),
            V::Time(t) => o::Value::Time(t),
            V::Timestamp(t) => o::Value::Timestamp(t),
            V::Timestamptz(t) => o::Value::Timestamptz(t),
            V::Interval(i) => o::Value::Interval(i.conv()),
            V::Uuid(u) => o::Value::Uuid(u),
            V::Json(s) => o::Value::Json(s),
            V::Document(d) => o::Value::Document(d),
        }
    }
}

fn params(values: &[w::Value]) -> Vec<o::Value> {
    values.iter().cloned().map(Conv::conv).collect()
}

/// A 0.1 result (rows of values) as a 0.2 result (columns), each column
/// typed by its values.
fn result(r: o::QueryResult) -> Result<w::QueryResult, w::Error> {
    let (columns, batch) = rows_to_batch(r.columns, r.rows)?;
    Ok(w::QueryResult {
        columns,
        batch,
        rows_affected: r.rows_affected,
    })
}

/// 0.1 rows as a batch for `columns` (a `null` logical type: from the
/// values).
fn typed_batch(
    columns: &[crate::value::Column],
    rows: Vec<Vec<o::Value>>,
) -> Result<(Vec<crate::value::Column>, w::Batch), w::Error> {
    let rows: Vec<Vec<crate::value::Value>> = rows.into_iter().map(Conv::conv).collect();
    let (columns, batch) = crate::batch::from_rows(columns, &rows).map_err(protocol)?;
    Ok((columns, super::v0_2::batch_out(batch)))
}

fn rows_to_batch(columns: Vec<o::Column>, rows: Vec<Vec<o::Value>>) -> Result<(Vec<w::Column>, w::Batch), w::Error> {
    let columns: Vec<crate::value::Column> = columns
        .into_iter()
        .map(|c| crate::value::Column::new(c.name, crate::value::LogicalType::Null, c.type_name))
        .collect();
    let rows: Vec<Vec<crate::value::Value>> = rows.into_iter().map(Conv::conv).collect();
    let (columns, batch) = crate::batch::from_rows(&columns, &rows).map_err(protocol)?;
    Ok((
        columns.into_iter().map(Conv::conv).collect(),
        super::v0_2::batch_out(batch),
    ))
}

/// A 0.2 bulk input batch as 0.1 rows.
fn batch_rows(columns: &[w::Column], batch: &w::Batch) -> Result<Vec<Vec<o::Value>>, w::Error> {
    let columns: Vec<crate::value::Column> = columns.iter().cloned().map(Conv::conv).collect();
    // A copy: 0.1 drivers take bulk input as rows, built from it here.
    let batch = super::v0_2::batch_in(batch.clone());
    let rows = crate::batch::to_rows(&columns, &batch).map_err(invalid)?;
    Ok(rows.into_iter().map(Conv::conv).collect())
}

fn config(c: &w::ConnectConfig) -> o::ConnectConfig {
    let first = c.hosts.first();
    o::ConnectConfig {
        host: first.map(|e| e.host.clone()).unwrap_or_default(),
        port: first.map_or(0, |e| e.port),
        user: c.user.clone(),
        password: c.password.clone(),
        database: c.database.clone(),
        tls: c.tls.conv(),
        application_name: c.application_name.clone(),
        options: c.options.clone(),
    }
}

// ----------------------------------------------------------------------
// Exports
// ----------------------------------------------------------------------

/// A 0.1 instance's exports, with 0.2's calls.
pub(crate) struct Exports {
    pub base: Base,
    pub traits: Traits,
    pub schema: Option<Schema>,
    pub table: Option<Table>,
    pub column: Option<Column>,
    pub view: Option<View>,
    pub function: Option<Function>,
    pub capabilities: Option<Capabilities>,
    pub extension: Option<Extension>,
    pub nosql: Option<Nosql>,
}

/// Export lookups, resolved once per component.
pub(crate) struct ExportIndices {
    base: x::base::GuestIndices,
    traits: x::traits::GuestIndices,
    schema: Option<x::schema::GuestIndices>,
    table: Option<x::table::GuestIndices>,
    column: Option<x::column::GuestIndices>,
    view: Option<x::view::GuestIndices>,
    function: Option<x::function::GuestIndices>,
    capabilities: Option<x::capabilities::GuestIndices>,
    extension: Option<x::extension::GuestIndices>,
    nosql: Option<x::nosql::GuestIndices>,
}

impl ExportIndices {
    pub(crate) fn new(pre: &InstancePre<HostState>) -> Result<ExportIndices, String> {
        let missing = |name: &str, e: wasmtime::Error| format!("does not export driverbox:driver/{name}@0.1.0: {e}");
        Ok(ExportIndices {
            base: x::base::GuestIndices::new(pre).map_err(|e| missing("base", e))?,
            traits: x::traits::GuestIndices::new(pre).map_err(|e| missing("traits", e))?,
            schema: x::schema::GuestIndices::new(pre).ok(),
            table: x::table::GuestIndices::new(pre).ok(),
            column: x::column::GuestIndices::new(pre).ok(),
            view: x::view::GuestIndices::new(pre).ok(),
            function: x::function::GuestIndices::new(pre).ok(),
            capabilities: x::capabilities::GuestIndices::new(pre).ok(),
            extension: x::extension::GuestIndices::new(pre).ok(),
            nosql: x::nosql::GuestIndices::new(pre).ok(),
        })
    }

    pub(crate) fn load(
        &self,
        mut store: impl wasmtime::AsContextMut<Data = HostState>,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<Exports> {
        let mut s = store.as_context_mut();
        // An export the component may lack, loaded and wrapped in its adapter.
        macro_rules! load_optional {
            ($field:ident, $adapter:expr) => {
                self.$field
                    .as_ref()
                    .map(|i| i.load(&mut s, instance).map($adapter))
                    .transpose()?
            };
        }
        Ok(Exports {
            base: Base(self.base.load(&mut s, instance)?),
            traits: Traits(self.traits.load(&mut s, instance)?),
            schema: load_optional!(schema, Schema),
            table: load_optional!(table, Table),
            column: load_optional!(column, Column),
            view: load_optional!(view, View),
            function: load_optional!(function, Function),
            capabilities: load_optional!(capabilities, Capabilities),
            extension: load_optional!(extension, Extension::new),
            nosql: load_optional!(nosql, Nosql),
        })
    }

    pub(crate) fn present(&self) -> Present {
        [
            ("schema", self.schema.is_some()),
            ("table", self.table.is_some()),
            ("column", self.column.is_some()),
            ("view", self.view.is_some()),
            ("function", self.function.is_some()),
            ("capabilities", self.capabilities.is_some()),
            ("extension", self.extension.is_some()),
            ("nosql", self.nosql.is_some()),
        ]
    }
}

pub(crate) struct Base(x::base::Guest);

impl Base {
    pub async fn call_connect(&self, s: S<'_>, c: &w::ConnectConfig) -> Call<()> {
        lift(self.0.call_connect(s, &config(c)).await, Ok)
    }
    pub async fn call_test_connection(&self, s: S<'_>) -> Call<()> {
        lift(self.0.call_test_connection(s).await, Ok)
    }
    pub async fn call_execute(&self, s: S<'_>, sql: &str, p: &[w::Value]) -> Call<u64> {
        lift(self.0.call_execute(s, sql, &params(p)).await, Ok)
    }
    pub async fn call_query(&self, s: S<'_>, sql: &str, p: &[w::Value]) -> Call<w::QueryResult> {
        lift(self.0.call_query(s, sql, &params(p)).await, result)
    }
    pub async fn call_execute_query(&self, s: S<'_>, sql: &str, p: &[w::Value]) -> Call<w::QueryResult> {
        lift(self.0.call_execute_query(s, sql, &params(p)).await, result)
    }
    /// 0.1 has no scripts: the whole text runs as one call, which gives
    /// one result.
    pub async fn call_execute_script(&self, s: S<'_>, sql: &str) -> wasmtime::Result<w::ScriptOutcome> {
        let r = lift(self.0.call_execute_query(s, sql, &[]).await, result)?;
        Ok(match r {
            Ok(r) => w::ScriptOutcome {
                results: vec![r],
                error: None,
            },
            Err(e) => w::ScriptOutcome {
                results: Vec::new(),
                error: Some(e),
            },
        })
    }
    pub async fn call_close(&self, s: S<'_>) -> wasmtime::Result<()> {
        self.0.call_close(s).await
    }
    pub async fn call_cancel_token(&self, s: S<'_>) -> wasmtime::Result<Option<Vec<u8>>> {
        self.0.call_cancel_token(s).await
    }
    pub async fn call_cancel(&self, s: S<'_>, c: &w::ConnectConfig, token: &[u8]) -> Call<()> {
        lift(self.0.call_cancel(s, &config(c), token).await, Ok)
    }
}

pub(crate) struct Traits(x::traits::Guest);

impl Traits {
    /// 0.1 metadata in 0.2's shape: the URL schemes and default port it
    /// declares, file-based when it has no port, and the host's legacy
    /// parameter table (what the 0.1 host parsed itself).
    pub async fn call_metadata(&self, s: S<'_>) -> wasmtime::Result<w::DriverMetadata> {
        let m = self.0.call_metadata(s).await?;
        let features = m
            .features
            .iter()
            .map(|f| {
                use x::traits::Feature as F;
                match f {
                    F::Transactions => w::Feature::Transactions,
                    F::Savepoints => w::Feature::Savepoints,
                    F::PreparedStatements => w::Feature::PreparedStatements,
                    F::Streaming => w::Feature::Streaming,
                    F::BulkInsert => w::Feature::BulkInsert,
                    F::BulkUpdate => w::Feature::BulkUpdate,
                    F::BulkDelete => w::Feature::BulkDelete,
                    F::CreateDatabase => w::Feature::CreateDatabase,
                    F::CreateSchema => w::Feature::CreateSchema,
                    F::Schemas => w::Feature::Schemas,
                    F::Views => w::Feature::Views,
                    F::MaterializedViews => w::Feature::MaterializedViews,
                    F::Functions => w::Feature::Functions,
                }
            })
            .collect();
        let file_based = m.default_port.is_none();
        let postgres = m.dialect == "postgresql";
        Ok(w::DriverMetadata {
            placeholder_style: if postgres {
                w::PlaceholderStyle::DollarNumber
            } else {
                w::PlaceholderStyle::QuestionMark
            },
            identifier_quote: if m.dialect == "mysql" { "`" } else { "\"" }.into(),
            connection: w::ConnectionSettings {
                parameters: crate::config::legacy_parameters(file_based, postgres).conv(),
                schemes: m.schemes,
                default_port: m.default_port,
                file_based,
                scheme_defaults: Vec::new(),
            },
            name: m.name,
            version: m.version,
            database_type: m.database_type,
            dialect: m.dialect,
            max_connections: m.max_connections,
            features,
        })
    }
    pub async fn call_health_check(&self, s: S<'_>) -> Call<w::Health> {
        lift(self.0.call_health_check(s).await, |h| Ok(h.conv()))
    }
}

pub(crate) struct Schema(x::schema::Guest);

impl Schema {
    pub async fn call_get_databases(&self, s: S<'_>) -> Call<Vec<w::DatabaseInfo>> {
        lift(self.0.call_get_databases(s).await, |v| Ok(v.conv()))
    }
    pub async fn call_get_schemas(&self, s: S<'_>) -> Call<Vec<w::SchemaInfo>> {
        lift(self.0.call_get_schemas(s).await, |v| Ok(v.conv()))
    }
    pub async fn call_get_tables(&self, s: S<'_>, schema: Option<&str>) -> Call<Vec<w::TableInfo>> {
        lift(self.0.call_get_tables(s, schema).await, |v| Ok(v.conv()))
    }
    pub async fn call_get_columns(&self, s: S<'_>, schema: Option<&str>, table: &str) -> Call<Vec<w::ColumnInfo>> {
        lift(self.0.call_get_columns(s, schema, table).await, |v| Ok(v.conv()))
    }
}

pub(crate) struct Table(x::table::Guest);

impl Table {
    pub async fn call_get_table_data(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        table: &str,
        limit: u64,
        offset: u64,
    ) -> Call<w::QueryResult> {
        lift(
            self.0.call_get_table_data(s, schema, table, limit, offset).await,
            result,
        )
    }
    pub async fn call_get_table_constraints(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        table: &str,
    ) -> Call<Vec<w::ConstraintInfo>> {
        lift(self.0.call_get_table_constraints(s, schema, table).await, |v| {
            Ok(v.conv())
        })
    }
    pub async fn call_get_table_statistics(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        table: &str,
        exact: bool,
    ) -> Call<w::TableStatistics> {
        lift(self.0.call_get_table_statistics(s, schema, table, exact).await, |v| {
            Ok(v.conv())
        })
    }
    pub async fn call_get_table_indexes(&self, s: S<'_>, schema: Option<&str>, table: &str) -> Call<Vec<w::IndexInfo>> {
        lift(self.0.call_get_table_indexes(s, schema, table).await, |v| Ok(v.conv()))
    }
}

pub(crate) struct Column(x::column::Guest);

impl Column {
    pub async fn call_add_column(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        table: &str,
        c: &w::ColumnDefinition,
    ) -> Call<()> {
        lift(self.0.call_add_column(s, schema, table, &c.clone().conv()).await, Ok)
    }
    pub async fn call_alter_column(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        table: &str,
        column: &str,
        change: &w::ColumnChange,
    ) -> Call<()> {
        lift(
            self.0
                .call_alter_column(s, schema, table, column, &change.clone().conv())
                .await,
            Ok,
        )
    }
    pub async fn call_drop_column(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        table: &str,
        column: &str,
        cascade: bool,
    ) -> Call<()> {
        lift(self.0.call_drop_column(s, schema, table, column, cascade).await, Ok)
    }
}

pub(crate) struct View(x::view::Guest);

impl View {
    pub async fn call_list_views(&self, s: S<'_>, schema: Option<&str>) -> Call<Vec<w::ViewInfo>> {
        lift(self.0.call_list_views(s, schema).await, |v| Ok(v.conv()))
    }
    pub async fn call_get_view_definition(&self, s: S<'_>, schema: Option<&str>, name: &str) -> Call<String> {
        lift(self.0.call_get_view_definition(s, schema, name).await, Ok)
    }
}

pub(crate) struct Function(x::function::Guest);

impl Function {
    pub async fn call_list_functions(&self, s: S<'_>, schema: Option<&str>) -> Call<Vec<w::FunctionInfo>> {
        lift(self.0.call_list_functions(s, schema).await, |v| Ok(v.conv()))
    }
    pub async fn call_get_function_definition(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        name: &str,
        arguments: Option<&str>,
    ) -> Call<String> {
        lift(
            self.0.call_get_function_definition(s, schema, name, arguments).await,
            Ok,
        )
    }
}

pub(crate) struct Capabilities(x::capabilities::Guest);

impl Capabilities {
    pub async fn call_begin_transaction(&self, s: S<'_>, o: w::TransactionOptions) -> Call<()> {
        lift(self.0.call_begin_transaction(s, o.conv()).await, Ok)
    }
    pub async fn call_commit(&self, s: S<'_>) -> Call<()> {
        lift(self.0.call_commit(s).await, Ok)
    }
    pub async fn call_rollback(&self, s: S<'_>) -> Call<()> {
        lift(self.0.call_rollback(s).await, Ok)
    }
    pub async fn call_savepoint(&self, s: S<'_>, name: &str) -> Call<()> {
        lift(self.0.call_savepoint(s, name).await, Ok)
    }
    pub async fn call_rollback_to_savepoint(&self, s: S<'_>, name: &str) -> Call<()> {
        lift(self.0.call_rollback_to_savepoint(s, name).await, Ok)
    }
    pub async fn call_release_savepoint(&self, s: S<'_>, name: &str) -> Call<()> {
        lift(self.0.call_release_savepoint(s, name).await, Ok)
    }
    pub async fn call_in_transaction(&self, s: S<'_>) -> wasmtime::Result<bool> {
        self.0.call_in_transaction(s).await
    }
    pub async fn call_prepare(&self, s: S<'_>, sql: &str) -> Call<w::Prepared> {
        lift(self.0.call_prepare(s, sql).await, |p| {
            let (columns, _) = rows_to_batch(p.columns, Vec::new())?;
            Ok(w::Prepared {
                id: p.id,
                param_types: p.param_types,
                columns,
            })
        })
    }
    pub async fn call_execute_prepared(&self, s: S<'_>, id: u32, p: &[w::Value]) -> Call<w::QueryResult> {
        lift(self.0.call_execute_prepared(s, id, &params(p)).await, result)
    }
    pub async fn call_deallocate(&self, s: S<'_>, id: u32) -> Call<()> {
        lift(self.0.call_deallocate(s, id).await, Ok)
    }
}

/// A 0.1 instance's `extension`, with the open stream's columns: a 0.1
/// stream names its columns at open but types them only by the values of
/// each batch.
pub(crate) struct Extension {
    guest: x::extension::Guest,
    stream: std::sync::Mutex<OpenStream>,
}

/// What the adapter keeps of a 0.1 stream.
#[derive(Default)]
struct OpenStream {
    /// The columns, typed by the first batch.
    columns: Vec<crate::value::Column>,
    /// The first batch, read at open to type the columns.
    first: Option<w::Batch>,
}

impl Extension {
    fn new(guest: x::extension::Guest) -> Extension {
        Extension {
            guest,
            stream: Default::default(),
        }
    }

    fn stream(&self) -> std::sync::MutexGuard<'_, OpenStream> {
        self.stream.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens the stream and reads its first batch, whose values type the
    /// columns (as 0.2 drivers declare them at open).
    pub async fn call_stream_open(&self, mut s: S<'_>, sql: &str, p: &[w::Value], batch: u32) -> Call<Vec<w::Column>> {
        let columns = match self.guest.call_stream_open(&mut s, sql, &params(p), batch).await? {
            Ok(columns) => columns,
            Err(e) => return Ok(Err(e.conv())),
        };
        let first = match self.guest.call_stream_next(&mut s).await? {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(e.conv())),
        };
        let declared: Vec<crate::value::Column> = columns
            .into_iter()
            .map(|c| crate::value::Column::new(c.name, crate::value::LogicalType::Null, c.type_name))
            .collect();
        let (columns, first) = match first {
            None => (declared, None),
            Some(rows) => match typed_batch(&declared, rows) {
                Ok((columns, batch)) => (columns, Some(batch)),
                Err(e) => return Ok(Err(e)),
            },
        };
        let out = columns.iter().cloned().map(Conv::conv).collect();
        *self.stream() = OpenStream { columns, first };
        Ok(Ok(out))
    }

    /// The next batch, typed as the first batch typed the columns.
    pub async fn call_stream_next(&self, s: S<'_>) -> Call<Option<w::Batch>> {
        let (first, columns) = {
            let mut open = self.stream();
            (open.first.take(), open.columns.clone())
        };
        if first.is_some() {
            return Ok(Ok(first));
        }
        lift(self.guest.call_stream_next(s).await, |rows| match rows {
            None => Ok(None),
            Some(rows) => Ok(Some(typed_batch(&columns, rows)?.1)),
        })
    }
    pub async fn call_stream_close(&self, s: S<'_>) -> Call<()> {
        *self.stream() = OpenStream::default();
        lift(self.guest.call_stream_close(s).await, Ok)
    }
    pub async fn call_bulk_insert(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        table: &str,
        columns: &[w::Column],
        data: &w::Batch,
    ) -> Call<u64> {
        let rows = match batch_rows(columns, data) {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(e)),
        };
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        lift(self.guest.call_bulk_insert(s, schema, table, &names, &rows).await, Ok)
    }
    pub async fn call_bulk_update(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        table: &str,
        columns: &[w::Column],
        key_count: u32,
        data: &w::Batch,
    ) -> Call<u64> {
        let rows = match batch_rows(columns, data) {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(e)),
        };
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let k = (key_count as usize).min(names.len());
        lift(
            self.guest
                .call_bulk_update(s, schema, table, &names[..k], &names[k..], &rows)
                .await,
            Ok,
        )
    }
    pub async fn call_bulk_delete(
        &self,
        s: S<'_>,
        schema: Option<&str>,
        table: &str,
        columns: &[w::Column],
        data: &w::Batch,
    ) -> Call<u64> {
        let rows = match batch_rows(columns, data) {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(e)),
        };
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        lift(self.guest.call_bulk_delete(s, schema, table, &names, &rows).await, Ok)
    }
    pub async fn call_create_database(&self, s: S<'_>, name: &str) -> Call<()> {
        lift(self.guest.call_create_database(s, name).await, Ok)
    }
    pub async fn call_drop_database(&self, s: S<'_>, name: &str, if_exists: bool) -> Call<()> {
        lift(self.guest.call_drop_database(s, name, if_exists).await, Ok)
    }
    pub async fn call_create_schema(&self, s: S<'_>, name: &str) -> Call<()> {
        lift(self.guest.call_create_schema(s, name).await, Ok)
    }
    pub async fn call_drop_schema(&self, s: S<'_>, name: &str, if_exists: bool, cascade: bool) -> Call<()> {
        lift(self.guest.call_drop_schema(s, name, if_exists, cascade).await, Ok)
    }
}

pub(crate) struct Nosql(x::nosql::Guest);

fn split(buf: &[u8]) -> Result<Vec<Vec<u8>>, w::Error> {
    crate::api::nosql::split_documents(buf).map_err(invalid)
}

impl Nosql {
    pub async fn call_list_databases(&self, _s: S<'_>) -> Call<Vec<w::DatabaseInfo>> {
        unsupported("nosql list-databases")
    }
    pub async fn call_list_collections(&self, s: S<'_>, database: Option<&str>) -> Call<Vec<w::CollectionInfo>> {
        lift(self.0.call_list_collections(s, database).await, |v| Ok(v.conv()))
    }
    pub async fn call_get_collection_data(&self, s: S<'_>, c: &str, limit: u64, offset: u64) -> Call<Vec<u8>> {
        lift(self.0.call_get_collection_data(s, c, limit, offset).await, |d| {
            Ok(d.concat())
        })
    }
    pub async fn call_count(&self, s: S<'_>, c: &str, filter: Option<&Vec<u8>>) -> Call<w::CountResult> {
        lift(self.0.call_get_collection_count(s, c, filter).await, |count| {
            Ok(w::CountResult {
                count,
                estimated: false,
            })
        })
    }
    pub async fn call_find(&self, s: S<'_>, c: &str, filter: &[u8], o: &w::FindOptions) -> Call<Vec<u8>> {
        let options = x::nosql::FindOptions {
            projection: o.projection.clone(),
            sort: o.sort.clone(),
            limit: o.limit,
            skip: o.skip,
        };
        lift(self.0.call_find(s, c, &filter.to_vec(), &options).await, |d| {
            Ok(d.concat())
        })
    }
    pub async fn call_insert(&self, s: S<'_>, c: &str, docs: &[u8], _ordered: bool) -> Call<u64> {
        let docs = match split(docs) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        lift(self.0.call_insert(s, c, &docs).await, Ok)
    }
    pub async fn call_update(
        &self,
        s: S<'_>,
        c: &str,
        filter: &[u8],
        update: &[u8],
        many: bool,
        upsert: bool,
    ) -> Call<w::UpdateResult> {
        lift(
            self.0
                .call_update(s, c, &filter.to_vec(), &update.to_vec(), many, upsert)
                .await,
            |u| {
                Ok(w::UpdateResult {
                    matched: u.matched,
                    modified: u.modified,
                    upserted_id: None,
                })
            },
        )
    }
    pub async fn call_delete(&self, s: S<'_>, c: &str, filter: &[u8], many: bool) -> Call<u64> {
        lift(self.0.call_delete(s, c, &filter.to_vec(), many).await, Ok)
    }
    pub async fn call_aggregate(&self, s: S<'_>, c: &str, pipeline: &[u8]) -> Call<Vec<u8>> {
        let stages = match split(pipeline) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        lift(self.0.call_aggregate(s, c, &stages).await, |d| Ok(d.concat()))
    }
    pub async fn call_cursor_open(&self, _s: S<'_>, _c: &str, _r: &w::CursorRequest, _b: u32) -> Call<()> {
        unsupported("nosql cursors")
    }
    pub async fn call_cursor_next(&self, _s: S<'_>) -> Call<Option<Vec<u8>>> {
        unsupported("nosql cursors")
    }
    pub async fn call_cursor_close(&self, _s: S<'_>) -> Call<()> {
        Ok(Ok(()))
    }
    pub async fn call_list_indexes(&self, _s: S<'_>, _c: &str) -> Call<Vec<u8>> {
        unsupported("nosql indexes")
    }
    pub async fn call_create_index(&self, _s: S<'_>, _c: &str, _k: &[u8], _o: &[u8]) -> Call<String> {
        unsupported("nosql indexes")
    }
    pub async fn call_drop_index(&self, _s: S<'_>, _c: &str, _n: &str) -> Call<()> {
        unsupported("nosql indexes")
    }
    pub async fn call_collection_stats(&self, _s: S<'_>, _c: &str) -> Call<Vec<u8>> {
        unsupported("nosql collection statistics")
    }
    pub async fn call_create_collection(&self, _s: S<'_>, _n: &str, _o: &[u8]) -> Call<()> {
        unsupported("nosql create-collection")
    }
    pub async fn call_drop_collection(&self, _s: S<'_>, _n: &str) -> Call<()> {
        unsupported("nosql drop-collection")
    }
    pub async fn call_run_command(&self, _s: S<'_>, _d: Option<&str>, _c: &[u8]) -> Call<Vec<u8>> {
        unsupported("nosql run-command")
    }
}
