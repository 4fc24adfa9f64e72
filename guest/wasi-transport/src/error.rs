//! The adapter's one error type, and its conversion to the contract's
//! `error` (a `client` error with a portable kind).

use crate::exports::driverbox::driver::types::{ClientError, Error, ErrorKind};

/// What can go wrong in the adapter; each names what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// An environment variable holds a value the adapter does not know.
    #[error("{var}={value:?}: {why}")]
    Setting {
        var: &'static str,
        value: String,
        why: String,
    },
    /// The name did not resolve, or the WASI host refused the lookup.
    #[error("cannot resolve {host}: {why}")]
    Resolve { host: String, why: String },
    /// No address of the host accepted the connection.
    #[error("cannot connect to {host}:{port}: {why}")]
    Connect { host: String, port: u16, why: String },
    /// The WASI host does not allow this connection (its network policy).
    #[error("connect to {host}:{port} refused by the WASI host: {why}")]
    Refused { host: String, port: u16, why: String },
    /// A read or a write failed.
    #[error("{op} failed: {why}")]
    Io { op: &'static str, why: String },
    /// Waiting ran past its time-out.
    #[error("{what} timed out after {seconds} s")]
    Timeout { what: &'static str, seconds: u64 },
    /// A TLS handshake, certificate or record failed.
    #[error("{0}")]
    Tls(String),
    /// The TLS policy forbids what the driver asked.
    #[error("{0}")]
    Policy(String),
    /// The socket failed before and cannot be used.
    #[error("socket is closed after an error")]
    Closed,
    /// The driver asked something that does not fit the socket's state.
    #[error("{0}")]
    InvalidInput(String),
}

impl AdapterError {
    /// The portable kind the driver sees.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdapterError::Setting { .. } | AdapterError::InvalidInput(_) => ErrorKind::InvalidInput,
            AdapterError::Resolve { .. } | AdapterError::Connect { .. } | AdapterError::Io { .. } => {
                ErrorKind::Connection
            }
            AdapterError::Closed => ErrorKind::Connection,
            AdapterError::Refused { .. } | AdapterError::Policy(_) => ErrorKind::Permission,
            AdapterError::Timeout { .. } => ErrorKind::Timeout,
            AdapterError::Tls(_) => ErrorKind::Tls,
        }
    }
}

impl From<AdapterError> for Error {
    fn from(e: AdapterError) -> Error {
        Error::Client(ClientError {
            kind: e.kind(),
            message: e.to_string(),
        })
    }
}
