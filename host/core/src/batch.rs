//! Columnar batches in the host: rows of values from what a driver sent
//! (checked first: a driver is not trusted), and batches from rows (bulk
//! input given as rows, results of 0.1 drivers).
//!
//! The layout is the contract's (`types.column-data` in the WIT): one
//! typed buffer per column, variable-length values back to back with
//! offsets, an Arrow-style validity bitmap.

use crate::contract as w;
use crate::value::{Column, Interval, LogicalType, Value};

type Check<T> = Result<T, String>;

fn bad(column: &str, what: impl std::fmt::Display) -> String {
    format!("the driver sent a malformed batch: column `{column}`: {what}")
}

fn check_len(column: &str, got: usize, want: usize) -> Check<()> {
    if got == want {
        Ok(())
    } else {
        Err(bad(column, format!("{got} entries for {want} values")))
    }
}

/// Checks variable-length values: `rows + 1` offsets from 0, in order,
/// ending at the data's end; with `utf8`, valid UTF-8 cut at character
/// boundaries only.
fn check_varlen(column: &str, v: &w::Varlen, rows: usize, utf8: bool) -> Check<()> {
    if v.offsets.len() != rows + 1 || v.offsets.first() != Some(&0) {
        return Err(bad(column, format!("{} offsets for {rows} values", v.offsets.len())));
    }
    if v.offsets.windows(2).any(|p| p[0] > p[1]) || v.offsets.last().map(|o| *o as usize) != Some(v.data.len()) {
        return Err(bad(column, "offsets out of order or past the data"));
    }
    if utf8 {
        let text = std::str::from_utf8(&v.data).map_err(|_| bad(column, "text that is not UTF-8"))?;
        if v.offsets.iter().any(|o| !text.is_char_boundary(*o as usize)) {
            return Err(bad(column, "a value cuts a UTF-8 character"));
        }
    }
    Ok(())
}

/// Whether a logical type's varlen values are text.
fn is_text(t: LogicalType) -> bool {
    matches!(t, LogicalType::Text | LogicalType::Json | LogicalType::Decimal)
}

/// Most cells of a batch that no buffer backs: rows × `null` columns, or
/// rows when there are no columns (`SELECT FROM t`). A driver that claims
/// more would make the host allocate without bound (found by the
/// `host_batch` fuzzer: 2³² - 1 rows of no columns asked for 96 GiB).
pub const MAX_CELLS_WITHOUT_DATA: u64 = 1 << 22;

/// Checks that `batch` holds well-formed data for `columns`: one buffer
/// per column, every length right, text valid UTF-8, `dynamic` tags known
/// and matching their lists. Gives, per `dynamic` column, each value's
/// position in its sub-list. Errors: a message naming the column and what
/// is wrong with it.
pub fn check(columns: &[Column], batch: &w::Batch) -> Check<Vec<Option<Vec<u32>>>> {
    if batch.columns.len() != columns.len() {
        return Err(format!(
            "the driver sent a malformed batch: {} columns of data for {} columns",
            batch.columns.len(),
            columns.len()
        ));
    }
    // Cells of `null` columns (and rows without columns) are not backed
    // by any bytes the driver sent, but reading them as rows costs the
    // host ~24-56 bytes each: their number is bounded.
    let null_columns = batch
        .columns
        .iter()
        .filter(|v| matches!(v.data, w::ColumnData::Null))
        .count();
    let unbacked = u64::from(batch.rows) * (null_columns.max(usize::from(batch.columns.is_empty())) as u64);
    if unbacked > MAX_CELLS_WITHOUT_DATA {
        return Err(format!(
            "the driver sent a malformed batch: {} rows of {} columns, {} of them `null`: more than \
             {MAX_CELLS_WITHOUT_DATA} cells without data",
            batch.rows,
            columns.len(),
            null_columns
        ));
    }
    let rows = batch.rows as usize;
    let mut positions = Vec::with_capacity(columns.len());
    for (c, values) in columns.iter().zip(&batch.columns) {
        let name = c.name.as_str();
        if let Some(bits) = &values.validity {
            if bits.len() < rows.div_ceil(8) {
                return Err(bad(name, "validity bitmap too short"));
            }
        }
        let mut index = None;
        match &values.data {
            w::ColumnData::Null => {}
            w::ColumnData::Boolean(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Int8(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Int16(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Int32(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Int64(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Uint8(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Uint16(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Uint32(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Uint64(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Float32(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Float64(v) => check_len(name, v.len(), rows)?,
            w::ColumnData::Varlen(v) => check_varlen(name, v, rows, is_text(c.logical_type))?,
            w::ColumnData::Interval(i) => {
                check_len(name, i.months.len(), rows)?;
                check_len(name, i.days.len(), rows)?;
                check_len(name, i.microseconds.len(), rows)?;
            }
            w::ColumnData::Uuid(v) => check_len(name, v.len(), rows * 16)?,
            w::ColumnData::Dynamic(d) => {
                check_len(name, d.tags.len(), rows)?;
                // NULL in the bitmap is NULL in the tags: Arrow's union
                // has no bitmap of its own, so rows and Arrow would differ.
                if let Some(i) = (0..rows).find(|i| !valid(&values.validity, *i) && d.tags[*i] != tag::NULL) {
                    return Err(bad(
                        name,
                        format!(
                            "value {} is NULL in the validity bitmap but has tag {}",
                            i + 1,
                            d.tags[i]
                        ),
                    ));
                }
                let mut counts = [0u32; 5];
                let mut at = Vec::with_capacity(rows);
                for t in &d.tags {
                    let slot = counts
                        .get_mut(*t as usize)
                        .ok_or_else(|| bad(name, format!("unknown dynamic tag {t}")))?;
                    at.push(*slot);
                    *slot += 1;
                }
                if counts[1] as usize != d.integers.len() || counts[2] as usize != d.floats.len() {
                    return Err(bad(name, "dynamic tags and values disagree"));
                }
                check_varlen(name, &d.texts, counts[3] as usize, true)?;
                check_varlen(name, &d.blobs, counts[4] as usize, false)?;
                index = Some(at);
            }
        }
        positions.push(index);
    }
    Ok(positions)
}

/// Tags of `dynamic` values.
pub mod tag {
    pub const NULL: u8 = 0;
    pub const INTEGER: u8 = 1;
    pub const FLOAT: u8 = 2;
    pub const TEXT: u8 = 3;
    pub const BYTES: u8 = 4;
}

/// Whether value `i` is valid (not NULL). `bits` must hold at least
/// `i / 8 + 1` bytes (as [`check`] makes sure).
#[inline]
pub fn valid(bits: &Option<Vec<u8>>, i: usize) -> bool {
    match bits {
        None => true,
        Some(b) => b[i / 8] & (1 << (i % 8)) != 0,
    }
}

fn text_at(v: &w::Varlen, i: usize) -> &str {
    // Checked as UTF-8 at character boundaries in `check`.
    std::str::from_utf8(&v.data[v.offsets[i] as usize..v.offsets[i + 1] as usize]).unwrap_or_default()
}

fn bytes_at(v: &w::Varlen, i: usize) -> &[u8] {
    &v.data[v.offsets[i] as usize..v.offsets[i + 1] as usize]
}

/// The rows of a batch as values (checked first; a bad batch is an error
/// naming the column). Integers of every width become `Int` (an unsigned
/// value above `i64::MAX` an exact `Decimal`), floats `Float`.
pub fn to_rows(columns: &[Column], batch: &w::Batch) -> Check<Vec<Vec<Value>>> {
    let positions = check(columns, batch)?;
    let n = batch.rows as usize;
    let mut rows: Vec<Vec<Value>> = (0..n).map(|_| Vec::with_capacity(columns.len())).collect();
    for ((c, values), at) in columns.iter().zip(&batch.columns).zip(&positions) {
        let ok = |i: usize| valid(&values.validity, i);
        let mut fill = |f: &dyn Fn(usize) -> Value| {
            for (i, row) in rows.iter_mut().enumerate() {
                row.push(if ok(i) { f(i) } else { Value::Null });
            }
        };
        let t = c.logical_type;
        match &values.data {
            w::ColumnData::Null => fill(&|_| Value::Null),
            w::ColumnData::Boolean(v) => fill(&|i| Value::Boolean(v[i])),
            w::ColumnData::Int8(v) => fill(&|i| Value::Int(v[i].into())),
            w::ColumnData::Int16(v) => fill(&|i| Value::Int(v[i].into())),
            w::ColumnData::Int32(v) if t == LogicalType::Date => fill(&|i| Value::Date(v[i])),
            w::ColumnData::Int32(v) => fill(&|i| Value::Int(v[i].into())),
            w::ColumnData::Int64(v) => match t {
                LogicalType::Time => fill(&|i| Value::Time(v[i])),
                LogicalType::Timestamp => fill(&|i| Value::Timestamp(v[i])),
                LogicalType::Timestamptz => fill(&|i| Value::Timestamptz(v[i])),
                _ => fill(&|i| Value::Int(v[i])),
            },
            w::ColumnData::Uint8(v) => fill(&|i| Value::Int(v[i].into())),
            w::ColumnData::Uint16(v) => fill(&|i| Value::Int(v[i].into())),
            w::ColumnData::Uint32(v) => fill(&|i| Value::Int(v[i].into())),
            w::ColumnData::Uint64(v) => fill(&|i| match i64::try_from(v[i]) {
                Ok(x) => Value::Int(x),
                Err(_) => Value::Decimal(v[i].to_string()),
            }),
            w::ColumnData::Float32(v) => fill(&|i| Value::Float(v[i].into())),
            w::ColumnData::Float64(v) => fill(&|i| Value::Float(v[i])),
            w::ColumnData::Varlen(v) => match t {
                LogicalType::Text => fill(&|i| Value::Text(text_at(v, i).to_string())),
                LogicalType::Json => fill(&|i| Value::Json(text_at(v, i).to_string())),
                LogicalType::Decimal => fill(&|i| Value::Decimal(text_at(v, i).to_string())),
                LogicalType::Document => fill(&|i| Value::Document(bytes_at(v, i).to_vec())),
                _ => fill(&|i| Value::Bytes(bytes_at(v, i).to_vec())),
            },
            w::ColumnData::Interval(iv) => fill(&|i| {
                Value::Interval(Interval {
                    months: iv.months[i],
                    days: iv.days[i],
                    microseconds: iv.microseconds[i],
                })
            }),
            w::ColumnData::Uuid(v) => fill(&|i| {
                let b: [u8; 16] = v[i * 16..i * 16 + 16].try_into().unwrap_or_default();
                let x = u128::from_be_bytes(b);
                Value::Uuid(((x >> 64) as u64, x as u64))
            }),
            w::ColumnData::Dynamic(d) => {
                let at = at.as_deref().unwrap_or_default();
                fill(&|i| {
                    let k = at[i] as usize;
                    match d.tags[i] {
                        tag::INTEGER => Value::Int(d.integers[k]),
                        tag::FLOAT => Value::Float(d.floats[k]),
                        tag::TEXT => Value::Text(text_at(&d.texts, k).to_string()),
                        tag::BYTES => Value::Bytes(bytes_at(&d.blobs, k).to_vec()),
                        _ => Value::Null,
                    }
                })
            }
        }
    }
    Ok(rows)
}

/// The logical type a value travels as on its own.
pub fn value_type(v: &Value) -> LogicalType {
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

/// Whether a value can live in a `dynamic` column (SQLite's classes).
fn dynamic_class(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Int(_) | Value::Float(_) | Value::Text(_) | Value::Bytes(_)
    )
}

/// The logical type of one column of `rows`: `hint` when given (not
/// `null`), else the type of its values; `dynamic` when they mix integers,
/// floats, text and bytes.
fn column_type(name: &str, hint: LogicalType, rows: &[Vec<Value>], i: usize) -> Check<LogicalType> {
    if hint != LogicalType::Null {
        return Ok(hint);
    }
    let mut found = LogicalType::Null;
    let mut dynamic = true;
    for row in rows {
        let v = &row[i];
        dynamic &= dynamic_class(v);
        let t = value_type(v);
        match (found, t) {
            (_, LogicalType::Null) => {}
            (LogicalType::Null, t) => found = t,
            (f, t) if f == t => {}
            (f, t) if dynamic => {
                let _ = (f, t);
                found = LogicalType::Dynamic;
            }
            (f, t) => {
                return Err(format!(
                    "column `{name}` mixes {} and {} values; give each column one type",
                    f.name(),
                    t.name()
                ))
            }
        }
    }
    Ok(found)
}

/// A growing validity bitmap.
#[derive(Default)]
struct Bits {
    bits: Vec<u8>,
    len: usize,
    nulls: usize,
}

impl Bits {
    fn push(&mut self, valid: bool) {
        if self.len.is_multiple_of(8) {
            self.bits.push(0);
        }
        if valid {
            if let Some(b) = self.bits.last_mut() {
                *b |= 1 << (self.len % 8);
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

#[derive(Default)]
struct VarlenOut {
    offsets: Vec<u32>,
    data: Vec<u8>,
}

impl VarlenOut {
    fn new() -> VarlenOut {
        VarlenOut {
            offsets: vec![0],
            data: Vec::new(),
        }
    }

    fn push(&mut self, b: &[u8]) -> Check<()> {
        self.data.extend_from_slice(b);
        let end = u32::try_from(self.data.len()).map_err(|_| "a column holds more than 4 GiB".to_string())?;
        self.offsets.push(end);
        Ok(())
    }

    fn finish(self) -> w::Varlen {
        w::Varlen {
            offsets: self.offsets,
            data: self.data,
        }
    }
}

fn mismatch(name: &str, t: LogicalType, v: &Value) -> String {
    format!(
        "column `{name}` is {} but a value is {}",
        t.name(),
        value_type(v).name()
    )
}

/// One column of `rows` (column `i`) as a buffer of logical type `t`.
fn build_column(name: &str, t: LogicalType, rows: &[Vec<Value>], i: usize) -> Check<w::ColumnValues> {
    let mut bits = Bits::default();
    let values = rows.iter().map(|r| &r[i]);
    macro_rules! fixed {
        ($variant:ident, $zero:expr, $pat:pat => $x:expr) => {{
            let mut out = Vec::with_capacity(rows.len());
            for v in values {
                match v {
                    Value::Null => {
                        bits.push(false);
                        out.push($zero);
                    }
                    $pat => {
                        bits.push(true);
                        out.push($x);
                    }
                    other => return Err(mismatch(name, t, other)),
                }
            }
            w::ColumnData::$variant(out)
        }};
    }
    let range = |x: i64, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(format!("column `{name}`: {x} is out of range for {}", t.name()))
        }
    };
    let data = match t {
        LogicalType::Null => {
            if let Some(v) = values.clone().find(|v| !v.is_null()) {
                return Err(mismatch(name, t, v));
            }
            return Ok(w::ColumnValues {
                data: w::ColumnData::Null,
                validity: None,
            });
        }
        LogicalType::Boolean => fixed!(Boolean, false, Value::Boolean(b) => *b),
        LogicalType::Int8 => fixed!(Int8, 0, Value::Int(x) => {
            range(*x, i8::try_from(*x).is_ok())?;
            *x as i8
        }),
        LogicalType::Int16 => fixed!(Int16, 0, Value::Int(x) => {
            range(*x, i16::try_from(*x).is_ok())?;
            *x as i16
        }),
        LogicalType::Int32 => fixed!(Int32, 0, Value::Int(x) => {
            range(*x, i32::try_from(*x).is_ok())?;
            *x as i32
        }),
        LogicalType::Int64 => fixed!(Int64, 0, Value::Int(x) => *x),
        LogicalType::Uint8 | LogicalType::Uint16 | LogicalType::Uint32 | LogicalType::Uint64 => {
            let mut out = Vec::with_capacity(rows.len());
            for v in values {
                match v {
                    Value::Null => {
                        bits.push(false);
                        out.push(0u64);
                    }
                    Value::Int(x) => {
                        range(*x, *x >= 0)?;
                        bits.push(true);
                        out.push(*x as u64);
                    }
                    Value::Decimal(d) => {
                        let x: u64 = d
                            .parse()
                            .map_err(|_| format!("column `{name}`: {d} is not an unsigned integer"))?;
                        bits.push(true);
                        out.push(x);
                    }
                    other => return Err(mismatch(name, t, other)),
                }
            }
            let fits = |max: u64| out.iter().all(|x| *x <= max);
            match t {
                LogicalType::Uint8 if fits(u8::MAX.into()) => {
                    w::ColumnData::Uint8(out.iter().map(|x| *x as u8).collect())
                }
                LogicalType::Uint16 if fits(u16::MAX.into()) => {
                    w::ColumnData::Uint16(out.iter().map(|x| *x as u16).collect())
                }
                LogicalType::Uint32 if fits(u32::MAX.into()) => {
                    w::ColumnData::Uint32(out.iter().map(|x| *x as u32).collect())
                }
                LogicalType::Uint64 => w::ColumnData::Uint64(out),
                _ => return Err(format!("column `{name}`: a value is out of range for {}", t.name())),
            }
        }
        LogicalType::Float32 => fixed!(Float32, 0.0, Value::Float(x) => *x as f32),
        LogicalType::Float64 => fixed!(Float64, 0.0, Value::Float(x) => *x),
        LogicalType::Date => fixed!(Int32, 0, Value::Date(x) => *x),
        LogicalType::Time => fixed!(Int64, 0, Value::Time(x) => *x),
        LogicalType::Timestamp => fixed!(Int64, 0, Value::Timestamp(x) => *x),
        LogicalType::Timestamptz => fixed!(Int64, 0, Value::Timestamptz(x) => *x),
        LogicalType::Decimal | LogicalType::Text | LogicalType::Json | LogicalType::Bytes | LogicalType::Document => {
            let mut out = VarlenOut::new();
            for v in values {
                let b: &[u8] = match (t, v) {
                    (_, Value::Null) => {
                        bits.push(false);
                        out.push(&[])?;
                        continue;
                    }
                    (LogicalType::Decimal, Value::Decimal(s))
                    | (LogicalType::Text, Value::Text(s))
                    | (LogicalType::Json, Value::Json(s)) => s.as_bytes(),
                    (LogicalType::Bytes, Value::Bytes(b)) | (LogicalType::Document, Value::Document(b)) => b,
                    (_, other) => return Err(mismatch(name, t, other)),
                };
                bits.push(true);
                out.push(b)?;
            }
            w::ColumnData::Varlen(out.finish())
        }
        LogicalType::Interval => {
            let (mut m, mut d, mut us) = (Vec::new(), Vec::new(), Vec::new());
            for v in values {
                let iv = match v {
                    Value::Null => {
                        bits.push(false);
                        Interval {
                            months: 0,
                            days: 0,
                            microseconds: 0,
                        }
                    }
                    Value::Interval(iv) => {
                        bits.push(true);
                        *iv
                    }
                    other => return Err(mismatch(name, t, other)),
                };
                m.push(iv.months);
                d.push(iv.days);
                us.push(iv.microseconds);
            }
            w::ColumnData::Interval(w::Intervals {
                months: m,
                days: d,
                microseconds: us,
            })
        }
        LogicalType::Uuid => {
            let mut out = Vec::with_capacity(rows.len() * 16);
            for v in values {
                match v {
                    Value::Null => {
                        bits.push(false);
                        out.extend_from_slice(&[0; 16]);
                    }
                    Value::Uuid((hi, lo)) => {
                        bits.push(true);
                        out.extend_from_slice(&hi.to_be_bytes());
                        out.extend_from_slice(&lo.to_be_bytes());
                    }
                    other => return Err(mismatch(name, t, other)),
                }
            }
            w::ColumnData::Uuid(out)
        }
        LogicalType::Dynamic => {
            let mut d = w::DynamicValues {
                tags: Vec::with_capacity(rows.len()),
                integers: Vec::new(),
                floats: Vec::new(),
                texts: w::Varlen {
                    offsets: vec![0],
                    data: Vec::new(),
                },
                blobs: w::Varlen {
                    offsets: vec![0],
                    data: Vec::new(),
                },
            };
            let (mut texts, mut blobs) = (VarlenOut::new(), VarlenOut::new());
            for v in values {
                bits.push(!v.is_null());
                match v {
                    Value::Null => d.tags.push(tag::NULL),
                    Value::Int(x) => {
                        d.tags.push(tag::INTEGER);
                        d.integers.push(*x);
                    }
                    Value::Float(x) => {
                        d.tags.push(tag::FLOAT);
                        d.floats.push(*x);
                    }
                    Value::Text(s) => {
                        d.tags.push(tag::TEXT);
                        texts.push(s.as_bytes())?;
                    }
                    Value::Bytes(b) => {
                        d.tags.push(tag::BYTES);
                        blobs.push(b)?;
                    }
                    other => return Err(mismatch(name, t, other)),
                }
            }
            d.texts = texts.finish();
            d.blobs = blobs.finish();
            w::ColumnData::Dynamic(d)
        }
    };
    Ok(w::ColumnValues {
        data,
        validity: bits.finish(),
    })
}

/// Rows of values as a batch for `columns` (names, database type names,
/// and logical types where known: `null` means "from the values"). Every
/// row must have one value per column. Gives the columns with their
/// logical types settled.
pub fn from_rows(columns: &[Column], rows: &[Vec<Value>]) -> Check<(Vec<Column>, w::Batch)> {
    if let Some(i) = rows.iter().position(|r| r.len() != columns.len()) {
        return Err(format!(
            "row {} has {} values, {} expected",
            i + 1,
            rows[i].len(),
            columns.len()
        ));
    }
    let n = u32::try_from(rows.len()).map_err(|_| "more than 4 294 967 295 rows in one batch".to_string())?;
    let mut out_columns = Vec::with_capacity(columns.len());
    let mut data = Vec::with_capacity(columns.len());
    for (i, c) in columns.iter().enumerate() {
        let t = column_type(&c.name, c.logical_type, rows, i)?;
        data.push(build_column(&c.name, t, rows, i)?);
        out_columns.push(Column {
            logical_type: t,
            ..c.clone()
        });
    }
    Ok((out_columns, w::Batch { rows: n, columns: data }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> Column {
        Column::new(name, LogicalType::Null, "")
    }

    /// Found by the `host_batch` fuzzer: a batch of 2³² - 1 rows and no
    /// columns made `to_rows` allocate 96 GiB (the process aborted).
    #[test]
    fn rows_that_no_data_backs_are_bounded() {
        let empty = |rows: u32, columns: usize| w::Batch {
            rows,
            columns: (0..columns)
                .map(|_| w::ColumnValues {
                    data: w::ColumnData::Null,
                    validity: None,
                })
                .collect(),
        };
        let nulls = |n: usize| (0..n).map(|i| col(&format!("n{i}"))).collect::<Vec<_>>();
        let e = to_rows(&[], &empty(u32::MAX, 0)).unwrap_err();
        assert!(e.contains("4294967295 rows") && e.contains("without data"), "{e}");
        let e = crate::arrow::record_batch(&[], empty(u32::MAX, 0)).unwrap_err();
        assert!(e.contains("without data"), "{e}");
        let e = to_rows(&nulls(8), &empty(1 << 20, 8)).unwrap_err();
        assert!(e.contains("8 of them `null`"), "{e}");
        // Rows of no columns within the bound are read (PostgreSQL's `SELECT FROM t`).
        assert_eq!(to_rows(&[], &empty(1000, 0)).unwrap().len(), 1000);
        assert_eq!(
            to_rows(&nulls(2), &empty(1000, 2)).unwrap()[999],
            [Value::Null, Value::Null]
        );
    }

    /// Found by the `host_batch` fuzzer: rows said NULL, Arrow the float.
    #[test]
    fn a_dynamic_value_null_in_the_bitmap_must_be_tagged_null() {
        let batch = |tags: Vec<u8>| w::Batch {
            rows: 2,
            columns: vec![w::ColumnValues {
                data: w::ColumnData::Dynamic(w::DynamicValues {
                    floats: vec![1.5; tags.iter().filter(|t| **t == tag::FLOAT).count()],
                    tags,
                    integers: Vec::new(),
                    texts: w::Varlen {
                        offsets: vec![0],
                        data: Vec::new(),
                    },
                    blobs: w::Varlen {
                        offsets: vec![0],
                        data: Vec::new(),
                    },
                }),
                validity: Some(vec![0b01]),
            }],
        };
        let c = [Column::new("d", LogicalType::Dynamic, "")];
        let e = to_rows(&c, &batch(vec![tag::FLOAT, tag::FLOAT])).unwrap_err();
        assert!(e.contains("`d`") && e.contains("value 2 is NULL"), "{e}");
        assert!(crate::arrow::record_batch(&c, batch(vec![tag::FLOAT, tag::FLOAT])).is_err());
        let rows = to_rows(&c, &batch(vec![tag::FLOAT, tag::NULL])).unwrap();
        assert_eq!(rows, [[Value::Float(1.5)], [Value::Null]]);
    }

    #[test]
    fn rows_round_trip_through_a_batch() {
        let rows = vec![
            vec![
                Value::Int(1),
                Value::Text("é".into()),
                Value::Date(-5),
                Value::Uuid((1, 2)),
                Value::Null,
                Value::Interval(Interval {
                    months: 1,
                    days: -2,
                    microseconds: 3,
                }),
            ],
            vec![
                Value::Null,
                Value::Text("b".into()),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        ];
        let names: Vec<Column> = ["a", "b", "c", "d", "e", "f"].iter().map(|n| col(n)).collect();
        let (columns, batch) = from_rows(&names, &rows).unwrap();
        assert_eq!(columns[0].logical_type, LogicalType::Int64);
        assert_eq!(columns[4].logical_type, LogicalType::Null);
        assert_eq!(to_rows(&columns, &batch).unwrap(), rows);
    }

    #[test]
    fn mixed_columns() {
        let rows = vec![
            vec![Value::Int(1)],
            vec![Value::Text("x".into())],
            vec![Value::Float(0.5)],
        ];
        let (columns, batch) = from_rows(&[col("a")], &rows).unwrap();
        assert_eq!(columns[0].logical_type, LogicalType::Dynamic);
        assert_eq!(to_rows(&columns, &batch).unwrap(), rows);
        let bad = vec![vec![Value::Date(1)], vec![Value::Text("x".into())]];
        assert!(from_rows(&[col("a")], &bad).unwrap_err().contains("mixes"));
        assert!(from_rows(&[col("a"), col("b")], &[vec![Value::Int(1)]]).is_err());
    }

    #[test]
    fn hints_are_checked() {
        let t = Column::new("a", LogicalType::Int16, "int2");
        assert!(from_rows(std::slice::from_ref(&t), &[vec![Value::Int(70_000)]]).is_err());
        let (_, b) = from_rows(&[t], &[vec![Value::Int(-7)]]).unwrap();
        assert!(matches!(&b.columns[0].data, w::ColumnData::Int16(v) if v == &[-7]));
    }

    #[test]
    fn malformed_batches_are_errors_not_panics() {
        let text = Column::new("t", LogicalType::Text, "text");
        let batch = |data| w::Batch {
            rows: 2,
            columns: vec![w::ColumnValues { data, validity: None }],
        };
        let cases = vec![
            batch(w::ColumnData::Int64(vec![1])),
            batch(w::ColumnData::Varlen(w::Varlen {
                offsets: vec![0, 5, 1],
                data: vec![0; 5],
            })),
            batch(w::ColumnData::Varlen(w::Varlen {
                offsets: vec![0, 1, 2],
                data: "é".as_bytes().to_vec(),
            })),
            batch(w::ColumnData::Varlen(w::Varlen {
                offsets: vec![0, 1, 9],
                data: vec![b'a'; 2],
            })),
            batch(w::ColumnData::Uuid(vec![0; 17])),
            batch(w::ColumnData::Dynamic(w::DynamicValues {
                tags: vec![1, 7],
                integers: vec![1],
                floats: vec![],
                texts: w::Varlen {
                    offsets: vec![0],
                    data: vec![],
                },
                blobs: w::Varlen {
                    offsets: vec![0],
                    data: vec![],
                },
            })),
            w::Batch {
                rows: 9,
                columns: vec![w::ColumnValues {
                    data: w::ColumnData::Null,
                    validity: Some(vec![0]),
                }],
            },
        ];
        for b in cases {
            assert!(to_rows(std::slice::from_ref(&text), &b).is_err());
        }
        assert!(to_rows(&[], &batch(w::ColumnData::Null)).is_err());
    }
}
