//! The one error type of the host library.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::types as wit;

pub use wit::{ErrorKind, ServerError};

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, naming the driver it happened in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database server reported an error (SQLSTATE or server code inside).
    #[error("{driver}: {error}")]
    Server { driver: Arc<str>, error: Box<ServerError> },
    /// The driver or the host refused or failed an operation.
    #[error("{driver}: {message} ({kind})")]
    Client {
        driver: Arc<str>,
        kind: ErrorKind,
        message: String,
    },
    /// The driver crashed (trap, panic, resource limit); its connection was discarded.
    #[error("{driver}: driver crashed in {call}: {message}")]
    Trap {
        driver: Arc<str>,
        call: &'static str,
        message: String,
    },
    /// A call ran past its deadline; its connection was discarded.
    #[error("{driver}: {call} did not finish within {limit:?}")]
    Timeout {
        driver: Arc<str>,
        call: &'static str,
        limit: Duration,
    },
    /// No pooled connection became free in time.
    #[error("{driver}: no connection free within {waited:?} (pool of {max})")]
    PoolTimeout {
        driver: Arc<str>,
        waited: Duration,
        max: usize,
    },
    /// A bad connection URL or option.
    #[error("invalid connection settings: {0}")]
    Config(String),
    /// A driver component that could not be loaded or failed validation.
    #[error("driver {name}: {message}")]
    Load { name: String, message: String },
}

impl Error {
    /// The portable kind, for every variant.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Server { error, .. } => error.kind,
            Error::Client { kind, .. } => *kind,
            Error::Trap { .. } => ErrorKind::Other,
            Error::Timeout { .. } | Error::PoolTimeout { .. } => ErrorKind::Timeout,
            Error::Config(_) => ErrorKind::InvalidInput,
            Error::Load { .. } => ErrorKind::InvalidInput,
        }
    }

    /// The server's error code (SQLSTATE for PostgreSQL and MySQL).
    pub fn code(&self) -> Option<&str> {
        self.as_server_error().map(|e| e.code.as_str())
    }

    /// The full server error, when the server raised it.
    pub fn as_server_error(&self) -> Option<&ServerError> {
        match self {
            Error::Server { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether the driver crashed or timed out (its connection is gone).
    pub fn is_crash(&self) -> bool {
        matches!(self, Error::Trap { .. } | Error::Timeout { .. })
    }

    pub(crate) fn client(driver: &Arc<str>, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::Client {
            driver: driver.clone(),
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn from_wit(driver: &Arc<str>, error: wit::Error) -> Error {
        match error {
            wit::Error::Server(e) => Error::Server {
                driver: driver.clone(),
                error: Box::new(e),
            },
            wit::Error::Client(e) => Error::Client {
                driver: driver.clone(),
                kind: e.kind,
                message: e.message,
            },
        }
    }
}

impl wit::Error {
    /// A client error for the guest, raised by the host.
    pub(crate) fn client(kind: ErrorKind, message: impl Into<String>) -> wit::Error {
        wit::Error::Client(wit::ClientError {
            kind,
            message: message.into(),
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::UniqueViolation => "unique violation",
            ErrorKind::ForeignKeyViolation => "foreign key violation",
            ErrorKind::NotNullViolation => "not-null violation",
            ErrorKind::CheckViolation => "check violation",
            ErrorKind::Syntax => "syntax error",
            ErrorKind::UndefinedObject => "undefined object",
            ErrorKind::DuplicateObject => "duplicate object",
            ErrorKind::Data => "data error",
            ErrorKind::Permission => "permission denied",
            ErrorKind::Authentication => "authentication failed",
            ErrorKind::TransactionConflict => "transaction conflict",
            ErrorKind::Connection => "connection error",
            ErrorKind::Tls => "TLS error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Other => "error",
        })
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)?;
        if let Some(detail) = &self.detail {
            write!(f, "; detail: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        if let Some(position) = self.position {
            write!(f, "; at character {position}")?;
        }
        if let Some(context) = &self.context {
            write!(f, "; context: {context}")?;
        }
        Ok(())
    }
}
