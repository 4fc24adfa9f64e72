//! The MongoDB driver component of driverbox.
//!
//! Layout: `protocol/` (OP_MSG, SCRAM, replies and errors, Extended JSON;
//! no I/O), `connection` (handshake, authentication, commands, sessions),
//! `options` (the URI options), and one module per WIT interface.

// The error type is the WIT `error` variant; it crosses the component
// boundary as is, so it is not boxed.
#![allow(clippy::result_large_err)]

pub mod base;
pub mod capabilities;
pub mod connection;
pub mod nosql;
pub mod options;
pub mod protocol;
pub mod traits;

driverbox_guest_sdk::export_driver!(connection::Connection: nosql, capabilities);
