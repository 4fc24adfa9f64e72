//! Parameters: contract values as `mysql_common` values for the binary
//! protocol (COM_STMT_EXECUTE), and as SQL literals where a statement
//! cannot take parameters.

use driverbox_guest_sdk::time::{civil_from_days, format_uuid, MICROS_PER_DAY};
use driverbox_guest_sdk::types::Value;
use driverbox_guest_sdk::{Error, Result};
use mysql_common::Value as My;

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

/// A contract value as a binary-protocol parameter.
pub fn to_mysql(v: &Value) -> Result<My> {
    Ok(match v {
        Value::Null => My::NULL,
        Value::Boolean(b) => My::Int(i64::from(*b)),
        Value::Int(i) => My::Int(*i),
        Value::Float(f) => My::Double(*f),
        Value::Decimal(s) | Value::Text(s) | Value::Json(s) => My::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => My::Bytes(b.clone()),
        Value::Date(d) => match datetime(i64::from(*d) * MICROS_PER_DAY)? {
            My::Date(y, m, d, ..) => My::Date(y, m, d, 0, 0, 0, 0),
            other => other,
        },
        Value::Time(us) => time(*us),
        Value::Timestamp(us) | Value::Timestamptz(us) => datetime(*us)?,
        Value::Interval(iv) => {
            if iv.months != 0 {
                return Err(Error::invalid(
                    "an interval with months has no MySQL TIME equivalent; give days and time only",
                ));
            }
            time(
                i64::from(iv.days)
                    .checked_mul(MICROS_PER_DAY)
                    .and_then(|d| d.checked_add(iv.microseconds))
                    .ok_or_else(|| Error::invalid("interval out of range"))?,
            )
        }
        Value::Uuid((hi, lo)) => {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&hi.to_be_bytes());
            b[8..].copy_from_slice(&lo.to_be_bytes());
            My::Bytes(format_uuid(&b).into_bytes())
        }
        Value::Document(_) => return Err(Error::invalid("MySQL has no BSON document type; pass JSON text")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox_guest_sdk::types::Interval;

    #[test]
    fn converts_values() {
        assert_eq!(to_mysql(&Value::Boolean(true)).unwrap(), My::Int(1));
        assert_eq!(to_mysql(&Value::Date(1)).unwrap(), My::Date(1970, 1, 2, 0, 0, 0, 0));
        assert_eq!(
            to_mysql(&Value::Timestamp(-1)).unwrap(),
            My::Date(1969, 12, 31, 23, 59, 59, 999_999)
        );
        assert_eq!(
            to_mysql(&Value::Time(-90_000_000_000)).unwrap(),
            My::Time(true, 1, 1, 0, 0, 0)
        );
        let iv = Interval {
            months: 1,
            days: 0,
            microseconds: 0,
        };
        assert!(to_mysql(&Value::Interval(iv)).is_err());
        assert!(to_mysql(&Value::Timestamp(i64::MAX)).is_err());
        assert_eq!(
            to_mysql(&Value::Uuid((0x0011223344556677, 0x8899aabbccddeeff))).unwrap(),
            My::Bytes(b"00112233-4455-6677-8899-aabbccddeeff".to_vec())
        );
    }
}
