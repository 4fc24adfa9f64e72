//! The Amazon DynamoDB driver component of driverbox: a cloud database
//! over HTTPS, in the sandbox like the socket drivers.
//!
//! Layout: `http` (HTTP/1.1 request encoder and response decoder, no
//! I/O), `sigv4` (AWS Signature Version 4, no I/O), `item` (attribute
//! values ↔ BSON, parameters and cells), `filter` (MongoDB's query
//! language over BSON), `client` (signed JSON calls, errors, retries),
//! `connection` (the shared DynamoDB operations), and one module per WIT
//! interface: `base` (PartiQL), `schema` (schema and table), `extension`
//! (streams, bulk insert), `capabilities` (transactions), `nosql`,
//! `traits`.

// The error type is the WIT `error` variant; it crosses the component
// boundary as is, so it is not boxed.
#![allow(clippy::result_large_err)]

pub mod base;
pub mod capabilities;
pub mod client;
pub mod connection;
pub mod extension;
pub mod filter;
pub mod http;
pub mod item;
pub mod nosql;
pub mod plan;
pub mod schema;
pub mod sigv4;
pub mod traits;

driverbox_guest_sdk::export_driver!(connection::Connection: schema, table, extension, capabilities, nosql);
