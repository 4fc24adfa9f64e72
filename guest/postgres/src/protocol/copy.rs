//! COPY ... FROM STDIN text format: one line per row, fields separated by
//! tabs, `\N` for NULL, and backslash, tab, newline and CR escaped.

use super::array::json_to_literal;
use super::format::value_text;
use driverbox_guest_sdk::{Error, Result, Value};

/// Appends one field. `array_delim` is set when the column is an array
/// (then a `json` value is turned into an array literal first).
pub fn write_field(out: &mut Vec<u8>, v: &Value, array_delim: Option<u8>) -> Result<()> {
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

fn escape(out: &mut Vec<u8>, s: &str) -> Result<()> {
    out.reserve(s.len());
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => {
                return Err(Error::invalid(
                    "text values must not contain NUL characters",
                ))
            }
            b => out.push(b),
        }
    }
    Ok(())
}

/// Appends one row: fields, tabs between them, a newline at the end.
pub fn write_row(out: &mut Vec<u8>, row: &[Value], array_delims: &[Option<u8>]) -> Result<()> {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        write_field(out, v, array_delims.get(i).copied().flatten())?;
    }
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut out = Vec::new();
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
            String::from_utf8(out).unwrap(),
            "\\N\ta\\\\b\\tc\\nd\\re\t\\\\x00ff\t1970-01-01 00:00:00+00\t{1,\"x\\\\\"y\"}\t[1]\n"
        );
        assert!(write_field(&mut Vec::new(), &Value::Text("a\0".into()), None).is_err());
        assert!(write_field(&mut Vec::new(), &Value::Document(vec![]), None).is_err());
    }
}
