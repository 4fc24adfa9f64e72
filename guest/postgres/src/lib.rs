//! The PostgreSQL driver component of driverbox.
//!
//! Exports the `sql-driver` world. Each component instance holds at most
//! one [`connection::Connection`], kept in a thread-local; the exported
//! functions are thin wrappers over plain functions that take
//! `&mut Connection`, which the native tests call directly.
//!
//! Layout: `protocol/` (wire format and codecs, no I/O), `connection`
//! (session and query flows), and one module per WIT interface.

// The error type is the WIT `error` variant (a server error carries eleven
// fields); it crosses the component boundary as is, so it is not boxed.
#![allow(clippy::result_large_err)]

use std::cell::RefCell;

use driverbox_guest_sdk::{Error, Result};

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
pub mod extension;
pub mod function;
pub mod protocol;
pub mod schema;
pub mod table;
pub mod traits;
pub mod view;

#[cfg(test)]
mod tests;

use connection::Connection;

/// The component's export type.
pub struct Driver;

// The export glue uses symbol names only a wasm component can have; native
// builds (tests) keep the `Guest` impls but not the exports.
#[cfg(target_arch = "wasm32")]
export!(Driver);

thread_local! {
    /// This instance's connection.
    static CONNECTION: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

/// Runs `f` on this instance's connection; `connection` error without one.
pub(crate) fn with_conn<T>(f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
    CONNECTION.with(|cell| {
        let mut slot = cell.borrow_mut();
        let conn = slot.as_mut().ok_or_else(|| Error::connection("not connected"))?;
        f(conn)
    })
}

/// Replaces this instance's connection (closing the old one).
pub(crate) fn set_connection(conn: Option<Connection>) {
    let old = CONNECTION.with(|cell| std::mem::replace(&mut *cell.borrow_mut(), conn));
    if let Some(mut old) = old {
        old.terminate();
    }
}

/// A debug message into the host log (nothing in native tests, which
/// have no host).
pub(crate) fn log_debug(message: &str) {
    #[cfg(target_arch = "wasm32")]
    driverbox_guest_sdk::log::log(driverbox_guest_sdk::log::Level::Debug, message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = message;
}
