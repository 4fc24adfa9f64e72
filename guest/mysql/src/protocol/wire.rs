//! Packet framing and the protocol's integer and string encodings.

use driverbox_guest_sdk::{Error, Result};

/// The largest payload of one packet; a payload this long continues in
/// the next packet.
pub const MAX_PAYLOAD: usize = 0xFF_FFFF;

/// Appends `payload` to `out` as packets starting at sequence id `*seq`
/// (split at [`MAX_PAYLOAD`], with an empty last packet when the length
/// is a multiple of it), advancing `*seq`.
pub fn frame(seq: &mut u8, payload: &[u8], out: &mut Vec<u8>) {
    let mut rest = payload;
    loop {
        let n = rest.len().min(MAX_PAYLOAD);
        out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        out.push(*seq);
        *seq = seq.wrapping_add(1);
        out.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        if n < MAX_PAYLOAD {
            break;
        }
    }
}

/// A packet header: payload length and sequence id.
pub fn header(b: &[u8; 4]) -> (usize, u8) {
    (u32::from_le_bytes([b[0], b[1], b[2], 0]) as usize, b[3])
}

/// A cursor over a payload whose reads fail with a `protocol` error
/// (never a panic) past the end.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

fn short(what: &str) -> Error {
    Error::protocol(format!("MySQL packet too short for its {what}"))
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next `n` bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(short(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    #[inline]
    pub fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.bytes(1, what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64> {
        let b = self.bytes(8, what)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-encoded integer; `None` for the NULL marker `0xFB`.
    #[inline]
    pub fn lenenc_int(&mut self, what: &str) -> Result<Option<u64>> {
        let first = self.u8(what)?;
        Ok(Some(match first {
            0xFB => return Ok(None),
            0xFC => self.u16(what)? as u64,
            0xFD => {
                let b = self.bytes(3, what)?;
                u32::from_le_bytes([b[0], b[1], b[2], 0]) as u64
            }
            0xFE => self.u64(what)?,
            0xFF => return Err(Error::protocol(format!("MySQL packet: 0xFF where its {what} starts"))),
            n => n as u64,
        }))
    }

    /// A length-encoded string; `None` for NULL.
    #[inline]
    pub fn lenenc_bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>> {
        match self.lenenc_int(what)? {
            None => Ok(None),
            Some(n) => {
                let n = usize::try_from(n).map_err(|_| short(what))?;
                self.bytes(n, what).map(Some)
            }
        }
    }

    /// A length-encoded string that must not be NULL.
    pub fn lenenc_str(&mut self, what: &str) -> Result<&'a [u8]> {
        self.lenenc_bytes(what)?
            .ok_or_else(|| Error::protocol(format!("MySQL packet: NULL {what}")))
    }
}

/// What the driver keeps of an OK packet (header `0x00`, or `0xFE` when
/// it ends a result set under CLIENT_DEPRECATE_EOF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OkPacket {
    pub affected: u64,
    pub last_insert_id: u64,
    pub status: u16,
    /// The session's default database changed (a `USE`, or `COM_INIT_DB`):
    /// the server said so in the packet's session-state changes, which it
    /// sends under CLIENT_SESSION_TRACK with `session_track_schema` on (the
    /// default of MySQL 5.7+ and MariaDB 10.2+).
    pub schema_changed: bool,
}

/// `SERVER_SESSION_STATE_CHANGED` in the status flags.
const SESSION_STATE_CHANGED: u16 = 0x4000;
/// The session-state entry type `SESSION_TRACK_SCHEMA`.
const TRACK_SCHEMA: u8 = 1;

/// Parses an OK packet (its header byte is not checked). `session_track`:
/// whether CLIENT_SESSION_TRACK was agreed, which puts a length-encoded
/// info string and, when the status says so, the session-state changes
/// after the warnings count (MySQL's "OK_Packet" page).
pub fn parse_ok(payload: &[u8], session_track: bool) -> Result<OkPacket> {
    let mut r = Reader::new(payload);
    r.u8("OK header")?;
    let affected = r.lenenc_int("affected rows")?.unwrap_or(0);
    let last_insert_id = r.lenenc_int("last insert id")?.unwrap_or(0);
    let status = r.u16("status flags")?;
    let mut schema_changed = false;
    if session_track && status & SESSION_STATE_CHANGED != 0 {
        r.u16("warnings")?;
        r.lenenc_bytes("OK info")?;
        let mut changes = Reader::new(r.lenenc_str("session state changes")?);
        while !changes.is_empty() {
            let kind = changes.u8("session state type")?;
            changes.lenenc_str("session state entry")?;
            schema_changed |= kind == TRACK_SCHEMA;
        }
    }
    Ok(OkPacket {
        affected,
        last_insert_id,
        status,
        schema_changed,
    })
}

/// Parses an EOF packet (`0xFE`, warnings, status flags); gives the status flags.
pub fn parse_eof(payload: &[u8]) -> Result<u16> {
    let mut r = Reader::new(payload);
    r.u8("EOF header")?;
    let _warnings = r.u16("warnings")?;
    r.u16("status flags")
}

/// Appends a length-encoded integer.
pub fn put_lenenc_int(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => out.push(n as u8),
        251..=0xFFFF => {
            out.push(0xFC);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            out.push(0xFD);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xFE);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_splits() {
        let mut seq = 3;
        let mut out = Vec::new();
        frame(&mut seq, b"abc", &mut out);
        assert_eq!(out, [3, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(seq, 4);
        let big = vec![7u8; MAX_PAYLOAD];
        let mut out = Vec::new();
        let mut seq = 0;
        frame(&mut seq, &big, &mut out);
        // one full packet and an empty one
        assert_eq!(out.len(), 4 + MAX_PAYLOAD + 4);
        assert_eq!(header(out[..4].try_into().unwrap()), (MAX_PAYLOAD, 0));
        assert_eq!(&out[4 + MAX_PAYLOAD..], &[0, 0, 0, 1]);
        assert_eq!(seq, 2);
    }

    #[test]
    fn ok_and_eof_packets() {
        let ok = [0x00, 0xFC, 0x10, 0x27, 5, 0x03, 0x00, 0, 0];
        assert_eq!(
            parse_ok(&ok, false).unwrap(),
            OkPacket {
                affected: 10_000,
                last_insert_id: 5,
                status: 3,
                schema_changed: false,
            }
        );
        assert_eq!(parse_eof(&[0xFE, 0, 0, 0x08, 0]).unwrap(), 8);
        for n in 0..ok.len() - 2 {
            assert!(parse_ok(&ok[..n], false).is_err(), "{n}");
        }
        assert!(parse_eof(&[0xFE, 0, 0, 0x08]).is_err());
    }

    #[test]
    fn ok_packets_tell_a_change_of_database() {
        // status: autocommit | session state changed; no warnings; no info
        let head = [0x00, 0, 0, 0x02, 0x40, 0, 0, 0];
        let with = |changes: &[u8]| {
            let mut p = head.to_vec();
            p.push(changes.len() as u8);
            p.extend_from_slice(changes);
            p
        };
        // USE db_b: a SESSION_TRACK_SCHEMA entry
        let schema = with(&[0x01, 0x05, 0x04, b'd', b'b', b'_', b'b']);
        assert!(parse_ok(&schema, true).unwrap().schema_changed);
        // without CLIENT_SESSION_TRACK the tail is the info text, not read
        assert!(!parse_ok(&schema, false).unwrap().schema_changed);
        // SET autocommit: a SESSION_TRACK_SYSTEM_VARIABLES entry only
        let var = with(&[
            0x00, 0x0C, 0x0A, b'a', b'u', b't', b'o', b'c', b'o', b'm', b'm', b'i', b't', 0x00,
        ]);
        assert!(!parse_ok(&var, true).unwrap().schema_changed);
        // state changed but no state info at all: malformed
        assert!(parse_ok(&head[..7], true).is_err());
        // an entry longer than its block
        assert!(parse_ok(&with(&[0x01, 0x09, 0x04, b'd']), true).is_err());
    }

    #[test]
    fn lenenc_round_trips_and_refuses_short_input() {
        for n in [0u64, 250, 251, 0xFFFF, 0x1_0000, 0xFF_FFFF, 0x100_0000, u64::MAX] {
            let mut out = Vec::new();
            put_lenenc_int(&mut out, n);
            assert_eq!(Reader::new(&out).lenenc_int("n").unwrap(), Some(n));
        }
        assert_eq!(Reader::new(&[0xFB]).lenenc_int("n").unwrap(), None);
        assert!(Reader::new(&[0xFC, 1]).lenenc_int("n").is_err());
        assert!(Reader::new(&[0xFF]).lenenc_int("n").is_err());
        assert!(Reader::new(&[5, b'a']).lenenc_bytes("s").is_err());
        let huge = [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(Reader::new(&huge).lenenc_bytes("s").is_err());
    }
}
