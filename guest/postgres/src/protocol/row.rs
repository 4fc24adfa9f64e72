//! DataRow decoding straight from the message body into column buffers.

use super::message::Reader;
use super::types::{self, Codec};
use super::{array, json};
use driverbox_guest_sdk::batch::{BatchBuilder, ColumnBuilder};
use driverbox_guest_sdk::types::LogicalType;
use driverbox_guest_sdk::{Error, Result};

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
    std::str::from_utf8(raw).map_err(|_| Error::protocol("server sent text that is not UTF-8"))
}

/// Decodes a DataRow body with one decoder per column into `batch`. On
/// error the batch holds a partial row and must be dropped.
#[inline]
pub fn decode_row(body: &[u8], decoders: &[Decoder], batch: &mut BatchBuilder) -> Result<()> {
    let mut r = Reader::new(body);
    let count = r.u16()? as usize;
    if count != decoders.len() {
        return Err(Error::protocol(format!(
            "data row has {count} fields, expected {}",
            decoders.len()
        )));
    }
    for (i, d) in decoders.iter().enumerate() {
        decode_field(*d, r.value()?, batch.column(i))?;
    }
    if !r.is_empty() {
        return Err(Error::protocol("trailing bytes in data row"));
    }
    batch.end_row();
    Ok(())
}

/// Decodes a DataRow of the simple query protocol (every field text) into
/// text columns; [`super::text::retype`] later turns each column into its type.
pub fn decode_text_row(body: &[u8], width: usize, batch: &mut BatchBuilder) -> Result<()> {
    let mut r = Reader::new(body);
    let count = r.u16()? as usize;
    if count != width {
        return Err(Error::protocol(format!(
            "data row has {count} fields, expected {width}"
        )));
    }
    for i in 0..width {
        match r.value()? {
            None => batch.column(i).push_null(),
            Some(raw) => batch.column(i).push_str(utf8_str(raw)?)?,
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
        decode_row(&body, &decoders, &mut b).unwrap();
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
        assert!(decode_row(&body, &decoders[..2], &mut b).is_err());
        assert!(decode_row(&body[..body.len() - 1], &decoders, &mut b).is_err());
        let mut long = body.clone();
        long.push(0);
        assert!(decode_row(&long, &decoders, &mut BatchBuilder::new(&columns)).is_err());
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
