//! Typed values, result columns and results: the host's own types, the
//! same for every contract version.
//!
//! Dates and times keep the contract's encoding (days / microseconds since
//! the Unix epoch, MIN/MAX for ∓infinity) so nothing is lost; formatting
//! follows ISO 8601 as PostgreSQL prints it.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

mod array;
use serde::Serialize;

/// A time span as SQL keeps it: months and days are not fixed lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub microseconds: i64,
}

/// One typed value.
///
/// Dates and times count from the Unix epoch; the `i32`/`i64` minimum and
/// maximum stand for `-infinity` and `infinity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Value {
    Null,
    Boolean(bool),
    /// Every integer width; unsigned values above `i64::MAX` arrive as `Decimal`.
    Int(i64),
    /// Every float width (a 32-bit float widened exactly).
    Float(f64),
    /// Exact decimal in text form, every digit kept (`NaN` allowed).
    Decimal(String),
    Text(String),
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since 1970-01-01T00:00:00, no time zone.
    Timestamp(i64),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamptz(i64),
    Interval(Interval),
    /// The 16 bytes of a UUID, big-endian: (high, low).
    Uuid((u64, u64)),
    /// JSON text.
    Json(String),
    /// One BSON document.
    Document(Vec<u8>),
}

/// What a result column holds (the contract's `logical-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogicalType {
    Null,
    Boolean,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Float32,
    Float64,
    /// Exact decimal text.
    Decimal,
    Text,
    Bytes,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Json,
    /// One BSON document per value.
    Document,
    /// Each value has a type of its own (SQLite).
    Dynamic,
}

impl LogicalType {
    /// The contract's name of the type (`int32`, `timestamptz` …).
    pub fn name(self) -> &'static str {
        match self {
            LogicalType::Null => "null",
            LogicalType::Boolean => "boolean",
            LogicalType::Int8 => "int8",
            LogicalType::Int16 => "int16",
            LogicalType::Int32 => "int32",
            LogicalType::Int64 => "int64",
            LogicalType::Uint8 => "uint8",
            LogicalType::Uint16 => "uint16",
            LogicalType::Uint32 => "uint32",
            LogicalType::Uint64 => "uint64",
            LogicalType::Float32 => "float32",
            LogicalType::Float64 => "float64",
            LogicalType::Decimal => "decimal",
            LogicalType::Text => "text",
            LogicalType::Bytes => "bytes",
            LogicalType::Date => "date",
            LogicalType::Time => "time",
            LogicalType::Timestamp => "timestamp",
            LogicalType::Timestamptz => "timestamptz",
            LogicalType::Interval => "interval",
            LogicalType::Uuid => "uuid",
            LogicalType::Json => "json",
            LogicalType::Document => "document",
            LogicalType::Dynamic => "dynamic",
        }
    }
}

/// A column of a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    /// The database's own type name (`int4`, `numeric`, `varchar`, `_text` …).
    pub type_name: String,
    /// How the values travel and convert (to Arrow, to text).
    pub logical_type: LogicalType,
    /// For decimals: total digits, when the column's type fixes it.
    pub precision: Option<u32>,
    /// For decimals: digits after the point, when the column's type fixes it.
    pub scale: Option<i32>,
    /// Whether the column may hold NULL, when the database says.
    pub nullable: Option<bool>,
}

impl Column {
    /// A column of `logical_type` named `name`, with the database's type name.
    pub fn new(name: impl Into<String>, logical_type: LogicalType, type_name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            type_name: type_name.into(),
            logical_type,
            precision: None,
            scale: None,
            nullable: None,
        }
    }
}

/// The outcome of one statement, as rows of values.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct QueryResult {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// Rows inserted, updated or deleted, when the statement reports it.
    pub rows_affected: Option<u64>,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Value {
    /// Text as `psql` shows this value in `column`; like `to_string`, except
    /// that single-precision columns print single-precision digits and
    /// PostgreSQL arrays (type names `_elem`) print as array literals
    /// (`[0:2]={1,2,3}`).
    pub fn text_in(&self, column: &Column) -> String {
        match (self, column.logical_type) {
            (Value::Float(x), LogicalType::Float32) => format_float32(*x),
            // A PostgreSQL array (type `_int4`, `_text` …), as its JSON.
            (Value::Json(s), LogicalType::Json) if column.type_name.len() > 1 && column.type_name.starts_with('_') => {
                array::postgres_array_text(s, &column.type_name[1..]).unwrap_or_else(|| s.clone())
            }
            _ => self.to_string(),
        }
    }

    /// As JSON in `column`; like `to_json`, except that single-precision
    /// columns give single-precision digits.
    pub fn json_in(&self, column: &Column) -> serde_json::Value {
        match (self, column.logical_type) {
            (Value::Float(x), LogicalType::Float32) if x.is_finite() => format_float32(*x)
                .parse::<serde_json::Number>()
                .map_or_else(|_| self.to_json(), serde_json::Value::Number),
            _ => self.to_json(),
        }
    }

    /// A UUID from its 128-bit integer.
    pub fn uuid(v: u128) -> Value {
        Value::Uuid(((v >> 64) as u64, v as u64))
    }

    /// A date from a calendar date.
    pub fn date(d: NaiveDate) -> Value {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        Value::Date((d - epoch).num_days() as i32)
    }

    /// A timestamp without time zone.
    pub fn timestamp(t: NaiveDateTime) -> Value {
        Value::Timestamp(t.and_utc().timestamp_micros())
    }

    /// A timestamp with time zone.
    pub fn timestamptz<Tz: chrono::TimeZone>(t: DateTime<Tz>) -> Value {
        Value::Timestamptz(t.timestamp_micros())
    }

    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The text of `text`, `decimal` and `json` values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Decimal(s) | Value::Json(s) => Some(s),
            _ => None,
        }
    }

    /// The 128-bit integer of a UUID.
    pub fn as_uuid(&self) -> Option<u128> {
        match self {
            Value::Uuid((hi, lo)) => Some(((*hi as u128) << 64) | *lo as u128),
            _ => None,
        }
    }

    /// Short name of the variant, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Decimal(_) => "decimal",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Timestamp(_) => "timestamp",
            Value::Timestamptz(_) => "timestamptz",
            Value::Interval(_) => "interval",
            Value::Uuid(_) => "uuid",
            Value::Json(_) => "json",
            Value::Document(_) => "document",
        }
    }

    /// As JSON: numbers stay numbers (decimals keep every digit), NaN and
    /// infinities become strings, bytes `"\\x…"` hex, JSON is embedded.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Boolean(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or_else(|| J::String(non_finite_text(*f).into())),
            Value::Decimal(d) => d
                .parse::<serde_json::Number>()
                .map(J::Number)
                .unwrap_or_else(|_| J::String(d.clone())),
            Value::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| J::String(s.clone())),
            other => J::String(other.to_string()),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Boolean(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

fn format_float(f: f64) -> String {
    if f.is_finite() {
        pg_float_text(ryu::Buffer::new().format_finite(f), 15)
    } else {
        non_finite_text(f).into()
    }
}

/// A `real`/`float4` value: the shortest digits that read back as the same
/// `f32`, not those of the widened `f64`.
fn format_float32(f: f64) -> String {
    if f.is_finite() {
        pg_float_text(ryu::Buffer::new().format_finite(f as f32), 6)
    } else {
        non_finite_text(f).into()
    }
}

fn non_finite_text(f: f64) -> &'static str {
    if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Shortest round-trip digits (`ryu`'s output, ties to even as in
/// PostgreSQL's own Ryu) laid out as PostgreSQL's `float4out`/`float8out`
/// do with the default `extra_float_digits = 1`: plain notation when the
/// decimal exponent is in `-4..precision` (6 for `float4`, 15 for
/// `float8`), otherwise `d.ddde±XX` with at least two exponent digits.
fn pg_float_text(shortest: &str, precision: i32) -> String {
    let (sign, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", shortest),
    };
    let (mantissa, exponent) = unsigned.split_once('e').unwrap_or((unsigned, "0"));
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let Some(lead) = all.find(|c| c != '0') else {
        return format!("{sign}0");
    };
    let digits = all[lead..].trim_end_matches('0');
    // The exponent of the first significant digit.
    let exp = exponent.parse::<i32>().unwrap_or(0) + int.len() as i32 - 1 - lead as i32;
    let mut out = String::from(sign);
    if exp < -4 || exp >= precision {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        ));
    } else if exp < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp - 1) as usize));
        out.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            out.push_str(&"0".repeat(int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// The proleptic Gregorian (year, month, day) of a day count from
/// 1970-01-01; year 0 is 1 BC, -1 is 2 BC. Exact for every `i64` day a
/// PostgreSQL date or timestamp can hold.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift to 0000-03-01 so that leap days end a year, then count whole
    // 400-year cycles of 146 097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day count from 1970-01-01 of a proleptic Gregorian date (year 0 is 1 BC).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `YYYY-MM-DD` as PostgreSQL prints it (the year without an upper
/// limit), and whether the date is BC (`0044-03-15` and `true` for 44 BC).
fn civil_text(days: i64) -> (String, bool) {
    let (y, m, d) = civil_from_days(days);
    if y <= 0 {
        (format!("{:04}-{m:02}-{d:02}", 1 - y), true)
    } else {
        (format!("{y:04}-{m:02}-{d:02}"), false)
    }
}

/// `YYYY-MM-DD`, `0044-03-15 BC`, or `infinity`.
pub(crate) fn format_date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        d => match civil_text(d.into()) {
            (text, true) => format!("{text} BC"),
            (text, false) => text,
        },
    }
}

fn format_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let nanos = (micros.rem_euclid(1_000_000) * 1000) as u32;
    if micros == MICROS_PER_DAY {
        return "24:00:00".into();
    }
    NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, nanos)
        .map(|t| format!("{}{}", t.format("%H:%M:%S"), fraction(micros)))
        .unwrap_or_else(|| format!("{micros}µs"))
}

/// `.5`, `.000001`, or nothing: PostgreSQL trims trailing zeros.
fn fraction(micros: i64) -> String {
    match micros.rem_euclid(1_000_000) {
        0 => String::new(),
        us => format!(".{us:06}").trim_end_matches('0').to_string(),
    }
}

fn format_timestamp(micros: i64, tz: bool) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        m => format_timestamp_parts(m.div_euclid(MICROS_PER_DAY), m.rem_euclid(MICROS_PER_DAY), tz),
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][+00][ BC]` of a day since 1970 and the
/// microseconds into it.
fn format_timestamp_parts(days: i64, micros: i64, tz: bool) -> String {
    let (date, bc) = civil_text(days);
    format!(
        "{date} {}{}{}",
        format_time(micros),
        if tz { "+00" } else { "" },
        if bc { " BC" } else { "" }
    )
}

impl fmt::Display for Interval {
    /// PostgreSQL's `postgres` interval style, as its `EncodeInterval`
    /// writes it: `1 year 2 mons 3 days 04:05:06.5`; a part after a
    /// negative one carries its sign (`-1 years +2 mons`, `-1 days +01:00:00`);
    /// every count but exactly 1 is plural.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        // Whether the last part written was negative.
        let mut before_negative = false;
        let parts = [
            (i64::from(self.months / 12), "year"),
            (i64::from(self.months % 12), "mon"),
            (i64::from(self.days), "day"),
        ];
        for (n, unit) in parts {
            if n == 0 {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            let plus = if before_negative && n > 0 { "+" } else { "" };
            out.push_str(&format!("{plus}{n} {unit}{}", if n == 1 { "" } else { "s" }));
            before_negative = n < 0;
        }
        if self.microseconds != 0 || out.is_empty() {
            let us = self.microseconds.unsigned_abs();
            let sign = if self.microseconds < 0 {
                "-"
            } else if before_negative {
                "+"
            } else {
                ""
            };
            let (h, m, s, frac) = (
                us / 3_600_000_000,
                (us / 60_000_000) % 60,
                (us / 1_000_000) % 60,
                us % 1_000_000,
            );
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!("{sign}{h:02}:{m:02}:{s:02}"));
            if frac != 0 {
                out.push_str(format!(".{frac:06}").trim_end_matches('0'));
            }
        }
        f.write_str(&out)
    }
}

impl fmt::Display for Value {
    /// Text as `psql` shows it; NULL is empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Boolean(b) => f.write_str(if *b { "t" } else { "f" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&format_float(*x)),
            Value::Decimal(s) | Value::Text(s) | Value::Json(s) => f.write_str(s),
            Value::Bytes(b) | Value::Document(b) => {
                f.write_str("\\x")?;
                f.write_str(&hex::encode(b))
            }
            Value::Date(d) => f.write_str(&format_date(*d)),
            Value::Time(t) => f.write_str(&format_time(*t)),
            Value::Timestamp(t) => f.write_str(&format_timestamp(*t, false)),
            Value::Timestamptz(t) => f.write_str(&format_timestamp(*t, true)),
            Value::Interval(i) => write!(f, "{i}"),
            Value::Uuid(_) => {
                let h = format!("{:032x}", self.as_uuid().unwrap_or_default());
                write!(
                    f,
                    "{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                )
            }
        }
    }
}

impl QueryResult {
    /// The index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The rows as JSON objects keyed by column name (see [`json_member`]).
    pub fn to_json_rows(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .zip(row)
                    .filter_map(|(c, v)| json_member(v, c).map(|j| (c.name.clone(), j)))
                    .collect()
            })
            .collect()
    }
}

/// A value as a member of a JSON row object: [`Value::json_in`], except
/// that SQL NULL in a `json` column leaves the member out (`None`), so that
/// it stays apart from the JSON value `null` (`'null'::jsonb`).
pub fn json_member(v: &Value, column: &Column) -> Option<serde_json::Value> {
    match (v, column.logical_type) {
        (Value::Null, LogicalType::Json) => None,
        _ => Some(v.json_in(column)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_psql() {
        assert_eq!(Value::Date(19_723).to_string(), "2024-01-01");
        assert_eq!(Value::Date(i32::MAX).to_string(), "infinity");
        assert_eq!(Value::Timestamp(1_500_000).to_string(), "1970-01-01 00:00:01.5");
        assert_eq!(Value::Timestamptz(0).to_string(), "1970-01-01 00:00:00+00");
        assert_eq!(Value::Time(45_296_000_001).to_string(), "12:34:56.000001");
        assert_eq!(Value::Bytes(vec![0, 255]).to_string(), "\\x00ff");
        assert_eq!(Value::Float(f64::NEG_INFINITY).to_string(), "-Infinity");
        assert_eq!(
            Value::uuid(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef).to_string(),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
        let i = Interval {
            months: 14,
            days: 3,
            microseconds: 14_706_500_000,
        };
        assert_eq!(i.to_string(), "1 year 2 mons 3 days 04:05:06.5");
        assert_eq!(
            Interval {
                months: 0,
                days: 0,
                microseconds: 0
            }
            .to_string(),
            "00:00:00"
        );
    }

    #[test]
    fn json_keeps_digits() {
        let d = Value::Decimal("12345678901234567890.000000000000000001".into());
        assert_eq!(d.to_json().to_string(), "12345678901234567890.000000000000000001");
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::json!("NaN"));
        assert_eq!(
            Value::Json("[1,{\"a\":null}]".into()).to_json(),
            serde_json::json!([1, {"a": null}])
        );
    }

    #[test]
    fn single_precision_prints_single_precision_digits() {
        let real = Column::new("r", LogicalType::Float32, "float4");
        let double = Column::new("d", LogicalType::Float64, "float8");
        let v = Value::Float(f64::from(305404.12_f32));
        assert_eq!(v.text_in(&real), "305404.12");
        assert_eq!(v.text_in(&double), "305404.125");
        assert_eq!(v.json_in(&real).to_string(), "305404.12");
        assert_eq!(Value::Float(f64::from(0.1_f32)).text_in(&real), "0.1");
        assert_eq!(Value::Float(f64::INFINITY).text_in(&real), "Infinity");
        assert_eq!(Value::Float(f64::NAN).json_in(&real), serde_json::json!("NaN"));
        // As psql prints them.
        for (x, text) in [
            (1234567.0, "1.234567e+06"),
            (123456.0, "123456"),
            (1e-5, "1e-05"),
            (1e-4, "0.0001"),
        ] {
            assert_eq!(Value::Float(f64::from(x as f32)).text_in(&real), text);
        }
        for (x, text) in [
            (123456789012345.0, "123456789012345"),
            (1e15, "1e+15"),
            (1234567890123456.0, "1.234567890123456e+15"),
            (-0.0, "-0"),
            (1e100, "1e+100"),
            (-2.5e-7, "-2.5e-07"),
            (0.1, "0.1"),
        ] {
            assert_eq!(Value::Float(x).text_in(&double), text);
        }
    }
}
