//! `driverbox:driver@0.2.0`, the latest contract: its generated bindings,
//! the exports of an instance, and the conversions between its types and
//! the host's own.

use wasmtime::component::InstancePre;

use super::{enumeration, record, Conv, Present};
use crate::error::GuestError;
use crate::runtime::HostState;

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "host",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "driverbox:driver/transport.socket": crate::imports::transport::Socket,
    },
});

pub(crate) use self::driverbox::driver::{dns, log, transport, types};
pub(crate) use self::exports::driverbox::driver::{
    base, capabilities, column, extension, function, nosql, schema, table, traits, view,
};

/// The exported functions of one instance.
pub(crate) struct Exports {
    pub base: base::Guest,
    pub traits: traits::Guest,
    pub schema: Option<schema::Guest>,
    pub table: Option<table::Guest>,
    pub column: Option<column::Guest>,
    pub view: Option<view::Guest>,
    pub function: Option<function::Guest>,
    pub capabilities: Option<capabilities::Guest>,
    pub extension: Option<extension::Guest>,
    pub nosql: Option<nosql::Guest>,
}

/// Export lookups, resolved once per component.
pub(crate) struct ExportIndices {
    base: base::GuestIndices,
    traits: traits::GuestIndices,
    schema: Option<schema::GuestIndices>,
    table: Option<table::GuestIndices>,
    column: Option<column::GuestIndices>,
    view: Option<view::GuestIndices>,
    function: Option<function::GuestIndices>,
    capabilities: Option<capabilities::GuestIndices>,
    extension: Option<extension::GuestIndices>,
    nosql: Option<nosql::GuestIndices>,
}

impl ExportIndices {
    pub(crate) fn new(pre: &InstancePre<HostState>) -> Result<ExportIndices, String> {
        let missing = |name: &str, e: wasmtime::Error| format!("does not export driverbox:driver/{name}@0.2.0: {e}");
        Ok(ExportIndices {
            base: base::GuestIndices::new(pre).map_err(|e| missing("base", e))?,
            traits: traits::GuestIndices::new(pre).map_err(|e| missing("traits", e))?,
            schema: schema::GuestIndices::new(pre).ok(),
            table: table::GuestIndices::new(pre).ok(),
            column: column::GuestIndices::new(pre).ok(),
            view: view::GuestIndices::new(pre).ok(),
            function: function::GuestIndices::new(pre).ok(),
            capabilities: capabilities::GuestIndices::new(pre).ok(),
            extension: extension::GuestIndices::new(pre).ok(),
            nosql: nosql::GuestIndices::new(pre).ok(),
        })
    }

    pub(crate) fn load(
        &self,
        mut store: impl wasmtime::AsContextMut<Data = HostState>,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<Exports> {
        let mut s = store.as_context_mut();
        Ok(Exports {
            base: self.base.load(&mut s, instance)?,
            traits: self.traits.load(&mut s, instance)?,
            schema: self.schema.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            table: self.table.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            column: self.column.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            view: self.view.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            function: self.function.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            capabilities: self
                .capabilities
                .as_ref()
                .map(|i| i.load(&mut s, instance))
                .transpose()?,
            extension: self.extension.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
            nosql: self.nosql.as_ref().map(|i| i.load(&mut s, instance)).transpose()?,
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

// ----------------------------------------------------------------------
// Conversions between 0.2's types (`w`) and the host's (`h`).
// ----------------------------------------------------------------------

use types as w;

mod h {
    pub use crate::api::capabilities::{IsolationLevel, TransactionOptions};
    pub use crate::api::column::{ColumnChange, ColumnDefinition, DefaultChange};
    pub use crate::api::function::{FunctionInfo, RoutineKind};
    pub use crate::api::nosql::{CollectionInfo, CountResult, FindOptions, UpdateResult};
    pub use crate::api::schema::{ColumnInfo, DatabaseInfo, SchemaInfo, TableInfo, TableKind};
    pub use crate::api::table::{ConstraintInfo, ConstraintKind, ForeignKeyTarget, IndexInfo, TableStatistics};
    pub use crate::api::traits::Health;
    pub use crate::api::view::ViewInfo;
    pub use crate::api::Notice;
    pub use crate::config::{ConnectionSettings, SchemeDefault, Setting, TlsMode, UrlParameter};
    pub use crate::error::{ErrorKind, ServerError};
    pub use crate::runtime::PlaceholderStyle;
    pub use crate::value::{Interval, LogicalType};
}

record! {
    w::DatabaseInfo => h::DatabaseInfo { name, owner, encoding, size_bytes }
    w::SchemaInfo => h::SchemaInfo { name, owner }
    w::TableInfo => h::TableInfo { schema, name, kind, comment }
    w::ColumnInfo => h::ColumnInfo { name, ordinal, data_type, nullable, default, primary_key, comment }
    w::ForeignKeyTarget => h::ForeignKeyTarget { schema, table, columns, on_update, on_delete }
    w::ConstraintInfo => h::ConstraintInfo { name, kind, columns, references, definition }
    w::TableStatistics => h::TableStatistics {
        estimated_rows, exact_rows, table_size_bytes, index_size_bytes, total_size_bytes, last_vacuum, last_analyze
    }
    w::IndexInfo => h::IndexInfo { name, columns, unique, primary, method, predicate, definition }
    w::ViewInfo => h::ViewInfo { schema, name, materialized, comment }
    w::FunctionInfo => h::FunctionInfo { schema, name, kind, arguments, return_type, language }
    w::Health => h::Health { server_version, details }
    w::CollectionInfo => h::CollectionInfo { name, kind }
    w::CountResult => h::CountResult { count, estimated }
    w::UpdateResult => h::UpdateResult { matched, modified, upserted_id }
    w::Notice => h::Notice { severity, code, message, detail, hint }
    w::Interval => h::Interval { months, days, microseconds }
    h::Interval => w::Interval { months, days, microseconds }
    w::ServerError => h::ServerError {
        kind, code, vendor_code, message, detail, hint, position, schema_name, table_name, column_name,
        constraint_name, context
    }
    w::UrlParameter => h::UrlParameter { name, aliases, env, default, description, setting }
    h::UrlParameter => w::UrlParameter { name, aliases, env, default, description, setting }
    w::ConnectionSettings => h::ConnectionSettings { schemes, default_port, file_based, parameters, scheme_defaults }
    w::SchemeDefault => h::SchemeDefault { scheme, parameter, value }
    h::TransactionOptions => w::TransactionOptions { isolation, read_only, deferrable }
    h::ColumnDefinition => w::ColumnDefinition { name, data_type, nullable, default }
    h::ColumnChange => w::ColumnChange { rename_to, data_type, using, nullable, default }
    h::FindOptions => w::FindOptions { projection, sort, limit, skip }
}

enumeration! {
    w::TableKind => h::TableKind { Table, View, MaterializedView, ForeignTable, PartitionedTable }
    w::ConstraintKind => h::ConstraintKind { PrimaryKey, ForeignKey, Unique, Check, Exclusion }
    w::RoutineKind => h::RoutineKind { Function, Procedure, Aggregate, Window }
    w::ErrorKind => h::ErrorKind {
        UniqueViolation, ForeignKeyViolation, NotNullViolation, CheckViolation, Syntax, UndefinedObject,
        DuplicateObject, Data, Permission, Authentication, TransactionConflict, Connection, Tls, Timeout, Canceled,
        Protocol, InvalidInput, Unsupported, Other
    }
    w::Setting => h::Setting {
        Host, Port, User, Password, Database, TlsMode, TlsEnabled, TlsInsecure, TlsRootCert, ConnectTimeoutSeconds,
        ConnectTimeoutMilliseconds, ApplicationName, FileMode
    }
    w::PlaceholderStyle => h::PlaceholderStyle { DollarNumber, QuestionMark, None }
    w::LogicalType => h::LogicalType {
        Null, Boolean, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Float32, Float64, Decimal, Text,
        Bytes, Date, Time, Timestamp, Timestamptz, Interval, Uuid, Json, Document, Dynamic
    }
    h::LogicalType => w::LogicalType {
        Null, Boolean, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Float32, Float64, Decimal, Text,
        Bytes, Date, Time, Timestamp, Timestamptz, Interval, Uuid, Json, Document, Dynamic
    }
    h::TlsMode => w::TlsMode { Disable, Prefer, Require, VerifyCa, VerifyFull }
    h::Setting => w::Setting {
        Host, Port, User, Password, Database, TlsMode, TlsEnabled, TlsInsecure, TlsRootCert, ConnectTimeoutSeconds,
        ConnectTimeoutMilliseconds, ApplicationName, FileMode
    }
    h::IsolationLevel => w::IsolationLevel { ReadUncommitted, ReadCommitted, RepeatableRead, Serializable }
}

impl Conv<w::DefaultChange> for h::DefaultChange {
    fn conv(self) -> w::DefaultChange {
        match self {
            h::DefaultChange::Set(s) => w::DefaultChange::Set(s),
            h::DefaultChange::Drop => w::DefaultChange::Drop,
        }
    }
}

impl Conv<GuestError> for w::Error {
    fn conv(self) -> GuestError {
        match self {
            w::Error::Server(e) => GuestError::Server(Box::new(e.conv())),
            w::Error::Client(e) => GuestError::Client {
                kind: e.kind.conv(),
                message: e.message,
            },
        }
    }
}

impl Conv<w::Error> for GuestError {
    fn conv(self) -> w::Error {
        match self {
            GuestError::Server(e) => w::Error::Server(w::ServerError {
                kind: conv_kind(e.kind),
                code: e.code,
                vendor_code: e.vendor_code,
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
            GuestError::Client { kind, message } => w::Error::Client(w::ClientError {
                kind: conv_kind(kind),
                message,
            }),
        }
    }
}

/// The host's error kind as 0.2's.
pub(crate) fn conv_kind(kind: h::ErrorKind) -> w::ErrorKind {
    use h::ErrorKind as K;
    match kind {
        K::UniqueViolation => w::ErrorKind::UniqueViolation,
        K::ForeignKeyViolation => w::ErrorKind::ForeignKeyViolation,
        K::NotNullViolation => w::ErrorKind::NotNullViolation,
        K::CheckViolation => w::ErrorKind::CheckViolation,
        K::Syntax => w::ErrorKind::Syntax,
        K::UndefinedObject => w::ErrorKind::UndefinedObject,
        K::DuplicateObject => w::ErrorKind::DuplicateObject,
        K::Data => w::ErrorKind::Data,
        K::Permission => w::ErrorKind::Permission,
        K::Authentication => w::ErrorKind::Authentication,
        K::TransactionConflict => w::ErrorKind::TransactionConflict,
        K::Connection => w::ErrorKind::Connection,
        K::Tls => w::ErrorKind::Tls,
        K::Timeout => w::ErrorKind::Timeout,
        K::Canceled => w::ErrorKind::Canceled,
        K::Protocol => w::ErrorKind::Protocol,
        K::InvalidInput => w::ErrorKind::InvalidInput,
        K::Unsupported => w::ErrorKind::Unsupported,
        K::Other => w::ErrorKind::Other,
        // `ErrorKind` is `#[non_exhaustive]` (in driverbox-core): a kind
        // added there reads as `other` until mapped here.
        _ => w::ErrorKind::Other,
    }
}

impl Conv<crate::value::Column> for w::Column {
    fn conv(self) -> crate::value::Column {
        crate::value::Column {
            name: self.name,
            type_name: self.database_type,
            logical_type: self.logical_type.conv(),
            precision: self.precision,
            scale: self.scale,
            nullable: self.nullable,
        }
    }
}

impl Conv<w::Column> for crate::value::Column {
    fn conv(self) -> w::Column {
        w::Column {
            name: self.name,
            logical_type: self.logical_type.conv(),
            database_type: self.type_name,
            precision: self.precision,
            scale: self.scale,
            nullable: self.nullable,
        }
    }
}

impl Conv<w::Value> for crate::value::Value {
    fn conv(self) -> w::Value {
        use crate::value::Value as V;
        match self {
            V::Null => w::Value::Null,
            V::Boolean(b) => w::Value::Boolean(b),
            V::Int(i) => w::Value::Int(i),
            V::Float(f) => w::Value::Float(f),
            V::Decimal(s) => w::Value::Decimal(s),
            V::Text(s) => w::Value::Text(s),
            V::Bytes(b) => w::Value::Bytes(b),
            V::Date(d) => w::Value::Date(d),
            V::Time(t) => w::Value::Time(t),
            V::Timestamp(t) => w::Value::Timestamp(t),
            V::Timestamptz(t) => w::Value::Timestamptz(t),
            V::Interval(i) => w::Value::Interval(i.conv()),
            V::Uuid(u) => w::Value::Uuid(u),
            V::Json(s) => w::Value::Json(s),
            V::Document(d) => w::Value::Document(d),
        }
    }
}

/// Parameters for a call.
pub(crate) fn params(values: &[crate::value::Value]) -> Vec<w::Value> {
    values.iter().cloned().map(Conv::conv).collect()
}

impl Conv<crate::runtime::component::Metadata> for w::DriverMetadata {
    fn conv(self) -> crate::runtime::component::Metadata {
        use crate::runtime::Capability as C;
        let features = self
            .features
            .iter()
            .map(|f| match f {
                w::Feature::Transactions => C::Transactions,
                w::Feature::Savepoints => C::Savepoints,
                w::Feature::PreparedStatements => C::PreparedStatements,
                w::Feature::Streaming => C::Streaming,
                w::Feature::BulkInsert => C::BulkInsert,
                w::Feature::BulkUpdate => C::BulkUpdate,
                w::Feature::BulkDelete => C::BulkDelete,
                w::Feature::CreateDatabase => C::CreateDatabase,
                w::Feature::CreateSchema => C::CreateSchema,
                w::Feature::Schemas => C::Schema,
                w::Feature::Views => C::View,
                w::Feature::MaterializedViews => C::MaterializedViews,
                w::Feature::Functions => C::Function,
            })
            .collect();
        crate::runtime::component::Metadata {
            name: self.name,
            version: self.version,
            database_type: self.database_type,
            dialect: self.dialect,
            placeholder_style: self.placeholder_style.conv(),
            identifier_quote: self.identifier_quote,
            connection: self.connection.conv(),
            max_connections: self.max_connections,
            features,
        }
    }
}

// ----------------------------------------------------------------------
// Batches: the generated types and `driverbox_core::contract`'s, field for
// field. The buffers move; nothing is copied.
// ----------------------------------------------------------------------

use driverbox_core::contract as c;

impl Conv<c::Varlen> for w::Varlen {
    fn conv(self) -> c::Varlen {
        c::Varlen {
            offsets: self.offsets,
            data: self.data,
        }
    }
}

impl Conv<w::Varlen> for c::Varlen {
    fn conv(self) -> w::Varlen {
        w::Varlen {
            offsets: self.offsets,
            data: self.data,
        }
    }
}

impl Conv<c::ColumnData> for w::ColumnData {
    fn conv(self) -> c::ColumnData {
        use w::ColumnData as W;
        match self {
            W::Null => c::ColumnData::Null,
            W::Boolean(v) => c::ColumnData::Boolean(v),
            W::Int8(v) => c::ColumnData::Int8(v),
            W::Int16(v) => c::ColumnData::Int16(v),
            W::Int32(v) => c::ColumnData::Int32(v),
            W::Int64(v) => c::ColumnData::Int64(v),
            W::Uint8(v) => c::ColumnData::Uint8(v),
            W::Uint16(v) => c::ColumnData::Uint16(v),
            W::Uint32(v) => c::ColumnData::Uint32(v),
            W::Uint64(v) => c::ColumnData::Uint64(v),
            W::Float32(v) => c::ColumnData::Float32(v),
            W::Float64(v) => c::ColumnData::Float64(v),
            W::Varlen(v) => c::ColumnData::Varlen(v.conv()),
            W::Interval(i) => c::ColumnData::Interval(c::Intervals {
                months: i.months,
                days: i.days,
                microseconds: i.microseconds,
            }),
            W::Uuid(v) => c::ColumnData::Uuid(v),
            W::Dynamic(d) => c::ColumnData::Dynamic(c::DynamicValues {
                tags: d.tags,
                integers: d.integers,
                floats: d.floats,
                texts: d.texts.conv(),
                blobs: d.blobs.conv(),
            }),
        }
    }
}

impl Conv<w::ColumnData> for c::ColumnData {
    fn conv(self) -> w::ColumnData {
        use c::ColumnData as C;
        match self {
            C::Null => w::ColumnData::Null,
            C::Boolean(v) => w::ColumnData::Boolean(v),
            C::Int8(v) => w::ColumnData::Int8(v),
            C::Int16(v) => w::ColumnData::Int16(v),
            C::Int32(v) => w::ColumnData::Int32(v),
            C::Int64(v) => w::ColumnData::Int64(v),
            C::Uint8(v) => w::ColumnData::Uint8(v),
            C::Uint16(v) => w::ColumnData::Uint16(v),
            C::Uint32(v) => w::ColumnData::Uint32(v),
            C::Uint64(v) => w::ColumnData::Uint64(v),
            C::Float32(v) => w::ColumnData::Float32(v),
            C::Float64(v) => w::ColumnData::Float64(v),
            C::Varlen(v) => w::ColumnData::Varlen(v.conv()),
            C::Interval(i) => w::ColumnData::Interval(w::Intervals {
                months: i.months,
                days: i.days,
                microseconds: i.microseconds,
            }),
            C::Uuid(v) => w::ColumnData::Uuid(v),
            C::Dynamic(d) => w::ColumnData::Dynamic(w::DynamicValues {
                tags: d.tags,
                integers: d.integers,
                floats: d.floats,
                texts: d.texts.conv(),
                blobs: d.blobs.conv(),
            }),
        }
    }
}

impl Conv<c::Batch> for w::Batch {
    fn conv(self) -> c::Batch {
        c::Batch {
            rows: self.rows,
            columns: self
                .columns
                .into_iter()
                .map(|v| c::ColumnValues {
                    data: v.data.conv(),
                    validity: v.validity,
                })
                .collect(),
        }
    }
}

impl Conv<w::Batch> for c::Batch {
    fn conv(self) -> w::Batch {
        w::Batch {
            rows: self.rows,
            columns: self
                .columns
                .into_iter()
                .map(|v| w::ColumnValues {
                    data: v.data.conv(),
                    validity: v.validity,
                })
                .collect(),
        }
    }
}

/// A batch the host reads (a driver's result).
pub(crate) fn batch_in(b: w::Batch) -> c::Batch {
    b.conv()
}

/// A batch the host sends (bulk input).
pub(crate) fn batch_out(b: c::Batch) -> w::Batch {
    b.conv()
}
