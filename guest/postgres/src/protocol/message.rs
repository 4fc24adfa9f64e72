//! Backend message framing and parsing over byte slices, and frontend
//! encoding on top of `postgres_protocol::message::frontend`.
//!
//! Nothing here does I/O. Every length the server sends is checked: a
//! malformed message is a `protocol` error, never a panic.

use bytes::BytesMut;
use driverbox_guest_sdk::types::ServerError;
use driverbox_guest_sdk::{Error, Result};
use postgres_protocol::message::{backend, frontend};

/// Backend message tags.
pub mod tag {
    pub const AUTHENTICATION: u8 = b'R';
    pub const BACKEND_KEY_DATA: u8 = b'K';
    pub const BIND_COMPLETE: u8 = b'2';
    pub const CLOSE_COMPLETE: u8 = b'3';
    pub const COMMAND_COMPLETE: u8 = b'C';
    pub const COPY_DATA: u8 = b'd';
    pub const COPY_DONE: u8 = b'c';
    pub const COPY_IN_RESPONSE: u8 = b'G';
    pub const COPY_OUT_RESPONSE: u8 = b'H';
    pub const COPY_BOTH_RESPONSE: u8 = b'W';
    pub const DATA_ROW: u8 = b'D';
    pub const EMPTY_QUERY: u8 = b'I';
    pub const ERROR_RESPONSE: u8 = b'E';
    pub const NEGOTIATE_PROTOCOL_VERSION: u8 = b'v';
    pub const NO_DATA: u8 = b'n';
    pub const NOTICE_RESPONSE: u8 = b'N';
    pub const NOTIFICATION: u8 = b'A';
    pub const PARAMETER_DESCRIPTION: u8 = b't';
    pub const PARAMETER_STATUS: u8 = b'S';
    pub const PARSE_COMPLETE: u8 = b'1';
    pub const PORTAL_SUSPENDED: u8 = b's';
    pub const READY_FOR_QUERY: u8 = b'Z';
    pub const ROW_DESCRIPTION: u8 = b'T';
}

/// Largest backend message accepted (PostgreSQL's own limit is 1 GB per field).
pub const MAX_MESSAGE_LEN: usize = 1 << 30;

/// Frames the next message: `(tag, total length including the tag byte)`,
/// or `None` while fewer than 5 bytes are there.
pub fn frame(buf: &[u8]) -> Result<Option<(u8, usize)>> {
    match backend::Header::parse(buf) {
        Ok(Some(header)) => {
            let len = header.len() as usize;
            if len > MAX_MESSAGE_LEN {
                return Err(Error::protocol(format!("server message too long ({len} bytes)")));
            }
            Ok(Some((header.tag(), len + 1)))
        }
        Ok(None) => Ok(None),
        Err(_) => Err(Error::protocol("invalid message length from the server")),
    }
}

/// A bounds-checked cursor over a message body.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn truncated() -> Error {
    Error::protocol("truncated message from the server")
}

impl<'a> Reader<'a> {
    /// Reads `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let out = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.bytes(N)?;
        let mut out = [0; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    /// Big-endian i16.
    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    /// Big-endian u16.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    /// Big-endian i32.
    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    /// Big-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// Big-endian i64.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A NUL-terminated string (UTF-8 checked).
    pub fn cstr(&mut self) -> Result<&'a str> {
        let rest = self.buf.get(self.pos..).ok_or_else(truncated)?;
        let end = rest.iter().position(|&b| b == 0).ok_or_else(truncated)?;
        self.pos += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| Error::protocol("server sent a string that is not UTF-8"))
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        out
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The value of a DataRow field or a Bind-like value: `None` for NULL (-1).
    pub fn value(&mut self) -> Result<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| Error::protocol("negative field length"))?;
        self.bytes(len).map(Some)
    }
}

/// One column of a RowDescription.
#[derive(Debug, Clone)]
pub struct FieldDescription {
    /// Column label.
    pub name: String,
    /// Type OID (the base type for a domain).
    pub type_oid: u32,
    /// Type modifier (e.g. varchar length + 4).
    pub type_modifier: i32,
}

/// Parses a RowDescription body.
pub fn row_description(body: &[u8]) -> Result<Vec<FieldDescription>> {
    let mut r = Reader::new(body);
    let count = r.u16()? as usize;
    // Each field takes at least 19 bytes: refuse counts the body cannot hold.
    if count > body.len() / 19 + 1 {
        return Err(truncated());
    }
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let name = r.cstr()?.to_string();
        let _table_oid = r.u32()?;
        let _column = r.i16()?;
        let type_oid = r.u32()?;
        let _size = r.i16()?;
        let type_modifier = r.i32()?;
        let _format = r.i16()?;
        fields.push(FieldDescription {
            name,
            type_oid,
            type_modifier,
        });
    }
    Ok(fields)
}

/// Parses a ParameterDescription body into parameter type OIDs.
pub fn parameter_description(body: &[u8]) -> Result<Vec<u32>> {
    let mut r = Reader::new(body);
    let count = r.u16()? as usize;
    if count * 4 > body.len() {
        return Err(truncated());
    }
    (0..count).map(|_| r.u32()).collect()
}

/// The command tag of a CommandComplete body (`INSERT 0 3`, `SELECT 2` ...).
pub fn command_tag(body: &[u8]) -> Result<&str> {
    Reader::new(body).cstr()
}

/// The row count a command tag reports, if any (`UPDATE 5` → 5).
pub fn tag_rows(tag: &str) -> Option<u64> {
    let mut words = tag.split(' ');
    let command = words.next()?;
    match command {
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "SELECT" | "COPY" | "MOVE" | "FETCH" => {
            tag.rsplit(' ').next()?.parse().ok()
        }
        _ => None,
    }
}

/// The status byte of a ReadyForQuery body (`I`, `T` or `E`).
pub fn ready_status(body: &[u8]) -> Result<u8> {
    match Reader::new(body).u8()? {
        s @ (b'I' | b'T' | b'E') => Ok(s),
        s => Err(Error::protocol(format!("unknown transaction status {s:#x}"))),
    }
}

/// A parsed ErrorResponse (or NoticeResponse).
#[derive(Debug, Clone)]
pub struct DbError {
    /// Non-localized severity (`ERROR`, `FATAL`, `PANIC`, `WARNING`, ...).
    pub severity: String,
    /// The structured error for the WIT boundary.
    pub error: ServerError,
}

impl DbError {
    /// Whether the server ends the session after this error.
    pub fn is_fatal(&self) -> bool {
        matches!(self.severity.as_str(), "FATAL" | "PANIC")
    }
}

/// Parses an ErrorResponse or NoticeResponse body.
pub fn error_fields(body: &[u8]) -> Result<DbError> {
    let mut r = Reader::new(body);
    let mut severity = String::new();
    let mut localized_severity = String::new();
    let mut error = driverbox_guest_sdk::error::server_error(String::new(), String::new());
    loop {
        let field = r.u8()?;
        if field == 0 {
            break;
        }
        let value = r.cstr()?;
        match field {
            b'V' => severity = value.to_string(),
            b'S' => localized_severity = value.to_string(),
            b'C' => error.code = value.to_string(),
            b'M' => error.message = value.to_string(),
            b'D' => error.detail = Some(value.to_string()),
            b'H' => error.hint = Some(value.to_string()),
            b'P' => error.position = value.parse().ok(),
            b's' => error.schema_name = Some(value.to_string()),
            b't' => error.table_name = Some(value.to_string()),
            b'c' => error.column_name = Some(value.to_string()),
            b'n' => error.constraint_name = Some(value.to_string()),
            b'W' => error.context = Some(value.to_string()),
            _ => {}
        }
    }
    if severity.is_empty() {
        severity = localized_severity;
    }
    error.kind = driverbox_guest_sdk::error::kind_for_sqlstate(&error.code);
    Ok(DbError { severity, error })
}

/// An Authentication request.
#[derive(Debug, PartialEq)]
pub enum Auth<'a> {
    /// Authenticated.
    Ok,
    /// Send the password in clear.
    Cleartext,
    /// Send `md5(md5(password + user) + salt)`.
    Md5([u8; 4]),
    /// SASL with these mechanisms.
    Sasl(Vec<&'a str>),
    /// SASL server-first message.
    SaslContinue(&'a [u8]),
    /// SASL server-final message.
    SaslFinal(&'a [u8]),
    /// Anything else (Kerberos, GSSAPI, SSPI ...), by its code.
    Other(i32),
}

/// Parses an Authentication body.
pub fn authentication(body: &[u8]) -> Result<Auth<'_>> {
    let mut r = Reader::new(body);
    Ok(match r.i32()? {
        0 => Auth::Ok,
        3 => Auth::Cleartext,
        5 => Auth::Md5(r.array()?),
        10 => {
            let mut mechanisms = Vec::new();
            loop {
                let m = r.cstr()?;
                if m.is_empty() {
                    break;
                }
                mechanisms.push(m);
            }
            Auth::Sasl(mechanisms)
        }
        11 => Auth::SaslContinue(r.rest()),
        12 => Auth::SaslFinal(r.rest()),
        code => Auth::Other(code),
    })
}

/// Parses a ParameterStatus body.
pub fn parameter_status(body: &[u8]) -> Result<(&str, &str)> {
    let mut r = Reader::new(body);
    Ok((r.cstr()?, r.cstr()?))
}

/// Parses a BackendKeyData body: (process id, secret key).
pub fn backend_key(body: &[u8]) -> Result<(i32, i32)> {
    let mut r = Reader::new(body);
    Ok((r.i32()?, r.i32()?))
}

fn nul_error(what: &str) -> Error {
    Error::invalid(format!("{what} must not contain a NUL character"))
}

/// Queues a simple Query.
pub fn query(sql: &str, out: &mut BytesMut) -> Result<()> {
    frontend::query(sql, out).map_err(|_| nul_error("SQL"))
}

/// Queues a Parse (parameter types left to the server).
pub fn parse(name: &str, sql: &str, out: &mut BytesMut) -> Result<()> {
    frontend::parse(name, sql, std::iter::empty(), out).map_err(|_| nul_error("SQL"))
}

/// Queues a Describe of a statement (`S`) or portal (`P`).
pub fn describe(kind: u8, name: &str, out: &mut BytesMut) {
    // Names are ours (`dbx_...`): they never hold a NUL.
    let _ = frontend::describe(kind, name, out);
}

/// Queues a Close of a statement (`S`) or portal (`P`).
pub fn close(kind: u8, name: &str, out: &mut BytesMut) {
    let _ = frontend::close(kind, name, out);
}

/// Queues an Execute of `portal` for at most `max_rows` rows (0: all).
pub fn execute(portal: &str, max_rows: i32, out: &mut BytesMut) {
    let _ = frontend::execute(portal, max_rows, out);
}

/// Queues a Sync.
pub fn sync(out: &mut BytesMut) {
    frontend::sync(out);
}

/// Queues a Flush.
pub fn flush(out: &mut BytesMut) {
    frontend::flush(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox_guest_sdk::ErrorKind;

    #[test]
    fn frames() {
        assert!(frame(b"Z\0\0").unwrap().is_none());
        assert_eq!(frame(b"Z\0\0\0\x05I").unwrap(), Some((b'Z', 6)));
        assert!(frame(b"Z\0\0\0\x03").is_err());
        assert!(frame(b"Z\x7f\xff\xff\xff").is_err());
    }

    #[test]
    fn reader_checks_lengths() {
        let mut r = Reader::new(b"\0\x01ab");
        assert_eq!(r.i16().unwrap(), 1);
        assert!(r.i32().is_err());
        let mut r = Reader::new(b"\xff\xff\xff\xff\0\0\0\x09x");
        assert_eq!(r.value().unwrap(), None);
        assert!(r.value().is_err());
        let mut r = Reader::new(b"\xff\xff\xff\xfe");
        assert!(r.value().is_err());
        assert!(Reader::new(b"abc").cstr().is_err());
        assert!(Reader::new(b"\xff\0").cstr().is_err());
    }

    #[test]
    fn parses_row_description() {
        let mut body = vec![0, 2];
        for (name, oid) in [("id", 23u32), ("name", 25)] {
            body.extend_from_slice(name.as_bytes());
            body.push(0);
            body.extend_from_slice(&0u32.to_be_bytes());
            body.extend_from_slice(&0i16.to_be_bytes());
            body.extend_from_slice(&oid.to_be_bytes());
            body.extend_from_slice(&4i16.to_be_bytes());
            body.extend_from_slice(&(-1i32).to_be_bytes());
            body.extend_from_slice(&0i16.to_be_bytes());
        }
        let fields = row_description(&body).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].name, "name");
        assert_eq!(fields[1].type_oid, 25);
        assert!(row_description(&body[..body.len() - 1]).is_err());
        assert!(row_description(&[0xff, 0xff, b'a', 0]).is_err());
    }

    #[test]
    fn parses_tags() {
        assert_eq!(tag_rows("INSERT 0 3"), Some(3));
        assert_eq!(tag_rows("UPDATE 10"), Some(10));
        assert_eq!(tag_rows("SELECT 1"), Some(1));
        assert_eq!(tag_rows("CREATE TABLE"), None);
        assert_eq!(tag_rows("DELETE x"), None);
        assert_eq!(tag_rows(""), None);
    }

    #[test]
    fn parses_errors() {
        let body = b"SERROR\0VERROR\0C23505\0Mduplicate key\0Ddetail\0P12\0nuniq\0tt\0\0";
        let e = error_fields(body).unwrap();
        assert!(!e.is_fatal());
        assert_eq!(e.error.kind, ErrorKind::UniqueViolation);
        assert_eq!(e.error.code, "23505");
        assert_eq!(e.error.message, "duplicate key");
        assert_eq!(e.error.detail.as_deref(), Some("detail"));
        assert_eq!(e.error.position, Some(12));
        assert_eq!(e.error.constraint_name.as_deref(), Some("uniq"));
        assert_eq!(e.error.table_name.as_deref(), Some("t"));
        assert!(error_fields(b"SERROR\0C2").is_err());
        assert!(error_fields(b"").is_err());
    }

    #[test]
    fn parses_auth() {
        assert_eq!(authentication(&[0, 0, 0, 0]).unwrap(), Auth::Ok);
        assert_eq!(
            authentication(&[0, 0, 0, 5, 1, 2, 3, 4]).unwrap(),
            Auth::Md5([1, 2, 3, 4])
        );
        assert!(authentication(&[0, 0, 0, 5, 1]).is_err());
        assert_eq!(
            authentication(b"\0\0\0\x0aSCRAM-SHA-256\0\0").unwrap(),
            Auth::Sasl(vec!["SCRAM-SHA-256"])
        );
        assert!(authentication(b"\0\0\0\x0aSCRAM").is_err());
    }

    #[test]
    fn refuses_nul_in_sql() {
        let mut out = BytesMut::new();
        assert_eq!(
            query("select 1\0", &mut out).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
