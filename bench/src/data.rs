//! The benchmark's tables and the rows of mixed types they hold.
//!
//! `bench_kv` (W1, W2, W6): id int4 primary key, a int8, b text.
//! `bench_scan` (W3) and `bench_bulk` (W4): int4, int8, numeric, text,
//! timestamptz, bool, uuid, jsonb, bytea, with NULLs in every nullable
//! column at different strides.

use chrono::{DateTime, TimeZone, Utc};
use driverbox::Value;
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use uuid::Uuid;

pub const MIXED_COLUMNS: &[&str] = &["id", "big", "amount", "label", "ts", "flag", "uid", "doc", "blob"];

pub const MIXED_DDL: &str = "(id int4 not null, big int8 not null, amount numeric(12,2), label text, \
     ts timestamptz not null, flag bool, uid uuid not null, doc jsonb, blob bytea)";

/// Fills `table` server-side with `n` rows of mixed types.
pub fn scan_fill_sql(table: &str, n: u64) -> String {
    format!(
        "insert into {table} select g, g::int8 * 1000003, \
           case when g % 17 = 0 then null else ((g % 100000) / 100.0)::numeric(12,2) end, \
           case when g % 13 = 0 then null else 'label-' || g || '-abcdefghijklmnopqrstuvwxyz' end, \
           timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', \
           case when g % 11 = 0 then null else g % 3 = 0 end, \
           md5(g::text)::uuid, \
           case when g % 7 = 0 then null else jsonb_build_object('i', g, 'tag', 'x', 'ok', g % 2 = 0) end, \
           case when g % 5 = 0 then null else decode(md5(g::text), 'hex') end \
         from generate_series(1, {n}) g"
    )
}

/// One row of mixed types, as native drivers hold it.
#[derive(Debug, Clone)]
pub struct MixedRow {
    pub id: i32,
    pub big: i64,
    pub amount: Option<Decimal>,
    pub label: Option<String>,
    pub ts: DateTime<Utc>,
    pub flag: Option<bool>,
    pub uid: Uuid,
    pub doc: Option<Box<RawValue>>,
    pub blob: Option<Vec<u8>>,
}

impl MixedRow {
    /// Touches every field so decoding is not optimised away.
    pub fn checksum(&self) -> u64 {
        std::hint::black_box(
            self.id as u64
                + self.big as u64
                + self.amount.map_or(0, |d| d.scale() as u64)
                + self.label.as_ref().map_or(0, |s| s.len() as u64)
                + self.ts.timestamp() as u64
                + self.flag.map_or(2, u64::from)
                + self.uid.as_u64_pair().0
                + self.doc.as_ref().map_or(0, |d| d.get().len() as u64)
                + self.blob.as_ref().map_or(0, |b| b.len() as u64),
        )
    }
}

fn pseudo_bytes(i: u64) -> [u8; 16] {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF;
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    out
}

/// Row `i` (1-based) for the bulk insert.
pub fn mixed_row(i: u64) -> MixedRow {
    let base = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    MixedRow {
        id: i as i32,
        big: i as i64 * 1_000_003,
        amount: (!i.is_multiple_of(17)).then(|| Decimal::new((i % 100_000) as i64, 2)),
        label: (!i.is_multiple_of(13)).then(|| format!("label-{i}-abcdefghijklmnopqrstuvwxyz")),
        ts: base + chrono::Duration::seconds(i as i64),
        flag: (!i.is_multiple_of(11)).then_some(i.is_multiple_of(3)),
        uid: Uuid::from_bytes(pseudo_bytes(i)),
        doc: (!i.is_multiple_of(7)).then(|| {
            RawValue::from_string(format!(
                "{{\"i\": {i}, \"ok\": {}, \"tag\": \"x\"}}",
                i.is_multiple_of(2)
            ))
            .unwrap()
        }),
        blob: (!i.is_multiple_of(5)).then(|| pseudo_bytes(i + 7).to_vec()),
    }
}

/// The same row as driverbox values.
pub fn to_values(r: &MixedRow) -> Vec<Value> {
    fn opt<T>(v: &Option<T>, f: impl Fn(&T) -> Value) -> Value {
        v.as_ref().map(f).unwrap_or(Value::Null)
    }
    let u = r.uid.as_u128();
    vec![
        Value::Int(r.id.into()),
        Value::Int(r.big),
        opt(&r.amount, |d| Value::Decimal(d.to_string())),
        opt(&r.label, |s| Value::Text(s.clone())),
        Value::Timestamptz(r.ts.timestamp_micros()),
        opt(&r.flag, |b| Value::Boolean(*b)),
        Value::Uuid(((u >> 64) as u64, u as u64)),
        opt(&r.doc, |d| Value::Json(d.get().to_string())),
        opt(&r.blob, |b| Value::Bytes(b.clone())),
    ]
}

/// Appends `r` as one line of COPY text format.
pub fn copy_text_row(out: &mut Vec<u8>, r: &MixedRow) {
    use std::io::Write;
    fn text(out: &mut Vec<u8>, s: &str) {
        for b in s.bytes() {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
    }
    const NULL: &[u8] = b"\\N";
    let _ = write!(out, "{}\t{}\t", r.id, r.big);
    match &r.amount {
        Some(d) => {
            let _ = write!(out, "{d}");
        }
        None => out.extend_from_slice(NULL),
    }
    out.push(b'\t');
    match &r.label {
        Some(s) => text(out, s),
        None => out.extend_from_slice(NULL),
    }
    let _ = write!(out, "\t{}\t", r.ts.format("%Y-%m-%d %H:%M:%S%.6f+00"));
    match r.flag {
        Some(true) => out.push(b't'),
        Some(false) => out.push(b'f'),
        None => out.extend_from_slice(NULL),
    }
    let _ = write!(out, "\t{}\t", r.uid.hyphenated());
    match &r.doc {
        Some(d) => text(out, d.get()),
        None => out.extend_from_slice(NULL),
    }
    out.push(b'\t');
    match &r.blob {
        Some(b) => {
            out.extend_from_slice(b"\\\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
        None => out.extend_from_slice(NULL),
    }
    out.push(b'\n');
}

/// Touches every value of a driverbox row so nothing is optimised away;
/// gives a small checksum.
pub fn touch_values(row: &[Value]) -> u64 {
    let mut h = 0u64;
    for v in row {
        h = h.wrapping_add(match v {
            Value::Null => 1,
            Value::Boolean(b) => *b as u64,
            Value::Int(i) => *i as u64,
            Value::Float(f) => f.to_bits(),
            Value::Decimal(s) | Value::Text(s) | Value::Json(s) => s.len() as u64,
            Value::Bytes(b) | Value::Document(b) => b.len() as u64,
            Value::Date(d) => *d as u64,
            Value::Time(t) | Value::Timestamp(t) | Value::Timestamptz(t) => *t as u64,
            Value::Interval(i) => i.microseconds as u64,
            Value::Uuid((a, b)) => a ^ b,
        });
    }
    std::hint::black_box(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_nulls_and_copy_text_escapes() {
        let r = mixed_row(7 * 13 * 5);
        assert!(r.doc.is_none() && r.label.is_none() && r.blob.is_none());
        let mut line = Vec::new();
        copy_text_row(&mut line, &mixed_row(1));
        let line = String::from_utf8(line).unwrap();
        assert_eq!(line.matches('\t').count(), 8, "{line}");
        assert!(line.contains("\\\\x") && line.ends_with('\n'));
        assert_eq!(to_values(&mixed_row(1)).len(), MIXED_COLUMNS.len());
    }
}
