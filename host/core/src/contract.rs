//! The contract's columnar batch (`types.batch` of `wit/v0.2.0/types.wit`)
//! as plain Rust types, field for field. The host converts the generated
//! bindings' types to and from these by moving the buffers (no copy of
//! the values); [`batch`](crate::batch) and [`arrow`](crate::arrow) read
//! and build them.

/// Variable-length values back to back: value `i` is
/// `data[offsets[i] .. offsets[i + 1]]`. `offsets` has one entry more than
/// there are values, starts at 0 and never decreases (a driver's batch is
/// checked for this before it is read).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Varlen {
    pub offsets: Vec<u32>,
    pub data: Vec<u8>,
}

/// Intervals as three parallel lists, one entry per value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Intervals {
    pub months: Vec<i32>,
    pub days: Vec<i32>,
    pub microseconds: Vec<i64>,
}

/// Values of mixed types (SQLite's storage classes). `tags` has one entry
/// per value: 0 NULL, 1 integer, 2 float, 3 text, 4 bytes
/// ([`batch::tag`](crate::batch::tag)); a value is the next unread entry of
/// the list its tag names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DynamicValues {
    pub tags: Vec<u8>,
    pub integers: Vec<i64>,
    pub floats: Vec<f64>,
    pub texts: Varlen,
    pub blobs: Varlen,
}

/// The values of one column of a batch, in one typed buffer. NULL values
/// hold a placeholder (zero, empty) in fixed-width buffers.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
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
    Varlen(Varlen),
    Interval(Intervals),
    /// 16 bytes per value.
    Uuid(Vec<u8>),
    Dynamic(DynamicValues),
}

/// One column of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnValues {
    pub data: ColumnData,
    /// Validity bitmap as Apache Arrow lays it out: bit `i % 8` (least
    /// significant first) of byte `i / 8` is set when value `i` is not
    /// NULL. `None`: no value is NULL.
    pub validity: Option<Vec<u8>>,
}

/// Rows as columns: `columns[i]` holds result column `i`, each with `rows`
/// values.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub rows: u32,
    pub columns: Vec<ColumnValues>,
}
