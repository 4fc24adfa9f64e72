//! The SQLite driver of driverbox, as a `wasm32-wasip2` component that
//! exports the `embedded-sql-driver` shape (every SQL interface but
//! `function`).
//!
//! One component instance holds one connection ([`connection::Conn`]);
//! every trait method is a thin wrapper over a plain function taking the
//! connection, so the logic is tested natively. The
//! database file is reached through the WASI filesystem preopen the host
//! gives (the database's own directory); see [`connection`] for the
//! journal and locking choices under WASI.

// Every fallible function returns the WIT `error` variant, which is large
// by design (a full server error); boxing it would only add conversions.
#![allow(clippy::result_large_err)]

pub mod base;
pub mod capabilities;
pub mod column;
pub mod connection;
pub mod ddl;
pub mod errors;
pub mod extension;
pub mod schema;
pub mod sql;
pub mod table;
pub mod traits;
pub mod values;
pub mod view;

// The component's export: a `connection::Conn` per instance. SQLite
// stores no functions, so the driver exports no `function` interface.
driverbox_guest_sdk::export_driver!(connection::Conn: schema, table, column, view, capabilities, extension);
