//! Command replies: the `ok` field, server errors (`code`, `codeName`,
//! `errmsg`, write errors) mapped to portable kinds, and cursor batches
//! (`cursor.firstBatch`/`nextBatch`) taken as raw document bytes, never
//! re-encoded.

use bson::{Document, RawBsonRef, RawDocument};
use driverbox_guest_sdk::error::server_error;
use driverbox_guest_sdk::{Error, ErrorKind, Result};

/// The portable kind of a MongoDB error code (`src/mongo/base/error_codes.yml`).
pub fn kind_for_code(code: i32) -> ErrorKind {
    match code {
        11000 | 11001 | 12582 => ErrorKind::UniqueViolation,
        121 => ErrorKind::CheckViolation,
        18 | 11 | 334 => ErrorKind::Authentication,
        13 | 8000 => ErrorKind::Permission,
        26 | 27 | 43 | 59 => ErrorKind::UndefinedObject,
        48 | 68 | 85 | 86 => ErrorKind::DuplicateObject,
        2 | 4 | 9 | 14 | 17 | 40 | 52 | 55 | 56 | 57 | 66 | 15974 | 16410 | 17287 | 28667 | 31253 | 31254 | 40323
        | 40324 | 40352 | 51024 | 263 => ErrorKind::InvalidInput,
        16 | 1 | 15 | 16555 | 16608 | 28651 | 51091 => ErrorKind::Data,
        24 | 112 | 117 | 225 | 244 | 246 | 251 | 256 | 257 => ErrorKind::TransactionConflict,
        50 | 202 | 262 => ErrorKind::Timeout,
        11601 | 11602 | 237 => ErrorKind::Canceled,
        6 | 7 | 89 | 91 | 189 | 9001 | 10107 | 11600 | 13435 | 13436 => ErrorKind::Connection,
        115 | 303 => ErrorKind::Unsupported,
        _ => ErrorKind::Other,
    }
}

/// The names of the codes that write errors carry without a `codeName`.
fn name_of(code: i32) -> Option<&'static str> {
    Some(match code {
        11000 => "DuplicateKey",
        121 => "DocumentValidationFailure",
        2 => "BadValue",
        9 => "FailedToParse",
        14 => "TypeMismatch",
        66 => "ImmutableField",
        _ => return None,
    })
}

/// A server error: `code` is the `codeName` (`DuplicateKey`), or the
/// number as text when the server gives no name; `vendor-code` the
/// number; `errorLabels` in `detail`; the collection and, for duplicate
/// keys, the index in `table-name` and `constraint-name`.
pub fn mongo_error(code: i32, code_name: Option<&str>, message: &str, labels: &[String]) -> Error {
    let name = code_name.or(name_of(code)).map(String::from);
    let mut e = server_error(name.unwrap_or_else(|| code.to_string()), message);
    e.vendor_code = Some(code);
    e.kind = if labels.iter().any(|l| l == "TransientTransactionError") && kind_for_code(code) == ErrorKind::Other {
        ErrorKind::TransactionConflict
    } else {
        kind_for_code(code)
    };
    if !labels.is_empty() {
        e.detail = Some(format!("errorLabels: {}", labels.join(", ")));
    }
    // "E11000 duplicate key error collection: db.c index: a_1 dup key: { a: 1 }"
    if let Some(rest) = message.split(" collection: ").nth(1) {
        let ns = rest.split(' ').next().unwrap_or("");
        if let Some((_, coll)) = ns.split_once('.') {
            e.table_name = Some(coll.to_string());
        }
        if let Some(index) = rest.split(" index: ").nth(1).and_then(|r| r.split(' ').next()) {
            e.constraint_name = Some(index.to_string());
        }
    }
    Error::Server(e)
}

fn raw_err(e: impl std::fmt::Display) -> Error {
    Error::protocol(format!("malformed BSON in a reply: {e}"))
}

/// The body as a raw document, its first element checked.
/// Errors: `protocol`.
pub fn raw(body: &[u8]) -> Result<&RawDocument> {
    let doc = RawDocument::from_bytes(body).map_err(raw_err)?;
    doc.iter().next().transpose().map_err(raw_err)?;
    Ok(doc)
}

/// The body fully decoded (every element checked). Errors: `protocol`.
pub fn document(body: &[u8]) -> Result<Document> {
    Document::from_reader(body).map_err(raw_err)
}

fn number(v: Option<RawBsonRef<'_>>) -> Option<f64> {
    match v? {
        RawBsonRef::Double(d) => Some(d),
        RawBsonRef::Int32(i) => Some(i as f64),
        RawBsonRef::Int64(i) => Some(i as f64),
        RawBsonRef::Boolean(b) => Some(if b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// An integer field (int32, int64 or a whole double), if there is one.
pub fn int(doc: &RawDocument, key: &str) -> Result<Option<i64>> {
    Ok(match doc.get(key).map_err(raw_err)? {
        Some(RawBsonRef::Int32(i)) => Some(i as i64),
        Some(RawBsonRef::Int64(i)) => Some(i),
        Some(RawBsonRef::Double(d)) if d.fract() == 0.0 => Some(d as i64),
        _ => None,
    })
}

fn str_field<'a>(doc: &'a RawDocument, key: &str) -> Option<&'a str> {
    match doc.get(key).ok().flatten() {
        Some(RawBsonRef::String(s)) => Some(s),
        _ => None,
    }
}

fn labels(doc: &RawDocument) -> Vec<String> {
    match doc.get("errorLabels").ok().flatten() {
        Some(RawBsonRef::Array(a)) => a
            .into_iter()
            .filter_map(|v| match v.ok()? {
                RawBsonRef::String(s) => Some(s.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn error_of(doc: &RawDocument, labels: &[String]) -> Error {
    let code = int(doc, "code").ok().flatten().unwrap_or(0) as i32;
    let message = str_field(doc, "errmsg").unwrap_or("the server reported an error without a message");
    mongo_error(code, str_field(doc, "codeName"), message, labels)
}

/// Checks a command reply: `ok: 0` is a server error, as is the first
/// of `writeErrors` and a `writeConcernError`. Errors: server errors,
/// `protocol` for malformed BSON or a reply without `ok`.
pub fn check(body: &[u8]) -> Result<&RawDocument> {
    let doc = raw(body)?;
    let ok = number(doc.get("ok").map_err(raw_err)?).ok_or_else(|| Error::protocol("a reply without `ok`"))?;
    let labels = labels(doc);
    if ok != 1.0 {
        return Err(error_of(doc, &labels));
    }
    if let Some(RawBsonRef::Array(errors)) = doc.get("writeErrors").map_err(raw_err)? {
        if let Some(first) = errors.into_iter().next() {
            let first = first.map_err(raw_err)?;
            let RawBsonRef::Document(e) = first else {
                return Err(Error::protocol("a write error that is not a document"));
            };
            return Err(error_of(e, &labels));
        }
    }
    if let Some(RawBsonRef::Document(e)) = doc.get("writeConcernError").map_err(raw_err)? {
        return Err(error_of(e, &labels));
    }
    Ok(doc)
}

/// One batch of a cursor.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CursorBatch {
    /// 0 when the server has no more.
    pub id: i64,
    /// `db.collection` to send `getMore` to.
    pub ns: String,
    /// The documents back to back.
    pub documents: Vec<u8>,
    pub count: usize,
}

/// The `cursor` of a checked reply. Errors: `protocol` when there is none
/// or it is malformed.
pub fn cursor_batch(doc: &RawDocument) -> Result<CursorBatch> {
    let cursor = match doc.get("cursor").map_err(raw_err)? {
        Some(RawBsonRef::Document(c)) => c,
        _ => return Err(Error::protocol("the reply has no cursor")),
    };
    let id = int(cursor, "id")?.ok_or_else(|| Error::protocol("the cursor has no id"))?;
    let ns = str_field(cursor, "ns").unwrap_or_default().to_string();
    let batch = match (
        cursor.get("firstBatch").map_err(raw_err)?,
        cursor.get("nextBatch").map_err(raw_err)?,
    ) {
        (Some(RawBsonRef::Array(a)), _) | (_, Some(RawBsonRef::Array(a))) => a,
        _ => return Err(Error::protocol("the cursor has no batch")),
    };
    let mut out = CursorBatch {
        id,
        ns,
        ..CursorBatch::default()
    };
    for v in batch {
        match v.map_err(raw_err)? {
            RawBsonRef::Document(d) => {
                out.documents.extend_from_slice(d.as_bytes());
                out.count += 1;
            }
            _ => return Err(Error::protocol("a cursor batch holds a value that is not a document")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn bytes(d: Document) -> Vec<u8> {
        d.to_vec().unwrap()
    }

    #[test]
    fn ok_and_errors() {
        let ok = bytes(doc! {"ok": 1.0, "n": 3});
        assert_eq!(int(check(&ok).unwrap(), "n").unwrap(), Some(3));
        let failed =
            bytes(doc! {"ok": 0.0, "errmsg": "no such command: 'x'", "code": 59, "codeName": "CommandNotFound"});
        let Error::Server(e) = check(&failed).unwrap_err() else {
            panic!()
        };
        assert_eq!(
            (e.code.as_str(), e.vendor_code, e.kind),
            ("CommandNotFound", Some(59), ErrorKind::UndefinedObject)
        );
        assert_eq!(e.message, "no such command: 'x'");
        let dup = bytes(doc! {"ok": 1, "n": 0, "writeErrors": [{"index": 0, "code": 11000,
        "errmsg": "E11000 duplicate key error collection: test.x index: a_1 dup key: { a: 1 }"}]});
        let Error::Server(e) = check(&dup).unwrap_err() else {
            panic!()
        };
        assert_eq!((e.code.as_str(), e.kind), ("DuplicateKey", ErrorKind::UniqueViolation));
        assert_eq!(e.table_name.as_deref(), Some("x"));
        assert_eq!(e.constraint_name.as_deref(), Some("a_1"));
        let conflict = bytes(doc! {"ok": 0, "code": 9999, "errmsg": "x", "errorLabels": ["TransientTransactionError"]});
        let Error::Server(e) = check(&conflict).unwrap_err() else {
            panic!()
        };
        assert_eq!(e.kind, ErrorKind::TransactionConflict);
        assert_eq!(e.detail.as_deref(), Some("errorLabels: TransientTransactionError"));
        let wce = bytes(doc! {"ok": 1, "writeConcernError": {"code": 64, "errmsg": "waiting"}});
        assert!(check(&wce).is_err());
        assert_eq!(check(&bytes(doc! {"n": 1})).unwrap_err().kind(), ErrorKind::Protocol);
        assert_eq!(check(&[5, 0, 0, 0]).unwrap_err().kind(), ErrorKind::Protocol);
        assert_eq!(
            check(&[9, 0, 0, 0, 99, 0, 0, 0, 0]).unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }

    #[test]
    fn cursor_batches_keep_document_bytes() {
        let reply =
            bytes(doc! {"cursor": {"firstBatch": [{"a": 1}, {"b": "x"}], "id": 42i64, "ns": "test.c"}, "ok": 1});
        let b = cursor_batch(check(&reply).unwrap()).unwrap();
        assert_eq!((b.id, b.ns.as_str(), b.count), (42, "test.c", 2));
        assert_eq!(b.documents, [bytes(doc! {"a": 1}), bytes(doc! {"b": "x"})].concat());
        let next = bytes(doc! {"cursor": {"nextBatch": [], "id": 0i64, "ns": "test.c"}, "ok": 1});
        assert_eq!(cursor_batch(check(&next).unwrap()).unwrap().count, 0);
        let scalar = bytes(doc! {"cursor": {"firstBatch": [1], "id": 0i64}, "ok": 1});
        assert!(cursor_batch(check(&scalar).unwrap()).is_err());
        assert!(cursor_batch(check(&bytes(doc! {"ok": 1})).unwrap()).is_err());
    }

    #[test]
    fn kinds() {
        assert_eq!(kind_for_code(11000), ErrorKind::UniqueViolation);
        assert_eq!(kind_for_code(18), ErrorKind::Authentication);
        assert_eq!(kind_for_code(13), ErrorKind::Permission);
        assert_eq!(kind_for_code(26), ErrorKind::UndefinedObject);
        assert_eq!(kind_for_code(48), ErrorKind::DuplicateObject);
        assert_eq!(kind_for_code(2), ErrorKind::InvalidInput);
        assert_eq!(kind_for_code(112), ErrorKind::TransactionConflict);
        assert_eq!(kind_for_code(50), ErrorKind::Timeout);
        assert_eq!(kind_for_code(11601), ErrorKind::Canceled);
        assert_eq!(kind_for_code(123456), ErrorKind::Other);
    }
}
