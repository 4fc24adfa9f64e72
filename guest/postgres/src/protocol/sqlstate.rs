//! SQLSTATE → portable error kind (the table in `docs/values.md`).

use driverbox_guest_sdk::ErrorKind;

/// The kind of a server error with SQLSTATE `code`.
pub fn kind_for(code: &str) -> ErrorKind {
    match code {
        "23505" => ErrorKind::UniqueViolation,
        "23503" => ErrorKind::ForeignKeyViolation,
        "23502" => ErrorKind::NotNullViolation,
        "23514" => ErrorKind::CheckViolation,
        "42P01" | "42703" | "42883" | "3D000" | "3F000" | "42704" => ErrorKind::UndefinedObject,
        "42P07" | "42701" | "42P04" | "42P06" | "42710" | "42723" => ErrorKind::DuplicateObject,
        "42501" => ErrorKind::Permission,
        "40001" | "40P01" => ErrorKind::TransactionConflict,
        "57P01" | "57P02" | "57P03" => ErrorKind::Connection,
        "57014" => ErrorKind::Timeout,
        _ => match code.get(..2) {
            Some("42") => ErrorKind::Syntax,
            Some("22") => ErrorKind::Data,
            Some("28") => ErrorKind::Authentication,
            Some("08") => ErrorKind::Connection,
            _ => ErrorKind::Other,
        },
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
            ("3D000", ErrorKind::UndefinedObject),
            ("42P07", ErrorKind::DuplicateObject),
            ("42P04", ErrorKind::DuplicateObject),
            ("22012", ErrorKind::Data),
            ("22003", ErrorKind::Data),
            ("42501", ErrorKind::Permission),
            ("28P01", ErrorKind::Authentication),
            ("28000", ErrorKind::Authentication),
            ("40001", ErrorKind::TransactionConflict),
            ("40P01", ErrorKind::TransactionConflict),
            ("08006", ErrorKind::Connection),
            ("57P01", ErrorKind::Connection),
            ("57014", ErrorKind::Timeout),
            ("0A000", ErrorKind::Other),
            ("XX000", ErrorKind::Other),
            ("", ErrorKind::Other),
            ("4", ErrorKind::Other),
        ];
        for (code, kind) in cases {
            assert_eq!(kind_for(code), kind, "{code}");
        }
    }
}
