//! DataRow decoding straight from the message body.

use super::message::Reader;
use super::types::{self, Codec};
use super::{array, text};
use driverbox_guest_sdk::{Error, Result, Value};

/// How one result column is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// Binary format, decoded natively.
    Binary(Codec),
    /// Text format, kept as text (types without their own variant).
    Text,
    /// Text format array of a type without its own variant → JSON strings.
    TextArray {
        /// Element type OID.
        elem: u32,
        /// Element delimiter.
        delim: u8,
    },
    /// Text format decoded by type (simple query protocol).
    Typed(u32),
}

/// Decodes one field; `None` is SQL NULL.
pub fn decode_field(decoder: Decoder, raw: Option<&[u8]>) -> Result<Value> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    match decoder {
        Decoder::Binary(codec) => types::decode_binary(codec, raw),
        Decoder::Text => types::utf8(raw).map(Value::Text),
        Decoder::TextArray { elem, delim } => {
            let s = utf8_str(raw)?;
            Ok(match array::text_to_json(s, elem, delim) {
                Ok(json) => Value::Json(json),
                Err(_) => Value::Text(s.to_string()),
            })
        }
        Decoder::Typed(type_oid) => Ok(text::decode(type_oid, utf8_str(raw)?)),
    }
}

fn utf8_str(raw: &[u8]) -> Result<&str> {
    std::str::from_utf8(raw).map_err(|_| Error::protocol("server sent text that is not UTF-8"))
}

/// Decodes a DataRow body with one decoder per column.
pub fn decode_row(body: &[u8], decoders: &[Decoder]) -> Result<Vec<Value>> {
    let mut r = Reader::new(body);
    let count = r.u16()? as usize;
    if count != decoders.len() {
        return Err(Error::protocol(format!(
            "data row has {count} fields, expected {}",
            decoders.len()
        )));
    }
    let mut row = Vec::with_capacity(count);
    for d in decoders {
        row.push(decode_field(*d, r.value()?)?);
    }
    if !r.is_empty() {
        return Err(Error::protocol("trailing bytes in data row"));
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::types::oid;

    #[test]
    fn decodes_rows() {
        let mut body = vec![0, 3];
        body.extend_from_slice(&4i32.to_be_bytes());
        body.extend_from_slice(&7i32.to_be_bytes());
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&2i32.to_be_bytes());
        body.extend_from_slice(b"hi");
        let decoders = [Decoder::Binary(Codec::Int4), Decoder::Text, Decoder::Typed(oid::TEXT)];
        let row = decode_row(&body, &decoders).unwrap();
        assert_eq!(
            format!("{row:?}"),
            format!("{:?}", vec![Value::Int(7), Value::Null, Value::Text("hi".into())])
        );
        assert!(decode_row(&body, &decoders[..2]).is_err());
        assert!(decode_row(&body[..body.len() - 1], &decoders).is_err());
        let mut long = body.clone();
        long.push(0);
        assert!(decode_row(&long, &decoders).is_err());
        assert_eq!(
            format!(
                "{:?}",
                decode_field(Decoder::TextArray { elem: 869, delim: b',' }, Some(b"{1.2.3.4}")).unwrap()
            ),
            format!("{:?}", Value::Json("[\"1.2.3.4\"]".into()))
        );
    }
}
