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

adbc_ffi::export_driver!(AdbcDriverDriverboxInit, CheckedDriver);

/// The function table `adbc_ffi` makes for [`DriverboxDriver`], with the
/// entry points that would panic on a caller's bad input checked first: a
/// panic there poisons the whole driver for the process (every later call
/// fails), so bad input must be an error before it reaches them.
struct CheckedDriver;

type BindFn = unsafe extern "C" fn(
    *mut adbc_ffi::FFI_AdbcStatement,
    *mut arrow_array::ffi::FFI_ArrowArray,
    *mut arrow_array::ffi::FFI_ArrowSchema,
    *mut adbc_ffi::FFI_AdbcError,
) -> adbc_core::error::AdbcStatusCode;

/// `adbc_ffi`'s own `StatementBind`, called once the arguments are checked.
static BIND: std::sync::OnceLock<Option<BindFn>> = std::sync::OnceLock::new();

impl adbc_ffi::FFIDriver for CheckedDriver {
    fn ffi_driver() -> adbc_ffi::FFI_AdbcDriver {
        let mut driver = <DriverboxDriver as adbc_ffi::FFIDriver>::ffi_driver();
        let _ = BIND.set(driver.StatementBind);
        driver.StatementBind = Some(statement_bind);
        driver
    }
}

/// `StatementBind` refusing a released array or schema (arrow's import
/// asserts on them) with `ADBC_STATUS_INVALID_ARGUMENT`.
unsafe extern "C" fn statement_bind(
    statement: *mut adbc_ffi::FFI_AdbcStatement,
    values: *mut arrow_array::ffi::FFI_ArrowArray,
    schema: *mut arrow_array::ffi::FFI_ArrowSchema,
    error: *mut adbc_ffi::FFI_AdbcError,
) -> adbc_core::error::AdbcStatusCode {
    use adbc_core::error::{Error, Status};
    // SAFETY: non-null pointers from the caller point at the C structs, as the ADBC API requires.
    let released = unsafe {
        values.as_ref().is_some_and(|v| v.release().is_none()) || schema.as_ref().is_some_and(|s| s.release().is_none())
    };
    let inner = BIND.get().copied().flatten();
    match inner {
        Some(bind) if !released => unsafe { bind(statement, values, schema, error) },
        _ => {
            let message = if released {
                "StatementBind: the array or its schema was already released"
            } else {
                "StatementBind is not available"
            };
            unsafe { adbc_ffi::export_error(error, Error::with_message_and_status(message, Status::InvalidArguments)) };
            adbc_core::constants::ADBC_STATUS_INVALID_ARGUMENT
        }
    }
}
