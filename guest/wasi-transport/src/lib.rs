//! The transport adapter: `driverbox:driver/transport` and `log` (contract
//! 0.2.0) over standard WASI 0.2, so that a driver composed with it
//! (`driverbox drivers portable`) runs in any WASI 0.2 host — `wasmtime
//! serve`, Spin, wasmCloud, jco — and not only in driverbox's.
//!
//! What driverbox's host does for a driver, this component does inside the
//! composition: name lookup and TCP through `wasi:sockets`, TLS with rustls
//! (the `ring` provider, compiled to wasm), libpq's `sslmode` meanings with
//! `verify-full` as the default (no host enforces a policy here), the
//! plaintext-preamble rule, connect and I/O time-outs, and log lines on
//! stderr. Its settings come from environment variables (see
//! [`settings`] and `docs/portable.md`), since a WASI host hands a
//! component nothing else.

// The error type is the WIT `error` variant, returned across the component
// boundary as is, so it is not boxed.
#![allow(clippy::result_large_err)]

wit_bindgen::generate!({
    inline: r#"
        package driverbox:wasi-transport;

        world adapter {
            export driverbox:driver/types@0.2.0;
            export driverbox:driver/transport@0.2.0;
            export driverbox:driver/log@0.2.0;
        }
    "#,
    path: "../../wit/v0.2.0",
});

pub mod error;
mod log;
pub mod net;
pub mod settings;
pub mod tls;
mod transport;

/// The adapter component's exports.
pub struct Adapter;

// Exported symbols only in the component: their names (`driverbox:driver/…`)
// do not link as a native library, where the unit tests run.
#[cfg(target_arch = "wasm32")]
export!(Adapter);
