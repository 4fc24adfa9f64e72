//! Columnar batches: builders for results, readers for bulk input.
//!
//! A result crosses the boundary as one typed buffer per column (see the
//! table on `types.logical-type` in the WIT): a driver decodes each field
//! straight into its column's buffer with a typed `push_*`, with no value
//! allocated per field. [`BatchBuilder::finish`] gives the WIT [`Batch`].
//!
//! A column declared with one logical type whose values turn out to be of
//! another (SQLite keeps any value in any column) switches to the `dynamic`
//! buffer by itself when a generic push (`push_int`, `push_float`,
//! `push_text`, `push_blob`) does not fit: nothing is lost or converted.

use crate::types::{
    Batch, Column, ColumnData, ColumnValues, DynamicValues, Interval, Intervals, LogicalType, QueryResult, Value,
    Varlen,
};
use crate::{Error, Result};

/// A validity bitmap under construction (Arrow layout: LSB first).
#[derive(Debug, Default, Clone)]
struct Validity {
    bits: Vec<u8>,
    len: usize,
    nulls: usize,
}

impl Validity {
    #[inline]
    fn push(&mut self, valid: bool) {
        let bit = self.len % 8;
        if bit == 0 {
            self.bits.push(0);
        }
        if valid {
            if let Some(last) = self.bits.last_mut() {
                *last |= 1 << bit;
            }
        } else {
            self.nulls += 1;
        }
        self.len += 1;
    }

    fn finish(self) -> Option<Vec<u8>> {
        (self.nulls > 0).then_some(self.bits)
    }
}

/// Variable-length values under construction.
#[derive(Debug, Clone)]
pub struct VarlenBuilder {
    offsets: Vec<u32>,
    data: Vec<u8>,
}

impl Default for VarlenBuilder {
    fn default() -> Self {
        VarlenBuilder {
            offsets: vec![0],
            data: Vec::new(),
        }
    }
}

impl VarlenBuilder {
    #[inline]
    fn end_value(&mut self) -> Result<()> {
        let end = u32::try_from(self.data.len())
            .map_err(|_| Error::invalid("a batch column holds more than 4 GiB; use a smaller batch size"))?;
        self.offsets.push(end);
        Ok(())
    }

    fn finish(self) -> Varlen {
        Varlen {
            offsets: self.offsets,
            data: self.data,
        }
    }
}

/// A `dynamic` column under construction.
#[derive(Debug, Default, Clone)]
struct DynamicBuilder {
    tags: Vec<u8>,
    integers: Vec<i64>,
    floats: Vec<f64>,
    texts: VarlenBuilder,
    blobs: VarlenBuilder,
}

/// Tags of `dynamic` values.
pub mod tag {
    pub const NULL: u8 = 0;
    pub const INTEGER: u8 = 1;
    pub const FLOAT: u8 = 2;
    pub const TEXT: u8 = 3;
    pub const BYTES: u8 = 4;
}

#[derive(Debug, Clone)]
enum Buffer {
    Null,
    Boolean(Vec<bool>),
    Int8(Vec<i8>),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Uint8(Vec<u8>),
    Uint16(Vec<u16>),
    Uint32(Vec<u32>),
    Uint64(Vec<u64>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    Varlen(VarlenBuilder),
    Interval(Vec<i32>, Vec<i32>, Vec<i64>),
    Uuid(Vec<u8>),
    Dynamic(DynamicBuilder),
}

impl Buffer {
    fn for_type(t: LogicalType) -> Buffer {
        use LogicalType as L;
        match t {
            L::Null => Buffer::Null,
            L::Boolean => Buffer::Boolean(Vec::new()),
            L::Int8 => Buffer::Int8(Vec::new()),
            L::Int16 => Buffer::Int16(Vec::new()),
            L::Int32 | L::Date => Buffer::Int32(Vec::new()),
            L::Int64 | L::Time | L::Timestamp | L::Timestamptz => Buffer::Int64(Vec::new()),
            L::Uint8 => Buffer::Uint8(Vec::new()),
            L::Uint16 => Buffer::Uint16(Vec::new()),
            L::Uint32 => Buffer::Uint32(Vec::new()),
            L::Uint64 => Buffer::Uint64(Vec::new()),
            L::Float32 => Buffer::Float32(Vec::new()),
            L::Float64 => Buffer::Float64(Vec::new()),
            L::Decimal | L::Text | L::Bytes | L::Json | L::Document => Buffer::Varlen(VarlenBuilder::default()),
            L::Interval => Buffer::Interval(Vec::new(), Vec::new(), Vec::new()),
            L::Uuid => Buffer::Uuid(Vec::new()),
            L::Dynamic => Buffer::Dynamic(DynamicBuilder::default()),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Buffer::Null => "null",
            Buffer::Boolean(_) => "boolean",
            Buffer::Int8(_) => "int8",
            Buffer::Int16(_) => "int16",
            Buffer::Int32(_) => "int32",
            Buffer::Int64(_) => "int64",
            Buffer::Uint8(_) => "uint8",
            Buffer::Uint16(_) => "uint16",
            Buffer::Uint32(_) => "uint32",
            Buffer::Uint64(_) => "uint64",
            Buffer::Float32(_) => "float32",
            Buffer::Float64(_) => "float64",
            Buffer::Varlen(_) => "varlen",
            Buffer::Interval(..) => "interval",
            Buffer::Uuid(_) => "uuid",
            Buffer::Dynamic(_) => "dynamic",
        }
    }
}

/// One column of a batch under construction.
#[derive(Debug, Clone)]
pub struct ColumnBuilder {
    logical: LogicalType,
    buffer: Buffer,
    validity: Validity,
}

macro_rules! typed_push {
    ($(#[$doc:meta])* $name:ident, $variant:ident, $t:ty) => {
        $(#[$doc])*
        #[inline]
        pub fn $name(&mut self, v: $t) -> Result<()> {
            match &mut self.buffer {
                Buffer::$variant(values) => values.push(v),
                other => return Err(mismatch(stringify!($variant), other)),
            }
            self.validity.push(true);
            Ok(())
        }
    };
}

fn mismatch(want: &str, have: &Buffer) -> Error {
    Error::invalid(format!(
        "driver bug: a {want} value pushed into a {} column buffer",
        have.name()
    ))
}

impl ColumnBuilder {
    /// An empty column holding values of `logical` type.
    pub fn new(logical: LogicalType) -> ColumnBuilder {
        ColumnBuilder {
            logical,
            buffer: Buffer::for_type(logical),
            validity: Validity::default(),
        }
    }

    /// The number of values pushed.
    pub fn len(&self) -> usize {
        self.validity.len
    }

    /// Whether no value was pushed.
    pub fn is_empty(&self) -> bool {
        self.validity.len == 0
    }

    /// The declared logical type.
    pub fn logical_type(&self) -> LogicalType {
        self.logical
    }

    /// Whether the column holds its values in the `dynamic` buffer (it was
    /// declared so, or a value did not fit its declared type).
    pub fn is_dynamic(&self) -> bool {
        matches!(self.buffer, Buffer::Dynamic(_))
    }

    /// A NULL.
    #[inline]
    pub fn push_null(&mut self) {
        match &mut self.buffer {
            Buffer::Null => {}
            Buffer::Boolean(v) => v.push(false),
            Buffer::Int8(v) => v.push(0),
            Buffer::Int16(v) => v.push(0),
            Buffer::Int32(v) => v.push(0),
            Buffer::Int64(v) => v.push(0),
            Buffer::Uint8(v) => v.push(0),
            Buffer::Uint16(v) => v.push(0),
            Buffer::Uint32(v) => v.push(0),
            Buffer::Uint64(v) => v.push(0),
            Buffer::Float32(v) => v.push(0.0),
            Buffer::Float64(v) => v.push(0.0),
            Buffer::Varlen(b) => {
                let end = *b.offsets.last().unwrap_or(&0);
                b.offsets.push(end);
            }
            Buffer::Interval(m, d, us) => {
                m.push(0);
                d.push(0);
                us.push(0);
            }
            Buffer::Uuid(v) => v.extend_from_slice(&[0; 16]),
            Buffer::Dynamic(d) => d.tags.push(tag::NULL),
        }
        self.validity.push(false);
    }

    typed_push!(
        /// A boolean (`boolean` columns).
        push_bool, Boolean, bool);
    typed_push!(
        /// An `int8` value.
        push_i8, Int8, i8);
    typed_push!(
        /// An `int16` value.
        push_i16, Int16, i16);
    typed_push!(
        /// An `int32` value, or a `date` in days since 1970-01-01.
        push_i32, Int32, i32);
    typed_push!(
        /// An `int64` value, or a `time`/`timestamp`/`timestamptz` in microseconds.
        push_i64, Int64, i64);
    typed_push!(
        /// A `uint8` value.
        push_u8, Uint8, u8);
    typed_push!(
        /// A `uint16` value.
        push_u16, Uint16, u16);
    typed_push!(
        /// A `uint32` value.
        push_u32, Uint32, u32);
    typed_push!(
        /// A `uint64` value.
        push_u64, Uint64, u64);
    typed_push!(
        /// A `float32` value.
        push_f32, Float32, f32);
    typed_push!(
        /// A `float64` value.
        push_f64, Float64, f64);

    /// An interval.
    pub fn push_interval(&mut self, v: Interval) -> Result<()> {
        match &mut self.buffer {
            Buffer::Interval(m, d, us) => {
                m.push(v.months);
                d.push(v.days);
                us.push(v.microseconds);
            }
            other => return Err(mismatch("interval", other)),
        }
        self.validity.push(true);
        Ok(())
    }

    /// A UUID's 16 bytes, big-endian.
    pub fn push_uuid(&mut self, v: [u8; 16]) -> Result<()> {
        match &mut self.buffer {
            Buffer::Uuid(b) => b.extend_from_slice(&v),
            other => return Err(mismatch("uuid", other)),
        }
        self.validity.push(true);
        Ok(())
    }

    /// The bytes of a variable-length value (text, decimal text, JSON,
    /// bytes, one BSON document), copied once into the column's buffer.
    #[inline]
    pub fn push_varlen(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.buffer {
            Buffer::Varlen(b) => {
                b.data.extend_from_slice(bytes);
                b.end_value()?;
            }
            other => return Err(mismatch("varlen", other)),
        }
        self.validity.push(true);
        Ok(())
    }

    /// A text value into a varlen column.
    #[inline]
    pub fn push_str(&mut self, s: &str) -> Result<()> {
        self.push_varlen(s.as_bytes())
    }

    /// Appends a variable-length value in place: `write` gets the column's
    /// byte buffer and appends the value's bytes to it (no intermediate
    /// allocation, e.g. when formatting a decimal).
    #[inline]
    pub fn push_varlen_with(&mut self, write: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
        match &mut self.buffer {
            Buffer::Varlen(b) => {
                let start = b.data.len();
                if let Err(e) = write(&mut b.data) {
                    b.data.truncate(start);
                    return Err(e);
                }
                b.end_value()?;
            }
            other => return Err(mismatch("varlen", other)),
        }
        self.validity.push(true);
        Ok(())
    }

    // -- Generic pushes: they keep the declared buffer when the value fits
    //    it and switch the column to `dynamic` when it does not.

    /// An integer: into an integer column of any width if it fits, else
    /// (SQLite) the column becomes `dynamic`.
    pub fn push_int(&mut self, v: i64) -> Result<()> {
        use LogicalType as L;
        let fitted = match (&mut self.buffer, self.logical) {
            (Buffer::Int64(b), L::Int64) => {
                b.push(v);
                true
            }
            (Buffer::Int32(b), L::Int32) => i32::try_from(v).map(|x| b.push(x)).is_ok(),
            (Buffer::Int16(b), _) => i16::try_from(v).map(|x| b.push(x)).is_ok(),
            (Buffer::Int8(b), _) => i8::try_from(v).map(|x| b.push(x)).is_ok(),
            (Buffer::Uint8(b), _) => u8::try_from(v).map(|x| b.push(x)).is_ok(),
            (Buffer::Uint16(b), _) => u16::try_from(v).map(|x| b.push(x)).is_ok(),
            (Buffer::Uint32(b), _) => u32::try_from(v).map(|x| b.push(x)).is_ok(),
            (Buffer::Uint64(b), _) => u64::try_from(v).map(|x| b.push(x)).is_ok(),
            (Buffer::Dynamic(d), _) => {
                d.tags.push(tag::INTEGER);
                d.integers.push(v);
                true
            }
            _ => false,
        };
        if fitted {
            self.validity.push(true);
            return Ok(());
        }
        self.make_dynamic();
        self.push_int(v)
    }

    /// A float: into a float column, else the column becomes `dynamic`.
    pub fn push_float(&mut self, v: f64) -> Result<()> {
        match &mut self.buffer {
            Buffer::Float64(b) => b.push(v),
            Buffer::Dynamic(d) => {
                d.tags.push(tag::FLOAT);
                d.floats.push(v);
            }
            _ => {
                self.make_dynamic();
                return self.push_float(v);
            }
        }
        self.validity.push(true);
        Ok(())
    }

    /// Text: into a `text` column, else the column becomes `dynamic`
    /// (use [`ColumnBuilder::push_str`] for JSON or decimal text).
    pub fn push_text(&mut self, s: &str) -> Result<()> {
        match (&mut self.buffer, self.logical) {
            (Buffer::Varlen(_), LogicalType::Text) => self.push_str(s),
            (Buffer::Dynamic(d), _) => {
                d.tags.push(tag::TEXT);
                d.texts.data.extend_from_slice(s.as_bytes());
                d.texts.end_value()?;
                self.validity.push(true);
                Ok(())
            }
            _ => {
                self.make_dynamic();
                self.push_text(s)
            }
        }
    }

    /// Bytes: into a `bytes` column, else the column becomes `dynamic`.
    pub fn push_blob(&mut self, b: &[u8]) -> Result<()> {
        match (&mut self.buffer, self.logical) {
            (Buffer::Varlen(_), LogicalType::Bytes) => self.push_varlen(b),
            (Buffer::Dynamic(d), _) => {
                d.tags.push(tag::BYTES);
                d.blobs.data.extend_from_slice(b);
                d.blobs.end_value()?;
                self.validity.push(true);
                Ok(())
            }
            _ => {
                self.make_dynamic();
                self.push_blob(b)
            }
        }
    }

    /// Turns a 64-bit column (timestamps, times) into `dynamic` text, the
    /// values so far written by `text` (a driver's own form, where the
    /// ISO 8601 text of [`ColumnBuilder::push_text`]'s conversion would not
    /// do); later values go in as pushed. Nothing happens to other columns.
    pub fn make_dynamic_text(&mut self, text: impl Fn(i64) -> String) {
        let Buffer::Int64(values) = &self.buffer else { return };
        let mut d = DynamicBuilder::default();
        for (i, v) in values.iter().enumerate() {
            if self.validity.bits[i / 8] & (1 << (i % 8)) != 0 {
                d.tags.push(tag::TEXT);
                d.texts.data.extend_from_slice(text(*v).as_bytes());
                let _ = d.texts.end_value();
            } else {
                d.tags.push(tag::NULL);
            }
        }
        self.buffer = Buffer::Dynamic(d);
    }

    /// Rewrites the values so far into a `dynamic` buffer. Only integers,
    /// floats, text and bytes exist in `dynamic`: dates, times and UUIDs
    /// are written as their ISO 8601 / hyphenated text, booleans as 0 and 1.
    fn make_dynamic(&mut self) {
        if matches!(self.buffer, Buffer::Dynamic(_)) {
            return;
        }
        let old = std::mem::replace(&mut self.buffer, Buffer::Dynamic(DynamicBuilder::default()));
        let Buffer::Dynamic(d) = &mut self.buffer else { return };
        let len = self.validity.len;
        let valid = |i: usize| self.validity.bits[i / 8] & (1 << (i % 8)) != 0;
        let push_int = |d: &mut DynamicBuilder, i: usize, v: i64| {
            if valid(i) {
                d.tags.push(tag::INTEGER);
                d.integers.push(v);
            } else {
                d.tags.push(tag::NULL);
            }
        };
        let logical = self.logical;
        let push_text = |d: &mut DynamicBuilder, i: usize, text: &dyn Fn() -> String| {
            if valid(i) {
                d.tags.push(tag::TEXT);
                d.texts.data.extend_from_slice(text().as_bytes());
                let _ = d.texts.end_value();
            } else {
                d.tags.push(tag::NULL);
            }
        };
        match old {
            Buffer::Null => d.tags.resize(len, tag::NULL),
            Buffer::Int32(v) if logical == LogicalType::Date => v
                .iter()
                .enumerate()
                .for_each(|(i, x)| push_text(d, i, &|| crate::time::format_date_value(*x))),
            Buffer::Int64(v)
                if matches!(
                    logical,
                    LogicalType::Time | LogicalType::Timestamp | LogicalType::Timestamptz
                ) =>
            {
                v.iter().enumerate().for_each(|(i, x)| {
                    push_text(d, i, &|| match logical {
                        LogicalType::Time => crate::time::format_time(*x),
                        LogicalType::Timestamp => crate::time::format_timestamp_value(*x, false),
                        _ => crate::time::format_timestamp_value(*x, true),
                    })
                })
            }
            Buffer::Uuid(v) => (0..len).for_each(|i| {
                push_text(d, i, &|| {
                    let b: [u8; 16] = v[i * 16..i * 16 + 16].try_into().unwrap_or_default();
                    crate::time::format_uuid(&b)
                })
            }),
            Buffer::Boolean(v) => v.iter().enumerate().for_each(|(i, x)| push_int(d, i, *x as i64)),
            Buffer::Int8(v) => v.iter().enumerate().for_each(|(i, x)| push_int(d, i, *x as i64)),
            Buffer::Int16(v) => v.iter().enumerate().for_each(|(i, x)| push_int(d, i, *x as i64)),
            Buffer::Int32(v) => v.iter().enumerate().for_each(|(i, x)| push_int(d, i, *x as i64)),
            Buffer::Int64(v) => v.iter().enumerate().for_each(|(i, x)| push_int(d, i, *x)),
            Buffer::Uint8(v) => v.iter().enumerate().for_each(|(i, x)| push_int(d, i, *x as i64)),
            Buffer::Uint16(v) => v.iter().enumerate().for_each(|(i, x)| push_int(d, i, *x as i64)),
            Buffer::Uint32(v) => v.iter().enumerate().for_each(|(i, x)| push_int(d, i, *x as i64)),
            Buffer::Uint64(v) => v.iter().enumerate().for_each(|(i, x)| match i64::try_from(*x) {
                Ok(x) => push_int(d, i, x),
                Err(_) => {
                    d.tags.push(tag::TEXT);
                    d.texts.data.extend_from_slice(x.to_string().as_bytes());
                    let _ = d.texts.end_value();
                }
            }),
            Buffer::Float32(v) => v.iter().enumerate().for_each(|(i, x)| {
                if valid(i) {
                    d.tags.push(tag::FLOAT);
                    d.floats.push(*x as f64);
                } else {
                    d.tags.push(tag::NULL);
                }
            }),
            Buffer::Float64(v) => v.iter().enumerate().for_each(|(i, x)| {
                if valid(i) {
                    d.tags.push(tag::FLOAT);
                    d.floats.push(*x);
                } else {
                    d.tags.push(tag::NULL);
                }
            }),
            Buffer::Varlen(b) => {
                let (tag, target) = if self.logical == LogicalType::Bytes || self.logical == LogicalType::Document {
                    (tag::BYTES, &mut d.blobs)
                } else {
                    (tag::TEXT, &mut d.texts)
                };
                for i in 0..len {
                    if valid(i) {
                        d.tags.push(tag);
                        target
                            .data
                            .extend_from_slice(&b.data[b.offsets[i] as usize..b.offsets[i + 1] as usize]);
                        let _ = target.end_value();
                    } else {
                        d.tags.push(tag::NULL);
                    }
                }
            }
            Buffer::Interval(m, days, us) => (0..len).for_each(|i| {
                push_text(d, i, &|| {
                    format!("{} mons {} days {} microseconds", m[i], days[i], us[i])
                })
            }),
            Buffer::Dynamic(_) => {}
        }
        // Every value is now tagged; the validity stays as it was.
    }

    /// The finished column.
    pub fn finish(self) -> ColumnValues {
        let data = match self.buffer {
            Buffer::Null => ColumnData::Null,
            Buffer::Boolean(v) => ColumnData::Boolean(v),
            Buffer::Int8(v) => ColumnData::Int8(v),
            Buffer::Int16(v) => ColumnData::Int16(v),
            Buffer::Int32(v) => ColumnData::Int32(v),
            Buffer::Int64(v) => ColumnData::Int64(v),
            Buffer::Uint8(v) => ColumnData::Uint8(v),
            Buffer::Uint16(v) => ColumnData::Uint16(v),
            Buffer::Uint32(v) => ColumnData::Uint32(v),
            Buffer::Uint64(v) => ColumnData::Uint64(v),
            Buffer::Float32(v) => ColumnData::Float32(v),
            Buffer::Float64(v) => ColumnData::Float64(v),
            Buffer::Varlen(b) => ColumnData::Varlen(b.finish()),
            Buffer::Interval(months, days, microseconds) => ColumnData::Interval(Intervals {
                months,
                days,
                microseconds,
            }),
            Buffer::Uuid(v) => ColumnData::Uuid(v),
            Buffer::Dynamic(d) => ColumnData::Dynamic(DynamicValues {
                tags: d.tags,
                integers: d.integers,
                floats: d.floats,
                texts: d.texts.finish(),
                blobs: d.blobs.finish(),
            }),
        };
        let validity = match data {
            // A null column needs no bitmap: every value is NULL by type.
            ColumnData::Null => None,
            _ => self.validity.finish(),
        };
        ColumnValues { data, validity }
    }
}

/// A batch under construction: one [`ColumnBuilder`] per column.
#[derive(Debug, Clone, Default)]
pub struct BatchBuilder {
    columns: Vec<ColumnBuilder>,
    rows: u32,
}

impl BatchBuilder {
    /// An empty batch for `columns`.
    pub fn new(columns: &[Column]) -> BatchBuilder {
        BatchBuilder {
            columns: columns.iter().map(|c| ColumnBuilder::new(c.logical_type)).collect(),
            rows: 0,
        }
    }

    /// Column `i`, to push its value of the current row.
    #[inline]
    pub fn column(&mut self, i: usize) -> &mut ColumnBuilder {
        &mut self.columns[i]
    }

    /// All columns.
    pub fn columns_mut(&mut self) -> &mut [ColumnBuilder] {
        &mut self.columns
    }

    /// Completes a row (each column must have one more value).
    #[inline]
    pub fn end_row(&mut self) {
        self.rows += 1;
    }

    /// Rows completed so far.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Undoes a half-pushed row: after an error while decoding a row, the
    /// columns that got a value keep it, so the whole batch is dropped
    /// instead. Gives whether the batch is consistent.
    pub fn is_consistent(&self) -> bool {
        self.columns.iter().all(|c| c.len() == self.rows as usize)
    }

    /// The finished batch.
    pub fn finish(self) -> Batch {
        Batch {
            rows: self.rows,
            columns: self.columns.into_iter().map(ColumnBuilder::finish).collect(),
        }
    }

    /// The finished batch as a query result with `columns`.
    pub fn into_result(self, columns: Vec<Column>, rows_affected: Option<u64>) -> QueryResult {
        QueryResult {
            columns,
            batch: self.finish(),
            rows_affected,
        }
    }
}

/// A column description with no precision, scale or nullability.
pub fn column(name: impl Into<String>, logical_type: LogicalType, database_type: impl Into<String>) -> Column {
    Column {
        name: name.into(),
        logical_type,
        database_type: database_type.into(),
        precision: None,
        scale: None,
        nullable: None,
    }
}

/// An empty result of a statement without rows.
pub fn empty_result(rows_affected: Option<u64>) -> QueryResult {
    QueryResult {
        columns: Vec::new(),
        batch: Batch {
            rows: 0,
            columns: Vec::new(),
        },
        rows_affected,
    }
}

/// A result from rows of values (for small results a driver builds
/// itself: catalog answers, `SHOW`). Each column's values must be of its
/// logical type or NULL.
pub fn result_from_values(columns: Vec<Column>, rows: &[Vec<Value>]) -> Result<QueryResult> {
    let mut b = BatchBuilder::new(&columns);
    for row in rows {
        if row.len() != columns.len() {
            return Err(Error::invalid(format!(
                "a row has {} values for {} columns",
                row.len(),
                columns.len()
            )));
        }
        for (i, v) in row.iter().enumerate() {
            push_value(b.column(i), v)?;
        }
        b.end_row();
    }
    Ok(b.into_result(columns, None))
}

/// Pushes a WIT value into a column of a matching logical type.
pub fn push_value(c: &mut ColumnBuilder, v: &Value) -> Result<()> {
    use LogicalType as L;
    match (v, c.logical_type()) {
        (Value::Null, _) => {
            c.push_null();
            Ok(())
        }
        (Value::Boolean(b), L::Boolean) => c.push_bool(*b),
        (Value::Int(i), _) => c.push_int(*i),
        (Value::Float(f), L::Float32) => c.push_f32(*f as f32),
        (Value::Float(f), _) => c.push_float(*f),
        (Value::Text(s), _) => c.push_text(s),
        (Value::Decimal(s) | Value::Json(s), L::Decimal | L::Json | L::Text) => c.push_str(s),
        (Value::Bytes(b), L::Bytes) => c.push_varlen(b),
        (Value::Document(b), L::Document) => c.push_varlen(b),
        (Value::Bytes(b) | Value::Document(b), _) => c.push_blob(b),
        (Value::Date(d), L::Date) => c.push_i32(*d),
        (Value::Time(t), L::Time) | (Value::Timestamp(t), L::Timestamp) | (Value::Timestamptz(t), L::Timestamptz) => {
            c.push_i64(*t)
        }
        (Value::Interval(i), L::Interval) => c.push_interval(*i),
        (Value::Uuid((hi, lo)), L::Uuid) => {
            let mut b = [0; 16];
            b[..8].copy_from_slice(&hi.to_be_bytes());
            b[8..].copy_from_slice(&lo.to_be_bytes());
            c.push_uuid(b)
        }
        (v, t) => Err(Error::invalid(format!(
            "a {} value does not fit a {t:?} column",
            value_kind(v)
        ))),
    }
}

/// The logical type a value of this variant travels as (`null` for NULL).
pub fn value_logical_type(v: &Value) -> LogicalType {
    match v {
        Value::Null => LogicalType::Null,
        Value::Boolean(_) => LogicalType::Boolean,
        Value::Int(_) => LogicalType::Int64,
        Value::Float(_) => LogicalType::Float64,
        Value::Decimal(_) => LogicalType::Decimal,
        Value::Text(_) => LogicalType::Text,
        Value::Bytes(_) => LogicalType::Bytes,
        Value::Date(_) => LogicalType::Date,
        Value::Time(_) => LogicalType::Time,
        Value::Timestamp(_) => LogicalType::Timestamp,
        Value::Timestamptz(_) => LogicalType::Timestamptz,
        Value::Interval(_) => LogicalType::Interval,
        Value::Uuid(_) => LogicalType::Uuid,
        Value::Json(_) => LogicalType::Json,
        Value::Document(_) => LogicalType::Document,
    }
}

/// A result from rows of values, each column typed by its first non-NULL
/// value (tests and tools; drivers know their column types).
pub fn result_inferring_types(rows: &[Vec<Value>]) -> Result<QueryResult> {
    let width = rows.first().map_or(0, Vec::len);
    let columns = (0..width)
        .map(|i| {
            let t = rows
                .iter()
                .filter_map(|r| r.get(i))
                .find(|v| !matches!(v, Value::Null))
                .map_or(LogicalType::Null, value_logical_type);
            column(format!("c{}", i + 1), t, "")
        })
        .collect();
    result_from_values(columns, rows)
}

/// Short name of a value's variant, for messages.
pub fn value_kind(v: &Value) -> &'static str {
    match v {
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

// ----------------------------------------------------------------------
// Reading batches (bulk input, results a driver reads back itself)
// ----------------------------------------------------------------------

/// One value of a batch, borrowed from its buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Exact decimal text.
    Decimal(&'a str),
    Text(&'a str),
    Bytes(&'a [u8]),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since 1970-01-01, no time zone.
    Timestamp(i64),
    /// Microseconds since 1970-01-01 UTC.
    Timestamptz(i64),
    Interval(Interval),
    Uuid([u8; 16]),
    Json(&'a str),
    /// One BSON document.
    Document(&'a [u8]),
}

impl Cell<'_> {
    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }

    /// The owned WIT value.
    pub fn to_value(&self) -> Value {
        match *self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Boolean(b),
            Cell::Int(i) => Value::Int(i),
            Cell::UInt(u) => match i64::try_from(u) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::Decimal(u.to_string()),
            },
            Cell::Float(f) => Value::Float(f),
            Cell::Decimal(s) => Value::Decimal(s.to_string()),
            Cell::Text(s) => Value::Text(s.to_string()),
            Cell::Bytes(b) => Value::Bytes(b.to_vec()),
            Cell::Date(d) => Value::Date(d),
            Cell::Time(t) => Value::Time(t),
            Cell::Timestamp(t) => Value::Timestamp(t),
            Cell::Timestamptz(t) => Value::Timestamptz(t),
            Cell::Interval(i) => Value::Interval(i),
            Cell::Uuid(b) => {
                let hi = u64::from_be_bytes(b[..8].try_into().unwrap_or_default());
                let lo = u64::from_be_bytes(b[8..].try_into().unwrap_or_default());
                Value::Uuid((hi, lo))
            }
            Cell::Json(s) => Value::Json(s.to_string()),
            Cell::Document(b) => Value::Document(b.to_vec()),
        }
    }
}

impl<'a> From<&'a Value> for Cell<'a> {
    /// A borrowed view of a value (parameters go through the same encoders
    /// as batch cells).
    fn from(v: &'a Value) -> Cell<'a> {
        match v {
            Value::Null => Cell::Null,
            Value::Boolean(b) => Cell::Bool(*b),
            Value::Int(i) => Cell::Int(*i),
            Value::Float(f) => Cell::Float(*f),
            Value::Decimal(s) => Cell::Decimal(s),
            Value::Text(s) => Cell::Text(s),
            Value::Bytes(b) => Cell::Bytes(b),
            Value::Date(d) => Cell::Date(*d),
            Value::Time(t) => Cell::Time(*t),
            Value::Timestamp(t) => Cell::Timestamp(*t),
            Value::Timestamptz(t) => Cell::Timestamptz(*t),
            Value::Interval(i) => Cell::Interval(*i),
            Value::Uuid((hi, lo)) => {
                let mut b = [0; 16];
                b[..8].copy_from_slice(&hi.to_be_bytes());
                b[8..].copy_from_slice(&lo.to_be_bytes());
                Cell::Uuid(b)
            }
            Value::Json(s) => Cell::Json(s),
            Value::Document(b) => Cell::Document(b),
        }
    }
}

/// Checked access to the values of a batch whose columns are described by
/// `columns` (the host's input: lengths and UTF-8 are verified once here,
/// so a driver can read cells without further checks).
pub struct BatchReader<'a> {
    columns: &'a [Column],
    batch: &'a Batch,
    /// Per column: for `dynamic` buffers, the position of each value in
    /// its sub-list (computed once).
    dynamic_index: Vec<Option<Vec<u32>>>,
}

fn bad(message: String) -> Error {
    Error::invalid(format!("malformed batch: {message}"))
}

fn check_varlen(v: &Varlen, rows: usize, utf8: bool, what: &str) -> Result<()> {
    if rows.checked_add(1) != Some(v.offsets.len()) || v.offsets.first() != Some(&0) {
        return Err(bad(format!("{what}: {} offsets for {rows} values", v.offsets.len())));
    }
    if v.offsets.windows(2).any(|w| w[0] > w[1]) || *v.offsets.last().unwrap_or(&0) as usize != v.data.len() {
        return Err(bad(format!("{what}: offsets out of order or past the data")));
    }
    if utf8 {
        // One validation over all the text; then each value's range must
        // fall on character boundaries.
        let text = std::str::from_utf8(&v.data).map_err(|_| bad(format!("{what}: text is not UTF-8")))?;
        if v.offsets.iter().any(|o| !text.is_char_boundary(*o as usize)) {
            return Err(bad(format!("{what}: a value splits a UTF-8 character")));
        }
    }
    Ok(())
}

impl<'a> BatchReader<'a> {
    /// Verifies `batch` against `columns` (count, lengths, offsets, UTF-8).
    pub fn new(columns: &'a [Column], batch: &'a Batch) -> Result<BatchReader<'a>> {
        if batch.columns.len() != columns.len() {
            return Err(bad(format!(
                "{} columns of data for {} column descriptions",
                batch.columns.len(),
                columns.len()
            )));
        }
        let rows = batch.rows as usize;
        let mut dynamic_index = Vec::with_capacity(columns.len());
        for (c, values) in columns.iter().zip(&batch.columns) {
            let what = &c.name;
            if let Some(bits) = &values.validity {
                if bits.len() < rows.div_ceil(8) {
                    return Err(bad(format!("{what}: validity bitmap too short")));
                }
            }
            let len = |n: usize, per: usize| {
                if rows.checked_mul(per) == Some(n) {
                    Ok(())
                } else {
                    Err(bad(format!("{what}: {n} entries for {rows} values")))
                }
            };
            let text = matches!(
                c.logical_type,
                LogicalType::Text | LogicalType::Json | LogicalType::Decimal
            );
            let mut index = None;
            match &values.data {
                ColumnData::Null => {}
                ColumnData::Boolean(v) => len(v.len(), 1)?,
                ColumnData::Int8(v) => len(v.len(), 1)?,
                ColumnData::Int16(v) => len(v.len(), 1)?,
                ColumnData::Int32(v) => len(v.len(), 1)?,
                ColumnData::Int64(v) => len(v.len(), 1)?,
                ColumnData::Uint8(v) => len(v.len(), 1)?,
                ColumnData::Uint16(v) => len(v.len(), 1)?,
                ColumnData::Uint32(v) => len(v.len(), 1)?,
                ColumnData::Uint64(v) => len(v.len(), 1)?,
                ColumnData::Float32(v) => len(v.len(), 1)?,
                ColumnData::Float64(v) => len(v.len(), 1)?,
                ColumnData::Varlen(v) => check_varlen(v, rows, text, what)?,
                ColumnData::Interval(i) => {
                    len(i.months.len(), 1)?;
                    len(i.days.len(), 1)?;
                    len(i.microseconds.len(), 1)?;
                }
                ColumnData::Uuid(v) => len(v.len(), 16)?,
                ColumnData::Dynamic(d) => {
                    len(d.tags.len(), 1)?;
                    let mut counts = [0u32; 5];
                    let mut positions = Vec::with_capacity(rows);
                    for t in &d.tags {
                        let slot = counts
                            .get_mut(*t as usize)
                            .ok_or_else(|| bad(format!("{what}: unknown dynamic tag {t}")))?;
                        positions.push(*slot);
                        *slot += 1;
                    }
                    let [_, ints, floats, texts, blobs] = counts.map(|n| n as usize);
                    if ints != d.integers.len() || floats != d.floats.len() {
                        return Err(bad(format!("{what}: dynamic tags and values disagree")));
                    }
                    check_varlen(&d.texts, texts, true, what)?;
                    check_varlen(&d.blobs, blobs, false, what)?;
                    index = Some(positions);
                }
            }
            dynamic_index.push(index);
        }
        Ok(BatchReader {
            columns,
            batch,
            dynamic_index,
        })
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.batch.rows as usize
    }

    /// The column descriptions.
    pub fn columns(&self) -> &[Column] {
        self.columns
    }

    /// The value at (`row`, `col`). Both must be in range.
    pub fn cell(&self, row: usize, col: usize) -> Cell<'a> {
        let values = &self.batch.columns[col];
        if let Some(bits) = &values.validity {
            if bits[row / 8] & (1 << (row % 8)) == 0 {
                return Cell::Null;
            }
        }
        let logical = self.columns[col].logical_type;
        let varlen = |v: &'a Varlen| &v.data[v.offsets[row] as usize..v.offsets[row + 1] as usize];
        // Checked as UTF-8 in `new`.
        let text = |b: &'a [u8]| std::str::from_utf8(b).unwrap_or_default();
        use LogicalType as L;
        match &values.data {
            ColumnData::Null => Cell::Null,
            ColumnData::Boolean(v) => Cell::Bool(v[row]),
            ColumnData::Int8(v) => Cell::Int(v[row].into()),
            ColumnData::Int16(v) => Cell::Int(v[row].into()),
            ColumnData::Int32(v) => match logical {
                L::Date => Cell::Date(v[row]),
                _ => Cell::Int(v[row].into()),
            },
            ColumnData::Int64(v) => match logical {
                L::Time => Cell::Time(v[row]),
                L::Timestamp => Cell::Timestamp(v[row]),
                L::Timestamptz => Cell::Timestamptz(v[row]),
                _ => Cell::Int(v[row]),
            },
            ColumnData::Uint8(v) => Cell::UInt(v[row].into()),
            ColumnData::Uint16(v) => Cell::UInt(v[row].into()),
            ColumnData::Uint32(v) => Cell::UInt(v[row].into()),
            ColumnData::Uint64(v) => Cell::UInt(v[row]),
            ColumnData::Float32(v) => Cell::Float(v[row].into()),
            ColumnData::Float64(v) => Cell::Float(v[row]),
            ColumnData::Varlen(v) => {
                let b = varlen(v);
                match logical {
                    L::Text => Cell::Text(text(b)),
                    L::Json => Cell::Json(text(b)),
                    L::Decimal => Cell::Decimal(text(b)),
                    L::Document => Cell::Document(b),
                    _ => Cell::Bytes(b),
                }
            }
            ColumnData::Interval(i) => Cell::Interval(Interval {
                months: i.months[row],
                days: i.days[row],
                microseconds: i.microseconds[row],
            }),
            ColumnData::Uuid(v) => {
                let mut b = [0; 16];
                b.copy_from_slice(&v[row * 16..row * 16 + 16]);
                Cell::Uuid(b)
            }
            ColumnData::Dynamic(d) => {
                let at = self.dynamic_index[col].as_ref().map_or(0, |p| p[row] as usize);
                let slice = |v: &'a Varlen| &v.data[v.offsets[at] as usize..v.offsets[at + 1] as usize];
                match d.tags[row] {
                    tag::INTEGER => Cell::Int(d.integers[at]),
                    tag::FLOAT => Cell::Float(d.floats[at]),
                    tag::TEXT => Cell::Text(text(slice(&d.texts))),
                    tag::BYTES => Cell::Bytes(slice(&d.blobs)),
                    _ => Cell::Null,
                }
            }
        }
    }

    /// Row `row` as owned WIT values.
    pub fn row_values(&self, row: usize) -> Vec<Value> {
        (0..self.columns.len()).map(|c| self.cell(row, c).to_value()).collect()
    }
}

/// A whole result as rows of owned values (for small results a driver
/// reads back itself, e.g. catalog queries).
pub fn result_rows(result: &QueryResult) -> Result<Vec<Vec<Value>>> {
    let reader = BatchReader::new(&result.columns, &result.batch)?;
    Ok((0..reader.rows()).map(|r| reader.row_values(r)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(t: LogicalType) -> Column {
        column("c", t, "")
    }

    #[test]
    fn builds_and_reads_every_buffer() {
        let columns = vec![
            col(LogicalType::Int32),
            col(LogicalType::Text),
            col(LogicalType::Timestamptz),
            col(LogicalType::Uuid),
            col(LogicalType::Interval),
            col(LogicalType::Boolean),
        ];
        let mut b = BatchBuilder::new(&columns);
        for i in 0..10i32 {
            if i % 3 == 0 {
                b.columns_mut().iter_mut().for_each(|c| c.push_null());
            } else {
                b.column(0).push_i32(i).unwrap();
                b.column(1).push_str(&format!("é{i}")).unwrap();
                b.column(2).push_i64(i as i64 * 1_000_000).unwrap();
                b.column(3).push_uuid([i as u8; 16]).unwrap();
                b.column(4)
                    .push_interval(Interval {
                        months: i,
                        days: -i,
                        microseconds: 5,
                    })
                    .unwrap();
                b.column(5).push_bool(i % 2 == 0).unwrap();
            }
            b.end_row();
        }
        assert!(b.is_consistent());
        let batch = b.finish();
        assert_eq!(batch.rows, 10);
        let r = BatchReader::new(&columns, &batch).unwrap();
        assert_eq!(r.cell(0, 0), Cell::Null);
        assert_eq!(r.cell(0, 1), Cell::Null);
        assert_eq!(r.cell(4, 0), Cell::Int(4));
        assert_eq!(r.cell(4, 1), Cell::Text("é4"));
        assert_eq!(r.cell(4, 2), Cell::Timestamptz(4_000_000));
        assert_eq!(r.cell(4, 3), Cell::Uuid([4; 16]));
        assert_eq!(r.cell(5, 5), Cell::Bool(false));
        assert_eq!(
            r.cell(2, 4),
            Cell::Interval(Interval {
                months: 2,
                days: -2,
                microseconds: 5
            })
        );
        // The bitmap: rows 0, 3, 6, 9 are NULL.
        assert_eq!(batch.columns[0].validity, Some(vec![0b1011_0110, 0b0000_0001]));
    }

    #[test]
    fn no_bitmap_without_nulls() {
        let mut c = ColumnBuilder::new(LogicalType::Int64);
        c.push_i64(1).unwrap();
        assert_eq!(c.finish().validity, None);
    }

    #[test]
    fn wrong_buffer_is_an_error_not_a_panic() {
        let mut c = ColumnBuilder::new(LogicalType::Text);
        assert_eq!(c.push_i64(1).unwrap_err().kind(), crate::ErrorKind::InvalidInput);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn mixed_values_turn_dynamic_and_keep_everything() {
        let columns = vec![col(LogicalType::Int64)];
        let mut b = BatchBuilder::new(&columns);
        b.column(0).push_int(7).unwrap();
        b.end_row();
        b.column(0).push_null();
        b.end_row();
        b.column(0).push_text("abc").unwrap();
        b.end_row();
        b.column(0).push_float(1.5).unwrap();
        b.end_row();
        b.column(0).push_blob(&[0, 255]).unwrap();
        b.end_row();
        let batch = b.finish();
        assert!(matches!(batch.columns[0].data, ColumnData::Dynamic(_)));
        let r = BatchReader::new(&columns, &batch).unwrap();
        let cells: Vec<Cell> = (0..5).map(|i| r.cell(i, 0)).collect();
        assert_eq!(
            cells,
            vec![
                Cell::Int(7),
                Cell::Null,
                Cell::Text("abc"),
                Cell::Float(1.5),
                Cell::Bytes(&[0, 255])
            ]
        );
    }

    #[test]
    fn varlen_in_place_and_rollback() {
        let mut c = ColumnBuilder::new(LogicalType::Decimal);
        c.push_varlen_with(|buf| {
            buf.extend_from_slice(b"12.50");
            Ok(())
        })
        .unwrap();
        let failed = c.push_varlen_with(|buf| {
            buf.extend_from_slice(b"garbage");
            Err(Error::protocol("bad numeric"))
        });
        assert!(failed.is_err());
        c.push_null();
        let v = c.finish();
        let ColumnData::Varlen(v) = v.data else { panic!() };
        assert_eq!(v.offsets, vec![0, 5, 5]);
        assert_eq!(v.data, b"12.50");
    }

    #[test]
    fn reader_refuses_malformed_batches() {
        let columns = vec![col(LogicalType::Text)];
        let bad_offsets = Batch {
            rows: 2,
            columns: vec![ColumnValues {
                data: ColumnData::Varlen(Varlen {
                    offsets: vec![0, 3, 2],
                    data: b"abc".to_vec(),
                }),
                validity: None,
            }],
        };
        assert!(BatchReader::new(&columns, &bad_offsets).is_err());
        let split_char = Batch {
            rows: 2,
            columns: vec![ColumnValues {
                data: ColumnData::Varlen(Varlen {
                    offsets: vec![0, 1, 2],
                    data: "é".as_bytes().to_vec(),
                }),
                validity: None,
            }],
        };
        assert!(BatchReader::new(&columns, &split_char).is_err());
        let short = Batch {
            rows: 3,
            columns: vec![ColumnValues {
                data: ColumnData::Int64(vec![1, 2]),
                validity: None,
            }],
        };
        assert!(BatchReader::new(&[col(LogicalType::Int64)], &short).is_err());
        let bad_tag = Batch {
            rows: 1,
            columns: vec![ColumnValues {
                data: ColumnData::Dynamic(DynamicValues {
                    tags: vec![9],
                    integers: vec![],
                    floats: vec![],
                    texts: Varlen {
                        offsets: vec![0],
                        data: vec![],
                    },
                    blobs: Varlen {
                        offsets: vec![0],
                        data: vec![],
                    },
                }),
                validity: None,
            }],
        };
        assert!(BatchReader::new(&[col(LogicalType::Dynamic)], &bad_tag).is_err());
    }

    #[test]
    fn values_round_trip() {
        let columns = vec![
            col(LogicalType::Int64),
            col(LogicalType::Text),
            col(LogicalType::Date),
            col(LogicalType::Json),
        ];
        let rows = vec![
            vec![
                Value::Int(1),
                Value::Text("a".into()),
                Value::Date(-1),
                Value::Json("[1]".into()),
            ],
            vec![Value::Null, Value::Null, Value::Null, Value::Null],
        ];
        let result = result_from_values(columns, &rows).unwrap();
        let back = result_rows(&result).unwrap();
        assert_eq!(format!("{back:?}"), format!("{rows:?}"));
    }
}
