//! DataRow decoding straight from the message body into column buffers.

use super::message::Reader;
use super::types::{self, Codec};
use super::{array, json};
use driverbox_guest_sdk::batch::{BatchBuilder, ColumnBuilder};
use driverbox_guest_sdk::types::{Column, LogicalType};
use driverbox_guest_sdk::{client_error, Error, ErrorKind, Result};

/// How one result column is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// Binary format, decoded natively.
    Binary(Codec),
    /// Text format, kept as text (types without their own logical type).
    Text,
    /// Text format array of a type without its own codec → JSON.
    TextArray {
        /// Element type OID.
        elem: u32,
        /// Element delimiter.
        delim: u8,
    },
}

impl Decoder {
    /// The logical type of the column this decoder fills.
    pub fn logical_type(self) -> LogicalType {
        match self {
            Decoder::Binary(codec) => codec.logical_type(),
            Decoder::Text => LogicalType::Text,
            Decoder::TextArray { .. } => LogicalType::Json,
        }
    }
}

/// Decodes one field into its column; `None` is SQL NULL.
#[inline]
pub fn decode_field(decoder: Decoder, raw: Option<&[u8]>, col: &mut ColumnBuilder) -> Result<()> {
    let Some(raw) = raw else {
        col.push_null();
        return Ok(());
    };
    match decoder {
        Decoder::Binary(codec) => types::decode_binary_into(codec, raw, col),
        Decoder::Text => col.push_str(utf8_str(raw)?),
        Decoder::TextArray { elem, delim } => {
            let s = utf8_str(raw)?;
            match array::text_to_json(s, elem, delim) {
                Ok(json) => col.push_str(&json),
                // An array the driver cannot read stays its text, as a JSON string.
                Err(_) => {
                    let mut quoted = String::with_capacity(s.len() + 2);
                    json::write_string(&mut quoted, s);
                    col.push_str(&quoted)
                }
            }
        }
    }
}

fn utf8_str(raw: &[u8]) -> Result<&str> {
    std::str::from_utf8(raw).map_err(|_| not_utf8())
}

/// A value that is not UTF-8 (a session whose `client_encoding` was
/// changed): a `data` error for the statement, not for the session.
pub fn not_utf8() -> Error {
    client_error(
        ErrorKind::Data,
        "the value is not valid UTF-8 (driverbox reads text as UTF-8: keep client_encoding UTF8)",
    )
}

/// `e`, naming `column` when it is about one value (a `data` error).
pub fn in_column(e: Error, column: &Column) -> Error {
    match e {
        Error::Client(c) if c.kind == ErrorKind::Data => {
            client_error(ErrorKind::Data, format!("column \"{}\": {}", column.name, c.message))
        }
        e => e,
    }
}

/// Decodes a DataRow body with one decoder per column (named by
/// `columns`) into `batch`. On error the batch holds a partial row and
/// must be dropped; a value that cannot be decoded is a `data` error
/// naming its column.
#[inline]
pub fn decode_row(body: &[u8], decoders: &[Decoder], columns: &[Column], batch: &mut BatchBuilder) -> Result<()> {
    let mut r = Reader::new(body);
    let count = r.u16()? as usize;
    if count != decoders.len() {
        return Err(Error::protocol(format!(
            "data row has {count} fields, expected {}",
            decoders.len()
        )));
    }
    for (i, d) in decoders.iter().enumerate() {
        decode_field(*d, r.value()?, batch.column(i)).map_err(|e| match columns.get(i) {
            Some(c) => in_column(e, c),
            None => e,
        })?;
    }
    if !r.is_empty() {
        return Err(Error::protocol("trailing bytes in data row"));
    }
    batch.end_row();
    Ok(())
}

/// Decodes a DataRow of the simple query protocol (every field text) into
/// text columns; [`super::text::retype`] later turns each column into its type.
pub fn decode_text_row(body: &[u8], columns: &[Column], batch: &mut BatchBuilder) -> Result<()> {
    let width = columns.len();
    let mut r = Reader::new(body);
    let count = r.u16()? as usize;
    if count != width {
        return Err(Error::protocol(format!(
            "data row has {count} fields, expected {width}"
        )));
    }
    for (i, column) in columns.iter().enumerate() {
        match r.value()? {
            None => batch.column(i).push_null(),
            Some(raw) => batch
                .column(i)
                .push_str(utf8_str(raw).map_err(|e| in_column(e, column))?)?,
        }
    }
    if !r.is_empty() {
        return Err(Error::protocol("trailing bytes in data row"));
    }
    batch.end_row();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox_guest_sdk::batch::{column, result_rows};
    use driverbox_guest_sdk::Value;

    #[test]
    fn decodes_rows() {
        let mut body = vec![0, 3];
        body.extend_from_slice(&4i32.to_be_bytes());
        body.extend_from_slice(&7i32.to_be_bytes());
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&2i32.to_be_bytes());
        body.extend_from_slice(b"hi");
        let decoders = [
            Decoder::Binary(Codec::Int4),
            Decoder::Text,
            Decoder::TextArray { elem: 869, delim: b',' },
        ];
        let columns: Vec<_> = decoders.iter().map(|d| column("c", d.logical_type(), "")).collect();
        let mut b = BatchBuilder::new(&columns);
        decode_row(&body, &decoders, &columns, &mut b).unwrap();
        let result = b.into_result(columns.clone(), None);
        let rows = result_rows(&result).unwrap();
        assert_eq!(
            format!("{rows:?}"),
            format!(
                "{:?}",
                vec![vec![Value::Int(7), Value::Null, Value::Json("\"hi\"".into())]]
            )
        );
        let mut b = BatchBuilder::new(&columns);
        assert!(decode_row(&body, &decoders[..2], &columns, &mut b).is_err());
        assert!(decode_row(&body[..body.len() - 1], &decoders, &columns, &mut b).is_err());
        let mut long = body.clone();
        long.push(0);
        assert!(decode_row(&long, &decoders, &columns, &mut BatchBuilder::new(&columns)).is_err());
    }

    #[test]
    fn text_that_is_not_utf8_is_a_data_error_naming_the_column() {
        let mut body = vec![0, 1];
        body.extend_from_slice(&1i32.to_be_bytes());
        body.push(0xe9);
        let columns = [column("chr", LogicalType::Text, "text")];
        for decoders in [[Decoder::Text], [Decoder::Binary(Codec::Text)]] {
            let e = decode_row(&body, &decoders, &columns, &mut BatchBuilder::new(&columns)).unwrap_err();
            assert!(!e.breaks_session(), "{e:?}");
            let Error::Client(c) = e else { panic!("client error") };
            assert_eq!(c.kind, ErrorKind::Data);
            assert!(
                c.message.starts_with("column \"chr\": ") && c.message.contains("UTF-8"),
                "{}",
                c.message
            );
        }
        let e = decode_text_row(&body, &columns, &mut BatchBuilder::new(&columns)).unwrap_err();
        assert!(!e.breaks_session(), "{e:?}");
    }

    #[test]
    fn inet_arrays_become_json() {
        let mut col = ColumnBuilder::new(LogicalType::Json);
        decode_field(
            Decoder::TextArray { elem: 869, delim: b',' },
            Some(b"{1.2.3.4}"),
            &mut col,
        )
        .unwrap();
        let v = col.finish();
        let driverbox_guest_sdk::types::ColumnData::Varlen(v) = v.data else {
            panic!("varlen")
        };
        assert_eq!(v.data, b"[\"1.2.3.4\"]");
    }
}
