//! Parameter encoding for Bind: binary where the value's variant matches
//! the parameter's type naturally, text otherwise (the server then parses
//! the value's text form, so `text("42")` works for an `int4`).

use bytes::{BufMut, BytesMut};

use super::array::json_to_literal;
use super::format::value_text;
use super::numeric;
use super::types::{date_to_pg, oid, timestamp_to_pg};
use driverbox_guest_sdk::batch::Cell;
use driverbox_guest_sdk::{Error, Result};

/// What the driver knows of a parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamType {
    /// The type OID the server described.
    pub oid: u32,
    /// For array types, the element delimiter (`,` for nearly all).
    pub array_delim: Option<u8>,
}

/// Text (0) or binary (1).
pub type Format = i16;

/// The format a value is sent in for a parameter of type `ty`.
pub fn format_for(ty: ParamType, v: Cell<'_>) -> Format {
    let binary = match (ty.oid, v) {
        (oid::BOOL, Cell::Bool(_)) => true,
        (oid::INT2 | oid::INT4 | oid::INT8 | oid::OID, Cell::Int(_)) => true,
        (oid::INT2 | oid::INT4 | oid::INT8 | oid::OID, Cell::UInt(u)) => i64::try_from(u).is_ok(),
        (oid::INT2 | oid::INT4 | oid::INT8 | oid::OID, Cell::Float(f)) => f.fract() == 0.0,
        (oid::FLOAT4 | oid::FLOAT8, Cell::Float(_) | Cell::Int(_)) => true,
        (oid::BYTEA, Cell::Bytes(_)) => true,
        (oid::DATE, Cell::Date(_)) => true,
        (oid::TIME, Cell::Time(_)) => true,
        (oid::TIMESTAMP, Cell::Timestamp(_)) => true,
        (oid::TIMESTAMPTZ, Cell::Timestamptz(_)) => true,
        (oid::INTERVAL, Cell::Interval(_)) => true,
        (oid::UUID, Cell::Uuid(_)) => true,
        (oid::JSON | oid::JSONB, Cell::Json(_)) => true,
        (oid::NUMERIC, Cell::Int(_) | Cell::UInt(_)) => true,
        (oid::NUMERIC, Cell::Decimal(d)) => numeric::is_plain(d),
        // A text type's binary form is its UTF-8, as in text format.
        (oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME, Cell::Text(_)) => true,
        _ => false,
    };
    binary as Format
}

fn out_of_range(v: impl std::fmt::Display, ty: &str) -> Error {
    Error::invalid(format!("value {v} is out of range for type {ty}"))
}

fn int_in_range(ty: u32, i: i64) -> Result<()> {
    let ok = match ty {
        oid::INT2 => i16::try_from(i).is_ok(),
        oid::INT4 => i32::try_from(i).is_ok(),
        oid::OID => u32::try_from(i).is_ok(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        let name = match ty {
            oid::INT2 => "smallint",
            oid::INT4 => "integer",
            _ => "oid",
        };
        Err(out_of_range(i, name))
    }
}

fn put_int(ty: u32, i: i64, out: &mut BytesMut) -> Result<()> {
    int_in_range(ty, i)?;
    match ty {
        oid::INT2 => out.put_i16(i as i16),
        oid::INT4 => out.put_i32(i as i32),
        oid::OID => out.put_u32(i as u32),
        _ => out.put_i64(i),
    }
    Ok(())
}

fn put_float(ty: u32, f: f64, out: &mut BytesMut) -> Result<()> {
    if ty == oid::FLOAT4 {
        let narrow = f as f32;
        if f.is_finite() && narrow.is_infinite() {
            return Err(out_of_range(f, "real"));
        }
        out.put_f32(narrow);
    } else {
        out.put_f64(f);
    }
    Ok(())
}

/// Appends the encoding of `v` in `format` (from [`format_for`]); NULL
/// writes nothing and returns `false`.
pub fn encode(ty: ParamType, v: Cell<'_>, format: Format, out: &mut BytesMut) -> Result<bool> {
    if let Cell::Null = v {
        return Ok(false);
    }
    if format == 1 {
        match (ty.oid, v) {
            (oid::BOOL, Cell::Bool(b)) => out.put_u8(b as u8),
            (t @ (oid::INT2 | oid::INT4 | oid::INT8 | oid::OID), Cell::Int(i)) => put_int(t, i, out)?,
            (t @ (oid::INT2 | oid::INT4 | oid::INT8 | oid::OID), Cell::UInt(u)) => {
                put_int(t, i64::try_from(u).map_err(|_| out_of_range(u, "bigint"))?, out)?
            }
            (t @ (oid::INT2 | oid::INT4 | oid::INT8 | oid::OID), Cell::Float(f)) => {
                // Integral floats only (see format_for); beyond i64 is out of range anyway.
                if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
                    return Err(out_of_range(f, "bigint"));
                }
                put_int(t, f as i64, out)?
            }
            (t @ (oid::FLOAT4 | oid::FLOAT8), Cell::Float(f)) => put_float(t, f, out)?,
            (t @ (oid::FLOAT4 | oid::FLOAT8), Cell::Int(i)) => put_float(t, i as f64, out)?,
            (oid::BYTEA, Cell::Bytes(b)) => out.put_slice(b),
            (oid::DATE, Cell::Date(d)) => out.put_i32(date_to_pg(d).ok_or_else(|| out_of_range(d, "date"))?),
            (oid::TIME, Cell::Time(t)) => out.put_i64(t),
            (oid::TIMESTAMP, Cell::Timestamp(t)) | (oid::TIMESTAMPTZ, Cell::Timestamptz(t)) => {
                out.put_i64(timestamp_to_pg(t).ok_or_else(|| out_of_range(t, "timestamp"))?)
            }
            (oid::INTERVAL, Cell::Interval(iv)) => {
                out.put_i64(iv.microseconds);
                out.put_i32(iv.days);
                out.put_i32(iv.months);
            }
            (oid::UUID, Cell::Uuid(b)) => out.put_slice(&b),
            (oid::JSON, Cell::Json(s)) => out.put_slice(s.as_bytes()),
            (oid::NUMERIC, Cell::Decimal(d)) => numeric::encode_text(d, out)?,
            (oid::NUMERIC, Cell::Int(i)) => numeric::encode_text(&i.to_string(), out)?,
            (oid::NUMERIC, Cell::UInt(u)) => numeric::encode_text(&u.to_string(), out)?,
            (oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME, Cell::Text(s)) => {
                if s.contains('\0') {
                    return Err(Error::invalid("text must not contain NUL characters"));
                }
                out.put_slice(s.as_bytes())
            }
            (oid::JSONB, Cell::Json(s)) => {
                out.put_u8(1);
                out.put_slice(s.as_bytes());
            }
            _ => return Err(Error::invalid("internal: no binary encoding for this value")),
        }
        return Ok(true);
    }
    if let (Some(delim), Cell::Json(s)) = (ty.array_delim, v) {
        out.put_slice(json_to_literal(s, delim)?.as_bytes());
        return Ok(true);
    }
    match value_text(v)? {
        Some(text) => {
            if text.contains('\0') {
                return Err(Error::invalid("text parameters must not contain NUL characters"));
            }
            out.put_slice(text.as_bytes());
            Ok(true)
        }
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox_guest_sdk::types::Interval;
    use driverbox_guest_sdk::{ErrorKind, Value};

    fn ty(oid: u32) -> ParamType {
        ParamType { oid, array_delim: None }
    }

    fn enc(t: ParamType, v: Value) -> Result<(Format, Vec<u8>)> {
        let f = format_for(t, Cell::from(&v));
        let mut out = BytesMut::new();
        encode(t, Cell::from(&v), f, &mut out)?;
        Ok((f, out.to_vec()))
    }

    #[test]
    fn binary_when_natural() {
        assert_eq!(enc(ty(oid::INT2), Value::Int(-2)).unwrap(), (1, vec![0xff, 0xfe]));
        assert_eq!(enc(ty(oid::INT4), Value::Float(3.0)).unwrap(), (1, vec![0, 0, 0, 3]));
        assert_eq!(enc(ty(oid::BOOL), Value::Boolean(true)).unwrap(), (1, vec![1]));
        assert_eq!(
            enc(ty(oid::JSONB), Value::Json("{}".into())).unwrap(),
            (1, b"\x01{}".to_vec())
        );
        assert_eq!(enc(ty(oid::DATE), Value::Date(10_957)).unwrap(), (1, vec![0, 0, 0, 0]));
        assert_eq!(
            enc(
                ty(oid::INTERVAL),
                Value::Interval(Interval {
                    months: 1,
                    days: 2,
                    microseconds: 3
                })
            )
            .unwrap()
            .1,
            vec![0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1]
        );
    }

    #[test]
    fn range_checks() {
        for (t, v) in [
            (oid::INT2, 40_000),
            (oid::INT2, -40_000),
            (oid::INT4, i64::MAX),
            (oid::OID, -1),
        ] {
            assert_eq!(enc(ty(t), Value::Int(v)).unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        assert!(enc(ty(oid::INT8), Value::Float(1e19)).is_err());
        assert!(enc(ty(oid::FLOAT4), Value::Float(1e300)).is_err());
        assert!(enc(ty(oid::FLOAT4), Value::Float(f64::INFINITY)).is_ok());
        assert!(enc(ty(oid::DATE), Value::Date(i32::MIN + 5)).is_err());
    }

    #[test]
    fn text_otherwise() {
        assert_eq!(
            enc(ty(oid::INT4), Value::Text("42".into())).unwrap(),
            (0, b"42".to_vec())
        );
        // Plain decimals go binary (see numeric.rs); others as text.
        assert_eq!(enc(ty(oid::NUMERIC), Value::Decimal("1.50".into())).unwrap().0, 1);
        assert_eq!(enc(ty(oid::NUMERIC), Value::Int(7)).unwrap().0, 1);
        assert_eq!(
            enc(ty(oid::NUMERIC), Value::Decimal("1.5e3".into())).unwrap(),
            (0, b"1.5e3".to_vec())
        );
        assert_eq!(enc(ty(oid::INT4), Value::Float(1.5)).unwrap(), (0, b"1.5".to_vec()));
        let arr = ParamType {
            oid: oid::INT4_ARRAY,
            array_delim: Some(b','),
        };
        assert_eq!(
            enc(arr, Value::Json("[1,null]".into())).unwrap(),
            (0, b"{1,NULL}".to_vec())
        );
        assert_eq!(
            enc(ty(oid::TEXT), Value::Json("[1]".into())).unwrap(),
            (0, b"[1]".to_vec())
        );
        assert!(enc(ty(oid::TEXT), Value::Text("a\0b".into())).is_err());
        assert!(enc(ty(oid::BYTEA), Value::Document(vec![])).is_err());
        let mut out = BytesMut::new();
        assert!(!encode(ty(oid::INT4), Cell::Null, 0, &mut out).unwrap());
    }
}
