//! The exported `transport` interface: the same semantics as driverbox's
//! host (`host/src/imports/transport.rs`) with the policy from
//! [`crate::settings`] instead of a connection config.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, ClientConnection};

use crate::error::AdapterError;
use crate::exports::driverbox::driver::transport::{Guest, GuestSocket, Socket};
use crate::exports::driverbox::driver::types::Error;
use crate::net::{from_io, Tcp, MAX_READ};
use crate::settings::Settings;
use crate::Adapter;

/// Bytes a driver may send in plaintext before upgrading when TLS is
/// required: enough for PostgreSQL's (8) and MySQL's (36) SSL requests,
/// too little for credentials or queries.
const PLAINTEXT_PREAMBLE: usize = 36;

/// The settings and TLS configuration of this instance, read once.
struct Policy {
    settings: Settings,
    tls: Option<Arc<ClientConfig>>,
}

fn policy() -> Result<&'static Policy, AdapterError> {
    static POLICY: OnceLock<Result<Policy, AdapterError>> = OnceLock::new();
    POLICY
        .get_or_init(|| {
            let settings = Settings::from_env()?;
            let tls = crate::tls::client_config(&settings)?;
            Ok(Policy { settings, tls })
        })
        .as_ref()
        .map_err(Clone::clone)
}

enum Stream {
    Plain(Tcp),
    Tls(Box<ClientConnection>, Tcp),
}

/// One driver socket.
pub struct Conn {
    state: RefCell<State>,
}

struct State {
    stream: Option<Stream>,
    server_name: String,
    plaintext_written: usize,
}

fn start_tls(policy: &Policy, mut tcp: Tcp, server_name: &str) -> Result<Stream, AdapterError> {
    let Some(config) = &policy.tls else {
        return Err(AdapterError::Policy(
            "TLS is disabled for this connection (DRIVERBOX_SSLMODE=disable)".into(),
        ));
    };
    let io = tcp.timeout_secs;
    tcp.timeout_secs = policy.settings.connect_timeout_secs;
    let conn = crate::tls::handshake(config.clone(), &mut tcp, server_name)?;
    tcp.timeout_secs = io;
    Ok(Stream::Tls(Box::new(conn), tcp))
}

/// The adapter's error of a TLS-level `io::Error`.
fn tls_io(op: &'static str, e: std::io::Error) -> AdapterError {
    from_io(&e).unwrap_or_else(|| AdapterError::Io {
        op,
        why: format!("TLS: {e}"),
    })
}

impl Guest for Adapter {
    type Socket = Conn;

    fn connect(host: String, port: u16, tls_now: bool) -> Result<Socket, Error> {
        let policy = policy()?;
        let s = &policy.settings;
        let tcp = Tcp::connect(&host, port, s.connect_timeout_secs, s.io_timeout_secs)?;
        let stream = if tls_now {
            start_tls(policy, tcp, &host)?
        } else {
            Stream::Plain(tcp)
        };
        Ok(Socket::new(Conn {
            state: RefCell::new(State {
                stream: Some(stream),
                server_name: host,
                plaintext_written: 0,
            }),
        }))
    }
}

impl GuestSocket for Conn {
    fn read(&self, max: u32) -> Result<Vec<u8>, Error> {
        let mut state = self.state.borrow_mut();
        let max = (max as usize).clamp(1, MAX_READ);
        match state.stream.as_mut() {
            None => Err(AdapterError::Closed.into()),
            Some(Stream::Plain(tcp)) => Ok(tcp.read_some(max)?),
            Some(Stream::Tls(conn, tcp)) => {
                let mut buf = vec![0u8; max];
                match rustls::Stream::new(conn.as_mut(), tcp).read(&mut buf) {
                    Ok(n) => {
                        buf.truncate(n);
                        Ok(buf)
                    }
                    // The peer hung up without close_notify: end of stream.
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Vec::new()),
                    Err(e) => Err(tls_io("read", e).into()),
                }
            }
        }
    }

    fn write(&self, data: Vec<u8>) -> Result<(), Error> {
        let policy = policy()?;
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        match state.stream.as_mut() {
            None => Err(AdapterError::Closed.into()),
            Some(Stream::Plain(tcp)) => {
                state.plaintext_written += data.len();
                if policy.settings.sslmode.required() && state.plaintext_written > PLAINTEXT_PREAMBLE {
                    state.stream = None;
                    return Err(AdapterError::Policy(format!(
                        "DRIVERBOX_SSLMODE={} requires TLS: refusing to send data in plaintext before the TLS upgrade",
                        policy.settings.sslmode.name()
                    ))
                    .into());
                }
                Ok(tcp.write_all(&data)?)
            }
            Some(Stream::Tls(conn, tcp)) => {
                let mut tls = rustls::Stream::new(conn.as_mut(), tcp);
                tls.write_all(&data)
                    .and_then(|()| tls.flush())
                    .map_err(|e| tls_io("write", e).into())
            }
        }
    }

    fn upgrade_tls(&self) -> Result<(), Error> {
        let policy = policy()?;
        if policy.tls.is_none() {
            return Err(
                AdapterError::Policy("TLS is disabled for this connection (DRIVERBOX_SSLMODE=disable)".into()).into(),
            );
        }
        let mut state = self.state.borrow_mut();
        let tcp = match state.stream.take() {
            Some(Stream::Plain(tcp)) => tcp,
            Some(tls @ Stream::Tls(..)) => {
                state.stream = Some(tls);
                return Err(AdapterError::InvalidInput("TLS is already active".into()).into());
            }
            None => return Err(AdapterError::Closed.into()),
        };
        let name = state.server_name.clone();
        state.stream = Some(start_tls(policy, tcp, &name)?);
        Ok(())
    }

    fn is_tls(&self) -> bool {
        matches!(self.state.borrow().stream, Some(Stream::Tls(..)))
    }
}
