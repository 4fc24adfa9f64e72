//! The SQLite driver of driverbox, as a `wasm32-wasip2` component that
//! exports the `sql-driver` world.
//!
//! One component instance holds one connection ([`connection::Conn`]) in
//! a thread-local; every exported function is a thin wrapper over a plain
//! function taking the connection, so the logic is tested natively. The
//! database file is reached through the WASI filesystem preopen the host
//! gives (the database's own directory); see [`connection`] for the
//! journal and locking choices under WASI.

// Every fallible function returns the WIT `error` variant, which is large
// by design (a full server error); boxing it would only add conversions.
#![allow(clippy::result_large_err)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "sql-driver",
    with: {
        "driverbox:driver/types@0.1.0": driverbox_guest_sdk::types,
        "driverbox:driver/transport@0.1.0": driverbox_guest_sdk::transport,
        "driverbox:driver/log@0.1.0": driverbox_guest_sdk::host_log,
    },
});

pub mod base;
pub mod capabilities;
pub mod column;
pub mod connection;
pub mod ddl;
pub mod errors;
pub mod extension;
pub mod function;
pub mod schema;
pub mod sql;
pub mod table;
pub mod traits;
pub mod values;
pub mod view;

use std::cell::RefCell;

use connection::Conn;
use driverbox_guest_sdk::{Error, Result};

/// The exported component.
pub struct Driver;

thread_local! {
    /// This instance's connection.
    static CONN: RefCell<Option<Conn>> = const { RefCell::new(None) };
}

/// Runs `f` on the open connection; `connection` error when there is none.
pub(crate) fn with_conn<T>(f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
    CONN.with(|cell| {
        let mut guard = cell
            .try_borrow_mut()
            .map_err(|_| Error::invalid("the driver is busy with another call"))?;
        let conn = guard
            .as_mut()
            .ok_or_else(|| Error::connection("not connected: call connect first"))?;
        conn.sync_transaction_state();
        f(conn)
    })
}

/// Replaces the connection (dropping, and so closing, the old one).
pub(crate) fn set_conn(conn: Option<Conn>) {
    CONN.with(|cell| {
        if let Ok(mut guard) = cell.try_borrow_mut() {
            let old = std::mem::replace(&mut *guard, conn);
            drop(guard);
            drop(old);
        }
    });
}

/// A debug message into the host log (no-op in native builds, where there
/// is no host).
pub(crate) fn log_debug(message: &str) {
    #[cfg(target_arch = "wasm32")]
    driverbox_guest_sdk::log::log(driverbox_guest_sdk::log::Level::Debug, message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = message;
}

// Natively (unit tests, clippy) the crate is a plain library: exporting
// would put WIT names such as `driverbox:driver/base@0.1.0#connect` into
// the native cdylib's symbol list, which the linker refuses.
#[cfg(target_arch = "wasm32")]
export!(Driver);
