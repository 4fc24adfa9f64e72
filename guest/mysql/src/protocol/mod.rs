//! The MySQL client/server protocol as functions over byte buffers: no I/O
//! here, so everything is unit-tested natively. Handshake, auth plugins
//! and the binary parameter encoding come from `mysql_common`; packet
//! framing, column definitions (with MariaDB's extended metadata, which
//! `mysql_common` does not read) and the row decoders that write straight
//! into columnar batches are ours.

pub mod column;
pub mod errors;
pub mod handshake;
pub mod params;
pub mod row;
pub mod wire;
