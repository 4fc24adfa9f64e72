//! SQLite values into result columns, and parameters back (the SQLite
//! column of `docs/values.md`).
//!
//! SQLite stores five storage classes; the declared column type, when a
//! result column has one, gives the column its logical type: `BOOL*`
//! holding 0/1 is boolean, `DATE`/`TIME`/`DATETIME`/`TIMESTAMP` holding ISO
//! 8601 text are dates and times, `JSON` text is json, `UUID` as 16 bytes
//! or hyphenated text is a uuid, and otherwise the type's affinity decides
//! (INTEGER → int64, REAL → float64, TEXT → text, BLOB → bytes, NUMERIC
//! and expressions → dynamic). A stored value that does not fit its
//! column's type turns the column `dynamic` for that batch, every value
//! kept as stored: a read never fails because of what a row holds.

use driverbox_guest_sdk::batch::{tag, Cell, ColumnBuilder};
use driverbox_guest_sdk::time::{
    days_from_civil, format_date_value, format_time, format_timestamp_value, format_uuid as uuid_text, MICROS_PER_DAY,
};
use driverbox_guest_sdk::types::{Column, ColumnData, ColumnValues, LogicalType, Varlen};
use driverbox_guest_sdk::{client_error, Error, ErrorKind, Result, Value};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};

/// How a declared column type refines the storage class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decl {
    /// No refinement: the affinity decides.
    Plain,
    /// `BOOL`, `BOOLEAN`.
    Bool,
    /// `DATE`.
    Date,
    /// `TIME`.
    Time,
    /// `DATETIME`, `TIMESTAMP` (with or without a zone clause).
    Timestamp,
    /// `JSON`.
    Json,
    /// `DECIMAL`, `NUMERIC`.
    Decimal,
    /// `UUID`.
    Uuid,
}

impl Decl {
    /// Classifies a declared type such as `varchar(20)` or `DECIMAL(10, 2)`.
    pub fn of(decl: Option<&str>) -> Decl {
        let Some(decl) = decl else { return Decl::Plain };
        let base = decl.split('(').next().unwrap_or("").trim().to_ascii_uppercase();
        let first = base.split_whitespace().next().unwrap_or("");
        match first {
            "BOOL" | "BOOLEAN" => Decl::Bool,
            "DATE" => Decl::Date,
            "TIME" => Decl::Time,
            "DATETIME" | "TIMESTAMP" | "TIMESTAMPTZ" => Decl::Timestamp,
            "JSON" => Decl::Json,
            "DECIMAL" | "NUMERIC" => Decl::Decimal,
            "UUID" => Decl::Uuid,
            _ => Decl::Plain,
        }
    }
}

/// The logical type of a result column with declared type `decl`
/// (`None` for an expression): its refinement, else its affinity
/// (SQLite documentation, "Determination Of Column Affinity").
pub fn logical_type(decl: Option<&str>, kind: Decl) -> LogicalType {
    match kind {
        Decl::Bool => return LogicalType::Boolean,
        Decl::Date => return LogicalType::Date,
        Decl::Time => return LogicalType::Time,
        Decl::Timestamp => return LogicalType::Timestamp,
        Decl::Json => return LogicalType::Json,
        Decl::Uuid => return LogicalType::Uuid,
        // NUMERIC affinity keeps integers, reals and text side by side.
        Decl::Decimal => return LogicalType::Dynamic,
        Decl::Plain => {}
    }
    let Some(decl) = decl else { return LogicalType::Dynamic };
    let t = decl.to_ascii_uppercase();
    if t.contains("INT") {
        LogicalType::Int64
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        LogicalType::Text
    } else if t.contains("BLOB") || t.trim().is_empty() {
        LogicalType::Bytes
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        LogicalType::Float64
    } else {
        LogicalType::Dynamic
    }
}

/// The storage-class name of a value, used as the type name of result
/// columns that have no declared type (expressions).
pub fn storage_class(v: &ValueRef<'_>) -> &'static str {
    match v {
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "INTEGER",
        ValueRef::Real(_) => "REAL",
        ValueRef::Text(_) => "TEXT",
        ValueRef::Blob(_) => "BLOB",
    }
}

/// The logical type of a storage class.
pub fn class_logical_type(class: &str) -> LogicalType {
    match class {
        "INTEGER" => LogicalType::Int64,
        "REAL" => LogicalType::Float64,
        "TEXT" => LogicalType::Text,
        "BLOB" => LogicalType::Bytes,
        _ => LogicalType::Dynamic,
    }
}

/// Pushes one stored value into its column, refined by the column's
/// declared type; a value that does not fit turns the column `dynamic`.
pub fn push(v: ValueRef<'_>, kind: Decl, col: &mut ColumnBuilder) -> Result<()> {
    let typed = !col.is_dynamic();
    let logical = col.logical_type();
    match v {
        ValueRef::Null => {
            col.push_null();
            Ok(())
        }
        ValueRef::Integer(i)
            if typed && kind == Decl::Bool && logical == LogicalType::Boolean && (i == 0 || i == 1) =>
        {
            col.push_bool(i == 1)
        }
        ValueRef::Integer(i) => col.push_int(i),
        ValueRef::Real(f) => col.push_float(f),
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(s) => push_text(s, kind, col),
            // Not UTF-8 although stored as TEXT: hand over the bytes untouched.
            Err(_) => col.push_blob(bytes),
        },
        ValueRef::Blob(b) if typed && kind == Decl::Uuid && b.len() == 16 && logical == LogicalType::Uuid => {
            col.push_uuid(b.try_into().unwrap_or_default())
        }
        ValueRef::Blob(b) => col.push_blob(b),
    }
}

fn push_text(s: &str, kind: Decl, col: &mut ColumnBuilder) -> Result<()> {
    if !col.is_dynamic() {
        match kind {
            Decl::Date => {
                if let Some(d) = parse_date(s) {
                    return col.push_i32(d);
                }
            }
            Decl::Time => {
                if let Some(t) = parse_time(s) {
                    return col.push_i64(t);
                }
            }
            Decl::Timestamp => {
                if let Some(t) = parse_timestamp(s) {
                    return col.push_i64(t);
                }
            }
            Decl::Json if is_json(s) => return col.push_str(s),
            Decl::Uuid => {
                if let Some(u) = parse_uuid_bytes(s) {
                    return col.push_uuid(u);
                }
            }
            _ => {}
        }
    }
    col.push_text(s)
}

/// Narrows a column declared `dynamic` whose values all share one storage
/// class to that class's type (an expression such as `count(*)` becomes
/// int64), naming the column's type after the class. Other columns are
/// returned as they are.
pub fn narrow(column: &mut Column, values: ColumnValues) -> ColumnValues {
    if column.logical_type != LogicalType::Dynamic {
        return values;
    }
    let ColumnData::Dynamic(d) = values.data else {
        return values;
    };
    let mut seen = d.tags.iter().copied().filter(|t| *t != tag::NULL);
    let only = seen.next();
    if seen.any(|t| Some(t) != only) {
        return ColumnValues {
            data: ColumnData::Dynamic(d),
            validity: values.validity,
        };
    }
    let (logical, class, data) = match only {
        None => (LogicalType::Null, "", ColumnData::Null),
        Some(tag::INTEGER) => {
            let mut next = d.integers.into_iter();
            let v = d
                .tags
                .iter()
                .map(|t| if *t == tag::NULL { 0 } else { next.next().unwrap_or(0) })
                .collect();
            (LogicalType::Int64, "INTEGER", ColumnData::Int64(v))
        }
        Some(tag::FLOAT) => {
            let mut next = d.floats.into_iter();
            let v = d
                .tags
                .iter()
                .map(|t| {
                    if *t == tag::NULL {
                        0.0
                    } else {
                        next.next().unwrap_or(0.0)
                    }
                })
                .collect();
            (LogicalType::Float64, "REAL", ColumnData::Float64(v))
        }
        Some(t) => {
            let (src, logical, class) = if t == tag::TEXT {
                (d.texts, LogicalType::Text, "TEXT")
            } else {
                (d.blobs, LogicalType::Bytes, "BLOB")
            };
            // Spread the values out to one slot per row (NULLs empty).
            let mut offsets = Vec::with_capacity(d.tags.len() + 1);
            offsets.push(0u32);
            let mut at = 0usize;
            for tg in &d.tags {
                if *tg != tag::NULL {
                    at += 1;
                }
                offsets.push(src.offsets[at]);
            }
            (
                logical,
                class,
                ColumnData::Varlen(Varlen {
                    offsets,
                    data: src.data,
                }),
            )
        }
    };
    column.logical_type = logical;
    if column.database_type.is_empty() {
        column.database_type = class.to_string();
    }
    let validity = if logical == LogicalType::Null {
        None
    } else {
        values.validity
    };
    ColumnValues { data, validity }
}

/// Converts a parameter or a bulk-input cell to what SQLite stores: text
/// and bytes borrowed, dates and times as ISO 8601 text, UUIDs hyphenated.
pub fn cell_to_sql(v: Cell<'_>) -> Result<ToSqlOutput<'_>> {
    use ToSqlOutput::{Borrowed, Owned};
    Ok(match v {
        Cell::Null => Owned(SqlValue::Null),
        Cell::Bool(b) => Owned(SqlValue::Integer(i64::from(b))),
        Cell::Int(i) => Owned(SqlValue::Integer(i)),
        Cell::UInt(u) => match i64::try_from(u) {
            Ok(i) => Owned(SqlValue::Integer(i)),
            Err(_) => Owned(SqlValue::Text(u.to_string())),
        },
        Cell::Float(f) if f.is_nan() => {
            return Err(Error::invalid(
                "SQLite cannot store NaN (it would become NULL); send it as text or null",
            ))
        }
        Cell::Float(f) => Owned(SqlValue::Real(f)),
        Cell::Decimal(t) | Cell::Text(t) | Cell::Json(t) => Borrowed(ValueRef::Text(t.as_bytes())),
        Cell::Bytes(b) | Cell::Document(b) => Borrowed(ValueRef::Blob(b)),
        Cell::Date(d) => Owned(SqlValue::Text(format_date_value(d))),
        Cell::Time(t) => {
            if !(0..=MICROS_PER_DAY).contains(&t) {
                return Err(Error::invalid(format!("time out of range: {t} µs since midnight")));
            }
            Owned(SqlValue::Text(format_time(t)))
        }
        Cell::Timestamp(ts) => Owned(SqlValue::Text(format_timestamp_value(ts, false))),
        Cell::Timestamptz(ts) => Owned(SqlValue::Text(format_timestamp_value(ts, true))),
        Cell::Interval(_) => {
            return Err(client_error(
                ErrorKind::Unsupported,
                "SQLite has no interval type: send the interval as text or a number",
            ))
        }
        Cell::Uuid(b) => Owned(SqlValue::Text(uuid_text(&b))),
    })
}

/// An owned copy of a borrowed SQLite value.
pub fn owned(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => SqlValue::Text(s.to_string()),
            Err(_) => SqlValue::Blob(t.to_vec()),
        },
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    }
}

/// Converts a parameter to what SQLite stores (see [`cell_to_sql`]).
pub fn to_sql(v: Value) -> Result<SqlValue> {
    Ok(match cell_to_sql(Cell::from(&v))? {
        ToSqlOutput::Borrowed(r) => owned(r),
        ToSqlOutput::Owned(v) => v,
        #[allow(unreachable_patterns)] // other variants exist with rusqlite features we do not enable
        _ => return Err(Error::invalid("internal: unexpected SQLite binding")),
    })
}

/// Converts a whole parameter list.
pub fn params_to_sql(params: Vec<Value>) -> Result<Vec<SqlValue>> {
    params.into_iter().map(to_sql).collect()
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Strict `YYYY-MM-DD` (or `±infinity`) to days since the epoch.
pub fn parse_date(s: &str) -> Option<i32> {
    let s = s.trim();
    match s {
        "infinity" | "+infinity" => return Some(i32::MAX),
        "-infinity" => return Some(i32::MIN),
        _ => {}
    }
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(s.get(0..4)?)?;
    let m = digits(s.get(5..7)?)?;
    let d = digits(s.get(8..10)?)?;
    let days = days_from_civil(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?)?;
    i32::try_from(days).ok()
}

/// Strict `HH:MM[:SS[.f{1,6}]]` to microseconds since midnight (`24:00:00` allowed).
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 5 || b[2] != b':' {
        return None;
    }
    let h = digits(s.get(0..2)?)?;
    let mi = digits(s.get(3..5)?)?;
    let (sec, frac) = match s.get(5..)? {
        "" => (0, 0),
        rest => {
            let rest = rest.strip_prefix(':')?;
            let (whole, frac) = match rest.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (rest, None),
            };
            if whole.len() != 2 {
                return None;
            }
            let sec = digits(whole)?;
            let frac = match frac {
                None => 0,
                Some(f) if (1..=6).contains(&f.len()) => digits(&format!("{f:0<6}"))?,
                Some(_) => return None,
            };
            (sec, frac)
        }
    };
    if h > 24 || mi > 59 || sec > 59 || (h == 24 && (mi, sec, frac) != (0, 0, 0)) {
        return None;
    }
    Some(((h * 60 + mi) * 60 + sec) * 1_000_000 + frac)
}

/// Strict ISO timestamp: `YYYY-MM-DD`, optionally `T` or space and a
/// time, optionally `Z` or `±HH[:MM]`/`±HHMM` (then converted to UTC).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    match s {
        "infinity" | "+infinity" => return Some(i64::MAX),
        "-infinity" => return Some(i64::MIN),
        _ => {}
    }
    let days = i64::from(parse_date(s.get(..10)?)?);
    let rest = s.get(10..)?;
    if rest.is_empty() {
        return Some(days * MICROS_PER_DAY);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (time, offset) = split_zone(rest)?;
    Some(days * MICROS_PER_DAY + parse_time(time)? - offset)
}

/// Splits a trailing `Z` or `±HH[:MM]` zone off a time; the offset in µs.
fn split_zone(s: &str) -> Option<(&str, i64)> {
    if let Some(t) = s.strip_suffix(['Z', 'z']) {
        return Some((t, 0));
    }
    let Some(i) = s.rfind(['+', '-']) else {
        return Some((s, 0));
    };
    let (time, zone) = (s.get(..i)?, s.get(i + 1..)?);
    let sign = if s.as_bytes()[i] == b'-' { -1 } else { 1 };
    let (h, m) = match zone.len() {
        2 => (digits(zone)?, 0),
        4 => (digits(zone.get(..2)?)?, digits(zone.get(2..)?)?),
        5 if zone.as_bytes()[2] == b':' => (digits(zone.get(..2)?)?, digits(zone.get(3..)?)?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some((time.trim_end(), sign * (h * 3600 + m * 60) * 1_000_000))
}

/// Whether text is an exact decimal number (or `NaN`/`±Infinity`).
pub fn is_decimal(s: &str) -> bool {
    let s = s.trim();
    if matches!(s, "NaN" | "Infinity" | "+Infinity" | "-Infinity") {
        return true;
    }
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = (!int.is_empty() || !frac.is_empty()) && all_digits(int) && all_digits(frac);
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && all_digits(e)
        }
    };
    mantissa_ok && exp_ok
}

/// Hyphenated `8-4-4-4-12` hex text to the (high, low) pair.
pub fn parse_uuid(s: &str) -> Option<(u64, u64)> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: String = s.chars().filter(|&c| c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let v = u128::from_str_radix(&hex, 16).ok()?;
    Some(((v >> 64) as u64, v as u64))
}

/// The 16 bytes of a hyphenated UUID text.
pub fn parse_uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let (hi, lo) = parse_uuid(s)?;
    let mut b = [0; 16];
    b[..8].copy_from_slice(&hi.to_be_bytes());
    b[8..].copy_from_slice(&lo.to_be_bytes());
    Some(b)
}

/// The hyphenated lower-case text of a uuid.
pub fn format_uuid(hi: u64, lo: u64) -> String {
    let mut b = [0; 16];
    b[..8].copy_from_slice(&hi.to_be_bytes());
    b[8..].copy_from_slice(&lo.to_be_bytes());
    uuid_text(&b)
}

/// Whether text is one well-formed JSON value (RFC 8259). Iterative, so
/// deep nesting cannot exhaust the stack.
pub fn is_json(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    // Open containers: true for an object, false for an array.
    let mut stack: Vec<bool> = Vec::new();
    let ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
            *i += 1;
        }
    };
    'value: loop {
        ws(&mut i);
        // Parse one value; containers push and restart here.
        match b.get(i) {
            Some(b'{') => {
                i += 1;
                ws(&mut i);
                if b.get(i) == Some(&b'}') {
                    i += 1;
                } else {
                    stack.push(true);
                    if !json_key(b, &mut i) {
                        return false;
                    }
                    continue 'value;
                }
            }
            Some(b'[') => {
                i += 1;
                ws(&mut i);
                if b.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    stack.push(false);
                    continue 'value;
                }
            }
            Some(b'"') => {
                if !json_string(b, &mut i) {
                    return false;
                }
            }
            Some(b't') if b[i..].starts_with(b"true") => i += 4,
            Some(b'f') if b[i..].starts_with(b"false") => i += 5,
            Some(b'n') if b[i..].starts_with(b"null") => i += 4,
            Some(b'-' | b'0'..=b'9') => {
                if !json_number(b, &mut i) {
                    return false;
                }
            }
            _ => return false,
        }
        // After a value: close containers or move to the next member.
        loop {
            ws(&mut i);
            let Some(&top) = stack.last() else {
                return i == b.len();
            };
            match b.get(i) {
                Some(b',') => {
                    i += 1;
                    if top && !json_key(b, &mut i) {
                        return false;
                    }
                    continue 'value;
                }
                Some(b'}') if top => {
                    i += 1;
                    stack.pop();
                }
                Some(b']') if !top => {
                    i += 1;
                    stack.pop();
                }
                _ => return false,
            }
        }
    }
}

/// `"key" :` inside an object.
fn json_key(b: &[u8], i: &mut usize) -> bool {
    while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
        *i += 1;
    }
    if b.get(*i) != Some(&b'"') || !json_string(b, i) {
        return false;
    }
    while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
        *i += 1;
    }
    if b.get(*i) != Some(&b':') {
        return false;
    }
    *i += 1;
    true
}

fn json_string(b: &[u8], i: &mut usize) -> bool {
    *i += 1;
    while let Some(&c) = b.get(*i) {
        match c {
            b'"' => {
                *i += 1;
                return true;
            }
            b'\\' => match b.get(*i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => *i += 2,
                Some(b'u') => {
                    let hex = b.get(*i + 2..*i + 6);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return false;
                    }
                    *i += 6;
                }
                _ => return false,
            },
            0..=0x1f => return false,
            _ => *i += 1,
        }
    }
    false
}

fn json_number(b: &[u8], i: &mut usize) -> bool {
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(*i) == Some(&b'-') {
        *i += 1;
    }
    match b.get(*i) {
        Some(b'0') => *i += 1,
        Some(b'1'..=b'9') => {
            digits(i);
        }
        _ => return false,
    }
    if b.get(*i) == Some(&b'.') {
        *i += 1;
        if digits(i) == 0 {
            return false;
        }
    }
    if matches!(b.get(*i), Some(b'e' | b'E')) {
        *i += 1;
        if matches!(b.get(*i), Some(b'+' | b'-')) {
            *i += 1;
        }
        if digits(i) == 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: Value, b: Value) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn classifies_declared_types() {
        assert_eq!(Decl::of(Some("boolean")), Decl::Bool);
        assert_eq!(Decl::of(Some("BOOL")), Decl::Bool);
        assert_eq!(Decl::of(Some("DECIMAL(10, 2)")), Decl::Decimal);
        assert_eq!(Decl::of(Some("numeric")), Decl::Decimal);
        assert_eq!(Decl::of(Some("TIMESTAMP WITH TIME ZONE")), Decl::Timestamp);
        assert_eq!(Decl::of(Some("datetime")), Decl::Timestamp);
        assert_eq!(Decl::of(Some("varchar(20)")), Decl::Plain);
        assert_eq!(Decl::of(Some("")), Decl::Plain);
        assert_eq!(Decl::of(None), Decl::Plain);
    }

    #[test]
    fn parses_dates_and_times_strictly() {
        assert_eq!(parse_date("2024-01-01"), Some(19_723));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2024-1-1"), None);
        assert_eq!(parse_date("hello"), None);
        assert_eq!(parse_date("infinity"), Some(i32::MAX));
        assert_eq!(parse_time("12:34:56.5"), Some(45_296_500_000));
        assert_eq!(parse_time("12:34"), Some(45_240_000_000));
        assert_eq!(parse_time("24:00:00"), Some(MICROS_PER_DAY));
        assert_eq!(parse_time("24:00:01"), None);
        assert_eq!(parse_time("12:34:56.1234567"), None);
        assert_eq!(parse_time("1:2:3"), None);
        assert_eq!(parse_timestamp("1970-01-01 00:00:01"), Some(1_000_000));
        assert_eq!(parse_timestamp("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.25Z"), Some(250_000));
        assert_eq!(parse_timestamp("1970-01-01 00:00:00-0130"), Some(5_400_000_000));
        assert_eq!(parse_timestamp("1970-01-02"), Some(MICROS_PER_DAY));
        assert_eq!(parse_timestamp("1970-01-01 10:00+a€"), None);
        assert_eq!(parse_timestamp("1970-01-01X10:00"), None);
    }

    #[test]
    fn odd_text_never_panics() {
        for s in [
            "",
            "€",
            "2024-01-01 €€",
            "12:€",
            "1970-01-01 10:00+é€",
            "9999999999-01-01",
            "-",
            "99:99:99.999999",
        ] {
            let _ = parse_date(s);
            let _ = parse_time(s);
            let _ = parse_timestamp(s);
            let _ = parse_uuid(s);
            let _ = is_decimal(s);
            let _ = is_json(s);
        }
    }

    #[test]
    fn decimals_and_uuids() {
        for ok in [
            "1",
            "-1.50",
            "+.5",
            "1e10",
            "1.5E-3",
            "NaN",
            "-Infinity",
            "123456789012345678901234567890.5",
        ] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".", "1.2.3", "e5", "1e", "abc", "0x10"] {
            assert!(!is_decimal(bad), "{bad}");
        }
        let u = parse_uuid("123e4567-e89b-12d3-a456-426614174000").unwrap();
        assert_eq!(format_uuid(u.0, u.1), "123e4567-e89b-12d3-a456-426614174000");
        assert_eq!(parse_uuid("123e4567e89b12d3a456426614174000"), None);
    }

    #[test]
    fn validates_json() {
        for ok in [
            "1",
            "-0.5e3",
            "\"a\\u00e9\"",
            "[]",
            "{}",
            "[1,[2,{\"a\":[null,true,false]}]]",
            " {\"k\" : \"v\" , \"n\":1} ",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "",
            "[",
            "{\"a\"}",
            "[1,]",
            "{,}",
            "01",
            "1.",
            "tru",
            "[1] 2",
            "\"\\x\"",
            "{\"a\":1,}",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(is_json(&deep));
    }

    /// One stored value read through a column declared `decl`.
    fn to_value(v: ValueRef<'_>, kind: Decl) -> Value {
        let decl = match kind {
            Decl::Plain => "TEXT",
            Decl::Bool => "BOOLEAN",
            Decl::Date => "DATE",
            Decl::Time => "TIME",
            Decl::Timestamp => "TIMESTAMP",
            Decl::Json => "JSON",
            Decl::Decimal => "DECIMAL(10,2)",
            Decl::Uuid => "UUID",
        };
        let column = driverbox_guest_sdk::batch::column("c", logical_type(Some(decl), kind), decl);
        let mut col = ColumnBuilder::new(column.logical_type);
        push(v, kind, &mut col).unwrap();
        let batch = driverbox_guest_sdk::types::Batch {
            rows: 1,
            columns: vec![col.finish()],
        };
        let columns = [column];
        let r = driverbox_guest_sdk::batch::BatchReader::new(&columns, &batch).unwrap();
        r.cell(0, 0).to_value()
    }

    #[test]
    fn refines_by_declared_type() {
        same(to_value(ValueRef::Integer(1), Decl::Bool), Value::Boolean(true));
        same(to_value(ValueRef::Integer(2), Decl::Bool), Value::Int(2));
        same(to_value(ValueRef::Text(b"2024-01-01"), Decl::Date), Value::Date(19_723));
        same(
            to_value(ValueRef::Text(b"not a date"), Decl::Date),
            Value::Text("not a date".into()),
        );
        same(
            to_value(ValueRef::Text(b"{\"a\":1}"), Decl::Json),
            Value::Json("{\"a\":1}".into()),
        );
        same(
            to_value(ValueRef::Text(b"{oops"), Decl::Json),
            Value::Text("{oops".into()),
        );
        // NUMERIC affinity keeps integers, reals and text: such a column
        // is dynamic, and text stays text.
        same(
            to_value(ValueRef::Text(b"1.50"), Decl::Decimal),
            Value::Text("1.50".into()),
        );
        same(to_value(ValueRef::Real(1.5), Decl::Decimal), Value::Float(1.5));
        same(
            to_value(ValueRef::Blob(&[1; 16]), Decl::Uuid),
            Value::Uuid((0x0101_0101_0101_0101, 0x0101_0101_0101_0101)),
        );
        same(to_value(ValueRef::Blob(&[1; 3]), Decl::Uuid), Value::Bytes(vec![1; 3]));
        same(
            to_value(ValueRef::Text(&[0xff, 0xfe]), Decl::Plain),
            Value::Bytes(vec![0xff, 0xfe]),
        );
    }

    #[test]
    fn parameters_to_storage() {
        assert_eq!(to_sql(Value::Boolean(true)).unwrap(), SqlValue::Integer(1));
        assert_eq!(
            to_sql(Value::Date(19_723)).unwrap(),
            SqlValue::Text("2024-01-01".into())
        );
        assert_eq!(
            to_sql(Value::Time(45_296_500_000)).unwrap(),
            SqlValue::Text("12:34:56.5".into())
        );
        assert_eq!(
            to_sql(Value::Timestamp(1_500_000)).unwrap(),
            SqlValue::Text("1970-01-01 00:00:01.5".into())
        );
        assert_eq!(
            to_sql(Value::Timestamptz(0)).unwrap(),
            SqlValue::Text("1970-01-01T00:00:00Z".into())
        );
        assert_eq!(
            to_sql(Value::Timestamp(i64::MAX)).unwrap(),
            SqlValue::Text("infinity".into())
        );
        assert_eq!(
            to_sql(Value::Uuid((1, 2))).unwrap(),
            SqlValue::Text("00000000-0000-0001-0000-000000000002".into())
        );
        assert_eq!(
            to_sql(Value::Float(f64::NAN)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let interval = driverbox_guest_sdk::types::Interval {
            months: 1,
            days: 0,
            microseconds: 0,
        };
        assert_eq!(
            to_sql(Value::Interval(interval)).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(to_sql(Value::Time(-1)).unwrap_err().kind(), ErrorKind::InvalidInput);
    }
}
