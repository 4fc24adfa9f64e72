//! Type OIDs, type names, and binary decoding of result values.

use super::{array, format, numeric};
use driverbox_guest_sdk::batch::ColumnBuilder;
use driverbox_guest_sdk::types::{Interval, LogicalType};
use driverbox_guest_sdk::{client_error, Error, ErrorKind, Result, Value};

/// Built-in type OIDs the driver knows.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT2VECTOR: u32 = 22;
    pub const INT4: u32 = 23;
    pub const REGPROC: u32 = 24;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const OIDVECTOR: u32 = 30;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;

    pub const BOOL_ARRAY: u32 = 1000;
    pub const BYTEA_ARRAY: u32 = 1001;
    pub const CHAR_ARRAY: u32 = 1002;
    pub const NAME_ARRAY: u32 = 1003;
    pub const INT2_ARRAY: u32 = 1005;
    pub const INT4_ARRAY: u32 = 1007;
    pub const TEXT_ARRAY: u32 = 1009;
    pub const BPCHAR_ARRAY: u32 = 1014;
    pub const VARCHAR_ARRAY: u32 = 1015;
    pub const INT8_ARRAY: u32 = 1016;
    pub const FLOAT4_ARRAY: u32 = 1021;
    pub const FLOAT8_ARRAY: u32 = 1022;
    pub const OID_ARRAY: u32 = 1028;
    pub const TIMESTAMP_ARRAY: u32 = 1115;
    pub const DATE_ARRAY: u32 = 1182;
    pub const TIME_ARRAY: u32 = 1183;
    pub const TIMESTAMPTZ_ARRAY: u32 = 1185;
    pub const INTERVAL_ARRAY: u32 = 1187;
    pub const NUMERIC_ARRAY: u32 = 1231;
    pub const UUID_ARRAY: u32 = 2951;
    pub const JSON_ARRAY: u32 = 199;
    pub const JSONB_ARRAY: u32 = 3807;
}

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A type decoded natively from the binary format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Bytea,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    /// text, varchar, bpchar, name.
    Text,
    /// The one-byte `"char"`.
    Char,
    /// An array of any of the above, as JSON.
    Array,
}

/// The codec of a scalar type OID.
pub fn scalar_codec(type_oid: u32) -> Option<Codec> {
    use oid::*;
    Some(match type_oid {
        BOOL => Codec::Bool,
        INT2 => Codec::Int2,
        INT4 => Codec::Int4,
        INT8 => Codec::Int8,
        OID => Codec::Oid,
        FLOAT4 => Codec::Float4,
        FLOAT8 => Codec::Float8,
        NUMERIC => Codec::Numeric,
        BYTEA => Codec::Bytea,
        DATE => Codec::Date,
        TIME => Codec::Time,
        TIMESTAMP => Codec::Timestamp,
        TIMESTAMPTZ => Codec::Timestamptz,
        INTERVAL => Codec::Interval,
        UUID => Codec::Uuid,
        JSON => Codec::Json,
        JSONB => Codec::Jsonb,
        TEXT | VARCHAR | BPCHAR | NAME | UNKNOWN => Codec::Text,
        CHAR => Codec::Char,
        _ => return None,
    })
}

/// The element type of a built-in array type the driver decodes natively.
pub fn array_element(type_oid: u32) -> Option<u32> {
    use oid::*;
    Some(match type_oid {
        BOOL_ARRAY => BOOL,
        BYTEA_ARRAY => BYTEA,
        CHAR_ARRAY => CHAR,
        NAME_ARRAY => NAME,
        INT2_ARRAY => INT2,
        INT4_ARRAY => INT4,
        TEXT_ARRAY => TEXT,
        BPCHAR_ARRAY => BPCHAR,
        VARCHAR_ARRAY => VARCHAR,
        INT8_ARRAY => INT8,
        FLOAT4_ARRAY => FLOAT4,
        FLOAT8_ARRAY => FLOAT8,
        OID_ARRAY => OID,
        TIMESTAMP_ARRAY => TIMESTAMP,
        DATE_ARRAY => DATE,
        TIME_ARRAY => TIME,
        TIMESTAMPTZ_ARRAY => TIMESTAMPTZ,
        INTERVAL_ARRAY => INTERVAL,
        NUMERIC_ARRAY => NUMERIC,
        UUID_ARRAY => UUID,
        JSON_ARRAY => JSON,
        JSONB_ARRAY => JSONB,
        _ => return None,
    })
}

/// The codec for a result column of type `type_oid`, `None` when the
/// column is fetched in text format.
pub fn binary_codec(type_oid: u32) -> Option<Codec> {
    if type_oid == oid::UNKNOWN {
        return None;
    }
    scalar_codec(type_oid).or_else(|| array_element(type_oid).map(|_| Codec::Array))
}

/// The `typname` of common built-in types; others are looked up in `pg_type`.
pub fn builtin_name(type_oid: u32) -> Option<&'static str> {
    use oid::*;
    Some(match type_oid {
        BOOL => "bool",
        BYTEA => "bytea",
        CHAR => "char",
        NAME => "name",
        INT8 => "int8",
        INT2 => "int2",
        INT2VECTOR => "int2vector",
        INT4 => "int4",
        REGPROC => "regproc",
        TEXT => "text",
        OID => "oid",
        OIDVECTOR => "oidvector",
        JSON => "json",
        XML => "xml",
        FLOAT4 => "float4",
        FLOAT8 => "float8",
        UNKNOWN => "unknown",
        BPCHAR => "bpchar",
        VARCHAR => "varchar",
        DATE => "date",
        TIME => "time",
        TIMESTAMP => "timestamp",
        TIMESTAMPTZ => "timestamptz",
        INTERVAL => "interval",
        NUMERIC => "numeric",
        UUID => "uuid",
        JSONB => "jsonb",
        BOOL_ARRAY => "_bool",
        BYTEA_ARRAY => "_bytea",
        CHAR_ARRAY => "_char",
        NAME_ARRAY => "_name",
        INT2_ARRAY => "_int2",
        INT4_ARRAY => "_int4",
        TEXT_ARRAY => "_text",
        BPCHAR_ARRAY => "_bpchar",
        VARCHAR_ARRAY => "_varchar",
        INT8_ARRAY => "_int8",
        FLOAT4_ARRAY => "_float4",
        FLOAT8_ARRAY => "_float8",
        OID_ARRAY => "_oid",
        TIMESTAMP_ARRAY => "_timestamp",
        DATE_ARRAY => "_date",
        TIME_ARRAY => "_time",
        TIMESTAMPTZ_ARRAY => "_timestamptz",
        INTERVAL_ARRAY => "_interval",
        NUMERIC_ARRAY => "_numeric",
        UUID_ARRAY => "_uuid",
        JSON_ARRAY => "_json",
        JSONB_ARRAY => "_jsonb",
        600 => "point",
        601 => "lseg",
        602 => "path",
        603 => "box",
        604 => "polygon",
        628 => "line",
        650 => "cidr",
        718 => "circle",
        790 => "money",
        829 => "macaddr",
        869 => "inet",
        1266 => "timetz",
        1560 => "bit",
        1562 => "varbit",
        2205 => "regclass",
        2206 => "regtype",
        2249 => "record",
        2275 => "cstring",
        2278 => "void",
        3220 => "pg_lsn",
        3614 => "tsvector",
        3615 => "tsquery",
        3904 => "int4range",
        3906 => "numrange",
        3908 => "tsrange",
        3910 => "tstzrange",
        3912 => "daterange",
        3926 => "int8range",
        4072 => "jsonpath",
        _ => return None,
    })
}

fn fixed<const N: usize>(buf: &[u8], what: &str) -> Result<[u8; N]> {
    buf.try_into()
        .map_err(|_| Error::protocol(format!("{what} value has {} bytes, expected {N}", buf.len())))
}

/// UTF-8 text of a value the server sent.
pub fn utf8(buf: &[u8]) -> Result<String> {
    std::str::from_utf8(buf)
        .map(str::to_owned)
        .map_err(|_| super::row::not_utf8())
}

/// A PostgreSQL date (days since 2000-01-01, infinities at i32 MIN/MAX)
/// as days since 1970-01-01 (infinities at the same ends).
pub fn date_from_pg(days: i32) -> i32 {
    match days {
        i32::MAX | i32::MIN => days,
        d => d.saturating_add(PG_EPOCH_DAYS),
    }
}

/// The reverse of [`date_from_pg`]; `None` when out of PostgreSQL's range.
pub fn date_to_pg(days: i32) -> Option<i32> {
    match days {
        i32::MAX | i32::MIN => Some(days),
        d => d
            .checked_sub(PG_EPOCH_DAYS)
            .filter(|d| *d != i32::MIN && *d != i32::MAX),
    }
}

/// A PostgreSQL timestamp (µs since 2000-01-01, infinities at i64 MIN/MAX)
/// as µs since 1970-01-01. PostgreSQL's last 29 years (after
/// 294247-01-10) do not fit µs since 1970 in 64 bits: a `data` error names
/// the value rather than turning it into `infinity` (docs/values.md).
pub fn timestamp_from_pg(micros: i64) -> Result<i64> {
    match micros {
        i64::MAX | i64::MIN => Ok(micros),
        m => m
            .checked_add(PG_EPOCH_MICROS)
            .filter(|v| *v != i64::MAX && *v != i64::MIN)
            .ok_or_else(|| {
                client_error(
                    ErrorKind::Data,
                    format!(
                        "timestamp {} µs after 2000-01-01 is past 294247-01-10, the last one microseconds \
                         since 1970 can hold in 64 bits",
                        m
                    ),
                )
            }),
    }
}

/// The reverse of [`timestamp_from_pg`]; `None` when it does not fit.
pub fn timestamp_to_pg(micros: i64) -> Option<i64> {
    match micros {
        i64::MAX | i64::MIN => Some(micros),
        m => m.checked_sub(PG_EPOCH_MICROS).filter(|m| *m != i64::MIN),
    }
}

/// A float4 as the f64 with the same shortest decimal form (0.1f32 → 0.1).
pub fn widen_f32(v: f32) -> f64 {
    if v.is_finite() {
        format!("{v:?}").parse().unwrap_or(v as f64)
    } else {
        v as f64
    }
}

/// Decodes one binary-format value.
pub fn decode_binary(codec: Codec, buf: &[u8]) -> Result<Value> {
    Ok(match codec {
        Codec::Bool => Value::Boolean(fixed::<1>(buf, "bool")?[0] != 0),
        Codec::Int2 => Value::Int(i16::from_be_bytes(fixed(buf, "int2")?) as i64),
        Codec::Int4 => Value::Int(i32::from_be_bytes(fixed(buf, "int4")?) as i64),
        Codec::Int8 => Value::Int(i64::from_be_bytes(fixed(buf, "int8")?)),
        Codec::Oid => Value::Int(u32::from_be_bytes(fixed(buf, "oid")?) as i64),
        Codec::Float4 => Value::Float(widen_f32(f32::from_be_bytes(fixed(buf, "float4")?))),
        Codec::Float8 => Value::Float(f64::from_be_bytes(fixed(buf, "float8")?)),
        Codec::Numeric => Value::Decimal(numeric::to_string(buf)?),
        Codec::Bytea => Value::Bytes(buf.to_vec()),
        Codec::Date => Value::Date(date_from_pg(i32::from_be_bytes(fixed(buf, "date")?))),
        Codec::Time => Value::Time(i64::from_be_bytes(fixed(buf, "time")?)),
        Codec::Timestamp => Value::Timestamp(timestamp_from_pg(i64::from_be_bytes(fixed(buf, "timestamp")?))?),
        Codec::Timestamptz => Value::Timestamptz(timestamp_from_pg(i64::from_be_bytes(fixed(buf, "timestamptz")?))?),
        Codec::Interval => {
            let b: [u8; 16] = fixed(buf, "interval")?;
            let mut micros = [0; 8];
            micros.copy_from_slice(&b[..8]);
            Value::Interval(Interval {
                microseconds: i64::from_be_bytes(micros),
                days: i32::from_be_bytes([b[8], b[9], b[10], b[11]]),
                months: i32::from_be_bytes([b[12], b[13], b[14], b[15]]),
            })
        }
        Codec::Uuid => {
            let b: [u8; 16] = fixed(buf, "uuid")?;
            let v = u128::from_be_bytes(b);
            Value::Uuid(((v >> 64) as u64, v as u64))
        }
        Codec::Json => Value::Json(utf8(buf)?),
        Codec::Jsonb => match buf.split_first() {
            Some((1, rest)) => Value::Json(utf8(rest)?),
            _ => return Err(Error::protocol("unknown jsonb format version")),
        },
        Codec::Text => Value::Text(utf8(buf)?),
        Codec::Char => Value::Text(char_text(fixed::<1>(buf, "char")?[0])),
        Codec::Array => Value::Json(array::binary_to_json(buf)?),
    })
}

impl Codec {
    /// The logical type a column of this codec travels as.
    pub fn logical_type(self) -> LogicalType {
        match self {
            Codec::Bool => LogicalType::Boolean,
            Codec::Int2 => LogicalType::Int16,
            Codec::Int4 => LogicalType::Int32,
            Codec::Int8 => LogicalType::Int64,
            Codec::Oid => LogicalType::Uint32,
            Codec::Float4 => LogicalType::Float32,
            Codec::Float8 => LogicalType::Float64,
            Codec::Numeric => LogicalType::Decimal,
            Codec::Bytea => LogicalType::Bytes,
            Codec::Date => LogicalType::Date,
            Codec::Time => LogicalType::Time,
            Codec::Timestamp => LogicalType::Timestamp,
            Codec::Timestamptz => LogicalType::Timestamptz,
            Codec::Interval => LogicalType::Interval,
            Codec::Uuid => LogicalType::Uuid,
            Codec::Json | Codec::Jsonb | Codec::Array => LogicalType::Json,
            Codec::Text | Codec::Char => LogicalType::Text,
        }
    }
}

fn checked_utf8(buf: &[u8]) -> Result<&[u8]> {
    std::str::from_utf8(buf)
        .map(|_| buf)
        .map_err(|_| super::row::not_utf8())
}

/// Decodes one binary-format value straight into its column's buffer
/// (of the codec's [`Codec::logical_type`]); no allocation per value.
#[inline]
pub fn decode_binary_into(codec: Codec, buf: &[u8], col: &mut ColumnBuilder) -> Result<()> {
    match codec {
        Codec::Bool => col.push_bool(fixed::<1>(buf, "bool")?[0] != 0),
        Codec::Int2 => col.push_i16(i16::from_be_bytes(fixed(buf, "int2")?)),
        Codec::Int4 => col.push_i32(i32::from_be_bytes(fixed(buf, "int4")?)),
        Codec::Int8 => col.push_i64(i64::from_be_bytes(fixed(buf, "int8")?)),
        Codec::Oid => col.push_u32(u32::from_be_bytes(fixed(buf, "oid")?)),
        Codec::Float4 => col.push_f32(f32::from_be_bytes(fixed(buf, "float4")?)),
        Codec::Float8 => col.push_f64(f64::from_be_bytes(fixed(buf, "float8")?)),
        Codec::Numeric => col.push_varlen_with(|out| numeric::write_text(buf, out)),
        Codec::Bytea => col.push_varlen(buf),
        Codec::Date => col.push_i32(date_from_pg(i32::from_be_bytes(fixed(buf, "date")?))),
        Codec::Time => col.push_i64(i64::from_be_bytes(fixed(buf, "time")?)),
        Codec::Timestamp | Codec::Timestamptz => {
            let pg = i64::from_be_bytes(fixed(buf, "timestamp")?);
            let utc = codec == Codec::Timestamptz;
            match timestamp_from_pg(pg) {
                Ok(micros) if !col.is_dynamic() => col.push_i64(micros),
                // Past 294247-01-10 (µs since 1970 overflow 64 bits): the
                // column holds PostgreSQL's text for this batch (docs/values.md).
                _ => {
                    col.make_dynamic_text(|micros| format::pg_timestamp(micros, utc));
                    col.push_text(&format::pg_timestamp_since_2000(pg, utc))
                }
            }
        }
        Codec::Interval => {
            let b: [u8; 16] = fixed(buf, "interval")?;
            col.push_interval(Interval {
                microseconds: i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                days: i32::from_be_bytes([b[8], b[9], b[10], b[11]]),
                months: i32::from_be_bytes([b[12], b[13], b[14], b[15]]),
            })
        }
        Codec::Uuid => col.push_uuid(fixed(buf, "uuid")?),
        Codec::Json | Codec::Text => col.push_varlen(checked_utf8(buf)?),
        Codec::Jsonb => match buf.split_first() {
            Some((1, rest)) => col.push_varlen(checked_utf8(rest)?),
            _ => Err(Error::protocol("unknown jsonb format version")),
        },
        Codec::Char => col.push_str(&char_text(fixed::<1>(buf, "char")?[0])),
        Codec::Array => col.push_varlen_with(|out| {
            out.extend_from_slice(array::binary_to_json(buf)?.as_bytes());
            Ok(())
        }),
    }
}

/// The text of a `"char"` byte, as PostgreSQL prints it (octal escape above 0x7f).
pub fn char_text(b: u8) -> String {
    match b {
        0 => String::new(),
        1..=0x7f => (b as char).to_string(),
        _ => format!("\\{b:03o}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dbg(v: Value) -> String {
        format!("{v:?}")
    }

    #[test]
    fn timestamps_past_the_1970_range_become_postgresql_text() {
        use driverbox_guest_sdk::batch::{column, result_rows, BatchBuilder};
        let columns = [column("ts", LogicalType::Timestamp, "timestamp")];
        let mut b = BatchBuilder::new(&columns);
        // 0001-01-01 00:00:00 BC, NULL, then 294276-12-31 23:59:59.999999.
        for v in [Some(-63_113_904_000_000_000i64), None, Some(9_223_371_331_199_999_999)] {
            match v {
                Some(v) => decode_binary_into(Codec::Timestamp, &v.to_be_bytes(), b.column(0)).unwrap(),
                None => b.column(0).push_null(),
            }
            b.end_row();
        }
        let rows = result_rows(&b.into_result(columns.to_vec(), None)).unwrap();
        assert_eq!(
            format!("{rows:?}"),
            format!(
                "{:?}",
                vec![
                    vec![Value::Text("0001-01-01 00:00:00 BC".into())],
                    vec![Value::Null],
                    vec![Value::Text("294276-12-31 23:59:59.999999".into())],
                ]
            )
        );
    }

    #[test]
    fn decodes_scalars() {
        assert_eq!(
            dbg(decode_binary(Codec::Int2, &(-5i16).to_be_bytes()).unwrap()),
            dbg(Value::Int(-5))
        );
        assert_eq!(
            dbg(decode_binary(Codec::Oid, &u32::MAX.to_be_bytes()).unwrap()),
            dbg(Value::Int(u32::MAX as i64))
        );
        assert!(decode_binary(Codec::Int4, &[1, 2]).is_err());
        assert_eq!(
            dbg(decode_binary(Codec::Float4, &0.1f32.to_be_bytes()).unwrap()),
            dbg(Value::Float(0.1))
        );
        assert_eq!(
            dbg(decode_binary(Codec::Float8, &f64::NEG_INFINITY.to_be_bytes()).unwrap()),
            dbg(Value::Float(f64::NEG_INFINITY))
        );
        assert_eq!(
            dbg(decode_binary(Codec::Date, &0i32.to_be_bytes()).unwrap()),
            dbg(Value::Date(10_957))
        );
        assert_eq!(
            dbg(decode_binary(Codec::Date, &i32::MAX.to_be_bytes()).unwrap()),
            dbg(Value::Date(i32::MAX))
        );
        assert_eq!(
            dbg(decode_binary(Codec::Timestamptz, &i64::MIN.to_be_bytes()).unwrap()),
            dbg(Value::Timestamptz(i64::MIN))
        );
        assert_eq!(
            dbg(decode_binary(Codec::Timestamp, &0i64.to_be_bytes()).unwrap()),
            dbg(Value::Timestamp(PG_EPOCH_MICROS))
        );
        let mut iv = Vec::new();
        iv.extend_from_slice(&7i64.to_be_bytes());
        iv.extend_from_slice(&(-2i32).to_be_bytes());
        iv.extend_from_slice(&14i32.to_be_bytes());
        assert_eq!(
            dbg(decode_binary(Codec::Interval, &iv).unwrap()),
            dbg(Value::Interval(Interval {
                months: 14,
                days: -2,
                microseconds: 7
            }))
        );
        let u: Vec<u8> = (1..=16).collect();
        assert_eq!(
            dbg(decode_binary(Codec::Uuid, &u).unwrap()),
            dbg(Value::Uuid((0x0102030405060708, 0x090a0b0c0d0e0f10)))
        );
        assert_eq!(
            dbg(decode_binary(Codec::Jsonb, b"\x01{}").unwrap()),
            dbg(Value::Json("{}".into()))
        );
        assert!(decode_binary(Codec::Jsonb, b"\x02{}").is_err());
        assert!(decode_binary(Codec::Jsonb, b"").is_err());
        assert!(decode_binary(Codec::Text, b"\xff").is_err());
        assert_eq!(
            dbg(decode_binary(Codec::Char, b"\xe9").unwrap()),
            dbg(Value::Text("\\351".into()))
        );
    }

    #[test]
    fn epoch_conversions() {
        assert_eq!(date_to_pg(date_from_pg(-5)), Some(-5));
        assert_eq!(date_to_pg(i32::MIN), Some(i32::MIN));
        assert_eq!(date_to_pg(i32::MIN + 1), None);
        assert_eq!(timestamp_to_pg(timestamp_from_pg(123).unwrap()), Some(123));
        // PostgreSQL's last timestamp (294276-12-31) does not fit: an error, not infinity.
        assert_eq!(
            timestamp_from_pg(9_223_371_331_199_999_999).unwrap_err().kind(),
            ErrorKind::Data
        );
        assert_eq!(timestamp_from_pg(i64::MAX).unwrap(), i64::MAX);
        assert_eq!(timestamp_to_pg(i64::MIN + 1), None);
    }

    #[test]
    fn codecs() {
        assert_eq!(binary_codec(oid::INT4_ARRAY), Some(Codec::Array));
        assert_eq!(binary_codec(oid::UNKNOWN), None);
        assert_eq!(binary_codec(869), None);
        assert_eq!(builtin_name(oid::JSONB_ARRAY), Some("_jsonb"));
    }
}
