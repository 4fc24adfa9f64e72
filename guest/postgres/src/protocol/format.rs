//! Values → text: PostgreSQL input syntax (text-format parameters, COPY)
//! and JSON (array elements).

use std::borrow::Cow;
use std::fmt::Write;

use super::json;
use driverbox_guest_sdk::batch::Cell;
use driverbox_guest_sdk::time::{civil_from_days, format_time, MICROS_PER_DAY};
use driverbox_guest_sdk::types::Interval;
use driverbox_guest_sdk::{Error, Result, Value};

/// `\x0a0b`: bytea hex input/output form.
pub fn bytea_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("\\x");
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// The hyphenated form of a UUID given as its 16 bytes.
pub fn uuid_bytes_string(b: &[u8; 16]) -> String {
    let v = u128::from_be_bytes(*b);
    uuid_string(((v >> 64) as u64, v as u64))
}

/// The hyphenated form of a UUID.
pub fn uuid_string((hi, lo): (u64, u64)) -> String {
    let v = ((hi as u128) << 64) | lo as u128;
    let h = format!("{v:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A float in PostgreSQL's input syntax (`NaN`, `Infinity`, `-Infinity`, `1.5`, `1e300`).
pub fn float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{v:?}")
    }
}

/// A date (days since 1970-01-01) in PostgreSQL's input syntax: `2024-01-31`,
/// `0044-03-15 BC`, `infinity`.
pub fn pg_date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        d => {
            let (y, m, d) = civil_from_days(d as i64);
            if y <= 0 {
                format!("{:04}-{m:02}-{d:02} BC", 1 - y)
            } else {
                format!("{y:04}-{m:02}-{d:02}")
            }
        }
    }
}

/// A timestamp (µs since the epoch) in PostgreSQL's input syntax, with
/// `+00` when `utc` (`2024-01-31 12:00:00.5+00`, `... BC`, `infinity`).
pub fn pg_timestamp(micros: i64, utc: bool) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        m => pg_timestamp_text(m.div_euclid(MICROS_PER_DAY), m.rem_euclid(MICROS_PER_DAY), utc),
    }
}

/// A timestamp as PostgreSQL sends it (µs since 2000-01-01) as PostgreSQL
/// prints it: every value of its range, also those past 294247-01-10 that
/// µs since 1970 cannot hold.
pub fn pg_timestamp_since_2000(micros: i64, utc: bool) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        m => pg_timestamp_text(
            m.div_euclid(MICROS_PER_DAY) + i64::from(super::types::PG_EPOCH_DAYS),
            m.rem_euclid(MICROS_PER_DAY),
            utc,
        ),
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][+00][ BC]` of a day since 1970 and µs into it.
fn pg_timestamp_text(days: i64, micros: i64, utc: bool) -> String {
    let (y, mo, d) = civil_from_days(days);
    let (year, bc) = if y <= 0 { (1 - y, " BC") } else { (y, "") };
    let zone = if utc { "+00" } else { "" };
    format!("{year:04}-{mo:02}-{d:02} {}{zone}{bc}", format_time(micros))
}

/// An interval in PostgreSQL's input syntax (`14 mons -2 days 7 microseconds`).
pub fn pg_interval(iv: &Interval) -> String {
    format!("{} mons {} days {} microseconds", iv.months, iv.days, iv.microseconds)
}

/// The text form of a value for a text-format parameter or a COPY field;
/// `None` for NULL.
pub fn value_text(v: Cell<'_>) -> Result<Option<Cow<'_, str>>> {
    Ok(Some(match v {
        Cell::Null => return Ok(None),
        Cell::Bool(b) => Cow::Borrowed(if b { "t" } else { "f" }),
        Cell::Int(i) => Cow::Owned(i.to_string()),
        Cell::UInt(u) => Cow::Owned(u.to_string()),
        Cell::Float(f) => Cow::Owned(float_text(f)),
        Cell::Decimal(s) | Cell::Text(s) | Cell::Json(s) => Cow::Borrowed(s),
        Cell::Bytes(b) => Cow::Owned(bytea_hex(b)),
        Cell::Date(d) => Cow::Owned(pg_date(d)),
        Cell::Time(t) => Cow::Owned(format_time(t)),
        Cell::Timestamp(t) => Cow::Owned(pg_timestamp(t, false)),
        Cell::Timestamptz(t) => Cow::Owned(pg_timestamp(t, true)),
        Cell::Interval(iv) => Cow::Owned(pg_interval(&iv)),
        Cell::Uuid(b) => Cow::Owned(uuid_bytes_string(&b)),
        Cell::Document(_) => {
            return Err(Error::invalid(
                "a BSON document has no PostgreSQL type; send it as json or bytes",
            ))
        }
    }))
}

/// An ISO 8601 date (`2024-01-31`, `-0043-03-15`), or `infinity`/`-infinity`.
pub fn iso_date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        d => driverbox_guest_sdk::time::format_date(d as i64),
    }
}

/// An ISO 8601 timestamp (`2024-01-31T12:00:00.5`, with `Z` when `utc`).
pub fn iso_timestamp(micros: i64, utc: bool) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        m => {
            let mut s = driverbox_guest_sdk::time::format_timestamp(m);
            if utc {
                s.push('Z');
            }
            s
        }
    }
}

/// An ISO 8601 duration (`P1Y2M3DT4H5M6.5S`), signs per field as PostgreSQL writes them.
pub fn iso_interval(iv: &Interval) -> String {
    let mut out = String::from("P");
    let (years, months) = (iv.months / 12, iv.months % 12);
    if years != 0 {
        let _ = write!(out, "{years}Y");
    }
    if months != 0 {
        let _ = write!(out, "{months}M");
    }
    if iv.days != 0 {
        let _ = write!(out, "{}D", iv.days);
    }
    let us = iv.microseconds;
    if us != 0 || out.len() == 1 {
        out.push('T');
        let neg = us < 0;
        let abs = us.unsigned_abs();
        let (h, m, s, f) = (
            abs / 3_600_000_000,
            abs / 60_000_000 % 60,
            abs / 1_000_000 % 60,
            abs % 1_000_000,
        );
        let sign = if neg { "-" } else { "" };
        if h != 0 {
            let _ = write!(out, "{sign}{h}H");
        }
        if m != 0 {
            let _ = write!(out, "{sign}{m}M");
        }
        if s != 0 || f != 0 || (h == 0 && m == 0) {
            let _ = write!(out, "{sign}{s}");
            if f != 0 {
                let frac = format!("{f:06}");
                let _ = write!(out, ".{}", frac.trim_end_matches('0'));
            }
            out.push('S');
        }
    }
    out
}

/// Appends a scalar value as JSON (array elements, per `docs/values.md`).
pub fn write_json_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if f.is_finite() {
                let _ = write!(out, "{f:?}");
            } else {
                json::write_string(out, &float_text(*f));
            }
        }
        Value::Decimal(s) => {
            if s.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.') && !s.is_empty() {
                out.push_str(s);
            } else {
                json::write_string(out, s);
            }
        }
        Value::Text(s) => json::write_string(out, s),
        Value::Bytes(b) => json::write_string(out, &bytea_hex(b)),
        Value::Date(d) => json::write_string(out, &iso_date(*d)),
        Value::Time(t) => json::write_string(out, &format_time(*t)),
        Value::Timestamp(t) => json::write_string(out, &iso_timestamp(*t, false)),
        Value::Timestamptz(t) => json::write_string(out, &iso_timestamp(*t, true)),
        Value::Interval(iv) => json::write_string(out, &iso_interval(iv)),
        Value::Uuid(u) => json::write_string(out, &uuid_string(*u)),
        // As a string of JSON text: a JSON `null` element stays apart
        // from a NULL element, and the text stays as the server wrote it.
        Value::Json(s) => json::write_string(out, s),
        Value::Document(_) => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_input_syntax() {
        assert_eq!(bytea_hex(&[0, 0xab, 0xff]), "\\x00abff");
        assert_eq!(
            uuid_string((0x0102030405060708, 0x090a0b0c0d0e0f10)),
            "01020304-0506-0708-090a-0b0c0d0e0f10"
        );
        assert_eq!(float_text(f64::NAN), "NaN");
        assert_eq!(float_text(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(float_text(1e300), "1e300");
        assert_eq!(pg_date(19_753), "2024-01-31");
        assert_eq!(pg_date(i32::MAX), "infinity");
        // 44 BC is astronomical year -43.
        let d = driverbox_guest_sdk::time::days_from_civil(-43, 3, 15).unwrap();
        assert_eq!(pg_date(d as i32), "0044-03-15 BC");
        assert_eq!(pg_timestamp(1_500_000, true), "1970-01-01 00:00:01.5+00");
        assert_eq!(
            pg_timestamp(d * MICROS_PER_DAY + 1, false),
            "0044-03-15 00:00:00.000001 BC"
        );
        assert_eq!(pg_timestamp(i64::MIN, true), "-infinity");
        assert_eq!(
            pg_interval(&Interval {
                months: -3,
                days: 5,
                microseconds: -7
            }),
            "-3 mons 5 days -7 microseconds"
        );
        assert!(value_text(Cell::Document(&[])).is_err());
        assert!(value_text(Cell::Null).unwrap().is_none());
        assert_eq!(value_text(Cell::Bool(true)).unwrap().unwrap(), "t");
    }

    #[test]
    fn formats_json() {
        let mut s = String::new();
        for v in [
            Value::Float(f64::NAN),
            Value::Float(1.5),
            Value::Decimal("-12.50".into()),
            Value::Decimal("NaN".into()),
            Value::Bytes(vec![10, 11]),
            Value::Timestamptz(0),
            Value::Timestamp(500_000),
            Value::Date(i32::MIN),
            Value::Interval(Interval {
                months: 14,
                days: 3,
                microseconds: 3_723_500_000,
            }),
            Value::Interval(Interval {
                months: 0,
                days: 0,
                microseconds: 0,
            }),
            Value::Interval(Interval {
                months: -1,
                days: 0,
                microseconds: -1_000_000,
            }),
        ] {
            write_json_value(&mut s, &v);
            s.push(',');
        }
        assert_eq!(
            s,
            r#""NaN",1.5,-12.50,"NaN","\\x0a0b","1970-01-01T00:00:00Z","1970-01-01T00:00:00.5","-infinity","P1Y2M3DT1H2M3.5S","PT0S","P-1MT-1S","#
        );
    }
}
