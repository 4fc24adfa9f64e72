//! The one error type of the host library (re-exported by `driverbox`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// Portable classification of an error, the same for every database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorKind {
    UniqueViolation,
    ForeignKeyViolation,
    NotNullViolation,
    CheckViolation,
    Syntax,
    /// Unknown table, column, function, database …
    UndefinedObject,
    /// The object to create exists already.
    DuplicateObject,
    /// Bad data for the operation: division by zero, out of range, bad cast.
    Data,
    Permission,
    Authentication,
    /// Serialization failure, deadlock or lock time-out: the transaction may be retried.
    TransactionConflict,
    Connection,
    Tls,
    Timeout,
    /// The statement was canceled on request.
    Canceled,
    /// The server (or the driver) broke the protocol.
    Protocol,
    /// The caller passed something the driver refuses.
    InvalidInput,
    Unsupported,
    Other,
}

/// An error the database server reported, with everything it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerError {
    pub kind: ErrorKind,
    /// SQLSTATE (PostgreSQL, MySQL), or the server's own code as text.
    pub code: String,
    /// The server's numeric code besides the SQLSTATE (MySQL's `1062`).
    pub vendor_code: Option<i32>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the statement.
    pub position: Option<u32>,
    pub schema_name: Option<String>,
    pub table_name: Option<String>,
    pub column_name: Option<String>,
    pub constraint_name: Option<String>,
    /// Where it happened, as the server tells (PostgreSQL's CONTEXT).
    pub context: Option<String>,
}

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

    /// A client error of `driver` (what the host raises on a driver's
    /// behalf).
    pub fn client(driver: &Arc<str>, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::Client {
            driver: driver.clone(),
            kind,
            message: message.into(),
        }
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
            ErrorKind::Canceled => "canceled",
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
