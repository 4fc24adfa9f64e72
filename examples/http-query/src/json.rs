//! Query results and errors as JSON: `{"columns": [{"name", "type"}],
//! "rows": [[…]], "row_count": n}` and `{"error": {"kind", "code",
//! "message", …}}`. Numbers stay numbers (decimals stay exact text), dates
//! and times are ISO 8601 text, bytes `\x` hex text, JSON columns nested.

use serde_json::{json, Value as J};

use crate::driverbox::driver::types::{Column, ColumnData, ColumnValues, Error, ErrorKind, LogicalType, QueryResult};

/// `{"error": {"kind", "message"}}` for an error of this component.
pub fn error_message(kind: &str, message: &str) -> String {
    json!({"error": {"kind": kind, "message": message}}).to_string()
}

fn kind_name(kind: ErrorKind) -> String {
    // Debug names the case, possibly behind the type's name.
    let debug = format!("{kind:?}");
    let name = debug.rsplit("::").next().unwrap_or(&debug);
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The contract's error as JSON, with everything the server said.
pub fn error(e: &Error) -> String {
    match e {
        Error::Server(s) => json!({"error": {
            "kind": kind_name(s.kind),
            "code": s.code,
            "message": s.message,
            "detail": s.detail,
            "hint": s.hint,
            "position": s.position,
        }}),
        Error::Client(c) => json!({"error": {"kind": kind_name(c.kind), "message": c.message}}),
    }
    .to_string()
}

/// A result as JSON rows.
pub fn result(r: &QueryResult) -> String {
    let n = r.batch.rows as usize;
    let columns: Vec<J> = r
        .columns
        .iter()
        .map(|c| json!({"name": c.name, "type": c.database_type}))
        .collect();
    let mut rows: Vec<Vec<J>> = (0..n).map(|_| Vec::with_capacity(columns.len())).collect();
    for (column, values) in r.columns.iter().zip(&r.batch.columns) {
        let mut reader = Reader::default();
        for (row, out) in rows.iter_mut().enumerate() {
            out.push(reader.cell(column, values, row));
        }
    }
    json!({"columns": columns, "rows": rows, "row_count": n, "rows_affected": r.rows_affected}).to_string()
}

fn valid(values: &ColumnValues, row: usize) -> bool {
    match &values.validity {
        None => true,
        Some(bits) => bits.get(row / 8).is_some_and(|b| (b >> (row % 8)) & 1 == 1),
    }
}

fn float(x: f64) -> J {
    serde_json::Number::from_f64(x).map_or_else(|| J::String(x.to_string()), J::Number)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("\\x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn date(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn time_of_day(micros: i64) -> String {
    let (s, us) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let base = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if us == 0 {
        base
    } else {
        format!("{base}.{us:06}")
    }
}

fn timestamp(micros: i64, utc: bool) -> J {
    if micros == i64::MAX || micros == i64::MIN {
        return J::String(if micros > 0 { "infinity" } else { "-infinity" }.into());
    }
    let day = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    J::String(format!(
        "{}T{}{}",
        date(day),
        time_of_day(rest),
        if utc { "Z" } else { "" }
    ))
}

/// Reads one column value by value; `dynamic` columns keep their position
/// in each storage class's list.
#[derive(Default)]
struct Reader {
    next: [usize; 5],
}

impl Reader {
    fn cell(&mut self, column: &Column, values: &ColumnValues, row: usize) -> J {
        if let ColumnData::Dynamic(d) = &values.data {
            let tag = d.tags.get(row).copied().unwrap_or(0);
            let slot = usize::from(tag.min(4));
            let i = self.next[slot];
            self.next[slot] += 1;
            let text = |v: &crate::driverbox::driver::types::Varlen| -> Option<Vec<u8>> {
                let (a, b) = (*v.offsets.get(i)? as usize, *v.offsets.get(i + 1)? as usize);
                v.data.get(a..b).map(<[u8]>::to_vec)
            };
            return match tag {
                1 => d.integers.get(i).map_or(J::Null, |&x| J::from(x)),
                2 => d.floats.get(i).map_or(J::Null, |&x| float(x)),
                3 => text(&d.texts).map_or(J::Null, |b| J::String(String::from_utf8_lossy(&b).into_owned())),
                4 => text(&d.blobs).map_or(J::Null, |b| J::String(hex(&b))),
                _ => J::Null,
            };
        }
        if !valid(values, row) {
            return J::Null;
        }
        let lt = column.logical_type;
        let at = |v: Option<J>| v.unwrap_or(J::Null);
        match &values.data {
            ColumnData::Null => J::Null,
            ColumnData::Boolean(x) => at(x.get(row).map(|&b| J::from(b))),
            ColumnData::Int8(x) => at(x.get(row).map(|&v| J::from(v))),
            ColumnData::Int16(x) => at(x.get(row).map(|&v| J::from(v))),
            ColumnData::Int32(x) => at(x.get(row).map(|&v| match lt {
                LogicalType::Date if v == i32::MAX => J::from("infinity"),
                LogicalType::Date if v == i32::MIN => J::from("-infinity"),
                LogicalType::Date => J::String(date(v.into())),
                _ => J::from(v),
            })),
            ColumnData::Int64(x) => at(x.get(row).map(|&v| match lt {
                LogicalType::Time => J::String(time_of_day(v)),
                LogicalType::Timestamp => timestamp(v, false),
                LogicalType::Timestamptz => timestamp(v, true),
                _ => J::from(v),
            })),
            ColumnData::Uint8(x) => at(x.get(row).map(|&v| J::from(v))),
            ColumnData::Uint16(x) => at(x.get(row).map(|&v| J::from(v))),
            ColumnData::Uint32(x) => at(x.get(row).map(|&v| J::from(v))),
            ColumnData::Uint64(x) => at(x.get(row).map(|&v| J::from(v))),
            ColumnData::Float32(x) => at(x.get(row).map(|&v| float(v.into()))),
            ColumnData::Float64(x) => at(x.get(row).map(|&v| float(v))),
            ColumnData::Varlen(v) => {
                let (Some(&a), Some(&b)) = (v.offsets.get(row), v.offsets.get(row + 1)) else {
                    return J::Null;
                };
                let Some(bytes) = v.data.get(a as usize..b as usize) else {
                    return J::Null;
                };
                match lt {
                    LogicalType::Bytes | LogicalType::Document => J::String(hex(bytes)),
                    LogicalType::Json => serde_json::from_slice(bytes)
                        .unwrap_or_else(|_| J::String(String::from_utf8_lossy(bytes).into_owned())),
                    _ => J::String(String::from_utf8_lossy(bytes).into_owned()),
                }
            }
            ColumnData::Interval(iv) => match (iv.months.get(row), iv.days.get(row), iv.microseconds.get(row)) {
                (Some(m), Some(d), Some(us)) => json!({"months": m, "days": d, "microseconds": us}),
                _ => J::Null,
            },
            ColumnData::Uuid(bytes) => match bytes.get(row * 16..row * 16 + 16) {
                Some(b) => {
                    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                    J::String(format!(
                        "{}-{}-{}-{}-{}",
                        &h[..8],
                        &h[8..12],
                        &h[12..16],
                        &h[16..20],
                        &h[20..]
                    ))
                }
                None => J::Null,
            },
            ColumnData::Dynamic(_) => J::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(19_782), "2024-02-29");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(
            timestamp(1_709_212_455_500_000, true),
            J::from("2024-02-29T13:14:15.500000Z")
        );
        assert_eq!(time_of_day(3_600_000_000 + 61_000_000), "01:01:01");
    }

    #[test]
    fn kinds_are_kebab_case() {
        assert_eq!(kind_name(ErrorKind::UniqueViolation), "unique-violation");
        assert_eq!(kind_name(ErrorKind::Syntax), "syntax");
    }
}
