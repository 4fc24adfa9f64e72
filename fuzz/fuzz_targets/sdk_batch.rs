//! The guest SDK's reader of batches that come from the host (bulk
//! input of `extension` calls): `BatchReader::new` checks a batch against
//! its column descriptions, then every cell is read back as a value. The
//! batch is built from the fuzzer's bytes: per column a logical type, a
//! buffer kind, a validity bitmap and buffer contents of any length.
#![no_main]

use driverbox_guest_sdk::batch::{column, BatchReader};
use driverbox_guest_sdk::types::{Batch, ColumnData, ColumnValues, DynamicValues, Intervals, LogicalType, Varlen};
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
    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head.to_vec()
    }
    /// A list of up to 63 items.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let n = usize::from(self.u8() % 64);
        (0..n).map(|_| item(self)).collect()
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }
    /// Offsets: mostly small and rising, sometimes anything.
    fn varlen(&mut self) -> Varlen {
        let mut at = 0u32;
        let offsets = self.list(|b| {
            let step = b.u8();
            if step == 0xFF {
                b.u32()
            } else {
                at = at.wrapping_add(u32::from(step % 8));
                at
            }
        });
        let len = usize::from(self.u8());
        Varlen {
            offsets,
            data: self.take(len),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let rows = u32::from(b.u8() % 64);
    let ncols = usize::from(b.u8() % 5);
    let mut columns = Vec::with_capacity(ncols);
    let mut values = Vec::with_capacity(ncols);
    for i in 0..ncols {
        let logical = LOGICAL[usize::from(b.u8()) % LOGICAL.len()];
        columns.push(column(format!("c{i}"), logical, "t"));
        let kind = b.u8();
        let validity = (kind & 0x80 != 0).then(|| {
            let n = usize::from(b.u8() % 16);
            b.take(n)
        });
        let data = match kind % 16 {
            0 => ColumnData::Null,
            1 => ColumnData::Boolean(b.list(|b| b.u8() & 1 != 0)),
            2 => ColumnData::Int8(b.list(|b| b.u8() as i8)),
            3 => ColumnData::Int16(b.list(|b| b.u32() as i16)),
            4 => ColumnData::Int32(b.list(|b| b.u32() as i32)),
            5 => ColumnData::Int64(b.list(|b| b.u64() as i64)),
            6 => ColumnData::Uint8(b.list(|b| b.u8())),
            7 => ColumnData::Uint16(b.list(|b| b.u32() as u16)),
            8 => ColumnData::Uint32(b.list(|b| b.u32())),
            9 => ColumnData::Uint64(b.list(|b| b.u64())),
            10 => ColumnData::Float32(b.list(|b| f32::from_bits(b.u32()))),
            11 => ColumnData::Float64(b.list(|b| f64::from_bits(b.u64()))),
            12 => ColumnData::Varlen(b.varlen()),
            13 => ColumnData::Interval(Intervals {
                months: b.list(|b| b.u32() as i32),
                days: b.list(|b| b.u32() as i32),
                microseconds: b.list(|b| b.u64() as i64),
            }),
            14 => ColumnData::Uuid(b.list(|b| b.u8())),
            _ => ColumnData::Dynamic(DynamicValues {
                tags: b.list(|b| b.u8() % 6),
                integers: b.list(|b| b.u64() as i64),
                floats: b.list(|b| f64::from_bits(b.u64())),
                texts: b.varlen(),
                blobs: b.varlen(),
            }),
        };
        values.push(ColumnValues { data, validity });
    }
    let batch = Batch { rows, columns: values };
    let Ok(reader) = BatchReader::new(&columns, &batch) else {
        return;
    };
    for row in 0..reader.rows() {
        let _ = reader.row_values(row);
    }
});
