//! driverbox errors as ADBC errors: status from the error kind, SQLSTATE
//! and the server's numeric code kept.

use adbc_core::error::{Error as AdbcError, Status};
use driverbox::{Error, ErrorKind};

/// The ADBC status for a driverbox error kind (ADBC 1.1, `AdbcStatusCode`).
pub fn status(kind: ErrorKind) -> Status {
    use ErrorKind as K;
    match kind {
        K::UniqueViolation | K::ForeignKeyViolation | K::NotNullViolation | K::CheckViolation => Status::Integrity,
        K::Syntax | K::InvalidInput => Status::InvalidArguments,
        K::UndefinedObject => Status::NotFound,
        K::DuplicateObject => Status::AlreadyExists,
        K::Data => Status::InvalidData,
        K::Permission => Status::Unauthorized,
        K::Authentication => Status::Unauthenticated,
        K::TransactionConflict => Status::InvalidState,
        K::Connection | K::Tls => Status::IO,
        K::Timeout => Status::Timeout,
        K::Canceled => Status::Cancelled,
        K::Protocol => Status::Internal,
        K::Unsupported => Status::NotImplemented,
        _ => Status::Unknown,
    }
}

/// The error detail (`AdbcErrorGetDetail`) holding the server's numeric
/// code as decimal text, e.g. MySQL's `1062`.
pub const VENDOR_CODE_DETAIL: &str = "driverbox.vendor_code";

/// Converts a driverbox error: its message (which names the driver), the
/// status of its kind, the SQLSTATE and the vendor code when the server
/// gave them.
pub fn adbc(e: Error) -> AdbcError {
    let mut out = AdbcError::with_message_and_status(e.to_string(), status(e.kind()));
    if let Some(server) = e.as_server_error() {
        out.vendor_code = server.vendor_code.unwrap_or(0);
        // Under ADBC 1.1 the C `vendor_code` slot signals "details
        // available", so the server's code also travels as a detail.
        if let Some(code) = server.vendor_code {
            out.details = Some(vec![(VENDOR_CODE_DETAIL.to_string(), code.to_string().into_bytes())]);
        }
        if server.code.len() == 5 && server.code.is_ascii() {
            for (slot, b) in out.sqlstate.iter_mut().zip(server.code.bytes()) {
                *slot = b as std::ffi::c_char;
            }
        }
    }
    out
}

/// An error of this driver's own (bad option, wrong state, …).
pub fn invalid(status: Status, message: impl Into<String>) -> AdbcError {
    AdbcError::with_message_and_status(message, status)
}

/// The string value of option `key`; a value of another type is an
/// `INVALID_ARGUMENT` error.
pub fn string_option(key: &str, value: adbc_core::options::OptionValue) -> Result<String, AdbcError> {
    match value {
        adbc_core::options::OptionValue::String(s) => Ok(s),
        _ => Err(invalid(
            Status::InvalidArguments,
            format!("driverbox: option {key} takes a string"),
        )),
    }
}

/// The getters of byte, integer and double options for an `Optionable`
/// with option type `$opt`: this driver has none, so each is `NOT_FOUND`.
macro_rules! no_typed_options {
    ($opt:ty) => {
        fn get_option_bytes(&self, key: $opt) -> adbc_core::error::Result<Vec<u8>> {
            Err(crate::error::no_option(key.as_ref(), "a byte"))
        }

        fn get_option_int(&self, key: $opt) -> adbc_core::error::Result<i64> {
            Err(crate::error::no_option(key.as_ref(), "an integer"))
        }

        fn get_option_double(&self, key: $opt) -> adbc_core::error::Result<f64> {
            Err(crate::error::no_option(key.as_ref(), "a double"))
        }
    };
}
pub(crate) use no_typed_options;

/// The error of a getter for an option of a type this driver does not have.
pub fn no_option(key: &str, kind: &str) -> AdbcError {
    invalid(
        Status::NotFound,
        format!("driverbox: option {key} is not {kind} option"),
    )
}

/// An Arrow error met while building a result.
pub fn arrow(e: arrow_schema::ArrowError) -> AdbcError {
    AdbcError::with_message_and_status(format!("driverbox: {e}"), Status::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_kind() {
        assert_eq!(status(ErrorKind::UniqueViolation), Status::Integrity);
        assert_eq!(status(ErrorKind::UndefinedObject), Status::NotFound);
        assert_eq!(status(ErrorKind::DuplicateObject), Status::AlreadyExists);
        assert_eq!(status(ErrorKind::Authentication), Status::Unauthenticated);
        assert_eq!(status(ErrorKind::Unsupported), Status::NotImplemented);
    }
}
