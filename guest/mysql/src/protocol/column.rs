//! Column definitions and how each MySQL type maps to a logical type.

use driverbox_guest_sdk::types::{Column, LogicalType};
use driverbox_guest_sdk::{Error, Result};

use super::wire::Reader;

/// Wire type codes (`enum_field_types`).
pub mod ty {
    pub const DECIMAL: u8 = 0;
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}

/// Column flags.
pub mod flag {
    pub const NOT_NULL: u16 = 1;
    pub const UNSIGNED: u16 = 32;
    pub const ENUM: u16 = 256;
    pub const SET: u16 = 2048;
}

/// The `binary` character set: such strings are bytes.
pub const BINARY_CHARSET: u16 = 63;

/// Bytes per character of a character set (by collation id): column
/// lengths are in bytes.
fn mbmaxlen(charset: u16) -> u32 {
    match charset {
        45 | 46 | 224..=247 | 255..=323 | 2048.. => 4,
        33 | 76 | 83 | 192..=223 => 3,
        _ => 1,
    }
}

/// One column definition (Protocol::ColumnDefinition41).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub schema: String,
    pub table: String,
    pub org_table: String,
    pub name: String,
    pub org_name: String,
    pub charset: u16,
    pub length: u32,
    pub ty: u8,
    pub flags: u16,
    pub decimals: u8,
    /// MariaDB's extended metadata: the type name (`uuid`, `inet6`, `point` …).
    pub ext_type: Option<String>,
    /// MariaDB's extended metadata: the format (`json` for JSON columns).
    pub ext_format: Option<String>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// How values of a column are decoded: one per logical type and wire layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
    Decimal,
    Text,
    Bytes,
    Json,
    Date,
    Datetime,
    Timestamp,
    Time,
    Bit,
    Year,
    Geometry,
}

impl ColumnDef {
    /// Parses a column definition; `extended`: the session negotiated
    /// MariaDB's extended metadata.
    pub fn parse(payload: &[u8], extended: bool) -> Result<ColumnDef> {
        let mut r = Reader::new(payload);
        let _catalog = r.lenenc_str("catalog")?;
        let schema = text(r.lenenc_str("schema")?);
        let table = text(r.lenenc_str("table")?);
        let org_table = text(r.lenenc_str("original table")?);
        let name = text(r.lenenc_str("column name")?);
        let org_name = text(r.lenenc_str("original column name")?);
        let (mut ext_type, mut ext_format) = (None, None);
        if extended {
            let mut ext = Reader::new(r.lenenc_str("extended metadata")?);
            while !ext.is_empty() {
                let which = ext.u8("extended metadata")?;
                let value = text(ext.lenenc_str("extended metadata")?);
                match which {
                    0 => ext_type = Some(value),
                    1 => ext_format = Some(value),
                    _ => {}
                }
            }
        }
        let fixed = r.lenenc_int("column fields")?.unwrap_or(0);
        if fixed < 10 {
            return Err(Error::protocol("MySQL column definition too short"));
        }
        Ok(ColumnDef {
            schema,
            table,
            org_table,
            name,
            org_name,
            charset: r.u16("character set")?,
            length: r.u32("column length")?,
            ty: r.u8("column type")?,
            flags: r.u16("column flags")?,
            decimals: r.u8("decimals")?,
            ext_type,
            ext_format,
        })
    }

    pub fn unsigned(&self) -> bool {
        self.flags & flag::UNSIGNED != 0
    }

    fn binary(&self) -> bool {
        self.charset == BINARY_CHARSET
    }

    /// How the column's values are decoded.
    pub fn kind(&self) -> Kind {
        let u = self.unsigned();
        match self.ty {
            ty::NULL => Kind::Null,
            ty::TINY => {
                if u {
                    Kind::U8
                } else {
                    Kind::I8
                }
            }
            ty::SHORT => {
                if u {
                    Kind::U16
                } else {
                    Kind::I16
                }
            }
            ty::LONG | ty::INT24 => {
                if u {
                    Kind::U32
                } else {
                    Kind::I32
                }
            }
            ty::LONGLONG => {
                if u {
                    Kind::U64
                } else {
                    Kind::I64
                }
            }
            ty::FLOAT => Kind::F32,
            ty::DOUBLE => Kind::F64,
            ty::DECIMAL | ty::NEWDECIMAL => Kind::Decimal,
            ty::DATE | ty::NEWDATE => Kind::Date,
            ty::DATETIME | ty::DATETIME2 => Kind::Datetime,
            ty::TIMESTAMP | ty::TIMESTAMP2 => Kind::Timestamp,
            ty::TIME | ty::TIME2 => Kind::Time,
            ty::YEAR => Kind::Year,
            ty::BIT => Kind::Bit,
            ty::JSON => Kind::Json,
            ty::GEOMETRY => Kind::Geometry,
            ty::ENUM | ty::SET => Kind::Text,
            _ if self.ext_format.as_deref() == Some("json") => Kind::Json,
            _ if self.flags & (flag::ENUM | flag::SET) != 0 => Kind::Text,
            _ if self.binary() => Kind::Bytes,
            _ => Kind::Text,
        }
    }

    /// Digits of a DECIMAL column: the display length less sign and point.
    fn precision(&self) -> u32 {
        let sign = u32::from(!self.unsigned());
        let point = u32::from(self.decimals > 0);
        self.length.saturating_sub(sign + point)
    }

    /// The type name as MySQL writes it (`INT UNSIGNED`, `DECIMAL(10,2)`,
    /// `DATETIME(6)`, `VARBINARY`, `JSON` …).
    pub fn type_name(&self) -> String {
        let u = if self.unsigned() { " UNSIGNED" } else { "" };
        let fsp = |base: &str| match self.decimals {
            0 | 31.. => base.to_string(),
            d => format!("{base}({d})"),
        };
        let bin = self.binary();
        match self.ty {
            ty::TINY => format!("TINYINT{u}"),
            ty::SHORT => format!("SMALLINT{u}"),
            ty::INT24 => format!("MEDIUMINT{u}"),
            ty::LONG => format!("INT{u}"),
            ty::LONGLONG => format!("BIGINT{u}"),
            ty::FLOAT => "FLOAT".into(),
            ty::DOUBLE => "DOUBLE".into(),
            ty::DECIMAL | ty::NEWDECIMAL => format!("DECIMAL({},{}){u}", self.precision(), self.decimals),
            ty::NULL => "NULL".into(),
            ty::DATE | ty::NEWDATE => "DATE".into(),
            ty::TIME | ty::TIME2 => fsp("TIME"),
            ty::DATETIME | ty::DATETIME2 => fsp("DATETIME"),
            ty::TIMESTAMP | ty::TIMESTAMP2 => fsp("TIMESTAMP"),
            ty::YEAR => "YEAR".into(),
            ty::BIT => format!("BIT({})", self.length),
            ty::JSON => "JSON".into(),
            ty::GEOMETRY => self.ext_type.as_deref().unwrap_or("geometry").to_ascii_uppercase(),
            _ if self.flags & flag::ENUM != 0 || self.ty == ty::ENUM => "ENUM".into(),
            _ if self.flags & flag::SET != 0 || self.ty == ty::SET => "SET".into(),
            _ if self.ext_format.as_deref() == Some("json") => "JSON".into(),
            ty::TINY_BLOB | ty::MEDIUM_BLOB | ty::LONG_BLOB | ty::BLOB => {
                let base = match self.length / mbmaxlen(self.charset) {
                    0..=255 => "TINY",
                    256..=65_535 => "",
                    65_536..=16_777_215 => "MEDIUM",
                    _ => "LONG",
                };
                format!("{base}{}", if bin { "BLOB" } else { "TEXT" })
            }
            ty::VARCHAR | ty::VAR_STRING => if bin { "VARBINARY" } else { "VARCHAR" }.into(),
            ty::STRING => if bin { "BINARY" } else { "CHAR" }.into(),
            other => format!("TYPE{other}"),
        }
    }

    /// The result column as the contract describes it.
    pub fn to_column(&self) -> Column {
        use LogicalType as L;
        let kind = self.kind();
        let logical = match kind {
            Kind::Null => L::Null,
            Kind::I8 => L::Int8,
            Kind::U8 => L::Uint8,
            Kind::I16 | Kind::Year => L::Int16,
            Kind::U16 => L::Uint16,
            Kind::I32 => L::Int32,
            Kind::U32 => L::Uint32,
            Kind::I64 => L::Int64,
            Kind::U64 | Kind::Bit => L::Uint64,
            Kind::F32 => L::Float32,
            Kind::F64 => L::Float64,
            Kind::Decimal => L::Decimal,
            Kind::Text => L::Text,
            Kind::Bytes | Kind::Geometry => L::Bytes,
            Kind::Json => L::Json,
            Kind::Date => L::Date,
            Kind::Datetime => L::Timestamp,
            Kind::Timestamp => L::Timestamptz,
            Kind::Time => L::Interval,
        };
        let (precision, scale) = match kind {
            Kind::Decimal => (Some(self.precision()), Some(i32::from(self.decimals))),
            _ => (None, None),
        };
        Column {
            name: self.name.clone(),
            logical_type: logical,
            database_type: self.type_name(),
            precision,
            scale,
            nullable: Some(self.flags & flag::NOT_NULL == 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::put_lenenc_int;

    /// A column definition packet as a server writes it.
    pub fn packet(name: &str, ty: u8, flags: u16, charset: u16, length: u32, decimals: u8, ext: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        for s in ["def", "test", "t", "t", name, name] {
            put_lenenc_int(&mut p, s.len() as u64);
            p.extend_from_slice(s.as_bytes());
        }
        if !ext.is_empty() {
            put_lenenc_int(&mut p, ext.len() as u64);
            p.extend_from_slice(ext);
        }
        p.push(0x0c);
        p.extend_from_slice(&charset.to_le_bytes());
        p.extend_from_slice(&length.to_le_bytes());
        p.push(ty);
        p.extend_from_slice(&flags.to_le_bytes());
        p.push(decimals);
        p.extend_from_slice(&[0, 0]);
        p
    }

    #[test]
    fn parses_and_types_columns() {
        let c = ColumnDef::parse(
            &packet("n", ty::LONGLONG, flag::UNSIGNED | flag::NOT_NULL, 63, 20, 0, &[]),
            false,
        )
        .unwrap();
        assert_eq!(c.kind(), Kind::U64);
        let col = c.to_column();
        assert_eq!(col.logical_type, LogicalType::Uint64);
        assert_eq!(col.database_type, "BIGINT UNSIGNED");
        assert_eq!(col.nullable, Some(false));

        let c = ColumnDef::parse(&packet("d", ty::NEWDECIMAL, 0, 63, 12, 2, &[]), false).unwrap();
        let col = c.to_column();
        assert_eq!((col.precision, col.scale), (Some(10), Some(2)));
        assert_eq!(col.database_type, "DECIMAL(10,2)");

        let c = ColumnDef::parse(&packet("b", ty::BLOB, 0, 63, 65_535, 0, &[]), false).unwrap();
        assert_eq!((c.kind(), c.type_name().as_str()), (Kind::Bytes, "BLOB"));
        let c = ColumnDef::parse(&packet("s", ty::BLOB, 0, 45, 262_140, 0, &[]), false).unwrap();
        assert_eq!((c.kind(), c.type_name().as_str()), (Kind::Text, "TEXT"));
    }

    #[test]
    fn mariadb_json_is_recognised_from_extended_metadata() {
        let ext = [1, 4, b'j', b's', b'o', b'n'];
        let c = ColumnDef::parse(&packet("j", ty::BLOB, 0, 45, u32::MAX, 0, &ext), true).unwrap();
        assert_eq!(c.kind(), Kind::Json);
        assert_eq!(c.type_name(), "JSON");
    }

    #[test]
    fn truncated_definitions_are_protocol_errors() {
        let p = packet("x", ty::LONG, 0, 63, 11, 0, &[]);
        for n in 0..p.len() - 2 {
            assert!(ColumnDef::parse(&p[..n], false).is_err(), "{n}");
        }
    }
}

/// Column definitions for unit tests elsewhere in the crate.
#[cfg(test)]
pub mod tests_support {
    use super::ColumnDef;

    pub fn def(name: &str, ty: u8, flags: u16, charset: u16) -> ColumnDef {
        ColumnDef {
            schema: String::new(),
            table: String::new(),
            org_table: String::new(),
            name: name.into(),
            org_name: name.into(),
            charset,
            length: 20,
            ty,
            flags,
            decimals: 2,
            ext_type: None,
            ext_format: None,
        }
    }
}
