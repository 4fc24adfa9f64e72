//! Shared helpers for the integration tests: runtimes, server URLs,
//! test components and throwaway servers.

use std::path::PathBuf;

use driverbox::{Limits, Runtime};

/// The local PostgreSQL 15 every test machine runs (trust auth).
pub const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";

/// The local MariaDB 10.11 every test machine runs (root, no password, TLS off).
pub const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// The misbehaving test driver (tests/guests/hostile).
pub fn hostile_wasm() -> PathBuf {
    PathBuf::from(env!("HOSTILE_WASM"))
}

/// A runtime with the built-in drivers, default limits and a shared cache.
pub fn runtime() -> Runtime {
    runtime_with(Limits::default())
}

/// A runtime with the given limits.
pub fn runtime_with(limits: Limits) -> Runtime {
    Runtime::builder()
        .limits(limits)
        .cache_dir(Some(cache_dir()))
        .build()
        .expect("runtime")
}

/// The artifact cache the tests share (compiling a component in a debug
/// host is slow; the cache makes it once per change).
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-cache")
}

pub mod dnsserver;
pub mod dynamoserver;
pub mod mongoserver;
pub mod myserver;
pub mod pgserver;
pub mod wire;

/// The hostile driver built with version tag `a` or `b`.
pub fn hostile_tagged(tag: char) -> PathBuf {
    PathBuf::from(match tag {
        'a' => env!("HOSTILE_WASM_A"),
        _ => env!("HOSTILE_WASM_B"),
    })
}

/// A variant of the hostile driver that the host must refuse at load:
/// `files` (imports wasi:filesystem), `sockets` (imports wasi:sockets),
/// `bad-metadata` (a malformed URL scheme).
pub fn hostile_variant(feature: &str) -> PathBuf {
    PathBuf::from(match feature {
        "files" => env!("HOSTILE_WASM_FILES"),
        "sockets" => env!("HOSTILE_WASM_SOCKETS"),
        "bad-metadata" => env!("HOSTILE_WASM_BAD_METADATA"),
        other => panic!("no hostile variant {other}"),
    })
}

/// The PostgreSQL driver as built against contract 0.1 (commit 2ee5458),
/// kept as a fixture: see `tests/fixtures/README.md`.
pub fn postgres_v01_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/postgres-driver-0.1.0.wasm")
}

/// The PostgreSQL driver built with version tag `a` or `b`.
pub fn postgres_tagged(tag: char) -> PathBuf {
    PathBuf::from(match tag {
        'a' => env!("POSTGRES_WASM_A"),
        _ => env!("POSTGRES_WASM_B"),
    })
}

pub mod conformance;
