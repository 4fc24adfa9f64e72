//! The PostgreSQL driver component of driverbox.
//!
//! A [`connection::Connection`] is one PostgreSQL session; it implements
//! the guest SDK's traits (one module per WIT interface, each a thin layer
//! over plain functions that take `&mut Connection`, which the native tests
//! call directly), and `export_driver!` makes it the component's export.
//!
//! Layout: `protocol/` (wire format and codecs, no I/O), `connection`
//! (session and query flows), and one module per WIT interface.

// The error type is the WIT `error` variant (a server error carries twelve
// fields); it crosses the component boundary as is, so it is not boxed.
#![allow(clippy::result_large_err)]

pub mod base;
pub mod capabilities;
pub mod column;
pub mod connection;
pub mod extension;
pub mod function;
pub mod protocol;
pub mod schema;
pub mod table;
pub mod traits;
pub mod view;

#[cfg(test)]
mod tests;

use driverbox_guest_sdk::sql::{Dialect, POSTGRES};

/// How this driver writes SQL: `"ident"`, `$1`, 63-byte names.
pub const DIALECT: Dialect = POSTGRES;

driverbox_guest_sdk::export_driver!(connection::Connection: schema, table, column, view, function, capabilities, extension);
