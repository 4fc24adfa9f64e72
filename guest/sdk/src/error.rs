//! Error constructors and the SQLSTATE table.

use crate::types::{ClientError, Error, ErrorKind, ServerError};

/// Result with the WIT error type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// A client-side error (raised by the driver, not the server).
pub fn client_error(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::Client(ClientError {
        kind,
        message: message.into(),
    })
}

/// A server error with SQLSTATE (or server code) `code`, its portable kind
/// from [`kind_for_sqlstate`], and no further fields: the driver fills in
/// what its server said.
pub fn server_error(code: impl Into<String>, message: impl Into<String>) -> ServerError {
    let code = code.into();
    ServerError {
        kind: kind_for_sqlstate(&code),
        code,
        vendor_code: None,
        message: message.into(),
        detail: None,
        hint: None,
        position: None,
        schema_name: None,
        table_name: None,
        column_name: None,
        constraint_name: None,
        context: None,
    }
}

/// The portable kind of a SQLSTATE (SQL standard classes, PostgreSQL's
/// codes; MySQL and MariaDB use the same classes). The table is in
/// `docs/values.md`.
pub fn kind_for_sqlstate(code: &str) -> ErrorKind {
    match code {
        "23505" => ErrorKind::UniqueViolation,
        "23503" => ErrorKind::ForeignKeyViolation,
        "23502" => ErrorKind::NotNullViolation,
        "23514" => ErrorKind::CheckViolation,
        "42P01" | "42703" | "42883" | "3D000" | "3F000" | "42704" | "42S02" | "42S22" => ErrorKind::UndefinedObject,
        "42P07" | "42701" | "42P04" | "42P06" | "42710" | "42723" | "42S01" | "42S21" => ErrorKind::DuplicateObject,
        "42501" => ErrorKind::Permission,
        "40001" | "40P01" => ErrorKind::TransactionConflict,
        "57P01" | "57P02" | "57P03" => ErrorKind::Connection,
        "57014" => ErrorKind::Canceled,
        _ => match code.get(..2) {
            Some("42") => ErrorKind::Syntax,
            Some("22") => ErrorKind::Data,
            Some("28") => ErrorKind::Authentication,
            Some("08") => ErrorKind::Connection,
            Some("40") => ErrorKind::TransactionConflict,
            _ => ErrorKind::Other,
        },
    }
}

impl Error {
    /// The portable kind, whoever raised the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Server(e) => e.kind,
            Error::Client(e) => e.kind,
        }
    }

    /// The message, whoever raised the error.
    pub fn message(&self) -> &str {
        match self {
            Error::Server(e) => &e.message,
            Error::Client(e) => &e.message,
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

    /// Shorthand for an `authentication` error.
    pub fn authentication(message: impl Into<String>) -> Error {
        client_error(ErrorKind::Authentication, message)
    }

    /// Whether the error leaves a session in an unknown state (the
    /// connection must not be used again): connection, protocol, time-out
    /// and TLS failures raised on the client side.
    pub fn breaks_session(&self) -> bool {
        matches!(self, Error::Client(c) if matches!(
            c.kind,
            ErrorKind::Connection | ErrorKind::Protocol | ErrorKind::Timeout | ErrorKind::Tls
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_codes() {
        let cases = [
            ("23505", ErrorKind::UniqueViolation),
            ("23503", ErrorKind::ForeignKeyViolation),
            ("23502", ErrorKind::NotNullViolation),
            ("23514", ErrorKind::CheckViolation),
            ("42601", ErrorKind::Syntax),
            ("42000", ErrorKind::Syntax),
            ("42P01", ErrorKind::UndefinedObject),
            ("42S02", ErrorKind::UndefinedObject),
            ("3D000", ErrorKind::UndefinedObject),
            ("42P07", ErrorKind::DuplicateObject),
            ("42S01", ErrorKind::DuplicateObject),
            ("22012", ErrorKind::Data),
            ("22003", ErrorKind::Data),
            ("42501", ErrorKind::Permission),
            ("28P01", ErrorKind::Authentication),
            ("28000", ErrorKind::Authentication),
            ("40001", ErrorKind::TransactionConflict),
            ("40P01", ErrorKind::TransactionConflict),
            ("40000", ErrorKind::TransactionConflict),
            ("08006", ErrorKind::Connection),
            ("57P01", ErrorKind::Connection),
            ("57014", ErrorKind::Canceled),
            ("0A000", ErrorKind::Other),
            ("XX000", ErrorKind::Other),
            ("", ErrorKind::Other),
            ("4", ErrorKind::Other),
        ];
        for (code, kind) in cases {
            assert_eq!(kind_for_sqlstate(code), kind, "{code}");
        }
    }

    #[test]
    fn server_error_has_kind_and_nothing_else() {
        let e = server_error("23505", "duplicate key");
        assert_eq!(e.kind, ErrorKind::UniqueViolation);
        assert_eq!((e.detail, e.position, e.vendor_code), (None, None, None));
    }
}
