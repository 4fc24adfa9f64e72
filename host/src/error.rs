//! The one error type of the host library ([`driverbox_core::error`],
//! re-exported), and what a driver's call returns before it becomes one.

use std::sync::Arc;

pub use driverbox_core::error::{Error, ErrorKind, Result, ServerError};

/// What a driver returns when a call fails: the server's error, or one the
/// driver (or the host on its behalf) raised. Converted from each contract
/// version's `error`, then into [`Error`] with the driver's name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GuestError {
    Server(Box<ServerError>),
    Client { kind: ErrorKind, message: String },
}

impl GuestError {
    /// A client error raised by the host for the driver's call.
    pub(crate) fn client(kind: ErrorKind, message: impl Into<String>) -> GuestError {
        GuestError::Client {
            kind,
            message: message.into(),
        }
    }
}

/// The error of a driver's call, naming the driver.
pub(crate) fn from_guest(driver: &Arc<str>, error: GuestError) -> Error {
    match error {
        GuestError::Server(error) => Error::Server {
            driver: driver.clone(),
            error,
        },
        GuestError::Client { kind, message } => Error::Client {
            driver: driver.clone(),
            kind,
            message,
        },
    }
}
