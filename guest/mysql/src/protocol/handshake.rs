//! The server's greeting (Protocol::HandshakeV10), parsed by
//! `mysql_common` after a check of ours.

use driverbox_guest_sdk::{Error, Result};
use mysql_common::io::ParseBuf;
use mysql_common::packets::HandshakePacket;

/// Parses the greeting. `mysql_common` reads the auth-plugin-data length
/// as an `i8` and subtracts 8 (an overflow, a panic in builds with
/// overflow checks, for `0x80..=0x87`; a wrong length above `0x7F`): such
/// a length is refused here first. Servers send 21.
/// Errors: `protocol`.
pub fn parse_greeting(p: &[u8]) -> Result<HandshakePacket<'_>> {
    // protocol version, server version up to its NUL, then 20 bytes before
    // the length (connection id, scramble, filler, capabilities, collation,
    // status, capabilities).
    if let Some(nul) = p.get(1..).and_then(|v| v.iter().position(|b| *b == 0)) {
        if let Some(&len) = p.get(1 + nul + 1 + 20) {
            if len > 0x7F {
                return Err(Error::protocol(format!(
                    "malformed MySQL handshake: auth-plugin-data length {len}"
                )));
            }
        }
    }
    ParseBuf(p)
        .parse(())
        .map_err(|e| Error::protocol(format!("malformed MySQL handshake: {e}")))
}
