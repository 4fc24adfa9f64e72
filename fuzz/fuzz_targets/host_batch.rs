//! The host's reading of the batches a driver sends (`driverbox_core`:
//! `batch::to_rows`, the rows of `query`, and `arrow::record_batch`, the
//! record batches of `query_arrow` and `stream_arrow`), and its building
//! of batches from rows (`batch::from_rows`, bulk input).
//!
//! The batch is built from the fuzzer's bytes: a row count, then per
//! column a logical type, a buffer kind, a validity bitmap and buffer
//! contents, of the right lengths unless a flag byte says otherwise.
//! Checked: no panic; when the Arrow form is made, the rows are too, with
//! the same count, and every cell of the record batch (read back here,
//! independently of the host) equals the row's value; rows read from a
//! batch give the same rows again through `from_rows` and `to_rows`.
#![no_main]

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use driverbox_core::batch::{from_rows, to_rows};
use driverbox_core::contract::{Batch, ColumnData, ColumnValues, DynamicValues, Intervals, Varlen};
use driverbox_core::value::{Column, Interval, LogicalType, Value};
use libfuzzer_sys::fuzz_target;

const LOGICAL: &[LogicalType] = &[
    LogicalType::Null,
    LogicalType::Boolean,
    LogicalType::Int8,
    LogicalType::Int16,
    LogicalType::Int32,
    LogicalType::Int64,
    LogicalType::Uint8,
    LogicalType::Uint16,
    LogicalType::Uint32,
    LogicalType::Uint64,
    LogicalType::Float32,
    LogicalType::Float64,
    LogicalType::Decimal,
    LogicalType::Text,
    LogicalType::Bytes,
    LogicalType::Date,
    LogicalType::Time,
    LogicalType::Timestamp,
    LogicalType::Timestamptz,
    LogicalType::Interval,
    LogicalType::Uuid,
    LogicalType::Json,
    LogicalType::Document,
    LogicalType::Dynamic,
];

/// The fuzzer's bytes, read front to back; zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }
    /// `n` items, or (when the flag byte says so) up to 63 of them.
    fn list<T>(&mut self, n: usize, exact: bool, mut item: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let n = if exact { n } else { usize::from(self.u8() % 64) };
        (0..n).map(|_| item(self)).collect()
    }
    /// `n` values back to back: short rising offsets (text mostly ASCII),
    /// or anything when not `exact`.
    fn varlen(&mut self, n: usize, exact: bool) -> Varlen {
        let mut at = 0u32;
        let mut offsets = vec![0];
        let count = if exact { n } else { usize::from(self.u8() % 64) };
        for _ in 0..count {
            let step = self.u8();
            at = if !exact && step == 0xFF {
                self.u32()
            } else {
                at.wrapping_add(u32::from(step % 6))
            };
            offsets.push(at);
        }
        if !exact && self.u8() & 1 == 1 {
            offsets.remove(0);
        }
        let len = if exact { at as usize } else { usize::from(self.u8()) };
        let data = (0..len)
            .map(|_| match self.u8() {
                b @ 0x20..=0x7E => b,
                0 => 0xC3,
                1 => 0xA9,
                b => b,
            })
            .collect();
        Varlen { offsets, data }
    }
}

fn column(b: &mut Bytes, rows: usize) -> (Column, ColumnValues) {
    let logical = LOGICAL[usize::from(b.u8()) % LOGICAL.len()];
    let flags = b.u8();
    let exact = flags & 0x80 == 0;
    let kind = b.u8() % 17;
    // 16: the buffer the logical type travels in.
    let kind = if kind == 16 { natural(logical) } else { kind };
    let data = match kind {
        0 => ColumnData::Null,
        1 => ColumnData::Boolean(b.list(rows, exact, |b| b.u8() & 1 == 1)),
        2 => ColumnData::Int8(b.list(rows, exact, |b| b.u8() as i8)),
        3 => ColumnData::Int16(b.list(rows, exact, |b| b.u32() as i16)),
        4 => ColumnData::Int32(b.list(rows, exact, |b| b.u32() as i32)),
        5 => ColumnData::Int64(b.list(rows, exact, |b| b.u64() as i64)),
        6 => ColumnData::Uint8(b.list(rows, exact, |b| b.u8())),
        7 => ColumnData::Uint16(b.list(rows, exact, |b| b.u32() as u16)),
        8 => ColumnData::Uint32(b.list(rows, exact, |b| b.u32())),
        9 => ColumnData::Uint64(b.list(rows, exact, |b| b.u64())),
        10 => ColumnData::Float32(b.list(rows, exact, |b| f32::from_bits(b.u32()))),
        11 => ColumnData::Float64(b.list(rows, exact, |b| f64::from_bits(b.u64()))),
        12 => ColumnData::Varlen(b.varlen(rows, exact)),
        13 => ColumnData::Interval(Intervals {
            months: b.list(rows, exact, |b| b.u32() as i32),
            days: b.list(rows, exact, |b| b.u32() as i32),
            microseconds: b.list(rows, exact, |b| {
                // Mostly within Arrow's nanoseconds.
                let x = b.u64() as i64;
                if b.u8() == 0xFF {
                    x
                } else {
                    x >> 12
                }
            }),
        }),
        14 => ColumnData::Uuid(b.list(rows * 16, exact, |b| b.u8())),
        _ => {
            let tags = b.list(rows, exact, |b| b.u8() % if exact { 5 } else { 7 });
            let count = |t: u8| tags.iter().filter(|x| **x == t).count();
            let (ints, floats, texts, blobs) = (count(1), count(2), count(3), count(4));
            ColumnData::Dynamic(DynamicValues {
                integers: b.list(ints, exact, |b| b.u64() as i64),
                floats: b.list(floats, exact, |b| f64::from_bits(b.u64())),
                texts: b.varlen(texts, exact),
                blobs: b.varlen(blobs, exact),
                tags,
            })
        }
    };
    let validity = match flags & 3 {
        0 => None,
        // Bits tied to the dynamic tags, as drivers send them.
        1 => match &data {
            ColumnData::Dynamic(d) => Some(bitmap(rows, |i| d.tags.get(i).is_some_and(|t| *t != 0))),
            _ => Some(bitmap(rows, |_| b.u8() & 1 == 1)),
        },
        2 => Some(bitmap(rows, |_| b.u8() & 1 == 1)),
        _ => Some(b.list(0, false, |b| b.u8())),
    };
    let nullable = match flags >> 2 & 3 {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    let c = Column {
        nullable,
        ..Column::new(format!("c{}", b.u8() % 4), logical, "t")
    };
    (c, ColumnValues { data, validity })
}

fn bitmap(rows: usize, mut valid: impl FnMut(usize) -> bool) -> Vec<u8> {
    let mut bits = vec![0u8; rows.div_ceil(8)];
    for i in 0..rows {
        if valid(i) {
            bits[i / 8] |= 1 << (i % 8);
        }
    }
    bits
}

/// The buffer kind a logical type travels in.
fn natural(t: LogicalType) -> u8 {
    use LogicalType as L;
    match t {
        L::Null => 0,
        L::Boolean => 1,
        L::Int8 => 2,
        L::Int16 => 3,
        L::Int32 | L::Date => 4,
        L::Int64 | L::Time | L::Timestamp | L::Timestamptz => 5,
        L::Uint8 => 6,
        L::Uint16 => 7,
        L::Uint32 => 8,
        L::Uint64 => 9,
        L::Float32 => 10,
        L::Float64 => 11,
        L::Decimal | L::Text | L::Bytes | L::Json | L::Document => 12,
        L::Interval => 13,
        L::Uuid => 14,
        L::Dynamic => 15,
    }
}

/// Cell `i` of an Arrow array as the value it stands for, read here from
/// the Arrow types and field metadata the host documents (`arrow.rs`).
fn cell(a: &dyn Array, logical: &str, i: usize) -> Value {
    if a.data_type() != &DataType::Null && !matches!(a.data_type(), DataType::Union(..)) && a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Boolean(a.as_boolean().value(i)),
        DataType::Int8 => Value::Int(a.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => Value::Int(a.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => Value::Int(a.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => Value::Int(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Value::Int(a.as_primitive::<UInt8Type>().value(i).into()),
        DataType::UInt16 => Value::Int(a.as_primitive::<UInt16Type>().value(i).into()),
        DataType::UInt32 => Value::Int(a.as_primitive::<UInt32Type>().value(i).into()),
        DataType::UInt64 => {
            let x = a.as_primitive::<UInt64Type>().value(i);
            i64::try_from(x).map_or_else(|_| Value::Decimal(x.to_string()), Value::Int)
        }
        DataType::Float32 => Value::Float(a.as_primitive::<Float32Type>().value(i).into()),
        DataType::Float64 => Value::Float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 | DataType::LargeUtf8 => {
            let s = if a.data_type() == &DataType::Utf8 {
                a.as_string::<i32>().value(i)
            } else {
                a.as_string::<i64>().value(i)
            };
            match logical {
                "json" => Value::Json(s.into()),
                "decimal" => Value::Decimal(s.into()),
                _ => Value::Text(s.into()),
            }
        }
        DataType::Binary | DataType::LargeBinary => {
            let b = if a.data_type() == &DataType::Binary {
                a.as_binary::<i32>().value(i)
            } else {
                a.as_binary::<i64>().value(i)
            };
            match logical {
                "document" => Value::Document(b.to_vec()),
                _ => Value::Bytes(b.to_vec()),
            }
        }
        DataType::Date32 => Value::Date(a.as_primitive::<Date32Type>().value(i)),
        DataType::Time64(_) => Value::Time(a.as_primitive::<Time64MicrosecondType>().value(i)),
        DataType::Timestamp(_, None) => Value::Timestamp(a.as_primitive::<TimestampMicrosecondType>().value(i)),
        DataType::Timestamp(_, Some(_)) => Value::Timestamptz(a.as_primitive::<TimestampMicrosecondType>().value(i)),
        DataType::Interval(_) => {
            let x = a.as_primitive::<IntervalMonthDayNanoType>().value(i);
            assert_eq!(x.nanoseconds % 1000, 0, "an interval of whole microseconds");
            Value::Interval(Interval {
                months: x.months,
                days: x.days,
                microseconds: x.nanoseconds / 1000,
            })
        }
        DataType::FixedSizeBinary(16) => {
            let b: [u8; 16] = a.as_fixed_size_binary().value(i).try_into().expect("16 bytes");
            let x = u128::from_be_bytes(b);
            Value::Uuid(((x >> 64) as u64, x as u64))
        }
        DataType::Union(..) => {
            let u = a.as_union();
            let child = u.child(u.type_id(i));
            let at = u.value_offset(i);
            let kind = match u.type_id(i) {
                3 => "text",
                _ => "",
            };
            cell(child.as_ref(), kind, at)
        }
        other => panic!("the host made an Arrow array of type {other}"),
    }
}

/// Equality with floats compared by their bits (NaN is itself).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

fn check_record_batch(rb: &RecordBatch, rows: &[Vec<Value>]) {
    assert_eq!(rb.num_rows(), rows.len(), "row count");
    let schema = rb.schema();
    for (j, a) in rb.columns().iter().enumerate() {
        let f = schema.field(j);
        let logical = f.metadata().get("driverbox.logical_type").map_or("", String::as_str);
        assert_eq!(a.len(), rows.len(), "column {j} length");
        for (i, row) in rows.iter().enumerate() {
            let got = cell(a.as_ref(), logical, i);
            assert!(
                same(&got, &row[j]),
                "row {i} column {j}: Arrow {got:?}, rows {:?}",
                row[j]
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let rows = usize::from(b.u8() % 20);
    let declared = if b.u8() == 0xFF { b.u32() } else { rows as u32 };
    let n = usize::from(b.u8() % 5);
    let (columns, values): (Vec<Column>, Vec<ColumnValues>) = (0..n).map(|_| column(&mut b, rows)).unzip();
    let batch = Batch {
        rows: declared,
        columns: values,
    };

    let read = to_rows(&columns, &batch);
    let arrow = driverbox_core::arrow::record_batch(&columns, batch.clone());
    match (&read, &arrow) {
        (Ok(rows), Ok(rb)) => check_record_batch(rb, rows),
        (Err(_), Ok(_)) => panic!("a batch refused as rows became a record batch"),
        (Ok(_), Err(_)) | (Err(_), Err(_)) => {}
    }
    if let Ok(rows) = &read {
        assert_eq!(rows.len(), batch.rows as usize);
        assert!(rows.iter().all(|r| r.len() == columns.len()));
        // Bulk input (column types from the values, as `bulk_insert`
        // gives them): the same rows, as a batch and back.
        let untyped: Vec<Column> = columns
            .iter()
            .map(|c| Column::new(&c.name, LogicalType::Null, ""))
            .collect();
        if let Ok((cols, again)) = from_rows(&untyped, rows) {
            let back = to_rows(&cols, &again).expect("a batch the host built reads back");
            assert_eq!(back.len(), rows.len());
            for (x, y) in back.iter().zip(rows) {
                assert!(x.iter().zip(y).all(|(p, q)| same(p, q)), "{x:?} != {y:?}");
            }
            if let Ok(rb) = driverbox_core::arrow::record_batch(&cols, again) {
                check_record_batch(&rb, rows);
            }
        }
    }
});
