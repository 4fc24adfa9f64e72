//! SQLite result codes to the portable error kinds of `docs/values.md`.
//!
//! A failure SQLite reports becomes a `server-error` whose `code` is the
//! extended result code as decimal text and whose message ends with the
//! code's name, e.g. `UNIQUE constraint failed: t.a (SQLITE_CONSTRAINT_UNIQUE)`.
//! Everything else rusqlite can report is a `client-error`.

use driverbox_guest_sdk::types::ServerError;
use driverbox_guest_sdk::{client_error, Error, ErrorKind};
use rusqlite::ffi;

/// The `SQLITE_...` name of a (primary or extended) result code.
pub fn code_name(code: i32) -> Option<&'static str> {
    Some(match code {
        1 => "SQLITE_ERROR",
        2 => "SQLITE_INTERNAL",
        3 => "SQLITE_PERM",
        4 => "SQLITE_ABORT",
        5 => "SQLITE_BUSY",
        6 => "SQLITE_LOCKED",
        7 => "SQLITE_NOMEM",
        8 => "SQLITE_READONLY",
        9 => "SQLITE_INTERRUPT",
        10 => "SQLITE_IOERR",
        11 => "SQLITE_CORRUPT",
        12 => "SQLITE_NOTFOUND",
        13 => "SQLITE_FULL",
        14 => "SQLITE_CANTOPEN",
        15 => "SQLITE_PROTOCOL",
        16 => "SQLITE_EMPTY",
        17 => "SQLITE_SCHEMA",
        18 => "SQLITE_TOOBIG",
        19 => "SQLITE_CONSTRAINT",
        20 => "SQLITE_MISMATCH",
        21 => "SQLITE_MISUSE",
        22 => "SQLITE_NOLFS",
        23 => "SQLITE_AUTH",
        24 => "SQLITE_FORMAT",
        25 => "SQLITE_RANGE",
        26 => "SQLITE_NOTADB",
        27 => "SQLITE_NOTICE",
        28 => "SQLITE_WARNING",
        257 => "SQLITE_ERROR_MISSING_COLLSEQ",
        513 => "SQLITE_ERROR_RETRY",
        769 => "SQLITE_ERROR_SNAPSHOT",
        1025 => "SQLITE_ERROR_RESERVESIZE",
        1281 => "SQLITE_ERROR_KEY",
        1537 => "SQLITE_ERROR_UNABLE",
        266 => "SQLITE_IOERR_READ",
        522 => "SQLITE_IOERR_SHORT_READ",
        778 => "SQLITE_IOERR_WRITE",
        1034 => "SQLITE_IOERR_FSYNC",
        1290 => "SQLITE_IOERR_DIR_FSYNC",
        1546 => "SQLITE_IOERR_TRUNCATE",
        1802 => "SQLITE_IOERR_FSTAT",
        2058 => "SQLITE_IOERR_UNLOCK",
        2314 => "SQLITE_IOERR_RDLOCK",
        2570 => "SQLITE_IOERR_DELETE",
        2826 => "SQLITE_IOERR_BLOCKED",
        3082 => "SQLITE_IOERR_NOMEM",
        3338 => "SQLITE_IOERR_ACCESS",
        3594 => "SQLITE_IOERR_CHECKRESERVEDLOCK",
        3850 => "SQLITE_IOERR_LOCK",
        4106 => "SQLITE_IOERR_CLOSE",
        4362 => "SQLITE_IOERR_DIR_CLOSE",
        4618 => "SQLITE_IOERR_SHMOPEN",
        4874 => "SQLITE_IOERR_SHMSIZE",
        5130 => "SQLITE_IOERR_SHMLOCK",
        5386 => "SQLITE_IOERR_SHMMAP",
        5642 => "SQLITE_IOERR_SEEK",
        5898 => "SQLITE_IOERR_DELETE_NOENT",
        6154 => "SQLITE_IOERR_MMAP",
        6410 => "SQLITE_IOERR_GETTEMPPATH",
        6666 => "SQLITE_IOERR_CONVPATH",
        6922 => "SQLITE_IOERR_VNODE",
        7178 => "SQLITE_IOERR_AUTH",
        7434 => "SQLITE_IOERR_BEGIN_ATOMIC",
        7690 => "SQLITE_IOERR_COMMIT_ATOMIC",
        7946 => "SQLITE_IOERR_ROLLBACK_ATOMIC",
        8202 => "SQLITE_IOERR_DATA",
        8458 => "SQLITE_IOERR_CORRUPTFS",
        8714 => "SQLITE_IOERR_IN_PAGE",
        8970 => "SQLITE_IOERR_BADKEY",
        9226 => "SQLITE_IOERR_CODEC",
        262 => "SQLITE_LOCKED_SHAREDCACHE",
        518 => "SQLITE_LOCKED_VTAB",
        261 => "SQLITE_BUSY_RECOVERY",
        517 => "SQLITE_BUSY_SNAPSHOT",
        773 => "SQLITE_BUSY_TIMEOUT",
        270 => "SQLITE_CANTOPEN_NOTEMPDIR",
        526 => "SQLITE_CANTOPEN_ISDIR",
        782 => "SQLITE_CANTOPEN_FULLPATH",
        1038 => "SQLITE_CANTOPEN_CONVPATH",
        1294 => "SQLITE_CANTOPEN_DIRTYWAL",
        1550 => "SQLITE_CANTOPEN_SYMLINK",
        267 => "SQLITE_CORRUPT_VTAB",
        523 => "SQLITE_CORRUPT_SEQUENCE",
        779 => "SQLITE_CORRUPT_INDEX",
        264 => "SQLITE_READONLY_RECOVERY",
        520 => "SQLITE_READONLY_CANTLOCK",
        776 => "SQLITE_READONLY_ROLLBACK",
        1032 => "SQLITE_READONLY_DBMOVED",
        1288 => "SQLITE_READONLY_CANTINIT",
        1544 => "SQLITE_READONLY_DIRECTORY",
        516 => "SQLITE_ABORT_ROLLBACK",
        275 => "SQLITE_CONSTRAINT_CHECK",
        531 => "SQLITE_CONSTRAINT_COMMITHOOK",
        787 => "SQLITE_CONSTRAINT_FOREIGNKEY",
        1043 => "SQLITE_CONSTRAINT_FUNCTION",
        1299 => "SQLITE_CONSTRAINT_NOTNULL",
        1555 => "SQLITE_CONSTRAINT_PRIMARYKEY",
        1811 => "SQLITE_CONSTRAINT_TRIGGER",
        2067 => "SQLITE_CONSTRAINT_UNIQUE",
        2323 => "SQLITE_CONSTRAINT_VTAB",
        2579 => "SQLITE_CONSTRAINT_ROWID",
        2835 => "SQLITE_CONSTRAINT_PINNED",
        3091 => "SQLITE_CONSTRAINT_DATATYPE",
        283 => "SQLITE_NOTICE_RECOVER_WAL",
        539 => "SQLITE_NOTICE_RECOVER_ROLLBACK",
        795 => "SQLITE_NOTICE_RBU",
        284 => "SQLITE_WARNING_AUTOINDEX",
        279 => "SQLITE_AUTH_USER",
        _ => return None,
    })
}

/// The name of `code`, or of its primary code with the extension number.
fn describe_code(code: i32) -> String {
    match code_name(code) {
        Some(name) => name.to_string(),
        None => match code_name(code & 0xff) {
            Some(name) => format!("{name} ({code})"),
            None => format!("SQLite error {code}"),
        },
    }
}

/// The portable kind of an extended result code and its message.
pub fn kind_for(code: i32, message: &str) -> ErrorKind {
    match code & 0xff {
        ffi::SQLITE_CONSTRAINT => match code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_ROWID => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            ffi::SQLITE_CONSTRAINT_DATATYPE => ErrorKind::Data,
            _ => ErrorKind::Other,
        },
        ffi::SQLITE_MISMATCH | ffi::SQLITE_TOOBIG | ffi::SQLITE_RANGE => ErrorKind::Data,
        ffi::SQLITE_READONLY | ffi::SQLITE_PERM | ffi::SQLITE_AUTH => ErrorKind::Permission,
        ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => ErrorKind::TransactionConflict,
        ffi::SQLITE_CANTOPEN | ffi::SQLITE_IOERR => ErrorKind::Connection,
        ffi::SQLITE_INTERRUPT => ErrorKind::Timeout,
        ffi::SQLITE_ERROR => kind_from_message(message),
        _ => ErrorKind::Other,
    }
}

/// SQLite reports syntax, unknown and duplicate objects all as
/// `SQLITE_ERROR`; only the message tells them apart.
fn kind_from_message(message: &str) -> ErrorKind {
    let m = message.to_ascii_lowercase();
    if m.contains("syntax error") || m.contains("incomplete input") || m.contains("unrecognized token") {
        ErrorKind::Syntax
    } else if m.starts_with("no such ")
        || m.starts_with("unknown database")
        || m.contains(": no such ")
        || m.contains(" has no column named ")
    {
        ErrorKind::UndefinedObject
    } else if m.contains("already exists") || m.starts_with("duplicate column name") {
        ErrorKind::DuplicateObject
    } else if m.starts_with("malformed json") || m.contains("integer overflow") {
        ErrorKind::Data
    } else {
        ErrorKind::Other
    }
}

/// A `server-error` for an extended result code, its message and, when
/// known, the 1-based character position in the statement.
pub fn server(code: i32, message: &str, position: Option<u32>) -> Error {
    let mut e = ServerError {
        vendor_code: None,
        kind: kind_for(code, message),
        code: code.to_string(),
        message: format!("{message} ({})", describe_code(code)),
        detail: None,
        hint: hint_for(code),
        position,
        schema_name: None,
        table_name: None,
        column_name: None,
        constraint_name: None,
        context: None,
    };
    fill_names(&mut e, message);
    Error::Server(e)
}

fn hint_for(code: i32) -> Option<String> {
    match code & 0xff {
        ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => {
            Some("another connection holds a lock on the database; retry the transaction".into())
        }
        ffi::SQLITE_NOTADB => Some("the file exists but is not an SQLite database (or it is encrypted)".into()),
        ffi::SQLITE_CORRUPT => Some("the database file is damaged; restore it from a backup".into()),
        ffi::SQLITE_READONLY => {
            Some("the database was opened read-only, or its file or directory is not writable".into())
        }
        _ => None,
    }
}

/// Splits `schema.table.column`-style names out of SQLite's messages.
fn fill_names(e: &mut ServerError, message: &str) {
    let after = |prefix: &str| message.strip_prefix(prefix).map(|rest| rest.trim().to_string());
    let split_dotted = |s: &str| -> (Option<String>, Option<String>) {
        match s.rsplit_once('.') {
            Some((t, c)) => (Some(t.to_string()), Some(c.to_string())),
            None => (None, Some(s.to_string())),
        }
    };
    if let Some(rest) = after("UNIQUE constraint failed:").or_else(|| after("NOT NULL constraint failed:")) {
        if let Some(index) = rest.strip_prefix("index ") {
            e.constraint_name = Some(index.trim_matches('\'').to_string());
        } else {
            let first = rest.split(", ").next().unwrap_or("");
            let (t, c) = split_dotted(first);
            e.table_name = t;
            e.column_name = c;
        }
    } else if let Some(rest) = after("CHECK constraint failed:") {
        e.constraint_name = Some(rest);
    } else if let Some(rest) = after("no such table:").or_else(|| after("no such view:")) {
        match rest.split_once('.') {
            Some((s, t)) => {
                e.schema_name = Some(s.to_string());
                e.table_name = Some(t.to_string());
            }
            None => e.table_name = Some(rest),
        }
    } else if let Some(rest) = after("no such column:") {
        let (t, c) = split_dotted(&rest);
        e.table_name = t;
        e.column_name = c;
    } else if let Some(rest) = after("duplicate column name:") {
        e.column_name = Some(rest);
    } else if let Some(rest) = after("table ") {
        if let Some(name) = rest.strip_suffix(" already exists") {
            e.table_name = Some(name.trim_matches('"').to_string());
        }
    }
}

/// Maps any rusqlite error (positions, if any, count in the statement alone).
pub fn from_rusqlite(e: rusqlite::Error) -> Error {
    with_position(e, "", 0)
}

/// Maps a rusqlite error raised by the statement that starts at byte
/// `base` of `full`; a syntax error position counts in `full`.
pub fn with_position(e: rusqlite::Error, full: &str, base: usize) -> Error {
    use rusqlite::Error as E;
    match e {
        E::SqliteFailure(err, msg) => {
            let msg = msg.unwrap_or_else(|| err.to_string());
            server(err.extended_code, &msg, None)
        }
        E::SqlInputError {
            error,
            msg,
            sql,
            offset,
        } => {
            let position = usize::try_from(offset).ok().and_then(|off| {
                let text = if full.is_empty() { sql.as_str() } else { full };
                let at = if full.is_empty() { off } else { base + off };
                let prefix = text.get(..at.min(text.len())).or_else(|| {
                    // An offset inside a character: count the whole characters before it.
                    (0..=at.min(text.len())).rev().find_map(|i| text.get(..i))
                })?;
                u32::try_from(prefix.chars().count() + 1).ok()
            });
            server(error.extended_code, &msg, position)
        }
        E::InvalidParameterCount(given, expected) => {
            Error::invalid(format!("the statement takes {expected} parameter(s), {given} given"))
        }
        E::InvalidParameterName(name) => Error::invalid(format!("no parameter named {name}")),
        E::MultipleStatement => Error::invalid(ONE_STATEMENT),
        E::Empty => Error::invalid("the SQL text holds no statement"),
        E::NulError(_) => Error::invalid("the SQL text contains a NUL character"),
        E::ToSqlConversionFailure(err) => Error::invalid(err.to_string()),
        E::SqliteSingleThreadedMode => client_error(ErrorKind::Other, "SQLite is in single-threaded mode"),
        other => client_error(ErrorKind::Other, other.to_string()),
    }
}

/// The message for SQL text that holds more than one statement.
pub const ONE_STATEMENT: &str = "only one statement is allowed here (use execute-query to run a script)";

/// `.db()?` on rusqlite results.
pub trait DbResult<T> {
    /// Maps the error with [`from_rusqlite`].
    fn db(self) -> driverbox_guest_sdk::Result<T>;
}

impl<T> DbResult<T> for rusqlite::Result<T> {
    fn db(self) -> driverbox_guest_sdk::Result<T> {
        self.map_err(from_rusqlite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_of(e: Error) -> ServerError {
        match e {
            Error::Server(s) => s,
            Error::Client(c) => panic!("client error {c:?}"),
        }
    }

    #[test]
    fn names_codes() {
        assert_eq!(code_name(2067), Some("SQLITE_CONSTRAINT_UNIQUE"));
        assert_eq!(code_name(26), Some("SQLITE_NOTADB"));
        assert_eq!(describe_code(19 | (99 << 8)), "SQLITE_CONSTRAINT (25363)");
    }

    #[test]
    fn kinds_follow_the_table() {
        use ErrorKind as K;
        for (code, msg, kind) in [
            (
                ffi::SQLITE_CONSTRAINT_UNIQUE,
                "UNIQUE constraint failed: t.a",
                K::UniqueViolation,
            ),
            (ffi::SQLITE_CONSTRAINT_PRIMARYKEY, "", K::UniqueViolation),
            (ffi::SQLITE_CONSTRAINT_FOREIGNKEY, "", K::ForeignKeyViolation),
            (ffi::SQLITE_CONSTRAINT_NOTNULL, "", K::NotNullViolation),
            (ffi::SQLITE_CONSTRAINT_CHECK, "", K::CheckViolation),
            (ffi::SQLITE_MISMATCH, "", K::Data),
            (ffi::SQLITE_TOOBIG, "", K::Data),
            (ffi::SQLITE_READONLY, "", K::Permission),
            (ffi::SQLITE_BUSY, "", K::TransactionConflict),
            (ffi::SQLITE_LOCKED, "", K::TransactionConflict),
            (ffi::SQLITE_CANTOPEN, "", K::Connection),
            (ffi::SQLITE_IOERR_READ, "", K::Connection),
            (ffi::SQLITE_INTERRUPT, "", K::Timeout),
            (ffi::SQLITE_NOTADB, "file is not a database", K::Other),
            (ffi::SQLITE_CORRUPT, "", K::Other),
            (1, "near \"SELEC\": syntax error", K::Syntax),
            (1, "no such table: main.x", K::UndefinedObject),
            (1, "no such column: y", K::UndefinedObject),
            (1, "table t has no column named z", K::UndefinedObject),
            (1, "table t already exists", K::DuplicateObject),
            (1, "duplicate column name: a", K::DuplicateObject),
            (1, "something else", K::Other),
        ] {
            assert_eq!(kind_for(code, msg), kind, "{code} {msg}");
        }
    }

    #[test]
    fn fills_names_from_messages() {
        let e = server_of(server(2067, "UNIQUE constraint failed: t.a, t.b", None));
        assert_eq!(
            (e.table_name.as_deref(), e.column_name.as_deref()),
            (Some("t"), Some("a"))
        );
        assert_eq!(e.code, "2067");
        assert!(e.message.ends_with("(SQLITE_CONSTRAINT_UNIQUE)"));
        let e = server_of(server(275, "CHECK constraint failed: positive", None));
        assert_eq!(e.constraint_name.as_deref(), Some("positive"));
        let e = server_of(server(1, "no such table: main.x", None));
        assert_eq!(
            (e.schema_name.as_deref(), e.table_name.as_deref()),
            (Some("main"), Some("x"))
        );
    }
}
