//! Server errors: MySQL's numeric code and SQLSTATE, mapped to the
//! portable kinds. MySQL reports most constraint errors with the generic
//! SQLSTATE `23000` and many others with `HY000`, so the server code
//! decides first and the SQLSTATE class only where the code is not listed.

use driverbox_guest_sdk::error::{kind_for_sqlstate, server_error};
use driverbox_guest_sdk::types::ErrorKind;
use driverbox_guest_sdk::{Error, Result};

use super::wire::Reader;

/// The portable kind of a MySQL/MariaDB error code, if it has a specific one.
pub fn kind_for_code(code: u16) -> Option<ErrorKind> {
    use ErrorKind as K;
    Some(match code {
        // ER_DUP_ENTRY, ER_DUP_KEY, ER_DUP_ENTRY_WITH_KEY_NAME, ER_DUP_UNIQUE
        1062 | 1022 | 1586 | 1169 => K::UniqueViolation,
        // ER_NO_REFERENCED_ROW(_2), ER_ROW_IS_REFERENCED(_2)
        1216 | 1217 | 1451 | 1452 => K::ForeignKeyViolation,
        // ER_BAD_NULL_ERROR, ER_NO_DEFAULT_FOR_FIELD
        1048 | 1364 => K::NotNullViolation,
        // MySQL ER_CHECK_CONSTRAINT_VIOLATED, MariaDB ER_CONSTRAINT_FAILED
        3819 | 4025 => K::CheckViolation,
        // ER_PARSE_ERROR, ER_SYNTAX_ERROR, ER_EMPTY_QUERY
        1064 | 1149 | 1065 => K::Syntax,
        // ER_DB_DROP_EXISTS, ER_BAD_DB_ERROR, ER_NO_SUCH_TABLE, ER_BAD_TABLE_ERROR, ER_BAD_FIELD_ERROR,
        // ER_SP_DOES_NOT_EXIST, ER_CANT_DROP_FIELD_OR_KEY, ER_UNKNOWN_TABLE
        1008 | 1049 | 1146 | 1051 | 1054 | 1305 | 1091 | 1109 => K::UndefinedObject,
        // ER_DB_CREATE_EXISTS, ER_TABLE_EXISTS_ERROR, ER_DUP_FIELDNAME, ER_DUP_KEYNAME, ER_SP_ALREADY_EXISTS
        1007 | 1050 | 1060 | 1061 | 1304 => K::DuplicateObject,
        // ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
        1045 | 1698 => K::Authentication,
        // ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR, ER_COLUMNACCESS_DENIED_ERROR,
        // ER_SPECIFIC_ACCESS_DENIED_ERROR, ER_PROCACCESS_DENIED_ERROR, ER_OPTION_PREVENTS_STATEMENT
        1044 | 1142 | 1143 | 1227 | 1370 | 1290 => K::Permission,
        // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
        1213 | 1205 => K::TransactionConflict,
        // ER_QUERY_INTERRUPTED
        1317 => K::Canceled,
        // ER_QUERY_TIMEOUT (MySQL), ER_STATEMENT_TIMEOUT (MariaDB)
        3024 | 1969 => K::Timeout,
        // ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_HOST_IS_BLOCKED, ER_HOST_NOT_PRIVILEGED
        1040 | 1053 | 1129 | 1130 => K::Connection,
        // ER_DIVISION_BY_ZERO, ER_WARN_DATA_OUT_OF_RANGE, ER_TRUNCATED_WRONG_VALUE(_FOR_FIELD), ER_DATA_TOO_LONG
        1365 | 1264 | 1292 | 1366 | 1406 => K::Data,
        _ => return None,
    })
}

/// Parses an ERR packet (`0xFF` first) into a server error.
pub fn parse_err(payload: &[u8]) -> Error {
    match try_parse_err(payload) {
        Ok(e) => e,
        Err(e) => e,
    }
}

fn try_parse_err(payload: &[u8]) -> Result<Error> {
    let mut r = Reader::new(payload);
    if r.u8("error header")? != 0xFF {
        return Err(Error::protocol("MySQL error packet without its 0xFF header"));
    }
    let code = r.u16("error code")?;
    let rest = r.rest();
    // `#` and a five-character SQLSTATE (protocol 4.1); before the
    // handshake there is none.
    let (state, message) = match rest {
        [b'#', s @ ..] if s.len() >= 5 => (String::from_utf8_lossy(&s[..5]).into_owned(), &s[5..]),
        _ => ("HY000".to_string(), rest),
    };
    let mut e = server_error(state, String::from_utf8_lossy(message).into_owned());
    e.vendor_code = Some(i32::from(code));
    e.kind = kind_for_code(code).unwrap_or_else(|| kind_for_sqlstate(&e.code));
    Ok(Error::Server(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: u16, state: &str, msg: &str) -> Vec<u8> {
        let mut p = vec![0xFF];
        p.extend_from_slice(&code.to_le_bytes());
        p.push(b'#');
        p.extend_from_slice(state.as_bytes());
        p.extend_from_slice(msg.as_bytes());
        p
    }

    #[test]
    fn maps_codes_and_states() {
        let cases = [
            (1062, "23000", ErrorKind::UniqueViolation),
            (1452, "23000", ErrorKind::ForeignKeyViolation),
            (1048, "23000", ErrorKind::NotNullViolation),
            (4025, "23000", ErrorKind::CheckViolation),
            (1064, "42000", ErrorKind::Syntax),
            (1146, "42S02", ErrorKind::UndefinedObject),
            (1049, "42000", ErrorKind::UndefinedObject),
            (1050, "42S01", ErrorKind::DuplicateObject),
            (1045, "28000", ErrorKind::Authentication),
            (1142, "42000", ErrorKind::Permission),
            (1213, "40001", ErrorKind::TransactionConflict),
            (1205, "HY000", ErrorKind::TransactionConflict),
            (1317, "70100", ErrorKind::Canceled),
            (1365, "22012", ErrorKind::Data),
            (9999, "22003", ErrorKind::Data),
            (9999, "HY000", ErrorKind::Other),
        ];
        for (code, state, kind) in cases {
            let Error::Server(e) = parse_err(&err(code, state, "m")) else {
                panic!("not a server error")
            };
            assert_eq!(
                (e.kind, e.code.as_str(), e.vendor_code),
                (kind, state, Some(code as i32)),
                "{code}"
            );
            assert_eq!(e.message, "m");
        }
    }

    #[test]
    fn error_without_sqlstate_and_truncated_packets() {
        let mut p = vec![0xFF, 0x10, 0x04];
        p.extend_from_slice(b"Too many connections");
        let Error::Server(e) = parse_err(&p) else { panic!() };
        assert_eq!((e.code.as_str(), e.message.as_str()), ("HY000", "Too many connections"));
        assert_eq!(e.kind, ErrorKind::Connection);
        assert_eq!(parse_err(&[0xFF, 1]).kind(), ErrorKind::Protocol);
    }
}
