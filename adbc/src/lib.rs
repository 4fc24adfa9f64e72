//! driverbox as an ADBC 1.1 driver: `libadbc_driver_driverbox.so`, entry
//! point `AdbcDriverDriverboxInit`. Every ADBC driver manager (C, Python,
//! R, Go, Java, Rust) can load it; the databases behind it are reached by
//! driverbox's sandboxed wasm driver components.
//!
//! The URI option takes any driverbox URL; see [`database`] for every
//! option, [`connection`] for sessions and transactions, [`statement`] for
//! queries, parameters and ingest.

pub mod connection;
pub mod database;
mod error;
mod objects;
pub mod statement;

pub use connection::DriverboxConnection;
pub use database::{DriverboxDatabase, DriverboxDriver};
pub use statement::DriverboxStatement;

adbc_ffi::export_driver!(AdbcDriverDriverboxInit, DriverboxDriver);
