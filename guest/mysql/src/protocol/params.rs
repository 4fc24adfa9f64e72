//! Parameters of the binary protocol: contract values and batch cells as
//! COM_STMT_EXECUTE parameters, encoded straight from the borrowed values
//! (no owned copy of each text or byte string), or as `mysql_common`
//! values for the rare statement that needs COM_STMT_SEND_LONG_DATA.

use std::borrow::Cow;

use driverbox_guest_sdk::batch::Cell;
use driverbox_guest_sdk::time::{civil_from_days, format_uuid, MICROS_PER_DAY};
use driverbox_guest_sdk::types::Value;
use driverbox_guest_sdk::{Error, Result};
use mysql_common::constants::ColumnType;
use mysql_common::proto::MySerialize;
use mysql_common::Value as My;

use super::wire::put_lenenc_int;

const COM_STMT_EXECUTE: u8 = 0x17;
/// The `UNSIGNED` flag of a parameter type.
const UNSIGNED: u8 = 0x80;

fn datetime(micros: i64) -> Result<My> {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let clock = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let y = u16::try_from(y)
        .ok()
        .filter(|y| *y <= 9999)
        .ok_or_else(|| Error::invalid(format!("year {y} is outside MySQL's DATETIME range 0000-9999")))?;
    let secs = clock / 1_000_000;
    Ok(My::Date(
        y,
        m as u8,
        d as u8,
        (secs / 3600) as u8,
        ((secs / 60) % 60) as u8,
        (secs % 60) as u8,
        (clock % 1_000_000) as u32,
    ))
}

/// A TIME of `micros` (negative allowed; MySQL's range is ±838:59:59).
fn time(micros: i64) -> My {
    let neg = micros < 0;
    let a = micros.unsigned_abs();
    let secs = a / 1_000_000;
    let days = secs / 86_400;
    My::Time(
        neg,
        days.min(u32::MAX as u64) as u32,
        ((secs / 3600) % 24) as u8,
        ((secs / 60) % 60) as u8,
        (secs % 60) as u8,
        (a % 1_000_000) as u32,
    )
}

/// One COM_STMT_EXECUTE parameter: a scalar as a `mysql_common` value
/// (none of which allocates) or a byte string, borrowed where it can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Param<'a> {
    Scalar(My),
    Bytes(Cow<'a, [u8]>),
}

impl Param<'_> {
    /// Bytes of its value in the packet; 0 for NULL (sent in the bitmap).
    pub fn bin_len(&self) -> usize {
        match self {
            Param::Scalar(m) => m.bin_len() as usize,
            Param::Bytes(b) => lenenc_len(b.len()) + b.len(),
        }
    }

    /// The owned `mysql_common` value (for COM_STMT_SEND_LONG_DATA).
    pub fn into_mysql(self) -> My {
        match self {
            Param::Scalar(m) => m,
            Param::Bytes(b) => My::Bytes(b.into_owned()),
        }
    }

    /// The type byte and flags byte of the packet's parameter types.
    fn type_and_flags(&self) -> [u8; 2] {
        let t = match self {
            Param::Bytes(_) => ColumnType::MYSQL_TYPE_VAR_STRING,
            Param::Scalar(m) => match m {
                My::NULL => ColumnType::MYSQL_TYPE_NULL,
                My::Bytes(_) => ColumnType::MYSQL_TYPE_VAR_STRING,
                My::Int(_) | My::UInt(_) => ColumnType::MYSQL_TYPE_LONGLONG,
                My::Float(_) => ColumnType::MYSQL_TYPE_FLOAT,
                My::Double(_) => ColumnType::MYSQL_TYPE_DOUBLE,
                My::Date(..) => ColumnType::MYSQL_TYPE_DATETIME,
                My::Time(..) => ColumnType::MYSQL_TYPE_TIME,
            },
        };
        let flags = if matches!(self, Param::Scalar(My::UInt(_))) {
            UNSIGNED
        } else {
            0
        };
        [t as u8, flags]
    }
}

fn lenenc_len(n: usize) -> usize {
    match n {
        0..=250 => 1,
        251..=0xFFFF => 3,
        0x1_0000..=0xFF_FFFF => 4,
        _ => 9,
    }
}

/// A contract value as a binary-protocol parameter.
pub fn param(v: &Value) -> Result<Param<'_>> {
    cell_param(Cell::from(v))
}

/// A batch cell as a binary-protocol parameter: integers as LONGLONG
/// (unsigned ones flagged), floats as DOUBLE, decimals, text and JSON as
/// strings, dates and timestamps as DATETIME, times and intervals as TIME,
/// UUIDs as their 36-character text. Errors: `invalid` for a year outside
/// 0000–9999, an interval with months, or a BSON document.
pub fn cell_param(c: Cell<'_>) -> Result<Param<'_>> {
    Ok(match c {
        Cell::Null => Param::Scalar(My::NULL),
        Cell::Bool(b) => Param::Scalar(My::Int(i64::from(b))),
        Cell::Int(i) => Param::Scalar(My::Int(i)),
        Cell::UInt(u) => Param::Scalar(My::UInt(u)),
        Cell::Float(f) => Param::Scalar(My::Double(f)),
        Cell::Decimal(s) | Cell::Text(s) | Cell::Json(s) => Param::Bytes(Cow::Borrowed(s.as_bytes())),
        Cell::Bytes(b) => Param::Bytes(Cow::Borrowed(b)),
        Cell::Date(d) => Param::Scalar(match datetime(i64::from(d) * MICROS_PER_DAY)? {
            My::Date(y, m, d, ..) => My::Date(y, m, d, 0, 0, 0, 0),
            other => other,
        }),
        Cell::Time(us) => Param::Scalar(time(us)),
        Cell::Timestamp(us) | Cell::Timestamptz(us) => Param::Scalar(datetime(us)?),
        Cell::Interval(iv) => {
            if iv.months != 0 {
                return Err(Error::invalid(
                    "an interval with months has no MySQL TIME equivalent; give days and time only",
                ));
            }
            Param::Scalar(time(
                i64::from(iv.days)
                    .checked_mul(MICROS_PER_DAY)
                    .and_then(|d| d.checked_add(iv.microseconds))
                    .ok_or_else(|| Error::invalid("interval out of range"))?,
            ))
        }
        Cell::Uuid(b) => Param::Bytes(Cow::Owned(format_uuid(&b).into_bytes())),
        Cell::Document(_) => return Err(Error::invalid("MySQL has no BSON document type; pass JSON text")),
    })
}

/// The payload length of COM_STMT_EXECUTE with `params`.
pub fn execute_len(params: &[Param<'_>]) -> usize {
    let head = 10;
    if params.is_empty() {
        return head;
    }
    head + params.len().div_ceil(8) + 1 + 2 * params.len() + params.iter().map(Param::bin_len).sum::<usize>()
}

/// Appends the payload of COM_STMT_EXECUTE for statement `stmt_id` with
/// `params` to `out`: no cursor, one iteration, the NULL bitmap, the
/// parameter types (sent every time), then the non-NULL values. The caller
/// keeps the payload under 16 MiB ([`execute_len`], which also sizes
/// `out` ahead); beyond that the
/// protocol wants the long strings sent ahead with COM_STMT_SEND_LONG_DATA.
pub fn encode_execute(stmt_id: u32, params: &[Param<'_>], out: &mut Vec<u8>) {
    out.push(COM_STMT_EXECUTE);
    out.extend_from_slice(&stmt_id.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&1u32.to_le_bytes());
    if params.is_empty() {
        return;
    }
    let bitmap = out.len();
    out.resize(bitmap + params.len().div_ceil(8), 0);
    for (i, p) in params.iter().enumerate() {
        if matches!(p, Param::Scalar(My::NULL)) {
            out[bitmap + i / 8] |= 1 << (i % 8);
        }
    }
    out.push(1);
    for p in params {
        out.extend_from_slice(&p.type_and_flags());
    }
    for p in params {
        match p {
            Param::Scalar(m) => m.serialize(out),
            Param::Bytes(b) => {
                put_lenenc_int(out, b.len() as u64);
                out.extend_from_slice(b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox_guest_sdk::types::Interval;

    fn my(v: &Value) -> Result<My> {
        param(v).map(Param::into_mysql)
    }

    #[test]
    fn converts_values() {
        assert_eq!(my(&Value::Boolean(true)).unwrap(), My::Int(1));
        assert_eq!(my(&Value::Date(1)).unwrap(), My::Date(1970, 1, 2, 0, 0, 0, 0));
        assert_eq!(
            my(&Value::Timestamp(-1)).unwrap(),
            My::Date(1969, 12, 31, 23, 59, 59, 999_999)
        );
        assert_eq!(
            my(&Value::Time(-90_000_000_000)).unwrap(),
            My::Time(true, 1, 1, 0, 0, 0)
        );
        let iv = Interval {
            months: 1,
            days: 0,
            microseconds: 0,
        };
        assert!(my(&Value::Interval(iv)).is_err());
        assert!(my(&Value::Timestamp(i64::MAX)).is_err());
        assert_eq!(
            my(&Value::Uuid((0x0011223344556677, 0x8899aabbccddeeff))).unwrap(),
            My::Bytes(b"00112233-4455-6677-8899-aabbccddeeff".to_vec())
        );
    }

    /// The direct encoder writes the same bytes as `mysql_common`'s
    /// builder, for every kind of parameter and a NULL bitmap of several
    /// bytes.
    #[test]
    fn encodes_execute_as_mysql_common_does() {
        use mysql_common::packets::ComStmtExecuteRequestBuilder;
        let long = "x".repeat(300);
        let values = vec![
            Value::Null,
            Value::Boolean(false),
            Value::Int(-7),
            Value::Float(1.5),
            Value::Decimal("12.30".into()),
            Value::Text("héllo".into()),
            Value::Text(long),
            Value::Bytes(vec![0, 255]),
            Value::Bytes(Vec::new()),
            Value::Null,
            Value::Date(19_000),
            Value::Time(-90_000_000_001),
            Value::Time(0),
            Value::Timestamp(1_700_000_000_123_456),
            Value::Timestamp(1_700_000_000_000_000),
            Value::Timestamptz(0),
            Value::Json("{}".into()),
            Value::Uuid((1, 2)),
        ];
        let params: Vec<Param> = values.iter().map(|v| param(v).unwrap()).collect();
        let mut ours = Vec::new();
        encode_execute(42, &params, &mut ours);
        assert_eq!(ours.len(), execute_len(&params));
        let owned: Vec<My> = params.iter().cloned().map(Param::into_mysql).collect();
        let (req, long_data) = ComStmtExecuteRequestBuilder::new(42).build(&owned);
        assert!(!long_data);
        let mut theirs = Vec::new();
        req.serialize(&mut theirs);
        assert_eq!(ours, theirs);
        // An unsigned integer from a batch keeps its sign bit as a flag.
        let p = [cell_param(Cell::UInt(u64::MAX)).unwrap()];
        let mut ours = Vec::new();
        encode_execute(1, &p, &mut ours);
        let (req, _) = ComStmtExecuteRequestBuilder::new(1).build(&[My::UInt(u64::MAX)]);
        let mut theirs = Vec::new();
        req.serialize(&mut theirs);
        assert_eq!(ours, theirs);
        // No parameters: the header alone.
        let mut ours = Vec::new();
        encode_execute(3, &[], &mut ours);
        assert_eq!(ours, [0x17, 3, 0, 0, 0, 0, 1, 0, 0, 0]);
    }
}
