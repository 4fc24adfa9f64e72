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

use driverbox_guest_sdk::batch::{column, BatchBuilder};
use driverbox_guest_sdk::transport::{self, Socket};
use driverbox_guest_sdk::types::{
    ConnectConfig, ConnectionSettings, DriverMetadata, Health, LogicalType, PlaceholderStyle, QueryResult, Setting,
    UrlParameter, Value,
};
use driverbox_guest_sdk::{Driver, Error, Result};

thread_local! {
    static HOARD: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn version() -> String {
    driverbox_guest_sdk::driver_version!()
}

fn text_result(rows: Vec<String>) -> Result<QueryResult> {
    let columns = vec![column("result", LogicalType::Text, "text")];
    let mut batch = BatchBuilder::new(&columns);
    for r in rows {
        batch.column(0).push_str(&r)?;
        batch.end_row();
    }
    Ok(batch.into_result(columns, None))
}

fn arg<T: std::str::FromStr>(words: &[&str], i: usize) -> Result<T> {
    words
        .get(i)
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| Error::invalid(format!("argument {i} missing or bad")))
}

/// The misbehaving "connection": its config and the sockets it hoards.
pub struct Hostile {
    config: ConnectConfig,
    kept: Vec<Socket>,
}

impl Hostile {
    fn endpoint(&self) -> (String, u16) {
        self.config
            .hosts
            .first()
            .map(|e| (e.host.clone(), e.port))
            .unwrap_or_default()
    }

    fn run(&mut self, sql: &str) -> Result<QueryResult> {
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
                text_result(vec![format!("holding {mb} MiB")])
            }
            "connect" => {
                let host: String = arg(&words, 1)?;
                let port: u16 = arg(&words, 2)?;
                transport::connect(&host, port, false)?;
                text_result(vec!["connected".into()])
            }
            // DNS lookups of any name it likes (the allow-list says no).
            "srv" => {
                let name: String = arg(&words, 1)?;
                let records = driverbox_guest_sdk::dns::resolve_srv(&name)?;
                text_result(
                    records
                        .into_iter()
                        .map(|r| format!("{}:{}", r.target, r.port))
                        .collect(),
                )
            }
            "txt" => {
                let name: String = arg(&words, 1)?;
                let records = driverbox_guest_sdk::dns::resolve_txt(&name)?;
                text_result(records.into_iter().map(|r| r.concat()).collect())
            }
            "sockets" => {
                let n: usize = arg(&words, 1)?;
                let (host, port) = self.endpoint();
                for _ in 0..n {
                    let s = transport::connect(&host, port, false)?;
                    self.kept.push(s);
                }
                text_result(vec![format!("{n} sockets open")])
            }
            "plaintext" => {
                let n: usize = arg(&words, 1)?;
                let (host, port) = self.endpoint();
                let s = transport::connect(&host, port, false)?;
                s.write(&vec![b'x'; n])?;
                text_result(vec![format!("sent {n} bytes")])
            }
            "rows" => {
                let n: usize = arg(&words, 1)?;
                let bytes: usize = arg(&words, 2)?;
                text_result((0..n).map(|_| "x".repeat(bytes)).collect())
            }
            "version" => text_result(vec![version()]),
            #[cfg(feature = "files")]
            "readfile" => {
                let text = std::fs::read_to_string(words.get(1).copied().unwrap_or("/etc/passwd"))
                    .map_err(|e| Error::invalid(e.to_string()))?;
                text_result(vec![text])
            }
            #[cfg(feature = "sockets")]
            "tcp" => {
                std::net::TcpStream::connect(words.get(1).copied().unwrap_or("169.254.169.254:80"))
                    .map_err(|e| Error::invalid(e.to_string()))?;
                text_result(vec!["connected".into()])
            }
            _ => text_result(vec![sql.to_string()]),
        }
    }
}

impl Driver for Hostile {
    fn metadata() -> DriverMetadata {
        DriverMetadata {
            name: "hostile".into(),
            version: version(),
            database_type: "test".into(),
            dialect: "generic".into(),
            placeholder_style: PlaceholderStyle::QuestionMark,
            identifier_quote: "\"".into(),
            connection: ConnectionSettings {
                schemes: vec![if cfg!(feature = "bad-metadata") {
                    "Not A Scheme"
                } else {
                    "hostile"
                }
                .into()],
                default_port: Some(1),
                file_based: false,
                parameters: vec![UrlParameter {
                    name: "sslmode".into(),
                    aliases: Vec::new(),
                    env: Vec::new(),
                    default: Some("disable".into()),
                    description: "TLS mode, as libpq's".into(),
                    setting: Some(Setting::TlsMode),
                }],
                scheme_defaults: Vec::new(),
            },
            max_connections: None,
            features: vec![],
        }
    }
    fn connect(config: ConnectConfig) -> Result<Self> {
        Ok(Hostile {
            config,
            kept: Vec::new(),
        })
    }
    fn test_connection(&mut self) -> Result<()> {
        Ok(())
    }
    fn execute(&mut self, sql: &str, _params: Vec<Value>) -> Result<u64> {
        self.run(sql).map(|r| u64::from(r.batch.rows))
    }
    fn query(&mut self, sql: &str, _params: Vec<Value>) -> Result<QueryResult> {
        self.run(sql)
    }
    fn health_check(&mut self) -> Result<Health> {
        Ok(Health {
            server_version: "hostile".into(),
            details: vec![],
        })
    }
}

driverbox_guest_sdk::export_driver!(Hostile);
