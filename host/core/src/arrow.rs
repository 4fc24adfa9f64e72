//! Apache Arrow: record batches from the columns a driver sent (no copy
//! for fixed-width and variable-length buffers: the vectors the canonical
//! ABI lifted become the arrays' buffers), and contract batches from record
//! batches (bulk input).
//!
//! | logical type | Arrow type | field metadata |
//! |---|---|---|
//! | `null` | `Null` | |
//! | `boolean` | `Boolean` | |
//! | `int8` … `uint64`, `float32`, `float64` | the same | |
//! | `decimal` | `Utf8` (exact text, as the ADBC PostgreSQL driver) | `driverbox.precision`, `driverbox.scale` when known |
//! | `text` | `Utf8` | |
//! | `json` | `Utf8` | extension `arrow.json` |
//! | `bytes` | `Binary` | |
//! | `document` | `Binary` | extension `driverbox.bson` |
//! | `date` | `Date32` | |
//! | `time` | `Time64(µs)` | |
//! | `timestamp`, `timestamptz` | `Timestamp(µs)`, `Timestamp(µs, "UTC")` | |
//! | `interval` | `Interval(MonthDayNano)` | |
//! | `uuid` | `FixedSizeBinary(16)` | extension `arrow.uuid` |
//! | `dynamic` | dense `Union` of `Null`, `Int64`, `Float64`, `Utf8`, `Binary` (type ids 0–4) | |
//!
//! Every field carries `driverbox.database_type`, the database's type name,
//! and `driverbox.logical_type`, the contract's (so a record batch written
//! back keeps decimals and JSON as such).
//! Dates and timestamps at ±infinity keep the contract's `i32`/`i64`
//! extremes. An interval whose microseconds do not fit nanoseconds in 64
//! bits (about ±292 years) is an error naming the column.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::{
    Date32Type, DecimalType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, FixedSizeBinaryArray, LargeBinaryArray, LargeStringArray, NullArray,
    PrimitiveArray, RecordBatch, RecordBatchOptions, StringArray, UnionArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, IntervalMonthDayNano, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, IntervalUnit, Schema, SchemaRef, TimeUnit, UnionFields, UnionMode};

use crate::batch::{self, tag};
use crate::contract as w;
use crate::value::{Column, LogicalType};

type Check<T> = Result<T, String>;

const EXTENSION: &str = "ARROW:extension:name";
/// The field metadata naming the contract's logical type.
const LOGICAL: &str = "driverbox.logical_type";

/// The Arrow type of a column whose values travel as `t`.
pub fn data_type(t: LogicalType) -> DataType {
    match t {
        LogicalType::Null => DataType::Null,
        LogicalType::Boolean => DataType::Boolean,
        LogicalType::Int8 => DataType::Int8,
        LogicalType::Int16 => DataType::Int16,
        LogicalType::Int32 => DataType::Int32,
        LogicalType::Int64 => DataType::Int64,
        LogicalType::Uint8 => DataType::UInt8,
        LogicalType::Uint16 => DataType::UInt16,
        LogicalType::Uint32 => DataType::UInt32,
        LogicalType::Uint64 => DataType::UInt64,
        LogicalType::Float32 => DataType::Float32,
        LogicalType::Float64 => DataType::Float64,
        LogicalType::Decimal | LogicalType::Text | LogicalType::Json => DataType::Utf8,
        LogicalType::Bytes | LogicalType::Document => DataType::Binary,
        LogicalType::Date => DataType::Date32,
        LogicalType::Time => DataType::Time64(TimeUnit::Microsecond),
        LogicalType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        LogicalType::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        LogicalType::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
        LogicalType::Uuid => DataType::FixedSizeBinary(16),
        LogicalType::Dynamic => DataType::Union(dynamic_fields(), UnionMode::Dense),
    }
}

/// The children of a `dynamic` column's union, by type id (the tags).
fn dynamic_fields() -> UnionFields {
    UnionFields::try_new(
        [tag::NULL, tag::INTEGER, tag::FLOAT, tag::TEXT, tag::BYTES].map(|t| t as i8),
        [
            Field::new("null", DataType::Null, true),
            Field::new("integer", DataType::Int64, false),
            Field::new("float", DataType::Float64, false),
            Field::new("text", DataType::Utf8, false),
            Field::new("bytes", DataType::Binary, false),
        ],
    )
    .expect("five distinct type ids for five fields")
}

/// The Arrow field of a result column.
pub fn field(c: &Column) -> Field {
    let mut metadata = HashMap::from([
        ("driverbox.database_type".to_string(), c.type_name.clone()),
        (LOGICAL.to_string(), c.logical_type.name().to_string()),
    ]);
    match c.logical_type {
        LogicalType::Json => {
            metadata.insert(EXTENSION.into(), "arrow.json".into());
        }
        LogicalType::Uuid => {
            metadata.insert(EXTENSION.into(), "arrow.uuid".into());
        }
        LogicalType::Document => {
            metadata.insert(EXTENSION.into(), "driverbox.bson".into());
        }
        LogicalType::Decimal => {
            if let Some(p) = c.precision {
                metadata.insert("driverbox.precision".into(), p.to_string());
            }
            if let Some(s) = c.scale {
                metadata.insert("driverbox.scale".into(), s.to_string());
            }
        }
        _ => {}
    }
    let nullable = c.nullable.unwrap_or(true) && c.logical_type != LogicalType::Dynamic;
    Field::new(&c.name, data_type(c.logical_type), nullable).with_metadata(metadata)
}

/// The Arrow schema of a result.
pub fn schema(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(columns.iter().map(field).collect::<Vec<_>>()))
}

fn nulls(validity: Option<Vec<u8>>, len: usize) -> Option<NullBuffer> {
    validity.map(|bits| NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(bits), 0, len)))
}

fn primitive<T: arrow_array::types::ArrowPrimitiveType>(v: Vec<T::Native>, n: Option<NullBuffer>) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(v), n))
}

/// Offsets (checked: from 0, in order, ending at the data's end) and data
/// as an Arrow string or binary array; `u32` offsets past `i32::MAX` make
/// the large variant.
fn varlen(name: &str, v: w::Varlen, n: Option<NullBuffer>, text: bool) -> Check<ArrayRef> {
    let len = v.offsets.len() - 1;
    let fits = v.offsets.last().is_some_and(|o| *o <= i32::MAX as u32);
    let data = Buffer::from_vec(v.data);
    let err = |e: arrow_schema::ArrowError| format!("column `{name}`: {e}");
    if fits {
        // Same size and alignment, all values ≤ i32::MAX: the buffer is reused.
        let offsets = OffsetBuffer::new(ScalarBuffer::<i32>::new(Buffer::from_vec(v.offsets), 0, len + 1));
        Ok(if text {
            Arc::new(StringArray::try_new(offsets, data, n).map_err(err)?)
        } else {
            Arc::new(BinaryArray::try_new(offsets, data, n).map_err(err)?)
        })
    } else {
        let offsets = OffsetBuffer::new(ScalarBuffer::from(
            v.offsets.iter().map(|o| *o as i64).collect::<Vec<_>>(),
        ));
        Ok(if text {
            Arc::new(LargeStringArray::try_new(offsets, data, n).map_err(err)?)
        } else {
            Arc::new(LargeBinaryArray::try_new(offsets, data, n).map_err(err)?)
        })
    }
}

/// One column's buffer as an Arrow array of the column's type.
fn array(c: &Column, values: w::ColumnValues, rows: usize, positions: Option<Vec<u32>>) -> Check<ArrayRef> {
    let name = c.name.as_str();
    let t = c.logical_type;
    let n = nulls(values.validity, rows);
    let mismatch = |buffer: &str| format!("column `{name}`: a {} column sent as a {buffer} buffer", t.name());
    Ok(match values.data {
        w::ColumnData::Null => Arc::new(NullArray::new(rows)),
        w::ColumnData::Boolean(v) => Arc::new(BooleanArray::new(BooleanBuffer::from(v.as_slice()), n)),
        w::ColumnData::Int8(v) => primitive::<Int8Type>(v, n),
        w::ColumnData::Int16(v) => primitive::<Int16Type>(v, n),
        w::ColumnData::Int32(v) if t == LogicalType::Date => primitive::<Date32Type>(v, n),
        w::ColumnData::Int32(v) => primitive::<Int32Type>(v, n),
        w::ColumnData::Int64(v) => match t {
            LogicalType::Time => primitive::<Time64MicrosecondType>(v, n),
            LogicalType::Timestamp => primitive::<TimestampMicrosecondType>(v, n),
            LogicalType::Timestamptz => {
                Arc::new(PrimitiveArray::<TimestampMicrosecondType>::new(ScalarBuffer::from(v), n).with_timezone("UTC"))
            }
            _ => primitive::<Int64Type>(v, n),
        },
        w::ColumnData::Uint8(v) => primitive::<UInt8Type>(v, n),
        w::ColumnData::Uint16(v) => primitive::<UInt16Type>(v, n),
        w::ColumnData::Uint32(v) => primitive::<UInt32Type>(v, n),
        w::ColumnData::Uint64(v) => primitive::<UInt64Type>(v, n),
        w::ColumnData::Float32(v) => primitive::<Float32Type>(v, n),
        w::ColumnData::Float64(v) => primitive::<Float64Type>(v, n),
        w::ColumnData::Varlen(v) => {
            let text = matches!(t, LogicalType::Text | LogicalType::Json | LogicalType::Decimal);
            varlen(name, v, n, text)?
        }
        w::ColumnData::Interval(iv) => {
            let mut out = Vec::with_capacity(rows);
            for i in 0..rows {
                let nanos = iv.microseconds[i].checked_mul(1000).ok_or_else(|| {
                    format!(
                        "column `{name}`: an interval of {} µs does not fit Arrow's nanoseconds",
                        iv.microseconds[i]
                    )
                })?;
                out.push(IntervalMonthDayNano::new(iv.months[i], iv.days[i], nanos));
            }
            primitive::<IntervalMonthDayNanoType>(out, n)
        }
        w::ColumnData::Uuid(v) => Arc::new(
            FixedSizeBinaryArray::try_new(16, Buffer::from_vec(v), n).map_err(|e| format!("column `{name}`: {e}"))?,
        ),
        w::ColumnData::Dynamic(d) => {
            let positions = positions.ok_or_else(|| mismatch("dynamic"))?;
            let counts = |tag: u8| d.tags.iter().filter(|t| **t == tag).count();
            let type_ids = ScalarBuffer::from(d.tags.iter().map(|t| *t as i8).collect::<Vec<i8>>());
            let offsets = ScalarBuffer::from(positions.into_iter().map(|p| p as i32).collect::<Vec<i32>>());
            let children: Vec<ArrayRef> = vec![
                Arc::new(NullArray::new(counts(tag::NULL))),
                primitive::<Int64Type>(d.integers, None),
                primitive::<Float64Type>(d.floats, None),
                varlen(name, d.texts, None, true)?,
                varlen(name, d.blobs, None, false)?,
            ];
            Arc::new(
                UnionArray::try_new(dynamic_fields(), type_ids, Some(offsets), children)
                    .map_err(|e| format!("column `{name}`: {e}"))?,
            )
        }
    })
}

/// The fields of a batch as it came: a column declared with one type but
/// sent as `dynamic` (SQLite) is a union in this batch.
fn actual_columns(columns: &[Column], batch: &w::Batch) -> Vec<Column> {
    columns
        .iter()
        .zip(&batch.columns)
        .map(|(c, v)| match v.data {
            w::ColumnData::Dynamic(_) if c.logical_type != LogicalType::Dynamic => Column {
                logical_type: LogicalType::Dynamic,
                ..c.clone()
            },
            _ => c.clone(),
        })
        .collect()
}

/// A record batch from a driver's batch for `columns`, checked first. The
/// buffers move into the arrays without copying, but for intervals (µs →
/// ns) and the union offsets of `dynamic` columns.
pub fn record_batch(columns: &[Column], batch: w::Batch) -> Check<RecordBatch> {
    let positions = batch::check(columns, &batch)?;
    let rows = batch.rows as usize;
    let columns = actual_columns(columns, &batch);
    let schema = schema(&columns);
    let mut arrays = Vec::with_capacity(columns.len());
    for ((c, values), pos) in columns.iter().zip(batch.columns).zip(positions) {
        arrays.push(array(c, values, rows, pos)?);
    }
    RecordBatch::try_new_with_options(schema, arrays, &RecordBatchOptions::new().with_row_count(Some(rows)))
        .map_err(|e| format!("cannot build the record batch: {e}"))
}

// ----------------------------------------------------------------------
// Record batches into contract batches (bulk input)
// ----------------------------------------------------------------------

#[derive(Default)]
struct Bits(Vec<u8>, usize, bool);

impl Bits {
    fn of(a: &dyn Array) -> Option<Vec<u8>> {
        a.nulls()?;
        let mut b = Bits::default();
        for i in 0..a.len() {
            if b.1.is_multiple_of(8) {
                b.0.push(0);
            }
            if a.is_valid(i) {
                if let Some(x) = b.0.last_mut() {
                    *x |= 1 << (b.1 % 8);
                }
            } else {
                b.2 = true;
            }
            b.1 += 1;
        }
        b.2.then_some(b.0)
    }
}

fn offsets_and_data<O: arrow_array::OffsetSizeTrait>(offsets: &[O], values: &[u8]) -> Check<w::Varlen> {
    let first = offsets.first().map_or(0, |o| o.as_usize());
    let last = offsets.last().map_or(0, |o| o.as_usize());
    let rel = offsets
        .iter()
        .map(|o| u32::try_from(o.as_usize() - first).map_err(|_| "a column holds more than 4 GiB".to_string()))
        .collect::<Check<Vec<u32>>>()?;
    Ok(w::Varlen {
        offsets: rel,
        data: values[first..last].to_vec(),
    })
}

fn extension(f: &Field) -> Option<&str> {
    f.metadata().get(EXTENSION).map(String::as_str)
}

fn divide(name: &str, v: i64, by: i64) -> Check<i64> {
    if v % by == 0 {
        Ok(v / by)
    } else {
        Err(format!("column `{name}`: {v} has more precision than microseconds"))
    }
}

/// One Arrow array as a contract column of its logical type.
fn column_from_array(f: &Field, a: &dyn Array) -> Check<(LogicalType, w::ColumnData)> {
    use arrow_array::cast::AsArray;
    let name = f.name();
    let prim = |t: LogicalType, data: w::ColumnData| Ok((t, data));
    match a.data_type() {
        DataType::Null => prim(LogicalType::Null, w::ColumnData::Null),
        DataType::Boolean => prim(
            LogicalType::Boolean,
            w::ColumnData::Boolean(a.as_boolean().values().iter().collect()),
        ),
        DataType::Int8 => prim(
            LogicalType::Int8,
            w::ColumnData::Int8(a.as_primitive::<Int8Type>().values().to_vec()),
        ),
        DataType::Int16 => prim(
            LogicalType::Int16,
            w::ColumnData::Int16(a.as_primitive::<Int16Type>().values().to_vec()),
        ),
        DataType::Int32 => prim(
            LogicalType::Int32,
            w::ColumnData::Int32(a.as_primitive::<Int32Type>().values().to_vec()),
        ),
        DataType::Int64 => prim(
            LogicalType::Int64,
            w::ColumnData::Int64(a.as_primitive::<Int64Type>().values().to_vec()),
        ),
        DataType::UInt8 => prim(
            LogicalType::Uint8,
            w::ColumnData::Uint8(a.as_primitive::<UInt8Type>().values().to_vec()),
        ),
        DataType::UInt16 => prim(
            LogicalType::Uint16,
            w::ColumnData::Uint16(a.as_primitive::<UInt16Type>().values().to_vec()),
        ),
        DataType::UInt32 => prim(
            LogicalType::Uint32,
            w::ColumnData::Uint32(a.as_primitive::<UInt32Type>().values().to_vec()),
        ),
        DataType::UInt64 => prim(
            LogicalType::Uint64,
            w::ColumnData::Uint64(a.as_primitive::<UInt64Type>().values().to_vec()),
        ),
        DataType::Float32 => prim(
            LogicalType::Float32,
            w::ColumnData::Float32(a.as_primitive::<Float32Type>().values().to_vec()),
        ),
        DataType::Float64 => prim(
            LogicalType::Float64,
            w::ColumnData::Float64(a.as_primitive::<Float64Type>().values().to_vec()),
        ),
        DataType::Date32 => prim(
            LogicalType::Date,
            w::ColumnData::Int32(a.as_primitive::<Date32Type>().values().to_vec()),
        ),
        DataType::Date64 => {
            let v = a.as_primitive::<arrow_array::types::Date64Type>().values();
            let days = v
                .iter()
                .map(|ms| {
                    i32::try_from(ms.div_euclid(86_400_000)).map_err(|_| format!("column `{name}`: date out of range"))
                })
                .collect::<Check<Vec<i32>>>()?;
            prim(LogicalType::Date, w::ColumnData::Int32(days))
        }
        DataType::Time64(unit) | DataType::Time32(unit) => {
            let micros: Vec<i64> = match a.data_type() {
                DataType::Time64(TimeUnit::Microsecond) => a.as_primitive::<Time64MicrosecondType>().values().to_vec(),
                DataType::Time64(_) => a
                    .as_primitive::<arrow_array::types::Time64NanosecondType>()
                    .values()
                    .iter()
                    .map(|v| divide(name, *v, 1000))
                    .collect::<Check<_>>()?,
                DataType::Time32(TimeUnit::Second) => a
                    .as_primitive::<arrow_array::types::Time32SecondType>()
                    .values()
                    .iter()
                    .map(|v| *v as i64 * 1_000_000)
                    .collect(),
                _ => a
                    .as_primitive::<arrow_array::types::Time32MillisecondType>()
                    .values()
                    .iter()
                    .map(|v| *v as i64 * 1000)
                    .collect(),
            };
            let _ = unit;
            prim(LogicalType::Time, w::ColumnData::Int64(micros))
        }
        DataType::Timestamp(unit, tz) => {
            use arrow_array::types::{TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType};
            let micros: Vec<i64> = match unit {
                TimeUnit::Microsecond => a.as_primitive::<TimestampMicrosecondType>().values().to_vec(),
                TimeUnit::Nanosecond => a
                    .as_primitive::<TimestampNanosecondType>()
                    .values()
                    .iter()
                    .map(|v| divide(name, *v, 1000))
                    .collect::<Check<_>>()?,
                TimeUnit::Millisecond => a
                    .as_primitive::<TimestampMillisecondType>()
                    .values()
                    .iter()
                    .map(|v| {
                        v.checked_mul(1000)
                            .ok_or_else(|| format!("column `{name}`: timestamp out of range"))
                    })
                    .collect::<Check<_>>()?,
                TimeUnit::Second => a
                    .as_primitive::<TimestampSecondType>()
                    .values()
                    .iter()
                    .map(|v| {
                        v.checked_mul(1_000_000)
                            .ok_or_else(|| format!("column `{name}`: timestamp out of range"))
                    })
                    .collect::<Check<_>>()?,
            };
            let t = if tz.is_some() {
                LogicalType::Timestamptz
            } else {
                LogicalType::Timestamp
            };
            prim(t, w::ColumnData::Int64(micros))
        }
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            let t = match (extension(f), f.metadata().get(LOGICAL).map(String::as_str)) {
                (Some("arrow.json"), _) | (_, Some("json")) => LogicalType::Json,
                (_, Some("decimal")) => LogicalType::Decimal,
                _ => LogicalType::Text,
            };
            prim(
                t,
                w::ColumnData::Varlen(offsets_and_data(s.value_offsets(), s.value_data())?),
            )
        }
        DataType::LargeUtf8 => {
            let s = a.as_string::<i64>();
            prim(
                LogicalType::Text,
                w::ColumnData::Varlen(offsets_and_data(s.value_offsets(), s.value_data())?),
            )
        }
        DataType::Binary => {
            let b = a.as_binary::<i32>();
            let t = if extension(f) == Some("driverbox.bson") {
                LogicalType::Document
            } else {
                LogicalType::Bytes
            };
            prim(
                t,
                w::ColumnData::Varlen(offsets_and_data(b.value_offsets(), b.value_data())?),
            )
        }
        DataType::LargeBinary => {
            let b = a.as_binary::<i64>();
            prim(
                LogicalType::Bytes,
                w::ColumnData::Varlen(offsets_and_data(b.value_offsets(), b.value_data())?),
            )
        }
        DataType::FixedSizeBinary(16) if extension(f) == Some("arrow.uuid") => {
            let b = a.as_fixed_size_binary();
            prim(
                LogicalType::Uuid,
                w::ColumnData::Uuid(b.value_data()[b.offset() * 16..(b.offset() + b.len()) * 16].to_vec()),
            )
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = a.as_primitive::<IntervalMonthDayNanoType>().values();
            let micros = v
                .iter()
                .map(|x| divide(name, x.nanoseconds, 1000))
                .collect::<Check<Vec<i64>>>()?;
            prim(
                LogicalType::Interval,
                w::ColumnData::Interval(w::Intervals {
                    months: v.iter().map(|x| x.months).collect(),
                    days: v.iter().map(|x| x.days).collect(),
                    microseconds: micros,
                }),
            )
        }
        DataType::Decimal128(_, scale) => {
            let d = a.as_primitive::<arrow_array::types::Decimal128Type>();
            decimal_text(d.len(), |i| {
                arrow_array::types::Decimal128Type::format_decimal(d.value(i), d.precision(), *scale)
            })
        }
        DataType::Decimal256(_, scale) => {
            let d = a.as_primitive::<arrow_array::types::Decimal256Type>();
            decimal_text(d.len(), |i| {
                arrow_array::types::Decimal256Type::format_decimal(d.value(i), d.precision(), *scale)
            })
        }
        other => Err(format!("column `{name}`: the Arrow type {other} has no driverbox type")),
    }
}

fn decimal_text(len: usize, f: impl Fn(usize) -> String) -> Check<(LogicalType, w::ColumnData)> {
    let mut offsets = vec![0u32];
    let mut data = Vec::new();
    for i in 0..len {
        data.extend_from_slice(f(i).as_bytes());
        offsets.push(u32::try_from(data.len()).map_err(|_| "a column holds more than 4 GiB".to_string())?);
    }
    Ok((LogicalType::Decimal, w::ColumnData::Varlen(w::Varlen { offsets, data })))
}

/// A record batch as contract columns and a batch (bulk input); NULL
/// slots of fixed-width buffers keep whatever the array holds there.
pub fn from_record_batch(rb: &RecordBatch) -> Check<(Vec<Column>, w::Batch)> {
    let rows = u32::try_from(rb.num_rows()).map_err(|_| "too many rows in one record batch".to_string())?;
    let mut columns = Vec::with_capacity(rb.num_columns());
    let mut data = Vec::with_capacity(rb.num_columns());
    for (f, a) in rb.schema().fields().iter().zip(rb.columns()) {
        let (t, values) = column_from_array(f, a.as_ref())?;
        let type_name = f.metadata().get("driverbox.database_type").cloned().unwrap_or_default();
        columns.push(Column {
            nullable: Some(f.is_nullable()),
            ..Column::new(f.name(), t, type_name)
        });
        data.push(w::ColumnValues {
            data: values,
            validity: Bits::of(a.as_ref()),
        });
    }
    Ok((columns, w::Batch { rows, columns: data }))
}

/// The rows of a record batch as values (statement parameters from Arrow);
/// a column of a type the contract cannot carry is an error naming it.
pub fn values(rb: &RecordBatch) -> Result<Vec<Vec<crate::value::Value>>, String> {
    let (columns, batch) = from_record_batch(rb)?;
    crate::batch::to_rows(&columns, &batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Interval, Value};

    #[test]
    fn round_trips_every_logical_type() {
        let names = [
            ("i16", LogicalType::Int16),
            ("i64", LogicalType::Int64),
            ("f32", LogicalType::Float32),
            ("text", LogicalType::Text),
            ("json", LogicalType::Json),
            ("dec", LogicalType::Decimal),
            ("bytes", LogicalType::Bytes),
            ("date", LogicalType::Date),
            ("ts", LogicalType::Timestamptz),
            ("iv", LogicalType::Interval),
            ("uuid", LogicalType::Uuid),
            ("b", LogicalType::Boolean),
        ];
        let columns: Vec<Column> = names.iter().map(|(n, t)| Column::new(*n, *t, "x")).collect();
        let rows = vec![
            vec![
                Value::Int(-3),
                Value::Int(i64::MAX),
                Value::Float(0.5),
                Value::Text("é".into()),
                Value::Json("[1]".into()),
                Value::Decimal("-1.50".into()),
                Value::Bytes(vec![0, 255]),
                Value::Date(-1),
                Value::Timestamptz(1_500_000),
                Value::Interval(Interval {
                    months: 1,
                    days: 2,
                    microseconds: 3,
                }),
                Value::Uuid((1, 2)),
                Value::Boolean(true),
            ],
            vec![Value::Null; 12],
        ];
        let (columns, batch) = crate::batch::from_rows(&columns, &rows).unwrap();
        let rb = record_batch(&columns, batch).unwrap();
        assert_eq!(rb.num_rows(), 2);
        assert_eq!(
            rb.schema().field(8).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(rb.column(0).null_count(), 1);
        let (back_columns, back) = from_record_batch(&rb).unwrap();
        assert_eq!(crate::batch::to_rows(&back_columns, &back).unwrap(), rows);
    }

    #[test]
    fn dynamic_columns_are_dense_unions() {
        let rows = vec![
            vec![Value::Int(1)],
            vec![Value::Null],
            vec![Value::Text("x".into())],
            vec![Value::Float(2.5)],
            vec![Value::Int(3)],
        ];
        let (columns, batch) = crate::batch::from_rows(&[Column::new("d", LogicalType::Null, "")], &rows).unwrap();
        assert_eq!(columns[0].logical_type, LogicalType::Dynamic);
        let rb = record_batch(&columns, batch).unwrap();
        let u = rb.column(0).as_any().downcast_ref::<UnionArray>().unwrap();
        assert_eq!(u.type_id(4), tag::INTEGER as i8);
        assert_eq!(u.value_offset(4), 1);
    }

    #[test]
    fn intervals_too_long_for_nanoseconds_are_errors() {
        let c = [Column::new("iv", LogicalType::Interval, "interval")];
        let rows = vec![vec![Value::Interval(Interval {
            months: 0,
            days: 0,
            microseconds: i64::MAX / 10,
        })]];
        let (columns, batch) = crate::batch::from_rows(&c, &rows).unwrap();
        assert!(record_batch(&columns, batch).unwrap_err().contains("iv"));
    }
}
