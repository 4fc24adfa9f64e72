//! The MySQL/MariaDB driver component of driverbox.
//!
//! A [`connection::Connection`] is one session; it implements the guest
//! SDK's traits (one module per WIT interface) and `export_driver!` makes
//! it the component's export.
//!
//! Layout: `protocol/` (framing, column definitions, row decoders,
//! parameters and errors; no I/O), `connection` (handshake, auth, TLS and
//! the query flows), and one module per WIT interface.

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

use driverbox_guest_sdk::sql::{Dialect, MYSQL};

/// How this driver writes SQL: `` `ident` ``, `?`, 64-character names.
pub const DIALECT: Dialect = MYSQL;

driverbox_guest_sdk::export_driver!(connection::Connection: schema, table, column, view, function, capabilities, extension);

#[cfg(test)]
mod tests;
