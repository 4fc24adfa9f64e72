//! The parts of the driverbox host that need no WebAssembly runtime:
//! connection URLs ([`config`]), values and columns ([`value`]), the one
//! error type ([`error`]), the contract's columnar batches ([`contract`],
//! [`batch`]) and their Apache Arrow form ([`arrow`]).
//!
//! The `driverbox` crate re-exports all of it; use that. This crate exists
//! so that the parsers and converters can be fuzzed without building
//! wasmtime (`fuzz/`, targets `host_url` and `host_batch`).

pub mod arrow;
mod aws_profile;
pub mod batch;
pub mod config;
pub mod contract;
pub mod error;
pub mod value;
