//! The PostgreSQL wire protocol without I/O: message framing and parsing,
//! value codecs, SQLSTATE mapping and identifier quoting. Everything here
//! works on byte slices and is unit-tested natively.

pub mod array;
pub mod copy;
pub mod encode;
pub mod format;
pub mod json;
pub mod message;
pub mod numeric;
pub mod row;
pub mod text;
pub mod types;
