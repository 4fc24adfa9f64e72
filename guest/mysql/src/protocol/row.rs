//! Rows, text (COM_QUERY) and binary (COM_STMT_EXECUTE), decoded straight
//! into the columns of a batch.
//!
//! Dates that are no calendar date (`0000-00-00`, `2024-00-10`, which
//! MySQL stores unless `NO_ZERO_DATE`/`NO_ZERO_IN_DATE` forbid them) are
//! kept as their text: the column becomes `dynamic` for that batch
//! (`docs/values.md`), nothing is lost or turned into NULL.

use driverbox_guest_sdk::batch::{BatchBuilder, ColumnBuilder};
use driverbox_guest_sdk::time::days_from_civil;
use driverbox_guest_sdk::types::Interval;
use driverbox_guest_sdk::{Error, Result};

use super::column::{ty, ColumnDef, Kind};
use super::wire::Reader;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// What a row decoder needs of each column.
#[derive(Debug, Clone)]
pub struct RowDecoder {
    kinds: Vec<Kind>,
    types: Vec<u8>,
    names: Vec<String>,
}

fn bad(name: &str, what: &str, v: &[u8]) -> Error {
    let shown: String = String::from_utf8_lossy(&v[..v.len().min(40)]).into_owned();
    Error::protocol(format!("MySQL sent `{shown}` for {what} column `{name}`"))
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// Microseconds of a fraction `ffffff` (1 to 6 digits).
fn fraction(b: &[u8]) -> Option<i64> {
    if b.len() > 6 {
        return None;
    }
    let n = digits(b)? as i64;
    Some(n * 10i64.pow(6 - b.len() as u32))
}

/// Days since the epoch of `YYYY-MM-DD`; `None` for a zero or impossible date.
pub fn parse_date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    days_from_civil(digits(&b[..4])? as i64, digits(&b[5..7])?, digits(&b[8..10])?)
}

/// Seconds and microseconds of `HH:MM:SS[.ffffff]` (hours may be longer).
fn parse_clock(b: &[u8]) -> Option<i64> {
    let (hms, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], fraction(&b[p + 1..])?),
        None => (b, 0),
    };
    let mut parts = hms.split(|&c| c == b':');
    let h = digits(parts.next()?)? as i64;
    let m = digits(parts.next()?)? as i64;
    let s = digits(parts.next()?)? as i64;
    if parts.next().is_some() || m > 59 || s > 59 {
        return None;
    }
    Some((h * 3600 + m * 60 + s) * 1_000_000 + frac)
}

/// Microseconds since the epoch of `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn parse_datetime(b: &[u8]) -> Option<i64> {
    if b.len() < 19 || b[10] != b' ' {
        return None;
    }
    let clock = parse_clock(&b[11..])?;
    if clock >= MICROS_PER_DAY {
        return None;
    }
    Some(parse_date(&b[..10])? * MICROS_PER_DAY + clock)
}

/// Microseconds of a TIME, `[-]HHH:MM:SS[.ffffff]` (−838:59:59 … 838:59:59).
pub fn parse_time(b: &[u8]) -> Option<i64> {
    match b.split_first() {
        Some((b'-', rest)) => parse_clock(rest).map(|v| -v),
        _ => parse_clock(b),
    }
}

fn as_str<'a>(name: &str, what: &str, v: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(v).map_err(|_| bad(name, what, v))
}

fn push_parsed<T: std::str::FromStr>(
    name: &str,
    what: &str,
    v: &[u8],
    push: impl FnOnce(T) -> Result<()>,
) -> Result<()> {
    let t = as_str(name, what, v)?.parse::<T>().map_err(|_| bad(name, what, v))?;
    push(t)
}

/// A date, or its text when it is no calendar date (or an earlier value
/// already turned the column `dynamic`).
fn push_date(c: &mut ColumnBuilder, days: Option<i64>, text: impl FnOnce() -> String) -> Result<()> {
    match days.and_then(|d| i32::try_from(d).ok()) {
        Some(d) if !c.is_dynamic() => c.push_i32(d),
        _ => c.push_text(&text()),
    }
}

fn push_stamp(c: &mut ColumnBuilder, micros: Option<i64>, text: impl FnOnce() -> String) -> Result<()> {
    match micros {
        Some(us) if !c.is_dynamic() => c.push_i64(us),
        _ => c.push_text(&text()),
    }
}

fn time_interval(us: i64) -> Interval {
    Interval {
        months: 0,
        days: 0,
        microseconds: us,
    }
}

fn bits(name: &str, v: &[u8]) -> Result<u64> {
    if v.len() > 8 {
        return Err(bad(name, "BIT", v));
    }
    Ok(v.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

/// GEOMETRY comes as a 4-byte SRID and WKB; the value is the WKB.
fn wkb<'a>(name: &str, v: &'a [u8]) -> Result<&'a [u8]> {
    v.get(4..).ok_or_else(|| bad(name, "GEOMETRY", v))
}

impl RowDecoder {
    pub fn new(columns: &[ColumnDef]) -> RowDecoder {
        RowDecoder {
            kinds: columns.iter().map(ColumnDef::kind).collect(),
            types: columns.iter().map(|c| c.ty).collect(),
            names: columns.iter().map(|c| c.name.clone()).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    fn extra(&self) -> Error {
        Error::protocol(format!(
            "MySQL sent a row with more fields than the {} columns it announced",
            self.kinds.len()
        ))
    }

    /// One text-protocol row into `b`.
    pub fn text_row(&self, payload: &[u8], b: &mut BatchBuilder) -> Result<()> {
        let mut r = Reader::new(payload);
        for (i, kind) in self.kinds.iter().enumerate() {
            let c = b.column(i);
            match r.lenenc_bytes("field")? {
                None => c.push_null(),
                Some(v) => self.text_value(i, *kind, v, c)?,
            }
        }
        if !r.is_empty() {
            return Err(self.extra());
        }
        b.end_row();
        Ok(())
    }

    fn text_value(&self, i: usize, kind: Kind, v: &[u8], c: &mut ColumnBuilder) -> Result<()> {
        let name = &self.names[i];
        match kind {
            Kind::Null => {
                c.push_null();
                Ok(())
            }
            Kind::I8 => push_parsed(name, "TINYINT", v, |x| c.push_i8(x)),
            Kind::U8 => push_parsed(name, "TINYINT UNSIGNED", v, |x| c.push_u8(x)),
            Kind::I16 => push_parsed(name, "SMALLINT", v, |x| c.push_i16(x)),
            Kind::Year => push_parsed(name, "YEAR", v, |x| c.push_i16(x)),
            Kind::U16 => push_parsed(name, "SMALLINT UNSIGNED", v, |x| c.push_u16(x)),
            Kind::I32 => push_parsed(name, "INT", v, |x| c.push_i32(x)),
            Kind::U32 => push_parsed(name, "INT UNSIGNED", v, |x| c.push_u32(x)),
            Kind::I64 => push_parsed(name, "BIGINT", v, |x| c.push_i64(x)),
            Kind::U64 => push_parsed(name, "BIGINT UNSIGNED", v, |x| c.push_u64(x)),
            Kind::F32 => push_parsed(name, "FLOAT", v, |x| c.push_f32(x)),
            Kind::F64 => push_parsed(name, "DOUBLE", v, |x| c.push_f64(x)),
            Kind::Decimal => {
                if v.is_empty()
                    || !v
                        .iter()
                        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'e' | b'E' | b'+'))
                {
                    return Err(bad(name, "DECIMAL", v));
                }
                c.push_varlen(v)
            }
            Kind::Text | Kind::Json => c.push_varlen(as_str(name, "text", v)?.as_bytes()),
            Kind::Bytes => c.push_varlen(v),
            Kind::Geometry => c.push_varlen(wkb(name, v)?),
            Kind::Bit => c.push_u64(bits(name, v)?),
            Kind::Date => {
                let text = as_str(name, "DATE", v)?;
                push_date(c, parse_date(v), || text.to_string())
            }
            Kind::Datetime | Kind::Timestamp => {
                let text = as_str(name, "DATETIME", v)?;
                push_stamp(c, parse_datetime(v), || text.to_string())
            }
            Kind::Time => {
                let us = parse_time(v).ok_or_else(|| bad(name, "TIME", v))?;
                c.push_interval(time_interval(us))
            }
        }
    }

    /// One binary-protocol row (after its `0x00` header) into `b`.
    pub fn binary_row(&self, payload: &[u8], b: &mut BatchBuilder) -> Result<()> {
        let mut r = Reader::new(payload);
        if r.u8("row header")? != 0 {
            return Err(Error::protocol("MySQL binary row without its 0x00 header"));
        }
        let bitmap = r.bytes((self.kinds.len() + 7 + 2) / 8, "NULL bitmap")?;
        for i in 0..self.kinds.len() {
            let c = b.column(i);
            let bit = i + 2;
            if bitmap[bit / 8] & (1 << (bit % 8)) != 0 {
                c.push_null();
                continue;
            }
            self.binary_value(i, &mut r, c)?;
        }
        if !r.is_empty() {
            return Err(self.extra());
        }
        b.end_row();
        Ok(())
    }

    fn binary_value(&self, i: usize, r: &mut Reader<'_>, c: &mut ColumnBuilder) -> Result<()> {
        let name = &self.names[i];
        let kind = self.kinds[i];
        match self.types[i] {
            ty::TINY => {
                let v = r.u8("TINYINT")?;
                match kind {
                    Kind::U8 => c.push_u8(v),
                    _ => c.push_i8(v as i8),
                }
            }
            ty::SHORT | ty::YEAR => {
                let v = r.u16("SMALLINT")?;
                match kind {
                    Kind::U16 => c.push_u16(v),
                    _ => c.push_i16(v as i16),
                }
            }
            ty::LONG | ty::INT24 => {
                let v = r.u32("INT")?;
                match kind {
                    Kind::U32 => c.push_u32(v),
                    _ => c.push_i32(v as i32),
                }
            }
            ty::LONGLONG => {
                let v = r.u64("BIGINT")?;
                match kind {
                    Kind::U64 => c.push_u64(v),
                    _ => c.push_i64(v as i64),
                }
            }
            ty::FLOAT => c.push_f32(f32::from_bits(r.u32("FLOAT")?)),
            ty::DOUBLE => c.push_f64(f64::from_bits(r.u64("DOUBLE")?)),
            ty::DATE | ty::NEWDATE | ty::DATETIME | ty::DATETIME2 | ty::TIMESTAMP | ty::TIMESTAMP2 => {
                let len = r.u8("date length")? as usize;
                let v = r.bytes(len, "date")?;
                let (y, mo, d) = match len {
                    0 => (0, 0, 0),
                    4 | 7 | 11 => (u16::from_le_bytes([v[0], v[1]]), v[2], v[3]),
                    _ => return Err(bad(name, "DATETIME", v)),
                };
                let (h, mi, s) = if len >= 7 { (v[4], v[5], v[6]) } else { (0, 0, 0) };
                let us = if len == 11 {
                    u32::from_le_bytes([v[7], v[8], v[9], v[10]])
                } else {
                    0
                };
                let days = days_from_civil(y as i64, mo as u32, d as u32);
                if kind == Kind::Date {
                    push_date(c, days, || format!("{y:04}-{mo:02}-{d:02}"))
                } else {
                    let clock = (h as i64 * 3600 + mi as i64 * 60 + s as i64) * 1_000_000 + us as i64;
                    let valid = h < 24 && mi < 60 && s < 60 && us < 1_000_000;
                    push_stamp(c, days.filter(|_| valid).map(|d| d * MICROS_PER_DAY + clock), || {
                        let frac = if us > 0 { format!(".{us:06}") } else { String::new() };
                        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{frac}")
                    })
                }
            }
            ty::TIME | ty::TIME2 => {
                let len = r.u8("time length")? as usize;
                let v = r.bytes(len, "time")?;
                let us = match len {
                    0 => 0,
                    8 | 12 => {
                        let days = u32::from_le_bytes([v[1], v[2], v[3], v[4]]) as i64;
                        let frac = if len == 12 {
                            u32::from_le_bytes([v[8], v[9], v[10], v[11]]) as i64
                        } else {
                            0
                        };
                        // Up to 2^32 days: seconds fit an i64, microseconds may not.
                        let secs = (days * 24 + v[5] as i64) * 3600 + v[6] as i64 * 60 + v[7] as i64;
                        let t = secs
                            .checked_mul(1_000_000)
                            .and_then(|us| us.checked_add(frac))
                            .ok_or_else(|| bad(name, "TIME", v))?;
                        if v[0] == 1 {
                            -t
                        } else {
                            t
                        }
                    }
                    _ => return Err(bad(name, "TIME", v)),
                };
                c.push_interval(time_interval(us))
            }
            _ => {
                let v = r.lenenc_str("field")?;
                self.text_value(i, kind, v, c)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::column::tests_support::def;
    use crate::protocol::wire::put_lenenc_int;
    use driverbox_guest_sdk::batch::result_rows;
    use driverbox_guest_sdk::types::Value;

    fn text_row(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut p = Vec::new();
        for f in fields {
            match f {
                None => p.push(0xFB),
                Some(v) => {
                    put_lenenc_int(&mut p, v.len() as u64);
                    p.extend_from_slice(v);
                }
            }
        }
        p
    }

    #[test]
    fn parses_calendar_text() {
        assert_eq!(parse_date(b"1970-01-02"), Some(1));
        assert_eq!(parse_date(b"0000-00-00"), None);
        assert_eq!(parse_date(b"2024-02-30"), None);
        assert_eq!(parse_datetime(b"1970-01-01 00:00:01.5"), Some(1_500_000));
        assert_eq!(parse_datetime(b"1970-01-01 24:00:00"), None);
        assert_eq!(
            parse_time(b"-838:59:59.000001"),
            Some(-(838 * 3600 + 59 * 60 + 59) * 1_000_000 - 1)
        );
        assert_eq!(parse_time(b"25:00:00"), Some(25 * 3_600_000_000));
        assert_eq!(parse_time(b"1:2"), None);
        assert_eq!(parse_time(b"10:61:00"), None);
    }

    #[test]
    fn text_rows_decode_every_kind() {
        let cols = vec![
            def("u", ty::LONGLONG, super::super::column::flag::UNSIGNED, 63),
            def("d", ty::NEWDECIMAL, 0, 63),
            def("z", ty::DATE, 0, 63),
            def("t", ty::TIME, 0, 63),
            def("b", ty::BIT, 0, 63),
            def("s", ty::VAR_STRING, 0, 45),
        ];
        let dec = RowDecoder::new(&cols);
        let columns: Vec<_> = cols.iter().map(ColumnDef::to_column).collect();
        let mut b = BatchBuilder::new(&columns);
        let row = |u: &'static [u8], z: &'static [u8]| {
            text_row(&[
                Some(u),
                Some(b"-12.50"),
                Some(z),
                Some(b"-30:00:00"),
                Some(&[1, 2]),
                None,
            ])
        };
        dec.text_row(&row(b"18446744073709551615", b"2024-01-31"), &mut b)
            .unwrap();
        dec.text_row(&row(b"0", b"0000-00-00"), &mut b).unwrap();
        let result = b.into_result(columns, None);
        let rows = result_rows(&result).unwrap();
        assert_eq!(rows[0][0], Value::Decimal("18446744073709551615".into()));
        assert_eq!(rows[0][1], Value::Decimal("-12.50".into()));
        assert_eq!(rows[0][2], Value::Text("2024-01-31".into()));
        assert_eq!(rows[1][2], Value::Text("0000-00-00".into()));
        assert_eq!(
            rows[0][3],
            Value::Interval(Interval {
                months: 0,
                days: 0,
                microseconds: -30 * 3_600_000_000
            })
        );
        assert_eq!(rows[0][4], Value::Int(0x102));
        assert_eq!(rows[0][5], Value::Null);
    }

    #[test]
    fn hostile_rows_are_errors() {
        let cols = vec![def("n", ty::LONG, 0, 63)];
        let dec = RowDecoder::new(&cols);
        let columns: Vec<_> = cols.iter().map(ColumnDef::to_column).collect();
        for payload in [
            text_row(&[Some(b"1"), Some(b"2")]),
            text_row(&[Some(b"x")]),
            text_row(&[Some(b"99999999999")]),
            vec![0x05, b'1'],
            vec![],
        ] {
            let mut b = BatchBuilder::new(&columns);
            assert!(dec.text_row(&payload, &mut b).is_err(), "{payload:?}");
        }
        for payload in [vec![0u8], vec![1, 0, 0, 0, 0, 0], vec![0, 0, 1, 2]] {
            let mut b = BatchBuilder::new(&columns);
            assert!(dec.binary_row(&payload, &mut b).is_err(), "{payload:?}");
        }
    }

    #[test]
    fn a_binary_time_of_four_billion_days_is_an_error_not_an_overflow() {
        let cols = vec![def("t", ty::TIME, 0, 63)];
        let dec = RowDecoder::new(&cols);
        let columns: Vec<_> = cols.iter().map(ColumnDef::to_column).collect();
        let mut b = BatchBuilder::new(&columns);
        // 12-byte TIME: negative, u32::MAX days, 23:59:59.999999.
        let mut p = vec![0, 0, 12, 1, 0xFF, 0xFF, 0xFF, 0xFF, 23, 59, 59];
        p.extend_from_slice(&999_999u32.to_le_bytes());
        let e = dec.binary_row(&p, &mut b).unwrap_err();
        assert_eq!(e.kind(), driverbox_guest_sdk::ErrorKind::Protocol, "{}", e.message());
        // The largest day count that fits is still decoded.
        let mut b = BatchBuilder::new(&columns);
        let days = (i64::MAX / MICROS_PER_DAY - 1) as u32;
        let mut p = vec![0, 0, 8, 0];
        p.extend_from_slice(&days.to_le_bytes());
        p.extend_from_slice(&[0, 0, 0]);
        dec.binary_row(&p, &mut b).unwrap();
    }

    #[test]
    fn binary_rows_decode_dates_and_times() {
        let cols = vec![
            def("dt", ty::DATETIME, 0, 63),
            def("t", ty::TIME, 0, 63),
            def("i", ty::TINY, 0, 63),
        ];
        let dec = RowDecoder::new(&cols);
        let columns: Vec<_> = cols.iter().map(ColumnDef::to_column).collect();
        let mut b = BatchBuilder::new(&columns);
        let mut p = vec![0, 0];
        p.extend_from_slice(&[11, 0xB2, 0x07, 1, 1, 0, 0, 1, 0x20, 0xA1, 0x07, 0]); // 1970-01-01 00:00:01.500000
        p.extend_from_slice(&[8, 1, 1, 0, 0, 0, 2, 0, 0]); // -1 day 02:00:00
        p.push(0xFF);
        dec.binary_row(&p, &mut b).unwrap();
        let rows = result_rows(&b.into_result(columns, None)).unwrap();
        assert_eq!(rows[0][0], Value::Timestamp(1_500_000));
        assert_eq!(
            rows[0][1],
            Value::Interval(Interval {
                months: 0,
                days: 0,
                microseconds: -26 * 3_600_000_000
            })
        );
        assert_eq!(rows[0][2], Value::Int(-1));
    }
}
