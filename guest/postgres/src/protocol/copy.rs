//! COPY ... FROM STDIN rows. Text format: one line per row, fields
//! separated by tabs, `\N` for NULL, backslash, tab, newline and CR
//! escaped. Binary format: a header, per row a field count and per field
//! a length and the value's binary form (as for Bind), a trailer.

use bytes::{BufMut, BytesMut};

use super::array::json_to_literal;
use super::encode::{self, ParamType};
use super::format::value_text;
use driverbox_guest_sdk::{Error, Result, Value};

/// Appends one field. `array_delim` is set when the column is an array
/// (then a `json` value is turned into an array literal first).
pub fn write_field(out: &mut BytesMut, v: &Value, array_delim: Option<u8>) -> Result<()> {
    if let (Some(delim), Value::Json(s)) = (array_delim, v) {
        escape(out, &json_to_literal(s, delim)?)?;
        return Ok(());
    }
    match value_text(v)? {
        None => out.extend_from_slice(b"\\N"),
        Some(text) => escape(out, &text)?,
    }
    Ok(())
}

/// Copies `s`, escaping COPY's special bytes; runs of plain bytes are
/// copied at once.
fn escape(out: &mut BytesMut, s: &str) -> Result<()> {
    let bytes = s.as_bytes();
    out.reserve(bytes.len());
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            0 => return Err(Error::invalid("text values must not contain NUL characters")),
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    Ok(())
}

/// Appends one row: fields, tabs between them, a newline at the end.
pub fn write_row(out: &mut BytesMut, row: &[Value], array_delims: &[Option<u8>]) -> Result<()> {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.put_u8(b'\t');
        }
        write_field(out, v, array_delims.get(i).copied().flatten())?;
    }
    out.put_u8(b'\n');
    Ok(())
}

/// Whether every value of `rows` has a binary form for its column type
/// (else the rows go as text, which the server parses).
pub fn binary_fits(rows: &[Vec<Value>], types: &[ParamType]) -> bool {
    rows.iter().all(|row| {
        row.iter()
            .zip(types)
            .all(|(v, t)| matches!(v, Value::Null) || encode::format_for(*t, v) == 1)
    })
}

/// The binary COPY header: signature, flags, no extension.
pub fn binary_header(out: &mut BytesMut) {
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.put_i32(0);
    out.put_i32(0);
}

/// The binary COPY trailer.
pub fn binary_trailer(out: &mut BytesMut) {
    out.put_i16(-1);
}

/// Appends one row in binary format; on error nothing of the row stays.
pub fn write_binary_row(out: &mut BytesMut, row: &[Value], types: &[ParamType]) -> Result<()> {
    let start = out.len();
    out.put_i16(row.len() as i16);
    for (v, ty) in row.iter().zip(types) {
        let at = out.len();
        out.put_i32(0);
        match encode::encode(*ty, v, 1, out) {
            Ok(true) => {
                let len = (out.len() - at - 4) as i32;
                out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
            Ok(false) => out[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes()),
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut out = BytesMut::new();
        write_row(
            &mut out,
            &[
                Value::Null,
                Value::Text("a\\b\tc\nd\re".into()),
                Value::Bytes(vec![0, 255]),
                Value::Timestamptz(0),
                Value::Json("[1,\"x\\\"y\"]".into()),
                Value::Json("[1]".into()),
            ],
            &[None, None, None, None, Some(b','), None],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out.to_vec()).unwrap(),
            "\\N\ta\\\\b\\tc\\nd\\re\t\\\\x00ff\t1970-01-01 00:00:00+00\t{1,\"x\\\\\"y\"}\t[1]\n"
        );
        assert!(write_field(&mut BytesMut::new(), &Value::Text("a\0".into()), None).is_err());
        assert!(write_field(&mut BytesMut::new(), &Value::Document(vec![]), None).is_err());
    }

    #[test]
    fn binary_rows() {
        use crate::protocol::types::oid;
        let ty = |oid| ParamType { oid, array_delim: None };
        let types = [ty(oid::INT4), ty(oid::TEXT), ty(oid::NUMERIC)];
        let row = vec![Value::Int(7), Value::Null, Value::Decimal("1.5".into())];
        assert!(binary_fits(std::slice::from_ref(&row), &types));
        assert!(!binary_fits(
            &[vec![Value::Text("7".into()), Value::Null, Value::Null]],
            &types
        ));
        let mut out = BytesMut::new();
        write_binary_row(&mut out, &row, &types).unwrap();
        let mut want = vec![0, 3, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 12];
        // 1.5: two base-10000 digits (1, 5000), weight 0, positive, scale 1.
        want.extend_from_slice(&[0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88]);
        assert_eq!(out.to_vec(), want);
        // A failing value leaves nothing of its row.
        let bad = vec![Value::Int(1 << 40), Value::Null, Value::Null];
        assert!(write_binary_row(&mut out, &bad, &types).is_err());
        assert_eq!(out.len(), want.len());
    }
}
