//! A driver that misbehaves on purpose, so the tests can check the host's
//! sandbox and pool. The SQL text is a command:
//!
//! - `panic` — panics (a trap);
//! - `loop` — spins forever;
//! - `alloc MB` — allocates and touches MB mebibytes;
//! - `connect HOST PORT` — opens a socket to any endpoint it likes;
//! - `sockets N` — opens N sockets to its own endpoint and keeps them;
//! - `plaintext N` — connects to its own endpoint and sends N bytes in the clear;
//! - `rows N BYTES` — returns N rows of BYTES bytes each;
//! - `version` — returns its version;
//! - `readfile PATH` — reads a file (feature `files` only);
//! - `tcp HOST:PORT` — connects with `std::net` (feature `sockets` only);
//! - anything else — one row echoing the text.
//!
//! The features make variants that the host must refuse at load.

// The error type is the WIT `error` variant (a server error carries eleven
// fields); it crosses the component boundary as is, so it is not boxed.
#![allow(clippy::result_large_err)]

use std::cell::RefCell;

use driverbox_guest_sdk::transport::{self, Socket};
use driverbox_guest_sdk::types::{Column, ConnectConfig, QueryResult, Value};
use driverbox_guest_sdk::{Error, Result};

wit_bindgen::generate!({
    path: "../../../wit",
    world: "core-driver",
    with: {
        "driverbox:driver/types@0.1.0": driverbox_guest_sdk::types,
        "driverbox:driver/transport@0.1.0": driverbox_guest_sdk::transport,
        "driverbox:driver/log@0.1.0": driverbox_guest_sdk::host_log,
    },
});

use exports::driverbox::driver::{base, traits};

thread_local! {
    static CONFIG: RefCell<Option<ConnectConfig>> = const { RefCell::new(None) };
    static KEPT: RefCell<Vec<Socket>> = const { RefCell::new(Vec::new()) };
    static HOARD: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn version() -> String {
    driverbox_guest_sdk::driver_version!()
}

fn endpoint() -> (String, u16) {
    CONFIG.with(|c| {
        c.borrow()
            .as_ref()
            .map(|c| (c.host.clone(), c.port))
            .unwrap_or_default()
    })
}

fn text_result(rows: Vec<String>) -> QueryResult {
    QueryResult {
        columns: vec![Column {
            name: "result".into(),
            type_name: "text".into(),
        }],
        rows: rows.into_iter().map(|r| vec![Value::Text(r)]).collect(),
        rows_affected: None,
    }
}

fn arg<T: std::str::FromStr>(words: &[&str], i: usize) -> Result<T> {
    words
        .get(i)
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| Error::invalid(format!("argument {i} missing or bad")))
}

fn run(sql: &str) -> Result<QueryResult> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    match words.first().copied().unwrap_or("") {
        "panic" => panic!("hostile driver panics on purpose"),
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "alloc" => {
            let mb: usize = arg(&words, 1)?;
            for _ in 0..mb {
                HOARD.with(|h| h.borrow_mut().push(vec![1u8; 1 << 20]));
            }
            Ok(text_result(vec![format!("holding {mb} MiB")]))
        }
        "connect" => {
            let host: String = arg(&words, 1)?;
            let port: u16 = arg(&words, 2)?;
            transport::connect(&host, port, false)?;
            Ok(text_result(vec!["connected".into()]))
        }
        "sockets" => {
            let n: usize = arg(&words, 1)?;
            let (host, port) = endpoint();
            for _ in 0..n {
                let s = transport::connect(&host, port, false)?;
                KEPT.with(|k| k.borrow_mut().push(s));
            }
            Ok(text_result(vec![format!("{n} sockets open")]))
        }
        "plaintext" => {
            let n: usize = arg(&words, 1)?;
            let (host, port) = endpoint();
            let s = transport::connect(&host, port, false)?;
            s.write(&vec![b'x'; n])?;
            Ok(text_result(vec![format!("sent {n} bytes")]))
        }
        "rows" => {
            let n: usize = arg(&words, 1)?;
            let bytes: usize = arg(&words, 2)?;
            Ok(text_result((0..n).map(|_| "x".repeat(bytes)).collect()))
        }
        "version" => Ok(text_result(vec![version()])),
        #[cfg(feature = "files")]
        "readfile" => {
            let text = std::fs::read_to_string(words.get(1).copied().unwrap_or("/etc/passwd"))
                .map_err(|e| Error::invalid(e.to_string()))?;
            Ok(text_result(vec![text]))
        }
        #[cfg(feature = "sockets")]
        "tcp" => {
            std::net::TcpStream::connect(words.get(1).copied().unwrap_or("169.254.169.254:80"))
                .map_err(|e| Error::invalid(e.to_string()))?;
            Ok(text_result(vec!["connected".into()]))
        }
        _ => Ok(text_result(vec![sql.to_string()])),
    }
}

struct Hostile;

impl base::Guest for Hostile {
    fn connect(config: ConnectConfig) -> Result<()> {
        CONFIG.with(|c| *c.borrow_mut() = Some(config));
        Ok(())
    }
    fn test_connection() -> Result<()> {
        Ok(())
    }
    fn execute(sql: String, _params: Vec<Value>) -> Result<u64> {
        run(&sql).map(|r| r.rows.len() as u64)
    }
    fn query(sql: String, _params: Vec<Value>) -> Result<QueryResult> {
        run(&sql)
    }
    fn execute_query(sql: String, _params: Vec<Value>) -> Result<QueryResult> {
        run(&sql)
    }
    fn close() {}
    fn cancel_token() -> Option<Vec<u8>> {
        None
    }
    fn cancel(_config: ConnectConfig, _token: Vec<u8>) -> Result<()> {
        Err(Error::unsupported("hostile: no cancel"))
    }
}

impl traits::Guest for Hostile {
    fn metadata() -> traits::DriverMetadata {
        traits::DriverMetadata {
            name: "hostile".into(),
            version: version(),
            database_type: "test".into(),
            dialect: "generic".into(),
            schemes: vec![if cfg!(feature = "bad-metadata") {
                "Not A Scheme"
            } else {
                "hostile"
            }
            .into()],
            default_port: Some(1),
            max_connections: None,
            features: vec![],
        }
    }
    fn health_check() -> Result<traits::Health> {
        Ok(traits::Health {
            server_version: "hostile".into(),
            details: vec![],
        })
    }
}

// The export glue uses symbol names only a wasm component can have; a native
// build of the workspace compiles the crate but exports nothing.
#[cfg(target_arch = "wasm32")]
export!(Hostile);
