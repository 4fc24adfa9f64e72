//! Shared guest library for driverbox drivers.
//!
//! It generates the host imports (`types`, `transport`, `log`) once, so every
//! driver uses the same Rust types for values and errors: a driver's own
//! `wit_bindgen::generate!` maps these interfaces here with `with:`.
//! It also holds the helpers every driver needs: a buffered socket,
//! error constructors, logging and calendar arithmetic.

// The error type is the WIT `error` variant (a server error carries eleven
// fields); it crosses the component boundary as is, so it is not boxed.
#![allow(clippy::result_large_err)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "imports",
});

pub use driverbox::driver::{log as host_log, transport, types};

pub mod error;
pub mod io;
pub mod log;
pub mod time;

pub use error::{client_error, Result};
pub use types::{Error, ErrorKind, Value};

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
