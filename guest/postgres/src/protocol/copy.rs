//! COPY ... FROM STDIN rows. Text format: one line per row, fields
//! separated by tabs, `\N` for NULL, backslash, tab, newline and CR
//! escaped. Binary format: a header, per row a field count and per field
//! a length and the value's binary form (as for Bind), a trailer.

use bytes::{BufMut, BytesMut};

use super::array::json_to_literal;
use super::encode::{self, ParamType};
use super::format::value_text;
use driverbox_guest_sdk::batch::{BatchReader, Cell};
use driverbox_guest_sdk::{Error, Result};

/// Appends one field. `array_delim` is set when the column is an array
/// (then a `json` value is turned into an array literal first).
pub fn write_field(out: &mut BytesMut, v: Cell<'_>, array_delim: Option<u8>) -> Result<()> {
    if let (Some(delim), Cell::Json(s)) = (array_delim, v) {
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

/// Appends row `row` of `data`: fields, tabs between them, a newline at the end.
pub fn write_row(out: &mut BytesMut, data: &BatchReader<'_>, row: usize, array_delims: &[Option<u8>]) -> Result<()> {
    for col in 0..data.columns().len() {
        if col > 0 {
            out.put_u8(b'\t');
        }
        write_field(out, data.cell(row, col), array_delims.get(col).copied().flatten())?;
    }
    out.put_u8(b'\n');
    Ok(())
}

/// Whether every value of `data` has a binary form for its column type
/// (else the rows go as text, which the server parses).
pub fn binary_fits(data: &BatchReader<'_>, types: &[ParamType]) -> bool {
    (0..data.rows()).all(|row| {
        types.iter().enumerate().all(|(col, t)| {
            let v = data.cell(row, col);
            v.is_null() || encode::format_for(*t, v) == 1
        })
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

/// Appends row `row` of `data` in binary format; on error nothing of the row stays.
pub fn write_binary_row(out: &mut BytesMut, data: &BatchReader<'_>, row: usize, types: &[ParamType]) -> Result<()> {
    let start = out.len();
    out.put_i16(types.len() as i16);
    for (col, ty) in types.iter().enumerate() {
        let v = data.cell(row, col);
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
    use driverbox_guest_sdk::batch::result_inferring_types;
    use driverbox_guest_sdk::types::QueryResult;
    use driverbox_guest_sdk::Value;

    fn data(rows: Vec<Vec<Value>>) -> QueryResult {
        result_inferring_types(&rows).unwrap()
    }

    fn reader(r: &QueryResult) -> BatchReader<'_> {
        BatchReader::new(&r.columns, &r.batch).unwrap()
    }

    #[test]
    fn escapes() {
        let mut out = BytesMut::new();
        let rows = data(vec![vec![
            Value::Null,
            Value::Text("a\\b\tc\nd\re".into()),
            Value::Bytes(vec![0, 255]),
            Value::Timestamptz(0),
            Value::Json("[1,\"x\\\"y\"]".into()),
            Value::Json("[1]".into()),
        ]]);
        write_row(&mut out, &reader(&rows), 0, &[None, None, None, None, Some(b','), None]).unwrap();
        assert_eq!(
            String::from_utf8(out.to_vec()).unwrap(),
            "\\N\ta\\\\b\\tc\\nd\\re\t\\\\x00ff\t1970-01-01 00:00:00+00\t{1,\"x\\\\\"y\"}\t[1]\n"
        );
        assert!(write_field(&mut BytesMut::new(), Cell::Text("a\0"), None).is_err());
        assert!(write_field(&mut BytesMut::new(), Cell::Document(&[]), None).is_err());
    }

    #[test]
    fn binary_rows() {
        use crate::protocol::types::oid;
        let ty = |oid| ParamType { oid, array_delim: None };
        let types = [ty(oid::INT4), ty(oid::TEXT), ty(oid::NUMERIC)];
        let row = data(vec![vec![Value::Int(7), Value::Null, Value::Decimal("1.5".into())]]);
        assert!(binary_fits(&reader(&row), &types));
        let text = data(vec![vec![Value::Text("7".into()), Value::Null, Value::Null]]);
        assert!(!binary_fits(&reader(&text), &types));
        let mut out = BytesMut::new();
        write_binary_row(&mut out, &reader(&row), 0, &types).unwrap();
        let mut want = vec![0, 3, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 12];
        // 1.5: two base-10000 digits (1, 5000), weight 0, positive, scale 1.
        want.extend_from_slice(&[0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88]);
        assert_eq!(out.to_vec(), want);
        // A failing value leaves nothing of its row.
        let bad = data(vec![vec![Value::Int(1 << 40), Value::Null, Value::Null]]);
        assert!(write_binary_row(&mut out, &reader(&bad), 0, &types).is_err());
        assert_eq!(out.len(), want.len());
    }
}
