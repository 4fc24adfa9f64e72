//! The driverbox guest SDK: everything a driver component needs but its
//! wire protocol, as `sqlx-core` is to the sqlx drivers.
//!
//! A driver implements [`Driver`] (connection, queries, metadata, health)
//! and the traits of the capabilities it serves ([`SchemaIntrospection`],
//! [`TableOperations`], [`ColumnManagement`], [`ViewOperations`],
//! [`FunctionOperations`], [`Capabilities`], [`Extension`],
//! [`NoSqlOperations`]; every method has a default body answering
//! `unsupported`), then calls [`export_driver!`] once with the interfaces it
//! exports:
//!
//! ```ignore
//! driverbox_guest_sdk::export_driver!(Postgres: schema, table, column, view, function, capabilities, extension);
//! ```
//!
//! The SDK generates the WIT bindings (this crate is the only place that
//! names the contract's version, [`WIT_VERSION`]), the export glue and the
//! per-instance connection state. Shared here, not per driver: columnar
//! batch builders ([`batch`]), identifier quoting, placeholders and bulk SQL
//! per dialect ([`sql`]), the statement cache ([`cache`]), transaction and
//! savepoint state ([`tx`]), prepared-statement ids ([`prepared`]), calendar
//! codecs ([`time`]), the buffered transport ([`io`]), and error
//! constructors with the SQLSTATE table ([`error`]).

// The error type is the WIT `error` variant (a server error carries twelve
// fields); it crosses the component boundary as is, so it is not boxed.
#![allow(clippy::result_large_err)]

wit_bindgen::generate!({
    path: "../../wit/v0.2.0",
    world: "imports",
    generate_unused_types: true,
    additional_derives: [PartialEq],
});

/// The version of the `driverbox:driver` contract this SDK builds.
pub const WIT_VERSION: &str = "0.2.0";

pub use driverbox::driver::{dns, log as host_log, transport, types};

pub mod batch;
pub mod cache;
pub mod driver;
pub mod error;
#[doc(hidden)]
pub mod glue;
pub mod io;
pub mod log;
pub mod prepared;
pub mod sql;
pub mod time;
pub mod tx;

pub use driver::{
    Capabilities, ColumnManagement, Driver, Extension, FunctionOperations, NoSqlOperations, SchemaIntrospection,
    TableOperations, ViewOperations,
};
pub use driverbox_guest_sdk_macros::export_driver;
pub use error::{client_error, Result};
pub use types::{Error, ErrorKind, Value};

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// The calling driver's version: its package version, plus `+TAG` when
/// built with `DRIVERBOX_BUILD_TAG=TAG` (tests build two distinguishable
/// copies of one driver this way).
#[macro_export]
macro_rules! driver_version {
    () => {
        match option_env!("DRIVERBOX_BUILD_TAG") {
            Some(tag) => format!("{}+{}", env!("CARGO_PKG_VERSION"), tag),
            None => env!("CARGO_PKG_VERSION").to_string(),
        }
    };
}
