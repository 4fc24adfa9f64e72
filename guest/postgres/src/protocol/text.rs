//! Text-format values → typed values, for results of the simple query
//! protocol (scripts) and elements of text-format arrays.
//!
//! The session runs with `DateStyle=ISO` and `IntervalStyle=postgres`; a
//! column whose values do not all parse (say after `SET DateStyle`) is
//! kept as text.

use super::array;
use super::types::{self, oid};
use driverbox_guest_sdk::batch::{push_value, BatchReader, ColumnBuilder};
use driverbox_guest_sdk::time::{days_from_civil, parse_time, MICROS_PER_DAY};
use driverbox_guest_sdk::types::{Batch, Column, Interval, LogicalType};
use driverbox_guest_sdk::Value;

/// Decodes the text form of a value of type `type_oid`.
pub fn decode(type_oid: u32, s: &str) -> Value {
    decode_typed(type_oid, s).unwrap_or_else(|| Value::Text(s.to_string()))
}

fn decode_typed(type_oid: u32, s: &str) -> Option<Value> {
    Some(match type_oid {
        oid::BOOL => match s {
            "t" | "true" => Value::Boolean(true),
            "f" | "false" => Value::Boolean(false),
            _ => return None,
        },
        oid::INT2 | oid::INT4 | oid::INT8 | oid::OID => Value::Int(s.parse().ok()?),
        oid::FLOAT4 | oid::FLOAT8 => Value::Float(parse_float(s, type_oid == oid::FLOAT4)?),
        oid::NUMERIC => Value::Decimal(s.to_string()),
        oid::BYTEA => Value::Bytes(parse_bytea(s)?),
        oid::DATE => Value::Date(parse_date(s)?),
        oid::TIME => Value::Time(parse_time(s)?),
        oid::TIMESTAMP => Value::Timestamp(parse_timestamp(s, false)?),
        oid::TIMESTAMPTZ => Value::Timestamptz(parse_timestamp(s, true)?),
        oid::INTERVAL => Value::Interval(parse_interval(s)?),
        oid::UUID => Value::Uuid(parse_uuid(s)?),
        oid::JSON | oid::JSONB => Value::Json(s.to_string()),
        _ => {
            let elem = types::array_element(type_oid)?;
            Value::Json(array::text_to_json(s, elem, b',').ok()?)
        }
    })
}

/// What a text column of a simple-protocol result becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retype {
    /// Stays text.
    Keep,
    /// A built-in type, parsed with [`decode`] into `logical`.
    Typed { type_oid: u32, logical: LogicalType },
    /// An array of a type the driver looked up → JSON.
    Array { elem: u32, delim: u8 },
}

/// Turns the text columns of a simple-protocol result (`batch`, every
/// column text) into typed columns, each as `targets` says; a column whose
/// values do not all parse stays text (and its `columns` entry says so).
pub fn retype(columns: &mut [Column], targets: &[Retype], batch: Batch) -> Batch {
    let text_columns: Vec<Column> = columns
        .iter()
        .map(|c| Column {
            logical_type: LogicalType::Text,
            ..c.clone()
        })
        .collect();
    let Ok(reader) = BatchReader::new(&text_columns, &batch) else {
        return batch;
    };
    let mut out = Vec::with_capacity(columns.len());
    for (i, target) in targets.iter().enumerate() {
        let logical = match *target {
            Retype::Keep => None,
            Retype::Typed { logical, .. } => Some(logical),
            Retype::Array { .. } => Some(LogicalType::Json),
        };
        let typed = logical.and_then(|logical| {
            let mut col = ColumnBuilder::new(logical);
            for row in 0..reader.rows() {
                let value = match reader.cell(row, i) {
                    driverbox_guest_sdk::batch::Cell::Text(s) => match *target {
                        Retype::Typed { type_oid, .. } => decode_typed(type_oid, s)?,
                        Retype::Array { elem, delim } => Value::Json(array::text_to_json(s, elem, delim).ok()?),
                        Retype::Keep => return None,
                    },
                    _ => Value::Null,
                };
                push_value(&mut col, &value).ok()?;
            }
            Some((logical, col.finish()))
        });
        match typed {
            Some((logical, values)) => {
                columns[i].logical_type = logical;
                out.push(values);
            }
            None => {
                columns[i].logical_type = LogicalType::Text;
                out.push(batch.columns[i].clone());
            }
        }
    }
    Batch {
        rows: batch.rows,
        columns: out,
    }
}

fn parse_float(s: &str, single: bool) -> Option<f64> {
    Some(match s {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ if single => types::widen_f32(s.parse::<f32>().ok()?),
        _ => s.parse().ok()?,
    })
}

/// `\x0a0b` (hex) or the old escape format (`a\000\\`).
pub fn parse_bytea(s: &str) -> Option<Vec<u8>> {
    if let Some(hex) = s.strip_prefix("\\x") {
        let b = hex.as_bytes();
        if b.len() % 2 != 0 {
            return None;
        }
        let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        return b
            .chunks_exact(2)
            .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
            .collect();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = b.get(i + 1..i + 4)?;
            let mut v: u32 = 0;
            for &c in oct {
                if !(b'0'..=b'7').contains(&c) {
                    return None;
                }
                v = v * 8 + (c - b'0') as u32;
            }
            out.push(u8::try_from(v).ok()?);
            i += 4;
        }
    }
    Some(out)
}

fn strip_bc(s: &str) -> (&str, bool) {
    match s.strip_suffix(" BC") {
        Some(rest) => (rest, true),
        None => (s, false),
    }
}

fn civil_days(date: &str, bc: bool) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    days_from_civil(if bc { 1 - y } else { y }, m, d)
}

/// `2024-01-31`, `0044-03-15 BC`, `infinity` → days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i32> {
    match s {
        "infinity" => return Some(i32::MAX),
        "-infinity" => return Some(i32::MIN),
        _ => {}
    }
    let (s, bc) = strip_bc(s);
    i32::try_from(civil_days(s, bc)?).ok()
}

/// `2024-01-31 12:00:00.5[+05:30[:12]][ BC]` → µs since the epoch (UTC
/// when an offset is there).
pub fn parse_timestamp(s: &str, with_zone: bool) -> Option<i64> {
    match s {
        "infinity" => return Some(i64::MAX),
        "-infinity" => return Some(i64::MIN),
        _ => {}
    }
    let (s, bc) = strip_bc(s);
    let (date, rest) = s.split_once(' ')?;
    let days = civil_days(date, bc)?;
    let (time, offset) = if with_zone {
        let at = rest.rfind(['+', '-'])?;
        (&rest[..at], parse_offset(&rest[at..])?)
    } else {
        (rest, 0)
    };
    days.checked_mul(MICROS_PER_DAY)?
        .checked_add(parse_time(time)?)?
        .checked_sub(offset)
}

/// `+05`, `-03:30`, `+05:53:28` → µs east of UTC.
fn parse_offset(s: &str) -> Option<i64> {
    let (sign, body) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let mut secs = 0i64;
    let mut n = 0;
    for (i, part) in body.split(':').enumerate() {
        if i > 2 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: i64 = part.parse().ok()?;
        secs += v * [3600, 60, 1][i];
        n += 1;
    }
    if n == 0 {
        return None;
    }
    Some(sign * secs * 1_000_000)
}

/// `1 year 2 mons -3 days +04:05:06.5` (IntervalStyle `postgres`).
pub fn parse_interval(s: &str) -> Option<Interval> {
    let mut iv = Interval {
        months: 0,
        days: 0,
        microseconds: 0,
    };
    let mut words = s.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if word.contains(':') {
            let (neg, t) = match word.as_bytes().first()? {
                b'-' => (true, &word[1..]),
                b'+' => (false, &word[1..]),
                _ => (false, word),
            };
            // Hours may exceed 24 here; parse them apart from MM:SS.
            let (h, ms) = t.split_once(':')?;
            let h: i64 = h.parse().ok()?;
            let rest = parse_time(&format!("00:{ms}"))?;
            let us = h.checked_mul(3_600_000_000)?.checked_add(rest)?;
            iv.microseconds = if neg { -us } else { us };
            continue;
        }
        let n: i64 = word.parse().ok()?;
        let unit = words.next()?;
        match unit.trim_end_matches('s') {
            "year" => iv.months = iv.months.checked_add(i32::try_from(n.checked_mul(12)?).ok()?)?,
            "mon" => iv.months = iv.months.checked_add(i32::try_from(n).ok()?)?,
            "day" => iv.days = i32::try_from(n).ok()?,
            _ => return None,
        }
    }
    Some(iv)
}

/// `a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11` → (high, low).
pub fn parse_uuid(s: &str) -> Option<(u64, u64)> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let v = u128::from_str_radix(&hex, 16).ok()?;
    Some(((v >> 64) as u64, v as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dbg(v: Value) -> String {
        format!("{v:?}")
    }

    #[test]
    fn decodes() {
        assert_eq!(dbg(decode(oid::BOOL, "t")), dbg(Value::Boolean(true)));
        assert_eq!(
            dbg(decode(oid::INT8, "-9223372036854775808")),
            dbg(Value::Int(i64::MIN))
        );
        assert_eq!(
            dbg(decode(oid::FLOAT8, "-Infinity")),
            dbg(Value::Float(f64::NEG_INFINITY))
        );
        assert_eq!(dbg(decode(oid::FLOAT4, "0.1")), dbg(Value::Float(0.1)));
        assert_eq!(dbg(decode(oid::NUMERIC, "1.50")), dbg(Value::Decimal("1.50".into())));
        assert_eq!(dbg(decode(oid::BYTEA, "\\x00ff")), dbg(Value::Bytes(vec![0, 255])));
        assert_eq!(
            dbg(decode(oid::BYTEA, "a\\\\\\001")),
            dbg(Value::Bytes(vec![b'a', b'\\', 1]))
        );
        assert_eq!(dbg(decode(oid::DATE, "2000-01-01")), dbg(Value::Date(10_957)));
        assert_eq!(dbg(decode(oid::DATE, "-infinity")), dbg(Value::Date(i32::MIN)));
        assert_eq!(dbg(decode(oid::TIME, "24:00:00")), dbg(Value::Time(86_400_000_000)));
        assert_eq!(
            dbg(decode(oid::TIMESTAMPTZ, "1970-01-01 05:30:00.5+05:30")),
            dbg(Value::Timestamptz(500_000))
        );
        assert_eq!(
            dbg(decode(oid::TIMESTAMPTZ, "1970-01-01 05:53:28+05:53:28")),
            dbg(Value::Timestamptz(0))
        );
        assert_eq!(
            dbg(decode(oid::TIMESTAMPTZ, "1969-12-31 20:00:00-04")),
            dbg(Value::Timestamptz(0))
        );
        assert_eq!(
            dbg(decode(oid::TIMESTAMP, "1970-01-01 00:00:01")),
            dbg(Value::Timestamp(1_000_000))
        );
        let bc = days_from_civil(-43, 3, 15).unwrap();
        assert_eq!(dbg(decode(oid::DATE, "0044-03-15 BC")), dbg(Value::Date(bc as i32)));
        assert_eq!(
            dbg(decode(oid::TIMESTAMPTZ, "0044-03-15 00:00:00+00 BC")),
            dbg(Value::Timestamptz(bc * MICROS_PER_DAY))
        );
        assert_eq!(
            dbg(decode(oid::UUID, "01020304-0506-0708-090a-0b0c0d0e0f10")),
            dbg(Value::Uuid((0x0102030405060708, 0x090a0b0c0d0e0f10)))
        );
        assert_eq!(
            dbg(decode(oid::INT4_ARRAY, "{1,NULL}")),
            dbg(Value::Json("[1,null]".into()))
        );
        // Unparsable → text.
        assert_eq!(
            dbg(decode(oid::DATE, "01/02/2024")),
            dbg(Value::Text("01/02/2024".into()))
        );
        assert_eq!(dbg(decode(869, "10.0.0.1")), dbg(Value::Text("10.0.0.1".into())));
    }

    #[test]
    fn parses_intervals() {
        let iv = |m, d, us| Interval {
            months: m,
            days: d,
            microseconds: us,
        };
        let cases = [
            ("00:00:00", iv(0, 0, 0)),
            ("1 day", iv(0, 1, 0)),
            ("-1 years -2 mons +3 days -04:05:06.5", iv(-14, 3, -14_706_500_000)),
            ("1 mon -2 days +01:02:03.000001", iv(1, -2, 3_723_000_001)),
            ("-00:00:00.000007", iv(0, 0, -7)),
            ("100:00:00", iv(0, 0, 360_000_000_000)),
        ];
        for (s, want) in cases {
            assert_eq!(format!("{:?}", parse_interval(s).unwrap()), format!("{want:?}"), "{s}");
        }
        assert!(parse_interval("1 fortnight").is_none());
        assert!(parse_interval("@ 1 day").is_none());
    }
}
