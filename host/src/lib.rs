//! driverbox: database drivers as sandboxed WebAssembly components.
//!
//! A [`Runtime`] holds the wasmtime engine and the registry of driver
//! components (built-in or loaded from files). [`Runtime::connect`] gives a
//! [`WasmDriver`]: a pool of driver instances, one `Store` per connection,
//! serving the traits in [`api`].
//!
//! ```no_run
//! # async fn demo() -> driverbox::Result<()> {
//! use driverbox::{QueryDriver, Runtime, Value};
//! let rt = Runtime::new()?;
//! let db = rt.connect("postgres://postgres@127.0.0.1/test").await?;
//! let rows = db.query("select $1::int + 1 as n", &[Value::Int(41)]).await?;
//! assert_eq!(rows.rows[0][0], Value::Int(42));
//! # Ok(()) }
//! ```

mod aws_profile;
mod batch;
mod bindings;

pub mod api;
pub mod arrow;
pub mod config;
pub mod error;
mod imports;
pub mod pool;
pub mod portable;
mod runtime;
pub mod sql;
pub mod value;

pub use api::*;
/// The Arrow crates of the API's record batches, for matching versions.
pub use arrow_array;
pub use arrow_schema;
pub use bindings::CONTRACT_VERSIONS;
pub use config::{ConnectOptions, ConnectionSettings, HostPort, SchemeDefault, Setting, TlsMode, UrlParameter};
pub use error::{Error, ErrorKind, Result, ServerError};
pub use pool::{PoolConfig, PoolStatus};
pub use runtime::{
    engine_config, Capability, DriverEvent, DriverInfo, DriverWatcher, Limits, PlaceholderStyle, Runtime,
    RuntimeBuilder,
};
pub use value::{json_member, Column, Interval, LogicalType, QueryResult, Value};
