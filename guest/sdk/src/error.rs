//! Error helpers.

use crate::types::{ClientError, Error, ErrorKind};

/// Result with the WIT error type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// A client-side error (raised by the driver, not the server).
pub fn client_error(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::Client(ClientError {
        kind,
        message: message.into(),
    })
}

impl Error {
    /// The portable kind, whoever raised the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Server(e) => e.kind,
            Error::Client(e) => e.kind,
        }
    }

    /// Shorthand for a `protocol` error: the server sent something unexpected.
    pub fn protocol(message: impl Into<String>) -> Error {
        client_error(ErrorKind::Protocol, message)
    }

    /// Shorthand for an `invalid-input` error.
    pub fn invalid(message: impl Into<String>) -> Error {
        client_error(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for an `unsupported` error.
    pub fn unsupported(message: impl Into<String>) -> Error {
        client_error(ErrorKind::Unsupported, message)
    }

    /// Shorthand for a `connection` error.
    pub fn connection(message: impl Into<String>) -> Error {
        client_error(ErrorKind::Connection, message)
    }
}
